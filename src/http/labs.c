/*
 * labs.c: the reminders of issue 9 that are neither a prescription nor a
 * recall: /v1/labs (lab tests due on a date, reminded until marked done),
 * /v1/follow-ups (the clinician's "review in 2 weeks") and
 * /v1/patients/{id}/ready (prescription or results ready, sent now). A lab
 * order is decoded and encoded by its record table; what is planned and
 * when is the library's (lab.c, reminder.c).
 */
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

int api_lab_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_lab_order o;
    memset(&o, 0, sizeof o);
    nudge_err e = {0};
    int rc = codec_in(nudge_lab_order_fields, j, r->clinic.timezone, &o, sizeof o, 0, &e);
    json_decref(j);
    if (rc == 0) {
        o.clinic_id = r->key.clinic_id;
        rc = nudge_lab_add(r->n, &o, &e);
    }
    if (rc < 0) {
        codec_err_fields(&e);
        return http_fail(r, &e);
    }
    snprintf(r->location, sizeof r->location, "/v1/labs/%lld", (long long)o.id);
    return http_ok(r, 201, codec_out(nudge_lab_order_fields, &o, r->clinic.timezone));
}

static int lab_put(void *ctx, const nudge_lab_order *o)
{
    return http_list_put(ctx, o, o->id);
}

/* ?patient_id narrows it; newest first, not paged. */
int api_lab_list(http_req *r)
{
    int64_t patient = 0;
    if (http_query_id(r, "patient_id", &patient) < 0)
        return 0;
    http_list l = HTTP_LIST(r, nudge_lab_order_fields);
    nudge_err e = {0};
    int rc = nudge_lab_list(r->n, r->key.clinic_id, patient, lab_put, &l, &e);
    return http_list_done(r, &l, rc, &e, NULL, 0);
}

int api_lab_done(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_lab_done(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "done"));
}

/* Reads the members a small action body takes: each name with a string
 * or integer (id) kind; anything else is refused naming the member. */
typedef struct labs_member {
    const char *name;
    int is_id;
    const char *str;
    int64_t id;
} labs_member;

static int labs_members(json_t *j, labs_member *m, int nm, nudge_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        int k = 0;
        while (k < nm && strcmp(m[k].name, key))
            k++;
        if (k == nm)
            return nudge_err_set(e, NUDGE_EINVAL, key, "unknown field %s", key);
        if (m[k].is_id ? !json_is_integer(v) || json_integer_value(v) < 1
                       : !json_is_string(v) && !json_is_null(v))
            return nudge_err_set(e, NUDGE_EINVAL, key, "%s must be %s", key,
                                 m[k].is_id ? "a positive id" : "a string");
        if (m[k].is_id)
            m[k].id = json_integer_value(v);
        else
            m[k].str = json_string_value(v);
    }
    for (int k = 0; k < nm; k++)
        if (m[k].is_id && !m[k].id)
            return nudge_err_set(e, NUDGE_EINVAL, m[k].name, "%s is required", m[k].name);
    return 0;
}

typedef struct labs_found {
    int64_t id;
    nudge_reminder rm;
} labs_found;

static int labs_find(void *ctx, const nudge_reminder *rm)
{
    labs_found *f = ctx;
    if (rm->id != f->id)
        return 0;
    f->rm = *rm;
    return 1;
}

/* {"patient_id": id, "date": "YYYY-MM-DD"}: answers the planned reminder. */
int api_followup_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    labs_member m[] = {{"patient_id", 1, NULL, 0}, {"date", 0, NULL, 0}};
    nudge_err e = {0};
    labs_found f = {0};
    int rc = labs_members(j, m, 2, &e);
    if (rc == 0)
        rc = nudge_followup_add(r->n, r->key.clinic_id, m[0].id, m[1].str, &f.id, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    char subject[48];
    snprintf(subject, sizeof subject, "follow_up:%lld", (long long)m[0].id);
    if (nudge_reminder_find(r->n, r->key.clinic_id, m[0].id, subject, labs_find, &f, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 201, codec_out(nudge_reminder_fields, &f.rm, r->clinic.timezone));
}

/* {"what": "prescription"|"results", "test_name"?: string}: the message
 * is queued now; answers its id. */
int api_patient_ready(http_req *r)
{
    int64_t patient, id = 0;
    if (http_param_id(r, 0, &patient) < 0)
        return 0;
    json_t *j = http_body(r);
    if (!j)
        return 0;
    labs_member m[] = {{"what", 0, NULL, 0}, {"test_name", 0, NULL, 0}};
    nudge_err e = {0};
    int rc = labs_members(j, m, 2, &e);
    if (rc == 0) {
        nudge_patient p;
        /* Another clinic's patient, or none: 404, as for every id. */
        rc = nudge_patient_get(r->n, r->key.clinic_id, patient, &p, &e);
        if (rc == 0)
            rc = nudge_notify_ready(r->n, r->key.clinic_id, patient, m[0].str, m[1].str, &id,
                                    &e);
    }
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/notifications/%lld", (long long)id);
    return http_ok(r, 201, json_pack("{s:I}", "notification_id", (json_int_t)id));
}
