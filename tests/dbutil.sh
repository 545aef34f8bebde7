# tests/dbutil.sh: the database of a shell suite's test, on the engine
# tests/run.sh chose. Sourced by tests/cli.sh and tests/serve.sh.
#
#   test_db DIR      prints a fresh database: DIR/n.db on SQLite (a copy of
#                    the migrated NUDGE_TEST_SQLITE_TEMPLATE when set), or, when
#                    NUDGE_TEST_PG (an admin URL, tests/pgcluster.sh) is
#                    set, the URL of a copy of the migrated template
#                    (NUDGE_TEST_PG_TEMPLATE) or else of a new, empty schema
#   db_exists DB     the database exists and has a schema
#   db_state DB      one line per table: row count and a digest of its rows
#   db_contains DB S the bytes S appear anywhere in the stored data
# PostgreSQL schemas are not dropped one by one: the whole throwaway
# cluster goes at the end of the run.

# The server's own client binaries: Debian's /usr/bin/psql is a Perl
# wrapper that costs ~0.3 s a call on a busy machine.
PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PSQL=${PG_BINDIR:+$PG_BINDIR/}psql
PG_DUMP=${PG_BINDIR:+$PG_BINDIR/}pg_dump

# The database the shell tests' schemas live in, made once per suite.
if [ -n "${NUDGE_TEST_PG:-}" ] &&
    ! "$PSQL" -X -At "$NUDGE_TEST_PG" -c "SELECT 1 FROM pg_database WHERE datname = 'nudge_sh'" |
    grep -q 1; then
    "$PSQL" -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE nudge_sh" >/dev/null
fi

test_db() {
    if [ -z "${NUDGE_TEST_PG:-}" ]; then
        # A copy of the run's migrated SQLite file when there is one
        # (tests/run.sh): the first open of a new file runs every migration,
        # 0.15 CPU-seconds in the gcc build and 0.7-1.4 under ASan, paid by
        # each of ~450 shell tests a pass. Tests of a new file's creation
        # and migration name a path of their own.
        if [ -n "${NUDGE_TEST_SQLITE_TEMPLATE:-}" ]; then
            cp "$NUDGE_TEST_SQLITE_TEMPLATE" "$1/n.db" || return 1
        fi
        echo "$1/n.db"
        return 0
    fi
    local base=${NUDGE_TEST_PG%/*}/nudge_sh name
    name=t_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    # A copy of the migrated template when the run made one (tests/run.sh):
    # 0.8 s on a busy machine, where a new schema and its migrations took
    # 3.3 s. Already migrated: the first command finds the schema current.
    if [ -n "${NUDGE_TEST_PG_TEMPLATE:-}" ]; then
        "$PSQL" -X -q "$NUDGE_TEST_PG" \
            -c "CREATE DATABASE $name TEMPLATE $NUDGE_TEST_PG_TEMPLATE" >/dev/null || return 1
        echo "${NUDGE_TEST_PG%/*}/$name"
        return 0
    fi
    # Else a schema of its own in one shared database, named by the URL's
    # search_path: as fresh as a new database for nudge.
    "$PSQL" -X -q "$base" -c "CREATE SCHEMA $name" >/dev/null || return 1
    echo "$base?options=-csearch_path%3D$name"
}

db_is_pg() { case $1 in postgres://* | postgresql://*) return 0 ;; esac; return 1; }

db_exists() {
    if db_is_pg "$1"; then
        [ "$("$PSQL" -X -At "$1" -c "SELECT to_regclass('schema_migrations') IS NOT NULL")" = t ]
    else
        [ -f "$1" ]
    fi
}

db_state() {
    if db_is_pg "$1"; then
        # One psql for every table: \gexec runs each generated SELECT.
        "$PSQL" -X -At "$1" <<'SQL'
SELECT format('SELECT %L || '': '' || COUNT(*) || '' rows '' || LEFT(COALESCE(md5(string_agg('
              'r::text, E''\n'' ORDER BY r::text)), ''''), 12) FROM %I r', table_name, table_name)
FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name \gexec
SQL
        return 0
    fi
    # The sqlite3 shell's sha3_query over each table's rows in a total order
    # (every column), so the digest does not depend on where rows sit: two
    # sqlite3 runs of ~5 ms, where python3 took ~80 ms a call (cli.sh makes
    # two per rejected command).
    [ -e "$1" ] || { echo "no database"; return 0; }
    local t cols ord i sql=""
    while IFS='|' read -r t cols; do
        ord=1
        for ((i = 2; i <= cols; i++)); do ord+=",$i"; done
        sql+="SELECT '$t: ' || (SELECT COUNT(*) FROM \"$t\") || ' rows ' ||
            lower(substr(hex(sha3_query('SELECT * FROM \"$t\" ORDER BY $ord')), 1, 12));"
    done < <(sqlite3 -batch -cmd ".timeout 10000" "$1" "SELECT name, (SELECT COUNT(*) FROM pragma_table_info(name))
        FROM sqlite_master WHERE type = 'table' ORDER BY name")
    [ -z "$sql" ] || sqlite3 -batch -cmd ".timeout 10000" "$1" "$sql"
}

# db_state of a database a `nudge serve` is running on, without the tables
# the server writes by itself: every request stamps its key's last use
# (api_keys), and on the real clock its ticks mark their periodic slots
# (periodic_runs), the webhook scan its progress (hook_scan, every 10 s)
# and the rate limiter sweeps its past windows (rate_window, once a
# minute: on a loaded CI machine the sweep fell between two of consent.sh's
# checks). More tables to leave out follow the database.
db_state_served() {
    local db=$1 extra
    shift
    extra=$(IFS='|'; echo "$*")
    db_state "$db" | grep -Ev "^(api_keys|periodic_runs|hook_scan|rate_window${extra:+|$extra})"
}

db_contains() {
    if db_is_pg "$1"; then
        "$PG_DUMP" --data-only --schema="$("$PSQL" -X -At "$1" -c "SELECT current_schema()")" "$1" |
            grep -qF -- "$2"
    else
        grep -qF -- "$2" "$1"
    fi
}
