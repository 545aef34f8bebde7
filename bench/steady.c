/*
 * steady.c: issue 16's latency at a steady rate: "at a steady 2,000/s,
 * enqueue to send start p99 <= 5 ms". One process, as `nudge serve` is:
 * PRODUCERS threads (default 8, as an API's clients would be; one
 * thread could enqueue no faster than one fsync after another) enqueue
 * job k at t0 + k / RATE through the library (each its own handle, the
 * group committer's path), and a dispatcher
 * thread on a second handle of the same file ticks and waits (nudge_wait)
 * between ticks, as a worker's loop does. The channel is a no-op C API
 * channel (nudge_channel_register) that notes when each send starts.
 * Per job: from just before its nudge_enqueue call to its send's start,
 * both CLOCK_MONOTONIC; beside it, the enqueue's own answer (ack_p50_ms,
 * ack_p99_ms: the durable write the send cannot start before) and the
 * WAL fsyncs a job (syncs_per_job, the enqueuers' and the dispatcher's).
 * Not a test.
 *
 *   build/bench/steady [-n N] [-r RATE] [-p PRODUCERS] [-d DB]
 *
 * Setup (timed apart): a scratch SQLite file in /tmp (or -d URL, an empty
 * database), the benchmarks' clinic (bench/common.h), 100 patients.
 * Checks: every job was sent once. Prints one JSON line like burn.c's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

struct stamp {
    int64_t id;
    double ms, ack; /* a job: its enqueue's call and answer; a send: its start (twice) */
};

static struct stamp *g_sent;
static atomic_int g_nsent, g_over;
static int g_n;
static volatile int g_stop;

static void die(const char *what, const nudge_err *e)
{
    bench_die("steady", what, e);
}

static int noop_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    (void)ctx;
    double t = bench_ms();
    int k = atomic_fetch_add(&g_nsent, 1);
    if (k < g_n)
        g_sent[k] = (struct stamp){m->id, t, t};
    else
        atomic_fetch_add(&g_over, 1);
    out->result = NUDGE_SENT;
    return 0;
}

static const nudge_channel_ops noop_ops = {.send = noop_send};

/* The worker's loop (cli/run.c's): a tick, then a wait that ends when
 * work is enqueued, or after a second. */
static void *dispatcher(void *arg)
{
    nudge *n = arg;
    nudge_err e = {0};
    while (!g_stop) {
        nudge_tick_stats st;
        if (nudge_tick(n, &st, &e) < 0)
            die("tick", &e);
        if (!g_stop && nudge_wait(n, 1000, &e) < 0)
            die("wait", &e);
    }
    return NULL;
}

/* Producer j enqueues jobs j, j + P, j + 2P, ... each at its time. */
struct producer {
    nudge *n;
    int j, p, rate;
    int64_t clinic;
    const int64_t *pid;
    struct timespec t0;
    double start, late;
    struct stamp *enq;
};

