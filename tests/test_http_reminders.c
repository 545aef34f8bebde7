/*
 * test_http_reminders.c: /v1/prescriptions and /v1/reminders through the
 * real server on a fake clock: a prescription with its medications made,
 * read, listed and stopped; its doses listed by subject; errors naming the
 * medication's field; another clinic kept out; plans cancelled by patient;
 * the roles each route allows; recall rules made, a recall made by a
 * completed visit, listed and closed; a prescription changed (its doses
 * re-planned in one transaction, a refused change leaving them); lab
 * orders made, listed and marked done; a follow-up visit on a date;
 * prescription and results ready sent now; and each one's errors naming
 * the field.
 */
#include "httputil.h"

/* 2026-12-01 05:30 Asia/Kolkata */
#define T0 TU_T(2026, 12, 1, 0, 0)

static int setup(void **state)
{
    api_env *a = calloc(1, sizeof *a);
    api_open(a, T0);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    api_close(*state);
    free(*state);
    return 0;
}

static int64_t make_patient(api_env *a)
{
    api_resp r = api_call(a, "POST", "/v1/patients", a->integ_a,
                          "{\"name\":\"Ram Lal\",\"phone\":\"9876543210\"}");
    if (r.status != 201)
        fail_msg("patient: %ld %s", r.status, r.body);
    int64_t id = api_int(&r, "id");
    api_free(&r);
    return id;
}

static void test_prescription_round_trip(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    char body[512], path[96];
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"prescriber\": \"Dr Rao\", \"medications\": ["
             "{\"drug_name\": \"Amoxicillin\", \"dose\": \"500 mg\", \"frequency\": \"BD\", "
             "\"duration\": \"2 days\"},"
             "{\"drug_name\": \"Vitamin D3\", \"dose\": \"1 tablet\", \"frequency\": \"1-0-0\", "
             "\"duration\": \"2 days\", \"instructions\": \"after food\"}]}",
             (long long)p);
    api_resp r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    if (r.status != 201)
        fail_msg("create: %ld %s", r.status, r.body);
    int64_t id = api_int(&r, "id");
    snprintf(path, sizeof path, "/v1/prescriptions/%lld", (long long)id);
    assert_string_equal(r.location, path);
    assert_string_equal(api_str(&r, "status"), "active");
    assert_string_equal(api_str(&r, "starts_on"), "2026-12-01");
    assert_string_equal(api_str(&r, "ends_on"), "2026-12-02");
    json_t *meds = json_object_get(r.json, "medications");
    assert_int_equal(json_array_size(meds), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(meds, 0), "times")),
                        "09:00,21:00");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(meds, 1), "days")), 2);
    api_free(&r);

    snprintf(path, sizeof path, "/v1/reminders?subject=prescription:%lld", (long long)id);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    assert_int_equal(r.status, 200);
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 4); /* 09:00 carries both drugs */
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "kind")),
                        "medication");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "due_at")),
                        "2026-12-01T09:00:00+05:30");
    api_free(&r);

    snprintf(path, sizeof path, "/v1/prescriptions?patient_id=%lld", (long long)p);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_free(&r);

    /* Another clinic does not see it; integration keys cannot stop it. */
    snprintf(path, sizeof path, "/v1/prescriptions/%lld", (long long)id);
    r = api_call(a, "GET", path, a->admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    snprintf(path, sizeof path, "/v1/prescriptions/%lld/stop", (long long)id);
    r = api_call(a, "POST", path, a->integ_a, "{}");
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, "{\"reason\": \"rash\", \"why\": 1}");
    API_EXPECT_PROBLEM(r, 422, "why");
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, "{\"reason\": \"rash\"}");
    if (r.status != 200)
        fail_msg("stop: %ld %s", r.status, r.body);
    assert_string_equal(api_str(&r, "status"), "stopped");
    assert_string_equal(api_str(&r, "stop_reason"), "rash");
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, "{}");
    API_EXPECT_PROBLEM(r, 409, "status");
    api_free(&r);
}

