import { resolve } from 'node:path';
import type { RedisOptions } from 'ioredis';
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
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(connection)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const userinfo = /^[^/@]*@/.test(connection);
    // `redis:/host`, `redis:host:6379`, `rediss//host`: a URL mistyped, not a host or a path.
    if ((!userinfo && /^[a-z][a-z0-9+.-]*:[/a-z]/i.test(connection)) || /^[a-z][a-z0-9+.-]*\/\//i.test(connection)) {
      throw refusal(connection, 'looks like a URL whose scheme is mistyped');
    }
    // A path: its first part names no host:port (`localhost:6379/2` is a host, port and database).
    const path = connection.split('?')[0]!;
    if (!userinfo && (path.endsWith('.sock') || (path.includes('/') && !path.split('/')[0]!.includes(':')))) {
      return socketAt(resolve(path), connection);
    }
    const url = parsed(`redis://${connection}`);
    if (!url) throw refusal(connection, 'is not a host and port that parse');
    return { connection: url.href, where: maskedUrl(url).slice('redis://'.length) };
  }
  if (scheme === 'unix') {
    const path = connection.slice('unix://'.length).split('?')[0]!;
    if (path.startsWith('/')) return socketAt(path, connection);
  }
  const url = parsed(connection);
  if (!url || (scheme !== 'redis' && scheme !== 'rediss')) {
    throw refusal(connection, url ? 'is not a Redis URL' : 'is not a URL that parses');
  }
  return { connection, where: maskedUrl(url) };
}

/** A socket, with the `db` and `password` a query after it gives (any other query is refused). */
function socketAt(path: string, given: string): { connection: Connection; where: string } {
  const query = new URLSearchParams(given.includes('?') ? given.slice(given.indexOf('?') + 1) : '');
  const options: RedisOptions = { path };
  for (const [key, value] of query) {
    if (key === 'db' && /^\d+$/.test(value)) options.db = Number(value);
    else if (key === 'password') options.password = value;
    else throw refusal(given, `has a query that a socket path does not take (${key}; only db and password)`);
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

/** A URL as messages show it: its password, in the user part or in the query, masked. */
function maskedUrl(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  if (shown.searchParams.has('password')) shown.searchParams.set('password', '***');
  return shown.href.replace(/password=%2A%2A%2A/, 'password=***');
}

function refusal(connection: string, why: string): Error {
  return optionError(
    `bullmq(options): connection ${JSON.stringify(masked(connection))} ${why}. Expected ` +
      `'redis://[user:password@]host[:port][/db]', 'rediss://…' for TLS, 'host:port', a Unix socket path ` +
      `('/run/redis.sock', './redis.sock'), or ioredis options ({ host, port }, { path }). Characters such as ` +
      `spaces or '@' in a password must be percent-encoded (encodeURIComponent).`,
  );
}

/** A connection string that did not parse, its password hidden: between `:` and the last `@`, and in a query. */
function masked(connection: string): string {
  return connection
    .replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?[^:/@]*:).*@/i, '$1***@')
    .replace(/([?&]password=)[^&]*/i, '$1***');
}
