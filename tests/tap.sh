# tap.sh: what the shell suites share (sourced, not a suite): the binary
# under test, and TAP-style "ok N - what" / "not ok N - what" lines that
# tests/run.sh counts.
NUDGE=${NUDGE:-build/nudge}
[[ $NUDGE = /* ]] || NUDGE="$PWD/$NUDGE"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "  # $l"; done; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what" "command: $*"; fi; }
