/*
 * test_recall.c: the reminders not tied to a visit's time, on a fake
 * clock through the real store, planner and dispatcher: a recall made by a
 * completed visit, sent at the patient's preferred time and re-sent on its
 * cadence, held by a booking and resumed by its cancellation, stopped by
 * an opt-out; lab tests due and overdue until done; birthdays in the
 * patient's zone (29 February in common and leap years); follow-up visits
 * on a date; prescription and results ready on demand; every scan run
 * twice planning nothing twice; reminders on two channels at once (the
 * clinic's or the patient's "both": one plan, one delivery per channel,
 * counted and cancelled as one); "until review" capped by the clinic's
 * setting; and the birthday scan's statement using its index on both
 * engines (EXPLAIN); quiet hours deferring a lab reminder to the morning
 * and dropping a birthday wish whose day ends first.
 */
#include "core.h"
#include "testutil.h"

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

static int64_t add_patient(nudge *n, int64_t clinic, const char *tz, int preferred,
                           const char *dob)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Asha Rao");
    strcpy(p.language, "en");
    strcpy(p.phone, "9876543210");
    if (tz)
        strcpy(p.timezone, tz);
    if (dob)
        strcpy(p.dob, dob);
    p.preferred_time = preferred;
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    /* A birthday wish is a marketing message (its template's category):
     * sent only on a recorded opt-in (the consent ledger), which these
     * patients gave. */
    if (dob) {
        nudge_consent_entry g = {.clinic_id = clinic, .patient_id = p.id};
        strcpy(g.category, "marketing");
        strcpy(g.channel, "*");
        strcpy(g.state, "granted");
        strcpy(g.source, "staff");
        strcpy(g.wording, "Birthday wishes and offers from the clinic");
        if (nudge_consent_record(n, &g, &e) < 0)
            fail_msg("consent: %s", e.msg);
    }
    return p.id;
}

static int64_t add_appt(nudge *n, int64_t clinic, int64_t patient, const char *service,
                        int64_t at)
{
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = patient;
    strcpy(a.service, service);
    a.start_at = at;
    a.duration_min = 30;
    nudge_err e = {0};
    if (nudge_appointment_add(n, clinic, &a, &e) < 0)
        fail_msg("appointment: %s", e.msg);
    return a.id;
}

struct sent {
    int n;
    int64_t at[64];
    char template_name[64][64];
    char body[64][512];
};
static void on_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    struct sent *s = ctx;
    if (strcmp(outcome, "sent") || s->n >= 64)
        return;
    s->at[s->n] = m->due_at;
    snprintf(s->template_name[s->n], sizeof s->template_name[0], "%s", m->template_name);
    snprintf(s->body[s->n], sizeof s->body[0], "%s", m->body ? m->body : "");
    s->n++;
}

