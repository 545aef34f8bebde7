/*
 * test_codec.c: the API's JSON shapes. Every record that can be written
 * survives record -> JSON -> record unchanged; every kind of bad body
 * (unknown, read-only, wrongly typed, too long, badly formatted, missing)
 * is refused naming the exact JSON field, and leaves the record as it was;
 * times carry the zone's offset for that date; deep nesting is caught in
 * the raw text before jansson ever recurses into it.
 */
#include "testutil.h"

#include <jansson.h>

#include "http/codec.h"
#include "http/http.h"
#include "util.h"

/* ---- helpers ---- */

static json_t *J(const char *text)
{
    json_error_t je;
    /* NULs and bare values allowed so tests can check that the codec refuses
     * them itself. */
    json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON (%s): %s", je.text, text);
    return j;
}

#define assert_err(rc, e, fld, frag)                                                               \
    do {                                                                                           \
        assert_int_equal((rc), -1);                                                                \
        assert_int_equal((e).code, NUDGE_EINVAL);                                                  \
        assert_string_equal((e).field, (fld));                                                     \
        if (!strstr((e).msg, (frag)))                                                              \
            fail_msg("message \"%s\" lacks \"%s\"", (e).msg, (frag));                              \
    } while (0)

static int clinic_in_text(const char *text, nudge_clinic *c, int partial, nudge_err *e)
{
    json_t *j = J(text);
    err_clear(e);
    int rc = codec_in(nudge_clinic_fields, j, NULL, c, sizeof *c, partial, e);
    json_decref(j);
    return rc;
}

static int patient_in_text(const char *text, nudge_patient *p, int partial, nudge_err *e)
{
    json_t *j = J(text);
    err_clear(e);
    int rc = codec_in(nudge_patient_fields, j, NULL, p, sizeof *p, partial, e);
    json_decref(j);
    return rc;
}

static int appt_in_text(const char *text, const char *tz, nudge_appointment *a, int partial,
                        nudge_err *e)
{
    json_t *j = J(text);
    err_clear(e);
    int rc = codec_in(nudge_appointment_fields, j, tz, a, sizeof *a, partial, e);
    json_decref(j);
    return rc;
}

static int template_in_text(const char *text, nudge_template *t, nudge_err *e)
{
    json_t *j = J(text);
    err_clear(e);
    int rc = (memset(t, 0, sizeof *t), codec_in(nudge_template_fields, j, NULL, t, sizeof *t, 0, e));
    json_decref(j);
    nudge_template_free(t);
    return rc;
}

static int send_in_text(const char *text, nudge_err *e)
{
    json_t *j = J(text);
    nudge_send s = {0};
    nudge_vars v = {0};
    err_clear(e);
    int rc = codec_send_in(j, "Asia/Kolkata", &s, &v, e);
    /* A failure must leave nothing behind to free. */
    if (rc < 0)
        assert_int_equal(v.n, 0);
    nudge_vars_free(&v);
    json_decref(j);
    return rc;
}

static const char *jget_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

static void assert_null_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_null(v))
        fail_msg("%s should be null", key);
}

/* Removes the read-only fields an _out adds, as a client echoing a GET does. */
static void strip(json_t *o, const char *const *keys)
{
    for (; *keys; keys++)
        assert_int_equal(json_object_del(o, *keys), 0);
}

static nudge_clinic sample_clinic(void)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    c.id = 7;
    strcpy(c.name, "Smile Dental, Koramangala");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    strcpy(c.language, "hi");
    strcpy(c.phone, "+919876543210");
    strcpy(c.email, "desk@smile.example");
    c.quiet_start = 21 * 60 + 30;
    c.quiet_end = 7 * 60 + 15;
    c.offsets[0] = 2880;
    c.offsets[1] = 1440;
    c.offsets[2] = 60;
    c.n_offsets = 3;
    c.followup_after = 720;
    c.max_retries = 5;
    c.rate_per_minute = 30;
    strcpy(c.default_channel, "whatsapp");
    strcpy(c.sms_sender, "+15005550006");
    c.whatsapp_fallback = 0;
    c.whatsapp_fallback_after = 30;
    c.created_at = TU_T(2026, 12, 1, 4, 30);
    return c;
}

static nudge_patient sample_patient(void)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.id = 42;
    p.clinic_id = 7;
    strcpy(p.name, "Asha Rao");
    strcpy(p.email, "asha@example.com");
    strcpy(p.phone, "+919812345678");
    strcpy(p.language, "hi");
    strcpy(p.timezone, "Asia/Kolkata");
    strcpy(p.dob, "1980-02-29");
    strcpy(p.gender, "female");
    strcpy(p.tags, "diabetes,hypertension,vip");
    strcpy(p.preferred_channel, "whatsapp");
    p.preferred_time = 9 * 60 + 5;
    p.opt_outs = NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_SMS | NUDGE_OPTOUT_EMAIL;
    p.loyalty_points = 120;
    p.last_visit = TU_T(2026, 11, 2, 5, 0);
    p.created_at = TU_T(2026, 1, 5, 6, 0);
    return p;
}

/* ---- round trips ---- */

static void test_clinic_round_trip(void **state)
{
    (void)state;
    nudge_clinic c = sample_clinic();
    json_t *o = codec_out(nudge_clinic_fields, &c, (&c)->timezone);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 7);
    assert_string_equal(jget_str(o, "created_at"), "2026-12-01T10:00:00+05:30");
    json_t *q = json_object_get(o, "quiet_hours");
    assert_string_equal(jget_str(q, "start"), "21:30");
    assert_string_equal(jget_str(q, "end"), "07:15");
    assert_int_equal(json_array_size(json_object_get(o, "reminder_offsets_minutes")), 3);
    assert_null_field(o, "address"); /* empty optional string */
    assert_int_equal(json_integer_value(json_object_get(o, "followup_after_minutes")), 720);

    strip(o, (const char *const[]){"id", "created_at", NULL});
    nudge_clinic back;
    nudge_clinic_defaults(&back);
    nudge_err e = {0};
    assert_int_equal(codec_in(nudge_clinic_fields, o, NULL, &back, sizeof *&back, 0, &e), 0);
    back.id = c.id;
    back.created_at = c.created_at;
    assert_string_equal(back.name, c.name);
    assert_string_equal(back.timezone, c.timezone);
    assert_string_equal(back.country, c.country);
    assert_string_equal(back.language, c.language);
    assert_string_equal(back.phone, c.phone);
    assert_string_equal(back.email, c.email);
    assert_string_equal(back.address, "");
    assert_int_equal(back.quiet_start, c.quiet_start);
    assert_int_equal(back.quiet_end, c.quiet_end);
    assert_int_equal(back.n_offsets, 3);
    assert_memory_equal(back.offsets, c.offsets, 3 * sizeof(int));
    assert_int_equal(back.followup_after, 720);
    assert_int_equal(back.max_retries, 5);
    assert_int_equal(back.rate_per_minute, 30);
    assert_string_equal(back.default_channel, "whatsapp");
    assert_string_equal(back.sms_sender, c.sms_sender);
    assert_int_equal(back.whatsapp_fallback, c.whatsapp_fallback);
    assert_int_equal(back.whatsapp_fallback_after, c.whatsapp_fallback_after);
    json_t *o2 = codec_out(nudge_clinic_fields, &back, (&back)->timezone);
    json_t *o1 = codec_out(nudge_clinic_fields, &c, (&c)->timezone);
    assert_true(json_equal(o1, o2));
    json_decref(o);
    json_decref(o1);
    json_decref(o2);
}

