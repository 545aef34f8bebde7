/*
 * test_guard.c: the guarantees front ends wrap around a change, as the
 * library gives them (src/guard.c): a change under a key runs once and its
 * answer is replayed; a failed change leaves nothing, not even the key;
 * If-Match on an appointment action is checked in the action's own
 * transaction; readiness compares schema versions; times as text.
 */
#include "testutil.h"

#define T0 TU_T(2026, 11, 24, 6, 0)

typedef struct run {
    nudge *n;
    int64_t clinic_id;
    int calls;
    int fail; /* add the patient, then fail: the add must roll back */
    int64_t patient_id;
} run;

static int add_patient(void *ctx, int *code, char **answer)
{
    run *x = ctx;
    x->calls++;
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = x->clinic_id;
    snprintf(p.name, sizeof p.name, "Patient %d", x->calls);
    snprintf(p.phone, sizeof p.phone, "+9198765432%02d", x->calls);
    nudge_err e = {0};
    if (nudge_patient_add(x->n, &p, &e) < 0)
        return -1;
    x->patient_id = p.id;
    if (x->fail)
        return -1;
    *code = 201;
    *answer = malloc(32);
    snprintf(*answer, 32, "{\"id\":%lld}", (long long)p.id);
    return 0;
}

static int64_t new_clinic(nudge *n)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_err e = {0};
    assert_int_equal(nudge_clinic_add(n, &c, &e), 0);
    return c.id;
}

static int count_patient(void *ctx, const nudge_patient *p)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}

static int patients(nudge *n, int64_t clinic_id)
{
    int k = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_list(n, clinic_id, 0, 100, count_patient, &k, &e), 0);
    return k;
}

