#!/usr/bin/env bash
# Runs every suite in each given build tree (build, build/san) and prints one
# summary line over all of them: "N passed, N failed".
# cmocka binaries report per test; shell suites (tests/cli.sh, tests/serve.sh)
# print "ok"/"not ok" lines in TAP style.
#
# Each suite that opens a database runs once per engine: SQLite, then
# PostgreSQL on a throwaway cluster (tests/pgcluster.sh) started for the
# run and removed at its end. Binaries that touch no store (their source
# opens no database) run once. Every row names its engine.
# Matrix: gcc x SQLite, gcc x PostgreSQL, clang-ASan x SQLite, and
# clang-ASan x PostgreSQL for test_store only (the backend's own suite, so
# pg.c still runs under the sanitizers). The full clang-ASan x PostgreSQL
# pass is left out by default: measured on 2 shared cores, `make check`
# with gcc x PostgreSQL alone already took over 15 minutes, most of it
# cli.sh (~300 commands, a database each). NUDGE_TEST_SAN_PG=all runs it.
set -u
cd "$(dirname "$0")/.."
. tests/pgcluster.sh
passed=0; failed=0; failures=(); times=()
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
trap pgc_stop EXIT
trap 'exit 130' INT TERM
unset NUDGE_TEST_PG
pg_url=""
if pgc_start; then
    pg_url=$NUDGE_TEST_PG
    # A migrated database the tests' databases are copied from
    # (tests/testutil.h, tests/dbutil.sh): CREATE DATABASE ... TEMPLATE
    # took 0.8 s a test where a new schema and its migrations took 3.3 s,
    # on a busy machine, for ~300 cmocka and ~450 shell tests a run.
    # No connections allowed, so none (autovacuum's either) holds it
    # when a copy is made.
    if pgc_template "$1/nudge"; then
        export NUDGE_TEST_PG_TEMPLATE=nudge_tpl
    fi
    # The shell suites' database (tests/dbutil.sh), made here: suites that
    # start at once would each try to create it.
    "$PGC_BIN/psql" -X -q "$NUDGE_TEST_PG" -c "CREATE DATABASE nudge_sh" >/dev/null
    unset NUDGE_TEST_PG
else
    failed=$((failed + 1)); failures+=("PostgreSQL test cluster")
fi

# touches_store TEST: its source opens a database (tests/testutil.h,
# tests/httputil.h or the store directly).
touches_store() {
    grep -qE 'tu_open|tu_db\(|api_open|store_open' "tests/$(basename "$1").c" 2>/dev/null
}

# tally NAME OUT RC P F SECS: adds one suite's counts and prints its row.
tally() {
    local name=$1 out=$2 rc=$3 p=$4 f=$5 secs=$6
    times+=("$secs $name")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then   # crashed or sanitizer report
        f=1
        out=$(printf '%s\nnot ok - exited with status %s; its last lines:\n%s' "$out" "$rc" \
            "$(printf '%s\n' "$out" | tail -n 5)")
    fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures+=("$name")
        printf '%s\n' "$out" | grep -A5 '^not ok\|FAILED\|ERROR\|runtime error\|Sanitizer' | head -n 60
    fi
    printf '%-52s %3d passed, %d failed %5d s\n' "$name" "$p" "$f" "$secs"
}

# The suites run as a pool of NUDGE_TEST_JOBS at once (default: one per
# core). Run one after another, `make check` kept 2 cores 47% busy (28 min
# wall, 27 CPU-min): most suites wait on servers, fakes, timeouts and
# PostgreSQL. Every suite has its own folders, databases and ports, so
# they do not meet; rows print in the usual order as suites end. A suite
# of many independent tests (tests/cli.sh: ~300, each a few processes)
# says `# run.sh: shards N` and runs as N shards at once, its outputs
# joined and the worst exit status kept. A row's seconds are its own wall
# time, shared with the suites beside it. NUDGE_TEST_ONLY=REGEX runs only
# the rows whose name matches.
jobs_max=${NUDGE_TEST_JOBS:-$(nproc)}
work=$(mktemp -d)
trap 'pgc_stop; rm -rf "$work"' EXIT
JNAME=(); JKIND=(); JPATH=(); JTREE=(); JENG=()
nj=0 launched=0 shown=0

# job_run I: runs job I into $work/I.out; its seconds, then exit status, last.
job_run() {
    local i=$1 t0=$EPOCHSECONDS tree=${JTREE[$1]} s=${JPATH[$1]} rc=0 k shards
    export NUDGE_TEST_SQLITE_TEMPLATE=${sqlite_tpl[$tree]:-}
    if [ "${JENG[$i]}" = postgresql ]; then export NUDGE_TEST_PG=$pg_url; else unset NUDGE_TEST_PG; fi
    # Every HTTP exchange of the cmocka suites is recorded (tests/httputil.h),
    # one file per suite (lines of two writers could interleave), and
    # checked against docs/openapi.json by tests/contract.sh after them.
    export NUDGE_CONTRACT_LOG="$work/contract.${tree//\//_}.$i"
    case ${JKIND[$i]} in
    cmocka) "$s" >"$work/$i.out" 2>&1 || rc=$? ;;
    sh)
        [ "${s##*/}" = contract.sh ] && NUDGE_CONTRACT_LOG="$work/contract.${tree//\//_}.jsonl"
        shards=$(sed -n 's/^# run.sh: shards \([0-9]*\)$/\1/p' "$s")
        if [ -n "$shards" ]; then
            for ((k = 0; k < shards; k++)); do
                CLI_SHARD=$k/$shards NUDGE="$tree/nudge" bash "$s" >"$work/$i.$k" 2>&1 &
            done
            for ((k = 0; k < shards; k++)); do wait -n || rc=$?; done
            cat "$work/$i".[0-9]* >"$work/$i.out"
        else
            NUDGE="$tree/nudge" bash "$s" >"$work/$i.out" 2>&1 || rc=$?
        fi ;;
    esac
    echo $((EPOCHSECONDS - t0)) >"$work/$i.secs"
    echo "$rc" >"$work/$i.rc"
}

