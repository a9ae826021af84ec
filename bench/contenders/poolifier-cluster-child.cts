// Worker file of poolifier's cluster pool: the same work as the raw child, as named task functions.
// CommonJS on purpose: node:cluster tells the primary a worker is online before an ES module's body
// has run, and the primary's first message (poolifier's startup message) then finds no listener and is lost.
import poolifier = require('poolifier');

export = new poolifier.ClusterWorker<unknown, unknown>({
  tiny: (x) => (x as number) + 1,
  echo: (v) => v,
});
