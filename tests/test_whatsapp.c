/*
 * test_whatsapp.c: the WhatsApp channel against tests/whatsapp_fake.py (and
 * the Twilio fake for the SMS fallback): free-form text and reply buttons
 * inside the 24-hour window, the clinic's approved template outside it,
 * the fallback to SMS sent once as the same logical message, Meta's error
 * codes, signed status and message webhooks (forward only; a button reply
 * confirms the visit of the message it answers, context.id; an approved
 * template's quick reply acts as the clinic mapped its payload through the
 * API, its text kept), and the verification handshake.
 */
#include "fake.h"
#include "httputil.h"

#include "core.h"

#define T0 TU_T(2026, 11, 24, 6, 0) /* 11:30 in Kolkata */
#define VISIT TU_T(2026, 12, 1, 4, 30)
#define TW_SID "AC0123456789abcdef0123456789abcdef"

typedef struct fx {
    fake wa, tw;
    tu_env env;
    http_server *srv;
    char public_url[64], wa_base[64], tw_base[64];
    int64_t clinic, patient, appt;
} fx;

static int setup(void **state)
{
    if (!fake_available())
        return 0;
    fx *f = calloc(1, sizeof *f);
    const char *wa_args[] = {"--token", "wa-token", "--phone-number-id", "123456",
                             "--app-secret", "app-secret", NULL};
    const char *tw_args[] = {"--account-sid", TW_SID, "--auth-token", "tw-token", NULL};
    fake_start(&f->wa, "whatsapp_fake.py", wa_args);
    fake_start(&f->tw, "twilio_fake.py", tw_args);
    snprintf(f->wa_base, sizeof f->wa_base, "http://127.0.0.1:%d", f->wa.port);
    snprintf(f->tw_base, sizeof f->tw_base, "http://127.0.0.1:%d", f->tw.port);
    tu_env *env = &f->env;
    tu_tmpdir(env->dir, sizeof env->dir);
    tu_db_migrated(env->dir, env->db, sizeof env->db);
    snprintf(env->outbox, sizeof env->outbox, "%s/out", env->dir);
    nudge_clock_fake(&env->clock, T0);
    nudge_config cfg = {.db = env->db,
                        .outbox_dir = env->outbox,
                        .clock = &env->clock,
                        .whatsapp_base_url = f->wa_base,
                        .whatsapp_phone_number_id = "123456",
                        .whatsapp_token = "wa-token",
                        .whatsapp_app_secret = "app-secret",
                        .whatsapp_verify_token = "verify-me",
                        .twilio_base_url = f->tw_base,
                        .twilio_account_sid = TW_SID,
                        .twilio_auth_token = "tw-token",
                        .twilio_from = "+15005550006",
                        .public_url = f->public_url};
    http_config hc = {.listen = "127.0.0.1:0", .nudge = cfg, .threads = 2};
    nudge_err e = {0};
    if (http_start(&hc, &f->srv, &e) < 0)
        fail_msg("http_start: %s", e.msg);
    snprintf(f->public_url, sizeof f->public_url, "http://127.0.0.1:%d", http_port(f->srv));
    if (nudge_open(&cfg, &env->n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    char ctl[160];
    snprintf(ctl, sizeof ctl, "{\"webhook_url\":\"%s/webhooks/whatsapp\"}", f->public_url);
    fake_control(&f->wa, ctl);

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
    strcpy(p.language, "hi");
    strcpy(p.preferred_channel, "whatsapp");
    assert_int_equal(nudge_patient_add(env->n, &p, &e), 0);
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = p.id;
    strcpy(a.service, "Teeth Cleaning");
    a.start_at = VISIT;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_add(env->n, c.id, &a, &e), 0);
    f->clinic = c.id;
    f->patient = p.id;
    f->appt = a.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    http_stop(f->srv);
    fake_stop(&f->wa);
    fake_stop(&f->tw);
    tu_close(&f->env);
    free(f);
    return 0;
}

#define NEED_FAKE                                                                                 \
    do {                                                                                          \
        if (!*state)                                                                              \
            skip();                                                                               \
    } while (0)

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
    nudge_notification_free(&m);
    return m;
}

