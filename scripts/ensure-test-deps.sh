#!/usr/bin/env bash
# Debian packages some tests drive for real: chromium (renders the HTML report) and docker-compose
# (validates docker-compose.yml; no Docker engine is needed for `config`). Installs them when run as
# root and missing; otherwise says what is missing and fails, so a test never silently skips.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the tests: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
else
  echo "missing for the tests: ${need[*]} (Debian: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
