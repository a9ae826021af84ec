import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis, RedisOptions } from 'ioredis';
import { optionError } from '../errors.js';

/** How to reach Redis: a URL (`redis://host:6379`, `rediss://…`), a Unix socket path, or ioredis options. */
export type Connection = string | RedisOptions;

/**
 * A connection string checked at once, rather than at every call: ioredis reads any string as a URL,
 * so a relative socket path (`../redis.sock`, `redis.sock`) became a host name, and an unparsable URL
 * failed each call with a bare `TypeError: Invalid URL`.
 * - A `redis://` or `rediss://` URL must parse; a `unix://` one names a socket.
 * - A string with no `scheme://` that looks like a path (it has a `/`, or ends with `.sock`) is a
 *   Unix socket, resolved against the working directory; `?db=2&password=…` after it are read as
 *   ioredis reads them after a `unix://` URL.
 * - Anything else is `[user:password@]host[:port][/db]`, read as a `redis://` URL would be, so that
 *   a typo (`localhost:6379x`) is refused here too.
 * - What looks like a URL whose scheme was mistyped (`redis:/host`, `redis:host:6379`, `rediss//host`),
 *   and an empty string (an unset variable), are refused, not taken for a path or for localhost.
 * `where` is for messages: the password masked, wherever it was given.
 */
export function checkedConnection(connection: string): { connection: Connection; where: string } {
  if (connection.trim() === '') throw refusal(connection, 'is empty');
  // A port alone, as ioredis reads it: on this machine.
  if (/^\d+$/.test(connection)) return checkedConnection(`localhost:${connection}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(connection)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^unix:/i.test(connection)) return socketAt(connection.slice('unix:'.length), connection);
    // A path: it starts as one does (`/`, `./`, `~/`, `C:\`), ends in `.sock`, or its first part
    // names no host:port (`localhost:6379/2` is a host, a port and a database).
    const path = connection.split('?')[0]!;
    const head = path.split('/')[0]!;
    const userinfo = /^[^/@]*@/.test(connection);
    const mistyped = /^(redis|rediss|unix):/i.test(connection) || /^[a-z][a-z0-9+.-]*\/\//i.test(connection);
    // `redis:/host`, `redis:host:6379`, `rediss//host`, `redis:pass@host`: a URL mistyped, not a host or a path.
    if (mistyped) throw refusal(connection, 'looks like a URL whose scheme is mistyped');
    // `reddis:/host`, or `localhost:port`: which of the two was meant cannot be told.
    if (!userinfo && /^[a-z][a-z0-9+.-]+:[/a-z]/i.test(connection)) {
      throw refusal(connection, 'looks like a URL whose scheme is mistyped, or a host whose port is not a number');
    }
    if (
      /^([/.~]|[a-z]:[\\/])/i.test(path) ||
      path.endsWith('.sock') ||
      (!userinfo && path.includes('/') && !head.includes(':'))
    ) {
      return socketAt(path, connection);
    }
    const url = parsed(`redis://${connection}`);
    if (!url || !validDatabase(url)) {
      throw refusal(connection, 'is not a host and port that parse (an IPv6 address goes in brackets: [::1]:6379)');
    }
    return { connection: url.href, where: maskedUrl(url).slice('redis://'.length) };
  }
  if (scheme === 'unix') return socketAt(connection.slice('unix://'.length), connection);
  const url = parsed(connection);
  if (!url) throw refusal(connection, 'is not a URL that parses');
  if (scheme !== 'redis' && scheme !== 'rediss') throw refusal(connection, 'is not a Redis URL');
  if (!validDatabase(url)) throw refusal(connection, 'names a database that is no number');
  return { connection, where: maskedUrl(url) };
}

/**
 * ioredis options checked as a string is: ioredis takes `db: 'x'` as it is, and its SELECT of NaN
 * then failed inside ioredis, uncaught, and ended the caller's process.
 */
