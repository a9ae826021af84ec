import { CallRunner } from '../child/call-runner.js';
import { onBatchControl, runBatch } from '../child/run-batch.js';
import {
  AnswerSlot,
  BatchSlot,
  CallSlot,
  NoticeSlot,
  TaskResultSlot,
  type Answer,
  type BatchTask,
  type CallTask,
  type ChildNotice,
  type Emission,
  EmissionSlot,
  type Steer,
  type Value,
} from '../protocol.js';
import type { ChildCounts, StopReason, Transport, TransportEvents } from './transport.js';

/**
 * Inline mode (`RUN_IN_PROCESS_INLINE=1`): the child's own code runs the batches in this process,
 * for a debugger or fast unit tests. What crosses is still copied, as it would be between
 * processes, so nothing is shared by reference. There is no process to kill, so a call cannot be
 * stopped: timeouts and aborts of running calls do not apply, and `started` is not reported.
 */
export class InlineTransport implements Transport {
  readonly runsIn = 'this process (inline mode)';
  readonly streaming = true;
  readonly capacity = Number.POSITIVE_INFINITY;
  readonly stopsNothing = true;
  readonly waiting = 0;
  /** A runner that retired (a module that failed to load) is replaced, as a child would be. */
  #runner = new CallRunner(true);
  readonly #running = new Set<number>();

  constructor(private readonly events: TransportEvents) {}

  submit(task: BatchTask): void {
    const id = task[BatchSlot.id];
    const copy: BatchTask = [...task];
    copy[BatchSlot.calls] = task[BatchSlot.calls].map(copied);
    this.#running.add(id);
    runBatch(copy, this.#runner, (notice) => this.#onNotice(notice)).then(
      (result) => this.#finish(id, () => this.events.ended(id, result[TaskResultSlot.slow] === true)),
      (error: unknown) => this.#finish(id, () => this.events.lost(id, { kind: 'failed', error })),
    );
  }

  append(id: number, calls: CallTask[]): boolean {
    if (!this.#running.has(id)) return false;
    onBatchControl(['run-in-process:append', id, calls.map(copied)]);
    return true;
  }

  steer(id: number, call: number, steer: Steer): boolean {
    if (!this.#running.has(id)) return false;
    onBatchControl(['run-in-process:steer', id, call, steer]);
    return true;
  }

  close(id: number): void {
    if (this.#running.has(id)) onBatchControl(['run-in-process:close', id]);
  }

  cancel(_batch: number, _reason: StopReason): void {
    // Code running in this process cannot be stopped from outside.
  }

  async destroy(): Promise<void> {}

  async warmUp(): Promise<void> {}

  children(): ChildCounts {
    return { busy: 0, idle: 0, starting: 0, recycled: 0 };
  }

  #onNotice(notice: ChildNotice): void {
    if (notice[0] === 'run-in-process:answer') {
      const { batch, call, answer } = NoticeSlot;
      this.events.answered(notice[batch], notice[call], copiedAnswer(notice[answer]));
    } else if (notice[0] === 'run-in-process:emit') {
      const emission = notice[NoticeSlot.emission];
      const copy: Emission =
        emission[0] === 'items'
          ? ['items', emission[EmissionSlot.items].map((item) => copiedAnswer(item) as Value)]
          : emission;
      this.events.emitted(notice[NoticeSlot.batch], notice[NoticeSlot.call], copy);
    } else if (notice[0] === 'run-in-process:retiring') this.#runner = new CallRunner(true);
  }

  #finish(id: number, report: () => void): void {
    this.#running.delete(id);
    report();
  }
}

/** Arguments sent as they are would otherwise be shared with the caller: they are cloned, as IPC would. */
function copied(task: CallTask): CallTask {
  const input = task[CallSlot.input];
  if (!Array.isArray(input)) return task;
  const copy: CallTask = [...task];
  copy[CallSlot.input] = structuredClone(input);
  return copy;
}

function copiedAnswer(answer: Answer): Answer {
  if (answer[0] !== 'as-is') return answer;
  return ['as-is', structuredClone(answer[AnswerSlot.payload]), answer[AnswerSlot.buffer]];
}