static int64_t scalar(fx *f, const char *sql)
{
    int64_t v = -1;
    nudge_err e = {0};
    store_scalar(f->env.n->db, &v, &e, sql);
    return v;
}

static int wait_for(fx *f, const char *sql, int64_t want)
{
    for (int i = 0; i < 200; i++) {
        if (scalar(f, sql) == want)
            return 1;
        poll(NULL, 0, 50);
    }
    return 0;
}

static void inbound(fx *f, const char *json_tail)
{
    char body[512];
    snprintf(body, sizeof body, "{\"from\":\"919876543210\",%s}", json_tail);
    json_t *r = fake_json(&f->wa, "POST", "/_inbound", body);
    if (fake_int(r, "status") != 200)
        fail_msg("inbound answered %lld: %s", fake_int(r, "status"), fake_str(r, "body"));
    json_decref(r);
}

static void test_outside_window_without_template_falls_back_to_sms(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    /* The booking's confirmation: no window, no template mapped. */
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.failed, 1);
    json_t *reqs = fake_requests(&f->wa);
    assert_int_equal(json_array_size(reqs), 0); /* WhatsApp never asked */
    json_decref(reqs);
    /* The same message goes once by SMS, in the same or the next tick. */
    tick(f);
    json_t *sms = fake_last_request(&f->tw);
    assert_non_null(sms);
    assert_string_equal(fake_str(sms, "form.To"), "+919876543210");
    assert_non_null(strstr(fake_str(sms, "form.Body"), "Teeth Cleaning"));
    json_decref(sms);
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM notification_queue WHERE fallback_of = 1 "
                               "AND channel = 'sms' AND status = 'sent'"),
                     1);
    /* One logical message in the counts: the SMS that went. */
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    assert_int_equal(nudge_queue_status(f->env.n, f->clinic, counts, &e), 0);
    assert_int_equal(counts[2] + counts[5], 1); /* sent + failed */
    assert_int_equal(counts[2], 1);
    assert_int_equal(tick(f).claimed, 0); /* and never twice */
}

static void test_outside_window_uses_the_mapped_template(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_err e = {0};
    assert_int_equal(nudge_whatsapp_template_put(f->env.n, f->clinic, "appointment_confirmation",
                                                 "hi", "visit_confirmed", "hi",
                                                 "patient_name,service,date,time", NULL, 0, &e),
                     0);
    fake_control(&f->wa, "{\"templates\":{\"visit_confirmed\":{\"hi\":4}}}");
    /* The plan was made before the mapping; the scheduler renders now. */
    nudge_tick_stats st = tick(f);
    assert_int_equal(st.sent, 1);
    json_t *req = fake_last_request(&f->wa);
    assert_true(json_is_true(fake_at(req, "valid")));
    assert_string_equal(fake_str(req, "json.type"), "template");
    assert_string_equal(fake_str(req, "json.to"), "919876543210");
    assert_string_equal(fake_str(req, "json.template.name"), "visit_confirmed");
    assert_string_equal(fake_str(req, "json.template.language.code"), "hi");
    json_t *params = fake_at(req, "json.template.components");
    params = json_object_get(json_array_get(params, 0), "parameters");
    assert_int_equal(json_array_size(params), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(params, 0), "text")),
                        "Ram Lal");
    assert_string_equal(json_string_value(json_object_get(json_array_get(params, 1), "text")),
                        "Teeth Cleaning");
    json_decref(req);
    /* A mapping needing a variable the message does not have is refused. */
    assert_int_equal(nudge_whatsapp_template_put(f->env.n, f->clinic, "x", "Hindi", "y", "hi",
                                                 "", NULL, 0, &e),
                     -1);
    assert_string_equal(e.field, "language");
}

