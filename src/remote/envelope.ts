import { createHmac, timingSafeEqual } from 'node:crypto';
import { deserialize } from 'node:v8';
import { asBuffer } from '../codec/values.js';
import { serialize } from '../codec/serializer.js';
import { SerializationError } from '../errors.js';
import { type Answer, AnswerSlot, CallSlot, type CallTask, type EncodedThrown, ThrownSlot } from '../protocol.js';
import { packPortable, portableCodec, unpackPortable } from './portable.js';

/**
 * What a call and its answer look like in the queue. BullMQ stores job data and return values as
 * JSON, so each is a small JSON object whose payload is the portable codec's bytes in base64,
 * tagged with the envelope's version and the codec, and signed when the transport has a secret.
 * The worker reads the target key before it decodes anything; a signed envelope is checked
 * before that (a worker and a caller that do not share the secret cannot talk).
 */
const envelopeVersion = 1;

export interface CallEnvelope {
  v: typeof envelopeVersion;
  codec: string;
  /** The target's key: `<package>:<path>#<Class.method>` (identity.ts). */
  key: string;
  /** `{ this?, args }`, packed. */
  input: string;
  label: string;
  timeout?: number;
  /** HMAC-SHA256 of everything above and the job id, base64url. */
  sig?: string;
}

type PortableAnswer =
  | [tag: 'value', bytes: string]
  | [
      tag: 'thrown',
      thrown: [tag: 'error', shape: string, nodes: unknown[]] | [tag: 'value', bytes: string],
      stage: 'call' | 'load',
    ];

export interface AnswerEnvelope {
  v: typeof envelopeVersion;
  codec: string;
  answer: PortableAnswer;
  /** The worker's `os.hostname()`. */
  host: string;
  sig?: string;
}

// ── The caller ──────────────────────────────────────────────────────────────────────────────

/**
 * A call task (its input in v8 bytes, or its arguments as they are) as an envelope, refused with
 * a SerializationError when its payload is over `maxBytes`: nothing is sent.
 */
export function sealCall(
  task: CallTask,
  key: string,
  label: string,
  timeout: number | undefined,
  { jobId, secret, maxBytes }: { jobId: string; secret: string | undefined; maxBytes: number },
): CallEnvelope {
  const raw = task[CallSlot.input];
  const roots = raw instanceof Uint8Array ? deserialize(raw) : { args: withBuffers(raw, task[CallSlot.buffers]) };
  const bytes = packPortable(roots);
  if (bytes.byteLength > maxBytes) {
    throw new SerializationError(
      `Cannot send the arguments of ${label}() to a remote worker: they take ${bytes.byteLength} bytes, over the ` +
        `transport's limit of ${maxBytes} (its maxPayloadBytes option). A job queue is no place for bulk data: ` +
        `send a reference (a path, a URL, an object-store key), or raise the limit.`,
      'args',
    );
  }
  const envelope: CallEnvelope = {
    v: envelopeVersion,
    codec: portableCodec,
    key,
    input: bytes.toString('base64'),
    label,
    ...(timeout !== undefined && { timeout }),
  };
  if (secret !== undefined) envelope.sig = signature(secret, jobId, callFields(envelope));
  return envelope;
}

/** A worker's answer, checked, as the local Answer the rest of the call path reads. */
export function openAnswer(envelope: unknown, jobId: string, secret: string | undefined): Answer {
  const checked = checkEnvelope(envelope, 'answer') as AnswerEnvelope;
  if (!isPortableAnswer(checked.answer) || typeof checked.host !== 'string')
    throw new TypeError('a malformed answer envelope');
  if (secret !== undefined) verify(secret, jobId, answerFields(checked), checked.sig, 'answer');
  const answer = checked.answer;
  if (answer[0] === 'value') return ['as-is', unpackPortable(Buffer.from(answer[1], 'base64')), false];
  const thrown = answer[1];
  const encoded: EncodedThrown =
    thrown[0] === 'error'
      ? ['error', serialize(unpackPortable(Buffer.from(thrown[1], 'base64'))), thrown[2] as never]
      : ['value', serialize(unpackPortable(Buffer.from(thrown[1], 'base64')))];
  return ['thrown', encoded, answer[2]];
}

