import { runInProcess } from 'run-in-process';

export class Renderer {
  /** CPU work, in a child. */
  @runInProcess({ pool: 'traced' })
  async render(size: number): Promise<number> {
    let sum = 0;
    for (let i = 0; i < size * 1_000_000; i++) sum = (sum + i) % 1_000_003;
    return sum;
  }
}
