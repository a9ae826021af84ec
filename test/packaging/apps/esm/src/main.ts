import { existsSync } from 'node:fs';
import { ProcessCrashedError, shutdown } from 'run-in-process';
import { QuotaError, Risky } from './risky.js';
import { Counter, square } from './work.js';

// One `label: {json}` line per result, for the smoke test to check.
const print = (label: string, value: unknown) => console.log(`${label}: ${JSON.stringify(value)}`);

print('main', { pid: process.pid });
print('instance', await new Counter(40).addTo(2));
print('static', await Counter.describe('hi'));
print('function', await square(7));

const risky = new Risky();
try {
  await risky.overQuota(5);
  print('custom-error', { thrown: false });
} catch (error) {
  const { name, message, limit } = error as QuotaError;
  print('custom-error', {
    instanceOf: error instanceof QuotaError,
    isError: error instanceof Error,
    name,
    message,
    limit,
  });
}
try {
  await risky.crash(3);
  print('crash', { thrown: false });
} catch (error) {
  const { exitCode, code } = error as ProcessCrashedError;
  print('crash', { instanceOf: error instanceof ProcessCrashedError, exitCode, code });
}
print('after-crash', await new Counter(1).addTo(1));

// Built only by tsconfig.legacy.json: with emitDecoratorMetadata the library sees a non-Promise
// return type and refuses the method when its class loads.
const misdeclared = './misdeclared.js'; // a variable, so that the standard build does not follow it
if (existsSync(new URL(misdeclared, import.meta.url))) {
  try {
    await import(misdeclared);
    print('misdeclared', { thrown: false });
  } catch (error) {
    print('misdeclared', { name: (error as Error).name, message: (error as Error).message });
  }
}

await shutdown();
print('shutdown', { done: true });
