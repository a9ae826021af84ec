import { defineConfig } from 'vitest/config';
import { runInProcess } from 'run-in-process/vitest';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../../build/compat/vite-cache',
  plugins: [runInProcess()],
  test: {
    include: ['*.test.ts'],
    setupFiles: ['./setup.ts'],
    // As when installed under node_modules: Node loads the library, not Vite's module runner.
    server: { deps: { external: [/\/dist\//] } },
  },
});
