#!/usr/bin/env bash
# migrate.sh: `nudge migrate-store`, moving a whole store to another engine.
# A SQLite store with a clinic, patients, a visit (plans, events, audit
# rows) and sent messages is moved to the engine of this pass (a fresh
# PostgreSQL schema when tests/run.sh set NUDGE_TEST_PG, else another
# SQLite file), checked by counts read independently of nudge, then used
# (ids continue), then moved back to SQLite and compared row by row with
# the original. Refusals: a non-empty target, differing schema versions, a
# missing source; each leaves the target as it was. And on SQLite, migration
# 024 refuses a hand-edited status CHECK. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"

. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/to"
SRC=$D/src.db
TO=$(test_db "$D/to")
if [ -z "${NUDGE_TEST_PG:-}" ]; then
    echo "# SQLite to SQLite in this pass; the move to PostgreSQL runs in the PostgreSQL pass"
    echo "# (NUDGE_TEST_PG, set by tests/run.sh when it started its cluster)"
fi

# Row counts per table (schema_migrations aside: each side records its own
# migrations), read with the engine's own client, not with nudge.
counts() {
    if db_is_pg "$1"; then
        "$PSQL" -X -At "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || COUNT(*) FROM %I', table_name, table_name)
FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
AND table_name <> 'schema_migrations' ORDER BY table_name \gexec
SQL
    else
        python3 - "${1#sqlite:}" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for (t,) in con.execute("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'schema_migrations' ORDER BY name"):
    print(t, con.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0])
PY
    fi
}

S="$NUDGE --db $SRC --outbox $D/out --now 2026-12-01T09:00:00+05:30"
$S clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN >/dev/null
$S patient add --clinic 1 --name "Ram Lal" --phone 9876543210 --language hi >/dev/null
$S patient add --clinic 1 --name "Sita Devi" --phone 9876543211 --email sita@example.com >/dev/null
$S appointment add --patient 1 --service "Teeth Cleaning" --at 2026-12-20T10:00:00+05:30 >/dev/null
$S appointment add --patient 2 --service "Check-up" --at 2026-12-21T11:00:00+05:30 >/dev/null
$S appointment cancel 2 >/dev/null
$S send --patient 2 --template appointment_reminder --var service=Check-up --var date=today \
    --var time=noon --var clinic_name=Smile >/dev/null 2>&1
$S tick >/dev/null
$S tick >/dev/null
check "the source store has sends to move" \
    bash -c "python3 -c \"import sqlite3; c=sqlite3.connect('$SRC'); exit(0 if c.execute('SELECT COUNT(*) FROM delivery_attempts').fetchone()[0] > 0 else 1)\""

$NUDGE migrate-store --from "sqlite:$SRC" --to "$TO" >"$D/move.out" 2>"$D/move.err"
rc=$?
check "migrate-store exits 0" test "$rc" = 0
check "it prints a row per table with counts and both checksums, all ok" \
    bash -c "grep -Eq '^audit_log +[1-9][0-9]* +[1-9][0-9]* +[0-9a-f]{16} [0-9a-f]{16} ok$' '$D/move.out' &&
             ! grep -q DIFFERS '$D/move.out' && grep -q 'counts and checksums match' '$D/move.out'"
check "clinics come before the tables that reference them" \
    bash -c "awk '/^clinics /{c=NR} /^patients /{p=NR} /^notification_queue /{q=NR} /^delivery_attempts /{a=NR} END{exit !(c<p && p<q && q<a)}' '$D/move.out'"
counts "$SRC" >"$D/c.src"; counts "$TO" >"$D/c.to"
check "every table has the same row count on both sides (read without nudge)" \
    bash -c "test -s '$D/c.src' && diff '$D/c.src' '$D/c.to'"

T="$NUDGE --db $TO --outbox $D/out2 --now 2026-12-01T10:00:00+05:30"
check "the moved store lists the patients" bash -c "$T patient list | grep -q 'Sita Devi'"
pid=$($T patient add --clinic 1 --name "New Patient" --phone 9876543212 2>&1)
check "a new patient's id continues after the moved ones" test "$pid" = 3
nid=$($T send --patient 1 --template appointment_reminder --var service=Cleaning --var date=today \
    --var time=noon --var clinic_name=Smile 2>&1)
maxn=$(grep '^notification_queue ' "$D/c.src" | awk '{print $2}')
check "a new message's id continues after the moved ones ($nid after $maxn)" test "$nid" = $((maxn + 1))
check "the moved store sends it" bash -c "$T tick | grep -q 'sent 1'"

counts "$TO" >"$D/c.before"
$NUDGE migrate-store --from "sqlite:$SRC" --to "$TO" >"$D/again.out" 2>"$D/again.err"
rc=$?
check "a non-empty target is refused (exit 4) with a clear message" \
    bash -c "test $rc = 4 && grep -q 'target is not empty' '$D/again.err'"
counts "$TO" >"$D/c.after"
check "the refused copy wrote nothing" diff "$D/c.before" "$D/c.after"

