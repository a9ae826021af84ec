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

/**
 * A NODE_OPTIONS value as written after its first `count` flags and the one space that follows
 * them (read as nodeOptionsFlags reads them): what the parent put after flags it put first.
 */
export function nodeOptionsAfter(nodeOptions: string, count: number): string {
  let inQuotes = false;
  let inFlag = false;
  let flags = 0;
  for (let i = 0; i < nodeOptions.length; i++) {
    const c = nodeOptions[i];
    if (c === ' ' && !inQuotes) {
      if (inFlag && flags === count) return nodeOptions.slice(i + 1);
      inFlag = false;
      continue;
    }
    if (!inFlag) {
      inFlag = true;
      flags++;
    }
    if (c === '\\' && inQuotes) i++;
    else if (c === '"') inQuotes = !inQuotes;
  }
  return '';
}

/** NODE_OPTIONS made of these flags, each read back by Node as it is. */
export function joinNodeOptions(flags: string[]): string {
  return flags.map((flag) => (/[ "\\]/.test(flag) ? `"${flag.replace(/["\\]/g, '\\$&')}"` : flag)).join(' ');
}

/**
 * A flag's name as Node matches it, without its value: `--allow_fs_read=/` is `--allow-fs-read` to
 * Node. A single dash before a long name is two: Node passes a flag it does not know to V8, which
 * takes `-trace-turbo` for `--trace-turbo` (a hostile review wrote files with it). A single dash
 * and one letter stays an alias of Node's own (`-r`, `-e`).
 */
export function flagName(flag: string): string {
  const name = flag.split('=', 1)[0]!;
  if (name.startsWith('--')) return `--${name.slice(2).replaceAll('_', '-')}`;
  return /^-[^-]./.test(name) ? `--${name.slice(1).replaceAll('_', '-')}` : name;
}

/**
 * Flags that keep SIGUSR1 from opening a child's inspector from the moment Node boots: any process of
 * the user may send it, a sandboxed child of another pool among them, and could then run code through
 * the inspector (127.0.0.1:9229, which any local process can reach) in a child that has no sandbox.
 * The child's own SIGUSR1 listener (child/runner.ts) comes only after Node's boot and the runner's
 * imports. `--disable-sigusr1` (Node 22.14, 23.7) ignores the signal; where Node lacks it, the
 * inspector is pointed at an address no interface has (0.0.0.1), so that it fails to listen.
 */
export function inspectorShutFlags(): string[] {
  return process.allowedNodeEnvironmentFlags.has('--disable-sigusr1')
    ? ['--disable-sigusr1']
    : ['--inspect-port=0.0.0.1:9229'];
}

/**
 * The modules this process preloads with `--require` (`-r`), on its command line or in NODE_OPTIONS:
 * a require hook there (`tsx/cjs`, `@swc-node/register`, `ts-node/register`) compiles what require()
 * loads, not what import() does.
 */
export function requiredModules(): string[] {
  const modules: string[] = [];
  for (const flags of [process.execArgv, nodeOptionsFlags(process.env['NODE_OPTIONS'])]) {
    for (let index = 0; index < flags.length; index++) {
      const flag = flags[index]!;
      const name = flagName(flag);
      if (name !== '--require' && name !== '-r') continue;
      const value = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : flags[++index];
      if (value) modules.push(value);
    }
  }
  return modules;
}
