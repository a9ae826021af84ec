// Worker file for tinypool (child_process), which calls the default export.
export { handle as default } from './task.js';
