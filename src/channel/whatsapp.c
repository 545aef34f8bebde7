/*
 * whatsapp.c: WhatsApp Business Cloud API, asynchronous like Twilio.
 *
 *   POST {base}/{version}/{phone-number-id}/messages, Bearer token, JSON.
 *
 * Inside the 24-hour customer-service window a message goes as text, and
 * an appointment's confirmation or reminder as interactive reply buttons
 * (Confirm / Reschedule, answered through the webhook). Outside it only
 * an approved template may go: the clinic's mapping fills it. With
 * neither, the message fails permanently here, without a request, so the
 * SMS fallback can take over at once.
 *
 * Many failures (131047 outside the window, 131026 undeliverable) arrive
 * later as a failed status webhook after a 200; those are handled where
 * statuses are.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "signature.h"
#include "util.h"

static int wa_buttons(const char *template_name)
{
    return !strcmp(template_name, "appointment_reminder") ||
           !strcmp(template_name, "appointment_confirmation");
}

static json_t *wa_interactive(const channel_msg *m)
{
    int hi = m->language && !strcmp(m->language, "hi");
    return json_pack("{s:s, s:{s:s}, s:{s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}}", "type",
                     "button", "body", "text", m->text, "action", "buttons", "type", "reply",
                     "reply", "id", "confirm", "title", hi ? "पक्का करें" : "Confirm", "type", "reply",
                     "reply", "id", "reschedule", "title", hi ? "समय बदलें" : "Reschedule");
}

/* {name, language, params[]} as the API's template object. */
static json_t *wa_template(const json_t *s)
{
    if (!s || !json_is_string(json_object_get(s, "name")))
        return NULL; /* a document alone: no approved template mapped */
    json_t *params = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(s, "params"), i, v)
        json_array_append_new(params, json_pack("{s:s, s:O}", "type", "text", "text", v));
    json_t *t = json_pack("{s:O, s:{s:O}}", "name", json_object_get(s, "name"), "language", "code",
                          json_object_get(s, "language"));
    if (t && json_array_size(params))
        json_object_set_new(t, "components",
                            json_pack("[{s:s, s:o}]", "type", "body", "parameters", params));
    else
        json_decref(params);
    return t;
}

static int wa_start(channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out)
{
    channel_post_priv *p = ch->priv;
    /* The API wants the number's digits, without the '+'. */
    const char *to = m->to && m->to[0] == '+' ? m->to + 1 : m->to;
    if (!to || strlen(to) < 8 || strlen(to) > 15 || strspn(to, "0123456789") != strlen(to)) {
        out->result = CHANNEL_PERMANENT;
        snprintf(out->detail, sizeof out->detail, "not a WhatsApp number");
        return 1;
    }
    json_t *msg = json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp", "recipient_type",
                            "individual", "to", to);
    /* WhatsApp's rule: free-form only within 24 hours of the patient's
     * last message; otherwise the approved template stored with it. */
    int window = m->last_inbound && m->now - m->last_inbound < 24 * 3600;
    const json_t *spec = channel_data(m, "whatsapp");
    json_t *doc = json_object_get(spec, "document");
    if (window && doc) {
        /* The prescription itself, with the message as its caption. */
        json_object_set_new(msg, "type", json_string("document"));
        json_object_set_new(msg, "document",
                            json_pack("{s:O, s:O, s:s}", "link", json_object_get(doc, "link"),
                                      "filename", json_object_get(doc, "filename"), "caption",
                                      m->text));
    } else if (window) {
        if (wa_buttons(m->template_name) && strlen(m->text) <= 1024) {
            json_object_set_new(msg, "type", json_string("interactive"));
            json_object_set_new(msg, "interactive", wa_interactive(m));
        } else {
            json_object_set_new(msg, "type", json_string("text"));
            json_object_set_new(msg, "text",
                                json_pack("{s:s, s:b}", "body", m->text, "preview_url", 0));
        }
    } else {
        json_t *t = wa_template(spec);
        if (!t) {
            json_decref(msg);
            out->result = CHANNEL_PERMANENT;
            snprintf(out->detail, sizeof out->detail,
                     "outside the 24-hour window and no approved template mapped for %.64s",
                     m->template_name);
            return 1;
        }
        json_object_set_new(msg, "type", json_string("template"));
        json_object_set_new(msg, "template", t);
    }
    if (channel_post_json(x, p->url, msg, p->auth, p->timeout_ms) < 0) {
        out->result = CHANNEL_TRANSIENT;
        snprintf(out->detail, sizeof out->detail, "cannot start a transfer");
        return 1;
    }
    return 0;
}

