import { createHash } from 'node:crypto';
import { runInProcess } from 'run-in-process';

/** A static decorated method: no instance travels, only the arguments. */
export default class Checksum {
  @runInProcess
  static async sha256(text: string): Promise<{ summary: string; pid: number }> {
    return { summary: `sha256 ${createHash('sha256').update(text).digest('hex').slice(0, 16)}…`, pid: process.pid };
  }

  run(text: string): Promise<{ summary: string; pid: number }> {
    return Checksum.sha256(text);
  }
}
