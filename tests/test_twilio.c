/*
 * test_twilio.c: SMS through the Twilio channel against tests/twilio_fake.py,
 * which checks each request as Twilio documents it and can be told to
 * fail: what nudge sends, how every class of answer is treated, many sends
 * in flight at once, a provider down for an hour, and the signed status
 * callbacks coming back through the API server (forward only; unsigned,
 * altered or wrongly keyed ones refused with nothing written; signed over
 * the URL with or without its default port, as Twilio's validators
 * accept, and no other variation). Advanced Opt-Out: an inbound STOP,
 * START or HELP that Twilio answered itself (OptOutType) is recorded and
 * not answered again, and error 21610 records the patient's opt-out.
 */
#include "fake.h"
#include "httputil.h"

#include "core.h"
#include "signature.h"

#define T0 TU_T(2026, 11, 24, 6, 0) /* 11:30 in Kolkata: no quiet hours */
/* More plans due at once than a tick makes messages before its first send
 * (nudge.c's TICK_PLAN_AHEAD batches of 64). */
#define BURST 1100
#define SID "AC0123456789abcdef0123456789abcdef"
#define TOKEN "test-auth-token"
#define FROM "+15005550006"

typedef struct fx {
    fake tw;
    tu_env env;
    http_server *srv;
    char public_url[64];
    char base[64]; /* the fake's URL: read by the server's threads later */
    int64_t clinic, patient;
} fx;

static int setup(void **state)
{
    if (!fake_available())
        return 0;
    fx *f = calloc(1, sizeof *f);
    const char *args[] = {"--account-sid", SID, "--auth-token", TOKEN, NULL};
    fake_start(&f->tw, "twilio_fake.py", args);
    tu_env *env = &f->env;
    tu_tmpdir(env->dir, sizeof env->dir);
    tu_db_migrated(env->dir, env->db, sizeof env->db);
    snprintf(env->outbox, sizeof env->outbox, "%s/out", env->dir);
    nudge_clock_fake(&env->clock, T0);
    /* The API server first: its port is the public URL Twilio calls back. */
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->tw.port);
    nudge_config cfg = {.db = env->db,
                        .outbox_dir = env->outbox,
                        .clock = &env->clock,
                        .twilio_base_url = f->base,
                        .twilio_account_sid = SID,
                        .twilio_auth_token = TOKEN,
                        .twilio_from = FROM,
                        .public_url = f->public_url};
    http_config hc = {.listen = "127.0.0.1:0", .nudge = cfg, .threads = 2};
    nudge_err e = {0};
    /* The server's threads open their handles lazily, after the URL is set. */
    if (http_start(&hc, &f->srv, &e) < 0)
        fail_msg("http_start: %s", e.msg);
    snprintf(f->public_url, sizeof f->public_url, "http://127.0.0.1:%d", http_port(f->srv));
    if (nudge_open(&cfg, &env->n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    c.rate_per_minute = 1000;
    assert_int_equal(nudge_clinic_add(env->n, &c, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Ram Lal");
    strcpy(p.phone, "9876543210");
    assert_int_equal(nudge_patient_add(env->n, &p, &e), 0);
    f->clinic = c.id;
    f->patient = p.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    http_stop(f->srv);
    fake_stop(&f->tw);
    tu_close(&f->env);
    free(f);
    return 0;
}

static int64_t enqueue(fx *f)
{
    nudge_send s = {.patient_id = f->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    int64_t id;
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), 0);
    return id;
}

static nudge_tick_stats tick(fx *f)
{
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(f->env.n, &st, &e) < 0)
        fail_msg("tick: %s", e.msg);
    return st;
}

static nudge_notification get(fx *f, int64_t id)
{
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, id, &m, &e), 0);
    nudge_notification_free(&m); /* the texts are not needed */
    return m;
}

#define NEED_FAKE                                                                                 \
    do {                                                                                          \
        if (!*state)                                                                              \
            skip();                                                                               \
    } while (0)