static void test_clinic_quiet_hours_none(void **state)
{
    (void)state;
    nudge_clinic c = sample_clinic();
    c.quiet_start = c.quiet_end = 0;
    json_t *o = codec_out(nudge_clinic_fields, &c, (&c)->timezone);
    assert_null_field(o, "quiet_hours");
    json_decref(o);
    c = sample_clinic();
    nudge_err e;
    assert_int_equal(clinic_in_text("{\"quiet_hours\": null}", &c, 1, &e), 0);
    assert_int_equal(c.quiet_start, 0);
    assert_int_equal(c.quiet_end, 0);
    assert_int_equal(
        clinic_in_text("{\"quiet_hours\": {\"start\": \"22:00\", \"end\": \"06:30\"}}", &c, 1, &e),
        0);
    assert_int_equal(c.quiet_start, 22 * 60);
    assert_int_equal(c.quiet_end, 6 * 60 + 30);
}

static void test_patient_round_trip(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    json_t *o = codec_out(nudge_patient_fields, &p, "Asia/Kolkata");
    json_t *tags = json_object_get(o, "tags");
    assert_int_equal(json_array_size(tags), 3);
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "hypertension");
    json_t *outs = json_object_get(o, "opt_outs");
    assert_int_equal(json_array_size(outs), 3);
    assert_string_equal(json_string_value(json_array_get(outs, 0)), "marketing");
    assert_string_equal(json_string_value(json_array_get(outs, 2)), "email");
    assert_string_equal(jget_str(o, "preferred_time"), "09:05");
    assert_string_equal(jget_str(o, "date_of_birth"), "1980-02-29");
    assert_string_equal(jget_str(o, "last_visit"), "2026-11-02T10:30:00+05:30");
    assert_int_equal(json_integer_value(json_object_get(o, "loyalty_points")), 120);

    strip(o, (const char *const[]){"id", "clinic_id", "loyalty_points", "last_visit", "created_at",
                                   NULL});
    nudge_patient back;
    nudge_patient_init(&back);
    nudge_err e = {0};
    assert_int_equal(codec_in(nudge_patient_fields, o, NULL, &back, sizeof *&back, 0, &e), 0);
    assert_string_equal(back.name, p.name);
    assert_string_equal(back.email, p.email);
    assert_string_equal(back.phone, p.phone);
    assert_string_equal(back.language, p.language);
    assert_string_equal(back.timezone, p.timezone);
    assert_string_equal(back.dob, p.dob);
    assert_string_equal(back.gender, p.gender);
    assert_string_equal(back.tags, p.tags);
    assert_string_equal(back.preferred_channel, p.preferred_channel);
    assert_int_equal(back.preferred_time, p.preferred_time);
    assert_int_equal(back.opt_outs, p.opt_outs);
    json_decref(o);

    /* The empty patient too: nulls and empty arrays come back as empties. */
    nudge_patient bare;
    nudge_patient_init(&bare);
    strcpy(bare.name, "X");
    o = codec_out(nudge_patient_fields, &bare, "Asia/Kolkata");
    assert_null_field(o, "email");
    assert_null_field(o, "preferred_time");
    assert_null_field(o, "last_visit");
    assert_int_equal(json_array_size(json_object_get(o, "tags")), 0);
    strip(o, (const char *const[]){"id", "clinic_id", "loyalty_points", "last_visit", "created_at",
                                   NULL});
    p = sample_patient(); /* decode over a full record: every field must be reset */
    assert_int_equal(codec_in(nudge_patient_fields, o, NULL, &p, sizeof *&p, 0, &e), 0);
    assert_string_equal(p.email, "");
    assert_string_equal(p.tags, "");
    assert_string_equal(p.dob, "");
    assert_string_equal(p.preferred_channel, "");
    assert_int_equal(p.preferred_time, -1);
    assert_int_equal(p.opt_outs, 0);
    json_decref(o);
}

static void test_appointment_round_trip(void **state)
{
    (void)state;
    nudge_appointment a = {0};
    a.id = 9;
    a.clinic_id = 7;
    a.patient_id = 42;
    strcpy(a.service, "Cleaning");
    strcpy(a.provider, "Dr. Mehta");
    strcpy(a.notes, "bring x-rays\n\"old\" ones");
    a.start_at = TU_T(2026, 12, 1, 15, 0);
    a.duration_min = 45;
    strcpy(a.status, "confirmed");
    a.created_at = TU_T(2026, 11, 20, 14, 0);
    a.updated_at = TU_T(2026, 11, 21, 14, 0);
    json_t *o = codec_out(nudge_appointment_fields, &a, "America/New_York");
    assert_string_equal(jget_str(o, "start_at"), "2026-12-01T10:00:00-05:00");
    assert_string_equal(jget_str(o, "doctor"), "Dr. Mehta");
    assert_string_equal(jget_str(o, "status"), "confirmed");
    strip(o, (const char *const[]){"id", "clinic_id", "status", "created_at", "updated_at", NULL});
    nudge_appointment back = {0};
    back.duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(codec_in(nudge_appointment_fields, o, "America/New_York", &back, sizeof *&back, 0, &e), 0);
    assert_int_equal(back.patient_id, 42);
    assert_string_equal(back.service, a.service);
    assert_string_equal(back.provider, a.provider);
    assert_string_equal(back.notes, a.notes);
    assert_int_equal(back.start_at, a.start_at);
    assert_int_equal(back.duration_min, 45);
    json_decref(o);

    /* duration_minutes absent: the caller's default stays. */
    nudge_appointment d = {0};
    d.duration_min = 30;
    assert_int_equal(appt_in_text("{\"patient_id\": 1, \"service\": \"X-ray\", "
                                  "\"start_at\": \"2026-12-01T10:00:00Z\"}",
                                  NULL, &d, 0, &e),
                     0);
    assert_int_equal(d.duration_min, 30);
    assert_int_equal(d.start_at, TU_T(2026, 12, 1, 10, 0));
}

static void test_template_round_trip(void **state)
{
    (void)state;
    nudge_template t = {.clinic_id = 3};
    strcpy(t.name, "lab_results");
    strcpy(t.language, "hi");
    strcpy(t.category, "transactional");
    t.sms = str_dup("नमस्ते {patient_name}, आपकी {test_name} रिपोर्ट तैयार है");
    t.subject = str_dup("Your {test_name} results");
    t.text = str_dup("Hello {patient_name}");
    t.html = str_dup("<p>Hello {patient_name}</p>");
    json_t *o = codec_out(nudge_template_fields, &t, NULL);
    assert_string_equal(jget_str(o, "source"), "clinic");
    assert_null_field(o, "whatsapp");
    strip(o, (const char *const[]){"source", NULL});
    nudge_template back = {0};
    nudge_err e = {0};
    assert_int_equal((memset(&back, 0, sizeof *&back), codec_in(nudge_template_fields, o, NULL, &back, sizeof *&back, 0, &e)), 0);
    assert_string_equal(back.name, t.name);
    assert_string_equal(back.language, t.language);
    assert_string_equal(back.category, t.category);
    assert_string_equal(back.sms, t.sms);
    assert_null(back.whatsapp);
    assert_string_equal(back.subject, t.subject);
    assert_string_equal(back.text, t.text);
    assert_string_equal(back.html, t.html);
    assert_ptr_not_equal(back.sms, json_string_value(json_object_get(o, "sms"))); /* a copy */
    json_decref(o);
    nudge_template_free(&back);

    free(t.whatsapp);
    t.whatsapp = str_dup("wa: {patient_name}");
    t.clinic_id = 0;
    o = codec_out(nudge_template_fields, &t, NULL);
    assert_string_equal(jget_str(o, "source"), "built-in");
    strip(o, (const char *const[]){"source", NULL});
    assert_int_equal((memset(&back, 0, sizeof *&back), codec_in(nudge_template_fields, o, NULL, &back, sizeof *&back, 0, &e)), 0);
    assert_string_equal(back.whatsapp, "wa: {patient_name}");
    json_decref(o);
    nudge_template_free(&back);
    nudge_template_free(&t);
}