static void test_prescription_errors_name_the_field(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    char body[512];
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"medications\": ["
             "{\"drug_name\": \"A\", \"dose\": \"1\", \"frequency\": \"OD\", \"duration\": \"5 days\"},"
             "{\"drug_name\": \"B\", \"dose\": \"1\", \"frequency\": \"TDSS\", \"duration\": \"5 days\"}]}",
             (long long)p);
    api_resp r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "medications[1].frequency");
    assert_non_null(strstr(api_str(&r, "detail"), "unknown frequency \"TDSS\""));
    api_free(&r);
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"medications\": [{\"drug_name\": \"A\", \"dose\": \"1\", "
             "\"frequency\": \"OD\", \"duration\": \"5 days\", \"dayz\": 3}]}",
             (long long)p);
    r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "medications[0].dayz");
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\": %lld}", (long long)p);
    r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "medications");
    api_free(&r);
    r = api_call(a, "GET", "/v1/prescriptions", a->integ_a, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
    api_free(&r);
}

static void test_cancel_plans_by_patient(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    char body[512], path[96];
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"medications\": [{\"drug_name\": \"A\", \"dose\": \"1\", "
             "\"frequency\": \"HS\", \"duration\": \"3 days\"}]}",
             (long long)p);
    api_resp r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    assert_int_equal(r.status, 201);
    api_free(&r);
    r = api_call(a, "GET", "/v1/reminders", a->integ_a, NULL);
    API_EXPECT_PROBLEM(r, 400, "patient_id");
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\": %lld}", (long long)p);
    r = api_call(a, "POST", "/v1/reminders/cancel", a->integ_a, body);
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(a, "POST", "/v1/reminders/cancel", a->staff_a, body);
    assert_int_equal(r.status, 200);
    assert_int_equal(api_int(&r, "cancelled"), 3);
    api_free(&r);
    r = api_call(a, "POST", "/v1/reminders/cancel", a->staff_a, "{}");
    API_EXPECT_PROBLEM(r, 422, "patient_id");
    api_free(&r);
    snprintf(path, sizeof path, "/v1/reminders?patient_id=%lld", (long long)p);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "status")),
                        "cancelled");
    api_free(&r);
}

static void test_recalls(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    api_resp r = api_call(a, "POST", "/v1/recalls/rules", a->staff_a,
                          "{\"service\":\"Cleaning\",\"after_days\":180,\"cadence\":\"28,14\"}");
    API_EXPECT_PROBLEM(r, 422, "cadence");
    api_free(&r);
    r = api_call(a, "POST", "/v1/recalls/rules", a->integ_a,
                 "{\"service\":\"Cleaning\",\"after_days\":180}");
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(a, "POST", "/v1/recalls/rules", a->staff_a,
                 "{\"service\":\"Cleaning\",\"after_days\":180,\"cadence\":\"14,28\"}");
    assert_int_equal(r.status, 201);
    assert_string_equal(api_str(&r, "template"), "preventive_care_annual");
    api_free(&r);
    r = api_call(a, "GET", "/v1/recalls/rules", a->integ_a, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_free(&r);
    char body[256], path[96];
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"service\":\"cleaning\","
             "\"start_at\":\"2026-12-01T10:00:00+05:30\"}",
             (long long)p);
    r = api_call(a, "POST", "/v1/appointments", a->staff_a, body);
    int64_t appt = api_int(&r, "id");
    api_free(&r);
    snprintf(path, sizeof path, "/v1/appointments/%lld/complete", (long long)appt);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    assert_int_equal(r.status, 200);
    api_free(&r);
    snprintf(path, sizeof path, "/v1/recalls?patient_id=%lld", (long long)p);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    json_t *first = json_array_get(json_object_get(r.json, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "due_on")), "2027-05-30");
    assert_string_equal(json_string_value(json_object_get(first, "next_at")),
                        "2027-05-30T10:00:00+05:30");
    assert_string_equal(json_string_value(json_object_get(first, "status")), "open");
    int64_t id = json_integer_value(json_object_get(first, "id"));
    api_free(&r);
    snprintf(path, sizeof path, "/v1/recalls/%lld/close", (long long)id);
    r = api_call(a, "POST", path, a->admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    assert_int_equal(r.status, 200);
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
}


/* Counts a subject's plans by status ("" for all). */
static int plans(api_env *a, const char *subject, const char *status)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/reminders?subject=%s", subject);
    api_resp r = api_call(a, "GET", path, a->integ_a, NULL);
    assert_int_equal(r.status, 200);
    json_t *data = json_object_get(r.json, "data");
    int k = 0;
    for (size_t i = 0; i < json_array_size(data); i++)
        k += !*status || !strcmp(json_string_value(json_object_get(json_array_get(data, i),
                                                                   "status")), status);
    api_free(&r);
    return k;
}

