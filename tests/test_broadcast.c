/*
 * test_broadcast.c: segments and broadcasts through the real store, queue
 * and dispatcher on a fake clock: each criterion and combinations against
 * a generated population whose answers are computed here; a scheduled
 * campaign fired by the clock, with skips counted by reason; a stale one
 * after downtime; a fan-out killed after two batches and resumed without
 * a duplicate; pause, resume and cancel; a reminder enqueued during a
 * 20,000-patient fan-out leaving first; each patient's language; A/B
 * proportions on a seeded run.
 */
#include <math.h>
#include <sys/wait.h>

#include "core.h"
#include "segment.h"
#include "testutil.h"

#define T0 TU_T(2026, 12, 1, 6, 0) /* 11:30 in Kolkata */

static int64_t add_clinic(nudge *n)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    c.quiet_start = c.quiet_end = 0;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

/* Patient i of the generated population; every attribute a function of i
 * so the tests compute each answer. */
static int pop_gender(int i) { return i % 3; } /* M F O */
static int pop_hindi(int i) { return i % 2; }
static int pop_diabetes(int i) { return i % 5 == 0; }
static int pop_vip(int i) { return i % 7 == 0; }
static int pop_age(int i) { return 18 + i % 60; }
static int pop_visited(int i) { return i % 4 == 0; }
static int pop_future(int i) { return i % 6 == 0; }
static int pop_no_tips(int i) { return i % 10 == 3; }

/* A recorded opt-in (consent.c's ledger), as staff would enter it. */
static void grant(nudge *n, int64_t clinic, int64_t patient, const char *cat, const char *ch)
{
    nudge_consent_entry c = {.clinic_id = clinic, .patient_id = patient};
    strcpy(c.category, cat);
    strcpy(c.channel, ch);
    strcpy(c.state, "granted");
    strcpy(c.source, "staff");
    strcpy(c.wording, "Yes, send me health tips and offers");
    nudge_err err = {0};
    if (nudge_consent_record(n, &c, &err) < 0)
        fail_msg("consent: %s", err.msg);
}

/* visits: book the future visits too (their confirmations then go first,
 * at the clinic's rate, which a test of broadcast sends does not want). */
static void pop_add_v(tu_env *e, int64_t clinic, int count, int64_t *ids, int visits)
{
    nudge_err err = {0};
    assert_int_equal(store_begin(e->n->db, &err), 0);
    for (int i = 0; i < count; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = clinic;
        snprintf(p.name, sizeof p.name, "Patient %d", i);
        snprintf(p.phone, sizeof p.phone, "98%08d", i);
        strcpy(p.language, pop_hindi(i) ? "hi" : "en");
        static const char *const g[] = {"M", "female", "other"};
        strcpy(p.gender, g[pop_gender(i)]);
        snprintf(p.tags, sizeof p.tags, "%s%s", pop_diabetes(i) ? "Diabetes, " : "",
                 pop_vip(i) ? "vip" : "walk_in");
        /* Born 1 January: whole years on 1 December 2026 are 2025 - year. */
        snprintf(p.dob, sizeof p.dob, "%04d-01-01", 2026 - pop_age(i));
        p.opt_outs = pop_no_tips(i) ? NUDGE_OPTOUT_HEALTH_TIPS : 0;
        if (nudge_patient_add(e->n, &p, &err) < 0)
            fail_msg("patient %d: %s", i, err.msg);
        ids[i] = p.id;
        /* A health tip is promotional: the others agreed to them, on record. */
        if (!pop_no_tips(i))
            grant(e->n, clinic, p.id, "health_tips", "*");
        if (pop_visited(i))
            assert_int_equal(patient_visited(e->n, clinic, p.id, T0 - 30 * 86400, &err), 0);
        if (visits && pop_future(i)) {
            nudge_appointment a;
            memset(&a, 0, sizeof a);
            a.patient_id = p.id;
            strcpy(a.service, "Cleaning");
            a.start_at = T0 + 3 * 86400;
            a.duration_min = 30;
            if (nudge_appointment_add(e->n, clinic, &a, &err) < 0)
                fail_msg("appointment: %s", err.msg);
        }
    }
    assert_int_equal(store_commit(e->n->db, &err), 0);
}

