// Bundles tsc's output (build/lib) into the published dist/: the same entry points at the same paths,
// and the code they share in a few chunks (dist/chunks/). A child process loads a handful of files
// instead of ~45 ES modules, and a process that imports the library ~10 instead of ~30: each module
// costs a read, a parse and a link, and on a 2-CPU VM the whole graph took ~60 of a child's ~250 ms
// cold start (bench/analysis.md, tenth pass). The declarations are copied as tsc wrote them.
// Usage: node scripts/bundle.mjs (npm run build runs tsc, then this).
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const from = join(root, 'build', 'lib');
const to = join(root, 'dist');

/**
 * Every file that is loaded by its path rather than imported: the package's entry points
 * (package.json's exports and bin) and the file tinypool starts each child in.
 */
const entryPoints = ['index.js', 'bullmq.js', 'remote/cli.js', 'child/runner.js'];
/** The Vite plugin runs in Vite's process and shares nothing with the library: one file of its own, no chunk. */
const standalone = ['vitest.js'];
const sentinelFirst = 'child/sentinel-first.js';

if (!existsSync(join(from, 'index.js'))) {
  console.error('bundle: build/lib/index.js is missing: run tsc first (npm run build does both)');
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
const common = {
  outdir: to,
  outbase: from,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies stay packages of their own (tinypool, msgpackr, reflect-metadata, the peers).
  packages: 'external',
  // Names stay as written: esbuild renames a top-level name two modules share (`frame2`), and makes
  // a class that refers to itself `var X = class _X`; a class's name is seen (errors, the registry).
  keepNames: true,
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: entryPoints.map((path) => join(from, path)),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
await build({ ...common, entryPoints: standalone.map((path) => join(from, path)) });
// A child's first `--require` (src/child/sentinel-first.ts): CommonJS, since a `--require` runs
// before any ES module, and one file, with nothing to share.
await build({ ...common, entryPoints: [join(from, sentinelFirst)], format: 'cjs', outExtension: { '.js': '.cjs' } });
// (The bin entry keeps its `#!` line: esbuild keeps an entry point's.)
for (const file of filesEnding(from, '.d.ts')) cpSync(join(from, file), join(to, file));

function* filesEnding(dir, suffix, under = '') {
  for (const entry of readdirSync(join(dir, under), { withFileTypes: true })) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* filesEnding(dir, suffix, path);
    else if (entry.name.endsWith(suffix)) yield path;
  }
}
console.log(
  `bundle: ${relative(root, from)} → ${relative(root, to)} (${entryPoints.length + standalone.length + 1} entry points)`,
);
