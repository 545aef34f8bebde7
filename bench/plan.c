/*
 * plan.c: reminders all due at the same instant, turned into messages.
 * Issue 16's burst is "50,000 reminders all due at 09:00 local"; bench/run.sh
 * measures their sending from notifications already queued, and this the
 * step before it: planner.c making those notifications out of the due
 * plans (each read with its visit, patient and clinic, rendered, enqueued
 * under its dedupe key, the plan marked), which runs before any of them
 * can be sent. Not a test.
 *
 *   build/bench/plan [-n N] [-d DB]
 *
 * Setup (timed apart): a scratch SQLite file in /tmp (or -d URL, an empty
 * database), the benchmarks' clinic (bench/common.h) with N patients, one
 * visit each at the same instant three days ahead, booked on a fake clock
 * (each booking plans a confirmation and reminders 24 h and 2 h before),
 * and the confirmations made messages. Measured: the clock moved to a
 * minute past the 24-hour reminders' time, planner_run until the N
 * reminders are messages. Checks: N notifications more, each plan
 * enqueued once. Prints one JSON line.
 */
#include <sys/resource.h>

#include "common.h"
#include "core.h"

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

static int64_t count(nudge *n, const char *sql)
{
    int64_t v = -1;
    nudge_err e = {0};
    if (store_scalar(n->db, &v, &e, sql) != 1)
        bench_die("plan", "count", &e);
    return v;
}

int main(int argc, char **argv)
{
    int plans = 20000, opt;
    const char *db = NULL;
    while ((opt = getopt(argc, argv, "n:d:")) != -1) {
        switch (opt) {
        case 'n': plans = atoi(optarg); break;
        case 'd': db = optarg; break;
        default: bench_usage("plan", "[-n N] [-d DB]");
        }
    }
    if (plans < 1)
        bench_usage("plan", "[-n N] [-d DB]");

    char path[128] = "";
    db = bench_db(db, path, sizeof path, "bench-plan");
    static nudge_clock clk;
    int64_t booked = (int64_t)time(NULL), visit = booked + 3 * 86400;
    nudge_clock_fake(&clk, booked);
    nudge *n = bench_open("plan", (nudge_config){.db = db, .clock = &clk}, NULL);
    nudge_err e = {0};
    int64_t *pid = calloc((size_t)plans, sizeof *pid);
    nudge_tick_stats st = {0};
    double t_setup = bench_ms();
    /* The patients and bookings in one transaction: setup, not measured. */
    if (!pid || store_begin(n->db, &e) < 0)
        bench_die("plan", "setup", &e);
    int64_t clinic = bench_clinic(n, plans, pid, &e);
    if (clinic < 0)
        bench_die("plan", "setup", &e);
    for (int i = 0; i < plans; i++) {
        nudge_appointment a = {.patient_id = pid[i], .start_at = visit, .duration_min = 30};
        snprintf(a.service, sizeof a.service, "Cleaning");
        if (nudge_appointment_add(n, clinic, &a, &e) < 0)
            bench_die("plan", "book", &e);
    }
    if (store_commit(n->db, &e) < 0 || planner_run(n, clock_now(n), 0, &st, &e) < 0)
        bench_die("plan", "confirmations", &e);
    double setup_s = (bench_ms() - t_setup) / 1e3;
    int64_t before = count(n, "SELECT COUNT(*) FROM notification_queue");

    /* ---- measured: the 24-hour reminders, all due at once ---- */
    nudge_clock_fake(&clk, visit - 24 * 3600 + 60);
    memset(&st, 0, sizeof st);
    long syncs0 = sqlite_wal_syncs();
    double t0 = bench_ms(), cpu0 = cpu_s();
    if (planner_run(n, clock_now(n), 0, &st, &e) < 0)
        bench_die("plan", "planner", &e);
    double ms = bench_ms() - t0, cpu = cpu_s() - cpu0;
    long syncs = sqlite_wal_syncs() - syncs0;

    int64_t made = count(n, "SELECT COUNT(*) FROM notification_queue") - before;
    int64_t enq = count(n, "SELECT COUNT(*) FROM reminders WHERE kind = 'reminder' AND "
                           "status = 'enqueued'");
    int ok = made == plans && enq == plans && st.planned_enqueued == plans;
    char spj[32];
    printf("{\"bench\":\"plan\",\"durability\":\"%s\",\"plans\":%d,\"plan_ms\":%.0f,"
           "\"plans_per_s\":%.0f,\"cpu_us_per_plan\":%.1f,\"syncs_per_job\":%s,"
           "\"setup_s\":%.2f,\"exactly_once\":%s}\n",
           bench_durability(db), plans, ms, plans / (ms / 1e3), cpu * 1e6 / plans,
           bench_syncs(spj, sizeof spj, db, syncs, plans), setup_s, ok ? "true" : "false");
    nudge_close(n);
    if (path[0])
        bench_scratch_remove(path);
    free(pid);
    return ok ? 0 : 1;
}
