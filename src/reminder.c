/*
 * reminder.c: plans. A plan says "tell this patient about this appointment
 * at due_at"; it carries no message text, so a reschedule or a template
 * change before it is due is picked up for free. The scheduler turns due
 * plans into notifications. Plans are only ever made inside the transaction
 * that changes the appointment they are about.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "record.h"
#include "tz.h"
#include "util.h"

int reminder_plan_one(nudge *n, const nudge_appointment *a, const char *kind,
                      const char *template_name, int64_t due_at, int64_t expires_at, nudge_err *err)
{
    int64_t now = clock_now(n);
    return store_exec(
        n->db, err,
        "INSERT INTO reminders (clinic_id, patient_id, appointment_id, kind, "
        "template, offset_min, due_at, expires_at, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,'planned',?,?)",
        bind_int(a->clinic_id), bind_int(a->patient_id), bind_int(a->id), bind_text(kind),
        bind_text(template_name),
        bind_int_or_null(expires_at && !strcmp(kind, "reminder") ? (expires_at - due_at) / 60 : 0),
        bind_int(due_at), bind_int_or_null(expires_at), bind_int(now), bind_int(now));
}

/* One item of the outcome, when the caller asked for it. */
static void reminder_note(nudge_plan *plan, const char *kind, int before_min, int64_t due,
                          const char *why)
{
    if (!plan || plan->n >= (int)(sizeof plan->items / sizeof *plan->items))
        return;
    nudge_plan_item *it = &plan->items[plan->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    it->before_min = before_min;
    it->due_at = due;
    it->planned = !why;
    snprintf(it->why, sizeof it->why, "%s", why ? why : "");
}

int reminder_plan(nudge *n, const reminder_spec *rs, int64_t *id, nudge_err *err)
{
    int64_t now = clock_now(n), got = 0;
    /* An occurrence is planned once: a scan that runs twice, or two
     * workers' scans, find the row there and add nothing. */
    int r = store_insert(
        n->db, &got, err,
        "INSERT INTO reminders (clinic_id, patient_id, appointment_id, kind, template, due_at, "
        "expires_at, status, subject, detail, occurrence, channels, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,'planned',?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        bind_int(rs->clinic_id), bind_int(rs->patient_id), bind_int_or_null(rs->appointment_id),
        bind_text(rs->kind), bind_text(rs->template_name), bind_int(rs->due_at),
        bind_int_or_null(rs->expires_at), bind_text_or_null(rs->subject),
        bind_text_or_null(rs->detail), bind_text_or_null(rs->occurrence),
        bind_text_or_null(rs->channels && *rs->channels ? rs->channels : NULL), bind_int(now),
        bind_int(now));
    if (id)
        *id = got;
    return r;
}

int reminder_channels(const char *in, char *out, size_t n, const char *field, nudge_err *err)
{
    static const char *const names[] = {"sms", "whatsapp", "email", NULL};
    char buf[64];
    unsigned seen = 0;
    size_t len = 0;
    out[0] = 0;
    if (nudge_blank(in))
        return 0;
    /* The clinics' documents' "BOTH": a text and an email. */
    str_copy(buf, sizeof buf, !strcasecmp(in, "both") ? "sms,email" : in);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        int i = nudge_names_find(names, tok);
        if (i < 0 || seen & (1u << i))
            return err_set(err, NUDGE_EINVAL, field,
                           "channels must be both, or distinct sms, whatsapp and email separated "
                           "by commas (got \"%.40s\")", in);
        seen |= 1u << i;
        len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "", tok);
    }
    return 0;
}

int reminder_channels_reach(const nudge_patient *p, const char *channels, const char *field,
                            nudge_err *err)
{
    const char *email = strstr(channels, "email");
    if (email && !p->email[0])
        return err_set(err, NUDGE_EINVAL, field, "channels %s needs the patient's email",
                       channels);
    if ((strstr(channels, "sms") || strstr(channels, "whatsapp")) && !p->phone[0])
        return err_set(err, NUDGE_EINVAL, field, "channels %s needs the patient's phone number",
                       channels);
    return 0;
}

