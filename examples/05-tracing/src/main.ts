import { configure, shutdown } from 'run-in-process';
import { traceCalls } from './tracing.js';
import { Renderer } from './work.js';

// Spans for calls in the parent, spans for methods in the children, linked through the call's carrier.
const tracer = traceCalls();
configure('traced', { size: 1, preload: [new URL('./child-tracing.js', import.meta.url).href] });

console.log(`main pid ${process.pid}`);
await tracer.startActiveSpan('handle request', async (request) => {
  const renderer = new Renderer();
  console.log(`render(5) = ${await renderer.render(5)}`);
  await renderer.refuse(1e9).catch((error: Error) => console.log(`refuse(1e9) failed: ${error.message}`));
  request.end();
});
await shutdown();
