/*
 * webhooks.c: what providers send back. Each request is verified first,
 * by the library (nudge_webhook_verify: the transport checks its
 * provider's signature or secret over exactly what was signed), before
 * anything in it is believed; a request that fails is refused with 403
 * and a log line and touches nothing. Verified status reports move
 * notifications forward only (nudge_delivery_report), so duplicates and
 * late arrivals are harmless. Speaks only the public library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nudge.h"
#include "http/http.h"

#define MAX_PARAMS 64

static int refuse(http_req *r, const char *why)
{
    /* Never the body, never the signature: only which hook and why. */
    char path[256];
    fprintf(stderr, "nudge: webhook %s refused: %s\n",
            nudge_log_text(path, sizeof path, r->path, strlen(r->path)), why);
    return http_problem(r, 403, "Forbidden", "the request is not signed by the provider", NULL);
}

static const char *param(const nudge_form_field *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(p[i].name, name))
            return p[i].value;
    return NULL;
}

static const char *wh_header(void *ctx, const char *name)
{
    return http_header(ctx, name);
}

static const char *wh_query(void *ctx, const char *name)
{
    return http_query(ctx, name);
}

/* Asks the transport whether the request is its provider's. -1: the
 * answer (404 or 403) is already set. */
static int verified(http_req *r, const char *transport, const char *method)
{
    if (!r->n)
        return http_problem(r, 503, "Unavailable", "the database cannot be opened", NULL), -1;
    nudge_webhook w = {
        .method = method,
        .path = r->path,
        .body = r->body,
        .body_len = r->body_len,
        .header = wh_header,
        .query = wh_query,
        .ctx = r,
    };
    nudge_err e = {0};
    if (nudge_webhook_verify(r->n, transport, &w, &e) == 0)
        return 0;
    if (e.code == NUDGE_ENOTFOUND)
        return http_problem(r, 404, "Not found", e.msg, NULL), -1;
    return refuse(r, e.msg), -1;
}

/* A POST with a JSON body, verified: the body (the caller releases it), or
 * NULL once the answer is set. */
static json_t *verified_json(http_req *r, const char *transport)
{
    return verified(r, transport, "POST") < 0 ? NULL : http_body(r);
}

/* A Twilio request's form: its fields point into storage. */
typedef struct twilio_form {
    nudge_form_field p[MAX_PARAMS];
    int n;
    char *storage;
} twilio_form;

/* A Twilio request, verified, its form in f (the caller frees f->storage).
 * -1: the answer (403 and friends) is already set, and nothing is left to
 * free. */
static int twilio_verified(http_req *r, twilio_form *f)
{
    f->storage = NULL;
    if (verified(r, "twilio", "POST") < 0)
        return -1;
    f->n = nudge_form_parse(r->body, r->body_len, f->p, MAX_PARAMS, &f->storage);
    if (f->n >= 0)
        return 0;
    free(f->storage);
    f->storage = NULL;
    return refuse(r, "the form cannot be read"), -1;
}

/* POST /webhooks/twilio/status: Twilio's StatusCallback. */
int api_twilio_status(http_req *r)
{
    twilio_form f;
    if (twilio_verified(r, &f) < 0)
        return 0;
    const char *sid = param(f.p, f.n, "MessageSid"), *status = param(f.p, f.n, "MessageStatus");
    nudge_err e = {0};
    int applied = 0;
    int rc = sid && status ? nudge_delivery_report(r->n, "twilio", sid, status,
                                                   param(f.p, f.n, "ErrorCode"), &applied, &e)
                           : 0;
    free(f.storage);
    if (rc < 0 && e.code != NUDGE_ENOTFOUND)
        return http_fail(r, &e);
    /* Unknown messages are acknowledged too: Twilio cannot do better, and
     * a 4xx would only make it log an error on the clinic's account. */
    return http_ok(r, 200, json_pack("{s:b}", "applied", applied));
}

/* POST /webhooks/twilio/inbound: an SMS from a patient. The answer goes
 * through the queue (tracked, retried, rate limited), so Twilio gets an
 * empty TwiML response. */
