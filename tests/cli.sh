#!/usr/bin/env bash
# tests/cli.sh: black-box tests of the `nudge` command line.
#
#   NUDGE=build/nudge bash tests/cli.sh      (tests/run.sh sets NUDGE per build tree)
#
# Prints one TAP line per test ("ok N - ..." / "not ok N - ...", with a few
# indented "#" lines of diagnostics under a failure) and exits non-zero if
# any test failed. Every test runs in a fresh `mktemp -d` folder with its own
# database and outbox (--db $DB --outbox $D/out), removed afterwards: $DB is
# $D/n.db, or a fresh PostgreSQL database when tests/run.sh runs the
# PostgreSQL pass (tests/dbutil.sh).
# Time is driven with --now, never by sleeping; nothing needs the network.
#
# Exit codes under test: 0 ok, 1 failure, 2 bad usage or input, 3 not found,
# 4 not allowed in the current state.
# Each test runs in a subshell that sets D (its folder) and FAILS (its count).
# run.sh: shards 2
# shellcheck disable=SC2030,SC2031
set -u
cd "$(dirname "$0")/.." || exit 1

NUDGE=${NUDGE:-build/nudge}
case $NUDGE in /*) ;; *) NUDGE=$PWD/$NUDGE ;; esac
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
. tests/dbutil.sh

if [ ! -x "$NUDGE" ]; then
    echo "not ok 1 - $NUDGE exists and is executable (build it with make)"
    exit 1
fi

# Fixed moments (clinic zone Asia/Kolkata, quiet hours 21:00-08:00 by default).
BOOK=2026-11-20T09:00:00+05:30      # when the test books the visit
VISIT=2026-12-01T15:00:00+05:30     # the visit
R24=2026-11-30T15:00:00+05:30       # VISIT - 24 h
R2=2026-12-01T13:00:00+05:30        # VISIT - 2 h

# ---------------------------------------------------------------- framework

T=0            # tests run
TFAILED=0      # tests failed
CUR=""         # the current test's folder, removed by the trap if we are cut short
trap '[ -n "$CUR" ] && rm -rf "$CUR"' EXIT
trap 'exit 130' INT TERM

# t DESCRIPTION FUNCTION [ARGS...]: runs FUNCTION in a subshell inside a
# fresh folder $D and prints its TAP line. A test fails when any check in it
# failed (the checks keep going, so one run shows every broken expectation).
# CLI_ONLY=REGEX runs only the tests whose function name matches.
# CLI_SHARD=K/N runs every Nth test from the Kth (0-based): tests/run.sh
# runs the shards at once (every test has its own folder and database).
TALL=0
t() {
    local desc=$1
    shift
    TALL=$((TALL + 1))
    if [ -n "${CLI_SHARD:-}" ] &&
        [ $(((TALL - 1) % ${CLI_SHARD#*/})) != "${CLI_SHARD%/*}" ]; then return 0; fi
    if [ -n "${CLI_ONLY:-}" ] && ! [[ $1 =~ $CLI_ONLY ]]; then return 0; fi
    T=$((T + 1))
    CUR=$(mktemp -d "${TMPDIR:-/tmp}/nudge-cli.XXXXXX")
    (
        D=$CUR
        DB=$(test_db "$D") || exit 1
        FAILS=0
        cd "$D" || exit 1
        "$@"
        [ "$FAILS" -eq 0 ]
    ) >"$CUR.diag" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok $T - $desc"
    else
        echo "not ok $T - $desc"
        TFAILED=$((TFAILED + 1))
        if [ -s "$CUR.diag" ]; then
            head -n 24 "$CUR.diag" | sed 's/^/  # /'
        else
            echo "  # the test exited with status $rc"
        fi
    fi
    rm -rf "$CUR" "$CUR.diag"
    CUR=""
}

# fail MESSAGE...: records a failed check. The command last run is shown
# under the first failure that concerns it; at most six failures per test.
fail() {
    FAILS=$((FAILS + 1))
    [ "$FAILS" -le 6 ] || return 0
    echo "FAILED: $*"
    if [ -n "${CMD:-}" ] && [ "${SHOWN:-}" != "$CMD" ]; then
        SHOWN=$CMD
        echo "  command: $CMD"
        echo "  exit code: ${RC:-?}"
        [ -n "${ERR:-}" ] && printf '%s\n' "$ERR" | head -n 3 | sed 's/^/  stderr: /'
        [ -n "${OUT:-}" ] && printf '%s\n' "$OUT" | head -n 3 | sed 's/^/  stdout: /'
    fi
    return 0
}

# run ARGS...: nudge with this test's database and outbox, from inside $D.
# Sets CMD, RC, OUT (stdout) and ERR (stderr).
run() {
    CMD="nudge $(printf '%q ' "$@")"
    (cd "$D" && exec "$NUDGE" --db "$DB" --outbox "$D/out" "$@") >"$D/.stdout" 2>"$D/.stderr"
    RC=$?
    OUT=$(<"$D/.stdout")
    ERR=$(<"$D/.stderr")
    check_no_crash
}

# run_bare ARGS...: nudge exactly as given (no --db/--outbox added), from $D.
run_bare() {
    CMD="nudge $(printf '%q ' "$@")"
    (cd "$D" && exec "$NUDGE" "$@") >"$D/.stdout" 2>"$D/.stderr"
    RC=$?
    OUT=$(<"$D/.stdout")
    ERR=$(<"$D/.stderr")
    check_no_crash
}

check_no_crash() {
    if [ "$RC" -ge 128 ]; then
        fail "killed by signal $((RC - 128))"
    fi
    case $ERR in
    *Sanitizer* | *"runtime error:"*)
        fail "sanitizer report: $(grep -m 3 -E 'ERROR:|SUMMARY:|runtime error:' "$D/.stderr" | tr '\n' ' ')"
        ;;
    esac
}

# must ARGS...: run and expect success (set-up steps).
must() {
    run "$@"
    [ "$RC" -eq 0 ] || fail "set-up step should succeed"
}

expect_exit() {
    [ "$RC" -eq "$1" ] || fail "expected exit code $1, got $RC"
}

expect_stderr_contains() {
    local s
    for s in "$@"; do
        grep -qiF -- "$s" "$D/.stderr" || fail "stderr should mention \"$s\""
    done
}

expect_stdout_contains() {
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$D/.stdout" || fail "stdout should contain \"$s\""
    done
}

expect_stdout_lacks() {
    local s
    for s in "$@"; do
        if grep -qF -- "$s" "$D/.stdout"; then fail "stdout should not contain \"$s\""; fi
    done
}

expect_stdout_matches() {   # extended regular expression, one line
    grep -qE -- "$1" "$D/.stdout" || fail "stdout should have a line matching /$1/"
}

expect_stdout_empty() {
    [ -z "$OUT" ] || fail "stdout should be empty"
}

expect_id() {               # stdout is one bare positive integer
    [[ $OUT =~ ^[1-9][0-9]*$ ]] || fail "stdout should be a bare id, got \"$OUT\""
}

expect_eq() {               # ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] || fail "$3: expected \"$2\", got \"$1\""
}

# Quiet helpers that leave CMD/RC/OUT/ERR alone.
nudge_out() { (cd "$D" && exec "$NUDGE" --db "$DB" --outbox "$D/out" "$@") 2>/dev/null; }
rows() { nudge_out "$@" | tail -n +2 | grep -c .; }     # data rows of a list
field() { nudge_out "$@" | sed -n "s/^$FIELD: //p" | head -n 1; }

