import { runInProcess } from 'run-in-process';

/** A buggy plugin stuck in an endless loop: run in-process, it would freeze the host for good. */
export default class Runaway {
  @runInProcess
  async run(_text: string): Promise<{ summary: string; pid: number }> {
    for (;;) {
      // waiting for a condition that never comes true
    }
  }
}
