import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// How a worker reads a job's envelope (remote/envelope.ts), before anything in it is decoded.

type EnvelopeModule = typeof import('../../build/lib/remote/envelope.js');
const {
  callInput,
  openAnswers,
  openJob,
  openProgress,
  openReleased,
  readsAnswersApart,
  sealAnswers,
  sealCall,
  sealJob,
  sealProgress,
  sealReleased,
} = await internal<EnvelopeModule>('remote/envelope.js');
const { SerializationError } = await internal<typeof import('../../build/lib/errors.js')>('errors.js');

const limit = 4 * 1024 * 1024;
/** A call part whose input is `bytes` bytes (base64), as a caller seals it. */
const part = (bytes: number) => ({
  key: 'app:dist/a.js#A.run',
  input: Buffer.alloc(bytes).toString('base64'),
  label: 'A.run',
});

test('a job of one call up to maxPayloadBytes, or of several small ones, is read', () => {
  assert.equal(openJob(sealJob([part(limit)], 'j1', undefined, 'msgpackr-2'), 'j1', undefined, limit).calls.length, 1);
  const batch = Array.from({ length: 64 }, () => part(4_000));
  assert.equal(openJob(sealJob(batch, 'j2', undefined, 'msgpackr-2'), 'j2', undefined, limit).calls.length, 64);
});

