import { encodeValues } from '../codec/values.js';
import type { BatchTask, CallTask, FunctionTarget, MethodTarget, TaskResult } from '../protocol.js';
import { addFunction, addMethod, classEntry, moduleEntry } from '../shared/registry.js';
import { CallRunner } from './call-runner.js';
import { runBatch } from './run-batch.js';

/**
 * What a child of a warm pool does before the parent counts it warm (a `WarmTask`). Booted and with
 * its `preload` imported, it still has its call path to compile: V8 compiles a function the first
 * time it runs, and a first call through the batch, call and answer code took ~0.7 ms here, against
 * ~0.03 ms warm (bench/analysis.md). So the child runs no-op calls through that code, the kinds a
 * user's call takes (a function, a static method, a method with `this` and a value both ways), and
 * waits for its watchdog thread, whose boot would otherwise share the CPUs with the first call.
 */

let pings: CallTask[] | undefined;

export async function warmUp(watchdogStarted: Promise<void>): Promise<TaskResult> {
  await watchdogStarted;
  // A runner of its own: the pings count towards no call limit, leave the batches' settings alone,
  // and are not traced (`run-in-process:child:call` is for the user's calls).
  // Batch id 0 is never one of the parent's (pool/batch.ts).
  // A batch per ping: one batch would stop after a first ping slower than a millisecond (run-batch.ts).
  const runner = new CallRunner(false);
  for (const ping of (pings ??= registerPings()))
    await runBatch(['batch', 0, [ping], false, undefined] satisfies BatchTask, runner, () => {});
  return ['warmed'];
}

/** No-op targets registered under this module's URL, which the call path imports as it would a user's module. */
function registerPings(): CallTask[] {
  const module = import.meta.url;
  const entry = moduleEntry(module);
  const echo = (value: unknown) => value;
  addFunction({ module: entry, id: 'ping', impl: echo, options: {} });
  class WarmUpPing {}
  const owner = classEntry(entry, WarmUpPing);
  addMethod({ owner, name: 'ping', isStatic: true, impl: echo, options: {} });
  addMethod({ owner, name: 'ping', isStatic: false, impl: echo, options: {} });
  const method = (isStatic: boolean): string =>
    JSON.stringify({
      kind: 'method',
      module,
      classIndex: owner.index,
      className: WarmUpPing.name,
      method: 'ping',
      isStatic,
    } satisfies MethodTarget);
  const fn = JSON.stringify({ kind: 'function', module, id: 'ping' } satisfies FunctionTarget);
  const input = encodeValues({ this: { warm: true }, args: [{ warm: true }] }, 'a warm-up ping');
  return [
    ['call', fn, 0, [0], undefined, false],
    ['call', method(true), 0, [0], undefined, false],
    ['call', method(false), 0, input, undefined, false],
  ];
}
