/*
 * test_domain.c: clinics, patients and appointments: validation names the
 * field and writes nothing; what is written carries its event and audit
 * row in the same transaction; reads are scoped to the clinic; lists page.
 */
#include "testutil.h"

#include "core.h"

#define T0 TU_T(2026, 11, 24, 6, 0)

static int64_t count(nudge *n, const char *sql)
{
    int64_t c = -1;
    nudge_err e = {0};
    assert_int_equal(store_scalar(n->db, &c, &e, sql), 1);
    return c;
}

static nudge_clinic clinic(const char *name)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, name);
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "in");
    return c;
}

static void test_clinic_validation(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic("");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "name");
    c = clinic("A");
    strcpy(c.timezone, "Asia/Nowhere");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "timezone");
    c = clinic("A");
    strcpy(c.country, "ZZ");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "country");
    c = clinic("A");
    strcpy(c.phone, "123");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "phone");
    c = clinic("A");
    c.quiet_start = 1440;
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "quiet_hours");
    c = clinic("A");
    c.rate_per_minute = 0;
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "rate_per_minute");
    c = clinic("A");
    strcpy(c.default_channel, "fax");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), -1);
    assert_string_equal(e.field, "default_channel");
    int offs[8], no;
    assert_int_equal(clinic_parse_offsets("1440,x", offs, &no, &e), -1);
    assert_string_equal(e.field, "reminder_offsets");
    assert_int_equal(clinic_parse_offsets("0", offs, &no, &e), -1);
    assert_int_equal(clinic_parse_offsets("2880,1440,60", offs, &no, &e), 0);
    assert_int_equal(no, 3);
    assert_int_equal(offs[2], 60);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM clinics"), 0);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM audit_log"), 0);

    c = clinic("Smile Dental");
    strcpy(c.phone, "080 4123 4567");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    nudge_clinic got;
    assert_int_equal(nudge_clinic_get(env.n, c.id, &got, &e), 0);
    assert_string_equal(got.country, "IN");
    assert_string_equal(got.phone, "+918041234567");
    assert_int_equal(got.n_offsets, 2);
    assert_int_equal(got.offsets[0], 1440);
    assert_int_equal(got.quiet_start, 21 * 60);
    assert_int_equal(got.created_at, T0);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM audit_log WHERE entity = 'clinic'"), 1);
    assert_int_equal(nudge_clinic_get(env.n, 99, &got, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&env);
}

static void test_patient_validation_writes_nothing(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic("A");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    struct {
        const char *phone, *email, *lang, *dob, *channel, *tz, *field;
    } bad[] = {
        {"", "", "", "", "", "", "phone"},
        {"98765", "", "", "", "", "", "phone"},
        {"98765abcde", "", "", "", "", "", "phone"},
        {"", "a@b", "", "", "", "", "email"},
        {"", "a b@example.com", "", "", "", "", "email"},
        {"9876543210", "", "Hindi", "", "", "", "language"},
        {"9876543210", "", "", "2023-02-29", "", "", "date_of_birth"},
        {"9876543210", "", "", "1990-13-01", "", "", "date_of_birth"},
        {"9876543210", "", "", "", "pigeon", "", "preferred_channel"},
        {"9876543210", "", "", "", "email", "", "preferred_channel"},
        {"9876543210", "", "", "", "", "Moon/Base", "timezone"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = c.id;
        strcpy(p.name, "Asha");
        strcpy(p.phone, bad[i].phone);
        strcpy(p.email, bad[i].email);
        strcpy(p.language, bad[i].lang);
        strcpy(p.dob, bad[i].dob);
        strcpy(p.preferred_channel, bad[i].channel);
        strcpy(p.timezone, bad[i].tz);
        assert_int_equal(nudge_patient_add(env.n, &p, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        if (strcmp(e.field, bad[i].field))
            fail_msg("case %zu: field %s, want %s (%s)", i, e.field, bad[i].field, e.msg);
    }
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = 42;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "9876543210");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "clinic");
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM patients"), 0);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM patient_communication_preferences"), 0);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM events"), 0);
    tu_close(&env);
}

