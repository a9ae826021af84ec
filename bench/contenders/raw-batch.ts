import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Contender, Op, Session, StartOptions } from './contender.js';
import { disconnectAll } from './disconnect-all.js';

const childPath = fileURLToPath(new URL('./raw-batch-child.js', import.meta.url));

/** The library's batch sizes (src/pool/backlog.ts): from 4, doubling each time a batch is answered, up to 64. */
const firstBatch = 4;
const largestBatch = 64;

interface Call {
  readonly id: number;
  readonly op: Op;
  readonly arg: unknown;
  resolve(v: unknown): void;
}

interface Lane {
  readonly child: ChildProcess;
  /** The batch in flight: one per child at a time, as the library sends them. */
  batch: Call[] | undefined;
  unanswered: number;
}

/** 'per-call-pipe': each answer its own hand-framed write on a pipe beside the IPC channel, as run-in-process answers. */
type Replies = 'per-call' | 'per-batch' | 'per-call-pipe';

/**
 * The true ceiling for tiny calls in bulk: `size` forked children and no pool logic, but the calls
 * travel as run-in-process sends them. A call that finds a child free goes at once, alone; the
 * others wait and go several per message, as many as the library would put in a batch (its share
 * of what waits, at most the current limit, which doubles from 4 to 64 as batches are answered).
 * One batch per child at a time. With 'per-call' replies each call is answered by its own message
 * the moment it finishes (what lets a crash cost only the call it was running); with 'per-batch'
 * one message answers the whole batch, the absolute ceiling.
 */
async function startRawBatch(
  { size }: StartOptions,
  replies: Replies,
  serialization: 'advanced' | 'json',
): Promise<Session> {
  const queue: Call[] = [];
  const lanes: Lane[] = [];
  let limit = firstBatch;
  let nextId = 0;

  const sendBatch = (lane: Lane, batch: Call[]) => {
    lane.batch = batch;
    lane.unanswered = batch.length;
    lane.child.send(batch.map((c) => [c.id, c.op, c.arg]) as Serializable);
  };
  const freed = (lane: Lane) => {
    lane.batch = undefined;
    limit = Math.min(largestBatch, limit * 2);
    if (queue.length === 0) return;
    const free = lanes.filter((l) => l.batch === undefined).length;
    sendBatch(lane, queue.splice(0, Math.min(limit, Math.ceil(queue.length / free))));
  };

  for (let i = 0; i < size; i++) {
    const lane: Lane = {
      child: fork(childPath, [replies], {
        serialization,
        ...(replies === 'per-call-pipe' ? { stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'] } : {}),
      }),
      batch: undefined,
      unanswered: 0,
    };
    const answered = (id: number, value: unknown) => {
      const batch = lane.batch!;
      // Answers come in order: the batch's first unanswered call is the one answered.
      const call = batch[batch.length - lane.unanswered]!;
      if (call.id !== id) throw new Error(`raw batch: answer ${id} for call ${call.id}`);
      call.resolve(value);
      if (--lane.unanswered === 0) freed(lane);
    };
    if (replies === 'per-call-pipe') readFrames(lane.child, answered);
    else
      lane.child.on('message', (m: unknown) => {
        const batch = lane.batch!;
        if (replies === 'per-batch') {
          const values = m as unknown[];
          for (let j = 0; j < batch.length; j++) batch[j]!.resolve(values[j]);
          return freed(lane);
        }
        const [id, value] = m as [number, unknown];
        answered(id, value);
      });
    lanes.push(lane);
  }

  return {
    call(op, arg) {
      return new Promise((resolve) => {
        const call: Call = { id: nextId++, op, arg, resolve };
        const lane = queue.length === 0 ? lanes.find((l) => l.batch === undefined) : undefined;
        if (lane) sendBatch(lane, [call]);
        else queue.push(call);
      });
    },
    async close() {
      await disconnectAll(lanes.map((lane) => lane.child));
    },
  };
}

/** Frames of [id, value] as two float64s (the child's answers to tiny calls), read as the pipe delivers them. */
function readFrames(child: ChildProcess, answered: (id: number, value: unknown) => void): void {
  let rest: Buffer | undefined;
  (child.stdio[4] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
    const data = rest ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    for (; data.byteLength - at >= 16; at += 16) answered(data.readDoubleLE(at), data.readDoubleLE(at + 8));
    rest = at < data.byteLength ? data.subarray(at) : undefined;
  });
}

/** The ceiling the library is held to: its batches, its per-call answers. */
export const rawBatchPerCall: Contender = {
  id: 'raw-batch',
  label: 'raw fork, batched, per-call replies (ceiling)',
  workloads: ['throughput'],
  start: (options) => startRawBatch(options, 'per-call', 'advanced'),
};

/** The absolute ceiling: one reply per batch, so a crash would lose every answer of its batch. */
export const rawBatchPerBatch: Contender = {
  id: 'raw-batch-1reply',
  label: 'raw fork, batched, one reply per batch',
  workloads: ['throughput'],
  start: (options) => startRawBatch(options, 'per-batch', 'advanced'),
};

/** The per-call ceiling with JSON serialization (fork's default), for reference. */
export const rawBatchJson: Contender = {
  id: 'raw-batch-json',
  label: 'raw fork, batched, per-call replies, JSON',
  workloads: ['throughput'],
  start: (options) => startRawBatch(options, 'per-call', 'json'),
};

/**
 * For reference: the per-call ceiling with each answer written by hand on a pipe beside the IPC
 * channel, the channel run-in-process answers on (no v8 serializer per answer). Tiny calls only.
 */
export const rawBatchPipe: Contender = {
  id: 'raw-batch-pipe',
  label: 'raw fork, batched, per-call replies on a pipe',
  workloads: ['throughput'],
  start: (options) => startRawBatch(options, 'per-call-pipe', 'advanced'),
};
