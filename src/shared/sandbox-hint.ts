import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative } from 'node:path';

/**
 * What to do when a sandboxed child could not import a module because the permission model denied
 * a read: the path to add to the pool's `permissions.fsRead`, which Node names in the error's
 * `resource` (the module itself, or a file it imports). Empty for any other error. Read in the
 * parent, which may look at the path: a folder is granted as itself, never through its parent (that
 * would grant its siblings too), and a path that does not exist was a probe, not a module to grant.
 */
export function fsReadHint(thrown: unknown): string {
  const { code, permission, resource } = (thrown ?? {}) as { code?: unknown; permission?: unknown; resource?: unknown };
  if (code !== 'ERR_ACCESS_DENIED' || permission !== 'FileSystemRead' || typeof resource !== 'string') return '';
  let folder: boolean;
  try {
    folder = statSync(resource).isDirectory();
  } catch {
    return (
      `The pool is sandboxed, and a child was denied reading ${resource}, which does not exist here: code in it ` +
      `probed the file system, as loaders do (tsx, for one, probes it this way and cannot run in a sandboxed ` +
      `pool: give the pool compiled JavaScript). Grant in the pool's permissions.fsRead only the folders its modules are in.`
    );
  }
  const grant = folder ? resource : dirname(resource);
  // The path is the child's word: code there can throw such an error naming any path (a hostile
  // review's named '/'). A folder that holds this process's working directory would grant the app's
  // own files: not advised, whoever named it.
  if (holds(grant, process.cwd())) {
    return (
      `The pool is sandboxed, and a child says it was denied reading ${resource}. Granting '${grant}' would let ` +
      `the pool read this app's own folder (${process.cwd()}) too: grant in permissions.fsRead only the folders ` +
      `the pool's modules are in, and move them out of the app's folder if they are under it.`
    );
  }
  return (
    `The pool is sandboxed, and its permissions do not let a child read ${resource}. Add ` +
    `'${grant}' to the pool's permissions.fsRead (a folder grants what is under it), ` +
    `or move the module where the pool may read it.`
  );
}

/** Whether `folder` is `path` or one of its parents. */
function holds(folder: string, path: string): boolean {
  const below = relative(folder, path);
  return below === '' || (!below.startsWith('..') && !isAbsolute(below));
}
