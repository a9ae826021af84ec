import type { ChildProcess } from 'node:child_process';
import { setTimeout } from '../../shared/real-clock.js';

/** How long a child whose pipe closed has to be seen exiting before it is taken to have closed it itself. */
const exitWithinMs = 200;

/**
 * One of a child's pipes to the parent closed. A child that died has closed it, and its exit says
 * why; one still alive a moment later closed it itself (or put another file on its descriptor), and
 * calls would wait on it for ever: `closedIt` is told, to stop it.
 */
export function ifClosedByLiveChild(child: ChildProcess, closedIt: () => void): void {
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) closedIt();
  }, exitWithinMs).unref();
}
