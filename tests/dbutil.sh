# tests/dbutil.sh: the database of a shell suite's test, on the engine
# tests/run.sh chose. Sourced by tests/cli.sh and tests/serve.sh.
#
#   test_db DIR      prints a fresh database: DIR/n.db on SQLite, or, when
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
    "${PYTHON:-python3}" - "$1" <<'PY'
import hashlib, os, sqlite3, sys
db = sys.argv[1]
if not os.path.exists(db):
    print("no database")
    sys.exit(0)
con = sqlite3.connect(db)
for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
    rows = sorted(repr(r) for r in con.execute('SELECT * FROM "%s"' % name.replace('"', '""')))
    print("%s: %d rows %s" % (name, len(rows), hashlib.sha1("\n".join(rows).encode()).hexdigest()[:12]))
PY
}

db_contains() {
    if db_is_pg "$1"; then
        "$PG_DUMP" --data-only --schema="$("$PSQL" -X -At "$1" -c "SELECT current_schema()")" "$1" |
            grep -qF -- "$2"
    else
        grep -qF -- "$2" "$1"
    fi
}
