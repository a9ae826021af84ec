import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TimeoutError, configure, shutdown, withCallOptions } from 'run-in-process';

interface Plugin {
  run(text: string): Promise<{ summary: string; pid: number }>;
}

const TEXT = `A process pool runs code in other processes. The pool must find that code again in each
process, which is easy for code the pool knows at build time and harder for code found at run time,
such as these plugins: the host has never heard of them until it reads the plugins folder.`;

configure({ size: 2 });

// The host knows no plugin in advance: it lists the folder next to it and imports whatever is there.
const pluginDir = fileURLToPath(new URL('./plugins/', import.meta.url));
const files = (await readdir(pluginDir)).filter((file) => file.endsWith('.js')).sort();
console.log(`host pid ${process.pid}, found ${files.length} plugins: ${files.join(', ')}`);

for (const file of files) {
  const mod = await import(pathToFileURL(join(pluginDir, file)).href);
  const PluginClass = mod.default as (new () => Plugin) | undefined;
  if (typeof PluginClass?.prototype?.run !== 'function') {
    console.log(`${file}: skipped, no default-exported class with a run() method`);
    continue;
  }
  try {
    const { summary, pid } = await withCallOptions({ timeout: 1_500 }, () => new PluginClass().run(TEXT));
    console.log(`${file}: ${summary} (child pid ${pid})`);
  } catch (error) {
    // A broken plugin costs the host one failed call, not its life.
    if (error instanceof TimeoutError) console.log(`${file}: stopped by TimeoutError after ${error.timeout} ms`);
    else console.log(`${file}: failed: ${String(error)}`);
  }
}

await shutdown();
