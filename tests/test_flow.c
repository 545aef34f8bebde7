/*
 * test_flow.c: the appointment path end to end on a fake clock: booking,
 * confirmation, both reminders in the patient's language, cancel and
 * reschedule, expiry, quiet hours, opt-outs, follow-ups, the queue's
 * retries and backoff, the rate limit, dedupe, staff retry and cancel, and
 * a worker killed mid-batch. Everything runs through the real store and
 * the outbox channel; time only moves when the test moves it.
 */
#include <sys/wait.h>

#include "core.h"
#include "store/store.h"
#include "testutil.h"

/* 2026-12-01 10:00 Asia/Kolkata */
#define VISIT TU_T(2026, 12, 1, 4, 30)
/* Booked on 2026-11-24 at 11:30 Asia/Kolkata */
#define BOOKED TU_T(2026, 11, 24, 6, 0)

static int64_t add_clinic(nudge *n, const char *tz)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, tz);
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t add_patient(nudge *n, int64_t clinic, const char *lang, const char *phone,
                           const char *email)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Ram Lal");
    strcpy(p.language, lang);
    strcpy(p.phone, phone);
    strcpy(p.email, email);
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static int64_t add_appt(nudge *n, int64_t clinic, int64_t patient, int64_t at)
{
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = patient;
    strcpy(a.service, "Teeth Cleaning");
    a.start_at = at;
    a.duration_min = 60;
    nudge_err e = {0};
    if (nudge_appointment_add(n, clinic, &a, &e) < 0)
        fail_msg("appointment: %s", e.msg);
    return a.id;
}

static nudge_tick_stats tick_at(tu_env *env, int64_t t)
{
    env->clock.t = t;
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(env->n, &st, &e) < 0)
        fail_msg("tick: %s", e.msg);
    return st;
}

static int64_t count_status(nudge *n, const char *status)
{
    int64_t c[NUDGE_N_STATUS];
    nudge_err e = {0};
    assert_int_equal(nudge_queue_status(n, 0, c, &e), 0);
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        if (!strcmp(nudge_status_names[i], status))
            return c[i];
    fail_msg("no status %s", status);
    return -1;
}

struct plans {
    int n;
    nudge_reminder r[16];
};
static int collect_plan(void *ctx, const nudge_reminder *r)
{
    struct plans *p = ctx;
    if (p->n < 16)
        p->r[p->n++] = *r;
    return 0;
}
static struct plans plans_of(nudge *n, int64_t appt)
{
    struct plans p = {0};
    nudge_err e = {0};
    assert_int_equal(nudge_reminder_list(n, 0, appt, collect_plan, &p, &e), 0);
    return p;
}

static char *outbox_file(tu_env *env, int64_t id, const char *ext)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%lld-%s", env->outbox, (long long)id, ext);
    return tu_read_file(path);
}

static void test_booking_plans_confirmation_and_two_reminders(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "hi", "9876543210", "");
    int64_t a = add_appt(env.n, c, p, VISIT);
    struct plans pl = plans_of(env.n, a);
    assert_int_equal(pl.n, 3);
    assert_string_equal(pl.r[0].kind, "confirmation");
    assert_int_equal(pl.r[0].due_at, BOOKED);
    assert_string_equal(pl.r[1].kind, "reminder");
    assert_int_equal(pl.r[1].due_at, VISIT - 24 * 3600);
    assert_int_equal(pl.r[2].due_at, VISIT - 2 * 3600);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(pl.r[i].status, "planned");
        assert_int_equal(pl.r[i].expires_at, VISIT);
    }
    tu_close(&env);
}

static void test_reminders_go_out_on_time_in_hindi(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "hi", "9876543210", "");
    add_appt(env.n, c, p, VISIT);

    nudge_tick_stats st = tick_at(&env, BOOKED);
    assert_int_equal(st.sent, 1); /* the confirmation */
    char *conf = outbox_file(&env, 1, "sms.json");
    assert_non_null(conf);
    assert_non_null(strstr(conf, "\"to\": \"+919876543210\""));
    assert_non_null(strstr(conf, "appointment_confirmation"));
    free(conf);

    /* One second before the 24 h mark nothing is due. */
    st = tick_at(&env, VISIT - 24 * 3600 - 1);
    assert_int_equal(st.sent, 0);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 1);

    st = tick_at(&env, VISIT - 24 * 3600);
    assert_int_equal(st.sent, 1);
    char *rem = outbox_file(&env, 2, "sms.json");
    assert_non_null(rem);
    assert_non_null(strstr(rem, "appointment_reminder"));
    assert_non_null(strstr(rem, "\"language\": \"hi\""));
    assert_non_null(strstr(rem, "दिसंबर"));     /* the date, in Hindi */
    assert_non_null(strstr(rem, "सुबह 10:00")); /* 10:00 local, not UTC */
    assert_non_null(strstr(rem, "Teeth Cleaning"));
    free(rem);

    st = tick_at(&env, VISIT - 2 * 3600);
    assert_int_equal(st.sent, 1);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 3);
    /* Nothing is sent twice, however often the clock ticks. */
    st = tick_at(&env, VISIT - 3600);
    assert_int_equal(st.sent, 0);
    assert_int_equal(count_status(env.n, "sent"), 3);
    tu_close(&env);
}

static void test_english_patient_by_email_gets_eml(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "America/New_York");
    int64_t p = add_patient(env.n, c, "en", "", "ram@example.com");
    /* 2026-12-01 10:00 New York (EST, UTC-5) */
    int64_t visit = TU_T(2026, 12, 1, 15, 0);
    add_appt(env.n, c, p, visit);
    tick_at(&env, visit - 24 * 3600);
    assert_int_equal(tu_count_files(env.outbox, ".eml"), 2);
    char *eml = outbox_file(&env, 2, "email.eml");
    assert_non_null(eml);
    assert_non_null(strstr(eml, "To: ram@example.com"));
    assert_non_null(strstr(eml, "multipart/alternative"));
    free(eml);
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(env.n, c, 2, &m, &e), 0);
    assert_non_null(strstr(m.body, "01-Dec-2026"));
    assert_non_null(strstr(m.body, "10:00 AM"));
    assert_non_null(m.html);
    nudge_notification_free(&m);
    tu_close(&env);
}