static void pop_add(tu_env *e, int64_t clinic, int count, int64_t *ids)
{
    pop_add_v(e, clinic, count, ids, 1);
}

/* count patients in one statement, for the large fan-outs (patient i
 * as pop_add's, without visits or opt-outs but i % 10 == 3 opted out of
 * tips, which a preferences row would need: those are left to pop_add's
 * small runs); ids[] gets their ids, ascending. A test-only shortcut
 * past patient.c, which would take minutes at this size on PostgreSQL. */
static void pop_bulk(tu_env *e, int64_t clinic, int count, int64_t *ids)
{
    nudge_err err = {0};
    int64_t before = 0;
    store_scalar(e->n->db, &before, &err, "SELECT COALESCE(MAX(id), 0) FROM patients");
    if (store_exec(e->n->db, &err,
                   "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 "
                   "< ?) INSERT INTO patients (clinic_id, name, phone, language, created_at, "
                   "updated_at) SELECT ?, 'Patient ' || i, '+91' || (9800000000 + i), CASE "
                   "WHEN i % 2 = 1 THEN 'hi' ELSE 'en' END, ?, ? FROM s",
                   bind_int(count), bind_int(clinic), bind_int(T0), bind_int(T0)) < 0)
        fail_msg("bulk: %s", err.msg);
    store_stmt *st;
    assert_int_equal(store_query(e->n->db, &st, &err,
                                 "SELECT id FROM patients WHERE clinic_id = ? AND id > ? ORDER "
                                 "BY id",
                                 bind_int(clinic), bind_int(before)),
                     0);
    int k = 0;
    while (store_next(st, &err) == 1 && k < count)
        ids[k++] = store_int(st, 0);
    store_done(st);
    assert_int_equal(k, count);
}

static int64_t preview(nudge *n, int64_t clinic, const char *criteria)
{
    int64_t count = -1, sample[5];
    int ns;
    nudge_err e = {0};
    if (nudge_segment_preview(n, clinic, criteria, &count, sample, 5, &ns, &e) < 0)
        fail_msg("preview %s: %s", criteria, e.msg);
    assert_true(ns == (count < 5 ? count : 5));
    return count;
}

