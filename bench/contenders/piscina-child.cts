// CommonJS on purpose: piscina require()s its worker file before trying import(), and on Node 20
// require() of an ES module once aborted the whole benchmark during a cold start
// (native assertion in ModuleWrap::CreateRequiredModuleFacade).
import type { Task } from './task.js';

export = function handle({ op, arg }: Task): unknown {
  return op === 'tiny' ? (arg as number) + 1 : arg;
};
