import { configure } from 'run-in-process';

// As ../setup.ts: the children need a TypeScript loader of their own.
configure({ execArgv: [...process.execArgv, '--import', 'tsx'] });
