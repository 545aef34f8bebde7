/*
 * planner.c: turns due plans into notifications (the task scheduler, when
 * it comes, runs jobs; this turns plans into messages). For each plan that has
 * come due it loads the appointment, patient and clinic as they are now,
 * renders the template in the patient's language and enqueues it under the
 * dedupe key "reminder:<id>", all in one transaction with the plan's own
 * status change, so a crash at any point neither loses nor doubles it.
 * A plan that comes due after the visit has begun expires instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ics.h"
#include "tmpl.h"
#include "tz.h"
#include "util.h"

static int planner_priority(const char *kind, int64_t due, int64_t expires)
{
    /* A dose reminder is only of use at the dose's time, which the
     * clinician's frequency or the patient chose (BD 21:00, HS 22:00): the
     * clinic's quiet hours, which keep its own messages out of the night,
     * must not hold it past its two-hour window, so it goes as urgent. */
    if (!strcmp(kind, "medication"))
        return NUDGE_URGENT;
    if (!strcmp(kind, "reminder") && expires && expires - due <= 3 * 3600)
        return NUDGE_HIGH; /* the last reminder before the visit */
    if (!strcmp(kind, "follow_up") || !strcmp(kind, "no_show"))
        return NUDGE_LOW;
    return NUDGE_NORMAL;
}

/* The variables a plan without a visit carries in its detail, a JSON
 * object of strings ({"test_name": "HbA1c", "due_date": "2027-06-01"}); a
 * date (YYYY-MM-DD under a key ending in "date") is written out in the
 * patient's language as visit dates are. */
static int planner_detail_vars(const nudge_clinic *c, const nudge_patient *p,
                               const nudge_reminder *rm, nudge_vars *v, nudge_err *err)
{
    if (rm->detail[0] != '{')
        return 0;
    json_t *d = json_loads(rm->detail, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return err_set(err, NUDGE_EINVAL, "detail", "the plan's detail is not a JSON object");
    }
    const char *key;
    json_t *val;
    const char *lang = p->language[0] ? p->language : c->language;
    json_object_foreach(d, key, val)
    {
        const char *s = json_string_value(val);
        size_t kl = strlen(key);
        tz_local day;
        if (!s)
            continue;
        if (kl >= 4 && !strcmp(key + kl - 4, "date") && reminder_date_parse(s, &day) == 0) {
            char buf[64];
            int64_t t;
            tz_from_local(&day, "UTC", &t);
            tz_format_date(t, "UTC", lang, buf, sizeof buf);
            nudge_vars_set(v, key, buf);
        } else {
            nudge_vars_set(v, key, s);
        }
    }
    json_decref(d);
    return 0;
}

/* The channels a plan goes on: its own list ("sms,email": one logical
 * reminder, one delivery per channel), else the patient's reminder
 * channels, else the clinic's (those of them that reach the patient: a
 * clinic's "both" is not a patient's missing email), or, when none is
 * set, the one the patient's routing picks (0). Returns the count. */
static int planner_channels(const nudge_reminder *rm, const nudge_patient *p,
                            const nudge_clinic *c, char ch[3][16])
{
    int k = 0, own = rm->channels[0] || p->reminder_channels[0];
    const char *s = rm->channels[0] ? rm->channels : own ? p->reminder_channels
                                                         : c->reminder_channels;
    while (*s && k < 3) {
        size_t l = strcspn(s, ",");
        snprintf(ch[k], 16, "%.*s", (int)(l < 15 ? l : 15), s);
        int reach = !strcmp(ch[k], "email") ? p->email[0] != 0 : p->phone[0] != 0;
        k += own || reach;
        s += l + (s[l] == ',');
    }
    return own || k > 1 ? k : 0;
}

/* One plan, inside the transaction of its clinic planner_run holds.
 * Returns 1 enqueued, 2 expired, 3 failed (recorded on the plan), -1 store
 * error (the caller rolls the transaction back). */
