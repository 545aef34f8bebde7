/*
 * appointments.c: /v1/appointments. Booking, reading and listing, and the
 * status changes as actions (confirm, cancel, complete, no-show,
 * reschedule), each the same library call the CLI makes, so the plans
 * follow exactly as they do there. Actions honour If-Match when sent.
 */
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "core.h"
#include "http/http.h"
#include "tz.h"
#include "util.h"

static int appt_answer(http_req *r, int status, const nudge_appointment *a)
{
    http_set_etag(r, a->version);
    return http_ok(r, status, codec_appointment_out(a, r->clinic.timezone));
}

int api_appointment_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.duration_min = 30;
    nudge_err e = {0};
    int rc = codec_appointment_in(j, r->clinic.timezone, &a, 0, &e);
    json_decref(j);
    if (rc < 0 || nudge_appointment_add(r->n, r->key.clinic_id, &a, &e) < 0)
        return http_fail(r, &e);
    if (nudge_appointment_get(r->n, r->key.clinic_id, a.id, &a, &e) < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/appointments/%lld", (long long)a.id);
    return appt_answer(r, 201, &a);
}

int api_appointment_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    nudge_appointment a;
    nudge_err e = {0};
    if (nudge_appointment_get(r->n, r->key.clinic_id, id, &a, &e) < 0)
        return http_fail(r, &e);
    return appt_answer(r, 200, &a);
}

static int page_appt(void *ctx, const nudge_appointment *a)
{
    http_list *l = ctx;
    return http_list_add(l, codec_appointment_out(a, l->tz), a->id);
}

int api_appointment_list(http_req *r)
{
    int64_t after, patient = 0;
    int limit;
    if (http_paging(r, &after, &limit) < 0)
        return 0;
    const char *pid = http_query(r, "patient_id");
    if (pid) {
        char *end;
        long long v = strtoll(pid, &end, 10);
        if (*end || v <= 0)
            return http_problem(r, 400, "Malformed request", "patient_id must be a positive id",
                                "patient_id");
        patient = v;
    }
    http_list pg = {json_array(), r->clinic.timezone, 0, 0};
    nudge_err e = {0};
    if (nudge_appointment_list(r->n, r->key.clinic_id, patient, http_query(r, "status"), after,
                               limit, page_appt, &pg, &e) < 0) {
        json_decref(pg.items);
        if (e.code == NUDGE_EINVAL)
            return http_problem(r, 400, "Malformed request", e.msg, e.field);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, http_page(pg.items, pg.last, pg.count == limit));
}

static int page_reminder(void *ctx, const nudge_reminder *rm)
{
    http_list *l = ctx;
    return http_list_add(l, codec_reminder_out(rm, l->tz), rm->id);
}

int api_appointment_reminders(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    nudge_appointment a;
    nudge_err e = {0};
    if (nudge_appointment_get(r->n, r->key.clinic_id, id, &a, &e) < 0)
        return http_fail(r, &e);
    http_list pg = {json_array(), r->clinic.timezone, 0, 0};
    if (nudge_reminder_list(r->n, r->key.clinic_id, id, page_reminder, &pg, &e) < 0) {
        json_decref(pg.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", pg.items));
}

/* The new time of a reschedule: {"start_at": ...} and nothing else. */
static int reschedule_time(http_req *r, int64_t *t)
{
    json_t *j = http_body(r);
    if (!j)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (strcmp(k, "start_at")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            http_problem(r, 422, "Invalid input", msg, k);
            json_decref(j);
            return -1;
        }
    }
    json_t *at = json_object_get(j, "start_at");
    nudge_err e = {0};
    int rc = -1;
    if (!json_is_string(at))
        http_problem(r, 422, "Invalid input", "start_at is required, as RFC 3339", "start_at");
    else if ((rc = tz_parse(json_string_value(at), r->clinic.timezone, t, "start_at", &e)) < 0)
        http_fail(r, &e);
    json_decref(j);
    return rc;
}

/* POST /v1/appointments/{id}/{action}. With If-Match, the version check
 * and the change share one transaction, so two clients acting on the same
 * ETag cannot both succeed. */
int api_appointment_action(http_req *r)
{
    int64_t id, t = 0;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    const char *action = r->params[1];
    int (*op)(nudge *, int64_t, int64_t, nudge_err *) = NULL;
    if (!strcmp(action, "confirm"))
        op = nudge_appointment_confirm;
    else if (!strcmp(action, "cancel"))
        op = nudge_appointment_cancel;
    else if (!strcmp(action, "complete"))
        op = nudge_appointment_complete;
    else if (!strcmp(action, "no-show"))
        op = nudge_appointment_no_show;
    else if (strcmp(action, "reschedule"))
        return http_problem(r, 404, "Not found", "no such action", NULL);
    int64_t want = http_if_match(r);
    if (want < 0)
        return http_problem(r, 400, "Malformed request", "If-Match must be an ETag such as \"3\"",
                            "If-Match");
    if (op ? http_no_body(r) < 0 : reschedule_time(r, &t) < 0)
        return 0;
    nudge_appointment a;
    nudge_err e = {0};
    store *db = r->n->db;
    if (store_begin(db, &e) < 0)
        return http_fail(r, &e);
    if (nudge_appointment_get(r->n, r->key.clinic_id, id, &a, &e) < 0) {
        store_rollback(db);
        return http_fail(r, &e);
    }
    if (want && want != a.version) {
        store_rollback(db);
        return http_problem(r, 412, "Precondition failed",
                            "the appointment was changed since you read it", "If-Match");
    }
    int rc = op ? op(r->n, r->key.clinic_id, id, &e)
                : nudge_appointment_reschedule(r->n, r->key.clinic_id, id, t, &e);
    if (rc < 0 || nudge_appointment_get(r->n, r->key.clinic_id, id, &a, &e) < 0 ||
        store_commit(db, &e) < 0) {
        store_rollback(db);
        return http_fail(r, &e);
    }
    return appt_answer(r, 200, &a);
}

int api_appointment_update(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    int64_t want = http_if_match(r);
    if (want == 0)
        return http_problem(r, 428, "Precondition required",
                            "send If-Match with the ETag of the appointment you edited",
                            "If-Match");
    if (want < 0)
        return http_problem(r, 400, "Malformed request", "If-Match must be an ETag such as \"3\"",
                            "If-Match");
    nudge_appointment a;
    nudge_err e = {0};
    if (nudge_appointment_get(r->n, r->key.clinic_id, id, &a, &e) < 0)
        return http_fail(r, &e);
    json_t *j = http_body(r);
    if (!j)
        return 0;
    int64_t start = a.start_at, patient = a.patient_id;
    int rc = codec_appointment_in(j, r->clinic.timezone, &a, 1, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    if (a.start_at != start)
        return http_problem(r, 422, "Invalid input",
                            "start_at changes through POST /v1/appointments/{id}/reschedule, "
                            "which moves the reminders too",
                            "start_at");
    if (a.patient_id != patient)
        return http_problem(r, 422, "Invalid input", "an appointment's patient cannot change",
                            "patient_id");
    if (nudge_appointment_update(r->n, r->key.clinic_id, &a, want, &e) < 0) {
        if (e.code == NUDGE_ECONFLICT && !strcmp(e.field, "version"))
            return http_problem(r, 412, "Precondition failed", e.msg, "If-Match");
        return http_fail(r, &e);
    }
    return appt_answer(r, 200, &a);
}
