/*
 * test_write.c: the write path of issue 16. nudge_enqueue_batch: a good
 * batch is written whole, one bad item fails the whole batch naming its
 * index and field with nothing written, dedupe keys within a batch and
 * against rows already queued; and the same through POST
 * /v1/notifications:batch (every bad item listed, Idempotency-Key). Runs on
 * SQLite, and on PostgreSQL under tests/pgcluster.sh.
 */
#include "core.h"
#include "httputil.h"

#define T0 TU_T(2026, 12, 1, 6, 30)

static int64_t w_clinic(nudge *n, const char *name)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t w_patient(nudge *n, int64_t clinic, int i)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    snprintf(p.name, sizeof p.name, "Patient %d", i);
    strcpy(p.language, i % 2 ? "hi" : "en");
    snprintf(p.phone, sizeof p.phone, "98765%05d", i);
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static int64_t w_pending(nudge *n, int64_t clinic)
{
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(n, clinic, counts, &e) < 0)
        fail_msg("status: %s", e.msg);
    return counts[0];
}

static int64_t w_audit_rows(nudge *n)
{
    int64_t k = 0;
    nudge_err e = {0};
    if (store_scalar(n->db, &k, &e, "SELECT COUNT(*) FROM audit_log WHERE action = 'enqueue'") < 0)
        fail_msg("audit: %s", e.msg);
    return k;
}

static void test_batch_good(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic");
    int64_t p[5];
    for (int i = 0; i < 5; i++)
        p[i] = w_patient(n, c, i);
    nudge_send s[12];
    for (int i = 0; i < 12; i++)
        s[i] = (nudge_send){.patient_id = p[i % 5], .template_name = "prescription_ready",
                            .channel = "sms", .priority = NUDGE_NORMAL};
    nudge_batch_result out[12];
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_batch(n, c, s, 12, out, &e), 0);
    for (int i = 0; i < 12; i++) {
        assert_true(out[i].id > 0);
        assert_int_equal(out[i].created, 1);
        assert_int_equal(out[i].err.code, 0);
        for (int j = 0; j < i; j++)
            assert_true(out[i].id != out[j].id);
        nudge_notification m;
        assert_int_equal(nudge_notification_get(n, c, out[i].id, &m, &e), 0);
        assert_int_equal(m.patient_id, p[i % 5]);
        /* Each patient's own language, from the template read once per
         * (name, language). */
        assert_string_equal(m.language, i % 5 % 2 ? "hi" : "en");
        nudge_notification_free(&m);
    }
    assert_int_equal(w_pending(n, c), 12);
    assert_int_equal(w_audit_rows(n), 12);
    tu_close(&env);
}

static void test_batch_bad_item_fails_all(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic"), other = w_clinic(n, "Other Clinic");
    int64_t p = w_patient(n, c, 1), q = w_patient(n, other, 2);
    nudge_send s[6];
    for (int i = 0; i < 6; i++)
        s[i] = (nudge_send){.patient_id = p, .template_name = "prescription_ready",
                            .priority = NUDGE_NORMAL};
    s[3].patient_id = q;                 /* another clinic's patient */
    s[5].template_name = "no_such_name"; /* and a second bad item */
    nudge_batch_result out[6];
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_batch(n, c, s, 6, out, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "items[3].patient");
    assert_int_equal(out[3].err.code, NUDGE_EINVAL);
    assert_string_equal(out[3].err.field, "patient");
    assert_int_equal(out[5].err.code, NUDGE_EINVAL);
    assert_string_equal(out[5].err.field, "template");
    for (int i = 0; i < 6; i++) {
        assert_int_equal(out[i].id, 0);
        if (i != 3 && i != 5)
            assert_int_equal(out[i].err.code, 0);
    }
    /* Nothing half-written: no row, no audit line. */
    assert_int_equal(w_pending(n, c), 0);
    assert_int_equal(w_audit_rows(n), 0);
    /* Too many items: refused before anything is read. */
    nudge_send *big = calloc(NUDGE_BATCH_MAX + 1, sizeof *big);
    nudge_batch_result *bout = calloc(NUDGE_BATCH_MAX + 1, sizeof *bout);
    assert_int_equal(nudge_enqueue_batch(n, c, big, NUDGE_BATCH_MAX + 1, bout, &e), -1);
    assert_string_equal(e.field, "items");
    free(big);
    free(bout);
    tu_close(&env);
}

