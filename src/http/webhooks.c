/*
 * webhooks.c: what providers send back. Each request is verified by the
 * provider's signature over exactly what it signed before anything in it
 * is believed; a request that fails is refused with 403 and a log line and
 * touches nothing. Verified status reports move notifications forward
 * only (nudge_delivery_report), so duplicates and late arrivals are
 * harmless.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "http/http.h"
#include "signature.h"
#include "util.h"

#define MAX_PARAMS 64

static int refuse(http_req *r, const char *why)
{
    /* Never the body, never the signature: only which hook and why. */
    fprintf(stderr, "nudge: webhook %s refused: %s\n", r->path, why);
    return http_problem(r, 403, "Forbidden", "the request is not signed by the provider", NULL);
}

static const char *param(const sig_param *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(p[i].name, name))
            return p[i].value;
    return NULL;
}

/* A Twilio request, verified: its form in p (pointing into *storage, the
 * caller frees). -1: the answer (403 and friends) is already set. */
static int twilio_verified(http_req *r, sig_param *p, int *np, char **storage)
{
    *storage = NULL;
    if (!r->n)
        return http_problem(r, 503, "Unavailable", "the database cannot be opened", NULL), -1;
    if (!r->n->twilio_token || !r->n->public_url)
        return http_problem(r, 404, "Not found", "Twilio is not configured here", NULL), -1;
    const char *given = http_header(r, "X-Twilio-Signature");
    if (!given)
        return refuse(r, "no X-Twilio-Signature"), -1;
    *np = sig_form_parse(r->body, r->body_len, p, MAX_PARAMS, storage);
    if (*np < 0)
        return refuse(r, "the form cannot be read"), -1;
    /* Signed over the URL Twilio requested: our public URL and the path
     * (the URLs we give Twilio have no query). */
    sbuf url = {0};
    sbuf_printf(&url, "%s%s", r->n->public_url, r->path);
    char want[64];
    int ok = sig_twilio(r->n->twilio_token, url.data, p, (size_t)*np, want, sizeof want) == 0 &&
             sig_equal(want, given);
    sbuf_free(&url);
    if (!ok)
        return refuse(r, "the signature does not match"), -1;
    return 0;
}

/* POST /webhooks/twilio/status: Twilio's StatusCallback. */
int api_twilio_status(http_req *r)
{
    sig_param p[MAX_PARAMS];
    char *storage;
    int np;
    if (twilio_verified(r, p, &np, &storage) < 0) {
        free(storage);
        return 0;
    }
    const char *sid = param(p, np, "MessageSid"), *status = param(p, np, "MessageStatus");
    nudge_err e = {0};
    int applied = 0;
    int rc = sid && status ? nudge_delivery_report(r->n, "twilio", sid, status,
                                                   param(p, np, "ErrorCode"), &applied, &e)
                           : 0;
    free(storage);
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
    sig_param p[MAX_PARAMS];
    char *storage;
    int np;
    if (twilio_verified(r, p, &np, &storage) < 0) {
        free(storage);
        return 0;
    }
    nudge_inbound in = {.channel = "sms",
                        .from = param(p, np, "From"),
                        .text = param(p, np, "Body"),
                        .provider_id = param(p, np, "MessageSid")};
    nudge_reply out;
    nudge_err e = {0};
    int rc = in.from ? nudge_inbound_handle(r->n, &in, &out, &e) : 0;
    free(storage);
    if (rc < 0)
        return http_fail(r, &e);
    r->status = 200;
    r->raw = str_dup("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
    r->raw_type = "text/xml";
    return 0;
}
