# tap.sh: what the shell suites share (sourced, not a suite): the binary
# under test, and TAP-style "ok N - what" / "not ok N - what" lines that
# tests/run.sh counts.
NUDGE=${NUDGE:-build/nudge}
[[ $NUDGE = /* ]] || NUDGE="$PWD/$NUDGE"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "  # $l"; done; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what" "command: $*"; fi; }
# The port a `nudge serve --listen 127.0.0.1:0` says it took in its log
# (stderr file $1), waiting up to 10 s for it to listen; empty if it did not.
serve_port() {
    local p=""
    for _ in $(seq 1 100); do   # waiting for the process to listen, not for a schedule
        p=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$p" ] && break
        sleep 0.1
    done
    echo "$p"
}


# ---- The queue suites' helpers (workers.sh, crash.sh, faults.sh); those
# taking a database need tests/dbutil.sh sourced first. ----

# db_sql DB SQL: runs SQL on the database's engine; rows as a|b lines.
db_sql() {
    if db_is_pg "$1"; then "$PSQL" -X -At -q "$1" -c "$2"
    else sqlite3 -batch -cmd ".timeout 10000" "$1" "$2"; fi
}

# ready_port FILE: the port a fake announces in FILE ("READY <port>"),
# once it listens (10 s at most: waiting for it, not for a schedule).
ready_port() {
    local port=""
    for _ in $(seq 1 100); do
        port=$(grep -o '^READY [0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$port" ] && break
        sleep 0.1
    done
    echo "$port"
}

# twilio_fake_start DIR: the Twilio fake on a free port, recording every
# request in DIR/requests.jsonl. Sets FAKE_PID and FAKE_PORT; the caller
# kills FAKE_PID at its exit, and exports nudge's settings pointing at it
# (exported, not a wrapper: `nudge ... &` must give the suite nudge's pid).
TWILIO_SID=AC0123456789abcdef0123456789abcdef
TWILIO_TOKEN=fake_token_0123456789
twilio_fake_start() {
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/twilio_fake.py" --port 0 \
        --account-sid $TWILIO_SID --auth-token $TWILIO_TOKEN --dir "$1" --keep 1 \
        >"$1/fake.out" 2>"$1/fake.err" &
    FAKE_PID=$!
    FAKE_PORT=$(ready_port "$1/fake.out")
    export NUDGE_TWILIO_BASE_URL="http://127.0.0.1:$FAKE_PORT" NUDGE_TWILIO_ACCOUNT_SID=$TWILIO_SID \
        NUDGE_TWILIO_AUTH_TOKEN=$TWILIO_TOKEN NUDGE_TWILIO_FROM=+15005550006
    [ -n "$FAKE_PORT" ]
}

# queue_fill DB DIR N: one clinic with no rate limit and no quiet hours,
# one patient, one urgent SMS made by nudge and N-1 copies of it made in
# SQL, each to its own recipient (the fake's record names the message).
queue_fill() {
    local db=$1 dir=$2 n=$3 c p
    c=$("$NUDGE" --db "$db" --outbox "$dir/out" clinic add --name "Scale Clinic" --timezone UTC \
        --country IN 2>"$dir/setup.err")
    p=$("$NUDGE" --db "$db" --outbox "$dir/out" patient add --clinic "$c" --name "Ram Lal" \
        --phone 9876543210 2>>"$dir/setup.err")
    "$NUDGE" --db "$db" --outbox "$dir/out" send --patient "$p" --template prescription_ready \
        --channel sms --priority urgent --dedupe-key m0 >/dev/null 2>>"$dir/setup.err" || return 1
    db_sql "$db" "UPDATE clinics SET rate_per_minute = 1000000, quiet_start = 0, quiet_end = 0;
     UPDATE notification_queue SET recipient = '+919800000000';
     INSERT INTO notification_queue (clinic_id, patient_id, channel, recipient, template, language,
       category, body, segments, priority, status, due_at, dedupe_key, max_retries, created_at,
       updated_at)
     WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $((n - 1)))
     SELECT clinic_id, patient_id, channel, '+9198' || (10000000 + i), template, language,
       category, body, segments, priority, 'pending', due_at, 'm' || i, max_retries, created_at,
       updated_at FROM notification_queue, s" >/dev/null
}

# fake_repeats DIR: the recipients the fake accepted more than once.
fake_repeats() {
    python3 - "$1/requests.jsonl" <<'PY'
import collections, json, sys
seen = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("status") == 201:
        seen[r["form"].get("To")] += 1
for to, k in seen.items():
    if k > 1:
        print(to)
PY
}
# fake_accepted DIR: how many sends the fake accepted.
fake_accepted() { grep -c '"status": 201' "$1/requests.jsonl" 2>/dev/null || echo 0; }