static void test_cancel_drops_plans_and_pending(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t a = add_appt(env.n, c, p, VISIT);
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_cancel(env.n, c, a, &e), 0);
    struct plans pl = plans_of(env.n, a);
    for (int i = 0; i < pl.n; i++)
        assert_string_equal(pl.r[i].status, "cancelled");
    nudge_tick_stats st = tick_at(&env, VISIT - 60);
    assert_int_equal(st.sent, 0);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 0);
    /* Cancelling again is refused, and changes nothing. */
    assert_int_equal(nudge_appointment_cancel(env.n, c, a, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    tu_close(&env);
}

static void test_cancel_after_enqueue_cancels_the_queued_message(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    /* 09:30 local: the 2 h reminder is enqueued at 07:30 and waits in the
     * queue for quiet hours to end at 08:00. */
    int64_t visit = TU_T(2026, 12, 1, 4, 0);
    int64_t a = add_appt(env.n, c, p, visit);
    tick_at(&env, visit - 24 * 3600);
    nudge_tick_stats st = tick_at(&env, visit - 2 * 3600);
    assert_int_equal(st.deferred, 1);
    assert_int_equal(count_status(env.n, "pending"), 1);
    nudge_err e = {0};
    env.clock.t = visit - 45 * 60;
    assert_int_equal(nudge_appointment_cancel(env.n, c, a, &e), 0);
    assert_int_equal(count_status(env.n, "pending"), 0);
    st = tick_at(&env, visit - 30 * 60);
    assert_int_equal(st.sent, 0);
    assert_int_equal(count_status(env.n, "sent"), 2); /* confirmation, 24 h */
    tu_close(&env);
}

static void test_reschedule_moves_reminders(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t a = add_appt(env.n, c, p, VISIT);
    tick_at(&env, BOOKED);
    int64_t later = VISIT + 2 * 86400;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_reschedule(env.n, c, a, later, &e), 0);
    nudge_appointment ap;
    assert_int_equal(nudge_appointment_get(env.n, c, a, &ap, &e), 0);
    assert_string_equal(ap.status, "rescheduled");
    assert_int_equal(ap.start_at, later);
    /* The old times pass silently ... */
    nudge_tick_stats st = tick_at(&env, VISIT - 24 * 3600);
    assert_int_equal(st.sent, 1); /* the new confirmation, due at reschedule */
    st = tick_at(&env, VISIT - 2 * 3600);
    assert_int_equal(st.sent, 0);
    /* ... and the new ones send. */
    st = tick_at(&env, later - 24 * 3600);
    assert_int_equal(st.sent, 1);
    st = tick_at(&env, later - 2 * 3600);
    assert_int_equal(st.sent, 1);
    assert_int_equal(count_status(env.n, "sent"), 4);
    tu_close(&env);
}

static void test_plan_due_after_visit_began_expires(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t a = add_appt(env.n, c, p, VISIT);
    /* The worker was down from booking until after the visit. */
    nudge_tick_stats st = tick_at(&env, VISIT + 60);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.expired, 3);
    struct plans pl = plans_of(env.n, a);
    for (int i = 0; i < pl.n; i++)
        assert_string_equal(pl.r[i].status, "expired");
    assert_int_equal(tu_count_files(env.outbox, ".json"), 0);
    tu_close(&env);
}

/* planner.c runs a batch's due plans of one clinic in one transaction of
 * that clinic, the clinics one after the other: on SQLite (FULL) that is
 * one WAL sync a clinic, not one a plan. When the store refuses one plan,
 * its clinic's plans are run again one at a time, as before batching: the
 * one before it goes, it and the one after stay planned and become their
 * messages once each at the next run; the other clinic's, committed
 * first, stay as they were. */
static void test_planner_commits_a_clinics_plans_together(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t clinic[2] = {add_clinic(env.n, "Asia/Kolkata"), add_clinic(env.n, "Asia/Kolkata")};
    int64_t pat[6];
    for (int i = 0; i < 6; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "98765432%02d", i);
        pat[i] = add_patient(env.n, clinic[i % 2], "en", phone, "");
        add_appt(env.n, clinic[i % 2], pat[i], VISIT);
    }
    nudge_err e = {0};
    nudge_tick_stats st = {0};
    store *db = env.n->db;
    int pg = tu_pg_admin() != NULL;
    /* The second clinic's second patient's message is refused by the store. */
    char sql[512];
    if (pg)
        snprintf(sql, sizeof sql,
                 "CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "RAISE EXCEPTION 'refused'; END $$; CREATE TRIGGER t_refuse BEFORE INSERT ON "
                 "notification_queue FOR EACH ROW WHEN (NEW.patient_id = %lld) EXECUTE "
                 "FUNCTION t_refuse()",
                 (long long)pat[3]);
    else
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER t_refuse BEFORE INSERT ON notification_queue WHEN "
                 "NEW.patient_id = %lld BEGIN SELECT RAISE(ABORT, 'refused'); END",
                 (long long)pat[3]);
    assert_int_equal(db->ops->exec_script(db, sql), 0);
    env.clock.t = BOOKED + 60; /* the six confirmations are due */
    assert_int_equal(planner_run(env.n, clock_now(env.n), 0, &st, &e), -1);
    assert_non_null(strstr(e.msg, "refused"));
    assert_int_equal(st.planned_enqueued, 4);
    assert_int_equal(count_status(env.n, "pending"), 4); /* the first clinic's three, and one */
    int64_t planned = -1;
    assert_int_equal(store_scalar(db, &planned, &e,
                                  "SELECT COUNT(*) FROM reminders WHERE kind = 'confirmation' "
                                  "AND status = 'planned' AND clinic_id = ?",
                                  bind_int(clinic[1])),
                     1);
    assert_int_equal(planned, 2);
    assert_int_equal(db->ops->exec_script(db, pg ? "DROP TRIGGER t_refuse ON notification_queue"
                                                 : "DROP TRIGGER t_refuse"),
                     0);
    long syncs = sqlite_wal_syncs();
    memset(&st, 0, sizeof st);
    assert_int_equal(planner_run(env.n, clock_now(env.n), 0, &st, &e), 0);
    assert_int_equal(st.planned_enqueued, 2);
    if (!pg)
        assert_int_equal(sqlite_wal_syncs() - syncs, 1); /* one commit for two plans */
    assert_int_equal(count_status(env.n, "pending"), 6);
    assert_int_equal(store_scalar(db, &planned, &e,
                                  "SELECT COUNT(*) FROM reminders WHERE kind = 'confirmation' "
                                  "AND status = 'enqueued'"),
                     1);
    assert_int_equal(planned, 6);
    /* Nothing more is due: a run changes nothing. */
    memset(&st, 0, sizeof st);
    assert_int_equal(planner_run(env.n, clock_now(env.n), 0, &st, &e), 0);
    assert_int_equal(st.planned_enqueued, 0);
    assert_int_equal(count_status(env.n, "pending"), 6);
    tu_close(&env);
}

