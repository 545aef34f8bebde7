#!/usr/bin/env bash
# tests/hooks.sh: outgoing webhooks and staff chat alerts from the command
# line, against tests/hook_receiver.py on 127.0.0.1, which checks every
# signature with Python's own hmac module as the README tells a receiver
# to. The receiver fails the first two attempts: the delivery is retried
# after 30 s and 2 min of the --now clock (never by sleeping), each attempt
# listed with its HTTP status; the secret is printed once and appears in
# no other output; a chat-webhook staff member gets an alert as
# {"text": ...}; bad input is refused naming the option, nothing written.
#   NUDGE=build/nudge bash tests/hooks.sh   (tests/run.sh sets NUDGE)
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
D=$(mktemp -d)
RPID=
trap '[ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
nd() { "$NUDGE" --db "$DB" --outbox "$D/out" "$@"; }
at() { date -u -d "@$(( $(date -u -d 2026-12-01T10:00:00Z +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

/usr/bin/python3 -B tests/hook_receiver.py --port 0 --dir "$D" --secret-file "$D/secret" \
    --fail 2 >"$D/recv.out" 2>"$D/recv.err" &
RPID=$!
PORT=$(ready_port "$D/recv.out")
check "the receiver listens" test -n "$PORT"

C=$(nd --now "$(at 0)" clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN)
out=$(nd --now "$(at 0)" webhook add --clinic "$C" --url "http://127.0.0.1:$PORT/hook" \
    --events "patient.created, appointment.cancelled" 2>"$D/add.err")
W=$(sed -n 1p <<<"$out"); SECRET=$(sed -n 2p <<<"$out")
check "webhook add prints the id, then the secret" test "$W" -ge 1
check "the secret is whsec_ and 64 hex digits" grep -Eq '^whsec_[0-9a-f]{64}$' <<<"$SECRET"
check "add says it is shown only now" grep -q "shown only now" "$D/add.err"
printf '%s' "$SECRET" >"$D/secret"
list=$(nd webhook list --clinic "$C")
check "list shows the subscription and its types" \
    grep -q "^$W	$C	http://127.0.0.1:$PORT/hook	patient.created,appointment.cancelled	active" <<<"$list"

P=$(nd --now "$(at 1)" patient add --clinic "$C" --name "Ram Lal" --phone 9876543210)
logs=$D/logs
nd --now "$(at 10)" tick >>"$logs" 2>&1
nd --now "$(at 39)" tick >>"$logs" 2>&1     # the retry is not due yet
nd --now "$(at 40)" tick >>"$logs" 2>&1     # second attempt, 500 again
nd --now "$(at 159)" tick >>"$logs" 2>&1
nd --now "$(at 160)" tick >>"$logs" 2>&1    # third attempt, 204
reqs=$(grep -c '"path": "/hook"' "$D/requests.jsonl")
check "three attempts reached the receiver (500, 500, 204)" test "$reqs" -eq 3
check "every attempt's signature verified with an independent HMAC" \
    test "$(grep '"/hook"' "$D/requests.jsonl" | grep -c '"verified": true')" -eq 3
check "each attempt carries the delivery id and the event type" \
    test "$(grep '"/hook"' "$D/requests.jsonl" | grep -c '"id": "d[0-9]*", "timestamp": "[0-9]*", "event": "patient.created"')" -eq 3
check "the body names the event and the patient" \
    grep -q "\\\\\"type\\\\\":\\\\\"patient.created\\\\\"" "$D/requests.jsonl"
dl=$(nd webhook deliveries "$W")
check "deliveries: delivered after 3 of 8 attempts" grep -q "	patient.created	webhook	.*	delivered	3/8	" <<<"$dl"
check "deliveries: attempt 1 retried on HTTP 500" grep -q "attempt 1	.*	retry	HTTP 500	HTTP 500" <<<"$dl"
check "deliveries: attempt 2 retried 30 s later" grep -q "attempt 2	2026-12-01T15:30:40+05:30	retry	HTTP 500" <<<"$dl"
check "deliveries: attempt 3 delivered 2 min after that" grep -q "attempt 3	2026-12-01T15:32:40+05:30	delivered	HTTP 204" <<<"$dl"
# The receiver's check is real: the last delivery's headers replayed over a
# changed body do not verify.
/usr/bin/python3 - "$D/requests.jsonl" "$PORT" <<'PY'
import json, sys, urllib.request
r = [json.loads(l) for l in open(sys.argv[1]) if '"/hook"' in l][-1]
req = urllib.request.Request("http://127.0.0.1:%s/hook" % sys.argv[2], data=(r["body"] + " ").encode(),
                             headers={"Nudge-Webhook-Timestamp": r["timestamp"], "Nudge-Signature": r["signature"],
                                      "Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
check "a changed body fails the receiver's check" \
    test "$(tail -n 1 "$D/requests.jsonl" | grep -c '"verified": false')" -eq 1
check "the secret appears in no output but add's" \
    bash -c "! grep -rqF '$SECRET' '$logs' <(echo \"\$1\") <(echo \"\$2\")" _ "$list" "$dl"

# ---- a chat-webhook staff member gets an alert
S=$(nd --now "$(at 200)" staff add --clinic "$C" --name "Front desk" --role reception \
    --chat-url "http://127.0.0.1:$PORT/chat")
check "staff add prints the id" test "$S" -ge 1
check "staff list shows the chat URL" grep -q "^$S	$C	Front desk	reception	-	-	http://127.0.0.1:$PORT/chat	yes	yes" <<<"$(nd staff list --clinic "$C")"
cnt=$(nd --now "$(at 201)" staff alert --clinic "$C" --role reception --text "Ticket 7 escalated: pain" --key t7)
check "staff alert makes one delivery" test "$cnt" = 1
cnt=$(nd --now "$(at 202)" staff alert --clinic "$C" --role reception --text "Ticket 7 escalated: pain" --key t7)
check "the same key makes none" test "$cnt" = 0
nd --now "$(at 205)" tick >>"$logs" 2>&1
check "the chat room got the alert as text" \
    grep -q '"path": "/chat", "body": "{\\"text\\": *\\"Ticket 7 escalated: pain\\"}"' "$D/requests.jsonl"
check "staff deliveries show it delivered" \
    grep -q "staff.alert	chat	http://127.0.0.1:$PORT/chat	delivered	1/8" <<<"$(nd staff deliveries --clinic "$C")"

# ---- bad input: refused naming the option, nothing written
before=$(db_state "$DB")
err=$(nd webhook add --clinic "$C" --url ftp://example.com --events "*" 2>&1 >/dev/null); rc=$?
check "a non-HTTP URL exits 2" test "$rc" -eq 2
check "the error names url" grep -q "url" <<<"$err"
err=$(nd webhook add --clinic "$C" --url https://example.com --events "Bad Type" 2>&1 >/dev/null); rc=$?
check "a bad event type exits 2 naming events" test "$rc" -eq 2 -a -n "$(grep events <<<"$err")"
err=$(nd staff add --clinic "$C" --name "Nobody" 2>&1 >/dev/null); rc=$?
check "a member without a channel exits 2" test "$rc" -eq 2
err=$(nd staff digest --clinic "$C" --at 25:00 2>&1 >/dev/null); rc=$?
check "a bad digest time exits 2" test "$rc" -eq 2
check "nothing was written by the refused commands" test "$before" = "$(db_state "$DB")"
nd staff digest --clinic "$C" --at 08:30
check "staff digest takes HH:MM" test $? -eq 0

# ---- remove
nd staff remove "$S"
check "staff remove" test -z "$(nd staff list --clinic "$C" | sed 1d)"
nd webhook remove "$W"
check "webhook remove" test -z "$(nd webhook list --clinic "$C" | sed 1d)"
nd webhook remove "$W" 2>/dev/null; rc=$?
check "removing it again: not found (3)" test "$rc" -eq 3

echo "1..$n"
[ "$failed" -eq 0 ]
