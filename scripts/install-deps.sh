#!/usr/bin/env bash
# Installs what the tests need, only what is missing, so a second run is fast.
set -euo pipefail

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Redis: the tests start their own redis-server on a free 127.0.0.1 port.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  apt_install redis-server
fi

echo "dependencies ready: $(redis-server --version | cut -d' ' -f1-3)"
