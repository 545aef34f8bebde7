/*
 * test_workflow.c: the workflow engine on a simulated clock. Each built-in
 * workflow from its event to the messages it makes; an event committed by
 * a process that died before its runs (they run once, from the tick), and
 * a run whose worker died mid-way (taken up after its lease, each step
 * once); custom C steps, a failing step recorded while the rest run, and
 * "on_error": "stop"; stop_if and a wait that outlives the handle;
 * invalid definitions refused naming the path of the bad member, nothing
 * written; statistics against counts taken from the rows; two processes
 * racing for the same runs, each run's step once.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "testutil.h"

#include "core.h"

#define T0 TU_T(2026, 12, 1, 4, 30) /* 10:00 in Kolkata */

static int64_t count(nudge *n, const char *sql)
{
    int64_t c = -1;
    nudge_err e = {0};
    assert_int_equal(store_scalar(n->db, &c, &e, sql), 1);
    return c;
}

typedef struct world {
    tu_env env;
    int64_t clinic, patient;
} world;

static void world_open(world *w)
{
    tu_open(&w->env, T0);
    nudge_err e = {0};
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "in");
    c.quiet_start = c.quiet_end = 0;
    strcpy(c.phone, "+919800000001");
    assert_int_equal(nudge_clinic_add(w->env.n, &c, &e), 0);
    w->clinic = c.id;
    nudge_patient p = {0};
    strcpy(p.name, "Ram Lal");
    strcpy(p.phone, "+919876543210");
    p.preferred_time = -1;
    p.clinic_id = c.id;
    assert_int_equal(nudge_patient_add(w->env.n, &p, &e), 0);
    w->patient = p.id;
}

static int64_t book(world *w, int64_t start, nudge_plan *plan)
{
    nudge_appointment a = {0};
    nudge_err e = {0};
    a.patient_id = w->patient;
    strcpy(a.service, "Cleaning");
    a.start_at = start;
    a.duration_min = 30;
    assert_int_equal(nudge_appointment_book(w->env.n, w->clinic, &a, plan, &e), 0);
    return a.id;
}

static void tick(world *w)
{
    nudge_err e = {0};
    if (nudge_tick(w->env.n, NULL, &e) < 0)
        fail_msg("tick: %s", e.msg);
}

/* How many rows a statement with %lld for the clinic counts. */
static int64_t countf(world *w, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return count(w->env.n, sql);
}

static void put_ok(world *w, const char *json)
{
    nudge_err e = {0};
    int64_t v = 0;
    if (nudge_workflow_put(w->env.n, w->clinic, json, strlen(json), &v, &e) < 0)
        fail_msg("put: %s (%s)", e.msg, e.field);
    assert_true(v >= 1);
}

/* Booking runs appointment_scheduling and appointment_reminder and answers
 * with their plan; the tick sends the confirmation; moving the visit runs
 * them again for the new time; completing it runs post_visit_follow_up,
 * whose message goes after the clinic's follow-up delay; a no-show runs
 * no_show_follow_up at once. */
