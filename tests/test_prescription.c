/*
 * test_prescription.c: medication reminders from prescriptions on a fake
 * clock, through the real store, planner, dispatcher and outbox: courses
 * across DST spring-forward and fall-back in America/New_York and
 * Europe/London (every dose at its local time, none skipped or doubled),
 * Asia/Kolkata, a dose time in a DST gap, one message per dose time
 * listing every drug due then, the patient's preferred time, quiet hours
 * deferring or cancelling a dose, stop and change in one transaction, and
 * bad input refused with nothing written.
 */
#include "testutil.h"
#include "tz.h"

static int64_t add_clinic(nudge *n, const char *tz, int quiet)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, tz);
    strcpy(c.country, "IN");
    if (!quiet)
        c.quiet_start = c.quiet_end = 0;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t add_patient(nudge *n, int64_t clinic, const char *lang, int preferred)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Ram Lal");
    strcpy(p.language, lang);
    strcpy(p.phone, "9876543210");
    p.preferred_time = preferred;
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static void med(nudge_prescription *p, const char *drug, const char *dose, const char *freq,
                const char *dur, const char *times)
{
    nudge_medication *m = &p->medications[p->n_medications++];
    memset(m, 0, sizeof *m);
    strcpy(m->drug_name, drug);
    strcpy(m->dose, dose);
    strcpy(m->frequency, freq);
    strcpy(m->duration, dur);
    if (times)
        strcpy(m->times, times);
}

static void rx_init(nudge_prescription *p, int64_t clinic, int64_t patient, const char *start)
{
    memset(p, 0, sizeof *p);
    p->clinic_id = clinic;
    p->patient_id = patient;
    if (start)
        strcpy(p->starts_on, start);
}

static void rx_add(nudge *n, nudge_prescription *p)
{
    nudge_err e = {0};
    if (nudge_prescription_add(n, p, &e) < 0)
        fail_msg("prescription: %s (%s)", e.msg, e.field);
}

struct plans {
    int n;
    nudge_reminder r[256];
};
static int collect(void *ctx, const nudge_reminder *r)
{
    struct plans *p = ctx;
    if (p->n < 256)
        p->r[p->n++] = *r;
    return 0;
}
static struct plans *plans_of(nudge *n, int64_t clinic, int64_t rx)
{
    static struct plans p;
    char subject[48];
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)rx);
    memset(&p, 0, sizeof p);
    nudge_err e = {0};
    assert_int_equal(nudge_reminder_find(n, clinic, 0, subject, collect, &p, &e), 0);
    return &p;
}

/* What the dispatcher sent, in order. */
struct sent {
    int n;
    int64_t at[256];
    char body[256][400];
};
static void on_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    struct sent *s = ctx;
    if (strcmp(outcome, "sent") || s->n >= 256)
        return;
    s->at[s->n] = m->due_at;
    snprintf(s->body[s->n], sizeof s->body[0], "%s", m->body ? m->body : "");
    s->n++;
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

/* Ticks at every planned dose (twice: a repeated tick sends nothing more). */
static void drive(tu_env *env, struct plans *p)
{
    int64_t due[256];
    int nd = p->n;
    for (int i = 0; i < nd; i++)
        due[i] = p->r[i].due_at;
    for (int i = 0; i < nd; i++) {
        tick_at(env, due[i]);
        tick_at(env, due[i]);
    }
}

/* The local "YYYY-MM-DD HH:MM" of t in tz. */
static void local(int64_t t, const char *tz, char *buf, size_t n)
{
    tz_local l;
    assert_int_equal(tz_to_local(t, tz, &l), 0);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", l.year, l.month, l.day, l.hour, l.minute);
}

/* Plans hold exactly the wanted local dose times, each once, and driving
 * the clock through them sends one message each, at those times. */
static void expect_course(tu_env *env, int64_t clinic, int64_t rx, const char *tz,
                          const char *const *want, int nwant)
{
    struct plans *p = plans_of(env->n, clinic, rx);
    if (p->n != nwant)
        fail_msg("%d plans, want %d", p->n, nwant);
    for (int i = 0; i < nwant; i++) {
        char got[32];
        local(p->r[i].due_at, tz, got, sizeof got);
        if (strcmp(got, want[i]))
            fail_msg("dose %d at %s, want %s", i, got, want[i]);
        assert_string_equal(p->r[i].kind, "medication");
        assert_string_equal(p->r[i].status, "planned");
    }
    struct sent *s = calloc(1, sizeof *s);
    nudge_on_sent(env->n, on_sent, s);
    drive(env, p);
    if (s->n != nwant)
        fail_msg("%d sent, want %d", s->n, nwant);
    for (int i = 0; i < nwant; i++) {
        char got[32];
        local(s->at[i], tz, got, sizeof got);
        assert_string_equal(got, want[i]);
    }
    nudge_on_sent(env->n, NULL, NULL);
    free(s);
}

