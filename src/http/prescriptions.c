/*
 * prescriptions.c: /v1/prescriptions. A prescription is its record (the
 * prescription table) plus "medications", an array of medication records;
 * both decoded and encoded by their tables through the codec, so the API,
 * the CLI and the library share one description. Adding plans the doses,
 * stopping cancels those to come, changing re-plans them: the library
 * does each in its transaction, as for the CLI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

/* The record with its medications, times in the clinic's zone. */
static json_t *rx_json(const nudge_prescription *p, const char *tz)
{
    json_t *o = codec_out(nudge_prescription_fields, p, tz);
    json_t *meds = json_array();
    for (int i = 0; i < p->n_medications; i++)
        json_array_append_new(meds, codec_out(nudge_medication_fields, &p->medications[i], tz));
    json_object_set_new(o, "medications", meds);
    return o;
}

/* "medications": 1 to NUDGE_MAX_MEDICATIONS objects, each by its table;
 * an error names its place ("medications[1].frequency"). */
static int rx_meds_in(json_t *arr, const char *tz, nudge_prescription *p, nudge_err *e)
{
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > NUDGE_MAX_MEDICATIONS)
        return nudge_err_set(e, NUDGE_EINVAL, "medications",
                             "medications must be an array of 1 to %d objects",
                             NUDGE_MAX_MEDICATIONS);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        nudge_medication *m = &p->medications[p->n_medications++];
        memset(m, 0, sizeof *m);
        if (codec_in(nudge_medication_fields, json_array_get(arr, i), tz, m, sizeof *m, 0, e) <
            0) {
            char f[sizeof e->field + 32];
            int w = snprintf(f, sizeof f, "medications[%zu].", i);
            memcpy(f + w, e->field, sizeof e->field);
            f[sizeof e->field - 1] = 0;
            memcpy(e->field, f, sizeof e->field);
            return -1;
        }
    }
    return 0;
}

/* A body with its "medications" into *p (allocated; freed by the caller
 * even on failure): the record by its table (partial: a change's), the
 * medications by theirs. Only a change's `allowed` members may be set
 * besides the medications (NULL: every member the table takes). */
static int rx_body_in(http_req *r, json_t *j, int partial, const char *const *allowed,
                      nudge_prescription **p, nudge_err *e)
{
    *p = calloc(1, sizeof **p);
    json_t *meds = json_incref(json_object_get(j, "medications"));
    json_object_del(j, "medications");
    int rc = !*p ? nudge_err_set(e, NUDGE_ENOMEM, "", "out of memory")
             : !meds ? nudge_err_set(e, NUDGE_EINVAL, "medications", "medications is required")
                     : 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (rc == 0 && allowed && nudge_names_find(allowed, key) < 0)
            rc = nudge_err_set(e, NUDGE_EINVAL, key,
                               "%s cannot be changed (a change takes medications, prescriber "
                               "and notes)", key);
    }
    if (rc == 0)
        rc = codec_in(nudge_prescription_fields, j, r->clinic.timezone, *p, sizeof **p, partial,
                      e);
    if (rc == 0)
        rc = rx_meds_in(meds, r->clinic.timezone, *p, e);
    json_decref(meds);
    return rc;
}

int api_prescription_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_prescription *p;
    nudge_err e = {0};
    int rc = rx_body_in(r, j, 0, NULL, &p, &e);
    if (rc == 0) {
        p->clinic_id = r->key.clinic_id;
        rc = nudge_prescription_add(r->n, p, &e);
    }
    json_decref(j);
    if (rc < 0) {
        codec_err_fields(&e);
        free(p);
        return http_fail(r, &e);
    }
    snprintf(r->location, sizeof r->location, "/v1/prescriptions/%lld", (long long)p->id);
    http_set_etag(r, p->version);
    http_ok(r, 201, rx_json(p, r->clinic.timezone));
    free(p);
    return 0;
}

int api_prescription_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    nudge_prescription *p = calloc(1, sizeof *p);
    nudge_err e = {0};
    if (!p || nudge_prescription_get(r->n, r->key.clinic_id, id, p, &e) < 0) {
        if (!p)
            nudge_err_set(&e, NUDGE_ENOMEM, "", "out of memory");
        free(p);
        return http_fail(r, &e);
    }
    http_set_etag(r, p->version);
    http_ok(r, 200, rx_json(p, r->clinic.timezone));
    free(p);
    return 0;
}

static int rx_put(void *ctx, const nudge_prescription *p)
{
    http_list *l = ctx;
    http_list_put_json(l, rx_json(p, l->tz));
    return 0;
}

/* ?patient_id narrows it; a clinic's prescriptions are not paged. */
int api_prescription_list(http_req *r)
{
    int64_t patient = 0;
    if (http_query_id(r, "patient_id", &patient) < 0)
        return 0;
    http_list l = HTTP_LIST(r, nudge_prescription_fields);
    nudge_err e = {0};
    int rc = nudge_prescription_list(r->n, r->key.clinic_id, patient, rx_put, &l, &e);
    return http_list_done(r, &l, rc, &e, NULL, 0);
}

/* {"reason"?: string} ({} at least): the doses still to come are
 * cancelled. */
int api_prescription_stop(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_err e = {0};
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "reason"))
            rc = nudge_err_set(&e, NUDGE_EINVAL, key, "unknown field %s (stop takes reason)", key);
        else if (!json_is_string(v) && !json_is_null(v))
            rc = nudge_err_set(&e, NUDGE_EINVAL, "reason", "reason must be a string");
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = nudge_prescription_stop(r->n, r->key.clinic_id, id,
                                     json_string_value(json_object_get(j, "reason")), &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    r->body_len = 0;
    return api_prescription_get(r);
}

/* {"medications": [...], "prescriber"?, "notes"?}: the medications are
 * replaced and the doses still to come re-planned from now. */
int api_prescription_change(http_req *r)
{
    static const char *const allowed[] = {"prescriber", "notes", NULL};
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_prescription *p;
    nudge_err e = {0};
    int rc = rx_body_in(r, j, 1, allowed, &p, &e);
    if (rc == 0)
        rc = nudge_prescription_change(r->n, r->key.clinic_id, id, p, &e);
    json_decref(j);
    if (rc < 0) {
        codec_err_fields(&e);
        free(p);
        return http_fail(r, &e);
    }
    http_set_etag(r, p->version);
    http_ok(r, 200, rx_json(p, r->clinic.timezone));
    free(p);
    return 0;
}
