import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { scratchFile } from './fixtures.js';

/**
 * A file that offloaded calls append `<id> <pid>` lines to, one line as each call starts (the
 * fixtures' `step` and `Load.work` do), so that a test can tell how many times each call really
 * ran, and where.
 */
export class CallLog {
  readonly path = scratchFile('calls.log');

  /** Each run, in the order the calls started. */
  entries(): Array<{ id: number; pid: number }> {
    const text = existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [id, pid] = line.split(' ');
        return { id: Number(id), pid: Number(pid) };
      });
  }

  /** How many times each id ran. */
  runs(): Map<number, number> {
    const runs = new Map<number, number>();
    for (const { id } of this.entries()) runs.set(id, (runs.get(id) ?? 0) + 1);
    return runs;
  }

  /**
   * Every id in `ids` ran exactly once, and nothing else ran; those in `mayNotRun` ran once or not
   * at all (a call timed out before its first line).
   */
  assertEachRanOnce(ids: Iterable<number>, mayNotRun: ReadonlySet<number> = new Set()): void {
    const runs = this.runs();
    const expected = new Set(ids);
    const missing = [...expected].filter((id) => !runs.has(id) && !mayNotRun.has(id));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} calls never ran`);
    const extra = [...runs.keys()].filter((id) => !expected.has(id));
    assert.deepEqual(extra.slice(0, 20), [], `${extra.length} unexpected ids ran`);
    for (const [id, count] of runs) assert.equal(count, 1, `call ${id} ran ${count} times`);
  }
}

/** 0, 1, … count - 1. */
export function ids(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}
