import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Ends raw contenders' children the gentle way (their IPC channel closes, they exit), and waits for each. */
export async function disconnectAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    }),
  );
}
