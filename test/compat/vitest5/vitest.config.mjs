import { appConfig } from './app-config.mjs';

// The legacy-decorator app, ../vitest.
export default appConfig('.', 'vite5-cache');