static void test_sms_sent_as_documented(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    int64_t id = enqueue(f);
    assert_int_equal(tick(f).sent, 1);
    json_t *req = fake_last_request(&f->tw);
    assert_non_null(req);
    assert_true(json_is_true(fake_at(req, "valid")));
    assert_string_equal(fake_str(req, "form.To"), "+919876543210");
    assert_string_equal(fake_str(req, "form.From"), FROM);
    char cb[128];
    snprintf(cb, sizeof cb, "%s/webhooks/twilio/status", f->public_url);
    assert_string_equal(fake_str(req, "form.StatusCallback"), cb);
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, id, &m, &e), 0);
    assert_string_equal(fake_str(req, "form.Body"), m.body);
    assert_string_equal(m.status, "sent");
    assert_string_equal(m.provider_id, fake_str(req, "sid"));
    assert_true(!strncmp(m.provider_id, "SM", 2));
    nudge_notification_free(&m);
    json_decref(req);
}

/* A clinic's own sender wins over the account's default. */
static void test_clinic_sender(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_clinic c;
    nudge_err e = {0};
    assert_int_equal(nudge_clinic_get(f->env.n, f->clinic, &c, &e), 0);
    strcpy(c.sms_sender, "MG0123456789abcdef0123456789abcdef");
    assert_int_equal(nudge_clinic_update(f->env.n, &c, &e), 0);
    enqueue(f);
    assert_int_equal(tick(f).sent, 1);
    json_t *req = fake_last_request(&f->tw);
    assert_true(json_is_true(fake_at(req, "valid")));
    assert_string_equal(fake_str(req, "form.MessagingServiceSid"),
                        "MG0123456789abcdef0123456789abcdef");
    assert_null(fake_str(req, "form.From"));
    json_decref(req);
    strcpy(c.sms_sender, "not a sender");
    assert_int_equal(nudge_clinic_update(f->env.n, &c, &e), -1);
    assert_string_equal(e.field, "sms_sender");
}

static void test_each_answer_class(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    struct {
        const char *answer, *status, *detail;
        int attempts;
        int64_t due_after; /* seconds from now; -1: not pending */
    } cases[] = {
        {"{\"status\":500}", "pending", "500", 1, 5 * 60},
        {"{\"status\":429,\"retry_after\":900}", "pending", "429", 1, 900},
        {"{\"code\":21211}", "failed", "21211", 1, -1},
        {"{\"drop\":true,\"repeat\":2}", "pending", "twilio", 1, 5 * 60},
        {"{\"status\":401}", "pending", "401", 0, 5 * 60}, /* ours to fix: no retry spent */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ctl[128];
        snprintf(ctl, sizeof ctl, "{\"next\":[%s]}", cases[i].answer);
        fake_control(&f->tw, ctl);
        int64_t id = enqueue(f);
        tick(f);
        nudge_notification m = get(f, id);
        if (strcmp(m.status, cases[i].status) || !strstr(m.last_error, cases[i].detail) ||
            m.attempts != cases[i].attempts)
            fail_msg("case %zu (%s): status %s, attempts %d, error \"%s\"", i, cases[i].answer,
                     m.status, m.attempts, m.last_error);
        if (cases[i].due_after >= 0)
            assert_int_equal(m.due_at, f->env.clock.t + cases[i].due_after);
        /* Clear the way for the next case. */
        nudge_err e = {0};
        if (!strcmp(m.status, "pending"))
            assert_int_equal(nudge_notification_cancel(f->env.n, f->clinic, id, &e), 0);
    }
    /* After the 401 the channel rests: the next message waits, unsent and
     * with no retry spent, until the pause ends; then it goes. */
    json_t *before = fake_requests(&f->tw);
    size_t asked = json_array_size(before);
    json_decref(before);
    int64_t id = enqueue(f);
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.deferred, 1);
    nudge_notification m = get(f, id);
    assert_string_equal(m.status, "pending");
    assert_int_equal(m.attempts, 0);
    json_t *after = fake_requests(&f->tw);
    assert_int_equal(json_array_size(after), asked);
    json_decref(after);
    f->env.clock.t += 5 * 60;
    assert_int_equal(tick(f).sent, 1);
    assert_string_equal(get(f, id).status, "sent");
}

