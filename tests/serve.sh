#!/usr/bin/env bash
# serve.sh: `nudge serve` as an operator runs it: the first admin key is
# printed once, the API answers on loopback, the access log keeps every
# line, and SIGTERM stops accepting, lets a request in flight finish, and
# exits 0. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"

. "$(dirname "$0")/dbutil.sh"
D=$(mktemp -d)
DB=$(test_db "$D")
trap 'kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
"$NUDGE" --db "$DB" --outbox "$D/out" serve --demo --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve prints the port it listens on" test -n "$PORT"
KEY=$(head -n 1 "$D/stdout")
check "the first admin key is printed once, on stdout" grep -Eq '^nudge_[0-9a-f]{12}_[0-9a-f]{64}$' <<<"$KEY"
check "the key never reaches the log" bash -c "! grep -q '${KEY:-none}' '$D/stderr'"

URL="http://127.0.0.1:$PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "GET /healthz answers 200 without a key" test "$code" = 200
code=$(curl -s -o "$D/clinic.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/v1/clinic")
check "the printed key is an admin key of the demo clinic" \
    bash -c "test $code = 200 && grep -q 'Smile Dental' '$D/clinic.json'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/clinic")
check "no key: 401" test "$code" = 401
check "the access log names method, path, status and key prefix, no bodies" \
    grep -Eq '^nudge: http method="GET" path="/v1/clinic" status=200 ms=[0-9.]+ key=[0-9a-f]{12} client=127\.0\.0\.1$' "$D/stderr"

# Slow clients (headers never finished) do not stall anyone else.
for i in $(seq 1 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3; sleep 5) &
    SLOW="${SLOW:-} $!"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
check "20 half-open slow connections do not stall another client" test "$code" = 200
kill $SLOW 2>/dev/null

# The access log is buffered while requests run together: none of their
# lines is lost, counted after the stop below.
for _ in $(seq 1 300); do printf 'url = "%s/v1/clinic"\noutput = /dev/null\n' "$URL"; done >"$D/many.cfg"
curl -s --parallel --parallel-max 16 -H "Authorization: Bearer $KEY" -K "$D/many.cfg" 2>/dev/null

# A request still uploading when SIGTERM arrives is answered in full.
body='{"name":"Slow Upload","email":"slow@example.com","tags":["'$(printf 'x%.0s' $(seq 1 150))'"]}'
curl -s -o "$D/slow.json" -w '%{http_code}' --limit-rate 100 -X POST \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data "$body" "$URL/v1/patients" >"$D/slow.code" &
CURL=$!
sleep 0.7   # the upload is under way (it takes about 2 s)
kill -TERM $PID
wait $CURL
check "a request in flight at SIGTERM still gets its answer (201)" test "$(cat "$D/slow.code")" = 201
wait $PID; rc=$?
check "serve exits 0 after SIGTERM" test "$rc" = 0
check "serve says it stopped" grep -q 'nudge: stopped' "$D/stderr"
check "every request's access log line is written by the stop (301 GET /v1/clinic)" \
    test "$(grep -c '^nudge: http method="GET" path="/v1/clinic" status=200 ' "$D/stderr")" = 301
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "nothing listens after the stop" test "$code" = 000

# An empty database: the first start still gives a usable admin key.
E=$(mktemp -d)
EDB=$(test_db "$E")
"$NUDGE" --db "$EDB" --outbox "$E/out" serve --listen 127.0.0.1:0 --interval 1 \
    >"$E/stdout" 2>"$E/stderr" &
PID=$!
PORT=$(serve_port "$E/stderr")
KEY=$(head -n 1 "$E/stdout")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    --data '{"name":"Smile Dental","timezone":"Asia/Kolkata","country":"IN"}' \
    "http://127.0.0.1:$PORT/v1/clinic")
check "on an empty database the first key can set up its clinic over HTTP" test "$code" = 200
kill -TERM $PID
wait $PID
"$NUDGE" --db "$EDB" --outbox "$E/out" serve --listen none >"$E/stdout2" 2>"$E/stderr2" &
PID=$!
for _ in $(seq 1 100); do
    grep -q 'nudge: serving' "$E/stderr2" 2>/dev/null && break
    sleep 0.1
done
kill -TERM $PID
wait $PID
check "a second start prints no key and makes none" bash -c \
    "test ! -s '$E/stdout2' && '$NUDGE' --db '$EDB' key list | tail -n +2 | wc -l | grep -qx 1"
rm -rf "$E"

echo "1..$n"
[ "$failed" -eq 0 ]