static void test_segment_criteria(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[300];
    pop_add(&e, clinic, 300, ids);
    static const struct {
        const char *criteria;
        int (*want)(int i);
    } cases[] = {
        {"{}", NULL},
        {"{\"diagnosis\": \"diabetes\"}", pop_diabetes},
        {"{\"tags\": [\"VIP\"]}", pop_vip},
        {"{\"gender\": \"M\"}", NULL},
        {"{\"language\": [\"hi\"]}", pop_hindi},
        {"{\"never_visited\": false}", pop_visited},
        {"{\"has_future_appointment\": true}", pop_future},
        {"{\"last_visit_days\": 60}", pop_visited},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int64_t want = 0;
        for (int i = 0; i < 300; i++)
            want += cases[k].want ? cases[k].want(i) : k == 3 ? pop_gender(i) == 0 : 1;
        assert_int_equal(preview(e.n, clinic, cases[k].criteria), want);
    }
    /* The rest, and combinations: AND across, OR within. */
    int64_t w[8] = {0};
    for (int i = 0; i < 300; i++) {
        int a = pop_age(i);
        w[0] += a >= 40 && a <= 60;
        w[1] += pop_gender(i) != 0;
        w[2] += pop_gender(i) == 2;
        w[3] += !pop_no_tips(i);
        w[4] += pop_diabetes(i) && pop_hindi(i) && a >= 30 && a <= 50;
        w[5] += (pop_diabetes(i) || pop_vip(i)) && !pop_visited(i);
        w[6] += !pop_future(i) && (pop_gender(i) == 1 || pop_gender(i) == 2) && !pop_no_tips(i);
        w[7] += pop_visited(i) && pop_future(i) && !pop_hindi(i);
    }
    assert_int_equal(preview(e.n, clinic, "{\"age_range\": [40, 60]}"), w[0]);
    assert_int_equal(preview(e.n, clinic, "{\"gender\": [\"F\", \"O\"]}"), w[1]);
    assert_int_equal(preview(e.n, clinic, "{\"gender\": \"O\"}"), w[2]);
    assert_int_equal(preview(e.n, clinic, "{\"consented_to_category\": \"health_tips\"}"), w[3]);
    assert_int_equal(preview(e.n, clinic,
                             "{\"diagnosis\": \"diabetes\", \"language\": \"hi\", "
                             "\"age_range\": [30, 50]}"),
                     w[4]);
    assert_int_equal(preview(e.n, clinic,
                             "{\"tags\": [\"diabetes\", \"vip\"], \"never_visited\": true}"),
                     w[5]);
    assert_int_equal(preview(e.n, clinic,
                             "{\"has_future_appointment\": false, \"gender\": [\"F\", \"O\"], "
                             "\"consented_to_category\": [\"health_tips\"]}"),
                     w[6]);
    assert_int_equal(preview(e.n, clinic,
                             "{\"last_visit_days\": 31, \"has_future_appointment\": true, "
                             "\"language\": \"en\"}"),
                     w[7]);
    /* LIKE's wildcards in a value are the characters themselves. */
    assert_int_equal(preview(e.n, clinic, "{\"tags\": \"walk_in\"}"), 300 - 43);
    assert_int_equal(preview(e.n, clinic, "{\"tags\": \"walk_i\"}"), 0);

    /* Refused, naming the criterion. */
    static const struct {
        const char *criteria, *field;
    } bad[] = {
        {"{\"diagnoses\": \"x\"}", "diagnoses"},  {"{\"age_range\": [60, 40]}", "age_range"},
        {"{\"age_range\": 40}", "age_range"},     {"{\"gender\": \"X\"}", "gender"},
        {"{\"last_visit_days\": -1}", "last_visit_days"},
        {"{\"never_visited\": 1}", "never_visited"},
        {"{\"consented_to_category\": \"spam\"}", "consented_to_category"},
        {"{\"language\": \"english!\"}", "language"}, {"[1]", "criteria"},
        {"{\"tags\": \"50%_off\"}", "tags"}, {"{\"tags\": \"x' OR '1'='1\"}", "tags"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        int64_t count;
        nudge_err err = {0};
        assert_int_equal(nudge_segment_preview(e.n, clinic, bad[k].criteria, &count, NULL, 0,
                                               NULL, &err),
                         -1);
        assert_int_equal(err.code, NUDGE_EINVAL);
        assert_string_equal(err.field, bad[k].field);
    }

    /* Saved, counted, listed; a save by the same name replaces it. */
    int64_t sid, sid2, count;
    nudge_err err = {0};
    assert_int_equal(nudge_segment_save(e.n, clinic, "Diabetics", "{\"diagnosis\": \"diabetes\"}",
                                        &sid, &err),
                     0);
    nudge_segment s;
    assert_int_equal(nudge_segment_get(e.n, clinic, sid, &s, &err), 0);
    assert_int_equal(s.patient_count, 60);
    nudge_segment_free(&s);
    assert_int_equal(nudge_segment_save(e.n, clinic, "Diabetics",
                                        "{\"diagnosis\": \"diabetes\", \"language\": \"hi\"}",
                                        &sid2, &err),
                     0);
    assert_int_equal(sid2, sid);
    assert_int_equal(nudge_segment_evaluate(e.n, clinic, sid, &count, NULL, 0, NULL, &err), 0);
    assert_int_equal(count, 30);
    assert_int_equal(nudge_segment_get(e.n, clinic + 1, sid, &s, &err), -1);
    assert_int_equal(err.code, NUDGE_ENOTFOUND);
    tu_close(&e);
}

static int64_t make(nudge *n, int64_t clinic, nudge_broadcast_spec *s)
{
    int64_t id;
    nudge_err e = {0};
    if (nudge_broadcast_create(n, clinic, s, &id, &e) < 0)
        fail_msg("broadcast: %s (%s)", e.msg, e.field);
    return id;
}

static void tick(tu_env *e)
{
    nudge_err err = {0};
    if (nudge_tick(e->n, NULL, &err) < 0)
        fail_msg("tick: %s", err.msg);
}

static nudge_delivery_stats stats(nudge *n, int64_t clinic, int64_t id)
{
    nudge_delivery_stats st[11];
    int count;
    nudge_err e = {0};
    if (nudge_get_delivery_stats(n, clinic, id, st, 11, &count, &e) < 0)
        fail_msg("stats: %s", e.msg);
    return st[0];
}

static void status_is(nudge *n, int64_t clinic, int64_t id, const char *want)
{
    nudge_broadcast b;
    nudge_err e = {0};
    assert_int_equal(nudge_broadcast_get(n, clinic, id, &b, &e), 0);
    assert_string_equal(b.status, want);
    nudge_broadcast_free(&b);
}

static void test_scheduled_campaign_and_skips(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[40];
    pop_add(&e, clinic, 40, ids);
    nudge_err err = {0};
    /* Opt-ins: the even patients agreed to offers by SMS (on record, as a
     * campaign needs) and said START; 4 and 8 then opted out of marketing;
     * 10 said START and then STOP. */
    for (int i = 0; i < 40; i += 2) {
        nudge_patient p;
        assert_int_equal(nudge_patient_get(e.n, clinic, ids[i], &p, &err), 0);
        assert_int_equal(store_begin(e.n->db, &err), 0);
        grant(e.n, clinic, ids[i], "marketing", "sms");
        assert_int_equal(patient_set_consent(e.n, &p, "sms", 0, "START", NULL, &err), 0);
        if (i == 10)
            assert_int_equal(patient_set_consent(e.n, &p, "sms", 1, "STOP", NULL, &err), 0);
        assert_int_equal(store_commit(e.n->db, &err), 0);
        if (i == 4 || i == 8) {
            p.opt_outs |= NUDGE_OPTOUT_MARKETING;
            assert_int_equal(nudge_patient_update(e.n, clinic, &p, 0, &err), 0);
        }
    }
    nudge_broadcast_spec s = {.kind = "campaign",
                              .name = "Winter check-up",
                              .criteria = "{}",
                              .text = "{\"en\": \"Hi {patient_name}, 20% off check-ups\", "
                                      "\"hi\": \"20% छूट\"}",
                              .scheduled_at = T0 + 3600};
    int64_t id = make(e.n, clinic, &s);
    tick(&e);
    status_is(e.n, clinic, id, "scheduled");
    assert_int_equal(stats(e.n, clinic, id).total, 0);
    e.clock.t = T0 + 3600;
    tick(&e);
    status_is(e.n, clinic, id, "completed");
    nudge_delivery_stats st = stats(e.n, clinic, id);
    assert_int_equal(st.total, 40);
    assert_int_equal(st.queued, 17); /* 20 even, less 4, 8 and 10 */
    assert_int_equal(st.skipped, 23);
    assert_int_equal(st.skipped_by[0], 3); /* opted_out: 4, 8 (marketing), 10 (STOP on sms) */
    assert_int_equal(st.skipped_by[1], 20); /* no_consent: the odd ones */
    /* Sent by later ticks at the clinic's rate; then delivered/total. */
    for (int k = 0; k < 3; k++) {
        e.clock.t = T0 + 3600 + 61 * (k + 1);
        tick(&e);
    }
    st = stats(e.n, clinic, id);
    assert_int_equal(st.sent, 17);
    assert_int_equal(st.pending, 0);
    /* Within book_days of their message patient 0 writes back and patient
     * 2 books a visit; patient 1 (no message) writes too, which counts
     * for nothing. */
    e.clock.t = T0 + 2 * 86400;
    for (int i = 0; i < 2; i++) {
        nudge_patient p;
        nudge_reply rep;
        assert_int_equal(nudge_patient_get(e.n, clinic, ids[i], &p, &err), 0);
        nudge_inbound in = {.channel = "sms", .from = p.phone, .text = "Is parking free?"};
        assert_int_equal(nudge_inbound_handle(e.n, &in, &rep, &err), 0);
    }
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = ids[2];
    strcpy(a.service, "Check-up");
    a.start_at = T0 + 5 * 86400;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_add(e.n, clinic, &a, &err), 0);
    st = stats(e.n, clinic, id);
    assert_int_equal(st.replied, 1);
    assert_int_equal(st.booked, 1);
    char *json;
    assert_int_equal(nudge_broadcast_json(e.n, clinic, id, 1, &json, &err), 0);
    assert_non_null(strstr(json, "\"no_consent\":20"));
    free(json);
    tu_close(&e);
}