static void test_many_in_flight(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    /* Each answer takes 200 ms: 40 one after another would take 8 s; the
     * multi handle has them in flight together. */
    fake_control(&f->tw, "{\"default\":{\"delay_ms\":200}}");
    for (int i = 0; i < 40; i++)
        enqueue(f);
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.sent, 40);
    json_t *reqs = fake_requests(&f->tw);
    assert_int_equal(json_array_size(reqs), 40);
    json_decref(reqs);
}

/* A provider's answer cannot grow the buffer without limit: past the cap
 * the transfer stops and the message fails, permanently (whether it went
 * cannot be known, and sending again could send it twice). */
static void test_answer_over_cap(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->tw, "{\"next\":[{\"pad\":2000000}]}");
    int64_t id = enqueue(f);
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.failed, 1);
    nudge_notification m = get(f, id);
    assert_string_equal(m.status, "failed");
    assert_non_null(strstr(m.last_error, "larger than 1048576 bytes"));
    /* The next answer is an ordinary one again. */
    id = enqueue(f);
    st = tick(f);
    assert_int_equal(st.sent, 1);
}

static void test_provider_down_for_an_hour(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->tw, "{\"default\":{\"status\":503}}");
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = enqueue(f);
    tick(f);
    f->env.clock.t += 5 * 60;
    tick(f);
    f->env.clock.t += 15 * 60;
    tick(f);
    /* An hour after the first attempt the provider is back. */
    fake_control(&f->tw, "{\"default\":null}");
    f->env.clock.t += 60 * 60;
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.sent, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(get(f, ids[i]).status, "sent");
    /* Each message was accepted exactly once. */
    json_t *reqs = fake_requests(&f->tw);
    size_t i;
    json_t *r;
    int accepted = 0;
    json_array_foreach(reqs, i, r) accepted += fake_int(r, "status") == 201;
    assert_int_equal(accepted, 5);
    assert_int_equal(json_array_size(reqs), 5 * 4);
    json_decref(reqs);
    assert_int_equal(tick(f).claimed, 0);
}

/* Polls the notification until it reaches status (the callbacks come from
 * the fake's threads), up to 10 s. */
static int wait_status(fx *f, int64_t id, const char *status)
{
    for (int i = 0; i < 200; i++) {
        if (!strcmp(get(f, id).status, status))
            return 1;
        poll(NULL, 0, 50);
    }
    return 0;
}

static int64_t events(fx *f)
{
    int64_t c = 0;
    nudge_err e = {0};
    store_scalar(f->env.n->db, &c, &e, "SELECT COUNT(*) FROM delivery_events");
    return c;
}

