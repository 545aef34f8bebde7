/*
 * appointment.c: appointments and their life cycle. Every status change
 * writes its event (appointment.booked, confirmed, cancelled, rescheduled,
 * completed, no_show) and an audit row in the same transaction, and
 * withdraws what the change makes stale there too (a cancelled or moved
 * visit's plans, its calendar entry), so the database never holds a visit
 * and plans that disagree. What is sent because of the change (the
 * confirmation, reminders, follow-ups) is the workflows' (workflow.c),
 * run right after the commit: the booking's plan is what they planned.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>

#include "core.h"
#include "record.h"
#include "ics.h"
#include "util.h"

static int appt_active(const char *status)
{
    return !strcmp(status, "scheduled") || !strcmp(status, "confirmed") ||
           !strcmp(status, "rescheduled");
}

#define APPT_COLS RECORD_APPOINTMENT_COLS

static void appt_row(store_stmt *st, nudge_appointment *a)
{
    memset(a, 0, sizeof *a);
    record_read(st, nudge_appointment_fields, a);
}

int nudge_appointment_get(nudge *n, int64_t clinic_id, int64_t id, nudge_appointment *out,
                          nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " APPT_COLS " FROM appointments WHERE id = ? AND (? = 0 OR "
                    "clinic_id = ?)",
                    bind_int(id), bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        appt_row(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "appointment", "no appointment %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_appointment_list(nudge *n, int64_t clinic_id, int64_t patient_id, const char *status,
                           int64_t after_id, int limit, nudge_appointment_fn fn, void *ctx,
                           nudge_err *err)
{
    nudge_appointment_filter f = {.patient_id = patient_id, .status = status};
    return nudge_appointment_find(n, clinic_id, &f, after_id, limit, fn, ctx, err);
}

int nudge_appointment_find(nudge *n, int64_t clinic_id, const nudge_appointment_filter *f,
                           int64_t after_id, int limit, nudge_appointment_fn fn, void *ctx,
                           nudge_err *err)
{
    const char *status = f->status;
    int64_t patient_id = f->patient_id;
    static const char *const statuses[] = {"scheduled", "confirmed", "completed",
                                           "cancelled", "no-show",   "rescheduled"};
    int known = !status;
    for (size_t i = 0; status && i < sizeof statuses / sizeof *statuses; i++)
        known |= !strcmp(status, statuses[i]);
    if (!known)
        return err_set(err, NUDGE_EINVAL, "status",
                       "status must be scheduled, confirmed, completed, cancelled, no-show or "
                       "rescheduled (got \"%s\")",
                       status);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " APPT_COLS " FROM appointments WHERE (? = 0 OR clinic_id = ?) AND "
                    "(? = 0 OR patient_id = ?) AND (? IS NULL OR status = ?) AND start_at >= ? "
                    "AND start_at < ? AND id > ? ORDER BY id LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(patient_id),
                    bind_int(patient_id), bind_text(status), bind_text(status),
                    bind_int(f->from ? f->from : INT64_MIN), bind_int(f->to ? f->to : INT64_MAX),
                    bind_int(after_id),
                    bind_int(limit > 0 ? limit : 1000)) < 0)
        return -1;
    int r;
    nudge_appointment a;
    while ((r = store_next(st, err)) == 1) {
        appt_row(st, &a);
        if (fn(ctx, &a))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

static json_t *appt_payload(const nudge_appointment *a)
{
    return json_pack("{s:I, s:I, s:I, s:s, s:s}", "appointment_id", (json_int_t)a->id,
                     "patient_id", (json_int_t)a->patient_id, "start_at", (json_int_t)a->start_at,
                     "status", a->status, "service", a->service);
}

int nudge_appointment_add(nudge *n, int64_t clinic_id, nudge_appointment *a, nudge_err *err)
{
    return nudge_appointment_book(n, clinic_id, a, NULL, err);
}

int nudge_appointment_book(nudge *n, int64_t clinic_id, nudge_appointment *a, nudge_plan *plan,
                           nudge_err *err)
{
    err_clear(err);
    if (plan)
        plan->n = 0;
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, a->patient_id, &p, err) < 0)
        return err->code == NUDGE_ENOTFOUND ? err_set(err, NUDGE_EINVAL, "patient",
                                                      "no patient %lld", (long long)a->patient_id)
                                            : -1;
    if (str_blank(a->service))
        return err_set(err, NUDGE_EINVAL, "service", "service is required");
    if (record_check_text(nudge_appointment_fields, a, err) < 0)
        return -1;
    if (a->start_at <= 0)
        return err_set(err, NUDGE_EINVAL, "at", "the appointment time is required");
    if (a->duration_min < 1 || a->duration_min > 24 * 60)
        return err_set(err, NUDGE_EINVAL, "duration", "duration must be 1 to 1440 minutes (got %d)",
                       a->duration_min);
    nudge_clinic c;
    if (nudge_clinic_get(n, p.clinic_id, &c, err) < 0)
        return -1;
    int64_t now = clock_now(n);
    a->clinic_id = p.clinic_id;
    a->created_at = a->updated_at = now;
    strcpy(a->status, "scheduled");
    if (store_begin_clinic(n->db, p.clinic_id, err) < 0)
        return -1;
    if (store_scalar(n->db, &a->id, err,
                   "INSERT INTO appointments (clinic_id, patient_id, service, provider, notes, "
                   "start_at, duration_min, status, created_at, updated_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
                   bind_int(a->clinic_id), bind_int(a->patient_id), bind_text(a->service),
                   bind_text_or_null(a->provider), bind_text_or_null(a->notes),
                   bind_int(a->start_at), bind_int(a->duration_min), bind_text(a->status),
                   bind_int(now), bind_int(now)) != 1)
        goto fail;
    int64_t ev = 0;
    if (event_emit_id(n, a->clinic_id, "appointment.booked", a->id, appt_payload(a), &ev, err) < 0 ||
        (a->start_at > now && recall_on_booking(n, a, err) < 0) ||
        audit_add(n, a->clinic_id, "create", "appointment", a->id, a->service, err) < 0 ||
        store_commit(n->db, err) < 0)
        goto fail;
    workflow_after(n, a->clinic_id, ev, plan);
    return 0;
fail:
    store_rollback(n->db);
    return -1;
}

/* A visit whose invitation reached the patient's calendar is taken out of
 * it: the cancellation goes by email with METHOD:CANCEL and the same UID. */
