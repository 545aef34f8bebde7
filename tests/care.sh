#!/usr/bin/env bash
# tests/care.sh: support tickets, the FAQ and loyalty (issue 10) from the
# outside, on the engine of this pass: `nudge ticket|faq|loyalty ...` with
# --now (never by sleeping), then the same over HTTP against `nudge serve`.
# A patient's question answered from the shipped FAQ and the ticket
# resolved; an urgent one escalated with priority urgent; staff reply,
# assign, close; the FAQ's own entries and threshold; the ledger, a
# redemption refused below zero with nothing written, the rules; the FAQ's
# threshold and the staff digest's time over HTTP. Bad input:
# the CLI says what is wrong and exits non-zero, HTTP answers a problem
# naming the field; nothing is written either way. Every HTTP answer is
# checked against docs/openapi.json (tests/contract.py).
#   NUDGE=build/nudge bash tests/care.sh   (tests/run.sh sets NUDGE)
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
D=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
NOW=2026-12-01T06:00:00+05:30
quiet() { "$@" >/dev/null; }
nd() { "$NUDGE" --db "$DB" --outbox "$D/out" --now $NOW "$@"; }

C=$(nd clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN)
P=$(nd patient add --clinic "$C" --name "Asha Rao" --phone 9876543210)
H=$(nd patient add --clinic "$C" --name "Ram Lal" --phone 9876543211 --language hi)
check "a clinic and two patients" test -n "$C" -a -n "$P" -a -n "$H"

# ---- the FAQ: shipped in English and Hindi
out=$(nd faq list --clinic "$C")
check "a new clinic has the 12 shipped entries" test "$(grep -c $'\t'"$C"$'\t' <<<"$out")" = 12
check "hours, location, parking, insurance, fees, cancellation in Hindi" \
    test "$(grep -cE $'\thi\t(hours|location|parking|insurance|fees|cancellation)\t' <<<"$out")" = 6
out=$(nd faq match --clinic "$C" --text "Is there parking for my car?")
check "faq match: a question the FAQ answers" grep -q $'^verdict\tanswer$' <<<"$out"
check "with the parking answer" grep -q "Free parking" <<<"$out"
out=$(nd faq match --clinic "$C" --text "मसूड़ों से खून आ रहा है")
check "faq match: खून escalates as urgent" grep -q $'^verdict\tescalate (urgent)$' <<<"$out"
out=$(nd faq match --clinic "$C" --text "Can you recommend a good movie?")
check "faq match: nothing known escalates" grep -q $'^verdict\tescalate' <<<"$out"
F=$(nd faq add --clinic "$C" --question "Do you do teeth whitening?" \
    --answer "Yes, in one hour." --keywords "whitening bleaching")
check "faq add prints the id" test "$F" -gt 12
out=$(nd faq match --clinic "$C" --text "teeth whitening?")
check "the clinic's own entry answers" grep -q $'^faq\t'"$F"'$' <<<"$out"
check "faq threshold: 50 by default" test "$(nd faq threshold --clinic "$C")" = 50
check "faq remove" quiet nd faq remove "$F"
check "faq seed adds nothing twice" test "$(nd faq seed --clinic "$C")" = 0

# ---- tickets: answered, escalated, by staff
T=$(nd ticket open --patient "$P" --subject "Question" --description "Where is the clinic located?")
check "ticket open prints the id" test "$T" -ge 1
out=$(nd ticket autoresolve "$T")
check "autoresolve answers from the FAQ" grep -q $'^resolved\tmatched\t' <<<"$out"
out=$(nd ticket show "$T")
check "the ticket is resolved with its FAQ entry" \
    bash -c "grep -q $'^status\tresolved$' <<<\"\$1\" && grep -qE $'^faq\t[0-9]+$' <<<\"\$1\"" _ "$out"
check "the answer is on the thread, out by sms, from the faq" grep -q $'\tout\tsms\tfaq\t' <<<"$out"
U=$(nd ticket open --patient "$H" --subject "दर्द" --description "दाँत में बहुत दर्द है")
out=$(nd ticket autoresolve "$U")
check "an urgent Hindi ticket is escalated" grep -q $'^escalated\turgent\t' <<<"$out"
check "with priority urgent" grep -q $'^priority\turgent$' <<<"$(nd ticket show "$U")"
check "ticket reply" quiet nd ticket reply "$U" --text "Please come at 5 pm today." --author "Dr Mehta"
check "ticket assign" quiet nd ticket assign "$U" --to Priya
out=$(nd ticket show "$U")
check "assigned and in progress" \
    bash -c "grep -q $'^assigned_to\tPriya$' <<<\"\$1\" && grep -q $'^status\tin_progress$' <<<\"\$1\"" _ "$out"
