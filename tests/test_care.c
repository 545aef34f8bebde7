/*
 * test_care.c: support tickets, the FAQ and loyalty (issue 10), on either
 * engine. The FAQ's search over a fixed set of English and Hindi questions
 * with the shipped entries: the expected entry, or an escalation below the
 * threshold; urgent words escalating with priority urgent; a ticket
 * answered on the patient's channel (template faq_answer) and resolved
 * with its entry, its events in its transaction; staff reply, assign,
 * close; a patient writing back after an answer. Loyalty: the ledger's
 * arithmetic, a redemption refused below zero with nothing written, two
 * redemptions at the same moment from two handles (one wins), the visit
 * rules given once, the balance template. The workflow step kinds
 * ticket.autoresolve and loyalty.add run through their .run with a
 * wf_ctx built here (the engine is not in this branch), and their
 * validation names the bad field.
 */
#include <pthread.h>

#include "testutil.h"

#include "core.h"
#include "wfstep.h"

#define T0 TU_T(2026, 11, 24, 6, 0) /* 11:30 in Kolkata */

typedef struct fx {
    tu_env env;
    int64_t clinic, en, hi; /* an English and a Hindi patient */
} fx;

static int64_t add_patient(fx *f, const char *name, const char *phone, const char *lang)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = f->clinic;
    snprintf(p.name, sizeof p.name, "%s", name);
    snprintf(p.phone, sizeof p.phone, "%s", phone);
    snprintf(p.language, sizeof p.language, "%s", lang);
    nudge_err e = {0};
    assert_int_equal(nudge_patient_add(f->env.n, &p, &e), 0);
    return p.id;
}

/* A visit an hour after T0. */
static void add_visit(fx *f, int64_t patient, const char *service, nudge_appointment *a)
{
    memset(a, 0, sizeof *a);
    a->patient_id = patient;
    snprintf(a->service, sizeof a->service, "%s", service);
    a->start_at = T0 + 3600;
    a->duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, a, &e), 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    tu_open(&f->env, T0);
    nudge_err e = {0};
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    assert_int_equal(nudge_clinic_add(f->env.n, &c, &e), 0);
    f->clinic = c.id;
    f->en = add_patient(f, "Asha Rao", "9876543210", "en");
    f->hi = add_patient(f, "Ram Lal", "9876543211", "hi");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_close(&f->env);
    free(f);
    return 0;
}

static int64_t count(fx *f, const char *sql, int64_t a, int64_t b)
{
    int64_t v = -1;
    nudge_err e = {0};
    if (store_scalar(f->env.n->db, &v, &e, sql, bind_int(a), bind_int(b)) != 1)
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

static int64_t events(fx *f, const char *type, int64_t ticket)
{
    int64_t v = -1;
    nudge_err e = {0};
    if (store_scalar(f->env.n->db, &v, &e,
                     "SELECT COUNT(*) FROM events WHERE clinic_id = ? AND type = ? AND "
                     "subject_id = ?",
                     bind_int(f->clinic), bind_text(type), bind_int(ticket)) != 1)
        fail_msg("events: %s", e.msg);
    return v;
}

/* The seed name of an FAQ entry ("" for none). */
static const char *seed_of(fx *f, int64_t id, char *buf, size_t n)
{
    buf[0] = 0;
    if (!id)
        return buf;
    nudge_faq q;
    nudge_err e = {0};
    assert_int_equal(nudge_faq_get(f->env.n, f->clinic, id, &q, &e), 0);
    snprintf(buf, n, "%s", q.seed);
    return buf;
}

/* ---- the FAQ's search ---- */

static const struct {
    const char *text;
    const char *expect; /* the shipped entry that answers, or "escalate" / "urgent" */
    const char *language;
} questions[] = {
    {"What time do you open on Saturday?", "hours", "en"},
    {"Where is the clinic located?", "location", "en"},
    {"Is there parking for my car?", "parking", "en"},
    {"Do you accept my insurance? Is it cashless?", "insurance", "en"},
    {"How much is the consultation fee?", "fees", "en"},
    {"How do I cancel my appointment?", "cancellation", "en"},
    {"Can you recommend a good movie for tonight?", "escalate", ""},
    {"I want to discuss my crown and the bridge work", "escalate", ""},
    {"I have severe pain in my tooth", "urgent", ""},
    {"My gums are bleeding since morning", "urgent", ""},
    {"My face is swollen, is the clinic open?", "urgent", ""},
    {"Fever after the extraction yesterday", "urgent", ""},
    {"क्लिनिक कितने बजे खुलता है?", "hours", "hi"},
    {"क्लिनिक का पता क्या है?", "location", "hi"},
    {"क्या पार्किंग की सुविधा है?", "parking", "hi"},
    {"क्या आप बीमा लेते हैं?", "insurance", "hi"},
    {"परामर्श की फीस कितनी है?", "fees", "hi"},
    {"अपॉइंटमेंट कैसे रद्द करें?", "cancellation", "hi"},
    {"मेरे बेटे की शादी अगले महीने है", "escalate", ""},
    {"दाँत में बहुत दर्द है", "urgent", ""},
    {"मसूड़ों से खून आ रहा है", "urgent", ""},
    {"गाल पर सूजन है", "urgent", ""},
    {"मुझे कल से बुखार है", "urgent", ""},
};

static void test_faq_matches_the_questions(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof questions / sizeof *questions; i++) {
        nudge_faq_match m;
        nudge_err e = {0};
        assert_int_equal(nudge_faq_match_text(f->env.n, f->clinic, questions[i].text, &m, &e), 0);
        char seed[32];
        seed_of(f, m.faq_id, seed, sizeof seed);
        const char *got = m.urgent ? "urgent"
                          : m.faq_id && m.confidence >= m.threshold ? seed
                                                                    : "escalate";
        if (strcmp(got, questions[i].expect))
            fail_msg("\"%s\": expected %s, got %s (entry %s, %d%%)", questions[i].text,
                     questions[i].expect, got, seed, m.confidence);
        if (*questions[i].language)
            assert_string_equal(m.language, questions[i].language);
        assert_int_equal(m.threshold, 50);
    }
}

