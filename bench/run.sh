#!/usr/bin/env bash
# bench/run.sh: nudge's end-to-end throughput beside the fake's own ceiling,
# in one run, on loopback only (see bench/README.md).
#
#   bench/run.sh            N = 100000 messages
#   bench/run.sh 10000      a quick run
#
# Environment: INFLIGHT (max_in_flight, and wrk's connections; 32), BATCH
# (the dispatcher's batch size; 100), PATIENTS (5000), WRK_SECONDS (20),
# NUDGE_TIMEOUT (seconds the nudge phase may take; 3600), BURST (1: then N
# reminders due at once, planned and sent by the same loop; bench.sh sets it).
#
# Steps: install wrk if missing (apt-get as root; otherwise it prints the
# command and stops), build $BUILD/bench/throughput (BUILD: build),
# start tests/twilio_fake.py on 127.0.0.1, let wrk POST the same form body
# with the same Basic auth over INFLIGHT connections for WRK_SECONDS, then
# let nudge send N due notifications to the same fake, stop the fake and
# print one table.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
INFLIGHT=${INFLIGHT:-32}
BATCH=${BATCH:-100}
PATIENTS=${PATIENTS:-5000}
WRK_SECONDS=${WRK_SECONDS:-20}
NUDGE_TIMEOUT=${NUDGE_TIMEOUT:-3600}
PYTHON=/usr/bin/python3
SID=AC0123456789abcdef0123456789abcdef # what build/bench/throughput uses
TOKEN=bench-auth-token
BUILD=${BUILD:-build}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case $N in '' | *[!0-9]*) die "usage: bench/run.sh [N]  (N a positive number)" ;; esac

# ---- what it needs ----
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing wrk"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
    else
        die "wrk is missing: run  sudo apt-get install -y wrk  and try again"
    fi
fi
[ -x "$PYTHON" ] || die "$PYTHON is missing (the Twilio fake runs on it)"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) is missing"

say "building"
make --no-print-directory "$BUILD/bench/throughput" >&2
BIN=$BUILD/bench/throughput

# ---- the fake ----
TMP=$(mktemp -d /tmp/nudge-bench-run-XXXXXX)
FAKE_PID=
cleanup() {
    if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Its stderr (tracebacks of connections wrk resets when it stops) goes to
# a file, shown only if something fails.
"$PYTHON" tests/twilio_fake.py --port 0 --account-sid "$SID" --auth-token "$TOKEN" \
    --keep 100 >"$TMP/fake.out" 2>"$TMP/fake.err" &
FAKE_PID=$!
PORT=
for _ in $(seq 200); do
    PORT=$(awk '/^READY/ {print $2}' "$TMP/fake.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    kill -0 "$FAKE_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$PORT" ] || { cat "$TMP/fake.err" >&2; die "the Twilio fake did not start"; }
BASE=http://127.0.0.1:$PORT
MESSAGES_URL=$BASE/2010-04-01/Accounts/$SID/Messages.json

stats() { # accepted requests
    "$PYTHON" -c 'import json,sys,urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/_stats", timeout=30))
print(s["accepted"], s["requests"])' "$BASE"
}

# ---- the fake's ceiling, with wrk ----
BENCH_AUTH=$(printf '%s:%s' "$SID" "$TOKEN" | base64 -w0)
export BENCH_AUTH
# run_wrk NAME FORM: wrk POSTs the form for WRK_SECONDS, its output into
# $TMP/NAME.out.
run_wrk() {
    say "wrk: ${WRK_SECONDS}s, ${INFLIGHT} connections, POST ${#2}-byte form to $MESSAGES_URL"
    BENCH_FORM=$2 timeout $((WRK_SECONDS + 60)) wrk -t1 -c"$INFLIGHT" -d"${WRK_SECONDS}s" \
        --timeout 30s --latency -s bench/twilio_post.lua "$MESSAGES_URL" >"$TMP/$1.out" ||
        { cat "$TMP/$1.out" >&2; die "wrk failed"; }
    awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$TMP/$1.out"
}
read -r ACC0 REQ0 < <(stats)
WRK_RATE=$(run_wrk wrk "$("$BIN" -F)")
read -r ACC1 REQ1 < <(stats)
WRK_ACCEPTED=$((ACC1 - ACC0))
WRK_REQUESTS=$((REQ1 - REQ0))
# The burst's messages are reminders, longer than the form above (two
# segments): the fake's ceiling for them, in the same run.
WRK_BURST_RATE=
[ "${BURST:-0}" = 1 ] && WRK_BURST_RATE=$(run_wrk wrk-burst "$("$BIN" -F -r)")

# wrk prints latencies as 812.00us, 7.43ms, 1.02s or 1.50m: in ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.1f", n }'
}
WRK_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$TMP/wrk.out")")
WRK_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out")")
WRK_ERRORS=$(awk '/Non-2xx|Socket errors/' "$TMP/wrk.out" | tr -s ' ' | paste -sd ';' -)
[ -n "$WRK_RATE" ] || { cat "$TMP/wrk.out" >&2; die "could not read wrk's output"; }
[ "${BURST:-0}" != 1 ] || [ -n "$WRK_BURST_RATE" ] ||
    { cat "$TMP/wrk-burst.out" >&2; die "could not read wrk's output"; }