test('a job of calls each within maxPayloadBytes but more together than any caller sends is refused unread', () => {
  const fat = sealJob([part(limit), part(limit), part(limit)], 'j3', undefined, 'msgpackr-2');
  assert.throws(
    () => openJob(fat, 'j3', undefined, limit),
    /3 calls carry about 125829\d\d bytes together, more than a caller puts in one job \(one call up to the worker's maxPayloadBytes, 4194304/,
  );
});

test("a call over the worker's maxPayloadBytes (its caller's limit is higher) is refused unread with a SerializationError; the job's other calls are read", () => {
  const small = sealCall(
    ['call', '{}', 1, [1], undefined, false],
    'app:dist/a.js#A.run',
    'A.run',
    undefined,
    limit,
    'msgpackr-2',
  );
  const job = openJob(sealJob([part(limit + 1_000), small], 'j4', undefined, 'msgpackr-2'), 'j4', undefined, limit);
  assert.equal(job.calls.length, 2, 'the job is read: only the call over the limit is refused');
  assert.throws(
    () => callInput(job.calls[0]!, job.codec, limit),
    (error: unknown) =>
      error instanceof SerializationError &&
      error.path === 'args' &&
      error.message.startsWith(
        `Cannot run A.run() on this remote worker: its arguments take ${limit + 1_000} bytes, over the worker's limit of ${limit}, which is lower than its caller's. The call was not run.`,
      ) &&
      error.message.includes(
        "the CLI's --max-payload-bytes, or bullmq({ maxPayloadBytes }) in the transport given to serve()",
      ),
  );
  assert.ok(callInput(job.calls[1]!, job.codec, limit).byteLength > 0);
});

test('arguments nested deeper than the remote codec can pack fail with a SerializationError that says so', () => {
  let deep: unknown = 1;
  for (let level = 0; level < 5_000; level++) deep = [deep];
  assert.throws(
    () =>
      sealCall(
        ['call', '{}', 1, [deep], undefined, false],
        'app:dist/a.js#A.run',
        'A.run',
        undefined,
        limit,
        'msgpackr-2',
      ),
    (error: unknown) =>
      error instanceof SerializationError &&
      /Cannot send the arguments of A\.run\(\) to a remote worker: the value is nested too deeply for the remote codec/.test(
        error.message,
      ),
  );
});

test("how the worker says a call failed on its side reaches the caller's stats, signed on its own; a tampered one is refused, a worker that predates it still verifies", () => {
  type Answer = import('../../build/lib/protocol.js').Answer;
  const value: Answer = ['as-is', 1, false];
  const crash: Answer = ['thrown', ['value', new Uint8Array([1])], 'call'];
  const raised = new Map([[crash, 'crashed' as const]]);
  const sealed = sealAnswers([value, crash], 'host', 'j9', 'secret', limit, 'msgpackr-2', [], raised);
  assert.deepEqual(sealed.failures, [[1, 'crashed']]);
  assert.deepEqual(openAnswers(sealed, 'j9', 'secret', 2).failures, [undefined, 'crashed']);
  // Tampered: another kind, or another call, under the same signature.
  for (const failures of [[[1, 'timedOut']], [[0, 'crashed']]] as const)
    assert.throws(() => openAnswers({ ...sealed, failures }, 'j9', 'secret', 2), /signature does not match/);
  assert.throws(() => openAnswers({ ...sealed, failures: [[5, 'crashed']] }, 'j9', 'secret', 2), /malformed failures/);
  // A worker of an earlier version sends none: its answers verify as they did, and count as completed.
  const { failures: _failures, fsig: _fsig, ...earlier } = sealed;
  assert.deepEqual(openAnswers(earlier, 'j9', 'secret', 2).failures, [undefined, undefined]);
});

test("a worker's word on a held call is read only when signed with the secret, if there is one", () => {
  const sealed = sealProgress('job-1', 2, 'held', 1, 'secret');
  assert.deepEqual(openProgress(sealed, 'job-1', 'secret'), { index: 2, state: 'held', attempt: 1 });
  assert.equal(openProgress(sealed, 'job-2', 'secret'), undefined, 'another job');
  assert.equal(openProgress(sealed, 'job-1', 'other'), undefined, 'another secret');
  assert.equal(openProgress(sealProgress('job-1', 2, 'held', 1, undefined), 'job-1', 'secret'), undefined, 'unsigned');
  const [index, state, , sig] = (sealed as { 'run-in-process:call': unknown[] })['run-in-process:call'];
  assert.equal(
    openProgress({ 'run-in-process:call': [index, state, 2, sig] }, 'job-1', 'secret'),
    undefined,
    'the signature covers the take',
  );
  assert.deepEqual(openProgress(sealProgress('job-1', 0, 'started', 3, undefined), 'job-1', undefined), {
    index: 0,
    state: 'started',
    attempt: 3,
  });
  assert.equal(openProgress({ 'run-in-process:call': [0, 'gone'] }, 'job-1', undefined), undefined);
  assert.equal(openProgress(42, 'job-1', undefined), undefined);
});

test("a worker's count of the calls it handed over is read only when signed, and of the job's last take or the one before", () => {
  const sealed = sealReleased('job-1', 2, 8, 'secret');
  assert.equal(openReleased(sealed, 'job-1', 2, 'secret'), 8);
  // BullMQ's stall check takes a lost worker's job once more, to fail it.
  assert.equal(openReleased(sealed, 'job-1', 3, 'secret'), 8, 'the take that failed it');
  assert.equal(openReleased(sealed, 'job-1', 4, 'secret'), undefined, 'an earlier take');
  assert.equal(openReleased(sealed, 'job-2', 2, 'secret'), undefined, 'another job');
  assert.equal(openReleased(sealed, 'job-1', 2, 'other'), undefined, 'another secret');
  assert.equal(openReleased(sealReleased('job-1', 2, 8, undefined), 'job-1', 2, 'secret'), undefined, 'unsigned');
  assert.equal(
    openReleased(sealed.replace(':8:', ':2:'), 'job-1', 2, 'secret'),
    undefined,
    'the signature covers the count',
  );
  assert.equal(openReleased('2:8', 'job-1', 2, undefined), 8);
  assert.equal(openReleased('', 'job-1', 1, undefined), undefined, 'none written');
});

test('a job says its caller reads answers stored apart; one of an earlier caller, which does not, says nothing', () => {
  const job = sealJob([], 'job-1', undefined, 'portable');
  assert.equal(readsAnswersApart(job), true);
  assert.equal(readsAnswersApart({ ...job, reads: undefined }), false);
});

test('what a refusal quotes from a job (its codec, its version) is quoted, its control characters escaped, and cut short', () => {
  const forged = `\u001b[31m\nrun-in-process worker: a line of its own\n${'x'.repeat(100_000)}`;
  for (const envelope of [
    { ...sealJob([part(10)], 'j9', undefined, 'msgpackr-2'), codec: forged },
    { ...sealJob([part(10)], 'j9', undefined, 'msgpackr-2'), v: forged },
  ]) {
    assert.throws(
      () => openJob(envelope, 'j9', undefined, limit),
      (error: Error) =>
        error.message.length < 400 &&
        !error.message.includes('\n') &&
        !error.message.includes('\u001b') &&
        error.message.includes('"\\u001b[31m\\nrun-in'),
    );
  }
});

test("a job names its caller (from), whom a worker asks about a job that waited long; a name that is not a caller's is refused unread", () => {
  const job = openJob(sealJob([part(10)], 'j5', 'secret', 'msgpackr-2', 'b6f1c2d4-caller'), 'j5', 'secret', limit);
  assert.equal(job.from, 'b6f1c2d4-caller');
  assert.equal(openJob(sealJob([part(10)], 'j6', undefined, 'msgpackr-2'), 'j6', undefined, limit).from, undefined);
  for (const from of ['', 'a'.repeat(65), 'x:y', 42]) {
    const forged = { ...sealJob([part(10)], 'j7', undefined, 'msgpackr-2'), from };
    assert.throws(() => openJob(forged, 'j7', undefined, limit), /caller name \(from\)/, String(from));
  }
});
