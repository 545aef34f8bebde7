/*
 * notifications.c: /v1/notifications and /v1/queue. Enqueue a direct
 * message (rendered from a template in the patient's language) or a batch
 * of them, read one with its attempt history, list, retry, cancel, and the
 * queue's counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

static int notif_read(nudge *n, int64_t clinic_id, int64_t id, void *out, nudge_err *err)
{
    return nudge_notification_get(n, clinic_id, id, out, err);
}

static void notif_release(void *m)
{
    nudge_notification_free(m);
}

static const http_resource notif_res = {
    .location = "/v1/notifications/%lld",
    .what = "notification",
    .fields = nudge_notification_fields,
    .size = sizeof(nudge_notification),
    .get = notif_read,
    .release = notif_release,
};

int api_notification_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_send s;
    memset(&s, 0, sizeof s);
    nudge_vars vars = {0};
    nudge_err e = {0};
    int64_t id;
    int created = 0;
    int rc = codec_send_in(j, r->clinic.timezone, &s, &vars, &e);
    int decoded = rc == 0;
    if (rc == 0)
        rc = nudge_enqueue(r->n, r->key.clinic_id, &s, &id, &created, &e);
    json_decref(j); /* s points into j until here */
    nudge_vars_free(&vars);
    if (rc < 0)
        return decoded ? http_fail(r, &e) : http_fail_body(r, &e);
    /* A dedupe_key seen before: the existing message, and nothing new (and
     * no Location: nothing was created). */
    return http_reread(r, &notif_res, created ? 201 : 200, id, created);
}

static int add_attempt(void *ctx, const nudge_attempt *a)
{
    return http_list_put(ctx, a, a->id);
}

static int add_event(void *ctx, const nudge_delivery_event *d)
{
    return http_list_put(ctx, d, d->id);
}

/* One message with its history: the attempts and the provider's reports. */
int api_notification_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    if (http_reread(r, &notif_res, 200, id, 0) < 0 || r->status != 200)
        return 0;
    nudge_err e = {0};
    http_list x = HTTP_LIST(r, nudge_attempt_fields);
    http_list d = HTTP_LIST(r, nudge_delivery_event_fields);
    if (nudge_attempt_list(r->n, r->key.clinic_id, id, add_attempt, &x, &e) < 0 ||
        nudge_delivery_event_list(r->n, r->key.clinic_id, id, add_event, &d, &e) < 0) {
        free(x.items.p);
        free(d.items.p);
        return http_fail(r, &e);
    }
    codec_buf b = {0};
    http_list_array(&x, &b);
    http_add_member(r, "attempts", b.p, b.len);
    b.len = 0;
    http_list_array(&d, &b);
    http_add_member(r, "delivery_events", b.p, b.len);
    free(b.p);
    return 0;
}

static int page_notification(void *ctx, const nudge_notification *m)
{
    return http_list_put(ctx, m, m->id);
}

/* ?status narrows the list to one of the queue's states. */
static int fetch_notifs(http_req *r, int64_t after, int limit, http_list *l, nudge_err *e)
{
    const char *status = http_query(r, "status");
    if (status) {
        int ok = 0;
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            ok |= !strcmp(status, nudge_status_names[i]);
        if (!ok)
            return http_problem(r, 400, "Malformed request",
                                "status must be pending, sending, sent, delivered, read, failed "
                                "or cancelled",
                                "status"),
                   -2;
    }
    nudge_notification_filter f = {.status = status, .channel = http_query(r, "channel")};
    if (http_query_id(r, "patient_id", &f.patient_id) < 0 ||
        http_query_id(r, "appointment_id", &f.appointment_id) < 0 ||
        http_query_time(r, "from", &f.from) < 0 || http_query_time(r, "to", &f.to) < 0)
        return -2;
    int rc = nudge_notification_find(r->n, r->key.clinic_id, &f, after, limit, page_notification,
                                     l, e);
    if (rc < 0 && e->code == NUDGE_EINVAL) /* a channel no message has */
        return http_problem(r, 400, "Malformed request", e->msg, e->field), -2;
    return rc;
}

int api_notification_list(http_req *r)
{
    return http_list_page(r, nudge_notification_fields, fetch_notifs, "next_after");
}

