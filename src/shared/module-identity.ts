import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How a module is named between machines: `<package name>:<path from that package's root>`, e.g.
 * `thumbs-app:dist/render.js`. A `file:` URL names a file on one machine only; the package name
 * and the path inside the package are what the caller's build and a worker's install of the same
 * app have in common, wherever each is installed.
 *
 * The package is the nearest folder above the module whose package.json has a `name` (a
 * package.json without one, such as `{ "type": "module" }` in a `dist/` folder, is passed over).
 * A module in no package has no identity: the method, class or wrapper must then carry an `id`.
 */
export function moduleIdentity(moduleUrl: string): string | undefined {
  if (!moduleUrl.startsWith('file:')) return undefined;
  const file = fileURLToPath(moduleUrl.replace(/[?#].*$/, ''));
  const root = packageOf(dirname(file));
  if (!root) return undefined;
  return `${root.name}:${relative(root.dir, file).split(sep).join('/')}`;
}

export interface PackageRoot {
  dir: string;
  name: string;
  version: string | undefined;
}

/** Per folder, the package it is in (null: none), read once: many modules share a folder. */
const packages = new Map<string, PackageRoot | null>();

/** The package a folder is in: the nearest folder at or above it whose package.json has a `name`. */
export function packageOf(dir: string): PackageRoot | undefined {
  const known = packages.get(dir);
  if (known !== undefined) return known ?? undefined;
  const manifest = join(dir, 'package.json');
  let found: PackageRoot | null = null;
  const fields = existsSync(manifest) ? fieldsOf(manifest) : undefined;
  if (fields !== undefined) found = { dir, ...fields };
  else if (dirname(dir) !== dir) found = packageOf(dirname(dir)) ?? null;
  packages.set(dir, found);
  return found ?? undefined;
}

function fieldsOf(manifest: string): { name: string; version: string | undefined } | undefined {
  try {
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
    if (typeof name !== 'string' || name === '') return undefined;
    return { name, version: typeof version === 'string' ? version : undefined };
  } catch {
    return undefined;
  }
}
