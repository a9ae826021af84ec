import { defineConfig } from 'vitest/config';
import { runInProcess } from '../../../dist/vitest.js';

/**
 * An app under ../vitest (its folder, relative to it), run by vitest 5, as its own vitest.config.ts
 * runs it under vitest 4. Its test files import 'vitest' from the repository, where vitest 4 is
 * installed (vitest 5 needs Node >= 22.12): the alias gives them this one.
 */
export function appConfig(app, cacheName) {
  return defineConfig({
    root: new URL(`../vitest/${app}`, import.meta.url).pathname,
    cacheDir: new URL(`../../../build/compat/${cacheName}`, import.meta.url).pathname,
    plugins: [runInProcess()],
    resolve: { alias: [{ find: /^vitest$/, replacement: new URL(import.meta.resolve('vitest')).pathname }] },
    test: {
      include: ['*.test.ts'],
      setupFiles: ['./setup.ts'],
      // As when installed under node_modules: Node loads the library, not Vite's module runner.
      server: { deps: { external: [/\/dist\//] } },
    },
  });
}
