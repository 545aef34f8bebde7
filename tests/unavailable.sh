#!/usr/bin/env bash
# unavailable.sh: the API while its database cannot be reached. `nudge
# serve` talks to PostgreSQL through a TCP relay this suite controls;
# stopping the relay cuts every connection and refuses new ones, as a
# database restart or a network cut would, without touching the cluster
# other suites share. While it is down: 503 problem+json with Retry-After,
# and /readyz fails; once it is back the same process answers 200 again
# by itself. SQLite is a file in the process and cannot become
# unreachable, so the SQLite pass has nothing to test. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"

. "$(dirname "$0")/dbutil.sh"
if [ -z "${NUDGE_TEST_PG:-}" ]; then
    echo "# needs PostgreSQL: a SQLite store is a file in the process and cannot become"
    echo "# unreachable; runs in the PostgreSQL pass of tests/run.sh (NUDGE_TEST_PG)"
    echo "1..0"
    exit 0
fi
D=$(mktemp -d)
PID=""; RELAY=""
trap 'kill -9 $PID $RELAY 2>/dev/null; rm -rf "$D"' EXIT
DB=$(test_db "$D")

# The relay: 127.0.0.1:RPORT to the cluster's port; killed, it closes every
# connection it carries.
cat >"$D/relay.py" <<'PY'
import asyncio, sys
lport, rport = int(sys.argv[1]), int(sys.argv[2])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def conn(r, w):
    try:
        ur, uw = await asyncio.open_connection('127.0.0.1', rport)
    except OSError:
        w.close()
        return
    await asyncio.gather(pipe(r, uw), pipe(ur, w))
async def main():
    srv = await asyncio.start_server(conn, '127.0.0.1', lport, reuse_address=True)
    print('ready', flush=True)
    await srv.serve_forever()
asyncio.run(main())
PY
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PGPORT=$(sed -E 's|.*@[^:/]*:([0-9]+)/.*|\1|' <<<"$DB")
start_relay() {
    python3 "$D/relay.py" "$RPORT" "$PGPORT" >"$D/relay.out" 2>&1 &
    RELAY=$!
    for _ in $(seq 1 100); do grep -q ready "$D/relay.out" && return 0; sleep 0.1; done
    return 1
}
check "the relay to the cluster starts" start_relay
VIA=$(sed -E "s|(@[^:/]*:)[0-9]+/|\1$RPORT/|" <<<"$DB")

"$NUDGE" --db "$VIA" --outbox "$D/out" serve --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=""
for _ in $(seq 1 100); do   # waiting for the process to listen, not for a schedule
    PORT=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$D/stderr" 2>/dev/null | grep -o '[0-9]*$')
    [ -n "$PORT" ] && break
    sleep 0.1
done
check "serve listens, its database reached through the relay" test -n "$PORT"
KEY=$(head -n 1 "$D/stdout")
URL="http://127.0.0.1:$PORT"
get() { curl -s -D "$D/h" -o "$D/b" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL$1"; }

check "with the database up: GET /v1/clinic is 200" test "$(get /v1/clinic)" = 200
check "with the database up: /readyz is 200" test "$(get /readyz)" = 200

kill "$RELAY"; wait "$RELAY" 2>/dev/null
code=$(get /v1/clinic)
check "database unreachable: GET /v1/clinic is 503 (got $code)" test "$code" = 503
check "with Retry-After" grep -qi '^Retry-After: [0-9]' "$D/h"
check "as problem+json that names no internals" \
    bash -c "grep -qi '^Content-Type: application/problem+json' '$D/h' &&
             grep -q '\"status\":503' '$D/b' && ! grep -qi 'relation\|postgres\|127.0.0.1' '$D/b'"
code=$(get /v1/patients)
check "every request meanwhile is 503, not 500 (got $code)" test "$code" = 503
code=$(get /readyz)
check "/readyz says so: 503 with Retry-After (got $code)" \
    bash -c "test $code = 503 && grep -qi '^Retry-After:' '$D/h' && grep -q 'cannot be reached' '$D/b'"
check "/healthz still answers 200: the process is alive" test "$(get /healthz)" = 200

check "the relay comes back (the database is reachable again)" start_relay
code=""
for _ in $(seq 1 100); do   # waiting for the reconnect backoff (at most 5 s), not a schedule
    code=$(get /v1/clinic)
    [ "$code" = 200 ] && break
    sleep 0.1
done
check "the same process answers 200 again by itself" test "$code" = 200
check "/readyz is 200 again" test "$(get /readyz)" = 200
check "serve kept running through the outage" kill -0 "$PID"

echo "1..$n"
[ "$failed" -eq 0 ]
