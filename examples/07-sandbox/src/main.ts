import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configure, shutdown } from 'run-in-process';

interface Plugin {
  run(text: string): Promise<{ summary: string; pid: number }>;
}

const TEXT = 'Plugins run in a sandboxed pool: they read their own folder and nothing else.';
const pluginDir = fileURLToPath(new URL('./plugins/', import.meta.url));

// A secret the host holds, as a server would: plugins must see neither it nor the key file.
process.env['API_TOKEN'] = 'host-token-123';

// The default pool runs under Node's permission model: the children may read the plugins (and the
// library's own files, which it adds itself) and nothing else; they may not write, start processes
// or threads, or load addons; and they start with an empty environment.
configure({ size: 2, timeout: 5_000, permissions: { fsRead: [pluginDir] } });

const files = (await readdir(pluginDir)).filter((file) => file.endsWith('.js')).sort();
console.log(`host pid ${process.pid}, sandboxed plugins: ${files.join(', ')}`);

const plugins = new Map<string, Plugin>();
for (const file of files) {
  const mod = await import(pathToFileURL(join(pluginDir, file)).href);
  const PluginClass = mod.default as new () => Plugin;
  plugins.set(file, new PluginClass());
  try {
    const { summary, pid } = await plugins.get(file)!.run(TEXT);
    console.log(`${file}: ${summary} (child pid ${pid})`);
  } catch (error) {
    // The child's own error, rebuilt here: the permission model's code, what it refused, and on what.
    const { code, permission, resource } = error as { code?: string; permission?: string; resource?: string };
    console.log(`${file}: denied: ${code} ${permission} ${resource}`);
  }
}

const { default: Snoop } = await import(pathToFileURL(join(pluginDir, 'snoop.js')).href);
console.log(`environment a plugin sees: [${(await Snoop.environment()).join(', ')}]`);
const { summary } = await plugins.get('word-count.js')!.run(TEXT);
console.log(`host still serving: word-count.js: ${summary}`);
console.log(`hacked.txt exists: ${existsSync(new URL('../hacked.txt', import.meta.url)) ? 'yes' : 'no'}`);

await shutdown();