check "the reply is on the thread with its author" grep -q $'\tout\tsms\tDr Mehta\tPlease come' <<<"$out"
check "ticket close" quiet nd ticket close "$U"
out=$(nd ticket list --status closed)
check "ticket list --status closed" test "$(grep -c $'\tclosed\t' <<<"$out")" = 1
# A patient's free text opens a ticket (reply.c) that autoresolve answers.
out=$(nd ticket list)
check "ticket list has a header and both tickets" test "$(wc -l <<<"$out")" = 3

# ---- loyalty
check "loyalty add" quiet nd loyalty add --patient "$P" --points 100 --reason welcome
check "loyalty redeem" quiet nd loyalty redeem --patient "$P" --points 60 --reason "cleaning discount"
out=$(nd loyalty show --patient "$P")
check "the balance is the sum" grep -q $'^balance\t40$' <<<"$out"
check "the ledger lists both entries" test "$(grep -cE $'\t(manual|redemption)\t' <<<"$out")" = 2
out=$(nd loyalty rules --clinic "$C" --kind service --service "Root Canal" --points 25)
check "loyalty rules sets a service rule" grep -q $'^'"$C"$'\tservice\tRoot Canal\t25$' <<<"$out"
N=$(nd loyalty tell --patient "$H")
check "loyalty tell queues the balance message" test "$N" -ge 1

# ---- bad input: a message, a non-zero exit, nothing written
before=$(db_state "$DB")
bad() {
    local what=$1 code=$2 pattern=$3; shift 3
    "$@" >/dev/null 2>"$D/err"
    local rc=$?
    if [ "$rc" = "$code" ] && grep -q -- "$pattern" "$D/err" && [ "$(db_state "$DB")" = "$before" ]; then
        ok "$what"
    else
        not_ok "$what" "exit $rc (want $code), stderr: $(cat "$D/err")"
    fi
}
bad "redeeming more than the balance: exit 4, says the balance" 4 "balance is 40" \
    nd loyalty redeem --patient "$P" --points 41
bad "points that are not a number" 2 "points" nd loyalty add --patient "$P" --points ten --reason x
bad "a blank reason names it" 2 "reason" nd loyalty add --patient "$P" --points 5 --reason " "
bad "a rule of an unknown kind names kind" 2 "kind" nd loyalty rules --clinic "$C" --kind birthday --points 5
bad "a ticket's unknown priority names it" 2 "priority" \
    nd ticket open --clinic "$C" --subject x --priority asap
bad "a ticket without a subject" 2 "subject" nd ticket open --clinic "$C"
bad "a reply to a closed ticket: exit 4" 4 "closed" nd ticket reply "$U" --text hi
bad "an FAQ entry without an answer" 2 "answer" nd faq add --clinic "$C" --question "Why?"
bad "a threshold over 100" 2 "percent" nd faq threshold --clinic "$C" --percent 101
bad "an unknown ticket: exit 3" 3 "no ticket" nd ticket close 999

