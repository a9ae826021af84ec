import { parseArgs } from 'node:util';
import { largestPool, longestTimer } from '../options.js';
import { namesAnotherQueue } from './build-id.js';
import { largestPayloadBytes } from './settings.js';

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
  shutdownDeadline?: number;
}

/** Throws an Error that says what is wrong, for the command to print above its usage (exit code 2). */
export function parse(args: string[]): Flags {
  const { values, positionals, tokens } = parseArgs({
    args,
    allowPositionals: true,
    tokens: true,
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
      'shutdown-deadline': { type: 'string' },
    },
  });
  // An empty value (`--build-id ""`, an unset variable in a script) must not stand for the default.
  for (const [flag, text] of Object.entries(values)) {
    if (text === '') throw new Error(`--${flag} needs a value; it was given an empty one.`);
  }
  // parseArgs keeps the last of a flag given twice: `--size 0 --size 2` would hide a mistake.
  const seen = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) {
      const both = [seen.get(token.name), token.value].map((text) => JSON.stringify(text)).join(' and ');
      throw new Error(`--${token.name} was given twice (${both}); give it once.`);
    }
    seen.set(token.name, token.value);
  }
  // From the environment, the URL and its password stay out of `ps` and /proc/<pid>/cmdline.
  const connection = values.connection ?? process.env['RUN_IN_PROCESS_CONNECTION'];
  if (!connection || !values.pool || positionals.length === 0) {
    const missing = [
      !connection && '--connection (or RUN_IN_PROCESS_CONNECTION)',
      !values.pool && '--pool',
      positionals.length === 0 && 'a module (was it taken as the value of a flag?)',
    ].filter(Boolean);
    throw new Error(`--connection, --pool and at least one module are needed; missing: ${missing.join(', ')}.`);
  }
  // Checked here too, so that the command says which flag it was and exits 2 before it starts.
  for (const flag of ['pool', 'build-id'] as const) {
    const text = values[flag];
    if (text !== undefined && namesAnotherQueue(text)) {
      throw new Error(
        `--${flag} cannot contain ':' or '@' (got ${JSON.stringify(text)}): it would name another pool's queue. ` +
          `Use letters, digits, '.', '-' or '_'.`,
      );
    }
  }
  return {
    connection,
    pool: values.pool,
    modules: positionals,
    buildId: values['build-id'],
    prefix: values.prefix,
    concurrency: whole('concurrency', values.concurrency),
    size: whole('size', values.size, largestPool),
    timeout: whole('timeout', values.timeout, longestTimer),
    // BullMQ renews locks every lockDuration / 2 and checks stalls every stalledInterval, and a
    // worker says it is alive every (lockDuration + stalledInterval) / 3: all fit a timer then.
    lockDuration: whole('lock-duration', values['lock-duration'], longestTimer),
    stalledInterval: whole('stalled-interval', values['stalled-interval'], longestTimer),
    maxPayloadBytes: whole('max-payload-bytes', values['max-payload-bytes'], largestPayloadBytes),
    // How long a first SIGTERM or SIGINT lets the calls it holds run: within a supervisor's grace
    // (Kubernetes' terminationGracePeriodSeconds), so that they fail with PoolClosedError, not as lost.
    // 0 as close({ deadline: 0 }) takes it: what runs fails at once.
    shutdownDeadline: whole('shutdown-deadline', values['shutdown-deadline'], longestTimer, 0),
  };
}

/** A flag's text as a whole number from 1 to `most`, written in digits (`1.5`, `1e3`, `0x10` are refused). */
function whole(flag: string, text: string | undefined, most = Number.MAX_SAFE_INTEGER, least = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < least || value > most) {
    const range =
      most === Number.MAX_SAFE_INTEGER
        ? `a whole number above ${least - 1}`
        : `a whole number from ${least} to ${most}`;
    throw new Error(`--${flag} must be ${range} (got ${JSON.stringify(text)}).`);
  }
  return value;
}
