// A plugin written in plain JavaScript: without decorator syntax it wraps a function instead.
// The function must have a name: the child imports this file and finds the function by it.
import { runInProcess } from 'run-in-process';

const shout = runInProcess(function shout(text) {
  return { summary: `${text.slice(0, 30).toUpperCase()}…`, pid: process.pid };
});

export default class Shout {
  run(text) {
    return shout(text);
  }
}
