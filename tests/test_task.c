/*
 * test_task.c: the durable task scheduler (src/task.c) on a simulated
 * clock, on either engine (NUDGE_TEST_PG): month-end monthly tasks, RRULE
 * expansion against libical's own iterator, DST in the task's zone, a task
 * missed while nothing ran running once and marked late, two processes
 * racing for every occurrence of a task, retries with backoff then failed,
 * a run whose worker died recorded as lost, the registry, the clinic
 * scope, the purge task, and /v1/tasks; the default tasks (the
 * installation's recall, birthday and lab scans, made once, run once per
 * occurrence across two handles with their history; a paused backup on
 * SQLite; each clinic's retention purge).
 */
#include <fcntl.h>
#include <sys/wait.h>

#include <libical/ical.h>

#include "core.h"
#include "httputil.h"

#define T0 TU_T(2027, 1, 1, 0, 0)

static int count_calls(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)n, (void)t, (void)now, (void)err;
    ++*(int *)ctx;
    return 0;
}

static int always_fail(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)n, (void)t, (void)now, (void)ctx;
    return nudge_err_set(err, NUDGE_EIO, "", "the disk is full");
}

static int64_t add_task(nudge *n, int64_t clinic, const char *name, const char *fn,
                        const char *kind, const char *schedule, const char *tz, int retries)
{
    nudge_task t = {0};
    t.clinic_id = clinic;
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.fn, sizeof t.fn, "%s", fn);
    snprintf(t.kind, sizeof t.kind, "%s", kind);
    snprintf(t.schedule, sizeof t.schedule, "%s", schedule);
    snprintf(t.timezone, sizeof t.timezone, "%s", tz ? tz : "");
    t.max_retries = retries;
    nudge_err e = {0};
    if (nudge_task_add(n, &t, &e) < 0)
        fail_msg("task add %s: %s", name, e.msg);
    return t.id;
}

static nudge_task get_task(nudge *n, int64_t id)
{
    nudge_task t;
    nudge_err e = {0};
    if (nudge_task_get(n, NUDGE_ANY_CLINIC, id, &t, &e) < 0)
        fail_msg("task get: %s", e.msg);
    return t;
}

typedef struct runs {
    nudge_task_run r[64];
    int n;
} runs;

static int collect(void *ctx, const nudge_task_run *r)
{
    runs *rs = ctx;
    if (rs->n < 64)
        rs->r[rs->n++] = *r;
    return 0;
}

/* Oldest first. */
static runs get_runs(nudge *n, int64_t id)
{
    runs rs = {0}, out = {0};
    nudge_err e = {0};
    if (nudge_task_runs(n, NUDGE_ANY_CLINIC, id, 64, collect, &rs, &e) < 0)
        fail_msg("task runs: %s", e.msg);
    for (int i = 0; i < rs.n; i++)
        out.r[i] = rs.r[rs.n - 1 - i];
    out.n = rs.n;
    return out;
}

/* The tests below count their own tasks: the defaults every clinic and
 * the installation get (test_default_tasks) are dropped first. */
static void drop_defaults(nudge *n)
{
    nudge_err e = {0};
    if (store_exec(n->db, &e, "DELETE FROM tasks") < 0)
        fail_msg("drop defaults: %s", e.msg);
}

static int tick_at(tu_env *env, int64_t t)
{
    env->clock.t = t;
    nudge_err e = {0};
    int ran = 0;
    if (nudge_task_tick(env->n, t, &ran, &e) < 0)
        fail_msg("task tick: %s", e.msg);
    return ran;
}

/* "31 02:00" runs on the 31st, and on the last day of a shorter month
 * (30 April, 28 February, 29 February in a leap year), at 02:00 London
 * time, summer or winter; the 30th in February runs on the 28th too. */
