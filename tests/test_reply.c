/*
 * test_reply.c: patients' messages. Every keyword in English and Hindi and
 * the WhatsApp reply buttons; STOP honoured at send time until START, with
 * the message kept as proof; HELP; anything else filed in a support ticket
 * (opened once, then appended); a message handled once however often the
 * webhook repeats; unknown numbers recorded and left alone. The visit a
 * WhatsApp answer is about is the one of the message it answers
 * (context.id), the next visit only without one; approved templates'
 * quick-reply payloads act as the clinic mapped them, else their text is
 * read (English and Hindi) and kept.
 */
#include "testutil.h"

#include "core.h"

#define T0 TU_T(2026, 11, 24, 6, 0)    /* 11:30 in Kolkata */
#define VISIT TU_T(2026, 12, 1, 4, 30) /* 10:00 in Kolkata */

typedef struct fx {
    tu_env env;
    int64_t clinic, patient, appt;
} fx;

static int64_t add_visit(fx *f, const char *service, int64_t start_at)
{
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = f->patient;
    snprintf(a.service, sizeof a.service, "%s", service);
    a.start_at = start_at;
    a.duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &a, &e), 0);
    return a.id;
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
    strcpy(c.phone, "080 4123 4567");
    assert_int_equal(nudge_clinic_add(f->env.n, &c, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Ram Lal");
    strcpy(p.phone, "9876543210");
    strcpy(p.language, "hi");
    assert_int_equal(nudge_patient_add(f->env.n, &p, &e), 0);
    f->clinic = c.id;
    f->patient = p.id;
    f->appt = add_visit(f, "Teeth Cleaning", VISIT);
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

static nudge_reply say(fx *f, const char *channel, const char *from, const char *text,
                       const char *button, const char *id)
{
    nudge_inbound in = {.channel = channel, .from = from, .text = text, .button_id = button,
                        .provider_id = id};
    nudge_reply out;
    nudge_err e = {0};
    if (nudge_inbound_handle(f->env.n, &in, &out, &e) < 0)
        fail_msg("inbound \"%s\": %s", text ? text : "", e.msg);
    return out;
}

static const char *status_of(fx *f)
{
    static nudge_appointment a;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, f->appt, &a, &e), 0);
    return a.status;
}

static nudge_notification answer_of(fx *f, const nudge_reply *r)
{
    nudge_notification m;
    nudge_err e = {0};
    assert_true(r->notification_id > 0);
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, r->notification_id, &m, &e), 0);
    return m;
}

static int64_t count(fx *f, const char *sql)
{
    int64_t c = -1;
    nudge_err e = {0};
    assert_int_equal(store_scalar(f->env.n->db, &c, &e, sql), 1);
    return c;
}

static void test_confirm_words(void **state)
{
    fx *f = *state;
    const char *words[] = {"C", "yes", " Y ", "1", "Confirm!", "हाँ", "हां", "haan", "Ha"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        char id[32];
        snprintf(id, sizeof id, "SMc%zu", i);
        nudge_reply r = say(f, "sms", "+919876543210", words[i], NULL, id);
        if (strcmp(r.action, "confirmed"))
            fail_msg("\"%s\" read as %s", words[i], r.action);
        assert_string_equal(status_of(f), "confirmed");
        assert_int_equal(r.appointment_id, f->appt);
    }
    /* The answer: in Hindi, on SMS, now, naming the visit. */
    nudge_reply r = say(f, "sms", "+919876543210", "C", NULL, "SMc-last");
    nudge_notification m = answer_of(f, &r);
    assert_string_equal(m.template_name, "reply_confirmed");
    assert_string_equal(m.language, "hi");
    assert_string_equal(m.channel, "sms");
    assert_int_equal(m.priority, NUDGE_URGENT);
    assert_non_null(strstr(m.body, "Teeth Cleaning"));
    assert_non_null(strstr(m.body, "सुबह 10:00"));
    nudge_notification_free(&m);
}

