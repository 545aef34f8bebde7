/*
 * reminder.c: plans. A plan says "tell this patient about this appointment
 * at due_at"; it carries no message text, so a reschedule or a template
 * change before it is due is picked up for free. The scheduler turns due
 * plans into notifications. Plans are only ever made inside the transaction
 * that changes the appointment they are about.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "record.h"
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

int reminder_cancel_appointment(nudge *n, int64_t appointment_id, const char *why, nudge_err *err)
{
    int64_t now = clock_now(n);
    if (store_exec(n->db, err,
                   "UPDATE reminders SET status = 'cancelled', note = ?, updated_at = ? "
                   "WHERE appointment_id = ? AND status = 'planned'",
                   bind_text(why), bind_int(now), bind_int(appointment_id)) < 0)
        return -1;
    return queue_cancel_appointment(n, appointment_id, why, err);
}

int reminder_due(nudge *n, int64_t now, nudge_reminder *batch, int max, nudge_err *err)
{
    store_stmt *q;
    if (store_query(n->db, &q, err,
                    "SELECT id, clinic_id, patient_id, appointment_id, kind, template, "
                    "due_at, expires_at FROM reminders WHERE status = 'planned' AND "
                    "due_at <= ? ORDER BY due_at, id LIMIT ?",
                    bind_int(now), bind_int(max)) < 0)
        return -1;
    int nb = 0, r = 0;
    while (nb < max && (r = store_next(q, err)) == 1) {
        nudge_reminder *rm = &batch[nb++];
        memset(rm, 0, sizeof *rm);
        rm->id = store_int(q, 0);
        rm->clinic_id = store_int(q, 1);
        rm->patient_id = store_int(q, 2);
        rm->appointment_id = store_int(q, 3);
        store_copy(q, 4, rm->kind, sizeof rm->kind);
        store_copy(q, 5, rm->template_name, sizeof rm->template_name);
        rm->due_at = store_int(q, 6);
        rm->expires_at = store_int(q, 7);
    }
    store_done(q);
    return r < 0 ? -1 : nb;
}

int reminder_mark(nudge *n, int64_t id, const char *status, int64_t notification_id,
                  const char *note, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE reminders SET status = ?, notification_id = ?, note = ?, "
                      "updated_at = ? WHERE id = ?",
                      bind_text(status), bind_int_or_null(notification_id), bind_text_or_null(note),
                      bind_int(clock_now(n)), bind_int(id));
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
    if (store_begin(n->db, err) < 0)
        return -1;
    int r = store_scalar(n->db, &owner, err,
                         "SELECT clinic_id FROM reminders WHERE id = ? AND (? = 0 OR clinic_id = ?)",
                         bind_int(id), bind_int(clinic_id), bind_int(clinic_id));
    if (r == 0)
        err_set(err, NUDGE_ENOTFOUND, "reminder", "no reminder %lld", (long long)id);
    if (r == 1 &&
        store_exec(n->db, err,
                   "UPDATE reminders SET status = 'cancelled', note = 'cancelled by staff', "
                   "updated_at = ? WHERE id = ? AND status = 'planned'",
                   bind_int(clock_now(n)), bind_int(id)) == 0 &&
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
