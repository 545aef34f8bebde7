/*
 * dispatch.c: the sending half of a tick. Claims batches from the queue,
 * applies the policy that must hold at the moment a message leaves (consent
 * by category and channel, quiet hours in the patient's zone, expiry), hands
 * the message to the transport for its channel and records the outcome.
 *
 * Policy is checked here and not only when planning because preferences
 * change between the two: a patient who opts out at 9:00 must not get the
 * 9:05 reminder planned last week.
 *
 * A transport whose credentials the provider refused rests for a while,
 * for every worker: the rest is a row of channel_rests, read at each
 * batch into the channel (paused_until, this process's copy).
 *
 * A batch reads each of its clinics once, with the clinic's channel
 * mapping (clinic_channels: a medium carried by a channel an embedder
 * registered by name, nudge_channel_register); each hand-off reads its
 * patients' consent and zones together (consent_check_many), just before
 * they leave. Outcomes are recorded in batches (queue_record_batch):
 * finished transfers together as soon as a pass over the multi handle
 * finds them, synchronous sends before the next hand-off, so no more
 * messages are sent and unrecorded at any moment than the hand-off
 * already allowed: the sends in flight. A batch's first hand-off (as many
 * rows as flights are free) rides in the claim's commit, and a full
 * batch's last outcomes in the next batch's first record: two commits
 * and their fsyncs a batch fewer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "tz.h"
#include "util.h"

/* How long a transport rests after the provider refused our credentials. */
#define DISPATCH_REST (5 * 60)
/* How long a promotional email's unsubscribe link stays good. */
#define DISPATCH_UNSUBSCRIBE_DAYS 60

int quiet_contains(int start, int end, int minute)
{
    if (start == end)
        return 0;
    if (start < end)
        return minute >= start && minute < end;
    return minute >= start || minute < end; /* spans midnight */
}

/* The instant quiet hours end, for a local time inside them. */
int64_t quiet_end_after(int64_t now, const char *tz, int end_min)
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

/* A deferral's note, kept on the message and logged: when it will go, in
 * the zone its quiet hours are kept in, and why ("deferred until
 * 2026-12-02 08:00 Asia/Kolkata: quiet hours"), so a newcomer whose outbox
 * stays empty outside the clinic's day sees the reason in the log. */
static void dispatch_defer_note(nudge_notification *m, int64_t until, const char *tz,
                                const char *why)
{
    tz_local l;
    tz_to_local(until, tz, &l);
    snprintf(m->last_error, sizeof m->last_error, "deferred until %04d-%02d-%02d %02d:%02d %s: %s",
             l.year, l.month, l.day, l.hour, l.minute, tz, why);
}

static void dispatch_notify(nudge *n, const nudge_notification *m, const char *what)
{
    if (n->on_sent)
        n->on_sent(n->on_sent_ctx, m, what);
}

/* A message that may not leave now but may later (quiet hours, the send
 * window, the quota): deferred to until with a note saying why, or
 * cancelled when it would expire first (expired says why then). */
static int dispatch_hold(nudge *n, nudge_notification *m, int64_t until, const char *tz,
                         const char *why, const char *expired, nudge_tick_stats *st,
                         nudge_err *err)
{
    if (m->expires_at && until >= m->expires_at) {
        int rc = queue_drop(n, m, "cancelled", expired, err);
        dispatch_notify(n, m, "expired");
        return rc;
    }
    dispatch_defer_note(m, until, tz, why);
    st->deferred++;
    int rc = queue_defer(n, m->clinic_id, m->id, until, m->last_error, err);
    dispatch_notify(n, m, "deferred");
    return rc;
}

/* A message between claim and outcome. Asynchronous sends keep one of
 * these per transfer on the multi handle; the channel_msg points into it. */
typedef struct flight {
    nudge_notification m;
    char from_name[128], reply_to[256], sender[40];
    char unsubscribe[512];
    channel_msg cm;
    channel *ch;
    channel_xfer x;
    json_t *data; /* the message's transport data, parsed */
    int busy;
} flight;

static void flight_clear(flight *f)
{
    nudge_notification_free(&f->m);
    json_decref(f->data);
    sbuf_free(&f->x.body);
    memset(f, 0, sizeof *f);
}

