/*
 * queue.c: nudge's queue on issue 16's workloads, measured as
 * bench/peers/ measures BullMQ, pg-boss and graphile-worker, so
 * bench/compare.sh can print them side by side. Not a test.
 *
 *   build/bench/queue -w single|batch [-n N] [-c CALLERS] [-b BATCH] [-d DB]
 *
 * single: CALLERS threads, each with its own handle (a handle is one
 * connection and is not shared between threads), call nudge_enqueue one
 * job at a time until N jobs are in; each call's latency is timed with
 * CLOCK_MONOTONIC, and jobs/s is N over the wall time from the first call
 * to the last answer. The job is what the peers enqueue: an SMS for one
 * patient from one template. Durability is the store's: SQLite syncs each
 * commit unless the URL says ?synchronous=normal; PostgreSQL is the
 * server's synchronous_commit.
 *
 * batch: the same, each call nudge_enqueue_batch of BATCH jobs (default
 * 1000: the peers' batch size), one transaction each; latency is per call.
 *
 * On SQLite the handles of one file share a group committer (src/commit.c):
 * concurrent single adds join one commit.
 *
 * Setup (timed apart): a scratch SQLite file in /tmp (or -d URL), one
 * clinic, CALLERS patients, and each caller's handle (opened before the
 * clock starts, as the peers' clients connect before theirs; timed, the
 * 16 opens were 14 % of the batch workload's CPU, 40,000 jobs). Prints one JSON line like bench/peers/, with
 * the WAL fsyncs a job (common.h's bench_syncs: one over a group's size).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *g_db;
static int64_t g_clinic, *g_patients;
static int g_n, g_callers, g_batch = 1000;
static int g_is_batch;
static double *g_lat;
static int g_next;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what, const nudge_err *e)
{
    bench_die("queue", what, e);
}

static nudge *open_handle(void)
{
    return bench_open("queue", (nudge_config){.db = g_db}, NULL);
}

/* A caller: its patient, and its handle, opened before the clock starts
 * (the peers' clients connect before theirs too) and closed after it
 * stops; the callers begin together at the barrier. */
struct caller_arg {
    int64_t patient;
    nudge *n;
};
static pthread_barrier_t g_start;

static void *caller(void *arg)
{
    int64_t patient = ((struct caller_arg *)arg)->patient;
    nudge *n = ((struct caller_arg *)arg)->n;
    int step = g_is_batch ? g_batch : 1;
    nudge_send *s = calloc((size_t)step, sizeof *s);
    nudge_batch_result *out = calloc((size_t)step, sizeof *out);
    for (int k = 0; k < step; k++)
        s[k] = (nudge_send){.patient_id = patient, .template_name = "prescription_ready",
                            .channel = "sms", .priority = NUDGE_NORMAL};
    pthread_barrier_wait(&g_start);
    for (;;) {
        pthread_mutex_lock(&g_mu);
        int i = g_next;
        g_next += step;
        pthread_mutex_unlock(&g_mu);
        if (i >= g_n)
            break;
        int count = g_n - i < step ? g_n - i : step;
        int64_t id;
        nudge_err e = {0};
        double a = bench_ms();
        if (g_is_batch ? nudge_enqueue_batch(n, g_clinic, s, (size_t)count, out, &e) < 0
                       : nudge_enqueue(n, g_clinic, &s[0], &id, NULL, &e) < 0)
            die("enqueue", &e);
        g_lat[i / step] = bench_ms() - a;
    }
    free(s);
    free(out);
    return NULL;
}

static void bench_report(const char *work, double sec, long syncs, int calls)
{
    char spj[32];
    bench_syncs(spj, sizeof spj, g_db, syncs, g_n);
    printf("{\"peer\":\"nudge\",\"durability\":\"%s\",\"workload\":\"%s\",\"jobs\":%d,"
           "\"seconds\":%.3f,\"jobs_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
           "\"syncs_per_job\":%s}\n",
           bench_durability(g_db), work, g_n, sec, g_n / sec, bench_pct(g_lat, calls, 50),
           bench_pct(g_lat, calls, 99), spj);
}

/* async: one thread and one handle keep CALLERS enqueues outstanding
 * (nudge_enqueue_submit), as a Node client keeps its promises: each job's
 * latency runs from its submission to its answer (nudge_enqueue_reap,
 * given once its row is durable). */