# ---- nudge ----
# run_nudge NAME WHAT ARGS...: the binary on the fake, its key=value lines
# into $TMP/NAME.out.
run_nudge() {
    local name=$1 what=$2 rc
    shift 2
    say "nudge: $what, in-flight $INFLIGHT, batch $BATCH"
    set +e
    timeout "$NUDGE_TIMEOUT" "$BIN" "$@" -j "$INFLIGHT" -b "$BATCH" -u "$BASE" >"$TMP/$name.out"
    rc=$?
    set -e
    [ "$rc" = 124 ] && die "$what did not finish within ${NUDGE_TIMEOUT}s"
    grep -q '^ok=' "$TMP/$name.out" || { cat "$TMP/fake.err" >&2; die "$what: the run failed (exit $rc)"; }
}
run_nudge nudge "$N notifications, $PATIENTS patients" -n "$N" -p "$PATIENTS"
val() { awk -F= -v k="$1" '$1 == k {print $2}' "$TMP/nudge.out"; }

# ---- the burst (BURST=1): N reminders due at once, planned and sent ----
# Issue 16's "50,000 reminders all due at 09:00": the same loop from the
# instant they come due, the planner making them messages as the first go
# out (throughput -r).
[ "${BURST:-0}" = 1 ] && run_nudge burst "$N reminders due at once, planned and sent" -r -n "$N"
bval() { awk -F= -v k="$1" '$1 == k {print $2}' "$TMP/burst.out"; }

kill "$FAKE_PID" 2>/dev/null || true
wait "$FAKE_PID" 2>/dev/null || true
FAKE_PID=

# ---- the table ----
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
SQLITE=$(pkg-config --modversion sqlite3 2>/dev/null || echo '?')
CURLV=$(pkg-config --modversion libcurl 2>/dev/null || echo '?')
if [ "$(val ok)" = 1 ]; then
    CHECK="every one of $(val n) sent exactly once; the fake accepted $(val fake_accepted) of $(val fake_requests) requests"
else
    CHECK="FAILED: sent once $(val sent_once), twice $(val sent_twice), never $(val never_sent), other outcomes $(val other_outcomes), status sent $(val status_sent) / pending $(val status_pending) / failed $(val status_failed), fake accepted $(val fake_accepted) of $(val fake_requests)"
fi
PCT=$(awk -v a="$(val rate)" -v b="$WRK_RATE" 'BEGIN {printf "%.0f", (b > 0 ? 100 * a / b : 0)}')

