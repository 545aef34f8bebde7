#!/usr/bin/env bash
# bench/bench.sh: `make bench`, issue 16's one command and one table. It
# installs what it needs (Debian packages as root, the peers' pinned npm
# packages), builds nudge's benchmark binaries, starts its own servers on
# 127.0.0.1 (one durable PostgreSQL cluster shared by every PostgreSQL row,
# redis-server for BullMQ, nudge serve and FastAPI + uvicorn for the API),
# runs each phase under a time limit, removes everything, and prints one
# table (bench/table.py) from the JSON lines of the phases, kept in $OUT.
#
#   bench/bench.sh [N]          N jobs per workload (default 20000; env N too)
#
# Environment: PHASES (comma list, default
# ceiling,queue,peers,api,fanout,plan,twilio,steady), OUT (bench/bench.out), BUILD
# (build), CALLERS (16), API_SECONDS (10, per route and server),
# WRK_SECONDS (10, the Twilio fake's ceiling), PHASE_TIMEOUT (600 s each),
# BENCH_BATCH (1000 items per HTTP batch), TWILIO_N (SMS due at once for
# the Twilio row, and reminders due at once for the plan row: 50000 when
# N >= 20000, else N), STEADY_RATE (2000 jobs/s
# for the steady phase, which sends N of them, 20000 at most).
# A phase that fails, or a nudge binary or workload not built yet (the
# public batch call, bench/burn.c), leaves its reason in its cells and the
# rest of the table stands.
set -u
cd "$(dirname "$0")/.."
N=${1:-${N:-20000}}
PHASES=${PHASES:-ceiling,queue,peers,api,fanout,plan,twilio,steady}
OUT=${OUT:-bench/bench.out}
BUILD=${BUILD:-build}
CALLERS=${CALLERS:-16}
API_SECONDS=${API_SECONDS:-10}
WRK_SECONDS=${WRK_SECONDS:-10}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-600}
# The burst goal is 50,000 reminders due at once: a full run sends that many.
TWILIO_N=${TWILIO_N:-$((N >= 20000 ? 50000 : N))}
PY=/usr/bin/python3 # Debian's, where python3-fastapi and uvicorn are
BENCH_BATCH=${BENCH_BATCH:-1000} # items per POST /v1/notifications:batch (wrk.lua, table.py)
export CALLERS BENCH_BATCH

case $N in '' | *[!0-9]* | 0) echo "usage: bench/bench.sh [N]  (N a positive number)" >&2; exit 2 ;; esac
say() { printf 'bench: %s\n' "$*" >&2; }
has() { case ",$PHASES," in *",$1,"*) return 0 ;; esac; return 1; }
# A line for the table when a phase cannot give its figures.
note() { # note PHASE PEER DURABILITY WORKLOAD REASON
    printf '{"phase":"%s","peer":"%s","durability":"%s","workload":"%s","error":"%s"}\n' \
        "$1" "$2" "$3" "$4" "$5" >>"$OUT"
}
phase() { # phase NAME CMD...: CMD under the time limit, its JSON lines kept
    local name=$1 rc
    shift
    say "$name"
    sync # nothing an earlier phase wrote is still going to disk beside this one's fsyncs
    timeout -k 10 "$PHASE_TIMEOUT" "$@" >"$W/$name.out" 2>"$W/$name.err"
    rc=$?
    grep '^{' "$W/$name.out" >>"$OUT"
    if [ $rc != 0 ]; then
        [ $rc = 124 ] && say "$name: over ${PHASE_TIMEOUT}s, stopped" || say "$name: failed ($rc)"
        tail -5 "$W/$name.err" | sed 's/^/  /' >&2
    fi
    return $rc
}

