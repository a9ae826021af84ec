import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The folders of src/ follow the processes (docs/architecture.md): definition time, the parent's
// call path, the pool, the child, the codec, and what both processes share. These tests keep that
// picture true: they read every import in src/ (type-only imports excepted: they vanish when
// compiled) and fail on a forbidden edge or a cycle between folders.

const src = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Which parts a part may import. Top-level files are parts of their own. */
const allowed: Record<string, string[]> = {
  index: ['define', 'call', 'shared', 'errors', 'options'],
  // The Vite plugin runs in Vite's process, beside the app: it needs none of the library.
  vitest: [],
  // `run-in-process/bullmq`: the remote transport, loaded only by apps that use it.
  bullmq: ['remote'],
  remote: ['pool', 'codec', 'shared', 'errors', 'options', 'protocol'],
  define: ['call', 'shared', 'errors', 'options'],
  call: ['pool', 'codec', 'shared', 'errors', 'options', 'node-flags', 'protocol'],
  pool: ['child', 'codec', 'shared', 'errors', 'options', 'node-flags', 'protocol'],
  // node-flags: a child reads its own flags (child/eager-compile.ts).
  child: ['codec', 'shared', 'errors', 'node-flags', 'protocol'],
  codec: ['errors', 'protocol'],
  shared: ['errors', 'options', 'protocol'],
  options: ['errors', 'node-flags'],
  'node-flags': [],
  errors: [],
  protocol: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

function partOf(file: string): string {
  const [first, ...rest] = relative(src, file).split('/');
  return rest.length > 0 ? first! : first!.replace(/\.ts$/, '');
}

/** Runtime imports: `import … from`, `export … from`, bare `import '…'` and `import('…')`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const statements = /^(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'|^import\s+'([^']+)'|import\('([^']+)'\)/gm;
  for (const match of text.matchAll(statements)) {
    if (match[2]) continue;
    const specifier = match[3] ?? match[4] ?? match[5];
    if (specifier?.startsWith('.')) found.push(join(file, '..', specifier.replace(/\.js$/, '.ts')));
  }
  return found;
}

const edges = new Map<string, Set<string>>();
for (const file of sourceFiles(src)) {
  const from = partOf(file);
  for (const imported of importsOf(file)) {
    const to = partOf(imported);
    if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
  }
}

test('every part of src/ imports only the parts it may', () => {
  const forbidden: string[] = [];
  for (const [from, targets] of edges) {
    for (const to of targets) if (!allowed[from]?.includes(to)) forbidden.push(`${from} → ${to}`);
  }
  assert.deepEqual(forbidden, []);
  assert.ok(edges.get('call')?.has('pool'), 'the test sees the dynamic import of the pool');
});

test('no cycle between the parts of src/', () => {
  const cycles: string[] = [];
  const visit = (part: string, path: string[]) => {
    if (path.includes(part)) return void cycles.push([...path.slice(path.indexOf(part)), part].join(' → '));
    for (const next of edges.get(part) ?? []) visit(next, [...path, part]);
  };
  for (const part of edges.keys()) visit(part, []);
  assert.deepEqual(cycles, []);
});

test('tinypool is imported by one file only', () => {
  const importers = sourceFiles(src).filter((file) => /from 'tinypool'/.test(readFileSync(file, 'utf8')));
  assert.deepEqual(
    importers.map((file) => relative(src, file)),
    ['pool/local/tinypool-transport.ts'],
  );
});