static void test_cancel_words_and_cancel_as_stop(void **state)
{
    fx *f = *state;
    nudge_reply r = say(f, "sms", "+919876543210", "नहीं", NULL, "SM1");
    assert_string_equal(r.action, "cancelled");
    assert_string_equal(status_of(f), "cancelled");
    nudge_notification m = answer_of(f, &r);
    assert_string_equal(m.template_name, "reply_cancelled");
    nudge_notification_free(&m);
    /* No visit left: CANCEL now means "stop messaging me". */
    r = say(f, "sms", "+919876543210", "CANCEL", NULL, "SM2");
    assert_string_equal(r.action, "stop");
    /* Other cancel words with nothing to cancel go to a person. */
    r = say(f, "sms", "+919876543210", "no", NULL, "SM3");
    assert_string_equal(r.action, "ticket");
}

static void test_reschedule_opens_ticket(void **state)
{
    fx *f = *state;
    nudge_reply r = say(f, "whatsapp", "919876543210", "R", NULL, "wamid.1");
    assert_string_equal(r.action, "reschedule");
    assert_true(r.ticket_id > 0);
    assert_string_equal(status_of(f), "scheduled"); /* staff choose the new time */
    nudge_notification m = answer_of(f, &r);
    assert_string_equal(m.template_name, "reply_reschedule");
    assert_string_equal(m.channel, "whatsapp");
    nudge_notification_free(&m);
    /* WhatsApp's buttons act like the words. */
    r = say(f, "whatsapp", "919876543210", "", "confirm", "wamid.2");
    assert_string_equal(r.action, "confirmed");
}

static void test_stop_is_honoured_until_start(void **state)
{
    fx *f = *state;
    nudge_reply r = say(f, "sms", "+919876543210", "STOP", NULL, "SMstop");
    assert_string_equal(r.action, "stop");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_log WHERE action = 'stop' AND "
                              "message = 'STOP' AND provider_id = 'SMstop'"),
                     1);
    nudge_patient p;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    assert_true(p.opt_outs & NUDGE_OPTOUT_SMS);
    /* The STOP answer itself goes out once; the visit's messages do not. */
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    nudge_notification m = answer_of(f, &r);
    assert_string_equal(m.status, "sent");
    assert_string_equal(m.template_name, "reply_stop");
    nudge_notification_free(&m);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                              "'appointment_confirmation' AND status = 'cancelled'"),
                     1);
    /* START: messages flow again. */
    r = say(f, "sms", "+919876543210", "start", NULL, "SMstart");
    assert_string_equal(r.action, "start");
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    assert_false(p.opt_outs & NUDGE_OPTOUT_SMS);
    f->env.clock.t = VISIT - 24 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                              "'appointment_reminder' AND status = 'sent'"),
                     1);
    /* STOPALL, UNSUBSCRIBE, END, QUIT are STOP too. */
    const char *stops[] = {"STOPALL", "unsubscribe", "End", "QUIT"};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "SMs%d", i);
        assert_string_equal(say(f, "sms", "+919876543210", stops[i], NULL, id).action, "stop");
    }
}

static void test_help_and_tickets(void **state)
{
    fx *f = *state;
    nudge_reply r = say(f, "sms", "+919876543210", "HELP", NULL, "SMh");
    assert_string_equal(r.action, "help");
    nudge_notification m = answer_of(f, &r);
    assert_non_null(strstr(m.body, "+918041234567"));
    nudge_notification_free(&m);
    r = say(f, "sms", "+919876543210", "Is parking available?", NULL, "SMt1");
    assert_string_equal(r.action, "ticket");
    int64_t ticket = r.ticket_id;
    assert_true(ticket > 0);
    assert_true(r.notification_id > 0); /* "we received your message" */
    r = say(f, "sms", "+919876543210", "Near the gate?", NULL, "SMt2");
    assert_int_equal(r.ticket_id, ticket);
    assert_int_equal(r.notification_id, 0); /* not every line is acknowledged */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM ticket_messages"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM events WHERE type = 'message.inbound'"), 3);
}

