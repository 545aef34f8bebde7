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
    json_t *flow = m->msg91_flow ? json_loads(m->msg91_flow, 0, NULL) : NULL;
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
            json_decref(flow);
            return 1;
        }
        json_object_set(rcpt, k, v);
    }
    json_t *body = json_pack("{s:O, s:s, s:[o]}", "template_id",
                             json_object_get(flow, "template_id"), "short_url", "0",
                             "recipients", rcpt);
    json_decref(flow);
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
        snprintf(out->detail, sizeof out->detail, "msg91 %ld: %.200s", status, msg ? msg : "");
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
    channel *ch = calloc(1, sizeof *ch);
    channel_post_priv *p = calloc(1, sizeof *p);
    if (!ch || !p) {
        free(ch);
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
    ch->name = "msg91";
    ch->start = msg91_start;
    ch->finish = msg91_finish;
    ch->free = channel_post_free;
    ch->priv = p;
    return ch;
}
