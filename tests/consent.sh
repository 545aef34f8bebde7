#!/usr/bin/env bash
# consent.sh: consent, usage and the one-click unsubscribe (issue 17) from
# outside, on the engine of this pass: a promotional email in the outbox
# carries List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) pointing at
# a signed link; `nudge serve` answers the link's GET with a confirmation
# and its POST by recording the withdrawal, and refuses it altered or
# expired; the consent and usage API and CLI, and their errors naming the
# field, leaving every table as it was. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")
export NUDGE_UNSUBSCRIBE_SECRET=consent-test-secret
N="$NUDGE --db $DB --outbox $D/out --public-url https://nudge.example.org"
# The links are made at the machine's time (serve checks them against it).
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
OLD=$(date -u -d '-90 days' +%Y-%m-%dT%H:%M:%SZ)

$N clinic add --name "Smile Dental" --timezone Europe/London --country GB --quiet-hours none >/dev/null
$N usage plan --clinic 1 --window 00:00-24:00 >/dev/null
$N patient add --clinic 1 --name "Asha" --email asha@example.com >/dev/null
$N patient add --clinic 1 --name "Ravi" --email ravi@example.com >/dev/null
$N template put --clinic 1 --name offer --language en --category marketing --sms "Offer" \
    --subject "20% off" --text "20% off a cleaning this month" --html "<p>20% off</p>" >/dev/null
for p in 1 2; do
    $N --now "$OLD" consent grant $p --category marketing --channel email \
        --wording "Send me offers by email" >/dev/null
done

# ---- the mail and its link
$N --now "$NOW" send --patient 1 --template offer --channel email >/dev/null
$N --now "$NOW" tick >/dev/null
eml=$(ls "$D"/out/*-email.eml 2>/dev/null | head -1)
check "the promotional email is in the outbox" [ -n "$eml" ]
check "it carries List-Unsubscribe with the signed link" \
    grep -q '^List-Unsubscribe: <https://nudge.example.org/unsubscribe?c=1&p=1&cat=marketing&ch=email&exp=[0-9]*&sig=[0-9a-f]\{64\}>' "$eml"
check "and List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
    grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$eml"
LINK=$(grep -o '^List-Unsubscribe: <[^>]*>' "$eml" | sed 's/^List-Unsubscribe: <https:\/\/nudge.example.org//; s/>$//')
# A second link, made 90 days ago: 60 days of life, expired now.
$N --now "$OLD" send --patient 2 --template offer --channel email >/dev/null
$N --now "$OLD" tick >/dev/null
OLDLINK=$(grep -ho '^List-Unsubscribe: <[^>]*p=2[^>]*>' "$D"/out/*-email.eml | sed 's/^List-Unsubscribe: <https:\/\/nudge.example.org//; s/>$//')
check "the old mail has its link too" [ -n "$OLDLINK" ]

# ---- the server
"$NUDGE" --db "$DB" --outbox "$D/out" serve --listen 127.0.0.1:0 --interval 1 >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=""
for _ in $(seq 1 100); do # waiting for the process to listen, not for a schedule
    PORT=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$D/stderr" 2>/dev/null | grep -o '[0-9]*$')
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
check "serve listens" [ -n "$PORT" ]
URL=http://127.0.0.1:$PORT
KEY=$($N key create --clinic 1 --role staff 2>/dev/null)
api() { curl -s -o "$D/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$@"; }

code=$(curl -s -o "$D/page" -w '%{http_code}' "$URL$LINK")
check "GET of the link: a confirmation page (200)" [ "$code" = 200 ]
check "... asking before it changes anything" grep -q 'Stop receiving marketing messages by email' "$D/page"
check "... nothing recorded by a GET (mail scanners follow links)" \
    bash -c "$N consent show 1 | grep -q \$'^marketing\tno_consent\tno_consent\tallowed'"

altered=${LINK/p=1/p=2}
code=$(curl -s -o "$D/body" -w '%{http_code}' -X POST -d 'List-Unsubscribe=One-Click' "$URL$altered")
check "an altered link (another patient) is refused: 403" [ "$code" = 403 ]
check "... naming the signature" grep -q '"field": *"sig"' "$D/body"
altered=${LINK/cat=marketing/cat=health_tips}
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'List-Unsubscribe=One-Click' "$URL$altered")
check "an altered link (another category) is refused: 403" [ "$code" = 403 ]
altered=$(sed 's/sig=\(.\)/sig=0\1/; s/sig=\([0-9a-f]\{64\}\)[0-9a-f]*/sig=\1/' <<<"$LINK")
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'List-Unsubscribe=One-Click' "$URL$altered")
check "an altered signature is refused: 403" [ "$code" = 403 ]
code=$(curl -s -o "$D/body" -w '%{http_code}' -X POST -d 'List-Unsubscribe=One-Click' "$URL$OLDLINK")
check "an expired link is refused: 403" [ "$code" = 403 ]
check "... saying it expired" grep -q expired "$D/body"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/unsubscribe?c=1&p=1&cat=marketing&ch=email&sig=00")
check "a link without its expiry: 400" [ "$code" = 400 ]
check "nothing refused was recorded" bash -c "$N consent show 2 | grep -q \$'^marketing\tno_consent\tno_consent\tallowed'"

