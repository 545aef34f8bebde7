#!/usr/bin/env bash
# faults.sh: nudge under the faults of issue 11. A disk that fills under
# `nudge serve` (a 4 MB tmpfs: writes answer 503 with Retry-After, the
# cause is logged once, reads go on, and writes come back by themselves
# when room returns); a read-only database (the same answers); SIGTERM in
# the middle of a batch (the sends on the wire finish, the rest goes back
# at once, nothing is sent twice); the clock jumping forward a day and
# back an hour (no burst of duplicates, no plan lost). The storage faults
# are SQLite's (PostgreSQL's disk is its server's: its codes 53100, 58030
# and 25006 map to the same answer in pg.c); the rest runs on both
# engines. TAP-style output; about half a minute.
set -u
. "$(dirname "$0")/dbutil.sh"
. "$(dirname "$0")/tap.sh"

D=$(mktemp -d)
PIDS=()
MNT=""
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT

# serve_up DB LOG: `nudge serve` on a free port; sets SPID, URL and KEY.
serve_up() {
    ${RUNAS:-} "$NUDGE" --db "$1" --outbox "$(dirname "$1")/out" serve --listen 127.0.0.1:0 \
        --interval 1 >"$2.out" 2>"$2" &
    SPID=$!
    PIDS+=("$SPID")
    local port=""
    for _ in $(seq 1 100); do   # waiting for the process to listen, not for a schedule
        port=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$2" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$port" ] && break
        sleep 0.1
    done
    URL="http://127.0.0.1:$port"
    [ -s "$2.out" ] && KEY=$(head -n 1 "$2.out")
}
# api METHOD PATH [BODY]: prints the status; the headers in $D/h, the body in $D/b.
api() {
    curl -s -D "$D/h" -o "$D/b" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$URL$2"
}
# wait_for FILE PATTERN: until the log says it (progress, not a schedule; 15 s at most).
wait_for() {
    for _ in $(seq 1 150); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    return 1
}
patient() { printf '{"name":"Patient %s","phone":"+9198%08d"}' "$1" "$1"; }

# ---- 1. The disk fills, then has room again (SQLite on a small tmpfs). ----
storage_faults() {
    MNT=$D/mnt
    mkdir -p "$MNT"
    if ! mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null; then
        MNT=""
        echo "# skip: cannot mount a tmpfs here (needs root): disk-full not tried"
        return 0
    fi
    serve_up "$MNT/n.db" "$D/full.err"
    check "serve runs on a 4 MB tmpfs" test "$(api POST /v1/patients "$(patient 1)")" = 201
    # Fill it: the last write fails with ENOSPC, as a full disk does.
    dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null
    local code="" i
    for i in $(seq 2 40); do   # the WAL's room already taken is used up first
        code=$(api POST /v1/patients "$(patient "$i")")
        [ "$code" != 201 ] && break
    done
    check "a write on a full disk answers 503" test "$code" = 503
    check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$D/h"
    check "... and a problem body, no store details" \
        bash -c "grep -q '\"status\": *503' '$D/b' && ! grep -qi 'sqlite\|disk' '$D/b'"
    api POST /v1/patients "$(patient 98)" >/dev/null
    api POST /v1/patients "$(patient 99)" >"$D/code2"
    check "writes go on answering 503 while it is full" test "$(cat "$D/code2")" = 503
    check "reads go on: GET /v1/patients answers 200" test "$(api GET /v1/patients)" = 200
    check "the cause is logged" wait_for "$D/full.err" 'database cannot write (database or disk is full'
    check "... once" test "$(grep -c 'database cannot write' "$D/full.err")" = 1
    rm -f "$MNT/fill"
    code=""
    for _ in $(seq 1 50); do   # the first write after room returns
        code=$(api POST /v1/patients "$(patient 100)")
        [ "$code" = 201 ] && break
        sleep 0.1
    done
    check "room again: writes go through by themselves (201)" test "$code" = 201
    check "the log says writes go through again" wait_for "$D/full.err" 'writes go through again'
    kill -TERM "$SPID"; wait "$SPID"
    check "serve on a disk that was full stops cleanly" test $? = 0
    check "PRAGMA integrity_check: ok after the full disk" \
        test "$(db_sql "$MNT/n.db" "PRAGMA integrity_check")" = ok
    cp "$MNT/n.db" "$D/saved.db"

    umount "$MNT" && MNT=""
    read_only
}

