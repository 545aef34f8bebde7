#!/usr/bin/env bash
# tests/reminders.sh: the command line of the reminders not tied to a visit:
# `nudge prescription`, `nudge reminder` and `nudge recall`, driven with
# --now (never by sleeping). A prescription is added, shown with its doses
# in the patient's zone, sent by `tick` at the dose times, and stopped; bad
# frequencies are refused naming the option and the accepted codes, with
# nothing written; plans are listed and cancelled by patient and subject;
# a recall rule makes a recall when a visit is completed; a prescription
# changed (its doses re-planned; a refused change naming the option and
# leaving them); the clinic's until-review cap; a clinic's and a patient's
# reminder channels (one reminder, one message per channel).
#   NUDGE=build/nudge bash tests/reminders.sh   (tests/run.sh sets NUDGE)
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/dbutil.sh
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
DB=$(test_db "$D")
nd() { "$NUDGE" --db "$DB" --outbox "$D/out" "$@"; }
NOW=2026-12-01T06:00:00+05:30

C=$(nd --now $NOW clinic add --name "Smile Dental" --timezone Asia/Kolkata --country IN)
P=$(nd --now $NOW patient add --clinic "$C" --name "Ram Lal" --phone 9876543210)
check "a clinic and a patient" test -n "$C" -a -n "$P"

# ---- prescription add: two drugs, one dose time shared
RX=$(nd --now $NOW prescription add --patient "$P" --prescriber "Dr Rao" \
    --drug Amoxicillin --dose "500 mg" --frequency BD --duration "2 days" \
    --drug "Vitamin D3" --dose "1 tablet" --frequency OD --duration "2 days" \
    --instructions "after food")
check "prescription add prints the id" test "$RX" -ge 1
out=$(nd --now $NOW prescription show "$RX")
check "show lists both drugs with their times" \
    grep -q "Amoxicillin.*BD.*2 days.*09:00,21:00" <<<"$out"
check "show: OD at the default 09:00" grep -q "Vitamin D3.*OD.*09:00.*after food" <<<"$out"
check "show: the course ends on its last day" grep -q "ends_on: 2026-12-02" <<<"$out"
doses=$(grep -c "medication.*prescription:$RX.*planned" <<<"$out")
check "four dose times planned (09:00 carries both drugs)" test "$doses" -eq 4
check "the first dose at 09:00 IST" grep -q "2026-12-01T09:00:00+05:30" <<<"$out"
out=$(nd prescription list --patient "$P")
check "list shows it active" grep -q "^$RX	$P	active	2026-12-01	2026-12-02	2	Amoxicillin BD, Vitamin D3 OD" <<<"$out"