static void test_quiet_hours_defer_to_morning(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    /* Visit at 09:30 local: the 2 h reminder falls at 07:30, in quiet
     * hours (21:00-08:00), and waits until 08:00. */
    int64_t visit = TU_T(2026, 12, 1, 4, 0);
    add_appt(env.n, c, p, visit);
    tick_at(&env, BOOKED);
    tick_at(&env, visit - 24 * 3600);
    nudge_tick_stats st = tick_at(&env, visit - 2 * 3600);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.deferred, 1);
    st = tick_at(&env, visit - 90 * 60 - 1); /* 07:59:59 */
    assert_int_equal(st.sent, 0);
    st = tick_at(&env, visit - 90 * 60); /* 08:00 */
    assert_int_equal(st.sent, 1);
    tu_close(&env);
}

static void test_quiet_hours_until_visit_cancels(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    /* Visit at 07:30 local: its 2 h reminder (05:30) could only leave
     * after the visit. It is dropped, not sent late. */
    int64_t visit = TU_T(2026, 12, 1, 2, 0);
    add_appt(env.n, c, p, visit);
    tick_at(&env, BOOKED);
    /* The 24 h reminder (07:30 the day before) waits for 08:00 and goes. */
    nudge_tick_stats st = tick_at(&env, visit - 24 * 3600);
    assert_int_equal(st.deferred, 1);
    st = tick_at(&env, visit - 24 * 3600 + 30 * 60);
    assert_int_equal(st.sent, 1);
    st = tick_at(&env, visit - 2 * 3600);
    assert_int_equal(st.sent, 0);
    assert_int_equal(count_status(env.n, "cancelled"), 1);
    st = tick_at(&env, visit + 3600);
    assert_int_equal(st.sent, 0);
    tu_close(&env);
}

static void test_opt_out_is_honoured_at_send_time(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    nudge_patient pt;
    nudge_patient_init(&pt);
    pt.clinic_id = c;
    strcpy(pt.name, "Asha");
    strcpy(pt.phone, "9876543210");
    pt.opt_outs = NUDGE_OPTOUT_REMINDERS;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_add(env.n, &pt, &e), 0);
    add_appt(env.n, c, pt.id, VISIT);
    /* The confirmation is transactional and goes; reminders do not. */
    nudge_tick_stats st = tick_at(&env, BOOKED);
    assert_int_equal(st.sent, 1);
    st = tick_at(&env, VISIT - 24 * 3600);
    assert_int_equal(st.sent, 0);
    assert_int_equal(count_status(env.n, "cancelled"), 1);
    tu_close(&env);
}

static void test_complete_plans_follow_up_and_no_show_message(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t a1 = add_appt(env.n, c, p, VISIT);
    int64_t a2 = add_appt(env.n, c, p, VISIT + 86400);
    nudge_err e = {0};
    env.clock.t = VISIT + 3600;
    assert_int_equal(nudge_appointment_complete(env.n, c, a1, &e), 0);
    nudge_patient pt;
    assert_int_equal(nudge_patient_get(env.n, c, p, &pt, &e), 0);
    assert_int_equal(pt.last_visit, VISIT);
    /* no-show before the visit is refused */
    assert_int_equal(nudge_appointment_no_show(env.n, c, a2, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    env.clock.t = VISIT + 86400 + 3600;
    assert_int_equal(nudge_appointment_no_show(env.n, c, a2, &e), 0);
    struct plans pl = plans_of(env.n, a1);
    assert_string_equal(pl.r[pl.n - 1].kind, "follow_up");
    nudge_tick_stats st = tick_at(&env, env.clock.t);
    /* follow-up (due 24 h after completion) and no-show message (now) */
    assert_int_equal(st.sent, 2);
    tu_close(&env);
}

/* A transport that always fails, via SMTP to a closed loopback port. */
static void open_failing(tu_env *env, int64_t t)
{
    memset(env, 0, sizeof *env);
    tu_tmpdir(env->dir, sizeof env->dir);
    tu_db_migrated(env->dir, env->db, sizeof env->db);
    snprintf(env->outbox, sizeof env->outbox, "%s/out", env->dir);
    nudge_clock_fake(&env->clock, t);
    nudge_config cfg = {.db = env->db,
                        .outbox_dir = env->outbox,
                        .clock = &env->clock,
                        .smtp_url = "smtp://127.0.0.1:9",
                        .smtp_from = "clinic@example.com"};
    nudge_err err = {0};
    if (nudge_open(&cfg, &env->n, &err) < 0)
        fail_msg("nudge_open: %s", err.msg);
}

static void test_transient_failure_backs_off_then_fails(void **state)
{
    (void)state;
    tu_env env;
    open_failing(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "", "ram@example.com");
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    nudge_err e = {0};
    int64_t id;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id, NULL, &e), 0);
    int64_t t = BOOKED;
    nudge_tick_stats st = tick_at(&env, t);
    assert_int_equal(st.retried, 1);
    /* The seed's schedule: 5 min, 15 min, 1 h, then failed (3 retries). */
    static const int64_t steps[] = {5 * 60, 15 * 60, 3600};
    for (int i = 0; i < 3; i++) {
        st = tick_at(&env, t + steps[i] - 1);
        assert_int_equal(st.claimed, 0);
        t += steps[i];
        st = tick_at(&env, t);
        assert_int_equal(st.claimed, 1);
        if (i < 2)
            assert_int_equal(st.retried, 1);
        else
            assert_int_equal(st.failed, 1);
    }
    nudge_notification m;
    assert_int_equal(nudge_notification_get(env.n, c, id, &m, &e), 0);
    assert_string_equal(m.status, "failed");
    assert_int_equal(m.attempts, 4);
    assert_true(strlen(m.last_error) > 0);
    nudge_notification_free(&m);
    /* Nothing more happens to a failed message ... */
    st = tick_at(&env, t + 86400);
    assert_int_equal(st.claimed, 0);
    /* ... until staff retry it, which starts the budget afresh. */
    assert_int_equal(nudge_notification_retry(env.n, c, id, &e), 0);
    st = tick_at(&env, t + 86400);
    assert_int_equal(st.claimed, 1);
    tu_close(&env);
}

