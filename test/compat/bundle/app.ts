import { isChildProcess, shutdown } from 'run-in-process';
import { Work } from './work.js';

// Bundled, this file is the declaring module of Work: each child imports all of it, main included.
if (!isChildProcess()) {
  console.log(`main ran in ${process.pid}`);
  const work = new Work(10);
  const results = await Promise.all([1, 2, 3].map((value) => work.scale(value)));
  console.log(`scaled ${results.map((result) => result.scaled).join(',')}`);
  console.log(`children ${results.map((result) => result.pid).join(' ')}`);
  await shutdown();
}
