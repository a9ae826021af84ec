import type { LibraryHandle } from 'koffi';
import { runInProcess } from 'run-in-process';

// koffi is imported lazily, so only the children ever load the native addon and bind libc;
// the main process imports this module too but never touches native code.
let libc: LibraryHandle | undefined;
async function loadLibc(): Promise<LibraryHandle> {
  const koffi = await import('koffi');
  return (libc ??= koffi.load('libc.so.6'));
}

export interface Measured {
  length: number;
  pid: number;
}

/** strlen(3) on a JavaScript string: koffi copies it into a NUL-terminated C string. */
export const strlen = runInProcess(
  async function strlen(text: string): Promise<Measured> {
    const cStrlen = (await loadLibc()).func('size_t strlen(const char *s)');
    return { length: Number(cStrlen(text)), pid: process.pid };
  },
  { pool: 'native' },
);

/** strlen(3) on a raw address, the way a binding holding a dangling pointer would call it. */
export const strlenAt = runInProcess(
  async function strlenAt(address: number): Promise<Measured> {
    const cStrlen = (await loadLibc()).func('size_t strlen(uintptr_t s)');
    return { length: Number(cStrlen(address)), pid: process.pid };
  },
  { pool: 'native' },
);

/** abort(3): what a failed assertion inside a C library does. */
export const abort = runInProcess(
  async function abort(): Promise<void> {
    (await loadLibc()).func('void abort(void)')();
  },
  { pool: 'native' },
);

/** sleep(3) blocks the child's only thread: nothing inside the child can interrupt it. */
export const sleep = runInProcess(
  async function sleep(seconds: number): Promise<number> {
    return (await loadLibc()).func('unsigned int sleep(unsigned int seconds)')(seconds) as number;
  },
  { pool: 'native' },
);
