#!/usr/bin/env bash
# secrets.sh: no secret leaves nudge. Runs the operator's flows with a
# distinctive value for every secret (provider tokens, webhook secrets, the
# SMTP password, a password in the database URL, API keys), then greps
# everything nudge produced for them: the server's log, every HTTP answer,
# every CLI output, the database's files (or a dump of its schema on
# PostgreSQL), the outbox and the mail it sent. A full API key may appear
# only where it is handed out (the first start's stdout, the answer that
# creates it); elsewhere only its prefix.
#
#   serve (Twilio SMS and SMTP mail through the fakes, WhatsApp and MSG91
#   webhook secrets) -> clinic, patients, visits over the API -> the
#   confirmations sent, the fake's signed status callbacks -> a key made,
#   used, revoked, refused -> every webhook signed right and wrong, MSG91's
#   secret as a header and as ?secret= -> SIGTERM
#   tick with MSG91 (its fake wants another authkey: 401) and SMTP with a
#   wrong password: the failure paths, where a secret might be quoted
#   config show; a database URL with a password that cannot be reached
# TAP-style output; the fakes are Python standard library (and aiosmtpd).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

D=$(mktemp -d "${TMPDIR:-/tmp}/nudge-secrets.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p "$D/db" "$D/ans" "$D/cli" "$D/outbox" "$D/mail" "$D/twilio" "$D/msg91"

TW_SID=AC0123456789abcdef0123456789abcdef
TW_TOKEN=twTOKEN-s3cr3t-11a7
WA_TOKEN=waTOKEN-s3cr3t-22b8
WA_APP=waAPPSECRET-s3cr3t-33c9
WA_VERIFY=waVERIFY-s3cr3t-44da
M91_KEY=m91AUTHKEY-s3cr3t-55eb
M91_HOOK=m91HOOK-s3cr3t-66fc
SMTP_PW=smtpPASS-s3cr3t-77ad
DB_PW=dbPASS-s3cr3t-88be
BAD_KEY=nudge_0123456789ab_badKEY-s3cr3t-99cf
SECRETS=("$TW_TOKEN" "$WA_TOKEN" "$WA_APP" "$WA_VERIFY" "$M91_KEY" "$M91_HOOK" "$SMTP_PW" "$DB_PW"
    "$BAD_KEY")

# start NAME CMD...: a fake in the background; sets PORT from its READY line.
start() {
    local name=$1
    shift
    "$@" >"$D/$name.ready" 2>"$D/$name.err" &
    PIDS+=($!)
    PORT=""
    for _ in $(seq 1 100); do # waiting for the process to listen
        PORT=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$D/$name.ready")
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    return 1
}

start twilio "$PY" tests/twilio_fake.py --port 0 --account-sid "$TW_SID" --auth-token "$TW_TOKEN" \
    --dir "$D/twilio" || { not_ok "the Twilio fake starts" "$(cat "$D/twilio.err")"; exit 1; }
TW_PORT=$PORT
start smtp "$PY" tests/smtp_sink.py --port 0 --dir "$D/mail" --auth "clinic:$SMTP_PW" ||
    { not_ok "the SMTP sink starts" "$(cat "$D/smtp.err")"; exit 1; }
SMTP_PORT=$PORT
start msg91 "$PY" tests/msg91_fake.py --port 0 --authkey other-authkey --dir "$D/msg91" ||
    { not_ok "the MSG91 fake starts" "$(cat "$D/msg91.err")"; exit 1; }
M91_PORT=$PORT

# The database, with a password in its URL on PostgreSQL (the test
# cluster trusts loopback, so any password opens it).
DB=$(test_db "$D/db")
db_is_pg "$DB" && DB=${DB/postgresql:\/\/nudge@/postgresql:\/\/nudge:$DB_PW@}
API_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$API_PORT

export NUDGE_DB=$DB NUDGE_OUTBOX=$D/outbox NUDGE_PUBLIC_URL=$URL
export NUDGE_TWILIO_ACCOUNT_SID=$TW_SID NUDGE_TWILIO_AUTH_TOKEN=$TW_TOKEN \
    NUDGE_TWILIO_FROM=+15005550006 NUDGE_TWILIO_BASE_URL=http://127.0.0.1:$TW_PORT
export NUDGE_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT NUDGE_SMTP_USER=clinic \
    NUDGE_SMTP_PASSWORD=$SMTP_PW NUDGE_SMTP_FROM=clinic@example.com
export NUDGE_WHATSAPP_TOKEN=$WA_TOKEN NUDGE_WHATSAPP_APP_SECRET=$WA_APP \
    NUDGE_WHATSAPP_VERIFY_TOKEN=$WA_VERIFY NUDGE_WHATSAPP_BASE_URL=http://127.0.0.1:9
export NUDGE_MSG91_WEBHOOK_SECRET=$M91_HOOK

"$NUDGE" serve --listen "127.0.0.1:$API_PORT" --interval 1 >"$D/serve.out" 2>"$D/serve.err" &
SERVE=$!
PIDS+=($SERVE)
for _ in $(seq 1 100); do
    grep -q 'API on http' "$D/serve.err" 2>/dev/null && break
    sleep 0.1
done
KEY=$(head -n 1 "$D/serve.out")
check "serve starts and prints its first admin key" grep -Eq '^nudge_[0-9a-f]{12}_[0-9a-f]{64}$' <<<"$KEY"

# api NAME METHOD PATH [curl args...]: the answer kept as $D/ans/NAME.
api() {
    local name=$1 method=$2 path=$3
    shift 3
    curl -s -o "$D/ans/$name" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' "$@" "$URL$path"
}
# The fake calls back, signed with the token, for every message it accepts.
curl -s -o /dev/null -X POST --data '{"callbacks":["sent","delivered"]}' \
    "http://127.0.0.1:$TW_PORT/_control"
TOMORROW=$(date -u -d '+1 day' +%Y-%m-%dT10:00:00Z)
api clinic PATCH /v1/clinic \
    --data '{"name":"Smile","timezone":"Asia/Kolkata","country":"IN","quiet_hours":null}' >/dev/null
api p1 POST /v1/patients --data '{"name":"Asha","phone":"+919876543210"}' >/dev/null
api p2 POST /v1/patients \
    --data '{"name":"Ravi","email":"ravi@example.com","preferred_channel":"email"}' >/dev/null
code1=$(api a1 POST /v1/appointments \
    --data "{\"patient_id\":1,\"service\":\"Cleaning\",\"start_at\":\"$TOMORROW\"}")
code2=$(api a2 POST /v1/appointments \
    --data "{\"patient_id\":2,\"service\":\"Checkup\",\"start_at\":\"$TOMORROW\"}")
check "two visits booked over the API ($code1 $code2)" test "$code1$code2" = 201201

# The confirmations go out on serve's own ticks; the Twilio fake then
# calls back, signed, on the public URL.
for _ in $(seq 1 150); do # waiting for the sends and the callback
    [ -s "$D/twilio/callbacks.jsonl" ] && ls "$D/mail"/*.eml >/dev/null 2>&1 && break
    sleep 0.2
done
check "the SMS went through Twilio" test -s "$D/twilio/requests.jsonl"
check "the email went through SMTP with AUTH" bash -c "ls '$D/mail'/*.eml >/dev/null 2>&1"
check "Twilio's signed status callback reached serve" test -s "$D/twilio/callbacks.jsonl"

code=$(api key POST /v1/keys --data '{"role":"staff","label":"front desk"}')
K2=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("secret",""))' "$D/ans/key" 2>/dev/null)
K2_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("id",""))' "$D/ans/key" 2>/dev/null)
check "a staff key is made over the API, shown in its answer ($code)" \
    grep -Eq '^nudge_[0-9a-f]{12}_[0-9a-f]{64}$' <<<"$K2"
code=$(curl -s -o "$D/ans/k2use" -w '%{http_code}' -H "Authorization: Bearer $K2" "$URL/v1/clinic")
api revoke POST "/v1/keys/$K2_ID/revoke" >/dev/null
code2=$(curl -s -o "$D/ans/k2refused" -w '%{http_code}' -H "Authorization: Bearer $K2" "$URL/v1/clinic")
code3=$(curl -s -o "$D/ans/badkey" -w '%{http_code}' -H "Authorization: Bearer $BAD_KEY" "$URL/v1/clinic")
check "the key works, then revoked is refused, as a made-up one is ($code $code2 $code3)" \
    test "$code$code2$code3" = 200401401
api keys GET /v1/keys >/dev/null
api audit GET /v1/audit >/dev/null
api notifications GET /v1/notifications >/dev/null
curl -s -o "$D/ans/metrics" "$URL/metrics"

# Webhooks, each signed right and wrong.
form="From=%2B919876543210&Body=HELP&MessageSid=SMin1"
sig=$("$PY" tests/twilio_fake.py --sign "$TW_TOKEN" "$URL/webhooks/twilio/inbound" \
    From=+919876543210 Body=HELP MessageSid=SMin1)
c1=$(curl -s -o "$D/ans/tw_in" -w '%{http_code}' -H "X-Twilio-Signature: $sig" --data "$form" \
    "$URL/webhooks/twilio/inbound")
c2=$(curl -s -o "$D/ans/tw_bad" -w '%{http_code}' -H "X-Twilio-Signature: x$sig" --data "$form" \
    "$URL/webhooks/twilio/inbound")
check "Twilio inbound: signed 200, forged 403 ($c1 $c2)" test "$c1$c2" = 200403
c1=$(curl -s -o "$D/ans/wa_hs" -w '%{http_code}' \
    "$URL/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=$WA_VERIFY&hub.challenge=ch4ll")
c2=$(curl -s -o "$D/ans/wa_hs_bad" -w '%{http_code}' \
    "$URL/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x$WA_VERIFY&hub.challenge=ch4ll")
check "WhatsApp handshake: right token 200, wrong 403 ($c1 $c2)" test "$c1$c2" = 200403
body='{"entry":[{"changes":[{"value":{"statuses":[{"id":"wamid.x","status":"read"}]}}]}]}'
printf '%s' "$body" >"$D/wa.json"
sig=$("$PY" tests/whatsapp_fake.py --sign "$WA_APP" "$D/wa.json")
c1=$(curl -s -o "$D/ans/wa_ev" -w '%{http_code}' -H "X-Hub-Signature-256: $sig" \
    -H 'Content-Type: application/json' --data-binary @"$D/wa.json" "$URL/webhooks/whatsapp")
c2=$(curl -s -o "$D/ans/wa_ev_bad" -w '%{http_code}' -H "X-Hub-Signature-256: sha256=00" \
    -H 'Content-Type: application/json' --data-binary @"$D/wa.json" "$URL/webhooks/whatsapp")
check "WhatsApp events: signed 200, forged 403 ($c1 $c2)" test "$c1$c2" = 200403
c1=$(curl -s -o "$D/ans/m91_h" -w '%{http_code}' -H "X-MSG91-Secret: $M91_HOOK" \
    -H 'Content-Type: application/json' --data '{"requestId":"r1","status":"1"}' \
    "$URL/webhooks/msg91/status")
c2=$(curl -s -o "$D/ans/m91_q" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"requestId":"r1","status":"1"}' "$URL/webhooks/msg91/status?secret=$M91_HOOK")
c3=$(curl -s -o "$D/ans/m91_bad" -w '%{http_code}' -H "X-MSG91-Secret: x$M91_HOOK" \
    -H 'Content-Type: application/json' --data '{"requestId":"r1","status":"1"}' \
    "$URL/webhooks/msg91/status")
check "MSG91 reports: secret as header 200, as ?secret= 200, wrong 403 ($c1 $c2 $c3)" \
    test "$c1$c2$c3" = 200200403

kill -TERM "$SERVE"
wait "$SERVE"
check "serve stops on SIGTERM" test $? = 0

# The failure paths: MSG91 refuses the authkey (its fake wants another),
# SMTP refuses the password.
"$NUDGE" template map-msg91 --clinic 1 --template appointment_reminder --language en \
    --id 1107161234567890123 --params VAR1:patient_name >"$D/cli/map" 2>&1
"$NUDGE" send --patient 1 --template appointment_reminder --priority urgent \
    --var service=X --var date=today --var time=10:00 >"$D/cli/send1" 2>&1
"$NUDGE" send --patient 2 --template appointment_reminder --priority urgent \
    --var service=X --var date=today --var time=10:00 >"$D/cli/send2" 2>&1
NUDGE_MSG91_AUTHKEY=$M91_KEY NUDGE_MSG91_BASE_URL=http://127.0.0.1:$M91_PORT \
    NUDGE_SMTP_PASSWORD=wrong-$SMTP_PW "$NUDGE" tick >"$D/cli/tick" 2>&1
check "MSG91 was asked with the authkey and refused it" \
    grep -q '"status": *401\|Authentication failure' "$D/msg91/requests.jsonl"
"$NUDGE" queue list >"$D/cli/queue" 2>&1
"$NUDGE" audit verify >"$D/cli/audit" 2>&1
NUDGE_MSG91_AUTHKEY=$M91_KEY "$NUDGE" config show >"$D/cli/config" 2>&1
check "config show lists the secrets, masked" grep -q 'twilio' "$D/cli/config"
"$NUDGE" --db "postgresql://nudge:$DB_PW@127.0.0.1:1/none" queue status >"$D/cli/baddb" 2>&1
check "an unreachable database is an error" test -s "$D/cli/baddb"

# What nudge produced: everything in $D but the fakes' own records (which
# hold what nudge sent them, credentials included: that is their job) and
# the places a key is handed out.
if db_is_pg "$DB"; then
    "$PG_DUMP" --schema="$("$PSQL" -X -At "$DB" -c 'SELECT current_schema()')" "$DB" >"$D/db/dump.sql"
fi
produced=("$D/serve.err" "$D/db" "$D/ans" "$D/cli" "$D/outbox" "$D/mail")
tail -n +2 "$D/serve.out" >"$D/serve.rest"
produced+=("$D/serve.rest")
leaks() {
    grep -rlaF -- "$1" "${produced[@]}" 2>/dev/null | grep -v "^$D/ans/key$" | sed "s|^$D/||"
}
for s in "${SECRETS[@]}"; do
    where=$(leaks "$s" | tr '\n' ' ')
    if [ -z "$where" ]; then ok "secret ${s%%-*} appears nowhere"; else
        not_ok "secret ${s%%-*} appears nowhere" "found in: $where"; fi
done
for k in "$KEY" "$K2"; do
    [ -n "$k" ] || continue
    prefix=${k#nudge_}
    prefix=${prefix%%_*}
    where=$(leaks "${k##*_}" | tr '\n' ' ')
    if [ -z "$where" ]; then ok "API key $prefix: only its prefix, never the key"; else
        not_ok "API key $prefix: only its prefix, never the key" "found in: $where"; fi
done
check "the new key was in its creation answer, once" test "$(grep -o "$K2" "$D/ans/key" | wc -l)" = 1
check "no sanitizer report from serve or the CLI" \
    bash -c "! grep -lE 'Sanitizer|runtime error' '$D/serve.err' '$D/cli'/*"
check "the log names keys by prefix" grep -q "key=${KEY:6:12}" "$D/serve.err"

echo "1..$n"
[ "$failed" -eq 0 ]
