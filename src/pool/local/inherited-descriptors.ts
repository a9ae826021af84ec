import { readdirSync, readFileSync } from 'node:fs';

/**
 * The descriptors this process holds open without close-on-exec, above stdio: every child it
 * starts inherits them, and Node's permission model does not check reads and writes on a
 * descriptor. A process started as `node app.js 9< secrets.env`, or by a supervisor that hands
 * down sockets, would give a sandboxed child a way around its `fsRead`. Node opens its own with
 * close-on-exec, so these came from whoever started this process (or from a native addon).
 * A sandboxed child closes them before it imports anything (child/runner.ts).
 *
 * Read from /proc (Linux): elsewhere, none are found.
 */
export function inheritedDescriptors(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const inherited: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      // O_CLOEXEC, in octal as /proc writes it (Linux, every architecture Node runs on).
      if (flags !== undefined && (Number.parseInt(flags, 8) & 0o2000000) === 0) inherited.push(fd);
    } catch {
      // Closed meanwhile (the directory's own descriptor, among others).
    }
  }
  return inherited;
}