/* A clinic as a batch reads it: once, with its channel mapping. */
typedef struct dispatch_clinic {
    nudge_clinic c;
    consent_plan plan;    /* its usage plan and tier: the window's, the quota's */
    channel *via[3];      /* per medium (n->carrier's order): its mapped channel */
    char missing[3][32];  /* a mapped name not registered in this process */
} dispatch_clinic;

/* An outcome waiting for its batch's record; m is owned. */
typedef struct dispatch_done {
    nudge_notification m;
    channel *ch;
    channel_outcome o;
} dispatch_done;

/* What one dispatch_run keeps across its batches. */
typedef struct dispatch_ctx {
    int64_t now;
    nudge_tick_stats *st;
    dispatch_clinic *clinics;
    int nclinics, capclinics;
    dispatch_done *done;
    int ndone, capdone;
} dispatch_ctx;

static int dispatch_medium(nudge *n, const char *medium)
{
    for (int m = 0; m < 3; m++)
        if (medium && !strcmp(n->carrier[m].medium, medium))
            return m;
    return -1;
}

static channel *dispatch_named(nudge *n, const char *name)
{
    for (int i = 0; i < n->nchans; i++)
        if (n->chans[i]->named && !strcmp(n->chans[i]->name, name))
            return n->chans[i];
    return NULL;
}

/* The batch's copy of a clinic, read on its first message. */
static const dispatch_clinic *dispatch_clinic_of(nudge *n, dispatch_ctx *b, int64_t id,
                                                 nudge_err *err)
{
    for (int i = 0; i < b->nclinics; i++)
        if (b->clinics[i].c.id == id)
            return &b->clinics[i];
    if (b->nclinics == b->capclinics) {
        int cap = b->capclinics ? b->capclinics * 2 : 8;
        dispatch_clinic *g = realloc(b->clinics, (size_t)cap * sizeof *g);
        if (!g)
            return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
        b->clinics = g;
        b->capclinics = cap;
    }
    dispatch_clinic *d = &b->clinics[b->nclinics];
    memset(d, 0, sizeof *d);
    if (nudge_clinic_get(n, id, &d->c, err) < 0 || consent_plan_get(n, id, &d->plan, err) < 0)
        return NULL;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT medium, channel FROM clinic_channels WHERE clinic_id = ?",
                    bind_int(id)) < 0)
        return NULL;
    int r;
    while ((r = store_next(st, err)) == 1) {
        int m = dispatch_medium(n, store_text(st, 0));
        if (m < 0)
            continue;
        if (!(d->via[m] = dispatch_named(n, store_text(st, 1))))
            store_copy(st, 1, d->missing[m], sizeof d->missing[m]);
    }
    store_done(st);
    if (r < 0)
        return NULL;
    b->nclinics++;
    return d;
}

/* Records the outcomes waiting, in one transaction with the hand-off of
 * the next nhand rows (if any), then tells the observer of each. A batch
 * the store refuses as a whole goes again one outcome at a time, so one
 * message's failure is its own, and the hand-off alone after them; a
 * connection lost under a record is tried once more, so the send is not
 * repeated after its lease for want of one commit. */
static int dispatch_flush(nudge *n, dispatch_ctx *b, const queue_ref *hand, int nhand,
                          signed char *handed, nudge_err *err)
{
    if (!b->ndone && !nhand)
        return 0;
    queue_outcome *rs = calloc((size_t)b->ndone + 1, sizeof *rs);
    if (!rs)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int i = 0; i < b->ndone; i++)
        rs[i] = (queue_outcome){.m = &b->done[i].m, .transport = b->done[i].ch->name,
                                .o = b->done[i].o};
    int rc = 0;
    if (queue_record_batch(n, rs, b->ndone, hand, nhand, handed, err) < 0) {
        for (int i = 0; i < b->ndone; i++) {
            int r = queue_record_batch(n, &rs[i], 1, NULL, 0, NULL, err);
            if (r < 0 && err->code == NUDGE_ESTORE)
                r = queue_record_batch(n, &rs[i], 1, NULL, 0, NULL, err);
            if (r < 0)
                rc = -1;
        }
        if (rc == 0 && nhand && queue_handoff(n, hand, nhand, handed, err) < 0)
            rc = -1;
    }
    for (int i = 0; i < b->ndone; i++) {
        nudge_notification *m = &b->done[i].m;
        const channel_outcome *o = &b->done[i].o;
        /* Not recorded: the lease was lost meanwhile (the new holder owns
         * the row), or the store failed (the lease brings it back). */
        if (!rs[i].recorded)
            goto next;
        /* The provider refuses the number until the patient opts in
         * again (Twilio 21610): their opt-out, so nothing more is tried. */
        if (o->opted_out && m->patient_id && patient_provider_opt_out(n, m, o->detail, err) < 0)
            rc = -1;
        m->attempts++;
        if (o->result == CHANNEL_SENT) {
            b->st->sent++;
            str_copy(m->provider_id, sizeof m->provider_id, o->provider_id);
            dispatch_notify(n, m, "sent");
        } else {
            *(rs[i].retried ? &b->st->retried : &b->st->failed) += 1;
            str_copy(m->last_error, sizeof m->last_error, o->detail);
            dispatch_notify(n, m, rs[i].retried ? "retry" : "failed");
        }
    next:
        nudge_notification_free(m);
    }
    b->ndone = 0;
    free(rs);
    return rc;
}