int reminder_each(nudge *n, const void *items, size_t size, int count, int64_t now,
                  int (*step)(nudge *n, const void *item, int64_t now, nudge_err *err),
                  nudge_err *err)
{
    for (int i = 0; i < count; i++) {
        if (store_begin(n->db, err) < 0)
            return -1;
        if (step(n, (const char *)items + (size_t)i * size, now, err) < 0) {
            store_rollback(n->db);
            return -1;
        }
        if (store_commit(n->db, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- dates and the patient's time of day, for every plan not tied to a
 * visit's time ---- */

int reminder_date_parse(const char *s, tz_local *l)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || s[4] != '-' ||
        s[7] != '-' || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    /* 2026-02-30 is refused, not moved to March: noon of it must read back. */
    tz_local a = {.year = y, .month = m, .day = d, .hour = 12}, b;
    int64_t t;
    if (tz_from_local(&a, "UTC", &t) < 0 || tz_to_local(t, "UTC", &b) < 0 || b.day != d)
        return -1;
    *l = a;
    return 0;
}

void reminder_date_text(const tz_local *l, int days, char *buf, size_t n)
{
    tz_local a = {.year = l->year, .month = l->month, .day = l->day + days, .hour = 12}, b;
    int64_t t;
    tz_from_local(&a, "UTC", &t);
    tz_to_local(t, "UTC", &b);
    snprintf(buf, n, "%04u-%02u-%02u", (unsigned)b.year % 10000u, (unsigned)b.month % 100u,
             (unsigned)b.day % 100u);
}

const char *reminder_zone(const nudge_clinic *c, const nudge_patient *p)
{
    return p->timezone[0] ? p->timezone : c->timezone;
}

int64_t reminder_local_at(const nudge_clinic *c, const nudge_patient *p, const tz_local *day,
                          int days)
{
    int minute = p->preferred_time >= 0 ? p->preferred_time : REMINDER_DEFAULT_TIME;
    tz_local l = {.year = day->year, .month = day->month, .day = day->day + days,
                  .hour = minute / 60, .minute = minute % 60};
    int64_t t = 0;
    tz_from_local(&l, reminder_zone(c, p), &t);
    return t;
}

int reminder_plan_appointment(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                              int confirmation, nudge_plan *plan, nudge_err *err)
{
    int64_t now = clock_now(n);
    if (plan)
        plan->n = 0;
    /* A visit entered after the fact (recording history) is legitimate:
     * nothing is planned, and the outcome says so. */
    int begun = a->start_at <= now;
    if (confirmation) {
        if (!begun && reminder_plan_one(n, a, "confirmation", "appointment_confirmation", now,
                                        a->start_at, err) < 0)
            return -1;
        reminder_note(plan, "confirmation", 0, now, begun ? "the visit has already begun" : NULL);
    }
    for (int i = 0; i < c->n_offsets; i++) {
        int64_t due = a->start_at - (int64_t)c->offsets[i] * 60;
        /* A "24 hours before" that is already past when booking would only
         * repeat the confirmation: skip it. */
        if (due > now &&
            reminder_plan_one(n, a, "reminder", "appointment_reminder", due, a->start_at, err) < 0)
            return -1;
        reminder_note(plan, "reminder", c->offsets[i], due,
                      due > now ? NULL : "its time had passed");
    }
    return 0;
}

void nudge_plan_item_name(const nudge_plan_item *it, char *buf, size_t n)
{
    if (strcmp(it->kind, "reminder"))
        snprintf(buf, n, "%s", it->kind);
    else if (it->before_min % 60)
        snprintf(buf, n, "%d min reminder", it->before_min);
    else
        snprintf(buf, n, "%d h reminder", it->before_min / 60);
}

int reminder_cancel_appointment(nudge *n, int64_t clinic_id, int64_t appointment_id,
                                const char *why, nudge_err *err)
{
    int64_t now = clock_now(n);
    if (store_exec(n->db, err,
                   "UPDATE reminders SET status = 'cancelled', note = ?, updated_at = ? "
                   "WHERE clinic_id = ? AND appointment_id = ? AND status = 'planned'",
                   bind_text(why), bind_int(now), bind_int(clinic_id), bind_int(appointment_id)) < 0)
        return -1;
    return queue_cancel_appointment(n, clinic_id, appointment_id, why, err);
}

int reminder_due(nudge *n, int64_t now, nudge_reminder *batch, int max, nudge_err *err)
{
    store_stmt *q;
    if (store_query(n->db, &q, err,
                    "SELECT " RECORD_REMINDER_COLS " FROM reminders WHERE status = 'planned' AND "
                    "due_at <= ? ORDER BY due_at, id LIMIT ?",
                    bind_int(now), bind_int(max)) < 0)
        return -1;
    int nb = 0, r = 0;
    while (nb < max && (r = store_next(q, err)) == 1) {
        nudge_reminder *rm = &batch[nb++];
        memset(rm, 0, sizeof *rm);
        record_read(q, nudge_reminder_fields, rm);
    }
    store_done(q);
    return r < 0 ? -1 : nb;
}

/* An enqueued plan whose messages were all still waiting: cancelled,
 * keeping the message it became. */
static int reminder_mark_cancelled(nudge *n, int64_t clinic_id, int64_t id, const char *why,
                                   nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE reminders SET status = 'cancelled', note = ?, updated_at = ? "
                      "WHERE clinic_id = ? AND id = ? AND status = 'enqueued'",
                      bind_text(why), bind_int(clock_now(n)), bind_int(clinic_id), bind_int(id));
}

/* Plans of a clinic's patient (0: any) about a subject ("": any) still to
 * be sent are cancelled, and the messages of those already enqueued but
 * not yet handed to a provider (a dose deferred by quiet hours). */
int reminder_cancel_where(nudge *n, int64_t clinic_id, int64_t patient_id, const char *subject,
                          const char *why, int *count, nudge_err *err)
{
    int64_t now = clock_now(n);
    const char *subj = subject ? subject : "";
    store_stmt *st;
    int64_t ids[256];
    int nid = 0, r;
    /* What is enqueued and may still wait in the queue: bounded to the
     * recent past (a message waits at most a day for quiet hours). */
    if (store_query(n->db, &st, err,
                    "SELECT id FROM reminders WHERE clinic_id = ? AND (? = 0 OR patient_id = ?) "
                    "AND (? = '' OR subject = ?) AND status = 'enqueued' AND due_at > ? "
                    "ORDER BY id",
                    bind_int(clinic_id), bind_int(patient_id), bind_int(patient_id),
                    bind_text(subj), bind_text(subj), bind_int(now - 86400)) < 0)
        return -1;
    while ((r = store_next(st, err)) == 1 && nid < (int)(sizeof ids / sizeof ids[0]))
        ids[nid++] = store_int(st, 0);
    store_done(st);
    if (r < 0)
        return -1;
    /* A plan on several channels is one reminder: its deliveries still
     * waiting are cancelled together, and it counts once. */
    int held = 0;
    for (int i = 0; i < nid; i++) {
        if (queue_cancel_reminder(n, clinic_id, ids[i], why, err) < 0)
            return -1;
        if (store_changes(n->db) == 0)
            continue;
        if (reminder_mark_cancelled(n, clinic_id, ids[i], why, err) < 0)
            return -1;
        held++;
    }
    if (store_exec(n->db, err,
                   "UPDATE reminders SET status = 'cancelled', note = ?, updated_at = ? "
                   "WHERE clinic_id = ? AND (? = 0 OR patient_id = ?) AND (? = '' OR "
                   "subject = ?) AND status = 'planned'",
                   bind_text(why), bind_int(now), bind_int(clinic_id), bind_int(patient_id),
                   bind_int(patient_id), bind_text(subj), bind_text(subj)) < 0)
        return -1;
    if (count)
        *count = store_changes(n->db) + held;
    return 0;
}

int reminder_mark(nudge *n, int64_t clinic_id, int64_t id, const char *status,
                  int64_t notification_id, const char *note, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE reminders SET status = ?, notification_id = ?, note = ?, "
                      "updated_at = ? WHERE clinic_id = ? AND id = ?",
                      bind_text(status), bind_int_or_null(notification_id), bind_text_or_null(note),
                      bind_int(clock_now(n)), bind_int(clinic_id), bind_int(id));
}

int reminder_lag(nudge *n, int64_t now, int64_t *lag, nudge_err *err)
{
    return store_scalar(n->db, lag, err,
                        "SELECT COALESCE(? - MIN(due_at), 0) FROM reminders WHERE status = "
                        "'planned' AND due_at <= ?",
                        bind_int(now), bind_int(now)) < 0
               ? -1
               : 0;
}

static int reminder_rows(store_stmt *st, nudge_reminder_fn fn, void *ctx, nudge_err *err)
{
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_reminder rm = {0};
        record_read(st, nudge_reminder_fields, &rm);
        if (fn(ctx, &rm))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

#define REMINDER_COLS RECORD_REMINDER_COLS

int nudge_reminder_list(nudge *n, int64_t clinic_id, int64_t appointment_id, nudge_reminder_fn fn,
                        void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " REMINDER_COLS " FROM reminders WHERE (? = 0 OR clinic_id = ?) AND "
                    "(? = 0 OR appointment_id = ?) ORDER BY due_at, id",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(appointment_id),
                    bind_int(appointment_id)) < 0)
        return -1;
    return reminder_rows(st, fn, ctx, err);
}