static void test_monthly_month_end(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 1, 5, 0, 0));
    int calls = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "count", count_calls, &calls, &e), 0);
    int64_t id = add_task(env.n, 0, "month-end", "count", "monthly", "31 02:00",
                          "Europe/London", 3);
    const int64_t want[] = {
        TU_T(2027, 1, 31, 2, 0), TU_T(2027, 2, 28, 2, 0), TU_T(2027, 3, 31, 1, 0), /* BST */
        TU_T(2027, 4, 30, 1, 0), TU_T(2027, 5, 31, 1, 0), TU_T(2027, 6, 30, 1, 0),
        TU_T(2027, 7, 31, 1, 0), TU_T(2027, 8, 31, 1, 0), TU_T(2027, 9, 30, 1, 0),
        TU_T(2027, 10, 31, 2, 0), TU_T(2027, 11, 30, 2, 0), TU_T(2027, 12, 31, 2, 0),
        TU_T(2028, 1, 31, 2, 0), TU_T(2028, 2, 29, 2, 0), /* leap year */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        nudge_task t = get_task(env.n, id);
        assert_int_equal(t.next_run, want[i]);
        assert_int_equal(tick_at(&env, want[i] - 1), 0); /* not a second early */
        assert_int_equal(tick_at(&env, want[i]), 1);
    }
    assert_int_equal(calls, (int)(sizeof want / sizeof *want));
    runs rs = get_runs(env.n, id);
    assert_int_equal(rs.n, (int)(sizeof want / sizeof *want));
    for (int i = 0; i < rs.n; i++) {
        assert_int_equal(rs.r[i].slot, want[i]);
        assert_string_equal(rs.r[i].outcome, "ok");
        assert_int_equal(rs.r[i].late, 0);
    }
    /* The 30th in a common year's February: the 28th. */
    nudge_task t = {0};
    strcpy(t.kind, "monthly");
    strcpy(t.schedule, "30 09:00");
    strcpy(t.timezone, "UTC");
    int64_t next;
    assert_int_equal(nudge_task_next(&t, TU_T(2027, 2, 1, 0, 0), &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 2, 28, 9, 0));
    tu_close(&env);
}

/* RRULE occurrences as the scheduler sees them, one after another, equal
 * libical's own expansion of the same rule from the same DTSTART in the
 * same zone, across both DST changes of New York. */
static void test_rrule_matches_libical(void **state)
{
    (void)state;
    const char *rules[] = {
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
        "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=30;BYSECOND=0",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=8,20;BYMINUTE=15;BYSECOND=0",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12;BYMINUTE=0;BYSECOND=0",
        "FREQ=WEEKLY;COUNT=5;BYDAY=SA;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
    };
    const char *zone = "America/New_York";
    icaltimezone *z = icaltimezone_get_builtin_timezone(zone);
    assert_non_null(z);
    int64_t start = TU_T(2027, 1, 10, 15, 0); /* 10:00 local */
    for (size_t k = 0; k < sizeof rules / sizeof *rules; k++) {
        struct icalrecurrencetype r = icalrecurrencetype_from_string(rules[k]);
        struct icaltimetype dt = icaltime_from_timet_with_zone((time_t)start, 0, z);
        icalrecur_iterator *it = icalrecur_iterator_new(r, dt);
        assert_non_null(it);
        nudge_task t = {0};
        strcpy(t.kind, "rrule");
        snprintf(t.schedule, sizeof t.schedule, "%s", rules[k]);
        strcpy(t.timezone, zone);
        t.start_at = start;
        int64_t after = start - 1;
        int seen = 0;
        for (int i = 0; i < 40; i++) {
            struct icaltimetype o = icalrecur_iterator_next(it);
            int64_t want = icaltime_is_null_time(o) ? 0 : (int64_t)icaltime_as_timet_with_zone(o, z);
            int64_t got;
            nudge_err e = {0};
            assert_int_equal(nudge_task_next(&t, after, &got, &e), 0);
            if (got != want)
                fail_msg("%s #%d: libical %lld, nudge %lld", rules[k], i, (long long)want,
                         (long long)got);
            if (!want)
                break;
            seen++;
            after = got;
        }
        assert_true(seen >= 5);
        icalrecur_iterator_free(it);
    }
    /* A bad rule is refused, naming the schedule. */
    tu_env env;
    tu_open(&env, T0);
    nudge_task t = {0};
    strcpy(t.name, "bad");
    strcpy(t.fn, "purge");
    strcpy(t.kind, "rrule");
    strcpy(t.schedule, "FREQ=SOMETIMES");
    nudge_err e = {0};
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "schedule");
    tu_close(&env);
}

/* Daily at 09:00 New York time stays at 09:00 local across spring-forward
 * and fall-back; 02:30 on the spring-forward night (no such time) runs at
 * 03:30, and 01:30 on the fall-back night (twice) runs once. */
