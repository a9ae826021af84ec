import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { fixtureUrl, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { startScript } from '../helpers/scripts.js';

test('when the parent is killed with SIGKILL, a child stuck in a CPU loop exits', async () => {
  const started = scratchFile('spinning');
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 1 });
    inPool('orphans').spin(60_000, ${JSON.stringify(started)});`);
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(parent, 'exit');
  try {
    const childPid = Number(await waitForFile(started, 15_000));
    assert.ok(childPid > 0 && isAlive(childPid), `the child is running its CPU loop\n${stderr}`);
    parent.kill('SIGKILL');
    await exited;
    assert.ok((await waitFor(() => !isAlive(childPid), 5_000)) !== undefined, `child ${childPid} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});