static void test_duplicates_and_strangers(void **state)
{
    fx *f = *state;
    nudge_reply a = say(f, "sms", "+919876543210", "C", NULL, "SMdup");
    nudge_reply b = say(f, "sms", "+919876543210", "C", NULL, "SMdup");
    assert_string_equal(a.action, "confirmed");
    assert_string_equal(b.action, "duplicate");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notification_queue WHERE template = "
                              "'reply_confirmed'"),
                     1);
    nudge_reply s = say(f, "sms", "+15005550006", "C", NULL, "SMx");
    assert_string_equal(s.action, "ignored");
    assert_int_equal(s.notification_id, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages WHERE action = 'ignored'"),
                     1);
    nudge_inbound bad = {.channel = "fax", .from = "+1", .text = "x"};
    nudge_reply out;
    nudge_err e = {0};
    assert_int_equal(nudge_inbound_handle(f->env.n, &bad, &out, &e), -1);
    assert_string_equal(e.field, "channel");
}

static const char *visit_status(fx *f, int64_t id)
{
    static nudge_appointment a;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_get(f->env.n, f->clinic, id, &a, &e), 0);
    return a.status;
}

/* The provider's id of a visit's confirmation, once sent (the outbox
 * names its file). */
static void confirmation_id(fx *f, int64_t appt, char *out, size_t n)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT id FROM notification_queue WHERE appointment_id = %lld AND template = "
             "'appointment_confirmation' AND status = 'sent'",
             (long long)appt);
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, count(f, sql), &m, &e), 0);
    assert_true(m.provider_id[0] != 0);
    snprintf(out, n, "%s", m.provider_id);
    nudge_notification_free(&m);
}

static nudge_reply answer_to(fx *f, const char *context, const char *text, const char *button,
                             const char *id)
{
    nudge_inbound in = {.channel = "whatsapp", .from = "919876543210", .text = text,
                        .button_id = button, .provider_id = id, .context_id = context};
    nudge_reply out;
    nudge_err e = {0};
    if (nudge_inbound_handle(f->env.n, &in, &out, &e) < 0)
        fail_msg("inbound \"%s\": %s", text ? text : "", e.msg);
    return out;
}

/* Two visits, a confirmation for each on WhatsApp: Confirm under the
 * second's message confirms the second, not the next one. */
static void test_context_names_the_visit(void **state)
{
    fx *f = *state;
    nudge_patient p;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    strcpy(p.preferred_channel, "whatsapp");
    assert_int_equal(nudge_patient_update(f->env.n, f->clinic, &p, 0, &e), 0);
    int64_t second = add_visit(f, "Root Canal", VISIT + 7 * 24 * 3600);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    char first_msg[128], second_msg[128];
    confirmation_id(f, f->appt, first_msg, sizeof first_msg);
    confirmation_id(f, second, second_msg, sizeof second_msg);
    nudge_reply r = answer_to(f, second_msg, "Confirm", "confirm", "wamid.c1");
    assert_string_equal(r.action, "confirmed");
    assert_int_equal(r.appointment_id, second);
    assert_string_equal(visit_status(f, second), "confirmed");
    assert_string_equal(visit_status(f, f->appt), "scheduled");
    /* The answer names the visit confirmed. */
    nudge_notification m = answer_of(f, &r);
    assert_non_null(strstr(m.body, "Root Canal"));
    nudge_notification_free(&m);
    /* Without a context: the next visit, as before. */
    r = answer_to(f, NULL, "", "confirm", "wamid.c2");
    assert_int_equal(r.appointment_id, f->appt);
    assert_string_equal(visit_status(f, f->appt), "confirmed");
    /* A context nudge did not send (or sent elsewhere) is no context. */
    assert_int_equal(nudge_appointment_cancel(f->env.n, f->clinic, f->appt, &e), 0);
    r = answer_to(f, "wamid.unknown", "", "confirm", "wamid.c3");
    assert_int_equal(r.appointment_id, second);
    /* Cancel under the first's message, now cancelled: not the other visit,
     * a person reads it. */
    r = answer_to(f, first_msg, "Cancel", "VISIT_NO", "wamid.c4");
    assert_string_equal(r.action, "ticket");
    assert_string_equal(visit_status(f, second), "confirmed");
    /* The same id from another number is not this patient's context. */
    nudge_inbound other = {.channel = "whatsapp", .from = "919811111111", .text = "yes",
                           .provider_id = "wamid.c5", .context_id = second_msg};
    nudge_reply out;
    assert_int_equal(nudge_inbound_handle(f->env.n, &other, &out, &e), 0);
    assert_string_equal(out.action, "ignored");
}

