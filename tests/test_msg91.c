/*
 * test_msg91.c: SMS through MSG91's flow API against tests/msg91_fake.py:
 * the clinic's DLT template filled with the mapped variables, the 30
 * character cap and a missing mapping refused before any request, error
 * bodies read by their type, and delivery reports accepted only with the
 * shared secret (header or query), applied forward only.
 */
#include "fake.h"
#include "httputil.h"

#include "core.h"

#define T0 TU_T(2026, 11, 24, 6, 0)

typedef struct fx {
    fake mf;
    tu_env env;
    http_server *srv;
    char public_url[64], base[64];
    int64_t clinic, patient;
} fx;

static int setup(void **state)
{
    if (!fake_available())
        return 0;
    fx *f = calloc(1, sizeof *f);
    const char *args[] = {"--authkey", "msg91-key", NULL};
    fake_start(&f->mf, "msg91_fake.py", args);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->mf.port);
    tu_env *env = &f->env;
    tu_tmpdir(env->dir, sizeof env->dir);
    tu_db_migrated(env->dir, env->db, sizeof env->db);
    snprintf(env->outbox, sizeof env->outbox, "%s/out", env->dir);
    nudge_clock_fake(&env->clock, T0);
    nudge_config cfg = {.db = env->db,
                        .outbox_dir = env->outbox,
                        .clock = &env->clock,
                        .msg91_base_url = f->base,
                        .msg91_authkey = "msg91-key",
                        .msg91_webhook_secret = "report-secret",
                        .public_url = f->public_url};
    http_config hc = {.listen = "127.0.0.1:0", .nudge = cfg, .threads = 2};
    nudge_err e = {0};
    if (http_start(&hc, &f->srv, &e) < 0)
        fail_msg("http_start: %s", e.msg);
    snprintf(f->public_url, sizeof f->public_url, "http://127.0.0.1:%d", http_port(f->srv));
    if (nudge_open(&cfg, &env->n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    char ctl[200];
    snprintf(ctl, sizeof ctl,
             "{\"report_url\":\"%s/webhooks/msg91/status\",\"shared_secret\":\"report-secret\"}",
             f->public_url);
    fake_control(&f->mf, ctl);
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
    assert_int_equal(nudge_msg91_template_put(env->n, c.id, "prescription_ready", "en",
                                              "64a1b2c3d4e5f6a7b8c9d0e1",
                                              "VAR1:patient_name,VAR2:clinic_name", &e),
                     0);
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
    fake_stop(&f->mf);
    tu_close(&f->env);
    free(f);
    return 0;
}

#define NEED_FAKE                                                                                 \
    do {                                                                                          \
        if (!*state)                                                                              \
            skip();                                                                               \
    } while (0)

static int64_t send_one(fx *f, const char *template_name, const nudge_vars *v)
{
    nudge_send s = {.patient_id = f->patient, .template_name = template_name,
                    .priority = NUDGE_NORMAL, .vars = v};
    int64_t id;
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue(f->env.n, f->clinic, &s, &id, NULL, &e), 0);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    return id;
}

static nudge_notification get(fx *f, int64_t id)
{
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, id, &m, &e), 0);
    nudge_notification_free(&m);
    return m;
}

static void test_flow_request_as_documented(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    int64_t id = send_one(f, "prescription_ready", NULL);
    json_t *req = fake_last_request(&f->mf);
    assert_true(json_is_true(fake_at(req, "valid")));
    assert_string_equal(fake_str(req, "json.template_id"), "64a1b2c3d4e5f6a7b8c9d0e1");
    json_t *r0 = json_array_get(fake_at(req, "json.recipients"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "mobiles")), "919876543210");
    assert_string_equal(json_string_value(json_object_get(r0, "VAR1")), "Ram Lal");
    assert_string_equal(json_string_value(json_object_get(r0, "VAR2")), "Smile Dental");
    json_decref(req);
    nudge_notification m = get(f, id);
    assert_string_equal(m.status, "sent");
    assert_int_equal(strlen(m.provider_id), 24);
}

static void test_refused_before_any_request(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    /* No DLT template for this one: MSG91 could not send it. */
    nudge_vars v = {0};
    nudge_vars_set(&v, "test_name", "HbA1c");
    int64_t a = send_one(f, "test_results_ready", &v);
    nudge_vars_free(&v);
    assert_string_equal(get(f, a).status, "failed");
    assert_non_null(strstr(get(f, a).last_error, "no DLT template"));
    /* A variable over 30 characters: refused by name. */
    nudge_err e = {0};
    assert_int_equal(nudge_msg91_template_put(f->env.n, f->clinic, "lab_due", "en", "abc123",
                                              "VAR1:test_name", &e),
                     0);
    nudge_vars w = {0};
    nudge_vars_set(&w, "test_name", "Comprehensive metabolic panel with lipids");
    nudge_vars_set(&w, "due_date", "01-Dec-2026");
    int64_t b = send_one(f, "lab_due", &w);
    nudge_vars_free(&w);
    assert_string_equal(get(f, b).status, "failed");
    assert_non_null(strstr(get(f, b).last_error, "VAR1 is longer than 30"));
    json_t *reqs = fake_requests(&f->mf);
    assert_int_equal(json_array_size(reqs), 0);
    json_decref(reqs);
    /* A bad mapping is refused naming the field. */
    assert_int_equal(nudge_msg91_template_put(f->env.n, f->clinic, "lab_due", "en", "xyz!",
                                              "VAR1:test_name", &e),
                     -1);
    assert_string_equal(e.field, "template_id");
}

