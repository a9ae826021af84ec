import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root: this file is built to build/test/helpers/. */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The fixture modules are compiled three times; each test runs against all three builds. */
export const modes = ['legacy', 'legacy-metadata', 'standard'] as const;
export type Mode = (typeof modes)[number];

export function fixtureUrl(mode: Mode, name: string): string {
  return new URL(`../../fixtures/${mode}/${name}.js`, import.meta.url).href;
}

export async function fixture<T>(mode: Mode, name: string): Promise<T> {
  return (await import(fixtureUrl(mode, name))) as T;
}

let scratch: string | undefined;

/**
 * A path for a file that a test and its children share (a marker, a log), in a directory of this
 * test process's own that is removed when it exits. The file itself is not created.
 */
export function scratchFile(name: string): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'rip-test-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return join(scratch, `${scratchFiles++}-${name}`);
}
let scratchFiles = 0;

/**
 * Waits for a file that a child writes (a fixture writes its pid there when a call starts), and
 * returns its content. Fails the test if it does not appear within `ms`.
 */
export async function waitForFile(path: string, ms = 10_000): Promise<string> {
  if ((await waitFor(() => existsSync(path), ms)) === undefined)
    throw new Error(`${path} did not appear within ${ms} ms`);
  // writeFileSync creates the file, then writes it: read between the two, a pid was '' (a CI run's
  // flake). A file meant to be empty is returned so after half a second.
  let content = readFileSync(path, 'utf8');
  await waitFor(() => (content = readFileSync(path, 'utf8')) !== '', 500);
  return content;
}

/** Live child processes of a process (this one by default), read from /proc (Linux). */
export function childPids(parentPid = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parentPid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** A process's command line, its arguments joined by spaces; '' once it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until `check` holds or `ms` pass; returns how long it took, or undefined on timeout. */
export async function waitFor(check: () => boolean, ms: number): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (check()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check() ? Date.now() - start : undefined;
}
