#!/usr/bin/env bash
# hostile.sh: hostile HTTP (issue 11) against `nudge serve` as built in
# NUDGE's tree (tests/run.sh runs it against build/san too, so ASan and
# UBSan watch): tests/hostile.py sends HOSTILE_N broken requests (default
# 3,000; `make soak` 50,000) over every operation of docs/openapi.json and
# checks each answer; then the server must still be up, exit 0 on SIGTERM,
# and have printed no sanitizer report. The clock is held (--now) after one
# tick has done all that was due, so only a request could change the store.
# run.sh: alone
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
export PSQL
NOW=2026-11-24T06:00:00Z
nd() { "$NUDGE" --db "$DB" --outbox "$D/out" --now "$NOW" "$@"; }
clinic=$(nd clinic add --name "Hostile Clinic" --timezone Asia/Kolkata --country IN)
patient=$(nd patient add --clinic "$clinic" --name "Ram Lal" --phone 9876543210)
appt=$(nd appointment add --patient "$patient" --service Cleaning --at 2026-12-01T10:00:00+05:30)
nd send --patient "$patient" --template prescription_ready >/dev/null 2>&1 || true
KEY=$(nd key create --clinic "$clinic" --role admin 2>/dev/null | grep -Eo 'nudge_[0-9a-f]+_[0-9a-f]+' | head -n 1)
nd tick >/dev/null 2>&1
check "a clinic, a patient, a visit and an admin key to attack with" \
    test -n "$clinic" -a -n "$patient" -a -n "$appt" -a -n "$KEY"
one() { local v; v=$(db_sql "$DB" "SELECT max(id) FROM $1"); echo "${v:-1}"; }
printf '{"patients": %s, "appointments": %s, "reminders": %s, "notifications": %s, "keys": %s, "absent": 987654321}\n' \
    "$(one patients)" "$(one appointments)" "$(one reminders)" "$(one notification_queue)" \
    "$(one api_keys)" >"$D/ids.json"
"$NUDGE" --db "$DB" --outbox "$D/out" --now "$NOW" serve --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve listens" test -n "$PORT"
if python3 "$(dirname "$0")/hostile.py" --port "${PORT:-0}" --key "$KEY" --db "$DB" \
    --ids "$D/ids.json" --count "${HOSTILE_N:-3000}" --seed "${HOSTILE_SEED:-11}" >"$D/report" 2>&1; then
    ok "$(tail -n 1 "$D/report")"
else
    not_ok "hostile requests refused cleanly, the store unchanged" "$(head -n 60 "$D/report")"
fi
kill -TERM "$PID" 2>/dev/null
wait "$PID"; rc=$?
PID=""
check "serve survived and exits 0 on SIGTERM" test "$rc" = 0
if grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$D/stderr"; then
    not_ok "no sanitizer report" "$(grep -A20 -m1 -E 'Sanitizer|runtime error' "$D/stderr")"
else
    ok "no sanitizer report"
fi
[ "$failed" -eq 0 ]