count_files() {             # messages in the outbox (not the hidden temporaries)
    local f k=0                 # a glob, not find | wc: no process per call
    for f in "$D"/out/*; do [ -f "$f" ] && [ ! -L "$f" ] && k=$((k + 1)); done
    echo "$k"
}

outbox_list() { [ -d "$D/out" ] && (cd "$D/out" && ls -1 | sort); }

# What a failed command must not have changed: every table of the database
# (row count and a digest of its rows, so an UPDATE shows too) and the
# outbox. One line per table.
state() {
    db_state "$DB"
    echo "outbox: $(count_files) files"
}

# expect_rejected CODE NEEDLE ARGS...: the command fails with exit CODE,
# names NEEDLE on stderr, prints nothing on stdout and changes nothing.
expect_rejected() {
    local code=$1 needle=$2
    shift 2
    local before after
    nudge_out migrate >/dev/null     # so that "before" has a database to compare
    before=$(state)
    run "$@"
    expect_exit "$code"
    expect_stderr_contains "$needle"
    expect_stdout_empty
    after=$(state)
    [ "$before" = "$after" ] ||
        fail "nothing should change, but: $(diff <(echo "$before") <(echo "$after") | grep '^>' | cut -c3- | tr '\n' ';')"
}

# JSON files of the outbox, read with python (jq may not be installed).
json_get() {                # FILE KEY
    "$PYTHON" -c 'import json,sys
v = json.load(open(sys.argv[1], encoding="utf-8")).get(sys.argv[2])
print("" if v is None else v)' "$1" "$2"
}

outbox_json_for() {         # TEMPLATE: the outbox .json files of that template
    "$PYTHON" -c 'import glob,json,sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    if json.load(open(f, encoding="utf-8")).get("template") == sys.argv[2]:
        print(f)' "$D/out" "$1"
}

is_devanagari() {           # TEXT: true if it holds Devanagari letters
    "$PYTHON" -c 'import sys
sys.exit(0 if sum("\u0900" <= c <= "\u097f" for c in sys.argv[1]) >= 10 else 1)' "$1"
}

# ---------------------------------------------------------------- fixtures

# A clinic in India, a Hindi-speaking patient reached by SMS, a visit booked
# at $BOOK for $VISIT. Set C, P, A.
add_clinic() {
    must clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN "$@"
    C=$OUT
}
add_patient() {
    must patient add --clinic "${C:-1}" --name "Ram Lal" --phone 9876543210 --language hi "$@"
    P=$OUT
}
add_appt() {
    must appointment add --patient "${P:-1}" --service "Teeth Cleaning" --at "$VISIT" --now "$BOOK"
    A=$OUT
}
fixture() { add_clinic && add_patient && add_appt; }

# tick_at TIME: one tick at TIME; sets NEW to the number of files it added.
tick_at() {
    local before
    before=$(count_files)
    run tick --now "$1"
    expect_exit 0
    NEW=$(($(count_files) - before))
}

# =================================================================
# 1. The issue's session, verbatim (but $NUDGE for build/nudge).
# =================================================================

issue_session() {
    # appointment add runs on the real clock here (late Nov 2026), so a
    # confirmation is planned too; the tick sends it and the 24 h reminder.
    # Once the real clock passes the 24 h mark the session as written can no
    # longer plan that reminder, so from then on (and only then) the booking
    # is pinned to the day the issue was written.
    PIN=""
    if [ "$(date -u +%s)" -ge "$(date -u -d 2026-11-30T04:30:00Z +%s)" ]; then
        PIN="--now 2026-11-24T12:00:00+05:30"
    fi
    N="$NUDGE --db $DB"
    C=$($N clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN 2>"$D/.e1")
    RC_C=$?
    P=$($N patient add --clinic $C --name "Ram Lal" --phone 9876543210 --email ram@example.com --language hi 2>"$D/.e2")
    RC_P=$?
    A=$($N appointment add --patient $P --service "Teeth Cleaning" --at 2026-12-01T10:00:00+05:30 --duration 60 $PIN 2>"$D/.e3")
    RC_A=$?
    TICK=$($N tick --now 2026-11-30T10:00:00+05:30 --outbox $D/out 2>"$D/.e4") # writes the 24 h reminder, in Hindi, into $D/out
    RC_T=$?
    STATUS=$($N queue status 2>"$D/.e5") # counts by status
    RC_S=$?
}

session_ids() {
    issue_session
    CMD="nudge clinic add ..." RC=$RC_C OUT=$C ERR=$(<"$D/.e1")
    expect_exit 0
    expect_id
    CMD="nudge patient add ..." RC=$RC_P OUT=$P ERR=$(<"$D/.e2")
    expect_exit 0
    expect_id
    CMD="nudge appointment add ..." RC=$RC_A OUT=$A ERR=$(<"$D/.e3")
    expect_exit 0
    expect_id
}
t "issue session: clinic, patient and appointment add each print a bare integer id" session_ids

session_outbox() {
    issue_session
    CMD="nudge tick --now 2026-11-30T10:00:00+05:30 --outbox \$D/out" RC=$RC_T OUT=$TICK ERR=$(<"$D/.e4")
    expect_exit 0
    [[ $TICK =~ sent\ 2 ]] || fail "tick should report \"sent 2\" (confirmation and 24 h reminder)"
    local files
    files=$(outbox_json_for appointment_reminder)
    [ "$(printf '%s\n' "$files" | grep -c .)" -eq 1 ] ||
        fail "outbox should hold exactly one appointment_reminder .json, has: $(outbox_list | tr '\n' ' ')"
    local f=${files%%$'\n'*}
    [ -n "$f" ] || return 0
    local text to
    text=$(json_get "$f" text)
    to=$(json_get "$f" to)
    is_devanagari "$text" || fail "reminder text should be Hindi (Devanagari): $text"
    [[ $text == *"Teeth Cleaning"* ]] || fail "reminder should name the service: $text"
    expect_eq "$to" "+919876543210" "reminder \"to\""
    expect_eq "$(json_get "$f" language)" hi "reminder language"
    [ -n "$(outbox_json_for appointment_confirmation)" ] || fail "the confirmation should be in the outbox too"
}
t "issue session: tick writes the Hindi 24 h reminder for Teeth Cleaning to +919876543210" session_outbox

session_status() {
    issue_session
    CMD="nudge queue status" RC=$RC_S OUT=$STATUS ERR=$(<"$D/.e5")
    expect_exit 0
    printf '%s\n' "$STATUS" >"$D/.stdout"
    local s
    for s in pending sending sent delivered read failed cancelled; do
        expect_stdout_matches "^$s +[0-9]+$"
    done
    local sent
    sent=$(awk '$1 == "sent" {print $2}' <<<"$STATUS")
    [ "${sent:-0}" -ge 1 ] || fail "sent should be >= 1, is \"$sent\""
}
t "issue session: queue status prints a count per status with sent >= 1" session_status

# =================================================================
# 2. Happy paths
# =================================================================

h_migrate() {
    db_is_pg "$DB" || DB=$D/fresh.db   # not the migrated copy test_db made
    run migrate
    expect_exit 0
    expect_stdout_contains "schema up to date"
    run migrate
    expect_exit 0
    db_exists "$DB" || fail "migrate should create the database"
}
t "migrate creates the schema and is idempotent" h_migrate

h_clinic_add_all() {
    run clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN --language hi \
        --phone "080 4123 4567" --email front-desk@smile.example --address "12 MG Road" \
        --quiet-hours 22:00-07:00 --offsets 2880,60 --max-retries 5 --rate 30 \
        --channel whatsapp --followup-after 0
    expect_exit 0
    expect_id
    run clinic list
    expect_exit 0
    expect_stdout_contains "id	name	timezone	country	language	quiet_hours	channel"
    expect_stdout_contains "1	Smile Dental	Asia/Kolkata	IN	hi	22:00-07:00	whatsapp"
}
t "clinic add with every option prints the id; clinic list shows the settings" h_clinic_add_all

h_clinic_offsets_used() {
    add_clinic --offsets 2880,60
    add_patient
    add_appt
    run appointment show "$A"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-11-29T15:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-12-01T14:00:00\+05:30"
}
t "clinic add --offsets sets when reminders are planned" h_clinic_offsets_used

h_clinic_defaults() {
    run clinic add --name "Corner Clinic" --timezone America/New_York --country us --quiet-hours none
    expect_exit 0
    expect_id
    run clinic list
    expect_stdout_contains "1	Corner Clinic	America/New_York	US	en	00:00-00:00	sms"
}
t "clinic add: lower-case country accepted, quiet hours none, defaults en/sms" h_clinic_defaults

h_clinic_list() {
    run clinic list
    expect_exit 0
    expect_eq "$(grep -c . <<<"$OUT")" 1 "lines of an empty clinic list (header only)"
    add_clinic
    run clinic add --name "Second" --timezone UTC --country GB
    run clinic list
    expect_exit 0
    expect_eq "$(rows clinic list)" 2 "clinic rows"
    expect_stdout_matches "^2	Second	UTC	GB	"
}
t "clinic list prints a header and one row per clinic" h_clinic_list

h_patient_add_all() {
    add_clinic
    run patient add --clinic "$C" --name "Ram Lal" --phone "98765 43210" --email ram@example.com \
        --language hi --dob 1980-02-29 --gender male --tags "diabetes,braces" --channel email \
        --preferred-time 09:30 --timezone Asia/Kolkata --opt-out marketing,health_tips
    expect_exit 0
    expect_id
    local id=$OUT
    run patient show "$id"
    expect_exit 0
    expect_stdout_contains "name: Ram Lal" "phone: +919876543210" "email: ram@example.com" \
        "language: hi" "timezone: Asia/Kolkata" "date_of_birth: 1980-02-29" "gender: male" \
        "tags: diabetes,braces" "preferred_channel: email" "preferred_time: 09:30" \
        "opt_outs: health_tips,marketing" "clinic: $C"
}
t "patient add with every option; patient show has the E.164 phone and settings" h_patient_add_all

h_patient_e164() {
    add_clinic
    run patient add --clinic "$C" --name A --phone "+91-98765-43210"
    expect_id
    run patient add --clinic "$C" --name B --phone "098765 43210"
    expect_id
    run patient add --clinic "$C" --name C --phone "+1 (415) 555-2671"
    expect_id
    run patient list
    expect_stdout_contains "1	$C	A	+919876543210	-	en" "2	$C	B	+919876543210	-	en" \
        "3	$C	C	+14155552671	-	en"
}
t "patient add normalises phone numbers as staff type them to E.164" h_patient_e164

h_patient_email_only() {
    add_clinic --language hi
    run patient add --clinic "$C" --name Priya --email priya@example.com --opt-out reminders
    expect_exit 0
    expect_id
    run patient show "$OUT"
    expect_stdout_contains "phone: -" "email: priya@example.com" "language: hi" \
        "opt_outs: reminders" "timezone: Asia/Kolkata"
}
t "patient add with only an email; language defaults to the clinic's" h_patient_email_only

h_patient_list() {
    add_clinic
    run clinic add --name Other --timezone UTC --country GB
    local c2=$OUT
    run patient add --clinic "$C" --name "Ram Lal" --phone 9876543210
    run patient add --clinic "$C" --name Priya --email priya@example.com
    run patient add --clinic "$c2" --name John --phone "+44 20 7946 0958"
    run patient list
    expect_exit 0
    expect_stdout_contains "id	clinic	name	phone	email	language"
    expect_eq "$(rows patient list)" 3 "patients listed"
    expect_eq "$(rows patient list --clinic "$c2")" 1 "patients of clinic 2"
    expect_eq "$(rows patient list --limit 2)" 2 "patients with --limit 2"
    run patient list --after 2
    expect_stdout_matches "^3	$c2	John	\+442079460958	-	en$"
}
t "patient list: header, rows, --clinic, --limit and --after" h_patient_list

h_appt_add() {
    add_clinic
    add_patient
    run appointment add --patient "$P" --service "Root Canal" --at "$VISIT" --duration 45 \
        --doctor "Dr. Mehta" --notes "bring x-ray" --now "$BOOK"
    expect_exit 0
    expect_id
    run appointment show "$OUT"
    expect_exit 0
    expect_stdout_contains "patient: $P" "service: Root Canal" "at: 2026-12-01T15:00:00+05:30" \
        "duration: 45" "doctor: Dr. Mehta" "status: scheduled" "notes: bring x-ray" "plans:"
    expect_stdout_matches "confirmation +appointment_confirmation +planned +2026-11-20T09:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-11-30T15:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-12-01T13:00:00\+05:30"
}
t "appointment add prints the id; show lists the visit and its planned messages" h_appt_add

h_appt_local_time() {
    add_clinic
    add_patient
    run appointment add --patient "$P" --service X --at 2026-12-01T10:00 --now "$BOOK"
    expect_exit 0
    expect_id
    run appointment show "$OUT"
    expect_stdout_contains "at: 2026-12-01T10:00:00+05:30" "duration: 30"
    run appointment add --patient "$P" --service Y --at 2026-12-01T04:30:00Z --now "$BOOK"
    run appointment show "$OUT"
    expect_stdout_contains "at: 2026-12-01T10:00:00+05:30"
}
t "appointment add reads a local --at in the clinic zone; default duration 30" h_appt_local_time

h_appt_list() {
    fixture
    run patient add --clinic "$C" --name Priya --email priya@example.com
    local p2=$OUT
    run appointment add --patient "$p2" --service Filling --at 2026-12-02T11:00:00+05:30 --now "$BOOK"
    local a2=$OUT
    run appointment cancel "$a2" --now "$BOOK"
    run appointment list
    expect_exit 0
    expect_stdout_contains "id	patient	at	service	minutes	doctor	status"
    expect_stdout_contains "$A	$P	2026-12-01T15:00:00+05:30	Teeth Cleaning	30	-	scheduled"
    expect_stdout_contains "$a2	$p2	2026-12-02T11:00:00+05:30	Filling	30	-	cancelled"
    expect_eq "$(rows appointment list --patient "$p2")" 1 "appointments of patient 2"
    expect_eq "$(rows appointment list --status scheduled)" 1 "scheduled appointments"
    expect_eq "$(rows appointment list --status cancelled)" 1 "cancelled appointments"
    expect_eq "$(rows appointment list --clinic "$C")" 2 "appointments of the clinic"
}
t "appointment list: rows, --patient, --status and --clinic filters" h_appt_list

h_appt_confirm() {
    fixture
    run appointment confirm "$A" --now "$BOOK"
    expect_exit 0
    expect_stdout_empty
    FIELD=status
    expect_eq "$(field appointment show "$A")" confirmed "status after confirm"
    run appointment confirm "$A" --now "$BOOK"
    expect_exit 0
}
t "appointment confirm sets confirmed; confirming twice is harmless" h_appt_confirm

h_appt_cancel() {
    fixture
    run appointment cancel "$A" --now "$BOOK"
    expect_exit 0
    run appointment show "$A"
    expect_stdout_contains "status: cancelled"
    expect_stdout_lacks "planned"
    expect_stdout_matches "reminder +appointment_reminder +cancelled"
}
t "appointment cancel sets cancelled and cancels every plan" h_appt_cancel

h_appt_complete() {
    fixture
    run appointment complete "$A" --now 2026-12-01T16:00:00+05:30
    expect_exit 0
    run appointment show "$A"
    expect_stdout_contains "status: completed"
    expect_stdout_matches "follow_up +appointment_follow_up +planned +2026-12-02T16:00:00\+05:30"
    FIELD=last_visit
    expect_eq "$(field patient show "$P")" "2026-12-01T15:00:00+05:30" "patient last_visit"
}
t "appointment complete sets completed, plans the follow-up, records the visit" h_appt_complete

h_appt_no_show() {
    fixture
    run appointment no-show "$A" --now 2026-12-01T15:30:00+05:30
    expect_exit 0
    run appointment show "$A"
    expect_stdout_contains "status: no-show"
    expect_stdout_matches "no_show +no_show_follow_up +planned +2026-12-01T15:30:00\+05:30"
    tick_at 2026-12-01T15:30:00+05:30
    expect_eq "$(outbox_json_for no_show_follow_up | grep -c .)" 1 "no-show messages sent"
}
t "appointment no-show after the start sets no-show and sends the no-show message" h_appt_no_show

h_appt_reschedule() {
    fixture
    run appointment reschedule "$A" --at 2026-12-03T11:00:00+05:30 --now "$BOOK"
    expect_exit 0
    expect_stdout_empty
    run appointment show "$A"
    expect_stdout_contains "status: rescheduled" "at: 2026-12-03T11:00:00+05:30"
    expect_stdout_matches "reminder +appointment_reminder +cancelled +2026-11-30T15:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-12-02T11:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +planned +2026-12-03T09:00:00\+05:30"
}
t "appointment reschedule moves the visit and plans reminders afresh" h_appt_reschedule

h_tmpl_list() {
    run template list
    expect_exit 0
    expect_stdout_contains "name	language	category	source"
    expect_stdout_contains "appointment_reminder	en	reminders	built-in" \
        "appointment_reminder	hi	reminders	built-in" \
        "appointment_confirmation	en	transactional	built-in" "clinic_notice	hi	broadcasts	built-in"
}
t "template list shows the built-in templates in English and Hindi" h_tmpl_list

h_tmpl_show_en() {
    run template show appointment_reminder
    expect_exit 0
    expect_stdout_contains "name: appointment_reminder" "language: en" "category: reminders" \
        "source: built-in" "[sms]" "[subject]" "[text]" "[html]" "{patient_name}" "{service}"
}
t "template show prints the English template with every part" h_tmpl_show_en

h_tmpl_show_hi() {
    run template show appointment_reminder --language hi
    expect_exit 0
    expect_stdout_contains "language: hi" "{service}"
    is_devanagari "$OUT" || fail "the Hindi template should be in Devanagari"
}
t "template show --language hi prints the Hindi template" h_tmpl_show_hi

VARS=(--var "patient_name=Ram Lal" --var "service=Teeth Cleaning" --var "clinic_name=Smile & Co"
    --var "date=01-Dec-2026" --var "time=10:00 AM")

h_tmpl_render_sms() {
    run template render appointment_reminder "${VARS[@]}"
    expect_exit 0
    expect_stdout_contains "Hi Ram Lal, your Teeth Cleaning appointment at Smile & Co is on 01-Dec-2026 at 10:00 AM"
    expect_stdout_lacks "{"
}
t "template render (sms) fills every --var" h_tmpl_render_sms

h_tmpl_render_email() {
    run template render appointment_reminder --channel email "${VARS[@]}"
    expect_exit 0
    expect_stdout_contains "Subject: Reminder: Teeth Cleaning appointment on 01-Dec-2026 at 10:00 AM" \
        "Dear Ram Lal," "<strong>Smile &amp; Co</strong>"
    expect_stdout_lacks "{"
}
t "template render --channel email prints subject, text and HTML with escaped values" h_tmpl_render_email

h_tmpl_render_hi() {
    run template render appointment_reminder --channel whatsapp --language hi "${VARS[@]}"
    expect_exit 0
    expect_stdout_contains "Ram Lal" "Teeth Cleaning"
    is_devanagari "$OUT" || fail "the Hindi rendering should be in Devanagari"
}
t "template render --language hi --channel whatsapp renders the Hindi text" h_tmpl_render_hi

h_tmpl_put() {
    add_clinic
    run template put --clinic "$C" --name appointment_reminder --language en --category reminders \
        --sms "Custom: {patient_name}, {service} on {date}" --subject "S {service}" \
        --text "T {patient_name}" --html "<p>{patient_name}</p>" --whatsapp "WA {patient_name}"
    expect_exit 0
    expect_stdout_empty
    run template show appointment_reminder --clinic "$C"
    expect_exit 0
    expect_stdout_contains "source: clinic" "Custom: {patient_name}, {service} on {date}" \
        "[whatsapp]" "WA {patient_name}" "S {service}"
    run template list --clinic "$C"
    expect_stdout_contains "appointment_reminder	en	reminders	clinic"
    run template show appointment_reminder
    expect_stdout_contains "source: built-in"
    run template put --clinic "$C" --name my_notice --language en --category broadcasts \
        --sms "Hello {first_name}" --subject s --text t --html h
    expect_exit 0
    run template list --clinic "$C"
    expect_stdout_contains "my_notice	en	broadcasts	clinic"
}
t "template put: show and list reflect the clinic's version (source clinic)" h_tmpl_put

h_tmpl_put_used() {
    add_clinic
    must patient add --clinic "$C" --name "Ram Lal" --phone 9876543210 --language en
    P=$OUT
    run template put --clinic "$C" --name appointment_reminder --language en --category reminders \
        --sms "Custom: {first_name}, {service} on {date} at {time}" --subject s --text t --html h
    add_appt
    tick_at "$R24"
    local f
    f=$(outbox_json_for appointment_reminder)
    [ -n "$f" ] || { fail "no reminder in the outbox"; return; }
    expect_eq "$(json_get "$f" text)" "Custom: Ram, Teeth Cleaning on 01-Dec-2026 at 03:00 PM" "reminder text"
}
t "a clinic's own template is what its reminders say" h_tmpl_put_used

h_send() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var "notice=Closed on Friday" --now "$BOOK"
    expect_exit 0
    expect_id
    local id=$OUT
    run queue show "$id"
    expect_exit 0
    expect_stdout_contains "id: $id" "status: pending" "channel: sms" "recipient: +919876543210" \
        "template: clinic_notice" "language: hi" "Closed on Friday"
    tick_at "$BOOK"
    expect_eq "$NEW" 1 "files written by the tick"
    local f=$D/out/$id-sms.json
    [ -f "$f" ] || { fail "outbox should hold $id-sms.json, has: $(outbox_list)"; return; }
    expect_eq "$(json_get "$f" to)" "+919876543210" "\"to\" of the sent message"
    [[ $(json_get "$f" text) == *"Closed on Friday"* ]] || fail "sent text should hold the notice"
}
t "send prints the notification id; tick delivers it to the outbox" h_send

h_send_dedupe() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=A --dedupe-key closure-1 --now "$BOOK"
    expect_id
    local first=$OUT
    run send --patient "$P" --template clinic_notice --var notice=B --dedupe-key closure-1 --now "$BOOK"
    expect_exit 0
    expect_eq "$OUT" "$first" "id for the same --dedupe-key"
    expect_eq "$(rows queue list)" 1 "notifications queued"
    run send --patient "$P" --template clinic_notice --var notice=C --dedupe-key closure-2 --now "$BOOK"
    expect_id
    [ "$OUT" != "$first" ] || fail "another --dedupe-key should give another id"
}
t "send with the same --dedupe-key twice gives the same id, once" h_send_dedupe

h_send_email_priority() {
    add_clinic
    run patient add --clinic "$C" --name Priya --email priya@example.com --phone 9876543211
    local p=$OUT
    run send --patient "$p" --template clinic_notice --var "notice=Closed <today>" --channel email \
        --priority urgent --now 2026-11-20T23:00:00+05:30
    expect_id
    local id=$OUT
    run queue list
    expect_stdout_matches "^$id	$C	email	clinic_notice	en	urgent	pending	0	"
    tick_at 2026-11-20T23:00:00+05:30
    expect_eq "$NEW" 1 "urgent email sent in quiet hours"
    [ -f "$D/out/$id-email.eml" ] || fail "outbox should hold $id-email.eml, has $(outbox_list)"
    grep -q "^To: priya@example.com" "$D/out/$id-email.eml" 2>/dev/null || fail "the .eml should be To: priya@example.com"
}
t "send --channel email --priority urgent goes out at once, even in quiet hours" h_send_email_priority

h_queue_status() {
    run queue status
    expect_exit 0
    local s
    for s in pending sending sent delivered read failed cancelled; do
        expect_stdout_matches "^$s +0$"
    done
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    run send --patient "$P" --template clinic_notice --var notice=y --now "$BOOK" --at 2026-11-21T10:00:00+05:30
    tick_at "$BOOK"
    run queue status
    expect_stdout_matches "^pending +1$"
    expect_stdout_matches "^sent +1$"
    run queue status --clinic "$C"
    expect_stdout_matches "^sent +1$"
}
t "queue status counts notifications by status" h_queue_status

h_queue_list() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local sent=$OUT
    run send --patient "$P" --template clinic_notice --var notice=y --at 2026-11-21T10:00:00+05:30 --now "$BOOK"
    local later=$OUT
    tick_at "$BOOK"
    run queue list
    expect_exit 0
    expect_stdout_contains "id	clinic	channel	template	language	priority	status	attempts	due"
    expect_stdout_contains "$sent	$C	sms	clinic_notice	hi	normal	sent	1	2026-11-20T09:00:00+05:30" \
        "$later	$C	sms	clinic_notice	hi	normal	pending	0	2026-11-21T10:00:00+05:30"
    run queue list --status pending
    expect_exit 0
    expect_stdout_contains "$later	"
    expect_stdout_lacks "	sent	"
    expect_eq "$(rows queue list --status sent)" 1 "rows with --status sent"
    expect_eq "$(rows queue list --status failed)" 0 "rows with --status failed"
    expect_eq "$(rows queue list --limit 1)" 1 "rows with --limit 1"
    expect_eq "$(rows queue list --after "$sent")" 1 "rows with --after"
    expect_eq "$(rows queue list --clinic "$C")" 2 "rows with --clinic"
}
t "queue list shows every notification; --status filters" h_queue_list

h_queue_show() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    tick_at "$BOOK"
    run queue show "$id"
    expect_exit 0
    expect_stdout_contains "id: $id" "clinic: $C" "patient: $P" "status: sent" "attempts: 1 of 4" \
        "due: 2026-11-20T09:00:00+05:30" "sent: 2026-11-20T09:00:00+05:30" "provider_id: $id-sms.json" \
        "category: broadcasts"
}
t "queue show prints a notification's details after it was sent" h_queue_show

h_queue_cancel() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --at 2026-11-21T10:00:00+05:30 --now "$BOOK"
    local id=$OUT
    run queue cancel "$id" --now "$BOOK"
    expect_exit 0
    expect_stdout_empty
    FIELD=status
    expect_eq "$(field queue show "$id")" cancelled "status after queue cancel"
    tick_at 2026-11-21T10:00:00+05:30
    expect_eq "$NEW" 0 "files written for a cancelled notification"
}
t "queue cancel stops a pending notification from being sent" h_queue_cancel

h_queue_cancel_reason() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    run queue cancel "$id" --now "$BOOK"
    FIELD=last_error
    expect_eq "$(field queue show "$id")" "cancelled by staff" "last_error after queue cancel"
}
t "queue cancel records why (last_error: cancelled by staff)" h_queue_cancel_reason

h_queue_retry_cancelled() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    run queue cancel "$id" --now "$BOOK"
    run queue retry "$id" --now 2026-11-20T10:00:00+05:30
    expect_exit 0
    expect_stdout_empty
    run queue show "$id"
    expect_stdout_contains "status: pending" "due: 2026-11-20T10:00:00+05:30"
    tick_at 2026-11-20T10:00:00+05:30
    expect_eq "$NEW" 1 "files written after retry"
    FIELD=status
    expect_eq "$(field queue show "$id")" sent "status after retry and tick"
}
t "queue retry puts a cancelled notification back; the next tick sends it" h_queue_retry_cancelled

h_queue_retry_failed() {
    add_clinic --max-retries 0
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    mkdir -p "$D/out/$id-sms.json"      # the outbox cannot write the message: a send failure
    run tick --now "$BOOK"
    expect_stdout_contains "failed 1"
    run queue show "$id"
    expect_stdout_contains "status: failed"
    expect_stdout_matches "^last_error: .+"
    expect_eq "$(rows queue list --status failed)" 1 "failed notifications"
    rmdir "$D/out/$id-sms.json"
    run queue retry "$id" --now "$BOOK"
    expect_exit 0
    tick_at "$BOOK"
    expect_eq "$NEW" 1 "files written after the retry"
    FIELD=status
    expect_eq "$(field queue show "$id")" sent "status after the retry"
}
t "queue retry re-sends a notification that failed" h_queue_retry_failed

h_tick() {
    run tick --now "$BOOK"
    expect_exit 0
    expect_stdout_matches "^enqueued 0, expired 0, sent 0, retrying 0, failed 0, deferred 0$"
    fixture
    run tick --now "$BOOK"
    expect_exit 0
    expect_stdout_matches "^enqueued 1, expired 0, sent 1, retrying 0, failed 0, deferred 0$"
    expect_eq "$(outbox_json_for appointment_confirmation | grep -c .)" 1 "confirmations sent"
}
t "tick reports what it did and sends the due confirmation" h_tick

h_demo() {
    run demo
    expect_exit 0
    expect_stdout_contains "sent" "appointment_reminder" "messages sent"
    # The demo works in a scratch folder of its own, removed at its end.
    local dir
    dir=$(sed -n 's/^Database and outbox: \([^ ]*\) (removed at the end.*/\1/p' <<<"$OUT")
    [[ $dir =~ ^/tmp/nudge-demo-[A-Za-z0-9]{6}$ ]] || fail "demo should name its scratch folder (got \"$dir\")"
    [ ! -e "$dir" ] || fail "demo should remove its scratch folder $dir"
    [ ! -e "$D/nudge.db" ] || fail "demo should not touch the working folder"
}
t "demo replays the demo clinic and prints the messages it sent" h_demo

