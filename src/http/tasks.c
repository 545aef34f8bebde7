/*
 * http/tasks.c: /v1/tasks, the scheduler's tasks of the key's clinic: list,
 * create (a clinic's own task, such as its purge), show, runs (history)
 * and pause/resume/run. The installation's own tasks (clinic 0: backup,
 * scans of every clinic) belong to no clinic, so no API key sees them:
 * they are the operator's, through the CLI and the C API. Tasks are not a
 * record of the field tables (no codec walk): their JSON is written here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static json_t *tasks_time(int64_t t, const char *tz)
{
    if (!t)
        return json_null();
    char b[40];
    nudge_time_format(t, tz, b, sizeof b);
    return json_string(b);
}

static json_t *tasks_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *tasks_json(const nudge_task *t)
{
    json_t *args = t->args[0] ? json_loads(t->args, 0, NULL) : NULL;
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:i, s:i, s:i, "
                     "s:o, s:o, s:o, s:o, s:o}",
                     "id", (json_int_t)t->id, "name", t->name, "fn", t->fn, "kind", t->kind,
                     "schedule", t->schedule, "timezone", t->timezone, "args",
                     args ? args : json_null(), "status", t->status, "start_at",
                     tasks_time(t->start_at, t->timezone), "next_run",
                     tasks_time(t->next_run, t->timezone), "slot",
                     tasks_time(t->slot, t->timezone), "attempts", t->attempts, "max_retries",
                     t->max_retries, "backoff_seconds", t->backoff_seconds, "last_run_at",
                     tasks_time(t->last_run_at, t->timezone), "last_outcome",
                     tasks_or_null(t->last_outcome), "last_error", tasks_or_null(t->last_error),
                     "created_at", tasks_time(t->created_at, t->timezone), "updated_at",
                     tasks_time(t->updated_at, t->timezone));
}

static int tasks_put(void *ctx, const nudge_task *t)
{
    json_array_append_new(ctx, tasks_json(t));
    return 0;
}

int api_task_list(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_task_list(r->n, r->key.clinic_id, tasks_put, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}

static int tasks_answer(http_req *r, int status, int64_t id)
{
    nudge_task t;
    nudge_err e = {0};
    if (nudge_task_get(r->n, r->key.clinic_id, id, &t, &e) < 0)
        return http_fail(r, &e);
    if (status == 201)
        snprintf(r->location, sizeof r->location, "/v1/tasks/%lld", (long long)id);
    return http_ok(r, status, tasks_json(&t));
}

int api_task_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return tasks_answer(r, 200, id);
}

/* The body's members, each with its type and where it goes. */
static const struct {
    const char *name;
    int type; /* JSON_STRING, JSON_INTEGER or JSON_OBJECT */
    size_t offset, size;
    int required;
} tasks_in[] = {
    {"name", JSON_STRING, offsetof(nudge_task, name), sizeof((nudge_task *)0)->name, 1},
    {"fn", JSON_STRING, offsetof(nudge_task, fn), sizeof((nudge_task *)0)->fn, 1},
    {"kind", JSON_STRING, offsetof(nudge_task, kind), sizeof((nudge_task *)0)->kind, 1},
    {"schedule", JSON_STRING, offsetof(nudge_task, schedule), sizeof((nudge_task *)0)->schedule, 1},
    {"timezone", JSON_STRING, offsetof(nudge_task, timezone), sizeof((nudge_task *)0)->timezone, 0},
    {"args", JSON_OBJECT, offsetof(nudge_task, args), sizeof((nudge_task *)0)->args, 0},
    {"max_retries", JSON_INTEGER, offsetof(nudge_task, max_retries), 0, 0},
    {"backoff_seconds", JSON_INTEGER, offsetof(nudge_task, backoff_seconds), 0, 0},
};
#define TASKS_N_IN (sizeof tasks_in / sizeof *tasks_in)

