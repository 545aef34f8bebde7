/*
 * http/workflows.c: /v1/workflows (the key's clinic's workflows: the list
 * in force, one definition as JSON, a new version put), /v1/workflow-runs
 * (the history, and one run with each step's result) and /v1/stats (the
 * clinic's statistics over a range). Definitions are JSON data the library
 * validates (errors name the path: "steps[2].template"); their JSON and the
 * runs' are written here, as tasks.c does, since they are not records of
 * the field tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static json_t *wfh_time(int64_t t, const char *tz)
{
    if (!t)
        return json_null();
    char b[40];
    nudge_time_format(t, tz, b, sizeof b);
    return json_string(b);
}

/* The clinic's zone, for the times of answers and queries. */
static int wfh_zone(http_req *r, char *tz, size_t n)
{
    nudge_clinic c;
    nudge_err e = {0};
    if (nudge_clinic_get(r->n, r->key.clinic_id, &c, &e) < 0)
        return http_fail(r, &e), -1;
    snprintf(tz, n, "%s", c.timezone);
    return 0;
}

static int wfh_list_put(void *ctx, const nudge_workflow_info *w)
{
    json_t *on = json_array();
    char buf[sizeof w->on];
    snprintf(buf, sizeof buf, "%s", w->on);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
        json_array_append_new(on, json_string(s));
    json_array_append_new(ctx, json_pack("{s:s, s:I, s:b, s:b, s:o, s:i, s:s}", "name", w->name,
                                         "version", (json_int_t)w->version, "builtin",
                                         w->version == 0, "enabled", w->enabled, "on", on, "steps",
                                         w->steps, "description", w->description));
    return 0;
}

int api_workflow_list(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_workflow_list(r->n, r->key.clinic_id, wfh_list_put, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}

static int wfh_answer(http_req *r, const char *name, int64_t version)
{
    char *text = NULL;
    nudge_err e = {0};
    if (nudge_workflow_get(r->n, r->key.clinic_id, name, version, &text, &e) < 0)
        return http_fail(r, &e);
    json_t *j = json_loads(text, JSON_PRESERVE_ORDER, NULL);
    free(text);
    if (!j)
        return http_problem(r, 500, "Internal error", "a stored definition does not parse", NULL);
    return http_ok(r, 200, j);
}

int api_workflow_get(http_req *r)
{
    const char *v = http_query(r, "version");
    int64_t version = -1;
    if (v) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || x < 0)
            return http_problem(r, 400, "Bad request",
                                "version is a whole number (0: the built-in)", "version");
        version = x;
    }
    return wfh_answer(r, r->params[0], version);
}

int api_workflow_put(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    /* The path names it; the body may repeat it, but not differently. */
    json_t *name = json_object_get(j, "name");
    if (name && (!json_is_string(name) || strcmp(json_string_value(name), r->params[0]))) {
        json_decref(j);
        return http_problem(r, 422, "Invalid input", "name differs from the path's", "name");
    }
    json_object_set_new(j, "name", json_string(r->params[0]));
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!text)
        return http_problem(r, 500, "Internal error", "out of memory", NULL);
    nudge_err e = {0};
    int64_t version = 0;
    int rc = nudge_workflow_put(r->n, r->key.clinic_id, text, strlen(text), &version, &e);
    free(text);
    if (rc < 0)
        return http_fail(r, &e);
    return wfh_answer(r, r->params[0], version);
}

static json_t *wfh_run_json(const nudge_workflow_run *x, const char *tz)
{
    json_t *steps = x->steps ? json_loads(x->steps, 0, NULL) : NULL;
    return json_pack("{s:I, s:s, s:I, s:s, s:I, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)x->id, "workflow", x->workflow, "version", (json_int_t)x->version,
                     "event_type", x->event_type, "event_id", (json_int_t)x->event_id, "subject_id",
                     x->subject_id ? json_integer(x->subject_id) : json_null(), "status", x->status,
                     "next_step", x->next_step, "started_at", wfh_time(x->started_at, tz),
                     "finished_at", wfh_time(x->finished_at, tz), "duration_seconds",
                     x->finished_at ? json_integer(x->duration_s) : json_null(), "resume_at",
                     strcmp(x->status, "waiting") ? json_null() : wfh_time(x->resume_at, tz),
                     "steps", steps ? steps : json_array());
}

typedef struct wfh_runs {
    json_t *items;
    const char *tz;
    int64_t last;
} wfh_runs;

static int wfh_run_put(void *ctx, const nudge_workflow_run *x)
{
    wfh_runs *w = ctx;
    json_array_append_new(w->items, wfh_run_json(x, w->tz));
    w->last = x->id;
    return 0;
}

/* A time query parameter in the clinic's zone (0 when absent). */
static int wfh_time_query(http_req *r, const char *name, const char *tz, int64_t *out)
{
    const char *s = http_query(r, name);
    *out = 0;
    if (!s)
        return 0;
    nudge_err e = {0};
    if (nudge_time_parse(s, tz, out, name, &e) < 0)
        return http_problem(r, 400, "Bad request", e.msg, name), -1;
    return 0;
}