h_demo_days() {
    run demo --days 1
    expect_exit 0
    expect_stdout_contains "1 simulated days" "appointment_confirmation"
}
t "demo --days 1" h_demo_days

h_serve() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    (cd "$D" && exec "$NUDGE" --db "$DB" --outbox "$D/out" serve --interval 1 --now "$BOOK") \
        >"$D/serve.out" 2>"$D/serve.err" &
    local pid=$!
    for _ in $(seq 100); do             # wait for the message, at most 10 s
        [ "$(count_files)" -ge 1 ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$(count_files)" -ge 1 ] || fail "serve should send the due message"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do             # and for it to stop, at most 10 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null && fail "serve should stop within 10 s of SIGTERM"
    wait "$pid"
    local rc=$?
    CMD="nudge serve --interval 1" RC=$rc OUT="" ERR=$(<"$D/serve.err")
    expect_exit 0
    grep -q "stopped" "$D/serve.err" || fail "serve should say it stopped"
}
t "serve sends due messages and exits 0 on SIGTERM" h_serve

# --help everywhere
help_ok() {
    run_bare "$@" --help
    expect_exit 0
    expect_stdout_contains "usage: nudge"
    [ -z "$ERR" ] || fail "stderr should be empty"
    [ ! -e "$D/nudge.db" ] && [ ! -e "$D/outbox" ] || fail "--help should create nothing"
}
while read -r cmd; do
    # shellcheck disable=SC2086
    t "nudge $cmd --help exits 0 and prints usage" help_ok $cmd
