/*
 * http/staff.c: /v1/staff (a clinic's staff and their channels),
 * /v1/staff/digest (the local time of their daily digest) and /v1/webhooks
 * (integrators' subscriptions, each delivery with its attempts). None is a
 * record of the field tables: the JSON is written here, from one table of
 * members per body. A subscription's secret is in
 * the creation's answer only.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static json_t *staff_time(int64_t t, const char *tz)
{
    if (!t)
        return json_null();
    char b[40];
    nudge_time_format(t, tz, b, sizeof b);
    return json_string(b);
}

static json_t *staff_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* A body's members: strings into char arrays, booleans into ints. */
typedef struct body_member {
    const char *name;
    int type; /* JSON_STRING or JSON_TRUE (a boolean) */
    size_t offset, size;
    int required;
} body_member;

static int body_decode(http_req *r, json_t *j, const body_member *m, size_t nm, void *rec)
{
    const char *k;
    json_t *v;
    char msg[160];
    json_object_foreach(j, k, v)
    {
        size_t i = 0;
        while (i < nm && strcmp(m[i].name, k))
            i++;
        if (i == nm) {
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
        char *dst = (char *)rec + m[i].offset;
        if (m[i].type == JSON_TRUE) {
            if (!json_is_boolean(v)) {
                snprintf(msg, sizeof msg, "%s must be true or false", k);
                return http_problem(r, 422, "Invalid input", msg, k), -1;
            }
            *(int *)dst = json_is_true(v);
            continue;
        }
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= m[i].size) {
            snprintf(msg, sizeof msg, "%s must be a string of at most %zu bytes", k,
                     m[i].size - 1);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
        memcpy(dst, s, strlen(s) + 1);
    }
    for (size_t i = 0; i < nm; i++)
        if (m[i].required && !json_object_get(j, m[i].name)) {
            snprintf(msg, sizeof msg, "%s is required", m[i].name);
            return http_problem(r, 422, "Invalid input", msg, m[i].name), -1;
        }
    return 0;
}

#define MEMBER(rec, name, type, req) {#name, type, offsetof(rec, name), sizeof((rec *)0)->name, req}

static const body_member staff_in[] = {
    MEMBER(nudge_staff, name, JSON_STRING, 1),      MEMBER(nudge_staff, role, JSON_STRING, 0),
    MEMBER(nudge_staff, email, JSON_STRING, 0),     MEMBER(nudge_staff, phone, JSON_STRING, 0),
    MEMBER(nudge_staff, chat_url, JSON_STRING, 0),  MEMBER(nudge_staff, alerts, JSON_TRUE, 0),
    MEMBER(nudge_staff, digest, JSON_TRUE, 0),
};

static const body_member hook_in[] = {
    MEMBER(nudge_hook, url, JSON_STRING, 1),
    MEMBER(nudge_hook, events, JSON_STRING, 1),
};

static json_t *staff_json(const nudge_staff *s, const char *tz)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:o}", "id", (json_int_t)s->id,
                     "name", s->name, "role", staff_or_null(s->role), "email",
                     staff_or_null(s->email), "phone", staff_or_null(s->phone), "chat_url",
                     staff_or_null(s->chat_url), "alerts", s->alerts, "digest", s->digest,
                     "created_at", staff_time(s->created_at, tz));
}

typedef struct list_ctx {
    json_t *items;
    const char *tz;
} list_ctx;

static int staff_put(void *ctx, const nudge_staff *s)
{
    list_ctx *l = ctx;
    json_array_append_new(l->items, staff_json(s, l->tz));
    return 0;
}

