/*
 * test_scale.c: several workers on one database, each with its own handle
 * (threads here; tests/workers.sh does it with `nudge worker` processes):
 * the shared per-minute rate limit under concurrent claims over two
 * minutes of a simulated clock, a periodic job once per occurrence, the
 * wake-up when work is enqueued, and a worker whose connection is cut
 * (PostgreSQL only: SQLite has no connection to lose).
 */
#include <pthread.h>

#include "core.h"
#include "testutil.h"

#define T0 TU_T(2026, 12, 1, 6, 30) /* noon in Kolkata: no quiet hours */
#define WORKERS 4
#define RATE 60

static int64_t scale_clinic(nudge *n, int rate)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Scale Clinic");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    c.rate_per_minute = rate;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t scale_patient(nudge *n, int64_t clinic)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Ram Lal");
    strcpy(p.language, "en");
    strcpy(p.phone, "9876543210");
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static void scale_enqueue(nudge *n, int64_t clinic, int64_t patient, int count, int64_t due)
{
    nudge_err e = {0};
    for (int i = 0; i < count; i++) {
        char key[32];
        snprintf(key, sizeof key, "scale-%lld-%d", (long long)due, i);
        nudge_send s = {.patient_id = patient, .template_name = "prescription_ready",
                        .channel = "sms", .priority = NUDGE_URGENT, .dedupe_key = key,
                        .due_at = due};
        if (nudge_enqueue(n, clinic, &s, NULL, NULL, &e) < 0)
            fail_msg("enqueue: %s", e.msg);
    }
}

/* A transport that takes everything, counting (a mutex: four threads). */
static pthread_mutex_t sent_mu = PTHREAD_MUTEX_INITIALIZER;
static int sent_total;

static int count_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    (void)ctx;
    pthread_mutex_lock(&sent_mu);
    int k = ++sent_total;
    pthread_mutex_unlock(&sent_mu);
    out->result = NUDGE_SENT;
    snprintf(out->provider_id, sizeof out->provider_id, "C-%lld-%d", (long long)m->id, k);
    return 0;
}

struct worker {
    nudge *n;
    nudge_clock clock;
    pthread_barrier_t *go, *done;
    int64_t base;
    int steps, step_seconds;
    int failed;
    char why[256];
};

