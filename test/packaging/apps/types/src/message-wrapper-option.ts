import { runInProcess } from 'run-in-process';

// Not marked: the compiler's message for this typo is what the check reads. It must tell it against
// the wrapper's options (TypeScript 7 reports the last overload only: once, it was a decorator's).
export const offloaded = runInProcess(async (x: number) => x + 1, { timout: 1_000 });