/* ---- times ---- */

static void test_time_offsets(void **state)
{
    (void)state;
    nudge_appointment a = {0};
    a.patient_id = 1;
    a.start_at = TU_T(2026, 12, 15, 14, 30);
    json_t *o = codec_out(nudge_appointment_fields, &a, "Asia/Kolkata");
    assert_string_equal(jget_str(o, "start_at"), "2026-12-15T20:00:00+05:30");
    assert_null_field(o, "created_at"); /* zero time */
    json_decref(o);
    o = codec_out(nudge_appointment_fields, &a, "America/New_York");
    assert_string_equal(jget_str(o, "start_at"), "2026-12-15T09:30:00-05:00");
    json_decref(o);
    a.start_at = TU_T(2026, 7, 15, 14, 30); /* daylight time */
    o = codec_out(nudge_appointment_fields, &a, "America/New_York");
    assert_string_equal(jget_str(o, "start_at"), "2026-07-15T10:30:00-04:00");
    json_decref(o);

    nudge_key k = {.id = 1, .role = NUDGE_ROLE_STAFF, .created_at = TU_T(2026, 12, 1, 0, 0)};
    o = codec_out(nudge_key_fields, &k, "Asia/Kolkata");
    assert_string_equal(jget_str(o, "created_at"), "2026-12-01T05:30:00+05:30");
    json_decref(o);

    /* In: a local time is wall time in the given zone; an offset wins over it. */
    nudge_err e;
    a.start_at = 0;
    assert_int_equal(
        appt_in_text("{\"start_at\": \"2026-12-01T10:00\"}", "America/New_York", &a, 1, &e), 0);
    assert_int_equal(a.start_at, TU_T(2026, 12, 1, 15, 0));
    assert_int_equal(appt_in_text("{\"start_at\": \"2026-12-01T10:00:00+05:30\"}",
                                  "America/New_York", &a, 1, &e),
                     0);
    assert_int_equal(a.start_at, TU_T(2026, 12, 1, 4, 30));
}

static void test_bad_times(void **state)
{
    (void)state;
    nudge_appointment a = {0};
    a.start_at = 12345;
    nudge_err e;
    const char *tz = "Asia/Kolkata";
    assert_err(appt_in_text("{\"start_at\": \"tomorrow at 10\"}", tz, &a, 1, &e), e, "start_at",
               "RFC 3339");
    assert_err(appt_in_text("{\"start_at\": \"2026-13-01T10:00:00Z\"}", tz, &a, 1, &e), e,
               "start_at", "month");
    assert_err(appt_in_text("{\"start_at\": 1764583200}", tz, &a, 1, &e), e, "start_at",
               "must be an RFC 3339 time string (got 1764583200)");
    assert_err(appt_in_text("{\"start_at\": null}", tz, &a, 1, &e), e, "start_at", "got null");
    assert_err(appt_in_text("{\"start_at\": \"1970-01-01T00:00:00Z\"}", tz, &a, 1, &e), e,
               "start_at", "after 1970");
    /* No zone to read a local time in. */
    assert_err(appt_in_text("{\"start_at\": \"2026-12-01T10:00\"}", NULL, &a, 1, &e), e, "start_at",
               "offset");
    assert_int_equal(a.start_at, 12345);
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"due_at\": \"soon\"}", &e),
               e, "due_at", "RFC 3339");
}

static void test_bad_hhmm(void **state)
{
    (void)state;
    nudge_clinic c = sample_clinic();
    nudge_err e;
    assert_err(
        clinic_in_text("{\"quiet_hours\": {\"start\": \"25:00\", \"end\": \"08:00\"}}", &c, 1, &e),
        e, "quiet_hours.start", "\"HH:MM\"");
    assert_err(
        clinic_in_text("{\"quiet_hours\": {\"start\": \"21:00\", \"end\": \"8:00\"}}", &c, 1, &e),
        e, "quiet_hours.end", "got \"8:00\"");
    assert_err(
        clinic_in_text("{\"quiet_hours\": {\"start\": 1260, \"end\": \"08:00\"}}", &c, 1, &e), e,
        "quiet_hours.start", "got 1260");
    assert_err(clinic_in_text("{\"quiet_hours\": {\"start\": \"21:00\"}}", &c, 1, &e), e,
               "quiet_hours.end", "quiet_hours.end is required");
    assert_err(clinic_in_text("{\"quiet_hours\": {\"start\": \"21:00\", \"end\": \"08:00\", "
                              "\"days\": 5}}",
                              &c, 1, &e),
               e, "quiet_hours.days", "unknown field \"quiet_hours.days\"");
    assert_err(clinic_in_text("{\"quiet_hours\": \"21:00-08:00\"}", &c, 1, &e), e, "quiet_hours",
               "must be an object");
    assert_int_equal(c.quiet_start, 21 * 60 + 30);

    nudge_patient p = sample_patient();
    assert_err(patient_in_text("{\"preferred_time\": \"12:60\"}", &p, 1, &e), e, "preferred_time",
               "HH:MM");
    assert_err(patient_in_text("{\"preferred_time\": 540}", &p, 1, &e), e, "preferred_time",
               "got 540");
    assert_int_equal(patient_in_text("{\"preferred_time\": null}", &p, 1, &e), 0);
    assert_int_equal(p.preferred_time, -1);
    assert_int_equal(patient_in_text("{\"preferred_time\": \"23:59\"}", &p, 1, &e), 0);
    assert_int_equal(p.preferred_time, 1439);
}

/* ---- field errors ---- */

static void test_unknown_fields(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    nudge_err e;
    assert_err(patient_in_text("{\"name\": \"A\", \"phnoe\": \"+1\"}", &p, 0, &e), e, "phnoe",
               "unknown field \"phnoe\" (did you mean \"phone\"?)");
    /* Two letters swapped is one slip, even in a short name. */
    assert_err(patient_in_text("{\"naem\": \"A\"}", &p, 1, &e), e, "naem",
               "did you mean \"name\"?");
    assert_err(patient_in_text("{\"diagnosis\": \"flu\"}", &p, 1, &e), e, "diagnosis",
               "unknown field \"diagnosis\"");
    assert_null(strstr(e.msg, "did you mean"));
    /* A read-only field is never offered as the fix. */
    assert_err(patient_in_text("{\"ix\": 1}", &p, 1, &e), e, "ix", "unknown field \"ix\"");
    assert_null(strstr(e.msg, "\"id\""));
    /* "name\0x" is not "name" (jansson's parser refuses such keys, but an
     * object built in C may hold one). */
    json_t *nk = json_object();
    json_object_setn_new(nk, "name\0x", 6, json_string("Evil"));
    err_clear(&e);
    assert_err(codec_in(nudge_patient_fields, nk, NULL, &p, sizeof *&p, 1, &e), e, "name", "unknown field");
    assert_string_equal(p.name, "Asha Rao");
    json_decref(nk);
    /* version is carried by the ETag header, not the body. */
    assert_err(patient_in_text("{\"version\": 3}", &p, 1, &e), e, "version", "unknown field");

    nudge_clinic c = sample_clinic();
    assert_err(clinic_in_text("{\"timezon\": \"Asia/Kolkata\"}", &c, 1, &e), e, "timezon",
               "did you mean \"timezone\"");
    nudge_appointment a = {0};
    assert_err(appt_in_text("{\"provider\": \"Dr. X\"}", NULL, &a, 1, &e), e, "provider",
               "unknown field");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"var\": {}}", &e), e, "var",
               "did you mean \"vars\"");
    nudge_template t;
    assert_err(template_in_text("{\"name\": \"x\", \"body\": \"y\"}", &t, &e), e, "body",
               "unknown field");
    assert_null(t.sms); /* safe to free after failure */

    json_t *j = J("{\"chanel\": \"sms\"}");
    nudge_vars v = {0};
    const char *ch = "sms";
    assert_err(codec_render_in(j, &v, &ch, &e), e, "chanel", "did you mean \"channel\"");
    json_decref(j);
}