static void worker_open(struct worker *w, const char *db, const char *outbox, int64_t t)
{
    nudge_clock_fake(&w->clock, t);
    nudge_config cfg = {.db = db, .outbox_dir = outbox, .clock = &w->clock};
    nudge_err e = {0};
    if (nudge_open(&cfg, &w->n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    nudge_transport t_sms = {.name = "counter", .medium = "sms", .send = count_send};
    if (nudge_transport_register(w->n, &t_sms, NULL, &e) < 0)
        fail_msg("register: %s", e.msg);
}

/* Each step: every worker ticks at the same simulated second, together. */
static void *worker_ticks(void *arg)
{
    struct worker *w = arg;
    for (int s = 0; s < w->steps; s++) {
        w->clock.t = w->base + (int64_t)s * w->step_seconds;
        pthread_barrier_wait(w->go);
        nudge_err e = {0};
        if (nudge_tick(w->n, NULL, &e) < 0 && !w->failed) {
            w->failed = 1;
            snprintf(w->why, sizeof w->why, "%s", e.msg);
        }
        pthread_barrier_wait(w->done);
    }
    return NULL;
}

static void run_workers(struct worker *w, int64_t base, int steps, int step_seconds)
{
    pthread_barrier_t go, done;
    pthread_barrier_init(&go, NULL, WORKERS);
    pthread_barrier_init(&done, NULL, WORKERS);
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i].go = &go;
        w[i].done = &done;
        w[i].base = base;
        w[i].steps = steps;
        w[i].step_seconds = step_seconds;
        pthread_create(&th[i], NULL, worker_ticks, &w[i]);
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    pthread_barrier_destroy(&done);
    for (int i = 0; i < WORKERS; i++)
        if (w[i].failed)
            fail_msg("worker %d: %s", i, w[i].why);
}

/* Four workers claiming at once for two simulated minutes: in every
 * sliding minute the clinic's channel gets at most its rate (+5 %), and
 * the rate is used (-5 %): the budget is read under its lock, not twice. */
static void test_rate_limit_holds_across_four_workers(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = scale_clinic(env.n, RATE);
    int64_t p = scale_patient(env.n, c);
    scale_enqueue(env.n, c, p, 5 * RATE, T0);
    struct worker w[WORKERS] = {0};
    for (int i = 0; i < WORKERS; i++)
        worker_open(&w[i], env.db, env.outbox, T0);
    sent_total = 0;
    run_workers(w, T0, 120, 1);
    /* Sends per second, from the attempts every worker recorded. */
    int per_sec[120] = {0};
    store_stmt *st;
    nudge_err e = {0};
    assert_int_equal(store_query(env.n->db, &st, &e,
                                 "SELECT started_at, COUNT(*) FROM delivery_attempts WHERE "
                                 "outcome = 'sent' GROUP BY started_at"),
                     0);
    while (store_next(st, &e) == 1) {
        int64_t at = store_int(st, 0) - T0;
        assert_true(at >= 0 && at < 120);
        per_sec[at] = (int)store_int(st, 1);
    }
    store_done(st);
    int total = 0, worst = 0;
    for (int s = 0; s < 120; s++) {
        total += per_sec[s];
        int win = 0; /* the minute ending at s, as the claim counts it */
        for (int k = s > 59 ? s - 59 : 0; k <= s; k++)
            win += per_sec[k];
        if (win > worst)
            worst = win;
    }
    print_message("rate %d/min, 4 workers, 120 s: %d sent, busiest minute %d\n", RATE, total,
                  worst);
    assert_true(worst <= RATE + RATE / 20);
    assert_true(total >= 2 * RATE - RATE / 10);
    assert_int_equal(sent_total, total);
    for (int i = 0; i < WORKERS; i++)
        nudge_close(w[i].n);
    tu_close(&env);
}

/* The periodic-job gate: four workers offer every slot at once; each slot
 * runs exactly once, whoever wins it. */
static pthread_mutex_t runs_mu = PTHREAD_MUTEX_INITIALIZER;
static int runs[64];

static int count_run(nudge *n, void *ctx, nudge_err *err)
{
    (void)n;
    (void)err;
    pthread_mutex_lock(&runs_mu);
    runs[*(int *)ctx]++;
    pthread_mutex_unlock(&runs_mu);
    return 0;
}

struct gate_worker {
    nudge *n;
    pthread_barrier_t *go;
    int ran, failed;
};

static void *gate_offer(void *arg)
{
    struct gate_worker *g = arg;
    for (int slot = 0; slot < 64; slot++) {
        pthread_barrier_wait(g->go);
        int ran = 0;
        nudge_err e = {0};
        if (periodic_once(g->n, "test_job", slot, count_run, &slot, &ran, &e) < 0)
            g->failed = 1;
        g->ran += ran;
    }
    return NULL;
}

static void test_periodic_job_runs_once_per_occurrence(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    struct worker w[WORKERS] = {0};
    struct gate_worker g[WORKERS] = {0};
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, WORKERS);
    pthread_t th[WORKERS];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < WORKERS; i++) {
        worker_open(&w[i], env.db, env.outbox, T0);
        g[i] = (struct gate_worker){.n = w[i].n, .go = &go};
        pthread_create(&th[i], NULL, gate_offer, &g[i]);
    }
    int ran = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(th[i], NULL);
        assert_false(g[i].failed);
        ran += g[i].ran;
    }
    pthread_barrier_destroy(&go);
    for (int s = 0; s < 64; s++)
        assert_int_equal(runs[s], 1);
    assert_int_equal(ran, 64);
    /* The lease reaper is such a job: four workers ticking at the lease's
     * end give the lost attempt back once, not four times. */
    int64_t c = scale_clinic(env.n, 1000);
    int64_t p = scale_patient(env.n, c);
    scale_enqueue(env.n, c, p, 3, T0);
    queue_ref ids[8];
    nudge_err e = {0};
    signed char handed[8];
    assert_int_equal(queue_claim(w[0].n, ids, 8, &e), 3); /* handed off, never recorded */
    assert_int_equal(queue_handoff(w[0].n, ids, 3, handed, &e), 0);
    sent_total = 0;
    int64_t lost = 0;
    run_workers(w, T0, 1, 0); /* the lease has not run out */
    assert_int_equal(sent_total, 0);
    run_workers(w, T0 + 300, 1, 0); /* its end: all four tick at once */
    assert_int_equal(store_scalar(env.n->db, &lost, &e,
                                  "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = "
                                  "'lease_expired'"),
                     1);
    assert_int_equal(lost, 3);
    assert_int_equal(sent_total, 3);
    for (int i = 0; i < WORKERS; i++)
        nudge_close(w[i].n);
    tu_close(&env);
}