int api_staff_list(http_req *r)
{
    list_ctx l = {json_array(), r->clinic.timezone};
    nudge_err e = {0};
    if (nudge_staff_list(r->n, r->key.clinic_id, staff_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", l.items));
}

int api_staff_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_staff s = {.alerts = 1, .digest = 1};
    int rc = body_decode(r, j, staff_in, sizeof staff_in / sizeof *staff_in, &s);
    json_decref(j);
    if (rc < 0)
        return 0;
    s.clinic_id = r->key.clinic_id;
    nudge_err e = {0};
    if (nudge_staff_add(r->n, &s, &e) < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/staff/%lld", (long long)s.id);
    return http_ok(r, 201, staff_json(&s, r->clinic.timezone));
}

/* POST .../{id}/remove of staff and webhooks: no body, the id back. */
static int remove_answer(http_req *r, int (*fn)(nudge *, int64_t, int64_t, nudge_err *))
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (fn(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
}

int api_staff_remove(http_req *r)
{
    return remove_answer(r, nudge_staff_remove);
}

/* GET and PUT /v1/staff/digest: the clinic's local time of the daily
 * digest, "HH:MM", or null for none. */
int api_staff_digest(http_req *r)
{
    nudge_err e = {0};
    int minute = -1;
    if (!strcmp(r->method, "PUT")) {
        json_t *j = http_body(r);
        if (!j)
            return 0;
        struct {
            char digest_at[8];
        } in = {""};
        static const body_member m[] = {{"digest_at", JSON_STRING, 0, sizeof in.digest_at, 1}};
        /* null (no digest) passes the member check as a string. */
        int off = json_is_null(json_object_get(j, "digest_at"));
        if (off)
            json_object_set_new(j, "digest_at", json_string(""));
        int rc = body_decode(r, j, m, 1, &in);
        json_decref(j);
        if (rc < 0)
            return 0;
        if (!off && nudge_time_parse_hhmm(in.digest_at, &minute) < 0)
            return http_problem(r, 422, "Invalid input",
                                "digest_at is a local time HH:MM, or null for no digest",
                                "digest_at");
        if (nudge_staff_digest_set(r->n, r->key.clinic_id, minute, &e) < 0)
            return http_fail(r, &e);
    }
    if (nudge_staff_digest_get(r->n, r->key.clinic_id, &minute, &e) < 0)
        return http_fail(r, &e);
    char at[16];
    snprintf(at, sizeof at, "%02d:%02d", minute / 60, minute % 60);
    return http_ok(r, 200,
                   json_pack("{s:o}", "digest_at", minute < 0 ? json_null() : json_string(at)));
}

static json_t *hook_json(const nudge_hook *h, const char *tz)
{
    json_t *ev = json_array();
    char buf[sizeof h->events];
    snprintf(buf, sizeof buf, "%s", h->events);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(ev, json_string(t));
    json_t *o = json_pack("{s:I, s:s, s:o, s:b, s:o}", "id", (json_int_t)h->id, "url", h->url,
                          "events", ev, "active", h->active, "created_at",
                          staff_time(h->created_at, tz));
    if (h->secret[0])
        json_object_set_new(o, "secret", json_string(h->secret));
    return o;
}

static int hook_put(void *ctx, const nudge_hook *h)
{
    list_ctx *l = ctx;
    json_array_append_new(l->items, hook_json(h, l->tz));
    return 0;
}

int api_webhook_list(http_req *r)
{
    list_ctx l = {json_array(), r->clinic.timezone};
    nudge_err e = {0};
    if (nudge_hook_list(r->n, r->key.clinic_id, hook_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", l.items));
}

int api_webhook_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    /* events: a list of types, as the answer gives it, or one string. */
    json_t *ev = json_object_get(j, "events");
    if (json_is_array(ev)) {
        char joined[512] = "";
        size_t i;
        json_t *t;
        json_array_foreach(ev, i, t)
        {
            size_t l = strlen(joined);
            if (!json_is_string(t) || l + strlen(json_string_value(t)) + 2 >= sizeof joined) {
                json_decref(j);
                return http_problem(r, 422, "Invalid input",
                                    "events is a list of event types (at most 511 bytes)",
                                    "events");
            }
            snprintf(joined + l, sizeof joined - l, "%s%s", l ? "," : "", json_string_value(t));
        }
        json_object_set_new(j, "events", json_string(joined));
    }
    nudge_hook h = {0};
    int rc = body_decode(r, j, hook_in, sizeof hook_in / sizeof *hook_in, &h);
    json_decref(j);
    if (rc < 0)
        return 0;
    h.clinic_id = r->key.clinic_id;
    nudge_err e = {0};
    if (nudge_hook_add(r->n, &h, &e) < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/webhooks/%lld", (long long)h.id);
    rc = http_ok(r, 201, hook_json(&h, r->clinic.timezone));
    memset(h.secret, 0, sizeof h.secret);
    return rc;
}

int api_webhook_remove(http_req *r)
{
    return remove_answer(r, nudge_hook_remove);
}

static int delivery_put(void *ctx, const nudge_hook_delivery *d)
{
    list_ctx *l = ctx;
    json_t *tries = json_array();
    for (int i = 0; i < d->n_tries; i++)
        json_array_append_new(
            tries, json_pack("{s:i, s:o, s:o, s:s, s:o}", "attempt", d->tries[i].attempt, "at",
                             staff_time(d->tries[i].at, l->tz), "http_status",
                             d->tries[i].http_status ? json_integer(d->tries[i].http_status)
                                                     : json_null(),
                             "outcome", d->tries[i].outcome, "error",
                             staff_or_null(d->tries[i].error)));
    json_array_append_new(
        l->items,
        json_pack("{s:I, s:o, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "id", (json_int_t)d->id,
                  "event_id", d->event_id ? json_integer(d->event_id) : json_null(),
                  "event_type", d->event_type, "status", d->status, "attempts", d->attempts,
                  "max_attempts", d->max_attempts, "next_try",
                  staff_time(!strcmp(d->status, "pending") ? d->next_try : 0, l->tz),
                  "created_at", staff_time(d->created_at, l->tz), "last_error",
                  staff_or_null(d->last_error), "tries", tries));
    return 0;
}

int api_webhook_deliveries(http_req *r)
{
    int64_t id, after;
    int limit;
    if (http_param_id(r, 0, &id) < 0 || http_paging(r, &after, &limit) < 0)
        return 0;
    if (after)
        return http_problem(r, 400, "Bad request",
                            "deliveries are the newest ?limit=, without ?after=", "after");
    list_ctx l = {json_array(), r->clinic.timezone};
    nudge_err e = {0};
    if (nudge_hook_deliveries(r->n, r->key.clinic_id, id, limit, delivery_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", l.items));
}
