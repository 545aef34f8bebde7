/*
 * transport.c: the table of transports, as curl lists its TLS backends.
 * The handle walks it in order to build what the configuration names, and
 * the first transport built for a medium carries it (MSG91 before Twilio:
 * where MSG91 is configured, India's DLT rules make it carry SMS); the
 * outbox, last, carries whatever nothing else does. A transport an
 * embedder registers through the C API is wrapped here so the dispatcher
 * sees one kind of thing.
 */
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "signature.h"
#include "util.h"

const transport *const transports[] = {
    &transport_smtp, &transport_msg91, &transport_twilio, &transport_whatsapp, &transport_outbox,
    NULL,
};

channel *channel_new(const transport *t, void *priv, int sends)
{
    channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->t = t;
    ch->name = t->name;
    ch->priv = priv;
    ch->sends = sends;
    return ch;
}

const json_t *channel_data(const channel_msg *m, const char *key)
{
    return m->data ? json_object_get(m->data, key) : NULL;
}

int nudge_form_parse(const char *body, size_t len, nudge_form_field *f, size_t max,
                     char **storage)
{
    sig_param *p = calloc(max ? max : 1, sizeof *p);
    *storage = NULL;
    if (!p)
        return -1;
    int n = sig_form_parse(body, len, p, max, storage);
    for (int i = 0; i < n; i++) {
        f[i].name = p[i].name;
        f[i].value = p[i].value;
    }
    free(p);
    return n;
}

/* An embedder's transport: its own name, its context, the public shape of
 * a message. */
typedef struct custom_priv {
    nudge_transport t;
    void *ctx;
    char name[32];
} custom_priv;

static int custom_send(channel *ch, const channel_msg *m, channel_outcome *out)
{
    custom_priv *p = ch->priv;
    char *data = m->data ? json_dumps(m->data, JSON_COMPACT) : NULL;
    nudge_outgoing o = {
        .id = m->id,
        .clinic_id = m->clinic_id,
        .medium = m->channel,
        .to = m->to,
        .from_name = m->from_name,
        .reply_to = m->reply_to,
        .subject = m->subject,
        .text = m->text,
        .html = m->html,
        .language = m->language,
        .template_name = m->template_name,
        .transport_data = data,
        .now = m->now,
    };
    nudge_send_outcome r;
    memset(&r, 0, sizeof r);
    int rc = p->t.send(p->ctx, &o, &r);
    free(data);
    if (rc < 0)
        return -1;
    static const enum channel_result map[] = {
        [NUDGE_SENT] = CHANNEL_SENT,
        [NUDGE_SEND_TRANSIENT] = CHANNEL_TRANSIENT,
        [NUDGE_SEND_PERMANENT] = CHANNEL_PERMANENT,
        [NUDGE_SEND_CONFIG] = CHANNEL_CONFIG,
    };
    out->result = r.result >= NUDGE_SENT && r.result <= NUDGE_SEND_CONFIG ? map[r.result]
                                                                           : CHANNEL_TRANSIENT;
    r.provider_id[sizeof r.provider_id - 1] = 0;
    r.detail[sizeof r.detail - 1] = 0;
    utf8_clip(out->provider_id, sizeof out->provider_id, r.provider_id); /* the store binds */
    utf8_clip(out->detail, sizeof out->detail, r.detail);                /* UTF-8 only */
    out->retry_after = r.retry_after;
    return 0;
}

static void custom_free(channel *ch)
{
    custom_priv *p = ch->priv;
    if (p->t.free)
        p->t.free(p->ctx);
    free(p);
    free(ch);
}

static const transport transport_custom = {
    .name = "custom",
    .send = custom_send,
    .free = custom_free,
};

channel *channel_custom_new(const nudge_transport *t, void *ctx, nudge_err *err)
{
    if (!t || !t->send || str_blank(t->name) || strlen(t->name) > 31)
        return err_set(err, NUDGE_EINVAL, "transport",
                       "a transport needs a name (at most 31 bytes) and a send"),
               NULL;
    custom_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_custom, p, 1) : NULL;
    if (!ch) {
        free(p);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
    }
    p->t = *t;
    p->ctx = ctx;
    str_copy(p->name, sizeof p->name, t->name);
    ch->name = p->name;
    return ch;
}
