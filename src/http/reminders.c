/*
 * reminders.c: /v1/reminders: a clinic's plans of one patient or about one
 * subject ("prescription:7", "recall:3"), and cancelling them together
 * (one plan is /v1/reminders/{id}/cancel, in patients.c).
 */
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

/* ?patient_id and/or ?subject; one of them is required. */
int api_reminder_list(http_req *r)
{
    int64_t patient = 0;
    if (http_query_id(r, "patient_id", &patient) < 0)
        return 0;
    const char *subject = http_query(r, "subject");
    if (!patient && nudge_blank(subject))
        return http_problem(r, 400, "Bad request", "give ?patient_id or ?subject", "patient_id");
    http_list l = HTTP_LIST(r, nudge_reminder_fields);
    nudge_err e = {0};
    int rc = nudge_reminder_find(r->n, r->key.clinic_id, patient, subject, http_reminder_put, &l,
                                 &e);
    return http_list_done(r, &l, rc, &e, NULL, 0);
}

/* {"patient_id"?: id, "subject"?: string}: every plan still to come of
 * that patient and/or about that subject; answers how many. */
int api_reminder_cancel_where(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_err e = {0};
    const char *key;
    json_t *v;
    int64_t patient = 0;
    const char *subject = NULL;
    int rc = 0, count = 0;
    json_object_foreach(j, key, v)
    {
        if (!strcmp(key, "patient_id") && json_is_integer(v) && json_integer_value(v) > 0)
            patient = json_integer_value(v);
        else if (!strcmp(key, "subject") && json_is_string(v))
            subject = json_string_value(v);
        else
            rc = nudge_err_set(&e, NUDGE_EINVAL, key,
                               "%s: give patient_id (a positive id) and/or subject (a string)",
                               key);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = nudge_reminder_cancel_where(r->n, r->key.clinic_id, patient, subject, &count, &e);
    json_decref(j);
    if (rc < 0) {
        codec_err_fields(&e);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:i}", "cancelled", count));
}
