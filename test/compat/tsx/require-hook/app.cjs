// A CommonJS app that loads TypeScript through a require hook (node --require tsx/cjs app.cjs), as
// @swc-node/register and ts-node apps do: import() cannot load what only require() was taught to.
const { configure, shutdown } = require('run-in-process');
const { Gate, Refused } = require('./gate.cts');

async function main() {
  if (process.argv.includes('--with-import-loader')) configure({ execArgv: ['--import', 'tsx'] });
  try {
    console.log(`parent ${process.pid} child ${await Gate.open(1)}`);
    await Gate.open(-7);
  } catch (error) {
    console.log(`caught ${error.name} instanceof Refused ${error instanceof Refused}: ${error.message}`);
  } finally {
    await shutdown();
  }
}
void main();