static int appt_cancel_invite(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                              nudge_err *err)
{
    int sent = 0;
    if (queue_sent_with(n, a->clinic_id, a->id, "invite.method", "REQUEST", &sent, err) < 0)
        return -1;
    nudge_patient p;
    if (!sent || nudge_patient_get(n, a->clinic_id, a->patient_id, &p, err) < 0 || !p.email[0])
        return sent ? -1 : 0;
    queue_msg q;
    if (queue_build(n, c, &p, a, "reply_cancelled", "email", NULL, &q, err) < 0)
        return -1;
    int64_t now = clock_now(n);
    char key[64];
    snprintf(key, sizeof key, "cancel:%lld:%lld", (long long)a->id, (long long)a->version);
    q.it.priority = NUDGE_HIGH;
    q.it.due_at = now;
    q.it.dedupe_key = key;
    int64_t id;
    int created;
    int rc = queue_build_invite(&q, c, a, &p, ICS_CANCEL, (int)a->version, now, err) < 0
                 ? -1
                 : queue_insert(n, &q.it, &id, &created, err);
    queue_msg_free(&q);
    return rc;
}

/* The shared shape of every status change: load in scope, check the
 * transition, write status, event, plans and audit in one transaction. */
enum appt_op { OP_CANCEL, OP_CONFIRM, OP_COMPLETE, OP_NO_SHOW, OP_RESCHEDULE };

static const struct {
    const char *status, *event, *verb;
} appt_ops[] = {
    [OP_CANCEL] = {"cancelled", "appointment.cancelled", "cancel"},
    [OP_CONFIRM] = {"confirmed", "appointment.confirmed", "confirm"},
    [OP_COMPLETE] = {"completed", "appointment.completed", "complete"},
    [OP_NO_SHOW] = {"no-show", "appointment.no_show", "mark as no-show"},
    [OP_RESCHEDULE] = {"rescheduled", "appointment.rescheduled", "reschedule"},
};