static void test_inside_window_buttons_and_replies(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_err e = {0};
    /* The patient writes first: a ticket, and the window opens. */
    inbound(f, "\"text\":\"Is there parking?\"");
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM tickets"), 1);
    tick(f); /* the "we received your message" answer and the confirmation */
    json_t *reqs = fake_requests(&f->wa);
    size_t i;
    json_t *r;
    int text = 0, interactive = 0;
    json_array_foreach(reqs, i, r)
    {
        const char *type = fake_str(r, "json.type");
        text += type && !strcmp(type, "text");
        interactive += type && !strcmp(type, "interactive");
        if (type && !strcmp(type, "interactive")) {
            json_t *b = fake_at(r, "json.interactive.action.buttons");
            assert_int_equal(json_array_size(b), 2);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(json_array_get(b, 0), "reply"),
                                                  "id")),
                "confirm");
        }
    }
    json_decref(reqs);
    /* reply_received, then the shipped FAQ's answer about parking (the
     * built-in support_ticket workflow), both free-form inside the window */
    assert_int_equal(text, 2);
    assert_int_equal(interactive, 1); /* the confirmation, with buttons */
    /* Tapping "Confirm" confirms the visit. */
    inbound(f, "\"button\":{\"id\":\"confirm\",\"title\":\"Confirm\"}");
    nudge_appointment a;
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &a, &e), 0);
    assert_string_equal(a.status, "confirmed");
}

static void test_statuses_forward_only_and_failed_falls_back(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->wa, "{\"window_open\":[\"919876543210\"],"
                         "\"statuses\":[\"sent\",\"delivered\",\"read\"]}");
    inbound(f, "\"text\":\"hello\""); /* our side of the window too */
    tick(f);
    assert_true(wait_for(f, "SELECT COUNT(*) FROM notification_queue WHERE channel = "
                            "'whatsapp' AND status = 'read'", 2));
    /* A failure after a 200 (131026 undeliverable) fails it and the SMS
     * fallback takes over. */
    fake_control(&f->wa, "{\"statuses\":[\"sent\",\"failed\"],\"failed_code\":131026}");
    nudge_send s = {.patient_id = f->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    int64_t id;
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), 0);
    tick(f);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM notification_queue WHERE id = %lld AND status = 'failed' "
             "AND last_error LIKE '%%131026%%'",
             (long long)id);
    assert_true(wait_for(f, sql, 1));
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM notification_queue WHERE fallback_of = %lld", (long long)id);
    assert_int_equal(scalar(f, sql), 1);
    tick(f);
    json_t *sms = fake_last_request(&f->tw);
    assert_non_null(strstr(fake_str(sms, "form.Body"), "Smile Dental"));
    json_decref(sms);
}

static void test_prescription_as_document(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->wa, "{\"window_open\":[\"919876543210\"]}");
    inbound(f, "\"text\":\"is my prescription ready?\"");
    tick(f);
    nudge_vars v = {0};
    nudge_vars_set(&v, "document_url", "https://smile-dental.example/rx/42.pdf");
    nudge_vars_set(&v, "document_name", "prescription-42.pdf");
    nudge_send s = {.patient_id = f->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL, .vars = &v};
    int64_t id;
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), 0);
    tick(f);
    json_t *req = fake_last_request(&f->wa);
    assert_true(json_is_true(fake_at(req, "valid")));
    assert_string_equal(fake_str(req, "json.type"), "document");
    assert_string_equal(fake_str(req, "json.document.link"),
                        "https://smile-dental.example/rx/42.pdf");
    assert_string_equal(fake_str(req, "json.document.filename"), "prescription-42.pdf");
    assert_non_null(strstr(fake_str(req, "json.document.caption"), "Smile Dental"));
    json_decref(req);
    assert_string_equal(get(f, id).status, "sent");
    /* Only links: a local path is refused at enqueue, naming it. */
    nudge_vars_set(&v, "document_url", "/etc/passwd");
    assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), -1);
    assert_string_equal(e.field, "vars.document_url");
    nudge_vars_free(&v);
}

