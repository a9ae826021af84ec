import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './fixtures.js';

export interface ScriptOptions {
  /** Node flags, before the script. */
  nodeArgs?: string[];
  /** Arguments after the script (a file only). */
  args?: string[];
  /** Default: the repository's root, so that an inline script can import('run-in-process'). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** ms before the script is killed; default 30 s. */
  timeout?: number;
  /** An inline script is an ES module unless this is set. */
  commonjs?: boolean;
  /** Open descriptors of this process the script inherits, as its descriptors 3, 4, … (runScript only). */
  descriptors?: Array<number | 'ignore'>;
}

export interface ScriptRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Everything the script did and printed, for an assertion message. */
  report: string;
}

/** A file URL runs that file; a string is the source of an inline script (`node -e`). */
function nodeArgs(script: string | URL, options: ScriptOptions): string[] {
  const target =
    script instanceof URL
      ? [fileURLToPath(script), ...(options.args ?? [])]
      : [`--input-type=${options.commonjs ? 'commonjs' : 'module'}`, '-e', script];
  return [...(options.nodeArgs ?? []), ...target];
}

/**
 * Runs a script in its own node process, to the end, and returns its exit and output. Whatever it
 * prints (a crash fixture's trace, say) goes nowhere but the returned strings.
 */
export function runScript(script: string | URL, options: ScriptOptions = {}): ScriptRun {
  const run = spawnSync(process.execPath, nodeArgs(script, options), {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeout ?? 30_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe', ...(options.descriptors ?? [])],
  });
  const stdout = run.stdout ?? '';
  const stderr = run.stderr ?? '';
  const ended = run.error ? `failed: ${run.error.message}` : `exited with ${run.status ?? run.signal}`;
  return {
    status: run.status,
    signal: run.signal,
    stdout,
    stderr,
    report: `the script ${ended}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
  };
}

/** Starts a script as runScript would, without waiting for it: for a test that acts while it runs. */
export function startScript(
  script: string | URL,
  options: ScriptOptions = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, nodeArgs(script, options), {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Script code (for runScript) that sets `children` to the pids of the script's live child
 * processes, read from /proc (Linux): what a test checks is left after shutdown().
 */
export const listChildrenCode = `
  const { readdirSync: readDir, readFileSync: readFile } = await import('node:fs');
  const children = readDir('/proc').filter((entry) => /^\\d+$/.test(entry)).filter((entry) => {
    try {
      const stat = readFile('/proc/' + entry + '/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[1]) === process.pid && fields[0] !== 'Z';
    } catch { return false; }
  });`;
