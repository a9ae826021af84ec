import { setTimeout as sleep } from 'node:timers/promises';
import type { Contender, Op, Session } from './contender.js';
import { subscribeTracer } from './otel-subscriber.js';

/**
 * How long a pool sits unused before the timed call of rip-idle (warm) and rip-warmed-idle (after
 * warmUp()): about what configure() and warmUp() take (a child's boot, its preload, the warm-up).
 */
const idleMs = 150;

export interface RunInProcessContenders {
  readonly contenders: Contender[];
  /** The decorated module: the raw limit imports it too, so cold starts compare like with like. */
  readonly targetsUrl: string;
  shutdown(): Promise<void>;
}

/** Loaded lazily so the baselines still run (`--baselines-only`) while the library is not built. */
export async function loadRunInProcess(size: number): Promise<RunInProcessContenders> {
  const { configure, shutdown, warmUp } = await import('run-in-process');
  configure({ size, idleTimeout: 30_000 });
  configure('pipelined', { size, idleTimeout: 30_000, callsPerChild: 8 });
  configure('warmed', { size, idleTimeout: 30_000 });
  const targetsUrl = new URL('../targets.js', import.meta.url).href;
  const { Bench, wrapped, wrappedEcho } = (await import(targetsUrl)) as typeof import('../targets.js');

  // The sessions share the library's pools: closing one must not close the others, so
  // close() is a no-op and the harness calls shutdown() once at the end.
  const contender = (id: string, label: string, call: (op: Op, arg: unknown) => Promise<unknown>): Contender => ({
    id,
    label,
    prepareCold: shutdown,
    async start() {
      const session: Session = { call, close: async () => {} };
      return session;
    },
  });

  const warmPool = async () => {
    await shutdown();
    configure('warmed', { size, idleTimeout: 30_000, minChildren: 1, preload: [targetsUrl] });
    await warmUp('warmed');
  };
  const tiny = (op: Op, arg: unknown) => (op === 'tiny' ? Bench.tiny(arg as number) : Bench.echo(arg));
  const instance = new Bench();
  /** Reads a whole stream; tiny and echo (for the harness's checks) are the static methods'. */
  const streaming = (stream: (count: number) => AsyncGenerator<unknown>) => async (op: Op, arg: unknown) => {
    if (op !== 'stream') return op === 'tiny' ? Bench.tiny(arg as number) : Bench.echo(arg);
    let received = 0;
    for await (const _ of stream(arg as number)) received++;
    return received;
  };
  const contenders = [
    contender('rip-static', 'run-in-process static', tiny),
    // withThis returns x + blob.length; mapping it back keeps every contender's tiny() equal to x + 1.
    contender('rip-instance', 'run-in-process instance (100 KB this)', async (op, arg) =>
      op === 'tiny' ? (await instance.withThis(arg as number)) - instance.blob.length + 1 : instance.echoWithThis(arg),
    ),
    {
      // The instance row's baseline (issue #16): the same bytes cross, as an argument instead of in `this`.
      ...contender('rip-static-blob', 'run-in-process static, the same 100 KB as an argument', async (op, arg) =>
        op === 'tiny'
          ? (await Bench.withBlob(arg as number, instance.blob)) - instance.blob.length + 1
          : Bench.echoWithBlob(arg, instance.blob),
      ),
      workloads: ['tiny-latency', 'throughput'],
    },
    contender('rip-wrapped', 'run-in-process wrapped fn', (op, arg) =>
      op === 'tiny' ? wrapped(arg as number) : wrappedEcho(arg),
    ),
    contender('rip-pipelined', 'run-in-process static, callsPerChild: 8', (op, arg) =>
      op === 'tiny' ? Bench.tinyPipelined(arg as number) : Bench.echo(arg),
    ),
    { ...contender('rip-stream', 'run-in-process async *, window 16', streaming(Bench.items)), workloads: ['stream'] },
    {
      ...contender('rip-stream-1', 'run-in-process async *, window 1', streaming(Bench.itemsPaced)),
      workloads: ['stream'],
    },
    {
      // A first call after warmUp(): the children started, the module imported, before the clock starts.
      ...contender('rip-warmed', 'run-in-process static, after warmUp()', (op, arg) =>
        op === 'tiny' ? Bench.tinyWarmed(arg as number) : Bench.echo(arg),
      ),
      workloads: ['cold-start'],
      prepareCold: warmPool,
    },
    {
      // As a server's first request finds it: warmed at startup, then idle until the request comes.
      ...contender('rip-warmed-idle', `run-in-process static, after warmUp() and ${idleMs} ms idle`, (op, arg) =>
        op === 'tiny' ? Bench.tinyWarmed(arg as number) : Bench.echo(arg),
      ),
      workloads: ['cold-start'],
      async prepareCold() {
        await warmPool();
        await sleep(idleMs);
      },
    },
    {
      // The same first call, on a pool that is warm but was idle as long: what warmUp() can be held to.
      ...contender('rip-idle', `run-in-process static, warm, after ${idleMs} ms idle`, tiny),
      workloads: ['cold-start'],
      async prepareCold() {
        await shutdown();
        for (let i = 0; i < 3_000; i++) await Bench.tiny(i);
        await sleep(idleMs);
      },
    },
    tracedContender(tiny),
  ];
  return { contenders, targetsUrl, shutdown };
}

/**
 * The decorated static call with an OpenTelemetry subscriber on `run-in-process:call`. It listens
 * only while this contender is timed: from its first call in a sample until `settle()`, which the
 * harness calls after each sample (and after the untimed warm-up and heap runs).
 */
function tracedContender(tiny: (op: Op, arg: unknown) => Promise<unknown>): Contender {
  let unsubscribe: (() => void) | undefined;
  const session: Session = {
    call(op, arg) {
      unsubscribe ??= subscribeTracer();
      return tiny(op, arg);
    },
    async settle() {
      unsubscribe?.();
      unsubscribe = undefined;
    },
    close: async () => session.settle?.(),
  };
  return {
    id: 'rip-traced',
    label: 'run-in-process static, OpenTelemetry subscriber',
    workloads: ['tiny-latency', 'throughput'],
    async start() {
      return session;
    },
  };
}