/* Outside the 24-hour window the clinic's approved template goes; its
 * quick-reply buttons come back as a payload and a text. */
static void test_template_buttons(void **state)
{
    fx *f = *state;
    nudge_err e = {0};
    nudge_wa_button b[] = {{"VISIT_YES", "confirm"}, {"VISIT_NO", "cancel"},
                           {"VISIT_LATER", "reschedule"}};
    assert_int_equal(nudge_whatsapp_template_put(f->env.n, f->clinic, "appointment_reminder",
                                                 "hi", "visit_reminder", "hi", "", b, 3, &e),
                     0);
    /* Mapped: the payload decides, whatever the text; the text is kept. */
    nudge_reply r = answer_to(f, NULL, "नहीं आ पाऊँगा", "VISIT_NO", "wamid.t1");
    assert_string_equal(r.action, "cancelled");
    assert_string_equal(status_of(f), "cancelled");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages WHERE provider_id = "
                              "'wamid.t1' AND body = 'नहीं आ पाऊँगा'"),
                     1);
    /* Not mapped: the button's text, in Hindi or English. */
    int64_t v = add_visit(f, "Root Canal", VISIT + 3600);
    r = answer_to(f, NULL, "पक्का करें", "Yes please", "wamid.t2");
    assert_string_equal(r.action, "confirmed");
    assert_string_equal(visit_status(f, v), "confirmed");
    r = answer_to(f, NULL, "समय बदलें", "OTHER", "wamid.t3");
    assert_string_equal(r.action, "reschedule");
    r = answer_to(f, NULL, "रद्द करें", "X1", "wamid.t4");
    assert_string_equal(r.action, "cancelled");
    /* A Cancel button with no visit left is not a STOP: a person reads it. */
    r = answer_to(f, NULL, "Cancel", "X2", "wamid.t5");
    assert_string_equal(r.action, "ticket");
    nudge_patient p;
    assert_int_equal(nudge_patient_get(f->env.n, f->clinic, f->patient, &p, &e), 0);
    assert_false(p.opt_outs & NUDGE_OPTOUT_WHATSAPP);
    /* A mapping is checked whole, and a later one replaces it. */
    nudge_wa_button bad[][2] = {{{"A", "confirm"}, {"B", "stop"}},
                                {{"A", "confirm"}, {"A", "cancel"}},
                                {{"", "confirm"}, {"B", "cancel"}}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nudge_whatsapp_template_put(f->env.n, f->clinic, "appointment_reminder",
                                                     "hi", "visit_reminder", "hi", "", bad[i], 2,
                                                     &e),
                         -1);
        assert_string_equal(e.field, "buttons");
    }
    assert_int_equal(nudge_whatsapp_template_put(f->env.n, f->clinic, "appointment_reminder",
                                                 "hi", "visit_reminder", "hi", "", NULL, 0, &e),
                     0);
    v = add_visit(f, "Root Canal", VISIT + 7200);
    r = answer_to(f, NULL, "Later", "VISIT_YES", "wamid.t6");
    assert_string_equal(r.action, "ticket");
    assert_string_equal(visit_status(f, v), "scheduled");
}

