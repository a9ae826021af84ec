import { isMainThread } from 'node:worker_threads';
import { reaperGone, reaperRunning } from './local/orphan-reaper.js';
import { clearInterval, setInterval } from '../shared/real-clock.js';

/**
 * A child process is reaped by the event loop of the thread that started it. A worker thread that
 * ends while its pools' children live leaves them to the process, which never reaps them: they exit
 * (their lifeline is gone), and each stays a zombie for the rest of the process's life
 * (nodejs/node#46569). A server whose threads come and go would run out of pids.
 *
 * So in a worker thread, when its event loop runs out of work (`beforeExit`: no call is waited on
 * then, as each one holds the loop), the pools close (streams nobody waits on are ended) and the
 * thread waits for their children, and for the sandboxed pools' reaper, to exit. A thread that is
 * terminated, or calls process.exit(), runs no more code of ours: README says to shut down first.
 */
export function closePoolsAtThreadEnd(poolsRunning: () => boolean, closeAll: () => Promise<void>): void {
  if (isMainThread || listening) return;
  listening = true;
  process.on('beforeExit', () => {
    if (closing || !(poolsRunning() || reaperRunning())) return;
    // Exits are awaited on handles that do not hold the loop (tinypool unrefs its children).
    const hold = setInterval(() => {}, 1_000);
    closing = closeAll()
      .catch(() => {}) // Nothing here may end the thread with an error of ours.
      .finally(() => {
        clearInterval(hold);
        closing = undefined;
      });
  });
}
let listening = false;
let closing: Promise<void> | undefined;

/**
 * In a worker thread, once its pools have closed (`shutdown()`, or the thread's end above): the
 * sandboxed pools' reaper, which lingers a while for children to come, goes now, and is waited for,
 * so that a thread ended right after (`worker.terminate()`) leaves no zombie.
 */
export async function reaperGoneInThread(): Promise<void> {
  if (isMainThread || !reaperRunning()) return;
  const hold = setInterval(() => {}, 1_000);
  try {
    await reaperGone();
  } finally {
    clearInterval(hold);
  }
}
