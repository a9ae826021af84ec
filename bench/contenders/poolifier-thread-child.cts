// Worker file of poolifier's thread pool: the same work as the raw child, as named task functions.
// CommonJS like its cluster twin (poolifier-cluster-child.cts) and piscina's.
import poolifier = require('poolifier');

export = new poolifier.ThreadWorker<unknown, unknown>({
  tiny: (x) => (x as number) + 1,
  echo: (v) => v,
});