static void test_status_callbacks_forward_only(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->tw, "{\"callbacks\":[\"sent\",\"delivered\"]}");
    int64_t a = enqueue(f);
    tick(f);
    assert_true(wait_status(f, a, "delivered"));
    json_decref(fake_wait(&f->tw, "/_callbacks", 2, 5000));
    assert_int_equal(events(f), 2);
    /* The reports are visible with the notification. */
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN], url[128], auth[160];
    nudge_err ke = {0};
    assert_int_equal(nudge_key_create(f->env.n, f->clinic, NUDGE_ROLE_STAFF, "t", &k, secret, &ke),
                     0);
    snprintf(url, sizeof url, "%s/v1/notifications/%lld", f->public_url, (long long)a);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", secret);
    CURL *hc = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    fake_buf got = {0};
    curl_easy_setopt(hc, CURLOPT_URL, url);
    curl_easy_setopt(hc, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(hc, CURLOPT_WRITEFUNCTION, fake_collect);
    curl_easy_setopt(hc, CURLOPT_WRITEDATA, &got);
    assert_int_equal(curl_easy_perform(hc), CURLE_OK);
    curl_slist_free_all(h);
    curl_easy_cleanup(hc);
    json_t *j = json_loads(got.p, 0, NULL);
    free(got.p);
    json_t *evs = json_object_get(j, "delivery_events");
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 1), "status")),
                        "delivered");
    assert_true(json_is_true(json_object_get(json_array_get(evs, 1), "applied")));
    json_decref(j);
    /* Out of order: delivered first, then a late "sent" changes nothing. */
    fake_reset(&f->tw);
    fake_control(&f->tw, "{\"callbacks\":[\"delivered\",\"sent\",\"failed\"]}");
    int64_t b = enqueue(f);
    tick(f);
    json_decref(fake_wait(&f->tw, "/_callbacks", 3, 5000));
    for (int i = 0; i < 100 && events(f) < 5; i++)
        poll(NULL, 0, 50);
    assert_int_equal(events(f), 5);
    assert_string_equal(get(f, b).status, "delivered");
    /* A failure reported before delivery fails the message, with the code. */
    fake_reset(&f->tw);
    fake_control(&f->tw, "{\"callbacks\":[\"undelivered\"],\"callback_error_code\":30003}");
    int64_t c = enqueue(f);
    tick(f);
    assert_true(wait_status(f, c, "failed"));
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, c, &m, &e), 0);
    assert_non_null(strstr(m.last_error, "30003"));
    nudge_notification_free(&m);
}

static long post_webhook(fx *f, const char *body, const char *signature)
{
    char url[128], hdr[128];
    snprintf(url, sizeof url, "%s/webhooks/twilio/status", f->public_url);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    if (signature) {
        snprintf(hdr, sizeof hdr, "X-Twilio-Signature: %s", signature);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fake_collect);
    fake_buf sink = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    long status = 0;
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(sink.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void sign(fx *f, const char *token, const char *body, char *out)
{
    char url[128], *storage;
    snprintf(url, sizeof url, "%s/webhooks/twilio/status", f->public_url);
    sig_param p[16];
    int n = sig_form_parse(body, strlen(body), p, 16, &storage);
    assert_true(n > 0);
    assert_int_equal(sig_twilio(token, url, p, (size_t)n, out, 64), 0);
    free(storage);
}

static void test_webhook_rejections(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    int64_t id = enqueue(f);
    tick(f);
    char body[256], good[64], wrong[64];
    snprintf(body, sizeof body,
             "MessageSid=%s&MessageStatus=delivered&AccountSid=" SID "&To=%%2B919876543210",
             get(f, id).provider_id);
    sign(f, TOKEN, body, good);
    sign(f, "another-token", body, wrong);
    int64_t before = events(f);
    assert_int_equal(post_webhook(f, body, NULL), 403);
    assert_int_equal(post_webhook(f, body, wrong), 403);
    char altered[256];
    snprintf(altered, sizeof altered, "%s", body);
    memcpy(strstr(altered, "delivered"), "undelive", 8); /* "undelivered" */
    assert_int_equal(post_webhook(f, altered, good), 403);
    assert_int_equal(post_webhook(f, "MessageSid=%zz", good), 403);
    assert_int_equal(events(f), before);
    assert_string_equal(get(f, id).status, "sent");
    /* Signed right: recorded, and a replay changes nothing more. */
    assert_int_equal(post_webhook(f, body, good), 200);
    assert_string_equal(get(f, id).status, "delivered");
    assert_int_equal(post_webhook(f, body, good), 200);
    assert_int_equal(events(f), before + 2);
    assert_string_equal(get(f, id).status, "delivered");
}

/* A filling on 1 December for the patient. */
static nudge_appointment add_visit(fx *f)
{
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = f->patient;
    strcpy(a.service, "Filling");
    a.start_at = TU_T(2026, 12, 1, 4, 30);
    a.duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &a, &e), 0);
    return a;
}

