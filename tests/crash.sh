#!/usr/bin/env bash
# crash.sh: the crash loop (issue 11). CRASH_N due notifications (default
# 2,000; `make soak` 100,000) go to the Twilio fake while the suite SIGKILLs
# `nudge serve` at random instants CRASH_KILLS times (default 10; soak
# 1,000) and starts it again at once. Afterwards: every notification sent;
# each repeat at the fake matched to a recorded retry (a lease_expired
# attempt naming a dead worker); repeats no more than the sends that can be
# on the wire at a kill (max_in_flight); the queue drained well inside one
# lease (what a dead worker never handed to the provider comes back at
# once, not after its lease); and on SQLite `PRAGMA integrity_check` ok.
# Runs on both engines (tests/run.sh: SQLite, then PostgreSQL). TAP-style.
# Alone in run.sh's pool: a send the fake does not answer within nudge's
# client timeout (30 s) is a transient failure, retried after 5 minutes, past the
# drain's 2. Beside the sanitizer build's cli.sh, 9 of 2,000 were left
# unsent once, and the kill loop took 40 s where it takes 3: most likely
# the process or the fake stalled and those sends timed out (the check
# below now prints the unsent rows, to tell if it happens again).
# run.sh: alone
set -u
. "$(dirname "$0")/dbutil.sh"
. "$(dirname "$0")/tap.sh"

N=${CRASH_N:-2000}
KILLS=${CRASH_KILLS:-10}
INFLIGHT=32    # nudge's default max_in_flight: the sends a kill can catch on the wire
LEASE=3600     # an hour: a run that waited for a dead worker's lease would not end
D=$(mktemp -d)
DB=$(test_db "$D")
PIDS=()
SERVE=""
trap 'for p in "${PIDS[@]}" $SERVE; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; [ -n "${CRASH_KEEP:-}" ] && echo "# kept $D" || rm -rf "$D"' EXIT
sql() { db_sql "$DB" "$1"; }
sent() { sql "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'"; }

check "the Twilio fake listens" twilio_fake_start "$D"
PIDS+=("$FAKE_PID")
queue_fill "$DB" "$D" "$N"
check "$N messages queued" test "$(sql "SELECT COUNT(*) FROM notification_queue WHERE status = 'pending'")" = "$N"

STARTS=0
serve_start() {
    NUDGE_LEASE_SECONDS=$LEASE "$NUDGE" --db "$DB" --outbox "$D/out" serve \
        --listen none --interval 1 >>"$D/serve.out" 2>>"$D/serve.err" &
    SERVE=$!
    STARTS=$((STARTS + 1))
}
# Until the newest serve has set up its signal handlers (it says "stop with
# SIGTERM" then): a SIGTERM before that ends it by the default action.
# Waiting for the process to start, not for a schedule (10 s at most).
serve_ready() {
    for _ in $(seq 1 100); do
        [ "$(grep -c 'stop with SIGTERM' "$D/serve.err")" -ge "$STARTS" ] && return 0
        sleep 0.1
    done
    return 1
}

# Each kill comes once the fake has taken a few more messages since the
# last start (the new serve is sending), then after a random 0-90 ms:
# inside a batch, at any point of it. Waiting here is for progress, not
# for a schedule.
start=$(date +%s)
step=$((N / (20 * KILLS) > 0 ? N / (20 * KILLS) : 1))
kills=0
serve_start
for k in $(seq 1 "$KILLS"); do
    [ "$(sent)" -ge "$N" ] && break   # drained already: say so below
    base=$(fake_accepted "$D")
    for _ in $(seq 1 600); do
        [ "$(fake_accepted "$D")" -ge $((base + step)) ] && break
        sleep 0.05
    done
    sleep "0.0$((RANDOM % 10))"
    if kill -9 "$SERVE" 2>/dev/null; then
        kills=$((kills + 1))
        wait "$SERVE" 2>/dev/null
    else
        wait "$SERVE"
        echo "# serve had exited by itself (status $?); its log, sends left out:"
        grep -v ' sent$' "$D/serve.err" | tail -n 5 | sed 's/^/#   /'
    fi
    serve_start