/* An idle worker wakes when another handle enqueues due work (on SQLite
 * a handle of the same file in this process), not for work due later. */
static void test_enqueue_wakes_an_idle_worker(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = scale_clinic(env.n, 1000);
    int64_t p = scale_patient(env.n, c);
    struct worker w = {0};
    worker_open(&w, env.db, env.outbox, T0);
    nudge_err e = {0};
    assert_int_equal(nudge_wait(w.n, 0, &e), 0); /* listening from here on */
    scale_enqueue(env.n, c, p, 1, T0 + 3600);       /* due later: the poll finds it */
    assert_int_equal(nudge_wait(w.n, 50, &e), 0);
    scale_enqueue(env.n, c, p, 1, T0); /* due now */
    assert_int_equal(nudge_wait(w.n, 10000, &e), 1); /* SQLite: a handle of this process */
    nudge_close(w.n);
    tu_close(&env);
}

static void log_count(void *ctx, const char *msg)
{
    (void)msg;
    ++*(int *)ctx;
}

/* PostgreSQL only (SQLite has no connection to lose): the server ends
 * the worker's session; the tick in progress fails, the store reconnects
 * with its prepared statements forgotten, says so once each way, and the
 * next tick sends everything. */
static void test_worker_reconnects_after_its_backend_is_terminated(void **state)
{
    (void)state;
    if (!tu_pg_admin())
        skip();
    tu_env env;
    tu_open(&env, T0);
    int64_t c = scale_clinic(env.n, 1000);
    int64_t p = scale_patient(env.n, c);
    struct worker w = {0};
    worker_open(&w, env.db, env.outbox, T0);
    int logged = 0;
    nudge_on_log(w.n, log_count, &logged);
    nudge_err e = {0};
    sent_total = 0;
    assert_int_equal(nudge_tick(w.n, NULL, &e), 0); /* statements prepared */
    scale_enqueue(env.n, c, p, 5, T0);
    int64_t pid = 0;
    assert_int_equal(store_scalar(w.n->db, &pid, &e, "SELECT pg_backend_pid()"), 1);
    PGconn *admin = PQconnectdb(tu_pg_admin());
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)pid);
    PGresult *r = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(admin);
    int rc = nudge_tick(w.n, NULL, &e); /* may fail: its session is gone */
    if (rc < 0)
        assert_int_equal(nudge_tick(w.n, NULL, &e), 0);
    assert_int_equal(sent_total, 5);
    assert_int_equal(logged, 2); /* lost, then back */
    nudge_close(w.n);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit_holds_across_four_workers),
        cmocka_unit_test(test_periodic_job_runs_once_per_occurrence),
        cmocka_unit_test(test_enqueue_wakes_an_idle_worker),
        cmocka_unit_test(test_worker_reconnects_after_its_backend_is_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