static void test_batch_dedupe(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic");
    int64_t p = w_patient(n, c, 1);
    nudge_err e = {0};
    int64_t before;
    nudge_send one = {.patient_id = p, .template_name = "prescription_ready",
                      .priority = NUDGE_NORMAL, .dedupe_key = "old"};
    assert_int_equal(nudge_enqueue(n, c, &one, &before, NULL, &e), 0);
    nudge_send s[4] = {
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "k"},
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "k"},
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "old"},
        {.patient_id = p, .template_name = "prescription_ready"},
    };
    for (int i = 0; i < 4; i++)
        s[i].priority = NUDGE_NORMAL;
    nudge_batch_result out[4];
    assert_int_equal(nudge_enqueue_batch(n, c, s, 4, out, &e), 0);
    assert_int_equal(out[0].created, 1);
    assert_int_equal(out[1].created, 0);
    assert_int_equal(out[1].id, out[0].id);
    assert_int_equal(out[2].created, 0);
    assert_int_equal(out[2].id, before);
    assert_int_equal(out[3].created, 1);
    assert_int_equal(w_pending(n, c), 3);
    tu_close(&env);
}

static void test_batch_http(void **state)
{
    (void)state;
    api_env a;
    api_open(&a, T0);
    nudge *n = a.env.n;
    int64_t p1 = w_patient(n, a.clinic_a, 1), p2 = w_patient(n, a.clinic_a, 2);
    int64_t pb = w_patient(n, a.clinic_b, 3);
    char body[512];
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"priority\":\"high\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"dedupe_key\":\"d1\"}]}",
             (long long)p1, (long long)p2, (long long)p1);
    api_resp r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    assert_int_equal(r.status, 201);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    int64_t ids[3];
    for (size_t i = 0; i < 3; i++) {
        ids[i] = json_integer_value(json_object_get(json_array_get(items, i), "id"));
        assert_true(ids[i] > 0);
        assert_true(json_is_true(json_object_get(json_array_get(items, i), "created")));
    }
    assert_true(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    api_free(&r);
    assert_int_equal(w_pending(n, a.clinic_a), 3);

    /* Every bad item listed, each by index; nothing written. */
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"no_such_template\"}]}",
             (long long)p1, (long long)pb, (long long)p2);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "items[1].patient_id");
    json_t *errs = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(errs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 1), "field")),
                        "items[2].template");
    api_free(&r);
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"priority\":5}]}",
             (long long)p1, (long long)p2);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "items[1].priority");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, "{\"items\":[]}");
    API_EXPECT_PROBLEM(r, 422, "items");
    api_free(&r);
    assert_int_equal(w_pending(n, a.clinic_a), 3);

    /* Idempotency-Key: the second call answers the first's result. */
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"}]}",
             (long long)p2);
    const char *hk[] = {"Idempotency-Key: batch-1", NULL};
    api_resp r1 = api_call_raw(&a, "POST", "/v1/notifications:batch", a.integ_a, body,
                               strlen(body), hk);
    api_resp r2 = api_call_raw(&a, "POST", "/v1/notifications:batch", a.integ_a, body,
                               strlen(body), hk);
    assert_int_equal(r1.status, 201);
    assert_int_equal(r2.status, 201);
    assert_string_equal(r1.body, r2.body);
    api_free(&r1);
    api_free(&r2);
    assert_int_equal(w_pending(n, a.clinic_a), 4);
    api_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_good),
        cmocka_unit_test(test_batch_bad_item_fails_all),
        cmocka_unit_test(test_batch_dedupe),
        cmocka_unit_test(test_batch_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
