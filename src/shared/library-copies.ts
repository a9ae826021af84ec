import { libraryDir } from './library-dir.js';

/**
 * The copies of this library loaded in this process (this thread), each with pools of its own. An
 * app may hold two without meaning to: a workspace package with a copy of its own, or pnpm's copies
 * of one version for different versions of its peers (bullmq, ioredis). A pool configured through
 * one copy is unknown to the other, whose calls to it would run with the default options: without
 * the sandbox or the remote transport it was given. So each copy says here how it configured its
 * pools, and how to close them: another one refuses such a call (call/pools.ts), and `shutdown()`
 * closes the pools of every copy.
 *
 * What a copy puts here is the contract between copies of any version: the key's version changes
 * whenever its shape does.
 */
export interface LibraryCopy {
  /** Its compiled files' folder, to name it in a message. */
  readonly dir: string;
  /** How it configured a pool, if it did: with `permissions`, with a `transport`, or with neither. */
  configuredAs(pool: string): 'sandboxed' | 'remote' | 'configured' | undefined;
  /** Closes its own pools, as its `shutdown()` does. */
  closeOwn(deadline: number): Promise<void>;
}

const copiesKey = Symbol.for('run-in-process.copies.v1');

const copies: Set<LibraryCopy> = ((globalThis as { [copiesKey]?: Set<LibraryCopy> })[copiesKey] ??= new Set());

/** Adds this copy; returns the others, as they are at each call. */
export function joinCopies(copy: Omit<LibraryCopy, 'dir'>): () => LibraryCopy[] {
  const self: LibraryCopy = { ...copy, dir: libraryDir };
  copies.add(self);
  return () => [...copies].filter((other) => other !== self);
}