static void test_dst_in_task_zone(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 3, 12, 0, 0));
    int calls = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "count", count_calls, &calls, &e), 0);
    int64_t nine = add_task(env.n, 0, "nine", "count", "daily", "09:00", "America/New_York", 3);
    int64_t gap = add_task(env.n, 0, "gap", "count", "daily", "02:30", "America/New_York", 3);
    /* 2027-03-14: clocks go 02:00 EST -> 03:00 EDT. */
    assert_int_equal(get_task(env.n, gap).next_run, TU_T(2027, 3, 12, 7, 30));
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 12, 7, 30)), 1);
    assert_int_equal(get_task(env.n, nine).next_run, TU_T(2027, 3, 12, 14, 0));
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 12, 14, 0)), 1);
    assert_int_equal(get_task(env.n, gap).next_run, TU_T(2027, 3, 13, 7, 30));
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 13, 7, 30)), 1);
    assert_int_equal(get_task(env.n, nine).next_run, TU_T(2027, 3, 13, 14, 0));
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 13, 14, 0)), 1);
    assert_int_equal(get_task(env.n, nine).next_run, TU_T(2027, 3, 14, 13, 0)); /* EDT */
    assert_int_equal(get_task(env.n, gap).next_run, TU_T(2027, 3, 14, 7, 30)); /* 03:30 EDT */
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 14, 7, 30)), 1);
    assert_int_equal(get_task(env.n, gap).next_run, TU_T(2027, 3, 15, 6, 30)); /* 02:30 EDT */
    assert_int_equal(tick_at(&env, TU_T(2027, 3, 14, 13, 0)), 1);
    assert_int_equal(calls, 6);

    /* 2027-11-07: 02:00 EDT -> 01:00 EST; 01:30 happens twice. */
    nudge_task t = {0};
    strcpy(t.kind, "daily");
    strcpy(t.schedule, "01:30");
    strcpy(t.timezone, "America/New_York");
    int64_t next;
    assert_int_equal(nudge_task_next(&t, TU_T(2027, 11, 6, 12, 0), &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 7, 5, 30)); /* the first 01:30, EDT */
    assert_int_equal(nudge_task_next(&t, next, &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 8, 6, 30)); /* not the second: the next day */
    strcpy(t.schedule, "09:00");
    assert_int_equal(nudge_task_next(&t, TU_T(2027, 11, 6, 12, 0), &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 6, 13, 0)); /* EDT */
    assert_int_equal(nudge_task_next(&t, next, &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 7, 14, 0)); /* EST */
    /* Weekly on Mondays and Thursdays. */
    strcpy(t.kind, "weekly");
    strcpy(t.schedule, "mon,thu 09:00");
    assert_int_equal(nudge_task_next(&t, TU_T(2027, 11, 6, 12, 0), &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 8, 14, 0)); /* Monday 8 November */
    assert_int_equal(nudge_task_next(&t, next, &next, &e), 0);
    assert_int_equal(next, TU_T(2027, 11, 11, 14, 0)); /* Thursday */
    tu_close(&env);
}

/* nudge was down for five days: the daily task runs once when it comes
 * back, its history says late, and it goes on from the next 03:00. */
static void test_missed_runs_once_late(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int calls = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "count", count_calls, &calls, &e), 0);
    int64_t id = add_task(env.n, 0, "nightly", "count", "daily", "03:00", "UTC", 3);
    assert_int_equal(tick_at(&env, TU_T(2027, 1, 1, 3, 0)), 1);
    /* Down from the 1st to the 6th at 10:00. */
    assert_int_equal(tick_at(&env, TU_T(2027, 1, 6, 10, 0)), 1);
    assert_int_equal(tick_at(&env, TU_T(2027, 1, 6, 10, 1)), 0);
    assert_int_equal(calls, 2);
    runs rs = get_runs(env.n, id);
    assert_int_equal(rs.n, 2);
    assert_int_equal(rs.r[0].late, 0);
    assert_int_equal(rs.r[1].late, 1);
    assert_int_equal(rs.r[1].slot, TU_T(2027, 1, 2, 3, 0));
    assert_int_equal(rs.r[1].started_at, TU_T(2027, 1, 6, 10, 0));
    assert_int_equal(get_task(env.n, id).next_run, TU_T(2027, 1, 7, 3, 0));
    /* The state survives a restart: a new handle on the same store. */
    nudge_close(env.n);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    assert_int_equal(nudge_open(&cfg, &env.n, &e), 0);
    assert_int_equal(nudge_task_register(env.n, "count", count_calls, &calls, &e), 0);
    assert_int_equal(get_runs(env.n, id).n, 2);
    assert_int_equal(tick_at(&env, TU_T(2027, 1, 7, 3, 0)), 1);
    assert_int_equal(calls, 3);
    tu_close(&env);
}