int api_twilio_inbound(http_req *r)
{
    twilio_form f;
    if (twilio_verified(r, &f) < 0)
        return 0;
    /* With Advanced Opt-Out Twilio has answered STOP, START and HELP
     * itself and says which it read (OptOutType): nudge records it and
     * sends no answer of its own. */
    nudge_inbound in = {.channel = "sms",
                        .from = param(f.p, f.n, "From"),
                        .text = param(f.p, f.n, "Body"),
                        .provider_id = param(f.p, f.n, "MessageSid"),
                        .opt_out = param(f.p, f.n, "OptOutType")};
    nudge_reply out;
    nudge_err e = {0};
    int rc = in.from ? nudge_inbound_handle(r->n, &in, &out, &e) : 0;
    free(f.storage);
    if (rc < 0)
        return http_fail(r, &e);
    r->status = 200;
    r->raw = strdup("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
    r->raw_type = "text/xml";
    return 0;
}

/* GET /webhooks/whatsapp: Meta's subscription handshake. */
int api_whatsapp_verify(http_req *r)
{
    if (!r->n) /* as before: no store, no configuration to check against */
        return http_problem(r, 404, "Not found", "WhatsApp is not configured here", NULL);
    if (verified(r, "whatsapp", "GET") < 0)
        return 0;
    r->status = 200;
    r->raw = strdup(http_query(r, "hub.challenge"));
    r->raw_type = "text/plain";
    return 0;
}

/* One patient's message: its text (a button's shown text), the button's id
 * or payload, and the message it answers (context.id). */
static void wa_message(http_req *r, json_t *msg, int *handled, nudge_err *e, int *failed)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *text = "", *button = NULL;
    json_t *b = NULL;
    if (type && !strcmp(type, "text")) {
        text = json_string_value(json_object_get(json_object_get(msg, "text"), "body"));
    } else if (type && !strcmp(type, "button")) { /* an approved template's quick reply */
        b = json_object_get(msg, "button");
        button = json_string_value(json_object_get(b, "payload"));
        text = json_string_value(json_object_get(b, "text"));
    } else if (type && !strcmp(type, "interactive")) { /* our reply buttons */
        b = json_object_get(json_object_get(msg, "interactive"), "button_reply");
        button = json_string_value(json_object_get(b, "id"));
        text = json_string_value(json_object_get(b, "title"));
    }
    nudge_inbound in = {
        .channel = "whatsapp",
        .from = json_string_value(json_object_get(msg, "from")),
        .text = text ? text : "",
        .button_id = button,
        .provider_id = json_string_value(json_object_get(msg, "id")),
        .context_id = json_string_value(json_object_get(json_object_get(msg, "context"), "id")),
    };
    nudge_reply out;
    if (!in.from)
        return;
    if (nudge_inbound_handle(r->n, &in, &out, e) < 0)
        *failed = 1;
    else
        (*handled)++;
}

/* POST /webhooks/whatsapp: statuses and patients' messages, verified over
 * the raw bytes before any JSON is parsed. */
int api_whatsapp_events(http_req *r)
{
    json_t *j = verified_json(r, "whatsapp");
    if (!j)
        return 0;
    int statuses = 0, messages = 0, failed = 0;
    nudge_err e = {0};
    size_t i, k, m;
    json_t *entry, *change, *item;
    json_array_foreach(json_object_get(j, "entry"), i, entry)
    {
        json_array_foreach(json_object_get(entry, "changes"), k, change)
        {
            json_t *value = json_object_get(change, "value");
            json_array_foreach(json_object_get(value, "statuses"), m, item)
            {
                const char *id = json_string_value(json_object_get(item, "id"));
                const char *st = json_string_value(json_object_get(item, "status"));
                char code[24] = "";
                json_t *c = json_object_get(json_array_get(json_object_get(item, "errors"), 0),
                                            "code");
                if (json_is_integer(c))
                    snprintf(code, sizeof code, "%lld", (long long)json_integer_value(c));
                if (!id || !st)
                    continue;
                if (nudge_delivery_report(r->n, "whatsapp", id, st, code, NULL, &e) < 0 &&
                    e.code != NUDGE_ENOTFOUND)
                    failed = 1;
                else
                    statuses++;
            }
            json_array_foreach(json_object_get(value, "messages"), m, item)
                wa_message(r, item, &messages, &e, &failed);
        }
    }
    json_decref(j);
    if (failed) /* Meta retries a failed delivery; what was done is idempotent */
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:i, s:i}", "statuses", statuses, "messages", messages));
}

/* POST /webhooks/msg91/status: MSG91's delivery report, verified by the
 * shared secret configured with it (MSG91 does not sign its reports). */
int api_msg91_status(http_req *r)
{
    json_t *j = verified_json(r, "msg91");
    if (!j)
        return 0;
    const char *id = json_string_value(json_object_get(j, "requestId"));
    const char *code = json_string_value(json_object_get(j, "status"));
    /* MSG91's numeric statuses: 1 delivered; 2 failed, 9 NDNC, 16 rejected,
     * 17 blocked, 25 rejected by the operator; others are interim. */
    char key[16] = "";
    if (code)
        snprintf(key, sizeof key, ",%.8s,", code);
    const char *status = !code                ? NULL
                         : !strcmp(code, "1") ? "delivered"
                         : strstr(",2,9,16,17,25,", key) ? "failed"
                                                         : "accepted";
    nudge_err e = {0};
    int applied = 0;
    int rc = id && status ? nudge_delivery_report(r->n, "msg91", id, status,
                                                  strcmp(status, "failed") ? NULL : code, &applied,
                                                  &e)
                          : 0;
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:b}", "applied", applied));
}