static int tasks_decode(http_req *r, json_t *j, nudge_task *t)
{
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        size_t i = 0;
        while (i < TASKS_N_IN && strcmp(tasks_in[i].name, k))
            i++;
        char msg[160];
        if (i == TASKS_N_IN) {
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
        static const char *const tn[] = {[JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
                                          [JSON_OBJECT] = "an object"};
        if (json_typeof(v) != (json_type)tasks_in[i].type) {
            snprintf(msg, sizeof msg, "%s must be %s", k, tn[tasks_in[i].type]);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
        char *dst = (char *)t + tasks_in[i].offset;
        if (tasks_in[i].type == JSON_INTEGER) {
            json_int_t x = json_integer_value(v);
            if (x < 0 || x > 86400) {
                snprintf(msg, sizeof msg, "%s is 0 to 86400", k);
                return http_problem(r, 422, "Invalid input", msg, k), -1;
            }
            *(int *)dst = (int)x;
            continue;
        }
        char *text = tasks_in[i].type == JSON_OBJECT ? json_dumps(v, JSON_COMPACT) : NULL;
        const char *s = text ? text : json_string_value(v);
        int fits = strlen(s) < tasks_in[i].size;
        if (fits)
            memcpy(dst, s, strlen(s) + 1);
        free(text);
        if (!fits) {
            snprintf(msg, sizeof msg, "%s is at most %zu bytes", k, tasks_in[i].size - 1);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
    }
    for (size_t i = 0; i < TASKS_N_IN; i++)
        if (tasks_in[i].required && !json_object_get(j, tasks_in[i].name)) {
            char msg[64];
            snprintf(msg, sizeof msg, "%s is required", tasks_in[i].name);
            return http_problem(r, 422, "Invalid input", msg, tasks_in[i].name), -1;
        }
    return 0;
}

int api_task_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_task t = {.max_retries = -1};
    int rc = tasks_decode(r, j, &t);
    json_decref(j);
    if (rc < 0)
        return 0;
    t.clinic_id = r->key.clinic_id;
    nudge_err e = {0};
    if (nudge_task_add(r->n, &t, &e) < 0)
        return http_fail(r, &e);
    return tasks_answer(r, 201, t.id);
}

static int tasks_run_put(void *ctx, const nudge_task_run *x)
{
    json_t *a = ((json_t **)ctx)[0];
    const char *tz = json_string_value(((json_t **)ctx)[1]);
    json_array_append_new(
        a, json_pack("{s:I, s:o, s:i, s:o, s:o, s:I, s:s, s:o, s:b}", "id", (json_int_t)x->id,
                     "slot", tasks_time(x->slot, tz), "attempt", x->attempt, "started_at",
                     tasks_time(x->started_at, tz), "ended_at", tasks_time(x->ended_at, tz),
                     "duration_seconds", (json_int_t)x->duration, "outcome", x->outcome, "error",
                     tasks_or_null(x->error), "late", x->late));
    return 0;
}

int api_task_runs(http_req *r)
{
    int64_t id, after;
    int limit;
    if (http_param_id(r, 0, &id) < 0 || http_paging(r, &after, &limit) < 0)
        return 0;
    if (after)
        return http_problem(r, 400, "Bad request", "runs are the newest ?limit=, without ?after=",
                            "after");
    nudge_task t;
    nudge_err e = {0};
    if (nudge_task_get(r->n, r->key.clinic_id, id, &t, &e) < 0)
        return http_fail(r, &e);
    json_t *ctx[2] = {json_array(), json_string(t.timezone)};
    int rc = nudge_task_runs(r->n, r->key.clinic_id, id, limit, tasks_run_put, ctx, &e);
    json_decref(ctx[1]);
    if (rc < 0) {
        json_decref(ctx[0]);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", ctx[0]));
}

int api_task_action(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    static const struct {
        const char *name;
        int (*fn)(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
    } acts[] = {{"pause", nudge_task_pause}, {"resume", nudge_task_resume},
                {"run", nudge_task_run_now}};
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
        if (strcmp(r->params[1], acts[i].name))
            continue;
        nudge_err e = {0};
        if (acts[i].fn(r->n, r->key.clinic_id, id, &e) < 0)
            return http_fail(r, &e);
        return tasks_answer(r, 200, id);
    }
    return http_problem(r, 404, "Not found", "no such action", NULL);
}
