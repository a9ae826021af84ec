import { createHmac, timingSafeEqual } from 'node:crypto';
import { deserialize } from 'node:v8';
import { encodeThrown } from '../codec/thrown-encode.js';
import { asBuffer } from '../codec/values.js';
import { serialize } from '../codec/serializer.js';
import { SerializationError } from '../errors.js';
import { longestTimer } from '../options.js';
import { largestBatchBytes } from '../pool/backlog.js';
import type { FailureKind } from '../pool/call-stats.js';
import {
  type Answer,
  AnswerSlot,
  CallSlot,
  type CallTask,
  type EncodedThrown,
  isThrownStage,
  ThrownSlot,
  type ThrownStage,
} from '../protocol.js';
import { packPortable, portableCodec, unpackPortable } from './portable.js';

/**
 * What a job and its answer look like in the queue. BullMQ stores job data and return values as
 * JSON, so each is a small JSON object whose payloads are the portable codec's bytes in base64,
 * tagged with the envelope's version and the codec, and signed when the transport has a secret.
 * A job carries one call or several (calls that waited together at the caller), and its answer
 * one answer per call, in order. The worker reads each target key before it decodes anything; a
 * signed envelope is checked before that (a worker and a caller that do not share the secret
 * cannot talk).
 */
/**
 * The key of a job's progress with which its worker says that it holds one of its calls (this index
 * in the job) unrun, in its own queue or handed back to the queue as it shuts down, or that it
 * started it after holding it: `[index, 'held' | 'started', attempt, signature?]` (held-calls.ts). Signed
 * with the secret, if any: a forged 'held' would stop the caller's timeout backstop.
 */
const callProgress = 'run-in-process:call';

export type CallState = 'held' | 'started';

/**
 * `attempt`: how many times the job was taken (BullMQ's attemptsStarted), which the signature covers:
 * a word of an earlier take, or a 'held' said again after 'started' (a replay), is not taken.
 */
export function sealProgress(
  jobId: string,
  index: number,
  state: CallState,
  attempt: number,
  secret: string | undefined,
): object {
  const said: unknown[] = [index, state, attempt];
  if (secret !== undefined) said.push(signature(secret, jobId, ['progress', index, state, attempt]));
  return { [callProgress]: said };
}

/** What a job's progress says of one of its calls, if it is the worker's word (signed, with a secret). */
export function openProgress(
  data: unknown,
  jobId: string,
  secret: string | undefined,
): { index: number; state: CallState; attempt: number } | undefined {
  const said = (data as Record<string, unknown> | null)?.[callProgress];
  if (!Array.isArray(said) || typeof said[0] !== 'number' || (said[1] !== 'held' && said[1] !== 'started')) return;
  if (typeof said[2] !== 'number') return;
  const [index, state, attempt] = said as [number, CallState, number];
  if (secret !== undefined) {
    try {
      verify(secret, jobId, ['progress', index, state, attempt], said[3], 'progress');
    } catch {
      return undefined;
    }
  }
  return { index, state, attempt };
}

/**
 * How many of a job's calls its worker has handed to its local pool, in its `attempt`-th take of the
 * job (release-marks.ts): `<attempt>:<count>`, and its signature with a secret (a forged count
 * lower than the truth would have calls that ran sent again).
 */
export function sealReleased(jobId: string, attempt: number, count: number, secret: string | undefined): string {
  const said = `${attempt}:${count}`;
  return secret === undefined ? said : `${said}:${signature(secret, jobId, ['released', attempt, count])}`;
}

/**
 * The count a worker sealed, if it is its word (signed, with a secret), of the job's last take
 * (`attempts` in all), or of the one before: BullMQ's stall check takes a lost worker's job once
 * more, to fail it. (A worker that hands a job back deletes its count first.) Else undefined.
 */
export function openReleased(
  sealed: string,
  jobId: string,
  attempts: number,
  secret: string | undefined,
): number | undefined {
  const match = /^(\d+):(\d+)(?::([\w-]+))?$/.exec(sealed);
  const attempt = Number(match?.[1]);
  if (!match || (attempt !== attempts && attempt !== attempts - 1)) return undefined;
  const count = Number(match[2]);
  if (secret !== undefined) {
    try {
      verify(secret, jobId, ['released', attempt, count], match[3], 'released');
    } catch {
      return undefined;
    }
  }
  return count;
}