# ---- what it needs ----
MISSING=()
need() { # need TEST PACKAGE...: installs the packages if TEST fails
    eval "$1" >/dev/null 2>&1 && return 0
    shift
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 ||
            { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "$@" >&2; } || MISSING+=("$@")
    else
        say "missing: $* (sudo apt-get install $*)"
        MISSING+=("$@")
    fi
}
need 'command -v wrk' wrk
need 'command -v redis-server' redis-server
need 'command -v node && command -v npm' nodejs npm
need 'ls /usr/lib/postgresql/*/bin/initdb' postgresql
need "$PY -c 'import fastapi, uvicorn, uvloop, httptools'" \
    python3-fastapi python3-uvicorn python3-uvloop python3-httptools
command -v timeout >/dev/null || { say "timeout (coreutils) is missing"; exit 2; }

say "building"
BUILT=()
for t in nudge bench/queue bench/throughput bench/fanout bench/ceiling bench/burn \
    bench/steady bench/plan; do
    make --no-print-directory "$BUILD/$t" >"$BUILD.make.log" 2>&1 && BUILT+=("$t")
done
rm -f "$BUILD.make.log"
built() { case " ${BUILT[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- servers and scratch files, removed on the way out ----
W=$(mktemp -d "${TMPDIR:-/tmp}/nudge-bench.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    pgc_stop 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$OUT"
T0=$(date +%s)
printf '{"machine":"%s","nproc":%s,"kernel":"%s","sqlite":"%s","n":%s,"callers":%s}\n' \
    "$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" "$(uname -sr)" \
    "$(pkg-config --modversion sqlite3 2>/dev/null)" "$N" "$CALLERS" >>"$OUT"
# What was measured beside nudge, as installed.
ver() { "$@" 2>/dev/null | grep -o '[0-9][0-9.]*[0-9]' | head -1; }
printf '{"versions":"PostgreSQL %s, redis %s, node %s, %s, FastAPI %s, uvicorn %s, wrk %s"}\n' \
    "$(ver "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/postgres" --version)" \
    "$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' | cut -c3-)" "$(ver node --version)" \
    "$($PY -c 'import json; d = json.load(open("bench/peers/package.json"))["dependencies"]
print(", ".join(f"{k} {d[k]}" for k in ("bullmq", "pg-boss", "graphile-worker")))' 2>/dev/null)" \
    "$(ver $PY -c 'import fastapi; print(fastapi.__version__)')" \
    "$(ver $PY -c 'import uvicorn; print(uvicorn.__version__)')" "$(ver wrk -v)" >>"$OUT"

. tests/pgcluster.sh
PG=
if has ceiling || has queue || has peers; then
    if PGC_DURABLE=1 pgc_start; then
        PG=${NUDGE_TEST_PG%/*}
        for db in bench_ceiling bench_nudge bench_async bench_batch; do
            psql -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE $db" >&2
        done
    else
        say "PostgreSQL did not start: its rows are left out"
    fi
fi
PGDUR="PostgreSQL, synchronous_commit on"

# ---- physical ceilings ----
if has ceiling; then
    if built bench/ceiling; then
        phase ceiling-sqlite "$BUILD/bench/ceiling" -n "$N" -D "$W"
        [ -n "$PG" ] && phase ceiling-pg "$BUILD/bench/ceiling" -w pg -n "$N" -c "$CALLERS" -d "$PG/bench_ceiling"
    else
        note ceiling ceiling "" full "not built"
    fi
fi

# ---- nudge's queue: single add, batches of 1,000, burn-down ----
nudge_queue() { # nudge_queue WORKLOAD DURABILITY DB-ARGS...
    local w=$1 dur=$2 bin=$BUILD/bench/queue
    shift 2
    [ "$w" = burn ] && bin=$BUILD/bench/burn
    if ! built "${bin#"$BUILD"/}"; then
        note queue nudge "$dur" "$w" "not built"
        return
    fi
    # burn.c's -w is its worker count (WORKERS), queue.c's the workload.
    local args=(-n "$N")
    [ "$w" = burn ] && args+=(-w "${WORKERS:-1}") || args+=(-w "$w" -c "$CALLERS")
    phase "queue-$w" "$bin" "${args[@]}" "$@" && return
    grep -q "\"workload\":\"$w\"" "$W/queue-$w.out" && return
    # queue.c names a workload it lacks ("only -w single ...") before any work.
    if grep -q 'only -w' "$W/queue-$w.err"; then
        note queue nudge "$dur" "$w" "not built"
    else
        note queue nudge "$dur" "$w" "failed: $(tail -1 "$W/queue-$w.err" | tr -d '"\\' | cut -c1-80)"
    fi
}
if has queue; then
    for w in single async batch burn; do
        nudge_queue "$w" "SQLite synchronous=FULL" -d "$W/q-$w.db"
    done
    nudge_queue single "SQLite synchronous=NORMAL" -d "$W/q-normal.db?synchronous=normal"
    if [ -n "$PG" ]; then
        nudge_queue single "$PGDUR" -d "$PG/bench_nudge"
        nudge_queue async "$PGDUR" -d "$PG/bench_async"
        nudge_queue batch "$PGDUR" -d "$PG/bench_batch"
        for workers in 1 4; do
            psql -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE bench_burn$workers" >&2
            WORKERS=$workers nudge_queue burn "$PGDUR" -d "$PG/bench_burn$workers"
        done
    fi
fi

# ---- the peers: BullMQ (redis), pg-boss, graphile-worker (PostgreSQL) ----
if has peers; then
    if [ -n "$PG" ]; then
        PEERS_PG=$NUDGE_TEST_PG phase peers bench/peers/run.sh "$N"
    else
        note peers peers "" single "no PostgreSQL"
    fi
fi
pgc_stop 2>/dev/null

# ---- the API: nudge serve beside FastAPI + uvicorn, wrk at 16 connections ----
wrk_json() { # wrk_json SERVER ROUTE URL: one wrk run as a JSON line
    local s=$1 r=$2 url=$3
    sync # as phase() does
    BENCH_ROUTE=$r timeout -k 5 $((API_SECONDS + 60)) wrk -t2 -c"$CALLERS" -d"${API_SECONDS}s" \
        --timeout 10s --latency -s bench/api/wrk.lua "$url" >"$W/wrk-$s-$r.out" 2>&1
    $PY bench/table.py --wrk "$W/wrk-$s-$r.out" "$s" "$r" >>"$OUT" ||
        note api "$s" "" "$r" "wrk failed"
}
max_id() { $PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0] or 1)' "$@"; }
wait_for() { # wait_for FILE PATTERN PID [COUNT]: prints the line once COUNT are there
    for _ in $(seq 1 300); do # the process coming up, not a schedule
        [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "${4:-1}" ] && { grep -o "$2" "$1" | head -1; return 0; }
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# POSTs first: the GETs then read the rows they made, on either server.
api_routes() { # api_routes SERVER PORT PID DB TABLE: the three routes, then the server stopped
    local url=http://127.0.0.1:$2
    export BENCH_KEY=$KEY BENCH_PATIENTS=$CALLERS
    wrk_json "$1" post "$url"
    [ "$1" = nudge ] && wrk_json "$1" batch "$url" # the peer has no batch route
    BENCH_MAXID=$(max_id "$4" "SELECT MAX(id) FROM $5") wrk_json "$1" get "$url"
    wrk_json "$1" list "$url"
    kill "$3"
    wait "$3" 2>/dev/null
}
api_nudge() {
    local db=$W/api.db nd="$BUILD/nudge --db $W/api.db --outbox $W/outbox" port pid i
    $nd clinic add --name "Bench Clinic" --timezone UTC --country IN --quiet-hours none >/dev/null || return 1
    for i in $(seq 1 "$CALLERS"); do
        $nd patient add --clinic 1 --name "Patient $(printf %06d "$i")" \
            --phone "+9198$(printf %08d "$i")" >/dev/null || return 1
    done
    KEY=$($nd key create --clinic 1 --role staff 2>/dev/null) || return 1
    $nd serve --listen 127.0.0.1:0 --interval 3600 >"$W/serve.out" 2>"$W/serve.err" &
    pid=$!
    PIDS+=("$pid")
    port=$(wait_for "$W/serve.err" 'API on http://127.0.0.1:[0-9]*' "$pid") || return 1
    port=${port##*:}
    api_routes nudge "$port" "$pid" "$db" notification_queue
}
api_fastapi() {
    local db=$W/fastapi.db port pid
    $PY bench/api/app.py seed "$db" "$CALLERS" "$KEY" || return 1
    # uvicorn's workers share a socket its parent binds: a port asked for
    # here (free unless another process takes it this instant).
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd bench/api && BENCH_API_DB=$db exec $PY -m uvicorn app:app --host 127.0.0.1 --port "$port" \
        --workers 2 --loop uvloop --http httptools --no-access-log --log-level info) \
        >"$W/uvicorn.out" 2>"$W/uvicorn.err" &
    pid=$!
    PIDS+=("$pid")
    wait_for "$W/uvicorn.err" 'Application startup complete' "$pid" 2 >/dev/null || return 1
    api_routes fastapi "$port" "$pid" "$db" notifications
}
if has api; then
    say "api: nudge serve"
    KEY=bench-key-not-made
    if ! built nudge; then
        note api nudge "" post "not built"
    elif ! command -v wrk >/dev/null; then
        note api nudge "" post "no wrk"
    else
        api_nudge || { note api nudge "" post "serve did not start"; tail -5 "$W/serve.err" >&2; }
        say "api: FastAPI + uvicorn"
        if $PY -c 'import fastapi, uvicorn' 2>/dev/null; then
            api_fastapi || { note api fastapi "" post "uvicorn did not start"; tail -5 "$W/uvicorn.err" >&2; }
        else
            note api fastapi "" post "no python3-fastapi"
        fi
    fi
fi

# ---- fan-out of a campaign, and the Twilio fake's throughput ----
if has fanout; then
    if built bench/fanout; then
        phase fanout "$BUILD/bench/fanout" -n "$N" -d "$W/fanout.db"
    else
        note fanout fanout "" fanout "not built"
    fi
fi
# The planner alone: TWILIO_N reminders due at once made messages
# (bench/plan.c). The twilio phase then times the burst whole (BURST=1):
# as many reminders due at once, planned and sent by one loop.
if has plan; then
    if built bench/plan; then
        phase plan "$BUILD/bench/plan" -n "$TWILIO_N" -d "$W/plan.db"
    else
        note plan plan "" plan "not built"
    fi
fi
if has twilio; then
    if built bench/throughput; then
        RESULT_JSON=$W/twilio.json WRK_SECONDS=$WRK_SECONDS NUDGE_TIMEOUT=$PHASE_TIMEOUT BUILD=$BUILD BURST=1 \
            phase twilio bench/run.sh "$TWILIO_N"
        cat "$W/twilio.json" >>"$OUT" 2>/dev/null || note twilio twilio "" twilio "run.sh failed"
    else
        note twilio twilio "" twilio "not built"
    fi
fi

# ---- steady rate: enqueue to send start, the dispatcher in the same
# process (bench/steady.c) ----
if has steady; then
    if built bench/steady; then
        phase steady "$BUILD/bench/steady" -n $((N < 20000 ? N : 20000)) -r "${STEADY_RATE:-2000}" \
            -d "$W/steady.db"
    else
        note steady nudge "SQLite synchronous=FULL" steady "not built"
    fi
fi

printf '{"seconds":%s,"missing":"%s"}\n' $(($(date +%s) - T0)) "${MISSING[*]}" >>"$OUT"
$PY bench/table.py "$OUT"