static void test_read_only_fields(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    nudge_err e;
    assert_err(patient_in_text("{\"id\": 42}", &p, 1, &e), e, "id", "id is read-only");
    assert_err(patient_in_text("{\"clinic_id\": 7}", &p, 1, &e), e, "clinic_id", "read-only");
    assert_err(patient_in_text("{\"loyalty_points\": 1000}", &p, 1, &e), e, "loyalty_points",
               "read-only");
    assert_err(patient_in_text("{\"last_visit\": null}", &p, 0, &e), e, "last_visit", "read-only");
    assert_int_equal(p.loyalty_points, 120);

    nudge_clinic c = sample_clinic();
    assert_err(clinic_in_text("{\"created_at\": \"2026-01-01T00:00:00Z\"}", &c, 1, &e), e,
               "created_at", "created_at is read-only");
    nudge_appointment a = {0};
    assert_err(appt_in_text("{\"status\": \"completed\"}", NULL, &a, 1, &e), e, "status",
               "status is read-only: use the confirm, complete, cancel");
    assert_err(appt_in_text("{\"updated_at\": null}", NULL, &a, 1, &e), e, "updated_at",
               "read-only");
    nudge_template t;
    assert_err(template_in_text("{\"source\": \"clinic\"}", &t, &e), e, "source", "read-only");
}

static void test_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field, *msg;
    } patient_cases[] = {
        {"{\"phone\": 919812345678}", "phone", "phone must be a string or null (got 919812345678)"},
        {"{\"name\": null}", "name", "name must be a string (got null)"},
        {"{\"name\": [\"Asha\"]}", "name", "got an array"},
        {"{\"email\": {\"home\": \"a@b.c\"}}", "email", "got an object"},
        {"{\"gender\": true}", "gender", "got true"},
        {"{\"tags\": \"diabetes\"}", "tags", "tags must be an array of strings (got the string"},
        {"{\"tags\": null}", "tags", "got null"},
        {"{\"tags\": [\"a\", 5]}", "tags[1]", "tags[1] must be a string (got 5)"},
        {"{\"opt_outs\": \"sms\"}", "opt_outs", "must be an array"},
        {"{\"opt_outs\": [null]}", "opt_outs[0]", "got null"},
    };
    for (size_t i = 0; i < sizeof patient_cases / sizeof *patient_cases; i++) {
        nudge_patient p = sample_patient();
        nudge_err e;
        int rc = patient_in_text(patient_cases[i].body, &p, 1, &e);
        if (rc != -1 || strcmp(e.field, patient_cases[i].field) ||
            !strstr(e.msg, patient_cases[i].msg))
            fail_msg("%s: rc %d field \"%s\" msg \"%s\"", patient_cases[i].body, rc, e.field,
                     e.msg);
        assert_int_equal(e.code, NUDGE_EINVAL);
    }
    static const struct {
        const char *body, *field, *msg;
    } clinic_cases[] = {
        {"{\"max_retries\": \"3\"}", "max_retries", "must be an integer (got the string \"3\")"},
        {"{\"max_retries\": 3.0}", "max_retries", "must be an integer (got 3)"},
        {"{\"rate_per_minute\": 2.5}", "rate_per_minute", "got 2.5"},
        {"{\"followup_after_minutes\": false}", "followup_after_minutes", "got false"},
        {"{\"followup_after_minutes\": null}", "followup_after_minutes", "got null"},
        {"{\"max_retries\": 4294967299}", "max_retries", "got 4294967299"},
        {"{\"reminder_offsets_minutes\": 1440}", "reminder_offsets_minutes", "must be an array"},
        {"{\"reminder_offsets_minutes\": [1440, \"120\"]}", "reminder_offsets_minutes[1]",
         "must be an integer"},
        {"{\"reminder_offsets_minutes\": [1440, 0]}", "reminder_offsets_minutes[1]",
         "from 1 to 86400 (got 0)"},
        {"{\"reminder_offsets_minutes\": [86401]}", "reminder_offsets_minutes[0]", "86401"},
        {"{\"reminder_offsets_minutes\": []}", "reminder_offsets_minutes", "1 to 8 entries"},
        {"{\"reminder_offsets_minutes\": [1,2,3,4,5,6,7,8,9]}", "reminder_offsets_minutes",
         "(got 9)"},
        {"{\"language\": null}", "language", "must be a string"},
        {"{\"timezone\": 530}", "timezone", "must be a string"},
    };
    for (size_t i = 0; i < sizeof clinic_cases / sizeof *clinic_cases; i++) {
        nudge_clinic c = sample_clinic();
        nudge_err e;
        int rc = clinic_in_text(clinic_cases[i].body, &c, 1, &e);
        if (rc != -1 || strcmp(e.field, clinic_cases[i].field) ||
            !strstr(e.msg, clinic_cases[i].msg))
            fail_msg("%s: rc %d field \"%s\" msg \"%s\"", clinic_cases[i].body, rc, e.field, e.msg);
        assert_int_equal(c.max_retries, 5);
        assert_int_equal(c.n_offsets, 3);
    }
    nudge_appointment a = {0};
    a.duration_min = 30;
    nudge_err e;
    assert_err(appt_in_text("{\"duration_minutes\": 3000000000}", NULL, &a, 1, &e), e,
               "duration_minutes", "got 3000000000");
    assert_int_equal(a.duration_min, 30);
    assert_err(appt_in_text("{\"patient_id\": 0}", NULL, &a, 1, &e), e, "patient_id",
               "at least 1 (got 0)");
    assert_err(appt_in_text("{\"patient_id\": \"42\"}", NULL, &a, 1, &e), e, "patient_id",
               "must be an integer");
    assert_err(appt_in_text("{\"service\": null}", NULL, &a, 1, &e), e, "service", "got null");
    /* The body itself. */
    assert_err(appt_in_text("[1, 2]", NULL, &a, 0, &e), e, "", "must be a JSON object");
    nudge_patient p;
    assert_err(patient_in_text("\"Asha\"", &p, 1, &e), e, "", "got the string \"Asha\"");
    /* Values the library judges pass the codec untouched. */
    nudge_clinic c = sample_clinic();
    assert_int_equal(
        clinic_in_text("{\"followup_after_minutes\": -5, \"max_retries\": 99}", &c, 1, &e), 0);
    assert_int_equal(c.followup_after, -5);
    assert_int_equal(c.max_retries, 99);
}