static void wa_finish(channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out)
{
    (void)ch;
    channel_post_end(x);
    if (channel_post_failed(x, rc, "whatsapp", out))
        return;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = x->body.data ? json_loads(x->body.data, 0, NULL) : NULL;
    if (status == 200) {
        const char *id = json_string_value(
            json_object_get(json_array_get(json_object_get(j, "messages"), 0), "id"));
        out->result = CHANNEL_SENT; /* accepted: retrying could send twice */
        if (!id || str_copy(out->provider_id, sizeof out->provider_id, id) < 0)
            snprintf(out->detail, sizeof out->detail, "whatsapp: answer without a message id");
        json_decref(j);
        return;
    }
    json_t *e = json_object_get(j, "error");
    json_int_t code = json_integer_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    char m[181];
    snprintf(out->detail, sizeof out->detail, "whatsapp %ld: %lld %s", status, (long long)code,
             utf8_clip(m, sizeof m, msg));
    out->retry_after = (int)x->retry_after;
    if (code == 130429 || code == 131056 || status == 429 || status >= 500)
        out->result = CHANNEL_TRANSIENT;
    else if (code == 190 || status == 401 || status == 403)
        out->result = CHANNEL_CONFIG;
    else
        out->result = CHANNEL_PERMANENT; /* 131047, 131026, 100 ... */
    json_decref(j);
}

channel *channel_whatsapp_new(const whatsapp_config *cfg, nudge_err *err)
{
    if (str_blank(cfg->phone_number_id) ||
        strspn(cfg->phone_number_id, "0123456789") != strlen(cfg->phone_number_id))
        return err_set(err, NUDGE_EINVAL, "whatsapp_phone_number_id",
                       "the WhatsApp phone number id is digits"),
               NULL;
    if (str_blank(cfg->token))
        return err_set(err, NUDGE_EINVAL, "whatsapp_token", "the WhatsApp access token is missing"),
               NULL;
    channel_post_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_whatsapp, p, 1) : NULL;
    if (!ch) {
        free(p);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
    }
    sbuf u = {0};
    sbuf_printf(&u, "%s/%s/%s/messages",
                cfg->base_url && *cfg->base_url ? cfg->base_url : "https://graph.facebook.com",
                cfg->version && *cfg->version ? cfg->version : "v23.0", cfg->phone_number_id);
    p->url = sbuf_take(&u);
    sbuf a = {0};
    sbuf_printf(&a, "Authorization: Bearer %s", cfg->token);
    p->auth = sbuf_take(&a);
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    return ch;
}

/* Sending needs the number's id; the webhooks need only their secrets, so
 * a handle may verify them without sending through WhatsApp. */
static int wa_create(const nudge_config *cfg, channel **out, nudge_err *err)
{
    *out = NULL;
    if (cfg->whatsapp_phone_number_id && *cfg->whatsapp_phone_number_id) {
        whatsapp_config wc = {
            .base_url = cfg->whatsapp_base_url,
            .version = cfg->whatsapp_version,
            .phone_number_id = cfg->whatsapp_phone_number_id,
            .token = cfg->whatsapp_token,
        };
        if (!(*out = channel_whatsapp_new(&wc, err)))
            return -1;
    } else if (cfg->whatsapp_app_secret || cfg->whatsapp_verify_token) {
        if (!(*out = channel_post_listener(&transport_whatsapp, err)))
            return -1;
    } else {
        return 0;
    }
    channel_post_priv *p = (*out)->priv;
    p->secret = str_dup(cfg->whatsapp_app_secret);
    p->token = str_dup(cfg->whatsapp_verify_token);
    return 0;
}

/* GET: Meta's subscription handshake, by the verify token. POST: signed
 * over the raw bytes, checked before any JSON is parsed (a re-serialised
 * body would not match: Meta escapes non-ASCII and '/'). */
static int wa_verify(channel *ch, const nudge_webhook *w, nudge_err *err)
{
    channel_post_priv *p = ch ? ch->priv : NULL;
    if (w->method && !strcmp(w->method, "GET")) {
        if (!p || !p->token)
            return err_set(err, NUDGE_ENOTFOUND, "", "WhatsApp is not configured here");
        const char *mode = w->query(w->ctx, "hub.mode"),
                   *token = w->query(w->ctx, "hub.verify_token"),
                   *challenge = w->query(w->ctx, "hub.challenge");
        if (!mode || strcmp(mode, "subscribe") || !token || !challenge ||
            !sig_equal(token, p->token))
            return err_set(err, NUDGE_EDENIED, "", "the verify token does not match");
        return 0;
    }
    if (!p || !p->secret)
        return err_set(err, NUDGE_ENOTFOUND, "", "WhatsApp is not configured here");
    const char *given = w->header(w->ctx, "X-Hub-Signature-256");
    char want[80];
    if (!given)
        return err_set(err, NUDGE_EDENIED, "", "no X-Hub-Signature-256");
    if (sig_hub256(p->secret, w->body, w->body_len, want, sizeof want) < 0 ||
        !sig_equal(want, given))
        return err_set(err, NUDGE_EDENIED, "", "the signature does not match");
    return 0;
}

const transport transport_whatsapp = {
    .name = "whatsapp",
    .medium = "whatsapp",
    .caps = TRANSPORT_INBOUND | TRANSPORT_WEBHOOK,
    .create = wa_create,
    .start = wa_start,
    .finish = wa_finish,
    .verify = wa_verify,
    .free = channel_post_free,
};
