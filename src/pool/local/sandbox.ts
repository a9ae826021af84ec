import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { networkPermissionSince, type Permissions } from '../../options.js';
import { flagName, nodeOptionsFlags } from '../../node-flags.js';
import { libraryDir } from '../../shared/library-dir.js';
import { workingDirectory } from '../../shared/working-directory.js';

/**
 * The Node flags that start a child of a sandboxed pool under Node's permission model, for the Node
 * line this process runs (its children run the same binary). Everything not granted stays denied
 * where that line can enforce it; the network only from Node 25 (options.ts refuses `net: false`
 * below it).
 *
 * The read list gets only what the library needs to start a child: its own files and the packages
 * it imports (tinypool, reflect-metadata). The modules a pool runs, and what they import, must be in
 * `fsRead`, so the seat belt never widens by itself: a module outside it fails with a
 * ModuleLoadError that names the path to add (shared/sandbox-hint.ts).
 */
export function permissionFlags(permissions: Permissions): string[] {
  const flags = modelFlags();
  const fsRead = permissions.fsRead ?? [];
  for (const path of distinct([...libraryPaths(), ...linksToLibrary(fsRead), ...fsRead.flatMap(absolute)])) {
    flags.push(`--allow-fs-read=${path}`);
  }
  for (const path of distinct((permissions.fsWrite ?? []).flatMap(absolute))) flags.push(`--allow-fs-write=${path}`);
  if (permissions.childProcess) flags.push('--allow-child-process');
  if (permissions.worker) flags.push('--allow-worker');
  if (permissions.addons) flags.push('--allow-addons');
  if (permissions.wasi) flags.push('--allow-wasi');
  if (permissions.net && nodeMajor() >= networkPermissionSince) flags.push('--allow-net');
  // node:sqlite opens files outside the permission model (it covers node:fs only): off, where it exists.
  if (process.allowedNodeEnvironmentFlags.has('--experimental-sqlite')) flags.push('--no-experimental-sqlite');
  return flags;
}

/**
 * Each path once (a trailing separator aside): Node 20 aborts at boot on a path given twice
 * (`Assertion failed: !path_prefix.empty()`), as a user's `fsRead` that names the library's own
 * folder would make it.
 */
function distinct(paths: string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((path) => {
    const key = path.length > 1 ? path.replace(/[/\\]+$/, '') : path;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The flags that turn the permission model on, for the Node line this process runs: nothing granted yet. */
export function modelFlags(): string[] {
  if (process.allowedNodeEnvironmentFlags.has('--permission')) return ['--permission'];
  // Node 20 has only the experimental flag, and says so once per process: once per child, on the
  // parent's stderr, which would be noise in every app that uses a sandboxed pool.
  return ['--experimental-permission', '--disable-warning=ExperimentalWarning'];
}

/** NODE_OPTIONS that turn the permission model on (the pool is then watched as a sandboxed one). */
export function enablesPermissions(nodeOptions: string | undefined): boolean {
  return nodeOptionsFlags(nodeOptions).some(isPermissionFlag);
}

/** A flag of the permission model, which a non-sandboxed pool's execArgv may carry by hand too. */
export const isPermissionFlag = (flag: string): boolean => /^--(experimental-)?permission$/.test(flagName(flag));

function nodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/**
 * A path as Node's own flags take it (relative to the working directory), and its real path when a
 * symbolic link leads there: Node checks the path it opens, which may be either.
 */
function absolute(path: string): string[] {
  const absolutePath = resolve(path);
  const real = existsSync(absolutePath) ? realpathSync(absolutePath) : absolutePath;
  return real === absolutePath ? [absolutePath] : [absolutePath, real];
}

/** The library's compiled files (`dist`), and its package folder above them: real paths. */
const compiled = libraryDir.replace(/[\\/]$/, '');
const root = dirname(compiled);
let library: string[] | undefined;

/**
 * The library's compiled files, its package.json and its node_modules (not its whole folder: in a
 * checkout that folder holds the tests, and it may hold the app); tinypool, whose entry file each child starts in; and
 * reflect-metadata, which the library imports. Each as Node finds it from the library's files, and
 * as the link it follows if it is one (pnpm installs packages as links, and Node checks the path it
 * opens, not where a link leads).
 */
function libraryPaths(): string[] {
  library ??= [
    compiled,
    join(root, 'package.json'),
    // Where Node looks for the library's dependencies first, whether or not it exists: on Node 22 and
    // later, a look denied is an error, not a miss (pnpm keeps them beside the library, not in it).
    join(root, 'node_modules'),
    ...installedAt('tinypool'),
    ...installedAt('reflect-metadata'),
  ];
  return library;
}

/** Where Node finds package `name` from the library's own files: the nearest `node_modules/<name>` above them. */
function installedAt(name: string): string[] {
  for (let dir = root; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return absolute(candidate);
  }
  return [];
}

/**
 * The links to the library that the pool's modules import it through: a module under a granted
 * folder resolves `run-in-process` through the nearest `node_modules/run-in-process` above it, and
 * when that is a link (pnpm, `npm link`, a `file:` dependency), Node must be allowed to read the link
 * itself. Reading through a link reaches the whole folder it leads to: with a published install,
 * only the library's own files.
 */
function linksToLibrary(fsRead: readonly string[]): string[] {
  const links = new Set<string>();
  // configure() made fsRead's paths absolute; the working directory may be gone since (workingDirectory()).
  const cwd = workingDirectory();
  for (const start of [...fsRead.map((path) => resolve(path)), ...(cwd === undefined ? [] : [cwd])]) {
    for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', 'run-in-process');
      if (!existsSync(candidate)) continue;
      if (candidate !== root && realpathSync(candidate) === root) links.add(candidate);
      break;
    }
  }
  return [...links];
}
