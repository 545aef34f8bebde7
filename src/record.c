/*
 * record.c: each record described once, as a table of its fields in the
 * spirit of Redis's static_configs[] and curl's Curl_easyopts[]: the JSON
 * name, the column it is stored in, where it sits in the C struct, its
 * type and its rules. The domain modules read rows with record_read over
 * these tables; the API's codec encodes, decodes and validates JSON by
 * walking them; a CLI can make its options from them (flags CREATE and
 * UPDATE, help). A table's order is the order of its JSON object and of its
 * SELECT list (record.h). Name lists the records use (opt-outs,
 * priorities, roles) are here too, once.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- name lists ---- */

const char *const nudge_optout_names[NUDGE_N_OPTOUTS + 1] = {
    "reminders", "broadcasts", "health_tips", "marketing", "sms", "whatsapp", "email", NULL};

unsigned nudge_optout_parse(const char *name)
{
    for (int i = 0; name && nudge_optout_names[i]; i++)
        if (!strcmp(name, nudge_optout_names[i]))
            return 1u << i;
    return 0;
}

int nudge_names_find(const char *const *names, const char *s)
{
    for (int i = 0; names && s && names[i]; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

void nudge_names_join(const char *const *names, int quoted, const char *sep, const char *last,
                      char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = 0;
    for (int i = 0; names[i] && len < n; i++) {
        const char *s = !i ? "" : names[i + 1] || !last ? sep : last;
        int w = snprintf(buf + len, n - len, quoted ? "%s\"%s\"" : "%s%s", s, names[i]);
        len += w > 0 ? (size_t)w : 0;
    }
}

const char *const nudge_priority_names[] = {"low", "normal", "high", "urgent", NULL};
static const char *const role_names[] = {"admin", "staff", "integration", NULL};
static const char *const channel_names[] = {"sms", "whatsapp", "email", NULL};
static const char *const appt_status_names[] = {
    "scheduled", "confirmed", "completed", "cancelled", "no-show", "rescheduled", NULL};
static const char *const notif_status_names[] = {
    "pending", "sending", "sent", "delivered", "read", "failed", "cancelled", "held", NULL};
static const char *const category_names[] = {
    "transactional", "reminders", "broadcasts", "health_tips", "marketing", NULL};

/* ---- the tables ---- */

#define AT(T, m) .offset = offsetof(T, m), .size = sizeof(((T *)0)->m)
#define RW (NUDGE_F_CREATE | NUDGE_F_UPDATE)
#define RO NUDGE_F_RO
#define REQ (NUDGE_F_REQUIRED | RW)
#define OPT (NUDGE_F_NULLABLE | RW)

#define C nudge_clinic
const nudge_field nudge_clinic_fields[] = {
    {"id", "id", AT(C, id), NUDGE_T_ID, RO, .help = "the clinic's id"},
    {"name", "name", AT(C, name), NUDGE_T_TEXT, REQ, .help = "the clinic's name"},
    {"timezone", "timezone", AT(C, timezone), NUDGE_T_TEXT, REQ,
     .help = "IANA time zone, e.g. Asia/Kolkata"},
    {"country", "country", AT(C, country), NUDGE_T_TEXT, REQ,
     .help = "ISO 3166 country code: the default for phone numbers"},
    {"language", "language", AT(C, language), NUDGE_T_TEXT, RW,
     .help = "default language of its patients"},
    {"phone", "phone", AT(C, phone), NUDGE_T_TEXT, OPT, .help = "the clinic's phone, E.164"},
    {"email", "email", AT(C, email), NUDGE_T_TEXT, OPT, .help = "the clinic's email address"},
    {"address", "address", AT(C, address), NUDGE_T_TEXT, OPT, .help = "postal address"},
    {"quiet_hours", "quiet_start, quiet_end", .offset = offsetof(C, quiet_start),
     .size = 2 * sizeof(int), NUDGE_T_QUIET, OPT,
     .help = "hours without messages, e.g. 21:00-08:00; null: none"},
    {"reminder_offsets_minutes", "reminder_offsets", .offset = offsetof(C, offsets),
     .size = sizeof(((C *)0)->offsets) + sizeof(int), NUDGE_T_OFFSETS, RW,
     .help = "reminders before a visit, in minutes", .cli = "offsets"},
    {"followup_after_minutes", "followup_after", AT(C, followup_after), NUDGE_T_INT, RW,
     .help = "follow-up after a completed visit, in minutes; 0: none", .cli = "followup-after"},
    {"max_retries", "max_retries", AT(C, max_retries), NUDGE_T_INT, RW,
     .help = "retries of a failed send"},
    {"rate_per_minute", "rate_per_minute", AT(C, rate_per_minute), NUDGE_T_INT, RW,
     .help = "messages per minute per channel", .cli = "rate"},
    {"default_channel", "default_channel", AT(C, default_channel), NUDGE_T_TEXT, RW,
     .names = channel_names, .help = "channel for patients without a preference",
     .cli = "channel"},
    {"sms_sender", "sms_sender", AT(C, sms_sender), NUDGE_T_TEXT, OPT,
     .help = "SMS sender number or Messaging Service SID; null: the default"},
    {"whatsapp_fallback", "whatsapp_fallback", AT(C, whatsapp_fallback), NUDGE_T_BOOL, RW,
     .help = "a failed WhatsApp message goes once by SMS"},
    {"whatsapp_fallback_after_minutes", "whatsapp_fallback_after",
     AT(C, whatsapp_fallback_after), NUDGE_T_INT, RW,
     .help = "and one still undelivered after this many minutes; 0: off",
     .cli = "whatsapp-fallback-after"},
    {"created_at", "created_at", AT(C, created_at), NUDGE_T_TIME, RO, .help = "when added"},
    {"review_max_days", "review_max_days", AT(C, review_max_days), NUDGE_T_INT, RW,
     .help = "a course written \"until review\" is reminded at most this many days (1-365)"},
    {"reminder_channels", "reminder_channels", AT(C, reminder_channels), NUDGE_T_TEXT, OPT,
     .help = "both, or channels every reminder goes on at once (sms,email); null: one"},
    {0},
};
#undef C

#define P nudge_patient
const nudge_field nudge_patient_fields[] = {
    {"id", "p.id", AT(P, id), NUDGE_T_ID, RO, .help = "the patient's id"},
    {"clinic_id", "p.clinic_id", AT(P, clinic_id), NUDGE_T_ID, RO, .help = "their clinic"},
    {"name", "p.name", AT(P, name), NUDGE_T_TEXT, REQ, .help = "full name"},
    {"email", "p.email", AT(P, email), NUDGE_T_TEXT, OPT, .help = "email address"},
    {"phone", "p.phone", AT(P, phone), NUDGE_T_TEXT, OPT,
     .help = "phone number (E.164 once stored)"},
    {"language", "p.language", AT(P, language), NUDGE_T_TEXT, OPT,
     .help = "language of their messages; null: the clinic's"},
    {"timezone", "p.timezone", AT(P, timezone), NUDGE_T_TEXT, OPT,
     .help = "IANA time zone; null: the clinic's"},
    {"date_of_birth", "p.date_of_birth", AT(P, dob), NUDGE_T_TEXT, OPT, .help = "YYYY-MM-DD",
     .cli = "dob"},
    {"gender", "p.gender", AT(P, gender), NUDGE_T_TEXT, OPT, .help = "gender"},
    {"tags", "p.tags", AT(P, tags), NUDGE_T_TAGS, RW, .help = "diagnoses and tags"},
    {"preferred_channel", "c.preferred_channel", AT(P, preferred_channel), NUDGE_T_TEXT, OPT,
     .names = channel_names, .help = "sms, whatsapp or email; null: the clinic's default",
     .cli = "channel"},
    {"preferred_time", "c.preferred_time", AT(P, preferred_time), NUDGE_T_HHMM, OPT,
     .help = "preferred time of day HH:MM; null: none"},
    {"opt_outs", "c.opt_out_reminders, c.opt_out_broadcasts, c.opt_out_health_tips, "
                 "c.opt_out_marketing, c.opt_out_sms, c.opt_out_whatsapp, c.opt_out_email",
     AT(P, opt_outs), NUDGE_T_OPTOUTS, RW, .names = nudge_optout_names,
     .help = "what they receive no more: categories and channels", .cli = "opt-out"},
    {"loyalty_points", "p.loyalty_points", AT(P, loyalty_points), NUDGE_T_INT64, RO,
     .help = "loyalty points", .why = "points are earned through visits"},
    {"last_visit", "p.last_visit", AT(P, last_visit), NUDGE_T_TIME, RO, .help = "last visit",
     .why = "it is set when an appointment is completed"},
    {"created_at", "p.created_at", AT(P, created_at), NUDGE_T_TIME, RO, .help = "when added"},
    {"version", "p.version", AT(P, version), NUDGE_T_INT64, NUDGE_F_HIDDEN,
     .help = "bumped by every change: the ETag"},
    {"reminder_channels", "c.reminder_channels", AT(P, reminder_channels), NUDGE_T_TEXT, OPT,
     .help = "both, or channels each reminder goes on at once (sms,email); null: the clinic's"},
    {0},
};
#undef P

#define A nudge_appointment
const nudge_field nudge_appointment_fields[] = {
    {"id", "id", AT(A, id), NUDGE_T_ID, RO, .help = "the appointment's id"},
    {"clinic_id", "clinic_id", AT(A, clinic_id), NUDGE_T_ID, RO, .help = "its clinic"},
    {"patient_id", "patient_id", AT(A, patient_id), NUDGE_T_ID,
     NUDGE_F_REQUIRED | NUDGE_F_CREATE, .help = "the patient", .cli = "patient"},
    {"service", "service", AT(A, service), NUDGE_T_TEXT, REQ, .help = "what the visit is for"},
    {"doctor", "provider", AT(A, provider), NUDGE_T_TEXT, OPT, .help = "dentist or doctor"},
    {"notes", "notes", AT(A, notes), NUDGE_T_TEXT, OPT, .help = "notes"},
    {"start_at", "start_at", AT(A, start_at), NUDGE_T_TIME, NUDGE_F_REQUIRED | NUDGE_F_CREATE,
     .help = "when it starts (RFC 3339, or wall time in the clinic's zone)", .cli = "at"},
    {"duration_minutes", "duration_min", AT(A, duration_min), NUDGE_T_INT, RW,
     .help = "length in minutes", .cli = "duration"},
    {"status", "status", AT(A, status), NUDGE_T_TEXT, RO, .names = appt_status_names,
     .help = "where the visit stands",
     .why = "use the confirm, complete, cancel, no-show and reschedule actions"},
    {"created_at", "created_at", AT(A, created_at), NUDGE_T_TIME, RO, .help = "when booked"},
    {"updated_at", "updated_at", AT(A, updated_at), NUDGE_T_TIME, RO, .help = "last change"},
    {"version", "version", AT(A, version), NUDGE_T_INT64, NUDGE_F_HIDDEN,
     .help = "bumped by every change: the ETag"},
    {0},
};
#undef A

#define R nudge_reminder
const nudge_field nudge_reminder_fields[] = {
    {"id", "id", AT(R, id), NUDGE_T_ID, RO, .help = "the plan's id"},
    {"clinic_id", "clinic_id", AT(R, clinic_id), NUDGE_T_ID, NUDGE_F_HIDDEN, .help = "clinic"},
    {"patient_id", "patient_id", AT(R, patient_id), NUDGE_T_ID, NUDGE_F_HIDDEN,
     .help = "patient"},
    {"appointment_id", "appointment_id", AT(R, appointment_id), NUDGE_T_ID,
     RO | NUDGE_F_NULLABLE, .help = "the visit it is about; null: not tied to a visit"},
    {"kind", "kind", AT(R, kind), NUDGE_T_TEXT, RO,
     .help = "confirmation, reminder, follow_up or no_show"},
    {"template", "template", AT(R, template_name), NUDGE_T_TEXT, RO, .help = "template name"},
    {"due_at", "due_at", AT(R, due_at), NUDGE_T_TIME, RO, .help = "when it is sent"},
    {"expires_at", "expires_at", AT(R, expires_at), NUDGE_T_TIME, RO,
     .help = "after this it is never sent"},
    {"status", "status", AT(R, status), NUDGE_T_TEXT, RO,
     .help = "planned, enqueued, cancelled or expired"},
    {"notification_id", "notification_id", AT(R, notification_id), NUDGE_T_ID,
     RO | NUDGE_F_NULLABLE, .help = "the message it became"},
    {"subject", "subject", AT(R, subject), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "what a plan without a visit is about (prescription:7)"},
    {"detail", "detail", AT(R, detail), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "what it carries (the prescription items due then)"},
    {"note", "note", AT(R, note), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "why it was cancelled, expired or failed"},
    {"channels", "channels", AT(R, channels), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "one delivery on each (sms,email); null: the patient's route"},
    {0},
};
#undef R

static const char *const rx_status_names[] = {"active", "stopped", NULL};

#define X nudge_prescription
const nudge_field nudge_prescription_fields[] = {
    {"id", "id", AT(X, id), NUDGE_T_ID, RO, .help = "the prescription's id"},
    {"clinic_id", "clinic_id", AT(X, clinic_id), NUDGE_T_ID, RO, .help = "its clinic"},
    {"patient_id", "patient_id", AT(X, patient_id), NUDGE_T_ID,
     NUDGE_F_REQUIRED | NUDGE_F_CREATE, .help = "the patient", .cli = "patient"},
    {"appointment_id", "appointment_id", AT(X, appointment_id), NUDGE_T_ID,
     NUDGE_F_NULLABLE | NUDGE_F_CREATE, .help = "the visit it was written at",
     .cli = "appointment"},
    {"prescriber", "prescriber", AT(X, prescriber), NUDGE_T_TEXT, OPT,
     .help = "who wrote it"},
    {"notes", "notes", AT(X, notes), NUDGE_T_TEXT, OPT, .help = "notes"},
    {"status", "status", AT(X, status), NUDGE_T_TEXT, RO, .names = rx_status_names,
     .help = "active or stopped", .why = "use the stop action"},
    {"starts_on", "starts_on", AT(X, starts_on), NUDGE_T_TEXT, NUDGE_F_NULLABLE | NUDGE_F_CREATE,
     .help = "first day, YYYY-MM-DD in the patient's zone (default today)", .cli = "start"},
    {"ends_on", "ends_on", AT(X, ends_on), NUDGE_T_TEXT, RO,
     .help = "last day of its longest course"},
    {"stop_reason", "stop_reason", AT(X, stop_reason), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "why it was stopped"},
    {"channels", "channels", AT(X, channels), NUDGE_T_TEXT, NUDGE_F_NULLABLE | NUDGE_F_CREATE,
     .help = "both, or channels to send each dose on at once (sms,email); default: the "
             "patient's"},
    {"created_at", "created_at", AT(X, created_at), NUDGE_T_TIME, RO, .help = "when written"},
    {"updated_at", "updated_at", AT(X, updated_at), NUDGE_T_TIME, RO, .help = "last change"},
    {"version", "version", AT(X, version), NUDGE_T_INT64, NUDGE_F_HIDDEN,
     .help = "bumped by every change: the ETag"},
    {0},
};
#undef X

static const char *const recall_status_names[] = {"open",      "booked", "done",
                                                  "opted_out", "closed", NULL};

#define RR nudge_recall_rule
const nudge_field nudge_recall_rule_fields[] = {
    {"id", "id", AT(RR, id), NUDGE_T_ID, RO, .help = "the rule's id"},
    {"clinic_id", "clinic_id", AT(RR, clinic_id), NUDGE_T_ID, RO, .help = "its clinic"},
    {"service", "service", AT(RR, service), NUDGE_T_TEXT, REQ,
     .help = "the completed visit's service, ignoring case"},
    {"after_days", "after_days", AT(RR, after_days), NUDGE_T_INT,
     NUDGE_F_REQUIRED | NUDGE_F_CREATE, .help = "days after the visit"},
    {"cadence", "cadence", AT(RR, cadence), NUDGE_T_TEXT, OPT,
     .help = "sent again this many days after the first (14,28)"},
    {"template", "template", AT(RR, template_name), NUDGE_T_TEXT, OPT,
     .help = "template (default preventive_care_annual)"},
    {"channels", "channels", AT(RR, channels), NUDGE_T_TEXT, OPT,
     .help = "both, or the channels to send each on at once"},
    {"active", "active", AT(RR, active), NUDGE_T_BOOL, RO, .help = "whether it makes recalls"},
    {"created_at", "created_at", AT(RR, created_at), NUDGE_T_TIME, RO, .help = "when made"},
    {0},
};
#undef RR

#define RC nudge_recall
const nudge_field nudge_recall_fields[] = {
    {"id", "id", AT(RC, id), NUDGE_T_ID, RO, .help = "the recall's id"},
    {"clinic_id", "clinic_id", AT(RC, clinic_id), NUDGE_T_ID, RO, .help = "its clinic"},
    {"patient_id", "patient_id", AT(RC, patient_id), NUDGE_T_ID, RO, .help = "the patient"},
    {"rule_id", "rule_id", AT(RC, rule_id), NUDGE_T_ID, RO, .help = "the rule that made it"},
    {"appointment_id", "appointment_id", AT(RC, appointment_id), NUDGE_T_ID,
     RO | NUDGE_F_NULLABLE, .help = "the completed visit it follows"},
    {"due_on", "due_on", AT(RC, due_on), NUDGE_T_TEXT, RO, .help = "its date, the patient's zone"},
    {"next_at", "next_at", AT(RC, next_at), NUDGE_T_TIME, RO, .help = "when it is next sent"},
    {"sends", "sends", AT(RC, sends), NUDGE_T_INT, RO, .help = "how often it was planned"},
    {"status", "status", AT(RC, status), NUDGE_T_TEXT, RO, .names = recall_status_names,
     .help = "open, booked, done, opted_out or closed"},
    {"booked_by", "booked_by", AT(RC, booked_by), NUDGE_T_ID, RO | NUDGE_F_NULLABLE,
     .help = "the visit that holds it"},
    {"updated_at", "updated_at", AT(RC, updated_at), NUDGE_T_TIME, RO, .help = "last change"},
    {0},
};
#undef RC

#define M nudge_medication
const nudge_field nudge_medication_fields[] = {
    {"id", "id", AT(M, id), NUDGE_T_ID, RO, .help = "the item's id"},
    {"drug_name", "drug_name", AT(M, drug_name), NUDGE_T_TEXT, REQ, .help = "the drug",
     .cli = "drug"},
    {"dose", "dose", AT(M, dose), NUDGE_T_TEXT, REQ, .help = "how much (500 mg, 1 tablet)"},
    {"frequency", "frequency", AT(M, frequency), NUDGE_T_TEXT, REQ,
     .help = "OD BD TDS QID HS qNh, once weekly, alternate days, SOS, 1-0-1"},
    {"duration", "duration", AT(M, duration), NUDGE_T_TEXT, REQ,
     .help = "5 days, 2 weeks, 1 month or until review"},
    {"instructions", "instructions", AT(M, instructions), NUDGE_T_TEXT, OPT,
     .help = "after food, with water..."},
    {"times", "times", AT(M, times), NUDGE_T_TEXT, NUDGE_F_NULLABLE | RW,
     .help = "dose times HH:MM,HH:MM (default: the frequency's)"},
    {"days", "days", AT(M, days), NUDGE_T_INT, RO, .help = "the course's length in days"},
    {0},
};
#undef M

static const char *const lab_status_names[] = {"due", "reminded", "done", "cancelled", NULL};

#define L nudge_lab_order
const nudge_field nudge_lab_order_fields[] = {
    {"id", "id", AT(L, id), NUDGE_T_ID, RO, .help = "the lab order's id"},
    {"clinic_id", "clinic_id", AT(L, clinic_id), NUDGE_T_ID, RO, .help = "its clinic"},
    {"patient_id", "patient_id", AT(L, patient_id), NUDGE_T_ID,
     NUDGE_F_REQUIRED | NUDGE_F_CREATE, .help = "the patient", .cli = "patient"},
    {"test_name", "test_name", AT(L, test_name), NUDGE_T_TEXT, NUDGE_F_REQUIRED | NUDGE_F_CREATE,
     .help = "the test (HbA1c, lipid profile)", .cli = "test"},
    {"due_on", "due_on", AT(L, due_on), NUDGE_T_TEXT, NUDGE_F_REQUIRED | NUDGE_F_CREATE,
     .help = "YYYY-MM-DD: reminded that day at the patient's preferred time", .cli = "due"},
    {"repeat_days", "repeat_days", AT(L, repeat_days), NUDGE_T_INT, NUDGE_F_CREATE,
     .help = "reminded again every so many days while not done (0: once)"},
    {"channels", "channels", AT(L, channels), NUDGE_T_TEXT, NUDGE_F_NULLABLE | NUDGE_F_CREATE,
     .help = "both, or the channels to send each on at once; default: the patient's"},
    {"status", "status", AT(L, status), NUDGE_T_TEXT, RO, .names = lab_status_names,
     .help = "due, reminded (its reminders ran out), done or cancelled",
     .why = "use the done action"},
    {"sends", "sends", AT(L, sends), NUDGE_T_INT, RO, .help = "reminders planned so far"},
    {"next_at", "next_at", AT(L, next_at), NUDGE_T_TIME, RO, .help = "when it is next reminded"},
    {0},
};
#undef L

#define N nudge_notification
const nudge_field nudge_notification_fields[] = {
    {"id", "id", AT(N, id), NUDGE_T_ID, RO, .help = "the message's id"},
    {"clinic_id", "clinic_id", AT(N, clinic_id), NUDGE_T_ID, NUDGE_F_HIDDEN, .help = "clinic"},
    {"patient_id", "patient_id", AT(N, patient_id), NUDGE_T_ID, RO, .help = "the patient"},
    {"appointment_id", "appointment_id", AT(N, appointment_id), NUDGE_T_ID,
     RO | NUDGE_F_NULLABLE, .help = "the visit it is about"},
    {"reminder_id", "reminder_id", AT(N, reminder_id), NUDGE_T_ID, RO | NUDGE_F_NULLABLE,
     .help = "the plan it came from"},
    {"channel", "channel", AT(N, channel), NUDGE_T_TEXT, RO, .names = channel_names,
     .help = "sms, whatsapp or email"},
    {"recipient", "recipient", AT(N, recipient), NUDGE_T_TEXT, RO, .help = "number or address"},
    {"template", "template", AT(N, template_name), NUDGE_T_TEXT, RO, .help = "template name"},
    {"language", "language", AT(N, language), NUDGE_T_TEXT, RO, .help = "language"},
    {"category", "category", AT(N, category), NUDGE_T_TEXT, RO, .names = category_names,
     .help = "what opt-outs apply"},
    {"priority", "priority", AT(N, priority), NUDGE_T_ENUM, RO, .names = nudge_priority_names,
     .help = "low, normal, high or urgent"},
    {"status", "status", AT(N, status), NUDGE_T_TEXT, RO, .names = notif_status_names,
     .help = "where it stands"},
    {"due_at", "due_at", AT(N, due_at), NUDGE_T_TIME, RO, .help = "when it is due"},
    {"expires_at", "expires_at", AT(N, expires_at), NUDGE_T_TIME, RO,
     .help = "after this it is never sent"},
    {"sent_at", "sent_at", AT(N, sent_at), NUDGE_T_TIME, RO, .help = "when a provider took it"},
    {"attempts", "attempts", AT(N, attempts), NUDGE_T_INT, RO, .help = "sends tried"},
    {"max_retries", "max_retries", AT(N, max_retries), NUDGE_T_INT, RO, .help = "retries allowed"},
    {"dedupe_key", "dedupe_key", AT(N, dedupe_key), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "one message per key"},
    {"provider_id", "provider_id", AT(N, provider_id), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "the provider's id for it"},
    {"last_error", "last_error", AT(N, last_error), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "why the last send failed"},
    {"subject", "subject", AT(N, subject), NUDGE_T_STR, RO | NUDGE_F_NULLABLE,
     .help = "email subject"},
    {"body", "body", AT(N, body), NUDGE_T_STR, RO | NUDGE_F_NULLABLE, .help = "the text"},
    {"html", "html", AT(N, html), NUDGE_T_STR, RO | NUDGE_F_NULLABLE, .help = "email HTML"},
    {"created_at", "created_at", AT(N, created_at), NUDGE_T_TIME, RO, .help = "when enqueued"},
    {0},
};
#undef N

#define T nudge_attempt
const nudge_field nudge_attempt_fields[] = {
    {"id", "id", AT(T, id), NUDGE_T_ID, RO, .help = "the attempt's id"},
    {"notification_id", "notification_id", AT(T, notification_id), NUDGE_T_ID, NUDGE_F_HIDDEN,
     .help = "the message"},
    {"at", "started_at", AT(T, at), NUDGE_T_TIME, RO, .help = "when it started"},
    {"transport", "transport", AT(T, transport), NUDGE_T_TEXT, RO, .help = "the provider"},
    {"outcome", "outcome", AT(T, outcome), NUDGE_T_TEXT, RO,
     .help = "sent, transient, permanent, config or lease_expired"},
    {"provider_id", "provider_id", AT(T, provider_id), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "the provider's id"},
    {"detail", "detail", AT(T, detail), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "what happened"},
    {0},
};
#undef T

#define D nudge_delivery_event
const nudge_field nudge_delivery_event_fields[] = {
    {"id", "id", AT(D, id), NUDGE_T_ID, RO, .help = "the report's id"},
    {"notification_id", "notification_id", AT(D, notification_id), NUDGE_T_ID, NUDGE_F_HIDDEN,
     .help = "the message"},
    {"at", "received_at", AT(D, at), NUDGE_T_TIME, RO, .help = "when it arrived"},
    {"provider", "provider", AT(D, provider), NUDGE_T_TEXT, RO, .help = "who reported"},
    {"status", "status", AT(D, status), NUDGE_T_TEXT, RO, .help = "the provider's status"},
    {"error_code", "error_code", AT(D, error_code), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE,
     .help = "the provider's error code"},
    {"applied", "applied", AT(D, applied), NUDGE_T_BOOL, RO,
     .help = "whether it moved the message's status"},
    {0},
};
#undef D

#define K nudge_key
const nudge_field nudge_key_fields[] = {
    {"id", "id", AT(K, id), NUDGE_T_ID, RO, .help = "the key's id"},
    {"clinic_id", "clinic_id", AT(K, clinic_id), NUDGE_T_ID, NUDGE_F_HIDDEN, .help = "clinic"},
    {"role", "role", AT(K, role), NUDGE_T_ENUM, NUDGE_F_BYNAME | NUDGE_F_REQUIRED | NUDGE_F_CREATE,
     .names = role_names, .base = NUDGE_ROLE_ADMIN, .help = "admin, staff or integration"},
    {"label", "label", AT(K, label), NUDGE_T_TEXT, NUDGE_F_NULLABLE | NUDGE_F_CREATE,
     .help = "what it is for"},
    {"prefix", "prefix", AT(K, prefix), NUDGE_T_TEXT, RO, .help = "the public part"},
    {"created_at", "created_at", AT(K, created_at), NUDGE_T_TIME, RO, .help = "when made"},
    {"last_used_at", "last_used_at", AT(K, last_used_at), NUDGE_T_TIME, RO, .help = "last use"},
    {"revoked_at", "revoked_at", AT(K, revoked_at), NUDGE_T_TIME, RO, .help = "when revoked"},
    {0},
};
#undef K

#define M nudge_template
const nudge_field nudge_template_fields[] = {
    {"clinic_id", "clinic_id", AT(M, clinic_id), NUDGE_T_INT64, NUDGE_F_HIDDEN,
     .help = "owner; 0: built in"},
    {"name", "name", AT(M, name), NUDGE_T_TEXT, REQ, .help = "template name"},
    {"language", "language", AT(M, language), NUDGE_T_TEXT, REQ, .help = "its language"},
    {"category", "category", AT(M, category), NUDGE_T_TEXT, REQ, .names = category_names,
     .help = "what opt-outs apply"},
    {"sms", "sms", AT(M, sms), NUDGE_T_STR, REQ, .help = "SMS text (and WhatsApp's)"},
    {"whatsapp", "whatsapp", AT(M, whatsapp), NUDGE_T_STR, OPT,
     .help = "WhatsApp text; null: the SMS text"},
    {"subject", "subject", AT(M, subject), NUDGE_T_STR, REQ, .help = "email subject"},
    {"text", "text", AT(M, text), NUDGE_T_STR, REQ, .help = "email text"},
    {"html", "html", AT(M, html), NUDGE_T_STR, REQ, .help = "email HTML"},
    {"source", NULL, AT(M, clinic_id), NUDGE_T_SOURCE, RO, .help = "clinic or built-in",
     .why = "it follows from who owns the template"},
    {0},
};
#undef M

#define U nudge_audit
const nudge_field nudge_audit_fields[] = {
    {"id", "id", AT(U, id), NUDGE_T_ID, RO, .help = "the entry's id"},
    {"clinic_id", "clinic_id", AT(U, clinic_id), NUDGE_T_ID, NUDGE_F_HIDDEN, .help = "clinic"},
    {"at", "created_at", AT(U, at), NUDGE_T_TIME, RO, .help = "when"},
    {"actor", "actor", AT(U, actor), NUDGE_T_TEXT, RO, .help = "who: cli, key:<prefix>, ..."},
    {"action", "action", AT(U, action), NUDGE_T_TEXT, RO, .help = "what was done"},
    {"entity", "entity", AT(U, entity), NUDGE_T_TEXT, RO, .help = "to what kind of record"},
    {"entity_id", "entity_id", AT(U, entity_id), NUDGE_T_ID, RO | NUDGE_F_NULLABLE,
     .help = "to which one"},
    {"detail", "detail", AT(U, detail), NUDGE_T_TEXT, RO | NUDGE_F_NULLABLE, .help = "detail"},
    {0},
};
#undef U

/* QUIET and OFFSETS reach past their first member: hold the layout. */
_Static_assert(offsetof(nudge_clinic, quiet_end) == offsetof(nudge_clinic, quiet_start) + sizeof(int),
               "quiet_start and quiet_end are adjacent");
_Static_assert(offsetof(nudge_clinic, n_offsets) ==
                   offsetof(nudge_clinic, offsets) + sizeof(((nudge_clinic *)0)->offsets),
               "n_offsets follows offsets");

const nudge_field *nudge_field_find(const nudge_field *fs, const char *name)
{
    for (; fs && fs->name; fs++)
        if (name && !strcmp(fs->name, name))
            return fs;
    return NULL;
}

/* ---- rows ---- */

/* How many result columns a field reads. */
static int record_ncols(const nudge_field *f)
{
    return f->type == NUDGE_T_OPTOUTS ? NUDGE_N_OPTOUTS : f->type == NUDGE_T_QUIET ? 2 : 1;
}

int record_width(const nudge_field *fs)
{
    int col = 0;
    for (const nudge_field *f = fs; f->name; f++)
        if (f->column)
            col += record_ncols(f);
    return col;
}

void record_read(store_stmt *st, const nudge_field *fs, void *rec)
{
    int col = 0;
    for (const nudge_field *f = fs; f->name; f++) {
        if (!f->column)
            continue;
        char *p = (char *)rec + f->offset;
        switch (f->type) {
        case NUDGE_T_INT64:
        case NUDGE_T_ID:
        case NUDGE_T_TIME:
        case NUDGE_T_SOURCE: {
            int64_t v = store_int(st, col);
            memcpy(p, &v, sizeof v);
            break;
        }
        case NUDGE_T_INT:
        case NUDGE_T_BOOL:
        case NUDGE_T_HHMM:
        case NUDGE_T_ENUM: {
            int v = (int)store_int(st, col);
            if (f->type == NUDGE_T_HHMM && store_null(st, col))
                v = -1;
            if (f->type == NUDGE_T_ENUM && (f->flags & NUDGE_F_BYNAME)) {
                const char *s = store_text(st, col);
                v = 0;
                for (int i = 0; f->names[i]; i++)
                    if (!strcmp(s, f->names[i]))
                        v = f->base + i;
            }
            memcpy(p, &v, sizeof v);
            break;
        }
        case NUDGE_T_TEXT:
        case NUDGE_T_TAGS: store_copy(st, col, p, f->size); break;
        case NUDGE_T_STR: {
            char *s = store_dup(st, col);
            memcpy(p, &s, sizeof s);
            break;
        }
        case NUDGE_T_OPTOUTS: {
            unsigned bits = 0;
            for (int i = 0; i < NUDGE_N_OPTOUTS; i++)
                if (store_int(st, col + i))
                    bits |= 1u << i;
            memcpy(p, &bits, sizeof bits);
            break;
        }
        case NUDGE_T_QUIET: {
            int q[2] = {(int)store_int(st, col), (int)store_int(st, col + 1)};
            memcpy(p, q, sizeof q);
            break;
        }
        case NUDGE_T_OFFSETS: {
            int offs[NUDGE_MAX_OFFSETS], n = 0;
            clinic_parse_offsets(store_text(st, col), offs, &n, NULL);
            memcpy(p, offs, sizeof offs);
            memcpy(p + sizeof offs, &n, sizeof n);
            break;
        }
        }
        col += record_ncols(f);
    }
}

void record_columns(const nudge_field *fs, char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = 0;
    for (const nudge_field *f = fs; f->name && len < n; f++) {
        if (!f->column)
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", f->column);
        len += w > 0 ? (size_t)w : 0;
    }
}

/* ---- text a client may set ---- */

int record_check_text(const nudge_field *fs, const void *rec, nudge_err *err)
{
    for (const nudge_field *f = fs; f->name; f++) {
        if (f->flags & NUDGE_F_RO)
            continue;
        const char *p = (const char *)rec + f->offset, *s = NULL;
        if (f->type == NUDGE_T_TEXT || f->type == NUDGE_T_TAGS)
            s = p;
        else if (f->type == NUDGE_T_STR)
            memcpy(&s, p, sizeof s);
        if (s && !text_ok(s))
            return err_set(err, NUDGE_EINVAL, f->name,
                           "%s must be UTF-8 text without control characters", f->name);
    }
    return 0;
}
