/*
 * lab.c: lab tests due on a date (issue 9). Owns lab_orders. An order is
 * reminded on its due day at the patient's preferred time, then every
 * repeat_days while it is not marked done ("overdue"). lab_scan, run by
 * the tick, plans each order's next reminder a little ahead of its time
 * (kind lab_due, subject lab:<id>, occurrence the send's number: a scan run
 * twice plans nothing twice); marking it done cancels what is planned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tz.h"
#include "util.h"

#define LAB_LOOKAHEAD (2 * 3600)
/* An order is reminded at most this many times: a test never marked done
 * must not be nagged about for ever. */
#define LAB_MAX_SENDS 12

int nudge_lab_add(nudge *n, nudge_lab_order *o, nudge_err *err)
{
    err_clear(err);
    nudge_patient p;
    nudge_clinic c;
    tz_local due;
    if (nudge_blank(o->test_name))
        return err_set(err, NUDGE_EINVAL, "test_name", "test_name is required");
    if (!text_ok(o->test_name))
        return err_set(err, NUDGE_EINVAL, "test_name",
                       "test_name must be UTF-8 text without control characters");
    if (reminder_date_parse(o->due_on, &due) < 0)
        return err_set(err, NUDGE_EINVAL, "due_on", "due_on must be a date YYYY-MM-DD (got \"%.20s\")",
                       o->due_on);
    char ch[sizeof o->channels];
    if (reminder_channels(o->channels, ch, sizeof ch, "channels", err) < 0)
        return -1;
    str_copy(o->channels, sizeof o->channels, ch);
    if (o->repeat_days < 0 || o->repeat_days > 365)
        return err_set(err, NUDGE_EINVAL, "repeat_days", "repeat_days must be 0 to 365 (got %d)",
                       o->repeat_days);
    if (nudge_patient_get(n, o->clinic_id, o->patient_id, &p, err) < 0) {
        if (err->code == NUDGE_ENOTFOUND)
            err_set(err, NUDGE_EINVAL, "patient_id", "no patient %lld", (long long)o->patient_id);
        return -1;
    }
    if (nudge_clinic_get(n, p.clinic_id, &c, err) < 0 ||
        reminder_channels_reach(&p, o->channels, "channels", err) < 0)
        return -1;
    int64_t now = clock_now(n);
    o->clinic_id = c.id;
    o->next_at = reminder_local_at(&c, &p, &due, 0);
    o->sends = 0;
    str_copy(o->status, sizeof o->status, "due");
    if (store_begin_clinic(n->db, o->clinic_id, err) < 0)
        return -1;
    if (store_scalar(n->db, &o->id, err,
                     "INSERT INTO lab_orders (clinic_id, patient_id, test_name, due_on, "
                     "repeat_days, channels, next_at, status, created_at, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,'due',?,?) RETURNING id",
                     bind_int(c.id), bind_int(p.id), bind_text(o->test_name), bind_text(o->due_on),
                     bind_int(o->repeat_days), bind_text_or_null(o->channels),
                     bind_int(o->next_at), bind_int(now), bind_int(now)) != 1 ||
        audit_add(n, c.id, "create", "lab_order", o->id, o->test_name, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

#define LAB_COLS                                                                               \
    "id, clinic_id, patient_id, test_name, due_on, repeat_days, status, sends, next_at, channels"

static void lab_row(store_stmt *st, nudge_lab_order *o)
{
    memset(o, 0, sizeof *o);
    o->id = store_int(st, 0);
    o->clinic_id = store_int(st, 1);
    o->patient_id = store_int(st, 2);
    store_copy(st, 3, o->test_name, sizeof o->test_name);
    store_copy(st, 4, o->due_on, sizeof o->due_on);
    o->repeat_days = (int)store_int(st, 5);
    store_copy(st, 6, o->status, sizeof o->status);
    o->sends = (int)store_int(st, 7);
    o->next_at = store_int(st, 8);
    store_copy(st, 9, o->channels, sizeof o->channels);
}

int nudge_lab_list(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_lab_fn fn, void *ctx,
                   nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " LAB_COLS " FROM lab_orders WHERE clinic_id = ? AND "
                    "(? = 0 OR patient_id = ?) ORDER BY id DESC",
                    bind_int(clinic_id), bind_int(patient_id), bind_int(patient_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_lab_order o;
        lab_row(st, &o);
        if (fn(ctx, &o))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_lab_done(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    char subject[48];
    snprintf(subject, sizeof subject, "lab:%lld", (long long)id);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "UPDATE lab_orders SET status = 'done', updated_at = ? WHERE clinic_id = ? "
                   "AND id = ? AND status IN ('due', 'reminded')",
                   bind_int(clock_now(n)), bind_int(clinic_id), bind_int(id)) < 0)
        goto fail;
    if (store_changes(n->db) == 0) {
        err_set(err, NUDGE_ENOTFOUND, "lab", "no lab order %lld still due", (long long)id);
        goto fail;
    }
    if (reminder_cancel_where(n, clinic_id, 0, subject, "lab test done", NULL, err) < 0 ||
        audit_add(n, clinic_id, "done", "lab_order", id, NULL, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* Plans one order's next reminder and steps to the one after. */
static int lab_step(nudge *n, const void *item, int64_t now, nudge_err *err)
{
    const nudge_lab_order *o = item;
    nudge_clinic c;
    nudge_patient p;
    if (nudge_clinic_get(n, o->clinic_id, &c, err) < 0 ||
        nudge_patient_get(n, o->clinic_id, o->patient_id, &p, err) < 0)
        return -1;
    char subject[48], occurrence[16], detail[256];
    snprintf(subject, sizeof subject, "lab:%lld", (long long)o->id);
    snprintf(occurrence, sizeof occurrence, "%d", o->sends + 1);
    json_t *d = json_pack("{s:s, s:s}", "test_name", o->test_name, "due_date", o->due_on);
    char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!dj)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    str_copy(detail, sizeof detail, dj);
    free(dj);
    reminder_spec rs = {
        .clinic_id = c.id,
        .patient_id = p.id,
        .kind = "lab_due",
        .template_name = "lab_due",
        .subject = subject,
        .occurrence = occurrence,
        .detail = detail,
        .channels = o->channels,
        .due_at = o->next_at,
    };
    if (reminder_plan(n, &rs, NULL, err) < 0)
        return -1;
    int last = !o->repeat_days || o->sends + 1 >= LAB_MAX_SENDS;
    tz_local due;
    reminder_date_parse(o->due_on, &due);
    /* Repeats stay at the preferred time on their own days, DST or not. */
    int64_t next = last ? o->next_at
                        : reminder_local_at(&c, &p, &due, (o->sends + 1) * o->repeat_days);
    return store_exec(n->db, err,
                      "UPDATE lab_orders SET sends = sends + 1, next_at = ?, status = CASE WHEN "
                      "? = 1 THEN 'reminded' ELSE status END, updated_at = ? WHERE "
                      "clinic_id = ? AND id = ?",
                      bind_int(next), bind_int(last), bind_int(now), bind_int(c.id),
                      bind_int(o->id));
}

int lab_scan(nudge *n, int64_t now, nudge_err *err)
{
    for (;;) {
        /* A deliberate cross-clinic scan: every clinic's orders near due. */
        store_stmt *st;
        nudge_lab_order batch[64];
        int nb = 0, r;
        if (store_query(n->db, &st, err,
                        "SELECT " LAB_COLS " FROM lab_orders WHERE status = 'due' AND "
                        "next_at <= ? ORDER BY next_at, id LIMIT 64",
                        bind_int(now + LAB_LOOKAHEAD)) < 0)
            return -1;
        while ((r = store_next(st, err)) == 1)
            lab_row(st, &batch[nb++]);
        store_done(st);
        if (r < 0)
            return -1;
        if (reminder_each(n, batch, sizeof batch[0], nb, now, lab_step, err) < 0)
            return -1;
        if (nb < 64)
            return 0;
    }
}