static void test_rate_limit_holds_over_a_minute(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata"); /* 20 per minute */
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    for (int i = 0; i < 45; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        assert_int_equal(nudge_enqueue(env.n, c, &s, NULL, NULL, &e), 0);
    }
    int64_t t = BOOKED;
    assert_int_equal(tick_at(&env, t).sent, 20);
    /* Within the same sliding minute: nothing more. */
    assert_int_equal(tick_at(&env, t + 30).sent, 0);
    assert_int_equal(tick_at(&env, t + 59).sent, 0);
    assert_int_equal(tick_at(&env, t + 60).sent, 20);
    /* An upgrade now, from before migration 030: its rate_window starts
     * from the attempts already made, or t + 60's would not count. */
    const struct migration *m = env.n->db->ops->migrations;
    while (m->sql && m->version != 30)
        m++;
    assert_non_null(m->sql);
    assert_int_equal(store_exec(env.n->db, &e, "DROP TABLE rate_window"), 0);
    assert_int_equal(store_exec(env.n->db, &e,
                                "CREATE INDEX da_rate_outcome ON delivery_attempts (clinic_id, "
                                "channel, started_at, outcome)"),
                     0);
    assert_int_equal(env.n->db->ops->exec_script(env.n->db, m->sql), 0);
    assert_int_equal(tick_at(&env, t + 90).sent, 0);
    assert_int_equal(tick_at(&env, t + 120).sent, 5);
    assert_int_equal(count_status(env.n, "sent"), 45);
    /* The window keeps what a budget may read, and a minute more: t's
     * second went with the record at t + 120. */
    int64_t rows = 0, sum = 0;
    assert_int_equal(store_scalar(env.n->db, &rows, &e,
                                  "SELECT COUNT(*) FROM rate_window WHERE clinic_id = ?",
                                  bind_int(c)),
                     1);
    assert_int_equal(store_scalar(env.n->db, &sum, &e,
                                  "SELECT SUM(attempts) FROM rate_window WHERE clinic_id = ?",
                                  bind_int(c)),
                     1);
    assert_int_equal(rows, 2);
    assert_int_equal(sum, 25);
    tu_close(&env);
}

/* Three sends for p, enqueued low, urgent, high: ids[] in that order. */
static void enqueue_low_urgent_high(nudge *n, int64_t c, int64_t p, int64_t ids[3])
{
    static const int prios[3] = {NUDGE_LOW, NUDGE_URGENT, NUDGE_HIGH};
    nudge_err e = {0};
    for (int i = 0; i < 3; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = prios[i]};
        assert_int_equal(nudge_enqueue(n, c, &s, &ids[i], NULL, &e), 0);
    }
}

/* The first hand-off rides in the claim's commit: the most urgent rows,
 * as many as asked, marked before the claim returns; the others are left
 * to the dispatcher's hand-off. */
static void test_claim_hands_off_its_first_rows(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    int64_t ids[3];
    enqueue_low_urgent_high(env.n, c, p, ids);
    queue_ref rows[4];
    nudge_notification msgs[4] = {0};
    char *data[4] = {0};
    signed char handed[4] = {9, 9, 9, 9};
    assert_int_equal(queue_claim_rows(env.n, rows, msgs, data, 4, 2, handed, &e), 3);
    assert_int_equal(msgs[0].id, ids[1]); /* urgent, then high, then low */
    assert_int_equal(msgs[1].id, ids[2]);
    assert_int_equal(msgs[2].id, ids[0]);
    assert_int_equal(handed[0], 1);
    assert_int_equal(handed[1], 1);
    assert_int_equal(handed[2], 0);
    int64_t marked = -1;
    assert_int_equal(store_scalar(env.n->db, &marked, &e,
                                  "SELECT COUNT(*) FROM notification_queue WHERE handed_at IS NOT "
                                  "NULL AND id IN (?, ?)",
                                  bind_int(ids[1]), bind_int(ids[2])),
                     1);
    assert_int_equal(marked, 2);
    assert_int_equal(store_scalar(env.n->db, &marked, &e,
                                  "SELECT COUNT(*) FROM notification_queue WHERE handed_at IS NOT "
                                  "NULL AND id = ?",
                                  bind_int(ids[0])),
                     1);
    assert_int_equal(marked, 0);
    for (int i = 0; i < 3; i++) {
        nudge_notification_free(&msgs[i]);
        free(data[i]);
    }
    /* A worker stopping gives back only what it never handed off. */
    assert_int_equal(queue_unclaim(env.n, rows, 3, &e), 0);
    assert_int_equal(count_status(env.n, "pending"), 1);
    tu_close(&env);
}

/* One single enqueue of prescription_ready by SMS on handle n: its
 * notification (the caller frees it) and its transport data. */
static nudge_notification enqueue_read(nudge *n, int64_t clinic, int64_t patient, char **data)
{
    nudge_send s = {.patient_id = patient, .template_name = "prescription_ready", .channel = "sms"};
    int64_t id = 0;
    nudge_notification m = {0};
    nudge_err e = {0};
    if (nudge_enqueue(n, clinic, &s, &id, NULL, &e) < 0 ||
        nudge_notification_get(n, clinic, id, &m, &e) < 0 ||
        queue_transport_data(n, clinic, id, data, &e) < 0)
        fail_msg("enqueue: %s", e.msg);
    return m;
}

/* A handle keeps the templates its single enqueues resolved
 * (tmpl_cache_get), and reads them again once another handle (another
 * process alike: the version is in the clinic's row) writes the clinic's
 * template, its provider mapping, or the clinic's language a template
 * falls back to. */
static void test_single_enqueue_reads_a_changed_template_again(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    /* Tamil: no template has it, so the clinic's language is used. */
    int64_t p = add_patient(env.n, c, "ta", "9876543210", "");
    nudge *other;
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &other, &e), 0);
    char *data;

    nudge_notification m = enqueue_read(env.n, c, p, &data);
    assert_string_equal(m.language, "en");
    assert_null(strstr(m.body, "Changed"));
    assert_false(data && strstr(data, "msg91"));
    char *first = strdup(m.body);
    nudge_notification_free(&m);
    free(data);
    m = enqueue_read(env.n, c, p, &data); /* from the cache: the same */
    assert_string_equal(m.body, first);
    nudge_notification_free(&m);
    free(data);
    free(first);

    nudge_template t = {.clinic_id = c};
    strcpy(t.name, "prescription_ready");
    strcpy(t.language, "en");
    strcpy(t.category, "transactional");
    t.sms = "Changed: {patient_name}, your prescription is ready.";
    t.subject = "Your prescription";
    t.text = "Changed: your prescription is ready.";
    t.html = "<p>Changed: your prescription is ready.</p>";
    if (nudge_template_put(other, c, &t, &e) < 0)
        fail_msg("template: %s (%s)", e.msg, e.field);
    m = enqueue_read(env.n, c, p, &data);
    assert_string_equal(m.body, "Changed: Ram Lal, your prescription is ready.");
    assert_false(data && strstr(data, "msg91"));
    nudge_notification_free(&m);
    free(data);

    assert_int_equal(nudge_msg91_template_put(other, c, "prescription_ready", "en",
                                              "64a1b2c3d4e5f6a7b8c9d0e1", "VAR1:patient_name", &e),
                     0);
    m = enqueue_read(env.n, c, p, &data);
    assert_true(data && strstr(data, "64a1b2c3d4e5f6a7b8c9d0e1"));
    nudge_notification_free(&m);
    free(data);

    nudge_clinic cl;
    assert_int_equal(nudge_clinic_get(other, c, &cl, &e), 0);
    strcpy(cl.language, "hi");
    assert_int_equal(nudge_clinic_update(other, &cl, &e), 0);
    m = enqueue_read(env.n, c, p, &data);
    assert_string_equal(m.language, "hi");
    assert_null(strstr(m.body, "Changed"));
    nudge_notification_free(&m);
    free(data);

    nudge_close(other);
    tu_close(&env);
}