/* How many of the sent were recalls. */
static int recalls_sent(const struct sent *s)
{
    int k = 0;
    for (int i = 0; i < s->n; i++)
        k += !strcmp(s->template_name[i], "preventive_care_annual");
    return k;
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

struct recalls {
    int n;
    nudge_recall r[8];
};
static int collect_recall(void *ctx, const nudge_recall *r)
{
    struct recalls *x = ctx;
    if (x->n < 8)
        x->r[x->n++] = *r;
    return 0;
}
static nudge_recall recall_of(nudge *n, int64_t clinic, int64_t patient)
{
    struct recalls x = {0};
    nudge_err e = {0};
    assert_int_equal(nudge_recall_list(n, clinic, patient, collect_recall, &x, &e), 0);
    assert_int_equal(x.n, 1);
    return x.r[0];
}

static int count_plans(void *ctx, const nudge_reminder *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}
static int plans(nudge *n, int64_t clinic, const char *subject)
{
    int k = 0;
    nudge_err e = {0};
    assert_int_equal(nudge_reminder_find(n, clinic, 0, subject, count_plans, &k, &e), 0);
    return k;
}

/* A cleaning completed on 2026-12-01 in Kolkata; the rule recalls 180
 * days later (2027-05-30), then 14 and 28 days after that. */
#define CLEANED TU_T(2026, 12, 1, 4, 30)

static void setup_recall(tu_env *env, int64_t *c, int64_t *p)
{
    tu_open(env, CLEANED - 3600);
    *c = add_clinic(env->n, "Asia/Kolkata");
    *p = add_patient(env->n, *c, NULL, 11 * 60, NULL); /* prefers 11:00 */
    nudge_recall_rule rule = {.clinic_id = *c, .after_days = 180};
    strcpy(rule.service, "cleaning");
    strcpy(rule.cadence, "14,28");
    nudge_err e = {0};
    if (nudge_recall_rule_add(env->n, &rule, &e) < 0)
        fail_msg("rule: %s", e.msg);
    int64_t a = add_appt(env->n, *c, *p, "Cleaning", CLEANED);
    env->clock.t = CLEANED + 3600;
    assert_int_equal(nudge_appointment_complete(env->n, *c, a, &e), 0);
}

static void test_recall_sent_and_resent_on_cadence(void **state)
{
    (void)state;
    tu_env env;
    int64_t c, p;
    setup_recall(&env, &c, &p);
    nudge_recall r = recall_of(env.n, c, p);
    assert_string_equal(r.due_on, "2027-05-30");
    assert_string_equal(r.status, "open");
    assert_int_equal(r.next_at, TU_T(2027, 5, 30, 5, 30)); /* 11:00 IST */
    tick_at(&env, CLEANED + 7 * 86400); /* the visit's own follow-up goes */
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    int64_t sends[] = {TU_T(2027, 5, 30, 5, 30), TU_T(2027, 6, 13, 5, 30),
                       TU_T(2027, 6, 27, 5, 30)};
    for (int i = 0; i < 3; i++) {
        tick_at(&env, sends[i] - 90 * 60); /* the scan plans ahead */
        nudge_err e = {0};
        /* A second scan at the same instant plans nothing more. */
        assert_int_equal(recall_scan(env.n, env.clock.t, &e), 0);
        assert_int_equal(plans(env.n, c, "recall:1"), i + 1);
        tick_at(&env, sends[i] - 1);
        assert_int_equal(s.n, i);
        tick_at(&env, sends[i]);
        assert_int_equal(s.n, i + 1);
        assert_int_equal(s.at[i], sends[i]);
        assert_string_equal(s.template_name[i], "preventive_care_annual");
        assert_non_null(strstr(s.body[i], "30-May-2027"));
    }
    r = recall_of(env.n, c, p);
    assert_string_equal(r.status, "done");
    assert_int_equal(r.sends, 3);
    tick_at(&env, TU_T(2027, 8, 1, 5, 30));
    assert_int_equal(s.n, 3);
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}

static void test_recall_held_by_booking_resumed_by_cancel(void **state)
{
    (void)state;
    tu_env env;
    int64_t c, p;
    setup_recall(&env, &c, &p);
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    /* The scan has planned the first send; then the patient books. */
    tick_at(&env, TU_T(2027, 5, 30, 4, 0));
    assert_int_equal(plans(env.n, c, "recall:1"), 1);
    int64_t a = add_appt(env.n, c, p, "Cleaning", TU_T(2027, 6, 20, 5, 0));
    nudge_recall r = recall_of(env.n, c, p);
    assert_string_equal(r.status, "booked");
    assert_int_equal(r.booked_by, a);
    tick_at(&env, TU_T(2027, 5, 30, 5, 30));
    tick_at(&env, TU_T(2027, 6, 13, 5, 30));
    assert_int_equal(recalls_sent(&s), 0); /* cancelled by the booking, and held */
    /* The booking is cancelled: the recall resumes and goes at the next scan. */
    nudge_err e = {0};
    env.clock.t = TU_T(2027, 6, 14, 3, 10);
    assert_int_equal(nudge_appointment_cancel(env.n, c, a, &e), 0);
    r = recall_of(env.n, c, p);
    assert_string_equal(r.status, "open");
    tick_at(&env, TU_T(2027, 6, 14, 4, 0));
    tick_at(&env, TU_T(2027, 6, 14, 4, 1));
    assert_int_equal(recalls_sent(&s), 1);
    /* A visit booked while it is open holds it at the scan too. */
    add_appt(env.n, c, p, "Check-up", TU_T(2027, 7, 20, 5, 0));
    tick_at(&env, TU_T(2027, 7, 1, 5, 30));
    assert_int_equal(recalls_sent(&s), 1);
    assert_string_equal(recall_of(env.n, c, p).status, "booked");
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}

static void test_recall_stops_on_opt_out(void **state)
{
    (void)state;
    tu_env env;
    int64_t c, p;
    setup_recall(&env, &c, &p);
    nudge_patient pt;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(env.n, c, p, &pt, &e), 0);
    pt.opt_outs |= NUDGE_OPTOUT_REMINDERS;
    assert_int_equal(nudge_patient_update(env.n, c, &pt, 0, &e), 0);
    tick_at(&env, TU_T(2027, 5, 30, 4, 0));
    nudge_recall r = recall_of(env.n, c, p);
    assert_string_equal(r.status, "opted_out");
    assert_int_equal(plans(env.n, c, "recall:1"), 0);
    /* Bad rules are refused naming the field. */
    nudge_recall_rule bad = {.clinic_id = c, .after_days = 180};
    strcpy(bad.service, "x");
    strcpy(bad.cadence, "28,14");
    assert_int_equal(nudge_recall_rule_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "cadence");
    strcpy(bad.cadence, "");
    strcpy(bad.template_name, "no_such_template");
    assert_int_equal(nudge_recall_rule_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "template");
    tu_close(&env);
}