int nudge_reminder_pending(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_reminder_fn fn,
                           void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " REMINDER_COLS " FROM reminders WHERE (? = 0 OR clinic_id = ?) AND "
                    "patient_id = ? AND status = 'planned' ORDER BY due_at, id",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(patient_id)) < 0)
        return -1;
    return reminder_rows(st, fn, ctx, err);
}

int nudge_reminder_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    int64_t owner = 0;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    int r = store_scalar(n->db, &owner, err,
                         "SELECT clinic_id FROM reminders WHERE id = ? AND (? = 0 OR clinic_id = ?)",
                         bind_int(id), bind_int(clinic_id), bind_int(clinic_id));
    if (r == 0)
        err_set(err, NUDGE_ENOTFOUND, "reminder", "no reminder %lld", (long long)id);
    if (r == 1 &&
        store_exec(n->db, err,
                   "UPDATE reminders SET status = 'cancelled', note = 'cancelled by staff', "
                   "updated_at = ? WHERE clinic_id = ? AND id = ? AND status = 'planned'",
                   bind_int(clock_now(n)), bind_int(owner), bind_int(id)) == 0 &&
        store_changes(n->db) == 0) {
        err_set(err, NUDGE_ECONFLICT, "status", "reminder %lld is no longer planned",
                (long long)id);
        r = 0;
    }
    if (r != 1 || audit_add(n, owner, "cancel", "reminder", id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_reminder_find(nudge *n, int64_t clinic_id, int64_t patient_id, const char *subject,
                        nudge_reminder_fn fn, void *ctx, nudge_err *err)
{
    store_stmt *st;
    const char *subj = subject ? subject : "";
    if (store_query(n->db, &st, err,
                    "SELECT " REMINDER_COLS " FROM reminders WHERE clinic_id = ? AND "
                    "(? = 0 OR patient_id = ?) AND (? = '' OR subject = ?) ORDER BY due_at, id",
                    bind_int(clinic_id), bind_int(patient_id), bind_int(patient_id),
                    bind_text(subj), bind_text(subj)) < 0)
        return -1;
    return reminder_rows(st, fn, ctx, err);
}

int nudge_reminder_cancel_where(nudge *n, int64_t clinic_id, int64_t patient_id,
                                const char *subject, int *count, nudge_err *err)
{
    err_clear(err);
    int c = 0;
    if (clinic_id <= 0)
        return err_set(err, NUDGE_EINVAL, "clinic", "a clinic is required");
    if (patient_id <= 0 && nudge_blank(subject))
        return err_set(err, NUDGE_EINVAL, "patient",
                       "name a patient or a subject: cancelling every plan of a clinic is not "
                       "offered");
    /* A subject is KIND:ID (prescription:7): anything else names no plan. */
    if (!nudge_blank(subject)) {
        size_t k = strspn(subject, "abcdefghijklmnopqrstuvwxyz_");
        size_t d = k && subject[k] == ':' ? strspn(subject + k + 1, "0123456789") : 0;
        if (!d || subject[k + 1 + d] || k + 1 + d > 40)
            return err_set(err, NUDGE_EINVAL, "subject",
                           "subject is what a plan is about, such as prescription:7");
    }
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    char detail[96];
    snprintf(detail, sizeof detail, "patient %lld subject %.48s", (long long)patient_id,
             subject ? subject : "");
    /* Audited when something was cancelled: a cancel that finds nothing
     * changes nothing. */
    if (reminder_cancel_where(n, clinic_id, patient_id, subject, "cancelled by staff", &c,
                              err) < 0 ||
        (c > 0 && audit_add(n, clinic_id, "cancel", "reminder", 0, detail, err) < 0)) {
        store_rollback(n->db);
        return -1;
    }
    if (count)
        *count = c;
    return store_commit(n->db, err);
}

int nudge_followup_add(nudge *n, int64_t clinic_id, int64_t patient_id, const char *date,
                       int64_t *id, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    nudge_patient p;
    tz_local day;
    if (reminder_date_parse(date, &day) < 0)
        return err_set(err, NUDGE_EINVAL, "date", "date must be YYYY-MM-DD (got \"%.20s\")",
                       date ? date : "");
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0) {
        if (err->code == NUDGE_ENOTFOUND)
            err_set(err, NUDGE_EINVAL, "patient_id", "no patient %lld", (long long)patient_id);
        return -1;
    }
    if (nudge_clinic_get(n, p.clinic_id, &c, err) < 0)
        return -1;
    int64_t due = reminder_local_at(&c, &p, &day, 0);
    if (due <= clock_now(n))
        return err_set(err, NUDGE_EINVAL, "date", "%s at the patient's time has passed", date);
    char subject[48], detail[48];
    snprintf(subject, sizeof subject, "follow_up:%lld", (long long)p.id);
    snprintf(detail, sizeof detail, "{\"date\": \"%s\"}", date);
    reminder_spec rs = {
        .clinic_id = c.id,
        .patient_id = p.id,
        .kind = "follow_up_visit",
        .template_name = "follow_up_reminder",
        .subject = subject,
        .detail = detail,
        .due_at = due,
    };
    int64_t got = 0;
    if (store_begin_clinic(n->db, c.id, err) < 0)
        return -1;
    if (reminder_plan(n, &rs, &got, err) < 0 ||
        audit_add(n, c.id, "create", "reminder", got, subject, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    if (id)
        *id = got;
    return store_commit(n->db, err);
}

/* What nudge_notify_ready sends, by what is ready. */
static const struct {
    const char *what, *template_name;
    int needs_test;
} reminder_ready[] = {
    {"prescription", "prescription_ready", 0},
    {"results", "test_results_ready", 1},
};

int nudge_notify_ready(nudge *n, int64_t clinic_id, int64_t patient_id, const char *what,
                       const char *test_name, int64_t *id, nudge_err *err)
{
    err_clear(err);
    /* Checked whatever is ready: a test's name goes into the message. */
    if (test_name && (!text_ok(test_name) || strlen(test_name) > 128))
        return err_set(err, NUDGE_EINVAL, "test_name",
                       "test_name must be UTF-8 text without control characters, at most 128 "
                       "bytes");
    for (size_t i = 0; i < sizeof reminder_ready / sizeof reminder_ready[0]; i++) {
        if (!what || strcmp(what, reminder_ready[i].what))
            continue;
        if (reminder_ready[i].needs_test && nudge_blank(test_name))
            return err_set(err, NUDGE_EINVAL, "test_name", "test_name is required for results");
        nudge_vars v = {0};
        if (!nudge_blank(test_name))
            nudge_vars_set(&v, "test_name", test_name);
        nudge_send s = {
            .patient_id = patient_id,
            .template_name = reminder_ready[i].template_name,
            .priority = NUDGE_NORMAL,
            .vars = &v,
        };
        int rc = nudge_enqueue(n, clinic_id, &s, id, NULL, err);
        nudge_vars_free(&v);
        return rc;
    }
    return err_set(err, NUDGE_EINVAL, "what", "what is ready must be prescription or results "
                   "(got \"%.20s\")", what ? what : "");
}
