#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: chromium (browser tests through
# Playwright, which must not download a browser of its own) and docker-compose (validates
# docker-compose.yml with `docker-compose config`; no Docker engine is needed for that).
# Idempotent and quiet when everything is already present.
set -euo pipefail

want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
# wrk drives bench/web_load.py (the web load test); the test suite itself does not need it.
command -v wrk >/dev/null 2>&1 || want+=(wrk)
[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages: ${want[*]}" >&2
    echo "       install them with: sudo apt-get install ${want[*]}" >&2
    exit 1
fi

echo "==> installing Debian packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