/** Whether the caller that sent this job reads answers stored apart (a caller of an earlier version does not). */
export function readsAnswersApart(envelope: CallEnvelope): boolean {
  return Array.isArray(envelope.reads) && envelope.reads.includes('answer-apart');
}

/**
 * Every caller of a queue reads the answers of every job in its events stream, where a job's answer
 * also stays after its caller has it (until discarded) or after its caller is gone (until trimmed,
 * thousands of jobs later). An answer envelope larger than this is stored apart by its worker, under
 * its own key beside the job's (answerKeyOf), for as long as the job is kept, and the job's return
 * value only says so: a caller reads it once, from there.
 */
export const answerApartBytes = 16 * 1024;

/** How long a finished job is kept when its caller does not discard it (gone before its answer came). */
export const finishedJobKeptSeconds = 600;
const answerApartMark = 'run-in-process:answer-apart';

/**
 * How a worker's failure of a job begins when its calls ran but Redis refused to store their answer
 * (out of memory, say): the caller then knows that they may have run.
 */
export const answerNotStored = 'run-in-process: the calls ran, but Redis refused to store their answer';

/** What a worker returns for a job whose answer it stored apart. */
export const answerApart = Object.freeze({ [answerApartMark]: true });

export function isAnswerApart(returnValue: unknown): boolean {
  return (
    typeof returnValue === 'object' &&
    returnValue !== null &&
    (returnValue as Record<string, unknown>)[answerApartMark] === true
  );
}

/** Where the answer of the job whose hash is at `jobKey` is stored apart. */
export function answerKeyOf(jobKey: string): string {
  return `${jobKey}:run-in-process:answer`;
}

/** About how many bytes an answer envelope takes as JSON: its answers' encoded payloads. */
export function answerBytesOf(envelope: AnswerEnvelope): number {
  let bytes = 0;
  for (const answer of envelope.answers) {
    if (answer[0] === 'value') bytes += answer[1].length;
    else bytes += answer[1][1].length + (answer[1][0] === 'error' ? JSON.stringify(answer[1][2]).length : 0);
  }
  return bytes;
}

const envelopeVersion = 2;

/**
 * How payloads are encoded: `portable` (msgpackr, the same on every Node line) or `v8`, opt-in,
 * Node's own format, which skips a re-encoding on each side but is read only by the same Node
 * major (an Error with a `cause` written by Node 20 fails to read on 22): its tag names the major,
 * and a worker of another major refuses the job, saying so, in the portable codec.
 */
export type CodecChoice = 'portable' | 'v8';

/** A job carries at most what a caller's batch holds, and then some (pool/backlog.ts batches up to 64). */
const mostCallsPerJob = 256;
/**
 * A job of several calls is a batch of the caller's backlog, which stops growing at
 * `largestBatchBytes` of arguments as it counts them (a string by its length): at most three times
 * that in UTF-8, and what packing adds. A job of one call carries up to `maxPayloadBytes`.
 */
const mostBatchBytes = largestBatchBytes * 4;
/** Keys and labels are names, not data. */
const longestKey = 1_024;

const nodeMajor = process.versions.node.split('.')[0]!;
const v8Codec = `v8-node${nodeMajor}`;

export function codecTag(choice: CodecChoice): string {
  return choice === 'v8' ? v8Codec : portableCodec;
}

/** One call of a job. */
export interface CallPart {
  /** The target's key: `<package>:<path>#<Class.method>` (shared/remote-key.ts). */
  key: string;
  /** `{ this?, args }`, packed. */
  input: string;
  label: string;
  timeout?: number;
}

export interface CallEnvelope {
  v: typeof envelopeVersion;
  codec: string;
  calls: CallPart[];
  /** HMAC-SHA256 of everything above and the job id, base64url. */
  sig?: string;
  /**
   * What the caller can read (not signed: it only says where answers go): `answerApart`, an answer
   * stored apart (a caller of an earlier version reads only answers in the events stream), and
   * `held`, the job's progress about calls its worker holds (an earlier caller ignores it anyway).
   */
  reads?: string[];
  /**
   * The caller's name, under which it says it is alive while it has jobs out (queue-link.ts): a
   * worker runs a job that waited long only if its caller still does. Not signed: it only says
   * whom to ask (a forger who can write to Redis can remove the job as well).
   */
  from?: string;
}

/** What a caller of this version says it reads (CallEnvelope.reads). */
const callerReads = ['answer-apart'];