static void test_lab_due_then_overdue_until_done(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2027, 3, 1, 0, 0));
    int64_t c = add_clinic(env.n, "America/New_York");
    int64_t p = add_patient(env.n, c, NULL, 9 * 60, NULL);
    nudge_lab_order o = {.clinic_id = c, .patient_id = p, .repeat_days = 7};
    strcpy(o.test_name, "HbA1c");
    strcpy(o.due_on, "2027-03-10");
    nudge_err e = {0};
    assert_int_equal(nudge_lab_add(env.n, &o, &e), 0);
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    /* 09:00 EST on the 10th, then 09:00 EDT on the 17th (DST began on the 14th). */
    tick_at(&env, TU_T(2027, 3, 10, 12, 0));
    tick_at(&env, TU_T(2027, 3, 10, 14, 0));
    assert_int_equal(s.n, 1);
    assert_int_equal(s.at[0], TU_T(2027, 3, 10, 14, 0));
    assert_non_null(strstr(s.body[0], "HbA1c test is due on 10-Mar-2027"));
    tick_at(&env, TU_T(2027, 3, 17, 11, 0));
    assert_int_equal(lab_scan(env.n, env.clock.t, &e), 0);
    assert_int_equal(plans(env.n, c, "lab:1"), 2);
    tick_at(&env, TU_T(2027, 3, 17, 13, 0));
    assert_int_equal(s.n, 2);
    assert_int_equal(s.at[1], TU_T(2027, 3, 17, 13, 0));
    /* Done before the third: it is cancelled, nothing more is sent. */
    tick_at(&env, TU_T(2027, 3, 24, 11, 0));
    assert_int_equal(plans(env.n, c, "lab:1"), 3);
    assert_int_equal(nudge_lab_done(env.n, c, o.id, &e), 0);
    tick_at(&env, TU_T(2027, 3, 24, 13, 0));
    tick_at(&env, TU_T(2027, 4, 30, 13, 0));
    assert_int_equal(s.n, 2);
    assert_int_equal(nudge_lab_done(env.n, c, o.id, &e), -1);
    strcpy(o.due_on, "2027-02-30");
    assert_int_equal(nudge_lab_add(env.n, &o, &e), -1);
    assert_string_equal(e.field, "due_on");
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}