/* A patient's SMS through the fake: signed by Twilio, handled, answered
 * through the queue (TwiML stays empty), and the answer sent by Twilio. */
static void test_inbound_sms(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_appointment a = add_visit(f);
    nudge_err e = {0};
    char ctl[256];
    snprintf(ctl, sizeof ctl,
             "{\"url\":\"%s/webhooks/twilio/inbound\",\"from\":\"+919876543210\","
             "\"body\":\"haan\"}",
             f->public_url);
    json_t *res = fake_json(&f->tw, "POST", "/_inbound", ctl);
    assert_int_equal(fake_int(res, "status"), 200);
    assert_non_null(strstr(fake_str(res, "content_type"), "text/xml"));
    assert_non_null(strstr(fake_str(res, "body"), "<Response/>"));
    json_decref(res);
    nudge_appointment got;
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, a.id, &got, &e), 0);
    assert_string_equal(got.status, "confirmed");
    nudge_tick_stats st = tick(f);
    assert_true(st.sent >= 1);
    json_t *req = fake_last_request(&f->tw);
    assert_string_equal(fake_str(req, "form.To"), "+919876543210");
    assert_non_null(strstr(fake_str(req, "form.Body"), "Filling"));
    json_decref(req);
    /* Wrongly signed: refused, nothing handled. */
    snprintf(ctl, sizeof ctl,
             "{\"url\":\"%s/webhooks/twilio/inbound\",\"from\":\"+919876543210\","
             "\"body\":\"STOP\",\"token\":\"wrong\"}",
             f->public_url);
    res = fake_json(&f->tw, "POST", "/_inbound", ctl);
    assert_int_equal(fake_int(res, "status"), 403);
    json_decref(res);
    nudge_patient p;
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    assert_false(p.opt_outs & NUDGE_OPTOUT_SMS);
}

static int64_t count(fx *f, const char *sql)
{
    int64_t c = -1;
    nudge_err e = {0};
    assert_int_equal(store_scalar(f->env.n->db, &c, &e, sql), 1);
    return c;
}

static size_t requests(fx *f)
{
    json_t *reqs = fake_requests(&f->tw);
    size_t n = json_array_size(reqs);
    json_decref(reqs);
    return n;
}

static unsigned opt_outs(fx *f)
{
    nudge_patient p;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    return p.opt_outs;
}

/* 21610: Twilio refuses the number because the patient sent it STOP. The
 * message fails for good and the patient's SMS opt-out is recorded (with
 * Twilio's answer as proof), so the next message is not tried at all. */
static void test_21610_records_the_opt_out(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->tw, "{\"next\":[{\"code\":21610}]}");
    int64_t id = enqueue(f);
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.failed, 1);
    nudge_notification m = get(f, id);
    assert_string_equal(m.status, "failed");
    assert_int_equal(m.attempts, 1);
    assert_non_null(strstr(m.last_error, "21610"));
    assert_true(opt_outs(f) & NUDGE_OPTOUT_SMS);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_log WHERE action = 'stop' AND "
                              "channel = 'sms' AND message LIKE '%21610%'"),
                     1);
    size_t asked = requests(f);
    int64_t next = enqueue(f);
    tick(f);
    assert_string_equal(get(f, next).status, "cancelled");
    assert_int_equal(requests(f), asked);
    /* Twilio's own list (the fake's, here) says the same. */
    nudge_patient p;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    p.opt_outs = 0;
    assert_int_equal(nudge_patient_update(f->env.n, f->clinic, &p, 0, &e), 0);
    fake_control(&f->tw, "{\"opted_out\":[\"+919876543210\"]}");
    id = enqueue(f);
    assert_int_equal(tick(f).failed, 1);
    assert_true(opt_outs(f) & NUDGE_OPTOUT_SMS);
    json_t *req = fake_last_request(&f->tw);
    assert_int_equal(fake_int(req, "status"), 400);
    json_decref(req);
    fake_control(&f->tw, "{\"opted_out\":[]}");
    /* Other permanent refusals say nothing about consent. */
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    p.opt_outs = 0;
    assert_int_equal(nudge_patient_update(f->env.n, f->clinic, &p, 0, &e), 0);
    fake_control(&f->tw, "{\"next\":[{\"code\":21211}]}");
    enqueue(f);
    assert_int_equal(tick(f).failed, 1);
    assert_false(opt_outs(f) & NUDGE_OPTOUT_SMS);
}

