import { defineConfig } from 'vitest/config';

// The same app as ../vitest, run by vitest 5. Its test files import 'vitest' from the repository,
// where vitest 4 is installed (vitest 5 needs Node >= 22.12): the alias gives them this one.
export default defineConfig({
  root: new URL('../vitest', import.meta.url).pathname,
  cacheDir: new URL('../../../build/compat/vite5-cache', import.meta.url).pathname,
  resolve: { alias: [{ find: /^vitest$/, replacement: new URL(import.meta.resolve('vitest')).pathname }] },
  test: { include: ['*.test.ts'], setupFiles: ['./setup.ts'] },
});
