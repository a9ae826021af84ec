import { configure } from 'run-in-process';

// Vitest runs .ts modules through Vite's transform, but a child is a plain node process that imports
// the declaring module's file: it needs a TypeScript loader of its own.
configure({ execArgv: [...process.execArgv, '--import', 'tsx'] });
