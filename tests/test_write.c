/*
 * test_write.c: the write path of issue 16. nudge_enqueue_batch: a good
 * batch is written whole, one bad item fails the whole batch naming its
 * index and field with nothing written, dedupe keys within a batch and
 * against rows already queued. Runs on SQLite, and on PostgreSQL under
 * tests/pgcluster.sh.
 */
#include "core.h"
#include "testutil.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_good),
        cmocka_unit_test(test_batch_bad_item_fails_all),
        cmocka_unit_test(test_batch_dedupe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
