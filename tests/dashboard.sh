#!/usr/bin/env bash
# dashboard.sh: the staff dashboard (issue 12) as a browser sees it. `nudge
# serve --demo` on a fresh SQLite database; the static files' headers with
# curl; then tests/browser/dashboard.mjs drives Debian's headless chromium
# through every page (playwright-core and axe-core from npm, pinned in
# tests/browser/package-lock.json and installed by scripts/setup.sh).
# The browser script seeds beyond the demo: two visits today (in the
# clinic's zone) with planned reminders through the API; one sent message
# marked failed in the database, as a provider's refusal would leave it (a
# real refusal needs a provider and a backoff the suite would wait for). Then a patient with
# a tag of their own (a one-patient segment) and a ticket to reply to. Screenshots and CSV
# files are kept in $NUDGE_DASH_OUT (default build/dashboard/).
set -u
. "$(dirname "$0")/tap.sh"
cd "$(dirname "$0")/.."
OUT=${NUDGE_DASH_OUT:-build/dashboard/$(basename "$(dirname "$NUDGE")")}
D=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT

"$NUDGE" --db "$D/nudge.db" --outbox "$D/out" serve --demo --listen 127.0.0.1:0 --interval 1 \
    >"$D/stdout" 2>"$D/stderr" &
PID=$!
PORT=$(serve_port "$D/stderr")
KEY=$(head -n 1 "$D/stdout")
URL="http://127.0.0.1:$PORT"
check "serve listens and prints the admin key" test -n "$PORT" -a -n "$KEY"

# The files: no key needed, their types, a strict policy, revalidation.
curl -s -D "$D/h" -o "$D/index" "$URL/"
check "GET / is the dashboard's page, without a key" grep -q '<script type="module" src="/dash/js/app.js">' "$D/index"
check "it carries a strict Content-Security-Policy" \
    grep -qi "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'" "$D/h"
check "its type is text/html and it is revalidated (no-cache, ETag)" \
    bash -c "grep -qi '^content-type: text/html' '$D/h' && grep -qi '^cache-control: no-cache' '$D/h' && grep -qi '^etag: \"' '$D/h'"
etag=$(grep -i '^etag:' "$D/h" | cut -d' ' -f2 | tr -d '\r')
check "If-None-Match with its ETag answers 304" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/")" = 304
check "an ETag among others in If-None-Match answers 304, another one 200" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: \"x\", $etag" "$URL/")$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "0000"' "$URL/")" = 304200
check "a script is served as text/javascript" \
    bash -c "curl -s -D - -o /dev/null '$URL/dash/js/app.js' | grep -qi '^content-type: text/javascript'"
check "HEAD / answers 200 with the headers alone" \
    bash -c "curl -s -I '$URL/' | grep -q '^HTTP/1.1 200'"
check "the API's answers stay no-store, without the files' policy" \
    bash -c "curl -s -D - -o /dev/null -H 'Authorization: Bearer $KEY' '$URL/v1/clinic' | tr -d '\\r' | grep -qi '^cache-control: no-store$'"
check "an unknown file is the API's 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/dash/nope.js")" = 404
check "the data still needs the key (401)" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/clinic")" = 401

missing=""
command -v node >/dev/null || missing="$missing nodejs"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d tests/browser/node_modules/playwright-core ] && [ -d tests/browser/node_modules/axe-core ] ||
    missing="$missing tests/browser/node_modules (npm ci --prefix tests/browser)"
fc-list ':lang=hi' 2>/dev/null | grep -q . || missing="$missing fonts-noto-core"
if [ -n "$missing" ]; then
    not_ok "the browser test's tools are installed" "missing:$missing; run scripts/setup.sh"
    echo "$n checks, $failed failed"; exit 1
fi
ok "the browser test's tools are installed (chromium, node, playwright-core, axe-core, a Devanagari font)"

mkdir -p "$OUT"
# The timeout only stops a hung run: on a loaded machine (make check's
# other suites, a sanitizer build) the whole run can take a few minutes.
DASH_URL=$URL DASH_KEY=$KEY DASH_DB=$D/nudge.db DASH_OUT=$OUT DASH_N=$n \
    timeout 300 node tests/browser/dashboard.mjs >"$D/browser" 2>&1
rc=$?
cat "$D/browser"
p=$(grep -c '^ok ' "$D/browser"); f=$(grep -c '^not ok ' "$D/browser")
n=$((n + p + f)); failed=$((failed + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then not_ok "the browser run exited with status $rc" "$(tail -n 5 "$D/browser")"; fi
check "the server logged no error while the dashboard ran" bash -c "! grep -Ei 'error|assert|sanitizer' '$D/stderr'"
echo "$n checks, $failed failed"
[ "$failed" -eq 0 ]