static void test_birthdays_in_the_patients_zone(void **state)
{
    (void)state;
    tu_env env;
    /* 2027 is a common year: 29 February is wished on the 28th. */
    tu_open(&env, TU_T(2027, 2, 27, 0, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t leap = add_patient(env.n, c, NULL, -1, "1992-02-29");
    int64_t la = add_patient(env.n, c, "America/Los_Angeles", 8 * 60, "1980-02-28");
    add_patient(env.n, c, NULL, -1, "1985-03-01");
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    for (int64_t t = TU_T(2027, 2, 27, 0, 0); t < TU_T(2027, 3, 1, 18, 0); t += 3600)
        tick_at(&env, t);
    /* Leap-day patient: 28 Feb 10:00 IST; LA: planned for their 08:00 PST,
     * but a marketing message keeps to the send window of the clinic's
     * country (India: 10:00-21:00, in the patient's own time), so 10:00
     * PST; the third on 1 March 10:00 IST. */
    assert_int_equal(s.n, 3);
    assert_int_equal(s.at[0], TU_T(2027, 2, 28, 4, 30));
    assert_int_equal(s.at[1], TU_T(2027, 2, 28, 18, 0));
    assert_int_equal(s.at[2], TU_T(2027, 3, 1, 4, 30));
    for (int i = 0; i < 3; i++)
        assert_string_equal(s.template_name[i], "birthday_wishes");
    nudge_err e = {0};
    char subj[32];
    snprintf(subj, sizeof subj, "birthday:%lld", (long long)leap);
    env.clock.t = TU_T(2027, 2, 28, 6, 0);
    assert_int_equal(birthday_scan(env.n, env.clock.t, &e), 0);
    assert_int_equal(birthday_scan(env.n, env.clock.t, &e), 0);
    assert_int_equal(plans(env.n, c, subj), 1);
    snprintf(subj, sizeof subj, "birthday:%lld", (long long)la);
    assert_int_equal(plans(env.n, c, subj), 1);
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);

    /* 2028 is a leap year: the 29th itself, not the 28th. */
    tu_open(&env, TU_T(2028, 2, 27, 0, 0));
    c = add_clinic(env.n, "Asia/Kolkata");
    add_patient(env.n, c, NULL, -1, "1992-02-29");
    memset(&s, 0, sizeof s);
    nudge_on_sent(env.n, on_sent, &s);
    for (int64_t t = TU_T(2028, 2, 27, 0, 0); t < TU_T(2028, 3, 1, 18, 0); t += 3600)
        tick_at(&env, t);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.at[0], TU_T(2028, 2, 29, 4, 30));
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}

static void test_follow_up_visit_and_ready_on_demand(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 6, 0));
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, NULL, -1, NULL);
    nudge_err e = {0};
    int64_t id = 0;
    assert_int_equal(nudge_followup_add(env.n, c, p, "2026-12-15", &id, &e), 0);
    assert_true(id > 0);
    assert_int_equal(nudge_followup_add(env.n, c, p, "2026-11-15", &id, &e), -1);
    assert_string_equal(e.field, "date");
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    tick_at(&env, TU_T(2026, 12, 15, 4, 29));
    assert_int_equal(s.n, 0);
    tick_at(&env, TU_T(2026, 12, 15, 4, 30)); /* 10:00 IST, the default time */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.template_name[0], "follow_up_reminder");
    assert_non_null(strstr(s.body[0], "15-Dec-2026"));
    int64_t nid;
    assert_int_equal(nudge_notify_ready(env.n, c, p, "prescription", NULL, &nid, &e), 0);
    assert_int_equal(nudge_notify_ready(env.n, c, p, "results", "Lipid profile", &nid, &e), 0);
    assert_int_equal(nudge_notify_ready(env.n, c, p, "results", NULL, &nid, &e), -1);
    assert_string_equal(e.field, "test_name");
    assert_int_equal(nudge_notify_ready(env.n, c, p, "xray", NULL, &nid, &e), -1);
    assert_string_equal(e.field, "what");
    tick_at(&env, TU_T(2026, 12, 15, 5, 0));
    assert_int_equal(s.n, 3);
    assert_string_equal(s.template_name[1], "prescription_ready");
    assert_non_null(strstr(s.body[2], "Lipid profile results are ready"));
    /* Staff cancel a patient's plans in one go. */
    assert_int_equal(nudge_followup_add(env.n, c, p, "2026-12-30", &id, &e), 0);
    int count = 0;
    assert_int_equal(nudge_reminder_cancel_where(env.n, c, p, NULL, &count, &e), 0);
    assert_int_equal(count, 1);
    assert_int_equal(nudge_reminder_cancel_where(env.n, c, 0, NULL, &count, &e), -1);
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}