// ── The worker ──────────────────────────────────────────────────────────────────────────────

/** A call envelope's fields, checked, and its signature verified; its input is not decoded yet. */
export function openCall(envelope: unknown, jobId: string, secret: string | undefined): CallEnvelope {
  const checked = checkEnvelope(envelope, 'call') as CallEnvelope;
  if (typeof checked.key !== 'string' || typeof checked.input !== 'string' || typeof checked.label !== 'string') {
    throw new TypeError('a call envelope without key, input or label');
  }
  if (secret !== undefined) verify(secret, jobId, callFields(checked), checked.sig, 'call');
  return checked;
}

/** The call's `{ this?, args }`, decoded: only once its key was found among the served targets. */
export function callInput(envelope: CallEnvelope): Uint8Array {
  return serialize(unpackPortable(Buffer.from(envelope.input, 'base64')));
}

/** A local answer as an envelope for the caller. */
export function sealAnswer(answer: Answer, host: string, jobId: string, secret: string | undefined): AnswerEnvelope {
  const envelope: AnswerEnvelope = { v: envelopeVersion, codec: portableCodec, answer: portableAnswer(answer), host };
  if (secret !== undefined) envelope.sig = signature(secret, jobId, answerFields(envelope));
  return envelope;
}

function portableAnswer(answer: Answer): PortableAnswer {
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

function packed(value: unknown): string {
  return packPortable(value).toString('base64');
}

function withBuffers(args: unknown[], buffers: number[] | undefined): unknown[] {
  if (!buffers) return args;
  const copy = [...args];
  for (const index of buffers) copy[index] = asBuffer(copy[index]);
  return copy;
}

function checkEnvelope(envelope: unknown, kind: 'call' | 'answer'): unknown {
  if (typeof envelope !== 'object' || envelope === null)
    throw new TypeError(`a ${kind} envelope that is not an object`);
  const { v, codec } = envelope as Record<string, unknown>;
  if (v !== envelopeVersion || codec !== portableCodec) {
    throw new TypeError(
      `a ${kind} envelope of version ${String(v)} with codec ${String(codec)}; this side reads version ` +
        `${envelopeVersion} with ${portableCodec} (are both ends the same version of run-in-process?)`,
    );
  }
  return envelope;
}

/** Only what reading an answer relies on: a worker is trusted no more than a child is. */
function isPortableAnswer(answer: unknown): answer is PortableAnswer {
  if (!Array.isArray(answer)) return false;
  if (answer[0] === 'value') return typeof answer[1] === 'string';
  if (answer[0] !== 'thrown' || (answer[2] !== 'call' && answer[2] !== 'load') || !Array.isArray(answer[1]))
    return false;
  const thrown = answer[1] as unknown[];
  return thrown[0] === 'error'
    ? typeof thrown[1] === 'string' && Array.isArray(thrown[2])
    : thrown[0] === 'value' && typeof thrown[1] === 'string';
}

function callFields(envelope: CallEnvelope): unknown[] {
  return [envelope.v, envelope.codec, envelope.key, envelope.input, envelope.label, envelope.timeout ?? null];
}

function answerFields(envelope: AnswerEnvelope): unknown[] {
  return [envelope.v, envelope.codec, envelope.answer, envelope.host];
}

function signature(secret: string, jobId: string, fields: unknown[]): string {
  return createHmac('sha256', secret)
    .update(JSON.stringify([jobId, ...fields]))
    .digest('base64url');
}

function verify(secret: string, jobId: string, fields: unknown[], sig: unknown, kind: string): void {
  const expected = Buffer.from(signature(secret, jobId, fields));
  const given = Buffer.from(typeof sig === 'string' ? sig : '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TypeError(`a ${kind} envelope whose signature does not match the shared secret`);
  }
}