static int append_line(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)n;
    char line[64];
    int l = snprintf(line, sizeof line, "%lld %lld\n", (long long)t->slot, (long long)now);
    int fd = open(ctx, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0 || write(fd, line, (size_t)l) != l) {
        if (fd >= 0)
            close(fd);
        return nudge_err_set(err, NUDGE_EIO, "", "cannot append");
    }
    close(fd);
    return 0;
}

#define RACE_SLOTS 40

/* Two processes, each with its own handle, tick through 40 occurrences
 * of a one-minute task in step (the parent lets both go at each simulated
 * minute and waits for both): every occurrence runs exactly once. */
static void test_two_processes_race(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    char file[256];
    snprintf(file, sizeof file, "%s/runs.txt", env.dir);
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "append", append_line, file, &e), 0);
    int64_t id = add_task(env.n, 0, "minutely", "append", "interval", "60", "UTC", 0);
    pid_t kids[2];
    int go[2][2], done[2][2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(pipe(go[k]), 0);
        assert_int_equal(pipe(done[k]), 0);
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            nudge_clock clock;
            nudge_clock_fake(&clock, T0);
            nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clock};
            nudge *n;
            nudge_err ce = {0};
            if (nudge_open(&cfg, &n, &ce) < 0 ||
                nudge_task_register(n, "append", append_line, file, &ce) < 0)
                _exit(2);
            char b;
            for (int s = 0; s < RACE_SLOTS; s++) {
                if (read(go[k][0], &b, 1) != 1)
                    _exit(4);
                clock.t = T0 + 60 * s;
                if (nudge_task_tick(n, clock.t, NULL, &ce) < 0)
                    _exit(3);
                if (write(done[k][1], "x", 1) != 1)
                    _exit(4);
            }
            nudge_close(n);
            _exit(0);
        }
    }
    for (int s = 0; s < RACE_SLOTS; s++) {
        char b;
        for (int k = 0; k < 2; k++)
            assert_int_equal(write(go[k][1], "x", 1), 1);
        for (int k = 0; k < 2; k++)
            assert_int_equal(read(done[k][0], &b, 1), 1);
    }
    for (int k = 0; k < 2; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        close(go[k][0]), close(go[k][1]), close(done[k][0]), close(done[k][1]);
    }
    char *text = tu_read_file(file);
    assert_non_null(text);
    int lines = 0;
    int64_t prev = 0;
    for (char *p = text; *p; p = strchr(p, '\n') + 1) {
        long long slot = strtoll(p, NULL, 10);
        if (slot <= prev)
            fail_msg("slot %lld ran twice or out of order:\n%s", slot, text);
        prev = slot;
        lines++;
    }
    free(text);
    assert_int_equal(lines, RACE_SLOTS);
    runs rs = get_runs(env.n, id);
    assert_int_equal(rs.n, RACE_SLOTS);
    tu_close(&env);
}

/* A failing task is retried after 60 s, then 120 s, and after its last
 * retry is failed, each attempt in its history with the error; resume
 * schedules it again. */
static void test_retries_backoff_then_failed(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "fail", always_fail, NULL, &e), 0);
    int64_t t1 = TU_T(2027, 1, 1, 3, 0);
    int64_t id = add_task(env.n, 0, "flaky", "fail", "daily", "03:00", "UTC", 2);
    assert_int_equal(tick_at(&env, t1), 1);
    nudge_task t = get_task(env.n, id);
    assert_string_equal(t.status, "scheduled");
    assert_int_equal(t.next_run, t1 + 60);
    assert_int_equal(t.slot, t1);
    assert_string_equal(t.last_error, "the disk is full");
    assert_int_equal(tick_at(&env, t1 + 59), 0);
    assert_int_equal(tick_at(&env, t1 + 60), 1);
    assert_int_equal(get_task(env.n, id).next_run, t1 + 60 + 120);
    assert_int_equal(tick_at(&env, t1 + 180), 1);
    t = get_task(env.n, id);
    assert_string_equal(t.status, "failed");
    assert_int_equal(t.next_run, 0);
    assert_int_equal(tick_at(&env, t1 + 86400), 0); /* failed: stays stopped */
    runs rs = get_runs(env.n, id);
    assert_int_equal(rs.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs.r[i].attempt, i + 1);
        assert_int_equal(rs.r[i].slot, t1);
        assert_string_equal(rs.r[i].outcome, "failed");
        assert_string_equal(rs.r[i].error, "the disk is full");
    }
    /* Pausing a failed task is refused; resuming schedules the next 03:00. */
    assert_int_equal(nudge_task_pause(env.n, 0, id, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_task_resume(env.n, 0, id, &e), 0);
    t = get_task(env.n, id);
    assert_string_equal(t.status, "scheduled");
    assert_int_equal(t.next_run, t1 + 86400); /* this very second counts */
    assert_int_equal(t.attempts, 0);
    tu_close(&env);
}

