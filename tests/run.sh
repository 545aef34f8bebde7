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
    unset NUDGE_TEST_PG
else
    failed=$((failed + 1)); failures+=("PostgreSQL test cluster")
fi

# touches_store TEST: its source opens a database (tests/testutil.h,
# tests/httputil.h or the store directly).
touches_store() {
    grep -qE 'tu_open|tu_db\(|api_open|store_open' "tests/$(basename "$1").c" 2>/dev/null
}

# tally NAME OUT RC P F: adds one suite's counts and prints its row.
tally() {
    local name=$1 out=$2 rc=$3 p=$4 f=$5 secs=$(( $(date +%s) - t0 ))
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

# Every HTTP exchange of a tree's cmocka suites is recorded here
# (tests/httputil.h) and checked against docs/openapi.json by
# tests/contract.sh, which runs after them.
contract_dir=$(mktemp -d)
trap 'pgc_stop; rm -rf "$contract_dir"' EXIT
for tree in "$@"; do
  export NUDGE_CONTRACT_LOG="$contract_dir/${tree//\//_}.jsonl"
  : >"$NUDGE_CONTRACT_LOG"
  # The SQLite twin of nudge_tpl: a file this tree's nudge migrated, that
  # the shell tests' databases are copied from (tests/dbutil.sh). Every
  # migration on a new file cost 0.15 CPU-seconds (gcc) and 0.7-1.4 under
  # ASan, once per test; migrate.sh and cli.sh's migrate tests still start
  # from nothing. Closed cleanly, it has no -wal file beside it.
  sqlite_tpl="$contract_dir/${tree//\//_}.db"
  if (unset NUDGE_TEST_PG; "$tree/nudge" --db "$sqlite_tpl" --outbox "$contract_dir/out" migrate >/dev/null) &&
      [ ! -e "$sqlite_tpl-wal" ]; then
      export NUDGE_TEST_SQLITE_TEMPLATE=$sqlite_tpl
  else
      unset NUDGE_TEST_SQLITE_TEMPLATE
  fi
  for engine in sqlite postgresql; do
    if [ "$engine" = postgresql ]; then
        [ -n "$pg_url" ] || continue
        san_pg_all=1
        [ "$tree" != "${tree%san}" ] && [ "${NUDGE_TEST_SAN_PG:-}" != all ] && san_pg_all=0
        export NUDGE_TEST_PG=$pg_url
    else
        unset NUDGE_TEST_PG
        san_pg_all=1
    fi
    for t in "$tree"/tests/test_*; do
      [ -x "$t" ] || continue
      [ "$engine" = postgresql ] && ! touches_store "$t" && continue
      [ "$engine" = postgresql ] && [ "$san_pg_all" = 0 ] && [ "${t##*/}" != test_store ] && continue
      label="$t"
      touches_store "$t" && label="$t [$engine]"
      t0=$(date +%s); out=$("$t" 2>&1); rc=$?
      p=$(grep -c '^\[       OK \]' <<<"$out")
      f=$(grep '^\[  FAILED  \] [a-z_]' <<<"$out" | sort -u | wc -l)
      tally "$label" "$out" "$rc" "$p" "$f"
    done
    for s in tests/*.sh; do
      case $(basename "$s") in run.sh | pgcluster.sh | dbutil.sh | tap.sh) continue ;; esac
      # A shell suite is store-touching when it takes its database from dbutil.sh.
      label="$s ($tree)"
      if grep -q dbutil.sh "$s"; then label="$label [$engine]"
      elif [ "$engine" = postgresql ]; then continue; fi
      [ "$engine" = postgresql ] && [ "$san_pg_all" = 0 ] && continue
      t0=$(date +%s)
      shards=$(sed -n 's/^# run.sh: shards \([0-9]*\)$/\1/p' "$s")
      if [ -n "$shards" ]; then
          # A suite of many independent tests (tests/cli.sh: ~300, each a
          # few processes, 2 to 6 minutes a pass) runs as that many shards
          # at once, one per core: their outputs are joined, the worst exit
          # status kept.
          sdir=$(mktemp -d)
          for ((k = 0; k < shards; k++)); do
              CLI_SHARD=$k/$shards NUDGE="$tree/nudge" bash "$s" >"$sdir/$k" 2>&1 &
          done
          rc=0
          for ((k = 0; k < shards; k++)); do wait -n || rc=$?; done
          out=$(cat "$sdir"/*); rm -rf "$sdir"
      else
          out=$(NUDGE="$tree/nudge" bash "$s" 2>&1); rc=$?
      fi
      p=$(grep -c '^ok ' <<<"$out")
      f=$(grep -c '^not ok ' <<<"$out")
      tally "$label" "$out" "$rc" "$p" "$f"
    done
  done
done
# Where the time went: `make check` must stay well under 30 minutes on two
# cores, and the slowest suites are the first to make smaller.
echo "slowest suites (seconds):"
printf '%s\n' "${times[@]}" | sort -rn | head -n 12 | sed 's/^/  /'
[ ${#failures[@]} -eq 0 ] || printf 'failed suites: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
