/*
 * dispatch.c: the sending half of a tick. Claims batches from the queue,
 * applies the policy that must hold at the moment a message leaves (consent
 * by category and channel, quiet hours in the patient's zone, expiry), hands
 * the message to the transport for its channel and records the outcome.
 *
 * Policy is checked here and not only when planning because preferences
 * change between the two: a patient who opts out at 9:00 must not get the
 * 9:05 reminder planned last week.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tz.h"
#include "util.h"

int quiet_contains(int start, int end, int minute)
{
    if (start == end)
        return 0;
    if (start < end)
        return minute >= start && minute < end;
    return minute >= start || minute < end; /* spans midnight */
}

/* The instant quiet hours end, for a local time inside them. */
static int64_t quiet_end_after(int64_t now, const char *tz, int end_min)
{
    tz_local l;
    tz_to_local(now, tz, &l);
    int minute = l.hour * 60 + l.minute;
    tz_local e = l;
    e.hour = end_min / 60;
    e.minute = end_min % 60;
    e.second = 0;
    int64_t t;
    tz_from_local(&e, tz, &t);
    if (minute >= end_min) /* ends tomorrow: step a day in wall time */
    {
        tz_to_local(t + 36 * 3600, tz, &e);
        e.hour = end_min / 60;
        e.minute = end_min % 60;
        e.second = 0;
        tz_from_local(&e, tz, &t);
    }
    return t;
}

static unsigned optout_bit_category(const char *category)
{
    if (!strcmp(category, "reminders"))
        return NUDGE_OPTOUT_REMINDERS;
    if (!strcmp(category, "broadcasts"))
        return NUDGE_OPTOUT_BROADCASTS;
    if (!strcmp(category, "health_tips"))
        return NUDGE_OPTOUT_HEALTH_TIPS;
    if (!strcmp(category, "marketing"))
        return NUDGE_OPTOUT_MARKETING;
    return 0; /* transactional: a confirmation of what they booked */
}

static unsigned optout_bit_channel(const char *channel)
{
    if (!strcmp(channel, "sms"))
        return NUDGE_OPTOUT_SMS;
    if (!strcmp(channel, "whatsapp"))
        return NUDGE_OPTOUT_WHATSAPP;
    return NUDGE_OPTOUT_EMAIL;
}

static void dispatch_notify(nudge *n, const nudge_notification *m, const char *what)
{
    if (n->on_sent)
        n->on_sent(n->on_sent_ctx, m, what);
}

/* One claimed notification. Errors of the store abort the tick; everything
 * else is an outcome recorded on the row. */
static int dispatch_one(nudge *n, int64_t id, nudge_tick_stats *st, nudge_err *err)
{
    nudge_notification m;
    nudge_clinic c;
    nudge_patient p;
    int rc = -1;
    if (queue_load(n, id, &m, err) < 0)
        return -1;
    if (nudge_clinic_get(n, m.clinic_id, &c, err) < 0)
        goto out;
    int have_patient = m.patient_id && nudge_patient_get(n, m.clinic_id, m.patient_id, &p, err) == 0;
    int64_t now = nudge_now(n);

    if (have_patient) {
        unsigned cat = optout_bit_category(m.category);
        const char *why = NULL;
        if (cat && (p.opt_outs & cat))
            why = "patient opted out of this kind of message";
        else if (p.opt_outs & optout_bit_channel(m.channel))
            why = "patient opted out of this channel";
        if (why) {
            rc = queue_drop(n, &m, "cancelled", why, err);
            dispatch_notify(n, &m, "opted-out");
            goto out;
        }
    }
    const char *tz = have_patient && p.timezone[0] ? p.timezone : c.timezone;
    tz_local l;
    tz_to_local(now, tz, &l);
    if (m.priority < NUDGE_URGENT &&
        quiet_contains(c.quiet_start, c.quiet_end, l.hour * 60 + l.minute)) {
        int64_t until = quiet_end_after(now, tz, c.quiet_end);
        if (m.expires_at && until >= m.expires_at) {
            rc = queue_drop(n, &m, "cancelled", "quiet hours last until the visit", err);
            dispatch_notify(n, &m, "expired");
        } else {
            rc = queue_defer(n, m.id, until, "deferred: quiet hours", err);
            st->deferred++;
            dispatch_notify(n, &m, "deferred");
        }
        goto out;
    }

    channel *ch = !strcmp(m.channel, "email") && n->email ? n->email : n->outbox;
    channel_msg cm = {
        .id = m.id,
        .clinic_id = m.clinic_id,
        .channel = m.channel,
        .to = m.recipient,
        .from_name = c.name,
        .reply_to = c.email[0] ? c.email : NULL,
        .subject = m.subject,
        .text = m.body,
        .html = m.html,
        .language = m.language,
        .template_name = m.template_name,
        .now = now,
    };
    channel_outcome o;
    memset(&o, 0, sizeof o);
    if (ch->send(ch, &cm, &o) < 0) {
        o.result = CHANNEL_TRANSIENT;
        str_copy(o.detail, sizeof o.detail, "transport failed");
    }
    int retried;
    rc = queue_record(n, &m, ch->name, &o, &retried, err);
    if (rc < 0 && err->code == NUDGE_ECONFLICT) {
        rc = 0; /* lost the lease meanwhile: the new holder owns the row */
        goto out;
    }
    if (rc == 0) {
        m.attempts++;
        if (o.result == CHANNEL_SENT) {
            st->sent++;
            str_copy(m.provider_id, sizeof m.provider_id, o.provider_id);
            dispatch_notify(n, &m, "sent");
        } else if (retried) {
            st->retried++;
            str_copy(m.last_error, sizeof m.last_error, o.detail);
            dispatch_notify(n, &m, "retry");
        } else {
            st->failed++;
            str_copy(m.last_error, sizeof m.last_error, o.detail);
            dispatch_notify(n, &m, "failed");
        }
    }
out:
    nudge_notification_free(&m);
    return rc;
}

int dispatch_run(nudge *n, nudge_tick_stats *st, nudge_err *err)
{
    int64_t *ids = calloc((size_t)n->batch_size, sizeof *ids);
    if (!ids)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int rc = 0;
    for (;;) {
        int got = queue_claim(n, ids, n->batch_size, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        st->claimed += got;
        for (int i = 0; i < got; i++)
            if (dispatch_one(n, ids[i], st, err) < 0) {
                rc = -1;
                break;
            }
        if (rc < 0 || got < n->batch_size || (n->stop && *n->stop))
            break;
    }
    free(ids);
    return rc;
}
