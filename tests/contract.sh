#!/usr/bin/env bash
# contract.sh: the API's answers against docs/openapi.json (tests/contract.py,
# an independent validator: python3-jsonschema). It checks the exchanges the
# HTTP suites recorded: tests/run.sh points NUDGE_CONTRACT_LOG at a file for
# the whole tree before the cmocka suites run, and this suite, run after
# them, reads it. Run alone it runs the HTTP suites of NUDGE's tree itself.
# Then the document's own promises (503 with Retry-After, 413/415, 400) and
# a proof the check can fail: broken copies of the document must each
# disagree with the same answers. TAP-style output.
set -u
. "$(dirname "$0")/tap.sh"
tree=$(dirname "$NUDGE")
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
log=${NUDGE_CONTRACT_LOG:-}
if [ -z "$log" ] || [ ! -s "$log" ]; then
    log="$D/contract.jsonl"
    for t in test_http test_http_matrix; do
        NUDGE_CONTRACT_LOG=$log "$tree/tests/$t" >"$D/$t.out" 2>&1 ||
            not_ok "$t ran to its end (recording answers)" "$(tail -n 5 "$D/$t.out")"
    done
fi
py() { python3 "$(dirname "$0")/contract.py" "$@" >"$D/py.out" 2>&1; }
if py "$log"; then ok "$(tail -n 1 "$D/py.out")"
else not_ok "every recorded answer agrees with docs/openapi.json" "$(head -n 40 "$D/py.out")"; fi
if py --doc; then ok "every operation declares 503 with Retry-After, 413/415 with a body, 400 with a query"
else not_ok "the document keeps its own promises" "$(head -n 40 "$D/py.out")"; fi
if py --mutants "$log"; then ok "each of $(grep -c '^caught' "$D/py.out") broken copies of the document is caught"
else not_ok "a broken document is caught" "$(cat "$D/py.out")"; fi
[ "$failed" -eq 0 ]
