/*
 * reply.c: two-way messaging. A patient's SMS or WhatsApp message is
 * matched to the patient by number and to their next visit, then read as
 * a keyword (confirm, cancel, reschedule, STOP, START, HELP; English and
 * Hindi, or a WhatsApp reply button) or filed in a support ticket. The
 * change, the consent record, the ticket, the event and the answer are
 * one transaction, keyed by the provider's message id, so a webhook
 * delivered twice is handled once. reply.c owns the inbound messages;
 * consent is the patient's (patient.c) and tickets are ticket.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
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

/* "cancel" is a visit's cancellation when one is coming, else a STOP. */
static enum kw kw_classify(const char *text, const char *button, int has_visit)
{
    static const char *const confirm[] = {"c", "yes", "y", "1", "confirm", "हाँ", "हां", "haan",
                                          "ha", "han", NULL};
    static const char *const cancel[] = {"n", "no", "cancel", "नहीं", "नही", "nahi", "nahin", NULL};
    static const char *const resched[] = {"r", "reschedule", NULL};
    static const char *const stop[] = {"stop", "stopall", "unsubscribe", "end", "quit", NULL};
    static const char *const start[] = {"start", "unstop", NULL};
    static const char *const help[] = {"help", "info", NULL};
    char w[64];
    kw_normalize(button && *button ? button : text ? text : "", w, sizeof w);
    if (kw_in(w, confirm))
        return KW_CONFIRM;
    if (kw_in(w, resched))
        return KW_RESCHEDULE;
    if (!strcmp(w, "cancel"))
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

/* The patient this number belongs to: the one with the soonest visit
 * ahead, else the newest (a number can be in several clinics). */
static int find_patient(nudge *n, const char *number, int64_t now, int64_t *patient,
                        int64_t *clinic, nudge_err *err)
{
    int64_t ids[64], best = 0, best_at = 0;
    int got = patient_by_phone(n, number, ids, 64, err); /* newest first */
    if (got <= 0)
        return got;
    for (int i = 0; i < got; i++) {
        int64_t visit = 0, at = 0;
        int r = appointment_next(n, ids[i], now, &visit, &at, err);
        if (r < 0)
            return -1;
        if (!best || (r == 1 && (!best_at || at < best_at))) {
            best = ids[i];
            best_at = r == 1 ? at : 0;
        }
    }
    nudge_patient p;
    if (nudge_patient_get(n, NUDGE_ANY_CLINIC, best, &p, err) < 0)
        return -1;
    *patient = p.id;
    *clinic = p.clinic_id;
    return 1;
}

static int next_visit(nudge *n, int64_t patient, int64_t now, nudge_appointment *a,
                      nudge_err *err)
{
    int64_t id = 0, at = 0;
    int r = appointment_next(n, patient, now, &id, &at, err);
    if (r == 1 && nudge_appointment_get(n, NUDGE_ANY_CLINIC, id, a, err) < 0)
        return -1;
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

int nudge_inbound_handle(nudge *n, const nudge_inbound *in, nudge_reply *out, nudge_err *err)
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
    int r = find_patient(n, number, now, &pid, &cid, err);
    if (r < 0)
        goto fail;
    nudge_patient p;
    nudge_clinic c;
    nudge_appointment a;
    int has_visit = 0;
    if (r == 1) {
        if (nudge_patient_get(n, cid, pid, &p, err) < 0 || nudge_clinic_get(n, cid, &c, err) < 0)
            goto fail;
        if ((has_visit = next_visit(n, pid, now, &a, err)) < 0)
            goto fail;
    }
    enum kw kw = r == 1 ? kw_classify(text, in->button_id, has_visit) : KW_NONE;
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
        if (nudge_appointment_confirm(n, cid, a.id, err) < 0)
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
    if (reply && answer(n, &c, &p, has_visit ? &a : NULL, in, inbound_id, reply, out, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}