# ---- tick at 09:00: one message naming both drugs
nd --now 2026-12-01T09:00:00+05:30 tick >/dev/null
out=$(cat "$D"/out/*.txt 2>/dev/null || cat "$D"/out/* 2>/dev/null)
check "one message at 09:00 names both drugs" grep -q "Amoxicillin, Vitamin D3 (500 mg, 1 tablet)" <<<"$out"

# ---- refused input names the option and the accepted codes; nothing written
err=$(nd --now $NOW prescription add --patient "$P" --drug X --dose 1 --frequency TDSS \
    --duration "5 days" 2>&1 >/dev/null); rc=$?
check "an unknown frequency exits 2" test "$rc" -eq 2
check "the error names the code, the option and the accepted ones" \
    grep -q 'unknown frequency "TDSS".*BD, BID, TDS.*(medication 1, option --frequency)' <<<"$err"
err=$(nd --now $NOW prescription add --patient "$P" --dose 1 2>&1 >/dev/null); rc=$?
check "a dose before any --drug is a usage error" test "$rc" -eq 2
count=$(nd prescription list --patient "$P" | tail -n +2 | wc -l)
check "nothing was written by the refused ones" test "$count" -eq 1

# ---- stop cancels the doses still to come
nd --now 2026-12-01T10:00:00+05:30 prescription stop "$RX" --reason "rash"
check "stop exits 0" test $? -eq 0
out=$(nd --now $NOW reminder list --subject "prescription:$RX" --clinic "$C")
check "the doses after the stop are cancelled" test "$(grep -c 'cancelled' <<<"$out")" -eq 3
check "the one sent stays enqueued" test "$(grep -c 'enqueued' <<<"$out")" -eq 1
nd --now 2026-12-01T10:00:00+05:30 prescription stop "$RX" 2>/dev/null
check "stopping twice exits 4" test $? -eq 4

# ---- reminder cancel by patient
err=$(nd --now $NOW prescription add --patient "$P" --drug Metformin --dose "500 mg" \
    --frequency "1-0-1" --duration "1 week" --channels both 2>&1 >/dev/null); rc=$?
check "both channels need the patient's email, said at once" \
    grep -q "needs the patient's email.*option --channels" <<<"$err"
RX2=$(nd --now $NOW prescription add --patient "$P" --drug Metformin --dose "500 mg" \
    --frequency "1-0-1" --duration "1 week")
check "a second prescription" test "$RX2" -ge 1
cnt=$(nd --now $NOW reminder cancel --patient "$P")
check "reminder cancel --patient cancels its 14 doses" test "$cnt" -eq 14
nd reminder cancel 2>/dev/null
check "reminder cancel without a scope exits 2" test $? -eq 2

# ---- recalls
R=$(nd --now $NOW recall rule-add --clinic "$C" --service Cleaning --after-days 180 --cadence 14,28)
check "recall rule-add prints the id" test "$R" -ge 1
nd recall rule-add --clinic "$C" --service X --after-days 10 --cadence 28,14 2>/dev/null
check "a cadence out of order exits 2" test $? -eq 2
check "recall rules lists it" grep -q "^$R	Cleaning	180	14,28	preventive_care_annual" <<<"$(nd recall rules --clinic "$C")"
A=$(nd --now $NOW appointment add --patient "$P" --service cleaning --at 2026-12-01T11:00)
nd --now 2026-12-01T12:00:00+05:30 appointment complete "$A"
out=$(nd recall list --clinic "$C")
check "completing the visit made a recall due 180 days later" \
    grep -q "	$P	$R	2027-05-30	2027-05-30T10:00:00+05:30	0	open" <<<"$out"
RC=$(tail -n +2 <<<"$out" | cut -f1 | head -1)
nd recall close "$RC" --clinic "$C"
check "recall close exits 0" test $? -eq 0
check "the recall is closed" grep -q "closed" <<<"$(nd recall list --clinic "$C")"

# ---- labs, follow-up visits, ready on demand
L=$(nd --now $NOW lab add --patient "$P" --test HbA1c --due 2026-12-10 --repeat-days 7)
check "lab add prints the id" test "$L" -ge 1
nd --now $NOW lab add --patient "$P" --test X --due 2026-02-30 2>/dev/null
check "an impossible due date exits 2" test $? -eq 2
nd --now 2026-12-10T08:00:00+05:30 tick >/dev/null
nd --now 2026-12-10T10:00:00+05:30 tick >/dev/null
check "the lab reminder went on its day" grep -rq "HbA1c test is due on 10-Dec-2026" "$D/out"
check "lab list shows one send" grep -q "^$L	$P	HbA1c	2026-12-10	7	1	2026-12-17T10:00:00+05:30	due" \
    <<<"$(nd lab list --clinic "$C")"
nd lab done "$L" --clinic "$C"
check "lab done exits 0" test $? -eq 0
F=$(nd --now $NOW followup add --patient "$P" --date 2026-12-20)
check "followup add prints the plan's id" test "$F" -ge 1
check "the follow-up is planned at 10:00 on the day" \
    grep -q "^$F	$P	follow_up_visit	follow_up:$P	2026-12-20T10:00:00+05:30	planned" \
    <<<"$(nd reminder list --patient "$P")"
R1=$(nd --now $NOW ready --patient "$P" --what results --test "Lipid profile")
check "ready prints the notification id" test "$R1" -ge 1
nd --now $NOW ready --patient "$P" --what xray 2>/dev/null
check "ready --what xray exits 2" test $? -eq 2

# ---- prescription change: the doses still to come re-planned at once
RX3=$(nd --now $NOW prescription add --patient "$P" --drug Atorvastatin --dose "10 mg" \
    --frequency HS --duration "3 days")
before=$(db_state "$DB")
err=$(nd --now $NOW prescription change "$RX3" --drug Atorvastatin --dose "10 mg" \
    --frequency HSS --duration "3 days" 2>&1 >/dev/null); rc=$?
check "a refused change exits 2" test "$rc" -eq 2
check "and names the medication's option" grep -q 'unknown frequency "HSS".*option --frequency' <<<"$err"
check "and leaves every table as it was" test "$(db_state "$DB")" = "$before"
nd --now $NOW prescription change "$RX3" 2>/dev/null
check "a change without --drug exits 2" test $? -eq 2
nd --now 2026-12-01T23:00:00+05:30 prescription change "$RX3" --drug Atorvastatin --dose "20 mg" \
    --frequency OD --duration "2 days" --times 08:00 --prescriber "Dr Iyer"
check "change exits 0" test $? -eq 0
out=$(nd prescription show "$RX3")
check "change shows the new dose and prescriber" grep -q "Atorvastatin	20 mg	OD	2 days" <<<"$out"
check "the old doses are cancelled" test "$(grep -c 'prescription:'"$RX3"'.*cancelled' <<<"$out")" -eq 3
check "tomorrow's 08:00 dose is the one planned" \
    grep -q "prescription:$RX3	2026-12-02T08:00:00+05:30	planned" <<<"$out"
nd prescription change 999 --drug A --dose 1 --frequency OD --duration "1 day" 2>/dev/null
check "changing no prescription exits 3" test $? -eq 3

# ---- a clinic's settings of issue 9: the until-review cap, both channels
err=$(nd clinic add --name X --timezone Asia/Kolkata --country IN --review-max-days 0 2>&1); rc=$?
check "--review-max-days 0 exits 2 naming it" \
    bash -c '[ "$1" -eq 2 ] && grep -q "option --review-max-days" <<<"$2"' _ "$rc" "$err"
C2=$(nd --now $NOW clinic add --name "Two Ways" --timezone Asia/Kolkata --country IN \
    --review-max-days 10 --reminder-channels both)
P2=$(nd --now $NOW patient add --clinic "$C2" --name "Meera" --phone 9876543215 --email m@example.com)
P3=$(nd --now $NOW patient add --clinic "$C2" --name "Dev" --phone 9876543216 --email d@example.com \
    --reminder-channels whatsapp,email)
err=$(nd --now $NOW patient add --clinic "$C2" --name "Nomail" --phone 9876543217 \
    --reminder-channels both 2>&1); rc=$?
check "a patient's both without an email exits 2 naming it" \
    bash -c '[ "$1" -eq 2 ] && grep -q "option --reminder-channels" <<<"$2"' _ "$rc" "$err"
RX4=$(nd --now $NOW prescription add --patient "$P2" --drug Telmisartan --dose "40 mg" \
    --frequency OD --duration "until review")
check "until review is the clinic's 10 days" grep -q "Telmisartan.*until review	10 days" \
    <<<"$(nd prescription show "$RX4")"
nd reminder cancel --patient "$P2" >/dev/null
nd --now $NOW followup add --patient "$P2" --date 2026-12-04 >/dev/null
nd --now $NOW followup add --patient "$P3" --date 2026-12-04 >/dev/null
nd --now 2026-12-04T09:00:00+05:30 tick >/dev/null # what was due before goes first
rm -rf "$D/out"
out=$(nd --now 2026-12-04T10:00:00+05:30 tick)
check "two reminders were enqueued" grep -q "enqueued 2," <<<"$out"
check "four messages went" grep -q "sent 4," <<<"$out"
check "the clinic's both: an SMS and an email" \
    test "$(ls "$D/out" | grep -c -- '-sms\.\|-email\.')" -eq 3
check "the patient's own: WhatsApp and email" test "$(ls "$D/out" | grep -c -- '-whatsapp\.')" -eq 1

echo "1..$n"
[ "$failed" -eq 0 ]
