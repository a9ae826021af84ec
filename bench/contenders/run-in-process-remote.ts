import { fileURLToPath } from 'node:url';
import { readyLine, spawnReaped } from '../reaper.js';
import type { Contender, Session } from './contender.js';

/**
 * The remote pool: this process calls decorated methods of a pool configured with the BullMQ
 * transport, and a worker started with the library's CLI (as README's "Scaling out" says) runs
 * them in a local pool of `size` children, taking `concurrency` jobs at a time (the bench: `size`,
 * as the raw worker).
 * Loaded lazily, as the local contenders are: the library may not be built.
 */
/** The bench package's folder (this file runs from build/contenders/): the worker's working directory. */
const benchDir = fileURLToPath(new URL('../../', import.meta.url));

export function runInProcessRemote(socket: string, size: number, concurrency = size): Contender {
  return {
    id: 'rip-remote',
    label: 'run-in-process remote pool (BullMQ transport)',
    async start() {
      const cli = `${benchDir}node_modules/run-in-process/dist/remote/cli.js`;
      const { configure, shutdown } = await import('run-in-process');
      const { bullmq } = await import('run-in-process/bullmq');
      const { RemoteBench, remotePool } = await import('../remote-targets.js');
      const worker = spawnReaped(
        process.execPath,
        [
          cli,
          'worker',
          '--connection',
          socket,
          '--pool',
          remotePool,
          '--build-id',
          'bench',
          '--size',
          String(size),
          '--concurrency',
          String(concurrency),
          'build/remote-targets.js',
        ],
        { cwd: benchDir },
      );
      await readyLine(worker, /run-in-process worker ready/, 'the run-in-process worker');
      configure(remotePool, { transport: bullmq({ connection: { path: socket }, buildId: 'bench' }) });
      const session: Session = {
        call: (op, arg) => (op === 'tiny' ? RemoteBench.tiny(arg as number) : RemoteBench.echo(arg)),
        async close() {
          // Every pool of the library: the local section's are closed already.
          await shutdown();
          await worker.stop();
        },
      };
      return session;
    },
  };
}