int api_workflow_runs(http_req *r)
{
    char tz[64];
    int64_t from, to, before = 0, ignored;
    int limit;
    if (wfh_zone(r, tz, sizeof tz) < 0 || wfh_time_query(r, "from", tz, &from) < 0 ||
        wfh_time_query(r, "to", tz, &to) < 0 || http_paging(r, &ignored, &limit) < 0 ||
        http_query_id(r, "before", &before) < 0)
        return 0;
    wfh_runs w = {json_array(), tz, 0};
    nudge_err e = {0};
    /* one more than asked: whether another page follows */
    int rc = nudge_workflow_history(r->n, r->key.clinic_id, http_query(r, "workflow"), from, to,
                                    before, limit + 1, wfh_run_put, &w, &e);
    if (rc < 0) {
        json_decref(w.items);
        return http_fail(r, &e);
    }
    json_t *next = json_null();
    if ((int)json_array_size(w.items) > limit) {
        json_array_remove(w.items, (size_t)limit);
        next = json_integer(
            json_integer_value(json_object_get(json_array_get(w.items, (size_t)limit - 1), "id")));
    }
    return http_ok(r, 200, json_pack("{s:o, s:o}", "data", w.items, "next_before", next));
}

int api_workflow_run_get(http_req *r)
{
    int64_t id;
    char tz[64];
    if (http_param_id(r, 0, &id) < 0 || wfh_zone(r, tz, sizeof tz) < 0)
        return 0;
    nudge_workflow_run x;
    nudge_err e = {0};
    if (nudge_workflow_run_get(r->n, r->key.clinic_id, id, &x, &e) < 0)
        return http_fail(r, &e);
    json_t *j = wfh_run_json(&x, tz);
    free(x.steps);
    return http_ok(r, 200, j);
}

/* /v1/stats's replies (issue 12's reply rate): the messages sent and the
 * patients' replies in the range, in all and per clinic day. NULL: the
 * problem is answered. */
static json_t *wfh_replies(http_req *r, int64_t from, int64_t to)
{
    nudge_reply_stats s;
    nudge_err e = {0};
    if (nudge_reply_stats_get(r->n, r->key.clinic_id, from, to, &s, &e) < 0) {
        http_fail(r, &e);
        return NULL;
    }
    json_t *days = json_array();
    for (int i = 0; i < s.n_days; i++)
        json_array_append_new(days, json_pack("{s:s, s:I, s:I, s:f}", "date", s.days[i].date,
                                              "sent", (json_int_t)s.days[i].sent, "replies",
                                              (json_int_t)s.days[i].replies, "reply_rate",
                                              s.days[i].reply_rate));
    json_t *j = json_pack("{s:I, s:I, s:f, s:o}", "sent", (json_int_t)s.sent, "replies",
                          (json_int_t)s.replies, "reply_rate", s.reply_rate, "days", days);
    nudge_reply_stats_free(&s);
    return j;
}

int api_stats(http_req *r)
{
    char tz[64];
    int64_t from, to;
    if (wfh_zone(r, tz, sizeof tz) < 0 || wfh_time_query(r, "from", tz, &from) < 0 ||
        wfh_time_query(r, "to", tz, &to) < 0)
        return 0;
    nudge_stats s;
    nudge_err e = {0};
    if (nudge_statistics(r->n, r->key.clinic_id, from, to, &s, &e) < 0)
        return http_fail(r, &e);
    json_t *msgs = json_array();
    for (int i = 0; i < s.n_messages; i++)
        json_array_append_new(msgs, json_pack("{s:s, s:s, s:I}", "channel", s.messages[i].channel,
                                              "status", s.messages[i].status, "count",
                                              (json_int_t)s.messages[i].count));
    json_t *replies = wfh_replies(r, from, to);
    if (!replies)
        return 0;
    json_t *j =
        json_pack("{s:o, s:o, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, "
                  "s:f, s:f, s:o}",
                  "from", wfh_time(from, tz), "to", wfh_time(to, tz), "patients",
                  (json_int_t)s.patients, "appointments", (json_int_t)s.appointments, "workflows",
                  "executed", (json_int_t)s.workflows_executed, "succeeded",
                  (json_int_t)s.workflows_succeeded, "partly_failed",
                  (json_int_t)s.workflows_partly_failed, "failed", (json_int_t)s.workflows_failed,
                  "unfinished", (json_int_t)s.workflows_unfinished, "visits", "booked",
                  (json_int_t)s.booked, "confirmed", (json_int_t)s.confirmed, "completed",
                  (json_int_t)s.completed, "no_shows", (json_int_t)s.no_shows, "confirmation_rate",
                  s.confirmation_rate, "no_show_rate", s.no_show_rate, "messages", msgs);
    json_object_set_new(j, "replies", replies);
    return http_ok(r, 200, j);
}