static void test_error_codes(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->wa, "{\"window_open\":[\"919876543210\"]}");
    inbound(f, "\"text\":\"hi\"");
    tick(f);
    struct {
        const char *answer, *status;
        int attempts;
    } cases[] = {
        {"{\"code\":130429,\"status\":400}", "pending", 1}, /* throughput: by code */
        {"{\"code\":131056}", "pending", 1},
        {"{\"status\":500}", "pending", 1},
        {"{\"code\":100}", "failed", 1},
        {"{\"code\":190}", "pending", 0}, /* our token: nothing spent, channel rests */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ctl[128];
        snprintf(ctl, sizeof ctl, "{\"next\":[%s]}", cases[i].answer);
        fake_control(&f->wa, ctl);
        nudge_send s = {.patient_id = f->patient, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        int64_t id;
        nudge_err e = {0};
        assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), 0);
        tick(f);
        nudge_notification m = get(f, id);
        if (strcmp(m.status, cases[i].status) || m.attempts != cases[i].attempts)
            fail_msg("case %s: %s after %d attempts (%s)", cases[i].answer, m.status, m.attempts,
                     m.last_error);
        if (!strcmp(m.status, "pending"))
            assert_int_equal(nudge_notification_cancel(f->env.n, f->clinic, id, &e), 0);
    }
}

static void test_webhook_signatures_and_handshake(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    int64_t before = scalar(f, "SELECT COUNT(*) FROM inbound_messages");
    const char *bad[] = {"\"sign_with\":\"other-secret\"", "\"sign_with\":false",
                         "\"tamper\":true"};
    for (int i = 0; i < 3; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"from\":\"919876543210\",\"text\":\"STOP\",%s}", bad[i]);
        json_t *r = fake_json(&f->wa, "POST", "/_inbound", body);
        if (fake_int(r, "status") != 403)
            fail_msg("%s: answered %lld", bad[i], fake_int(r, "status"));
        json_decref(r);
    }
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM inbound_messages"), before);
    char path[256];
    snprintf(path, sizeof path, "/_verify?url=%s/webhooks/whatsapp&token=verify-me&challenge=4242",
             f->public_url);
    json_t *r = fake_json(&f->wa, "GET", path, NULL);
    assert_int_equal(fake_int(r, "status"), 200);
    assert_true(json_is_true(fake_at(r, "echoed")));
    json_decref(r);
    snprintf(path, sizeof path, "/_verify?url=%s/webhooks/whatsapp&token=wrong&challenge=4242",
             f->public_url);
    r = fake_json(&f->wa, "GET", path, NULL);
    assert_int_equal(fake_int(r, "status"), 403);
    json_decref(r);
}

/* The provider's id of the visit's message with this template, once sent. */
static void wamid_of(fx *f, int64_t appt, const char *tmpl, char *out, size_t n)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT id FROM notification_queue WHERE appointment_id = %lld AND template = '%s' "
             "AND channel = 'whatsapp' AND status = 'sent'",
             (long long)appt, tmpl);
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, scalar(f, sql), &m, &e), 0);
    assert_true(!strncmp(m.provider_id, "wamid.", 6));
    snprintf(out, n, "%s", m.provider_id);
    nudge_notification_free(&m);
}

/* A patient with two visits taps Confirm under the second one's message:
 * the second is confirmed, not the next one. */