static int die(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)n, (void)t, (void)now, (void)ctx, (void)err;
    _exit(0);
}

/* A worker killed in the middle of a run: after its lease the run is
 * recorded as lost and the occurrence retried by another worker. */
static void test_lost_run_retried(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int calls = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_task_register(env.n, "work", count_calls, &calls, &e), 0);
    int64_t id = add_task(env.n, 0, "work", "work", "once", "2027-01-01T01:00", "UTC", 3);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        nudge_clock clock;
        nudge_clock_fake(&clock, T0 + 3600);
        nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clock};
        nudge *n;
        nudge_err ce = {0};
        if (nudge_open(&cfg, &n, &ce) < 0 || nudge_task_register(n, "work", die, NULL, &ce) < 0)
            _exit(2);
        nudge_task_tick(n, clock.t, NULL, &ce);
        _exit(3); /* not reached: die() exits */
    }
    int st;
    assert_int_equal(waitpid(kid, &st, 0), kid);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(get_task(env.n, id).status, "running");
    assert_int_equal(tick_at(&env, T0 + 3600 + 1800), 0); /* lease still held */
    assert_int_equal(tick_at(&env, T0 + 7200), 0);        /* lost; retried after backoff */
    nudge_task t = get_task(env.n, id);
    assert_string_equal(t.status, "scheduled");
    assert_string_equal(t.last_outcome, "lost");
    assert_int_equal(tick_at(&env, t.next_run), 1);
    assert_int_equal(calls, 1);
    t = get_task(env.n, id);
    assert_string_equal(t.status, "completed");
    runs rs = get_runs(env.n, id);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.r[0].outcome, "lost");
    assert_string_equal(rs.r[1].outcome, "ok");
    assert_int_equal(rs.r[1].attempt, 2);
    tu_close(&env);
}

static int list_count(void *ctx, const nudge_task *t)
{
    (void)t;
    ++*(int *)ctx;
    return 0;
}

/* The registry and the scope: unknown functions are refused naming the
 * known ones; a backup belongs to no clinic; a clinic sees its own tasks
 * only; an embedder's function may replace a built-in; pause, run now. */
