import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { usageError } from '../errors.js';

/**
 * Any process of the user may signal this one, a sandboxed child of any app on the machine among
 * them (the permission model lets it signal). SIGUSR1 would open this process's inspector on
 * 127.0.0.1:9229, through which such a process could run code here with this one's rights (a remote
 * worker's: its Redis connection and its secret). A listener keeps it closed. Only when the app has
 * none of its own: it then decides.
 *
 * In a worker thread a listener does nothing of the kind: Node handles signals in the main thread,
 * and opens the inspector whatever a thread listens to. Nothing a thread can do at run time shuts it
 * (measured), so there `what` is refused unless the process does not catch SIGUSR1 at all, as a
 * process started with `--disable-sigusr1` does not: what the kernel says of the process
 * (/proc/self/status), not what this thread's flags or environment say, which a Worker's options or
 * code may have set to anything.
 */
export function guardInspector(what: string): void {
  if (isMainThread) {
    // Not in a process started with the inspector's signal off: needless there, and a thread of this
    // process would then find SIGUSR1 caught, and refuse (below).
    if (process.listenerCount('SIGUSR1') === 0 && catchesSigusr1() !== false) process.on('SIGUSR1', () => {});
    return;
  }
  if (!process.features.inspector || catchesSigusr1() === false) return;
  const fix = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1')
    ? 'Start node with --disable-sigusr1 (on its command line or in the NODE_OPTIONS it starts with: not in a ' +
      "Worker's execArgv or env, which do not reach the process), or use it from the main thread."
    : `This Node (${process.version}) has no --disable-sigusr1 (Node 22.14 and later have it): use it from the main thread.`;
  throw usageError(
    `${what} from a worker thread, where the library cannot keep SIGUSR1 from opening this process's inspector ` +
      `(Node acts on signals in the main thread only), through which any process of your user, such a pool's ` +
      `children among them, could run code here. ${fix}`,
  );
}

/** Whether this process catches SIGUSR1 (Node does, to open its inspector), or undefined where that cannot be read. */
function catchesSigusr1(): boolean | undefined {
  try {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (caught === undefined) return undefined;
    return (BigInt(`0x${caught}`) >> BigInt(constants.signals.SIGUSR1 - 1)) % 2n === 1n;
  } catch {
    return undefined;
  }
}
