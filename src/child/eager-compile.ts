import { setFlagsFromString } from 'node:v8';
import { flagName, nodeOptionsFlags } from '../node-flags.js';

/**
 * Imports a pool's `preload` modules with their functions compiled as they load. V8 compiles a
 * function the first time it is called, so a child that had imported a module still compiled the
 * method on the first call to it, and every function that method called: 40–90 µs for the bench's
 * one-line method on this VM (bench/analysis.md, eighth pass), and more for real code. `preload`
 * is there so that a first call finds its code ready; the flag is V8's own, and lazy compilation is
 * back on once the modules have loaded, for everything the child loads later.
 *
 * Left alone when the child's flags turned lazy compilation off themselves.
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
