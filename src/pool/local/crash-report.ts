import { decodeThrown } from '../../codec/thrown-decode.js';
import { ChildStartupError, ModuleLoadError, ProcessCrashedError } from '../../errors.js';
import { channelClosedCode, type EncodedThrown, exitedOutsideCallsCode, untoldFatalExitCode } from '../../protocol.js';
import { inspectorShutFlags } from '../../node-flags.js';
import { resolveErrorClass } from '../../shared/error-classes.js';
import { fsReadHint } from '../../shared/sandbox-hint.js';
import type { StopReason } from '../transport.js';
import type { ChildRecord } from './child-tracker.js';
import { processLimitHint } from './process-limit.js';
import { stderrTail } from './stderr-tail.js';
import { describeThrown } from '../../codec/describe-thrown.js';

/** Turning a dead child into an error that says what happened and what to do. */

const outOfMemoryPattern = /heap out of memory|Reached heap limit|Allocation failed|ERR_WORKER_OUT_OF_MEMORY/i;

/** Why the pool stopped a child, as the calls that went with it are told. */
const stoppedFor: Record<StopReason, string> = {
  timeout: 'a call beside this one that timed out',
  abort: 'a call beside this one that was aborted, or whose callback threw',
  stuck: 'a call beside this one that it did not start in time',
  shutdown: "shutdown()'s deadline",
};

export function crashError(record: ChildRecord, label: string): ProcessCrashedError {
  const { exitCode, signal, stderr } = record;
  const outOfMemory = outOfMemoryPattern.test(stderr);
  const fatal = record.fatal ? decodedOrNot(record.fatal) : undefined;
  let how: string;
  if (record.misbehaved) how = `it ${record.misbehaved}, so the parent stopped it`;
  else if (outOfMemory) how = "it ran out of memory (raise the pool's maxMemoryMb, or make the call hold less)";
  else if ((fatal as { code?: unknown } | undefined)?.code === channelClosedCode)
    how = 'its code closed its IPC channel (process.disconnect()), on which it hears of its calls, so it ended';
  else if ((fatal as { code?: unknown } | undefined)?.code === exitedOutsideCallsCode)
    how = `${endedOutsideCalls(exitCode)}, after this call`;
  else if (fatal !== undefined)
    how = `it threw outside any call (from a timer or an unhandled rejection?): ${describeThrown(fatal)}`;
  // The pool killed it for another call it ran (callsPerChild above 1): this call went with it.
  else if (record.stoppedFor && signal === 'SIGKILL') how = `the pool stopped it for ${stoppedFor[record.stoppedFor]}`;
  // Not by the pool: from outside, the kernel's out-of-memory killer most often (each child is its first choice).
  else if (signal === 'SIGKILL')
    how =
      'it was killed by signal SIGKILL, not by the pool: by its own code or another process, or by the kernel when memory ran out ' +
      '(under a container or cgroup memory limit, the kernel ends a child first); maxMemoryMb bounds only its heap';
  else if (signal) how = `it was killed by signal ${signal}`;
  // Code 0: something in the child called process.exit() (or ended its event loop's work), most
  // often top-level code that runs again there: an entry script's `main().then(() => process.exit(0))`.
  else if (exitCode === 0)
    how =
      'it exited with code 0: code in the child called process.exit(), or left it nothing to do. Top-level ' +
      'code of the module it imports runs there too (an entry script that ends with process.exit()?): guard it ' +
      'with if (!isChildProcess()) { … }';
  // The runner's own code for an error thrown outside any call that it could not send (pipe lost,
  // or code there broke process.send): what it could say is in its stderr, below.
  else if (exitCode === untoldFatalExitCode)
    how =
      `it exited with code ${exitCode}: it threw outside any call (from a timer or an unhandled rejection?), or ` +
      'lost its pipe to the parent, and could not send the error here (did code in the child replace process.send?)';
  else how = `it exited with code ${exitCode}`;
  const message = `The child process (pid ${record.pid}) running ${label} crashed: ${how}.${stderrTail(stderr)}`;
  return new ProcessCrashedError(
    message,
    exitCode,
    signal,
    label,
    stderr,
    outOfMemory,
    fatal === undefined ? undefined : { cause: fatal },
  );
}

/**
 * What a warning says of a child that ended after throwing outside any call (a timer, an event
 * handler, an unhandled rejection), or undefined for one that did not. A call it was running is
 * told in its ProcessCrashedError; one that failed no call (idle, or its calls answered and those
 * sent after them sent to another child) ended with nobody told: a server that an
 * entry script starts again in each child, whose listen() fails there after its call, would start
 * a new child for every call, silently.
 */