static void test_too_long(void **state)
{
    (void)state;
    nudge_clinic c = sample_clinic();
    nudge_err e;
    char name[200];
    memset(name, 'n', sizeof name);
    name[127] = 0; /* exactly fits name[128] */
    json_t *j = json_pack("{s:s}", "name", name);
    assert_int_equal(codec_in(nudge_clinic_fields, j, NULL, &c, sizeof *&c, 1, &e), 0);
    assert_int_equal(strlen(c.name), 127);
    json_decref(j);
    name[127] = 'n';
    name[128] = 0;
    j = json_pack("{s:s}", "name", name);
    c = sample_clinic();
    assert_int_equal(codec_in(nudge_clinic_fields, j, NULL, &c, sizeof *&c, 1, &e), -1);
    assert_string_equal(e.field, "name");
    assert_non_null(strstr(e.msg, "name is too long (at most 127 bytes)"));
    assert_string_equal(c.name, "Smile Dental, Koramangala"); /* not truncated in place */
    json_decref(j);
    assert_err(clinic_in_text("{\"country\": \"IND\"}", &c, 1, &e), e, "country", "at most 2");

    nudge_patient p = sample_patient();
    assert_err(patient_in_text("{\"phone\": \"+91 98123 45678 ext 12\"}", &p, 1, &e), e, "phone",
               "too long");
    /* Hindi is three bytes a letter: lengths are bytes, as the buffers are. */
    assert_err(patient_in_text("{\"gender\": \"महिलाएं\"}", &p, 1, &e), e, "gender", "at most 15");

    char notes[1100];
    memset(notes, 'x', sizeof notes);
    notes[1024] = 0;
    j = json_pack("{s:s}", "notes", notes);
    nudge_appointment a = {0};
    assert_int_equal(codec_in(nudge_appointment_fields, j, NULL, &a, sizeof *&a, 1, &e), -1);
    assert_string_equal(e.field, "notes");
    json_decref(j);

    nudge_template t;
    assert_err(template_in_text("{\"name\": \"a_very_long_template_name_that_goes_on_and_on_and_"
                                "on_past_64_bytes\", \"language\": \"en\", \"category\": \"x\", "
                                "\"sms\": \"s\", \"subject\": \"s\", \"text\": \"t\", \"html\": "
                                "\"h\"}",
                                &t, &e),
               e, "name", "at most 63");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"channel\": "
                            "\"whatsapp-business-api\"}",
                            &e),
               e, "channel", "at most 15");
}

static void test_nul_in_strings(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    nudge_err e;
    assert_err(patient_in_text("{\"name\": \"Asha\\u0000; DROP\"}", &p, 1, &e), e, "name", "NUL");
    assert_string_equal(p.name, "Asha Rao");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"vars\": {\"a\": "
                            "\"x\\u0000y\"}}",
                            &e),
               e, "vars.a", "NUL");
}

static void test_optouts(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    nudge_err e;
    assert_err(patient_in_text("{\"opt_outs\": [\"sms\", \"newsletters\"]}", &p, 1, &e), e,
               "opt_outs[1]", "got \"newsletters\"");
    assert_int_equal(p.opt_outs, NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_SMS | NUDGE_OPTOUT_EMAIL);
    assert_err(patient_in_text("{\"opt_outs\": [\"SMS\"]}", &p, 1, &e), e, "opt_outs[0]",
               "one of reminders");
    assert_int_equal(patient_in_text("{\"opt_outs\": [\"reminders\", \"health_tips\", "
                                     "\"reminders\", \"whatsapp\", \"broadcasts\"]}",
                                     &p, 1, &e),
                     0);
    assert_int_equal(p.opt_outs, NUDGE_OPTOUT_REMINDERS | NUDGE_OPTOUT_HEALTH_TIPS |
                                     NUDGE_OPTOUT_WHATSAPP | NUDGE_OPTOUT_BROADCASTS);
    assert_int_equal(patient_in_text("{\"opt_outs\": []}", &p, 1, &e), 0);
    assert_int_equal(p.opt_outs, 0);
}

static void test_tags(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    nudge_err e;
    assert_err(patient_in_text("{\"tags\": [\"a\", \"b\", \"diabetes, type 2\"]}", &p, 1, &e), e,
               "tags[2]", "comma");
    assert_err(patient_in_text("{\"tags\": [\"a\", \"  \"]}", &p, 1, &e), e, "tags[1]", "empty");
    assert_string_equal(p.tags, "diabetes,hypertension,vip");
    assert_int_equal(patient_in_text("{\"tags\": [\"asthma\", \"type 2 diabetes\"]}", &p, 1, &e),
                     0);
    assert_string_equal(p.tags, "asthma,type 2 diabetes");
    assert_int_equal(patient_in_text("{\"tags\": []}", &p, 1, &e), 0);
    assert_string_equal(p.tags, "");

    /* 100 tags of 5 bytes: 599 bytes joined, too many for tags[512]. */
    json_t *arr = json_array();
    for (int i = 0; i < 100; i++) {
        char t[8];
        snprintf(t, sizeof t, "t%04d", i);
        json_array_append_new(arr, json_string(t));
    }
    json_t *j = json_pack("{s:o}", "tags", arr);
    p = sample_patient();
    assert_int_equal(codec_in(nudge_patient_fields, j, NULL, &p, sizeof *&p, 1, &e), -1);
    assert_string_equal(e.field, "tags");
    assert_non_null(strstr(e.msg, "at most 511 bytes"));
    assert_string_equal(p.tags, "diabetes,hypertension,vip");
    json_decref(j);

    /* Tags typed at the CLI come out clean. */
    strcpy(p.tags, " diabetes , bp,,  vip ,");
    json_t *o = codec_out(nudge_patient_fields, &p, NULL);
    json_t *want = J("[\"diabetes\", \"bp\", \"vip\"]");
    assert_true(json_equal(json_object_get(o, "tags"), want));
    json_decref(want);
    json_decref(o);
}

static void test_required_and_partial(void **state)
{
    (void)state;
    nudge_err e;
    nudge_patient p;
    nudge_patient_init(&p);
    assert_err(patient_in_text("{\"phone\": \"+919812345678\"}", &p, 0, &e), e, "name",
               "name is required");
    assert_int_equal(patient_in_text("{\"phone\": \"+919812345678\"}", &p, 1, &e), 0);
    assert_string_equal(p.phone, "+919812345678");

    nudge_clinic c;
    nudge_clinic_defaults(&c);
    assert_err(clinic_in_text("{\"name\": \"A\", \"country\": \"IN\"}", &c, 0, &e), e, "timezone",
               "required");
    assert_int_equal(clinic_in_text("{\"name\": \"A\", \"country\": \"IN\"}", &c, 1, &e), 0);
    assert_int_equal(clinic_in_text("{\"name\": \"A\", \"country\": \"IN\", \"timezone\": "
                                    "\"Asia/Kolkata\"}",
                                    &c, 0, &e),
                     0);
    assert_int_equal(c.max_retries, 3); /* defaults kept */
    assert_int_equal(c.n_offsets, 2);

    nudge_appointment a = {0};
    assert_err(
        appt_in_text("{\"patient_id\": 1, \"service\": \"Cleaning\"}", "Asia/Kolkata", &a, 0, &e),
        e, "start_at", "required");
    assert_int_equal(a.patient_id, 0);
    assert_err(appt_in_text("{\"service\": \"Cleaning\"}", "Asia/Kolkata", &a, 0, &e), e,
               "patient_id", "required");
    assert_int_equal(appt_in_text("{\"service\": \"Cleaning\"}", "Asia/Kolkata", &a, 1, &e), 0);

    nudge_template t;
    assert_err(template_in_text("{\"name\": \"x\", \"language\": \"en\", \"category\": "
                                "\"reminders\", \"subject\": \"s\", \"text\": \"t\", \"html\": "
                                "\"h\"}",
                                &t, &e),
               e, "sms", "sms is required");
    assert_err(send_in_text("{\"template\": \"lab_results\"}", &e), e, "patient_id", "required");
    assert_err(send_in_text("{\"patient_id\": 3}", &e), e, "template", "required");
    assert_err(send_in_text("{\"patient_id\": 3, \"template\": null}", &e), e, "template",
               "must be a string");
}

