import { runInProcess } from './library.js';

// Counts its evaluations in this process: a plain .js module the plugin did not register was
// loaded a second time, by Node, to find its error class.
const loads = (globalThis.compatLoads ??= {});
loads['reexported-compiled.js'] = (loads['reexported-compiled.js'] ?? 0) + 1;

export class CompiledReexportFailed extends Error {
  name = 'CompiledReexportFailed';
}

export const failCompiled = runInProcess(async function failCompiled() {
  throw new CompiledReexportFailed(`failed in ${process.pid}`);
});