static void test_builtins_event_to_messages(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    nudge_err e = {0};
    nudge_plan plan;
    int64_t a = book(&w, T0 + 3 * 86400, &plan);
    assert_int_equal(plan.n, 3);
    assert_string_equal(plan.items[0].kind, "confirmation");
    assert_string_equal(plan.items[1].kind, "reminder");
    assert_int_equal(plan.items[1].before_min, 24 * 60);
    assert_int_equal(plan.items[2].before_min, 120);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE event_type = "
                                "'appointment.booked' AND status = 'succeeded'"),
                     2);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM reminders WHERE appointment_id = %lld AND "
                            "status = 'planned'",
                            (long long)a),
                     3);
    assert_int_equal(count(w.env.n, "SELECT COUNT(*) FROM events WHERE processed_at IS NULL AND "
                                    "type = 'appointment.booked'"),
                     0);
    tick(&w);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM notification_queue WHERE appointment_id = "
                            "%lld AND template = 'appointment_confirmation'",
                            (long long)a),
                     1);

    /* moved: old plans withdrawn by the change, new ones by the workflows */
    w.env.clock.t += 60;
    assert_int_equal(nudge_appointment_reschedule(w.env.n, w.clinic, a, T0 + 4 * 86400, &e), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE event_type = "
                                "'appointment.rescheduled' AND status = 'succeeded'"),
                     2);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM reminders WHERE appointment_id = %lld AND "
                            "status = 'planned' AND due_at = %lld",
                            (long long)a, (long long)(T0 + 4 * 86400 - 86400)),
                     1);

    /* completed: the follow-up after followup_after (24 h) */
    w.env.clock.t = T0 + 4 * 86400 + 3600;
    assert_int_equal(nudge_appointment_complete(w.env.n, w.clinic, a, &e), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = "
                                "'post_visit_follow_up' AND status = 'succeeded'"),
                     1);
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'appointment_follow_up'"),
                     0);
    w.env.clock.t += 86400;
    tick(&w);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM notification_queue WHERE template = "
                            "'appointment_follow_up' AND appointment_id = %lld",
                            (long long)a),
                     1);
    /* and three days after the completion, the review request, at low
     * priority */
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM notification_queue WHERE template = "
                            "'review_request' AND appointment_id = %lld AND priority = 0 AND "
                            "due_at = %lld",
                            (long long)a, (long long)(T0 + 4 * 86400 + 3600 + 3 * 86400)),
                     1);

    /* no-show: the rebooking prompt at once */
    int64_t b = book(&w, w.env.clock.t + 3600, NULL);
    w.env.clock.t += 2 * 3600;
    assert_int_equal(nudge_appointment_no_show(w.env.n, w.clinic, b, &e), 0);
    tick(&w);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM notification_queue WHERE template = "
                            "'no_show_follow_up' AND appointment_id = %lld",
                            (long long)b),
                     1);

    /* cancellation_notice tells the staff (none here: it succeeds with no
     * one to tell); a clinic's copy with a step of its own runs on the
     * next cancellation without a rebuild. */
    int64_t c = book(&w, w.env.clock.t + 86400, NULL);
    w.env.clock.t += 60;
    assert_int_equal(nudge_appointment_cancel(w.env.n, w.clinic, c, &e), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE event_type = "
                                "'appointment.cancelled' AND status = 'succeeded'"),
                     1);
    put_ok(&w, "{\"name\": \"cancellation_notice\", \"on\": \"appointment.cancelled\", "
               "\"steps\": [{\"kind\": \"message.send\", \"template\": \"reply_cancelled\", "
               "\"priority\": \"high\"}]}");
    int64_t d = book(&w, w.env.clock.t + 86400, NULL);
    w.env.clock.t += 60;
    assert_int_equal(nudge_appointment_cancel(w.env.n, w.clinic, d, &e), 0);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM notification_queue WHERE template = "
                            "'reply_cancelled' AND appointment_id = %lld AND priority = 2",
                            (long long)d),
                     1);
    tu_close(&w.env);
}

/* The steps other subsystems give the engine, in the built-ins: a booking,
 * a no-show and a cancellation tell the staff (staff.notify); a completed
 * visit earns the clinic's loyalty points (loyalty.add, once however often
 * its event is looked at); a patient's ticket is answered from the FAQ, or,
 * when it is urgent, escalated and the staff alerted (ticket.autoresolve,
 * then staff_alerts on ticket.escalated). Counts come from the rows. */