type PortableAnswer =
  | [tag: 'value', bytes: string]
  | [
      tag: 'thrown',
      thrown: [tag: 'error', shape: string, nodes: unknown[]] | [tag: 'value', bytes: string],
      stage: ThrownStage,
    ];

export interface AnswerEnvelope {
  v: typeof envelopeVersion;
  codec: string;
  /** One per call of the job, in order; or one for all, when the job could not be read. */
  answers: PortableAnswer[];
  /** The worker's `os.hostname()`. */
  host: string;
  sig?: string;
  /**
   * The answers that are errors the worker raised for their calls, not errors their code threw (a
   * child that crashed, timed out, was aborted), by index, with how each failed: for the caller's
   * `stats()`. Signed on their own (`fsig`), so that a caller that predates them still verifies `sig`.
   */
  failures?: Array<[index: number, kind: FailureKind]>;
  fsig?: string;
}

const failureKinds = new Set<unknown>(['failed', 'crashed', 'timedOut', 'aborted'] satisfies FailureKind[]);

/** What the caller makes of an answer envelope: an answer per call, and how the worker says it failed, if it did. */
export interface OpenedAnswers {
  answers: Answer[];
  failures: Array<FailureKind | undefined>;
}

// ── The caller ──────────────────────────────────────────────────────────────────────────────

/**
 * A call task (its input in v8 bytes, or its arguments as they are) as a part of a job, refused
 * with a SerializationError when its payload is over `maxBytes`: nothing is sent.
 */
export function sealCall(
  task: CallTask,
  key: string,
  label: string,
  timeout: number | undefined,
  maxBytes: number,
  codec: string,
): CallPart {
  const raw = task[CallSlot.input];
  const self = task[CallSlot.self];
  const asIs = (args: unknown[]) => ({ ...(self && { this: self }), args: withBuffers(args, task[CallSlot.buffers]) });
  let bytes: Buffer;
  if (codec === portableCodec) {
    const roots = raw instanceof Uint8Array ? deserialize(raw) : asIs(raw);
    try {
      bytes = packPortable(roots);
    } catch (error) {
      throw new SerializationError(
        `Cannot send the arguments of ${label}() to a remote worker: ${packingFailure(error)}.`,
        'args',
        { cause: error },
      );
    }
  } else {
    bytes = raw instanceof Uint8Array ? Buffer.from(raw) : serialize(asIs(raw));
  }
  if (bytes.byteLength > maxBytes) {
    throw new SerializationError(
      `Cannot send the arguments of ${label}() to a remote worker: they take ${bytes.byteLength} bytes, over the ` +
        `transport's limit of ${maxBytes} (its maxPayloadBytes option). A job queue is no place for bulk data: ` +
        `send a reference (a path, a URL, an object-store key), or raise the limit.`,
      'args',
    );
  }
  return { key, input: bytes.toString('base64'), label, ...(timeout !== undefined && { timeout }) };
}

/** A job's calls as its envelope, signed when there is a secret. */
export function sealJob(
  calls: CallPart[],
  jobId: string,
  secret: string | undefined,
  codec: string,
  from?: string,
): CallEnvelope {
  const envelope: CallEnvelope = { v: envelopeVersion, codec, calls };
  if (secret !== undefined) envelope.sig = signature(secret, jobId, callFields(envelope));
  envelope.reads = callerReads;
  if (from !== undefined) envelope.from = from;
  return envelope;
}

/**
 * A worker's answers to a job of `count` calls, checked, as the local Answers the rest of the call
 * path reads.
 */
export function openAnswers(
  envelope: unknown,
  jobId: string,
  secret: string | undefined,
  count: number,
): OpenedAnswers {
  // The worker answers in the job's codec, or in the portable one when it could not read the job.
  const checked = checkEnvelope(envelope, 'answer', [portableCodec, v8Codec]) as AnswerEnvelope;
  const v8 = checked.codec === v8Codec;
  const { answers, failures } = checked;
  if (!Array.isArray(answers) || !answers.every(isPortableAnswer) || typeof checked.host !== 'string')
    throw new TypeError('a malformed answer envelope');
  if (failures !== undefined && !validFailures(failures, answers.length))
    throw new TypeError('an answer envelope with malformed failures');
  if (secret !== undefined) {
    verify(secret, jobId, answerFields(checked), checked.sig, 'answer');
    if (failures !== undefined) verify(secret, jobId, ['failures', failures], checked.fsig, 'answer');
  }
  const kinds: Array<FailureKind | undefined> = answers.map(() => undefined);
  for (const [index, kind] of failures ?? []) kinds[index] = kind;
  // One answer for all: the job could not be read.
  if (answers.length === 1 && count > 1)
    return {
      answers: Array.from({ length: count }, () => localAnswer(answers[0]!, v8)),
      failures: Array.from({ length: count }, () => kinds[0]),
    };
  if (answers.length !== count) throw new TypeError(`${answers.length} answers to a job of ${count} calls`);
  return { answers: answers.map((answer) => localAnswer(answer, v8)), failures: kinds };
}

