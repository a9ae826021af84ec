import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { lifelineVariable, processGroupVariable } from '../protocol.js';
import { earlySentinelStarted } from './early-sentinel.js';
import { parentIsNamespaceInit, sentinelLifeline, startSentinel } from './orphan-sentinel.js';
import { setImmediate } from '../shared/real-clock.js';

/**
 * A child must not outlive its parent, even a parent killed with SIGKILL, and even while the
 * child's main thread is stuck in a CPU loop and cannot run any event handler. On POSIX the child
 * starts a sentinel process (orphan-sentinel.ts), which kills the child's whole process group when
 * the parent is gone. Where it cannot (Windows, no `/bin/sh`, no lifeline from the parent), a
 * small thread here watches the parent pid and kills the whole process when the child has been
 * re-parented: its whole process group when it leads one, so that what its code started goes too.
 *
 * A child under Node's permission model (a sandboxed pool) has neither: the model denies
 * processes and threads unless allowed, and on Node 22 and later a thread it allows escapes the
 * model (nodejs/node#62222). The parent's orphan reaper (pool/local/orphan-reaper.ts) kills those.
 * (It still tries the sentinel, which `--permission-audit` lets start.)
 *
 * Settles once that thread runs (or has exited, failing to start), and at once with a sentinel:
 * the thread's boot takes a CPU for some milliseconds, which a warm child waits out before it says
 * it is warm (warm-up.ts).
 */
export function exitWithParent(lastWords?: () => void): Promise<void> {
  const leadsGroup = process.env[processGroupVariable]?.startsWith('g:') === true;
  const lifeline = sentinelLifeline();
  // As the parent gave it, for a thread to wait on where no sentinel may start (a parent that is PID 1).
  const given = Number(process.env[lifelineVariable]);
  const givenLifeline = Number.isInteger(given) && given > 2 ? given : undefined;
  delete process.env[processGroupVariable];
  delete process.env[lifelineVariable];
  const target = leadsGroup ? -process.pid : process.pid;
  // The quick path, for an idle child: the IPC channel closes with the parent. Code in the child
  // that closes it (process.disconnect()) ends the child too: said on stderr, which a parent still
  // alive shows in the call's ProcessCrashedError.
  process.once('disconnect', () => {
    try {
      lastWords?.();
    } catch {
      // The parent is gone, and the pipe of the words with it.
    }
    try {
      writeSync(
        2,
        `run-in-process: this child's IPC channel closed (its parent is gone, or its code called process.disconnect()); it ends, with what it started.\n`,
      );
    } catch {
      // The parent is gone, and its end of stderr with it.
    }
    if (leadsGroup) process.kill(target, 'SIGKILL');
    else process.exit(0);
  });
  // The parent as it is now: a parent that died before the thread starts is seen gone by it.
  const parent = process.ppid;
  let thread: Promise<void> | undefined;
  // Under the permission model, no thread: one it denies would throw here, uncaught, and on Node 22
  // and later one it allows escapes it (nodejs/node#62222). A sentinel is tried all the same: the
  // model denies its spawn (the parent's reaper then stands in), `--permission-audit` does not.
  const underModel = process.permission !== undefined;
  const fallBack = underModel ? () => {} : () => (thread ??= watchdogThread(parent, target));
  // Started already, as a rule, by the child's first `--require` (sentinel-first.ts).
  if (earlySentinelStarted(fallBack)) return Promise.resolve();
  // A parent that is PID 1 (a container's first process): a thread that waits on the lifeline, not a
  // sentinel process (orphan-sentinel.ts parentIsNamespaceInit). Where there is no lifeline either,
  // the kernel ends this process with the namespace's init.
  if (parentIsNamespaceInit() && !underModel)
    return givenLifeline === undefined ? Promise.resolve() : watchdogThread(parent, target, givenLifeline);
  if (lifeline !== undefined) {
    // Where it was not (a parent that could not find that file): at once, not at the next turn as
    // the thread, since a CommonJS module of the pool's preload that loops at its top level would run
    // before that turn (a hostile review had one). A spawn forks this young process: about a millisecond.
    startSentinel(lifeline, fallBack);
    return Promise.resolve();
  }
  return underModel ? Promise.resolve() : watchdogThread(parent, target);
}

/**
 * The thread that watches the parent pid where there is no sentinel, or the lifeline when given one
 * (read on the thread's own event loop, not by a blocking read, which would keep the thread from
 * ending, and Node waits for its threads as the process exits): its end is the parent gone, or the
 * parent's thread, or the parent closing it on a child it may no longer signal. Settles once it runs.
 */
function watchdogThread(parent: number, target: number, lifeline?: number): Promise<void> {
  return new Promise((resolve) => {
    // Started at the next turn, not now: making a thread takes this thread ~5 ms of CPU, which here
    // would come before the first call's module is even read; at the next turn it mostly fills the
    // waits of that module's import (its files are read asynchronously). Its code cannot run before
    // that import's first file is read, and the 'disconnect' handler above covers an idle child.
    setImmediate(() => {
      const watchdog = new Worker(
        `const { workerData } = require('node:worker_threads');
         const end = () => process.kill(workerData.target, 'SIGKILL');
         if (workerData.lifeline === undefined) {
           setInterval(() => { if (process.ppid !== workerData.parent) end(); }, 250);
         } else {
           const lifeline = new (require('node:net').Socket)({ fd: workerData.lifeline, readable: true, writable: false });
           lifeline.on('data', () => {});
           lifeline.once('end', end);
           lifeline.once('error', end);
         }`,
        { eval: true, workerData: { parent, target, lifeline }, execArgv: [], stdout: false, stderr: false },
      );
      watchdog.unref();
      watchdog.once('online', resolve);
      watchdog.once('exit', () => resolve());
    });
  });
}