static void test_error_bodies(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    struct {
        const char *answer, *status;
        int attempts;
    } cases[] = {
        {"{\"status\":200,\"type\":\"error\",\"message\":\"Invalid template\"}", "failed", 1},
        {"{\"status\":503}", "pending", 1},
        {"{\"status\":401}", "pending", 0}, /* last: the channel then rests */
    };
    for (size_t i = 0; i < 3; i++) {
        char ctl[160];
        snprintf(ctl, sizeof ctl, "{\"next\":[%s]}", cases[i].answer);
        fake_control(&f->mf, ctl);
        int64_t id = send_one(f, "prescription_ready", NULL);
        nudge_notification m = get(f, id);
        if (strcmp(m.status, cases[i].status) || m.attempts != cases[i].attempts)
            fail_msg("%s: %s after %d (%s)", cases[i].answer, m.status, m.attempts, m.last_error);
        nudge_err e = {0};
        if (!strcmp(m.status, "pending"))
            assert_int_equal(nudge_notification_cancel(f->env.n, f->clinic, id, &e), 0);
    }
}

/* A provider's error in Hindi longer than the 200 bytes kept of it: cut
 * on a character boundary, so PostgreSQL takes it and the send is
 * recorded (failed, once), not sent again after its lease. */
static void test_hindi_error_cut(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    char ctl[512] = "{\"next\":[{\"status\":200,\"type\":\"error\",\"message\":\"";
    char want[256] = "msg91 200: ";
    for (int i = 0; i < 67; i++) { /* 201 bytes: a byte count splits the last */
        strcat(ctl, "\xe0\xa4\xa4");
        if (i < 66)
            strcat(want, "\xe0\xa4\xa4");
    }
    strcat(ctl, "\"}]}");
    fake_control(&f->mf, ctl);
    int64_t id = send_one(f, "prescription_ready", NULL);
    nudge_notification m = get(f, id);
    assert_string_equal(m.status, "failed");
    assert_int_equal(m.attempts, 1);
    assert_string_equal(m.last_error, want);
}

static void test_reports(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    fake_control(&f->mf, "{\"reports\":[\"delivered\"]}");
    int64_t id = send_one(f, "prescription_ready", NULL);
    for (int i = 0; i < 200 && strcmp(get(f, id).status, "delivered"); i++)
        poll(NULL, 0, 50);
    assert_string_equal(get(f, id).status, "delivered");
    /* The secret in the query works too; a wrong one is refused. */
    fake_control(&f->mf, "{\"reports\":[\"failed\"],\"secret_in\":\"query\"}");
    int64_t b = send_one(f, "prescription_ready", NULL);
    for (int i = 0; i < 200 && strcmp(get(f, b).status, "failed"); i++)
        poll(NULL, 0, 50);
    assert_string_equal(get(f, b).status, "failed");
    fake_control(&f->mf, "{\"reports\":[\"delivered\"],\"secret_in\":\"header\","
                         "\"shared_secret\":\"wrong\"}");
    int64_t c = send_one(f, "prescription_ready", NULL);
    json_decref(fake_wait(&f->mf, "/_callbacks", 3, 5000));
    assert_string_equal(get(f, c).status, "sent");
}

/* A batch reads a template's MSG91 mapping once (tmpl_transport_data's
 * maps, kept with the batch's templates) and fills it for each item with
 * that item's own variables; a template the clinic did not map stays
 * unmapped beside it. */
static void test_batch_fills_each_item_from_one_mapping(void **state)
{
    NEED_FAKE;
    fx *f = *state;
    nudge_err e = {0};
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = f->clinic;
    strcpy(p.name, "Sita Devi");
    strcpy(p.phone, "9812345678");
    assert_int_equal(nudge_patient_add(f->env.n, &p, &e), 0);
    nudge_vars v = {0};
    nudge_vars_set(&v, "test_name", "HbA1c");
    nudge_send s[3] = {
        {.patient_id = f->patient, .template_name = "prescription_ready"},
        {.patient_id = p.id, .template_name = "prescription_ready"},
        {.patient_id = p.id, .template_name = "test_results_ready", .vars = &v},
    };
    nudge_batch_result out[3];
    assert_int_equal(nudge_enqueue_batch(f->env.n, f->clinic, s, 3, out, &e), 0);
    nudge_vars_free(&v);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    json_t *reqs = fake_requests(&f->mf);
    assert_int_equal(json_array_size(reqs), 2);
    const char *names[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *r0 = json_array_get(fake_at(json_array_get(reqs, i), "json.recipients"), 0);
        names[i] = json_string_value(json_object_get(r0, "VAR1"));
        assert_string_equal(fake_str(json_array_get(reqs, i), "json.template_id"),
                            "64a1b2c3d4e5f6a7b8c9d0e1");
    }
    assert_true((!strcmp(names[0], "Ram Lal") && !strcmp(names[1], "Sita Devi")) ||
                (!strcmp(names[0], "Sita Devi") && !strcmp(names[1], "Ram Lal")));
    json_decref(reqs);
    assert_string_equal(get(f, out[0].id).status, "sent");
    assert_string_equal(get(f, out[1].id).status, "sent");
    assert_non_null(strstr(get(f, out[2].id).last_error, "no DLT template"));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!fake_available())
        fprintf(stderr, "test_msg91: no python3, tests skipped\n");
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_flow_request_as_documented),
        T(test_batch_fills_each_item_from_one_mapping),
        T(test_refused_before_any_request),
        T(test_error_bodies),
        T(test_hindi_error_cut),
        T(test_reports),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
