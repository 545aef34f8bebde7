/*
 * scheduler.c: turns due plans into notifications. For each plan that has
 * come due it loads the appointment, patient and clinic as they are now,
 * renders the template in the patient's language and enqueues it under the
 * dedupe key "reminder:<id>", all in one transaction with the plan's own
 * status change, so a crash at any point neither loses nor doubles it.
 * A plan that comes due after the visit has begun expires instead.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ics.h"
#include "tmpl.h"
#include "util.h"

static int sched_priority(const char *kind, int64_t due, int64_t expires)
{
    if (!strcmp(kind, "reminder") && expires && expires - due <= 3 * 3600)
        return NUDGE_HIGH; /* the last reminder before the visit */
    if (!strcmp(kind, "follow_up") || !strcmp(kind, "no_show"))
        return NUDGE_LOW;
    return NUDGE_NORMAL;
}

static int sched_mark(nudge *n, int64_t id, const char *status, int64_t notification_id,
                      const char *note, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE reminders SET status = ?, notification_id = ?, note = ?, "
                      "updated_at = ? WHERE id = ?",
                      bind_text(status), bind_int_or_null(notification_id), bind_text_or_null(note),
                      bind_int(nudge_now(n)), bind_int(id));
}

/* One plan, in its own transaction. Returns 1 enqueued, 2 expired,
 * 3 failed (recorded on the plan), -1 store error. */
static int sched_one(nudge *n, const nudge_reminder *rm, nudge_err *err)
{
    int64_t now = nudge_now(n);
    nudge_appointment a;
    nudge_patient p;
    nudge_clinic c;
    nudge_template t = {0};
    nudge_vars v = {0};
    nudge_rendered r = {0};
    char *wa = NULL, *ics = NULL, *flow = NULL;
    nudge_err why = {0};
    int rc = -1;

    if (store_begin(n->db, err) < 0)
        return -1;
    if (nudge_appointment_get(n, rm->clinic_id, rm->appointment_id, &a, err) < 0 ||
        nudge_patient_get(n, rm->clinic_id, rm->patient_id, &p, err) < 0 ||
        nudge_clinic_get(n, rm->clinic_id, &c, err) < 0)
        goto out;
    if (rm->expires_at && rm->expires_at <= now) {
        if (sched_mark(n, rm->id, "expired", 0, "came due after the visit began", err) < 0)
            goto out;
        rc = 2;
        goto out;
    }
    const char *channel, *recipient;
    tmpl_patient_vars(n, &c, &p, &a, &v, err);
    if (queue_route(&c, &p, NULL, &channel, &recipient, &why) < 0 ||
        nudge_template_get(n, c.id, rm->template_name, p.language, &t, &why) < 0 ||
        nudge_template_render(&t, channel, &v, &r, &why) < 0 ||
        (!strcmp(channel, "whatsapp") &&
         tmpl_wa_template(n, c.id, t.name, t.language, &v, &wa, &why) < 0) ||
        (!strcmp(channel, "sms") &&
         tmpl_msg91_flow(n, c.id, t.name, t.language, &v, &flow, &why) < 0)) {
        /* The plan cannot become a message (a clinic template needs a
         * variable we do not have): record why, for staff to see. */
        if (sched_mark(n, rm->id, "failed", 0, why.msg, err) < 0 ||
            audit_add(n, c.id, "fail", "reminder", rm->id, why.msg, err) < 0)
            goto out;
        rc = 3;
        goto out;
    }
    /* Email confirmations carry the visit as a calendar invitation; a
     * reschedule's carries a higher SEQUENCE, so calendars update it. */
    if (!strcmp(channel, "email") && !strcmp(rm->kind, "confirmation") &&
        !(ics = ics_invite(&c, &a, p.name, p.email, ICS_REQUEST, (int)a.version - 1, now, &why))) {
        if (sched_mark(n, rm->id, "failed", 0, why.msg, err) < 0)
            goto out;
        rc = 3;
        goto out;
    }
    char key[64];
    snprintf(key, sizeof key, "reminder:%lld", (long long)rm->id);
    queue_item it = {
        .clinic_id = c.id,
        .patient_id = p.id,
        .appointment_id = a.id,
        .reminder_id = rm->id,
        .channel = channel,
        .recipient = recipient,
        .template_name = t.name,
        .language = t.language,
        .category = t.category,
        .subject = r.subject,
        .body = r.body,
        .html = r.html,
        .priority = sched_priority(rm->kind, rm->due_at, rm->expires_at),
        .max_retries = c.max_retries,
        .due_at = rm->due_at,
        .expires_at = rm->expires_at,
        .dedupe_key = key,
        .wa_template = wa,
        .ics = ics,
        .msg91_flow = flow,
        .ics_method = ics ? "REQUEST" : NULL,
    };
    int64_t id;
    int created;
    if (queue_insert(n, &it, &id, &created, err) < 0 ||
        sched_mark(n, rm->id, "enqueued", id, NULL, err) < 0)
        goto out;
    rc = 1;
out:
    if (rc < 0)
        store_rollback(n->db);
    else if (store_commit(n->db, err) < 0)
        rc = -1;
    free(wa);
    free(ics);
    free(flow);
    nudge_rendered_free(&r);
    nudge_template_free(&t);
    nudge_vars_free(&v);
    return rc;
}

int sched_run(nudge *n, nudge_tick_stats *st, nudge_err *err)
{
    int64_t now = nudge_now(n);
    for (;;) {
        /* Read a batch, then handle each plan in its own transaction. */
        nudge_reminder batch[64];
        int nb = 0;
        store_stmt *q;
        if (store_query(n->db, &q, err,
                        "SELECT id, clinic_id, patient_id, appointment_id, kind, template, "
                        "due_at, expires_at FROM reminders WHERE status = 'planned' AND "
                        "due_at <= ? ORDER BY due_at, id LIMIT 64",
                        bind_int(now)) < 0)
            return -1;
        int r;
        while (nb < 64 && (r = store_next(q, err)) == 1) {
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
        if (r < 0)
            return -1;
        for (int i = 0; i < nb; i++) {
            int rc = sched_one(n, &batch[i], err);
            if (rc < 0)
                return -1;
            if (rc == 1)
                st->planned_enqueued++;
            else if (rc == 2)
                st->expired++;
        }
        if (nb < 64)
            return 0;
    }
}

int sched_fallbacks(nudge *n, nudge_err *err)
{
    int64_t now = nudge_now(n);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT q.id FROM notification_queue q JOIN clinics c ON c.id = q.clinic_id "
                    "WHERE q.channel = 'whatsapp' AND q.status = 'sent' AND "
                    "c.whatsapp_fallback = 1 AND c.whatsapp_fallback_after > 0 AND "
                    "q.sent_at <= ? - c.whatsapp_fallback_after * 60 AND NOT EXISTS (SELECT 1 "
                    "FROM notification_queue f WHERE f.fallback_of = q.id) LIMIT 500",
                    bind_int(now)) < 0)
        return -1;
    int64_t ids[500];
    int nids = 0, r = 0;
    while (nids < 500 && (r = store_next(st, err)) == 1)
        ids[nids++] = store_int(st, 0);
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < nids; i++)
        if (queue_fallback(n, ids[i], err) < 0)
            return -1;
    return 0;
}