static void test_builtins_staff_loyalty_tickets(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    nudge_err e = {0};
    nudge_staff s = {.clinic_id = w.clinic, .alerts = 1, .digest = 1};
    strcpy(s.name, "Priya");
    strcpy(s.role, "reception");
    strcpy(s.email, "priya@smile.example");
    assert_int_equal(nudge_staff_add(w.env.n, &s, &e), 0);
    nudge_loyalty_rule r = {.clinic_id = w.clinic, .points = 10};
    strcpy(r.kind, "visit");
    assert_int_equal(nudge_loyalty_rule_set(w.env.n, &r, &e), 0);
    /* An alert's delivery says what happened in its text (staff.c). */
#define STAFF_MSGS(text)                                                                          \
    countf(&w, "SELECT COUNT(*) FROM hook_deliveries WHERE staff_id = %lld AND body LIKE '%s'",    \
           (long long)s.id, text)

    int64_t a = book(&w, T0 + 3 * 86400, NULL);
    assert_int_equal(STAFF_MSGS("New booking%%"), 1);
    /* moved: the patient hears again, the staff do not (stop_if) */
    w.env.clock.t += 60;
    assert_int_equal(nudge_appointment_reschedule(w.env.n, w.clinic, a, T0 + 4 * 86400, &e), 0);
    assert_int_equal(STAFF_MSGS("%%#%%moved%%"), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = "
                                "'appointment_scheduling' AND status = 'succeeded'"),
                     2);

    w.env.clock.t = T0 + 4 * 86400 + 3600;
    assert_int_equal(nudge_appointment_complete(w.env.n, w.clinic, a, &e), 0);
    tick(&w);
    tick(&w);
    int64_t balance = -1;
    assert_int_equal(nudge_loyalty_balance(w.env.n, w.clinic, w.patient, &balance, &e), 0);
    assert_int_equal(balance, 10);

    int64_t b = book(&w, w.env.clock.t + 3600, NULL);
    w.env.clock.t += 2 * 3600;
    assert_int_equal(nudge_appointment_no_show(w.env.n, w.clinic, b, &e), 0);
    assert_int_equal(STAFF_MSGS("No-show%%"), 1);
    int64_t c = book(&w, w.env.clock.t + 86400, NULL);
    w.env.clock.t += 60;
    assert_int_equal(nudge_appointment_cancel(w.env.n, w.clinic, c, &e), 0);
    tick(&w);
    assert_int_equal(STAFF_MSGS("%%was cancelled%%"), 1);

    /* tickets: a question the shipped FAQ answers, and an urgent one */
    nudge_ticket t = {.clinic_id = w.clinic, .patient_id = w.patient};
    strcpy(t.subject, "Parking");
    strcpy(t.description, "Is there parking near the clinic?");
    strcpy(t.source, "patient");
    assert_int_equal(nudge_ticket_open(w.env.n, &t, &e), 0);
    nudge_ticket u = {.clinic_id = w.clinic, .patient_id = w.patient};
    strcpy(u.subject, "Tooth");
    strcpy(u.description, "Severe pain and bleeding since the extraction");
    strcpy(u.source, "patient");
    assert_int_equal(nudge_ticket_open(w.env.n, &u, &e), 0);
    /* the tick's look at new events is once a second of the clock */
    w.env.clock.t += 1;
    tick(&w);
    w.env.clock.t += 1;
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM tickets WHERE id = %lld AND status = "
                                "'resolved' AND faq_id IS NOT NULL",
                            (long long)t.id),
                     1);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE patient_id = %lld "
                                "AND template = 'faq_answer'",
                            (long long)w.patient),
                     1);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM tickets WHERE id = %lld AND status = "
                                "'escalated'",
                            (long long)u.id),
                     1);
    assert_int_equal(STAFF_MSGS("%%escalated%%"), 1);
    /* nothing ran twice however many ticks looked */
    w.env.clock.t += 1;
    tick(&w);
    assert_int_equal(nudge_loyalty_balance(w.env.n, w.clinic, w.patient, &balance, &e), 0);
    assert_int_equal(balance, 10);
    /* three bookings, a no-show, a cancellation, an escalation */
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM hook_deliveries WHERE staff_id = %lld",
                            (long long)s.id),
                     6);
#undef STAFF_MSGS
    tu_close(&w.env);
}

/* An event committed by a process that stopped before running its
 * workflows: the tick consumes it, once, however often it runs. */
