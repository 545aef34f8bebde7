/*
 * recall.c: preventive-care recalls (issue 9). Owns recall_rules and
 * recalls. A rule says "a recall N days after a completed visit of this
 * service, re-sent after these cadence steps"; completing a visit
 * (appointment.c calls recall_on_complete in its transaction) makes the
 * patient's recall, dated in their zone and sent at their preferred time.
 * Booking a visit holds every open recall of the patient (recall_on_booking:
 * booked_by, its planned message cancelled); cancelling that visit resumes
 * them (recall_on_cancel). recall_scan, run by the tick, plans each open
 * recall's next send a little ahead of its time as a reminder (kind recall,
 * subject recall:<id>, occurrence the send's number, so a scan run twice
 * plans nothing twice) after checking, at that moment, that the patient
 * has no future visit and has not opted out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "record.h"
#include "tz.h"
#include "util.h"

/* A send is planned this long before it is due, so an hourly scan is
 * always ahead of it and the planner sends it on time. */
#define RECALL_LOOKAHEAD (2 * 3600)
#define RECALL_MAX_STEPS 8

/* "14,28" into ascending day offsets after the first send; count or -1. */
static int recall_cadence(const char *s, int *steps, nudge_err *err)
{
    int k = 0;
    const char *p = s ? s : "";
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 365 || k == RECALL_MAX_STEPS ||
            (k && v <= steps[k - 1]) || (*end && *end != ','))
            return err_set(err, NUDGE_EINVAL, "cadence",
                           "cadence is up to %d ascending day counts, 1 to 365, separated by "
                           "commas (\"14,28\"; got \"%.40s\")",
                           RECALL_MAX_STEPS, s);
        steps[k++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return k;
}

