import { pbkdf2Sync } from 'node:crypto';
import { runInProcess } from 'run-in-process';

/** Sieve of Eratosthenes: how many primes are below `limit`. */
export function countPrimes(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
  }
  return count;
}

/** PBKDF2-SHA512 key stretching, the hashing a login endpoint does on every sign-in. */
export function stretchKey(password: string, salt: string, rounds: number): string {
  return pbkdf2Sync(password, salt, rounds, 32, 'sha512').toString('hex');
}

// Lives in its own module, not in main.ts: each child imports this file to find the class.
export class Workbench {
  constructor(public rounds = 500_000) {}

  @runInProcess
  async countPrimes(limit: number): Promise<number> {
    return countPrimes(limit);
  }

  // `this.rounds` is read in the child, from the snapshot of the instance sent with the call.
  @runInProcess
  async stretchKey(password: string, salt: string): Promise<string> {
    return stretchKey(password, salt, this.rounds);
  }
}