done <<'EOF'
migrate
clinic
clinic add
clinic list
patient
patient add
patient list
patient show
appointment
appointment add
appointment list
appointment show
appointment confirm
appointment cancel
appointment complete
appointment no-show
appointment reschedule
template
template list
template show
template render
template put
send
queue
queue status
queue list
queue show
queue retry
queue cancel
tick
serve
demo
EOF

h_help_main() {
    run_bare --help
    expect_exit 0
    expect_stdout_contains "usage: nudge" "Exit codes"
    run_bare help
    expect_exit 0
    expect_stdout_contains "usage: nudge"
}
t "nudge --help and nudge help print the usage" h_help_main

h_help_short() {
    run_bare -h
    expect_exit 0
    expect_stdout_contains "usage: nudge"
}
t "nudge -h prints the usage, as -h does after any command" h_help_short

h_help_specific() {
    run_bare clinic add --help
    expect_stdout_contains "--timezone ZONE" "--quiet-hours"
    run_bare send --help
    expect_stdout_contains "--dedupe-key"
    run_bare appointment reschedule --help
    expect_stdout_contains "reschedule ID --at TIME"
}
t "command help describes the command's options" h_help_specific

# =================================================================
# 3. Bad input: exit code, stderr naming the problem, nothing written
# =================================================================

b_no_command() {
    run_bare
    expect_exit 2
    expect_stderr_contains "usage: nudge"
}
t "no command: exit 2 with the usage on stderr" b_no_command

t "unknown command: exit 2" expect_rejected 2 'unknown command "frobnicate"' frobnicate
t "unknown global option before the command: exit 2" expect_rejected 2 "--bogus" --bogus clinic list
t "global option --db without a value: exit 2" expect_rejected 2 "--db" clinic list --db
t "--now garbage: exit 2 naming now" expect_rejected 2 "now" clinic list --now garbage
t "--now with an impossible date: exit 2" expect_rejected 2 "invalid day" clinic list --now 2026-02-30T10:00:00Z
t "--now without a UTC offset: exit 2" expect_rejected 2 "offset" queue status --now 2026-11-30T10:00:00
t "an option given twice: exit 2" expect_rejected 2 "--name given twice" \
    clinic add --name A --name B --timezone UTC --country US
t "--db in a folder that does not exist: exit 1" expect_rejected 1 "cannot open database" \
    --db /nonexistent/nudge-cli/n.db migrate

for group in clinic patient appointment template queue; do
    t "$group: unknown subcommand: exit 2" expect_rejected 2 "frob" "$group" frob
    t "$group: missing subcommand: exit 2" expect_rejected 2 "subcommand" "$group"
done

while read -r cmd; do
    # shellcheck disable=SC2086
    t "nudge $cmd: unknown option: exit 2" expect_rejected 2 "unknown option --bogus" $cmd --bogus
done <<'EOF'
migrate
clinic add
clinic list
patient add
patient list
patient show 1
appointment add
appointment list
appointment show 1
appointment confirm 1
appointment cancel 1
appointment complete 1
appointment no-show 1
appointment reschedule 1
template list
template show appointment_reminder
template render appointment_reminder
template put
send
queue status
queue list
queue show 1
queue retry 1
queue cancel 1
tick
serve
demo
EOF

# Stray words must not be dropped: "--name Ram Lal" without quotes would
# otherwise create a patient called "Ram".
b_stray_patient_word() {
    add_clinic
    expect_rejected 2 '"Lal"' patient add --clinic "$C" --name Ram Lal --phone 9876543210
}
t "patient add with a stray word (--name Ram Lal unquoted): exit 2, nothing added" b_stray_patient_word
t "clinic list with a stray argument: exit 2" expect_rejected 2 '"extra"' clinic list extra
t "queue status with a stray argument: exit 2" expect_rejected 2 '"extra"' queue status extra
t "tick with a stray argument: exit 2" expect_rejected 2 'unexpected argument "now"' tick now
t "migrate with a stray argument: exit 2" expect_rejected 2 '"extra"' migrate extra

# ---- clinic add
CL=(clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN)
t "clinic add without --name: exit 2" expect_rejected 2 "--name" clinic add --timezone UTC --country US
t "clinic add without --timezone: exit 2" expect_rejected 2 "--timezone" clinic add --name X --country US
t "clinic add without --country: exit 2" expect_rejected 2 "--country" clinic add --name X --timezone UTC
t "clinic add --name without its value: exit 2" expect_rejected 2 "--name needs a value" clinic add --name
t "clinic add with a blank --name: exit 2" expect_rejected 2 "name" clinic add --name " " --timezone UTC --country US
t "clinic add with a bad timezone: exit 2" expect_rejected 2 "timezone" clinic add --name X --timezone Mars/Base --country IN
t "clinic add with a path as timezone: exit 2" expect_rejected 2 "timezone" clinic add --name X --timezone ../../etc/passwd --country IN
t "clinic add with an unknown country: exit 2" expect_rejected 2 "country" clinic add --name X --timezone UTC --country ZZ
t "clinic add with a too short phone: exit 2" expect_rejected 2 "phone" "${CL[@]}" --phone 12345
t "clinic add with letters in the phone: exit 2" expect_rejected 2 "phone" "${CL[@]}" --phone 98765abcde
t "clinic add with a bad email: exit 2" expect_rejected 2 "email" "${CL[@]}" --email front-desk
t "clinic add with a bad language: exit 2" expect_rejected 2 "language" "${CL[@]}" --language 123
t "clinic add with a bad --channel: exit 2" expect_rejected 2 "channel" "${CL[@]}" --channel fax
t "clinic add --quiet-hours 25:00-07:00: exit 2" expect_rejected 2 "--quiet-hours" "${CL[@]}" --quiet-hours 25:00-07:00
t "clinic add --quiet-hours garbage: exit 2" expect_rejected 2 "--quiet-hours" "${CL[@]}" --quiet-hours evenings
t "clinic add --offsets with a word: exit 2" expect_rejected 2 "offsets" "${CL[@]}" --offsets 1440,soon
t "clinic add --offsets 0: exit 2" expect_rejected 2 "offsets" "${CL[@]}" --offsets 0
t "clinic add --offsets negative: exit 2" expect_rejected 2 "offsets" "${CL[@]}" --offsets -60
t "clinic add --max-retries 50: exit 2" expect_rejected 2 "--max-retries" "${CL[@]}" --max-retries 50
t "clinic add --rate 0: exit 2" expect_rejected 2 "--rate" "${CL[@]}" --rate 0
t "clinic add --followup-after -1: exit 2" expect_rejected 2 "--followup-after" "${CL[@]}" --followup-after -1