export function threwOutsideCalls(record: ChildRecord, pool: string): { message: string; subject: string } | undefined {
  if (!record.fatal) return undefined;
  const fatal = decodedOrNot(record.fatal);
  const thrown = describeThrown(fatal);
  if ((fatal as { code?: unknown } | undefined)?.code === exitedOutsideCallsCode) {
    return {
      message:
        `A child process of pool ${pool} (pid ${record.pid}) ended, failing no call: ${endedOutsideCalls(record.exitCode)}. ` +
        `Any call sent to it meanwhile goes to another child. The pool starts a new child for the next call, which ` +
        `may end the same way (top-level code of a module the children import, run again in each: guard it with ` +
        `isChildProcess()).`,
      subject: `exit ${record.exitCode}`,
    };
  }
  return {
    message:
      `A child process of pool ${pool} (pid ${record.pid}) ended, failing no call: it threw outside any call (from a ` +
      `timer, an event handler or an unhandled rejection?): ${thrown}. The pool starts a new child for the next ` +
      `call, which may end the same way. Catch that error in the code the children run (it may be top-level code ` +
      `of a module they import, run again in each child: guard it with isChildProcess()).`,
    // What the warning is given once for: the error, without the numbers (ports, ids) that differ each time.
    subject: thrown.slice(0, 120).replace(/\d+/g, '#'),
  };
}

/** A module of the pool's `preload` failed to import in a child: no child can start. */
export function preloadError(module: string, thrown: EncodedThrown): ModuleLoadError {
  const cause = decodedOrNot(thrown);
  return new ModuleLoadError(
    `A child process could not import ${module}, which the pool preloads (its preload option): ${describeThrown(cause)}. ` +
      (fsReadHint(cause) ||
        `Every child imports it as it starts, so none can: fix the module or the list, and configure() the pool again.`),
    module,
    { cause },
  );
}

/** What of a pool's settings a failed boot's message names. */
export interface BootSettings {
  readonly execArgv: readonly string[];
  readonly preload: readonly string[];
}

export function startupError(record: ChildRecord, { execArgv, preload }: BootSettings): ChildStartupError {
  const { exitCode, signal, stderr } = record;
  // Not for a child that said what went wrong (it ran, and threw): that is the message.
  const limit = record.misbehaved || record.fatal ? '' : processLimitHint();
  const what = record.misbehaved
    ? `was stopped before it was ready to take calls: it ${record.misbehaved}.`
    : record.bootTimedOut !== undefined
      ? `was not ready to take calls within startTimeout (${record.bootTimedOut} ms), and was killed` +
        (limit ? `.${limit}` : `: ${slowBoot(record.bootTimedOut, preload)}`)
      : `${signal ? `was killed by signal ${signal}` : `exited with code ${exitCode}`} before it was ready to take calls.${limit}`;
  // Not the flags the library adds to every child (settings.ts): the user did not pass them.
  const ours = inspectorShutFlags();
  const given = execArgv.filter((flag) => !ours.includes(flag));
  const flags = given.length > 0 ? ` Its Node flags were: ${given.join(' ')}.` : '';
  // What it threw as it started, which it reports on its IPC channel rather than on stderr (child/runner.ts).
  const fatal = record.fatal ? decodedOrNot(record.fatal) : undefined;
  const threw = fatal === undefined ? '' : ` It threw as it started: ${describeThrown(fatal)}.`;
  const next = limit
    ? 'The pool starts afresh on the next call.'
    : "Check the pool's execArgv and env (configure()), and NODE_OPTIONS; the pool starts afresh on the next call.";
  return new ChildStartupError(
    `A child process (pid ${record.pid}) ${what}${threw}${flags} ${next}${stderrTail(stderr)}`,
    exitCode,
    signal,
    stderr,
    fatal === undefined ? undefined : { cause: fatal },
  );
}

/** What the child reported; the report is the child's word, and a malformed one is not a second failure. */
function decodedOrNot(fatal: EncodedThrown): unknown {
  try {
    return decodeThrown(fatal, (node) => resolveErrorClass(node));
  } catch (error) {
    return new Error(`(its report of that error could not be read: ${describeThrown(error)})`);
  }
}

/** Why a child may not have booted in time, most likely first. */
function slowBoot(limit: number, preload: readonly string[]): string {
  if (preload.length > 0) {
    return `a module of the pool's preload may never finish importing (a top-level await that never settles?).`;
  }
  if (limit < 1_000) return `a Node process takes ~100 ms or more to boot, and startTimeout is ${limit} ms: raise it.`;
  return `a module of its Node flags or of NODE_OPTIONS (an --import or a --require) may never finish loading.`;
}

/** What a child's code did that ended it outside any call. */
function endedOutsideCalls(exitCode: number | null): string {
  return (
    `its code ended it outside any call, with exit code ${exitCode} (process.exit() in a timer or an event ` +
    `handler, or nothing left to do, as after process.channel.unref())`
  );
}