/* An inbound message through the fake, with extra form fields. */
static void inbound_with(fx *f, const char *body, const char *params)
{
    char ctl[384];
    snprintf(ctl, sizeof ctl,
             "{\"url\":\"%s/webhooks/twilio/inbound\",\"from\":\"+919876543210\","
             "\"body\":\"%s\",\"params\":%s}",
             f->public_url, body, params);
    json_t *res = fake_json(&f->tw, "POST", "/_inbound", ctl);
    assert_int_equal(fake_int(res, "status"), 200);
    assert_non_null(strstr(fake_str(res, "body"), "<Response/>"));
    json_decref(res);
}

/* Advanced Opt-Out (the fake reads its default keywords as Twilio does):
 * Twilio has answered STOP, START and HELP itself and names what it read
 * in OptOutType. nudge records the consent change now and queues no
 * answer of its own (the patient would get two). */
static void test_advanced_opt_out_is_not_answered_twice(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->tw, "{\"advanced_opt_out\":true}");
    nudge_appointment a = add_visit(f);
    nudge_err e = {0};
    tick(f); /* the booking's confirmation goes */
    size_t asked = requests(f);
    /* CANCEL is one of Twilio's opt-out words: with a visit ahead nudge
     * would read it as cancelling the visit, but Twilio has read STOP. */
    inbound_with(f, "CANCEL", "{}");
    assert_true(opt_outs(f) & NUDGE_OPTOUT_SMS);
    nudge_appointment got;
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, a.id, &got, &e), 0);
    assert_string_equal(got.status, "scheduled");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_log WHERE action = 'stop' AND "
                              "message = 'CANCEL'"),
                     1);
    inbound_with(f, "START", "{}");
    assert_false(opt_outs(f) & NUDGE_OPTOUT_SMS);
    inbound_with(f, "HELP", "{}");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages WHERE action IN ('stop', "
                              "'start', 'help')"),
                     3);
    /* YES: Twilio's opt-in word, nudge's confirmation. Both, unanswered. */
    inbound_with(f, "STOP", "{}");
    inbound_with(f, "yes", "{}");
    assert_false(opt_outs(f) & NUDGE_OPTOUT_SMS);
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, a.id, &got, &e), 0);
    assert_string_equal(got.status, "confirmed");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_log WHERE action = 'start' AND "
                              "message = 'yes'"),
                     1);
    /* Nothing of nudge's own was queued or sent for any of them. */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE template LIKE "
                              "'reply_%'"),
                     0);
    tick(f);
    assert_int_equal(requests(f), asked);
    /* Without OptOutType nudge reads and answers STOP itself, as before. */
    fake_control(&f->tw, "{\"advanced_opt_out\":false}");
    inbound_with(f, "STOP", "{}");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                              "'reply_stop'"),
                     1);
}

/* Twilio signs the URL it requested; its validators accept a signature
 * over it with or without the default port. A public URL without a port
 * takes both https://host/... and https://host:443/...; another port,
 * another scheme or another path is refused. */