function validFailures(failures: unknown, count: number): boolean {
  return (
    Array.isArray(failures) &&
    failures.every(
      (entry) =>
        Array.isArray(entry) &&
        entry.length === 2 &&
        Number.isSafeInteger(entry[0]) &&
        entry[0] >= 0 &&
        entry[0] < count &&
        failureKinds.has(entry[1]),
    )
  );
}

function localAnswer(answer: PortableAnswer, v8: boolean): Answer {
  // v8 bytes are what the local path reads already; portable ones are decoded, and re-encoded.
  const bytes = (base64: string): Uint8Array => {
    const raw = Buffer.from(base64, 'base64');
    return v8 ? raw : serialize(unpackPortable(raw));
  };
  if (answer[0] === 'value') {
    return v8
      ? ['value', Buffer.from(answer[1], 'base64')]
      : ['as-is', unpackPortable(Buffer.from(answer[1], 'base64')), false];
  }
  const thrown = answer[1];
  const encoded: EncodedThrown =
    thrown[0] === 'error' ? ['error', bytes(thrown[1]), thrown[2] as never] : ['value', bytes(thrown[1])];
  return ['thrown', encoded, answer[2]];
}

// ── The worker ──────────────────────────────────────────────────────────────────────────────

/** The bytes a call's input decodes to, counted without decoding it. */
const inputBytes = (part: CallPart): number => Buffer.byteLength(part.input, 'base64');

/** A job's envelope, checked, and its signature verified; no call's input is decoded yet. */
export function openJob(envelope: unknown, jobId: string, secret: string | undefined, maxBytes: number): CallEnvelope {
  const checked = checkEnvelope(envelope, 'call', [portableCodec, v8Codec]) as CallEnvelope;
  const { calls } = checked;
  // Whoever can write to Redis can write a job: nothing in one may cost the worker without bound. An
  // input over this worker's limit is never decoded: its call alone is refused (callInput).
  const wellFormed = (part: CallPart): boolean =>
    typeof part === 'object' &&
    part !== null &&
    typeof part.key === 'string' &&
    part.key.length <= longestKey &&
    typeof part.input === 'string' &&
    typeof part.label === 'string' &&
    part.label.length <= longestKey &&
    (part.timeout === undefined || (Number.isFinite(part.timeout) && part.timeout > 0 && part.timeout <= longestTimer));
  // A name to ask Redis about, nothing more: a UUID from a caller of this version.
  if (checked.from !== undefined && (typeof checked.from !== 'string' || !/^[\w-]{1,64}$/.test(checked.from)))
    throw new TypeError('a call envelope whose caller name (from) is not a short string of letters, digits, - and _');
  if (!Array.isArray(calls) || calls.length === 0 || calls.length > mostCallsPerJob || !calls.every(wellFormed)) {
    throw new TypeError(
      `a call envelope without calls, with more than ${mostCallsPerJob}, or with a call whose key, input, label or ` +
        `timeout is missing, of the wrong type, or too large (keys and labels up to ${longestKey} characters)`,
    );
  }
  // Each call within the limit, but so many of them that no caller would have sent them together.
  const mostBytes = Math.max(maxBytes, mostBatchBytes);
  const inputs = calls.reduce((sum, part) => sum + (inputBytes(part) > maxBytes ? 0 : part.input.length), 0);
  if (inputs > Math.ceil((mostBytes * 4) / 3) + 4 * calls.length) {
    throw new TypeError(
      `a call envelope whose ${calls.length} calls carry about ${Math.floor((inputs * 3) / 4)} bytes together, more ` +
        `than a caller puts in one job (one call up to the worker's maxPayloadBytes, ${maxBytes}, or several up to ` +
        `${mostBytes} together): not a job of a caller of this transport with the same maxPayloadBytes`,
    );
  }
  if (secret !== undefined) verify(secret, jobId, callFields(checked), checked.sig, 'call');
  // Its caller has a secret and this worker none: its call must not run unchecked.
  else if (checked.sig !== undefined) {
    throw new TypeError(
      'a call envelope that is signed, and this worker has no secret to check it with: start the worker with its ' +
        "callers' secret (RUN_IN_PROCESS_SECRET for the CLI worker, bullmq({ secret }) for serve())",
    );
  }
  return checked;
}

