import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';

/** V8's own, taken before any seal: the library's (eager-compile.ts), which code here never reaches. */
export const setV8Flags: (flags: string) => void = v8.setFlagsFromString;

/**
 * What Node's permission model lets a sandboxed child do that writes files outside its `fsWrite`
 * (a hostile review did each): V8 flags set at run time, which the model does not look at, as
 * `v8.setFlagsFromString('--trace-turbo-cfg-file=~/.bashrc')` then a hot function whose name holds
 * shell lines (`--redirect-code-traces-to`, `--trace-turbo-path`, `--allow-natives-syntax` and its
 * memory-unsafe intrinsics too); a heap snapshot near the heap limit, written into the working
 * directory (Node 20 and 22: Node checks it from 24); trace events, written there too (Node 20:
 * checked from 22). configure() refuses those flags in a sandboxed pool's `execArgv`; these are
 * the same, asked for by the code inside.
 *
 * Each is replaced, before any module of the pool's loads (its `preload`, the modules it runs; not
 * what the pool's own `--import` or `--require` flags load, which runs first, as the host's code
 * does, and may keep the original), by a function that throws, in the
 * module's object and its ES module bindings alike, neither writable nor configurable: code here
 * can reach the original only through Node's internal bindings, which the model denies
 * (`process.binding`).
 */
export function sealSandbox(): void {
  if (process.permission === undefined) return;
  const major = Number(process.versions.node.split('.')[0]);
  // Loaded here, not imported: every other child would load trace_events for nothing.
  const traceEvents = process.getBuiltinModule('node:trace_events');
  refuse(v8, 'setFlagsFromString', "V8 flags can write files outside the sandbox: give them in the pool's execArgv");
  if (major < 24) refuse(v8, 'setHeapSnapshotNearHeapLimit', 'it writes heap snapshots outside the sandbox');
  if (major < 22) refuse(traceEvents, 'createTracing', 'it writes its trace outside the sandbox');
  syncBuiltinESMExports();
}

function refuse(module: object, name: string, why: string): void {
  const refused = () => {
    throw Object.assign(new Error(`${name}() is denied in a child of a sandboxed pool (run-in-process): ${why}.`), {
      code: 'ERR_ACCESS_DENIED',
    });
  };
  Object.defineProperty(refused, 'name', { value: name });
  Object.defineProperty(module, name, { value: refused, writable: false, configurable: false, enumerable: true });
}
