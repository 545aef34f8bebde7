/*
 * reply.c: two-way messaging. A patient's SMS or WhatsApp message is
 * matched to the patient and visit of the message it answers (WhatsApp's
 * context.id names it), else to the patient by number and their next
 * visit, then read as a keyword (confirm, cancel, reschedule, STOP,
 * START, HELP; English and Hindi, or a WhatsApp button: our reply
 * buttons' ids, the payloads a clinic mapped for its approved templates'
 * quick replies, else the button's text) or filed in a support ticket.
 * When the provider has already read and answered it (Twilio's Advanced
 * Opt-Out) its reading is taken and nudge sends no answer. The change,
 * the consent record, the ticket, the event and the answer are one
 * transaction, keyed by the provider's message id, so a webhook delivered
 * twice is handled once. reply.c owns the inbound messages; consent is
 * the patient's (patient.c) and tickets are ticket.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "tz.h"
#include "util.h"

enum kw { KW_NONE, KW_CONFIRM, KW_CANCEL, KW_RESCHEDULE, KW_STOP, KW_START, KW_HELP };

/* Lower-cased ASCII, trimmed of spaces and trailing punctuation. */
static void kw_normalize(const char *in, char *out, size_t n)
{
    while (*in && isspace((unsigned char)*in))
        in++;
    size_t l = 0;
    for (; *in && l + 1 < n; in++)
        out[l++] = (char)((unsigned char)*in < 128 ? tolower((unsigned char)*in) : *in);
    while (l && (isspace((unsigned char)out[l - 1]) || strchr(".!?,;", out[l - 1])))
        l--;
    out[l] = 0;
}

static int kw_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return 1;
    return 0;
}

/* A typed "cancel" is a visit's cancellation when one is coming, else a
 * STOP; a button's never stops messages. The words include the texts of
 * the buttons clinics' approved templates carry, in English and Hindi. */
static enum kw kw_word(const char *s, int has_visit, int button)
{
    static const char *const confirm[] = {"c", "yes", "y", "1", "confirm", "हाँ", "हां", "haan",
                                          "ha", "han", "पक्का करें", "पक्का", "पुष्टि करें", NULL};
    static const char *const cancel[] = {"n",    "no",    "cancel", "नहीं", "नही",
                                         "nahi", "nahin", "रद्द करें", "रद्द", NULL};
    static const char *const resched[] = {"r", "reschedule", "समय बदलें", NULL};
    static const char *const stop[] = {"stop", "stopall", "unsubscribe", "end", "quit", NULL};
    static const char *const start[] = {"start", "unstop", NULL};
    static const char *const help[] = {"help", "info", NULL};
    char w[64];
    kw_normalize(s ? s : "", w, sizeof w);
    if (kw_in(w, confirm))
        return KW_CONFIRM;
    if (kw_in(w, resched))
        return KW_RESCHEDULE;
    if (!strcmp(w, "cancel") && !button)
        return has_visit ? KW_CANCEL : KW_STOP;
    if (kw_in(w, cancel))
        return KW_CANCEL;
    if (kw_in(w, stop))
        return KW_STOP;
    if (kw_in(w, start))
        return KW_START;
    if (kw_in(w, help))
        return KW_HELP;
    return KW_NONE;
}

/* A button's id or payload (ours are words: confirm, reschedule), then
 * its text; or what was typed. */
static enum kw kw_classify(const char *text, const char *button, int has_visit)
{
    int is_button = button && *button;
    enum kw k = is_button ? kw_word(button, has_visit, 1) : KW_NONE;
    return k != KW_NONE ? k : kw_word(text, has_visit, is_button);
}

/* A name from the library's lists (a mapped button's action, a provider's
 * OptOutType) as a keyword; KW_NONE when it is none of them. */
static enum kw kw_named(const char *name)
{
    static const struct {
        const char *name;
        enum kw kw;
    } named[] = {{"confirm", KW_CONFIRM}, {"cancel", KW_CANCEL}, {"reschedule", KW_RESCHEDULE},
                 {"stop", KW_STOP},       {"start", KW_START},   {"help", KW_HELP}};
    for (size_t i = 0; name && i < sizeof named / sizeof *named; i++)
        if (!strcasecmp(name, named[i].name))
            return named[i].kw;
    return KW_NONE;
}