/* The claim reads the due rows it takes and no others, in (priority,
 * due_at, id) order, however many rows wait behind them: a burst all due
 * at one instant comes out by id, rows not yet due in a more urgent
 * priority are never read, and on PostgreSQL the plan holds on a table
 * no ANALYZE has seen (a queue's statistics are always behind). The
 * statements are queue.c's own (core.h: queue_sql_claim_pg and the rest). */
static void test_claim_reads_only_the_due_rows_it_takes(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int pg = !strcmp(env.n->db->ops->engine, "postgresql");
    enum { LATER = 300, BURST = 1000 };
    nudge_send *s = calloc(BURST, sizeof *s);
    nudge_batch_result *out = calloc(BURST, sizeof *out);
    assert_non_null(s);
    assert_non_null(out);
    nudge_err e = {0};
    for (int i = 0; i < LATER; i++) /* tomorrow's, urgent */
        s[i] = (nudge_send){.patient_id = p, .template_name = "prescription_ready",
                            .priority = NUDGE_URGENT, .due_at = BOOKED + 86400};
    assert_int_equal(nudge_enqueue_batch(env.n, c, s, LATER, out, &e), 0);
    for (int i = 0; i < BURST; i++) /* all due now, at one instant */
        s[i] = (nudge_send){.patient_id = p, .template_name = "prescription_ready",
                            .priority = NUDGE_NORMAL, .due_at = BOOKED};
    assert_int_equal(nudge_enqueue_batch(env.n, c, s, BURST, out, &e), 0);
    queue_ref rows[5];
    nudge_notification msgs[5] = {0};
    char *data[5] = {0};
    signed char handed[5];
    assert_int_equal(queue_claim_rows(env.n, rows, msgs, data, 5, 0, handed, &e), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(msgs[i].id, out[i].id); /* the burst's first five, by id */
        nudge_notification_free(&msgs[i]);
        free(data[i]);
    }
    char plan[4096];
    store_val v[3] = {bind_int(NUDGE_NORMAL), bind_int(BOOKED), bind_int(5)};
    if (pg) {
        tu_plan(env.n->db, queue_sql_claim_pg, v, 3, plan, sizeof plan);
        if (!strstr(plan, "Index Scan using nq_claim on") || strstr(plan, "Sort"))
            fail_msg("the claim's read is not nq_claim's ordered range:\n%s", plan);
        /* The lease of five rows, as the claim above took. (Of one or two
         * rows the planner finds them by nq_id instead: as few reads.) */
        const char *tids = "{\"(0,1)\",\"(0,2)\",\"(0,3)\",\"(0,4)\",\"(0,5)\"}";
        char ids[128];
        snprintf(ids, sizeof ids, "%lld,%lld,%lld,%lld,%lld", (long long)out[0].id,
                 (long long)out[1].id, (long long)out[2].id, (long long)out[3].id,
                 (long long)out[4].id);
        store_val u[7] = {bind_int(BOOKED + 300), bind_text("worker"), bind_text(""),
                          bind_int(BOOKED), bind_int(BOOKED), bind_text(tids), bind_text(ids)};
        tu_plan(env.n->db, queue_sql_lease_pg, u, 7, plan, sizeof plan);
        if (!strstr(plan, "Tid Scan"))
            fail_msg("the claim's update does not find its rows by ctid:\n%s", plan);
        /* The hand-off of the same five (queue_handoff_pg): by their ids,
         * not with a walk of nq_claim's rows in `sending`, dead entries
         * and all. */
        store_val h[3] = {bind_int(BOOKED), bind_text(ids), bind_text("worker")};
        tu_plan(env.n->db, queue_sql_handoff_pg, h, 3, plan, sizeof plan);
        if (strstr(plan, "nq_claim") || !strstr(plan, "nq_id"))
            fail_msg("the hand-off does not find its rows by id alone:\n%s", plan);
        /* The record's UPDATE (queue_record_rows_pg, two rows): each row by
         * its key, not by a walk of every row in `sending`. */
        store_val r[17] = {bind_int(c), bind_int(out[0].id), bind_text("sent"), bind_int(1),
                           bind_int(BOOKED), bind_text("SM1"), bind_text(""), bind_int(BOOKED),
                           bind_int(c), bind_int(out[1].id), bind_text("sent"), bind_int(1),
                           bind_int(BOOKED), bind_text("SM2"), bind_text(""), bind_int(BOOKED),
                           bind_text("worker")};
        char *record = queue_sql_record_pg(2);
        assert_non_null(record);
        tu_plan(env.n->db, record, r, 17, plan, sizeof plan);
        free(record);
        if (!strstr(plan, "notification_queue_pkey"))
            fail_msg("the record's update does not find its rows by their key:\n%s", plan);
    } else {
        store_val w[4] = {bind_int(NUDGE_NORMAL), bind_int(BOOKED), bind_text(","),
                          bind_int(5)};
        tu_plan(env.n->db, queue_sql_claim_sqlite, w, 4, plan, sizeof plan);
        if (!strstr(plan, "nq_claim (status=? AND priority=? AND due_at<?)") ||
            strstr(plan, "TEMP B-TREE"))
            fail_msg("the claim's read is not nq_claim's ordered range:\n%s", plan);
    }
    free(s);
    free(out);
    tu_close(&env);
}

/* PostgreSQL's lease reaper runs every second on every worker: its
 * UPDATE finds the expired rows by the ctids its own read locked, not by
 * a join that scans the table (queue_reap_pg's statement, core.h). */
static void test_reap_finds_its_rows_by_ctid(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    if (strcmp(env.n->db->ops->engine, "postgresql")) {
        tu_close(&env);
        skip(); /* SQLite's reaper is two statements on one writer */
    }
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t ids[3];
    enqueue_low_urgent_high(env.n, c, p, ids);
    char plan[4096];
    store_val v[5] = {bind_int(BOOKED), bind_text("worker"), bind_int(BOOKED), bind_int(BOOKED),
                      bind_text("worker")};
    tu_plan(env.n->db, queue_sql_reap_pg, v, 5, plan, sizeof plan);
    if (!strstr(plan, "Tid Scan on notification_queue q") || strstr(plan, "Seq Scan"))
        fail_msg("the reaper's update is not a Tid Scan of the rows it locked:\n%s", plan);
    tu_close(&env);
}

