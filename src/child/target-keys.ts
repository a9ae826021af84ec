import type { Target } from '../protocol.js';
import { entriesIn, findModule, targetOf } from '../shared/registry.js';

/**
 * The targets a child has read, by the key the parent sends (the target as JSON): a warm call
 * parses nothing. A preloaded module's keys are learnt as it is imported, from the same registry
 * and the same functions the parent's recipes use (call/recipe.ts), so that a first call to it
 * parses nothing either; a key built differently there is only parsed on its first call.
 */
const targets = new Map<string, Target>();
/**
 * Taken as this module loads, before any code of a call's: code that replaces `JSON.parse` (a
 * hostile review's) made the next call's key unreadable, and that call fail as a module that could
 * not be loaded.
 */
const { parse, stringify } = JSON;

export function parseTarget(key: string): Target {
  let target = targets.get(key);
  if (!target) targets.set(key, (target = parse(key) as Target));
  return target;
}

/** `this` rebuilt as the declaring class, the usual case, as the parent's warm-up assumes too. */
export function learnTargetsOf(url: string): void {
  const module = findModule(url);
  if (!module) return;
  for (const entry of entriesIn(module)) {
    const target = targetOf(entry);
    targets.set(stringify(target), target);
  }
}
