import { traceMethods } from './tracing.js';

// The pool preloads this module in each child (configure({ preload })), before its first call.
traceMethods();