static void test_faq_threshold_and_own_entries(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    /* Seeding again adds nothing: 6 topics in 2 languages were seeded. */
    int added = -1;
    assert_int_equal(nudge_faq_seed(n, f->clinic, &added, &e), 0);
    assert_int_equal(added, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM faq_entries WHERE clinic_id = ? AND ? = 0",
                           f->clinic, 0),
                     12);
    nudge_faq q = {.clinic_id = f->clinic};
    strcpy(q.question, "Do you do teeth whitening?");
    strcpy(q.answer, "Yes: a session takes an hour and costs Rs 4000.");
    strcpy(q.keywords, "whitening bleaching white teeth");
    assert_int_equal(nudge_faq_add(n, &q, &e), 0);
    assert_string_equal(q.language, "en");
    nudge_faq_match m;
    assert_int_equal(nudge_faq_match_text(n, f->clinic, "teeth whitening price?", &m, &e), 0);
    assert_int_equal(m.faq_id, q.id);
    assert_true(m.confidence >= 50);
    /* A clinic that wants only sure answers raises its threshold. */
    assert_int_equal(nudge_faq_set_threshold(n, f->clinic, 101, &e), -1);
    assert_string_equal(e.field, "threshold");
    assert_int_equal(nudge_faq_set_threshold(n, f->clinic, 100, &e), 0);
    assert_int_equal(nudge_faq_match_text(n, f->clinic, "teeth whitening price?", &m, &e), 0);
    assert_int_equal(m.threshold, 100);
    assert_true(m.confidence < 100);
    /* Removed, it is no longer found. */
    assert_int_equal(nudge_faq_remove(n, f->clinic, q.id, &e), 0);
    assert_int_equal(nudge_faq_match_text(n, f->clinic, "whitening", &m, &e), 0);
    assert_int_equal(m.faq_id, 0);
    /* Bad input names its field. */
    nudge_faq bad = {.clinic_id = f->clinic};
    strcpy(bad.question, "Why?");
    assert_int_equal(nudge_faq_add(n, &bad, &e), -1);
    assert_string_equal(e.field, "answer");
    strcpy(bad.answer, "Because.");
    strcpy(bad.language, "Hindi!");
    assert_int_equal(nudge_faq_add(n, &bad, &e), -1);
    assert_string_equal(e.field, "language");
    assert_int_equal(nudge_faq_match_text(n, f->clinic, "  ", &m, &e), -1);
    assert_string_equal(e.field, "text");
}