static void test_patient_round_trip_and_scope(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic a = clinic("A"), b = clinic("B");
    assert_int_equal(nudge_clinic_add(env.n, &a, &e), 0);
    assert_int_equal(nudge_clinic_add(env.n, &b, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = a.id;
    strcpy(p.name, "Asha Rao");
    strcpy(p.phone, "+91 98765-43210");
    strcpy(p.email, "asha@example.com");
    strcpy(p.dob, "1990-02-28");
    strcpy(p.tags, "diabetes,braces");
    strcpy(p.preferred_channel, "whatsapp");
    p.preferred_time = 9 * 60;
    p.opt_outs = NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_EMAIL;
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_patient got;
    assert_int_equal(nudge_patient_get(env.n, a.id, p.id, &got, &e), 0);
    assert_string_equal(got.phone, "+919876543210");
    assert_string_equal(got.language, "en"); /* the clinic's */
    assert_string_equal(got.tags, "diabetes,braces");
    assert_string_equal(got.preferred_channel, "whatsapp");
    assert_int_equal(got.preferred_time, 9 * 60);
    assert_int_equal(got.opt_outs, NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_EMAIL);
    /* Clinic B cannot see A's patient: the same answer as no patient. */
    assert_int_equal(nudge_patient_get(env.n, b.id, p.id, &got, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM events WHERE type = 'patient.created'"), 1);
    tu_close(&env);
}

struct ids {
    int n;
    int64_t id[16];
};
static int collect_patient(void *ctx, const nudge_patient *p)
{
    struct ids *x = ctx;
    x->id[x->n++] = p->id;
    return 0;
}

static void test_lists_page_by_id(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic a = clinic("A"), b = clinic("B");
    assert_int_equal(nudge_clinic_add(env.n, &a, &e), 0);
    assert_int_equal(nudge_clinic_add(env.n, &b, &e), 0);
    for (int i = 0; i < 7; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = i % 2 ? b.id : a.id;
        snprintf(p.name, sizeof p.name, "P%d", i);
        strcpy(p.email, "p@example.com");
        assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    }
    struct ids x = {0};
    assert_int_equal(nudge_patient_list(env.n, a.id, 0, 2, collect_patient, &x, &e), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.id[0], 1);
    assert_int_equal(x.id[1], 3);
    struct ids y = {0};
    assert_int_equal(nudge_patient_list(env.n, a.id, x.id[1], 10, collect_patient, &y, &e), 0);
    assert_int_equal(y.n, 2);
    assert_int_equal(y.id[0], 5);
    assert_int_equal(y.id[1], 7);
    tu_close(&env);
}

static void test_appointment_rules(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic("A");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "9876543210");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = p.id;
    a.start_at = T0 + 86400 * 3;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_add(env.n, c.id, &a, &e), -1);
    assert_string_equal(e.field, "service");
    strcpy(a.service, "Cleaning");
    a.duration_min = 0;
    assert_int_equal(nudge_appointment_add(env.n, c.id, &a, &e), -1);
    assert_string_equal(e.field, "duration");
    a.duration_min = 30;
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM appointments"), 0);
    assert_int_equal(nudge_appointment_add(env.n, c.id, &a, &e), 0);
    assert_string_equal(a.status, "scheduled");
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM events WHERE type = "
                                  "'appointment.booked'"),
                     1);
    /* Confirm is idempotent, then complete; a completed visit is final. */
    assert_int_equal(nudge_appointment_confirm(env.n, c.id, a.id, &e), 0);
    assert_int_equal(nudge_appointment_confirm(env.n, c.id, a.id, &e), 0);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM events WHERE type = "
                                  "'appointment.confirmed'"),
                     1);
    assert_int_equal(nudge_appointment_reschedule(env.n, c.id, a.id, T0 - 1, &e), -1);
    assert_string_equal(e.field, "at");
    env.clock.t = a.start_at + 3600;
    assert_int_equal(nudge_appointment_complete(env.n, c.id, a.id, &e), 0);
    assert_int_equal(nudge_appointment_cancel(env.n, c.id, a.id, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_appointment_reschedule(env.n, c.id, a.id, a.start_at + 86400 * 9, &e),
                     -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    /* Another clinic's id is not found, and nothing changed. */
    nudge_clinic other = clinic("B");
    assert_int_equal(nudge_clinic_add(env.n, &other, &e), 0);
    assert_int_equal(nudge_appointment_cancel(env.n, other.id, a.id, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    nudge_appointment got;
    assert_int_equal(nudge_appointment_get(env.n, c.id, a.id, &got, &e), 0);
    assert_string_equal(got.status, "completed");
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM audit_log WHERE entity = "
                                  "'appointment'"),
                     3); /* create, confirm, complete */
    tu_close(&env);
}

static void test_patient_update_and_versions(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic("A"), other = clinic("B");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    assert_int_equal(nudge_clinic_add(env.n, &other, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "9876543210");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_patient got;
    assert_int_equal(nudge_patient_get(env.n, c.id, p.id, &got, &e), 0);
    assert_int_equal(got.version, 1);
    /* Two receptionists load version 1; the first save wins ... */
    nudge_patient a = got, b = got;
    strcpy(a.email, "asha@example.com");
    a.opt_outs = NUDGE_OPTOUT_SMS;
    assert_int_equal(nudge_patient_update(env.n, c.id, &a, 1, &e), 0);
    assert_int_equal(a.version, 2);
    assert_string_equal(a.email, "asha@example.com");
    assert_int_equal(a.opt_outs, NUDGE_OPTOUT_SMS);
    /* ... and the second is refused, not silently merged. */
    strcpy(b.name, "Asha Rao");
    assert_int_equal(nudge_patient_update(env.n, c.id, &b, 1, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_patient_get(env.n, c.id, p.id, &got, &e), 0);
    assert_string_equal(got.name, "Asha");
    /* Validation applies as on create; another clinic cannot update. */
    strcpy(got.phone, "123");
    assert_int_equal(nudge_patient_update(env.n, c.id, &got, 0, &e), -1);
    assert_string_equal(e.field, "phone");
    strcpy(got.phone, "9876543210");
    assert_int_equal(nudge_patient_update(env.n, other.id, &got, 0, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_int_equal(count(env.n, "SELECT COUNT(*) FROM audit_log WHERE action = 'update'"), 1);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clinic_validation),
        cmocka_unit_test(test_patient_validation_writes_nothing),
        cmocka_unit_test(test_patient_round_trip_and_scope),
        cmocka_unit_test(test_lists_page_by_id),
        cmocka_unit_test(test_appointment_rules),
        cmocka_unit_test(test_patient_update_and_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