static void test_new_york_spring_forward(void **state)
{
    (void)state;
    tu_env env;
    /* 2027-03-13 00:00 EST; clocks go forward on Sunday 2027-03-14 02:00. */
    tu_open(&env, TU_T(2027, 3, 13, 5, 0));
    int64_t c = add_clinic(env.n, "America/New_York", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, "2027-03-13");
    med(&p, "Amoxicillin", "500 mg", "BD", "3 days", NULL);
    rx_add(env.n, &p);
    assert_string_equal(p.ends_on, "2027-03-15");
    assert_string_equal(p.medications[0].times, "09:00,21:00");
    assert_int_equal(p.medications[0].days, 3);
    static const char *const want[] = {"2027-03-13 09:00", "2027-03-13 21:00",
                                       "2027-03-14 09:00", "2027-03-14 21:00",
                                       "2027-03-15 09:00", "2027-03-15 21:00"};
    expect_course(&env, c, p.id, "America/New_York", want, 6);
    tu_close(&env);
}

static void test_new_york_fall_back_and_gap(void **state)
{
    (void)state;
    tu_env env;
    /* 2027-11-06 00:00 EDT; clocks go back on Sunday 2027-11-07 02:00. */
    tu_open(&env, TU_T(2027, 11, 6, 4, 0));
    int64_t c = add_clinic(env.n, "America/New_York", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, "2027-11-06");
    med(&p, "Metformin", "500 mg", "q12h", "2 days", "01:30,13:30");
    rx_add(env.n, &p);
    /* 01:30 on the 7th happens twice: planned once, at the first. */
    static const char *const want[] = {"2027-11-06 01:30", "2027-11-06 13:30",
                                       "2027-11-07 01:30", "2027-11-07 13:30"};
    struct plans *pl = plans_of(env.n, c, p.id);
    assert_int_equal(pl->n, 4);
    /* The first 01:30 (EDT, 05:30 UTC), not the repeat an hour later. */
    assert_int_equal(pl->r[2].due_at, TU_T(2027, 11, 7, 5, 30));
    assert_int_equal(pl->r[3].due_at - pl->r[1].due_at, 25 * 3600);
    expect_course(&env, c, p.id, "America/New_York", want, 4);
    tu_close(&env);

    /* A dose in the spring gap (02:30 does not exist on 2027-03-14) moves
     * past it, once. */
    tu_open(&env, TU_T(2027, 3, 13, 5, 0));
    c = add_clinic(env.n, "America/New_York", 0);
    pt = add_patient(env.n, c, "en", -1);
    rx_init(&p, c, pt, "2027-03-13");
    med(&p, "Insulin", "10 units", "OD", "3 days", "02:30");
    rx_add(env.n, &p);
    static const char *const gap[] = {"2027-03-13 02:30", "2027-03-14 03:30",
                                      "2027-03-15 02:30"};
    expect_course(&env, c, p.id, "America/New_York", gap, 3);
    tu_close(&env);
}

static void test_london_both_changes(void **state)
{
    (void)state;
    tu_env env;
    /* BST starts 2027-03-28 01:00 and ends 2027-10-31 02:00. */
    tu_open(&env, TU_T(2027, 3, 27, 0, 0));
    int64_t c = add_clinic(env.n, "Europe/London", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, "2027-03-27");
    med(&p, "Atorvastatin", "10 mg", "1-0-1", "3 days", NULL);
    rx_add(env.n, &p);
    static const char *const spring[] = {"2027-03-27 09:00", "2027-03-27 21:00",
                                         "2027-03-28 09:00", "2027-03-28 21:00",
                                         "2027-03-29 09:00", "2027-03-29 21:00"};
    expect_course(&env, c, p.id, "Europe/London", spring, 6);
    tu_close(&env);

    tu_open(&env, TU_T(2027, 10, 30, 0, 0));
    c = add_clinic(env.n, "Europe/London", 0);
    pt = add_patient(env.n, c, "en", -1);
    rx_init(&p, c, pt, "2027-10-30");
    med(&p, "Ibuprofen", "400 mg", "TDS", "2 days", NULL);
    rx_add(env.n, &p);
    static const char *const autumn[] = {"2027-10-30 08:00", "2027-10-30 14:00",
                                         "2027-10-30 20:00", "2027-10-31 08:00",
                                         "2027-10-31 14:00", "2027-10-31 20:00"};
    expect_course(&env, c, p.id, "Europe/London", autumn, 6);
    tu_close(&env);
}

