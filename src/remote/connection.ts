import { resolve } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { optionError } from '../errors.js';

/** How to reach Redis: a URL (`redis://host:6379`, `rediss://…`), a Unix socket path, or ioredis options. */
export type Connection = string | RedisOptions;

/**
 * A connection string checked at once, rather than at every call: ioredis reads any string as a URL,
 * so a relative socket path (`../redis.sock`, `redis.sock`) became a host name, and an unparsable URL
 * failed each call with a bare `TypeError: Invalid URL`. A `redis://` or `rediss://` URL must parse,
 * and a `unix://` one names a socket, as ioredis reads it; a string with no `scheme://` that looks
 * like a path (it has a `/`, or ends with `.sock`) is a Unix socket, resolved against the working
 * directory; anything else (`localhost:6379`, `redis-host:6380`) goes to ioredis as it is, which
 * reads it as a host and port. `where` is for messages: the password masked.
 */
export function checkedConnection(connection: string): { connection: Connection; where: string } {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(connection)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!connection.includes('/') && !connection.endsWith('.sock')) return { connection, where: connection };
    const path = resolve(connection);
    return { connection: { path }, where: `unix:${path}` };
  }
  if (scheme === 'unix') {
    const path = connection.slice('unix://'.length).split('?')[0]!;
    if (path.startsWith('/')) return { connection: { path }, where: `unix:${path}` };
  }
  let url: URL | undefined;
  try {
    url = new URL(connection);
  } catch {
    // Reported below, with the other refusals.
  }
  if (!url || (scheme !== 'redis' && scheme !== 'rediss')) {
    throw optionError(
      `bullmq(options): connection ${masked(connection)} is not ${url ? 'a Redis URL' : 'a URL that parses'}. ` +
        `Expected 'redis://[user:password@]host[:port][/db]', 'rediss://…' for TLS, 'host:port', a Unix socket path ` +
        `('/run/redis.sock', './redis.sock'), or ioredis options ({ host, port }, { path }). Characters such as ` +
        `spaces or '@' in a password must be percent-encoded (encodeURIComponent).`,
    );
  }
  if (url.password) url.password = '***';
  return { connection, where: url.href };
}

/** A connection string that did not parse, its password hidden: what lies between `:` and the last `@`. */
function masked(connection: string): string {
  return connection.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@');
}
