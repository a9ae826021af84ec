import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../../build/compat/vite-cache',
  test: { include: ['*.test.ts'], setupFiles: ['./setup.ts'] },
});