/* The outcome of one attempt, kept for the batch's record; takes m. */
static int dispatch_outcome(nudge *n, dispatch_ctx *b, nudge_notification *m, channel *ch,
                            const channel_outcome *o, nudge_err *err)
{
    /* Our credentials were refused: stop using this channel for a while
     * rather than walk every queued message into the same answer; every
     * worker reads the rest. */
    if (o->result == CHANNEL_CONFIG) {
        ch->paused_until = b->now + DISPATCH_REST;
        if (store_exec(n->db, err,
                       "INSERT INTO channel_rests (transport, rest_until, reason) VALUES (?, ?, ?) "
                       "ON CONFLICT (transport) DO UPDATE SET rest_until = excluded.rest_until, "
                       "reason = excluded.reason",
                       bind_text(ch->name), bind_int(ch->paused_until), bind_text(o->detail)) < 0)
            return -1;
    }
    if (b->ndone == b->capdone) {
        int cap = b->capdone ? b->capdone * 2 : 32;
        dispatch_done *g = realloc(b->done, (size_t)cap * sizeof *g);
        if (!g)
            return err_set(err, NUDGE_ENOMEM, "", "out of memory");
        b->done = g;
        b->capdone = cap;
    }
    b->done[b->ndone++] = (dispatch_done){.m = *m, .ch = ch, .o = *o};
    memset(m, 0, sizeof *m);
    return 0;
}

/* The rests every worker shares, into each channel's copy. */
static int dispatch_rests(nudge *n, int64_t now, nudge_err *err)
{
    for (int i = 0; i < n->nchans; i++)
        n->chans[i]->paused_until = 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT transport, rest_until FROM channel_rests WHERE rest_until > ?",
                    bind_int(now)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1)
        for (int i = 0; i < n->nchans; i++)
            if (!strcmp(n->chans[i]->name, store_text(st, 0)))
                n->chans[i]->paused_until = store_int(st, 1);
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The channel carrying a medium for a clinic: its mapping's, else the
 * handle's. *missing: the mapped name when it is not registered here. */
static channel *dispatch_channel(nudge *n, const dispatch_clinic *d, const char *medium,
                                 const char **missing)
{
    int m = dispatch_medium(n, medium);
    *missing = NULL;
    if (m < 0)
        return n->carrier[0].ch;
    if (d->missing[m][0])
        *missing = d->missing[m];
    return d->via[m] ? d->via[m] : n->carrier[m].ch;
}

static size_t xfer_body(char *p, size_t sz, size_t nm, void *ud)
{
    /* Past the cap: 0 ends the transfer; the channel reads body.over. */
    return sbuf_add(&((channel_xfer *)ud)->body, p, sz * nm) < 0 ? 0 : sz * nm;
}

static size_t xfer_header(char *p, size_t sz, size_t nm, void *ud)
{
    channel_xfer *x = ud;
    size_t len = sz * nm;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12))
        x->retry_after = strtol(p + 12, NULL, 10); /* seconds; a date counts as none */
    return len;
}

/* What only some messages carry, for the one being sent: its transport
 * data (as the claim returned it), and when the recipient last wrote to us for a transport
 * that asks (WhatsApp's 24-hour window). */
