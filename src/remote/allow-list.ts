import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { messageOf } from '../codec/describe-thrown.js';
import { usageError } from '../errors.js';
import { importNamespace } from '../shared/import-namespace.js';
import { libraryUrl } from '../shared/library-dir.js';
import { processState } from '../shared/process-state.js';
import { classDefaults } from '../shared/class-options.js';
import { classOfConstructor, entriesIn, type FunctionEntry, type MethodEntry, targetOf } from '../shared/registry.js';
import { poolOfEntry, remoteKey, targetLabel } from '../shared/remote-key.js';

/** A target a worker serves: what its local pool runs for the key. */
export interface ServedTarget {
  /** The local target, as a call task carries it (JSON). */
  target: string;
  label: string;
}

export interface AllowList {
  targets: Map<string, ServedTarget>;
  /** Modules that registered targets but are in no package, so that no caller can name them. */
  unnamed: string[];
  /** The pools of the targets these modules registered for pools other than the one served. */
  otherPools: string[];
  /**
   * Targets of the pool that stream or take callbacks, which a remote pool cannot relay yet (a caller
   * refuses their calls before sending them): not served.
   */
  unrelayed: string[];
}

/**
 * Imports the modules a worker is given and says which registered targets: those modules, and the
 * modules they imported for the first time. A module the process had imported before serve() was
 * called (an app that embeds a worker) is there only if it is one of those given: what the app
 * uses for itself is not served.
 */
export async function importServed(urls: string[]): Promise<Set<string>> {
  const served = new Set(urls.map(registeredUrl));
  for (const url of urls) {
    // Imported by an earlier serve() of this process (a worker per pool): what it registered then.
    const known = registeredBy.get(url);
    if (known) {
      for (const module of known) served.add(module);
      continue;
    }
    const before = new Set(processState.registry.modules.keys());
    importing = url;
    try {
      await importNamespace(url);
    } catch (error) {
      throw new Error(
        `The worker could not import ${url}: ${messageOf(error)}. Fix the module (importing it with node shows the ` +
          `error in full, as does this error's cause), or leave it out of the modules served.`,
        { cause: error },
      );
    } finally {
      importing = undefined;
    }
    const registered = new Set<string>();
    for (const module of processState.registry.modules.keys()) if (!before.has(module)) registered.add(module);
    registeredBy.set(url, registered);
    for (const module of registered) served.add(module);
  }
  return served;
}

/** The module importServed() is importing now, if it is (the CLI says which one never loads). */
let importing: string | undefined;

export function moduleImporting(): string | undefined {
  return importing;
}

/** The modules that importing each URL given to serve() registered for the first time. */
const registeredBy = new Map<string, Set<string>>();

/**
 * A module's URL as the registry knows it: its real path (Node's loader follows symlinks, so a
 * module's own URL does too), its query kept.
 */
function registeredUrl(url: string): string {
  if (!url.startsWith('file:')) return url;
  const parsed = new URL(url);
  try {
    const real = pathToFileURL(realpathSync(fileURLToPath(parsed)));
    real.search = parsed.search;
    return real.href;
  } catch {
    return url;
  }
}

/**
 * The targets a worker serves: exactly those that `modules` (importServed) registered for `pool`,
 * the pool a caller would send their calls to (remote-key.ts poolOfEntry), under their keys. A job
 * names a key; nothing else a job says is ever imported or looked up. Taken once, after the
 * imports: a module a call imports later adds nothing.
 */
export async function allowList(modules: ReadonlySet<string>, pool: string): Promise<AllowList> {
  const targets = new Map<string, ServedTarget>();
  const unnamed: string[] = [];
  const unrelayed: string[] = [];
  const otherPools = new Set<string>();
  const add = (key: string, served: ServedTarget, moduleUrl: string): void => {
    const other = targets.get(key);
    if (other) {
      throw usageError(
        `Two targets have the key ${key}: ${other.label} and ${served.label} (in ${moduleUrl}). A worker could not ` +
          `tell their calls apart: give one of them another id (the id option of its method, class or wrapper).`,
      );
    }
    targets.set(key, served);
  };
  for (const module of [...processState.registry.modules.values()]) {
    // The library's own targets (the warm-up's pings) are no one's to call from afar.
    if (!modules.has(module.url) || module.url.startsWith(libraryUrl)) continue;
    // Under standard decorators a class with only instance methods is known by name only once its
    // constructor is seen: its export shows it.
    const exports = (await importNamespace(module.url)).ns as Record<string, unknown>;
    for (const value of Object.values(exports)) if (typeof value === 'function') classOfConstructor(value);
    let named = true;
    for (const entry of entriesIn(module)) {
      if ('owner' in entry && !entry.owner.ctor?.name) continue;
      const entryPool = poolOfEntry(entry);
      if (entryPool !== pool) {
        otherPools.add(entryPool);
        continue;
      }
      const target = targetOf(entry);
      if (sendsBeforeItsAnswer(entry)) {
        unrelayed.push(targetLabel(target));
        continue;
      }
      const key = remoteKey(target);
      if (key === undefined) named = false;
      else add(key, { target: JSON.stringify(target), label: targetLabel(target) }, module.url);
    }
    if (!named) unnamed.push(module.url);
  }
  return { targets, unnamed, otherPools: [...otherPools].sort(), unrelayed };
}

/** A stream, or a target that takes callbacks (its own option, or its class's). */
function sendsBeforeItsAnswer(entry: MethodEntry | FunctionEntry): boolean {
  if (entry.streams) return true;
  const callbacks =
    'owner' in entry ? (entry.options.callbacks ?? classDefaults(entry.owner.ctor).callbacks) : entry.options.callbacks;
  return callbacks === true;
}

/** The served keys nearest to one that is not served, for the error that says so. */
export function nearestKeys(key: string, served: Iterable<string>, count = 3): string[] {
  // The distance costs the product of the lengths: a key longer than any name gets none.
  if (key.length > 256) return [];
  return [...served]
    .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, count)
    .map(({ candidate }) => candidate);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
