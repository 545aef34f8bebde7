#!/usr/bin/env bash
# bench/compare.sh: nudge's queue beside BullMQ, pg-boss and graphile-worker
# in one run on this machine (issue 16), one table at the end.
#   bench/compare.sh [N]        default 20000 jobs, 16 callers
# The peers come from bench/peers/run.sh (it installs and starts what they
# need); nudge from build/bench/queue on SQLite (FULL and NORMAL) and on a
# durable PostgreSQL started here. Raw results (JSON lines) stay in
# $OUT (default bench/compare.out) for bench/README.md.
set -eu
cd "$(dirname "$0")/.."
N=${1:-20000}
OUT=${OUT:-bench/compare.out}
make --no-print-directory build/bench/queue >&2
: >"$OUT"
echo "# nudge, SQLite" >&2
build/bench/queue -w single -n "$N" >>"$OUT"
D=$(mktemp -d)
build/bench/queue -w single -n "$N" -d "$D/q.db?synchronous=normal" >>"$OUT"
rm -rf "$D"
echo "# nudge, PostgreSQL" >&2
. tests/pgcluster.sh
trap pgc_stop EXIT
PGC_DURABLE=1 pgc_start
psql -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE bench_nudge" >&2
build/bench/queue -w single -n "$N" -d "${NUDGE_TEST_PG%/*}/bench_nudge" >>"$OUT"
pgc_stop
bench/peers/run.sh "$N" >>"$OUT"
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
work = ["single", "batch", "burn"]
keys = []
for r in rows:
    k = (r["peer"], r["durability"])
    if k not in keys:
        keys.append(k)
print(f'| {"queue":<18} | {"durability":<34} | {"single add, jobs/s (p99 ms)":>28} | {"batches of 1,000":>16} | {"burn-down":>10} |')
print(f'|{"-"*20}|{"-"*36}|{"-"*30}:|{"-"*18}:|{"-"*12}:|')
for k in keys:
    cell = {}
    for r in rows:
        if (r["peer"], r["durability"]) == k:
            cell[r["workload"]] = r
    s = cell.get("single")
    single = f'{s["jobs_per_s"]:,} ({s["p99_ms"]})' if s else "–"
    b = f'{cell["batch"]["jobs_per_s"]:,}' if "batch" in cell else "–"
    u = f'{cell["burn"]["jobs_per_s"]:,}' if "burn" in cell else "–"
    print(f"| {k[0]:<18} | {k[1]:<34} | {single:>28} | {b:>16} | {u:>10} |")
PY
