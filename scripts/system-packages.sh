#!/usr/bin/env bash
# Installs the system programs the tests run for real, when they are missing.
set -euo pipefail
missing=()
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The storage tests start their own PostgreSQL (initdb, postgres, pg_isready, psql).
{ [ -x /usr/local/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
  || missing+=(postgresql)
# Emoji in the reaction bar render as boxes without a colour emoji font.
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian keeps initdb and postgres off PATH: link them where the tests look.
if [ ! -x /usr/local/bin/initdb ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  for program in initdb postgres pg_ctl; do
    $SUDO ln -sf "$bindir/$program" "/usr/local/bin/$program"
  done
fi
