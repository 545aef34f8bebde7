#!/usr/bin/env bash
# bench/peers/run.sh: the job queues nudge is measured beside, on this
# machine, on loopback servers this script starts and removes:
#   BullMQ on redis-server with AOF everysec (can lose ~1 s of acknowledged
#   jobs) and with AOF always; pg-boss and graphile-worker on PostgreSQL
#   with its durable defaults (fsync, synchronous_commit on).
# Installs what it needs (Debian's redis-server and postgresql, the npm
# packages pinned in package.json/package-lock.json). Prints one JSON line
# per peer and workload (common.mjs) on stdout; progress on stderr.
#   bench/peers/run.sh [N] [WORKLOADS]     defaults: 20000 single,batch,burn
# PEERS_PG: an admin URL of a running PostgreSQL to use instead of its own.
set -eu
cd "$(dirname "$0")"
N=${1:-20000}
WL=${2:-single,batch,burn}
CALLERS=${CALLERS:-16}

need() {   # need CMD PACKAGE
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >&2
    else
        echo "bench: needs $2 (sudo apt-get install $2)" >&2; exit 2
    fi
}
need redis-server redis-server
need node nodejs
need npm npm
[ -d node_modules ] || npm ci --no-audit --no-fund >&2

D=$(mktemp -d "${TMPDIR:-/tmp}/nudge-peers.XXXXXX")
REDIS_PIDS=()
cleanup() {
    # set -e holds in this trap too: a server already stopped is no failure.
    for p in "${REDIS_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pgc_stop 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Started here, not in $(...): a subshell's REDIS_PIDS+= would not reach
# cleanup, and the server would outlive the run.
redis() {   # redis APPENDFSYNC: starts a server, sets URL
    local port dir=$D/redis-$1
    port=$(free_port)
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes \
        --appendfsync "$1" --save '' --daemonize no >"$dir/log" 2>&1 &
    REDIS_PIDS+=($!)
    for _ in $(seq 1 100); do   # waiting for the server to listen
        redis-cli -p "$port" ping >/dev/null 2>&1 && { URL="redis://127.0.0.1:$port"; return; }
        sleep 0.1
    done
    echo "bench: redis-server did not start" >&2; cat "$dir/log" >&2; exit 1
}

for fsync in everysec always; do
    redis $fsync
    echo "# bullmq, AOF $fsync" >&2
    sync # as bench.sh's phase() does
    node bullmq.mjs --url="$URL" --n="$N" --callers="$CALLERS" --workloads="$WL" --label="AOF $fsync"
    kill "${REDIS_PIDS[-1]}"
    wait "${REDIS_PIDS[-1]}" 2>/dev/null || true   # its status is the signal's
done

. ../../tests/pgcluster.sh
# bench/bench.sh passes the durable cluster its other PostgreSQL rows use.
if [ -n "${PEERS_PG:-}" ]; then NUDGE_TEST_PG=$PEERS_PG; else PGC_DURABLE=1 pgc_start; fi
admin=$NUDGE_TEST_PG
for peer in pgboss graphile; do
    db="bench_$peer"
    psql -X -q "$admin" -c "CREATE DATABASE $db" >&2
    echo "# $peer, PostgreSQL fsync on" >&2
    sync
    node $peer.mjs --url="${admin%/*}/$db" --n="$N" --callers="$CALLERS" --workloads="$WL" \
        --label="PostgreSQL, synchronous_commit on"
done
