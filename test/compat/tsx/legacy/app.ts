import 'reflect-metadata';
import { shutdown } from 'run-in-process';
import { Work } from '../work.js';

const { pid, scaled } = await new Work(3).scale([1, 2, 3]);
console.log(`parent ${process.pid} child ${pid}`);
console.log(`scaled ${scaled.join(',')}`);
console.log(`decorators ${await Work.decoratorMode()}`);
// tsconfig asks for emitDecoratorMetadata, but esbuild (inside tsx) does not emit it.
const returnType = Reflect.getMetadata('design:returntype', Work.prototype, 'scale') as unknown;
console.log(`design:returntype ${returnType === undefined ? 'absent' : 'present'}`);
await shutdown();
