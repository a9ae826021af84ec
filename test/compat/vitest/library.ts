// An app's own entry to the library: its modules import run-in-process through this file, not by name.
export { runInProcess } from 'run-in-process';
