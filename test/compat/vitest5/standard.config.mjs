import { appConfig } from './app-config.mjs';

// The standard-decorator app, ../vitest/standard.
export default appConfig('standard', 'vite5-cache-standard');