/* The patient this number belongs to: the one with the soonest visit
 * ahead, else the newest (a number can be in several clinics). */
static int find_patient(nudge *n, const char *number, int64_t now, int64_t *patient,
                        int64_t *clinic, nudge_err *err)
{
    int64_t ids[64], clinics[64], best = 0, best_clinic = 0, best_at = 0;
    int got = patient_by_phone(n, number, ids, clinics, 64, err); /* newest first */
    if (got <= 0)
        return got;
    for (int i = 0; i < got; i++) {
        int64_t visit = 0, at = 0;
        int r = appointment_next(n, clinics[i], ids[i], now, &visit, &at, err);
        if (r < 0)
            return -1;
        if (!best || (r == 1 && (!best_at || at < best_at))) {
            best = ids[i];
            best_clinic = clinics[i];
            best_at = r == 1 ? at : 0;
        }
    }
    nudge_patient p;
    if (nudge_patient_get(n, best_clinic, best, &p, err) < 0)
        return -1;
    *patient = p.id;
    *clinic = p.clinic_id;
    return 1;
}

static int next_visit(nudge *n, int64_t clinic, int64_t patient, int64_t now,
                      nudge_appointment *a, nudge_err *err)
{
    int64_t id = 0, at = 0;
    int r = appointment_next(n, clinic, patient, now, &id, &at, err);
    if (r == 1 && nudge_appointment_get(n, clinic, id, a, err) < 0)
        return -1;
    return r;
}

/* The visit a message was about, if it can still be acted on (ahead and
 * not cancelled or done, as appointment_next reads them): 1, else 0. */
static int visit_open(nudge *n, int64_t clinic, int64_t id, int64_t now, nudge_appointment *a,
                      nudge_err *err)
{
    static const char *const open[] = {"scheduled", "confirmed", "rescheduled", NULL};
    if (nudge_appointment_get(n, clinic, id, a, err) < 0) {
        if (err->code != NUDGE_ENOTFOUND)
            return -1;
        err_clear(err);
        return 0;
    }
    return a->start_at > now && nudge_names_find(open, a->status) >= 0;
}

/* The message an answer names (WhatsApp's context.id) when nudge sent it
 * on this channel to this number: 1 (the caller frees *m), else 0. */
static int context_of(nudge *n, const nudge_inbound *in, const char *number,
                      nudge_notification *m, nudge_err *err)
{
    if (str_blank(in->context_id))
        return 0;
    int r = queue_by_provider_id(n, in->context_id, m, err);
    if (r == 1 && (!m->patient_id || strcmp(m->recipient, number) ||
                   strcmp(m->channel, in->channel))) {
        nudge_notification_free(m);
        r = 0;
    }
    return r;
}

int reply_last_inbound(nudge *n, const char *channel, const char *number, int64_t *at,
                       nudge_err *err)
{
    return store_scalar(n->db, at, err,
                        "SELECT COALESCE(MAX(received_at), 0) FROM inbound_messages WHERE "
                        "channel = ? AND from_number = ?",
                        bind_text(channel), bind_text(number)) < 0
               ? -1
               : 0;
}

/* The answer, on the channel the patient wrote on, at once (urgent: they
 * are awake, they just wrote), once per inbound message. */
static int answer(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                  const nudge_appointment *a, const nudge_inbound *in, int64_t inbound_id,
                  const char *template_name, nudge_reply *out, nudge_err *err)
{
    nudge_vars v = {0};
    tmpl_patient_vars(c, p, a, &v);
    nudge_vars_set(&v, "clinic_contact",
                   c->phone[0] ? c->phone : c->email[0] ? c->email : c->name);
    char key[64];
    snprintf(key, sizeof key, "reply:%lld", (long long)inbound_id);
    nudge_send s = {.patient_id = p->id,
                    .template_name = template_name,
                    .channel = in->channel,
                    .priority = NUDGE_URGENT,
                    .dedupe_key = key,
                    .vars = &v};
    int rc = nudge_enqueue(n, c->id, &s, &out->notification_id, NULL, err);
    nudge_vars_free(&v);
    return rc;
}

