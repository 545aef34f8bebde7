/*
 * burn.c: issue 16's burn-down through a no-op custom channel: N jobs
 * pending and due, then WORKERS dispatchers (threads, each its own handle,
 * as `nudge worker` processes would be) tick on the real clock until
 * nothing is pending or sending. jobs/s is N over the wall time from the
 * first tick to the last worker's end. The channel is a C API one
 * (nudge_channel_register, mapped to the clinic's SMS), so what is
 * measured is the queue and the dispatcher: claim, policy, hand-off,
 * record. Not a test.
 *
 *   build/bench/burn [-n N] [-w WORKERS] [-b BATCH] [-j IN_FLIGHT] [-d DB]
 *
 * Setup (timed apart): a scratch SQLite file in /tmp (or -d URL, which
 * must name an empty database), one clinic, 100 patients, N SMS enqueued
 * in one transaction a day ahead, then made due in one UPDATE. Checks:
 * the channel was called N times and N rows ended `sent`. Prints one JSON
 * line like bench/queue.c's, with the CPU and the WAL fsyncs a job
 * (common.h's bench_syncs: a hand-off's commit holds at most IN_FLIGHT
 * jobs, the bound on what a power cut may send twice).
 */
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "core.h"

static bench_env g_env;
static atomic_long g_sends;

static double s_now(void)
{
    return bench_ms() / 1e3;
}

/* The process's CPU time, user and system: a figure that holds on a
 * shared machine, where wall time does not. */
static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const nudge_err *e)
{
    bench_die("burn", what, e);
}

static int noop_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    (void)ctx;
    atomic_fetch_add(&g_sends, 1);
    out->result = NUDGE_SENT;
    snprintf(out->provider_id, sizeof out->provider_id, "noop-%lld", (long long)m->id);
    return 0;
}

static const nudge_channel_ops noop_ops = {.send = noop_send};

static int64_t left(nudge *n)
{
    int64_t c[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(n, 0, c, &e) < 0)
        die("status", &e);
    int64_t l = 0;
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        if (!strcmp(nudge_status_names[i], "pending") || !strcmp(nudge_status_names[i], "sending"))
            l += c[i];
    return l;
}

static void *worker(void *arg)
{
    (void)arg;
    nudge *n = bench_handle(&g_env);
    nudge_err e = {0};
    for (;;) {
        nudge_tick_stats st;
        if (nudge_tick(n, &st, &e) < 0)
            die("tick", &e);
        if (st.claimed == 0 && left(n) == 0)
            break;
    }
    nudge_close(n);
    return NULL;
}

int main(int argc, char **argv)
{
    static const char usage[] = "[-n N] [-w WORKERS] [-b BATCH] [-j IN_FLIGHT] [-d DB]";
    int jobs = 20000, workers = 1, batch = 100, inflight = 32, opt;
    const char *db = NULL;
    while ((opt = getopt(argc, argv, "n:w:b:j:d:")) != -1) {
        switch (opt) {
        case 'n': jobs = atoi(optarg); break;
        case 'w': workers = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'j': inflight = atoi(optarg); break;
        case 'd': db = optarg; break;
        default: bench_usage("burn", usage);
        }
    }
    if (jobs < 1 || workers < 1 || batch < 1 || inflight < 1)
        bench_usage("burn", usage);

    /* ---- setup: one clinic, its SMS mapped to the no-op channel ---- */
    double t_setup = s_now();
    bench_setup(&g_env, "burn", db,
                (nudge_config){.batch_size = batch, .max_in_flight = inflight}, &noop_ops);
    nudge *n = g_env.n;
    nudge_err e = {0};
    const int64_t *pid = g_env.patients;
    nudge_clinic c = {.id = g_env.clinic};
    int64_t parked = (int64_t)time(NULL) + 86400;
    if (store_begin(n->db, &e) < 0)
        die("begin", &e);
    for (int i = 0; i < jobs; i++) {
        nudge_send s = {.patient_id = pid[i % BENCH_PATIENTS], .template_name = "prescription_ready",
                        .channel = "sms", .priority = NUDGE_NORMAL, .due_at = parked};
        if (nudge_enqueue(n, c.id, &s, NULL, NULL, &e) < 0)
            die("enqueue", &e);
    }
    if (store_commit(n->db, &e) < 0)
        die("commit", &e);
    if (store_exec(n->db, &e,
                   "UPDATE notification_queue SET due_at = ? WHERE clinic_id = ? AND "
                   "status = 'pending'",
                   bind_int((int64_t)time(NULL) - 1), bind_int(c.id)) < 0)
        die("release", &e);
    double setup_s = s_now() - t_setup;

    /* ---- measured: the workers until nothing is left ---- */
    pthread_t *t = calloc((size_t)workers, sizeof *t);
    double t0 = s_now(), cpu0 = cpu_s();
    long syncs0 = sqlite_wal_syncs();
    for (int i = 0; i < workers; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < workers; i++)
        pthread_join(t[i], NULL);
    double sec = s_now() - t0, cpu = cpu_s() - cpu0;
    long syncs = sqlite_wal_syncs() - syncs0;
    char spj[32];

    int64_t sent = 0;
    if (store_scalar(n->db, &sent, &e,
                     "SELECT COUNT(*) FROM notification_queue WHERE clinic_id = ? AND "
                     "status = 'sent'",
                     bind_int(c.id)) < 0)
        die("count", &e);
    long sends = atomic_load(&g_sends);
    printf("{\"peer\":\"nudge\",\"durability\":\"%s\",\"workload\":\"burn\",\"jobs\":%d,"
           "\"workers\":%d,\"batch\":%d,\"in_flight\":%d,\"seconds\":%.3f,\"jobs_per_s\":%.0f,"
           "\"cpu_us_per_job\":%.1f,\"syncs_per_job\":%s,\"setup_s\":%.2f,\"exactly_once\":%s}\n",
           bench_durability(g_env.db), jobs, workers, batch, inflight, sec, jobs / sec,
           cpu * 1e6 / jobs, bench_syncs(spj, sizeof spj, g_env.db, syncs, jobs), setup_s, sent == jobs && sends == jobs ? "true" : "false");
    bench_teardown(&g_env);
    free(t);
    return sent == jobs && sends == jobs ? 0 : 1;
}