static void test_prescription_change(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    char body[512], path[96], subject[48];
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"notes\": \"n1\", \"medications\": [{\"drug_name\": "
             "\"A\", \"dose\": \"1\", \"frequency\": \"BD\", \"duration\": \"3 days\"}]}",
             (long long)p);
    api_resp r = api_call(a, "POST", "/v1/prescriptions", a->integ_a, body);
    assert_int_equal(r.status, 201);
    int64_t id = api_int(&r, "id");
    api_free(&r);
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)id);
    snprintf(path, sizeof path, "/v1/prescriptions/%lld/change", (long long)id);
    assert_int_equal(plans(a, subject, "planned"), 6);

    /* Refused: nothing changes, the six doses stay planned. */
    r = api_call(a, "POST", path, a->staff_a,
                 "{\"medications\": [{\"drug_name\": \"A\", \"dose\": \"1\", "
                 "\"frequency\": \"BDD\", \"duration\": \"2 days\"}]}");
    API_EXPECT_PROBLEM(r, 422, "medications[0].frequency");
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a,
                 "{\"status\": \"stopped\", \"medications\": [{\"drug_name\": \"A\", "
                 "\"dose\": \"1\", \"frequency\": \"OD\", \"duration\": \"2 days\"}]}");
    API_EXPECT_PROBLEM(r, 422, "status");
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, "{\"prescriber\": \"Dr Rao\"}");
    API_EXPECT_PROBLEM(r, 422, "medications");
    api_free(&r);
    r = api_call(a, "POST", path, a->integ_a, "{}");
    assert_int_equal(r.status, 403);
    api_free(&r);
    assert_int_equal(plans(a, subject, "planned"), 6);

    /* At 10:00 on the first day: the 09:00 dose has gone by; OD at 09:00
     * for 2 days from the start leaves only tomorrow's. */
    a->env.clock.t = T0 + (4 * 60 + 30) * 60;
    r = api_call(a, "POST", path, a->staff_a,
                 "{\"prescriber\": \"Dr Rao\", \"medications\": [{\"drug_name\": \"B\", "
                 "\"dose\": \"2\", \"frequency\": \"OD\", \"duration\": \"2 days\"}]}");
    if (r.status != 200)
        fail_msg("change: %ld %s", r.status, r.body);
    assert_string_equal(api_str(&r, "prescriber"), "Dr Rao");
    assert_string_equal(api_str(&r, "notes"), "n1"); /* kept */
    assert_string_equal(api_str(&r, "ends_on"), "2026-12-02");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "medications"), 0),
                            "drug_name")),
                        "B");
    api_free(&r);
    assert_int_equal(plans(a, subject, "planned"), 1);
    assert_int_equal(plans(a, subject, "cancelled"), 6);

    snprintf(path, sizeof path, "/v1/prescriptions/%lld/stop", (long long)id);
    r = api_call(a, "POST", path, a->staff_a, "{}");
    assert_int_equal(r.status, 200);
    api_free(&r);
    snprintf(path, sizeof path, "/v1/prescriptions/%lld/change", (long long)id);
    r = api_call(a, "POST", path, a->staff_a,
                 "{\"medications\": [{\"drug_name\": \"B\", \"dose\": \"2\", "
                 "\"frequency\": \"OD\", \"duration\": \"2 days\"}]}");
    API_EXPECT_PROBLEM(r, 409, "status");
    api_free(&r);
}

