/*
 * test_staff.c: staff notifications (src/staff.c) and outgoing webhooks
 * (src/hook.c) on a simulated clock, on either engine (NUDGE_TEST_PG):
 * the daily digest at a clinic's local time across a DST change, once a
 * day with two handles ticking; alerts by role, once per key; a message
 * that fails for good raising message.failed, delivered to a
 * subscription; a delivery retried with backoff until it fails, every
 * attempt kept; an event committed after a later scan still delivered;
 * the signature against a known answer computed with Python's hmac; the
 * two workflow step kinds run with a wf_ctx of the test's own; /v1/staff
 * and /v1/webhooks.
 */
#include <openssl/evp.h>

#include "core.h"
#include "httputil.h"
#include "wfstep.h"

static int64_t add_clinic(nudge *n, const char *tz)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "Smile Dental");
    snprintf(c.timezone, sizeof c.timezone, "%s", tz);
    snprintf(c.country, sizeof c.country, "US");
    c.quiet_start = c.quiet_end = 0;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t add_patient(nudge *n, int64_t clinic, const char *name)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    snprintf(p.name, sizeof p.name, "%s", name);
    snprintf(p.phone, sizeof p.phone, "+12025550143");
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static void add_visit(nudge *n, int64_t clinic, int64_t patient, int64_t at, const char *service)
{
    nudge_appointment a = {0};
    a.clinic_id = clinic;
    a.patient_id = patient;
    a.start_at = at;
    a.duration_min = 30;
    snprintf(a.service, sizeof a.service, "%s", service);
    snprintf(a.provider, sizeof a.provider, "Dr Rao");
    nudge_err e = {0};
    if (nudge_appointment_add(n, clinic, &a, &e) < 0)
        fail_msg("visit: %s", e.msg);
}

static int64_t add_staff(nudge *n, int64_t clinic, const char *name, const char *role,
                         const char *email, const char *phone, int alerts, int digest)
{
    nudge_staff s = {0};
    s.clinic_id = clinic;
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.role, sizeof s.role, "%s", role);
    snprintf(s.email, sizeof s.email, "%s", email ? email : "");
    snprintf(s.phone, sizeof s.phone, "%s", phone ? phone : "");
    s.alerts = alerts;
    s.digest = digest;
    nudge_err e = {0};
    if (nudge_staff_add(n, &s, &e) < 0)
        fail_msg("staff: %s", e.msg);
    return s.id;
}

static void tick(tu_env *env, int64_t t)
{
    env->clock.t = t;
    nudge_err e = {0};
    if (nudge_tick(env->n, NULL, &e) < 0)
        fail_msg("tick: %s", e.msg);
}

typedef struct seen {
    nudge_hook_delivery d[32];
    int n;
} seen;

static int collect(void *ctx, const nudge_hook_delivery *d)
{
    seen *s = ctx;
    if (s->n < 32)
        s->d[s->n++] = *d;
    return 0;
}

static seen deliveries(nudge *n, int64_t clinic, int64_t sub)
{
    seen s = {0};
    nudge_err e = {0};
    if (nudge_hook_deliveries(n, clinic, sub, 32, collect, &s, &e) < 0)
        fail_msg("deliveries: %s", e.msg);
    return s;
}

/* The body of the staff email that delivery d became, from the outbox. */
static char *outbox_mail(tu_env *env, const nudge_hook_delivery *d)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%lld-email.eml", env->outbox, 1000000000000LL + d->id);
    char *m = tu_read_file(path);
    if (!m)
        return NULL;
    /* The text part is base64: decode it. */
    char *p = strstr(m, "base64");
    char *b64 = calloc(1, strlen(m) + 1), *text = calloc(1, strlen(m) + 1);
    size_t k = 0;
    p = p ? strchr(p, '\n') : NULL;
    for (p = p ? p + 1 : m; *p && *p != '-'; p++)
        if (*p != '\r' && *p != '\n')
            b64[k++] = *p;
    EVP_DecodeBlock((unsigned char *)text, (unsigned char *)b64, (int)k);
    free(b64);
    free(m);
    return text;
}

/* The digest at 18:00 New York time: 23:00 UTC before the spring change
 * (EST), 22:00 UTC after it (EDT); once a day though two handles tick;
 * it lists tomorrow's visits at their local times and nothing else. */
