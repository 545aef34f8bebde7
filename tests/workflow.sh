#!/usr/bin/env bash
# tests/workflow.sh: the workflows from the command line and the API,
# driven with --now (never by sleeping for a schedule). Booking runs the
# built-in workflows and prints their plan; `workflow list|show|runs|stats`
# show them; a built-in copied, changed and put back changes what happens
# on the next event, without a rebuild; a bad definition is refused naming
# the path of its bad member, with nothing written; the same through
# /v1/workflows, /v1/workflow-runs and /v1/stats of `nudge serve`.
#   NUDGE=build/nudge bash tests/workflow.sh   (tests/run.sh sets NUDGE)
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
D=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
nd() { "$NUDGE" --db "$DB" --outbox "$D/out" "$@"; }
NOW=2026-12-01T10:00:00+05:30

C=$(nd --now $NOW clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN --phone 9800000001)
P=$(nd --now $NOW patient add --clinic "$C" --name "Ram Lal" --phone 9876543210)
check "a clinic and a patient" test -n "$C" -a -n "$P"

# ---- booking runs the built-ins, and says what they planned
A=$(nd --now $NOW appointment add --patient "$P" --service Cleaning --at 2026-12-04T10:00 2>"$D/plan")
out=$(cat "$D/plan")
check "booking prints the visit's id" test "$A" -ge 1
check "booking prints the confirmation the workflow planned" grep -q "confirmation: planned" <<<"$out"
check "... and the 24 h reminder" grep -q "24 h reminder: planned for 2026-12-03T10:00" <<<"$out"

out=$(nd workflow list --clinic "$C")
check "list: the built-ins, in force" \
    grep -q "^appointment_scheduling	built-in	yes	appointment.booked,appointment.rescheduled	3	" <<<"$out"
check "list: the no-show follow-up" grep -q "^no_show_follow_up	built-in	yes	appointment.no_show" <<<"$out"
out=$(nd workflow runs --clinic "$C")
check "runs: both booking workflows succeeded, at the booking's time" \
    test "$(grep -c "appointment.booked	[0-9]*	succeeded	2026-12-01T10:00:00+05:30" <<<"$out")" -eq 2
out=$(nd workflow runs --clinic "$C" --workflow appointment_reminder --steps)
check "runs --steps: each step's result" grep -q '"kind":"reminders.plan","status":"ok"' <<<"$out"

# ---- copy a built-in, change it, put it back: the next event follows it
nd workflow show post_visit_follow_up --clinic "$C" --builtin >"$D/f.json"
check "show --builtin prints the definition as JSON" grep -q '"plan": "follow_up"' "$D/f.json"
sed -i 's/"plan": "follow_up"/"plan": "follow_up"},\n      {"kind": "message.send", "template": "reply_help", "channel": "sms", "priority": "low"/' "$D/f.json"
V=$(nd workflow put "$D/f.json" --clinic "$C")
check "put prints the new version" test "$V" = 1
check "list shows the clinic's version" \
    grep -q "^post_visit_follow_up	1	yes	appointment.completed	3	" <<<"$(nd workflow list --clinic "$C")"
nd --now 2026-12-04T11:00:00+05:30 appointment complete "$A" >/dev/null
out=$(nd workflow runs --clinic "$C" --workflow post_visit_follow_up)
check "completing the visit ran version 1" grep -q "	post_visit_follow_up	1	appointment.completed	[0-9]*	succeeded" <<<"$out"
nd --now 2026-12-04T11:00:01+05:30 tick >/dev/null
check "its added step's message went" grep -rq "for help, contact us at +919800000001" "$D/out"

# ---- bad definitions: the path named, exit 2, nothing written
printf '{"name": "x", "on": "appointment.booked", "steps": [{"kind": "wait", "minutes": 5},
  {"kind": "stop_if", "field": "status", "op": "==", "value": "x"},
  {"kind": "message.send", "template": "nope"}]}' >"$D/bad.json"
err=$(nd workflow put "$D/bad.json" --clinic "$C" 2>&1 >/dev/null); rc=$?
check "an unknown template: exit 2" test "$rc" -eq 2
check "... naming steps[2].template" grep -q "steps\[2\].template" <<<"$err"
err=$(echo '{"name": "x", "on": "a.b", "steps": [{"kind": "teleport"}]}' |
    nd workflow put - --clinic "$C" 2>&1 >/dev/null); rc=$?
