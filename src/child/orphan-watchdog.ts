import { Worker } from 'node:worker_threads';

/**
 * A child must not outlive its parent, even a parent killed with SIGKILL, and even while the
 * child's main thread is stuck in a CPU loop and cannot run any event handler. A small thread
 * watches the parent pid and kills the whole process when the child has been re-parented.
 */
export function exitWithParent(): void {
  // The quick path, for an idle child: the IPC channel closes with the parent.
  process.once('disconnect', () => process.exit(0));
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 250);`,
    { eval: true, workerData: process.ppid, execArgv: [], stdout: false, stderr: false },
  );
  watchdog.unref();
}