/* ---- tickets ---- */

static int64_t inbound(fx *f, const char *from, const char *text, const char *id)
{
    nudge_inbound in = {.channel = "sms", .from = from, .text = text, .provider_id = id};
    nudge_reply out;
    nudge_err e = {0};
    if (nudge_inbound_handle(f->env.n, &in, &out, &e) < 0)
        fail_msg("inbound: %s", e.msg);
    assert_string_equal(out.action, "ticket");
    return out.ticket_id;
}

typedef struct thread_rows {
    int n;
    nudge_ticket_message m[8];
} thread_rows;

static int put_message(void *ctx, const nudge_ticket_message *m)
{
    thread_rows *t = ctx;
    if (t->n < 8)
        t->m[t->n++] = *m;
    return 0;
}

static void test_ticket_answered_by_the_faq(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    int64_t id = inbound(f, "+919876543210", "Is there parking for my car?", "SM1");
    assert_true(id > 0);
    assert_int_equal(events(f, "ticket.opened", id), 1);
    nudge_ticket_outcome o;
    assert_int_equal(nudge_ticket_autoresolve(n, f->clinic, id, &o, &e), 0);
    assert_string_equal(o.action, "resolved");
    assert_string_equal(o.reason, "matched");
    char seed[32];
    assert_string_equal(seed_of(f, o.faq_id, seed, sizeof seed), "parking");
    nudge_ticket t;
    assert_int_equal(nudge_ticket_get(n, f->clinic, id, &t, &e), 0);
    assert_string_equal(t.status, "resolved");
    assert_int_equal(t.faq_id, o.faq_id);
    assert_int_equal(t.resolved_at, T0);
    assert_int_equal(events(f, "ticket.resolved", id), 1);
    /* The answer goes to the patient, by SMS as they wrote, rendered. */
    nudge_notification m;
    assert_int_equal(nudge_notification_get(n, f->clinic, o.notification_id, &m, &e), 0);
    assert_string_equal(m.template_name, "faq_answer");
    assert_string_equal(m.channel, "sms");
    assert_non_null(strstr(m.body, "Free parking"));
    nudge_notification_free(&m);
    thread_rows th = {0};
    assert_int_equal(nudge_ticket_thread(n, f->clinic, id, put_message, &th, &e), 0);
    assert_int_equal(th.n, 2);
    assert_string_equal(th.m[0].direction, "in");
    assert_string_equal(th.m[1].direction, "out");
    assert_string_equal(th.m[1].author, "faq");
    assert_int_equal(th.m[1].faq_id, o.faq_id);
    assert_int_equal(th.m[1].notification_id, o.notification_id);
    /* Run again (a retried step): nothing more happens. */
    assert_int_equal(nudge_ticket_autoresolve(n, f->clinic, id, &o, &e), 0);
    assert_string_equal(o.action, "skipped");
    assert_int_equal(events(f, "ticket.resolved", id), 1);
    /* The patient writes back: the answer did not do, a person reads it. */
    f->env.clock.t += 60;
    assert_int_equal(inbound(f, "+919876543210", "Is it covered?", "SM2"), id);
    assert_int_equal(nudge_ticket_get(n, f->clinic, id, &t, &e), 0);
    assert_string_equal(t.status, "escalated");
    assert_int_equal(events(f, "ticket.escalated", id), 1);
    memset(&th, 0, sizeof th);
    assert_int_equal(nudge_ticket_thread(n, f->clinic, id, put_message, &th, &e), 0);
    assert_int_equal(th.n, 3);
    assert_string_equal(th.m[2].body, "Is it covered?");
}

