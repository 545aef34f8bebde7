#!/usr/bin/env bash
# readme.sh: the README's "Using it" session, run as written (the lines
# between its ```sh fences, with build/nudge meaning the binary under
# test), so the examples cannot drift from the program or go stale with
# the calendar. On PostgreSQL (tests/dbutil.sh) only the database argument
# changes. TAP-style output.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
W=$(mktemp -d)
trap 'rm -rf "$W" ${RD:+"$RD"}' EXIT

# The first sh block after the "## Using it" heading.
awk '/^## Using it/ { on = 1 } on && /^```sh$/ { inblock = 1; next }
     inblock && /^```$/ { exit } inblock { print }' README.md >"$W/block.sh"
check "the README has a \"Using it\" session" test -s "$W/block.sh"
check "it names no fixed date, so it works on any day" \
    bash -c "! grep -Eq '20[0-9]{2}-[01][0-9]-[0-3][0-9]' '$W/block.sh'"

DB=$(test_db "$W")
{
    echo 'set -eu'
    if db_is_pg "$DB"; then
        sed "s#build/nudge#$NUDGE#g; s#--db \$D/n.db#--db $DB#g" "$W/block.sh"
    else
        sed "s#build/nudge#$NUDGE#g" "$W/block.sh"
    fi
    echo 'echo "README_D=$D"'
} >"$W/run.sh"
bash "$W/run.sh" >"$W/out" 2>"$W/err"
rc=$?
RD=$(sed -n 's/^README_D=//p' "$W/out")
check "the session runs to its end, every command exiting 0" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/  # /' "$W/err" | head -n 10
check "the booking said what it planned" grep -q 'appointment add: 24 h reminder: planned for' "$W/err"
check "the tick sent the confirmation and the 24 h reminder" \
    grep -q '^enqueued 2, expired 0, sent 2, retrying 0, failed 0, deferred 0$' "$W/out"
check "the 24 h reminder is in the outbox, in Hindi" bash -c \
    "grep -l '\"template\": \"appointment_reminder\"' '$RD'/out/*.json | xargs grep -q 'अपॉइंटमेंट'"
check "queue status counts both as sent" grep -Eq '^sent +2$' "$W/out"

echo "1..$n"
[ "$failed" -eq 0 ]