static void test_kolkata_one_message_per_dose_time(void **state)
{
    (void)state;
    tu_env env;
    /* 2026-12-01 05:30 IST: before the first dose. */
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, NULL); /* today, in the patient's zone */
    med(&p, "Amoxicillin", "500 mg", "BD", "2 days", NULL);
    med(&p, "Vitamin D3", "1 tablet", "OD", "2 days", NULL);
    med(&p, "Paracetamol", "650 mg", "SOS", "5 days", NULL);
    rx_add(env.n, &p);
    assert_string_equal(p.starts_on, "2026-12-01");
    assert_string_equal(p.ends_on, "2026-12-05");
    assert_int_equal(p.n_medications, 3);
    assert_string_equal(p.medications[2].times, "");
    struct plans *pl = plans_of(env.n, c, p.id);
    /* 09:00 carries both drugs, 21:00 one; SOS plans nothing. */
    assert_int_equal(pl->n, 4);
    char d0[64];
    snprintf(d0, sizeof d0, "%lld,%lld", (long long)p.medications[0].id,
             (long long)p.medications[1].id);
    assert_string_equal(pl->r[0].detail, d0);
    static const char *const want[] = {"2026-12-01 09:00", "2026-12-01 21:00",
                                       "2026-12-02 09:00", "2026-12-02 21:00"};
    struct sent *s = calloc(1, sizeof *s);
    nudge_on_sent(env.n, on_sent, s);
    drive(&env, pl);
    assert_int_equal(s->n, 4);
    for (int i = 0; i < 4; i++) {
        char got[32];
        local(s->at[i], "Asia/Kolkata", got, sizeof got);
        assert_string_equal(got, want[i]);
    }
    if (!strstr(s->body[0], "Amoxicillin, Vitamin D3 (500 mg, 1 tablet) at 9:00 AM") &&
        !strstr(s->body[0], "Amoxicillin, Vitamin D3 (500 mg, 1 tablet) at 09:00 AM"))
        fail_msg("first dose message: %s", s->body[0]);
    assert_null(strstr(s->body[1], "Vitamin"));
    assert_non_null(strstr(s->body[1], "Amoxicillin"));
    nudge_on_sent(env.n, NULL, NULL);
    free(s);
    tu_close(&env);
}

static void test_preferred_time_and_hindi(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 0);
    int64_t pt = add_patient(env.n, c, "hi", 7 * 60 + 30); /* prefers 07:30 */
    nudge_prescription p;
    rx_init(&p, c, pt, "2026-12-01");
    med(&p, "Thyronorm", "50 mcg", "OD", "1 week", NULL);
    med(&p, "Zolfresh", "5 mg", "HS", "1 week", NULL); /* bedtime stays 22:00 */
    rx_add(env.n, &p);
    assert_string_equal(p.medications[0].times, "07:30");
    assert_string_equal(p.medications[1].times, "22:00");
    struct plans *pl = plans_of(env.n, c, p.id);
    assert_int_equal(pl->n, 14);
    struct sent *s = calloc(1, sizeof *s);
    nudge_on_sent(env.n, on_sent, s);
    tick_at(&env, pl->r[0].due_at);
    assert_int_equal(s->n, 1);
    assert_non_null(strstr(s->body[0], "Thyronorm"));
    assert_non_null(strstr(s->body[0], "दवा"));
    nudge_on_sent(env.n, NULL, NULL);
    free(s);
    tu_close(&env);
}

/* Quiet hours (21:00-08:00 by default) do not hold a dose: a 07:30 and an
 * HS 22:00 dose both go at their time, where an appointment reminder of
 * the same clinic waits for 08:00. */