static void test_urgent_and_unknown_escalate(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    /* Hindi, urgent: escalated at once, priority urgent, nothing sent. */
    int64_t id = inbound(f, "+919876543211", "दाँत में बहुत दर्द है, क्लिनिक कब खुलता है?", "SM3");
    nudge_ticket_outcome o;
    assert_int_equal(nudge_ticket_autoresolve(n, f->clinic, id, &o, &e), 0);
    assert_string_equal(o.action, "escalated");
    assert_string_equal(o.reason, "urgent");
    assert_int_equal(o.notification_id, 0);
    nudge_ticket t;
    assert_int_equal(nudge_ticket_get(n, f->clinic, id, &t, &e), 0);
    assert_string_equal(t.status, "escalated");
    assert_string_equal(t.priority, "urgent");
    assert_int_equal(events(f, "ticket.escalated", id), 1);
    assert_int_equal(events(f, "ticket.resolved", id), 0);
    /* A web form's ticket nobody's FAQ answers: escalated, priority kept. */
    nudge_ticket w = {.clinic_id = f->clinic, .patient_id = f->en};
    strcpy(w.subject, "Question about my bridge");
    strcpy(w.description, "Can you recommend a good movie for tonight?");
    strcpy(w.source, "api");
    assert_int_equal(nudge_ticket_open(n, &w, &e), 0);
    assert_string_equal(w.status, "open");
    assert_int_equal(events(f, "ticket.opened", w.id), 1);
    assert_int_equal(nudge_ticket_autoresolve(n, f->clinic, w.id, &o, &e), 0);
    assert_string_equal(o.action, "escalated");
    assert_string_equal(o.reason, "no_match");
    assert_int_equal(nudge_ticket_get(n, f->clinic, w.id, &t, &e), 0);
    assert_string_equal(t.priority, "normal");
    /* Below the threshold: a clinic at 100% escalates a partial match. */
    assert_int_equal(nudge_faq_set_threshold(n, f->clinic, 100, &e), 0);
    strcpy(w.description, "Is there parking near the metro station?");
    assert_int_equal(nudge_ticket_open(n, &w, &e), 0);
    assert_int_equal(nudge_ticket_autoresolve(n, f->clinic, w.id, &o, &e), 0);
    assert_string_equal(o.action, "escalated");
    assert_string_equal(o.reason, "low_confidence");
    assert_true(o.faq_id > 0 && o.confidence < 100);
}

static int count_ticket(void *ctx, const nudge_ticket *t)
{
    (void)t;
    ++*(int *)ctx;
    return 0;
}

