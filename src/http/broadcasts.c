/*
 * http/broadcasts.c: /v1/segments (list, save, preview, one with its
 * count refreshed) and /v1/broadcasts (list, create a notice, tip or
 * campaign, show, stats, cancel/pause/resume), all of the key's clinic.
 * A broadcast's body goes to the library as it came
 * (nudge_broadcast_create_json), which names the member it refuses, as
 * the CLI's options do; the answers are the library's JSON
 * (nudge_broadcast_json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static json_t *bcast_segment_json(const nudge_segment *s)
{
    json_t *crit = json_loads(s->criteria, 0, NULL);
    char at[40] = "";
    if (s->evaluated_at)
        nudge_time_format(s->evaluated_at, "UTC", at, sizeof at);
    return json_pack("{s:I, s:s, s:o, s:I, s:o}", "id", (json_int_t)s->id, "name", s->name,
                     "criteria", crit ? crit : json_object(), "patient_count",
                     (json_int_t)s->patient_count, "evaluated_at",
                     at[0] ? json_string(at) : json_null());
}

static int bcast_segment_put(void *ctx, const nudge_segment *s)
{
    json_array_append_new(ctx, bcast_segment_json(s));
    return 0;
}

int api_segment_list(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_segment_list(r->n, r->key.clinic_id, bcast_segment_put, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}

/* A body's criteria, as text for the library; NULL with the problem set. */
static char *bcast_criteria(http_req *r, json_t *j, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, k);
        if (!ok) {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            http_problem(r, 422, "Invalid input", msg, k);
            return NULL;
        }
    }
    json_t *c = json_object_get(j, "criteria");
    if (!json_is_object(c)) {
        http_problem(r, 422, "Invalid input", "criteria is a JSON object", "criteria");
        return NULL;
    }
    return json_dumps(c, JSON_COMPACT);
}

static int bcast_segment_answer(http_req *r, int status, int64_t id)
{
    nudge_segment s;
    int64_t count, sample[20];
    int got;
    nudge_err e = {0};
    if (nudge_segment_evaluate(r->n, r->key.clinic_id, id, &count, sample, 20, &got, &e) < 0 ||
        nudge_segment_get(r->n, r->key.clinic_id, id, &s, &e) < 0)
        return http_fail(r, &e);
    json_t *j = bcast_segment_json(&s), *ids = json_array();
    nudge_segment_free(&s);
    for (int i = 0; i < got; i++)
        json_array_append_new(ids, json_integer(sample[i]));
    json_object_set_new(j, "sample", ids);
    if (status == 201)
        snprintf(r->location, sizeof r->location, "/v1/segments/%lld", (long long)id);
    return http_ok(r, status, j);
}

int api_segment_create(http_req *r)
{
    static const char *const allowed[] = {"name", "criteria", NULL};
    json_t *j = http_body(r);
    if (!j)
        return 0;
    char *crit = bcast_criteria(r, j, allowed);
    const char *name = json_string_value(json_object_get(j, "name"));
    int64_t id;
    nudge_err e = {0};
    int rc = !crit ? -2 : !name ? -3 : nudge_segment_save(r->n, r->key.clinic_id, name, crit, &id, &e);
    free(crit);
    json_decref(j);
    if (rc == -2)
        return 0;
    if (rc == -3)
        return http_problem(r, 422, "Invalid input", "name is required (a text)", "name");
    if (rc < 0)
        return http_fail_body(r, &e);
    return bcast_segment_answer(r, 201, id);
}

int api_segment_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return bcast_segment_answer(r, 200, id);
}

int api_segment_preview(http_req *r)
{
    static const char *const allowed[] = {"criteria", NULL};
    json_t *j = http_body(r);
    if (!j)
        return 0;
    char *crit = bcast_criteria(r, j, allowed);
    json_decref(j);
    if (!crit)
        return 0;
    int64_t count, sample[20];
    int got;
    nudge_err e = {0};
    int rc = nudge_segment_preview(r->n, r->key.clinic_id, crit, &count, sample, 20, &got, &e);
    free(crit);
    if (rc < 0)
        return http_fail_body(r, &e);
    json_t *ids = json_array();
    for (int i = 0; i < got; i++)
        json_array_append_new(ids, json_integer(sample[i]));
    return http_ok(r, 200, json_pack("{s:I, s:o}", "count", (json_int_t)count, "sample", ids));
}

static int bcast_answer(http_req *r, int status, int64_t id, int stats)
{
    char *text;
    nudge_err e = {0};
    if (nudge_broadcast_json(r->n, r->key.clinic_id, id, stats, &text, &e) < 0)
        return http_fail(r, &e);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    if (status == 201)
        snprintf(r->location, sizeof r->location, "/v1/broadcasts/%lld", (long long)id);
    return http_ok(r, status, j);
}

static int bcast_put(void *ctx, const nudge_broadcast *b)
{
    char at[40] = "";
    nudge_time_format(b->scheduled_at, "UTC", at, sizeof at);
    json_array_append_new(
        ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t)b->id,
                       "kind", b->kind, "name", b->name, "status", b->status, "scheduled_time", at,
                       "total", (json_int_t)b->total, "queued", (json_int_t)b->queued, "skipped",
                       (json_int_t)b->skipped));
    return 0;
}

int api_broadcast_list(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_broadcast_list(r->n, r->key.clinic_id, bcast_put, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}

/* {"kind": "notice" | "tip" | "campaign", ...the rest as the library
 * reads it}. */
int api_broadcast_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    char k[16];
    if (!kind || strlen(kind) >= sizeof k) {
        json_decref(j);
        return http_problem(r, 422, "Invalid input", "kind is notice, tip or campaign", "kind");
    }
    snprintf(k, sizeof k, "%s", kind);
    json_object_del(j, "kind");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int64_t id;
    nudge_err e = {0};
    int rc = nudge_broadcast_create_json(r->n, r->key.clinic_id, k, text, strlen(text), &id, &e);
    free(text);
    if (rc < 0)
        return http_fail_body(r, &e);
    return bcast_answer(r, 201, id, 0);
}

int api_broadcast_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return bcast_answer(r, 200, id, 0);
}

int api_broadcast_stats(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return bcast_answer(r, 200, id, 1);
}

int api_broadcast_action(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    static const struct {
        const char *name;
        int (*fn)(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
    } acts[] = {{"cancel", nudge_broadcast_cancel},
                {"pause", nudge_broadcast_pause},
                {"resume", nudge_broadcast_resume}};
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
        if (strcmp(r->params[1], acts[i].name))
            continue;
        nudge_err e = {0};
        if (acts[i].fn(r->n, r->key.clinic_id, id, &e) < 0)
            return http_fail(r, &e);
        return bcast_answer(r, 200, id, 0);
    }
    return http_problem(r, 404, "Not found", "no such action", NULL);
}