static void test_button_confirms_the_visit_it_answers(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_err e = {0};
    fake_control(&f->wa, "{\"window_open\":[\"919876543210\"]}");
    inbound(f, "\"text\":\"hello\"");
    nudge_appointment b;
    memset(&b, 0, sizeof b);
    b.patient_id = f->patient;
    strcpy(b.service, "Root Canal");
    b.start_at = VISIT + 7 * 24 * 3600;
    b.duration_min = 60;
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &b, &e), 0);
    tick(f); /* both confirmations, with reply buttons */
    char first[128], second[128], tail[320];
    wamid_of(f, f->appt, "appointment_confirmation", first, sizeof first);
    wamid_of(f, b.id, "appointment_confirmation", second, sizeof second);
    snprintf(tail, sizeof tail,
             "\"button\":{\"id\":\"confirm\",\"title\":\"पक्का करें\"},\"context_id\":\"%s\"",
             second);
    inbound(f, tail);
    nudge_appointment got;
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, b.id, &got, &e), 0);
    assert_string_equal(got.status, "confirmed");
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &got, &e), 0);
    assert_string_equal(got.status, "scheduled");
    /* The button's text is what the patient sent: it is kept. */
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM inbound_messages WHERE body = 'पक्का करें' "
                               "AND action = 'confirmed'"),
                     1);
    /* A typed answer swiped onto the second's message: the second. */
    snprintf(tail, sizeof tail, "\"text\":\"N\",\"context_id\":\"%s\"", second);
    inbound(f, tail);
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, b.id, &got, &e), 0);
    assert_string_equal(got.status, "cancelled");
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &got, &e), 0);
    assert_string_equal(got.status, "scheduled");
    /* And under the first one's: the first. */
    snprintf(tail, sizeof tail,
             "\"button\":{\"id\":\"confirm\",\"title\":\"Confirm\"},\"context_id\":\"%s\"",
             first);
    inbound(f, tail);
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &got, &e), 0);
    assert_string_equal(got.status, "confirmed");
}

/* The clinic maps its approved template's quick-reply payloads through
 * the API; outside the window that template goes, and the patient's tap
 * comes back as type "button" with the payload and the button's text. */
static void test_template_quick_reply(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    api_env api = {.port = http_port(f->srv)};
    char key[NUDGE_KEY_SECRET_LEN];
    api_key(f->env.n, f->clinic, NUDGE_ROLE_STAFF, key);
    const char *path = "/v1/templates/appointment_confirmation/hi/whatsapp";
    api_resp r = api_call(&api, "PUT", path, key,
                          "{\"name\":\"visit_confirmed\",\"language\":\"hi\",\"params\":"
                          "[\"patient_name\",\"service\",\"date\",\"time\"],\"buttons\":"
                          "{\"VISIT_YES\":\"confirm\",\"VISIT_NO\":\"cancel\"}}");
    if (r.status != 200)
        fail_msg("map: %ld %s", r.status, r.body);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r.json, "whatsapp"), "buttons"),
                            "VISIT_NO")),
                        "cancel");
    api_free(&r);
    const char *bad[] = {"{\"name\":\"v\",\"language\":\"hi\",\"buttons\":{\"A\":\"stop\"}}",
                         "{\"name\":\"v\",\"language\":\"hi\",\"buttons\":{\"A\":1}}",
                         "{\"name\":\"v\",\"language\":\"hi\",\"buttons\":[\"A\"]}"};
    for (int i = 0; i < 3; i++) {
        r = api_call(&api, "PUT", path, key, bad[i]);
        API_EXPECT_PROBLEM(r, 422, "buttons");
        api_free(&r);
    }
    fake_control(&f->wa, "{\"templates\":{\"visit_confirmed\":{\"hi\":4}}}");
    assert_int_equal(tick(f).sent, 1);
    json_t *req = fake_last_request(&f->wa);
    assert_string_equal(fake_str(req, "json.type"), "template");
    json_decref(req);
    /* A text nudge would not read: the payload decides, the text is kept. */
    inbound(f, "\"quick_reply\":{\"payload\":\"VISIT_YES\",\"text\":\"Sure, see you\"}");
    nudge_appointment got;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &got, &e), 0);
    assert_string_equal(got.status, "confirmed");
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM inbound_messages WHERE body = 'Sure, see "
                               "you' AND action = 'confirmed'"),
                     1);
    assert_int_equal(scalar(f, "SELECT COUNT(*) FROM tickets"), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!fake_available())
        fprintf(stderr, "test_whatsapp: no python3, tests skipped\n");
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_outside_window_without_template_falls_back_to_sms),
        T(test_outside_window_uses_the_mapped_template),
        T(test_inside_window_buttons_and_replies),
        T(test_statuses_forward_only_and_failed_falls_back),
        T(test_prescription_as_document),
        T(test_error_codes),
        T(test_webhook_signatures_and_handshake),
        T(test_button_confirms_the_visit_it_answers),
        T(test_template_quick_reply),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