struct order {
    int n;
    int64_t ids[8];
};
static void record_order(void *ctx, const nudge_notification *m, const char *outcome)
{
    struct order *o = ctx;
    if (!strcmp(outcome, "sent") && o->n < 8)
        o->ids[o->n++] = m->id;
}

static void test_urgent_first_and_ignores_quiet_hours(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 11, 24, 18, 0)); /* 23:30 local: quiet */
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    int64_t ids[3];
    enqueue_low_urgent_high(env.n, c, p, ids);
    struct order o = {0};
    nudge_on_sent(env.n, record_order, &o);
    nudge_tick_stats st = tick_at(&env, env.clock.t);
    assert_int_equal(st.sent, 1); /* only urgent, at night */
    assert_int_equal(o.ids[0], ids[1]);
    assert_int_equal(st.deferred, 2);
    st = tick_at(&env, TU_T(2026, 11, 25, 2, 30)); /* 08:00 local */
    assert_int_equal(st.sent, 2);
    assert_int_equal(o.ids[1], ids[2]); /* high before low */
    assert_int_equal(o.ids[2], ids[0]);
    tu_close(&env);
}

static void test_dedupe_key_enqueues_once(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL, .dedupe_key = "rx-42"};
    int64_t a, b;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &a, NULL, &e), 0);
    assert_int_equal(nudge_enqueue(env.n, c, &s, &b, NULL, &e), 0);
    assert_int_equal(a, b);
    assert_int_equal(count_status(env.n, "pending"), 1);
    tu_close(&env);
}

static void test_enqueue_rejects_missing_variable(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    nudge_send s = {.patient_id = p, .template_name = "lab_due", .priority = NUDGE_NORMAL};
    assert_int_equal(nudge_enqueue(env.n, c, &s, NULL, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_non_null(strstr(e.field, "test_name"));
    assert_int_equal(count_status(env.n, "pending"), 0);
    tu_close(&env);
}

static void test_staff_cancel_and_state_rules(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    int64_t id, id2;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id, NULL, &e), 0);
    assert_int_equal(nudge_notification_cancel(env.n, c, id, &e), 0);
    assert_int_equal(tick_at(&env, BOOKED).sent, 0);
    assert_int_equal(nudge_notification_cancel(env.n, c, id, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id2, NULL, &e), 0);
    assert_int_equal(tick_at(&env, BOOKED).sent, 1);
    /* A sent message cannot be retried or cancelled. */
    assert_int_equal(nudge_notification_retry(env.n, c, id2, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    /* Another clinic cannot see it. */
    int64_t other = add_clinic(env.n, "Asia/Kolkata");
    assert_int_equal(nudge_notification_cancel(env.n, other, id, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&env);
}

/* A worker claims a batch, hands two of its five rows to the provider and
 * is killed before recording anything (issue 11, defect 7). The next pass,
 * on the same host and long before the lease ends, sees its process gone:
 * the three never handed off go out with no attempt spent, the two that
 * may have reached the patient go again as a recorded retry. */
static void test_worker_killed_mid_batch_loses_nothing(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    for (int i = 0; i < 5; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        assert_int_equal(nudge_enqueue(env.n, c, &s, NULL, NULL, &e), 0);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The doomed worker: its own handle on the same database. */
        nudge_clock clk;
        nudge_clock_fake(&clk, BOOKED);
        nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clk,
                            .lease_seconds = 120};
        nudge *w;
        nudge_err we = {0};
        if (nudge_open(&cfg, &w, &we) < 0)
            _exit(2);
        queue_ref ids[16];
        signed char handed[16];
        int got = queue_claim(w, ids, 16, &we);
        if (got != 5 || queue_handoff(w, ids, 2, handed, &we) < 0 || handed[1] != 1)
            _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(count_status(env.n, "sending"), 5);
    /* Not the lease's end: the dead process's rows come back at once. */
    assert_int_equal(tick_at(&env, BOOKED + 1).sent, 5);
    assert_int_equal(count_status(env.n, "sent"), 5);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 5);
    int64_t twice = 0, retries = 0;
    assert_int_equal(store_scalar(env.n->db, &twice, &e,
                                  "SELECT COUNT(*) FROM notification_queue WHERE attempts = 2"),
                     1);
    assert_int_equal(twice, 2); /* the lost attempt of each handed row is counted */
    assert_int_equal(store_scalar(env.n->db, &retries, &e,
                                  "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = "
                                  "'lease_expired' AND detail LIKE '%died during the send'"),
                     1);
    assert_int_equal(retries, 2);
    tu_close(&env);
}

/* A provider's report can arrive before the worker records the send it is
 * about; it is kept and applied then, not lost. */
static void test_report_before_the_send_is_recorded(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_err e = {0};
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    int64_t id;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id, NULL, &e), 0);
    int applied = 1;
    /* The outbox names its "provider id" after the file it writes. */
    char pid[64];
    snprintf(pid, sizeof pid, "%lld-sms.json", (long long)id);
    assert_int_equal(nudge_delivery_report(env.n, "outbox", pid, "delivered", NULL, &applied, &e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(tick_at(&env, BOOKED).sent, 1);
    nudge_notification m;
    assert_int_equal(nudge_notification_get(env.n, c, id, &m, &e), 0);
    assert_string_equal(m.status, "delivered");
    nudge_notification_free(&m);
    /* A late "sent" after it changes nothing. */
    assert_int_equal(nudge_delivery_report(env.n, "outbox", pid, "sent", NULL, &applied, &e), 0);
    assert_int_equal(applied, 0);
    tu_close(&env);
}

static void test_bad_input_is_rejected_with_field(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    nudge_err e = {0};
    nudge_clinic cl;
    nudge_clinic_defaults(&cl);
    strcpy(cl.name, "X");
    strcpy(cl.timezone, "Mars/Olympus");
    strcpy(cl.country, "IN");
    assert_int_equal(nudge_clinic_add(env.n, &cl, &e), -1);
    assert_string_equal(e.field, "timezone");
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c;
    strcpy(p.name, "A");
    strcpy(p.phone, "12345");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "phone");
    strcpy(p.phone, "");
    strcpy(p.email, "not-an-email");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "email");
    strcpy(p.email, "a@example.com");
    strcpy(p.preferred_channel, "sms");
    assert_int_equal(nudge_patient_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "preferred_channel");
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = 999;
    strcpy(a.service, "x");
    a.start_at = VISIT;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_add(env.n, c, &a, &e), -1);
    assert_string_equal(e.field, "patient");
    tu_close(&env);
}