# A read-only database file (a copy of the last one, with its key): as
# root, file modes stop no write, so nudge runs as nobody there.
read_only() {
    if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
        echo "# skip: a read-only file needs root to switch to nobody here"
        return 0
    fi
    mkdir -p "$D/ro"
    cp "$D/saved.db" "$D/ro/n.db"
    chmod 755 "$D"
    chown -R 65534:65534 "$D/ro"
    chmod 444 "$D/ro/n.db"
    RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups" serve_up "$D/ro/n.db" "$D/ro/err"
    check "a read-only database file: serve starts; reads answer 200" test "$(api GET /v1/patients)" = 200
    check "... writes 503" test "$(api POST /v1/patients "$(patient 101)")" = 503
    check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$D/h"
    check "... and the cause is logged once" wait_for "$D/ro/err" 'database cannot write (attempt to write a readonly'
    api POST /v1/patients "$(patient 102)" >/dev/null
    check "... only once" test "$(grep -c 'database cannot write' "$D/ro/err")" = 1
    kill -TERM "$SPID"; wait "$SPID"
    check "serve on a read-only database stops cleanly" test $? = 0
}

# ---- 2. SIGTERM in the middle of a batch, to a slow provider. ----
sigterm_batch() {
    local db count=300
    mkdir -p "$D/term"
    db=$(test_db "$D/term")
    check "the Twilio fake listens" twilio_fake_start "$D"
    PIDS+=("$FAKE_PID")
    queue_fill "$db" "$D" $count
    # Every send takes 200 ms: a batch of 100 is seconds of sending.
    curl -s -X POST -d '{"default": {"delay_ms": 200}}' "http://127.0.0.1:$FAKE_PORT/_control" >/dev/null
    NUDGE_BATCH_SIZE=100 NUDGE_MAX_IN_FLIGHT=8 "$NUDGE" --db "$db" --outbox "$D/out" worker \
        --interval 1 >/dev/null 2>"$D/term.err" &
    local w=$! t0 ms
    PIDS+=("$w")
    for _ in $(seq 1 150); do   # until the first sends are on the wire
        [ "$(fake_accepted "$D")" -ge 4 ] && break
        sleep 0.1
    done
    t0=$(date +%s%N)
    kill -TERM "$w"; wait "$w"
    local rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    local sent leased pending
    sent=$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'")
    leased=$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sending'")
    pending=$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'pending'")
    echo "# SIGTERM mid-batch: stopped in $ms ms with $sent sent, $pending back to pending"
    check "the worker stops on SIGTERM mid-batch, exit 0" test "$rc" = 0
    check "... without sending the rest of its batch (stopped in ${ms} ms)" test "$sent" -lt 100
    check "... and leaves nothing leased: what it never handed off is pending again" \
        test "$leased" = 0 -a $((sent + pending)) = $count
    check "nothing it sent counts a lost attempt" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = 'lease_expired'")" = 0
    curl -s -X POST -d '{"default": null}' "http://127.0.0.1:$FAKE_PORT/_control" >/dev/null
    "$NUDGE" --db "$db" --outbox "$D/out" tick >/dev/null 2>>"$D/term.err"
    "$NUDGE" --db "$db" --outbox "$D/out" tick >/dev/null 2>>"$D/term.err"
    "$NUDGE" --db "$db" --outbox "$D/out" tick >/dev/null 2>>"$D/term.err"
    check "the next ticks send the rest" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'")" = $count
    check "each message reached the provider once" test -z "$(fake_repeats "$D")"
    kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
}