static void test_partial_leaves_rest(void **state)
{
    (void)state;
    nudge_err e;
    nudge_patient p = sample_patient();
    assert_int_equal(patient_in_text("{\"email\": null, \"gender\": \"f\"}", &p, 1, &e), 0);
    nudge_patient s = sample_patient();
    assert_string_equal(p.email, "");
    assert_string_equal(p.gender, "f");
    assert_string_equal(p.name, s.name);
    assert_string_equal(p.phone, s.phone);
    assert_string_equal(p.tags, s.tags);
    assert_int_equal(p.preferred_time, s.preferred_time);
    assert_int_equal(p.opt_outs, s.opt_outs);
    assert_int_equal(p.id, 42);
    assert_int_equal(p.loyalty_points, 120);

    /* A failure late in the body undoes the fields decoded before it. */
    p = sample_patient();
    assert_err(patient_in_text("{\"name\": \"New\", \"tags\": [\"x\"], \"opt_outs\": [], "
                               "\"preferred_time\": \"7pm\"}",
                               &p, 1, &e),
               e, "preferred_time", "HH:MM");
    assert_string_equal(p.name, "Asha Rao");
    assert_string_equal(p.tags, "diabetes,hypertension,vip");
    assert_int_equal(p.opt_outs, s.opt_outs);

    nudge_clinic c = sample_clinic();
    assert_err(
        clinic_in_text("{\"name\": \"B\", \"reminder_offsets_minutes\": [10, 20, -1]}", &c, 1, &e),
        e, "reminder_offsets_minutes[2]", "(got -1)");
    assert_string_equal(c.name, "Smile Dental, Koramangala");
    assert_int_equal(c.n_offsets, 3);
    assert_int_equal(c.offsets[0], 2880);
    assert_int_equal(clinic_in_text("{\"reminder_offsets_minutes\": [30]}", &c, 1, &e), 0);
    assert_int_equal(c.n_offsets, 1);
    assert_int_equal(c.offsets[0], 30);
    assert_string_equal(c.timezone, "Asia/Kolkata");
    assert_int_equal(c.quiet_start, 21 * 60 + 30);

    nudge_appointment a = {0};
    a.patient_id = 5;
    strcpy(a.service, "Root canal");
    a.start_at = TU_T(2026, 12, 1, 4, 30);
    a.duration_min = 90;
    assert_int_equal(appt_in_text("{\"doctor\": \"Dr. Iyer\", \"notes\": null}", NULL, &a, 1, &e),
                     0);
    assert_string_equal(a.provider, "Dr. Iyer");
    assert_string_equal(a.service, "Root canal");
    assert_int_equal(a.start_at, TU_T(2026, 12, 1, 4, 30));
    assert_int_equal(a.duration_min, 90);
}

/* ---- messages ---- */

static void test_send(void **state)
{
    (void)state;
    json_t *j = J("{\"patient_id\": 42, \"template\": \"lab_results\", \"channel\": \"email\", "
                  "\"priority\": \"urgent\", \"due_at\": \"2026-12-01T09:00\", \"dedupe_key\": "
                  "\"lab-991\", \"vars\": {\"test_name\": \"HbA1c\", \"doctor_name\": \"Dr. "
                  "Mehta\"}}");
    nudge_send s;
    memset(&s, 0, sizeof s);
    nudge_vars v = {0};
    nudge_err e = {0};
    assert_int_equal(codec_send_in(j, "Asia/Kolkata", &s, &v, &e), 0);
    assert_int_equal(s.patient_id, 42);
    assert_string_equal(s.template_name, "lab_results");
    assert_ptr_equal(s.template_name, json_string_value(json_object_get(j, "template")));
    assert_string_equal(s.channel, "email");
    assert_string_equal(s.dedupe_key, "lab-991");
    assert_int_equal(s.priority, NUDGE_URGENT);
    assert_int_equal(s.due_at, TU_T(2026, 12, 1, 3, 30));
    assert_ptr_equal(s.vars, &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(nudge_vars_get(&v, "test_name"), "HbA1c");
    assert_string_equal(nudge_vars_get(&v, "doctor_name"), "Dr. Mehta");
    json_decref(j); /* vars are copies: they outlive j */
    assert_string_equal(nudge_vars_get(&v, "test_name"), "HbA1c");
    nudge_vars_free(&v);

    /* Only what is required: defaults for the rest, nulls as absent. */
    j = J("{\"patient_id\": 1, \"template\": \"welcome\", \"channel\": null, \"due_at\": null, "
          "\"priority\": null}");
    assert_int_equal(codec_send_in(j, "Asia/Kolkata", &s, &v, &e), 0);
    assert_null(s.channel);
    assert_null(s.dedupe_key);
    assert_int_equal(s.priority, NUDGE_NORMAL);
    assert_int_equal(s.due_at, 0);
    assert_int_equal(v.n, 0);
    json_decref(j);

    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"priority\": \"asap\"}", &e),
               e, "priority", "low, normal, high or urgent (got \"asap\")");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"priority\": 3}", &e), e,
               "priority", "got 3");
    assert_err(send_in_text("{\"patient_id\": -4, \"template\": \"t\"}", &e), e, "patient_id",
               "at least 1");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"vars\": {\"a\": \"1\", "
                            "\"test_name\": 5}}",
                            &e),
               e, "vars.test_name", "vars.test_name must be a string (got 5)");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"vars\": [\"a\"]}", &e), e,
               "vars", "must be an object");
    assert_err(send_in_text("{\"patient_id\": 1, \"template\": \"t\", \"vars\": {\"a_name_that_is_"
                            "far_too_long_for_a_variable_key_0123\": \"x\"}}",
                            &e),
               e, "vars.a_name_that_is_far_too_long_for_a_variable_key_0123", "at most 47");

    json_t *vars = json_object();
    for (int i = 0; i < 49; i++) {
        char k[16];
        snprintf(k, sizeof k, "v%d", i);
        json_object_set_new(vars, k, json_string("x"));
    }
    j = json_pack("{s:i, s:s, s:o}", "patient_id", 1, "template", "t", "vars", vars);
    v = (nudge_vars){0};
    assert_int_equal(codec_send_in(j, NULL, &s, &v, &e), -1);
    assert_string_equal(e.field, "vars");
    assert_non_null(strstr(e.msg, "at most 48"));
    assert_int_equal(v.n, 0);
    json_decref(j);
}

static void test_render(void **state)
{
    (void)state;
    json_t *j = J("{\"vars\": {\"patient_name\": \"Asha\"}, \"channel\": \"whatsapp\"}");
    nudge_vars v = {0};
    const char *ch = "sms";
    nudge_err e = {0};
    assert_int_equal(codec_render_in(j, &v, &ch, &e), 0);
    assert_string_equal(ch, "whatsapp");
    assert_string_equal(nudge_vars_get(&v, "patient_name"), "Asha");
    nudge_vars_free(&v);
    json_decref(j);

    j = J("{}");
    ch = "email";
    assert_int_equal(codec_render_in(j, &v, &ch, &e), 0);
    assert_string_equal(ch, "email"); /* the caller's default stays */
    assert_int_equal(v.n, 0);
    json_decref(j);

    j = J("{\"channel\": \"fax\", \"vars\": {\"a\": \"b\"}}");
    ch = "sms";
    assert_err(codec_render_in(j, &v, &ch, &e), e, "channel", "sms, whatsapp or email");
    assert_string_equal(ch, "sms");
    json_decref(j);
    j = J("{\"vars\": {\"a\": \"b\", \"c\": null}}");
    assert_err(codec_render_in(j, &v, &ch, &e), e, "vars.c", "got null");
    assert_int_equal(v.n, 0);
    json_decref(j);
}

/* ---- raw text ---- */