code=$(curl -s -o "$D/page" -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -d 'List-Unsubscribe=One-Click' "$URL$LINK")
check "the one-click POST: 200" [ "$code" = 200 ]
check "... the withdrawal is in the ledger, by unsubscribe_link" \
    bash -c "$N consent show 1 | grep -q \$'\tmarketing\temail\twithdrawn\tunsubscribe_link\t'"
check "... and marketing by email is refused now" \
    bash -c "$N consent show 1 | grep -q \$'^marketing\tno_consent\tno_consent\topted_out'"

# ---- the consent and usage API
code=$(api "$URL/v1/patients/2/consent")
check "GET consent: 200" [ "$code" = 200 ]
check "... what is allowed now, per category and channel" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["allowed"]["marketing"]["email"]=="allowed" and d["allowed"]["health_tips"]["sms"]=="no_consent"' "$D/body"
code=$(api -X POST -H 'Content-Type: application/json' \
    -d '{"category":"health_tips","channel":"*","state":"granted","wording":"Tips, please"}' \
    "$URL/v1/patients/2/consent")
check "POST a grant: 201" [ "$code" = 201 ]
check "... recorded by the API" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["ledger"][-1]; assert e["source"]=="api" and e["state"]=="granted" and d["allowed"]["health_tips"]["sms"]=="allowed"' "$D/body"
# The state compared leaves out what the running server writes by itself.
state() { db_state_served "$DB"; }
# The grant's event (consent.changed) is consumed by serve's next tick:
# wait for that (for the state, not a schedule), so nothing but a bad
# request could move the state compared (seen on a fresh machine).
for _ in $(seq 1 100); do
    [ "$(db_sql "$DB" "SELECT COUNT(*) FROM events WHERE processed_at IS NULL")" = 0 ] && break
    sleep 0.1
done
before=$(state)
badapi() {
    local what=$1 field=$2 body=$3
    local code
    code=$(api -X POST -H 'Content-Type: application/json' -d "$body" "$URL/v1/patients/2/consent")
    if [ "$code" = 422 ] && grep -q "\"field\": *\"$field\"" "$D/body" && [ "$(state)" = "$before" ]; then
        ok "$what"
    else
        not_ok "$what" "HTTP $code" "$(cat "$D/body")" \
            "tables changed: $(diff <(echo "$before") <(state) | grep '^[<>]' | tr '\n' ' ')"
    fi
}
badapi "an opt-in without wording: 422 naming wording" wording '{"category":"marketing","channel":"sms","state":"granted"}'
badapi "an unknown category: 422 naming category" category '{"category":"spam","channel":"sms","state":"granted"}'
badapi "an unknown channel: 422 naming channel" channel '{"category":"marketing","channel":"fax","state":"withdrawn"}'
badapi "an unknown field: 422 naming it" colour '{"category":"marketing","channel":"sms","state":"withdrawn","colour":"red"}'
badapi "a missing state: 422 naming state" state '{"category":"marketing","channel":"sms"}'
code=$(api "$URL/v1/patients/99/consent")
check "consent of no such patient: 404" [ "$code" = 404 ]

