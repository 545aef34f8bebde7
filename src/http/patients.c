/*
 * patients.c: /v1/patients. Create, read, list (cursor by id) and update
 * with If-Match, so two receptionists editing one patient cannot silently
 * overwrite each other: the second save gets 412 and must reload. Also a
 * patient's coming plans, and cancelling one plan.
 */
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

static int patient_read(nudge *n, int64_t clinic_id, int64_t id, void *out, nudge_err *err)
{
    return nudge_patient_get(n, clinic_id, id, out, err);
}

static void patient_init(void *p)
{
    nudge_patient_init(p);
}

static int patient_add(http_req *r, void *rec, int64_t *id, nudge_err *e)
{
    nudge_patient *p = rec;
    p->clinic_id = r->key.clinic_id;
    int rc = nudge_patient_add(r->n, p, e);
    *id = p->id;
    return rc;
}

static int patient_update(http_req *r, void *rec, int64_t if_version, nudge_err *e)
{
    return nudge_patient_update(r->n, r->key.clinic_id, rec, if_version, e);
}

static const http_resource patient_res = {
    .location = "/v1/patients/%lld",
    .what = "patient",
    .fields = nudge_patient_fields,
    .size = sizeof(nudge_patient),
    .get = patient_read,
    .init = patient_init,
    .add = patient_add,
    .update = patient_update,
};

int api_patient_create(http_req *r)
{
    return http_create(r, &patient_res);
}

int api_patient_get(http_req *r)
{
    return http_get(r, &patient_res);
}

static int page_patient(void *ctx, const nudge_patient *p)
{
    return http_list_put(ctx, p, p->id);
}

static int fetch_patients(http_req *r, int64_t after, int limit, http_list *l, nudge_err *e)
{
    return nudge_patient_list(r->n, r->key.clinic_id, after, limit, page_patient, l, e);
}

int api_patient_list(http_req *r)
{
    return http_list_page(r, nudge_patient_fields, fetch_patients, "next_after");
}

int api_patient_update(http_req *r)
{
    return http_update(r, &patient_res);
}

int http_reminder_put(void *ctx, const nudge_reminder *rm)
{
    return http_list_put(ctx, rm, rm->id);
}

/* The plans still to come for a patient: what they are going to receive. */
int api_patient_reminders(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    nudge_patient p;
    nudge_err e = {0};
    if (nudge_patient_get(r->n, r->key.clinic_id, id, &p, &e) < 0)
        return http_fail(r, &e);
    http_list pg = HTTP_LIST(r, nudge_reminder_fields);
    int rc = nudge_reminder_pending(r->n, r->key.clinic_id, id, http_reminder_put, &pg, &e);
    return http_list_done(r, &pg, rc, &e, NULL, 0);
}

int api_reminder_cancel(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    if (http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_reminder_cancel(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "cancelled"));
}