static void test_depth(void **state)
{
    (void)state;
    char deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = 0;
    assert_false(codec_depth_ok(deep, 2000, 32));
    assert_true(codec_depth_ok(deep, 2000, 1000));
    assert_false(codec_depth_ok(deep, 2000, 999));
    /* Exactly at the limit passes; one more does not. */
    const char *three = "{\"a\": [{\"b\": 1}]}";
    assert_true(codec_depth_ok(three, strlen(three), 3));
    assert_false(codec_depth_ok(three, strlen(three), 2));
    /* Siblings do not add up. */
    const char *flat = "[[1], [2], [3], {\"a\": [4]}]";
    assert_true(codec_depth_ok(flat, strlen(flat), 3));
    /* Brackets inside strings are text. */
    const char *str = "{\"notes\": \"[[[[[[{{{{{{\"}";
    assert_true(codec_depth_ok(str, strlen(str), 1));
    /* An escaped quote does not end the string; an escaped backslash does not
     * escape the quote after it. */
    const char *esc = "{\"a\": \"he said \\\"[[[[\\\" ok\", \"b\": \"c:\\\\\", \"d\": [[[1]]]}";
    assert_true(codec_depth_ok(esc, strlen(esc), 4));
    assert_false(codec_depth_ok(esc, strlen(esc), 3));
    /* Stray closers cannot buy depth for later openers. */
    const char *stray = "]]]]][[[";
    assert_false(codec_depth_ok(stray, strlen(stray), 2));
    /* Only len bytes are read. */
    assert_true(codec_depth_ok("[[[[", 2, 2));
}

/* ---- output shapes ---- */

static void assert_keys(json_t *o, const char *const *keys)
{
    size_t n = 0;
    for (; keys[n]; n++)
        if (!json_object_get(o, keys[n]))
            fail_msg("missing key %s", keys[n]);
    assert_int_equal(json_object_size(o), n);
}

static void test_out_shapes(void **state)
{
    (void)state;
    nudge_key k = {.id = 3, .clinic_id = 7, .role = NUDGE_ROLE_INTEGRATION};
    strcpy(k.prefix, "ab12cd34");
    k.created_at = TU_T(2026, 12, 1, 0, 0);
    json_t *o = codec_out(nudge_key_fields, &k, "Asia/Kolkata");
    assert_keys(o, (const char *const[]){"id", "role", "label", "prefix", "created_at",
                                         "last_used_at", "revoked_at", NULL});
    assert_string_equal(jget_str(o, "role"), "integration");
    assert_null_field(o, "label");
    assert_null_field(o, "revoked_at");
    json_decref(o);

    nudge_reminder r = {.id = 5, .appointment_id = 9, .due_at = TU_T(2026, 12, 1, 0, 0)};
    strcpy(r.kind, "reminder");
    strcpy(r.template_name, "appointment_reminder");
    strcpy(r.status, "planned");
    o = codec_out(nudge_reminder_fields, &r, "Asia/Kolkata");
    assert_keys(o, (const char *const[]){"id", "appointment_id", "kind", "template", "due_at",
                                         "expires_at", "status", "notification_id", "subject",
                                         "detail", "note", "channels", NULL});
    assert_null_field(o, "notification_id");
    assert_null_field(o, "subject"); /* a visit's plan is about the visit */
    assert_null_field(o, "channels");
    assert_string_equal(jget_str(o, "template"), "appointment_reminder");
    json_decref(o);
    r.notification_id = 77;
    o = codec_out(nudge_reminder_fields, &r, "Asia/Kolkata");
    assert_int_equal(json_integer_value(json_object_get(o, "notification_id")), 77);
    json_decref(o);

    nudge_notification m = {
        .id = 11, .patient_id = 42, .priority = NUDGE_HIGH, .attempts = 1, .max_retries = 3};
    strcpy(m.channel, "sms");
    strcpy(m.recipient, "+919812345678");
    strcpy(m.template_name, "lab_results");
    strcpy(m.language, "en");
    strcpy(m.category, "transactional");
    strcpy(m.status, "sent");
    m.sent_at = TU_T(2026, 12, 1, 4, 30);
    m.body = "Your HbA1c results are ready";
    o = codec_out(nudge_notification_fields, &m, "Asia/Kolkata");
    assert_keys(o, (const char *const[]){
                       "id",          "patient_id", "appointment_id", "reminder_id", "channel",
                       "recipient",   "template",   "language",       "category",    "priority",
                       "status",      "due_at",     "expires_at",     "sent_at",     "attempts",
                       "max_retries", "dedupe_key", "provider_id",    "last_error",  "subject",
                       "body",        "html",       "created_at",     NULL});
    assert_null_field(o, "reminder_id");
    assert_null_field(o, "appointment_id");
    assert_null_field(o, "subject");
    assert_null_field(o, "dedupe_key");
    assert_null_field(o, "due_at");
    assert_string_equal(jget_str(o, "priority"), "high");
    assert_string_equal(jget_str(o, "sent_at"), "2026-12-01T10:00:00+05:30");
    assert_string_equal(jget_str(o, "body"), "Your HbA1c results are ready");
    json_decref(o);

    nudge_patient p = sample_patient();
    o = codec_out(nudge_patient_fields, &p, "Asia/Kolkata");
    assert_keys(o, (const char *const[]){"id", "clinic_id", "name", "email", "phone", "language",
                                         "timezone", "date_of_birth", "gender", "tags",
                                         "preferred_channel", "preferred_time", "opt_outs",
                                         "loyalty_points", "last_visit", "created_at",
                                         "reminder_channels", NULL});
    json_decref(o);
    nudge_clinic c = sample_clinic();
    o = codec_out(nudge_clinic_fields, &c, (&c)->timezone);
    assert_keys(o, (const char *const[]){
                       "id", "name", "timezone", "country", "language", "phone", "email", "address",
                       "quiet_hours", "reminder_offsets_minutes", "followup_after_minutes",
                       "max_retries", "rate_per_minute", "default_channel", "sms_sender",
                       "whatsapp_fallback", "whatsapp_fallback_after_minutes", "created_at",
                       "review_max_days", "reminder_channels", NULL});
    json_decref(o);
}

/* Text that reached the store through the CLI may not be UTF-8: it must
 * still come out (jansson would drop the whole key), and error messages that
 * cut a quoted value must stay valid UTF-8 for the problem body. */
static void test_utf8(void **state)
{
    (void)state;
    nudge_patient p = sample_patient();
    strcpy(p.name, "Ram\xe9sh \xff ok");
    json_t *o = codec_out(nudge_patient_fields, &p, NULL);
    assert_string_equal(jget_str(o, "name"), "Ram\xef\xbf\xbdsh \xef\xbf\xbd ok");
    json_decref(o);

    /* "a" and 30 three-byte letters, quoted to 24 bytes: cut mid-letter. */
    char body[200] = "{\"max_retries\": \"a";
    for (int i = 0; i < 30; i++)
        strcat(body, "\xe0\xa4\x85");
    strcat(body, "\"}");
    nudge_clinic c = sample_clinic();
    nudge_err e;
    assert_int_equal(clinic_in_text(body, &c, 1, &e), -1);
    json_t *msg = json_string(e.msg);
    assert_non_null(msg);
    json_decref(msg);
    /* tz_parse quotes 40 bytes of its input. */
    char tbody[200] = "{\"start_at\": \"2026-12-01T10:00:00Z";
    for (int i = 0; i < 20; i++)
        strcat(tbody, "\xe0\xa4\x85");
    strcat(tbody, "\"}");
    nudge_appointment a = {0};
    assert_int_equal(appt_in_text(tbody, "Asia/Kolkata", &a, 1, &e), -1);
    msg = json_string(e.msg);
    assert_non_null(msg);
    json_decref(msg);
}

static void test_json_field_names(void **state)
{
    (void)state;
    assert_string_equal(codec_json_field("at"), "start_at");
    assert_string_equal(codec_json_field("duration"), "duration_minutes");
    assert_string_equal(codec_json_field("provider"), "doctor");
    assert_string_equal(codec_json_field("reminder_offsets"), "reminder_offsets_minutes");
    assert_string_equal(codec_json_field("phone"), "phone");
    nudge_err e;
    err_set(&e, NUDGE_EINVAL, "followup_after", "follow-up delay must be >= 0");
    codec_err_fields(&e);
    assert_string_equal(e.field, "followup_after_minutes");
    assert_string_equal(e.msg, "follow-up delay must be >= 0");
}

