// A well-behaved plugin: it only needs its arguments.
import { runInProcess } from 'run-in-process';

export default class WordCount {
  @runInProcess()
  async run(text: string): Promise<{ summary: string; pid: number }> {
    return { summary: `${text.split(/\s+/).filter(Boolean).length} words`, pid: process.pid };
  }
}
