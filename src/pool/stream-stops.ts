import type { Answer } from '../protocol.js';
import type { Batch } from './batch.js';
import type { PendingCall } from './pending-call.js';
import type { StopReason, Transport } from './transport.js';
import { clearTimeout, perfNow, setTimeout } from '../shared/real-clock.js';

/** A stream's answer when it was stopped and its worker said nothing more. */
const stoppedAnswer: Answer = ['as-is', undefined, false];
/** How long a stream told to stop has to reach a `yield` and finish, before its worker is stopped. */
const stopGrace = 5_000;
/** The same at a shutdown past its deadline, which promises to settle about a second after it. */
export const shutdownStopGrace = 1_000;

/**
 * Streams being stopped. The worker is told to stop the generator, which runs its `finally`
 * blocks and answers; a worker that cannot be told, or does not answer within the grace (a
 * generator that never reaches a `yield`), is stopped, and the stream ends as stopped. A shutdown
 * waits for them, so that their `finally` blocks may run.
 */
export class StreamStops {
  /** By batch: settles once its batch is over, or once its worker was stopped. */
  readonly #stopping = new Map<number, { done: Promise<void>; over: () => void; hurry: () => void }>();

  constructor(private readonly transport: Transport) {}

  /** The consumer left the stream. */
  consumerLeft(call: PendingCall): void {
    if (call.settled) return;
    call.letGoOfCallbacks();
    if (call.settled) return;
    call.flow?.end();
    const batch = call.batch;
    if (batch) this.windDown(call, batch, 'abort');
    else call.succeed(stoppedAnswer);
  }

  /** `reason`: why its worker is stopped if it comes to that (a consumer that left, a shutdown). */
  windDown(call: PendingCall, batch: Batch, reason: StopReason): void {
    const already = this.#stopping.get(batch.id);
    if (already) {
      // Its consumer left before a shutdown came: the shutdown's shorter grace bounds it too.
      if (reason === 'shutdown') already.hurry();
      return;
    }
    // A shutdown that comes while its consumer's stop is under way makes it a shutdown's stop (hurry).
    let why = reason;
    const stop = () => {
      if (!call.settled) call.succeed(stoppedAnswer);
      this.transport.cancel(batch.id, why);
      // A worker that cannot be stopped (inline mode) must not hold a shutdown for ever.
      this.batchOver(batch.id);
    };
    if (!this.transport.steer(batch.id, call.id, ['stop'])) {
      stop();
      return;
    }
    const ms = reason === 'shutdown' ? shutdownStopGrace : stopGrace;
    const until = perfNow() + ms;
    let grace = setTimeout(stop, ms);
    const hurry = () => {
      why = 'shutdown';
      if (until - perfNow() <= shutdownStopGrace) return;
      clearTimeout(grace);
      grace = setTimeout(stop, shutdownStopGrace);
    };
    let over = () => {};
    const done = new Promise<void>((resolve) => {
      over = () => {
        clearTimeout(grace);
        resolve();
      };
    });
    this.#stopping.set(batch.id, { done, over, hurry });
  }

  /** A batch ended or was lost: a stream being stopped in it is done. */
  batchOver(batchId: number): void {
    const stopping = this.#stopping.get(batchId);
    if (!stopping) return;
    this.#stopping.delete(batchId);
    stopping.over();
  }

  /** Settles once every stream being stopped now is over. */
  async all(): Promise<void> {
    await Promise.all([...this.#stopping.values()].map((stopping) => stopping.done));
  }
}