static void test_labs_followups_ready(void **state)
{
    api_env *a = *state;
    int64_t p = make_patient(a);
    char body[512], path[96];
    snprintf(body, sizeof body,
             "{\"patient_id\": %lld, \"test_name\": \"HbA1c\", \"due_on\": \"2026-12-10\", "
             "\"repeat_days\": 7}",
             (long long)p);
    api_resp r = api_call(a, "POST", "/v1/labs", a->integ_a, body);
    if (r.status != 201)
        fail_msg("lab: %ld %s", r.status, r.body);
    int64_t lab = api_int(&r, "id");
    snprintf(path, sizeof path, "/v1/labs/%lld", (long long)lab);
    assert_string_equal(r.location, path);
    assert_string_equal(api_str(&r, "status"), "due");
    assert_string_equal(api_str(&r, "next_at"), "2026-12-10T10:00:00+05:30");
    api_free(&r);
    const struct {
        const char *json, *field;
    } bad[] = {
        {"\"test_name\": \"X\", \"due_on\": \"2026-02-30\"", "due_on"},
        {"\"test_name\": \"X\", \"due_on\": \"2026-12-10\", \"bogus\": 1", "bogus"},
        {"\"test_name\": \"X\", \"due_on\": \"2026-12-10\", \"channels\": \"both\"",
         "channels"}, /* no email */
        {"\"test_name\": \"X\", \"due_on\": \"2026-12-10\", \"repeat_days\": 400",
         "repeat_days"},
        {"\"due_on\": \"2026-12-10\"", "test_name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(body, sizeof body, "{\"patient_id\": %lld, %s}", (long long)p, bad[i].json);
        r = api_call(a, "POST", "/v1/labs", a->integ_a, body);
        API_EXPECT_PROBLEM(r, 422, bad[i].field);
        api_free(&r);
    }
    snprintf(path, sizeof path, "/v1/labs?patient_id=%lld", (long long)p);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_free(&r);
    r = api_call(a, "GET", "/v1/labs", a->admin_b, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
    api_free(&r);
    snprintf(path, sizeof path, "/v1/labs/%lld/done", (long long)lab);
    r = api_call(a, "POST", path, a->integ_a, NULL);
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(a, "POST", path, a->admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(api_str(&r, "status"), "done");
    api_free(&r);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);

    /* A follow-up visit on a date, at the patient's time in their zone. */
    snprintf(body, sizeof body, "{\"patient_id\": %lld, \"date\": \"2026-12-15\"}",
             (long long)p);
    r = api_call(a, "POST", "/v1/follow-ups", a->integ_a, body);
    if (r.status != 201)
        fail_msg("follow-up: %ld %s", r.status, r.body);
    assert_string_equal(api_str(&r, "kind"), "follow_up_visit");
    assert_string_equal(api_str(&r, "due_at"), "2026-12-15T10:00:00+05:30");
    assert_string_equal(api_str(&r, "status"), "planned");
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\": %lld, \"date\": \"2026-11-15\"}",
             (long long)p);
    r = api_call(a, "POST", "/v1/follow-ups", a->integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "date");
    api_free(&r);
    r = api_call(a, "POST", "/v1/follow-ups", a->integ_a, "{\"date\": \"2026-12-15\"}");
    API_EXPECT_PROBLEM(r, 422, "patient_id");
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\": %lld, \"date\": 5}", (long long)p);
    r = api_call(a, "POST", "/v1/follow-ups", a->integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "date");
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\": %lld, \"date\": \"2026-12-15\"}",
             (long long)p);
    r = api_call(a, "POST", "/v1/follow-ups", a->admin_b, body); /* not clinic B's */
    API_EXPECT_PROBLEM(r, 422, "patient_id");
    api_free(&r);

    /* Ready now: the message is queued with the test's name. */
    snprintf(path, sizeof path, "/v1/patients/%lld/ready", (long long)p);
    r = api_call(a, "POST", path, a->integ_a, "{\"what\": \"results\"}");
    API_EXPECT_PROBLEM(r, 422, "test_name");
    api_free(&r);
    r = api_call(a, "POST", path, a->integ_a, "{\"what\": \"x-ray\"}");
    API_EXPECT_PROBLEM(r, 422, "what");
    api_free(&r);
    r = api_call(a, "POST", path, a->admin_b, "{\"what\": \"prescription\"}");
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    r = api_call(a, "POST", path, a->integ_a,
                 "{\"what\": \"results\", \"test_name\": \"HbA1c\"}");
    if (r.status != 201)
        fail_msg("ready: %ld %s", r.status, r.body);
    int64_t note = api_int(&r, "notification_id");
    snprintf(path, sizeof path, "/v1/notifications/%lld", (long long)note);
    assert_string_equal(r.location, path);
    api_free(&r);
    r = api_call(a, "GET", path, a->integ_a, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(api_str(&r, "template"), "test_results_ready");
    assert_non_null(strstr(api_str(&r, "body"), "HbA1c"));
    api_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prescription_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prescription_errors_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_plans_by_patient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recalls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prescription_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labs_followups_ready, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
