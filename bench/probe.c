/*
 * probe.c: optional instrumentation for bench/throughput, to see where the
 * dispatcher's time goes without touching src/. Linked with the linker's
 * --wrap, it times every queue_claim and queue_record call and tracks how
 * many transfers are on the multi handle (curl_multi_add_handle /
 * curl_multi_remove_handle, as called from src/dispatch.c), then prints one
 * line at exit. Built by hand (bench/README.md, "Findings"):
 *
 *   cc -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc \
 *      $(pkg-config --cflags sqlite3 libcurl jansson) \
 *      -o build/bench/throughput-probe bench/throughput.c bench/probe.c build/libnudge.a \
 *      $(pkg-config --libs sqlite3 libcurl jansson libical libcrypto libmicrohttpd) -lm \
 *      -Wl,--wrap=queue_claim,--wrap=queue_record \
 *      -Wl,--wrap=curl_multi_add_handle,--wrap=curl_multi_remove_handle
 */
#include <stdio.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"

static double probe_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct {
    double claim_s, claim_max_s, record_s;
    long claims, claimed, records;
    /* transfers on the multi handle, integrated over time */
    int started;
    long in_flight;
    double first, last, weighted, idle_s;
} pr;

static void probe_flight(int delta)
{
    double t = probe_now();
    if (!pr.started) {
        pr.started = 1;
        pr.first = pr.last = t;
    }
    pr.weighted += (double)pr.in_flight * (t - pr.last);
    if (pr.in_flight == 0)
        pr.idle_s += t - pr.last;
    pr.last = t;
    pr.in_flight += delta;
}

int __real_queue_claim(nudge *n, int64_t *ids, int max, nudge_err *err);
int __wrap_queue_claim(nudge *n, int64_t *ids, int max, nudge_err *err);
int __wrap_queue_claim(nudge *n, int64_t *ids, int max, nudge_err *err)
{
    double t = probe_now();
    int got = __real_queue_claim(n, ids, max, err);
    t = probe_now() - t;
    pr.claim_s += t;
    if (t > pr.claim_max_s)
        pr.claim_max_s = t;
    pr.claims++;
    if (got > 0)
        pr.claimed += got;
    return got;
}

int __real_queue_record(nudge *n, const nudge_notification *m, const char *transport,
                        const channel_outcome *o, int *retried, nudge_err *err);
int __wrap_queue_record(nudge *n, const nudge_notification *m, const char *transport,
                        const channel_outcome *o, int *retried, nudge_err *err);
int __wrap_queue_record(nudge *n, const nudge_notification *m, const char *transport,
                        const channel_outcome *o, int *retried, nudge_err *err)
{
    double t = probe_now();
    int rc = __real_queue_record(n, m, transport, o, retried, err);
    pr.record_s += probe_now() - t;
    pr.records++;
    return rc;
}

CURLMcode __real_curl_multi_add_handle(CURLM *m, CURL *c);
CURLMcode __wrap_curl_multi_add_handle(CURLM *m, CURL *c);
CURLMcode __wrap_curl_multi_add_handle(CURLM *m, CURL *c)
{
    probe_flight(+1);
    return __real_curl_multi_add_handle(m, c);
}

CURLMcode __real_curl_multi_remove_handle(CURLM *m, CURL *c);
CURLMcode __wrap_curl_multi_remove_handle(CURLM *m, CURL *c);
CURLMcode __wrap_curl_multi_remove_handle(CURLM *m, CURL *c)
{
    probe_flight(-1);
    return __real_curl_multi_remove_handle(m, c);
}

__attribute__((destructor)) static void probe_report(void)
{
    if (!pr.started || pr.claims == 0 || pr.records == 0)
        return;
    double span = pr.last - pr.first;
    fprintf(stderr,
            "probe: %.2f s from the first transfer to the last; queue_claim %ld calls (%ld rows): "
            "%.2f s, %.1f ms avg, %.1f ms max; queue_record %ld calls: %.2f s, %.0f us avg; "
            "transfers in flight %.1f on average, none for %.2f s (%.0f%%)\n",
            span, pr.claims, pr.claimed, pr.claim_s, 1e3 * pr.claim_s / (double)pr.claims,
            1e3 * pr.claim_max_s, pr.records, pr.record_s,
            1e6 * pr.record_s / (double)pr.records, span > 0 ? pr.weighted / span : 0,
            pr.idle_s, span > 0 ? 100 * pr.idle_s / span : 0);
}