static void test_crash_between_event_and_run(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    nudge_err e = {0};
    int64_t a = book(&w, T0 + 3 * 86400, NULL);
    /* the change and its event, as appointment.c commits them, without
     * the run that would follow in the same process */
    assert_int_equal(store_begin(w.env.n->db, &e), 0);
    assert_int_equal(reminder_cancel_appointment(w.env.n, w.clinic, a, "moved", &e), 0);
    json_t *ev = json_pack("{s:I, s:I, s:I, s:s}", "appointment_id", (json_int_t)a, "patient_id",
                           (json_int_t)w.patient, "start_at", (json_int_t)(T0 + 3 * 86400),
                           "status", "rescheduled");
    assert_int_equal(event_emit(w.env.n, w.clinic, "appointment.rescheduled", a, ev, &e), 0);
    assert_int_equal(store_commit(w.env.n->db, &e), 0);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM reminders WHERE appointment_id = %lld AND "
                            "status = 'planned'",
                            (long long)a),
                     0);
    for (int i = 0; i < 3; i++) {
        w.env.clock.t += 1;
        tick(&w);
    }
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE event_type = "
                                "'appointment.rescheduled'"),
                     2);
    /* the confirmation went out (planned, then enqueued), reminders planned, each once */
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM reminders WHERE appointment_id = %lld AND "
                            "kind = 'reminder' AND status = 'planned'",
                            (long long)a),
                     2);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM reminders WHERE appointment_id = %lld AND "
                            "kind = 'confirmation' AND status <> 'cancelled'",
                            (long long)a),
                     1);

    /* A worker that claimed a run and died: nothing until its lease ends,
     * then the run goes on from the step that did not commit. */
    assert_int_equal(store_begin(w.env.n->db, &e), 0);
    ev = json_pack("{s:I, s:I}", "appointment_id", (json_int_t)a, "patient_id",
                   (json_int_t)w.patient);
    assert_int_equal(event_emit(w.env.n, w.clinic, "appointment.confirmed", a, ev, &e), 0);
    assert_int_equal(store_commit(w.env.n->db, &e), 0);
    put_ok(&w, "{\"name\": \"thanks\", \"on\": [\"appointment.confirmed\"], \"steps\": ["
               "{\"kind\": \"message.send\", \"template\": \"reply_confirmed\"},"
               "{\"kind\": \"message.send\", \"template\": \"reply_help\"}]}");
    assert_int_equal(store_begin(w.env.n->db, &e), 0);
    assert_int_equal(workflow_fanout_pending(w.env.n, &e), 0);
    assert_int_equal(store_commit(w.env.n->db, &e), 0);
    /* the dead worker had done step 0 and held the lease */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE workflow_runs SET lease_owner = 'dead:1', lease_until = %lld WHERE "
             "workflow = 'thanks'",
             (long long)(w.env.clock.t + 300));
    assert_int_equal(store_exec(w.env.n->db, &e, sql), 0);
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'thanks' AND "
                                "status = 'running'"),
                     1);
    w.env.clock.t += 301;
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'thanks' AND "
                                "status = 'succeeded' AND lease_owner IS NULL"),
                     1);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template IN "
                                "('reply_confirmed', 'reply_help')"),
                     2);
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template IN "
                                "('reply_confirmed', 'reply_help')"),
                     2);

    /* A worker's tick consumed the event between the change's commit and
     * its caller's run of it: the caller claims the runs and still has
     * the plan to answer with. */
    int64_t evid = 0;
    assert_int_equal(store_begin(w.env.n->db, &e), 0);
    ev = json_pack("{s:I, s:I}", "appointment_id", (json_int_t)a, "patient_id",
                   (json_int_t)w.patient);
    assert_int_equal(event_emit_id(w.env.n, w.clinic, "appointment.rescheduled", a, ev, &evid, &e),
                     0);
    assert_int_equal(workflow_fanout_pending(w.env.n, &e), 0);
    assert_int_equal(store_commit(w.env.n->db, &e), 0);
    nudge_plan plan;
    workflow_after(w.env.n, w.clinic, evid, &plan);
    assert_int_equal(plan.n, 3);
    assert_string_equal(plan.items[0].kind, "confirmation");
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM workflow_runs WHERE event_id = %lld AND "
                            "status = 'succeeded'",
                            (long long)evid),
                     2);
    tu_close(&w.env);
}

/* ---- custom steps ---- */

typedef struct tally {
    int calls;
    int64_t last_event;
} tally;

static const char *tally_name(void *self)
{
    (void)self;
    return "tally";
}

