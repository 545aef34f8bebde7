/*
 * metrics.c: GET /metrics in the Prometheus text format. Request counts
 * are this process's (per route pattern and status, in memory: Prometheus
 * handles restarts); everything about messages is read from the store, so
 * every worker sharing it reports the same truth: queue depth by status
 * and channel, attempts by channel and outcome, and how late the oldest
 * due plan and due message are (scheduler and dispatcher lag). No label
 * ever carries a clinic, a patient or a message.
 */
#include <pthread.h>
#include <string.h>

#include "core.h"
#include "http/http.h"
#include "util.h"

#define MAX_ROUTES   64
#define STATUS_SLOTS 600

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
/* [route + 1][status]: route -1 (no route matched) is row 0. */
static unsigned long long metrics_requests[MAX_ROUTES + 1][STATUS_SLOTS];

void metrics_count(int route, int status)
{
    if (route < -1 || route >= MAX_ROUTES || status < 0 || status >= STATUS_SLOTS)
        return;
    pthread_mutex_lock(&metrics_lock);
    metrics_requests[route + 1][status]++;
    pthread_mutex_unlock(&metrics_lock);
}

static void metrics_requests_text(sbuf *b)
{
    sbuf_puts(b, "# HELP nudge_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE nudge_http_requests_total counter\n");
    pthread_mutex_lock(&metrics_lock);
    for (int r = 0; r <= MAX_ROUTES; r++) {
        const http_route *rt = r ? &http_routes[r - 1] : NULL;
        for (int s = 0; s < STATUS_SLOTS; s++)
            if (metrics_requests[r][s])
                sbuf_printf(
                    b, "nudge_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    rt ? rt->method : "", rt ? rt->pattern : "unmatched", s,
                    metrics_requests[r][s]);
    }
    pthread_mutex_unlock(&metrics_lock);
}

/* Rows of (label, label, count) from a query, as one metric family. */
static int metrics_family(nudge *n, sbuf *b, const char *name, const char *help, const char *l1,
                          const char *l2, const char *sql, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err, sql) < 0)
        return -1;
    sbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    int r;
    while ((r = store_next(st, err)) == 1)
        sbuf_printf(b, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", name, l1, store_text(st, 0), l2,
                    store_text(st, 1), (long long)store_int(st, 2));
    store_done(st);
    return r < 0 ? -1 : 0;
}

int api_metrics(http_req *r)
{
    if (!r->n)
        return http_problem(r, 503, "Unavailable", "the database cannot be opened", NULL);
    sbuf b = {0};
    nudge_err e = {0};
    int64_t now = nudge_now(r->n), lag = 0;
    metrics_requests_text(&b);
    if (metrics_family(r->n, &b, "nudge_queue_notifications",
                       "Notifications by status and channel.", "status", "channel",
                       "SELECT status, channel, COUNT(*) FROM notification_queue "
                       "GROUP BY status, channel ORDER BY 1, 2",
                       &e) < 0 ||
        metrics_family(r->n, &b, "nudge_delivery_attempts",
                       "Send attempts by channel and outcome (a counter kept in the store).",
                       "channel", "outcome",
                       "SELECT channel, outcome, COUNT(*) FROM delivery_attempts "
                       "GROUP BY channel, outcome ORDER BY 1, 2",
                       &e) < 0)
        goto fail;
    if (store_scalar(r->n->db, &lag, &e,
                     "SELECT COALESCE(? - MIN(due_at), 0) FROM reminders WHERE status = "
                     "'planned' AND due_at <= ?",
                     bind_int(now), bind_int(now)) < 0)
        goto fail;
    sbuf_printf(&b,
                "# HELP nudge_scheduler_lag_seconds Age of the oldest due plan not yet enqueued.\n"
                "# TYPE nudge_scheduler_lag_seconds gauge\nnudge_scheduler_lag_seconds %lld\n",
                (long long)lag);
    if (store_scalar(r->n->db, &lag, &e,
                     "SELECT COALESCE(? - MIN(due_at), 0) FROM notification_queue WHERE status = "
                     "'pending' AND due_at <= ?",
                     bind_int(now), bind_int(now)) < 0)
        goto fail;
    sbuf_printf(&b,
                "# HELP nudge_dispatch_lag_seconds Age of the oldest due message not yet sent.\n"
                "# TYPE nudge_dispatch_lag_seconds gauge\nnudge_dispatch_lag_seconds %lld\n",
                (long long)lag);
    r->status = 200;
    r->raw = sbuf_take(&b);
    r->raw_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
fail:
    sbuf_free(&b);
    return http_fail(r, &e);
}