/**
 * A call's `{ this?, args }` as v8 bytes for the local pool: decoded only once its key was found
 * among the served targets (v8 bytes of this Node major pass as they are, to a child that reads them),
 * and only if it is within the worker's `maxBytes`. A caller whose limit is higher sends larger ones:
 * such a call is refused unrun with a SerializationError, as its caller refuses a payload over its own limit.
 */
export function callInput(part: CallPart, codec: string, maxBytes: number): Uint8Array {
  const bytes = inputBytes(part);
  if (bytes > maxBytes) {
    throw new SerializationError(
      `Cannot run ${part.label}() on this remote worker: its arguments take ${bytes} bytes, over the worker's limit ` +
        `of ${maxBytes}, which is lower than its caller's. The call was not run. Raise the worker's limit to the ` +
        `callers' (its maxPayloadBytes: the CLI's --max-payload-bytes, or bullmq({ maxPayloadBytes }) in the ` +
        `transport given to serve()), or send a reference (a path, a URL, an object-store key).`,
      'args',
    );
  }
  const raw = Buffer.from(part.input, 'base64');
  return codec === portableCodec ? serialize(unpackPortable(raw)) : raw;
}

/**
 * What an error the worker raised itself may take, whatever its `maxPayloadBytes`: its refusals
 * (arguments over its limit, a target it does not serve) must reach the caller as they are, even
 * under a limit smaller than their own message and stack. Their size is the library's, not the
 * user's: this bound only guards against a message that grew by mistake.
 */
const ownErrorBytes = 64 * 1024;

/**
 * Local answers as an envelope for the caller, in the job's codec (the portable one if it could not
 * be read). An answer over `maxBytes` is not sent: its call fails with a SerializationError instead,
 * as an argument over the limit does at the caller (a result that size would sit in Redis, and in
 * the caller's memory, as a string a third larger). `labels`: the job's calls, for that message.
 * `raisedHere`: the answers that carry an error the worker raised itself, bounded by `ownErrorBytes`,
 * and how their calls failed.
 */
export function sealAnswers(
  answers: Answer[],
  host: string,
  jobId: string,
  secret: string | undefined,
  maxBytes: number,
  codec = portableCodec,
  labels: string[] = [],
  raisedHere: { get(answer: Answer): FailureKind | undefined } = new Map(),
): AnswerEnvelope {
  const v8 = codec === v8Codec;
  const encode = v8 ? v8Answer : portableAnswer;
  const sealed = (answer: Answer, index: number): PortableAnswer => {
    try {
      return encode(answer, raisedHere.get(answer) ? Math.max(maxBytes, ownErrorBytes) : maxBytes);
    } catch (error) {
      const what = `${answer[0] === 'thrown' ? 'the error thrown by' : 'the result of'} ${labels[index] ?? 'the call'}()`;
      // A result the portable codec cannot pack (a sparse array too long) fails its call, as an uncloneable result does.
      const refused = new SerializationError(
        error instanceof TooLarge
          ? `Cannot send ${what} back from the remote worker: it takes ${error.bytes} bytes, over the transport's ` +
              `limit of ${maxBytes} (its maxPayloadBytes option, on the worker: bullmq({ maxPayloadBytes }) or the CLI's ` +
              `--max-payload-bytes). A job queue is no place for bulk data: return a reference (a path, a URL, an ` +
              `object-store key), or raise the limit.`
          : `Cannot send ${what} back from the remote worker: ${packingFailure(error)}.`,
        'result',
      );
      return encode(['thrown', encodeThrown(refused), 'call'], Number.POSITIVE_INFINITY);
    }
  };
  const envelope: AnswerEnvelope = {
    v: envelopeVersion,
    codec: v8 ? v8Codec : portableCodec,
    answers: answers.map(sealed),
    host,
  };
  if (secret !== undefined) envelope.sig = signature(secret, jobId, answerFields(envelope));
  const failures = answers.flatMap((answer, index): Array<[number, FailureKind]> => {
    const kind = raisedHere.get(answer);
    return kind ? [[index, kind]] : [];
  });
  if (failures.length > 0) {
    envelope.failures = failures;
    if (secret !== undefined) envelope.fsig = signature(secret, jobId, ['failures', failures]);
  }
  return envelope;
}

