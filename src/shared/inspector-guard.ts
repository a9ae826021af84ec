import { isMainThread } from 'node:worker_threads';
import { usageError } from '../errors.js';
import { flagName, inspectorShutFlags, nodeOptionsFlags } from '../node-flags.js';

/**
 * Any process of the user may signal this one, a sandboxed child of any app on the machine among
 * them (the permission model lets it signal). SIGUSR1 would open this process's inspector on
 * 127.0.0.1:9229, through which such a process could run code here with this one's rights (a remote
 * worker's: its Redis connection and its secret). A listener keeps it closed. Only when the app has
 * none of its own: it then decides.
 *
 * In a worker thread a listener does nothing of the kind: Node handles signals in the main thread,
 * and opens the inspector whatever a thread listens to. Nothing a thread can do at run time shuts it
 * (measured), so there the process must have been started with a flag that does, or `what` is
 * refused, with the flag to use.
 */
export function guardInspector(what: string): void {
  if (isMainThread) {
    if (process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => {});
    return;
  }
  if (startedShut()) return;
  const flags = inspectorShutFlags().join(' ');
  throw usageError(
    `${what} from a worker thread, where the library cannot keep SIGUSR1 from opening this process's inspector ` +
      `(Node acts on signals in the main thread only), through which any process of your user, such a pool's ` +
      `children among them, could run code here. Start node with ${flags} (or put it in NODE_OPTIONS), ` +
      `or use it from the main thread.`,
  );
}

/**
 * Whether the process was started with the flags that keep its inspector shut: those the children
 * get (node-flags.ts inspectorShutFlags), or a Node built without an inspector. A thread's execArgv
 * are the process's unless its Worker was given others; then this errs on the side of refusing.
 */
function startedShut(): boolean {
  if (!process.features.inspector) return true;
  const flags = [...process.execArgv, ...nodeOptionsFlags(process.env['NODE_OPTIONS'])];
  return flags.some((flag, i) => {
    const name = flagName(flag);
    if (name === '--disable-sigusr1') return true;
    if (name !== '--inspect-port' && name !== '--debug-port') return false;
    const value = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : flags[i + 1];
    // The address no interface has: the inspector cannot listen.
    return value?.startsWith('0.0.0.1:') === true;
  });
}
