#!/usr/bin/env bash
# slowclients.sh: issue 11's slow and hostile clients against `nudge serve`.
# First the single requests that used to hang or forge a log line (a
# request line of NUL bytes, a 15 KB URL, a %0a in the path); then 2,000
# connections from tests/slowclients.py (idle, dripping a request line, a
# header or a body a byte every 0.5 s, half-closed) from 40 loopback
# addresses (127.1.0.x), and 100 more from one address, while a normal
# client asks /healthz and an authenticated /v1/clinic: every normal
# request must be answered, every hostile connection closed by the server,
# none left in CLOSE-WAIT. The limits are set low (1,000 connections, 2-3 s phases) so
# the run takes seconds; latencies are printed as measurements, not
# judged. SLOWCLIENTS_N changes the number of connections. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/dbutil.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
N=${SLOWCLIENTS_N:-2000}

if ! python3 -c 'import socket; socket.socket().bind(("127.1.0.1", 0))' 2>/dev/null; then
    ok "slow clients # SKIP loopback addresses such as 127.1.0.1 cannot be bound here"
    echo "1..$n"
    exit 0
fi

D=$(mktemp -d)
DB=$(test_db "$D")
PID=""
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$D"' EXIT
NUDGE_HTTP_MAX_CONNECTIONS=1000 NUDGE_HTTP_MAX_PER_CLIENT=64 NUDGE_HTTP_HEAD_TIMEOUT=3 \
    NUDGE_HTTP_BODY_TIMEOUT=3 NUDGE_HTTP_IDLE_TIMEOUT=4 \
    "$NUDGE" --db "$DB" --outbox "$D/out" serve --demo --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
check "serve listens" test -n "$PORT"
KEY=$(head -n 1 "$D/stdout")
URL="http://127.0.0.1:$PORT"

# One raw request; prints the answer's status, or "none" if the server
# closed without one or said nothing for 10 s (its idle timeout is 4 s).
raw() {
    python3 - "$PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(eval(sys.argv[2]))
try:
    got = s.recv(200)
except OSError:
    got = b""
parts = got.split(b" ")
print(parts[1].decode() if len(parts) > 1 and got.startswith(b"HTTP/") else "none")
EOF
}
code=$(raw 'b"\0" * 64 + b"\r\n"')
check "a request line of NUL bytes is answered 400, not held (got $code)" test "$code" = 400
code=$(raw 'b"GET /v1/patients?q=" + b"a" * 15000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"')
check "a 15 KB URL is answered 414 (got $code)" test "$code" = 414
code=$(raw 'b"GET /healthz HTTP/1.1\r\nHost: x\r\n"')
check "a head that never ends is answered 408 after the head timeout (got $code)" test "$code" = 408

# Log forgery: the path decodes to a newline and a line of its own.
curl -s -o /dev/null --path-as-is "$URL/v1/x%0anudge:%20http%20POST%20/v1/keys%20201"
curl -s -o /dev/null -X $'GET\x1b[2J' "$URL/healthz"
no_forged() { ! grep -q '^nudge: http POST' "$D/stderr" && ! grep -q $'\x1b' "$D/stderr"; }
check "a %0a in the path forges no access-log line, an escape byte reaches no log" no_forged
check "the path is logged escaped, as one logfmt line" \
    grep -Fq 'path="/v1/x\nnudge: http POST /v1/keys 201" status=404' "$D/stderr"
LOGFMT='^nudge: http method="([^"\\]|\\.)*" path="([^"\\]|\\.)*" status=[0-9]+ ms=[0-9.]+ key=[-0-9a-f]+ client=[0-9.]+$'
all_logfmt() {
    grep '^nudge: http ' "$D/stderr" | grep -v '^nudge: http guard ' >"$D/access"
    [ -s "$D/access" ] && ! grep -Evq "$LOGFMT" "$D/access"
}
check "every access-log line is logfmt with the same keys" all_logfmt