/* The deliveries of a plan: "sms,email" in dedupe-key order, from the queue. */
static void deliveries(nudge *n, int64_t reminder, const char *status, char *out, size_t size)
{
    store_stmt *st;
    nudge_err e = {0};
    out[0] = 0;
    assert_int_equal(store_query(n->db, &st, &e,
                                 "SELECT channel FROM notification_queue WHERE reminder_id = ? "
                                 "AND status = ? ORDER BY dedupe_key",
                                 bind_int(reminder), bind_text(status)),
                     0);
    size_t len = 0;
    while (store_next(st, &e) == 1)
        len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "",
                                store_text(st, 0));
    store_done(st);
}

static int64_t add_patient_on(nudge *n, int64_t clinic, const char *email, const char *both)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Ravi Iyer");
    strcpy(p.phone, "9876543211");
    if (email)
        strcpy(p.email, email);
    if (both)
        strcpy(p.reminder_channels, both);
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static void test_two_channels_one_reminder(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    /* The patient asks: WhatsApp and email. */
    int64_t wa = add_patient_on(env.n, c, "ravi@example.com", "whatsapp,email");
    /* Refused: both needs an email; a channel named twice. */
    nudge_patient bad;
    nudge_patient_init(&bad);
    bad.clinic_id = c;
    strcpy(bad.name, "No Mail");
    strcpy(bad.phone, "9876543212");
    strcpy(bad.reminder_channels, "both");
    assert_int_equal(nudge_patient_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "reminder_channels");
    strcpy(bad.reminder_channels, "sms,sms");
    assert_int_equal(nudge_patient_add(env.n, &bad, &e), -1);
    assert_string_equal(e.field, "reminder_channels");
    /* The clinic asks: both, for every patient, on what reaches each. */
    nudge_clinic cl;
    assert_int_equal(nudge_clinic_get(env.n, c, &cl, &e), 0);
    strcpy(cl.reminder_channels, "fax");
    assert_int_equal(nudge_clinic_update(env.n, &cl, &e), -1);
    assert_string_equal(e.field, "reminder_channels");
    strcpy(cl.reminder_channels, "both");
    assert_int_equal(nudge_clinic_update(env.n, &cl, &e), 0);
    assert_int_equal(nudge_clinic_get(env.n, c, &cl, &e), 0);
    assert_string_equal(cl.reminder_channels, "sms,email");
    int64_t mail = add_patient_on(env.n, c, "asha@example.com", NULL);
    int64_t phone = add_patient(env.n, c, NULL, -1, NULL);

    int64_t r_wa, r_mail, r_phone;
    assert_int_equal(nudge_followup_add(env.n, c, wa, "2026-12-03", &r_wa, &e), 0);
    assert_int_equal(nudge_followup_add(env.n, c, mail, "2026-12-03", &r_mail, &e), 0);
    assert_int_equal(nudge_followup_add(env.n, c, phone, "2026-12-03", &r_phone, &e), 0);
    nudge_tick_stats st = tick_at(&env, TU_T(2026, 12, 3, 4, 30)); /* 10:00 IST */
    assert_int_equal(st.planned_enqueued, 3); /* three reminders, five deliveries */
    char got[64];
    deliveries(env.n, r_wa, "sent", got, sizeof got);
    assert_string_equal(got, "email,whatsapp");
    deliveries(env.n, r_mail, "sent", got, sizeof got);
    assert_string_equal(got, "email,sms");
    deliveries(env.n, r_phone, "sent", got, sizeof got); /* no email: the clinic's sms only */
    assert_string_equal(got, "sms");

    /* Held by quiet hours, both deliveries wait; cancelling the patient's
     * reminders cancels the one reminder and both its deliveries. */
    nudge_patient pm;
    assert_int_equal(nudge_patient_get(env.n, c, mail, &pm, &e), 0);
    pm.preferred_time = 22 * 60 + 30;
    assert_int_equal(nudge_patient_update(env.n, c, &pm, 0, &e), 0);
    int64_t late;
    assert_int_equal(nudge_followup_add(env.n, c, mail, "2026-12-05", &late, &e), 0);
    st = tick_at(&env, TU_T(2026, 12, 5, 17, 0)); /* 22:30 IST */
    assert_int_equal(st.planned_enqueued, 1);
    deliveries(env.n, late, "pending", got, sizeof got);
    assert_string_equal(got, "email,sms");
    int count = 0;
    assert_int_equal(nudge_reminder_cancel_where(env.n, c, mail, NULL, &count, &e), 0);
    assert_int_equal(count, 1);
    deliveries(env.n, late, "cancelled", got, sizeof got);
    assert_string_equal(got, "email,sms");
    char subj[32];
    snprintf(subj, sizeof subj, "follow_up:%lld", (long long)mail);
    tick_at(&env, TU_T(2026, 12, 6, 3, 0)); /* after quiet hours: nothing goes */
    deliveries(env.n, late, "sent", got, sizeof got);
    assert_string_equal(got, "");
    tu_close(&env);
}

