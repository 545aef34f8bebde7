/*
 * patients.c: /v1/patients. Create, read, list (cursor by id) and update
 * with If-Match, so two receptionists editing one patient cannot silently
 * overwrite each other: the second save gets 412 and must reload.
 */
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"
#include "util.h"

static int patient_answer(http_req *r, int status, const nudge_patient *p)
{
    http_set_etag(r, p->version);
    return http_ok(r, status, codec_patient_out(p, r->clinic.timezone));
}

int api_patient_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_patient p;
    nudge_patient_init(&p);
    nudge_err e = {0};
    int rc = codec_patient_in(j, &p, 0, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    p.clinic_id = r->key.clinic_id;
    if (nudge_patient_add(r->n, &p, &e) < 0)
        return http_fail(r, &e);
    nudge_patient stored;
    if (nudge_patient_get(r->n, r->key.clinic_id, p.id, &stored, &e) < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/patients/%lld", (long long)p.id);
    return patient_answer(r, 201, &stored);
}

int api_patient_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    nudge_patient p;
    nudge_err e = {0};
    if (nudge_patient_get(r->n, r->key.clinic_id, id, &p, &e) < 0)
        return http_fail(r, &e);
    return patient_answer(r, 200, &p);
}

static int page_patient(void *ctx, const nudge_patient *p)
{
    http_list *l = ctx;
    return http_list_add(l, codec_patient_out(p, l->tz), p->id);
}

int api_patient_list(http_req *r)
{
    int64_t after;
    int limit;
    if (http_paging(r, &after, &limit) < 0)
        return 0;
    http_list pg = {json_array(), r->clinic.timezone, 0, 0};
    nudge_err e = {0};
    if (nudge_patient_list(r->n, r->key.clinic_id, after, limit, page_patient, &pg, &e) < 0) {
        json_decref(pg.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, http_page(pg.items, pg.last, pg.count == limit));
}

int api_patient_update(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    int64_t want = http_if_match(r);
    if (want == 0)
        return http_problem(r, 428, "Precondition required",
                            "send If-Match with the ETag of the patient you edited", "If-Match");
    if (want < 0)
        return http_problem(r, 400, "Malformed request", "If-Match must be an ETag such as \"3\"",
                            "If-Match");
    nudge_patient p;
    nudge_err e = {0};
    if (nudge_patient_get(r->n, r->key.clinic_id, id, &p, &e) < 0)
        return http_fail(r, &e);
    json_t *j = http_body(r);
    if (!j)
        return 0;
    int rc = codec_patient_in(j, &p, 1, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    if (nudge_patient_update(r->n, r->key.clinic_id, &p, want, &e) < 0) {
        if (e.code == NUDGE_ECONFLICT && !strcmp(e.field, "version"))
            return http_problem(r, 412, "Precondition failed", e.msg, "If-Match");
        return http_fail(r, &e);
    }
    return patient_answer(r, 200, &p);
}

static int add_reminder(void *ctx, const nudge_reminder *rm)
{
    http_list *l = ctx;
    return http_list_add(l, codec_reminder_out(rm, l->tz), rm->id);
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
    http_list pg = {json_array(), r->clinic.timezone, 0, 0};
    if (nudge_reminder_pending(r->n, r->key.clinic_id, id, add_reminder, &pg, &e) < 0) {
        json_decref(pg.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", pg.items));
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