check "an unknown kind of step from stdin: exit 2, naming steps[0].kind" \
    bash -c "test $rc -eq 2 && grep -q 'steps\[0\].kind' <<<'$err'"
check "nothing was saved" test "$(db_sql "$DB" "SELECT COUNT(*) FROM workflows WHERE name = 'x'")" = 0
nd workflow show nope --clinic "$C" >/dev/null 2>&1
check "show of an unknown workflow: exit 3" test $? -eq 3
nd workflow list >/dev/null 2>&1
check "list without --clinic: exit 2" test $? -eq 2

# ---- stats
out=$(nd workflow stats --clinic "$C")
check "stats: one patient, one visit" bash -c "grep -q '^patients	1$' <<<'$out' && grep -q '^appointments	1$' <<<'$out'"
runs=$(db_sql "$DB" "SELECT COUNT(*) FROM workflow_runs")
check "stats: workflows executed as the rows say" grep -q "^workflows_executed	$runs$" <<<"$out"
check "stats: messages by channel and status" grep -q "^messages	sms	" <<<"$out"
out=$(nd workflow stats --clinic "$C" --from 2026-12-04T00:00 --to 2026-12-05T00:00)
check "stats over a range: the completion, not the booking" \
    bash -c "grep -q '^completed	1$' <<<'$out' && grep -q '^booked	0$' <<<'$out'"

# ---- the API
KEY=$(nd key create --clinic "$C" --role staff 2>/dev/null)
"$NUDGE" --db "$DB" --outbox "$D/out" serve --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve listens" test -n "$PORT"
URL="http://127.0.0.1:$PORT"
api() { curl -s -o "$D/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$@"; }
code=$(api "$URL/v1/workflows")
check "GET /v1/workflows: 200 with the clinic's version" \
    bash -c "test $code = 200 && grep -q '\"name\":\"post_visit_follow_up\",\"version\":1' '$D/body'"
code=$(api "$URL/v1/workflows/appointment_reminder")
check "GET /v1/workflows/{name}: the definition" \
    bash -c "test $code = 200 && grep -q '\"plan\":\"reminders\"' '$D/body'"
code=$(api -X PUT -H 'Content-Type: application/json' \
    --data '{"on": "appointment.confirmed", "steps": [{"kind": "message.send", "template": "nope"}]}' \
    "$URL/v1/workflows/on_confirm")
check "PUT a bad definition: 422 naming steps[0].template" \
    bash -c "test $code = 422 && grep -q '\"field\":\"steps\[0\].template\"' '$D/body'"
code=$(api -X PUT -H 'Content-Type: application/json' \
    --data '{"on": "appointment.confirmed", "steps": [{"kind": "message.send", "template": "reply_confirmed"}]}' \
    "$URL/v1/workflows/on_confirm")
check "PUT a definition: 200 with version 1" \
    bash -c "test $code = 200 && grep -q '\"version\":1' '$D/body'"
code=$(api -X PUT -H 'Content-Type: application/json' --data '{"name": "other", "on": "a.b", "steps": []}' \
    "$URL/v1/workflows/on_confirm")
check "PUT with a name other than the path's: 422" test "$code" = 422
code=$(api "$URL/v1/workflow-runs?limit=1")
check "GET /v1/workflow-runs?limit=1: a page and where the next starts" \
    bash -c "test $code = 200 && grep -q '\"next_before\":[0-9]' '$D/body'"
RUN=$(grep -o '"id":[0-9]*' "$D/body" | head -n 1 | grep -o '[0-9]*$')
code=$(api "$URL/v1/workflow-runs/$RUN")
check "GET /v1/workflow-runs/{id}: the run with its steps" \
    bash -c "test $code = 200 && grep -q '\"steps\":\[' '$D/body'"
code=$(api "$URL/v1/workflow-runs?from=nonsense")
check "a bad ?from=: 400" test "$code" = 400
code=$(api "$URL/v1/stats?from=2026-12-01T00:00:00%2B05:30")
check "GET /v1/stats: the counts" \
    bash -c "test $code = 200 && grep -q '\"appointments\":1' '$D/body' && grep -q '\"executed\":$runs' '$D/body'"
kill -TERM $PID
wait $PID
PID=""

echo "1..$n"
[ "$failed" -eq 0 ]
