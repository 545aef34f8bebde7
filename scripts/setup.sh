#!/usr/bin/env bash
# Installs what nudge needs to build and test on Debian. As root it runs
# apt-get; otherwise it prints the exact command to run and fails.
# libpq-dev builds the PostgreSQL engine; postgresql gives the tests the
# server (initdb, pg_ctl), psql and pg_dump for their throwaway cluster.
set -euo pipefail
# python3-jsonschema: tests/contract.py validates the API's answers against
# docs/openapi.json with it (make check).
# libclang-rt-dev: clang's sanitizer runtimes, which clang only recommends
# (and this installs without recommends); the ASan+UBSan build links them.
PKGS="build-essential clang libclang-rt-dev pkg-config libsqlite3-dev libpq-dev libcurl4-openssl-dev
      libmicrohttpd-dev libjansson-dev libical-dev libssl-dev libcmocka-dev
      python3 python3-aiosmtpd python3-jsonschema sqlite3 tzdata curl openssl postgresql"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "setup: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "setup: missing packages:$missing" >&2
  echo "setup: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