static void test_signature_with_or_without_the_port(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    /* The server's handles are opened on its first request, after this. */
    snprintf(f->public_url, sizeof f->public_url, "https://nudge.example");
    char target[64];
    snprintf(target, sizeof target, "http://127.0.0.1:%d", http_port(f->srv));
    struct {
        const char *url;
        long status;
    } cases[] = {
        {"https://nudge.example/webhooks/twilio/inbound", 200},
        {"https://nudge.example:443/webhooks/twilio/inbound", 200},
        {"https://nudge.example:8443/webhooks/twilio/inbound", 403},
        {"https://nudge.example:80/webhooks/twilio/inbound", 403},
        {"http://nudge.example/webhooks/twilio/inbound", 403},
        {"http://nudge.example:443/webhooks/twilio/inbound", 403},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ctl[384];
        snprintf(ctl, sizeof ctl,
                 "{\"url\":\"%s\",\"target\":\"%s\",\"from\":\"+919876543210\","
                 "\"body\":\"Is there parking?\"}",
                 cases[i].url, target);
        json_t *res = fake_json(&f->tw, "POST", "/_inbound", ctl);
        if (fake_int(res, "status") != cases[i].status)
            fail_msg("%s: answered %lld", cases[i].url, fake_int(res, "status"));
        json_decref(res);
    }
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages"), 2);
}

/* A burst of plans due at once (the 50,000 reminders at 09:00)
 * through a channel that waits for its provider: the tick plans the rest
 * while the first sends are in flight (test_flow's burst test: after its
 * first TICK_PLAN_AHEAD batches), not once the queue has run short; each
 * is still made a message once and sent once, in that one tick. */
struct burst {
    const nudge_tick_stats *st;
    int sent;
    int64_t planned_at_half;
};

static void burst_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    (void)m;
    struct burst *b = ctx;
    if (strcmp(outcome, "sent"))
        return;
    if (++b->sent == BURST / 2)
        b->planned_at_half = b->st->planned_enqueued;
}

static void test_burst_sent_while_planned(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    nudge_clinic c;
    assert_int_equal(nudge_clinic_get(n, f->clinic, &c, &e), 0);
    c.rate_per_minute = 100000;
    assert_int_equal(nudge_clinic_update(n, &c, &e), 0);
    /* Each visit books a confirmation, due now: BURST of them. */
    assert_int_equal(store_begin(n->db, &e), 0);
    for (int i = 0; i < BURST; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = f->clinic;
        snprintf(p.name, sizeof p.name, "Patient %d", i);
        snprintf(p.phone, sizeof p.phone, "98%08d", i);
        assert_int_equal(nudge_patient_add(n, &p, &e), 0);
        nudge_appointment a = {.patient_id = p.id, .start_at = T0 + 2 * 86400, .duration_min = 30};
        strcpy(a.service, "Cleaning");
        assert_int_equal(nudge_appointment_add(n, f->clinic, &a, &e), 0);
    }
    assert_int_equal(store_commit(n->db, &e), 0);
    /* Answers take a while, so the flights fill and the tick waits. */
    fake_control(&f->tw, "{\"default\":{\"delay_ms\":20}}");
    nudge_tick_stats st;
    struct burst b = {.st = &st};
    nudge_on_sent(n, burst_sent, &b);
    if (nudge_tick(n, &st, &e) < 0)
        fail_msg("tick: %s", e.msg);
    nudge_on_sent(n, NULL, NULL);
    assert_int_equal(st.planned_enqueued, BURST);
    assert_int_equal(st.sent, BURST);
    assert_int_equal(b.sent, BURST);
    assert_int_equal(b.planned_at_half, BURST);
    assert_int_equal(requests(f), BURST);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM reminders WHERE kind = 'confirmation' AND "
                              "status = 'planned'"),
                     0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE status = 'sent'"),
                     BURST);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!fake_available())
        fprintf(stderr, "test_twilio: no python3, tests skipped\n");
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sms_sent_as_documented),       T(test_each_answer_class),
        T(test_many_in_flight),               T(test_provider_down_for_an_hour),
        T(test_status_callbacks_forward_only), T(test_webhook_rejections),
        T(test_inbound_sms),                   T(test_clinic_sender),
        T(test_answer_over_cap),              T(test_21610_records_the_opt_out),
        T(test_advanced_opt_out_is_not_answered_twice),
        T(test_signature_with_or_without_the_port),
        T(test_burst_sent_while_planned),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
