#!/usr/bin/env bash
# tasks.sh: the task scheduler's and the backups' commands (nudge task ...,
# nudge backup [restore]) on the engine of this pass: a task made, run by
# `nudge tick` on its schedule and once (late) after a gap, its history,
# pause/resume/run/delete, bad input refused with a message and a non-zero
# exit leaving every table as it was; the default tasks a clinic and the
# installation get (the scans, hourly, with their history; the clinic's
# retention purge; the backup, paused, on SQLite only); on SQLite a backup and an encrypted
# backup restored over a changed database (equal, table by table, to the
# state backed up), a wrong key and a flipped byte refused; on PostgreSQL
# the backup refused pointing to pg_dump. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
DB=$(test_db "$D")
N="$NUDGE --db $DB --outbox $D/out --backup-dir $D/backups"
at() { $N --now "$1" "${@:2}"; }

at 2027-01-01T00:00:00Z clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN >/dev/null
# A clinic comes with its default tasks, and the installation's with the first.
out=$($N task list)
check "the scans are the installation's hourly tasks" \
    [ "$(grep -cE $'^[0-9]+\t0\t(recall|birthday|lab)-scan\t(recall|birthday|lab)_scan\tinterval\t1h\tscheduled' <<<"$out")" = 3 ]
check "the clinic's retention purge, daily" grep -qE $'^[0-9]+\t1\tretention\tpurge\tdaily\t03:30\tscheduled' <<<"$out"
if db_is_pg "$DB"; then
    check "no backup task on PostgreSQL (pg_dump)" bash -c "! grep -q $'\tbackup\t' <<<\"\$1\"" _ "$out"
else
    check "the backup task waits paused for its folder" grep -qE $'^[0-9]+\t0\tbackup\tbackup\tdaily\t02:00\tpaused' <<<"$out"
fi
ret=$(awk -F'\t' '$3 == "retention" {print $1}' <<<"$out")
check "its retention is 400 days" grep -q $'^args\t{"retention_days": 400}$' <<<"$($N task show "$ret")"
at 2027-01-01T00:00:00Z tick >/dev/null
scan=$(awk -F'\t' '$3 == "recall-scan" {print $1}' <<<"$out")
out=$($N task history "$scan")
check "a scan ran on the first tick, with its history" [ "$(grep -c $'\tok\t' <<<"$out")" = 1 ]
at 2027-01-01T00:30:00Z tick >/dev/null
at 2027-01-01T01:00:00Z tick >/dev/null
check "and again an hour later, once" [ "$(grep -c $'\tok\t' <<<"$($N task history "$scan")")" = 2 ]
$N task delete "$ret" >/dev/null
# The tests below count their own: the defaults are paused.
for t in $(awk -F'\t' 'NR > 1 && $7 == "scheduled" {print $1}' <<<"$($N task list)"); do
    $N task pause "$t" >/dev/null
done

id=$(at 2027-01-01T00:00:00Z task add --name purge --fn purge --kind daily --schedule 03:00 \
    --clinic 1 --args '{"retention_days": 30}')
check "task add prints the new id" [ "$id" -gt 0 ]
out=$($N task show "$id")
check "a clinic's task takes the clinic's zone" grep -q $'^timezone\tAsia/Kolkata$' <<<"$out"
check "next run is 03:00 in Kolkata" grep -q $'^next_run\t2027-01-02T03:00:00+05:30$' <<<"$out"
id2=$(at 2027-01-01T00:00:00Z task add --name monthly --fn purge --kind monthly --schedule "31 02:00" \
    --timezone Europe/London)
out=$($N task list)
check "task list shows both" grep -q $'^'"$id"$'\t1\tpurge' <<<"$out"
check "the monthly task is the installation's (clinic 0)" grep -q $'^'"$id2"$'\t0\tmonthly' <<<"$out"

at 2027-01-01T21:30:00Z tick >/dev/null
out=$($N task history "$id")
check "tick at the slot runs it once" [ "$(grep -c $'\tok\t' <<<"$out")" = 1 ]
check "on time is not late" grep -q $'\tok\t-\t' <<<"$out"
# Down for four days: one late run, not four.
at 2027-01-05T10:00:00Z tick >/dev/null
at 2027-01-05T10:00:01Z tick >/dev/null
out=$($N task history "$id")
check "after a gap the task runs once" [ "$(grep -c $'\tok\t' <<<"$out")" = 2 ]
check "and its history says late" grep -q $'\tok\tlate\t' <<<"$out"

check "pause" $N task pause "$id"
out=$($N task show "$id")
check "paused" grep -q $'^status\tpaused$' <<<"$out"
before=$(db_state "$DB")
$N task run "$id" >/dev/null 2>"$D/err"
check "run on a paused task exits 4" [ $? = 4 ]
check "and says to resume it" grep -q "resume" "$D/err"
check "resume" $N task resume "$id"
out=$(at 2027-01-05T11:00:00Z task run "$id")
check "run now prints the outcome and the next run" grep -q "ok; next run 2027-01-06T03:00:00+05:30" <<<"$out"

