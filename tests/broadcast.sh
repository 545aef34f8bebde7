#!/usr/bin/env bash
# broadcast.sh: segments and broadcasts from the CLI and the API, on the
# engine of this pass: a segment saved, listed and previewed; a notice in
# each patient's language, a tip to a segment and a scheduled campaign
# fired by `nudge tick` at its time, with skips counted by reason;
# list/show/stats/pause/resume/cancel; bad input refused naming the field
# (CLI: a message and exit 2, nothing written; API: 422 with the field).
# TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
N="$NUDGE --db $DB --outbox $D/out"
at() { $N --now "$1" "${@:2}"; }
T=2027-01-04T05:00:00Z

at $T clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN --quiet-hours none >/dev/null
at $T patient add --clinic 1 --name "Asha Rao" --phone 9876543210 --language en --tags "diabetes,vip" >/dev/null
at $T patient add --clinic 1 --name "Ravi Kumar" --phone 9876543211 --language hi --tags diabetes >/dev/null
at $T patient add --clinic 1 --name "Meena Iyer" --email meena@example.com --language en >/dev/null

id=$(at $T segment add --clinic 1 --name Diabetics --criteria '{"diagnosis": "diabetes"}')
check "segment add prints the new id" [ "$id" = 1 ]
out=$($N segment list)
check "segment list shows it with its count" grep -q $'^1\t1\tDiabetics\t2\t' <<<"$out"
out=$(at $T segment preview --clinic 1 --criteria '{"diagnosis": "diabetes", "language": "hi"}')
check "preview counts AND across criteria" grep -q $'^count\t1$' <<<"$out"
check "and samples the patient" grep -q $'^sample\t2$' <<<"$out"
out=$(at $T segment preview --segment 1)
check "a saved segment previews too" grep -q $'^count\t2$' <<<"$out"

id=$(at $T broadcast notice --clinic 1 --name Holiday --patients 1,2 \
    --text '{"en": "Closed on Monday, {patient_name}", "hi": "सोमवार को बंद"}')
check "notice prints the new id" [ "$id" = 1 ]
at $T tick >/dev/null
at 2027-01-04T05:00:01Z tick >/dev/null
check "the English patient got English" grep -rq "Closed on Monday, Asha Rao" "$D/out"
check "the Hindi patient got Hindi" grep -rq "सोमवार को बंद" "$D/out"
out=$($N broadcast stats 1)
check "stats: 2 queued, 2 sent" grep -q $'^all\t2\t2\t0\t0\t0\t0\t0\t0\t0\t2\t' <<<"$out"

# A health tip is promotional: sent only on a recorded opt-in (consent.c).
for p in 1 2; do
    at $T consent grant $p --category health_tips --channel '*' --wording "Health tips by SMS" >/dev/null
done
id=$(at $T broadcast tip --clinic 1 --name Walk --segment 1 --text "Walk 30 minutes a day")
at 2027-01-04T05:00:02Z tick >/dev/null
out=$($N broadcast show "$id")
check "a tip to a segment completes" grep -q '"status":"completed"' <<<"$out"
check "to the segment's two patients" grep -q '"total":2,"queued":2' <<<"$out"

id=$(at $T broadcast campaign --clinic 1 --name Checkup --text "20% off check-ups" \
    --channel sms --at 2027-01-04T06:00:00Z)
out=$($N broadcast list)
check "a campaign waits for its time" grep -q $'^3\t1\tcampaign\tCheckup\tscheduled\t' <<<"$out"
at 2027-01-04T05:59:00Z tick >/dev/null
check "not before it" grep -q $'\tscheduled\t' <<<"$($N broadcast list | grep Checkup)"
at 2027-01-04T06:00:00Z tick >/dev/null
out=$($N broadcast stats 3)
check "at its time it fans out; nobody said START: no_consent; no phone for sms: no_channel" \
    grep -q $'^all\t3\t0\t3\t0\t2\t1\t' <<<"$out"

id=$(at $T broadcast campaign --clinic 1 --name Late --text "x" --at 2027-01-04T07:00:00Z)
at 2027-01-04T10:00:00Z tick >/dev/null
check "found three hours late it is stale" grep -q $'\tLate\tstale\t' <<<"$($N broadcast list)"
check "resume lets it go" $N broadcast resume "$id"
$N broadcast pause 1 >/dev/null 2>"$D/err"
check "pause of a completed notice holds what is pending" [ $? = 0 ]
check "cancel" $N broadcast cancel 1
$N broadcast resume 1 >/dev/null 2>"$D/err"
check "resume of a cancelled one exits 4" [ $? = 4 ]