static int dispatch_extras(nudge *n, flight *f, const char *data, nudge_err *err)
{
    f->data = data ? json_loads(data, 0, NULL) : NULL;
    f->cm.data = f->data;
    if ((f->ch->t->caps & TRANSPORT_INBOUND) &&
        reply_last_inbound(n, f->m.channel, f->m.recipient, &f->cm.last_inbound, err) < 0)
        return -1;
    return 0;
}

/* Takes one claimed notification (claimed, as the claim returned it,
 * moved into f) as far as it can go now: policy (v: its patient's consent
 * and zone, as read at its hand-off), then a synchronous send, or the
 * start of a transfer in f (answer 1). 0: done, -1: the store failed. */
static int dispatch_begin(nudge *n, dispatch_ctx *b, nudge_notification *claimed,
                          const char *data, const consent_verdict *v, flight *f, nudge_err *err)
{
    nudge_notification *m = &f->m;
    nudge_tick_stats *st = b->st;
    int64_t now = b->now;
    int rc = -1;
    *m = *claimed; /* taken: the flight frees it */
    memset(claimed, 0, sizeof *claimed);
    const dispatch_clinic *d = dispatch_clinic_of(n, b, m->clinic_id, err);
    if (!d)
        goto done;
    const nudge_clinic *c = &d->c;
    if (v->found) {
        /* The consent ledger as it stood at the hand-off (consent.c): a
         * category the patient withdrew, a channel they stopped, a
         * promotional message without a recorded opt-in. */
        const char *why = v->reason;
        if (!v->ok) {
            char note[96];
            snprintf(note, sizeof note, "%s: %s", why,
                     !strcmp(why, "no_consent") ? "no recorded consent to this kind of message"
                                                : "patient opted out of this kind of message or "
                                                  "channel");
            rc = queue_drop(n, m, "cancelled", note, err);
            dispatch_notify(n, m, "opted-out");
            goto done;
        }
    }
    const char *tz = v->found && v->timezone[0] ? v->timezone : c->timezone;
    tz_local l;
    tz_to_local(now, tz, &l);
    if (m->priority < NUDGE_URGENT &&
        quiet_contains(c->quiet_start, c->quiet_end, l.hour * 60 + l.minute)) {
        rc = dispatch_hold(n, m, quiet_end_after(now, tz, c->quiet_end), tz, "quiet hours",
                           "quiet hours last until the visit", st, err);
        goto done;
    }
    /* A promotional message keeps to the send window in the patient's
     * zone; then the quota, whose units it holds from here to its record. */
    int64_t until = 0;
    int in = consent_window(c, &d->plan, tz, m->category, now, &until);
    if (in <= 0) {
        rc = in < 0 ? -1
                    : dispatch_hold(n, m, until, tz, "outside_window",
                                    "outside_window: the send window opens after it expires", st,
                                    err);
        goto done;
    }
    if ((in = consent_quota(n, c, &d->plan, m, now, &until, err)) <= 0) {
        rc = in < 0 ? -1
                    : dispatch_hold(n, m, until, c->timezone, "quota",
                                    "quota: the month's quota is spent until after it expires", st,
                                    err);
        goto done;
    }

    const char *missing;
    f->ch = dispatch_channel(n, d, m->channel, &missing);
    str_copy(f->from_name, sizeof f->from_name, c->name);
    str_copy(f->reply_to, sizeof f->reply_to, c->email);
    str_copy(f->sender, sizeof f->sender, c->sms_sender);
    f->cm = (channel_msg){
        .id = m->id,
        .clinic_id = m->clinic_id,
        .channel = m->channel,
        .to = m->recipient,
        .from_name = f->from_name,
        .sender = f->sender[0] ? f->sender : NULL,
        .reply_to = f->reply_to[0] ? f->reply_to : NULL,
        .subject = m->subject,
        .text = m->body,
        .html = m->html,
        .language = m->language,
        .template_name = m->template_name,
        .now = now,
    };
    if (f->ch->paused_until > now) {
        dispatch_defer_note(m, f->ch->paused_until, tz, "the provider refused our credentials");
        rc = queue_defer(n, m->clinic_id, m->id, f->ch->paused_until, m->last_error, err);
        st->deferred++;
        dispatch_notify(n, m, "paused");
        goto done;
    }
    if (missing) {
        /* Mapped to a channel this process does not have: said so on
         * each attempt, and retried like any transient failure (another
         * worker of the embedder's may have it). */
        channel_outcome o = {.result = CHANNEL_TRANSIENT};
        snprintf(o.detail, sizeof o.detail,
                 "channel \"%s\" is not registered in this process (nudge_channel_register)",
                 missing);
        rc = dispatch_outcome(n, b, m, f->ch, &o, err);
        goto done;
    }
    if (dispatch_extras(n, f, data, err) < 0)
        goto done;
    if ((f->ch->t->caps & TRANSPORT_INBOUND) && !strcmp(m->channel, "whatsapp") &&
        !consent_whatsapp_ok(f->cm.last_inbound, now, f->data)) {
        /* Not sent, and said why; a permanent failure as the transport
         * would record it, so the clinic's SMS fallback still applies. */
        channel_outcome o = {.result = CHANNEL_PERMANENT};
        str_copy(o.detail, sizeof o.detail,
                 "whatsapp_window: outside the 24-hour window and no approved template mapped");
        rc = dispatch_outcome(n, b, m, f->ch, &o, err);
        goto done;
    }
    if (!strcmp(m->channel, "email") && consent_promotional(m->category) && m->patient_id) {
        /* RFC 8058: a promotional email carries its one-click unsubscribe;
         * without the means to sign one it does not go. */
        nudge_err ue = {0};
        if (nudge_unsubscribe_url(n, m->clinic_id, m->patient_id, m->category, m->channel,
                                  now + DISPATCH_UNSUBSCRIBE_DAYS * 86400, f->unsubscribe,
                                  sizeof f->unsubscribe, &ue) < 0) {
            char note[160];
            snprintf(note, sizeof note, "no_unsubscribe: %.140s", ue.msg);
            rc = queue_drop(n, m, "cancelled", note, err);
            dispatch_notify(n, m, "skipped");
            goto done;
        }
        f->cm.unsubscribe = f->unsubscribe;
    }
    channel_outcome o;
    memset(&o, 0, sizeof o);
    if (f->ch->t->start) {
        f->x.body.max = CHANNEL_ANSWER_MAX;
        if (f->ch->t->start(f->ch, &f->cm, &f->x, &o) == 0) {
            curl_easy_setopt(f->x.easy, CURLOPT_WRITEFUNCTION, xfer_body);
            curl_easy_setopt(f->x.easy, CURLOPT_WRITEDATA, &f->x);
            curl_easy_setopt(f->x.easy, CURLOPT_HEADERFUNCTION, xfer_header);
            curl_easy_setopt(f->x.easy, CURLOPT_HEADERDATA, &f->x);
            curl_easy_setopt(f->x.easy, CURLOPT_ERRORBUFFER, f->x.errbuf);
            curl_easy_setopt(f->x.easy, CURLOPT_PRIVATE, f);
            curl_easy_setopt(f->x.easy, CURLOPT_NOSIGNAL, 1L);
            curl_multi_add_handle(n->multi, f->x.easy);
            f->busy = 1;
            return 1;
        }
    } else if (f->ch->t->send(f->ch, &f->cm, &o) < 0) {
        o.result = CHANNEL_TRANSIENT;
        str_copy(o.detail, sizeof o.detail, "transport failed");
    }
    rc = dispatch_outcome(n, b, m, f->ch, &o, err);
done:
    flight_clear(f);
    return rc;
}