static void test_stale_campaign_after_downtime(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[10];
    pop_add(&e, clinic, 10, ids);
    nudge_broadcast_spec s = {.kind = "tip",
                              .name = "Brush twice",
                              .text = "Brush twice a day",
                              .scheduled_at = T0 + 3600,
                              .grace = 2 * 3600};
    int64_t id = make(e.n, clinic, &s);
    /* nudge was down from T0 until 4 h past the scheduled time. */
    e.clock.t = T0 + 5 * 3600;
    tick(&e);
    status_is(e.n, clinic, id, "stale");
    assert_int_equal(stats(e.n, clinic, id).queued, 0);
    /* Staff let it go. */
    nudge_err err = {0};
    assert_int_equal(nudge_broadcast_resume(e.n, clinic, id, &err), 0);
    tick(&e);
    status_is(e.n, clinic, id, "completed");
    assert_int_equal(stats(e.n, clinic, id).queued, 9); /* 3 opted out of tips */
    /* Within the grace it goes. */
    s.scheduled_at = T0 + 6 * 3600;
    int64_t id2 = make(e.n, clinic, &s);
    e.clock.t = T0 + 7 * 3600 + 59 * 60;
    tick(&e);
    status_is(e.n, clinic, id2, "completed");
    /* Without a grace of its own, the clinic's: 2 h by default, here 30
     * minutes, so 45 minutes late is stale; a bad grace is refused. */
    nudge_usage_plan pl;
    assert_int_equal(nudge_usage_plan_get(e.n, clinic, &pl, &err), 0);
    assert_int_equal(pl.grace, 7200);
    pl.grace = 30;
    assert_int_equal(nudge_usage_plan_set(e.n, clinic, &pl, &err), -1);
    assert_string_equal(err.field, "grace");
    pl.grace = 30 * 60;
    assert_int_equal(nudge_usage_plan_set(e.n, clinic, &pl, &err), 0);
    s.grace = 0;
    s.scheduled_at = T0 + 9 * 3600;
    int64_t id3 = make(e.n, clinic, &s);
    s.scheduled_at = T0 + 9 * 3600 + 60;
    s.grace = 3600;
    int64_t id4 = make(e.n, clinic, &s);
    e.clock.t = T0 + 9 * 3600 + 45 * 60;
    tick(&e);
    status_is(e.n, clinic, id3, "stale");
    status_is(e.n, clinic, id4, "completed");
    tu_close(&e);
}

