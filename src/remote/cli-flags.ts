import { parseArgs } from 'node:util';
import { largestPool, longestTimer } from '../options.js';

/** The worker command's flags, read and checked: each mistake is named by its flag and the text given. */
export interface Flags {
  connection: string;
  pool: string;
  modules: string[];
  buildId?: string;
  prefix?: string;
  concurrency?: number;
  size?: number;
  timeout?: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxPayloadBytes?: number;
}

/** Throws an Error that says what is wrong, for the command to print above its usage (exit code 2). */
export function parse(args: string[]): Flags {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      connection: { type: 'string' },
      pool: { type: 'string' },
      'build-id': { type: 'string' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
      size: { type: 'string' },
      timeout: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'max-payload-bytes': { type: 'string' },
    },
  });
  // An empty value (`--build-id ""`, an unset variable in a script) must not stand for the default.
  for (const [flag, text] of Object.entries(values)) {
    if (text === '') throw new Error(`--${flag} needs a value; it was given an empty one.`);
  }
  if (!values.connection || !values.pool || positionals.length === 0) {
    throw new Error('--connection, --pool and at least one module are needed.');
  }
  return {
    connection: values.connection,
    pool: values.pool,
    modules: positionals,
    buildId: values['build-id'],
    prefix: values.prefix,
    concurrency: whole('concurrency', values.concurrency),
    size: whole('size', values.size, largestPool),
    timeout: whole('timeout', values.timeout, longestTimer),
    lockDuration: whole('lock-duration', values['lock-duration']),
    stalledInterval: whole('stalled-interval', values['stalled-interval']),
    maxPayloadBytes: whole('max-payload-bytes', values['max-payload-bytes']),
  };
}

/** A flag's text as a whole number from 1 to `most`, written in digits (`1.5`, `1e3`, `0x10` are refused). */
function whole(flag: string, text: string | undefined, most = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > most) {
    const range = most === Number.MAX_SAFE_INTEGER ? 'a whole number above 0' : `a whole number from 1 to ${most}`;
    throw new Error(`--${flag} must be ${range} (got ${JSON.stringify(text)}).`);
  }
  return value;
}
