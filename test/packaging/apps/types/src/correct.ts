import {
  configure,
  isChildProcess,
  ProcessCrashedError,
  registerError,
  runInProcess,
  shutdown,
  TimeoutError,
  withCallOptions,
  type CallOptions,
  type PoolOptions,
  type RunInProcessOptions,
} from 'run-in-process';

class QuotaError extends Error {}
registerError(QuotaError);

@runInProcess({ timeout: 1_000 })
export class Service {
  constructor(private readonly base: number) {}

  @runInProcess
  async add(n: number): Promise<number> {
    return this.base + n;
  }

  @runInProcess({ pool: 'native', timeout: 500 })
  static async version(): Promise<string> {
    return '1';
  }
}

export const parse = runInProcess(function parse(a: string, b: number) {
  return a.length + b;
});
export const parseWithOptions = runInProcess(
  function parse2(a: string) {
    return a;
  },
  { name: 'parse2', timeout: 100 },
);

const pool: PoolOptions = { size: 2, maxMemoryMb: 256, isolate: false };
const runOptions: RunInProcessOptions = { timeout: 5, pool: 'x', module: 'file:///x.js' };
const callOptions: CallOptions = { signal: new AbortController().signal, timeout: 10 };
void runOptions;
configure(pool);
configure('native', { size: 1 });

export async function use(): Promise<void> {
  const sum: number = await new Service(1).add(2);
  const version: string = await Service.version();
  const parsed: Promise<number> = parse('a', 1);
  const parsed2: string = await parseWithOptions('x');
  const viaOptions: Promise<number> = withCallOptions(callOptions, () => new Service(1).add(1));
  void [sum, version, parsed, parsed2, viaOptions, isChildProcess()];
  try {
    await shutdown({ deadline: 100 });
  } catch (error) {
    if (error instanceof ProcessCrashedError) {
      const exit: number | null = error.exitCode;
      const signal: NodeJS.Signals | null = error.signal;
      void [exit, signal, error.stderr, error.target, error.outOfMemory, error.code];
    }
    if (error instanceof TimeoutError) void error.timeout;
  }
}
