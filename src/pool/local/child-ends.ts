import { RunInProcessError } from '../../errors.js';
import { noticePipeFd } from '../../protocol.js';
import type { ExitReason } from '../../shared/tracing.js';
import type { BatchLoss } from '../transport.js';
import type { ChildRecord } from './child-tracker.js';
import { type BootSettings, crashError, startupError } from './crash-report.js';

/**
 * What the end of a child means: for the batches it was given (what ran, what goes again), and
 * for the `run-in-process:child:exit` channel (why it ended). Sends and stops are counted in one
 * sequence by the transport, which is how a batch given to a child that was being stopped is told
 * from one it may have started.
 */

/** A batch whose child died (its record known), once the answers it sent before dying are read. */
export function lossWithChild(record: ChildRecord, sentAt: number, boot: BootSettings): BatchLoss {
  // tinypool may give a child a task after the pool began to kill it, before it hears of its
  // exit: that batch ran nothing there, and goes again, as a retiring child's does.
  const sentToDying = record.stoppedAt !== undefined && sentAt > record.stoppedAt;
  // A child that never booted ran nothing: its boot failed, not the call (a preload that hangs).
  const blame = record.ready ? (label: string) => crashError(record, label) : () => startupError(record, boot);
  if (record.leftCleanly || sentToDying) return { kind: 'retired', error: blame };
  // Its notices came on a pipe it writes synchronously: a start it told reached the pipe before the
  // call ran, and was read. Not from a child stopped for misbehaving (code in it wrote something else
  // on that pipe: the parent reads nothing after it), nor from one whose pipe closed while it still
  // ran (code in it closed or reused the descriptor, then it died): their silence says nothing.
  const startsTold = toldItsStarts(record);
  // A child that threw outside any call said which calls it ran then, and started none after
  // (child/runner.ts): only those are blamed.
  const ran = record.fatalRunning;
  if (!ran) return { kind: 'crashed', error: blame, startsTold };
  const onBlamed = () => {
    record.fatalBlamed = true;
  };
  return { kind: 'crashed', error: blame, ran: (call) => ran.has(call), ranIsItsWord: true, startsTold, onBlamed };
}

/**
 * Whether a child's notices, once its pipes closed, say every batch it started: it wrote them on a
 * pipe, synchronously, before it ran anything of the batch. Not a child stopped for misbehaving (code
 * in it wrote something else on that pipe: the parent reads nothing after it), nor one whose pipe
 * closed while it still ran (code in it closed or reused the descriptor): their silence says nothing.
 */
export function toldItsStarts(record: ChildRecord): boolean {
  return record.process.stdio[noticePipeFd] != null && record.misbehaved === undefined && !record.noticesCut;
}

/**
 * A batch whose worker tinypool ended because we aborted another task on it. tinypool can still
 * give that worker a queued batch afterwards (the aborted task's result, already on its way, makes
 * it look free), and a worker being ended sends its child nothing: a batch given to tinypool after
 * the abort never reached a child, and goes again. So does any batch when a child runs one task at
 * a time (callsPerChild 1): the aborted one held it, and tinypool gave it this one only once the
 * abort had freed its place, a batch it had queued before the abort included; and one that no child
 * started (`unstarted`: the children ended for aborts told their starts, and were all read, and none
 * named it), such as a batch tinypool had queued and then gave that worker. Otherwise one given
 * before may have run beside the aborted one (callsPerChild above 1): its calls fail, as they would
 * have had its child been killed.
 */
export function lossWithAbortedWorker(
  sentAt: number,
  abortedAt: number,
  oneTaskPerChild: boolean,
  unstarted: boolean,
): BatchLoss {
  if (sentAt > abortedAt || oneTaskPerChild || unstarted) return { kind: 'retired' };
  return {
    kind: 'crashed',
    error: (label) =>
      new RunInProcessError(`${label} was stopped with its child, which a call beside it that was stopped ended.`),
  };
}

/** Why a child ended, for `run-in-process:child:exit`. */
export function exitReason(
  record: ChildRecord,
  unexpected: boolean,
  pool: { destroying: boolean; broken: boolean; isolate: boolean },
): ExitReason {
  const stopped = record.stoppedFor;
  if (stopped) return stopped === 'stuck' ? 'timeout' : stopped;
  // Not ready within startTimeout: killed as stuck. A failed preload ends the child before the pool,
  // broken by it, stops the others: they end with it, for its crash, not for a shutdown.
  if (record.bootTimedOut !== undefined) return 'timeout';
  if (record.misbehaved || record.preloadFailed) return 'crash';
  // tinypool calls any exit it did not ask for unexpected; a retired child's own is not a crash.
  if (record.leftCleanly) return 'recycle';
  if (unexpected) return 'crash';
  if (pool.destroying) return pool.broken ? 'crash' : 'shutdown';
  // tinypool stopped it: after its task, in an isolated pool or above the heap limit; or idle.
  return pool.isolate ? 'recycle' : 'idle';
}