/* Every queued message of the broadcast is one patient's, once. */
struct per_patient {
    int64_t broadcast_messages, distinct;
    unsigned char seen[4096];
    int64_t first;
};
static int count_msgs(void *ctx, const nudge_notification *m)
{
    struct per_patient *pp = ctx;
    if (strcmp(m->category, "health_tips"))
        return 0;
    pp->broadcast_messages++;
    int64_t k = m->patient_id - pp->first;
    if (k >= 0 && k < 4096 && !pp->seen[k]++)
        pp->distinct++;
    return 0;
}

static void test_crash_mid_fanout_then_resume(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[2300];
    pop_add_v(&e, clinic, 2300, ids, 0);
    nudge_broadcast_spec s = {.kind = "tip", .name = "Hydrate", .text = "Drink water"};
    int64_t id = make(e.n, clinic, &s);
    /* A worker does two batches and is killed. */
    pid_t child = fork();
    if (child == 0) {
        nudge *n;
        nudge_config cfg = {.db = e.db, .outbox_dir = e.outbox, .clock = &e.clock};
        nudge_err err = {0};
        int batches;
        if (nudge_open(&cfg, &n, &err) < 0 || broadcast_fanout(n, T0, 2, &batches, &err) < 0 ||
            batches != 2)
            _exit(1);
        kill(getpid(), SIGKILL);
    }
    int wst;
    assert_int_equal(waitpid(child, &wst, 0), child);
    assert_true(WIFSIGNALED(wst));
    /* What was recorded is what was queued: two whole batches. */
    nudge_broadcast b;
    nudge_err err = {0};
    assert_int_equal(nudge_broadcast_get(e.n, clinic, id, &b, &err), 0);
    assert_int_equal(b.total, 2 * BROADCAST_BATCH);
    nudge_broadcast_free(&b);
    nudge_delivery_stats st = stats(e.n, clinic, id);
    assert_int_equal(st.queued + st.skipped, 2 * BROADCAST_BATCH);
    assert_int_equal(st.pending, st.queued);
    /* Paused: no fan-out, nothing of it claimed. */
    assert_int_equal(nudge_broadcast_pause(e.n, clinic, id, &err), 0);
    tick(&e);
    e.clock.t = T0 + 120;
    tick(&e);
    st = stats(e.n, clinic, id);
    assert_int_equal(st.total, 2 * BROADCAST_BATCH);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.pending, st.queued); /* held ones still wait */
    /* Held is a status of its own (migration 024), counted as such. */
    int64_t counts[NUDGE_N_STATUS];
    assert_int_equal(nudge_queue_status(e.n, clinic, counts, &err), 0);
    assert_string_equal(nudge_status_names[NUDGE_N_STATUS - 1], "held");
    assert_int_equal(counts[NUDGE_N_STATUS - 1], st.queued);
    assert_int_equal(counts[0], 0);
    assert_int_equal(nudge_broadcast_pause(e.n, clinic, id, &err), -1);
    assert_int_equal(err.code, NUDGE_ECONFLICT);
    /* Resumed by a restarted process: it goes on from there. */
    nudge_close(e.n);
    nudge_config cfg = {.db = e.db, .outbox_dir = e.outbox, .clock = &e.clock};
    assert_int_equal(nudge_open(&cfg, &e.n, &err), 0);
    assert_int_equal(nudge_broadcast_resume(e.n, clinic, id, &err), 0);
    tick(&e);
    status_is(e.n, clinic, id, "completed");
    st = stats(e.n, clinic, id);
    assert_int_equal(st.total, 2300);
    assert_int_equal(st.skipped, 230); /* i % 10 == 3 opted out of tips */
    assert_int_equal(st.skipped_by[0], 230);
    assert_int_equal(st.queued, 2070);
    assert_true(st.sent > 0); /* the held ones went again at the rate */
    assert_int_equal(nudge_queue_status(e.n, clinic, counts, &err), 0);
    assert_int_equal(counts[NUDGE_N_STATUS - 1], 0);
    struct per_patient pp = {.first = ids[0]};
    assert_int_equal(nudge_notification_list(e.n, clinic, NULL, 0, 100000, count_msgs, &pp, &err),
                     0);
    assert_int_equal(pp.broadcast_messages, 2070);
    assert_int_equal(pp.distinct, 2070);
    /* Cancelled: what has not left stays unsent. */
    int64_t sent = st.sent;
    assert_int_equal(nudge_broadcast_cancel(e.n, clinic, id, &err), 0);
    e.clock.t = T0 + 600;
    tick(&e);
    st = stats(e.n, clinic, id);
    assert_int_equal(st.sent, sent);
    assert_int_equal(st.cancelled, 2070 - sent);
    assert_int_equal(nudge_broadcast_resume(e.n, clinic, id, &err), -1);
    assert_int_equal(err.code, NUDGE_ECONFLICT);
    tu_close(&e);
}