# Bad input: a message naming what is wrong, a non-zero exit, nothing written.
before=$(db_state "$DB")
bad() {
    local what=$1 code=$2 pattern=$3; shift 3
    "$@" >/dev/null 2>"$D/err"
    local rc=$?
    if [ "$rc" = "$code" ] && grep -q -- "$pattern" "$D/err" && [ "$(db_state "$DB")" = "$before" ]; then
        ok "$what"
    else
        not_ok "$what" "exit $rc (want $code)" "$(cat "$D/err")"
    fi
}
bad "unknown function" 2 'no task function "nope"' $N task add --name x --fn nope --kind daily --schedule 03:00
bad "unknown kind" 2 "kind is once" $N task add --name x --fn purge --kind hourly --schedule 03:00
bad "bad daily time" 2 "HH:MM" $N task add --name x --fn purge --kind daily --schedule 25:00
bad "bad weekday" 2 "sun..sat" $N task add --name x --fn purge --kind weekly --schedule "funday 09:00"
bad "bad RRULE" 2 "RRULE" $N task add --name x --fn purge --kind rrule --schedule FREQ=OFTEN
bad "unknown zone" 2 "unknown time zone" $N task add --name x --fn purge --kind daily --schedule 03:00 --timezone Mars/Olympus
bad "args not an object" 2 "JSON object" $N task add --name x --fn purge --kind daily --schedule 03:00 --args '[1]'
bad "backup for a clinic" 2 "installation's own" $N task add --name x --fn backup --kind daily --schedule 03:00 --clinic 1
bad "a once in the past" 2 "no occurrence" at 2027-02-01T00:00:00Z task add --name x --fn purge --kind once --schedule 2027-01-01T00:00
bad "a duplicate name" 4 "exists" $N task add --name purge --fn purge --kind daily --schedule 03:00 --clinic 1
bad "missing --schedule" 2 "schedule" $N task add --name x --fn purge --kind daily
bad "show of no task" 3 "no task 99" $N task show 99
bad "history of no task" 3 "no task 99" $N task history 99

check "delete" $N task delete "$id2"
before=$(db_state "$DB")
bad "deleted is gone" 3 "no task $id2" $N task show "$id2"

if db_is_pg "$DB"; then
    before=$(db_state "$DB")
    bad "backup on PostgreSQL points to pg_dump" 2 "pg_dump" $N backup
    bad "restore on PostgreSQL points to pg_dump" 2 "pg_dump" $N backup restore "$D/x.db"
else
    path=$(at 2027-01-06T00:00:00Z backup)
    check "backup prints a timestamped file" [ "$path" = "$D/backups/nudge-20270106T000000Z.db" ]
    db_state "$DB" >"$D/s.backed"
    at 2027-01-06T00:00:00Z patient add --clinic 1 --name "Later Patient" --phone 9876543219 >/dev/null
    check "restore" $N backup restore "$path"
    db_state "$DB" >"$D/s.restored"
    check "restored: every table as backed up" diff "$D/s.backed" "$D/s.restored"
    for s in 1 2 3; do at 2027-01-06T00:00:0${s}Z backup --keep 2 >/dev/null; done
    check "--keep 2 keeps the newest two, and nothing else is left" \
        [ "$(ls "$D/backups")" = $'nudge-20270106T000002Z.db\nnudge-20270106T000003Z.db' ]
    check "backups are the owner's only" [ "$(stat -c %a "$D/backups/nudge-20270106T000003Z.db")" = 600 ]

    K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
    echo "$K" >"$D/key"
    sealed=$(NUDGE_BACKUP_KEY_FILE=$D/key at 2027-01-07T00:00:00Z backup --encrypt)
    check "an encrypted backup is .db.enc" [ "$sealed" = "$D/backups/nudge-20270107T000000Z.db.enc" ]
    check "it holds no plain text" bash -c "! grep -q 'Smile Dental' '$sealed'"
    db_state "$DB" >"$D/s.backed"
    at 2027-01-07T00:00:00Z patient add --clinic 1 --name "Even Later" --phone 9876543218 >/dev/null
    before=$(db_state "$DB")
    bad "restore without a key" 2 "NUDGE_BACKUP_KEY" $N backup restore "$sealed"
    NUDGE_BACKUP_KEY=ff${K:2} bad "a wrong key is refused" 1 "does not open with this key" $N backup restore "$sealed"
    cp "$sealed" "$D/flipped.db.enc"
    # Flip the byte, whatever it holds (writing a fixed 0x55 changed
    # nothing when the ciphertext already had 0x55 there: 1 run in 256).
    b=$(od -An -tu1 -j100 -N1 "$D/flipped.db.enc" | tr -d ' ')
    printf "\\x$(printf %02x $((b ^ 255)))" | dd of="$D/flipped.db.enc" bs=1 seek=100 conv=notrunc 2>/dev/null
    check "the copy differs from the backup" bash -c "! cmp -s '$sealed' '$D/flipped.db.enc'"
    NUDGE_BACKUP_KEY=$K bad "a flipped byte is refused" 1 "does not open with this key" $N backup restore "$D/flipped.db.enc"
    check "encrypt without a key is refused" bash -c "! $N backup --encrypt 2>/dev/null"
    check "restore with the key" env NUDGE_BACKUP_KEY=$K $N backup restore "$sealed"
    db_state "$DB" >"$D/s.restored"
    check "restored from the sealed backup: every table as backed up" diff "$D/s.backed" "$D/s.restored"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
