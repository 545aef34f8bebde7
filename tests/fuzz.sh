#!/usr/bin/env bash
# fuzz.sh: the libFuzzer harnesses (fuzz/*.c, one per parser) as a suite.
#
# Smoke (make check): links the harnesses to the sanitizer tree (make
# fuzz-san) and runs each over its seed corpus, the regression cases
# included (fuzz/corpus/NAME/), then FUZZ_RUNS more inputs (default 3000)
# from a fixed seed: seconds each. tests/run.sh runs shell suites once per
# build tree; this one runs in the sanitizer tree's pass only (a skip, not
# counted, in the other).
# Long (make fuzz): FUZZ_BUILD=build/fuzz (a library instrumented for
# coverage) and FUZZ_SECONDS per harness. New inputs go to
# FUZZ_BUILD/corpus/NAME, crashes to FUZZ_BUILD/crash/NAME-*: a crash
# fixed is copied into fuzz/corpus/NAME as a regression case.
# One TAP line per harness: ok when it ran clean.
set -u
cd "$(dirname "$0")/.." || exit 1
case ${NUDGE:-build/san/nudge} in
*san/nudge) ;;
*)
    echo "# the fuzz smoke runs in the sanitizer tree's pass (NUDGE=build/san/nudge)"
    echo "1..0"
    exit 0
    ;;
esac
. tests/tap.sh
B=${FUZZ_BUILD:-build/san}
if [ "$B" = build/san ] && ! make --no-print-directory -s fuzz-san >"${TMPDIR:-/tmp}/nudge-fuzz-build.$$" 2>&1; then
    not_ok "the harnesses build with clang (make fuzz-san)" "$(tail -n 5 "${TMPDIR:-/tmp}/nudge-fuzz-build.$$")"
    rm -f "${TMPDIR:-/tmp}/nudge-fuzz-build.$$"
    echo "1..$n"
    exit 1
fi
rm -f "${TMPDIR:-/tmp}/nudge-fuzz-build.$$"
mkdir -p "$B/crash"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for src in fuzz/*.c; do
    name=$(basename "$src" .c)
    bin=$B/fuzz/$name
    if [ ! -x "$bin" ]; then
        not_ok "fuzz $name: built" "no $bin"
        continue
    fi
    new=$B/corpus/$name
    mkdir -p "$new"
    if [ -n "${FUZZ_SECONDS:-}" ]; then
        limit=(-max_total_time="$FUZZ_SECONDS")
        what="$FUZZ_SECONDS s"
    else
        # new finds of a smoke are not kept: the next run starts alike
        rm -rf "$new" && mkdir -p "$new"
        limit=(-runs="${FUZZ_RUNS:-3000}" -seed=1)
        what="corpus + ${FUZZ_RUNS:-3000} runs"
    fi
    log=$B/fuzz/$name.log
    # An input that takes 10 s is a bug too: a far year's wall time took
    # 8 to 15 s under ASan on a loaded machine before tz.c's fix
    # (fuzz/corpus/time/far_year*; about 1 ms after it).
    if "$bin" "${limit[@]}" -timeout=10 -artifact_prefix="$B/crash/$name-" \
        "$new" "fuzz/corpus/$name" >"$log" 2>&1; then
        ok "fuzz $name: $what, $(grep -o 'Done [0-9]* runs' "$log" | tail -n 1), no crash"
    else
        mapfile -t lines < <(grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 6)
        not_ok "fuzz $name: $what" "${lines[@]}" "log: $log"
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