static int reply_handle(nudge *n, const nudge_inbound *in, nudge_reply *out, nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    if (!in->channel || (strcmp(in->channel, "sms") && strcmp(in->channel, "whatsapp")))
        return err_set(err, NUDGE_EINVAL, "channel", "inbound messages come by sms or whatsapp");
    if (str_blank(in->from))
        return err_set(err, NUDGE_EINVAL, "from", "the sender's number is missing");
    char number[24];
    /* WhatsApp gives digits without the '+'. */
    snprintf(number, sizeof number, "%s%s", in->from[0] == '+' ? "" : "+", in->from);
    int64_t now = clock_now(n);
    const char *text = in->text ? in->text : "";

    if (store_begin(n->db, err) < 0)
        return -1;
    int64_t seen = 0;
    if (in->provider_id &&
        store_scalar(n->db, &seen, err, "SELECT id FROM inbound_messages WHERE provider_id = ?",
                     bind_text(in->provider_id)) != 0) {
        store_rollback(n->db);
        if (seen) {
            snprintf(out->action, sizeof out->action, "duplicate");
            return 0;
        }
        return -1;
    }
    int64_t pid = 0, cid = 0;
    /* The message answered decides patient and visit; without one, the
     * number and the next visit do. */
    nudge_notification ctx;
    int has_ctx = context_of(n, in, number, &ctx, err), r;
    if (has_ctx < 0)
        goto fail;
    if (has_ctx) {
        pid = ctx.patient_id;
        cid = ctx.clinic_id;
        nudge_notification_free(&ctx); /* its texts: the ids and names stay */
        r = 1;
    } else if ((r = find_patient(n, number, now, &pid, &cid, err)) < 0) {
        goto fail;
    }
    nudge_patient p;
    nudge_clinic c;
    nudge_appointment a;
    int has_visit = 0;
    if (r == 1) {
        if (nudge_patient_get(n, cid, pid, &p, err) < 0 || nudge_clinic_get(n, cid, &c, err) < 0)
            goto fail;
        has_visit = has_ctx && ctx.appointment_id
                        ? visit_open(n, cid, ctx.appointment_id, now, &a, err)
                        : next_visit(n, cid, pid, now, &a, err);
        if (has_visit < 0)
            goto fail;
    }
    /* The provider's reading, when it has answered already; else a button
     * the clinic mapped; else the words. */
    int provider_answered = !str_blank(in->opt_out);
    char mapped[16] = "";
    if (r == 1 && !provider_answered && !str_blank(in->button_id) &&
        tmpl_wa_button_action(n, cid, has_ctx ? ctx.template_name : NULL,
                              has_ctx ? ctx.language : NULL, in->button_id, mapped,
                              sizeof mapped, err) < 0)
        goto fail;
    enum kw kw = r != 1            ? KW_NONE
                 : provider_answered ? kw_named(in->opt_out) /* stop start help */
                 : mapped[0]         ? kw_named(mapped)
                                     : kw_classify(text, in->button_id, has_visit);
    if (provider_answered && kw < KW_STOP)
        kw = KW_NONE; /* not a name Twilio gives: a person reads it */
    /* YES is one of Twilio's opt-in words and nudge's confirmation: both. */
    int also_start = provider_answered && kw == KW_START &&
                     kw_classify(text, NULL, has_visit) == KW_CONFIRM && has_visit;
    if (also_start)
        kw = KW_CONFIRM;
    if ((kw == KW_CONFIRM || kw == KW_CANCEL || kw == KW_RESCHEDULE) && !has_visit)
        kw = KW_NONE; /* nothing to act on: a person should read it */
    static const char *const names[] = {"ticket", "confirmed", "cancelled", "reschedule",
                                        "stop",   "start",     "help"};
    snprintf(out->action, sizeof out->action, "%s", r == 1 ? names[kw] : "ignored");
    int64_t inbound_id = 0;
    if (store_scalar(n->db, &inbound_id, err,
                   "INSERT INTO inbound_messages (clinic_id, patient_id, channel, from_number, "
                   "body, provider_id, action, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                   "RETURNING id",
                   bind_int_or_null(cid), bind_int_or_null(pid), bind_text(in->channel),
                   bind_text(number), bind_text(text), bind_text(in->provider_id),
                   bind_text(out->action), bind_int(now)) != 1)
        goto fail;
    if (r == 0) /* an unknown number: recorded, and no clinic to answer for */
        return store_commit(n->db, err);

    out->clinic_id = cid;
    out->patient_id = pid;
    out->appointment_id = has_visit ? a.id : 0;
    const char *reply = NULL;
    int opened = 0;
    switch (kw) {
    case KW_CONFIRM:
        if (nudge_appointment_confirm(n, cid, a.id, err) < 0 ||
            (also_start &&
             patient_set_consent(n, &p, in->channel, 0, in->text, in->provider_id, err) < 0))
            goto fail;
        reply = "reply_confirmed";
        break;
    case KW_CANCEL:
        if (nudge_appointment_cancel(n, cid, a.id, err) < 0)
            goto fail;
        reply = "reply_cancelled";
        break;
    case KW_RESCHEDULE:
        /* A person finds the new time: the request waits in a ticket. */
        if (ticket_file(n, &p, in->channel, in->text, in->provider_id, "Reschedule request", &out->ticket_id, &opened, err) < 0)
            goto fail;
        reply = "reply_reschedule";
        break;
    case KW_STOP:
    case KW_START:
        if (patient_set_consent(n, &p, in->channel, kw == KW_STOP, in->text, in->provider_id, err) < 0)
            goto fail;
        reply = kw == KW_STOP ? "reply_stop" : "reply_start";
        break;
    case KW_HELP:
        reply = "reply_help";
        break;
    case KW_NONE:
        if (ticket_file(n, &p, in->channel, in->text, in->provider_id, "Message from a patient", &out->ticket_id, &opened, err) < 0)
            goto fail;
        /* Acknowledge a new conversation, not every line of it. */
        reply = opened ? "reply_received" : NULL;
        break;
    }
    json_t *ev = json_pack("{s:I, s:s, s:s, s:I}", "patient_id", (json_int_t)pid, "channel",
                           in->channel, "action", out->action, "inbound_id",
                           (json_int_t)inbound_id);
    if (event_emit(n, cid, "message.inbound", pid, ev, err) < 0)
        goto fail;
    if (provider_answered) /* Twilio answered STOP, START or HELP itself */
        reply = NULL;
    if (reply && answer(n, &c, &p, has_visit ? &a : NULL, in, inbound_id, reply, out, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* ---- the reply rate ---- */

/* Instants to clinic-local days. Rows come in time order, so the day last
 * found ([lo, hi) in UTC) usually holds the next one too and the zone is
 * asked once a day, not once a row. */
typedef struct reply_tally {
    const char *tz;
    nudge_reply_stats *s;
    int cap, replies; /* which count this scan adds to */
    int64_t lo, hi;
    char date[16]; /* YYYY-MM-DD, room for what the compiler fears */
} reply_tally;

static int reply_tally_day(reply_tally *t, int64_t at)
{
    tz_local l, next;
    if (tz_to_local(at, t->tz, &l) < 0)
        return -1;
    tz_local mid = {.year = l.year, .month = l.month, .day = l.day};
    if (tz_from_local(&mid, t->tz, &t->lo) < 0 || tz_to_local(t->lo + 30 * 3600, t->tz, &next) < 0)
        return -1;
    tz_local mid2 = {.year = next.year, .month = next.month, .day = next.day};
    if (tz_from_local(&mid2, t->tz, &t->hi) < 0)
        return -1;
    snprintf(t->date, sizeof t->date, "%04d-%02d-%02d", l.year, l.month, l.day);
    return 0;
}

static int reply_tally_add(reply_tally *t, int64_t at)
{
    if ((at < t->lo || at >= t->hi) && reply_tally_day(t, at) < 0)
        return -1;
    nudge_reply_stats *s = t->s;
    int a = 0, b = s->n_days; /* the first day not before t->date */
    while (a < b) {
        int m = (a + b) / 2;
        if (strcmp(s->days[m].date, t->date) < 0)
            a = m + 1;
        else
            b = m;
    }
    if (a == s->n_days || strcmp(s->days[a].date, t->date)) {
        if (s->n_days == t->cap) {
            int cap = t->cap ? 2 * t->cap : 32;
            nudge_reply_day *d = realloc(s->days, (size_t)cap * sizeof *d);
            if (!d)
                return -2;
            s->days = d;
            t->cap = cap;
        }
        memmove(s->days + a + 1, s->days + a, (size_t)(s->n_days - a) * sizeof *s->days);
        memset(s->days + a, 0, sizeof *s->days);
        snprintf(s->days[a].date, sizeof s->days[a].date, "%.10s", t->date);
        s->n_days++;
    }
    if (t->replies) {
        s->days[a].replies++;
        s->replies++;
    } else {
        s->days[a].sent++;
        s->sent++;
    }
    return 0;
}

int nudge_reply_stats_get(nudge *n, int64_t clinic_id, int64_t from, int64_t to,
                          nudge_reply_stats *out, nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    if (range_check(from, &to, err) < 0)
        return -1;
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    /* The sent times (queue.c's), then the replies; each row a day's count. */
    reply_tally t = {.tz = c.timezone, .s = out, .lo = 1, .hi = 0};
    int r = 0;
    for (t.replies = 0; t.replies < 2 && r == 0; t.replies++) {
        store_stmt *st;
        if ((t.replies ? store_query(n->db, &st, err,
                                     "SELECT received_at FROM inbound_messages WHERE clinic_id = ? "
                                     "AND received_at >= ? AND received_at < ? ORDER BY "
                                     "received_at",
                                     bind_int(clinic_id), bind_int(from), bind_int(to))
                       : queue_sent_times(n, clinic_id, from, to, &st, err)) < 0) {
            r = -1;
            break;
        }
        int row = 0;
        while (r == 0 && (row = store_next(st, err)) == 1)
            r = reply_tally_add(&t, store_int(st, 0));
        store_done(st);
        if (r == 0 && row < 0)
            r = -1;
    }
    if (r != 0) {
        nudge_reply_stats_free(out);
        if (r == -2)
            return err_set(err, NUDGE_ENOMEM, NULL, "out of memory counting replies");
        if (!err->code)
            return err_set(err, NUDGE_EINVAL, "timezone", "cannot place a time in %s",
                           c.timezone);
        return -1;
    }
    for (int i = 0; i < out->n_days; i++)
        if (out->days[i].sent)
            out->days[i].reply_rate = (double)out->days[i].replies / (double)out->days[i].sent;
    if (out->sent)
        out->reply_rate = (double)out->replies / (double)out->sent;
    return 0;
}

void nudge_reply_stats_free(nudge_reply_stats *s)
{
    free(s->days);
    memset(s, 0, sizeof *s);
}

/* A patient's words are kept even when their bytes are not UTF-8 (a
 * handset's or a gateway's fault): each byte that begins no character
 * becomes '?'. The store refuses invalid text, and a refused webhook would
 * lose the message, a STOP included. */
int nudge_inbound_handle(nudge *n, const nudge_inbound *in, nudge_reply *out, nudge_err *err)
{
    if (utf8_ok(in->text ? in->text : "") && utf8_ok(in->provider_id ? in->provider_id : ""))
        return reply_handle(n, in, out, err);
    nudge_inbound clean = *in;
    size_t tl = in->text ? strlen(in->text) + 1 : 1;
    size_t pl = in->provider_id ? strlen(in->provider_id) + 1 : 1;
    char *text = malloc(tl), *pid = malloc(pl);
    if (!text || !pid)
        abort();
    clean.text = in->text ? utf8_clip(text, tl, in->text) : NULL;
    clean.provider_id = in->provider_id ? utf8_clip(pid, pl, in->provider_id) : NULL;
    int rc = reply_handle(n, &clean, out, err);
    free(text);
    free(pid);
    return rc;
}