static int rx_days(nudge *n, int64_t clinic, int64_t patient, const char *duration,
                   nudge_err *e)
{
    nudge_prescription rx;
    memset(&rx, 0, sizeof rx);
    rx.clinic_id = clinic;
    rx.patient_id = patient;
    rx.n_medications = 1;
    strcpy(rx.medications[0].drug_name, "Amlodipine");
    strcpy(rx.medications[0].dose, "5 mg");
    strcpy(rx.medications[0].frequency, "OD");
    strcpy(rx.medications[0].duration, duration);
    return nudge_prescription_add(n, &rx, e) < 0 ? -1 : rx.medications[0].days;
}

static void test_until_review_capped_by_clinic(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, NULL, -1, NULL);
    assert_int_equal(rx_days(env.n, c, p, "until review", &e), NUDGE_REVIEW_DAYS);
    nudge_clinic cl;
    assert_int_equal(nudge_clinic_get(env.n, c, &cl, &e), 0);
    assert_int_equal(cl.review_max_days, 90);
    cl.review_max_days = 0;
    assert_int_equal(nudge_clinic_update(env.n, &cl, &e), -1);
    assert_string_equal(e.field, "review_max_days");
    cl.review_max_days = 366;
    assert_int_equal(nudge_clinic_update(env.n, &cl, &e), -1);
    cl.review_max_days = 14;
    assert_int_equal(nudge_clinic_update(env.n, &cl, &e), 0);
    assert_int_equal(rx_days(env.n, c, p, "until review", &e), 14);
    assert_int_equal(plans(env.n, c, "prescription:2"), 14); /* 14 days of OD */
    assert_int_equal(rx_days(env.n, c, p, "1 month", &e), 30); /* a stated course is not cut */
    tu_close(&env);
}

/* The birthday scan's statement (patient_born_on in patient.c) reads the
 * index on month and day on both engines, not every patient. PostgreSQL
 * plans a sequential scan of a small table whatever its indexes, so it is
 * asked for its plan with those off: an index that could not serve the
 * statement would leave the sequential scan. */