static void test_staff_reply_assign_close(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    nudge_ticket t = {.clinic_id = f->clinic, .patient_id = f->hi};
    strcpy(t.subject, "Crown fitting");
    assert_int_equal(nudge_ticket_open(n, &t, &e), 0);
    assert_string_equal(t.source, "staff");
    int64_t mid = 0;
    assert_int_equal(nudge_ticket_reply(n, f->clinic, t.id, "Dr Mehta", "आपका क्राउन तैयार है।",
                                        &mid, &e),
                     0);
    thread_rows th = {0};
    assert_int_equal(nudge_ticket_thread(n, f->clinic, t.id, put_message, &th, &e), 0);
    assert_int_equal(th.n, 1);
    assert_int_equal(th.m[0].id, mid);
    assert_string_equal(th.m[0].author, "Dr Mehta");
    nudge_notification m;
    assert_int_equal(nudge_notification_get(n, f->clinic, th.m[0].notification_id, &m, &e), 0);
    assert_string_equal(m.template_name, "ticket_reply");
    assert_string_equal(m.language, "hi");
    assert_non_null(strstr(m.body, "आपका क्राउन तैयार है।"));
    nudge_notification_free(&m);
    nudge_ticket g;
    assert_int_equal(nudge_ticket_get(n, f->clinic, t.id, &g, &e), 0);
    assert_string_equal(g.status, "in_progress");
    assert_int_equal(nudge_ticket_assign(n, f->clinic, t.id, "Priya", &e), 0);
    assert_int_equal(nudge_ticket_get(n, f->clinic, t.id, &g, &e), 0);
    assert_string_equal(g.assigned_to, "Priya");
    assert_int_equal(nudge_ticket_assign(n, f->clinic, t.id, " ", &e), -1);
    assert_string_equal(e.field, "assigned_to");
    assert_int_equal(nudge_ticket_close(n, f->clinic, t.id, &e), 0);
    assert_int_equal(events(f, "ticket.closed", t.id), 1);
    assert_int_equal(nudge_ticket_reply(n, f->clinic, t.id, "Dr Mehta", "again", NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(nudge_ticket_close(n, f->clinic, t.id, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    /* Another clinic's id is not found; bad input names its field. */
    assert_int_equal(nudge_ticket_get(n, f->clinic + 1, t.id, &g, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    nudge_ticket bad = {.clinic_id = f->clinic};
    strcpy(bad.subject, "x");
    strcpy(bad.priority, "asap");
    assert_int_equal(nudge_ticket_open(n, &bad, &e), -1);
    assert_string_equal(e.field, "priority");
    bad.priority[0] = 0;
    bad.patient_id = 999;
    assert_int_equal(nudge_ticket_open(n, &bad, &e), -1);
    assert_string_equal(e.field, "patient_id");
    int seen = 0;
    assert_int_equal(nudge_ticket_list(n, f->clinic, "closed", 0, 0, count_ticket, &seen, &e), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(nudge_ticket_list(n, f->clinic, "shut", 0, 0, count_ticket, &seen, &e), -1);
    assert_string_equal(e.field, "status");
}

/* ---- loyalty ---- */

static int64_t balance(fx *f, int64_t patient)
{
    int64_t b = -1;
    nudge_err e = {0};
    assert_int_equal(nudge_loyalty_balance(f->env.n, f->clinic, patient, &b, &e), 0);
    /* The balance is the ledger's sum, nothing else. */
    assert_int_equal(count(f, "SELECT COALESCE(SUM(points), 0) FROM loyalty_ledger WHERE "
                              "clinic_id = ? AND patient_id = ?",
                           f->clinic, patient),
                     b);
    return b;
}

static void test_loyalty_ledger(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    int64_t id;
    assert_int_equal(nudge_loyalty_add(n, f->clinic, f->en, 100, "welcome", &id, &e), 0);
    assert_int_equal(nudge_loyalty_add(n, f->clinic, f->en, 50, "review", NULL, &e), 0);
    assert_int_equal(nudge_loyalty_redeem(n, f->clinic, f->en, 120, "cleaning discount", NULL, &e),
                     0);
    assert_int_equal(balance(f, f->en), 30);
    assert_int_equal(nudge_loyalty_redeem(n, f->clinic, f->en, 31, NULL, NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_string_equal(e.field, "points");
    assert_int_equal(nudge_loyalty_add(n, f->clinic, f->en, -31, "correction", NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM loyalty_ledger WHERE clinic_id = ? AND "
                              "patient_id = ?",
                           f->clinic, f->en),
                     3);
    assert_int_equal(nudge_loyalty_redeem(n, f->clinic, f->en, 30, NULL, NULL, &e), 0);
    assert_int_equal(balance(f, f->en), 0);
    assert_int_equal(nudge_loyalty_redeem(n, f->clinic, f->en, 0, NULL, NULL, &e), -1);
    assert_string_equal(e.field, "points");
    assert_int_equal(nudge_loyalty_add(n, f->clinic, f->en, 5, " ", NULL, &e), -1);
    assert_string_equal(e.field, "reason");
    assert_int_equal(nudge_loyalty_add(n, f->clinic, 999, 5, "x", NULL, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
}

static void test_loyalty_visit_rules_and_template(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    nudge_loyalty_rule r = {.clinic_id = f->clinic, .points = 10};
    strcpy(r.kind, "visit");
    assert_int_equal(nudge_loyalty_rule_set(n, &r, &e), 0);
    strcpy(r.kind, "service");
    strcpy(r.service, "Root Canal");
    r.points = 25;
    assert_int_equal(nudge_loyalty_rule_set(n, &r, &e), 0);
    strcpy(r.kind, "visit");
    assert_int_equal(nudge_loyalty_rule_set(n, &r, &e), -1);
    assert_string_equal(e.field, "service");
    strcpy(r.kind, "birthday");
    assert_int_equal(nudge_loyalty_rule_set(n, &r, &e), -1);
    assert_string_equal(e.field, "kind");
    nudge_appointment a;
    add_visit(f, f->hi, "Root Canal", &a);
    int64_t pts = -1;
    assert_int_equal(nudge_loyalty_visit(n, f->clinic, a.id, &pts, &e), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT); /* not completed yet */
    f->env.clock.t = T0 + 7200;
    /* Completing it runs the built-in workflow loyalty_visit, which gives
     * the rules' points (visit 10 + Root Canal's 25); asked again, none. */
    assert_int_equal(nudge_appointment_complete(n, f->clinic, a.id, &e), 0);
    assert_int_equal(nudge_loyalty_visit(n, f->clinic, a.id, &pts, &e), 0);
    assert_int_equal(pts, 0); /* given once */
    assert_int_equal(balance(f, f->hi), 35);
    int64_t nid;
    assert_int_equal(nudge_loyalty_tell(n, f->clinic, f->hi, &nid, &e), 0);
    nudge_notification m;
    assert_int_equal(nudge_notification_get(n, f->clinic, nid, &m, &e), 0);
    assert_string_equal(m.template_name, "loyalty_balance");
    assert_non_null(strstr(m.body, "35 लॉयल्टी पॉइंट"));
    nudge_notification_free(&m);
}

/* Two handles on one database redeem 60 of 100 at the same moment. */
typedef struct racer {
    const char *db;
    nudge_clock *clock;
    int64_t clinic, patient;
    int own; /* through a transaction without the writers' lock (a step's) */
    pthread_barrier_t *go;
    int rc, code;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    nudge_config cfg = {.db = r->db, .clock = r->clock};
    nudge *n;
    nudge_err e = {0};
    if (nudge_open(&cfg, &n, &e) < 0) {
        r->rc = -2;
        pthread_barrier_wait(r->go);
        return NULL;
    }
    pthread_barrier_wait(r->go);
    if (r->own) {
        r->rc = store_begin_own(n->db, &e);
        if (!r->rc) {
            r->rc = loyalty_apply(n, r->clinic, r->patient, -60, "race", "redemption", 0, NULL,
                                  NULL, &e);
            if (r->rc < 0)
                store_rollback(n->db);
            else
                r->rc = store_commit(n->db, &e);
        }
    } else {
        r->rc = nudge_loyalty_redeem(n, r->clinic, r->patient, 60, "race", NULL, &e);
    }
    r->code = e.code;
    nudge_close(n);
    return NULL;
}

static void test_loyalty_concurrent_redemptions(void **state)
{
    fx *f = *state;
    nudge_err e = {0};
    for (int own = 0; own < 2; own++) {
        int64_t p = own ? f->hi : f->en;
        assert_int_equal(nudge_loyalty_add(f->env.n, f->clinic, p, 100, "gift", NULL, &e), 0);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        racer r[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            r[i] = (racer){.db = f->env.db, .clock = &f->env.clock, .clinic = f->clinic,
                           .patient = p, .own = own, .go = &go};
            assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        int ok = (r[0].rc == 0) + (r[1].rc == 0);
        assert_int_equal(ok, 1);
        assert_int_equal(r[r[0].rc == 0 ? 1 : 0].code, NUDGE_ECONFLICT);
        assert_int_equal(balance(f, p), 40);
    }
}

/* ---- the workflow step kinds ---- */

static json_t *run_step(fx *f, const wf_step_kind *k, const char *args, const char *type,
                        int64_t subject, json_t *payload, int rc_want, nudge_err *e)
{
    json_t *a = json_loads(args, 0, NULL);
    assert_non_null(a);
    wf_ctx c = {.n = f->env.n, .clinic_id = f->clinic, .run_id = 1, .step = 0, .event_id = 1,
                .event_type = type, .subject_id = subject, .event = payload,
                .now = f->env.clock.t};
    json_t *result = NULL;
    assert_int_equal(k->validate(f->env.n, a, "steps[0]", e), 0);
    assert_int_equal(store_begin(f->env.n->db, e), 0);
    int rc = k->run(&c, a, &result, e);
    if (rc < 0)
        store_rollback(f->env.n->db);
    else
        assert_int_equal(store_commit(f->env.n->db, e), 0);
    assert_int_equal(rc, rc_want);
    json_decref(a);
    json_decref(payload);
    return result;
}

static void test_step_kinds(void **state)
{
    fx *f = *state;
    nudge *n = f->env.n;
    nudge_err e = {0};
    assert_string_equal(ticket_step_autoresolve.name, "ticket.autoresolve");
    assert_string_equal(loyalty_step_add.name, "loyalty.add");
    /* ticket.autoresolve on ticket.opened: the event's subject. */
    nudge_ticket t = {.clinic_id = f->clinic, .patient_id = f->en};
    strcpy(t.subject, "Question");
    strcpy(t.description, "What are your opening hours on Sunday?");
    assert_int_equal(nudge_ticket_open(n, &t, &e), 0);
    json_t *res = run_step(f, &ticket_step_autoresolve, "{}", "ticket.opened", t.id,
                           json_pack("{s:I}", "ticket_id", (json_int_t)t.id), 0, &e);
    assert_string_equal(json_string_value(json_object_get(res, "action")), "resolved");
    assert_true(json_integer_value(json_object_get(res, "notification_id")) > 0);
    json_decref(res);
    assert_int_equal(nudge_ticket_get(n, f->clinic, t.id, &t, &e), 0);
    assert_string_equal(t.status, "resolved");
    /* ... and with a threshold of its own. */
    strcpy(t.description, "Is there parking near the metro station?");
    assert_int_equal(nudge_ticket_open(n, &t, &e), 0);
    res = run_step(f, &ticket_step_autoresolve, "{\"threshold\": 100}", "message.inbound", 0,
                   json_pack("{s:I}", "ticket_id", (json_int_t)t.id), 0, &e);
    assert_string_equal(json_string_value(json_object_get(res, "reason")), "low_confidence");
    json_decref(res);
    /* Validation names the step's field. */
    json_t *bad = json_pack("{s:i}", "threshold", 101);
    assert_int_equal(ticket_step_autoresolve.validate(n, bad, "steps[2]", &e), -1);
    assert_string_equal(e.field, "steps[2].threshold");
    json_decref(bad);
    bad = json_pack("{s:i}", "thresold", 1);
    assert_int_equal(ticket_step_autoresolve.validate(n, bad, "steps[2]", &e), -1);
    assert_string_equal(e.field, "steps[2].thresold");
    json_decref(bad);

    /* loyalty.add {"points": N}: the payload's patient. */
    res = run_step(f, &loyalty_step_add, "{\"points\": 20, \"reason\": \"booked online\"}",
                   "appointment.booked", 5, json_pack("{s:I}", "patient_id", (json_int_t)f->en),
                   0, &e);
    assert_int_equal(json_integer_value(json_object_get(res, "points")), 20);
    json_decref(res);
    assert_int_equal(balance(f, f->en), 20);
    /* Taking off more than the balance fails and writes nothing. */
    e = (nudge_err){0};
    res = run_step(f, &loyalty_step_add, "{\"points\": -21}", "patient.updated", f->en,
                   json_object(), -1, &e);
    assert_null(res);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_int_equal(balance(f, f->en), 20);
    /* {"rule": "visit"} on appointment.completed. */
    nudge_loyalty_rule r = {.clinic_id = f->clinic, .points = 15};
    strcpy(r.kind, "visit");
    assert_int_equal(nudge_loyalty_rule_set(n, &r, &e), 0);
    nudge_appointment a;
    add_visit(f, f->en, "Cleaning", &a);
    f->env.clock.t = T0 + 7200;
    assert_int_equal(nudge_appointment_complete(n, f->clinic, a.id, &e), 0);
    /* The built-in workflow gave the visit's points at completion; the step
     * run again for the same visit gives none (once per visit). */
    res = run_step(f, &loyalty_step_add, "{\"rule\": \"visit\"}", "appointment.completed", a.id,
                   json_pack("{s:I}", "patient_id", (json_int_t)f->en), 0, &e);
    assert_int_equal(json_integer_value(json_object_get(res, "points")), 0);
    json_decref(res);
    assert_int_equal(balance(f, f->en), 35);
    /* Validation. */
    static const struct {
        const char *args, *field;
    } invalid[] = {
        {"{\"points\": \"ten\"}", "steps[1].points"},
        {"{\"points\": 0}", "steps[1].points"},
        {"{\"points\": 5, \"rule\": \"visit\"}", "steps[1].points"},
        {"{\"rule\": \"birthday\"}", "steps[1].rule"},
        {"{\"rule\": \"visit\", \"reason\": \"x\"}", "steps[1].reason"},
        {"{\"pionts\": 5}", "steps[1].pionts"},
        {"{}", "steps[1].points"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        json_t *j = json_loads(invalid[i].args, 0, NULL);
        assert_int_equal(loyalty_step_add.validate(n, j, "steps[1]", &e), -1);
        if (strcmp(e.field, invalid[i].field))
            fail_msg("%s: field %s, expected %s", invalid[i].args, e.field, invalid[i].field);
        assert_int_equal(e.code, NUDGE_EINVAL);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faq_matches_the_questions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faq_threshold_and_own_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_answered_by_the_faq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urgent_and_unknown_escalate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staff_reply_assign_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loyalty_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loyalty_visit_rules_and_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loyalty_concurrent_redemptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_kinds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
