import { trace } from '@opentelemetry/api';
import { runInProcess } from 'run-in-process';

export class Renderer {
  /** CPU work, in a child; the span it starts joins the caller's trace. */
  @runInProcess({ pool: 'traced' })
  async render(size: number): Promise<number> {
    return trace.getTracer('renderer').startActiveSpan('sum', (span) => {
      let sum = 0;
      for (let i = 0; i < size * 1_000_000; i++) sum = (sum + i) % 1_000_003;
      span.end();
      return sum;
    });
  }

  /** A failure: both spans record it, and each ends once. */
  @runInProcess({ pool: 'traced' })
  async refuse(size: number): Promise<number> {
    throw new RangeError(`size ${size} is too large`);
  }
}