static int tally_exec(void *self, const nudge_workflow_context *c, char **result, nudge_err *err)
{
    (void)err;
    tally *t = self;
    t->calls++;
    t->last_event = c->event_id;
    char buf[128];
    snprintf(buf, sizeof buf, "{\"calls\": %d, \"args\": %s}", t->calls, c->args_json);
    *result = strdup(buf);
    return 0;
}

static const char *fail_name(void *self)
{
    (void)self;
    return "always_fails";
}

/* Writes, then fails: its write must not survive. */
static int fail_exec(void *self, const nudge_workflow_context *c, char **result, nudge_err *err)
{
    (void)self, (void)result;
    nudge_err e2 = {0};
    nudge_patient p;
    json_t *ev = json_loads(c->event_json, 0, NULL);
    int64_t pid = json_integer_value(json_object_get(ev, "patient_id"));
    json_decref(ev);
    if (nudge_patient_get(c->n, c->clinic_id, pid, &p, &e2) < 0)
        return nudge_err_set(err, NUDGE_EIO, "", "no patient: %s", e2.msg);
    strcpy(p.tags, "touched");
    if (nudge_patient_update(c->n, c->clinic_id, &p, 0, &e2) < 0)
        return nudge_err_set(err, NUDGE_EIO, "", "update: %s", e2.msg);
    return nudge_err_set(err, NUDGE_EIO, "", "the lab is closed");
}

static void test_custom_steps(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    nudge_err e = {0};
    tally t = {0};
    nudge_workflow_task tt = {.get_name = tally_name, .execute = tally_exec, .self = &t};
    nudge_workflow_task ft = {.get_name = fail_name, .execute = fail_exec, .self = NULL};
    assert_int_equal(nudge_workflow_register_step(w.env.n, &tt, &e), 0);
    assert_int_equal(nudge_workflow_register_step(w.env.n, &ft, &e), 0);
    nudge_workflow_task bad = {.get_name = NULL};
    assert_int_equal(nudge_workflow_register_step(w.env.n, &bad, &e), -1);

    put_ok(&w, "{\"name\": \"on_confirm\", \"on\": \"appointment.confirmed\", \"steps\": ["
               "{\"kind\": \"tally\", \"colour\": \"blue\"},"
               "{\"kind\": \"always_fails\"},"
               "{\"kind\": \"message.send\", \"template\": \"reply_confirmed\", \"channel\": "
               "\"sms\"}]}");
    int64_t a = book(&w, T0 + 86400 * 2, NULL);
    assert_int_equal(nudge_appointment_confirm(w.env.n, w.clinic, a, &e), 0);
    assert_int_equal(t.calls, 1);
    nudge_workflow_run r;
    int64_t run_id = 0;
    assert_int_equal(store_scalar(w.env.n->db, &run_id, &e,
                                  "SELECT id FROM workflow_runs WHERE workflow = 'on_confirm'"),
                     1);
    assert_int_equal(nudge_workflow_run_get(w.env.n, w.clinic, run_id, &r, &e), 0);
    assert_string_equal(r.status, "partly_failed");
    assert_non_null(strstr(r.steps, "the lab is closed"));
    assert_non_null(strstr(r.steps, "\"colour\":\"blue\""));
    free(r.steps);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM patients WHERE tags = 'touched'"), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'reply_confirmed'"),
                     1);

    /* stop on error: the failing step ends the run as failed */
    put_ok(&w, "{\"name\": \"on_confirm\", \"on\": \"appointment.confirmed\", \"steps\": ["
               "{\"kind\": \"always_fails\", \"on_error\": \"stop\"},"
               "{\"kind\": \"message.send\", \"template\": \"reply_confirmed\"}]}");
    int64_t b = book(&w, T0 + 86400 * 2, NULL);
    assert_int_equal(nudge_appointment_confirm(w.env.n, w.clinic, b, &e), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = "
                                "'on_confirm' AND status = 'failed' AND version = 2"),
                     1);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'reply_confirmed'"),
                     1);

    /* stop_if on the event's field, then a wait that outlives the handle */
    put_ok(&w, "{\"name\": \"on_confirm\", \"on\": \"appointment.confirmed\", \"steps\": ["
               "{\"kind\": \"stop_if\", \"field\": \"service\", \"op\": \"==\", \"value\": "
               "\"Whitening\"},"
               "{\"kind\": \"wait\", \"minutes\": 60},"
               "{\"kind\": \"message.send\", \"template\": \"reply_help\"}]}");
    int64_t c = book(&w, T0 + 86400 * 2, NULL);
    assert_int_equal(nudge_appointment_confirm(w.env.n, w.clinic, c, &e), 0);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE version = 3 AND "
                                "status = 'waiting'"),
                     1);
    nudge_close(w.env.n);
    nudge_config cfg = {.db = w.env.db, .outbox_dir = w.env.outbox, .clock = &w.env.clock};
    assert_int_equal(nudge_open(&cfg, &w.env.n, &e), 0);
    w.env.clock.t += 59 * 60;
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'reply_help'"),
                     0);
    w.env.clock.t += 60;
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'reply_help'"),
                     1);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE version = 3 AND "
                                "status = 'succeeded' AND duration_s = 3600"),
                     1);
    /* the same workflow stops for a service that matches */
    nudge_appointment ap = {0};
    ap.patient_id = w.patient;
    strcpy(ap.service, "Whitening");
    ap.start_at = w.env.clock.t + 86400;
    ap.duration_min = 30;
    assert_int_equal(nudge_appointment_add(w.env.n, w.clinic, &ap, &e), 0);
    assert_int_equal(nudge_appointment_confirm(w.env.n, w.clinic, ap.id, &e), 0);
    assert_int_equal(countf(&w,
                            "SELECT COUNT(*) FROM workflow_runs WHERE version = 3 AND "
                            "status = 'succeeded' AND subject_id = %lld",
                            (long long)ap.id),
                     1);
    w.env.clock.t += 2 * 3600;
    tick(&w);
    assert_int_equal(countf(&w, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                                "'reply_help'"),
                     1);
    tu_close(&w.env);
}

