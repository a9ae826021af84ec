import { runInProcess } from 'run-in-process';

export const f = runInProcess(function f(a: string, b: number) {
  return a.repeat(b);
});

// @ts-expect-error: the wrapped function keeps its parameter types
void f(1, 'x');
// @ts-expect-error: and its (awaited) return type
export const wrong: Promise<number> = f('a', 1);