/* The reply rate: sent messages and replies counted by the clinic's day
 * (00:30 in Kolkata is the next day while UTC is still on this one). */
static void test_reply_rate_by_clinic_day(void **state)
{
    fx *f = *state;
    nudge_reply h = say(f, "sms", "+919876543210", "HELP", NULL, "SMr1");
    f->env.clock.t = T0 + 60;
    nudge_reply q = say(f, "sms", "+919876543210", "Is parking available?", NULL, "SMr2");
    f->env.clock.t = TU_T(2026, 11, 24, 19, 0); /* 00:30 on the 25th in Kolkata */
    say(f, "sms", "+919876543210", "Near the gate?", NULL, "SMr3");
    nudge_err e = {0};
    assert_int_equal(store_exec(f->env.n->db, &e,
                                "UPDATE notification_queue SET status = 'sent', sent_at = ? "
                                "WHERE clinic_id = ? AND id IN (?, ?)",
                                bind_int(T0 + 120), bind_int(f->clinic),
                                bind_int(h.notification_id), bind_int(q.notification_id)),
                     0);
    nudge_reply_stats s;
    assert_int_equal(nudge_reply_stats_get(f->env.n, f->clinic, 0, 0, &s, &e), 0);
    assert_int_equal(s.sent, 2);
    assert_int_equal(s.replies, 3);
    assert_true(s.reply_rate > 1.49 && s.reply_rate < 1.51);
    assert_int_equal(s.n_days, 2);
    assert_string_equal(s.days[0].date, "2026-11-24");
    assert_int_equal(s.days[0].sent, 2);
    assert_int_equal(s.days[0].replies, 2);
    assert_true(s.days[0].reply_rate > 0.99 && s.days[0].reply_rate < 1.01);
    assert_string_equal(s.days[1].date, "2026-11-25");
    assert_int_equal(s.days[1].sent, 0);
    assert_int_equal(s.days[1].replies, 1);
    assert_true(s.days[1].reply_rate == 0.0);
    nudge_reply_stats_free(&s);
    /* A range: the first reply falls before it, the last after it. */
    assert_int_equal(nudge_reply_stats_get(f->env.n, f->clinic, T0 + 30, T0 + 3600, &s, &e), 0);
    assert_int_equal(s.sent, 2);
    assert_int_equal(s.replies, 1);
    assert_int_equal(s.n_days, 1);
    nudge_reply_stats_free(&s);
    /* Another clinic sees none of it. */
    assert_int_equal(nudge_reply_stats_get(f->env.n, f->clinic + 1, 0, 0, &s, &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_int_equal(nudge_reply_stats_get(f->env.n, f->clinic, T0, T0, &s, &e), -1);
    assert_string_equal(e.field, "from");
}

/* A patient's message whose bytes are not UTF-8 is kept, each bad byte
 * '?', not refused by the store (a refused webhook would lose it). */
static void test_invalid_bytes_kept(void **state)
{
    fx *f = *state;
    nudge_reply r = say(f, "sms", "+919876543210", "dant \xe0\xa4 me \xff dard", NULL,
                        "SMbad\xfe");
    assert_true(r.action[0] != 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages WHERE "
                              "body = 'dant ?? me ? dard' AND provider_id = 'SMbad?'"),
                     1);
    /* The same message again is the same message: still one row. */
    say(f, "sms", "+919876543210", "dant \xe0\xa4 me \xff dard", NULL, "SMbad\xfe");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbound_messages WHERE "
                              "provider_id = 'SMbad?'"),
                     1);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_confirm_words),           T(test_cancel_words_and_cancel_as_stop),
        T(test_reschedule_opens_ticket), T(test_stop_is_honoured_until_start),
        T(test_help_and_tickets),        T(test_duplicates_and_strangers),
        T(test_context_names_the_visit), T(test_template_buttons),
        T(test_reply_rate_by_clinic_day), T(test_invalid_bytes_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
