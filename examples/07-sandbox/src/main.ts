import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configure, runInProcess, shutdown } from 'run-in-process';

interface Result {
  summary: string;
  pid: number;
}

const TEXT = 'Plugins run in a sandboxed pool: they read their own folder and nothing else.';
const pluginDir = fileURLToPath(new URL('./plugins/', import.meta.url));

// A secret the host holds, as a server would: plugins must see neither it nor the key file.
process.env['API_TOKEN'] = 'host-token-123';

// The default pool runs under Node's permission model: the children may read the plugins (and the
// library's own files, which it adds itself) and nothing else; they may not write, start processes
// or threads, or load addons; and they start with an empty environment.
configure({ size: 2, timeout: 5_000, permissions: { fsRead: [pluginDir] } });

/**
 * The host never imports a plugin: its top-level code would run here, outside the sandbox. It
 * declares a stub instead, naming the plugin's module and function; a call runs the plugin's own
 * `run` in a sandboxed child, which imports the plugin there.
 */
function stub<Args extends unknown[], R>(file: string, name: string): (...args: Args) => Promise<R> {
  const key = `${file}#${name}`;
  if (!stubs.has(key)) {
    const body = async (..._args: unknown[]): Promise<unknown> => {
      throw new Error('a stub runs in the sandbox, never here');
    };
    stubs.set(key, runInProcess(body, { module: pathToFileURL(join(pluginDir, file)).href, name }));
  }
  return stubs.get(key) as unknown as (...args: Args) => Promise<R>;
}
/** One stub per plugin function: a module registers each function id once. */
const stubs = new Map<string, (...args: unknown[]) => Promise<unknown>>();

const files = (await readdir(pluginDir)).filter((file) => file.endsWith('.js')).sort();
console.log(`host pid ${process.pid}, sandboxed plugins: ${files.join(', ')}`);

for (const file of files) {
  try {
    const { summary, pid } = await stub<[string], Result>(file, 'run')(TEXT);
    console.log(`${file}: ${summary} (child pid ${pid})`);
  } catch (error) {
    // The child's own error, rebuilt here: the permission model's code, what it refused, and on what.
    const { code, permission, resource } = error as { code?: string; permission?: string; resource?: string };
    console.log(`${file}: denied: ${code} ${permission} ${resource}`);
  }
}

const names = await stub<[], string[]>('snoop.js', 'environment')();
console.log(`environment a plugin sees: [${names.join(', ')}]`);
const { summary } = await stub<[string], Result>('word-count.js', 'run')(TEXT);
console.log(`host still serving: word-count.js: ${summary}`);
console.log(`hacked.txt exists: ${existsSync(new URL('../hacked.txt', import.meta.url)) ? 'yes' : 'no'}`);

await shutdown();
