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
static json_t *wa_template(const char *spec)
{
    json_t *s = json_loads(spec, 0, NULL);
    if (!s || !json_is_string(json_object_get(s, "name"))) {
        json_decref(s); /* a document alone: no approved template mapped */
        return NULL;
    }
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
    json_decref(s);
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
    json_t *spec = m->wa_template ? json_loads(m->wa_template, 0, NULL) : NULL;
    json_t *doc = json_object_get(spec, "document");
    if (m->wa_window && doc) {
        /* The prescription itself, with the message as its caption. */
        json_object_set_new(msg, "type", json_string("document"));
        json_object_set_new(msg, "document",
                            json_pack("{s:O, s:O, s:s}", "link", json_object_get(doc, "link"),
                                      "filename", json_object_get(doc, "filename"), "caption",
                                      m->text));
    } else if (m->wa_window) {
        if (wa_buttons(m->template_name) && strlen(m->text) <= 1024) {
            json_object_set_new(msg, "type", json_string("interactive"));
            json_object_set_new(msg, "interactive", wa_interactive(m));
        } else {
            json_object_set_new(msg, "type", json_string("text"));
            json_object_set_new(msg, "text",
                                json_pack("{s:s, s:b}", "body", m->text, "preview_url", 0));
        }
    } else {
        json_t *t = m->wa_template ? wa_template(m->wa_template) : NULL;
        if (!t) {
            json_decref(spec);
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
    json_decref(spec);
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
    snprintf(out->detail, sizeof out->detail, "whatsapp %ld: %lld %.180s", status, (long long)code,
             msg ? msg : "");
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
    channel *ch = calloc(1, sizeof *ch);
    channel_post_priv *p = calloc(1, sizeof *p);
    if (!ch || !p) {
        free(ch);
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
    ch->name = "whatsapp";
    ch->start = wa_start;
    ch->finish = wa_finish;
    ch->free = channel_post_free;
    ch->priv = p;
    return ch;
}
