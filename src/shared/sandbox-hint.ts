import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { workingDirectory } from './working-directory.js';

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
  // review's named '/'). A folder that holds the app's working directory or the user's home, or one
  // at the top of the file system (`/etc`), is not advised, whoever named it: it grants far more than
  // a plugin's modules.
  if (tooWide(grant)) {
    return (
      `The pool is sandboxed, and a child says it was denied reading ${resource}. Granting '${grant}' would let ` +
      `the pool read far more than its modules (this app's folder, ${workingDirectory() ?? 'its working directory'}, the user's home, or a ` +
      `system folder): grant in permissions.fsRead only the folders the pool's modules are in, and move them ` +
      `into a folder of their own if they are not in one.`
    );
  }
  return (
    `The pool is sandboxed, and its permissions do not let a child read ${resource}. Add ` +
    `'${grant}' to the pool's permissions.fsRead (a folder grants what is under it), ` +
    `or move the module where the pool may read it.`
  );
}

function tooWide(folder: string): boolean {
  let real = folder;
  try {
    real = realpathSync(folder);
  } catch {
    // As named.
  }
  const top = (path: string) => path.split(sep).filter(Boolean).length <= 1;
  const cwd = workingDirectory();
  return [folder, real].some((path) => top(path) || (cwd !== undefined && holds(path, cwd)) || holds(path, homedir()));
}

/** Whether `folder` is `path` or one of its parents. */
function holds(folder: string, path: string): boolean {
  const below = relative(folder, path);
  return below === '' || (!below.startsWith('..') && !isAbsolute(below));
}
