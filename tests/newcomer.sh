#!/usr/bin/env bash
# newcomer.sh: what a newcomer meets when trying nudge from the outside
# (issue 15): a booking says what it planned and skipped, the logs and
# `make run` say where messages go and when, a database without a usable
# admin key says how to make one, a busy port names the system's reason
# and the flag, `nudge --version`, the man page covers `nudge --help`,
# `nudge demo` leaves nothing behind, and `serve` makes its database's
# folder. Runs on the engine tests/run.sh chose (tests/dbutil.sh); time is
# driven with --now; the only waits are for a process to listen.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
W=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT

# serve_start DIR DB ARGS...: starts `nudge serve` in the background on a
# free port; sets PID and PORT (empty when it never listened).
serve_start() {
    local dir=$1 db=$2
    shift 2
    "$NUDGE" --db "$db" --outbox "$dir/out" serve --listen 127.0.0.1:0 --interval 1 "$@" \
        >"$dir/stdout" 2>"$dir/stderr" &
    PID=$!
    PIDS="$PIDS $PID"
    PORT=""
    for _ in $(seq 1 100); do # waiting for the process to listen, not for a schedule
        PORT=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$dir/stderr" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
}
serve_stop() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
}

# ---- a booking says what it planned and what it skipped (issue 15, item 3)
DB=$(test_db "$W")
N="$NUDGE --db $DB --outbox $W/out"
NOW=2026-06-10T12:00:00+05:30
C=$($N clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN)
P=$($N patient add --clinic "$C" --name "Ram Lal" --phone 9876543210)
A=$($N --now $NOW appointment add --patient "$P" --service Cleaning --at 2026-06-09T10:00 2>"$W/past.err")
check "a visit in the past is booked (exit 0, its id on stdout)" grep -qx '[0-9][0-9]*' <<<"$A"
check "the CLI says the past visit's confirmation was skipped and why" \
    grep -qx "nudge appointment add: confirmation: skipped, the visit has already begun" "$W/past.err"
check "the CLI says its 24 h reminder was skipped because its time had passed" \
    grep -qx "nudge appointment add: 24 h reminder: skipped, its time had passed" "$W/past.err"
A=$($N --now $NOW appointment add --patient "$P" --service Cleaning --at 2026-06-11T10:00 2>"$W/soon.err")
check "a visit tomorrow: confirmation planned now" \
    grep -qx "nudge appointment add: confirmation: planned for 2026-06-10T12:00:00+05:30" "$W/soon.err"
check "a visit in 22 hours: the 24 h reminder skipped, the 2 h one planned" bash -c \
    "grep -qx 'nudge appointment add: 24 h reminder: skipped, its time had passed' '$W/soon.err' &&
     grep -qx 'nudge appointment add: 2 h reminder: planned for 2026-06-11T08:00:00+05:30' '$W/soon.err'"
check "stdout keeps only the id, for scripts" grep -qx '[0-9][0-9]*' <<<"$A"

