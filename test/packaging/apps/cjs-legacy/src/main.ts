import { ProcessCrashedError, shutdown } from 'run-in-process';
import { Greeter, LimitError, triple } from './work';

// One `label: {json}` line per result, for the smoke test to check.
const print = (label: string, value: unknown) => console.log(`${label}: ${JSON.stringify(value)}`);

async function main(): Promise<void> {
  print('main', { pid: process.pid, moduleKind: typeof module, file: __filename });
  print('instance', await new Greeter('hello').greet('cjs'));
  print('static', await Greeter.version());
  print('function', await triple(5));
  try {
    await new Greeter('x').limited(9);
    print('custom-error', { thrown: false });
  } catch (error) {
    print('custom-error', { instanceOf: error instanceof LimitError, limit: (error as LimitError).limit });
  }
  try {
    await Greeter.crash(3);
    print('crash', { thrown: false });
  } catch (error) {
    const { exitCode } = error as ProcessCrashedError;
    print('crash', { instanceOf: error instanceof ProcessCrashedError, exitCode });
  }
  await shutdown();
  print('shutdown', { done: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