/* ---- invalid definitions ---- */

static void test_invalid_definitions(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"[1]", ""},
        {"{\"on\": \"appointment.booked\", \"steps\": []}", "name"},
        {"{\"name\": \"Bad Name\", \"on\": \"appointment.booked\", \"steps\": []}", "name"},
        {"{\"name\": \"x\", \"steps\": []}", "on"},
        {"{\"name\": \"x\", \"on\": \"appointment.booked\"}", "steps"},
        {"{\"name\": \"x\", \"on\": \"appointment.booked\", \"steps\": [], \"colour\": 1}",
         "colour"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"wait\", \"minutes\": 5},"
         "{\"kind\": \"stop_if\", \"field\": \"status\", \"op\": \"==\", \"value\": \"x\"},"
         "{\"kind\": \"message.send\", \"template\": \"no_such_template\"}]}",
         "steps[2].template"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"message.send\"}]}",
         "steps[0].template"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"message.send\", "
         "\"template\": \"reply_help\", \"channel\": \"fax\"}]}",
         "steps[0].channel"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"message.send\", "
         "\"template\": \"reply_help\", \"priority\": \"asap\"}]}",
         "steps[0].priority"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"wait\"}, {\"kind\": "
         "\"teleport\"}]}",
         "steps[0].minutes"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"wait\", \"minutes\": 1}, "
         "{\"kind\": \"teleport\"}]}",
         "steps[1].kind"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"stop_if\", \"field\": "
         "\"status\", \"op\": \"~\", \"value\": 1}]}",
         "steps[0].op"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"reminders.plan\", \"plan\": "
         "\"everything\"}]}",
         "steps[0].plan"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"reminders.plan\", \"plan\": "
         "\"confirmation\", \"extra\": true}]}",
         "steps[0].extra"},
        {"{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"wait\", \"minutes\": 1, "
         "\"on_error\": \"panic\"}]}",
         "steps[0].on_error"},
        {"{\"name\": \"x\", \"on\": [\"a.b\", 7], \"steps\": []}", "on"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nudge_err e = {0};
        int64_t v = 0;
        if (nudge_workflow_put(w.env.n, w.clinic, cases[i].json, strlen(cases[i].json), &v, &e) !=
            -1)
            fail_msg("case %zu accepted: %s", i, cases[i].json);
        assert_int_equal(e.code, NUDGE_EINVAL);
        if (strcmp(e.field, cases[i].field))
            fail_msg("case %zu: field \"%s\", wanted \"%s\" (%s)", i, e.field, cases[i].field,
                     e.msg);
    }
    nudge_err e = {0};
    assert_int_equal(nudge_workflow_put(w.env.n, w.clinic, "{\"name\"", 7, NULL, &e), -1);
    assert_int_equal(count(w.env.n, "SELECT COUNT(*) FROM workflows"), 0);
    /* a clinic's own template is one a step may name */
    nudge_template t = {0};
    strcpy(t.name, "our_note");
    strcpy(t.language, "en");
    strcpy(t.category, "transactional");
    t.sms = "Hello {patient_name}";
    t.subject = "Hello";
    t.text = "Hello {patient_name}";
    t.html = "<p>Hello {patient_name}</p>";
    if (nudge_template_put(w.env.n, w.clinic, &t, &e) < 0)
        fail_msg("template: %s (%s)", e.msg, e.field);
    put_ok(&w, "{\"name\": \"x\", \"on\": \"a.b\", \"steps\": [{\"kind\": \"message.send\", "
               "\"template\": \"our_note\"}]}");
    /* the built-ins themselves validate */
    char *js = NULL;
    assert_int_equal(nudge_workflow_get(w.env.n, w.clinic, "appointment_scheduling", 0, &js, &e),
                     0);
    assert_non_null(strstr(js, "reminders.plan"));
    put_ok(&w, js);
    free(js);
    assert_int_equal(nudge_workflow_get(w.env.n, w.clinic, "nope", -1, &js, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&w.env);
}

