#!/usr/bin/env bash
# Installs what nudge needs to build and test on Debian. As root it runs
# apt-get; otherwise it prints the exact command to run and fails. Then it
# proves the toolchain the build needs (see the end), so a missing piece
# fails here with the package's name, not deep in a link line.
# libpq-dev builds the PostgreSQL engine; postgresql gives the tests the
# server (initdb, pg_ctl), psql and pg_dump for their throwaway cluster.
# mandoc lints the man page; libsystemd-dev gives `nudge serve` sd_notify
# (readiness and watchdog under systemd); systemd gives systemd-analyze,
# which checks the unit in dist/.
set -euo pipefail
# python3-jsonschema: tests/contract.py validates the API's answers against
# docs/openapi.json with it (make check).
# libclang-rt-dev: clang's sanitizer runtimes, which clang only recommends
# (and this installs without recommends); the ASan+UBSan build links them.
PKGS="build-essential clang libclang-rt-dev pkg-config libsqlite3-dev libpq-dev libcurl4-openssl-dev
      libmicrohttpd-dev libjansson-dev libical-dev libssl-dev libcmocka-dev libsystemd-dev
      python3 python3-aiosmtpd python3-jsonschema sqlite3 tzdata curl openssl postgresql mandoc systemd"
# The staff dashboard's browser test (tests/dashboard.sh): Debian's chromium,
# fonts with Devanagari (fonts-noto-core) and fontconfig's fc-list to find
# them. Node.js and npm are taken from Debian unless a node is already on
# the machine (NodeSource's nodejs carries its own npm, which Debian's npm
# package would conflict with).
PKGS="$PKGS chromium fonts-noto-core fontconfig"
# The dashboard's charts: Chart.js 3.9 from Debian, embedded into the
# binary at build time (Makefile, DASH_CHARTJS).
PKGS="$PKGS libjs-chart.js"
command -v node >/dev/null && command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
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
fi

# The toolchain probe: each compiler links a one-line program the way the
# build does; a failure names the package that provides what is missing.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int main(void) { return 0; }' > "$probe/p.c"
setup_probe() { # package, then the compile command
  local pkg=$1; shift
  if ! "$@" "$probe/p.c" -o "$probe/p" 2> "$probe/err" || ! "$probe/p"; then
    echo "setup: cannot build with: $*" >&2
    sed 's/^/setup:   /' "$probe/err" | head -5 >&2
    echo "setup: install the Debian package $pkg (apt-get install $pkg)" >&2
    exit 1
  fi
}
setup_probe build-essential cc
setup_probe clang clang
setup_probe libclang-rt-dev clang -fsanitize=address,undefined
setup_probe libsystemd-dev cc $(pkg-config --cflags --libs libsystemd 2>/dev/null || echo -lsystemd)

# playwright-core and axe-core for tests/dashboard.sh, at the versions
# pinned in tests/browser/package-lock.json, into tests/browser/node_modules
# (not committed). Only the test uses npm: the dashboard itself is plain
# files embedded into the binary.
here=$(cd "$(dirname "$0")/.." && pwd)
# A machine without the registry still builds and runs nudge; the
# dashboard suite then fails naming what is missing.
# Debian's Node.js trusts only the CAs bundled with it; where the registry
# is reached through a local CA (a company's TLS proxy, this project's CI)
# that CA is in the system's store, which npm then trusts as well.
ca=/etc/ssl/certs/ca-certificates.crt
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$ca" ]; then export NODE_EXTRA_CA_CERTS=$ca; fi
if ! (cd "$here/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  echo "setup: warning: npm ci in tests/browser failed (is the npm registry reachable?);" \
       "tests/dashboard.sh needs it" >&2
fi