static void test_doses_go_at_their_time_through_quiet_hours(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0)); /* 05:30 IST */
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 1); /* quiet 21:00-08:00 */
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, "2026-12-01");
    med(&p, "Levothyroxine", "25 mcg", "OD", "1 day", "07:30");
    med(&p, "Melatonin", "3 mg", "HS", "1 day", NULL);
    rx_add(env.n, &p);
    struct plans *pl = plans_of(env.n, c, p.id);
    assert_int_equal(pl->n, 2);

    nudge_tick_stats st = tick_at(&env, TU_T(2026, 12, 1, 1, 59)); /* 07:29 */
    assert_int_equal(st.sent, 0);
    st = tick_at(&env, TU_T(2026, 12, 1, 2, 0)); /* 07:30, quiet */
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.deferred, 0);
    st = tick_at(&env, TU_T(2026, 12, 1, 16, 30)); /* 22:00, quiet */
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.deferred, 0);
    /* The same clinic's own message at 22:00 still waits for the morning. */
    nudge_send s = {.patient_id = pt, .template_name = "prescription_ready", .channel = "sms",
                    .priority = NUDGE_NORMAL};
    nudge_err e = {0};
    int64_t id;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id, NULL, &e), 0);
    st = tick_at(&env, TU_T(2026, 12, 1, 16, 31));
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.deferred, 1);
    tu_close(&env);
}

static int count_status(struct plans *p, const char *status)
{
    int k = 0;
    for (int i = 0; i < p->n; i++)
        k += !strcmp(p->r[i].status, status);
    return k;
}

static void test_stop_and_change(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    nudge_prescription p;
    rx_init(&p, c, pt, "2026-12-01");
    med(&p, "Amoxicillin", "500 mg", "TDS", "5 days", NULL);
    rx_add(env.n, &p);
    assert_int_equal(plans_of(env.n, c, p.id)->n, 15);
    tick_at(&env, TU_T(2026, 12, 1, 2, 30)); /* 08:00: the first dose goes */
    /* Change on day 1 at 10:00: TDS becomes BD for 2 days; the doses to
     * come are re-planned, the one sent stays. */
    env.clock.t = TU_T(2026, 12, 1, 4, 30);
    nudge_prescription ch;
    memset(&ch, 0, sizeof ch);
    med(&ch, "Amoxicillin", "250 mg", "BD", "2 days", NULL);
    nudge_err e = {0};
    if (nudge_prescription_change(env.n, c, p.id, &ch, &e) < 0)
        fail_msg("change: %s", e.msg);
    assert_string_equal(ch.ends_on, "2026-12-02");
    struct plans *pl = plans_of(env.n, c, p.id);
    assert_int_equal(count_status(pl, "enqueued"), 1);
    assert_int_equal(count_status(pl, "cancelled"), 14);
    /* The course still counts from its first day: 21:00, then day 2. */
    assert_int_equal(count_status(pl, "planned"), 3);
    /* A bad change leaves everything as it was. */
    memset(&ch, 0, sizeof ch);
    med(&ch, "Amoxicillin", "250 mg", "TDSS", "2 days", NULL);
    assert_int_equal(nudge_prescription_change(env.n, c, p.id, &ch, &e), -1);
    assert_string_equal(e.field, "medications[0].frequency");
    pl = plans_of(env.n, c, p.id);
    assert_int_equal(count_status(pl, "planned"), 3);
    /* Stop: the remaining doses are cancelled, nothing more is sent. */
    assert_int_equal(nudge_prescription_stop(env.n, c, p.id, "rash", &e), 0);
    pl = plans_of(env.n, c, p.id);
    assert_int_equal(count_status(pl, "planned"), 0);
    nudge_prescription got;
    assert_int_equal(nudge_prescription_get(env.n, c, p.id, &got, &e), 0);
    assert_string_equal(got.status, "stopped");
    assert_string_equal(got.stop_reason, "rash");
    assert_int_equal(nudge_prescription_stop(env.n, c, p.id, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    nudge_tick_stats st = tick_at(&env, TU_T(2026, 12, 3, 0, 0));
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.planned_enqueued, 0);
    tu_close(&env);
}

static void test_both_channels_one_reminder(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 0);
    nudge_patient pt;
    nudge_patient_init(&pt);
    pt.clinic_id = c;
    strcpy(pt.name, "Ram Lal");
    strcpy(pt.phone, "9876543210");
    strcpy(pt.email, "ram@example.com");
    nudge_err e = {0};
    assert_int_equal(nudge_patient_add(env.n, &pt, &e), 0);
    nudge_prescription p;
    rx_init(&p, c, pt.id, "2026-12-01");
    strcpy(p.channels, "BOTH");
    med(&p, "Amoxicillin", "500 mg", "OD", "1 day", NULL);
    rx_add(env.n, &p);
    assert_string_equal(p.channels, "sms,email");
    struct plans *pl = plans_of(env.n, c, p.id);
    assert_int_equal(pl->n, 1);
    assert_string_equal(pl->r[0].channels, "sms,email");
    struct sent *s = calloc(1, sizeof *s);
    nudge_on_sent(env.n, on_sent, s);
    nudge_tick_stats st = tick_at(&env, pl->r[0].due_at);
    tick_at(&env, pl->r[0].due_at); /* a repeated tick adds nothing */
    /* One logical reminder, one delivery per channel. */
    assert_int_equal(st.planned_enqueued, 1);
    assert_int_equal(s->n, 2);
    pl = plans_of(env.n, c, p.id);
    assert_string_equal(pl->r[0].status, "enqueued");
    nudge_on_sent(env.n, NULL, NULL);
    free(s);
    rx_init(&p, c, pt.id, "2026-12-01");
    strcpy(p.channels, "sms,sms");
    med(&p, "Amoxicillin", "500 mg", "OD", "1 day", NULL);
    assert_int_equal(nudge_prescription_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "channels");
    tu_close(&env);
}