static void test_birthday_scan_uses_its_index(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    nudge_err e = {0};
    const char *sql = "SELECT id, clinic_id FROM patients WHERE substr(date_of_birth, 6) = ? "
                      "AND id > ? ORDER BY id LIMIT ?";
    int pg = !strcmp(env.n->db->ops->engine, "postgresql");
    char plan[2048];
    assert_int_equal(store_begin(env.n->db, &e), 0);
    if (pg)
        assert_int_equal(store_exec(env.n->db, &e, "SET LOCAL enable_seqscan = off"), 0);
    store_val v[3] = {bind_text("12-01"), bind_int(0), bind_int(128)};
    tu_plan(env.n->db, sql, v, 3, plan, sizeof plan);
    store_rollback(env.n->db);
    if (!strstr(plan, "patients_birthday"))
        fail_msg("the plan does not use patients_birthday:\n%s", plan);
    tu_close(&env);
}

/* Quiet hours (the clinic's 21:00-08:00) hold a reminder not tied to a
 * visit until they end, and drop one whose time runs out first: a lab
 * reminder at the patient's 22:30 goes at 08:00; a birthday wish at
 * 22:30, which expires at their midnight, is cancelled unsent. */
static void test_quiet_hours_defer_and_expire(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 0, 0));
    nudge_err e = {0};
    int64_t c = add_clinic(env.n, "Asia/Kolkata");
    int64_t p = add_patient(env.n, c, NULL, 22 * 60 + 30, "1990-12-02");
    nudge_lab_order o;
    memset(&o, 0, sizeof o);
    o.clinic_id = c;
    o.patient_id = p;
    strcpy(o.test_name, "HbA1c");
    strcpy(o.due_on, "2026-12-02");
    assert_int_equal(nudge_lab_add(env.n, &o, &e), 0);
    struct sent s = {0};
    nudge_on_sent(env.n, on_sent, &s);
    for (int64_t t = TU_T(2026, 12, 1, 0, 0); t < TU_T(2026, 12, 2, 17, 0); t += 3600)
        tick_at(&env, t);
    nudge_tick_stats st = tick_at(&env, TU_T(2026, 12, 2, 17, 0)); /* 22:30 IST */
    assert_int_equal(st.planned_enqueued, 2); /* the lab reminder and the wish */
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.deferred, 1); /* the lab reminder waits for 08:00 */
    for (int64_t t = TU_T(2026, 12, 2, 18, 0); t < TU_T(2026, 12, 3, 2, 30); t += 3600)
        tick_at(&env, t);
    assert_int_equal(s.n, 0);
    tick_at(&env, TU_T(2026, 12, 3, 2, 30)); /* 08:00 IST */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.template_name[0], "lab_due");
    char subj[32], got[64];
    snprintf(subj, sizeof subj, "birthday:%lld", (long long)p);
    int64_t wish = 0;
    assert_int_equal(store_scalar(env.n->db, &wish, &e,
                                  "SELECT id FROM reminders WHERE clinic_id = ? AND subject = ?",
                                  bind_int(c), bind_text(subj)),
                     1);
    deliveries(env.n, wish, "sent", got, sizeof got);
    assert_string_equal(got, "");
    /* Its day ends before the quiet hours do: dropped at once, with why. */
    deliveries(env.n, wish, "cancelled", got, sizeof got);
    assert_string_equal(got, "sms");
    nudge_on_sent(env.n, NULL, NULL);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_sent_and_resent_on_cadence),
        cmocka_unit_test(test_recall_held_by_booking_resumed_by_cancel),
        cmocka_unit_test(test_recall_stops_on_opt_out),
        cmocka_unit_test(test_lab_due_then_overdue_until_done),
        cmocka_unit_test(test_birthdays_in_the_patients_zone),
        cmocka_unit_test(test_follow_up_visit_and_ready_on_demand),
        cmocka_unit_test(test_two_channels_one_reminder),
        cmocka_unit_test(test_until_review_capped_by_clinic),
        cmocka_unit_test(test_birthday_scan_uses_its_index),
        cmocka_unit_test(test_quiet_hours_defer_and_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