/* ---- statistics ---- */

static void test_statistics(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    nudge_err e = {0};
    int64_t a = book(&w, T0 + 86400, NULL), b = book(&w, T0 + 2 * 3600, NULL);
    book(&w, T0 + 3 * 86400, NULL);
    assert_int_equal(nudge_appointment_confirm(w.env.n, w.clinic, a, &e), 0);
    tick(&w);
    w.env.clock.t = T0 + 3 * 3600;
    assert_int_equal(nudge_appointment_no_show(w.env.n, w.clinic, b, &e), 0);
    w.env.clock.t = T0 + 86400 + 3600;
    assert_int_equal(nudge_appointment_complete(w.env.n, w.clinic, a, &e), 0);
    tick(&w);
    nudge_stats s;
    assert_int_equal(nudge_statistics(w.env.n, w.clinic, 0, 0, &s, &e), 0);
    assert_int_equal(s.patients, countf(&w, "SELECT COUNT(*) FROM patients WHERE clinic_id = %lld",
                                        (long long)w.clinic));
    assert_int_equal(s.appointments, 3);
    assert_int_equal(s.appointments, countf(&w, "SELECT COUNT(*) FROM appointments"));
    assert_int_equal(s.workflows_executed, countf(&w, "SELECT COUNT(*) FROM workflow_runs"));
    assert_int_equal(s.workflows_succeeded,
                     countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE status = 'succeeded'"));
    assert_int_equal(s.workflows_failed + s.workflows_partly_failed,
                     countf(&w, "SELECT COUNT(*) FROM workflow_runs WHERE status LIKE '%%failed'"));
    assert_true(s.workflows_executed >= 8); /* 3 bookings x 2, a no-show, a completion */
    assert_int_equal(s.booked, 3);
    assert_int_equal(s.confirmed, 1);
    assert_int_equal(s.no_shows, 1);
    assert_int_equal(s.completed, 1);
    assert_true(s.confirmation_rate > 0.333 && s.confirmation_rate < 0.334);
    assert_true(s.no_show_rate > 0.499 && s.no_show_rate < 0.501);
    int64_t sum = 0;
    for (int i = 0; i < s.n_messages; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT COUNT(*) FROM notification_queue WHERE channel = '%s' AND status = '%s'",
                 s.messages[i].channel, s.messages[i].status);
        assert_int_equal(s.messages[i].count, count(w.env.n, sql));
        sum += s.messages[i].count;
    }
    assert_true(sum > 0);
    assert_int_equal(sum, count(w.env.n, "SELECT COUNT(*) FROM notification_queue"));
    /* a range that ends before the no-show leaves it out */
    assert_int_equal(nudge_statistics(w.env.n, w.clinic, T0, T0 + 3 * 3600, &s, &e), 0);
    assert_int_equal(s.no_shows, 0);
    assert_int_equal(s.booked, 3);
    assert_int_equal(nudge_statistics(w.env.n, w.clinic, T0 + 10, T0, &s, &e), -1);
    assert_string_equal(e.field, "from");
    tu_close(&w.env);
}

