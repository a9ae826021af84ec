import { createHook } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import type { MessagePort } from 'node:worker_threads';
import { queueMicrotask } from '../../shared/real-clock.js';

/**
 * What holds this process while a child runs a task. tinypool 2.2.0 unrefs the child process, its
 * IPC channel and its pipes, and holds the process with a MessagePort of its own instead: port1 of
 * a MessageChannel it makes right after forking the child (WorkerInfo.port, never exposed), ref'd
 * when it gives the child a task and unref'd when the child has none left. A stream nobody reads
 * must not hold the process: that port is needed, and is caught as it is made. An async hook is
 * enabled from the moment the child is forked (child-fork.ts tells, synchronously, inside tinypool's
 * _addNewWorker) until the channel's two ports are made, in the same turn. Which one is port1 is
 * told apart from the child's end, which tinypool keeps as ProcessWorker.port.
 */

const ports = new WeakMap<ChildProcess, MessagePort[]>();
let catching: { child: ChildProcess; ports: MessagePort[] } | undefined;

const hook = createHook({
  init(_id, type, _trigger, resource) {
    if (type !== 'MESSAGEPORT' || !catching || catching.ports.length === 2) return;
    catching.ports.push(resource as MessagePort);
    if (catching.ports.length === 2) ports.set(catching.child, catching.ports);
  },
});

/** Called as `child` is forked: the next MessageChannel made in this turn is its task channel. */
export function catchTaskPorts(child: ChildProcess): void {
  catching = { child, ports: [] };
  hook.enable();
  // Made in the same turn, or not at all (tinypool failed after the fork): nothing else is caught.
  // The hook is disabled here and never inside its own init: Node (20 to 24) then leaves its promise
  // hooks installed for good, and every promise in the process pays for them (a third of the
  // parent's time in GC at 30,000 calls/s, bench/analysis.md).
  queueMicrotask(() => {
    if (catching?.child !== child) return;
    catching = undefined;
    hook.disable();
  });
}

/** The port through which tinypool holds the process while `child` runs a task; `childEnd`: ProcessWorker.port. */
export function taskPortOf(child: ChildProcess, childEnd: MessagePort | undefined): MessagePort | undefined {
  const pair = ports.get(child);
  if (!pair || childEnd === undefined || !pair.includes(childEnd)) return undefined;
  return pair[0] === childEnd ? pair[1] : pair[0];
}
