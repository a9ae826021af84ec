import { worker } from 'workerpool';

worker({
  tiny: (x: number) => x + 1,
  echo: (v: unknown) => v,
});