# ---- patient add / list / show
with_clinic() { add_clinic; expect_rejected "$@"; }
PA=(patient add --clinic 1 --name "Ram Lal")
t "patient add without --clinic: exit 2" with_clinic 2 "--clinic" patient add --name X --phone 9876543210
t "patient add without --name: exit 2" with_clinic 2 "--name" patient add --clinic 1 --phone 9876543210
t "patient add without phone or email: exit 2" with_clinic 2 "phone" "${PA[@]}"
t "patient add --clinic abc: exit 2" with_clinic 2 "--clinic" patient add --clinic abc --name X --phone 9876543210
t "patient add --clinic -1: exit 2" with_clinic 2 "--clinic" patient add --clinic -1 --name X --phone 9876543210
t "patient add --clinic 0: exit 2" with_clinic 2 "--clinic" patient add --clinic 0 --name X --phone 9876543210
t "patient add for a clinic that does not exist: exit 3" with_clinic 3 "clinic 99" \
    patient add --clinic 99 --name X --phone 9876543210
t "patient add --phone too short: exit 2" with_clinic 2 "phone" "${PA[@]}" --phone 12345
t "patient add --phone with letters: exit 2" with_clinic 2 "phone" "${PA[@]}" --phone 98765abcde
t "patient add --phone with an unknown country code: exit 2" with_clinic 2 "phone" "${PA[@]}" --phone "+999 1234567"
t "patient add --phone without its value: exit 2" with_clinic 2 "--phone needs a value" "${PA[@]}" --phone
t "patient add with a bad email: exit 2" with_clinic 2 "email" "${PA[@]}" --email ram@
t "patient add with a space in the email: exit 2" with_clinic 2 "email" "${PA[@]}" --email "ram lal@example.com"
t "patient add with a bad language: exit 2" with_clinic 2 "language" "${PA[@]}" --phone 9876543210 --language Hindi
t "patient add --dob 29 Feb of a common year: exit 2" with_clinic 2 "date_of_birth" "${PA[@]}" --phone 9876543210 --dob 1981-02-29
t "patient add --dob not YYYY-MM-DD: exit 2" with_clinic 2 "date_of_birth" "${PA[@]}" --phone 9876543210 --dob 01/02/1980
t "patient add --dob in the future: exit 2" with_clinic 2 "date_of_birth" "${PA[@]}" --phone 9876543210 --dob 2999-01-01
t "patient add --channel fax: exit 2" with_clinic 2 "channel" "${PA[@]}" --phone 9876543210 --channel fax
t "patient add --channel email without an email: exit 2" with_clinic 2 "channel" "${PA[@]}" --phone 9876543210 --channel email
t "patient add --opt-out spam: exit 2" with_clinic 2 "spam" "${PA[@]}" --phone 9876543210 --opt-out reminders,spam
t "patient add --preferred-time 9am: exit 2" with_clinic 2 "--preferred-time" "${PA[@]}" --phone 9876543210 --preferred-time 9am
t "patient add with a bad --timezone: exit 2" with_clinic 2 "timezone" "${PA[@]}" --phone 9876543210 --timezone Nowhere/Land

with_patient() { add_clinic; add_patient; expect_rejected "$@"; }
t "patient show without an id: exit 2" with_patient 2 "patient id" patient show
t "patient show with two ids: exit 2" with_patient 2 '"2"' patient show 1 2
t "patient show abc: exit 2" with_patient 2 "patient id" patient show abc
t "patient show -3: exit 2" with_patient 2 "patient id" patient show -3
t "patient show 1x: exit 2" with_patient 2 "patient id" patient show 1x
t "patient show of a patient that does not exist: exit 3" with_patient 3 "no patient 99" patient show 99
t "patient list --clinic x: exit 2" with_patient 2 "--clinic" patient list --clinic x
t "patient list --limit 0: exit 2" with_patient 2 "--limit" patient list --limit 0
t "patient list --after -1: exit 2" with_patient 2 "--after" patient list --after -1

# ---- appointment add / list / show
AA=(appointment add --patient 1 --service "Teeth Cleaning" --now "$BOOK")
t "appointment add without --patient: exit 2" with_patient 2 "--patient" appointment add --service X --at "$VISIT"
t "appointment add without --service: exit 2" with_patient 2 "--service" appointment add --patient 1 --at "$VISIT"
t "appointment add without --at: exit 2" with_patient 2 "--at" appointment add --patient 1 --service X
t "appointment add with a blank --service: exit 2" with_patient 2 "service" appointment add --patient 1 --service "" --at "$VISIT"
t "appointment add --patient x: exit 2" with_patient 2 "--patient" appointment add --patient x --service X --at "$VISIT"
t "appointment add --patient -1: exit 2" with_patient 2 "--patient" appointment add --patient -1 --service X --at "$VISIT"
t "appointment add for a patient that does not exist: exit 3" with_patient 3 "no patient 99" \
    appointment add --patient 99 --service X --at "$VISIT"
t "appointment add --at tomorrow: exit 2" with_patient 2 "at must be an RFC 3339 time" "${AA[@]}" --at tomorrow
t "appointment add --at 1 Dec 2026: exit 2" with_patient 2 "RFC 3339" "${AA[@]}" --at "1 Dec 2026 10:00"
t "appointment add --at 30 February: exit 2" with_patient 2 "invalid day" "${AA[@]}" --at 2026-02-30T10:00:00+05:30
t "appointment add --at hour 25: exit 2" with_patient 2 "invalid time" "${AA[@]}" --at 2026-12-01T25:00:00+05:30
t "appointment add --at month 13: exit 2" with_patient 2 "invalid month" "${AA[@]}" --at 2026-13-01T10:00:00+05:30
t "appointment add --at an offset without seconds: exit 2" with_patient 2 "at" "${AA[@]}" --at 2026-12-01T10:00+05:30
t "appointment add --duration 0: exit 2" with_patient 2 "--duration" "${AA[@]}" --at "$VISIT" --duration 0
t "appointment add --duration 2000: exit 2" with_patient 2 "--duration" "${AA[@]}" --at "$VISIT" --duration 2000
t "appointment add --duration abc: exit 2" with_patient 2 "--duration" "${AA[@]}" --at "$VISIT" --duration abc
t "appointment list --status bogus: exit 2" with_patient 2 "status" appointment list --status bogus
t "appointment list --patient x: exit 2" with_patient 2 "--patient" appointment list --patient x

# ---- options made from the record tables (src/cli/fields.c)
LONG17=abcdefghijklmnopq
LONG64=$(printf 'x%.0s' {1..64})
t "patient add --gender longer than its field: exit 2, named with its limit" with_clinic 2 \
    "--gender is too long (at most 15 bytes)" "${PA[@]}" --phone 9876543210 --gender "$LONG17"
t "key create --label longer than its field: exit 2, named" with_clinic 2 \
    "--label is too long (at most 63 bytes)" key create --clinic 1 --role staff --label "$LONG64"
t "patient add --opt-out names the library's list" with_clinic 2 \
    "reminders, broadcasts, health_tips, marketing, sms, whatsapp or email" \
    "${PA[@]}" --phone 9876543210 --opt-out sms,spam
t "patient add --channel fax: the channel names, before the database is touched" with_clinic 2 \
    "--channel must be sms, whatsapp or email" "${PA[@]}" --phone 9876543210 --channel fax
t "template put --category spam: the category names" with_clinic 2 \
    "--category must be transactional, reminders, broadcasts, health_tips or marketing" \
    template put --clinic 1 --name my_notice --language en --category spam --sms a --subject s --text t --html h
t "template put without --sms: required by the template table" with_clinic 2 "--sms is required" \
    template put --clinic 1 --name my_notice --language en --category broadcasts --subject s --text t --html h
t "clinic add --max-retries x: a whole number" expect_rejected 2 "--max-retries must be a whole number" \
    "${CL[@]}" --max-retries x
t "clinic add --max-retries 50: the library's bound, named by field and option" expect_rejected 2 \
    "(field: max_retries, option --max-retries)" "${CL[@]}" --max-retries 50
t "clinic add --whatsapp-fallback maybe: on or off" expect_rejected 2 \
    "--whatsapp-fallback must be on or off (got \"maybe\")" "${CL[@]}" --whatsapp-fallback maybe
h_echo_escaped() {
    # A value echoed back in a message is escaped: an ESC pasted into an
    # option must not reach the terminal, a newline must not forge a line.
    run send --patient "$(printf '1\033[2J')" --template t
    expect_exit 2
    expect_stderr_contains 'got "1\x1b[2J"'
    run send --patient 1 --template t --priority "$(printf 'high\nnudge: ok')"
    expect_exit 2
    expect_stderr_contains 'got "high\nnudge: ok"'
    if LC_ALL=C grep -q "$(printf '\033')" "$D/.stderr" || [ "$(wc -l <"$D/.stderr")" -ne 1 ]; then
        fail "stderr should be one line without control characters"
    fi
}
t "a typed value echoed in an error is escaped, never raw control characters" h_echo_escaped
h_fields_set() {
    add_clinic --whatsapp-fallback off --quiet-hours none --offsets 60 --max-retries 5
    add_patient --opt-out marketing,sms --preferred-time 09:30 --dob 1980-02-01 --gender m
    run patient show "$P"
    expect_exit 0
    expect_stdout_contains "opt_outs: marketing,sms" "preferred_time: 09:30" "date_of_birth: 1980-02-01" \
        "gender: m"
}
t "options of every type reach the record: bool, quiet hours, offsets, opt-outs, HH:MM" h_fields_set
h_fields_help() {
    run_bare patient add --help
    expect_exit 0
    # One line per settable field, with the table's help text.
    expect_stdout_contains "--dob TEXT" "--opt-out NAME,NAME" "diagnoses and tags" \
        "reminders,broadcasts,health_tips,marketing,sms,whatsapp,email"
    run_bare appointment add --help
    expect_stdout_contains "--at TIME *" "--duration N" "--doctor TEXT"
    run_bare key create --help
    expect_stdout_contains "--role admin|staff|integration *"
}
t "add --help lists each option from the record's table" h_fields_help

with_appt() { fixture; expect_rejected "$@"; }
t "appointment show of one that does not exist: exit 3" with_appt 3 "no appointment 99" appointment show 99
t "appointment show abc: exit 2" with_appt 2 "appointment id" appointment show abc
t "appointment show without an id: exit 2" with_appt 2 "appointment id" appointment show
for verb in confirm cancel complete no-show; do
    t "appointment $verb of one that does not exist: exit 3" with_appt 3 "no appointment 99" \
        appointment "$verb" 99 --now 2026-12-01T16:00:00+05:30
    t "appointment $verb abc: exit 2" with_appt 2 "appointment id" appointment "$verb" abc
    t "appointment $verb 0: exit 2" with_appt 2 "appointment id" appointment "$verb" 0
    t "appointment $verb without an id: exit 2" with_appt 2 "appointment id" appointment "$verb"
done
t "appointment reschedule of one that does not exist: exit 3" with_appt 3 "no appointment 99" \
    appointment reschedule 99 --at 2026-12-03T10:00:00+05:30 --now "$BOOK"