# ---- 3. The clock jumps forward a day, then back an hour. ----
clock_jumps() {
    local db c p
    # SMS through the outbox here, not the Twilio fake of the last part.
    unset NUDGE_TWILIO_BASE_URL NUDGE_TWILIO_ACCOUNT_SID NUDGE_TWILIO_AUTH_TOKEN NUDGE_TWILIO_FROM
    mkdir -p "$D/clock"
    db=$(test_db "$D/clock")
    N() { "$NUDGE" --db "$db" --outbox "$D/clock" "$@"; }
    c=$(N clinic add --name "Clock Clinic" --timezone UTC --country IN 2>>"$D/clock.err")
    p=$(N patient add --clinic "$c" --name "Ram Lal" --phone 9876543210 2>>"$D/clock.err")
    # Visits over two days, booked at 2026-12-01 08:00: each plans its
    # confirmation and reminders ahead.
    local at
    for at in 2026-12-01T15:00:00Z 2026-12-02T09:00:00Z 2026-12-02T12:00:00Z 2026-12-02T16:00:00Z \
        2026-12-03T10:00:00Z; do
        N appointment add --patient "$p" --service "Teeth Cleaning" --at "$at" \
            --now 2026-12-01T08:00:00Z >/dev/null 2>>"$D/clock.err"
    done
    local plans
    plans=$(db_sql "$db" "SELECT COUNT(*) FROM reminders")
    N tick --now 2026-12-01T08:00:00Z >/dev/null 2>>"$D/clock.err"
    N tick --now 2026-12-02T08:00:00Z >/dev/null 2>>"$D/clock.err"   # a day forward
    local after_jump
    after_jump=$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'")
    N tick --now 2026-12-02T07:00:00Z >/dev/null 2>>"$D/clock.err"   # an hour back
    N tick --now 2026-12-02T07:30:00Z >/dev/null 2>>"$D/clock.err"
    check "the clock back an hour sends nothing again" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'")" = "$after_jump"
    local t
    for t in 2026-12-02T08:00:00Z 2026-12-02T10:00:00Z 2026-12-02T14:00:00Z 2026-12-02T20:00:00Z \
        2026-12-03T08:00:00Z 2026-12-03T12:00:00Z 2026-12-04T12:00:00Z; do
        N tick --now "$t" >/dev/null 2>>"$D/clock.err"
    done
    echo "# clock jumps: $plans plans, $after_jump sent after a day forward"
    check "no notification went twice" test -z "$(db_sql "$db" \
        "SELECT notification_id FROM delivery_attempts WHERE outcome = 'sent' GROUP BY notification_id HAVING COUNT(*) > 1")"
    check "no plan made two notifications" test -z "$(db_sql "$db" \
        "SELECT reminder_id FROM notification_queue WHERE reminder_id IS NOT NULL GROUP BY reminder_id HAVING COUNT(*) > 1")"
    check "no plan lost: every plan was acted on (enqueued, or expired when its moment passed)" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM reminders WHERE status = 'planned'")" = 0
    check "every plan enqueued was sent" test -z "$(db_sql "$db" \
        "SELECT r.id FROM reminders r JOIN notification_queue q ON q.id = r.notification_id WHERE q.status <> 'sent'")"
    check "the day forward sent what came due in it" test "$after_jump" -ge 2
}

# ---- 4. The SMTP server closes the connection in the middle of DATA. ----
# A few lines of SMTP: the first session hangs up after the first line of
# the message; later sessions take it. Each message taken is a line of
# DIR/smtp.taken.
smtp_cut_start() {
    python3 -u - "$1" >"$1/smtp.out" 2>"$1/smtp.err" <<'PY' &
import socket, sys
d = sys.argv[1]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print("READY", srv.getsockname()[1], flush=True)
session = 0
while True:
    c, _ = srv.accept()
    session += 1
    f = c.makefile("rb")
    say = lambda t: c.sendall(t.encode() + b"\r\n")
    try:
        say("220 cut.example ESMTP")
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                say("250-cut.example\r\n250 8BITMIME")
            elif cmd == b"DATA":
                say("354 go on")
                if session == 1:
                    f.readline()  # one line of the message, then the line goes dead
                    c.shutdown(socket.SHUT_RDWR)
                    break
                while f.readline() not in (b".\r\n", b""):
                    pass
                say("250 taken")
                open(d + "/smtp.taken", "a").write("taken\n")
            elif cmd == b"QUIT":
                say("221 bye")
                break
            else:
                say("250 ok")
    except OSError:
        pass
    c.close()
PY
    SMTP_PID=$!
    PIDS+=("$SMTP_PID")
    SMTP_PORT=$(ready_port "$1/smtp.out")
    [ -n "$SMTP_PORT" ]
}

