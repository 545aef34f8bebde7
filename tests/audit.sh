#!/usr/bin/env bash
# audit.sh: `nudge audit verify` against hand tampering, on the engine
# tests/run.sh chose (tests/dbutil.sh). Each case writes a small history
# with the CLI, then edits, deletes or inserts audit rows directly in the
# database with the append-only triggers bypassed (dropped on SQLite,
# disabled on PostgreSQL), as someone holding the database could, and
# checks verify names the row. Concurrent writers (parallel ticks recording
# sends, which take no writers' lock) must still leave intact chains.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
NOW=2026-11-20T10:00:00+05:30

D=$(mktemp -d "${TMPDIR:-/tmp}/nudge-audit.XXXXXX")
trap 'rm -rf "$D"' EXIT

# nd DB ARGS...: nudge on DB, output in $D/out.txt, $D/err.txt; its status.
nd() {
    local db=$1
    shift
    "$NUDGE" --db "$db" --outbox "$D/outbox" --now "$NOW" "$@" >"$D/out.txt" 2>"$D/err.txt"
}

# sql DB STATEMENTS: run with the audit triggers out of the way.
sql() {
    if db_is_pg "$1"; then
        "$PSQL" -X -q -v ON_ERROR_STOP=1 "$1" -c "ALTER TABLE audit_log DISABLE TRIGGER USER; $2; ALTER TABLE audit_log ENABLE TRIGGER USER" >/dev/null
    else
        sqlite3 "$1" "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; $2"
    fi
}

# q DB SQL: one value from the database.
q() {
    if db_is_pg "$1"; then "$PSQL" -X -At "$1" -c "$2"; else sqlite3 "$1" "$2"; fi
}

# refused DB: the triggers still refuse an UPDATE of the log.
refused() {
    ! q "$1" "UPDATE audit_log SET detail = 'x'" 2>/dev/null
}

# history DIR: a database with two clinics and a few patients; prints it.
history() {
    local db
    db=$(test_db "$1") || return 1
    nd "$db" clinic add --name A --timezone Asia/Kolkata --country IN || return 1
    nd "$db" clinic add --name B --timezone Asia/Kolkata --country IN || return 1
    for i in 1 2 3 4; do
        nd "$db" patient add --clinic 1 --name "P$i" --phone "+91987654321$i" || return 1
    done
    nd "$db" patient add --clinic 2 --name Q --phone +919876543219 || return 1
    echo "$db"
}

# verdict DB WANT_RC PATTERN: verify exits WANT_RC and prints PATTERN.
verdict() {
    nd "$1" audit verify
    local rc=$?
    [ "$rc" = "$2" ] && grep -qE -- "$3" "$D/out.txt" && return 0
    echo "  # rc $rc; out: $(tr '\n' '|' <"$D/out.txt"); err: $(tr '\n' '|' <"$D/err.txt")"
    return 1
}

mkdir -p "$D/1" "$D/2" "$D/3" "$D/4" "$D/5" "$D/6"

DB=$(history "$D/1") || { not_ok "history written"; echo "1..$n"; exit 1; }
check "an untouched log verifies, one line per clinic" \
    verdict "$DB" 0 '^1	5	[0-9a-f]{64}	ok$'
check "clinic 2's chain is its own" verdict "$DB" 0 '^2	2	[0-9a-f]{64}	ok$'
check "the audit rows are still refused an UPDATE" refused "$DB"
sql "$DB" "UPDATE audit_log SET detail = 'forged' WHERE clinic_id = 1 AND chain_seq = 3"
row=$(q "$DB" "SELECT id FROM audit_log WHERE detail = 'forged'")
check "an edited row is named (row $row)" verdict "$DB" 1 "^1	.*BROKEN: row $row was edited"
check "the other clinic's chain stays ok" verdict "$DB" 1 '^2	2	[0-9a-f]{64}	ok$'
check "--clinic checks one chain" bash -c "'$NUDGE' --db '$DB' audit verify --clinic 2 >/dev/null"

DB=$(history "$D/2") || exit 1
ids=$(q "$DB" "SELECT id FROM audit_log WHERE clinic_id = 1 ORDER BY chain_seq" | tr '\n' ' ')
set -- $ids
sql "$DB" "DELETE FROM audit_log WHERE id = $3"
check "a deleted row is found: the place and the rows around it named" \
    verdict "$DB" 1 "BROKEN: rows deleted: place 3 of the chain, between row $2 and row $4"
sql "$DB" "DELETE FROM audit_log WHERE id = $4"
check "two deleted rows: both places named" \
    verdict "$DB" 1 "rows deleted: places 3 to 4 of the chain, between row $2 and row $5"
