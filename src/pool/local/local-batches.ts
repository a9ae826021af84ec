import type { CallTask } from '../../protocol.js';
import type { ChildRecord } from './child-tracker.js';

export interface LocalBatch {
  /**
   * Only for a batch that may have to be stopped before its child is known: one that goes alone, or
   * holds a call with a timeout (which then fails if its child does not start it). tinypool gives
   * such a task a child of its own, which is how calls with a timeout go anyway when children take
   * several calls at once.
   */
  readonly controller: AbortController | undefined;
  readonly exclusive: boolean;
  /** The scheduler stopped it: the calls it loses were not running, or have failed already. */
  cancelled: boolean;
  /** …because its worker did not start the call in front within startTimeout: none of it ran. */
  stuck: boolean;
  /** The child that runs it: the first that speaks of it. */
  child: ChildRecord | undefined;
  /**
   * The child tinypool gave its task to, as tinypool wrote it on that child's channel: known even
   * when the child never speaks of it (its code forged tinypool's answer, then died).
   */
  givenTo: ChildRecord | undefined;
  /** A stream nobody waits on now: it does not hold the process (tinypool-transport.ts, release). */
  released: boolean;
  /** Calls with large payloads, sent on the child's channel once it says it runs the batch (deferred-calls.ts). */
  deferred: CallTask[] | undefined;
  /** The batch was not to be kept open: closed right after its deferred calls. */
  closeAfterDeferred: boolean;
  /** When (in the transport's count of sends and stops) it was given to tinypool. */
  sentAt: number;
  /** Calls sent in it and not answered yet: a child that dies with none lost no call of this batch. */
  unanswered: number;
  /** Its child said it ended it, after its answers ('run-in-process:ended'). */
  endNoticed: boolean;
  /** tinypool has its result (or its failure). */
  resultIn: boolean;
  /** Set when its end was noticed before its result: how long the result may take (tinypool-transport.ts). */
  resultDue: NodeJS.Timeout | undefined;
  /** tinypool has its result, and waits for that notice to end it. */
  onEndNoticed: (() => void) | undefined;
  /** …or for its child's pipes to close without it. */
  onPipeClosed: ((child: ChildRecord) => void) | undefined;
}

/** The batches given to tinypool and not yet ended or lost, and which child runs each. */
export class LocalBatches {
  readonly #batches = new Map<number, LocalBatch>();

  add(id: number, exclusive: boolean, stoppable: boolean): LocalBatch {
    const batch: LocalBatch = {
      controller: stoppable ? new AbortController() : undefined,
      exclusive,
      cancelled: false,
      stuck: false,
      child: undefined,
      givenTo: undefined,
      released: false,
      deferred: undefined,
      closeAfterDeferred: false,
      sentAt: 0,
      unanswered: 0,
      endNoticed: false,
      resultIn: false,
      resultDue: undefined,
      onEndNoticed: undefined,
      onPipeClosed: undefined,
    };
    this.#batches.set(id, batch);
    return batch;
  }

  /**
   * How many children run a call now: those that spoke for a batch with a call not answered, and one
   * for each such batch that no child spoke for yet. A child the pool is stopping (a call's timeout
   * or abort killed it) runs nothing any more, whatever it had not answered: not counted.
   */
  running(): number {
    // An open batch with every call answered, or one ending so, runs nothing: its child takes more.
    return this.#children((batch) => batch.unanswered > 0 || (batch.deferred?.length ?? 0) > 0, false);
  }

  /**
   * How many children hold a batch, as tinypool sees them: a child whose batch is open or ending is
   * taken, and so is one being stopped until it has exited, unless `stopping` is false.
   */
  holding(stopping = true): number {
    return this.#children(() => true, stopping);
  }

  /**
   * How many children have a batch that counts: counted per child, as with callsPerChild above 1 one
   * child's idle batch says nothing of another's; each counted batch no child spoke for yet is one more.
   */
  #children(counts: (batch: LocalBatch) => boolean, stopping: boolean): number {
    const children = new Set<ChildRecord>();
    let unknown = 0;
    for (const batch of this.#batches.values()) {
      if (!counts(batch)) continue;
      if (!batch.child) unknown++;
      else if (stopping || batch.child.stoppedAt === undefined) children.add(batch.child);
    }
    return children.size + unknown;
  }

  /** The batches this child runs, as far as it has said. */
  *on(record: ChildRecord): Iterable<LocalBatch> {
    for (const batch of this.#batches.values()) if (batch.child === record) yield batch;
  }

  /** The batches tinypool gave this child, and that no child has spoken of. */
  *givenOnlyTo(record: ChildRecord): Iterable<LocalBatch> {
    for (const batch of this.#batches.values()) if (batch.child === undefined && batch.givenTo === record) yield batch;
  }

  get(id: number): LocalBatch | undefined {
    return this.#batches.get(id);
  }

  /** How many are in flight. */
  get size(): number {
    return this.#batches.size;
  }

  delete(id: number): void {
    this.#batches.delete(id);
  }

  /**
   * A child speaks for a batch: the first to name one we sent runs it (ids cannot be guessed, so
   * that is the child tinypool gave it to). 'another child': the batch is someone else's.
   */
  claim(record: ChildRecord, id: number): 'its own' | 'unknown' | 'another child' {
    const batch = this.#batches.get(id);
    if (!batch) return 'unknown';
    batch.child ??= record;
    return batch.child === record ? 'its own' : 'another child';
  }
}
