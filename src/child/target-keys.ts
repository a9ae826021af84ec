import type { Target } from '../protocol.js';
import { entriesIn, findModule, targetOf } from '../shared/registry.js';

/**
 * The targets a child has read, by the key the parent sends (the target as JSON): a warm call
 * parses nothing. A preloaded module's keys are learnt as it is imported, from the same registry
 * and the same functions the parent's recipes use (call/recipe.ts), so that a first call to it
 * parses nothing either; a key built differently there is only parsed on its first call.
 */
const targets = new Map<string, Target>();

export function parseTarget(key: string): Target {
  let target = targets.get(key);
  if (!target) targets.set(key, (target = JSON.parse(key) as Target));
  return target;
}

/** `this` rebuilt as the declaring class, the usual case, as the parent's warm-up assumes too. */
export function learnTargetsOf(url: string): void {
  const module = findModule(url);
  if (!module) return;
  for (const entry of entriesIn(module)) {
    const target = targetOf(entry);
    targets.set(JSON.stringify(target), target);
  }
}
