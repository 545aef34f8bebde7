/*
 * record.h: the library's side of the record descriptions (the tables are
 * public, in nudge.h, and defined in record.c). A domain module's row
 * reader is record_read over its table, and its SELECT list is the
 * matching RECORD_*_COLS below: the columns each table names, in its
 * order, kept as literal text so every query stays one static string (the
 * statement cache's key, and what scripts/check-binds.py reads).
 * tests/test_record.c holds each list equal to its table.
 */
#ifndef NUDGE_RECORD_H
#define NUDGE_RECORD_H

#include <stddef.h>

#include "nudge.h"
#include "store/store.h"

/* Fills rec's stored fields from the row, column by column in table order
 * (fields without a column are left alone). STR fields are allocated. */
void record_read(store_stmt *st, const nudge_field *fs, void *rec);
/* How many columns record_read reads: a query's columns after the
 * record's start there. */
int record_width(const nudge_field *fs);
/* Every text a client may set (TEXT, STR, TAGS fields that are not
 * read-only) is text_ok: 0, or -1 with err naming the first field that is
 * not. Called by each domain module's validation, so the API and the CLI
 * refuse the same bytes. */
int record_check_text(const nudge_field *fs, const void *rec, nudge_err *err);
/* The table's columns joined by ", " (what a RECORD_*_COLS must equal);
 * truncated to n. */
void record_columns(const nudge_field *fs, char *buf, size_t n);

#define RECORD_CLINIC_COLS                                                                         \
    "id, name, timezone, country, language, phone, email, address, quiet_start, quiet_end, "       \
    "reminder_offsets, followup_after, max_retries, rate_per_minute, default_channel, "            \
    "sms_sender, whatsapp_fallback, whatsapp_fallback_after, created_at, review_max_days, "      \
    "reminder_channels"
/* The patient's columns, its seven opt-outs given by `opts` (patient.c
 * reads them from the consent ledger, or as 0 where a reader does not
 * use them). */
#define RECORD_PATIENT_COLS_OPTS(opts)                                                             \
    "p.id, p.clinic_id, p.name, p.email, p.phone, p.language, p.timezone, p.date_of_birth, "       \
    "p.gender, p.tags, c.preferred_channel, c.preferred_time, " opts ", p.loyalty_points, "       \
    "p.last_visit, p.created_at, p.version, c.reminder_channels"
#define RECORD_PATIENT_COLS                                                                        \
    RECORD_PATIENT_COLS_OPTS("c.opt_out_reminders, c.opt_out_broadcasts, c.opt_out_health_tips, " \
                             "c.opt_out_marketing, c.opt_out_sms, c.opt_out_whatsapp, "            \
                             "c.opt_out_email")
#define RECORD_APPOINTMENT_COLS                                                                    \
    "id, clinic_id, patient_id, service, provider, notes, start_at, duration_min, status, "        \
    "created_at, updated_at, version"
#define RECORD_REMINDER_COLS                                                                       \
    "id, clinic_id, patient_id, appointment_id, kind, template, due_at, expires_at, status, "      \
    "notification_id, subject, detail, note, channels"
#define RECORD_PRESCRIPTION_COLS                                                                   \
    "id, clinic_id, patient_id, appointment_id, prescriber, notes, status, starts_on, ends_on, "  \
    "stop_reason, channels, created_at, updated_at, version"
#define RECORD_MEDICATION_COLS                                                                     \
    "id, drug_name, dose, frequency, duration, instructions, times, days"
#define RECORD_NOTIFICATION_COLS                                                                   \
    "id, clinic_id, patient_id, appointment_id, reminder_id, channel, recipient, template, "       \
    "language, category, priority, status, due_at, expires_at, sent_at, attempts, max_retries, "  \
    "dedupe_key, provider_id, last_error, subject, body, html, created_at"
#define RECORD_ATTEMPT_COLS                                                                        \
    "id, notification_id, started_at, transport, outcome, provider_id, detail"
#define RECORD_DELIVERY_EVENT_COLS                                                                 \
    "id, notification_id, received_at, provider, status, error_code, applied"
#define RECORD_KEY_COLS                                                                            \
    "id, clinic_id, role, label, prefix, created_at, last_used_at, revoked_at"
#define RECORD_TEMPLATE_COLS                                                                       \
    "clinic_id, name, language, category, sms, whatsapp, subject, text, html"
#define RECORD_AUDIT_COLS "id, clinic_id, created_at, actor, action, entity, entity_id, detail"

#endif
