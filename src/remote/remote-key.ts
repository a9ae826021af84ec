import type { Target } from '../protocol.js';
import { moduleIdentity } from './identity.js';

/**
 * The key a remote worker serves a target under: `<package>:<path>#<Class.method>` or
 * `<package>:<path>#<function id>`. Caller and worker compute it alike, each from its own file URL.
 */
export function remoteKey(target: Target): string | undefined {
  const identity = moduleIdentity(target.module);
  if (identity === undefined) return undefined;
  return `${identity}#${target.kind === 'method' ? `${target.className}.${target.method}` : target.id}`;
}

/** For messages: `Thumbnailer.render`. */
export function targetLabel(target: Target): string {
  return target.kind === 'method' ? `${target.className}.${target.method}` : target.id;
}
