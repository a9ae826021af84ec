import { runInProcess } from '../../../dist/index.js';

/** Cubes `x` in a child, and says which process it ran in. */
export const cube = runInProcess(async function cube(x) {
  return [x ** 3, process.pid];
});

/** Waits `ms` in the child, on its own real timers. */
export const sleepFor = runInProcess(async function sleepFor(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});