static void test_digest_dst(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 3, 13, 12, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "America/New_York");
    int64_t p = add_patient(env.n, c, "Ram Lal");
    /* No alerts: the built-in workflows tell alert-takers of each booking,
     * and this is about the digest alone. */
    add_staff(env.n, c, "Asha", "reception", "asha@example.com", NULL, 0, 1);
    add_staff(env.n, c, "Dev", "dentist", "dev@example.com", NULL, 0, 0); /* no digest */
    add_visit(env.n, c, p, TU_T(2027, 3, 14, 14, 0), "Cleaning");   /* 10:00 EDT on the 14th */
    add_visit(env.n, c, p, TU_T(2027, 3, 15, 13, 30), "Filling");   /* 09:30 EDT on the 15th */
    add_visit(env.n, c, p, TU_T(2027, 3, 16, 13, 30), "Crown");     /* not tomorrow of either */
    assert_int_equal(nudge_staff_digest_set(env.n, c, 18 * 60, &e), 0);
    int m;
    assert_int_equal(nudge_staff_digest_get(env.n, c, &m, &e), 0);
    assert_int_equal(m, 18 * 60);

    nudge_clock clock2;
    nudge_clock_fake(&clock2, env.clock.t);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clock2};
    nudge *n2;
    assert_int_equal(nudge_open(&cfg, &n2, &e), 0);

    tick(&env, TU_T(2027, 3, 13, 22, 59));
    assert_int_equal(deliveries(env.n, c, 0).n, 0);
    tick(&env, TU_T(2027, 3, 13, 23, 0)); /* 18:00 EST */
    clock2.t = TU_T(2027, 3, 13, 23, 1);
    assert_int_equal(nudge_tick(n2, NULL, &e), 0);
    seen s = deliveries(env.n, c, 0);
    assert_int_equal(s.n, 1); /* Asha only, once */
    assert_string_equal(s.d[0].target, "email");
    assert_string_equal(s.d[0].event_type, "staff.digest");
    assert_string_equal(s.d[0].status, "delivered");
    char *mail = outbox_mail(&env, &s.d[0]);
    assert_non_null(mail);
    assert_non_null(strstr(mail, "1 visit tomorrow, 2027-03-14"));
    assert_non_null(strstr(mail, "10:00 Ram Lal - Cleaning, Dr Rao (scheduled)"));
    assert_null(strstr(mail, "Filling"));
    free(mail);

    /* The 14th is EDT: 18:00 is 22:00 UTC. */
    tick(&env, TU_T(2027, 3, 14, 21, 59));
    assert_int_equal(deliveries(env.n, c, 0).n, 1);
    clock2.t = TU_T(2027, 3, 14, 22, 0);
    assert_int_equal(nudge_tick(n2, NULL, &e), 0);
    tick(&env, TU_T(2027, 3, 14, 22, 0));
    tick(&env, TU_T(2027, 3, 14, 23, 0));
    s = deliveries(env.n, c, 0);
    assert_int_equal(s.n, 2);
    mail = outbox_mail(&env, &s.d[0]); /* newest first */
    assert_non_null(mail);
    assert_non_null(strstr(mail, "1 visit tomorrow, 2027-03-15"));
    assert_non_null(strstr(mail, "09:30 Ram Lal - Filling"));
    free(mail);
    nudge_close(n2);
    tu_close(&env);
}

/* Alerts go to the members taking them, by role, on each of their
 * channels, once per key; bad members are refused naming the field. */
static void test_alerts(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 1, 4, 15, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    add_staff(env.n, c, "Asha", "reception", "asha@example.com", "2025550100", 1, 1);
    add_staff(env.n, c, "Dev", "dentist", "dev@example.com", NULL, 1, 1);
    add_staff(env.n, c, "Off", "reception", "off@example.com", NULL, 0, 1);
    int count;
    assert_int_equal(nudge_staff_alert(env.n, c, "reception", "Ticket 7 escalated", "t7", &count,
                                       &e), 0);
    assert_int_equal(count, 2); /* Asha by email and SMS; Off takes no alerts */
    assert_int_equal(nudge_staff_alert(env.n, c, "reception", "Ticket 7 escalated", "t7", &count,
                                       &e), 0);
    assert_int_equal(count, 0); /* the same key: nothing twice */
    assert_int_equal(nudge_staff_alert(env.n, c, NULL, "No-show", NULL, &count, &e), 0);
    assert_int_equal(count, 3);
    tick(&env, TU_T(2027, 1, 4, 15, 1));
    seen s = deliveries(env.n, c, 0);
    assert_int_equal(s.n, 5);
    for (int i = 0; i < s.n; i++)
        assert_string_equal(s.d[i].status, "delivered");
    /* Another clinic sees none of them. */
    int64_t c2 = add_clinic(env.n, "UTC");
    assert_int_equal(deliveries(env.n, c2, 0).n, 0);

    nudge_staff bad = {.clinic_id = c};
    snprintf(bad.name, sizeof bad.name, "Nobody");
    assert_int_equal(nudge_staff_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "email");
    snprintf(bad.chat_url, sizeof bad.chat_url, "ftp://x");
    assert_int_equal(nudge_staff_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "chat_url");
    tu_close(&env);
}

