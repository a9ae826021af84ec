import assert from 'node:assert/strict';
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  isChildProcess,
  ModuleLoadError,
  runInProcess,
  SerializationError,
  shutdown,
  TimeoutError,
} from 'run-in-process';
import { fixture, modes, repoRoot, scratchFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';
import { captureWarnings } from '../helpers/warnings.js';

type HasherModule = typeof import('../fixtures/src/hasher.js');
type InstancesModule = typeof import('../fixtures/src/instances.js');
type MisuseModule = typeof import('../fixtures/src/misuse.js');
type ClassDefaultsModule = typeof import('../fixtures/src/class-defaults.js');
type TaggedModule = typeof import('../fixtures/src/tagged.js');

after(() => shutdown());

for (const mode of modes) {
  describe(`decorators compiled in ${mode} mode`, () => {
    test('instance, static, hidden-class and wrapped-function calls run in a child', async () => {
      const { Hasher, parseNumber } = await fixture<HasherModule>(mode, 'hasher');
      const hasher = new Hasher(4);
      const [digest, version, hidden, parsed] = await Promise.all([
        hasher.digest(new Uint8Array([1, 2, 3])),
        Hasher.version(),
        Hasher.hiddenWhere(),
        parseNumber('42'),
      ]);
      const [pid, hex] = digest.split(':');
      assert.notEqual(Number(pid), process.pid, 'the method ran in another process');
      let expected: Buffer = Buffer.from([1, 2, 3]);
      for (let i = 0; i < 4; i++) expected = hasher.step(expected);
      assert.equal(hex, expected.toString('hex'), 'the child used this.rounds and this.step');
      for (const childPid of [version, hidden, parsed.pid]) assert.notEqual(childPid, process.pid);
      assert.equal(parsed.value, 42);
    });

    test("metadata that other decorators keep on the method (NestJS's routes and guards) stays on it, on either side of @runInProcess", async () => {
      // It stayed on the function @runInProcess replaces: a Nest route vanished, a guard saw no roles.
      const { Guarded } = await fixture<TaggedModule>(mode, 'tagged');
      const method = Guarded.prototype.guarded;
      assert.equal(Reflect.getOwnMetadata('test:roles', method), 'admin', 'a decorator below it');
      assert.equal(Reflect.getOwnMetadata('test:route', method), 'above', 'a decorator above it');
      assert.notEqual(await new Guarded().guarded(), process.pid);
    });

    test('a `this` holding an injected dependency (a service with functions) fails saying which field it is and what to do', async () => {
      const { HashService } = await fixture<TaggedModule>(mode, 'tagged');
      const error = await rejectionOf(new HashService().hash('x'), SerializationError);
      assert.match(
        error.message,
        /^Cannot send this\.config\.parser .*this\.config is a ConfigService \(a dependency injected into the instance\?\)\. `this` is copied to the child with all its fields: offload a method of a class of its own/s,
      );
    });

    test('`this` is rebuilt on its class prototype without running the constructor; changes stay there', async () => {
      const { Counter } = await fixture<InstancesModule>(mode, 'instances');
      const counter = new Counter(10);
      counter.label = 'mine';
      const result = await counter.bump(5);
      assert.equal(result.count, 15);
      assert.equal(result.label, 'counter at 15', 'prototype methods work in the child');
      assert.equal(result.isCounter, true);
      assert.equal(result.constructions, 0, 'the constructor did not run in the child');
      assert.deepEqual(result.created, new Date(1_000), 'a Date field survives the snapshot');
      assert.equal(counter.count, 10, "the child's changes to this do not come back");
    });

    test('class defaults apply to decorated methods and are inherited, a subclass default wins', async () => {
      const { Counter, QuickCounter } = await fixture<InstancesModule>(mode, 'instances');
      await new Counter(0).loopFor(300);
      const quick = new QuickCounter(1);
      const bumped = await quick.bump(1);
      assert.equal(bumped.label, 'quick counter at 2', 'the child rebuilt `this` as the decorated subclass');
      assert.equal((await rejectionOf(quick.loopFor(3_000), TimeoutError)).timeout, 200);
      const listed = Reflect.getOwnMetadata('run-in-process:methods', Counter) as string[];
      assert.deepEqual([...listed].sort(), ['bump', 'loopFor', 'static tableOf']);
    });

    test("a subclass's own class options override its ancestors' key by key: the rest still apply", async () => {
      const { MarkedQuickCounter } = await fixture<InstancesModule>(mode, 'instances');
      const marked = new MarkedQuickCounter(1);
      assert.equal((await marked.bump(1)).label, 'marked quick counter at 2');
      assert.equal((await rejectionOf(marked.loopFor(1_500), TimeoutError)).timeout, 200, "QuickCounter's timeout");
    });

    test('an undecorated subclass is rebuilt as its decorated ancestor, with a one-time warning', async () => {
      const { PlainSubCounter } = await fixture<InstancesModule>(mode, 'instances');
      const { result, warnings } = await captureWarnings(async () => {
        const first = await new PlainSubCounter(1).bump(1);
        await new PlainSubCounter(1).bump(1);
        return first;
      });
      assert.equal(result.label, 'counter at 2');
      assert.deepEqual(
        warnings.map((warning) => warning.code),
        ['RUN_IN_PROCESS_UNKNOWN_SUBCLASS'],
      );
    });

    test('a `this` whose class extends Array or Map is refused, not rebuilt empty', async () => {
      const { NumberList, Tally } = await fixture<InstancesModule>(mode, 'instances');
      const numbers = new NumberList();
      numbers.push(1, 2, 3);
      const list = await rejectionOf(numbers.total(), SerializationError);
      assert.equal(list.path, 'this');
      assert.match(
        list.message,
        /NumberList.total\(\): it is an array \(its class extends Array\).*Make the method static/,
      );
      const tally = await rejectionOf(new Tally([['a', 1]]).count(), SerializationError);
      assert.match(tally.message, /it is an instance of a subclass of Map/);
    });

    test('a static method called on a subclass runs with that subclass as `this`, as locally', async () => {
      const { Counter, QuickCounter, MarkedQuickCounter, PlainStaticSubCounter } = await fixture<InstancesModule>(
        mode,
        'instances',
      );
      assert.deepEqual(await Counter.tableOf(), { table: 'counters', name: 'Counter' });
      assert.deepEqual(await QuickCounter.tableOf(), { table: 'quick counters', name: 'QuickCounter' });
      assert.deepEqual(await MarkedQuickCounter.tableOf(), { table: 'quick counters', name: 'MarkedQuickCounter' });
      // A subclass the child cannot find: its ancestor, said once.
      const { result, warnings } = await captureWarnings(async () => {
        const first = await PlainStaticSubCounter.tableOf();
        await PlainStaticSubCounter.tableOf();
        return first;
      });
      assert.deepEqual(result, { table: 'counters', name: 'Counter' });
      assert.deepEqual(
        warnings.map((warning) => warning.code),
        ['RUN_IN_PROCESS_UNKNOWN_SUBCLASS'],
      );
      assert.match(warnings[0]!.message, /runs its static methods with `this` as its ancestor Counter/);
      // Declared and exported in another module: found there.
      const { ElsewhereCounter } = await fixture<typeof import('../fixtures/src/instances-elsewhere.js')>(
        mode,
        'instances-elsewhere',
      );
      assert.deepEqual(await ElsewhereCounter.tableOf(), { table: 'elsewhere counters', name: 'ElsewhereCounter' });
      // Known here, but not there under standard decorators (not exported): the declaring class, not a failure.
      const { hiddenTableOf } = await fixture<InstancesModule>(mode, 'instances');
      assert.deepEqual(
        await hiddenTableOf(),
        mode === 'standard'
          ? { table: 'counters', name: 'Counter' }
          : { table: 'hidden counters', name: 'HiddenStaticSubCounter' },
      );
    });

    test('@runInProcess above a class none of whose methods (own, inherited or of a subclass) is decorated warns that nothing of it is offloaded', async () => {
      const { warnings, result } = await captureWarnings(async () => {
        const module = await fixture<ClassDefaultsModule>(mode, 'class-defaults');
        await new Promise((resolve) => setImmediate(resolve));
        return module;
      });
      assert.deepEqual(
        warnings.map((warning) => warning.code),
        ['RUN_IN_PROCESS_CLASS_OFFLOADS_NOTHING'],
      );
      assert.match(warnings[0]!.message, /above class OnlyDefaults, none of whose methods is decorated/);
      assert.match(warnings[0]!.message, /Put @runInProcess above each async method/);
      assert.equal(await new result.OnlyDefaults().where(), process.pid, 'what the warning says');
      assert.notEqual(await new result.SubclassWithMethods().where(), process.pid);
      assert.notEqual(await new result.MarkedSubclass().where(), process.pid);
    });

    test('a method called on something other than its instance is refused, saying how to call it', async () => {
      const { Hasher } = await fixture<HasherModule>(mode, 'hasher');
      const hasher = new Hasher(2);
      const data = new Uint8Array([1]);
      // `[data].map(hasher.digest)` passes no instance: locally, this.rounds throws; the child would
      // have run it on a blank Hasher.
      const unbound = await rejectionOf(Promise.all([data].map(hasher.digest)), TypeError);
      assert.equal((unbound as TypeError & { code?: string }).code, 'ERR_INVALID_USAGE');
      assert.match(unbound.message, /Hasher\.digest\(\) was called on undefined, not on a Hasher.*\.bind\(instance\)/s);
      for (const [self, got] of [
        [null, 'null'],
        [5, 'a number'],
        [{ rounds: 2 }, 'an object of class Object'],
        [Hasher.prototype, 'Hasher\\.prototype'],
      ] as const) {
        const error = await rejectionOf(hasher.digest.call(self, data), TypeError);
        assert.match(error.message, new RegExp(`called on ${got}, not on a Hasher`));
      }
    });

    test('a method first called on an object of another class (another decorated one too) is refused', async () => {
      // Under standard decorators its class is not known yet when the misuse is its first call.
      const { NotYetCalled, SelfReferring } = await fixture<InstancesModule>(mode, 'instances');
      const whoAmI = NotYetCalled.prototype.whoAmI;
      const notInstance =
        /whoAmI\(\) was called on an object of class (\w+), not on (a NotYetCalled|an instance of its class)/;
      const plain = await rejectionOf(whoAmI.call({}), TypeError);
      assert.equal(plain.message.match(notInstance)?.[1], 'Object', plain.message);
      const other = await rejectionOf(whoAmI.call(new SelfReferring()), TypeError);
      assert.equal(other.message.match(notInstance)?.[1], 'SelfReferring', other.message);
      assert.equal(await new NotYetCalled().whoAmI(), 'not yet called');
    });

    test('an unexported class: found under legacy decorators; under standard ones, a ModuleLoadError that says to export it', async () => {
      const { hidden } = await fixture<InstancesModule>(mode, 'instances');
      if (mode !== 'standard') {
        assert.equal(await hidden().hello(), 'hidden');
        return;
      }
      const error = await rejectionOf(hidden().hello(), ModuleLoadError);
      assert.match(
        error.message,
        /only found when it is exported.*Export the class, or put @runInProcess\(\) on it\.$/s,
      );
      // It was imported: how modules are imported is beside the point.
      assert.doesNotMatch(error.message, /by its file URL/);
    });

    test("an instance whose prototype's constructor is another function is still an instance", async () => {
      // Under standard decorators the class is learned from the instance: here not from its constructor.
      const { ReplacedConstructor } = await fixture<InstancesModule>(mode, 'instances');
      const { result, warnings } = await captureWarnings(() => new ReplacedConstructor().whoAmI());
      assert.equal(result, 'called through another constructor');
      assert.deepEqual(
        warnings.map((warning) => warning.code),
        ['RUN_IN_PROCESS_UNKNOWN_SUBCLASS'],
      );
    });

    test('a class decorator that puts another class in the place of the decorated one leaves its instances instances', async () => {
      const { OneOfAKind } = await fixture<InstancesModule>(mode, 'instances');
      assert.equal(await new OneOfAKind().whoAmI(), 'the only one');
    });

    test('a field of `this` that refers to the instance refers to the rebuilt instance in the child', async () => {
      const { SelfReferring } = await fixture<InstancesModule>(mode, 'instances');
      assert.deepEqual(await new SelfReferring().refersToItself(), { self: true, isInstance: true });
    });

    test('a `this` that cannot be cloned is refused, naming the property', async () => {
      const { WithCallback } = await fixture<InstancesModule>(mode, 'instances');
      const error = await rejectionOf(new WithCallback().run(), SerializationError);
      assert.equal(error.path, 'this.onProgress');
      assert.match(error.message, /this\.onProgress.*keep what stays in this process in a #private field/);
      const { BindsItsMethod } = await fixture<InstancesModule>(mode, 'instances');
      const bound = await rejectionOf(new BindsItsMethod().digest('a'), SerializationError);
      assert.equal(bound.path, 'this.digest');
      assert.match(
        bound.message,
        /a method bound to the instance \(this\.digest = this\.digest\.bind\(this\), in the constructor\?\).*An offloaded method needs no binding/,
      );
    });

    test('misuse fails at definition time with a message that says what to do', async () => {
      const misuse = await fixture<MisuseModule>(mode, 'misuse');
      assert.match(String(misuse.duplicateFunctionId()), /two functions .* "twice".*\{ name: '…' \}/s);
      assert.match(String(misuse.anonymousFunction()), /no name.*\{ name: 'parse' \}/s);
      assert.match(String(misuse.unknownOption()), /unknown option "timout"/);
    });
  });
}

describe('decorator misuse seen at run time', () => {
  test('an anonymous subclass the child cannot find is named by its ancestor in the warning, with the fix', async () => {
    const module = scratchFile('anonymous-subclass.mjs');
    writeFileSync(
      module,
      `import { runInProcess } from ${JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href)};
       export class Base { async m() { return 1; } }
       // As legacy decorators apply @runInProcess to a method.
       Object.defineProperty(Base.prototype, 'm', runInProcess(Base.prototype, 'm', Object.getOwnPropertyDescriptor(Base.prototype, 'm')));
       // What a class decorator that returns a subclass of the class it decorates makes.
       export const Replaced = (() => class extends Base {})();`,
    );
    const { Replaced } = (await import(pathToFileURL(module).href)) as { Replaced: new () => { m(): Promise<number> } };
    assert.equal(Replaced.name, '');
    const { result, warnings } = await captureWarnings(() => new Replaced().m());
    assert.equal(result, 1);
    assert.deepEqual(
      warnings.map((warning) => warning.message),
      [
        'An anonymous subclass of Base is not known to run-in-process, so the child rebuilds `this` as its ancestor ' +
          'Base and its overrides do not apply there. Put @runInProcess() above the decorator that makes it (class ' +
          'decorators apply from the bottom up) so that the child can find it.',
      ],
    );
  });

  test('a getter or a field is refused with a TypeError, in both modes', () => {
    const decorate = runInProcess as unknown as (...args: unknown[]) => unknown;
    assert.throws(() => decorate({}, 'value', { get: () => 1, configurable: true }), TypeError);
    const getterContext = { kind: 'getter', name: 'value', static: false, addInitializer() {}, metadata: {} };
    assert.throws(() => decorate(() => 1, getterContext), /it is a getter/);
    const fieldContext = { kind: 'field', name: 'value', static: false, addInitializer() {}, metadata: {} };
    assert.throws(() => decorate(undefined, fieldContext), /it is a field/);
  });

  test('an accessor is refused in words that read, and a class given to the wrapper with options is refused', () => {
    const decorate = runInProcess as unknown as (...args: unknown[]) => unknown;
    const accessorContext = { kind: 'accessor', name: 'value', static: false, addInitializer() {}, metadata: {} };
    assert.throws(() => decorate({}, accessorContext), /it is an accessor\./);
    class Renderer {
      async render() {
        return 1;
      }
    }
    assert.throws(
      () => decorate(Renderer, { timeout: 1_000 }),
      (error: Error & { code?: string }) =>
        error instanceof TypeError &&
        error.code === 'ERR_INVALID_USAGE' &&
        /wraps a function, and Renderer is a class.*@runInProcess above its async methods/s.test(error.message),
    );
  });

  test('a function wrapped in a class field is refused the second time, saying to wrap it at the top level; its call says so too', async () => {
    const module = scratchFile('field-wrapper.mjs');
    writeFileSync(
      module,
      `import { runInProcess } from ${JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href)};
       export class PerInstance { triple = runInProcess(async function triple(n) { return 3 * n; }); }`,
    );
    const { PerInstance } = (await import(pathToFileURL(module).href)) as {
      PerInstance: new () => { triple: (n: number) => Promise<number> };
    };
    const first = new PerInstance();
    assert.throws(
      () => new PerInstance(),
      /"triple" in .* was wrapped a second time, as another function of the same name and code\..*If runInProcess\(fn\) runs in .* a class field, wrap it once, at the top level/s,
    );
    // Two closures of one factory share its name, as Node's zlib gzipSync and gunzipSync do.
    const { gzipSync, gunzipSync } = await import('node:zlib');
    const builtins = scratchFile('two-builtins.mjs');
    writeFileSync(
      builtins,
      `import { gzipSync, gunzipSync } from 'node:zlib';
       import { runInProcess } from ${JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href)};
       export const gzip = runInProcess(gzipSync);
       export const gunzip = runInProcess(gunzipSync);`,
    );
    assert.equal(gzipSync.name, gunzipSync.name);
    await assert.rejects(
      import(pathToFileURL(builtins).href),
      /If these are two functions made by one factory \(Node's zlib gzipSync and gunzipSync.*give each a name of its own/s,
    );
    const twice = scratchFile('same-function-twice.mjs');
    writeFileSync(
      twice,
      `import { runInProcess } from ${JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href)};
       async function work() { return 1; }
       export const a = runInProcess(work);
       export const b = runInProcess(work);`,
    );
    await assert.rejects(
      import(pathToFileURL(twice).href),
      /the function "work" in .* was wrapped a second time\. If runInProcess\(fn\) runs in a function.*If both wraps are at the top level, wrap it once and use what that returns/s,
    );
    const error = await rejectionOf(first.triple(2));
    assert.match(
      (error as Error).message,
      /registered nothing .*wrap its functions unconditionally, at its top level/s,
    );
    // A CommonJS module is named by its path, which may hold a `?`: not a query.
    const questionDir = join(dirname(scratchFile('question')), 'app?2');
    mkdirSync(questionDir, { recursive: true });
    const questionModule = join(questionDir, 'work.cjs');
    writeFileSync(
      questionModule,
      `const { runInProcess } = require(${JSON.stringify(fileURLToPath(new URL('../../../dist/index.js', import.meta.url)))});
       exports.triple = runInProcess(async function triple(x) { return 3 * x; });`,
    );
    const { triple } = (await import(pathToFileURL(questionModule).href)) as { triple: (x: number) => Promise<number> };
    assert.equal(await triple(2), 6);
    // A helper of the app's that wraps for its callers is taken for their module: the messages say so.
    const library = JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href);
    const helper = scratchFile('offload-helper.mjs');
    writeFileSync(
      helper,
      `import { runInProcess } from ${library};
       export const offload = (fn) => runInProcess(fn, { timeout: 30_000 });`,
    );
    const [a, b] = [scratchFile('helper-user-a.mjs'), scratchFile('helper-user-b.mjs')];
    for (const file of [a, b]) {
      writeFileSync(
        file,
        `import { offload } from ${JSON.stringify(pathToFileURL(helper).href)};
         export const parse = offload(function parse(text) { return text; });`,
      );
    }
    await import(pathToFileURL(a).href);
    await assert.rejects(
      import(pathToFileURL(b).href),
      /"parse" in .*offload-helper.mjs.*is a helper that calls runInProcess\(\) for code declared elsewhere.*\{ module: import\.meta\.url \}/s,
    );
  });

  test('with emitDecoratorMetadata, a method not declared to return a Promise is refused', () => {
    class Sync {
      compute(): number {
        return 1;
      }
    }
    Reflect.defineMetadata('design:returntype', Number, Sync.prototype, 'compute');
    const decorate = runInProcess as unknown as (...args: unknown[]) => unknown;
    const descriptor = Object.getOwnPropertyDescriptor(Sync.prototype, 'compute');
    assert.throws(() => decorate(Sync.prototype, 'compute', descriptor), /declared to return Number.*Promise/s);
  });

  test('a module a child cannot import is refused at definition time', () => {
    assert.throws(
      () => runInProcess(function fromData() {}, { module: 'data:text/javascript,export{}' }),
      /cannot import.*import\.meta\.url/s,
    );
  });

  test('a module option that names no file is refused at definition time, with the path it meant', () => {
    assert.throws(
      () => runInProcess(async function typo() {}, { module: 'plugins/no-such-plugin.js' }),
      /its `module` option names .*plugins\/no-such-plugin\.js, which does not exist\. Pass the declaring module's URL/s,
    );
  });

  test('a sync generator, stream options where nothing streams and retries on a stream are refused at definition time', () => {
    const usage = (pattern: RegExp) => (error: Error & { code?: string }) =>
      error.code === 'ERR_INVALID_USAGE' && pattern.test(error.message);
    assert.throws(
      () =>
        runInProcess(function* numbers() {
          yield 1;
        }),
      usage(/numbers\(\): it is a generator \(function\*\).*async generator \(async function\*/s),
    );
    class Numbers {
      *values() {
        yield 1;
      }
    }
    const values = Object.getOwnPropertyDescriptor(Numbers.prototype, 'values')!;
    assert.throws(
      () => runInProcess(Numbers.prototype, 'values', values as never),
      usage(/Numbers\.values: it is a generator/),
    );
    assert.throws(
      () => runInProcess(async function plain() {}, { stream: { window: 2 } }),
      usage(/the stream option of plain\(\) applies to async generators/),
    );
    assert.throws(
      () => runInProcess(async function* items() {}, { retries: 1 }),
      usage(/items\(\) is an async generator, which is never run again.*Remove the retries option/s),
    );
  });

  test('a class or function declared in a test file is refused: the child would run the tests', () => {
    assert.throws(
      () => runInProcess(function inTest() {}, { module: 'file:///app/src/resize.test.ts' }),
      /declared in a test file.*Move the class or function into its own module/s,
    );
  });

  test('code with no module file (eval, REPL) is refused at definition time, naming the fix', () => {
    const script = `import('run-in-process').then(({ runInProcess }) => {
      try { runInProcess(function fromEval() {}); console.log('accepted'); } catch (error) { console.log(error.message); }
    });`;
    // CommonJS eval has no file on its stack; module eval has one named file:///<cwd>/[eval1].
    const commonjs = runScript(script, { commonjs: true });
    assert.match(
      commonjs.stdout,
      /Cannot tell which module declares fromEval\(\).*\{ module: import\.meta\.url \} \(in CommonJS, \{ module: __filename \}\).*given to node -e has no file to name: put it in a module file/s,
      commonjs.report,
    );
    const noFile =
      /Cannot run fromEval\(\) in a child process: it is declared in code given to node -e \(--eval, or stdin\), which has no file.*Put it in a module file/s;
    const module = runScript(script, { commonjs: false });
    assert.match(module.stdout, noFile, module.report);
    // The fix the first message offers leads here too, not to a file that "does not exist".
    const named = runScript(
      `const { runInProcess } = require('run-in-process');
      try { runInProcess(function fromEval() {}, { module: __filename }); } catch (error) { console.log(error.message); }`,
      { commonjs: true },
    );
    assert.match(named.stdout, noFile, named.report);
    // Code piped on stdin has no file either.
    const piped = spawnSync(process.execPath, ['--input-type=commonjs', '-'], {
      cwd: repoRoot,
      input: `const { runInProcess } = require('run-in-process');
        try { runInProcess(function fromStdin() {}, { module: __filename }); } catch (error) { console.log(error.message); }`,
      encoding: 'utf8',
    });
    assert.match(
      piped.stdout,
      /Cannot run fromStdin\(\) in a child process: it is declared in code given to node -e \(--eval, or stdin\)/,
      piped.stderr,
    );
  });

  test("code that eval(), new Function(), the vm module or a data: URL declares is refused at definition time, not taken for its caller's", async () => {
    const refused =
      /it is declared in code (run by eval\(\) or new Function\(\)|imported from a data: URL), which has no file/;
    // biome-ignore lint/security/noGlobalEval: code that eval() runs is what this checks.
    assert.throws(() => eval('runInProcess(async function fromEval() {})'), refused);
    assert.throws(() => new Function('wrap', 'return wrap(async function fromFunction() {})')(runInProcess), refused);
    const code = `import { runInProcess } from '${import.meta.resolve('run-in-process')}';
      export const fromData = runInProcess(async function fromData() {});`;
    await assert.rejects(import(`data:text/javascript,${encodeURIComponent(code)}`), refused);
    const { runInThisContext } = await import('node:vm');
    assert.throws(
      () =>
        (runInThisContext('(wrap) => wrap(async function fromVm() {})') as (wrap: unknown) => unknown)(runInProcess),
      /it is declared in code run by the vm module .* with no file name, which has no file/,
    );
  });

  test('code in a module that a loader hook serves under a scheme of its own is refused at definition time, not taken for the script that imported it', () => {
    const hooks = `export async function resolve(specifier, context, next) {
        return specifier.startsWith('virtual:') ? { url: specifier, shortCircuit: true } : next(specifier, context);
      }
      export async function load(url, context, next) {
        if (!url.startsWith('virtual:')) return next(url, context);
        const source = "import { runInProcess } from '${import.meta.resolve('run-in-process')}';" +
          'export const fromVirtual = runInProcess(async function fromVirtual() { return process.pid; });';
        return { format: 'module', source, shortCircuit: true };
      }`;
    const run = runScript(
      `const { register } = await import('node:module');
       register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
       const error = await import('virtual:plugins/p.js').then(() => undefined, (thrown) => thrown);
       console.log(JSON.stringify({ code: error?.code, message: error?.message }));`,
    );
    assert.equal(run.status, 0, run.report);
    const { code, message } = JSON.parse(run.stdout) as { code?: string; message?: string };
    assert.equal(code, 'ERR_INVALID_USAGE', run.report);
    assert.match(
      message ?? '',
      /Cannot run fromVirtual\(\) in a child process: it is declared in code imported from a virtual: URL \(virtual:plugins\/p\.js, a loader hook's\), which has no file/,
    );
    assert.doesNotMatch(
      run.stderr,
      /RUN_IN_PROCESS_ENTRY_SCRIPT/,
      'the script that imported it is not taken for its module',
    );
  });

  test('isChildProcess() is false in the parent', () => {
    assert.equal(isChildProcess(), false);
  });
});
