import { runInProcess } from 'run-in-process';

/** Counts words and finds the most frequent one. */
export default class WordStats {
  constructor(public minLength = 4) {}

  @runInProcess
  async run(text: string): Promise<{ summary: string; pid: number }> {
    const counts = new Map<string, number>();
    for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
      if (word.length >= this.minLength) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const [top, times] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    return { summary: `${counts.size} distinct words, most frequent "${top}" (${times}x)`, pid: process.pid };
  }
}