static void test_registry_and_scope(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    int64_t c1 = api_clinic(env.n, "Clinic 1", "Asia/Kolkata");
    int64_t c2 = api_clinic(env.n, "Clinic 2", "UTC");
    drop_defaults(env.n);
    nudge_task t = {0};
    t.clinic_id = c1;
    strcpy(t.name, "x");
    strcpy(t.fn, "nosuch");
    strcpy(t.kind, "daily");
    strcpy(t.schedule, "03:00");
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_string_equal(e.field, "fn");
    assert_non_null(strstr(e.msg, "purge, backup"));
    strcpy(t.fn, "backup");
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_string_equal(e.field, "clinic_id");
    strcpy(t.fn, "purge");
    strcpy(t.schedule, "25:00");
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_string_equal(e.field, "schedule");
    t.clinic_id = 999;
    strcpy(t.schedule, "03:00");
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_string_equal(e.field, "clinic_id");

    int64_t p1 = add_task(env.n, c1, "purge", "purge", "daily", "03:00", NULL, 3);
    assert_string_equal(get_task(env.n, p1).timezone, "Asia/Kolkata"); /* the clinic's zone */
    add_task(env.n, c2, "purge", "purge", "daily", "03:00", NULL, 3); /* names are per clinic */
    t.clinic_id = c1;
    strcpy(t.name, "purge");
    assert_int_equal(nudge_task_add(env.n, &t, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    int seen = 0;
    assert_int_equal(nudge_task_list(env.n, c2, list_count, &seen, &e), 0);
    assert_int_equal(seen, 1);
    seen = 0;
    assert_int_equal(nudge_task_list(env.n, NUDGE_ANY_CLINIC, list_count, &seen, &e), 0);
    assert_int_equal(seen, 2);
    nudge_task got;
    assert_int_equal(nudge_task_get(env.n, c2, p1, &got, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_int_equal(nudge_task_pause(env.n, c2, p1, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);

    /* Pause holds it past its time; run-now runs a scheduled task here. */
    assert_int_equal(nudge_task_pause(env.n, c1, p1, &e), 0);
    assert_int_equal(tick_at(&env, TU_T(2027, 1, 2, 0, 0)), 1); /* only clinic 2's */
    assert_int_equal(nudge_task_run_now(env.n, c1, p1, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_task_resume(env.n, c1, p1, &e), 0);
    int calls = 0;
    assert_int_equal(nudge_task_register(env.n, "purge", count_calls, &calls, &e), 0);
    assert_int_equal(nudge_task_run_now(env.n, c1, p1, &e), 0);
    assert_int_equal(calls, 1);
    assert_string_equal(get_task(env.n, p1).last_outcome, "ok");
    assert_int_equal(nudge_task_delete(env.n, c1, p1, &e), 0);
    assert_int_equal(nudge_task_get(env.n, c1, p1, &got, &e), -1);
    tu_close(&env);
}

/* The purge task deletes its clinic's delivered messages older than the
 * retention, with their attempts, and nothing else. */
static void test_purge(void **state)
{
    (void)state;
    tu_env env;
    int64_t now = TU_T(2027, 6, 1, 0, 0);
    tu_open(&env, now);
    nudge_err e = {0};
    int64_t c1 = api_clinic(env.n, "Clinic 1", "UTC");
    int64_t c2 = api_clinic(env.n, "Clinic 2", "UTC");
    drop_defaults(env.n);
    struct {
        int64_t clinic;
        const char *status;
        int64_t at;
        int kept;
    } rows[] = {
        {c1, "delivered", now - 401 * 86400LL, 0}, {c1, "read", now - 500 * 86400LL, 0},
        {c1, "delivered", now - 399 * 86400LL, 1}, {c1, "failed", now - 900 * 86400LL, 1},
        {c2, "delivered", now - 401 * 86400LL, 1}, /* another clinic's */
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int64_t id;
        store_stmt *st;
        assert_int_equal(store_query(env.n->db, &st, &e,
            "INSERT INTO notification_queue (clinic_id, channel, recipient, template, language, "
            "category, body, status, due_at, created_at, updated_at) VALUES "
            "(?, 'sms', '+919876543210', 't', 'en', 'reminder', 'b', ?, ?, ?, ?) RETURNING id",
            bind_int(rows[i].clinic), bind_text(rows[i].status), bind_int(rows[i].at),
            bind_int(rows[i].at), bind_int(rows[i].at)), 0);
        assert_int_equal(store_next(st, &e), 1);
        id = store_int(st, 0);
        store_done(st);
        assert_int_equal(store_exec(env.n->db, &e,
            "INSERT INTO delivery_attempts (clinic_id, notification_id, channel, transport, "
            "started_at, outcome) VALUES (?, ?, 'sms', 'outbox', ?, 'sent')",
            bind_int(rows[i].clinic), bind_int(id), bind_int(rows[i].at)), 0);
    }
    nudge_task t = {0};
    t.clinic_id = c1;
    strcpy(t.name, "purge");
    strcpy(t.fn, "purge");
    strcpy(t.kind, "daily");
    strcpy(t.schedule, "00:00");
    t.max_retries = 0;
    strcpy(t.args, "{\"retention_days\": 400}");
    assert_int_equal(nudge_task_add(env.n, &t, &e), 0);
    assert_int_equal(tick_at(&env, now), 1);
    assert_string_equal(get_task(env.n, t.id).last_outcome, "ok");
    int64_t left, attempts;
    assert_int_equal(store_scalar(env.n->db, &left, &e, "SELECT COUNT(*) FROM notification_queue"), 1);
    assert_int_equal(store_scalar(env.n->db, &attempts, &e, "SELECT COUNT(*) FROM delivery_attempts"), 1);
    assert_int_equal(left, 3);
    assert_int_equal(attempts, 3);
    tu_close(&env);
}

/* /v1/tasks: a clinic's admin schedules and drives its clinic's tasks,
 * staff read them, integration keys and other clinics see nothing, and
 * the installation's own tasks are no clinic's. */
static void test_http_tasks(void **state)
{
    (void)state;
    api_env a;
    api_open(&a, T0);
    drop_defaults(a.env.n);
    nudge_err e = {0};
    add_task(a.env.n, 0, "installation purge", "purge", "daily", "04:00", NULL, 3);
    const char *body = "{\"name\": \"purge\", \"fn\": \"purge\", \"kind\": \"daily\", "
                       "\"schedule\": \"03:00\", \"args\": {\"retention_days\": 30}}";
    api_resp r = api_call(&a, "POST", "/v1/tasks", a.staff_a, body);
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a, body);
    if (r.status != 201)
        fail_msg("create: %ld %s", r.status, r.body);
    int64_t id = api_int(&r, "id");
    char path[96];
    snprintf(path, sizeof path, "/v1/tasks/%lld", (long long)id);
    assert_string_equal(r.location, path);
    assert_string_equal(api_str(&r, "timezone"), "Asia/Kolkata");
    assert_string_equal(api_str(&r, "next_run"), "2027-01-02T03:00:00+05:30");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "args"),
                                                        "retention_days")), 30);
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a, body);
    API_EXPECT_PROBLEM(r, 409, "name");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a,
                 "{\"name\": \"b\", \"fn\": \"backup\", \"kind\": \"daily\", \"schedule\": \"03:00\"}");
    API_EXPECT_PROBLEM(r, 422, "clinic_id");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a,
                 "{\"name\": \"b\", \"fn\": \"purge\", \"kind\": \"daily\", \"schedule\": \"3pm\"}");
    API_EXPECT_PROBLEM(r, 422, "schedule");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a,
                 "{\"name\": \"b\", \"fn\": \"purge\", \"kind\": \"daily\", \"schedule\": \"03:00\", "
                 "\"colour\": \"red\"}");
    API_EXPECT_PROBLEM(r, 422, "colour");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/tasks", a.admin_a, "{\"name\": \"b\", \"fn\": \"purge\"}");
    API_EXPECT_PROBLEM(r, 422, "kind");
    api_free(&r);

    r = api_call(&a, "GET", "/v1/tasks", a.staff_a, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1); /* not clinic 0's */
    api_free(&r);
    r = api_call(&a, "GET", "/v1/tasks", a.integ_a, NULL);
    assert_int_equal(r.status, 403);
    api_free(&r);
    r = api_call(&a, "GET", "/v1/tasks", a.admin_b, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
    api_free(&r);
    r = api_call(&a, "GET", path, a.admin_b, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    r = api_call(&a, "GET", "/v1/tasks/1", a.admin_a, NULL); /* the installation's */
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);

    char act[128];
    snprintf(act, sizeof act, "%s/pause", path);
    r = api_call(&a, "POST", act, a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(api_str(&r, "status"), "paused");
    api_free(&r);
    snprintf(act, sizeof act, "%s/run", path);
    r = api_call(&a, "POST", act, a.admin_a, NULL);
    API_EXPECT_PROBLEM(r, 409, "status");
    api_free(&r);
    snprintf(act, sizeof act, "%s/resume", path);
    r = api_call(&a, "POST", act, a.admin_a, NULL);
    assert_string_equal(api_str(&r, "status"), "scheduled");
    api_free(&r);
    snprintf(act, sizeof act, "%s/run", path);
    r = api_call(&a, "POST", act, a.admin_a, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(api_str(&r, "last_outcome"), "ok");
    api_free(&r);
    snprintf(act, sizeof act, "%s/explode", path);
    r = api_call(&a, "POST", act, a.admin_a, NULL);
    API_EXPECT_PROBLEM(r, 404, NULL);
    api_free(&r);
    snprintf(act, sizeof act, "%s/runs?limit=5", path);
    r = api_call(&a, "GET", act, a.staff_a, NULL);
    assert_int_equal(r.status, 200);
    json_t *runs = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "outcome")),
                        "ok");
    assert_true(json_is_false(json_object_get(json_array_get(runs, 0), "late")));
    api_free(&r);
    (void)e;
    api_close(&a);
}


