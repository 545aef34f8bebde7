/*
 * metrics.c: GET /metrics in the Prometheus text format. Request counts
 * are this process's (per route pattern and status, in memory: Prometheus
 * handles restarts); everything about messages is read from the store, so
 * every worker sharing it reports the same truth: queue depth by status
 * and channel, attempts by channel and outcome, and how late the oldest
 * due plan and due message are (scheduler and dispatcher lag). No label
 * ever carries a clinic, a patient or a message.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nudge.h"
#include "http/http.h"

/* Room for every route of routes.c (107 now; 64 left the later ones,
 * /v1/tickets on, uncounted). Untouched rows cost no memory. */
#define MAX_ROUTES   256
#define STATUS_SLOTS 600

/* [route + 1][status]: route -1 (no route matched) is row 0. Counted
 * without a lock: one lock for every request of every thread was a
 * queue of its own. */
static _Atomic unsigned long long metrics_requests[MAX_ROUTES + 1][STATUS_SLOTS];

void metrics_count(int route, int status)
{
    if (route < -1 || route >= MAX_ROUTES || status < 0 || status >= STATUS_SLOTS)
        return;
    atomic_fetch_add_explicit(&metrics_requests[route + 1][status], 1, memory_order_relaxed);
}

static void metrics_requests_text(FILE *b)
{
    fputs("# HELP nudge_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE nudge_http_requests_total counter\n",
          b);
    for (int r = 0; r <= MAX_ROUTES && (!r || http_routes[r - 1].method); r++) {
        const http_route *rt = r ? &http_routes[r - 1] : NULL;
        for (int s = 0; s < STATUS_SLOTS; s++) {
            unsigned long long n = atomic_load_explicit(&metrics_requests[r][s],
                                                        memory_order_relaxed);
            if (n)
                fprintf(b,
                        "nudge_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
                        "%llu\n",
                        rt ? rt->method : "", rt ? rt->pattern : "unmatched", s, n);
        }
    }
}

/* Counts under two labels, as one metric family. */
static void metrics_family(FILE *b, const char *name, const char *help, const char *l1,
                           const char *l2, const nudge_count *c, size_t nc)
{
    fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < nc; i++)
        fprintf(b, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", name, l1, c[i].a, l2, c[i].b,
                    (long long)c[i].count);
}

int api_metrics(http_req *r)
{
    if (!r->n)
        return http_problem(r, 503, "Unavailable", "the database cannot be opened", NULL);
    nudge_err e = {0};
    nudge_queue_stats q;
    if (nudge_queue_metrics(r->n, &q, &e) < 0)
        return http_fail(r, &e);
    char *text = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&text, &len);
    if (!b) {
        nudge_queue_stats_free(&q);
        return http_problem(r, 503, "Unavailable", "out of memory", NULL);
    }
    metrics_requests_text(b);
    metrics_family(b, "nudge_queue_notifications", "Notifications by status and channel.",
                   "status", "channel", q.by_status, q.n_by_status);
    metrics_family(b, "nudge_delivery_attempts",
                   "Send attempts by channel and outcome (a counter kept in the store).",
                   "channel", "outcome", q.attempts, q.n_attempts);
    fprintf(b,
            "# HELP nudge_scheduler_lag_seconds Age of the oldest due plan not yet enqueued.\n"
            "# TYPE nudge_scheduler_lag_seconds gauge\nnudge_scheduler_lag_seconds %lld\n",
            (long long)q.plan_lag);
    fprintf(b,
            "# HELP nudge_dispatch_lag_seconds Age of the oldest due message not yet sent.\n"
            "# TYPE nudge_dispatch_lag_seconds gauge\nnudge_dispatch_lag_seconds %lld\n",
            (long long)q.dispatch_lag);
    nudge_queue_stats_free(&q);
    fclose(b);
    r->status = 200;
    r->raw = text;
    r->raw_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}
