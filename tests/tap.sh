# tap.sh: what the shell suites share (sourced, not a suite): the binary
# under test, and TAP-style "ok N - what" / "not ok N - what" lines that
# tests/run.sh counts.
NUDGE=${NUDGE:-build/nudge}
[[ $NUDGE = /* ]] || NUDGE="$PWD/$NUDGE"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "  # $l"; done; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what" "command: $*"; fi; }
# serve_port STDERR: the port `nudge serve` logs it listens on (waiting up
# to 10 s for the process to listen, not for a schedule); "" if it never does.
serve_port() {
    local p=""
    for _ in $(seq 1 100); do
        p=$(grep -o 'API on http://127.0.0.1:[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$p" ] && break
        sleep 0.1
    done
    echo "$p"
}