static int appt_change(nudge *n, int64_t clinic_id, int64_t id, enum appt_op op, int64_t new_start,
                       nudge_err *err)
{
    err_clear(err);
    int64_t now = clock_now(n);
    if (op == OP_RESCHEDULE && new_start <= now)
        return err_set(err, NUDGE_EINVAL, "at", "the new time must be in the future");
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    nudge_appointment a;
    nudge_clinic c;
    if (nudge_appointment_get(n, clinic_id, id, &a, err) < 0 ||
        nudge_clinic_get(n, a.clinic_id, &c, err) < 0)
        goto fail;
    if (!appt_active(a.status)) {
        err_set(err, NUDGE_ECONFLICT, "status", "cannot %s appointment %lld: it is %s",
                appt_ops[op].verb, (long long)id, a.status);
        goto fail;
    }
    if (op == OP_NO_SHOW && now < a.start_at) {
        err_set(err, NUDGE_ECONFLICT, "status",
                "cannot mark appointment %lld as no-show before it starts", (long long)id);
        goto fail;
    }
    if (op == OP_CONFIRM && !strcmp(a.status, "confirmed"))
        return store_commit(n->db, err); /* a second "C" reply is harmless; nothing written */
    const char *status = appt_ops[op].status;
    if (op == OP_RESCHEDULE)
        a.start_at = new_start;
    if (store_exec(n->db, err,
                   "UPDATE appointments SET status = ?, start_at = ?, version = version + 1, "
                   "updated_at = ? WHERE clinic_id = ? AND id = ?",
                   bind_text(status), bind_int(a.start_at), bind_int(now), bind_int(a.clinic_id),
                   bind_int(a.id)) < 0)
        goto fail;
    snprintf(a.status, sizeof a.status, "%s", status);
    a.updated_at = now;

    int rc = 0;
    switch (op) {
    case OP_CONFIRM: break;
    case OP_CANCEL:
        /* a.version is still the booked one: the cancellation's SEQUENCE is
         * above every invitation sent for it (they used version - 1). */
        rc = reminder_cancel_appointment(n, a.clinic_id, a.id, "appointment cancelled", err);
        if (!rc)
            rc = appt_cancel_invite(n, &c, &a, err);
        if (!rc)
            rc = recall_on_cancel(n, &a, err);
        break;
    case OP_RESCHEDULE:
        rc = reminder_cancel_appointment(n, a.clinic_id, a.id, "appointment rescheduled", err);
        break;
    case OP_COMPLETE:
        rc = reminder_cancel_appointment(n, a.clinic_id, a.id, "appointment completed", err);
        if (!rc)
            rc = patient_visited(n, a.clinic_id, a.patient_id, a.start_at, err);
        if (!rc)
            rc = recall_on_complete(n, &c, &a, err);
        break;
    case OP_NO_SHOW:
        rc = reminder_cancel_appointment(n, a.clinic_id, a.id, "patient did not come", err);
        if (!rc)
            rc = recall_on_cancel(n, &a, err);
        break;
    }
    int64_t ev = 0;
    if (rc < 0 ||
        event_emit_id(n, a.clinic_id, appt_ops[op].event, a.id, appt_payload(&a), &ev, err) < 0 ||
        audit_add(n, a.clinic_id, appt_ops[op].verb, "appointment", a.id, NULL, err) < 0 ||
        store_commit(n->db, err) < 0)
        goto fail;
    workflow_after(n, a.clinic_id, ev, NULL);
    return 0;
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_appointment_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return appt_change(n, clinic_id, id, OP_CANCEL, 0, err);
}

int nudge_appointment_confirm(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return appt_change(n, clinic_id, id, OP_CONFIRM, 0, err);
}

int nudge_appointment_complete(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return appt_change(n, clinic_id, id, OP_COMPLETE, 0, err);
}

int nudge_appointment_no_show(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return appt_change(n, clinic_id, id, OP_NO_SHOW, 0, err);
}

int nudge_appointment_reschedule(nudge *n, int64_t clinic_id, int64_t id, int64_t start_at,
                                 nudge_err *err)
{
    return appt_change(n, clinic_id, id, OP_RESCHEDULE, start_at, err);
}

int nudge_appointment_update(nudge *n, int64_t clinic_id, nudge_appointment *a, int64_t if_version,
                             nudge_err *err)
{
    err_clear(err);
    nudge_appointment old;
    if (str_blank(a->service))
        return err_set(err, NUDGE_EINVAL, "service", "service is required");
    if (record_check_text(nudge_appointment_fields, a, err) < 0)
        return -1;
    if (a->duration_min < 1 || a->duration_min > 24 * 60)
        return err_set(err, NUDGE_EINVAL, "duration",
                       "duration must be 1 to 1440 minutes (got %d)", a->duration_min);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (nudge_appointment_get(n, clinic_id, a->id, &old, err) < 0)
        goto fail;
    if (if_version && old.version != if_version) {
        err_set(err, NUDGE_ECONFLICT, "version",
                "appointment %lld was changed by someone else (version %lld, not %lld)",
                (long long)a->id, (long long)old.version, (long long)if_version);
        goto fail;
    }
    if (store_exec(n->db, err,
                   "UPDATE appointments SET service = ?, provider = ?, notes = ?, "
                   "duration_min = ?, version = version + 1, updated_at = ? WHERE clinic_id = ? "
                   "AND id = ?",
                   bind_text(a->service), bind_text_or_null(a->provider),
                   bind_text_or_null(a->notes), bind_int(a->duration_min),
                   bind_int(clock_now(n)), bind_int(old.clinic_id), bind_int(a->id)) < 0 ||
        audit_add(n, old.clinic_id, "update", "appointment", a->id, NULL, err) < 0 ||
        nudge_appointment_get(n, clinic_id, a->id, a, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int appointment_next(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t now, int64_t *id,
                     int64_t *start_at, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, start_at FROM appointments WHERE clinic_id = ? AND patient_id = ? "
                    "AND start_at > ? AND status IN ('scheduled', 'confirmed', 'rescheduled') "
                    "ORDER BY start_at LIMIT 1",
                    bind_int(clinic_id), bind_int(patient_id), bind_int(now)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        *id = store_int(st, 0);
        *start_at = store_int(st, 1);
    }
    store_done(st);
    return r;
}

/* The statistics' count (workflow.c's nudge_statistics). */
int appointment_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to,
                            int64_t *count, nudge_err *err)
{
    *count = 0;
    return store_scalar(n->db, count, err,
                        "SELECT COUNT(*) FROM appointments WHERE clinic_id = ? AND "
                        "created_at >= ? AND created_at < ?",
                        bind_int(clinic_id), bind_int(from), bind_int(to)) < 0
               ? -1
               : 0;
}