static int fail_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    (void)ctx, (void)m;
    memset(out, 0, sizeof *out);
    out->result = NUDGE_SEND_PERMANENT;
    snprintf(out->detail, sizeof out->detail, "number unreachable");
    return 0;
}

/* A patient's message refused for good raises message.failed; a
 * subscription to it gets a delivery; the unreachable URL is retried
 * after 30 s, 2 min, 10 min ... until the eighth attempt fails it, each
 * attempt kept with its error. */
static void test_failed_message_and_backoff(void **state)
{
    (void)state;
    tu_env env;
    int64_t t = TU_T(2027, 1, 4, 10, 0);
    tu_open(&env, t);
    nudge_err e = {0};
    nudge_transport tr = {.name = "dead", .medium = "sms", .send = fail_send};
    assert_int_equal(nudge_transport_register(env.n, &tr, NULL, &e), 0);
    int64_t c = add_clinic(env.n, "UTC");
    nudge_hook h = {.clinic_id = c};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:1/hook"); /* nothing listens */
    snprintf(h.events, sizeof h.events, "message.failed, appointment.cancelled");
    assert_int_equal(nudge_hook_add(env.n, &h, &e), 0);
    assert_int_equal(strncmp(h.secret, "whsec_", 6), 0);
    assert_int_equal(strlen(h.secret), 70);
    assert_string_equal(h.events, "message.failed,appointment.cancelled");
    int64_t p = add_patient(env.n, c, "Ram Lal");
    add_visit(env.n, c, p, t + 3 * 86400, "Cleaning"); /* its confirmation fails */
    tick(&env, t + 10); /* the confirmation fails for good */
    assert_int_equal(deliveries(env.n, c, h.id).n, 0);
    tick(&env, t + 20); /* the next scan finds message.failed; the first try fails */
    seen s = deliveries(env.n, c, h.id);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.d[0].event_type, "message.failed");
    assert_int_equal(s.d[0].attempts, 1);
    assert_string_equal(s.d[0].status, "pending");
    assert_int_equal(s.d[0].next_try, t + 20 + 30);
    assert_int_equal(s.d[0].tries[0].http_status, 0);
    assert_string_equal(s.d[0].tries[0].outcome, "retry");
    assert_true(strlen(s.d[0].tries[0].error) > 0);
    /* Not before its time. */
    tick(&env, t + 49);
    assert_int_equal(deliveries(env.n, c, h.id).d[0].attempts, 1);
    int64_t at = t + 50;
    for (int k = 2; k <= NUDGE_HOOK_MAX_ATTEMPTS; k++) {
        tick(&env, at);
        s = deliveries(env.n, c, h.id);
        assert_int_equal(s.d[0].attempts, k);
        if (k < NUDGE_HOOK_MAX_ATTEMPTS) {
            assert_int_equal(s.d[0].next_try, at + hook_backoff_after(k));
            at = s.d[0].next_try;
        }
    }
    s = deliveries(env.n, c, h.id);
    assert_string_equal(s.d[0].status, "failed");
    assert_int_equal(s.d[0].n_tries, NUDGE_HOOK_MAX_ATTEMPTS);
    assert_string_equal(s.d[0].tries[NUDGE_HOOK_MAX_ATTEMPTS - 1].outcome, "failed");
    assert_int_equal(hook_backoff_after(2), 120);
    assert_int_equal(hook_backoff_after(3), 600);
    tick(&env, at + 86400);
    assert_int_equal(deliveries(env.n, c, h.id).d[0].attempts, NUDGE_HOOK_MAX_ATTEMPTS);

    /* A subscription's list is read back; removing it takes its deliveries. */
    nudge_hook got;
    assert_int_equal(nudge_hook_get(env.n, c, h.id, &got, &e), 0);
    assert_string_equal(got.secret, "");
    assert_int_equal(nudge_hook_get(env.n, c + 1, h.id, &got, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_int_equal(nudge_hook_remove(env.n, c, h.id, &e), 0);
    assert_int_equal(nudge_hook_deliveries(env.n, c, h.id, 0, collect, &s, &e), -1);
    tu_close(&env);
}

/* An event whose transaction committed after a later scan (created at
 * t-60, visible only after the scan at t) is still delivered: the scan
 * re-reads a window before where it stopped. */
static void test_late_commit_not_missed(void **state)
{
    (void)state;
    tu_env env;
    int64_t t = TU_T(2027, 1, 4, 10, 0);
    tu_open(&env, t - 3600);
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "UTC");
    nudge_hook h = {.clinic_id = c};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:1/hook");
    snprintf(h.events, sizeof h.events, "*");
    assert_int_equal(nudge_hook_add(env.n, &h, &e), 0);
    tick(&env, t);
    assert_int_equal(deliveries(env.n, c, h.id).n, 0);
    /* The event's row says t-60 (its transaction's clock) but appears now. */
    env.clock.t = t - 60;
    add_patient(env.n, c, "Late Commit");
    tick(&env, t + 10);
    seen s = deliveries(env.n, c, h.id);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.d[0].event_type, "patient.created");
    /* Scanned again and again: still one delivery. */
    tick(&env, t + 20);
    tick(&env, t + 30);
    assert_int_equal(deliveries(env.n, c, h.id).n, 1);
    tu_close(&env);
}