sql "$DB" "DELETE FROM audit_log WHERE clinic_id = 2 AND chain_seq = 1"
check "the first row of a chain deleted is found too" \
    verdict "$DB" 1 "^2	.*BROKEN: rows deleted: place 1 of the chain, before row [0-9]+"

DB=$(history "$D/3") || exit 1
sql "$DB" "INSERT INTO audit_log (clinic_id, actor, action, entity, entity_id, created_at) VALUES (1, 'cli', 'create', 'patient', 99, 1)"
late=$(q "$DB" "SELECT id FROM audit_log WHERE entity_id = 99")
check "a row inserted without a hash is named" \
    verdict "$DB" 1 "row $late has no hash but was written after the chain began"

# A row copied whole from another place (hash and link included, the place
# changed) breaks either its own hash or the link of the row after it.
DB=$(history "$D/4") || exit 1
sql "$DB" "UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE clinic_id = 2 AND chain_seq = 1) WHERE clinic_id = 1 AND chain_seq = 2"
check "a row relinked by hand is caught" verdict "$DB" 1 '^1	.*BROKEN: row [0-9]+ was edited'

# Rows from before migration 012 carry no hash: the chain's first hashed
# row seals them as one block.
DB=$(test_db "$D/5") || exit 1
nd "$DB" migrate
sql "$DB" "INSERT INTO audit_log (clinic_id, actor, action, entity, entity_id, detail, created_at) VALUES (1, 'cli', 'create', 'clinic', 1, 'old', 1), (1, 'cli', 'create', 'patient', 1, NULL, 2)"
check "rows from before the chain verify, said not sealed yet" \
    verdict "$DB" 0 '^1	2	[0-9a-f]{64}	ok \(2 rows from before the chain'
nd "$DB" clinic add --name A --timezone Asia/Kolkata --country IN
check "the first chained row seals them" verdict "$DB" 0 '^1	3	[0-9a-f]{64}	ok$'
sql "$DB" "UPDATE audit_log SET detail = 'new' WHERE detail = 'old'"
check "an edit among the sealed rows is detected" \
    verdict "$DB" 1 'BROKEN: the 2 rows from before the chain began \(ids [0-9]+ to [0-9]+\) were edited'

# Concurrent writers: four ticks at once record sends of one clinic (each
# record appends to clinic 1's chain without the writers' lock).
DB=$(history "$D/6") || exit 1
for p in 1 2 3 4; do
    for k in 1 2 3; do
        nd "$DB" send --patient "$p" --template appointment_reminder --priority urgent \
            --var service=Checkup --var time=10:00 --var date=today --dedupe-key "k$p$k" ||
            { cat "$D/err.txt"; break; }
    done
done
pids=()
for w in 1 2 3 4; do
    "$NUDGE" --db "$DB" --outbox "$D/outbox" --now "$NOW" tick >/dev/null 2>"$D/tick$w.err" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
sent=$(q "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'send'")
check "four ticks at once sent the 12 messages (audit says $sent)" test "$sent" = 12
check "and the chain they wrote together is intact" verdict "$DB" 0 '^1	[0-9]+	[0-9a-f]{64}	ok$'

# The hashes are the documented ones (audit.c's audit_digest), recomputed
# here apart from nudge: a change to how a row is framed would otherwise
# pass every verify above, and fail on every chain written before it.
hashes_match() { # hashes_match DB: every chained row's hash, recomputed
    local cols="clinic_id, chain_seq, actor, action, entity, entity_id, detail, created_at, prev_hash, hash"
    if db_is_pg "$1"; then
        q "$1" "SELECT json_agg(json_build_array($cols) ORDER BY id) FROM audit_log WHERE chain_seq IS NOT NULL"
    else
        q "$1" "SELECT json_group_array(json_array($cols)) FROM (SELECT * FROM audit_log WHERE chain_seq IS NOT NULL ORDER BY id)"
    fi | python3 -c '
import hashlib, json, sys
rows = json.load(sys.stdin)
def s(b): return b"s%d:" % len(b) + b
bad = 0
for r in rows:
    *fields, prev, want = r
    m = b"nudge-audit-1;" + s(prev.encode())
    for x in fields:
        m += b";n" if x is None else b";i%d" % x if isinstance(x, int) else b";" + s(x.encode())
    bad += hashlib.sha256(m).hexdigest() != want
sys.exit(1 if bad or len(rows) < 20 else 0)'
}
check "each row's hash is SHA-256 over its framed fields, as documented" hashes_match "$DB"

echo "1..$n"
[ "$failed" -eq 0 ]
