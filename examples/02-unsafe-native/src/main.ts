import { ProcessCrashedError, TimeoutError, configure, shutdown, withCallOptions } from 'run-in-process';
import { abort, sleep, strlen, strlenAt } from './native.js';

configure('native', { size: 1, timeout: 5_000 });

/** Runs one native call and prints what became of it; the app carries on either way. */
async function attempt(label: string, call: () => Promise<unknown>): Promise<void> {
  try {
    const value = await call();
    console.log(`${label} -> ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof ProcessCrashedError) {
      console.log(`${label} -> ProcessCrashedError signal=${error.signal} exitCode=${error.exitCode}`);
    } else if (error instanceof TimeoutError) {
      console.log(`${label} -> TimeoutError after ${error.timeout} ms`);
    } else {
      throw error;
    }
    console.log(`  ${error.message.split('\n')[0]}`);
  }
}

console.log(`main pid ${process.pid}`);
await attempt('strlen("hello, native world")', () => strlen('hello, native world'));
await attempt('strlen(0x1)', () => strlenAt(1));
await attempt('strlen("still serving")', () => strlen('still serving'));
await attempt('abort()', () => abort());
await attempt('sleep(100)', () => withCallOptions({ timeout: 1_000 }, () => sleep(100)));
await attempt('strlen("after the timeout")', () => strlen('after the timeout'));
await shutdown();
console.log('main process still alive: yes');
