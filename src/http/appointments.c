/*
 * appointments.c: /v1/appointments. Booking, reading and listing, and the
 * status changes as actions (confirm, cancel, complete, no-show,
 * reschedule), each through the library call the CLI makes, so the plans
 * follow exactly as they do there. A booking's answer carries its plan
 * outcome (what was planned, what was skipped and why), as the CLI prints. Actions honour If-Match when sent; the
 * library checks it in the action's own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

static int appt_read(nudge *n, int64_t clinic_id, int64_t id, void *out, nudge_err *err)
{
    return nudge_appointment_get(n, clinic_id, id, out, err);
}

static void appt_init(void *a)
{
    ((nudge_appointment *)a)->duration_min = 30;
}

/* What the booking in hand planned and skipped: http_create calls
 * appt_add and then answers, and api_appointment_create adds this to the
 * answer. Per thread, as each API thread handles one request at a time. */
static _Thread_local nudge_plan appt_booked;

static int appt_add(http_req *r, void *rec, int64_t *id, nudge_err *e)
{
    nudge_appointment *a = rec;
    int rc = nudge_appointment_book(r->n, r->key.clinic_id, a, &appt_booked, e);
    *id = a->id;
    return rc;
}

/* The plan outcome as the answer's "plan": one object per message the
 * clinic's settings call for, planned or skipped with the reason. */
static json_t *appt_plan_json(const nudge_plan *plan, const char *tz)
{
    json_t *arr = json_array();
    for (int i = 0; i < plan->n; i++) {
        const nudge_plan_item *it = &plan->items[i];
        char name[40], t[40];
        nudge_plan_item_name(it, name, sizeof name);
        nudge_time_format(it->due_at, tz, t, sizeof t);
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "kind", it->kind, "name", name,
                              "before_minutes", it->before_min, "due_at", t, "outcome",
                              it->planned ? "planned" : "skipped");
        json_object_set_new(o, "reason", it->planned ? json_null() : json_string(it->why));
        json_array_append_new(arr, o);
    }
    return arr;
}

static int appt_update(http_req *r, void *rec, int64_t if_version, nudge_err *e)
{
    return nudge_appointment_update(r->n, r->key.clinic_id, rec, if_version, e);
}

/* The table lets a body name start_at and patient_id (they are set on
 * create); an edit may not change them. */
static int appt_check_edit(http_req *r, const void *before, const void *after)
{
    const nudge_appointment *a = before, *b = after;
    if (a->start_at != b->start_at)
        return http_problem(r, 422, "Invalid input",
                            "start_at changes through POST /v1/appointments/{id}/reschedule, "
                            "which moves the reminders too",
                            "start_at"),
               -1;
    if (a->patient_id != b->patient_id)
        return http_problem(r, 422, "Invalid input", "an appointment's patient cannot change",
                            "patient_id"),
               -1;
    return 0;
}

static const http_resource appt_res = {
    .location = "/v1/appointments/%lld",
    .what = "appointment",
    .fields = nudge_appointment_fields,
    .size = sizeof(nudge_appointment),
    .get = appt_read,
    .init = appt_init,
    .add = appt_add,
    .update = appt_update,
    .check_edit = appt_check_edit,
};

int api_appointment_create(http_req *r)
{
    appt_booked.n = 0;
    http_create(r, &appt_res);
    if (r->status == 201) {
        json_t *plan = appt_plan_json(&appt_booked, r->clinic.timezone);
        codec_buf b = {0};
        codec_put_json(&b, plan);
        json_decref(plan);
        http_add_member(r, "plan", b.p, b.len);
        free(b.p);
    }
    return 0;
}

int api_appointment_get(http_req *r)
{
    return http_get(r, &appt_res);
}

static int page_appt(void *ctx, const nudge_appointment *a)
{
    return http_list_put(ctx, a, a->id);
}

/* ?patient_id and ?status narrow the list; the library judges status. */
static int fetch_appts(http_req *r, int64_t after, int limit, http_list *l, nudge_err *e)
{
    nudge_appointment_filter f = {.status = http_query(r, "status")};
    if (http_query_id(r, "patient_id", &f.patient_id) < 0 ||
        http_query_time(r, "from", &f.from) < 0 || http_query_time(r, "to", &f.to) < 0)
        return -2;
    int rc = nudge_appointment_find(r->n, r->key.clinic_id, &f, after, limit, page_appt, l, e);
    if (rc < 0 && e->code == NUDGE_EINVAL) {
        codec_err_fields(e); /* the message quotes the query's bytes */
        return http_problem(r, 400, "Malformed request", e->msg, e->field), -2;
    }
    return rc;
}

int api_appointment_list(http_req *r)
{
    return http_list_page(r, nudge_appointment_fields, fetch_appts, "next_after");
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
    http_list pg = HTTP_LIST(r, nudge_reminder_fields);
    int rc = nudge_reminder_list(r->n, r->key.clinic_id, id, http_reminder_put, &pg, &e);
    return http_list_done(r, &pg, rc, &e, NULL, 0);
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
    else if ((rc = nudge_time_parse(json_string_value(at), r->clinic.timezone, t, "start_at",
                                    &e)) < 0)
        http_fail(r, &e);
    json_decref(j);
    return rc;
}

/* POST /v1/appointments/{id}/{action}. */
int api_appointment_action(http_req *r)
{
    int64_t id, t = 0;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    const char *action = r->params[1];
    int k = 0;
    while (nudge_appointment_actions[k] && strcmp(nudge_appointment_actions[k], action))
        k++;
    if (!nudge_appointment_actions[k])
        return http_problem(r, 404, "Not found", "no such action", NULL);
    int64_t want = http_if_match(r);
    if (want < 0)
        return http_problem(r, 400, "Malformed request", "If-Match must be an ETag such as \"3\"",
                            "If-Match");
    int reschedule = !strcmp(action, "reschedule");
    if (reschedule ? reschedule_time(r, &t) < 0 : http_no_body(r) < 0)
        return 0;
    nudge_appointment a;
    nudge_err e = {0};
    int rc = nudge_appointment_act(r->n, r->key.clinic_id, id, action, t, want, &a, &e);
    return http_answer(r, rc, &e, 200, nudge_appointment_fields, &a);
}

int api_appointment_update(http_req *r)
{
    return http_update(r, &appt_res);
}