export function checkedConnectionOptions(options: RedisOptions): { connection: Connection; where: string } {
  const { db, path, host, port } = options as { db?: unknown; path?: unknown; host?: unknown; port?: unknown };
  const wrong = (what: string, value: unknown) =>
    optionError(
      `bullmq(options): connection.${what} (got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}).`,
    );
  // Digits in a string are a number to ioredis (an environment variable's value, say), as for the port.
  const dbNumber = typeof db === 'string' && /^\d+$/.test(db) ? Number(db) : db;
  if (db !== undefined && !(Number.isSafeInteger(dbNumber) && (dbNumber as number) >= 0)) {
    throw wrong('db must be a database number: a whole number, 0 or above', db);
  }
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw wrong("path must be a Unix socket's path, a non-empty string", path);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw wrong('host must be a host name or address, a non-empty string', host);
  }
  const portNumber = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (
    port !== undefined &&
    !(Number.isInteger(portNumber) && (portNumber as number) > 0 && (portNumber as number) < 65_536)
  ) {
    throw wrong('port must be a port number, from 1 to 65535', port);
  }
  const where = path ? `unix:${path}` : `${host ?? 'localhost'}:${port ?? 6379}`;
  const checked = db === dbNumber ? options : { ...options, db: dbNumber as number };
  return { connection: checked, where: dbNumber === undefined || dbNumber === 0 ? where : `${where} db ${dbNumber}` };
}

/**
 * Fails, saying why, when Redis has no database of the number the client selects: asked before the
 * first job is added or taken (see noSuchDatabase). Waits for Redis as the client's commands do.
 */
export async function checkDatabase(redis: Redis, where?: string): Promise<void> {
  const db = redis.options.db ?? 0;
  if (db === 0) return;
  try {
    await redis.select(db);
  } catch (error) {
    const message = (error as Error).message;
    if (!noSuchDatabase(message)) throw error;
    // The place without its database, which the message names.
    const at = where ? ` at ${where.replace(/ db \d+$/, '')}` : '';
    throw new Error(
      `Redis${at} has no database ${db} (${message}): it has as many as its databases ` +
        `setting says, 16 by default, numbered from 0. Give a database number it has (the connection's /db, ?db= or { db }).`,
      { cause: error },
    );
  }
}

/**
 * Redis has no database of that number (its `databases` setting, 16 by default). ioredis then says
 * so once, as an 'error', and goes on with database 0: a caller and a worker would meet the calls
 * of whoever uses that one.
 */
export function noSuchDatabase(message: string): boolean {
  return /DB index is out of range|invalid DB index/i.test(message);
}

/** The database a URL names, if any: a number (`/2`), as ioredis reads it. */
function validDatabase(url: URL): boolean {
  return /^\/?(\d+)?$/.test(url.pathname);
}

/** A socket (its path resolved, `~` as the home folder), with what a query after it gives: db, username, password. */
function socketAt(given: string, connection: string): { connection: Connection; where: string } {
  const raw = given.split('?')[0]!;
  const path = raw.startsWith('~/') ? join(homedir(), raw.slice(2)) : resolve(raw);
  const query = new URLSearchParams(connection.includes('?') ? connection.slice(connection.indexOf('?') + 1) : '');
  const options: RedisOptions = { path };
  for (const [key, value] of query) {
    if (key === 'db' && /^\d+$/.test(value)) options.db = Number(value);
    else if (key === 'password') options.password = value;
    else if (key === 'username') options.username = value;
    else {
      throw refusal(
        connection,
        key === 'db'
          ? `has a db that is no database number (${JSON.stringify(value)}; a whole number, 0 or above)`
          : `has a query that a socket path does not take (${key}; only db, username and password)`,
      );
    }
  }
  return { connection: options, where: `unix:${path}${options.db === undefined ? '' : ` db ${options.db}`}` };
}

