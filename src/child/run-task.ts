import { encodeThrown } from '../codec/thrown.js';
import { asBuffer, decodeValue, encodeValue, isSentAsIs } from '../codec/values.js';
import type { CallTask, ChildNotice, Reply, Target, WakeTask } from '../protocol.js';
import { resolveTarget } from './resolve-target.js';

/**
 * Runs one task and always answers with a Reply: the user's code may throw anything, and it still
 * comes back as data, never as a rejected tinypool task.
 */

const modules = new Map<string, Promise<object>>();
const recycleAfter = Number(process.env['RUN_IN_PROCESS_RECYCLE_AFTER']) || undefined;
let answered = 0;
let retired = false;

/** Past its call limit, or after a failed import: this child takes no more calls. */
export function hasRetired(): boolean {
  return retired;
}

export async function runTask(task: CallTask | WakeTask, notify: (notice: ChildNotice) => void): Promise<Reply> {
  if (task[0] === 'wake') return { kind: 'woken' };
  if (retired) return { kind: 'retired' };
  if (task[5]) notify({ runInProcess: 'started', id: task[2] });
  const { reply, healthy } = await execute(task);
  // A module that failed to import stays failed in this process's module cache: let a fresh child retry it.
  if (!healthy || (recycleAfter !== undefined && ++answered >= recycleAfter)) {
    retired = true;
    reply.retiring = process.pid;
  }
  return reply;
}

type Answer = Extract<Reply, { kind: 'value' | 'as-is' | 'thrown' }>;

function rewrapBuffers(args: unknown[], buffers: number[] | undefined): unknown[] {
  for (const index of buffers ?? []) args[index] = asBuffer(args[index]);
  return args;
}

async function execute([, targetKey, , input, buffers]: CallTask): Promise<{ reply: Answer; healthy: boolean }> {
  let moduleExports: object;
  let call: () => unknown;
  try {
    const target = parseTarget(targetKey);
    const namespace = importOnce(target.module);
    moduleExports = namespace instanceof Promise ? await namespace : namespace;
    if (target.kind === 'method' && target.instanceClass) await importOnce(target.instanceClass.module);
    const { this: snapshot, args } = Array.isArray(input)
      ? { this: undefined, args: rewrapBuffers(input, buffers) }
      : (decodeValue(input) as { this?: Record<string, unknown>; args: unknown[] });
    const { fn, self } = resolveTarget(target, moduleExports, snapshot);
    call = () => fn.apply(self, args);
  } catch (error) {
    return { reply: { kind: 'thrown', stage: 'load', thrown: encodeThrown(error) }, healthy: false };
  }
  let result: unknown;
  try {
    result = await call();
  } catch (error) {
    return { reply: { kind: 'thrown', stage: 'call', thrown: encodeThrown(error, moduleExports) }, healthy: true };
  }
  if (isSentAsIs(result)) {
    const reply: Answer = Buffer.isBuffer(result) ? { kind: 'as-is', value: result, buffer: true } : { kind: 'as-is', value: result };
    return { reply, healthy: true };
  }
  try {
    return { reply: { kind: 'value', value: encodeValue(result, 'result', 'back to the parent process') }, healthy: true };
  } catch (error) {
    return { reply: { kind: 'thrown', stage: 'call', thrown: encodeThrown(error) }, healthy: true };
  }
}

const targets = new Map<string, Target>();

function parseTarget(key: string): Target {
  let target = targets.get(key);
  if (!target) targets.set(key, (target = JSON.parse(key) as Target));
  return target;
}

/** The resolved namespaces too, so that a warm call does not wait a turn on an already-loaded module. */
const loadedModules = new Map<string, object>();

function importOnce(url: string): object | Promise<object> {
  const loaded = loadedModules.get(url);
  if (loaded) return loaded;
  let loading = modules.get(url);
  if (!loading) {
    loading = (import(url) as Promise<object>).then((namespace) => {
      loadedModules.set(url, namespace);
      return namespace;
    });
    modules.set(url, loading);
  }
  return loading;
}