# Bad input: a message naming the field, exit 2, nothing written.
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
bad "unknown criterion" 2 "(field: shoe_size)" $N segment add --clinic 1 --name X --criteria '{"shoe_size": 9}'
bad "bad age range" 2 "(field: age_range)" $N segment add --clinic 1 --name X --criteria '{"age_range": [60, 40]}'
bad "bad gender" 2 "(field: gender)" $N segment preview --clinic 1 --criteria '{"gender": "X"}'
bad "criteria not JSON" 2 "not valid JSON" $N broadcast tip --clinic 1 --name X --text y --criteria '{'
bad "no message" 2 "(field: text)" $N broadcast tip --clinic 1 --name X
bad "unknown template" 2 "(field: template)" $N broadcast tip --clinic 1 --name X --template nope
bad "unknown variable" 2 "(field: text)" $N broadcast tip --clinic 1 --name X --text "Hi {nope}"
bad "notice without patients" 2 "(field: patient_ids)" $N broadcast notice --clinic 1 --name X --text y
bad "notice to no such patient" 2 "(field: patient_ids)" $N broadcast notice --clinic 1 --name X --text y --patients 99
bad "bad channel" 2 "(field: channel)" $N broadcast tip --clinic 1 --name X --text y --channel fax
bad "one variant" 2 "(field: variants)" $N broadcast tip --clinic 1 --name X --variants '[{"text": "a"}]'
bad "time in the past" 2 "(field: scheduled_time)" at $T broadcast campaign --clinic 1 --name X --text y --at 2020-01-01T00:00:00Z
bad "no such segment" 2 "(field: segment_id)" $N broadcast tip --clinic 1 --name X --text y --segment 9
bad "show of no broadcast" 3 "no broadcast 99" $N broadcast show 99

# The API.
KEY=$($N key create --clinic 1 --role staff)
$N serve --listen 127.0.0.1:0 --interval 60 >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve listens" test -n "$PORT"
URL="http://127.0.0.1:$PORT"
api() { # METHOD PATH [BODY]: prints the status, the body into $D/body
    curl -s -o "$D/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $KEY" \
        ${3:+-H 'Content-Type: application/json' --data "$3"} "$URL$2"
}
check "GET /v1/segments" test "$(api GET /v1/segments)" = 200
check "lists the segment" grep -q '"name":"Diabetics"' "$D/body"
check "POST /v1/segments saves one" test "$(api POST /v1/segments '{"name": "Hindi", "criteria": {"language": ["hi"]}}')" = 201
check "with its count" grep -q '"patient_count":1' "$D/body"
check "POST /v1/segments/preview" test "$(api POST /v1/segments/preview '{"criteria": {"tags": "vip"}}')" = 200
check "counts" grep -q '"count":1' "$D/body"
code=$(api POST /v1/segments/preview '{"criteria": {"age_range": "old"}}')
check "a bad criterion: 422" test "$code" = 422
check "naming it" grep -q '"field":"age_range"' "$D/body"
code=$(api POST /v1/broadcasts '{"kind": "tip", "name": "API tip", "segment_id": 2, "text": {"en": "Sleep well", "hi": "अच्छी नींद"}}')
check "POST /v1/broadcasts: 201" test "$code" = 201
bid=$(grep -o '"id":[0-9]*' "$D/body" | head -1 | cut -d: -f2)
check "GET /v1/broadcasts/{id}/stats" test "$(api GET "/v1/broadcasts/$bid/stats")" = 200
check "has the stats" grep -q '"stats":{' "$D/body"
code=$(api POST /v1/broadcasts '{"kind": "tip", "name": "x", "text": "y", "channel": "fax"}')
check "a bad channel: 422 naming it" bash -c "test $code = 422 && grep -q '\"field\":\"channel\"' '$D/body'"
code=$(api POST /v1/broadcasts '{"kind": "tip", "name": "x", "text": "y", "colour": "red"}')
check "an unknown member: 422 naming it" bash -c "test $code = 422 && grep -q '\"field\":\"colour\"' '$D/body'"
code=$(api POST /v1/broadcasts '{"kind": "memo", "name": "x", "text": "y"}')
check "a bad kind: 422 naming it" bash -c "test $code = 422 && grep -q '\"field\":\"kind\"' '$D/body'"
code=$(api POST /v1/broadcasts '{"kind": "tip", "name": "x", "text": "y", "criteria": {"iq": 1}}')
check "a bad criterion: 422 naming it" bash -c "test $code = 422 && grep -q '\"field\":\"iq\"' '$D/body'"
check "pause" test "$(api POST "/v1/broadcasts/$bid/pause")" = 200
check "cancel" test "$(api POST "/v1/broadcasts/$bid/cancel")" = 200
check "resume after cancel: 409" test "$(api POST "/v1/broadcasts/$bid/resume")" = 409
check "another clinic's or no broadcast: 404" test "$(api GET /v1/broadcasts/999)" = 404
check "GET /v1/broadcasts lists them" test "$(api GET /v1/broadcasts)" = 200
kill $PID
wait $PID 2>/dev/null
PID=

echo "1..$n"
[ "$failed" -eq 0 ]
