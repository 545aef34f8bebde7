/*
 * twilio.c: SMS through Twilio's Programmable Messaging REST API, as an
 * asynchronous channel: start builds one POST per message for the
 * dispatcher's multi handle, finish reads Twilio's answer into an outcome.
 *
 *   POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json
 *   Basic auth AccountSid:AuthToken, form body To, From | MessagingServiceSid,
 *   Body, StatusCallback.
 *
 * Classification follows Twilio's documented errors: 201 is sent (the SM
 * sid is the provider id); 429 and 5xx are transient (Retry-After
 * honoured); 401/403 and an unknown account are our configuration; 4xx with
 * a code such as 21211 (invalid To) or 21610 (the recipient sent STOP) are
 * permanent, and 21610 also records the patient's opt-out (channel_outcome's
 * opted_out). Connection failures and timeouts are transient.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "signature.h"
#include "util.h"

typedef struct twilio_priv {
    char *url;   /* the Messages.json endpoint */
    char *sid, *token, *from, *service, *callback;
    char *public_url; /* what Twilio's callbacks are signed over */
    long timeout_ms;
} twilio_priv;

static int e164_ok(const char *s)
{
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 8 && n <= 15;
}

/* name=value&..., each value percent-encoded ('+' becomes %2B, never a
 * space). */
static void form_add(sbuf *b, const char *name, const char *value)
{
    /* No handle needed: libcurl has ignored it here since 7.82. */
    char *v = curl_easy_escape(NULL, value, 0);
    sbuf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v ? v : "");
    curl_free(v);
}

static void twilio_fail(channel_outcome *o, enum channel_result r, const char *fmt,
                        const char *arg)
{
    o->result = r;
    snprintf(o->detail, sizeof o->detail, fmt, arg);
}

static int twilio_start(channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out)
{
    twilio_priv *p = ch->priv;
    /* Checked here, not by Twilio: a number that cannot be valid must not
     * cost a request (and the spec's phone-number format is not enforced
     * by generic validators on their side either). */
    if (!e164_ok(m->to)) {
        twilio_fail(out, CHANNEL_PERMANENT, "not an E.164 number%s", "");
        return 1;
    }
    if (!m->text || !*m->text) {
        twilio_fail(out, CHANNEL_PERMANENT, "empty message%s", "");
        return 1;
    }
    sbuf form = {0};
    form_add(&form, "To", m->to);
    /* The clinic's own sender wins over the account's default. */
    if (m->sender && !strncmp(m->sender, "MG", 2))
        form_add(&form, "MessagingServiceSid", m->sender);
    else if (m->sender)
        form_add(&form, "From", m->sender);
    else if (p->service)
        form_add(&form, "MessagingServiceSid", p->service);
    else
        form_add(&form, "From", p->from);
    form_add(&form, "Body", m->text);
    if (p->callback)
        form_add(&form, "StatusCallback", p->callback);
    size_t len = form.len;
    if (channel_post_begin(x, p->url, sbuf_take(&form), len, NULL, p->timeout_ms) < 0) {
        twilio_fail(out, CHANNEL_TRANSIENT, "cannot start a transfer%s", "");
        return 1;
    }
    curl_easy_setopt(x->easy, CURLOPT_USERNAME, p->sid);
    curl_easy_setopt(x->easy, CURLOPT_PASSWORD, p->token);
    curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    return 0;
}