typedef struct named {
    int n, paused, scans;
    char names[16][64];
    int64_t ids[16], clinics[16];
} named;
static int collect_named(void *ctx, const nudge_task *t)
{
    named *x = ctx;
    if (x->n < 16) {
        snprintf(x->names[x->n], 64, "%s", t->name);
        x->ids[x->n] = t->id;
        x->clinics[x->n++] = t->clinic_id;
    }
    x->paused += !strcmp(t->status, "paused");
    x->scans += strstr(t->fn, "_scan") != NULL;
    return 0;
}

static int64_t task_named(const named *x, const char *name, int64_t clinic)
{
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->names[i], name) && x->clinics[i] == clinic)
            return x->ids[i];
    fail_msg("no task %s of clinic %lld", name, (long long)clinic);
    return 0;
}

static int count_one(void *ctx, const nudge_reminder *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static void test_default_tasks(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    int64_t c1 = api_clinic(env.n, "Clinic 1", "Asia/Kolkata");
    int64_t c2 = api_clinic(env.n, "Clinic 2", "UTC");
    int sqlite = env.n->db->ops->backup != NULL;
    named x = {0};
    assert_int_equal(nudge_task_list(env.n, NUDGE_ANY_CLINIC, collect_named, &x, &e), 0);
    /* Three scans once for the installation, a purge per clinic, and on
     * SQLite the backup, paused until an administrator resumes it. */
    assert_int_equal(x.n, 5 + sqlite);
    assert_int_equal(x.scans, 3);
    assert_int_equal(x.paused, sqlite);
    int64_t scan = task_named(&x, "recall-scan", NUDGE_TASK_GLOBAL);
    task_named(&x, "birthday-scan", NUDGE_TASK_GLOBAL);
    task_named(&x, "lab-scan", NUDGE_TASK_GLOBAL);
    int64_t purge1 = task_named(&x, "retention", c1);
    task_named(&x, "retention", c2);
    nudge_task t = get_task(env.n, purge1);
    assert_string_equal(t.timezone, "Asia/Kolkata");
    assert_string_equal(t.args, "{\"retention_days\": 400}");
    assert_string_equal(get_task(env.n, scan).kind, "interval");
    if (sqlite)
        assert_string_equal(get_task(env.n, task_named(&x, "backup", 0)).status, "paused");
    /* A scan is a scan of every clinic: no clinic may own one. */
    nudge_task own = {0};
    own.clinic_id = c1;
    strcpy(own.name, "mine");
    strcpy(own.fn, "birthday_scan");
    strcpy(own.kind, "daily");
    strcpy(own.schedule, "03:00");
    assert_int_equal(nudge_task_add(env.n, &own, &e), -1);
    assert_string_equal(e.field, "clinic_id");

    /* A patient whose birthday it is: the scan task, run by the tick of
     * the first of two handles, plans the wish; the second's tick at the
     * same instant runs no scan again. */
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c2;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "9876543210");
    strcpy(p.dob, "1990-01-01");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_clock clock;
    nudge_clock_fake(&clock, T0);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clock};
    nudge *w;
    assert_int_equal(nudge_open(&cfg, &w, &e), 0);
    for (int h = 0; h < 3; h++) {
        env.clock.t = clock.t = T0 + h * 1800;
        nudge_tick_stats st;
        assert_int_equal(nudge_tick(env.n, &st, &e), 0);
        assert_int_equal(nudge_tick(w, &st, &e), 0);
    }
    nudge_close(w);
    runs rs = get_runs(env.n, scan);
    assert_int_equal(rs.n, 2); /* T0 and T0 + 1 h, once each */
    assert_int_equal(rs.r[0].slot, T0);
    assert_int_equal(rs.r[1].slot, T0 + 3600);
    assert_string_equal(rs.r[1].outcome, "ok");
    int wishes = 0;
    char subject[32];
    snprintf(subject, sizeof subject, "birthday:%lld", (long long)p.id);
    assert_int_equal(nudge_reminder_find(env.n, c2, p.id, subject, count_one, &wishes, &e), 0);
    assert_int_equal(wishes, 1);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monthly_month_end),
        cmocka_unit_test(test_rrule_matches_libical),
        cmocka_unit_test(test_dst_in_task_zone),
        cmocka_unit_test(test_missed_runs_once_late),
        cmocka_unit_test(test_two_processes_race),
        cmocka_unit_test(test_retries_backoff_then_failed),
        cmocka_unit_test(test_lost_run_retried),
        cmocka_unit_test(test_registry_and_scope),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_http_tasks),
        cmocka_unit_test(test_default_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
