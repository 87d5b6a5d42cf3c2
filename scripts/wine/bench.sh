#!/usr/bin/env bash
# Benchmark (not a test): iocp backend vs Windows node's net, framed echo, under Wine. Args go to bench.ts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$REPO_ROOT/scripts/wine/setup.sh"
node "$REPO_ROOT/scripts/wine/build-tests.mjs" "$STAGE/tests" iocp-bench
export WINE NODE_EXE STAGE WINE_CACHE
export WINE_VERSION="$("$WINE" --version 2>/dev/null || true)"
cd "$REPO_ROOT" && npx tsx scripts/wine/bench.ts "$@"