/* Known answer from Python: hmac.new(b'whsec_test', b'1700000000.{"a":1}',
 * hashlib.sha256).hexdigest(). */
static void test_signature(void **state)
{
    (void)state;
    char sig[80];
    const char *body = "{\"a\":1}";
    assert_int_equal(hook_sign("whsec_test", 1700000000, body, strlen(body), sig), 0);
    assert_string_equal(sig,
                        "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

/* The step kinds, run as the engine will: validate names the bad field by
 * its path; run writes deliveries only, once per (run, step). */
static void test_steps(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 1, 4, 10, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "UTC");
    add_staff(env.n, c, "Asha", "reception", "asha@example.com", NULL, 1, 1);
    add_staff(env.n, c, "Dev", "dentist", "dev@example.com", NULL, 1, 1);
    json_t *bad = json_pack("{s:i}", "role", 3);
    assert_int_equal(staff_step_notify.validate(env.n, bad, "steps[2]", &e), -1);
    assert_string_equal(e.field, "steps[2].role");
    json_decref(bad);
    bad = json_pack("{s:s}", "colour", "red");
    assert_int_equal(staff_step_notify.validate(env.n, bad, "steps[0]", &e), -1);
    assert_string_equal(e.field, "steps[0].colour");
    json_decref(bad);
    bad = json_pack("{s:s}", "text", "unclosed {brace");
    assert_int_equal(staff_step_notify.validate(env.n, bad, "steps[1]", &e), -1);
    json_decref(bad);

    json_t *ev = json_pack("{s:s, s:s}", "channel", "sms", "error", "number unreachable");
    wf_ctx x = {.n = env.n, .clinic_id = c, .run_id = 41, .step = 1, .event_id = 9,
                .event_type = "message.failed", .subject_id = 77, .event = ev,
                .now = env.clock.t};
    json_t *args = json_pack("{s:s}", "role", "dentist");
    assert_int_equal(staff_step_notify.validate(env.n, args, "steps[1]", &e), 0);
    json_t *res = NULL;
    assert_int_equal(staff_step_notify.run(&x, args, &res, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "deliveries")), 1);
    json_decref(res);
    res = NULL;
    assert_int_equal(staff_step_notify.run(&x, args, &res, &e), 0); /* the same step again */
    assert_int_equal(json_integer_value(json_object_get(res, "deliveries")), 0);
    json_decref(res);
    json_decref(args);
    tick(&env, env.clock.t + 1);
    seen s = deliveries(env.n, c, 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.d[0].recipient, "dev@example.com");
    char *mail = outbox_mail(&env, &s.d[0]);
    assert_non_null(mail);
    assert_non_null(strstr(mail, "A sms message (#77) failed for good: number unreachable"));
    free(mail);

    /* webhook.call: one of subscription or url; a subscription's is signed. */
    bad = json_pack("{s:s, s:i}", "url", "https://a.example/x", "subscription", 1);
    assert_int_equal(hook_step_call.validate(env.n, bad, "steps[3]", &e), -1);
    assert_string_equal(e.field, "steps[3].subscription");
    json_decref(bad);
    bad = json_pack("{s:s}", "url", "javascript:alert(1)");
    assert_int_equal(hook_step_call.validate(env.n, bad, "steps[3]", &e), -1);
    assert_string_equal(e.field, "steps[3].url");
    json_decref(bad);
    nudge_hook h = {.clinic_id = c};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:1/in");
    snprintf(h.events, sizeof h.events, "ticket.escalated");
    assert_int_equal(nudge_hook_add(env.n, &h, &e), 0);
    args = json_pack("{s:I, s:{s:s}}", "subscription", (json_int_t)h.id, "payload", "note", "hi");
    x.step = 2;
    assert_int_equal(hook_step_call.run(&x, args, &res, &e), 0);
    assert_true(json_integer_value(json_object_get(res, "delivery")) > 0);
    assert_true(json_is_true(json_object_get(res, "signed")));
    json_decref(res);
    json_decref(args);
    s = deliveries(env.n, c, h.id);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.d[0].event_type, "message.failed");
    json_decref(ev);
    tu_close(&env);
}