# The flood.
python3 "$HERE/slowclients.py" "$PORT" "$KEY" --pid "$PID" --hostile "$N" >"$D/result" 2>"$D/client.err"
val() { sed -n "s/^$1=//p" "$D/result"; }
if [ -n "$(val SKIP)" ]; then
    ok "slow clients # SKIP $(val SKIP)"
else
    check "all $N hostile connections were opened (the server kept accepting)" \
        test "$(val OPENED)" = "$N" -a "$(val CONNECT_FAILED)" = 0
    check "every normal request was answered 200 ($(val NORMAL_OK) of $(val NORMAL_SENT); failed: $(val NORMAL_FAILED))" \
        test "$(val NORMAL_OK)" = "$(val NORMAL_SENT)" -a "$(val NORMAL_SENT)" -gt 0
    check "/healthz and an authenticated client were both answered" \
        test "$(val NORMAL_HEALTHZ_OK)" -gt 0 -a "$(val NORMAL_AUTH_OK)" -gt 0
    check "10 or more of them while 500 or more hostile connections were open ($(val NORMAL_OK_UNDER_ATTACK))" \
        test "$(val NORMAL_OK_UNDER_ATTACK)" -ge 10
    for k in IDLE LINE HEAD BODY HALF; do
        check "the server closed every ${k,,} connection ($(val ${k}_CLOSED) of $(val ${k}_OPENED): $(val ${k}_ENDS))" \
            test "$(val ${k}_CLOSED)" = "$(val ${k}_OPENED)"
    done
    check "dripping a request line ends in 400, a header or a body in 408" bash -c \
        "grep -q '^LINE_ENDS=.*400:' '$D/result' && grep -q '^HEAD_ENDS=.*408:' '$D/result' &&
         grep -q '^BODY_ENDS=.*408:' '$D/result'"
    check "half-closed connections are closed for their FIN, not timed out ($(val HALF_ENDS))" \
        bash -c "! grep -q '^HALF_ENDS=.*408:' '$D/result'"
    check "one address holds at most 64 connections ($(val SAME_ACCEPTED) held, $(val SAME_REFUSED) refused)" \
        test "$(val SAME_ACCEPTED)" -le 64 -a "$(val SAME_REFUSED)" -ge 36
    check "no socket is left in CLOSE-WAIT ($(val CLOSE_WAIT_AFTER))" test "$(val CLOSE_WAIT_AFTER)" = 0
    check "the server never held every hostile connection (peak $(val PEAK_SERVER_FDS) open files)" \
        test "$(val PEAK_SERVER_FDS)" -lt "$N"
    check "the guard said what it closed, in a bounded number of lines" bash -c \
        "n=\$(grep -c '^nudge: http guard closed=' '$D/stderr'); [ \$n -ge 1 ] && [ \$n -le 40 ]"
    echo "# measurements (not judged): normal client median $(val NORMAL_MS_MEDIAN) ms," \
        "p95 $(val NORMAL_MS_P95) ms, max $(val NORMAL_MS_MAX) ms, under 100 ms: $(val NORMAL_UNDER_100MS)"
    echo "# hostile: opened in $(val OPENED_IN_S) s, peak open $(val PEAK_OPEN), longest lives (s):" \
        "idle $(val IDLE_LIFE_MAX_S), line $(val LINE_LIFE_MAX_S), head $(val HEAD_LIFE_MAX_S)," \
        "body $(val BODY_LIFE_MAX_S), half-closed $(val HALF_LIFE_MAX_S); run $(val ELAPSED_S) s"
fi
[ -s "$D/client.err" ] && sed 's/^/# client: /' "$D/client.err" | head -n 5

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz")
check "after the flood /healthz still answers 200" test "$code" = 200
kill -TERM $PID
wait $PID; rc=$?
PID=""
check "serve stops cleanly after the flood" test "$rc" = 0

echo "1..$n"
[ "$failed" -eq 0 ]