t "appointment reschedule abc: exit 2" with_appt 2 "appointment id" appointment reschedule abc --at 2026-12-03T10:00:00+05:30
t "appointment reschedule without --at: exit 2" with_appt 2 "--at" appointment reschedule 1 --now "$BOOK"
t "appointment reschedule --at garbage: exit 2" with_appt 2 "at must be" appointment reschedule 1 --at garbage --now "$BOOK"
t "appointment reschedule into the past: exit 2" with_appt 2 "future" \
    appointment reschedule 1 --at 2026-11-19T10:00:00+05:30 --now "$BOOK"

b_cancel_twice() {
    fixture
    run appointment cancel "$A" --now "$BOOK"
    expect_exit 0
    expect_rejected 4 "cancelled" appointment cancel "$A" --now "$BOOK"
}
t "appointment cancel twice: exit 4" b_cancel_twice

b_after_cancel() {
    fixture
    run appointment cancel "$A" --now "$BOOK"
    local verb
    for verb in confirm complete; do
        expect_rejected 4 "cancelled" appointment "$verb" "$A" --now 2026-12-01T16:00:00+05:30
    done
    expect_rejected 4 "cancelled" appointment reschedule "$A" --at 2026-12-05T10:00:00+05:30 --now "$BOOK"
    FIELD=status
    expect_eq "$(field appointment show "$A")" cancelled "status"
}
t "confirm, complete or reschedule a cancelled appointment: exit 4" b_after_cancel

b_complete_twice() {
    fixture
    run appointment complete "$A" --now 2026-12-01T16:00:00+05:30
    expect_rejected 4 "completed" appointment no-show "$A" --now 2026-12-01T16:00:00+05:30
}
t "no-show of a completed appointment: exit 4" b_complete_twice

b_no_show_early() {
    fixture
    expect_rejected 4 "before it starts" appointment no-show "$A" --now 2026-12-01T14:59:00+05:30
    FIELD=status
    expect_eq "$(field appointment show "$A")" scheduled "status"
}
t "appointment no-show before the start time: exit 4, still scheduled" b_no_show_early

# ---- templates
t "template show of an unknown name: exit 3" expect_rejected 3 "no template named nope" template show nope
t "template show without a name: exit 2" expect_rejected 2 "template name" template show
t "template render of an unknown name: exit 3" expect_rejected 3 "nope" template render nope --var a=b
t "template render with a missing variable: exit 2 naming it" expect_rejected 2 "service" \
    template render appointment_reminder --var patient_name=Ram --var clinic_name=X --var date=d --var time=t
t "template render --channel fax: exit 2" expect_rejected 2 "--channel" template render appointment_reminder --channel fax
t "template render --var without =: exit 2" expect_rejected 2 "--var" template render appointment_reminder --var patient_name
t "template render --var without its value: exit 2" expect_rejected 2 "--var needs a value" template render appointment_reminder --var
t "template list --clinic x: exit 2" expect_rejected 2 "--clinic" template list --clinic x

TP=(template put --clinic 1 --name my_notice --language en --category broadcasts --subject s --text t --html h)
t "template put with a bad category: exit 2" with_clinic 2 "category" \
    template put --clinic 1 --name my_notice --language en --category spam --sms a --subject s --text t --html h
t "template put with an unclosed placeholder: exit 2" with_clinic 2 "sms" "${TP[@]}" --sms "Hi {name"
t "template put with a bad placeholder name: exit 2" with_clinic 2 "placeholder" "${TP[@]}" --sms "Hi {Name}"
t "template put with a stray }: exit 2" with_clinic 2 "}" "${TP[@]}" --sms "Hi }"
t "template put with a bad placeholder in the html: exit 2" with_clinic 2 "html" \
    template put --clinic 1 --name my_notice --language en --category broadcasts --sms a --subject s --text t --html "<p>{first name}</p>"
t "template put without --sms: exit 2" with_clinic 2 "sms" "${TP[@]}"
t "template put with a bad name: exit 2" with_clinic 2 "name" \
    template put --clinic 1 --name "My Notice" --language en --category broadcasts --sms a --subject s --text t --html h
t "template put with a bad language: exit 2" with_clinic 2 "language" \
    template put --clinic 1 --name my_notice --language English --category broadcasts --sms a --subject s --text t --html h
t "template put without --clinic: exit 2" with_clinic 2 "--clinic" \
    template put --name my_notice --language en --category broadcasts --sms a --subject s --text t --html h
t "template put for a clinic that does not exist: exit 3" with_clinic 3 "clinic 99" \
    template put --clinic 99 --name my_notice --language en --category broadcasts --sms a --subject s --text t --html h

# ---- send
SE=(send --patient 1 --now "$BOOK")
t "send with an unknown template: exit 2" with_patient 2 "template" "${SE[@]}" --template nope
t "send with a bad --priority: exit 2" with_patient 2 "--priority" "${SE[@]}" --template clinic_notice --var notice=x --priority mega
t "send with a missing variable: exit 2 naming it" with_patient 2 "notice" "${SE[@]}" --template clinic_notice
t "send without --template: exit 2" with_patient 2 "--template" "${SE[@]}"
t "send without --patient: exit 2" with_patient 2 "--patient" send --template clinic_notice --var notice=x
t "send --patient abc: exit 2" with_patient 2 "--patient" send --patient abc --template clinic_notice --var notice=x
t "send to a patient that does not exist: exit 3" with_patient 3 "no patient 99" \
    send --patient 99 --template clinic_notice --var notice=x
t "send --channel fax: exit 2 naming the channels" with_patient 2 "sms, whatsapp or email" \
    "${SE[@]}" --template clinic_notice --var notice=x --channel fax
t "send --channel email to a patient without email: exit 2" with_patient 2 "channel" \
    "${SE[@]}" --template clinic_notice --var notice=x --channel email
t "send --at garbage: exit 2" with_patient 2 "at must be" "${SE[@]}" --template clinic_notice --var notice=x --at soon
t "send --var without =: exit 2" with_patient 2 "--var" "${SE[@]}" --template clinic_notice --var notice

# ---- queue
t "queue list --status bogus: exit 2" expect_rejected 2 "--status" queue list --status bogus
t "queue list --limit 0: exit 2" expect_rejected 2 "--limit" queue list --limit 0
t "queue status --clinic x: exit 2" expect_rejected 2 "--clinic" queue status --clinic x
for verb in show retry cancel; do
    t "queue $verb of one that does not exist: exit 3" expect_rejected 3 "no notification 99" queue "$verb" 99
    t "queue $verb abc: exit 2" expect_rejected 2 "notification id" queue "$verb" abc
    t "queue $verb -1: exit 2" expect_rejected 2 "notification id" queue "$verb" -1
    t "queue $verb without an id: exit 2" expect_rejected 2 "notification id" queue "$verb"
done

with_sent() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    N_ID=$OUT
    run tick --now "$BOOK"
    expect_rejected "$@"
    FIELD=status
    expect_eq "$(field queue show "$N_ID")" sent "status"
}
t "queue retry of a sent notification: exit 4" with_sent 4 "it is sent" queue retry 1 --now "$BOOK"
t "queue cancel of a sent notification: exit 4" with_sent 4 "it is sent" queue cancel 1 --now "$BOOK"

b_queue_cancel_twice() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    run queue cancel "$OUT" --now "$BOOK"
    expect_rejected 4 "cancelled" queue cancel 1 --now "$BOOK"
}
t "queue cancel twice: exit 4" b_queue_cancel_twice

b_queue_retry_pending() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    expect_rejected 4 "pending" queue retry 1 --now "$BOOK"
}
t "queue retry of a pending notification: exit 4" b_queue_retry_pending

# ---- tick, demo, serve
t "tick --now garbage: exit 2" expect_rejected 2 "now" tick --now garbage
t "tick --now 31 November: exit 2" expect_rejected 2 "invalid day" tick --now 2026-11-31T10:00:00+05:30
t "demo --days 0: exit 2" expect_rejected 2 "--days" demo --days 0
t "demo --days x: exit 2" expect_rejected 2 "--days" demo --days x
t "serve --interval 0: exit 2 without serving" expect_rejected 2 "--interval" serve --interval 0

# =================================================================
# 4. Time behaviour, driven by --now
# =================================================================

time_24h() {
    fixture
    tick_at "$BOOK"
    expect_eq "$NEW" 1 "files at booking (the confirmation)"
    tick_at 2026-11-30T14:59:59+05:30
    expect_eq "$NEW" 0 "files one second before the 24 h reminder"
    tick_at "$R24"
    expect_eq "$NEW" 1 "files when the 24 h reminder is due"
    expect_eq "$(outbox_json_for appointment_reminder | grep -c .)" 1 "reminders in the outbox"
    tick_at "$R24"
    expect_eq "$NEW" 0 "files from a second tick at the same moment"
}
t "the 24 h reminder is written exactly when --now reaches it, once" time_24h

time_2h() {
    fixture
    tick_at "$R24"
    tick_at 2026-12-01T12:59:00+05:30
    expect_eq "$NEW" 0 "files a minute before the 2 h reminder"
    tick_at "$R2"
    expect_eq "$NEW" 1 "files when the 2 h reminder is due"
    expect_eq "$(outbox_json_for appointment_reminder | grep -c .)" 2 "reminders in the outbox"
    run queue list
    expect_stdout_matches "appointment_reminder	hi	high	sent	1	2026-12-01T13:00:00\+05:30$"
    run appointment show "$A"
    expect_stdout_lacks "planned"
}
t "the 2 h reminder is written exactly when --now reaches it, with high priority" time_2h

time_late_tick() {
    fixture
    tick_at "$R2"   # a tick that comes late sends both reminders due by then
    expect_eq "$(outbox_json_for appointment_reminder | grep -c .)" 2 "reminders after a late tick"
}
t "a late tick catches up on every reminder already due" time_late_tick

time_cancel() {
    fixture
    tick_at "$BOOK"
    run appointment cancel "$A" --now "$BOOK"
    expect_exit 0
    local when
    for when in "$R24" "$R2" "$VISIT" 2026-12-02T15:00:00+05:30; do
        tick_at "$when"
        expect_eq "$NEW" 0 "files at $when after cancel"
    done
    expect_eq "$(outbox_json_for appointment_reminder | grep -c .)" 0 "reminders after cancel"
}
t "after appointment cancel, ticking through the reminder times writes nothing" time_cancel

time_cancel_enqueued() {
    add_clinic
    add_patient
    # The 2 h reminder of a 09:30 visit is due at 07:30, in quiet hours: it
    # waits in the queue until 08:00...
    run appointment add --patient "$P" --service Filling --at 2026-12-02T09:30:00+05:30 --now "$BOOK"
    A=$OUT
    tick_at "$BOOK"
    tick_at 2026-12-01T09:30:00+05:30
    tick_at 2026-12-02T07:30:00+05:30
    expect_eq "$NEW" 0 "files at 07:30"
    run queue list --status pending
    expect_stdout_contains "appointment_reminder"
    # ...and cancelling the visit takes it out of the queue too.
    run appointment cancel "$A" --now 2026-12-02T07:45:00+05:30
    expect_exit 0
    tick_at 2026-12-02T08:00:00+05:30
    expect_eq "$NEW" 0 "files after cancelling a visit whose reminder was queued"
}
t "cancelling a visit also cancels its reminder already waiting in the queue" time_cancel_enqueued