static void test_audit_log_is_append_only(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    add_clinic(env.n, "Asia/Kolkata");
    nudge_close(env.n);
    /* Reopen the raw file: even direct SQL cannot rewrite history. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s '%s' %s\"DELETE FROM audit_log\" 2>&1 | grep -q append-only",
             tu_pg_admin() ? "psql" : "sqlite3", env.db, tu_pg_admin() ? "-c " : "");
    assert_int_equal(system(cmd), 0);
    env.n = NULL;
    tu_db_drop(env.db);
    tu_rmrf(env.dir);
}

/* A transport of the embedder's, registered through the C API. */
struct pigeon {
    int sent, freed;
    char to[32], text[256], data[512];
    int result;
};

static int pigeon_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    struct pigeon *pg = ctx;
    snprintf(pg->to, sizeof pg->to, "%s", m->to);
    snprintf(pg->text, sizeof pg->text, "%s", m->text);
    snprintf(pg->data, sizeof pg->data, "%s", m->transport_data ? m->transport_data : "");
    out->result = pg->result;
    if (pg->result == NUDGE_SENT)
        snprintf(out->provider_id, sizeof out->provider_id, "PG-%d", ++pg->sent);
    else
        snprintf(out->detail, sizeof out->detail, "the pigeon is tired");
    return 0;
}

static void pigeon_free(void *ctx)
{
    ((struct pigeon *)ctx)->freed++;
}

static int first_attempt(void *ctx, const nudge_attempt *a)
{
    *(nudge_attempt *)ctx = *a;
    return 1;
}

static int64_t count_sql(const char *db, const char *sql)
{
    store *s;
    nudge_err e = {0};
    int64_t v = -1;
    if (store_open(db, &s, &e) < 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_scalar(s, &v, &e, sql), 1);
    store_close(s);
    return v;
}

/* A refused credential raises channel.misconfigured once an hour per
 * clinic and transport, not at every refused send; and the rest it
 * starts is the store's, so a second worker with working credentials
 * (another process, its own handle) waits it out too. */
static void test_refused_credentials_alert_once_and_rest_every_worker(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    nudge_err e = {0};
    struct pigeon bad = {.result = NUDGE_SEND_CONFIG}, good = {.result = NUDGE_SENT};
    nudge_transport t = {.name = "pigeon", .medium = "sms", .send = pigeon_send};
    assert_int_equal(nudge_transport_register(env.n, &t, &bad, &e), 0);
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .channel = "sms", .priority = NUDGE_URGENT};
    assert_int_equal(nudge_enqueue(env.n, c, &s, NULL, NULL, &e), 0);
    assert_int_equal(tick_at(&env, BOOKED + 60).retried, 1);
    assert_int_equal(tick_at(&env, BOOKED + 60 + 301).retried, 1); /* refused again */
    assert_int_equal(tick_at(&env, BOOKED + 60 + 602).retried, 1);
    assert_int_equal(count_sql(env.db, "SELECT COUNT(*) FROM events WHERE type = "
                                       "'channel.misconfigured'"),
                     1);

    /* The second worker's pigeon would deliver, but the channel rests. */
    nudge_clock clk;
    nudge_clock_fake(&clk, BOOKED + 60 + 602 + 10);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clk};
    nudge *w;
    assert_int_equal(nudge_open(&cfg, &w, &e), 0);
    assert_int_equal(nudge_transport_register(w, &t, &good, &e), 0);
    s.dedupe_key = "second";
    assert_int_equal(nudge_enqueue(w, c, &s, NULL, NULL, &e), 0);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(w, &st, &e), 0);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.deferred, 1);
    assert_int_equal(good.sent, 0);
    clk.t = BOOKED + 60 + 602 + 301; /* the rest is over: both go */
    assert_int_equal(nudge_tick(w, &st, &e), 0);
    assert_int_equal(st.sent, 2);
    assert_int_equal(good.sent, 2);
    nudge_close(w);
    tu_close(&env);
}

static void test_registered_transport_carries_its_medium(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    nudge_err e = {0};
    struct pigeon sms = {.result = NUDGE_SENT}, wa = {.result = NUDGE_SEND_TRANSIENT};
    nudge_transport bad = {.name = "pigeon", .medium = "fax", .send = pigeon_send};
    assert_int_equal(nudge_transport_register(env.n, &bad, &sms, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(nudge_transport_for(env.n, "sms"), "outbox");
    nudge_transport t = {
        .name = "pigeon", .medium = "sms", .send = pigeon_send, .free = pigeon_free};
    assert_int_equal(nudge_transport_register(env.n, &t, &sms, &e), 0);
    nudge_transport t2 = {
        .name = "pigeon-wa", .medium = "whatsapp", .send = pigeon_send, .free = pigeon_free};
    assert_int_equal(nudge_transport_register(env.n, &t2, &wa, &e), 0);
    assert_string_equal(nudge_transport_for(env.n, "sms"), "pigeon");
    assert_string_equal(nudge_transport_for(env.n, "whatsapp"), "pigeon-wa");
    assert_string_equal(nudge_transport_for(env.n, "email"), "outbox");

    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    assert_int_equal(nudge_whatsapp_template_put(env.n, c, "prescription_ready", "en",
                                                 "rx_ready", "en", "patient_name", NULL, 0, &e),
                     0);
    int64_t id_sms, id_wa;
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .channel = "sms", .priority = NUDGE_URGENT};
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id_sms, NULL, &e), 0);
    s.channel = "whatsapp";
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id_wa, NULL, &e), 0);
    nudge_tick_stats st = tick_at(&env, BOOKED + 60);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.retried, 1);

    /* The SMS went through the pigeon, which named it. */
    assert_int_equal(sms.sent, 1);
    assert_string_equal(sms.to, "+919876543210");
    assert_non_null(strstr(sms.text, "prescription is ready"));
    nudge_notification m;
    assert_int_equal(nudge_notification_get(env.n, c, id_sms, &m, &e), 0);
    assert_string_equal(m.status, "sent");
    assert_string_equal(m.provider_id, "PG-1");
    nudge_notification_free(&m);
    nudge_attempt at;
    memset(&at, 0, sizeof at);
    assert_int_equal(nudge_attempt_list(env.n, c, id_sms, first_attempt, &at, &e), 0);
    assert_string_equal(at.transport, "pigeon");

    /* The WhatsApp message carried its provider data, opaque to the queue,
     * and the transport's failure was recorded as it said. */
    assert_non_null(strstr(wa.data, "\"whatsapp\""));
    assert_non_null(strstr(wa.data, "rx_ready"));
    assert_int_equal(nudge_notification_get(env.n, c, id_wa, &m, &e), 0);
    assert_string_equal(m.status, "pending");
    assert_string_equal(m.last_error, "the pigeon is tired");
    nudge_notification_free(&m);
    memset(&at, 0, sizeof at);
    assert_int_equal(nudge_attempt_list(env.n, c, id_wa, first_attempt, &at, &e), 0);
    assert_string_equal(at.transport, "pigeon-wa");
    assert_string_equal(at.outcome, "transient");

    tu_close(&env);
    assert_int_equal(sms.freed, 1);
    assert_int_equal(wa.freed, 1);
}