static void twilio_finish(channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out)
{
    (void)ch;
    channel_post_end(x);
    if (channel_post_failed(x, rc, "twilio", out))
        return;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = x->body.data ? json_loads(x->body.data, 0, NULL) : NULL;
    if (status == 200 || status == 201) {
        const char *sid = json_string_value(json_object_get(j, "sid"));
        if (sid && !str_copy(out->provider_id, sizeof out->provider_id, sid)) {
            out->result = CHANNEL_SENT;
        } else {
            /* Accepted but unreadable: retrying could send twice, so the
             * message counts as sent, without an id to track it by. */
            out->result = CHANNEL_SENT;
            snprintf(out->detail, sizeof out->detail, "twilio: answer without a sid");
        }
        json_decref(j);
        return;
    }
    json_int_t code = json_integer_value(json_object_get(j, "code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    char m[181];
    snprintf(out->detail, sizeof out->detail, "twilio %ld: %lld %s", status, (long long)code,
             utf8_clip(m, sizeof m, msg));
    out->retry_after = (int)x->retry_after;
    if (status == 429 || status >= 500 || code == 20429)
        out->result = CHANNEL_TRANSIENT;
    else if (status == 401 || status == 403 || code == 20003 || code == 20404)
        out->result = CHANNEL_CONFIG;
    else if (status == 404)
        out->result = CHANNEL_CONFIG; /* the account itself is not found */
    else
        out->result = CHANNEL_PERMANENT; /* 21211 invalid To, 21610 STOP, ... */
    /* The patient sent STOP to Twilio (Advanced Opt-Out): Twilio refuses
     * the number until START, so it is the patient's opt-out here too. */
    out->opted_out = code == 21610;
    json_decref(j);
}

static void twilio_free(channel *ch)
{
    if (!ch)
        return;
    twilio_priv *p = ch->priv;
    if (p) {
        str_free_secret(p->token);
        free(p->url);
        free(p->sid);
        free(p->from);
        free(p->service);
        free(p->callback);
        free(p->public_url);
        free(p);
    }
    free(ch);
}

static int sid_ok(const char *s, const char *prefix)
{
    if (!s || strncmp(s, prefix, 2) || strlen(s) != 34)
        return 0;
    for (const char *q = s + 2; *q; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))
            return 0;
    return 1;
}

channel *channel_twilio_new(const twilio_config *cfg, nudge_err *err)
{
    if (!sid_ok(cfg->account_sid, "AC"))
        return err_set(err, NUDGE_EINVAL, "twilio_account_sid",
                       "the Twilio account SID is AC and 32 hex digits"),
               NULL;
    if (!cfg->auth_token || !*cfg->auth_token)
        return err_set(err, NUDGE_EINVAL, "twilio_auth_token", "the Twilio auth token is missing"),
               NULL;
    int service = cfg->messaging_service_sid && *cfg->messaging_service_sid;
    if (service && !sid_ok(cfg->messaging_service_sid, "MG"))
        return err_set(err, NUDGE_EINVAL, "twilio_messaging_service_sid",
                       "a Messaging Service SID is MG and 32 hex digits"),
               NULL;
    if (!service && !e164_ok(cfg->from))
        return err_set(err, NUDGE_EINVAL, "twilio_from",
                       "Twilio needs a From number in E.164 or a Messaging Service SID"),
               NULL;
    twilio_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_twilio, p, 1) : NULL;
    if (!ch) {
        free(p);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
    }
    const char *base = cfg->base_url && *cfg->base_url ? cfg->base_url : "https://api.twilio.com";
    sbuf u = {0};
    sbuf_printf(&u, "%s/2010-04-01/Accounts/%s/Messages.json", base, cfg->account_sid);
    p->url = sbuf_take(&u);
    p->sid = str_dup(cfg->account_sid);
    p->token = str_dup(cfg->auth_token);
    p->from = service ? NULL : str_dup(cfg->from);
    p->service = service ? str_dup(cfg->messaging_service_sid) : NULL;
    p->callback = cfg->status_callback && *cfg->status_callback ? str_dup(cfg->status_callback)
                                                                 : NULL;
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    return ch;
}

static int twilio_create(const nudge_config *cfg, channel **out, nudge_err *err)
{
    *out = NULL;
    if (!cfg->twilio_account_sid || !*cfg->twilio_account_sid)
        return 0;
    char callback[512] = "";
    if (cfg->public_url && *cfg->public_url)
        snprintf(callback, sizeof callback, "%s/webhooks/twilio/status", cfg->public_url);
    twilio_config tc = {
        .base_url = cfg->twilio_base_url,
        .account_sid = cfg->twilio_account_sid,
        .auth_token = cfg->twilio_auth_token,
        .from = cfg->twilio_from,
        .messaging_service_sid = cfg->twilio_messaging_service_sid,
        .status_callback = callback[0] ? callback : NULL,
    };
    if (!(*out = channel_twilio_new(&tc, err)))
        return -1;
    ((twilio_priv *)(*out)->priv)->public_url = str_dup(cfg->public_url);
    return 0;
}

/* Twilio signs the URL it requested (our public URL and the path: the
 * URLs we give it have no query) and the form's fields; with or without
 * the port (https://host:443/...), as its own validators accept. */
static int twilio_verify(channel *ch, const nudge_webhook *w, nudge_err *err)
{
    twilio_priv *p = ch ? ch->priv : NULL;
    if (!p || !p->public_url)
        return err_set(err, NUDGE_ENOTFOUND, "", "Twilio is not configured here");
    const char *given = w->header(w->ctx, "X-Twilio-Signature");
    if (!given)
        return err_set(err, NUDGE_EDENIED, "", "no X-Twilio-Signature");
    sig_param f[64];
    char *storage = NULL;
    int nf = sig_form_parse(w->body, w->body_len, f, 64, &storage);
    if (nf < 0) {
        free(storage);
        return err_set(err, NUDGE_EDENIED, "", "the form cannot be read");
    }
    sbuf url = {0};
    sbuf_printf(&url, "%s%s", p->public_url, w->path);
    int ok = url.data && sig_twilio_valid(p->token, url.data, f, (size_t)nf, given);
    sbuf_free(&url);
    free(storage);
    return ok ? 0 : err_set(err, NUDGE_EDENIED, "", "the signature does not match");
}

const transport transport_twilio = {
    .name = "twilio",
    .medium = "sms",
    .caps = TRANSPORT_WEBHOOK,
    .create = twilio_create,
    .start = twilio_start,
    .finish = twilio_finish,
    .verify = twilio_verify,
    .free = twilio_free,
};