time_reschedule() {
    fixture
    tick_at "$BOOK"
    run appointment reschedule "$A" --at 2026-12-03T15:00:00+05:30 --now "$BOOK"
    expect_exit 0
    tick_at "$BOOK"     # the new confirmation
    expect_eq "$NEW" 1 "files right after the reschedule (new confirmation)"
    tick_at "$R24"
    expect_eq "$NEW" 0 "files at the old 24 h time"
    tick_at "$R2"
    expect_eq "$NEW" 0 "files at the old 2 h time"
    tick_at 2026-12-02T14:59:00+05:30
    expect_eq "$NEW" 0 "files just before the new 24 h time"
    tick_at 2026-12-02T15:00:00+05:30
    expect_eq "$NEW" 1 "files at the new 24 h time"
    local f
    f=$(outbox_json_for appointment_reminder)
    [[ $(json_get "${f:-/dev/null}" text 2>/dev/null) == *"3 दिसंबर 2026"* ]] ||
        fail "the reminder should give the new date (3 दिसंबर 2026): $(json_get "${f:-/dev/null}" text 2>/dev/null)"
    tick_at 2026-12-03T13:00:00+05:30
    expect_eq "$NEW" 1 "files at the new 2 h time"
}
t "after reschedule, reminders go out relative to the new time" time_reschedule

time_after_start() {
    fixture
    tick_at "$BOOK"
    tick_at 2026-12-01T15:30:00+05:30
    expect_eq "$NEW" 0 "files from a tick after the visit began"
    expect_stdout_contains "expired 2"
    run appointment show "$A"
    expect_stdout_matches "reminder +appointment_reminder +expired +2026-11-30T15:00:00\+05:30"
    expect_stdout_matches "reminder +appointment_reminder +expired +2026-12-01T13:00:00\+05:30"
}
t "a tick after the appointment started writes no reminder (plans expire)" time_after_start

time_quiet_hours() {
    add_clinic
    add_patient
    run appointment add --patient "$P" --service Filling --at 2026-12-02T09:00:00+05:30 --now "$BOOK"
    tick_at "$BOOK"
    tick_at 2026-12-01T09:00:00+05:30
    expect_eq "$NEW" 1 "files at the 24 h reminder"
    tick_at 2026-12-02T07:00:00+05:30   # 2 h before: in quiet hours (21:00-08:00)
    expect_eq "$NEW" 0 "files at 07:00"
    expect_stdout_contains "deferred 1"
    tick_at 2026-12-02T07:59:00+05:30
    expect_eq "$NEW" 0 "files at 07:59"
    tick_at 2026-12-02T08:00:00+05:30
    expect_eq "$NEW" 1 "files when quiet hours end"
}
t "a reminder due in quiet hours waits until they end" time_quiet_hours

time_opt_out() {
    add_clinic
    add_patient --opt-out reminders
    add_appt
    tick_at "$BOOK"
    expect_eq "$NEW" 1 "files at booking (a confirmation is transactional)"
    tick_at "$R24"
    expect_eq "$NEW" 0 "reminders written for a patient who opted out"
    run queue list --status cancelled
    expect_stdout_contains "appointment_reminder"
}
t "a patient who opted out of reminders gets none" time_opt_out

time_send_at() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --at 2026-11-21T10:00:00+05:30 --now "$BOOK"
    tick_at 2026-11-21T09:59:00+05:30
    expect_eq "$NEW" 0 "files before send --at"
    tick_at 2026-11-21T10:00:00+05:30
    expect_eq "$NEW" 1 "files at send --at"
}
t "send --at is delivered when --now reaches it, not before" time_send_at

time_backoff() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    mkdir -p "$D/out/$id-sms.json"      # a transient failure
    run tick --now "$BOOK"
    expect_stdout_contains "retrying 1"
    run queue show "$id"
    expect_stdout_contains "status: pending" "attempts: 1 of 4" "due: 2026-11-20T09:05:00+05:30"
    rmdir "$D/out/$id-sms.json"
    tick_at 2026-11-20T09:04:59+05:30
    expect_eq "$NEW" 0 "files before the 5 min back-off ends"
    tick_at 2026-11-20T09:05:00+05:30
    expect_eq "$NEW" 1 "files when the back-off ends"
}
t "a transient failure is retried after the 5 min back-off" time_backoff

time_patient_zone() {
    add_clinic
    add_patient --timezone America/New_York
    add_appt
    tick_at 2026-11-21T18:30:00+05:30   # the confirmation, at 08:00 in New York
    expect_eq "$NEW" 1 "files when quiet hours end in New York"
    tick_at "$R24"                      # 15:00 in Kolkata is 04:30 in New York
    expect_eq "$NEW" 0 "files at 04:30 patient time"
    expect_stdout_contains "deferred 1"
    tick_at 2026-11-30T18:29:00+05:30
    expect_eq "$NEW" 0 "files at 07:59 patient time"
    tick_at 2026-11-30T18:30:00+05:30
    expect_eq "$NEW" 1 "files at 08:00 patient time"
}
t "quiet hours follow the patient's own time zone" time_patient_zone

time_quiet_until_visit() {
    add_clinic
    add_patient
    run appointment add --patient "$P" --service Early --at 2026-12-05T07:30:00+05:30 --now "$BOOK"
    tick_at "$BOOK"
    tick_at 2026-12-04T08:00:00+05:30   # the 24 h reminder, held until quiet hours ended
    expect_eq "$NEW" 1 "files at 08:00 the day before"
    tick_at 2026-12-05T05:30:00+05:30   # the 2 h reminder: quiet hours outlast the visit
    expect_eq "$NEW" 0 "files at 05:30 on the day"
    tick_at 2026-12-05T08:00:00+05:30
    expect_eq "$NEW" 0 "files after the visit began"
    run queue list --status cancelled
    expect_stdout_matches "appointment_reminder	hi	high	cancelled	"
}
t "a reminder that quiet hours would hold past the visit is dropped, not sent late" time_quiet_until_visit

time_rate() {
    add_clinic --rate 1
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=a --now "$BOOK"
    run send --patient "$P" --template clinic_notice --var notice=b --now "$BOOK"
    tick_at "$BOOK"
    expect_eq "$NEW" 1 "files in the first minute with --rate 1"
    tick_at 2026-11-20T09:00:59+05:30
    expect_eq "$NEW" 0 "files later in the same minute"
    tick_at 2026-11-20T09:01:00+05:30
    expect_eq "$NEW" 1 "files in the next minute"
}
t "clinic --rate 1 sends one message per minute" time_rate

time_retries_used_up() {
    add_clinic
    add_patient
    run send --patient "$P" --template clinic_notice --var notice=x --now "$BOOK"
    local id=$OUT
    mkdir -p "$D/out/$id-sms.json"      # every attempt fails
    FIELD=due
    tick_at "$BOOK"
    expect_eq "$(field queue show "$id")" 2026-11-20T09:05:00+05:30 "due after attempt 1 (5 min)"
    tick_at 2026-11-20T09:05:00+05:30
    expect_eq "$(field queue show "$id")" 2026-11-20T09:20:00+05:30 "due after attempt 2 (15 min)"
    tick_at 2026-11-20T09:19:00+05:30
    FIELD=attempts
    expect_eq "$(field queue show "$id")" "2 of 4" "attempts before the back-off ends"
    tick_at 2026-11-20T09:20:00+05:30
    FIELD=due
    expect_eq "$(field queue show "$id")" 2026-11-20T10:20:00+05:30 "due after attempt 3 (1 h)"
    run tick --now 2026-11-20T10:20:00+05:30
    expect_stdout_contains "failed 1"
    run queue show "$id"
    expect_stdout_contains "status: failed" "attempts: 4 of 4"
}
t "a failing send backs off 5 min, 15 min, 1 h, then fails after 3 retries" time_retries_used_up

# ---------------------------------------------------------------- keys

key_create_list_revoke() {
    add_clinic
    run key create --clinic "$C" --role staff --label "front desk"
    expect_exit 0
    expect_stdout_matches '^nudge_[0-9a-f]{12}_[0-9a-f]{64}$'
    local secret=$OUT prefix
    prefix=$(cut -d_ -f2 <<<"$secret")
    expect_stderr_contains "shown only now"
    run key list
    expect_exit 0
    expect_stdout_contains "$prefix" "staff" "front desk"
    expect_stdout_lacks "${secret##*_}"
    # Only a hash is stored: the secret is nowhere in the database file.
    db_contains "$DB" "${secret##*_}" && fail "the secret is stored in the database"
    run key revoke 1
    expect_exit 0
    expect_rejected 4 "already revoked" key revoke 1
}
t "key create prints the secret once; list shows the prefix; revoke once" key_create_list_revoke

key_bad_input() {
    add_clinic
    expect_rejected 2 "--role" key create --clinic "$C"
    expect_rejected 2 "role must be admin, staff or integration" key create --clinic "$C" --role root
    expect_rejected 2 "--clinic" key create --role admin
    expect_rejected 3 "no clinic 9" key create --clinic 9 --role admin
    expect_rejected 3 "no key 7" key revoke 7
    expect_rejected 2 "key id" key revoke abc
}
t "key commands reject bad input and change nothing" key_bad_input

# ---------------------------------------------------------------- provider template mappings

map_templates() {
    add_clinic
    run template map-whatsapp --clinic "$C" --template appointment_reminder --language hi \
        --name visit_reminder --name-language hi --params patient_name,service,date,time
    expect_exit 0
    run template map-msg91 --clinic "$C" --template appointment_reminder --language en \
        --id 64a1b2c3 --params VAR1:patient_name,VAR2:date
    expect_exit 0
    expect_rejected 2 "--name" template map-whatsapp --clinic "$C" --template x --language hi
    expect_rejected 2 "params" template map-whatsapp --clinic "$C" --template appointment_reminder \
        --language hi --name y --name-language hi --params "Bad Name"
    expect_rejected 2 "template_id" template map-msg91 --clinic "$C" --template appointment_reminder \
        --language en --id nothex
    expect_rejected 2 "VAR:variable" template map-msg91 --clinic "$C" --template appointment_reminder \
        --language en --id ab --params VAR1
    # Issue 11: only templates that exist, in exactly that language.
    expect_rejected 2 "no template" template map-whatsapp --clinic "$C" --template no_such \
        --language hi --name y --name-language hi
    expect_rejected 2 "zz-QQ" template map-msg91 --clinic "$C" --template appointment_reminder \
        --language zz-QQ --id ab
    expect_rejected 2 "WhatsApp code" template map-whatsapp --clinic "$C" \
        --template appointment_reminder --language hi --name y --name-language zz-QQ
    expect_rejected 3 "no clinic 9" template map-msg91 --clinic 9 --template x --language en --id ab
    # Quick-reply buttons: PAYLOAD=ACTION, split at the last '='.
    run template map-whatsapp --clinic "$C" --template appointment_reminder --language en \
        --name visit_reminder --name-language en --button VISIT_YES=confirm \
        --button "NO=THANKS=cancel"
    expect_exit 0
    db_contains "$DB" '"NO=THANKS":"cancel"' || fail "the buttons are not stored"
    # (a template that exists: a mapping for one that does not is refused first)
    expect_rejected 2 "confirm, cancel or reschedule" template map-whatsapp --clinic "$C" \
        --template appointment_reminder --language hi --name y --name-language hi --button A=stop
    expect_rejected 2 "mapped twice" template map-whatsapp --clinic "$C" \
        --template appointment_reminder --language hi --name y --name-language hi \
        --button A=confirm --button A=cancel
    expect_rejected 2 "PAYLOAD=ACTION" template map-whatsapp --clinic "$C" --template x \
        --language hi --name y --name-language hi --button confirm
    expect_rejected 2 "PAYLOAD=ACTION" template map-msg91 --clinic "$C" --template x \
        --language en --id ab --button A=confirm
}
t "template map-whatsapp and map-msg91 record a clinic's approved templates and buttons, refuse bad ones" map_templates