# ---- HTTP
KEY=$(nd key create --clinic "$C" --role admin --label care 2>/dev/null)
STAFF=$(nd key create --clinic "$C" --role staff --label desk 2>/dev/null)
# One tick as it starts, the next an hour later: a tick in the middle of
# the bad-input checks below writes events of its own (a slow run under
# make check's pool reached the second one of --interval 60 there).
"$NUDGE" --db "$DB" --outbox "$D/out" serve --listen 127.0.0.1:0 --interval 3600 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve listens" test -n "$PORT"
URL="http://127.0.0.1:$PORT"
# api METHOD PATH KEY [BODY]: the status on stdout, the body in $D/body; the
# exchange recorded for contract.py.
api() {
    local args=(-s -o "$D/body" -D "$D/headers" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3")
    [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    local code
    code=$(curl "${args[@]}" "$URL$2")
    python3 - "$1" "$2" "$code" "$D/headers" "$D/body" >>"$D/contract.jsonl" <<'PY'
import json, sys
m, p, st, hf, bf = sys.argv[1:]
hs = {}
for line in open(hf, encoding="latin-1").read().splitlines()[1:]:
    if ":" in line:
        k, v = line.split(":", 1)
        hs[k.strip()] = v.strip()
print(json.dumps({"method": m, "path": p, "status": int(st), "headers": hs,
                  "body": open(bf, encoding="utf-8").read()}))
PY
    echo "$code"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$D/body" "$1"; }

code=$(api POST /v1/tickets "$KEY" '{"subject":"Web form","description":"Do you accept insurance? Is it cashless?","patient_id":'"$P"'}')
check "POST /v1/tickets: 201" test "$code" = 201
TID=$(field id)
check "it is open, from staff" test "$(field status)/$(field source)" = open/staff
code=$(api POST "/v1/tickets/$TID/autoresolve" "$STAFF")
check "autoresolve over HTTP resolves it" test "$code/$(field status)" = 200/resolved
check "the thread holds the answer" grep -q "most major insurers" "$D/body"
code=$(api GET "/v1/tickets?status=resolved" "$STAFF")
check "GET /v1/tickets?status=resolved lists it" \
    bash -c "test $code = 200 && grep -q '\"id\": *$TID' '$D/body'"
code=$(api POST "/v1/tickets/$TID/assign" "$STAFF" '{"assigned_to":"Priya"}')
check "assign: 200" test "$code/$(field assigned_to)" = 200/Priya
code=$(api POST "/v1/tickets/$TID/reply" "$STAFF" '{"text":"Please bring your card."}')
check "reply: 200, in progress" test "$code/$(field status)" = 200/in_progress
code=$(api POST "/v1/tickets/$TID/close" "$STAFF")
check "close: 200" test "$code/$(field status)" = 200/closed
code=$(api POST "/v1/faq/match" "$STAFF" '{"text":"मुझे कल से बुखार है"}')
check "POST /v1/faq/match: बुखार is urgent" test "$code/$(field verdict)/$(field urgent)" = 200/escalate/True
code=$(api GET "/v1/faq?language=hi" "$STAFF")
check "GET /v1/faq?language=hi: the six Hindi entries and the threshold" \
    test "$code/$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["data"]), d["threshold"])' "$D/body")" = "200/6 50"
code=$(api POST /v1/faq "$KEY" '{"question":"Implants?","answer":"Yes.","keywords":"implant"}')
check "POST /v1/faq: 201" test "$code" = 201
FID=$(field id)
code=$(api POST "/v1/faq/$FID/remove" "$KEY")
check "POST /v1/faq/{id}/remove: 200" test "$code" = 200
code=$(api POST "/v1/patients/$P/loyalty" "$STAFF" '{"type":"add","points":25,"reason":"review"}')
check "POST loyalty add: 201, balance 65" test "$code/$(field balance)" = 201/65
code=$(api GET "/v1/patients/$P/loyalty?limit=2" "$STAFF")
check "GET loyalty: balance and the newest entries" \
    test "$code/$(field balance)/$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["entries"]))' "$D/body")" = 200/65/2
code=$(api PUT /v1/loyalty/rules "$KEY" '{"kind":"visit","points":10}')
check "PUT /v1/loyalty/rules: the rules" bash -c "test $code = 200 && grep -q '\"visit\"' '$D/body'"
# The settings the CLI has: the FAQ's threshold, the staff digest's time.
code=$(api PUT /v1/faq/threshold "$KEY" '{"threshold":70}')
check "PUT /v1/faq/threshold: 70" test "$code/$(field threshold)" = 200/70
check "the CLI sees the same threshold" test "$(nd faq threshold --clinic "$C")" = 70
code=$(api GET /v1/faq/threshold "$STAFF")
check "GET /v1/faq/threshold with a staff key: 70" test "$code/$(field threshold)" = 200/70
code=$(api PUT /v1/faq/threshold "$STAFF" '{"threshold":10}')
check "PUT /v1/faq/threshold with a staff key: 403" test "$code" = 403
# (serve's tick runs on the real clock and stamps the day of a digest it
# sent: the bad requests below start from no digest, which it leaves alone.)
code=$(api PUT /v1/staff/digest "$KEY" '{"digest_at":"07:30"}')
check "PUT /v1/staff/digest: 07:30" test "$code/$(field digest_at)" = 200/07:30
code=$(api GET /v1/staff/digest "$STAFF")
check "GET /v1/staff/digest: 07:30" test "$code/$(field digest_at)" = 200/07:30
code=$(api PUT /v1/staff/digest "$KEY" '{"digest_at":null}')
check "PUT /v1/staff/digest null: no digest" test "$code/$(field digest_at)" = 200/None
code=$(api GET /v1/staff/digest "$STAFF")
check "GET /v1/staff/digest: null" test "$code/$(field digest_at)" = 200/None

# Bad input over HTTP: a problem naming the field, nothing written (but
# what the running server writes by itself, and its hourly scans, due on
# the real clock's half hour from --now's 06:00 +05:30, which a slow run
# reaches in the middle of these).
state() { db_state_served "$DB" tasks task_runs; }
before=$(state)
hbad() {
    local what=$1 want=$2 fld=$3; shift 3
    local code
    code=$(api "$@")
    local got
    got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("field"))' "$D/body" 2>/dev/null)
    if [ "$code" = "$want" ] && [ "$got" = "$fld" ] && [ "$(state)" = "$before" ]; then
        ok "$what"
    else
        not_ok "$what" "status $code (want $want), field $got (want $fld): $(cat "$D/body")" "$(diff <(echo "$before") <(state) | head -4)"
    fi
}
hbad "redeem past the balance: 409 naming points" 409 points \
    POST "/v1/patients/$P/loyalty" "$STAFF" '{"type":"redeem","points":66}'
hbad "an unknown loyalty type: 422 naming type" 422 type \
    POST "/v1/patients/$P/loyalty" "$STAFF" '{"type":"gift","points":5,"reason":"x"}'
hbad "points as a string: 422 naming points" 422 points \
    POST "/v1/patients/$P/loyalty" "$STAFF" '{"type":"add","points":"5","reason":"x"}'
hbad "a ticket without a subject: 422 naming subject" 422 subject \
    POST /v1/tickets "$KEY" '{"description":"x"}'
hbad "a ticket's unknown priority: 422 naming priority" 422 priority \
    POST /v1/tickets "$KEY" '{"subject":"x","priority":"asap"}'
hbad "another clinic's patient: 422 naming patient_id" 422 patient_id \
    POST /v1/tickets "$KEY" '{"subject":"x","patient_id":999}'
hbad "a reply to a closed ticket: 409" 409 status \
    POST "/v1/tickets/$TID/reply" "$STAFF" '{"text":"again"}'
hbad "an unknown field: 422 naming it" 422 colour \
    POST /v1/faq "$KEY" '{"question":"q","answer":"a","colour":"red"}'
hbad "a blank answer: 422 naming answer" 422 answer POST /v1/faq "$KEY" '{"question":"q","answer":" "}'
hbad "a rule with a service but kind visit: 422 naming service" 422 service \
    PUT /v1/loyalty/rules "$KEY" '{"kind":"visit","service":"X","points":5}'
# The settings' bad values, each a 422 naming the field: what|field|path|body
while IFS='|' read -r -u 3 what fld path body; do
    hbad "$what: 422 naming $fld" 422 "$fld" PUT "$path" "$KEY" "$body"
done 3<<'EOF'
a threshold over 100|threshold|/v1/faq/threshold|{"threshold":101}
a threshold of 2^32+50|threshold|/v1/faq/threshold|{"threshold":4294967346}
a threshold as a string|threshold|/v1/faq/threshold|{"threshold":"60"}
no threshold|threshold|/v1/faq/threshold|{}
a digest at 24:00|digest_at|/v1/staff/digest|{"digest_at":"24:00"}
a digest at ""|digest_at|/v1/staff/digest|{"digest_at":""}
a digest at 730|digest_at|/v1/staff/digest|{"digest_at":730}
the digest's unknown field|at|/v1/staff/digest|{"digest_at":"07:00","at":"07:00"}
EOF
code=$(api GET "/v1/tickets?status=shut" "$STAFF")
check "an unknown status filter: 422" test "$code" = 422

if python3 tests/contract.py "$D/contract.jsonl" >"$D/contract.out" 2>&1; then
    ok "$(tail -n 1 "$D/contract.out")"
else
    not_ok "every answer agrees with docs/openapi.json" "$(head -n 20 "$D/contract.out")"
fi
kill -TERM $PID
wait $PID
PID=
[ "$failed" -eq 0 ]