function parsed(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** A URL as messages show it: its password, in the user part or in any query parameter named for one, masked. */
function maskedUrl(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  for (const key of [...shown.searchParams.keys()]) if (/pass/i.test(key)) shown.searchParams.set(key, '***');
  return shown.href.replace(/=%2A%2A%2A/g, '=***');
}

function refusal(connection: string, why: string): Error {
  return optionError(
    `bullmq(options): connection ${JSON.stringify(masked(connection))} ${why}. Expected ` +
      `'redis://[user:password@]host[:port][/db]', 'rediss://…' for TLS, 'host:port', a Unix socket path ` +
      `('/run/redis.sock', './redis.sock'), or ioredis options ({ host, port }, { path }). Characters such as ` +
      `spaces or '@' in a password must be percent-encoded (encodeURIComponent).`,
  );
}

/**
 * A connection string as a refusal shows it: what follows the user in the part before the last `@`
 * (the user info, wherever the scheme's slashes are, or are not), and any query parameter named for
 * a password, masked.
 */
function masked(connection: string): string {
  const shown = connection.replace(/([?&][^=&]*pass[^=&]*=)[^&]*/gi, '$1***');
  const at = shown.lastIndexOf('@');
  if (at < 0) return shown;
  const start = shown.lastIndexOf('/', at) + 1;
  const colon = shown.indexOf(':', start);
  return `${shown.slice(0, colon >= 0 && colon < at ? colon + 1 : start)}***${shown.slice(at)}`;
}

/**
 * Redis refused the connection's credentials (no password given, a wrong one, an unknown user): it
 * answers, so "cannot be reached" would send whoever reads it looking in the wrong place.
 */
export function refusedCredentials(message: string): boolean {
  return /^(NOAUTH|WRONGPASS)\b|invalid (username-password pair|password)/i.test(message);
}

/**
 * ioredis keeps the command an error answers on the error (`command: { name, args }`), and for
 * AUTH (and HELLO … AUTH) the args are the user and the password in clear: anyone who logs the error,
 * or a TransportUnavailableError caused by it, would print the password. Masked in place, through the
 * error's causes, so that every holder of the same error sees it masked.
 */
export function maskCredentials(error: unknown): void {
  let at: unknown = error;
  for (let depth = 0; depth < 8 && typeof at === 'object' && at !== null; depth++) {
    const command = (at as { command?: { name?: unknown; args?: unknown } }).command;
    if (command && /^(auth|hello)$/i.test(String(command.name)) && Array.isArray(command.args)) {
      try {
        command.args = command.args.map(() => '***');
      } catch {
        // Frozen: nothing to mask it with.
      }
    }
    at = (at as { cause?: unknown }).cause;
  }
}

/**
 * Redis's ACL refused a command to the connection's user (NOPERM): it answers, and the user needs
 * more rights. A hardened user without `@dangerous` lacks INFO, which BullMQ runs as it connects, to
 * check Redis's version.
 */
export function refusedByAcl(message: string): boolean {
  return /\bNOPERM\b/.test(message);
}

/**
 * What a Redis client's error says of its connection, in words a user can act on. ioredis's parser
 * error ("Protocol error, got "H" as reply type byte. Please report this.") means that what answers
 * there is not Redis (an HTTP server, say): a wrong address or port, not a bug to report.
 */
export function connectionProblem(error: Error): string {
  const protocol = /^Protocol error, got (".*") as reply type byte/.exec(error.message);
  if (!protocol) return error.message;
  return `what answers there does not speak Redis's protocol, its answer beginning with ${protocol[1]}: is that Redis's address and port?`;
}

/**
 * ioredis's error for a command given up after `maxRetriesPerRequest` attempts: it says nothing of
 * why they failed, which the connection's own error, heard before it, does.
 */
export function givenUpRetrying(error: Error): boolean {
  return error.name === 'MaxRetriesPerRequestError';
}