static int count_rx(void *ctx, const nudge_prescription *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static void test_bad_input_writes_nothing(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata", 0);
    int64_t pt = add_patient(env.n, c, "en", -1);
    static const struct {
        const char *freq, *dur, *times, *start, *field, *why;
    } bad[] = {
        {"TDSS", "5 days", NULL, NULL, "medications[1].frequency", "unknown frequency \"TDSS\""},
        {"BD", "5 fortnights", NULL, NULL, "medications[1].duration", "unknown duration"},
        {"BD", "5 days", "09:00", NULL, "medications[1].times", "BD takes 2 dose times"},
        {"SOS", "5 days", "09:00", NULL, "medications[1].times", "as needed"},
        {"BD", "5 days", "9am,9pm", NULL, "medications[1].times", "HH:MM"},
        {"BD", "5 days", NULL, "2026-02-30", "starts_on", "YYYY-MM-DD"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nudge_prescription p;
        rx_init(&p, c, pt, bad[i].start);
        med(&p, "Amoxicillin", "500 mg", "BD", "5 days", NULL);
        med(&p, "Other", "1 tablet", bad[i].freq, bad[i].dur, bad[i].times);
        nudge_err e = {0};
        assert_int_equal(nudge_prescription_add(env.n, &p, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        assert_string_equal(e.field, bad[i].field);
        if (!strstr(e.msg, bad[i].why))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, bad[i].why);
    }
    nudge_prescription p;
    rx_init(&p, c, pt, NULL);
    nudge_err e = {0};
    assert_int_equal(nudge_prescription_add(env.n, &p, &e), -1);
    assert_string_equal(e.field, "medications");
    int n = 0;
    assert_int_equal(nudge_prescription_list(env.n, c, pt, count_rx, &n, &e), 0);
    assert_int_equal(n, 0);
    struct plans pl = {0};
    assert_int_equal(nudge_reminder_find(env.n, c, pt, NULL, collect, &pl, &e), 0);
    assert_int_equal(pl.n, 0);
    /* Another clinic cannot see or stop it. */
    rx_init(&p, c, pt, NULL);
    med(&p, "Amoxicillin", "500 mg", "BD", "until review", NULL);
    rx_add(env.n, &p);
    assert_int_equal(p.medications[0].days, NUDGE_REVIEW_DAYS);
    int64_t other = add_clinic(env.n, "Asia/Kolkata", 0);
    assert_int_equal(nudge_prescription_stop(env.n, other, p.id, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_york_spring_forward),
        cmocka_unit_test(test_new_york_fall_back_and_gap),
        cmocka_unit_test(test_london_both_changes),
        cmocka_unit_test(test_kolkata_one_message_per_dose_time),
        cmocka_unit_test(test_preferred_time_and_hindi),
        cmocka_unit_test(test_doses_go_at_their_time_through_quiet_hours),
        cmocka_unit_test(test_stop_and_change),
        cmocka_unit_test(test_bad_input_writes_nothing),
        cmocka_unit_test(test_both_channels_one_reminder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