code=$(api "$URL/v1/usage")
check "GET usage: 200" [ "$code" = 200 ]
check "... counts the emails sent this month" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["channels"]["email"]["messages"]>=1 and d["tier"] is None and d["cost_paise"]==0' "$D/body"
code=$(api "$URL/v1/usage?month=2026-13")
check "a bad month: 422 naming month" bash -c "[ $code = 422 ] && grep -q '\"field\": *\"month\"' '$D/body'"
code=$(api "$URL/v1/tiers")
check "GET tiers: the document's table" python3 -c 'import json,sys; d={t["name"]:t for t in json.load(open(sys.argv[1]))["data"]}; assert d["free"]["quota"]==100 and d["free"]["overage_paise"] is None and d["hospital"]["quota"] is None and d["essential"]["overage_paise"]==25' "$D/body"
# The plan over HTTP: staff read it, an admin sets it (grace included).
code=$(api "$URL/v1/plan")
check "GET plan: 200 with the default grace" bash -c "[ $code = 200 ] && grep -q '\"grace_minutes\": *120' '$D/body'"
code=$(api -X PUT -H 'Content-Type: application/json' -d '{"grace_minutes":90}' "$URL/v1/plan")
check "PUT plan by staff: 403" [ "$code" = 403 ]
ADMIN=$($N key create --clinic 1 --role admin 2>/dev/null)
code=$(curl -s -o "$D/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -X PUT \
    -H 'Content-Type: application/json' -d '{"grace_minutes":0}' "$URL/v1/plan")
check "a grace of 0: 422 naming grace_minutes" bash -c "[ $code = 422 ] && grep -q '\"field\": *\"grace_minutes\"' '$D/body'"
code=$(curl -s -o "$D/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -X PUT \
    -H 'Content-Type: application/json' -d '{"grace_minutes":90,"window":"10:00-20:00"}' "$URL/v1/plan")
check "PUT plan by an admin sets the grace and window" bash -c "[ $code = 200 ] && grep -q '\"grace_minutes\": *90' '$D/body' && grep -q '\"window\": *\"10:00-20:00\"' '$D/body'"

kill -TERM "$PID"
wait "$PID" 2>/dev/null
PID=""

# ---- the CLI's errors name the option, and change nothing
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
bad "grant without wording" 2 "field: wording" $N consent grant 2 --category marketing --channel sms
bad "grant of an unknown category" 2 "field: category" $N consent grant 2 --category spam --channel sms --wording x
bad "withdraw without --channel" 2 "channel" $N consent withdraw 2 --category marketing
bad "consent of no patient" 3 "no patient 99" $N consent show 99
bad "an unknown tier" 2 "field: tier" $N usage plan --clinic 1 --tier gold
bad "a bad window" 2 "HH:MM-HH:MM" $N usage plan --clinic 1 --window 9-5
bad "a window ending before it starts" 2 "field: window" $N usage plan --clinic 1 --window 21:00-09:00
bad "a bad month" 2 "field: month" $N usage --clinic 1 --month 2026-1
bad "usage without --clinic" 2 "clinic" $N usage
bad "a grace of 0 minutes" 2 "grace-minutes" $N usage plan --clinic 1 --grace-minutes 0
out=$($N usage plan --clinic 1 --tier essential)
check "usage plan sets the tier" grep -q $'^tier\tessential$' <<<"$out"
out=$($N usage plan --clinic 1 --grace-minutes 45)
check "usage plan sets the grace" grep -q $'^grace_minutes\t45$' <<<"$out"
out=$($N usage --clinic 1)
check "usage prints the quota and the rate" bash -c "grep -q \$'^quota\t500\$' <<<'$out' && grep -q \$'^rate_inr\t0.25\$' <<<'$out'"
out=$($N usage tier --name gold --quota 300 --overage-paise 30)
check "usage tier adds a tier to the table" grep -q $'^gold\t300\t30$' <<<"$out"
out=$($N usage plan --clinic 1 --tier gold)
check "... which a clinic's plan can name" grep -q $'^tier\tgold$' <<<"$out"

echo "1..$n"
