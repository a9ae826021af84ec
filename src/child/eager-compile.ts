import { flagName, nodeOptionsFlags } from '../node-flags.js';
import { setV8Flags as setFlagsFromString } from './sandbox-seal.js';

/**
 * Imports a pool's `preload` modules with their functions compiled as they load. V8 compiles a
 * function the first time it is called, so a child that had imported a module still compiled the
 * method on the first call to it, and every function that method called: 40–90 µs for the bench's
 * one-line method on this VM (bench/analysis.md, eighth pass), and more for real code. `preload`
 * is there so that a first call finds its code ready; the flag is V8's own, and lazy compilation is
 * back on once the modules have loaded, for everything the child loads later.
 *
 * It holds more heap until V8 flushes the bytecode of functions that never run: +1.6 MB for bullmq
 * and its dependencies here, ~5 MB (+24%) for a large set of libraries (a hostile review's).
 * Real first calls gain more than the bench's one-liner: a first YAML.parse 7 ms → 3 ms, a first
 * zod parse 3.3 ms → 1.5 ms.
 *
 * Left alone when the child's flags turned lazy compilation off themselves. A preloaded module that
 * turns it off with v8.setFlagsFromString() finds it on again after (execArgv is the way to do it).
 */
export async function compiledEagerly<T>(load: () => Promise<T>): Promise<T> {
  if (lazyIsOff()) return load();
  setFlagsFromString('--no-lazy');
  try {
    return await load();
  } finally {
    setFlagsFromString('--lazy');
  }
}

function lazyIsOff(): boolean {
  return [...process.execArgv, ...nodeOptionsFlags(process.env['NODE_OPTIONS'])].some((flag) => {
    const name = flagName(flag);
    const value = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : undefined;
    return name === '--no-lazy' || name === '--nolazy' || (name === '--lazy' && (value === 'false' || value === '0'));
  });
}