mkdir -p "$W/api"
ADB=$(test_db "$W/api")
serve_start "$W/api" "$ADB" --demo
KEY=$(head -n 1 "$W/api/stdout")
URL="http://127.0.0.1:$PORT"
pid=$(curl -s -H "Authorization: Bearer $KEY" "$URL/v1/patients?limit=1" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
curl -s -o "$W/api/booked.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    --data '{"patient_id":'"$pid"',"service":"X-ray","start_at":"2020-01-01T10:00:00+05:30"}' \
    "$URL/v1/appointments" >"$W/api/code"
check "POST /v1/appointments of a past visit answers 201" test "$(cat "$W/api/code")" = 201
check "its answer's plan lists each message as skipped, with the reason" bash -c "
    grep -q '\"plan\":\\[{\"kind\":\"confirmation\",\"name\":\"confirmation\",\"before_minutes\":0,\"due_at\":\"[^\"]*+05:30\",\"outcome\":\"skipped\",\"reason\":\"the visit has already begun\"}' '$W/api/booked.json' &&
    grep -q '{\"kind\":\"reminder\",\"name\":\"24 h reminder\",\"before_minutes\":1440,\"due_at\":\"2019-12-31T10:00:00+05:30\",\"outcome\":\"skipped\",\"reason\":\"its time had passed\"}' '$W/api/booked.json'"
curl -s -o "$W/api/future.json" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data '{"patient_id":'"$pid"',"service":"X-ray","start_at":"2099-01-01T10:00:00+05:30"}' \
    "$URL/v1/appointments"
check "a future visit's answer lists its three messages as planned" bash -c "
    test \$(grep -o '\"outcome\":\"planned\",\"reason\":null' '$W/api/future.json' | wc -l) = 3 &&
    grep -q '\"name\":\"2 h reminder\",\"before_minutes\":120,\"due_at\":\"2099-01-01T08:00:00+05:30\"' '$W/api/future.json'"
serve_stop

# ---- the log says when a deferred message goes, and start says where and when (item 4)
mkdir -p "$W/night"
NDB=$(test_db "$W/night")
serve_start "$W/night" "$NDB" --demo --now 2026-06-10T23:00:00+05:30
for _ in $(seq 1 100); do # waiting for the first pass to log, not for a schedule
    grep -q 'deferred until' "$W/night/stderr" && break
    sleep 0.1
done
serve_stop
check "a message held by quiet hours is logged with when it goes and why" \
    grep -q 'appointment_confirmation attempt 0: deferred until 2026-06-11 08:00 Asia/Kolkata: quiet hours$' "$W/night/stderr"
check "serve says in one line where messages go and when the clinic sends" \
    grep -qx "nudge: messages go to the folder $W/night/out (no provider is set); clinic 1 sends 08:00-21:00 Asia/Kolkata (now 23:00 there: quiet hours, messages wait until 08:00)" "$W/night/stderr"
check "queue show keeps the same reason" bash -c \
    "'$NUDGE' --db '$NDB' queue show 1 | grep -q 'deferred until 2026-06-11 08:00 Asia/Kolkata: quiet hours'"

# ---- a later start says how to make another admin key (item 5)
serve_start "$W/night" "$NDB"
serve_stop
check "the second start prints no key" test ! -s "$W/night/stdout"
hint=$(sed -n 's/.*to make another: //p' "$W/night/stderr")
check "it prints the key create command for this database" \
    test "$hint" = "nudge --db $NDB key create --clinic 1 --role admin"
KEY2=$($NUDGE ${hint#nudge } 2>/dev/null)
check "that command, run as printed, makes a working admin key" \
    grep -Eq '^nudge_[0-9a-f]{12}_[0-9a-f]{64}$' <<<"$KEY2"
for id in $($NUDGE --db "$NDB" key list | awk 'NR > 1 { print $1 }'); do
    $NUDGE --db "$NDB" key revoke "$id"
done
$NUDGE --db "$NDB" key create --clinic 1 --role staff >/dev/null 2>&1
serve_start "$W/night" "$NDB"
serve_stop
check "with only a staff key left it says there is no admin key, and the command" \
    grep -qx "nudge: this database has no active admin key; to make another: nudge --db $NDB key create --clinic 1 --role admin" "$W/night/stderr"

# ---- the port: NUDGE_LISTEN, make run PORT=, a busy port's reason (item 6)
mkdir -p "$W/port"
PDB=$(test_db "$W/port")
NUDGE_LISTEN=127.0.0.1:0 "$NUDGE" --db "$PDB" --outbox "$W/port/out" serve >"$W/port/stdout" 2>"$W/port/stderr" &
PID=$!
PIDS="$PIDS $PID"
PORT=""
for _ in $(seq 1 100); do
    PORT=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$W/port/stderr" | grep -o '[0-9]*$')
    [ -n "$PORT" ] && break
    sleep 0.1
done
check "without --listen, serve listens where NUDGE_LISTEN says" bash -c "test -n '$PORT' && test '$PORT' != 8080"
"$NUDGE" --db "$PDB" --outbox "$W/port/out" serve --listen "127.0.0.1:$PORT" >/dev/null 2>"$W/port/busy"
rc=$?
serve_stop
check "a port in use: serve exits 1" test "$rc" = 1
check "and says the system's reason and the flag to use" grep -qx \
    "nudge serve: cannot listen on 127.0.0.1:$PORT: Address already in use; choose another address with --listen HOST:PORT or NUDGE_LISTEN (make run PORT=N)" "$W/port/busy"
BUILD_DIR=$(dirname "$NUDGE")
check "make run PORT=9191 serves on that port" bash -c \
    "make -s -n run PORT=9191 BUILD='$BUILD_DIR' | grep -q '^NUDGE_LISTEN=127.0.0.1:9191 '"
check "make run honours NUDGE_LISTEN from the environment" bash -c \
    "NUDGE_LISTEN=127.0.0.1:9292 make -s -n run BUILD='$BUILD_DIR' | grep -q '^NUDGE_LISTEN=127.0.0.1:9292 '"

# ---- serve makes its SQLite database's folder (item 9)
if ! db_is_pg "$DB"; then
    "$NUDGE" --db "$W/fresh/run/nudge.db" --outbox "$W/fresh/out" serve --listen none \
        >/dev/null 2>"$W/fresh.err" &
    PID=$!
    PIDS="$PIDS $PID"
    for _ in $(seq 1 100); do
        grep -q 'nudge: serving' "$W/fresh.err" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    serve_stop
    check "serve --db run/nudge.db works when run/ does not exist yet" test -s "$W/fresh/run/nudge.db"
fi

# ---- version, the man page, nudge demo (items 7 and 9)
want=$(ls src/store/sql/sqlite | sed -n 's/^0*\([0-9][0-9]*\)_.*/\1/p' | sort -n | tail -n 1)
check "nudge --version prints the version and the schema version" bash -c \
    "'$NUDGE' --version | grep -Eqx 'nudge [0-9]+\.[0-9]+\.[0-9]+, schema version $want'"
check "nudge version prints the same" bash -c "test \"\$('$NUDGE' version)\" = \"\$('$NUDGE' --version)\""
# The page's text with roff's escapes undone: \- is -, fonts are dropped.
sed 's/\\-/-/g; s/\\f[BIRP]//g' docs/nudge.1 >"$W/man.txt"
"$NUDGE" --help >"$W/help.txt"
missing=""
for g in $(awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' "$W/help.txt"); do
    grep -Eq "^\.B $g( |$)" "$W/man.txt" || missing="$missing $g"
    for v in $(awk -v g="$g" '$1 == g && $2 ~ /[|]/ { print $2 }' "$W/help.txt" | tr '|' ' '); do
        grep -Eq "^\.B $g .*\b$v\b" "$W/man.txt" || missing="$missing $g:$v"
    done
    "$NUDGE" "$g" --help >>"$W/help.txt" 2>/dev/null
done
for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$W/help.txt" | sort -u); do
    grep -q -- "$o" "$W/man.txt" || missing="$missing $o"
done
check "every command, subcommand and option of nudge --help is in docs/nudge.1" test -z "$missing"
[ -z "$missing" ] || echo "  # missing from docs/nudge.1:$missing"
check "docs/nudge.1 passes mandoc -T lint" mandoc -T lint -W warning docs/nudge.1

mkdir -p "$W/tmp"
TMPDIR="$W/tmp" "$NUDGE" demo --days 1 >"$W/demo.out" 2>&1
check "nudge demo leaves no folder behind" bash -c "test -z \"\$(ls -A '$W/tmp')\""
TMPDIR="$W/tmp" "$NUDGE" demo --days 1 --keep >"$W/demo.out" 2>&1
check "nudge demo --keep keeps its database and outbox" bash -c "ls '$W'/tmp/nudge-demo-*/demo.db >/dev/null"

# ---- running as a service: sd_notify readiness, watchdog, stop (item 8)
# A stand-in for systemd's notify socket records what serve says on it.
mkdir -p "$W/sd"
cat >"$W/sd/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        f.flush()
PY
python3 "$W/sd/listen.py" "$W/sd/notify" "$W/sd/log" &
PIDS="$PIDS $!"
for _ in $(seq 1 300); do [ -S "$W/sd/notify" ] && break; sleep 0.1; done # python starting
SDB=$(test_db "$W/sd")
: >"$W/sd/log"
NOTIFY_SOCKET="$W/sd/notify" WATCHDOG_USEC=400000 "$NUDGE" --db "$SDB" --outbox "$W/sd/out" \
    serve --listen 127.0.0.1:0 --interval 60 >/dev/null 2>"$W/sd/stderr" &
PID=$!
PIDS="$PIDS $PID"
for _ in $(seq 1 200); do # waiting for the process to report, not for a schedule
    [ "$(grep -c '^WATCHDOG=1' "$W/sd/log")" -ge 3 ] && break
    sleep 0.1
done
serve_stop
for _ in $(seq 1 50); do grep -q '^STOPPING=1' "$W/sd/log" && break; sleep 0.1; done
check "under systemd serve reports READY=1 once it listens" grep -q '^READY=1' "$W/sd/log"
check "it pets the watchdog on every pass, waiting less than the watchdog's period (not --interval)" \
    test "$(grep -c '^WATCHDOG=1' "$W/sd/log")" -ge 3
check "at SIGTERM it says it is stopping" grep -q '^STOPPING=1' "$W/sd/log"

BUILD_DIR=$(dirname "$NUDGE")
make -s -o "$BUILD_DIR/nudge" install BUILD="$BUILD_DIR" PREFIX=/usr DESTDIR="$W/root" >"$W/install.out" 2>&1
check "make install PREFIX=/usr DESTDIR=... puts the binary, page, unit and cron line under DESTDIR" \
    test -x "$W/root/usr/bin/nudge" -a -f "$W/root/usr/share/man/man1/nudge.1" \
    -a -f "$W/root/usr/lib/systemd/system/nudge.service" -a -f "$W/root/usr/share/doc/nudge/nudge.cron"
check "the installed unit runs the installed binary" \
    grep -qx 'ExecStart=/usr/bin/nudge serve' "$W/root/usr/lib/systemd/system/nudge.service"
check "the installed cron line runs nudge tick from the installed binary" \
    grep -q '^\* \* \* \* \* nudge .* exec /usr/bin/nudge .* tick' "$W/root/usr/share/doc/nudge/nudge.cron"
check "the installed binary runs" "$W/root/usr/bin/nudge" --version
unit="$W/root/usr/lib/systemd/system/nudge.service"
for want in Type=notify WatchdogSec=60 DynamicUser=yes User=nudge StateDirectory=nudge \
    ProtectSystem=strict NoNewPrivileges=yes; do
    grep -qx "$want" "$unit" || not_ok "the unit has $want"
done
check "the unit is hardened: notify, watchdog, own user, state folder, strict, no new privileges" true

# ---- scripts/setup.sh proves the toolchain and names the missing package (item 1)
mkdir -p "$W/shim"
printf '#!/bin/sh\nprintf "install ok installed"\n' >"$W/shim/dpkg-query"
printf '#!/bin/sh\nfor a; do case $a in -fsanitize=*) echo "cannot find libclang_rt.asan_static-x86_64.a" >&2; exit 1;; esac; done\nexec %s "$@"\n' \
    "$(command -v clang)" >"$W/shim/clang"
chmod +x "$W/shim/dpkg-query" "$W/shim/clang"
PATH="$W/shim:$PATH" bash scripts/setup.sh >"$W/setup.out" 2>&1
rc=$?
check "setup fails when clang cannot link the sanitizer build" test "$rc" = 1
check "and names the Debian package to install" grep -q 'install the Debian package libclang-rt-dev' "$W/setup.out"

echo "1..$n"
[ "$failed" -eq 0 ]