# job_show: tallies the finished jobs at the head of the list, in order.
job_show() {
    local out p f
    while [ "$shown" -lt "$launched" ] && [ -e "$work/$shown.rc" ]; do
        out=$(<"$work/$shown.out")
        if [ "${JKIND[$shown]}" = cmocka ]; then
            p=$(grep -c '^\[       OK \]' <<<"$out")
            f=$(grep '^\[  FAILED  \] [a-z_]' <<<"$out" | sort -u | wc -l)
        else
            p=$(grep -c '^ok ' <<<"$out")
            f=$(grep -c '^not ok ' <<<"$out")
        fi
        tally "${JNAME[$shown]}" "$out" "$(<"$work/$shown.rc")" "$p" "$f" "$(<"$work/$shown.secs")"
        shown=$((shown + 1))
    done
}

# job_launch I: starts job I once fewer than jobs_max run. tests/contract.sh
# starts alone, after every suite before it, and reads their records.
job_launch() {
    local i=$1 k running alone=0
    # A suite whose timing is part of what it checks (leases that expire,
    # a client's read timeout) says `# run.sh: alone` and runs with nothing
    # beside it: in the pool, a slow neighbour made workers.sh's live
    # workers lose leases and one of hostile.sh's answers miss its 8 s.
    grep -q '^# run.sh: alone' "${JPATH[$i]}" 2>/dev/null && alone=1
    if [ "${JPATH[$i]##*/}" = contract.sh ] || [ $alone = 1 ]; then
        wait
        job_show
    fi
    if [ "${JPATH[$i]##*/}" = contract.sh ]; then
        cat "$work/contract.${JTREE[$i]//\//_}".[0-9]* >"$work/contract.${JTREE[$i]//\//_}.jsonl" 2>/dev/null
    fi
    while :; do
        running=0
        for ((k = shown; k < launched; k++)); do [ -e "$work/$k.rc" ] || running=$((running + 1)); done
        [ "$running" -lt "$jobs_max" ] && break
        wait -n
        [ $? -eq 127 ] && break
        job_show
    done
    job_run "$i" &
    launched=$((launched + 1))
    [ $alone = 0 ] || wait
    job_show
}

job_add() {   # NAME KIND PATH TREE ENGINE
    [ -n "${NUDGE_TEST_ONLY:-}" ] && ! [[ $1 =~ $NUDGE_TEST_ONLY ]] && return 0
    JNAME[nj]=$1 JKIND[nj]=$2 JPATH[nj]=$3 JTREE[nj]=$4 JENG[nj]=$5
    nj=$((nj + 1))
}

declare -A sqlite_tpl
for tree in "$@"; do
  # The SQLite twin of nudge_tpl: a file this tree's nudge migrated, that
  # the shell tests' databases are copied from (tests/dbutil.sh). Every
  # migration on a new file cost 0.15 CPU-seconds (gcc) and 0.7-1.4 under
  # ASan, once per test; cli.sh's migrate tests still start from nothing.
  # Closed cleanly, it has no -wal file beside it.
  tpl="$work/${tree//\//_}.db"
  if (unset NUDGE_TEST_PG; "$tree/nudge" --db "$tpl" --outbox "$work/out" migrate >/dev/null) &&
      [ ! -e "$tpl-wal" ]; then
      sqlite_tpl[$tree]=$tpl
  fi
  for engine in sqlite postgresql; do
    if [ "$engine" = postgresql ]; then
        [ -n "$pg_url" ] || continue
        san_pg_all=1
        [ "$tree" != "${tree%san}" ] && [ "${NUDGE_TEST_SAN_PG:-}" != all ] && san_pg_all=0
    else
        san_pg_all=1
    fi
    for t in "$tree"/tests/test_*; do
      [ -x "$t" ] || continue
      [ "$engine" = postgresql ] && ! touches_store "$t" && continue
      [ "$engine" = postgresql ] && [ "$san_pg_all" = 0 ] && [ "${t##*/}" != test_store ] && continue
      label="$t"
      touches_store "$t" && label="$t [$engine]"
      job_add "$label" cmocka "$t" "$tree" "$engine"
    done
    for s in tests/*.sh; do
      case $(basename "$s") in run.sh | pgcluster.sh | dbutil.sh | tap.sh) continue ;; esac
      # A shell suite is store-touching when it takes its database from dbutil.sh.
      label="$s ($tree)"
      if grep -q dbutil.sh "$s"; then label="$label [$engine]"
      elif [ "$engine" = postgresql ]; then continue; fi
      [ "$engine" = postgresql ] && [ "$san_pg_all" = 0 ] && continue
      job_add "$label" sh "$s" "$tree" "$engine"
    done
  done
done
for ((i = 0; i < nj; i++)); do job_launch "$i"; done
wait
job_show
# Where the time went: `make check` must stay well under 30 minutes on two
# cores, and the slowest suites are the first to make smaller.
echo "slowest suites (seconds):"
printf '%s\n' "${times[@]}" | sort -rn | head -n 12 | sed 's/^/  /'
[ ${#failures[@]} -eq 0 ] || printf 'failed suites: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
