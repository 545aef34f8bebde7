/*
 * msg91.c: SMS through MSG91's flow API, for Indian clinics that must send
 * DLT-registered templates. Asynchronous like the other HTTP channels.
 *
 *   POST {base}/api/v5/flow, header authkey, JSON
 *   {"template_id": ..., "short_url": "0",
 *    "recipients": [{"mobiles": "919876543210", "VAR1": ..., ...}]}
 *
 * Only a message whose nudge template the clinic mapped to its registered
 * template can go (the text itself is the registered one, filled by
 * MSG91), and each variable is at most 30 characters: both are checked
 * here, before any request, so a message that could never pass fails at
 * once with the reason. MSG91 may answer HTTP 200 with "type": "error", so
 * the body's type decides, not only the status.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "signature.h"
#include "util.h"

#define MSG91_VAR_MAX 30

/* Characters, not bytes: the cap is on what the patient reads. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int msg91_start(channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out)
{
    channel_post_priv *p = ch->priv;
    const char *to = m->to && m->to[0] == '+' ? m->to + 1 : m->to;
    const json_t *flow = channel_data(m, "msg91");
    out->result = CHANNEL_PERMANENT;
    if (!flow) {
        snprintf(out->detail, sizeof out->detail,
                 "msg91: no DLT template mapped for %.64s", m->template_name);
        return 1;
    }
    json_t *rcpt = json_pack("{s:s}", "mobiles", to ? to : "");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(flow, "vars"), k, v)
    {
        if (utf8_chars(json_string_value(v)) > MSG91_VAR_MAX) {
            snprintf(out->detail, sizeof out->detail,
                     "msg91: %.32s is longer than %d characters", k, MSG91_VAR_MAX);
            json_decref(rcpt);
            return 1;
        }
        json_object_set(rcpt, k, v);
    }
    json_t *body = json_pack("{s:O, s:s, s:[o]}", "template_id",
                             json_object_get(flow, "template_id"), "short_url", "0",
                             "recipients", rcpt);
    if (channel_post_json(x, p->url, body, p->auth, p->timeout_ms) < 0) {
        out->result = CHANNEL_TRANSIENT;
        snprintf(out->detail, sizeof out->detail, "msg91: cannot start a transfer");
        return 1;
    }
    return 0;
}

static void msg91_finish(channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out)
{
    (void)ch;
    channel_post_end(x);
    if (channel_post_failed(x, rc, "msg91", out))
        return;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = x->body.data ? json_loads(x->body.data, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (status == 200 && type && !strcmp(type, "success") && msg) {
        out->result = CHANNEL_SENT;
        str_copy(out->provider_id, sizeof out->provider_id, msg);
    } else {
        char m[201];
        snprintf(out->detail, sizeof out->detail, "msg91 %ld: %s", status,
                 utf8_clip(m, sizeof m, msg));
        out->retry_after = (int)x->retry_after;
        if (status == 429 || status >= 500)
            out->result = CHANNEL_TRANSIENT;
        else if (status == 401 || status == 403)
            out->result = CHANNEL_CONFIG;
        else
            out->result = CHANNEL_PERMANENT;
    }
    json_decref(j);
}

channel *channel_msg91_new(const msg91_config *cfg, nudge_err *err)
{
    if (str_blank(cfg->authkey))
        return err_set(err, NUDGE_EINVAL, "msg91_authkey", "the MSG91 authkey is missing"), NULL;
    channel_post_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_msg91, p, 1) : NULL;
    if (!ch) {
        free(p);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
    }
    sbuf u = {0};
    sbuf_printf(&u, "%s/api/v5/flow",
                cfg->base_url && *cfg->base_url ? cfg->base_url : "https://control.msg91.com");
    p->url = sbuf_take(&u);
    sbuf a = {0};
    sbuf_printf(&a, "authkey: %s", cfg->authkey);
    p->auth = sbuf_take(&a);
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    return ch;
}

/* Sending needs the authkey; the delivery reports need only the shared
 * secret. */
static int msg91_create(const nudge_config *cfg, channel **out, nudge_err *err)
{
    *out = NULL;
    if (cfg->msg91_authkey && *cfg->msg91_authkey) {
        msg91_config mc = {.base_url = cfg->msg91_base_url, .authkey = cfg->msg91_authkey};
        if (!(*out = channel_msg91_new(&mc, err)))
            return -1;
    } else if (cfg->msg91_webhook_secret) {
        if (!(*out = channel_post_listener(&transport_msg91, err)))
            return -1;
    } else {
        return 0;
    }
    ((channel_post_priv *)(*out)->priv)->secret = str_dup(cfg->msg91_webhook_secret);
    return 0;
}

/* MSG91 does not sign its reports: the shared secret configured with it
 * comes in the X-MSG91-Secret header or a ?secret= parameter, compared in
 * constant time before anything is read. */
static int msg91_verify(channel *ch, const nudge_webhook *w, nudge_err *err)
{
    channel_post_priv *p = ch ? ch->priv : NULL;
    if (!p || !p->secret)
        return err_set(err, NUDGE_ENOTFOUND, "", "MSG91 is not configured here");
    const char *given = w->header(w->ctx, "X-MSG91-Secret");
    if (!given)
        given = w->query(w->ctx, "secret");
    if (!given || !sig_equal(given, p->secret))
        return err_set(err, NUDGE_EDENIED, "", "the shared secret does not match");
    return 0;
}

const transport transport_msg91 = {
    .name = "msg91",
    .medium = "sms",
    .caps = TRANSPORT_WEBHOOK,
    .create = msg91_create,
    .start = msg91_start,
    .finish = msg91_finish,
    .verify = msg91_verify,
    .free = channel_post_free,
};