static void *produce(void *arg)
{
    struct producer *w = arg;
    nudge_err e = {0};
    for (int k = w->j; k < g_n; k += w->p) {
        long long at = (long long)w->t0.tv_nsec + (long long)k * 1000000000LL / w->rate;
        struct timespec due = {w->t0.tv_sec + (time_t)(at / 1000000000LL),
                               (long)(at % 1000000000LL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
            ;
        nudge_send s = {.patient_id = w->pid[k % BENCH_PATIENTS],
                        .template_name = "prescription_ready", .channel = "sms",
                        .priority = NUDGE_NORMAL};
        double a = bench_ms();
        double behind = a - w->start - (double)k * 1e3 / w->rate;
        if (behind > w->late)
            w->late = behind;
        if (nudge_enqueue(w->n, w->clinic, &s, &w->enq[k].id, NULL, &e) < 0)
            die("enqueue", &e);
        w->enq[k].ms = a;
        w->enq[k].ack = bench_ms();
    }
    return NULL;
}

static int stamp_cmp(const void *a, const void *b)
{
    const struct stamp *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int main(int argc, char **argv)
{
    static const char usage[] = "[-n N] [-r RATE] [-p PRODUCERS] [-d DB]";
    int rate = 2000, np = 8, opt;
    const char *db = NULL;
    g_n = 10000;
    while ((opt = getopt(argc, argv, "n:r:p:d:")) != -1) {
        switch (opt) {
        case 'n': g_n = atoi(optarg); break;
        case 'r': rate = atoi(optarg); break;
        case 'p': np = atoi(optarg); break;
        case 'd': db = optarg; break;
        default: bench_usage("steady", usage);
        }
    }
    if (g_n < 1 || rate < 1 || np < 1 || np > 64)
        bench_usage("steady", usage);

    double t_setup = bench_ms();
    bench_env env;
    bench_setup(&env, "steady", db, (nudge_config){0}, &noop_ops);
    nudge *worker = bench_handle(&env);
    g_sent = calloc((size_t)g_n, sizeof *g_sent);
    struct stamp *enq = calloc((size_t)g_n, sizeof *enq);
    double *lat = calloc((size_t)g_n, sizeof *lat), *ack = calloc((size_t)g_n, sizeof *ack);
    if (!g_sent || !enq || !lat || !ack)
        die("memory", NULL);
    struct producer *pr = calloc((size_t)np, sizeof *pr);
    pthread_t t, *pt = calloc((size_t)np, sizeof *pt);
    if (!pr || !pt)
        die("memory", NULL);
    for (int j = 0; j < np; j++)
        pr[j] = (struct producer){.n = j ? bench_handle(&env) : env.n, .j = j, .p = np,
                                  .rate = rate, .clinic = env.clinic, .pid = env.patients,
                                  .enq = enq};
    pthread_create(&t, NULL, dispatcher, worker);
    double setup_s = (bench_ms() - t_setup) / 1e3;

    /* ---- measured: N jobs, the k-th enqueued at t0 + k / RATE ---- */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double start = bench_ms(), late = 0;
    long syncs0 = sqlite_wal_syncs();
    for (int j = 0; j < np; j++) {
        pr[j].t0 = t0, pr[j].start = start;
        pthread_create(&pt[j], NULL, produce, &pr[j]);
    }
    for (int j = 0; j < np; j++) {
        pthread_join(pt[j], NULL);
        if (pr[j].late > late)
            late = pr[j].late;
    }
    double enq_s = (bench_ms() - start) / 1e3;
    /* The last sends: the dispatcher was woken for each; a minute at most. */
    for (int w = 0; atomic_load(&g_nsent) < g_n && w < 60000; w++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    long syncs = sqlite_wal_syncs() - syncs0;
    g_stop = 1;
    pthread_join(t, NULL);

    int sent = atomic_load(&g_nsent), matched = 0;
    if (sent > g_n)
        sent = g_n;
    qsort(g_sent, (size_t)sent, sizeof *g_sent, stamp_cmp);
    qsort(enq, (size_t)g_n, sizeof *enq, stamp_cmp);
    for (int i = 0, j = 0; i < g_n && j < sent;) {
        if (enq[i].id < g_sent[j].id)
            i++;
        else if (enq[i].id > g_sent[j].id)
            j++;
        else {
            ack[matched] = enq[i].ack - enq[i].ms;
            lat[matched++] = g_sent[j++].ms - enq[i++].ms;
        }
    }
    char spj[32];
    int ok = matched == g_n && atomic_load(&g_over) == 0;
    printf("{\"peer\":\"nudge\",\"durability\":\"%s\",\"workload\":\"steady\",\"jobs\":%d,"
           "\"rate\":%d,\"producers\":%d,\"enqueue_per_s\":%.0f,\"behind_ms\":%.1f,\"p50_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"max_ms\":%.2f,\"ack_p50_ms\":%.2f,\"ack_p99_ms\":%.2f,"
           "\"syncs_per_job\":%s,\"setup_s\":%.2f,\"exactly_once\":%s}\n",
           bench_durability(env.db), g_n, rate, np, g_n / enq_s, late,
           matched ? bench_pct(lat, matched, 50) : 0, matched ? bench_pct(lat, matched, 99) : 0,
           matched ? bench_pct(lat, matched, 100) : 0, matched ? bench_pct(ack, matched, 50) : 0,
           matched ? bench_pct(ack, matched, 99) : 0,
           bench_syncs(spj, sizeof spj, env.db, syncs, g_n), setup_s, ok ? "true" : "false");
    nudge_close(worker);
    for (int j = 1; j < np; j++)
        nudge_close(pr[j].n);
    free(pr);
    free(pt);
    bench_teardown(&env);
    free(g_sent);
    free(enq);
    free(lat);
    free(ack);
    return ok ? 0 : 1;
}