done
# The last one drains the rest (2 minutes, or a minute per 10,000 in a
# soak: far inside one lease).
for _ in $(seq 1 $((N / 17 > 1200 ? N / 17 : 1200))); do
    [ "$(sent)" -ge "$N" ] && break
    sleep 0.1
done
elapsed=$(($(date +%s) - start))
serve_ready
kill -TERM "$SERVE"; wait "$SERVE"; rc=$?
SERVE=""
accepted=$(fake_accepted "$D")
fake_repeats "$D" | sort >"$D/dups"
dups=$(wc -l <"$D/dups")
lost=$(sql "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = 'lease_expired'")
echo "# $N messages, $kills kills of nudge serve: drained in ${elapsed} s; the fake accepted $accepted, $dups recipients twice; $lost attempts lost at a kill"

# A fast machine can drain a soak's queue before its last kills: every
# kill until then counts, and at least half of those asked for.
check "nudge serve was killed $kills times (asked for $KILLS; fewer only if the queue drained first)" \
    test "$kills" = "$KILLS" -o \( "$kills" -ge $((KILLS / 2)) -a "$(sent)" -ge "$N" \)
if [ "$(sent)" = "$N" ]; then
    ok "every notification sent"
else
    # What held the rest back: their state, attempts, last error and when
    # they are due, against the clock (seen once, 9 of 2,000 under the
    # sanitizers in a loaded run).
    not_ok "every notification sent" "$(sent) of $N sent; the rest:" \
        "$(sql "SELECT status || ' attempts ' || attempts || ' due in ' || (due_at - $(date +%s)) ||
                ' s: ' || COALESCE(last_error, '') FROM notification_queue WHERE status <> 'sent'
                ORDER BY id LIMIT 10" | tr '\n' ';')" \
        "their attempts: $(sql "SELECT a.outcome || ' ' || COALESCE(a.detail, '') FROM delivery_attempts a
                JOIN notification_queue q ON q.id = a.notification_id WHERE q.status <> 'sent'
                ORDER BY a.id LIMIT 20" | tr '\n' ';')"
fi
check "drained well inside one lease (${elapsed} s < $LEASE s): nothing waited for a dead worker's lease" \
    test "$elapsed" -lt "$LEASE"
check "the last serve stopped cleanly on SIGTERM" test "$rc" = 0
check "no attempt waited out a lease: every lost one was a dead worker's, released at once" \
    test "$(sql "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = 'lease_expired' AND
                 detail NOT LIKE '%died during the send'")" = 0
sql "SELECT DISTINCT q.recipient FROM notification_queue q JOIN delivery_attempts a ON
     a.notification_id = q.id WHERE a.outcome = 'lease_expired' AND a.detail LIKE '%died during the send'" |
    sort >"$D/retried"
check "each repeat at the fake is a recorded retry after a worker died during the send" \
    test -z "$(comm -23 "$D/dups" "$D/retried")"
check "no more repeats than the sends in flight at the kills ($dups <= $kills x $INFLIGHT)" \
    test "$dups" -le $((kills * INFLIGHT))
check "no more lost attempts than the sends in flight at the kills" \
    test "$lost" -le $((kills * INFLIGHT))
check "each message reached the fake once, plus its recorded retries" \
    test "$accepted" -le $((N + lost))
check "nothing left leased" test "$(sql "SELECT COUNT(*) FROM notification_queue WHERE status = 'sending'")" = 0
check "no sanitizer report in serve's log" bash -c "! grep -q 'Sanitizer\|runtime error' '$D/serve.err'"
if db_is_pg "$DB"; then
    check "the database answers after the kills" test "$(sql "SELECT 1")" = 1
else
    check "PRAGMA integrity_check: ok" test "$(sql "PRAGMA integrity_check")" = ok
fi
echo "1..$n"
[ $failed = 0 ]
