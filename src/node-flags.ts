/**
 * Node's command-line flags as Node itself reads them, for the checks that keep a sandboxed pool's
 * children from widening their own sandbox (options.ts, pool/settings.ts, pool/local/sandbox.ts).
 * A check that reads a flag differently from Node lets it by: `"--allow-worker"` in NODE_OPTIONS,
 * or `--allow_fs_read` anywhere, is the flag it looks like to Node.
 */

/**
 * The flags of a NODE_OPTIONS value as Node reads them (node_options.cc, ParseNodeOptionsEnvVar):
 * split at spaces, except inside double quotes, where a backslash escapes the next character. To
 * Node, `"--allow-worker"` is `--allow-worker`: a check that split at spaces alone would let it by.
 */
export function nodeOptionsFlags(nodeOptions: string | undefined): string[] {
  const text = nodeOptions ?? '';
  const flags: string[] = [];
  let inQuotes = false;
  let startsNew = true;
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === '\\' && inQuotes && i + 1 < text.length) c = text[++i]!;
    else if (c === ' ' && !inQuotes) {
      startsNew = true;
      continue;
    } else if (c === '"') {
      inQuotes = !inQuotes;
      continue;
    }
    if (startsNew) flags.push(c);
    else flags[flags.length - 1] += c;
    startsNew = false;
  }
  return flags;
}

/** NODE_OPTIONS made of these flags, each read back by Node as it is. */
export function joinNodeOptions(flags: string[]): string {
  return flags.map((flag) => (/[ "\\]/.test(flag) ? `"${flag.replace(/["\\]/g, '\\$&')}"` : flag)).join(' ');
}

/** A flag's name as Node matches it, without its value: `--allow_fs_read=/` is `--allow-fs-read` to Node. */
export function flagName(flag: string): string {
  const name = flag.split('=', 1)[0]!;
  return name.startsWith('--') ? `--${name.slice(2).replaceAll('_', '-')}` : name;
}
