#!/usr/bin/env bash
# tests/pgcluster.sh: a throwaway PostgreSQL cluster for the test run.
#
#   bash tests/pgcluster.sh CMD [ARGS...]   runs CMD with NUDGE_TEST_PG set
#   . tests/pgcluster.sh; pgc_start; ...; pgc_stop   (tests/run.sh)
#
# initdb in a temp dir, listening on a free port of 127.0.0.1 only, its
# unix socket in that dir; stopped and removed at the end, also after a
# failure or Ctrl-C. NUDGE_TEST_PG is the admin URL the harness creates a
# fresh database per test from (tests/testutil.h, tests/dbutil.sh).
# PostgreSQL refuses to run as root: as root the server runs as the
# `postgres` user the Debian package creates (else nobody), owning the dir.

pgc_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

# as the server's user: a no-op unless we are root.
pgc_as() {
    if [ "$(id -u)" = 0 ]; then
        local u=postgres
        id "$u" >/dev/null 2>&1 || u=nobody
        runuser -u "$u" -- "$@"
    else
        "$@"
    fi
}

pgc_start() {
    local bin port
    bin=$(pgc_bin) || { echo "pgcluster: no initdb (run scripts/setup.sh)" >&2; return 1; }
    PGC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nudge-pg.XXXXXX")
    chmod 755 "$PGC_DIR"
    [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 && chown postgres "$PGC_DIR" || chown nobody "$PGC_DIR"; }
    pgc_as "$bin/initdb" -D "$PGC_DIR/data" -U nudge --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$PGC_DIR/initdb.log" 2>&1 || { cat "$PGC_DIR/initdb.log" >&2; pgc_stop; return 1; }
    # A port the kernel just handed out and gave back: free unless another
    # process grabs it in the next instant (pg_ctl then fails, loudly).
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # fsync=off and friends: a throwaway cluster whose data dies with the
    # run; durability would only slow the suites down. PGC_DURABLE=1 (the
    # benchmarks) keeps PostgreSQL's durable defaults.
    local fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PGC_DURABLE:-}" = 1 ] && fast=""
    pgc_as "$bin/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PGC_DIR $fast -c max_connections=200" \
        start >/dev/null || { cat "$PGC_DIR/server.log" >&2; pgc_stop; return 1; }
    PGC_BIN=$bin
    export NUDGE_TEST_PG="postgresql://nudge@127.0.0.1:$port/postgres"
}

# pgc_template NUDGE: a database nudge_tpl migrated by NUDGE, that
# tests copy (CREATE DATABASE ... TEMPLATE, tests/testutil.h's tu_open
# and tests/dbutil.sh's test_db) when NUDGE_TEST_PG_TEMPLATE names it.
# Connections to it are then refused, so none (autovacuum's either) holds
# it while a copy is made.
pgc_template() {
    local psql=$PGC_BIN/psql base=${NUDGE_TEST_PG%/*}
    [ -x "$1" ] || return 1
    "$psql" -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE nudge_tpl" >/dev/null &&
        "$1" --db "$base/nudge_tpl" --outbox "$PGC_DIR/tpl-outbox" migrate >/dev/null &&
        "$psql" -X -q "$NUDGE_TEST_PG" \
            -c "ALTER DATABASE nudge_tpl WITH IS_TEMPLATE true ALLOW_CONNECTIONS false" >/dev/null
}

pgc_stop() {
    [ -n "${PGC_DIR:-}" ] || return 0
    [ -f "$PGC_DIR/data/postmaster.pid" ] &&
        pgc_as "${PGC_BIN:-$(pgc_bin)}/pg_ctl" -D "$PGC_DIR/data" -m immediate -w stop >/dev/null 2>&1
    # A server still exiting can write a file after rm has passed by.
    local i
    for i in 1 2 3 4 5; do
        rm -rf "$PGC_DIR" 2>/dev/null
        [ -e "$PGC_DIR" ] || break
        sleep 0.2
    done
    PGC_DIR=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    trap pgc_stop EXIT
    trap 'exit 130' INT TERM
    pgc_start || exit 1
    # The template too, from $NUDGE or build/nudge when there is one.
    pgc_template "${NUDGE:-build/nudge}" 2>/dev/null && export NUDGE_TEST_PG_TEMPLATE=nudge_tpl
    "$@"
fi
