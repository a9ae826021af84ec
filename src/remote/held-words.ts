/**
 * What a job's worker last said of each call it held unrun (held-calls.ts), by the call's index, and
 * in which take of the job: the caller's timeout of a held call waits for its start. The words come
 * as the job's progress events, late or twice: a word of an earlier take, or a 'held' said again
 * after 'started' in the same take (a replay), is not taken.
 */
export class HeldWords {
  readonly #last = new Map<number, { attempt: number; state: 'held' | 'started' | 'taken again' }>();

  /** The worker holds the call unrun: whether to take it so (its timeout waits for its start). */
  held(index: number, attempt: number): boolean {
    const last = this.#last.get(index);
    if (last && (attempt < last.attempt || (attempt === last.attempt && last.state === 'started'))) return false;
    this.#last.set(index, { attempt, state: 'held' });
    return true;
  }

  /** The worker started a call it held: whether to take it so (its timeout starts now). */
  started(index: number, attempt: number): boolean {
    const last = this.#last.get(index);
    if (last?.state !== 'held' || attempt < last.attempt) return false;
    this.#last.set(index, { attempt, state: 'started' });
    return true;
  }

  /**
   * The job was taken again (handed back by a worker that shut down holding it): the calls still
   * held start now, their indices returned. The worker that took it may still say it holds them.
   */
  takenAgain(): number[] {
    const held: number[] = [];
    for (const [index, word] of this.#last) {
      if (word.state !== 'held') continue;
      this.#last.set(index, { attempt: word.attempt + 1, state: 'taken again' });
      held.push(index);
    }
    return held;
  }
}