static void test_reminder_leaves_first_during_big_fanout(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n);
    int64_t *ids = malloc(sizeof *ids * 20000);
    pop_bulk(&e, clinic, 20000, ids);
    nudge_broadcast_spec s = {.kind = "notice", .name = "Closed Friday",
                              .criteria = "{}", .text = "Closed on Friday"};
    int64_t id = make(e.n, clinic, &s);
    tick(&e); /* the fan-out begins */
    nudge_broadcast b;
    nudge_err err = {0};
    assert_int_equal(nudge_broadcast_get(e.n, clinic, id, &b, &err), 0);
    assert_string_equal(b.status, "sending");
    assert_true(b.queued > 0 && b.total < 20000);
    nudge_broadcast_free(&b);
    /* A reminder enqueued now, in the middle of the fan-out. */
    nudge_send m = {.patient_id = ids[7], .template_name = "appointment_reminder",
                    .priority = NUDGE_NORMAL};
    nudge_vars v = {0};
    nudge_vars_set(&v, "service", "Cleaning");
    nudge_vars_set(&v, "date", "2 Dec");
    nudge_vars_set(&v, "time", "10:00");
    m.vars = &v;
    int64_t rid;
    int created;
    assert_int_equal(nudge_enqueue(e.n, clinic, &m, &rid, &created, &err), 0);
    nudge_vars_free(&v);
    e.clock.t = T0 + 1;
    tick(&e);
    nudge_notification r;
    assert_int_equal(nudge_notification_get(e.n, clinic, rid, &r, &err), 0);
    if (strcmp(r.status, "sent"))
        fprintf(stderr, "reminder: %s %s due %lld\n", r.status, r.last_error, (long long)r.due_at);
    assert_string_equal(r.status, "sent");
    nudge_notification_free(&r);
    nudge_delivery_stats st = stats(e.n, clinic, id);
    assert_true(st.pending > 0);
    assert_int_equal(st.sent, 19); /* the minute's budget: the reminder took one */
    free(ids);
    tu_close(&e);
}

