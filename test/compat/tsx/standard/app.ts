import { shutdown } from 'run-in-process';
import { Work } from '../work.js';

const { pid, scaled } = await new Work(3).scale([1, 2, 3]);
console.log(`parent ${process.pid} child ${pid}`);
console.log(`scaled ${scaled.join(',')}`);
console.log(`decorators ${await Work.decoratorMode()}`);
await shutdown();