static void async_run(nudge *n)
{
    double *t_sub = calloc((size_t)g_n, sizeof *t_sub);
    nudge_enqueued out[64];
    int submitted = 0, done = 0;
    while (done < g_n) {
        for (; submitted < g_n && submitted - done < g_callers; submitted++) {
            nudge_send s = {.patient_id = g_patients[submitted % g_callers],
                            .template_name = "prescription_ready", .channel = "sms",
                            .priority = NUDGE_NORMAL};
            nudge_err e = {0};
            t_sub[submitted] = bench_ms();
            if (nudge_enqueue_submit(n, g_clinic, &s, (uint64_t)submitted, &e) < 0)
                die("submit", &e);
        }
        size_t k = nudge_enqueue_reap(n, out, 64, 1);
        double now = bench_ms();
        for (size_t i = 0; i < k; i++) {
            if (out[i].rc < 0)
                die("enqueue", &out[i].err);
            g_lat[out[i].tag] = now - t_sub[out[i].tag];
        }
        done += (int)k;
    }
    free(t_sub);
}

int main(int argc, char **argv)
{
    const char *work = "single";
    char path[128] = "";
    g_n = 20000;
    g_callers = 16;
    int o;
    while ((o = getopt(argc, argv, "w:n:c:b:d:")) != -1) {
        switch (o) {
        case 'w': work = optarg; break;
        case 'n': g_n = atoi(optarg); break;
        case 'c': g_callers = atoi(optarg); break;
        case 'b': g_batch = atoi(optarg); break;
        case 'd': g_db = optarg; break;
        default:
            fprintf(stderr, "usage: queue -w single|batch|async [-n N] [-c CALLERS] [-b BATCH] "
                            "[-d DB]\n");
            return 2;
        }
    }
    g_is_batch = strcmp(work, "batch") == 0;
    int is_async = strcmp(work, "async") == 0;
    if ((!g_is_batch && !is_async && strcmp(work, "single") != 0) || g_n < 1 || g_callers < 1 ||
        g_batch < 1 || g_batch > NUDGE_BATCH_MAX) {
        fprintf(stderr, "queue: -w single, batch or async; -b 1 to %d\n",
                NUDGE_BATCH_MAX);
        return 2;
    }
    g_db = bench_db(g_db, path, sizeof path, "bench-queue");
    nudge *n = open_handle();
    nudge_err e = {0};
    if (nudge_migrate(n, NULL, &e) < 0)
        die("migrate", &e);
    g_patients = calloc((size_t)g_callers, sizeof *g_patients);
    if ((g_clinic = bench_clinic(n, g_callers, g_patients, &e)) < 0)
        die("clinic", &e);
    nudge_close(n);

    g_lat = calloc((size_t)g_n, sizeof *g_lat);
    if (is_async) {
        n = open_handle();
        double t0 = bench_ms();
        long syncs0 = sqlite_wal_syncs();
        async_run(n);
        double sec = (bench_ms() - t0) / 1e3;
        long syncs = sqlite_wal_syncs() - syncs0;
        nudge_close(n);
        bench_report(work, sec, syncs, g_n);
        goto out;
    }
    pthread_t *t = calloc((size_t)g_callers, sizeof *t);
    struct caller_arg *ca = calloc((size_t)g_callers, sizeof *ca);
    for (int i = 0; i < g_callers; i++)
        ca[i] = (struct caller_arg){g_patients[i], open_handle()};
    pthread_barrier_init(&g_start, NULL, (unsigned)g_callers + 1);
    for (int i = 0; i < g_callers; i++)
        pthread_create(&t[i], NULL, caller, &ca[i]);
    pthread_barrier_wait(&g_start);
    double t0 = bench_ms();
    long syncs0 = sqlite_wal_syncs();
    for (int i = 0; i < g_callers; i++)
        pthread_join(t[i], NULL);
    double sec = (bench_ms() - t0) / 1e3;
    long syncs = sqlite_wal_syncs() - syncs0;
    for (int i = 0; i < g_callers; i++)
        nudge_close(ca[i].n);
    pthread_barrier_destroy(&g_start);
    bench_report(work, sec, syncs, g_is_batch ? (g_n + g_batch - 1) / g_batch : g_n);
    free(t);
    free(ca);
out:
    if (g_db == path)
        bench_scratch_remove(path);
    free(g_lat);
    free(g_patients);
    return 0;
}