printf '\n'
printf 'machine: %s, nproc %s, %s, SQLite %s, libcurl %s\n' "$CPU" "$NPROC" "$(uname -sr)" \
    "$SQLITE" "$CURLV"
printf 'N %s, in-flight %s, batch %s, patients %s; nudge setup (enqueue, not timed below) %s s\n' \
    "$(val n)" "$INFLIGHT" "$BATCH" "$(val patients)" "$(val setup_s)"
printf '\n'
printf '%-26s %20s %20s\n' "" "nudge" "fake ceiling (wrk)"
printf '%-26s %20s %20s\n' "messages | requests / s" "$(val rate)" "$WRK_RATE"
printf '%-26s %20s %20s\n' "p50 ms" "$(val p50_ms)" "$WRK_P50"
printf '%-26s %20s %20s\n' "p99 ms" "$(val p99_ms)" "$WRK_P99"
printf '%-26s %20s %20s\n' "peak RSS KiB" "$(val rss_kb)" "-"
printf '%-26s %20s %20s\n' "sent | requests" "$(val n)" "$WRK_REQUESTS"
printf '%-26s %20s %20s\n' "in flight | connections" "$(val in_flight)" "$INFLIGHT"
printf '%-26s %20s %20s\n' "batch" "$(val batch)" "-"
printf '%-26s %20s %20s\n' "seconds" "$(val send_s)" "$WRK_SECONDS"
printf '%-26s %20s %20s\n' "CPU us / message" "$(val cpu_us_per_msg)" "-"
printf '\n'
printf 'nudge reaches %s%% of the fake'"'"'s ceiling.\n' "$PCT"
printf 'nudge p50/p99: from due to sent (all N due at the same second, so queueing included);\n'
printf 'wrk p50/p99: one request'"'"'s round trip. RSS: nudge'"'"'s whole process (ru_maxrss).\n'
printf 'check: %s\n' "$CHECK"
if [ "${BURST:-0}" = 1 ]; then
    printf 'burst: %s reminders due at once, planned and sent: the last after %s s (%s/s; the fake'"'"'s ceiling for them %s req/s), first after %s ms; %s\n' \
        "$(bval n)" "$(bval send_s)" "$(bval rate)" "$WRK_BURST_RATE" "$(bval first_ms)" \
        "$([ "$(bval ok)" = 1 ] && echo "each planned once and sent once" || echo "CHECK FAILED (planned $(bval planned), sent once $(bval sent_once), twice $(bval sent_twice), never $(bval never_sent))")"
fi
printf 'wrk: %s requests answered 201 by the fake%s\n' "$WRK_ACCEPTED" \
    "${WRK_ERRORS:+ (wrk: $WRK_ERRORS)}"
# RESULT_JSON: the figures as one JSON line, for bench/bench.sh's table.
if [ -n "${RESULT_JSON:-}" ]; then
    printf '{"bench":"twilio","n":%s,"rate":%s,"p50_ms":%s,"p99_ms":%s,"send_s":%s,"wrk_rate":%s,"wrk_p99_ms":%s,"ok":%s}\n' \
        "$(val n)" "$(val rate)" "$(val p50_ms)" "$(val p99_ms)" "$(val send_s)" "$WRK_RATE" \
        "$WRK_P99" "$(val ok)" >"$RESULT_JSON"
    [ "${BURST:-0}" = 1 ] &&
        printf '{"bench":"burst","n":%s,"rate":%s,"send_s":%s,"first_ms":%s,"p50_ms":%s,"p99_ms":%s,"setup_s":%s,"wrk_rate":%s,"ok":%s}\n' \
            "$(bval n)" "$(bval rate)" "$(bval send_s)" "$(bval first_ms)" "$(bval p50_ms)" \
            "$(bval p99_ms)" "$(bval setup_s)" "$WRK_BURST_RATE" "$(bval ok)" >>"$RESULT_JSON"
fi
[ "$(val ok)" = 1 ] && { [ "${BURST:-0}" != 1 ] || [ "$(bval ok)" = 1 ]; }