struct by_lang {
    int64_t en_id, hi_id;
    char en[128], hi[128];
};
static int lang_msgs(void *ctx, const nudge_notification *m)
{
    struct by_lang *l = ctx;
    if (strcmp(m->category, "broadcasts"))
        return 0;
    if (m->patient_id == l->en_id)
        snprintf(l->en, sizeof l->en, "%s", m->body);
    if (m->patient_id == l->hi_id)
        snprintf(l->hi, sizeof l->hi, "%s", m->body);
    return 0;
}

static void test_notice_in_each_language_and_ab_split(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[2000];
    pop_add(&e, clinic, 2000, ids);
    int64_t two[2] = {ids[0], ids[1]};
    nudge_broadcast_spec s = {.name = "Holiday",
                              .text = "{\"en\": \"Closed Monday, {patient_name}\", "
                                      "\"hi\": \"सोमवार बंद\"}"};
    int64_t id, bad;
    nudge_err err = {0};
    assert_int_equal(nudge_send_clinic_notice(e.n, clinic, two, 2, &s, &id, &err), 0);
    tick(&e);
    struct by_lang l = {.en_id = ids[0], .hi_id = ids[1]};
    assert_int_equal(nudge_notification_list(e.n, clinic, NULL, 0, 100000, lang_msgs, &l, &err), 0);
    assert_string_equal(l.en, "Closed Monday, Patient 0");
    assert_string_equal(l.hi, "सोमवार बंद");
    /* Refusals name the field. */
    int64_t nobody = ids[1999] + 1000;
    assert_int_equal(nudge_send_clinic_notice(e.n, clinic, &nobody, 1, &s, &bad, &err), -1);
    assert_string_equal(err.field, "patient_ids");
    nudge_broadcast_spec t = {.kind = "tip", .name = "x", .text = "Hi {nope}"};
    assert_int_equal(nudge_broadcast_create(e.n, clinic, &t, &bad, &err), -1);
    assert_string_equal(err.field, "text");
    t.text = "ok";
    t.criteria = "{\"shoe_size\": 9}";
    assert_int_equal(nudge_broadcast_create(e.n, clinic, &t, &bad, &err), -1);
    assert_string_equal(err.field, "shoe_size");
    const char *body = "{\"name\": \"x\", \"text\": \"y\", \"scheduled_time\": \"tomorrow\"}";
    assert_int_equal(
        nudge_broadcast_create_json(e.n, clinic, "campaign", body, strlen(body), &bad, &err), -1);
    assert_string_equal(err.field, "scheduled_time");

    /* A/B: weights 1 and 3 over 2,000 patients; the seeded split is the
     * same for a second broadcast made at the same instant. */
    nudge_broadcast_spec ab = {
        .kind = "tip", .name = "AB",
        .variants = "[{\"name\": \"short\", \"text\": \"Floss\"}, "
                    "{\"name\": \"long\", \"weight\": 3, \"text\": \"Floss every night\"}]"};
    int64_t a1 = make(e.n, clinic, &ab), a2 = make(e.n, clinic, &ab);
    for (int k = 0; k < 3; k++)
        tick(&e);
    nudge_delivery_stats st1[4], st2[4];
    int c1, c2;
    assert_int_equal(nudge_get_delivery_stats(e.n, clinic, a1, st1, 4, &c1, &err), 0);
    assert_int_equal(nudge_get_delivery_stats(e.n, clinic, a2, st2, 4, &c2, &err), 0);
    assert_int_equal(c1, 3);
    assert_int_equal(st1[0].queued, 1800);
    int64_t sh = !strcmp(st1[1].variant, "short") ? st1[1].queued : st1[2].queued;
    assert_int_equal(st1[1].queued + st1[2].queued, 1800);
    /* 450 expected; sd = sqrt(1800 * 0.25 * 0.75) = 18.4: within 5 sd. */
    assert_true(llabs(sh - 450) < 92);
    assert_int_equal(st2[1].queued, st1[1].queued);
    assert_int_equal(st2[2].queued, st1[2].queued);
    tu_close(&e);
}

