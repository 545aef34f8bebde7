/*
 * fuzz/webhooks.c: the providers' webhook parsers: Twilio's forms (status
 * callbacks and inbound SMS), WhatsApp's JSON events and subscription
 * handshake, MSG91's JSON reports. The handlers of src/http/webhooks.c are
 * compiled into this harness with their names changed, and their header
 * and query lookups (libmicrohttpd's, in server.c) answered here: each
 * request is signed correctly for its body, so the input gets past
 * verification into the parsing and on into the library (a handle on an
 * in-memory SQLite database, with a clinic and a patient whose number the
 * inputs can name). The first byte picks the hook; the rest is the body.
 */
#define http_header fuzz_http_header
#define http_query fuzz_http_query
#define api_twilio_status fuzz_api_twilio_status
#define api_twilio_inbound fuzz_api_twilio_inbound
#define api_whatsapp_verify fuzz_api_whatsapp_verify
#define api_whatsapp_events fuzz_api_whatsapp_events
#define api_msg91_status fuzz_api_msg91_status
#include "../src/http/webhooks.c"

#include <strings.h>

#include "fuzz.h"
#include "signature.h"

#define FZ_SECRET "fuzz-secret"
#define FZ_TOKEN "fuzz-token"
#define FZ_PUBLIC "https://fuzz.example"

static nudge *fz_n;
static const char *fz_challenge; /* the handshake's hub.challenge */

const char *fuzz_http_header(http_req *r, const char *name)
{
    static char sig[128];
    if (!strcasecmp(name, "X-Hub-Signature-256"))
        return sig_hub256(FZ_SECRET, r->body, r->body_len, sig, sizeof sig) < 0 ? NULL : sig;
    if (!strcasecmp(name, "X-MSG91-Secret"))
        return FZ_SECRET;
    if (!strcasecmp(name, "X-Twilio-Signature")) {
        sig_param f[64];
        char *storage = NULL, url[256];
        int nf = sig_form_parse(r->body, r->body_len, f, 64, &storage);
        snprintf(url, sizeof url, "%s%s", FZ_PUBLIC, r->path);
        int ok = nf >= 0 && sig_twilio(FZ_TOKEN, url, f, (size_t)nf, sig, sizeof sig) == 0;
        free(storage);
        return ok ? sig : NULL;
    }
    return NULL;
}

const char *fuzz_http_query(http_req *r, const char *name)
{
    (void)r;
    if (!strcmp(name, "hub.mode"))
        return "subscribe";
    if (!strcmp(name, "hub.verify_token"))
        return FZ_TOKEN;
    if (!strcmp(name, "hub.challenge"))
        return fz_challenge;
    return NULL;
}

/* Setting up is not under test: a failure says why and stops. */
static void fz_must(int rc, const nudge_err *e)
{
    if (rc < 0) {
        fprintf(stderr, "fuzz webhooks: setup failed: %s (%s)\n", e->msg, e->field);
        abort();
    }
}

static void fz_open(void)
{
    nudge_config cfg;
    nudge_config_defaults(&cfg);
    cfg.db = ":memory:";
    cfg.outbox_dir = "/nonexistent/fuzz-outbox"; /* nothing is sent: no tick runs */
    cfg.public_url = FZ_PUBLIC;
    cfg.twilio_account_sid = "AC0123456789abcdef0123456789abcdef";
    cfg.twilio_auth_token = FZ_TOKEN;
    cfg.twilio_from = "+15005550006";
    cfg.twilio_base_url = "http://127.0.0.1:9";
    cfg.whatsapp_app_secret = FZ_SECRET;
    cfg.whatsapp_verify_token = FZ_TOKEN;
    cfg.msg91_webhook_secret = FZ_SECRET;
    nudge_err e = {0};
    fz_must(nudge_open(&cfg, &fz_n, &e), &e);
    fz_must(nudge_migrate(fz_n, NULL, &e), &e);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Fuzz");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_patient p;
    nudge_patient_init(&p);
    strcpy(p.name, "Asha");
    strcpy(p.phone, "+919876543210");
    nudge_appointment a = {.duration_min = 30, .start_at = nudge_now(fz_n) + 86400};
    strcpy(a.service, "Checkup");
    fz_must(nudge_clinic_add(fz_n, &c, &e), &e);
    p.clinic_id = c.id;
    fz_must(nudge_patient_add(fz_n, &p, &e), &e);
    a.patient_id = p.id;
    fz_must(nudge_appointment_add(fz_n, c.id, &a, &e), &e);
}

/* Picked by the input's first byte modulo 5, in this order so that the
 * corpus can name them by ASCII digit: '0' (48) Twilio status, '1' Twilio
 * inbound, '2' WhatsApp events, '3' MSG91, '4' WhatsApp handshake. */
static const struct {
    const char *method, *path;
    int (*fn)(http_req *r);
} fz_hooks[] = {
    {"POST", "/webhooks/whatsapp", fuzz_api_whatsapp_events},
    {"POST", "/webhooks/msg91/status", fuzz_api_msg91_status},
    {"GET", "/webhooks/whatsapp", fuzz_api_whatsapp_verify},
    {"POST", "/webhooks/twilio/status", fuzz_api_twilio_status},
    {"POST", "/webhooks/twilio/inbound", fuzz_api_twilio_inbound},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_n)
        fz_open();
    unsigned h = fuzz_pick(&data, &size, sizeof fz_hooks / sizeof *fz_hooks);
    char *body = fuzz_str(data, size);
    http_req r = {.n = fz_n,
                  .method = fz_hooks[h].method,
                  .path = fz_hooks[h].path,
                  .body = body,
                  .body_len = size,
                  .route = -1};
    fz_challenge = body;
    fz_hooks[h].fn(&r);
    json_decref(r.out);
    free(r.raw);
    free(body);
    return 0;
}