/* /v1/staff and /v1/webhooks: roles, the clinic's scope, the secret in
 * the creation's answer only, problems naming the field, deliveries with
 * their attempts. */
static void test_http(void **state)
{
    (void)state;
    api_env a;
    api_open(&a, TU_T(2027, 1, 4, 10, 0));
    api_resp r = api_call(&a, "POST", "/v1/staff", a.staff_a, "{\"name\": \"Asha\"}");
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(&a, "POST", "/v1/staff", a.admin_a,
                 "{\"name\": \"Asha\", \"role\": \"reception\", \"email\": \"asha@example.com\", "
                 "\"digest\": false}");
    if (r.status != 201)
        fail_msg("staff: %ld %s", r.status, r.body);
    int64_t sid = api_int(&r, "id");
    assert_false(json_is_true(json_object_get(r.json, "digest")));
    assert_true(json_is_true(json_object_get(r.json, "alerts")));
    api_free(&r);
    r = api_call(&a, "POST", "/v1/staff", a.admin_a, "{\"name\": \"Nobody\"}");
    API_EXPECT_PROBLEM(r, 422, "email");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/staff", a.admin_a, "{\"name\": \"X\", \"chat_url\": 5}");
    API_EXPECT_PROBLEM(r, 422, "chat_url");
    api_free(&r);
    r = api_call(&a, "GET", "/v1/staff", a.staff_a, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_free(&r);
    r = api_call(&a, "GET", "/v1/staff", a.admin_b, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
    api_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/v1/staff/%lld/remove", (long long)sid);
    r = api_call(&a, "POST", path, a.admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    r = api_call(&a, "POST", path, a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    api_free(&r);

    r = api_call(&a, "POST", "/v1/webhooks", a.admin_a,
                 "{\"url\": \"http://127.0.0.1:1/in\", \"events\": [\"patient.created\"]}");
    if (r.status != 201)
        fail_msg("webhook: %ld %s", r.status, r.body);
    int64_t wid = api_int(&r, "id");
    assert_int_equal(strlen(api_str(&r, "secret")), 70);
    api_free(&r);
    r = api_call(&a, "GET", "/v1/webhooks", a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    json_t *w0 = json_array_get(json_object_get(r.json, "data"), 0);
    assert_null(json_object_get(w0, "secret"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(w0, "events"), 0)),
                        "patient.created");
    api_free(&r);
    r = api_call(&a, "GET", "/v1/webhooks", a.staff_a, NULL);
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(&a, "POST", "/v1/webhooks", a.admin_a,
                 "{\"url\": \"file:///etc/passwd\", \"events\": \"*\"}");
    API_EXPECT_PROBLEM(r, 422, "url");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/webhooks", a.admin_a,
                 "{\"url\": \"https://a.example\", \"events\": [\"Bad Type\"]}");
    API_EXPECT_PROBLEM(r, 422, "events");
    api_free(&r);
    add_patient(a.env.n, a.clinic_a, "Ram Lal");
    tick(&a.env, a.env.clock.t + 10);
    snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries?limit=5", (long long)wid);
    r = api_call(&a, "GET", path, a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    json_t *d0 = json_array_get(json_object_get(r.json, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(d0, "event_type")), "patient.created");
    assert_string_equal(json_string_value(json_object_get(d0, "status")), "pending");
    json_t *t0 = json_array_get(json_object_get(d0, "tries"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "outcome")), "retry");
    assert_true(json_is_null(json_object_get(t0, "http_status")));
    api_free(&r);
    r = api_call(&a, "GET", path, a.admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%lld/remove", (long long)wid);
    r = api_call(&a, "POST", path, a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    api_free(&r);
    api_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_dst),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_failed_message_and_backoff),
        cmocka_unit_test(test_late_commit_not_missed),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