/* One consent rule: a segment's consented_to_category is consent.c's
 * rule on at least one channel, so its members are exactly the patients
 * consent_check lets the category reach on some channel, for a generated
 * ledger of per-channel and channel-wide grants, withdrawals, clears and
 * STOP/START, under either reminders policy. */
static void test_segment_consent_agrees_with_check(void **state)
{
    (void)state;
    tu_env e;
    tu_open(&e, T0);
    int64_t clinic = add_clinic(e.n), ids[160];
    pop_add_v(&e, clinic, 160, ids, 0);
    static const char *const cats[] = {"reminders", "broadcasts", "health_tips", "marketing", "*"};
    static const char *const chans[] = {"sms", "whatsapp", "email", "*"};
    static const char *const states[] = {"granted", "withdrawn", "cleared"};
    uint64_t r = 17;
    nudge_err err = {0};
    assert_int_equal(store_begin(e.n->db, &err), 0);
    for (int i = 0; i < 160; i++)
        for (int k = (int)(i % 5); k > 0; k--) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *cat = cats[(r >> 33) % 5], *ch = chans[(r >> 40) % 4];
            if (!strcmp(cat, "*") && !strcmp(ch, "*"))
                ch = "sms";
            assert_int_equal(consent_write(e.n, clinic, ids[i], cat, ch, states[(r >> 50) % 3],
                                           "staff", "the wording", NULL, NULL, &err),
                             0);
        }
    assert_int_equal(store_commit(e.n->db, &err), 0);
    for (int policy = 0; policy < 2; policy++) {
        nudge_usage_plan pl;
        assert_int_equal(nudge_usage_plan_get(e.n, clinic, &pl, &err), 0);
        strcpy(pl.reminders_policy, policy ? "opt_in" : "opt_out");
        assert_int_equal(nudge_usage_plan_set(e.n, clinic, &pl, &err), 0);
        for (int c = 0; c < 4; c++) {
            char crit[64];
            snprintf(crit, sizeof crit, "{\"consented_to_category\": \"%s\"}", cats[c]);
            json_t *j;
            int64_t got[160];
            assert_int_equal(seg_parse(crit, &j, &err), 0);
            int ng = seg_ids(e.n, clinic, j, T0, 0, 160, got, &err);
            json_decref(j);
            assert_true(ng >= 0);
            int want = 0, k = 0, some = 0;
            for (int i = 0; i < 160; i++) {
                int any = 0;
                for (int h = 0; h < 3; h++) {
                    const char *why;
                    int ok = consent_check(e.n, clinic, ids[i], cats[c], chans[h], T0, &why, &err);
                    assert_true(ok >= 0);
                    any |= ok;
                    some += !ok && !strcmp(why, "opted_out");
                }
                if (!any)
                    continue;
                want++;
                while (k < ng && got[k] < ids[i])
                    fail_msg("%s: patient %lld in the segment, refused by consent_check",
                             cats[c], (long long)got[k]);
                if (k == ng || got[k] != ids[i])
                    fail_msg("%s: patient %lld allowed by consent_check, not in the segment",
                             cats[c], (long long)ids[i]);
                k++;
            }
            assert_int_equal(ng, want);
            assert_true(want > 0 && want < 160 && some > 0); /* the cases are mixed */
        }
    }
    tu_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_criteria),
        cmocka_unit_test(test_scheduled_campaign_and_skips),
        cmocka_unit_test(test_stale_campaign_after_downtime),
        cmocka_unit_test(test_crash_mid_fanout_then_resume),
        cmocka_unit_test(test_reminder_leaves_first_during_big_fanout),
        cmocka_unit_test(test_notice_in_each_language_and_ab_split),
        cmocka_unit_test(test_segment_consent_agrees_with_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
