import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FileHasher } from 'fast-hash-lib';
import { configure, shutdown } from 'run-in-process';

// fast-hash-lib declares run-in-process as a peer dependency, so this is the very instance it
// uses: configuring and shutting down here covers the library's calls too.
configure({ size: 2 });

const libDir = fileURLToPath(new URL('../node_modules/fast-hash-lib', import.meta.url));
const installedAs = (await lstat(libDir)).isSymbolicLink() ? 'a symlink' : 'a real copy';
console.log(`fast-hash-lib installed as ${installedAs} in node_modules`);
console.log(`main pid ${process.pid}`);

const hasher = new FileHasher('sha256');
const files = ['package.json', 'fast-hash-lib-1.0.0.tgz'];
const digests = await Promise.all(files.map((file) => hasher.hashFile(file)));
await shutdown();

for (const [i, file] of files.entries()) {
  const { digest, bytes, pid, module } = digests[i]!;
  const matches =
    digest ===
    createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  console.log(
    `${file}: sha256 ${digest.slice(0, 16)}… ${bytes} bytes, child pid ${pid}, matches inline: ${matches ? 'yes' : 'no'}`,
  );
  console.log(`  child imported ${module}`);
}
