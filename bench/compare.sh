#!/usr/bin/env bash
# bench/compare.sh: only the queue's part of `make bench` (issue 16): the
# physical ceilings, nudge's queue and BullMQ, pg-boss and graphile-worker
# on the same loopback servers, in bench/bench.sh's table.
#   bench/compare.sh [N]        default 20000 jobs, 16 callers
# Raw results (JSON lines) stay in $OUT (default bench/compare.out).
exec env PHASES="${PHASES:-ceiling,queue,peers}" OUT="${OUT:-bench/compare.out}" \
    bash "$(dirname "$0")/bench.sh" "$@"
