#!/usr/bin/env bash
# Runs every suite in each given build tree (build, build/san) and prints one
# summary line over all of them: "N passed, N failed".
# cmocka binaries report per test; shell suites (tests/*.sh) print
# "ok"/"not ok" lines in TAP style.
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0; failures=()
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for tree in "$@"; do
  for t in "$tree"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    p=$(grep -c '^\[       OK \]' <<<"$out")
    f=$(grep '^\[  FAILED  \] [a-z_]' <<<"$out" | sort -u | wc -l)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$t"); printf '%s\n' "$out" | tail -n 40; fi
    printf '%-40s %3d passed, %d failed\n' "$t" "$p" "$f"
  done
  for s in tests/*.sh; do
    [ "$(basename "$s")" = run.sh ] && continue
    out=$(NUDGE="$tree/nudge" bash "$s" 2>&1); rc=$?
    p=$(grep -c '^ok ' <<<"$out")
    f=$(grep -c '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$s ($tree)"); grep -A5 '^not ok' <<<"$out" | head -n 60; fi
    printf '%-40s %3d passed, %d failed\n' "$s ($tree)" "$p" "$f"
  done
done
[ ${#failures[@]} -eq 0 ] || printf 'failed suites: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
