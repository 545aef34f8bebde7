/*
 * notifications.c: /v1/notifications and /v1/queue. Enqueue a direct
 * message (rendered from a template in the patient's language), read one
 * with its attempt history, list, retry, cancel, and the queue's counts.
 */
#include <stdio.h>
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
        json_decref(x.items);
        json_decref(d.items);
        return http_fail(r, &e);
    }
    json_object_set_new(r->out, "attempts", x.items);
    json_object_set_new(r->out, "delivery_events", d.items);
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