/* ---- two processes racing for the same runs ---- */

#define RACE_EVENTS 20

static const char *append_name(void *self)
{
    (void)self;
    return "append";
}

static int append_exec(void *self, const nudge_workflow_context *c, char **result, nudge_err *err)
{
    (void)result, (void)err;
    int fd = open(self, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
        return nudge_err_set(err, NUDGE_EIO, "", "cannot open the file");
    char line[64];
    int l = snprintf(line, sizeof line, "%lld\n", (long long)c->run_id);
    int ok = write(fd, line, (size_t)l) == l;
    close(fd);
    return ok ? 0 : nudge_err_set(err, NUDGE_EIO, "", "cannot write");
}

static void test_two_handles_race(void **state)
{
    (void)state;
    world w;
    world_open(&w);
    char file[256];
    snprintf(file, sizeof file, "%s/runs.txt", w.env.dir);
    nudge_err e = {0};
    nudge_workflow_task at = {.get_name = append_name, .execute = append_exec, .self = file};
    assert_int_equal(nudge_workflow_register_step(w.env.n, &at, &e), 0);
    put_ok(&w, "{\"name\": \"race\", \"on\": \"test.race\", \"steps\": [{\"kind\": \"append\"}, "
               "{\"kind\": \"append\"}]}");
    assert_int_equal(store_begin(w.env.n->db, &e), 0);
    for (int i = 0; i < RACE_EVENTS; i++)
        assert_int_equal(event_emit(w.env.n, w.clinic, "test.race", 0, NULL, &e), 0);
    assert_int_equal(store_commit(w.env.n->db, &e), 0);
    pid_t kids[2];
    int go[2][2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(pipe(go[k]), 0);
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            nudge_clock clock;
            nudge_clock_fake(&clock, T0);
            nudge_config cfg = {.db = w.env.db, .outbox_dir = w.env.outbox, .clock = &clock};
            nudge *n;
            nudge_err ce = {0};
            if (nudge_open(&cfg, &n, &ce) < 0 || nudge_workflow_register_step(n, &at, &ce) < 0)
                _exit(2);
            char b;
            if (read(go[k][0], &b, 1) != 1)
                _exit(4);
            for (int i = 0; i < 5; i++)
                if (nudge_workflow_tick(n, &ce) < 0) {
                    fprintf(stderr, "tick: %s\n", ce.msg);
                    _exit(3);
                }
            nudge_close(n);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++)
        assert_int_equal(write(go[k][1], "x", 1), 1);
    for (int k = 0; k < 2; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        close(go[k][0]), close(go[k][1]);
    }
    assert_int_equal(count(w.env.n, "SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'race' "
                                    "AND status = 'succeeded'"),
                     RACE_EVENTS);
    char *text = tu_read_file(file);
    assert_non_null(text);
    /* each run's two steps once each: every id exactly twice */
    int lines = 0;
    for (char *p = text; *p; p = strchr(p, '\n') + 1) {
        long long id = strtoll(p, NULL, 10);
        int seen = 0;
        for (char *q = text; *q; q = strchr(q, '\n') + 1)
            seen += strtoll(q, NULL, 10) == id;
        if (seen != 2)
            fail_msg("run %lld's steps ran %d times:\n%s", id, seen, text);
        lines++;
    }
    free(text);
    assert_int_equal(lines, 2 * RACE_EVENTS);
    tu_close(&w.env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_event_to_messages),
        cmocka_unit_test(test_builtins_staff_loyalty_tickets),
        cmocka_unit_test(test_crash_between_event_and_run),
        cmocka_unit_test(test_custom_steps),
        cmocka_unit_test(test_invalid_definitions),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_two_handles_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