/* The generic walk: hidden fields stay out both ways, read-only ones are
 * refused by name, and the history records encode by their tables. */
static void test_tables_drive_the_shapes(void **state)
{
    (void)state;
    nudge_patient p;
    nudge_patient_init(&p);
    strcpy(p.name, "Asha");
    p.version = 4;
    json_t *o = codec_out(nudge_patient_fields, &p, "Asia/Kolkata");
    assert_null(json_object_get(o, "version"));
    json_decref(o);
    nudge_err e = {0};
    json_t *j = json_pack("{s:i}", "version", 5);
    assert_int_equal(codec_in(nudge_patient_fields, j, NULL, &p, sizeof p, 1, &e), -1);
    assert_string_equal(e.field, "version");
    assert_non_null(strstr(e.msg, "unknown field"));
    assert_int_equal(p.version, 4);
    json_decref(j);
    j = json_pack("{s:i}", "loyalty_points", 5);
    assert_int_equal(codec_in(nudge_patient_fields, j, NULL, &p, sizeof p, 1, &e), -1);
    assert_string_equal(e.msg, "loyalty_points is read-only: points are earned through visits");
    json_decref(j);

    nudge_attempt a = {.id = 2, .notification_id = 9, .at = TU_T(2026, 12, 1, 0, 0)};
    strcpy(a.transport, "twilio");
    strcpy(a.outcome, "sent");
    o = codec_out(nudge_attempt_fields, &a, "Asia/Kolkata");
    assert_keys(o, (const char *const[]){"id", "at", "transport", "outcome", "provider_id",
                                         "detail", NULL});
    assert_string_equal(jget_str(o, "at"), "2026-12-01T05:30:00+05:30");
    assert_null_field(o, "provider_id");
    json_decref(o);

    nudge_delivery_event d = {.id = 3, .at = TU_T(2026, 12, 1, 0, 0), .applied = 1};
    strcpy(d.provider, "twilio");
    strcpy(d.status, "delivered");
    o = codec_out(nudge_delivery_event_fields, &d, "UTC");
    assert_keys(o, (const char *const[]){"id", "at", "provider", "status", "error_code",
                                         "applied", NULL});
    assert_true(json_is_true(json_object_get(o, "applied")));
    assert_null_field(o, "error_code");
    json_decref(o);

    nudge_audit u = {.id = 4, .clinic_id = 1, .at = TU_T(2026, 12, 1, 0, 0)};
    strcpy(u.actor, "cli");
    strcpy(u.action, "add");
    strcpy(u.entity, "clinic");
    o = codec_out(nudge_audit_fields, &u, "UTC");
    assert_keys(o, (const char *const[]){"id", "at", "actor", "action", "entity", "entity_id",
                                         "detail", NULL});
    assert_null_field(o, "entity_id");
    json_decref(o);
}

/* The answers are written as text (codec_text), not dumped from trees:
 * the text must be exactly what jansson writes for the same values, so
 * every client sees the bytes it saw before. */
static char *canonical(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static void assert_text_is_jansson(const nudge_field *fs, const void *rec, const char *tz)
{
    codec_buf b = {0};
    codec_text(&b, fs, rec, tz);
    char *want = canonical(b.p);
    assert_string_equal(b.p, want);
    free(want);
    free(b.p);
}

static void test_text_is_jansson(void **state)
{
    (void)state;
    const char *valid[] = {"", "plain", "q\"uote\\back/slash", "\b\f\n\r\t\x01\x1f\x7f",
                           "\xc3\xa9t\xc3\xa9", "\xe0\xa4\x85\xe0\xa4\xbe", "\xf0\x9f\x98\x80!",
                           "\xf4\x8f\xbf\xbf", NULL};
    for (int i = 0; valid[i]; i++) {
        codec_buf b = {0};
        codec_put_str(&b, valid[i]);
        json_t *v = json_string(valid[i]);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        assert_string_equal(b.p, want);
        free(want);
        json_decref(v);
        free(b.p);
    }
    /* Bytes that are not UTF-8 (overlong, surrogate, cut short) each
     * become U+FFFD, as codec_out always did. */
    codec_buf b = {0};
    codec_put_str(&b, "a\xc0\xaf" "b\xed\xa0\x80" "c\xe0\xa4");
    assert_string_equal(b.p, "\"a\\uFFFD\\uFFFDb\\uFFFD\\uFFFD\\uFFFDc\\uFFFD\\uFFFD\"");
    free(b.p);

    nudge_patient p = sample_patient();
    strcpy(p.name, "R\xc4\x81m \"Q\"\t\xf0\x9f\x98\x80 \xff");
    strcpy(p.tags, " a , ,b\\c,\xe0\xa4\x85 ");
    assert_text_is_jansson(nudge_patient_fields, &p, "Asia/Kolkata");
    nudge_patient_init(&p); /* empty: nulls, [] */
    assert_text_is_jansson(nudge_patient_fields, &p, NULL);
    nudge_clinic c = sample_clinic();
    assert_text_is_jansson(nudge_clinic_fields, &c, c.timezone);
    c.quiet_start = c.quiet_end;
    assert_text_is_jansson(nudge_clinic_fields, &c, c.timezone);
    nudge_notification m = {.id = 9, .patient_id = 3, .due_at = TU_T(2026, 3, 8, 7, 30),
                            .attempts = 2};
    m.body = "line one\nline two \xe2\x82\xb9" "5";
    assert_text_is_jansson(nudge_notification_fields, &m, "America/New_York");
    nudge_key k = {.id = INT64_MAX, .role = NUDGE_ROLE_STAFF, .created_at = 1};
    assert_text_is_jansson(nudge_key_fields, &k, "UTC");

    /* A member added to a written answer replaces one of the same name
     * where it stands (a notification's "attempts" count by its list), as
     * json_object_set did, else goes last. */
    http_req r;
    memset(&r, 0, sizeof r);
    r.text = strdup("{\"a\":\"x,\\\"attempts\\\":1\",\"attempts\":{\"k\":[1,\"}\"]},\"b\":[]}");
    http_add_member(&r, "attempts", "[2]", 3);
    assert_string_equal(r.text, "{\"a\":\"x,\\\"attempts\\\":1\",\"attempts\":[2],\"b\":[]}");
    http_add_member(&r, "b", "null", 4);
    http_add_member(&r, "c", "{}", 2);
    assert_string_equal(r.text, "{\"a\":\"x,\\\"attempts\\\":1\",\"attempts\":[2],\"b\":null,\"c\":{}}");
    free(r.text);
    r.text = strdup("{}");
    http_add_member(&r, "d", "1", 1);
    assert_string_equal(r.text, "{\"d\":1}");
    free(r.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clinic_round_trip),
        cmocka_unit_test(test_clinic_quiet_hours_none),
        cmocka_unit_test(test_patient_round_trip),
        cmocka_unit_test(test_appointment_round_trip),
        cmocka_unit_test(test_template_round_trip),
        cmocka_unit_test(test_time_offsets),
        cmocka_unit_test(test_bad_times),
        cmocka_unit_test(test_bad_hhmm),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_read_only_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_nul_in_strings),
        cmocka_unit_test(test_optouts),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_required_and_partial),
        cmocka_unit_test(test_partial_leaves_rest),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_out_shapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_field_names),
        cmocka_unit_test(test_tables_drive_the_shapes),
        cmocka_unit_test(test_text_is_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