static int planner_one(nudge *n, const nudge_reminder *rm, int64_t now, nudge_err *err)
{
    nudge_appointment a;
    nudge_patient p;
    nudge_clinic c;
    queue_msg q[3];
    memset(q, 0, sizeof q);
    nudge_err why = {0};
    nudge_vars vars = {0};
    char ch[3][16];
    int nq = 0, built = 0;
    int rc = -1;
    /* A plan about a visit reads the visit; the others (a medication
     * dose...) carry what they are about in subject and detail. */
    const nudge_appointment *ap = rm->appointment_id ? &a : NULL;

    if ((ap && nudge_appointment_get(n, rm->clinic_id, rm->appointment_id, &a, err) < 0) ||
        nudge_patient_get(n, rm->clinic_id, rm->patient_id, &p, err) < 0 ||
        nudge_clinic_get(n, rm->clinic_id, &c, err) < 0)
        goto out;
    nq = planner_channels(rm, &p, &c, ch);
    if (rm->expires_at && rm->expires_at <= now) {
        if (reminder_mark(n, rm->clinic_id, rm->id, "expired", 0,
                          ap ? "came due after the visit began" : "came due after it expired",
                          err) < 0)
            goto out;
        rc = 2;
        goto out;
    }
    int bad = (!strcmp(rm->kind, "medication")
                   ? prescription_dose_vars(n, &c, &p, rm, &vars, &why)
                   : planner_detail_vars(&c, &p, rm, &vars, &why)) < 0;
    /* Every delivery is built before any is queued: a plan goes on all
     * its channels or, failing one, on none. */
    for (int i = 0; !bad && i < (nq ? nq : 1); i++) {
        bad = queue_build(n, &c, &p, ap, rm->template_name, nq ? ch[i] : NULL, &vars, &q[i],
                          &why) < 0;
        built += !bad; /* a failed build frees its own */
        /* Email confirmations carry the visit as a calendar invitation; a
         * reschedule's carries a higher SEQUENCE, so calendars update it. */
        if (!bad && ap && !strcmp(q[i].it.channel, "email") &&
            !strcmp(rm->kind, "confirmation"))
            bad = queue_build_invite(&q[i], &c, &a, &p, ICS_REQUEST, (int)a.version - 1, now,
                                     &why) < 0;
    }
    if (bad) {
        if (why.code == NUDGE_ESTORE) {
            *err = why;
            goto out;
        }
        /* The plan cannot become a message (a clinic template needs a
         * variable we do not have): record why, for staff to see. */
        if (reminder_mark(n, rm->clinic_id, rm->id, "failed", 0, why.msg, err) < 0 ||
            audit_add(n, c.id, "fail", "reminder", rm->id, why.msg, err) < 0)
            goto out;
        rc = 3;
        goto out;
    }
    int64_t first = 0;
    for (int i = 0; i < built; i++) {
        char key[64];
        if (nq)
            snprintf(key, sizeof key, "reminder:%lld:%s", (long long)rm->id, ch[i]);
        else
            snprintf(key, sizeof key, "reminder:%lld", (long long)rm->id);
        q[i].it.reminder_id = rm->id;
        q[i].it.priority = planner_priority(rm->kind, rm->due_at, rm->expires_at);
        q[i].it.due_at = rm->due_at;
        q[i].it.expires_at = rm->expires_at;
        q[i].it.dedupe_key = key;
        int64_t id;
        int created;
        if (queue_insert(n, &q[i].it, &id, &created, err) < 0)
            goto out;
        if (!first)
            first = id;
    }
    if (reminder_mark(n, rm->clinic_id, rm->id, "enqueued", first, NULL, err) < 0)
        goto out;
    rc = 1;
out:
    for (int i = 0; i < built; i++)
        queue_msg_free(&q[i]);
    nudge_vars_free(&vars);
    return rc;
}

/* The plans at[0..k) of batch, all of one clinic, in one transaction of
 * that clinic (its lock, as a single plan's took). 0, or -1 with the
 * transaction rolled back. */
static int planner_tx(nudge *n, const nudge_reminder *batch, const size_t *at, size_t k,
                      int64_t now, nudge_tick_stats *st, nudge_err *err)
{
    int rc = 0, enqueued = 0, expired = 0;
    if (store_begin_clinic(n->db, batch[at[0]].clinic_id, err) < 0)
        return -1;
    for (size_t j = 0; j < k && rc >= 0; j++) {
        rc = planner_one(n, &batch[at[j]], now, err);
        enqueued += rc == 1;
        expired += rc == 2;
    }
    if (rc < 0) {
        store_rollback(n->db);
        return -1;
    }
    if (store_commit(n->db, err) < 0)
        return -1;
    st->planned_enqueued += enqueued;
    st->expired += expired;
    return 0;
}

/* Read a batch of due plans, then run each clinic's plans of it in one
 * transaction of that clinic, the clinics in the order their first plan
 * came due. One commit a clinic and batch, not one a plan: 50,000
 * reminders due at 09:00 were 50,000 commits, each waiting for its fsync,
 * before the first could be sent (bench/plan.c: 20,000 due at once took
 * 8.5-11.4 s, now 0.73 s). A plan that cannot become a message is marked
 * failed and the others go on. When the store refuses the transaction,
 * its plans are run again one a transaction, as before batching: those
 * before the refused one go, it and the rest stay planned for the next
 * tick, and the tick fails with its error. A step is one batch, so a
 * tick can send the first of a burst before the last is planned
 * (nudge_tick). */
#define PLANNER_BATCH 64

int planner_step(nudge *n, int64_t now, nudge_tick_stats *st, nudge_err *err)
{
    nudge_reminder batch[PLANNER_BATCH];
    size_t at[PLANNER_BATCH];
    char done[PLANNER_BATCH] = {0};
    int nb = reminder_due(n, now, batch, PLANNER_BATCH, err);
    if (nb < 0)
        return -1;
    for (int i = 0; i < nb; i++) {
        if (done[i])
            continue;
        size_t k = ids_group(batch, (size_t)nb, sizeof *batch, offsetof(nudge_reminder, clinic_id),
                             done, (size_t)i, at);
        if (planner_tx(n, batch, at, k, now, st, err) == 0)
            continue;
        for (size_t j = 0; j < k; j++)
            if (planner_tx(n, batch, at + j, 1, now, st, err) < 0)
                return -1;
        err_clear(err); /* each went alone: what refused them all has passed */
    }
    return nb == PLANNER_BATCH;
}

int planner_run(nudge *n, int64_t now, int max_batches, nudge_tick_stats *st, nudge_err *err)
{
    int rc = 1;
    for (int b = 0; rc == 1 && (max_batches <= 0 || b < max_batches); b++)
        rc = planner_step(n, now, st, err);
    return rc;
}