/* A pending message past its expiry is cancelled by the tick's sweep
 * (queue_reap, through nq_expiry: migration 034), whether or not it is
 * due, and never sent; one not yet expired is left to go when due. */
static void test_expired_pending_is_cancelled_not_sent(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, "en", "9876543210", "");
    nudge_send s = {.patient_id = p,
                    .template_name = "prescription_ready",
                    .channel = "sms",
                    .priority = NUDGE_NORMAL,
                    .due_at = BOOKED + 3600};
    int64_t early, late;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &early, NULL, &e), 0);
    assert_int_equal(nudge_enqueue(env.n, c, &s, &late, NULL, &e), 0);
    assert_int_equal(store_exec(env.n->db, &e,
                                "UPDATE notification_queue SET expires_at = CASE id WHEN ? THEN ? "
                                "ELSE ? END WHERE id IN (?, ?)",
                                bind_int(early), bind_int(BOOKED + 600), bind_int(BOOKED + 7200),
                                bind_int(early), bind_int(late)),
                     0);
    tick_at(&env, BOOKED + 599);
    assert_int_equal(count_status(env.n, "pending"), 2);
    tick_at(&env, BOOKED + 600);
    nudge_notification m;
    assert_int_equal(nudge_notification_get(env.n, c, early, &m, &e), 0);
    assert_string_equal(m.status, "cancelled");
    assert_string_equal(m.last_error, "expired before it could be sent");
    nudge_notification_free(&m);
    assert_int_equal(count_status(env.n, "pending"), 1);
    nudge_tick_stats st = tick_at(&env, BOOKED + 3600);
    assert_int_equal(st.sent, 1);
    assert_int_equal(nudge_notification_get(env.n, c, late, &m, &e), 0);
    assert_string_equal(m.status, "sent");
    nudge_notification_free(&m);
    tu_close(&env);
}

/* More plans due at once than a tick makes messages before its first send
 * (nudge.c's TICK_PLAN_AHEAD batches of 64): the first goes out before the
 * last is planned, the rest are planned when the queue runs short, and
 * each is still made a message once and sent once, in that one tick. */
#define BURST 1100
struct burst {
    const nudge_tick_stats *st;
    int sent;
    int64_t planned_at_first;
};

static int burst_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    (void)m;
    struct burst *b = ctx;
    if (b->sent++ == 0)
        b->planned_at_first = b->st->planned_enqueued;
    out->result = NUDGE_SENT;
    snprintf(out->provider_id, sizeof out->provider_id, "B-%d", b->sent);
    return 0;
}

static void test_burst_sent_while_planned(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, BOOKED);
    nudge_err e = {0};
    nudge_tick_stats st;
    struct burst b = {.st = &st};
    nudge_transport t = {.name = "burst", .medium = "sms", .send = burst_send};
    assert_int_equal(nudge_transport_register(env.n, &t, &b, &e), 0);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    c.rate_per_minute = 100000;
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    /* Each visit books a confirmation, due now. */
    assert_int_equal(store_begin(env.n->db, &e), 0);
    for (int i = 0; i < BURST; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "98%08d", i);
        add_appt(env.n, c.id, add_patient(env.n, c.id, "en", phone, ""), BOOKED + 2 * 86400);
    }
    assert_int_equal(store_commit(env.n->db, &e), 0);
    env.clock.t = BOOKED + 60;
    assert_int_equal(nudge_tick(env.n, &st, &e), 0);
    assert_int_equal(st.planned_enqueued, BURST);
    assert_int_equal(st.sent, BURST);
    assert_int_equal(b.sent, BURST);
    assert_int_equal(b.planned_at_first, 16 * 64);
    assert_int_equal(count_status(env.n, "sent"), BURST);
    int64_t left = -1;
    assert_int_equal(store_scalar(env.n->db, &left, &e,
                                  "SELECT COUNT(*) FROM reminders WHERE kind = 'confirmation' "
                                  "AND status = 'planned'"),
                     1);
    assert_int_equal(left, 0);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_booking_plans_confirmation_and_two_reminders),
        cmocka_unit_test(test_reminders_go_out_on_time_in_hindi),
        cmocka_unit_test(test_english_patient_by_email_gets_eml),
        cmocka_unit_test(test_cancel_drops_plans_and_pending),
        cmocka_unit_test(test_cancel_after_enqueue_cancels_the_queued_message),
        cmocka_unit_test(test_reschedule_moves_reminders),
        cmocka_unit_test(test_plan_due_after_visit_began_expires),
        cmocka_unit_test(test_planner_commits_a_clinics_plans_together),
        cmocka_unit_test(test_quiet_hours_defer_to_morning),
        cmocka_unit_test(test_quiet_hours_until_visit_cancels),
        cmocka_unit_test(test_opt_out_is_honoured_at_send_time),
        cmocka_unit_test(test_complete_plans_follow_up_and_no_show_message),
        cmocka_unit_test(test_transient_failure_backs_off_then_fails),
        cmocka_unit_test(test_rate_limit_holds_over_a_minute),
        cmocka_unit_test(test_claim_hands_off_its_first_rows),
        cmocka_unit_test(test_claim_reads_only_the_due_rows_it_takes),
        cmocka_unit_test(test_single_enqueue_reads_a_changed_template_again),
        cmocka_unit_test(test_reap_finds_its_rows_by_ctid),
        cmocka_unit_test(test_urgent_first_and_ignores_quiet_hours),
        cmocka_unit_test(test_dedupe_key_enqueues_once),
        cmocka_unit_test(test_enqueue_rejects_missing_variable),
        cmocka_unit_test(test_staff_cancel_and_state_rules),
        cmocka_unit_test(test_worker_killed_mid_batch_loses_nothing),
        cmocka_unit_test(test_report_before_the_send_is_recorded),
        cmocka_unit_test(test_bad_input_is_rejected_with_field),
        cmocka_unit_test(test_audit_log_is_append_only),
        cmocka_unit_test(test_registered_transport_carries_its_medium),
        cmocka_unit_test(test_burst_sent_while_planned),
        cmocka_unit_test(test_expired_pending_is_cancelled_not_sent),
        cmocka_unit_test(test_refused_credentials_alert_once_and_rest_every_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