/**
 * Why the portable codec could not pack a value. It walks a value recursively, as msgpackr does, so a
 * value nested deeper than the stack allows (about 1,400 levels, where a local pool takes about
 * 1,900) overflows it: said as such, not as V8's bare RangeError.
 */
function packingFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof RangeError) || !/call stack size/i.test(message)) return message;
  return (
    'the value is nested too deeply for the remote codec (it packs values recursively: about 1,400 levels fit, fewer ' +
    'than in a local pool). Flatten it, or send the deep part as a string (JSON.stringify) or a Buffer'
  );
}

/** An answer's payload is over the limit: its call is answered with a SerializationError instead. */
class TooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`${bytes} bytes`);
  }
}

/** Bytes as base64, once they are known to be within `maxBytes`. */
function base64Within(bytes: Uint8Array, maxBytes: number): string {
  if (bytes.byteLength > maxBytes) throw new TooLarge(bytes.byteLength);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** An answer whose bytes are v8's already, as they came from the child. */
function v8Answer(answer: Answer, maxBytes: number): PortableAnswer {
  const b64 = (bytes: Uint8Array) => base64Within(bytes, maxBytes);
  if (answer[0] === 'value') return ['value', b64(answer[AnswerSlot.payload])];
  if (answer[0] === 'as-is') {
    const value = answer[AnswerSlot.buffer] ? asBuffer(answer[AnswerSlot.payload]) : answer[AnswerSlot.payload];
    return ['value', b64(serialize(value))];
  }
  const thrown = answer[AnswerSlot.payload];
  if (thrown[0] === 'error')
    return ['thrown', ['error', b64(thrown[ThrownSlot.shape]), thrown[ThrownSlot.nodes]], answer[AnswerSlot.stage]];
  return ['thrown', ['value', b64(thrown[ThrownSlot.bytes])], answer[AnswerSlot.stage]];
}

function portableAnswer(answer: Answer, maxBytes: number): PortableAnswer {
  const packed = (value: unknown): string => base64Within(packPortable(value), maxBytes);
  if (answer[0] === 'value') return ['value', packed(deserialize(answer[AnswerSlot.payload]))];
  if (answer[0] === 'as-is') {
    const value = answer[AnswerSlot.buffer] ? asBuffer(answer[AnswerSlot.payload]) : answer[AnswerSlot.payload];
    return ['value', packed(value)];
  }
  const thrown = answer[AnswerSlot.payload];
  const stage = answer[AnswerSlot.stage];
  if (thrown[0] === 'error') {
    return ['thrown', ['error', packed(deserialize(thrown[ThrownSlot.shape])), thrown[ThrownSlot.nodes]], stage];
  }
  return ['thrown', ['value', packed(deserialize(thrown[ThrownSlot.bytes]))], stage];
}

// ── Both ────────────────────────────────────────────────────────────────────────────────────

function withBuffers(args: unknown[], buffers: number[] | undefined): unknown[] {
  if (!buffers) return args;
  const copy = [...args];
  for (const index of buffers) copy[index] = asBuffer(copy[index]);
  return copy;
}

function checkEnvelope(envelope: unknown, kind: 'call' | 'answer', codecs: string[]): unknown {
  const a = kind === 'answer' ? 'an' : 'a';
  if (typeof envelope !== 'object' || envelope === null)
    throw new TypeError(`${a} ${kind} envelope that is not an object`);
  const { v, codec } = envelope as Record<string, unknown>;
  if (v !== envelopeVersion) {
    throw new TypeError(
      `${a} ${kind} envelope of version ${shown(v)}; this side reads version ${envelopeVersion} ` +
        `(are both ends the same version of run-in-process?)`,
    );
  }
  if (typeof codec !== 'string' || !codecs.includes(codec)) {
    const otherNode = typeof codec === 'string' && /^v8-node\d{1,3}$/.test(codec);
    throw new TypeError(
      otherNode
        ? `${a} ${kind} encoded with the v8 codec of Node ${codec.slice('v8-node'.length)}, which this side, on Node ` +
            `${nodeMajor}, cannot be trusted to read: run callers and workers on one Node major, or use the portable codec`
        : `${a} ${kind} envelope with codec ${shown(codec)}; this side reads ${codecs.join(' and ')}`,
    );
  }
  return envelope;
}

/**
 * A value read from an envelope, as a message may show it: whoever can write to Redis wrote it, so
 * quoted (control characters escaped: no line or terminal sequence of its own) and cut short.
 */
export function shown(value: unknown, longest = 40): string {
  let text: string;
  try {
    text = String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  const quoted = JSON.stringify(text.length > longest ? `${text.slice(0, longest)}…` : text);
  // JSON escapes C0 controls only: C1 ones (U+009B starts a terminal sequence) and line separators too.
  return quoted.replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Only what reading an answer relies on: a worker is trusted no more than a child is. */
function isPortableAnswer(answer: unknown): answer is PortableAnswer {
  if (!Array.isArray(answer)) return false;
  if (answer[0] === 'value') return typeof answer[1] === 'string';
  if (answer[0] !== 'thrown' || !isThrownStage(answer[2]) || !Array.isArray(answer[1])) return false;
  const thrown = answer[1] as unknown[];
  return thrown[0] === 'error'
    ? typeof thrown[1] === 'string' && Array.isArray(thrown[2]) && thrown[2].every(isClassNode)
    : thrown[0] === 'value' && typeof thrown[1] === 'string';
}

/** A thrown error's entry in the class table (protocol.ts ErrorNode): what reading it relies on. */
function isClassNode(node: unknown): boolean {
  if (typeof node !== 'object' || node === null) return false;
  const { path, className, exportName } = node as Record<string, unknown>;
  return (
    Array.isArray(path) &&
    typeof className === 'string' &&
    (exportName === undefined || exportName === null || typeof exportName === 'string')
  );
}

function callFields(envelope: CallEnvelope): unknown[] {
  return [
    envelope.v,
    envelope.codec,
    envelope.calls.map((part) => [part.key, part.input, part.label, part.timeout ?? null]),
  ];
}

function answerFields(envelope: AnswerEnvelope): unknown[] {
  return [envelope.v, envelope.codec, envelope.answers, envelope.host];
}

/**
 * A request to stop a job, as published on the cancel channel: the job id, signed when there is a
 * secret, so that whoever can publish to Redis cannot stop other callers' calls.
 */
export function sealCancel(jobId: string, secret: string | undefined): string {
  return secret === undefined ? jobId : `${jobId} ${signature(secret, jobId, ['cancel'])}`;
}

/** The job id a cancel message names, or undefined when its signature does not hold. */
export function openCancel(message: string, secret: string | undefined): string | undefined {
  const [jobId = '', sig] = message.split(' ');
  if (secret === undefined) return jobId;
  try {
    verify(secret, jobId, ['cancel'], sig, 'cancel');
    return jobId;
  } catch {
    return undefined;
  }
}

function signature(secret: string, jobId: string, fields: unknown[]): string {
  return createHmac('sha256', secret)
    .update(JSON.stringify([jobId, ...fields]))
    .digest('base64url');
}

function verify(secret: string, jobId: string, fields: unknown[], sig: unknown, kind: string): void {
  if (sig === undefined && kind === 'answer') {
    throw new TypeError(
      'an answer envelope that is not signed, while this caller has a secret: its worker runs without one (start ' +
        "it with the callers' secret: RUN_IN_PROCESS_SECRET for the CLI worker, bullmq({ secret }) for serve())",
    );
  }
  if (sig === undefined && kind === 'call') {
    throw new TypeError(
      'a call envelope that is not signed, while this worker has a secret: its caller runs without one (give it ' +
        "the workers' secret: bullmq({ secret }))",
    );
  }
  const expected = Buffer.from(signature(secret, jobId, fields));
  const given = Buffer.from(typeof sig === 'string' ? sig : '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TypeError(
      `${kind === 'answer' ? 'an answer' : 'a call'} envelope whose signature does not match the shared secret ` +
        `(callers and workers must share one: bullmq({ secret }) on both, RUN_IN_PROCESS_SECRET for the CLI worker)`,
    );
  }
}