cp "$SRC" "$D/old.db"
python3 -c "import sqlite3; c=sqlite3.connect('$D/old.db'); c.execute('DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)'); c.commit()"
$NUDGE migrate-store --from "sqlite:$D/old.db" --to "sqlite:$D/fresh.db" >/dev/null 2>"$D/old.err"
rc=$?
check "a source at another schema version is refused (exit 4), naming both" \
    bash -c "test $rc = 4 && grep -q 'schema is version' '$D/old.err'"
counts "sqlite:$D/fresh.db" >"$D/fresh.counts"
check "and leaves every table of the target empty" \
    bash -c "grep -q '^clinics 0$' '$D/fresh.counts' && ! grep -qv ' 0$' '$D/fresh.counts'"

$NUDGE migrate-store --from "sqlite:$D/missing.db" --to "sqlite:$D/fresh2.db" >/dev/null 2>"$D/miss.err"
rc=$?
check "a missing source is refused (exit 2) and not created" \
    bash -c "test $rc = 2 && test ! -e '$D/missing.db' && grep -q 'no database at' '$D/miss.err'"

# The round trip: back to SQLite, then compared with the original row by
# row (rows added on the target since are the only difference allowed, so
# compare a fresh move of the untouched source).
TO2=$(mkdir -p "$D/to2" && test_db "$D/to2")
$NUDGE migrate-store --from "sqlite:$SRC" --to "$TO2" >/dev/null 2>&1 &&
    $NUDGE migrate-store --from "$TO2" --to "sqlite:$D/back.db" >"$D/back.out" 2>&1
rc=$?
check "the store moves back to SQLite" test "$rc" = 0
db_state "$SRC" | grep -v '^schema_migrations' >"$D/s.src"
db_state "$D/back.db" | grep -v '^schema_migrations' >"$D/s.back"
check "after the round trip every table holds the same rows, byte for byte" diff "$D/s.src" "$D/s.back"


# Migration 024 on SQLite widens notification_queue's status CHECK by
# replace() on the table's text; a store whose text differs (hand-edited)
# must fail that migration with a clear message and nothing of it applied,
# not succeed and fail at the first pause. The store at version 23 is built
# from the migration files themselves (so no later migration needs undoing
# here), with the CHECK written another way. SQLite only: PostgreSQL alters
# the constraint by name and fails loudly by itself.
if [ -z "${NUDGE_TEST_PG:-}" ]; then
    python3 - "$D/hand.db" src/store/sql/sqlite <<'PY'
import glob, os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
          "applied_at BIGINT NOT NULL)")
for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.sql"))):
    name = os.path.basename(f)[:-4]
    if int(name[:3]) >= 24:
        break
    c.executescript("BEGIN;" + open(f).read() + ";COMMIT;")
    c.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (int(name[:3]), name))
c.execute("PRAGMA writable_schema = ON")
c.execute("UPDATE sqlite_schema SET sql = replace(sql, '''failed'',''cancelled'')', "
          "'''failed'', ''cancelled'')') WHERE name = 'notification_queue'")
c.execute("CREATE TABLE cookie (x)")
c.execute("DROP TABLE cookie")
c.execute("PRAGMA writable_schema = OFF")
PY
    hand_state() { sqlite3 "$1" .schema; db_state "$1"; }
    hand_state "$D/hand.db" >"$D/hand.before"
    $NUDGE --db "$D/hand.db" clinic list >/dev/null 2>"$D/hand.err"
    rc=$?
    check "a hand-edited status CHECK fails migration 024 (non-zero), saying why" \
        bash -c "test $rc != 0 && grep -q \"migration 024_held: .*does not take 'held'.*hand-edited\" '$D/hand.err'"
    hand_state "$D/hand.db" >"$D/hand.after"
    check "and nothing of 024 (or later) is applied: schema and rows as they were" \
        diff "$D/hand.before" "$D/hand.after"
    python3 - "$D/hand.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA writable_schema = ON")
c.execute("UPDATE sqlite_schema SET sql = replace(sql, '''failed'', ''cancelled'')', "
          "'''failed'',''cancelled'')') WHERE name = 'notification_queue'")
c.execute("CREATE TABLE cookie (x)")
c.execute("DROP TABLE cookie")
c.execute("PRAGMA writable_schema = OFF")
PY
    $NUDGE --db "$D/hand.db" clinic list >/dev/null 2>"$D/hand2.err"
    rc=$?
    check "with the text as 001 wrote it, the same store migrates and takes 'held'" \
        bash -c "test $rc = 0 && test \"\$(sqlite3 '$D/hand.db' \"SELECT MAX(version) FROM schema_migrations\")\" = \
                 \"\$(sqlite3 '$SRC' \"SELECT MAX(version) FROM schema_migrations\")\" &&
                 sqlite3 '$D/hand.db' \"SELECT sql FROM sqlite_schema WHERE name = 'notification_queue'\" |
                 grep -qF \"'held'\" && test -z \"\$(sqlite3 '$D/hand.db' 'SELECT name FROM sqlite_temp_schema')\""
fi
echo "1..$n"
[ "$failed" -eq 0 ]
