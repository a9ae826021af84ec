import { dirname } from 'node:path';

/**
 * What to do when a sandboxed child could not import a module because the permission model denied
 * a read: the path to add to the pool's `permissions.fsRead`, which Node names in the error's
 * `resource` (the module itself, or a file it imports). Empty for any other error.
 */
export function fsReadHint(thrown: unknown): string {
  const { code, permission, resource } = (thrown ?? {}) as { code?: unknown; permission?: unknown; resource?: unknown };
  if (code !== 'ERR_ACCESS_DENIED' || permission !== 'FileSystemRead' || typeof resource !== 'string') return '';
  return (
    `The pool is sandboxed, and its permissions do not let a child read ${resource}. Add '${dirname(resource)}' ` +
    `(or a folder above it) to the pool's permissions.fsRead, or move the module where the pool may read it.`
  );
}