# Issue 11: the values the API refuses, the CLI refuses too (the library's checks).
library_values() {
    expect_rejected 2 "email" clinic add --name A --timezone Asia/Kolkata --country IN --email a@
    expect_rejected 2 "language" clinic add --name A --timezone Asia/Kolkata --country IN --language ""
    add_clinic
    expect_rejected 2 "control characters" patient add --clinic "$C" --name $'Ram\x1b[31m' \
        --phone 9876543210
    local long
    long=$(printf 'a%.0s' $(seq 1 1601))
    expect_rejected 2 "sms" template put --clinic "$C" --name long_one --language en \
        --category broadcasts --sms "$long" --subject s --text t --html h
    expect_rejected 2 "label" key create --clinic "$C" --role staff --label $'a\x01b'
}
t "the library refuses bad emails, blank languages, control characters and overlong SMS for the CLI too" library_values

# ---------------------------------------------------------------- settings (nudge config)
# Each test's subshell exports its own NUDGE_* variables; none leak out.
SETTINGS_ROOT=$PWD

# config_row SETTING: its "value<TAB>source" in the last `config show`.
config_row() { awk -F '\t' -v s="$1" '$1 == s { print $2 "\t" $3 }' "$D/.stdout"; }

config_show_sources() {
    db_is_pg "$DB" || DB=$D/fresh.db   # a path with no file yet
    printf 'hunter2-file\n' >"$D/pw"
    export NUDGE_SMTP_PASSWORD_FILE="$D/pw" NUDGE_TWILIO_AUTH_TOKEN=tok-env-secret
    export NUDGE_LEASE_SECONDS=60 NUDGE_SMTP_URL=smtp://mail.example:587
    run config show --smtp-starttls
    expect_exit 0
    expect_eq "$(head -n 1 "$D/.stdout")" "$(printf 'setting\tvalue\tsource')" "header"
    expect_eq "$(config_row db)" "$(printf '%s\tflag' "$DB")" "db"
    expect_eq "$(config_row smtp_starttls)" "$(printf 'on\tflag')" "smtp_starttls"
    expect_eq "$(config_row smtp_url)" "$(printf 'smtp://mail.example:587\tenvironment')" "smtp_url"
    expect_eq "$(config_row lease_seconds)" "$(printf '60\tenvironment')" "lease_seconds"
    expect_eq "$(config_row batch_size)" "$(printf '100\tdefault')" "batch_size"
    expect_eq "$(config_row smtp_password)" "$(printf '********\tfile')" "smtp_password"
    expect_eq "$(config_row twilio_auth_token)" "$(printf '********\tenvironment')" "twilio_auth_token"
    expect_eq "$(config_row whatsapp_token)" "$(printf -- '-\tdefault')" "whatsapp_token"
    expect_stdout_lacks hunter2-file tok-env-secret
    grep -qF -e hunter2 -e tok-env "$D/.stderr" && fail "a secret reached stderr"
    [ -e "$D/fresh.db" ] && fail "config show should not open the database"
    [ "$(grep -c . "$D/.stdout")" -gt 25 ] || fail "config show should list every setting"
}
t "config show: each setting's value and source (default, environment, file, flag), secrets masked" config_show_sources

config_bad_values() {
    export NUDGE_BATCH_SIZE=lots
    expect_rejected 2 "batch_size" clinic list
    expect_stderr_contains "NUDGE_BATCH_SIZE" "lots"
    unset NUDGE_BATCH_SIZE
    export NUDGE_SMTP_STARTTLS=maybe
    expect_rejected 2 "smtp_starttls" tick --now "$BOOK"
    unset NUDGE_SMTP_STARTTLS
    expect_rejected 2 "smtp_url" clinic list --smtp-url mail.example
    expect_stderr_contains "--smtp-url"
    printf 's3cret\n' >"$D/tok"
    export NUDGE_MSG91_AUTHKEY=other NUDGE_MSG91_AUTHKEY_FILE="$D/tok"
    expect_rejected 2 "msg91_authkey" config show
    expect_stderr_contains "NUDGE_MSG91_AUTHKEY_FILE"
    grep -qF -e s3cret -e other "$D/.stderr" && fail "a secret reached stderr"
    unset NUDGE_MSG91_AUTHKEY
    export NUDGE_MSG91_AUTHKEY_FILE="$D/missing"
    expect_rejected 2 "msg91_authkey" config show
}
t "bad settings are refused naming the setting, exit 2, nothing changed" config_bad_values

config_docs_generated() {
    local gen doc
    run config doc --man
    expect_exit 0
    gen=$(<"$D/.stdout")
    doc=$(sed -n '/^\.\\" BEGIN settings/,/^\.\\" END settings/p' "$SETTINGS_ROOT/docs/nudge.1" | sed '1d;$d')
    [ "$gen" = "$doc" ] || fail "docs/nudge.1 settings differ from \`nudge config doc --man\` (regenerate them)"
    run config doc --markdown
    expect_exit 0
    gen=$(<"$D/.stdout")
    doc=$(sed -n '/^<!-- BEGIN settings/,/^<!-- END settings/p' "$SETTINGS_ROOT/README.md" | sed '1d;$d')
    [ "$gen" = "$doc" ] || fail "README.md settings differ from \`nudge config doc --markdown\` (regenerate them)"
    local n
    n=$(grep -c '^\.TP' <<<"$(nudge_out config doc --man)")
    [ "$n" -gt 25 ] || fail "config doc --man should describe every setting (got $n)"
    run config doc
    expect_exit 2
}
t "the man page's and README's settings are the text generated from the table" config_docs_generated

# ---------------------------------------------------------------- send --batch
# JSON lines, one send each, through nudge_enqueue_batch in chunks of 1,000,
# each all or nothing.

h_send_batch() {
    add_clinic
    add_patient
    must patient add --clinic "$C" --name Priya --email priya@example.com --phone 9876543211
    local p2=$OUT
    cat >"$D/b.jsonl" <<JSON
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "Closed on Friday"}}

{"patient_id": $p2, "template": "clinic_notice", "channel": "email", "priority": "high", "vars": {"notice": "Later"}, "due_at": "2026-11-21T10:00:00", "dedupe_key": "b-1"}
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "Again"}, "due_at": null}
JSON
    run send --batch "$D/b.jsonl" --now "$BOOK"
    expect_exit 0
    expect_eq "$(grep -cE '^[1-9][0-9]*	created$' "$D/.stdout")" 3 "lines \"ID<tab>created\""
    expect_eq "$(rows queue list)" 3 "notifications queued"
    local second
    second=$(sed -n 2p "$D/.stdout" | cut -f1)
    run queue show "$second"
    expect_stdout_contains "channel: email" "recipient: priya@example.com" "status: pending" \
        "due: 2026-11-21T10:00:00+05:30" "Later"
    expect_stdout_matches '^priority: 2$'
    tick_at "$BOOK"
    expect_eq "$NEW" 2 "messages due now, sent by the tick"
}
t "send --batch FILE enqueues each line, printing ID<tab>created in order" h_send_batch

h_send_batch_bad_line() {
    add_clinic
    add_patient
    cat >"$D/b.jsonl" <<JSON
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "fine"}}
{"patient_id": 99, "template": "clinic_notice", "vars": {"notice": "x"}}
{"patient_id": $P, "template": "no_such_template"}
JSON
    expect_rejected 2 "line 2: patient_id: no patient 99" send --batch "$D/b.jsonl" --now "$BOOK"
    expect_stderr_contains "line 3: template:"
    grep -q "line 1" "$D/.stderr" && fail "the good line should not be named"
    cat >"$D/c.jsonl" <<JSON
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "fine"}}
{"patient_id": $P, "template": "clinic_notice", "colour": "red"}
not json
{"patient_id": "$P", "template": "clinic_notice"}
{"template": "clinic_notice"}
{"patient_id": $P, "template": "clinic_notice", "priority": "asap"}
JSON
    expect_rejected 2 "line 2: colour: unknown member" send --batch "$D/c.jsonl" --now "$BOOK"
    expect_stderr_contains "line 3: not JSON" "line 4: patient_id:" "line 5: patient_id: is required" \
        "line 6: priority: must be low, normal, high or urgent"
    expect_rejected 2 "no --patient with it" send --batch "$D/c.jsonl" --patient "$P"
    expect_rejected 2 "cannot read" send --batch "$D/missing.jsonl"
}
t "send --batch: a bad line is named (line N: field: message), exit 2, nothing written" h_send_batch_bad_line

h_send_batch_duplicates() {
    add_clinic
    add_patient
    cat >"$D/b.jsonl" <<JSON
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "A"}, "dedupe_key": "k-1"}
{"patient_id": $P, "template": "clinic_notice", "vars": {"notice": "B"}, "dedupe_key": "k-2"}
JSON
    run send --batch "$D/b.jsonl" --now "$BOOK"
    expect_exit 0
    local first=$OUT
    run send --batch "$D/b.jsonl" --now "$BOOK"
    expect_exit 0
    expect_eq "$OUT" "$(sed 's/created$/duplicate/' <<<"$first")" "the second run's lines"
    expect_eq "$(rows queue list)" 2 "notifications queued"
}
t "send --batch again: the same ids, each ID<tab>duplicate, nothing new" h_send_batch_duplicates

h_send_batch_stdin_chunks() {
    add_clinic
    add_patient
    echo "{\"patient_id\": $P, \"template\": \"clinic_notice\", \"vars\": {\"notice\": \"stdin\"}}" >"$D/one.jsonl"
    run send --batch - --now "$BOOK" <"$D/one.jsonl"
    expect_exit 0
    expect_stdout_matches '^[1-9][0-9]*	created$'
    # 1,000 good lines are one chunk, written; the 1,001st is bad, and its
    # chunk (itself alone) writes nothing.
    "$PYTHON" - "$P" >"$D/many.jsonl" <<'PY'
import json, sys
p = int(sys.argv[1])
for i in range(1000):
    print(json.dumps({"patient_id": p, "template": "clinic_notice", "vars": {"notice": "n%d" % i},
                      "dedupe_key": "many-%d" % i}))
print(json.dumps({"patient_id": p, "template": "clinic_notice", "channel": "pigeon"}))
PY
    run send --batch - --now "$BOOK" <"$D/many.jsonl"
    expect_exit 2
    expect_stderr_contains "line 1001: channel:"
    expect_eq "$(grep -c '	created$' "$D/.stdout")" 1000 "lines of the first chunk"
    expect_eq "$(rows queue list --limit 2000)" 1001 "notifications queued (one from stdin, 1,000 from the file)"
}
t "send --batch - reads standard input; 1,000 a chunk, a bad later chunk keeps the first" h_send_batch_stdin_chunks

# ---------------------------------------------------------------- summary
echo "1..$T"
[ "$TFAILED" -eq 0 ] || echo "# $TFAILED of $T tests failed"
[ "$TFAILED" -eq 0 ]