smtp_cut() {
    local db c p later
    mkdir -p "$D/smtp"
    db=$(test_db "$D/smtp")
    check "an SMTP server that hangs up mid-DATA listens" smtp_cut_start "$D/smtp"
    N() { NUDGE_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" NUDGE_SMTP_FROM=clinic@example.com \
        "$NUDGE" --db "$db" --outbox "$D/smtp/out" "$@"; }
    c=$(N clinic add --name "Mail Clinic" --timezone UTC --country IN 2>>"$D/smtp.err")
    p=$(N patient add --clinic "$c" --name "Ram Lal" --email ram@example.com 2>>"$D/smtp.err")
    N send --patient "$p" --template prescription_ready --channel email --priority urgent \
        >/dev/null 2>>"$D/smtp.err"
    N tick >"$D/smtp/tick1" 2>>"$D/smtp.err"
    check "the cut is a transient failure: the message waits for its retry" \
        test "$(db_sql "$db" "SELECT status || ' ' || attempts FROM notification_queue")" = "pending 1"
    check "... its attempt recorded as transient" \
        test "$(db_sql "$db" "SELECT outcome FROM delivery_attempts")" = transient
    later=$(date -u -d '+6 min' +%FT%TZ)
    N tick --now "$later" >/dev/null 2>>"$D/smtp.err"
    check "the retry goes through, once" \
        test "$(db_sql "$db" "SELECT status FROM notification_queue")" = sent -a \
        "$(cat "$D/smtp/smtp.taken" 2>/dev/null | wc -l)" = 1
    kill "$SMTP_PID"
}

# ---- 5. A provider slower than the send timeout (30 s). ----
slow_provider() {
    local db later
    mkdir -p "$D/slow"
    db=$(test_db "$D/slow")
    check "the Twilio fake listens" twilio_fake_start "$D/slow"
    PIDS+=("$FAKE_PID")
    queue_fill "$db" "$D/slow" 3
    # The first send is answered after 35 s; the others at once.
    curl -s -X POST -d '{"next": [{"delay_ms": 35000}]}' \
        "http://127.0.0.1:$FAKE_PORT/_control" >/dev/null
    local t0=$SECONDS
    "$NUDGE" --db "$db" --outbox "$D/slow/out" tick >/dev/null 2>"$D/slow.err"
    local took=$((SECONDS - t0))
    echo "# slow provider: the tick took ${took} s"
    check "a provider slower than the timeout does not hold the tick past it (${took} s)" \
        test "$took" -lt 34
    check "the others went meanwhile; the slow one waits for a retry" \
        test "$(db_sql "$db" "SELECT status, COUNT(*) FROM notification_queue GROUP BY status ORDER BY status" |
            tr '\n' ' ')" = "pending|1 sent|2 "
    check "... its attempt recorded as transient" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = 'transient'")" = 1
    later=$(date -u -d '+6 min' +%FT%TZ)
    "$NUDGE" --db "$db" --outbox "$D/slow/out" tick --now "$later" >/dev/null 2>>"$D/slow.err"
    check "the retry sends it" \
        test "$(db_sql "$db" "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'")" = 3
    kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
}

if [ -z "${NUDGE_TEST_PG:-}" ]; then
    storage_faults
else
    echo "# storage faults: SQLite's (PostgreSQL's disk is its server's); not run on PostgreSQL"
fi
sigterm_batch
smtp_cut
slow_provider
clock_jumps
check "no sanitizer report in any log" bash -c "! grep -rq 'Sanitizer\|runtime error' '$D' --include='*err*'"
echo "1..$n"
[ $failed = 0 ]