int nudge_recall_rule_add(nudge *n, nudge_recall_rule *r, nudge_err *err)
{
    err_clear(err);
    int steps[RECALL_MAX_STEPS];
    nudge_clinic c;
    if (record_check_text(nudge_recall_rule_fields, r, err) < 0)
        return -1;
    if (nudge_blank(r->service))
        return err_set(err, NUDGE_EINVAL, "service", "service is required");
    if (r->after_days < 1 || r->after_days > 3660)
        return err_set(err, NUDGE_EINVAL, "after_days",
                       "after_days must be 1 to 3660 (got %d)", r->after_days);
    char ch[sizeof r->channels];
    if (recall_cadence(r->cadence, steps, err) < 0 ||
        reminder_channels(r->channels, ch, sizeof ch, "channels", err) < 0)
        return -1;
    str_copy(r->channels, sizeof r->channels, ch);
    if (nudge_blank(r->template_name))
        str_copy(r->template_name, sizeof r->template_name, "preventive_care_annual");
    if (nudge_clinic_get(n, r->clinic_id, &c, err) < 0)
        return -1;
    /* The template must exist now, not fail at the first send months later. */
    nudge_template t;
    if (nudge_template_get(n, c.id, r->template_name, c.language, &t, err) < 0) {
        err->code = NUDGE_EINVAL;
        str_copy(err->field, sizeof err->field, "template");
        return -1;
    }
    nudge_template_free(&t);
    r->active = 1;
    r->created_at = clock_now(n);
    if (store_begin_clinic(n->db, c.id, err) < 0)
        return -1;
    if (store_scalar(n->db, &r->id, err,
                     "INSERT INTO recall_rules (clinic_id, service, after_days, cadence, "
                     "template, channels, active, created_at) VALUES (?,?,?,?,?,?,1,?) "
                     "RETURNING id",
                     bind_int(r->clinic_id), bind_text(r->service), bind_int(r->after_days),
                     bind_text(r->cadence), bind_text(r->template_name),
                     bind_text_or_null(r->channels), bind_int(r->created_at)) != 1 ||
        audit_add(n, r->clinic_id, "create", "recall_rule", r->id, r->service, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

#define RULE_COLS                                                                              \
    "id, clinic_id, service, after_days, cadence, template, active, created_at, channels"

static void recall_rule_row(store_stmt *st, nudge_recall_rule *r)
{
    memset(r, 0, sizeof *r);
    r->id = store_int(st, 0);
    r->clinic_id = store_int(st, 1);
    store_copy(st, 2, r->service, sizeof r->service);
    r->after_days = (int)store_int(st, 3);
    store_copy(st, 4, r->cadence, sizeof r->cadence);
    store_copy(st, 5, r->template_name, sizeof r->template_name);
    r->active = (int)store_int(st, 6);
    r->created_at = store_int(st, 7);
    store_copy(st, 8, r->channels, sizeof r->channels);
}

int nudge_recall_rule_list(nudge *n, int64_t clinic_id, nudge_recall_rule_fn fn, void *ctx,
                           nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RULE_COLS " FROM recall_rules WHERE clinic_id = ? ORDER BY id",
                    bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_recall_rule rule;
        recall_rule_row(st, &rule);
        if (fn(ctx, &rule))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

static int recall_rule_get(nudge *n, int64_t clinic_id, int64_t id, nudge_recall_rule *r,
                           nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RULE_COLS " FROM recall_rules WHERE clinic_id = ? AND id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int rc = store_next(st, err);
    if (rc == 1)
        recall_rule_row(st, r);
    store_done(st);
    if (rc == 0)
        return err_set(err, NUDGE_ENOTFOUND, "rule", "no recall rule %lld", (long long)id);
    return rc < 0 ? -1 : 0;
}

#define RECALL_COLS                                                                            \
    "id, clinic_id, patient_id, rule_id, appointment_id, due_on, next_at, sends, status, "    \
    "booked_by, updated_at"

static void recall_row(store_stmt *st, nudge_recall *r)
{
    memset(r, 0, sizeof *r);
    r->id = store_int(st, 0);
    r->clinic_id = store_int(st, 1);
    r->patient_id = store_int(st, 2);
    r->rule_id = store_int(st, 3);
    r->appointment_id = store_int(st, 4);
    store_copy(st, 5, r->due_on, sizeof r->due_on);
    r->next_at = store_int(st, 6);
    r->sends = (int)store_int(st, 7);
    store_copy(st, 8, r->status, sizeof r->status);
    r->booked_by = store_int(st, 9);
    r->updated_at = store_int(st, 10);
}

/* Up to max of a clinic's patient's recalls in a status: count or -1. */
static int recall_ids(nudge *n, int64_t clinic_id, int64_t patient_id, const char *status,
                      int64_t booked_by, int64_t *ids, int max, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id FROM recalls WHERE clinic_id = ? AND patient_id = ? AND "
                    "status = ? AND (? = 0 OR booked_by = ?) ORDER BY id",
                    bind_int(clinic_id), bind_int(patient_id), bind_text(status),
                    bind_int(booked_by), bind_int(booked_by)) < 0)
        return -1;
    int k = 0, r;
    while ((r = store_next(st, err)) == 1 && k < max)
        ids[k++] = store_int(st, 0);
    store_done(st);
    return r < 0 ? -1 : k;
}

/* Moves one recall to status (booked_by for "booked"), cancelling its
 * planned send when it stops being open. */
static int recall_move(nudge *n, int64_t clinic_id, int64_t id, const char *status,
                       int64_t booked_by, const char *why, nudge_err *err)
{
    char subject[48];
    snprintf(subject, sizeof subject, "recall:%lld", (long long)id);
    if (store_exec(n->db, err,
                   "UPDATE recalls SET status = ?, booked_by = ?, updated_at = ? WHERE "
                   "clinic_id = ? AND id = ?",
                   bind_text(status), bind_int_or_null(booked_by), bind_int(clock_now(n)),
                   bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    return strcmp(status, "open")
               ? reminder_cancel_where(n, clinic_id, 0, subject, why, NULL, err)
               : 0;
}

int recall_on_complete(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                       nudge_err *err)
{
    store_stmt *st;
    nudge_recall_rule rules[16];
    int nr = 0, r;
    if (store_query(n->db, &st, err,
                    "SELECT " RULE_COLS " FROM recall_rules WHERE clinic_id = ? AND active = 1 "
                    "ORDER BY id",
                    bind_int(c->id)) < 0)
        return -1;
    while ((r = store_next(st, err)) == 1 && nr < 16) {
        recall_rule_row(st, &rules[nr]);
        /* Compared in C: the engines' lower() differ beyond ASCII. */
        if (!strcasecmp(rules[nr].service, a->service))
            nr++;
    }
    store_done(st);
    if (r < 0)
        return -1;
    if (!nr)
        return 0;
    nudge_patient p;
    if (nudge_patient_get(n, c->id, a->patient_id, &p, err) < 0)
        return -1;
    int64_t now = clock_now(n);
    tz_local visit;
    tz_to_local(a->start_at, reminder_zone(c, &p), &visit);
    for (int i = 0; i < nr; i++) {
        /* The new visit answers the previous recall of this rule. */
        if (store_query(n->db, &st, err,
                        "SELECT id FROM recalls WHERE clinic_id = ? AND patient_id = ? AND "
                        "rule_id = ? AND status IN ('open', 'booked')",
                        bind_int(c->id), bind_int(p.id), bind_int(rules[i].id)) < 0)
            return -1;
        int64_t old[32];
        int no = 0;
        while ((r = store_next(st, err)) == 1 && no < 32)
            old[no++] = store_int(st, 0);
        store_done(st);
        if (r < 0)
            return -1;
        for (int k = 0; k < no; k++)
            if (recall_move(n, c->id, old[k], "closed", 0, "a newer visit was completed", err) < 0)
                return -1;
        char due_on[11];
        reminder_date_text(&visit, rules[i].after_days, due_on, sizeof due_on);
        int64_t id;
        if (store_scalar(n->db, &id, err,
                         "INSERT INTO recalls (clinic_id, patient_id, rule_id, appointment_id, "
                         "due_on, next_at, status, created_at, updated_at) "
                         "VALUES (?,?,?,?,?,?,'open',?,?) RETURNING id",
                         bind_int(c->id), bind_int(p.id), bind_int(rules[i].id), bind_int(a->id),
                         bind_text(due_on),
                         bind_int(reminder_local_at(c, &p, &visit, rules[i].after_days)),
                         bind_int(now), bind_int(now)) != 1)
            return -1;
    }
    return 0;
}

int recall_on_booking(nudge *n, const nudge_appointment *a, nudge_err *err)
{
    int64_t ids[64];
    int k = recall_ids(n, a->clinic_id, a->patient_id, "open", 0, ids, 64, err);
    for (int i = 0; i < k; i++)
        if (recall_move(n, a->clinic_id, ids[i], "booked", a->id, "a visit was booked", err) < 0)
            return -1;
    return k < 0 ? -1 : 0;
}

int recall_on_cancel(nudge *n, const nudge_appointment *a, nudge_err *err)
{
    int64_t ids[64];
    int k = recall_ids(n, a->clinic_id, a->patient_id, "booked", a->id, ids, 64, err);
    int64_t now = clock_now(n);
    for (int i = 0; i < k; i++) {
        /* A send whose time passed while it was held goes at once; the
         * scan plans it. */
        if (store_exec(n->db, err,
                       "UPDATE recalls SET status = 'open', booked_by = NULL, next_at = CASE "
                       "WHEN next_at < ? THEN ? ELSE next_at END, updated_at = ? WHERE "
                       "clinic_id = ? AND id = ?",
                       bind_int(now), bind_int(now), bind_int(now), bind_int(a->clinic_id),
                       bind_int(ids[i])) < 0)
            return -1;
    }
    return k < 0 ? -1 : 0;
}

/* One recall whose send is near: hold it, close it, or plan the send and
 * step to the next. In the caller's transaction. */
static int recall_step(nudge *n, const void *item, int64_t now, nudge_err *err)
{
    const nudge_recall *rc = item;
    nudge_clinic c;
    nudge_patient p;
    nudge_recall_rule rule;
    int steps[RECALL_MAX_STEPS];
    if (nudge_clinic_get(n, rc->clinic_id, &c, err) < 0 ||
        nudge_patient_get(n, rc->clinic_id, rc->patient_id, &p, err) < 0 ||
        recall_rule_get(n, rc->clinic_id, rc->rule_id, &rule, err) < 0)
        return -1;
    if (p.opt_outs & NUDGE_OPTOUT_REMINDERS)
        return recall_move(n, c.id, rc->id, "opted_out", 0, "patient opted out", err);
    int64_t appt, start;
    int r = appointment_next(n, p.clinic_id, p.id, now, &appt, &start, err);
    if (r < 0)
        return -1;
    if (r == 1)
        return recall_move(n, c.id, rc->id, "booked", appt, "a visit is booked", err);
    int nsteps = recall_cadence(rule.cadence, steps, err);
    if (nsteps < 0)
        return -1;
    char subject[48], occurrence[16], detail[64];
    snprintf(subject, sizeof subject, "recall:%lld", (long long)rc->id);
    snprintf(occurrence, sizeof occurrence, "%d", rc->sends + 1);
    snprintf(detail, sizeof detail, "{\"due_date\": \"%s\"}", rc->due_on);
    reminder_spec rs = {
        .clinic_id = c.id,
        .patient_id = p.id,
        .kind = "recall",
        .template_name = rule.template_name,
        .subject = subject,
        .occurrence = occurrence,
        .detail = detail,
        .channels = rule.channels,
        .due_at = rc->next_at,
    };
    if (reminder_plan(n, &rs, NULL, err) < 0)
        return -1;
    if (rc->sends >= nsteps) /* that was the last */
        return store_exec(n->db, err,
                          "UPDATE recalls SET sends = sends + 1, status = 'done', updated_at = ? "
                          "WHERE clinic_id = ? AND id = ?",
                          bind_int(now), bind_int(c.id), bind_int(rc->id));
    tz_local due;
    reminder_date_parse(rc->due_on, &due);
    return store_exec(n->db, err,
                      "UPDATE recalls SET sends = sends + 1, next_at = ?, updated_at = ? "
                      "WHERE clinic_id = ? AND id = ?",
                      bind_int(reminder_local_at(&c, &p, &due, steps[rc->sends])), bind_int(now),
                      bind_int(c.id), bind_int(rc->id));
}

int recall_scan(nudge *n, int64_t now, nudge_err *err)
{
    for (;;) {
        /* A deliberate cross-clinic scan: every clinic's recalls near due. */
        store_stmt *st;
        nudge_recall batch[64];
        int nb = 0, r;
        if (store_query(n->db, &st, err,
                        "SELECT " RECALL_COLS " FROM recalls WHERE status = 'open' AND "
                        "next_at <= ? ORDER BY next_at, id LIMIT 64",
                        bind_int(now + RECALL_LOOKAHEAD)) < 0)
            return -1;
        while ((r = store_next(st, err)) == 1)
            recall_row(st, &batch[nb++]);
        store_done(st);
        if (r < 0)
            return -1;
        if (reminder_each(n, batch, sizeof batch[0], nb, now, recall_step, err) < 0)
            return -1;
        if (nb < 64)
            return 0;
    }
}

int nudge_recall_list(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_recall_fn fn,
                      void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECALL_COLS " FROM recalls WHERE clinic_id = ? AND "
                    "(? = 0 OR patient_id = ?) ORDER BY id DESC",
                    bind_int(clinic_id), bind_int(patient_id), bind_int(patient_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_recall rc;
        recall_row(st, &rc);
        if (fn(ctx, &rc))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_recall_close(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    int64_t open = 0;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    int r = store_scalar(n->db, &open, err,
                         "SELECT COUNT(*) FROM recalls WHERE clinic_id = ? AND id = ? AND "
                         "status IN ('open', 'booked')",
                         bind_int(clinic_id), bind_int(id));
    if (r == 1 && !open)
        r = err_set(err, NUDGE_ENOTFOUND, "recall", "no open recall %lld", (long long)id);
    if (r < 0 || recall_move(n, clinic_id, id, "closed", 0, "closed by staff", err) < 0 ||
        audit_add(n, clinic_id, "close", "recall", id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}