/* Waits for transfers and records those that finished. block: wait up to
 * a second for activity first. */
static int dispatch_drive(nudge *n, dispatch_ctx *b, int block, int record, nudge_err *err)
{
    int running, rc = 0, finished = 0;
    curl_multi_perform(n->multi, &running);
    if (block && running) {
        curl_multi_poll(n->multi, NULL, 0, 1000, NULL);
        curl_multi_perform(n->multi, &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(n->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        flight *f = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        CURLcode result = msg->data.result;
        curl_multi_remove_handle(n->multi, msg->easy_handle);
        channel_outcome o;
        memset(&o, 0, sizeof o);
        f->ch->t->finish(f->ch, &f->x, result, &o);
        curl_easy_cleanup(f->x.easy);
        f->x.easy = NULL;
        if (dispatch_outcome(n, b, &f->m, f->ch, &o, err) < 0)
            rc = -1;
        flight_clear(f);
        finished++;
    }
    /* Transfers that finished are recorded together: now when nothing
     * more is to be handed off (a drain: their answers came over the
     * network at their own pace, and must not wait for the slowest), else
     * (record 0) with the next hand-off, in its commit and before any of
     * it starts. What is sent and unrecorded stays within the flights
     * either way: busy flights, finished sends not yet recorded and rows
     * handed off but not begun never sum past them (a finish moves one
     * from the first to the second, a begin from the third to the first,
     * and a hand-off, which records the second, hands off only flights
     * that are free). Measured sending 10,000
     * to the Twilio fake, recording each pass's outcomes at once cost
     * 0.75 commits (and fsyncs) a message. Synchronous sends wait for the
     * next hand-off's flush too. */
    if (finished && record && dispatch_flush(n, b, NULL, 0, NULL, err) < 0)
        rc = -1;
    return rc;
}

static int flights_busy(const flight *fl, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += fl[i].busy;
    return c;
}

/* The hand-off before a send (issue 11): the rows about to go out, as
 * many as there are free slots, are marked handed to their provider in one
 * commit before the first of them starts (the commit that records the
 * outcomes before them). A worker killed now leaves the rest of its batch
 * unmarked, and those go back at once (queue.c); only the marked ones, at
 * most the sends in flight, may reach a patient twice, and their resend
 * is recorded as a retry. How many rows from i on. */
static int dispatch_handoff_count(nudge *n, int got, int i, const flight *fl)
{
    int k = n->max_in_flight - flights_busy(fl, n->max_in_flight);
    if (k < 1)
        k = 1;
    if (k > got - i)
        k = got - i;
    return k;
}

/* The consent and zone of the rows just handed off (handed[k] > 0), read
 * together just before they leave: a statement per clinic, category and
 * channel among them rather than a patient read and a ledger read each. */
static int dispatch_verdicts(nudge *n, const nudge_notification *msgs, const signed char *handed,
                             int count, consent_verdict *out, nudge_err *err)
{
    const nudge_notification **ms = calloc((size_t)count + 1, sizeof *ms);
    consent_verdict *got = calloc((size_t)count + 1, sizeof *got);
    int *at = calloc((size_t)count + 1, sizeof *at), nm = 0, rc = 0;
    if (!ms || !got || !at)
        rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int k = 0; rc == 0 && k < count; k++)
        if (handed[k] > 0) {
            at[nm] = k;
            ms[nm++] = &msgs[k];
        }
    if (rc == 0 && (rc = consent_check_many(n, ms, nm, got, err)) == 0)
        for (int k = 0; k < nm; k++)
            out[at[k]] = got[k];
    free(ms);
    free(got);
    free(at);
    return rc;
}

/* The claimed messages no send took (dispatch_begin empties those). */
static void dispatch_claimed_free(nudge_notification *msgs, char **data, int count)
{
    for (int k = 0; k < count; k++) {
        nudge_notification_free(&msgs[k]);
        free(data[k]);
        data[k] = NULL;
    }
}

/* While every flight is busy: a step of the aside's work if it has any
 * (meanwhile the providers answer into the sockets' buffers; the requests
 * went out when they began), then the transfers looked at without
 * waiting; with none, waiting for them. */
static int dispatch_wait(nudge *n, dispatch_ctx *b, dispatch_aside *as, nudge_err *err)
{
    if (as->run && !(n->stop && *n->stop)) {
        int r = as->run(n, as->ctx, b->st, err);
        if (r < 0)
            return -1;
        if (r == 0)
            as->run = NULL;
        return dispatch_drive(n, b, 0, 0, err);
    }
    return dispatch_drive(n, b, 1, 0, err);
}

int dispatch_run(nudge *n, int64_t now, nudge_tick_stats *st, dispatch_aside *aside, nudge_err *err)
{
    dispatch_aside as = aside ? *aside : (dispatch_aside){0};
    queue_ref *ids = calloc((size_t)n->batch_size, sizeof *ids);
    nudge_notification *msgs = calloc((size_t)n->batch_size, sizeof *msgs);
    char **data = calloc((size_t)n->batch_size, sizeof *data);
    signed char *handed = calloc((size_t)n->batch_size, 1);
    consent_verdict *vd = calloc((size_t)n->batch_size, sizeof *vd);
    flight *fl = calloc((size_t)n->max_in_flight, sizeof *fl);
    dispatch_ctx b = {.now = now, .st = st};
    if (!ids || !msgs || !data || !fl || !handed || !vd) {
        free(ids);
        free(msgs);
        free(data);
        free(handed);
        free(vd);
        free(fl);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    int rc = 0;
    for (;;) {
        /* The rests first: a failure after the claim would leave its
         * first hand-off to be counted as lost sends. */
        if (dispatch_rests(n, now, err) < 0) {
            rc = -1;
            break;
        }
        /* The first hand-off rides in the claim's commit: as many as
         * there are flights free now, less the sends the last batch left
         * unrecorded (b.ndone, recorded with the next hand-off), so what
         * is sent and unrecorded stays within the flights. */
        int hand = n->max_in_flight - flights_busy(fl, n->max_in_flight) - b.ndone;
        if (hand < 0)
            hand = 0;
        int got = queue_claim_rows(n, ids, msgs, data, n->batch_size, hand, handed, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        st->claimed += got;
        b.nclinics = 0; /* clinics and their mappings: read again each batch */
        int pre = 0;
        while (pre < got && handed[pre])
            pre++;
        if (pre && dispatch_verdicts(n, msgs, handed, pre, vd, err) < 0) {
            /* Handed off: they come back through their lease, as a
             * failed flush's would. */
            dispatch_claimed_free(msgs, data, got);
            rc = -1;
            break;
        }
        int i;
        for (i = 0; i < got && rc == 0; i++) {
            /* Stopping: what was not handed off goes back now rather
             * than wait for the sends of the whole batch. */
            if (n->stop && *n->stop && !handed[i])
                break;
            flight *f = NULL;
            while (rc == 0 && !f) {
                for (int k = 0; k < n->max_in_flight && !f; k++)
                    if (!fl[k].busy)
                        f = &fl[k];
                if (!f)
                    rc = dispatch_wait(n, &b, &as, err);
            }
            /* The outcomes so far are recorded before more rows are
             * handed off: what is sent and unrecorded stays within the
             * sends in flight. */
            if (rc == 0 && !handed[i]) {
                int k = dispatch_handoff_count(n, got, i, fl);
                rc = dispatch_flush(n, &b, ids + i, k, handed + i, err);
                if (rc == 0)
                    rc = dispatch_verdicts(n, msgs + i, handed + i, k, vd + i, err);
            }
            if (rc == 0 && handed[i] > 0 &&
                dispatch_begin(n, &b, &msgs[i], data[i], &vd[i], f, err) < 0)
                rc = -1;
            if (rc == 0)
                rc = dispatch_drive(n, &b, 0, 0, err);
        }
        /* A full batch may have more behind it: the next is claimed while
         * this one's transfers are still in flight, so the multi handle
         * is not left empty while work is due. A short batch (nothing
         * more due), a stop or a failure drains what is in flight first. */
        int stop = n->stop && *n->stop, more = 0;
        /* Nothing more due now, but the aside may make some due: its step,
         * then the next claim, as after a full batch (a step that found
         * nothing left may still have made its last rows). */
        if (rc == 0 && i == got && got < n->batch_size && as.run && !stop) {
            int r = as.run(n, as.ctx, st, err);
            if (r < 0)
                rc = -1;
            else if (r == 0)
                as.run = NULL;
            more = r >= 0;
        }
        int last = rc < 0 || i < got || (got < n->batch_size && !more) || stop;
        while (last && flights_busy(fl, n->max_in_flight))
            if (dispatch_drive(n, &b, 1, 1, err) < 0)
                rc = -1;
        /* A full batch leaves its last outcomes to the next batch's
         * first record, which is also its second hand-off: a commit and
         * its fsync a batch fewer. The last batch records them now. */
        if (last && dispatch_flush(n, &b, NULL, 0, NULL, err) < 0)
            rc = -1;
        if (rc == 0 && i < got && queue_unclaim(n, ids + i, got - i, err) < 0)
            rc = -1;
        dispatch_claimed_free(msgs, data, got); /* what was not begun: a lost lease, a stop */
        if (last)
            break;
    }
    /* Whatever ended the batches (a claim that failed while the last
     * batch's transfers were still in flight), no transfer outlives its
     * flight: the multi handle is the handle's and outlives this call,
     * and a finished transfer names its flight (CURLINFO_PRIVATE), which
     * is freed below. A failure between batches still records what was
     * sent. */
    nudge_err later = {0};
    while (flights_busy(fl, n->max_in_flight))
        if (dispatch_drive(n, &b, 1, 1, rc < 0 ? &later : err) < 0)
            rc = -1;
    if (b.ndone && dispatch_flush(n, &b, NULL, 0, NULL, rc < 0 ? &later : err) < 0)
        rc = -1;
    free(b.clinics);
    free(b.done);
    free(ids);
    free(msgs);
    free(data);
    free(handed);
    free(vd);
    free(fl);
    return rc;
}

/* ---- custom channels: registered by name, mapped per clinic ---- */

int nudge_channel_register(nudge *n, const char *name, const nudge_channel_ops *ops, void *ctx,
                           nudge_err *err)
{
    err_clear(err);
    if (!ops || !ops->send)
        return err_set(err, NUDGE_EINVAL, "ops", "a channel needs a send");
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len > 31 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
        return err_set(err, NUDGE_EINVAL, "name",
                       "a channel's name is 1 to 31 of a-z, 0-9, _ and -");
    for (const transport *const *t = transports; *t; t++)
        if (!strcmp((*t)->name, name))
            return err_set(err, NUDGE_EINVAL, "name", "\"%s\" is a built-in transport", name);
    for (int i = 0; i < n->nchans; i++)
        if (!strcmp(n->chans[i]->name, name))
            return err_set(err, NUDGE_EINVAL, "name", "a channel \"%s\" is registered already",
                           name);
    if (n->nchans == (int)(sizeof n->chans / sizeof *n->chans))
        return err_set(err, NUDGE_EINVAL, "name", "too many channels");
    nudge_transport t = {.name = name, .send = ops->send, .free = ops->free};
    channel *ch = channel_custom_new(&t, ctx, err);
    if (!ch)
        return -1;
    ch->named = 1;
    n->chans[n->nchans++] = ch;
    return 0;
}

int nudge_clinic_channel_set(nudge *n, int64_t clinic_id, const char *medium, const char *name,
                             nudge_err *err)
{
    err_clear(err);
    if (dispatch_medium(n, medium) < 0)
        return err_set(err, NUDGE_EINVAL, "medium", "medium must be sms, whatsapp or email");
    int clear = !name || !*name;
    if (!clear && !dispatch_named(n, name))
        return err_set(err, NUDGE_EINVAL, "channel",
                       "no channel \"%.31s\" is registered on this handle "
                       "(nudge_channel_register)",
                       name);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    char detail[64];
    snprintf(detail, sizeof detail, "%s=%s", medium, clear ? "" : name);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    int rc = clear ? store_exec(n->db, err,
                                "DELETE FROM clinic_channels WHERE clinic_id = ? AND medium = ?",
                                bind_int(clinic_id), bind_text(medium))
                   : store_exec(n->db, err,
                                "INSERT INTO clinic_channels (clinic_id, medium, channel, "
                                "updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (clinic_id, medium) "
                                "DO UPDATE SET channel = excluded.channel, "
                                "updated_at = excluded.updated_at",
                                bind_int(clinic_id), bind_text(medium), bind_text(name),
                                bind_int(clock_now(n)));
    if (rc < 0 || audit_add(n, clinic_id, "channel", "clinic", clinic_id, detail, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_clinic_channel_get(nudge *n, int64_t clinic_id, const char *medium, char *out,
                             size_t outsz, nudge_err *err)
{
    err_clear(err);
    if (outsz)
        out[0] = 0;
    if (dispatch_medium(n, medium) < 0)
        return err_set(err, NUDGE_EINVAL, "medium", "medium must be sms, whatsapp or email");
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT channel FROM clinic_channels WHERE clinic_id = ? AND medium = ?",
                    bind_int(clinic_id), bind_text(medium)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        store_copy(st, 0, out, outsz);
    store_done(st);
    return r < 0 ? -1 : 0;
}