static void test_once_runs_once_and_replays(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    run x = {.n = env.n, .clinic_id = new_clinic(env.n)};
    nudge_once_result res;
    nudge_err e = {0};
    const char req[] = "POST /v1/patients\n{\"name\":\"A\"}";
    assert_int_equal(nudge_once(env.n, x.clinic_id, "k1", req, strlen(req), add_patient, &x, &res,
                                &e),
                     0);
    assert_int_equal(res.replayed, 0);
    assert_int_equal(res.code, 201);
    assert_int_equal(x.calls, 1);
    assert_int_equal(nudge_once(env.n, x.clinic_id, "k1", req, strlen(req), add_patient, &x, &res,
                                &e),
                     0);
    assert_int_equal(res.replayed, 1);
    assert_int_equal(res.code, 201);
    char want[32];
    snprintf(want, sizeof want, "{\"id\":%lld}", (long long)x.patient_id);
    assert_string_equal(res.answer, want);
    free(res.answer);
    assert_int_equal(x.calls, 1);
    assert_int_equal(patients(env.n, x.clinic_id), 1);

    /* Another request under the same key: refused, nothing run. */
    const char other[] = "POST /v1/patients\n{\"name\":\"B\"}";
    assert_int_equal(nudge_once(env.n, x.clinic_id, "k1", other, strlen(other), add_patient, &x,
                                &res, &e),
                     -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_string_equal(e.field, "idempotency_key");
    assert_int_equal(x.calls, 1);

    /* Keys belong to a clinic: another clinic's same key is new. */
    run y = {.n = env.n, .clinic_id = new_clinic(env.n)};
    assert_int_equal(nudge_once(env.n, y.clinic_id, "k1", req, strlen(req), add_patient, &y, &res,
                                &e),
                     0);
    assert_int_equal(res.replayed, 0);
    assert_int_equal(y.calls, 1);
    tu_close(&env);
}

static void test_once_failure_leaves_nothing(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    run x = {.n = env.n, .clinic_id = new_clinic(env.n), .fail = 1};
    nudge_once_result res;
    nudge_err e = {0};
    assert_int_equal(nudge_once(env.n, x.clinic_id, "k", "r", 1, add_patient, &x, &res, &e), 0);
    assert_int_equal(res.replayed, 0);
    assert_int_equal(patients(env.n, x.clinic_id), 0); /* the add rolled back with it */
    x.fail = 0;
    assert_int_equal(nudge_once(env.n, x.clinic_id, "k", "r", 1, add_patient, &x, &res, &e), 0);
    assert_int_equal(res.replayed, 0); /* the retry ran afresh */
    assert_int_equal(x.calls, 2);
    assert_int_equal(patients(env.n, x.clinic_id), 1);

    char big[NUDGE_ONCE_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(nudge_once(env.n, x.clinic_id, big, "r", 1, add_patient, &x, &res, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_int_equal(nudge_once(env.n, x.clinic_id, "", "r", 1, add_patient, &x, &res, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    big[NUDGE_ONCE_KEY_MAX] = 0; /* exactly the longest */
    assert_int_equal(nudge_once(env.n, x.clinic_id, big, "r", 1, add_patient, &x, &res, &e), 0);
    assert_int_equal(x.calls, 3);
    tu_close(&env);
}

static void test_act_checks_if_match(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t clinic = new_clinic(env.n);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "+919876543210");
    nudge_err e = {0};
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_appointment a = {0};
    a.patient_id = p.id;
    strcpy(a.service, "Cleaning");
    a.start_at = T0 + 3 * 86400;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_add(env.n, clinic, &a, &e), 0);
    assert_int_equal(nudge_appointment_get(env.n, clinic, a.id, &a, &e), 0);
    int64_t v = a.version;

    nudge_appointment out;
    assert_int_equal(nudge_appointment_act(env.n, clinic, a.id, "confirm", 0, v + 1, &out, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_string_equal(e.field, "version");
    assert_int_equal(nudge_appointment_get(env.n, clinic, a.id, &a, &e), 0);
    assert_string_equal(a.status, "scheduled"); /* nothing changed */

    assert_int_equal(nudge_appointment_act(env.n, clinic, a.id, "confirm", 0, v, &out, &e), 0);
    assert_string_equal(out.status, "confirmed");
    assert_true(out.version > v);
    /* The version it was read at is gone now. */
    assert_int_equal(nudge_appointment_act(env.n, clinic, a.id, "cancel", 0, v, &out, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);

    assert_int_equal(nudge_appointment_act(env.n, clinic, a.id, "reschedule", T0 + 4 * 86400, 0,
                                           &out, &e),
                     0);
    assert_int_equal(nudge_appointment_get(env.n, clinic, a.id, &a, &e), 0);
    assert_string_equal(a.status, "rescheduled");

    assert_int_equal(nudge_appointment_act(env.n, clinic, a.id, "explode", 0, 0, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "action");
    assert_int_equal(nudge_appointment_act(env.n, clinic, 999, "confirm", 0, 0, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    int k = 0;
    while (nudge_appointment_actions[k])
        k++;
    assert_int_equal(k, 5);
    tu_close(&env);
}

static void test_schema_and_times(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int have = -1, want = -1;
    nudge_err e = {0};
    assert_int_equal(nudge_schema_status(env.n, &have, &want, &e), 0);
    assert_true(want > 0);
    assert_int_equal(have, want);
    tu_close(&env);

    int64_t t;
    assert_int_equal(nudge_time_parse("2026-12-01T10:00", "Asia/Kolkata", &t, "at", &e), 0);
    assert_int_equal(t, TU_T(2026, 12, 1, 4, 30));
    char buf[48];
    nudge_time_format(t, "Asia/Kolkata", buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01T10:00:00+05:30");
    assert_int_equal(nudge_time_parse("tomorrow", "Asia/Kolkata", &t, "at", &e), -1);
    assert_string_equal(e.field, "at");
    int m;
    assert_int_equal(nudge_time_parse_hhmm("21:30", &m), 0);
    assert_int_equal(m, 21 * 60 + 30);
    assert_int_equal(nudge_time_parse_hhmm("24:00", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_runs_once_and_replays),
        cmocka_unit_test(test_once_failure_leaves_nothing),
        cmocka_unit_test(test_act_checks_if_match),
        cmocka_unit_test(test_schema_and_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