int api_notification_action(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    int rc;
    if (!strcmp(r->params[1], "retry"))
        rc = nudge_notification_retry(r->n, r->key.clinic_id, id, &e);
    else if (!strcmp(r->params[1], "cancel"))
        rc = nudge_notification_cancel(r->n, r->key.clinic_id, id, &e);
    else
        return http_problem(r, 404, "Not found", "no such action", NULL);
    if (rc < 0)
        return http_fail(r, &e);
    return http_reread(r, &notif_res, 200, id, 0);
}

int api_queue_status(http_req *r)
{
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(r->n, r->key.clinic_id, counts, &e) < 0)
        return http_fail(r, &e);
    json_t *o = json_object();
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        json_object_set_new(o, nudge_status_names[i], json_integer(counts[i]));
    return http_ok(r, 200, o);
}

/* One bad item of a batch, as the problem body lists it: items[i].field. */
static void batch_error(json_t *errors, size_t i, const nudge_err *in)
{
    nudge_err e = *in;
    codec_err_fields(&e);
    char field[96];
    if (e.field[0])
        snprintf(field, sizeof field, "items[%zu].%s", i, e.field);
    else
        snprintf(field, sizeof field, "items[%zu]", i);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "detail", e.msg));
}

/* Every bad item at once, so a client fixes its batch in one round: 422
 * whose errors list each, field the first. */
static int batch_fail(http_req *r, json_t *errors)
{
    json_t *first = json_array_get(errors, 0);
    char detail[160];
    snprintf(detail, sizeof detail, "%zu item(s) of the batch are invalid; nothing was enqueued",
             json_array_size(errors));
    http_problem(r, 422, "Invalid input", detail,
                 json_string_value(json_object_get(first, "field")));
    json_object_set_new(r->out, "errors", errors);
    return 0;
}

/* POST /v1/notifications:batch, {"items": [send, ...]}: all or nothing, in
 * one transaction (nudge_enqueue_batch). The answer lists each item's id
 * and whether it was created (false: its dedupe_key was used before). */
int api_notification_batch(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (strcmp(k, "items")) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown field %.100s (the body is {\"items\": [...]})", k);
            http_problem(r, 422, "Invalid input", msg, k);
            json_decref(j);
            return 0;
        }
    }
    json_t *items = json_object_get(j, "items");
    size_t count = json_array_size(items);
    if (!json_is_array(items) || count == 0 || count > NUDGE_BATCH_MAX) {
        json_decref(j);
        char msg[128];
        snprintf(msg, sizeof msg, "the body is {\"items\": [...]} with 1 to %d notifications",
                 NUDGE_BATCH_MAX);
        return http_problem(r, 422, "Invalid input", msg, "items");
    }
    nudge_send *s = calloc(count, sizeof *s);
    nudge_vars *vars = calloc(count, sizeof *vars);
    nudge_batch_result *out = calloc(count, sizeof *out);
    json_t *errors = json_array();
    nudge_err e = {0};
    int rc = -1;
    if (!s || !vars || !out || !errors) {
        http_problem(r, 500, "Internal error", "the request could not be completed", NULL);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *it = json_array_get(items, i);
        nudge_err ie = {0};
        if (!json_is_object(it))
            nudge_err_set(&ie, NUDGE_EINVAL, "", "each item must be a JSON object");
        else
            codec_send_in(it, r->clinic.timezone, &s[i], &vars[i], &ie);
        if (ie.code)
            batch_error(errors, i, &ie);
    }
    if (json_array_size(errors)) {
        batch_fail(r, errors);
        errors = NULL;
        goto done;
    }
    rc = nudge_enqueue_batch(r->n, r->key.clinic_id, s, count, out, &e);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++)
            if (out[i].err.code)
                batch_error(errors, i, &out[i].err);
        if (json_array_size(errors)) {
            batch_fail(r, errors);
            errors = NULL;
        } else {
            http_fail(r, &e);
        }
        goto done;
    }
    json_t *res = json_array();
    int created = 0;
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(res, json_pack("{s:I, s:b}", "id", (json_int_t)out[i].id, "created",
                                             out[i].created));
        created |= out[i].created;
    }
    http_ok(r, created ? 201 : 200, json_pack("{s:o}", "items", res));
done:
    json_decref(errors);
    for (size_t i = 0; vars && i < count; i++)
        nudge_vars_free(&vars[i]);
    free(vars);
    free(s);
    free(out);
    json_decref(j); /* s points into j until here */
    return 0;
}
