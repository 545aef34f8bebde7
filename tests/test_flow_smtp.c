/*
 * test_flow_smtp.c: an appointment's confirmation and both reminders sent
 * through the SMTP channel to a real SMTP server (aiosmtpd on 127.0.0.1),
 * on a fake clock, with each received mail parsed by Python's email
 * package: envelope, From as the clinic, Reply-To, the Hindi subject
 * decoded exactly as rendered, text and HTML parts with the local time.
 */
#include "sink.h"
#include "util.h"

#define VISIT TU_T(2026, 12, 1, 4, 30) /* 10:00 Asia/Kolkata */
#define BOOKED TU_T(2026, 11, 24, 6, 0)

typedef struct fx {
    sink s;
    tu_env env;
    int64_t clinic, patient;
} fx;

static int setup(void **state)
{
    if (!have_sink)
        return 0;
    fx *f = calloc(1, sizeof *f);
    sink_start(&f->s, NULL);
    tu_env *env = &f->env;
    tu_tmpdir(env->dir, sizeof env->dir);
    tu_db_migrated(env->dir, env->db, sizeof env->db);
    snprintf(env->outbox, sizeof env->outbox, "%s/out", env->dir);
    nudge_clock_fake(&env->clock, BOOKED);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", f->s.port);
    nudge_config cfg = {.db = env->db, .outbox_dir = env->outbox, .clock = &env->clock,
                        .smtp_url = url, .smtp_from = "reminders@smile-dental.example"};
    nudge_err e = {0};
    if (nudge_open(&cfg, &env->n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    strcpy(c.email, "front-desk@smile-dental.example");
    assert_int_equal(nudge_clinic_add(env->n, &c, &e), 0);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Ram Lal");
    strcpy(p.email, "ram@example.com");
    strcpy(p.language, "hi");
    assert_int_equal(nudge_patient_add(env->n, &p, &e), 0);
    f->clinic = c.id;
    f->patient = p.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    sink_stop(&f->s);
    tu_close(&f->env);
    free(f);
    return 0;
}

static const char *jget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void check_mail(fx *f, int n, int64_t notification_id)
{
    nudge_notification m;
    nudge_err e = {0};
    assert_int_equal(nudge_notification_get(f->env.n, f->clinic, notification_id, &m, &e), 0);
    assert_string_equal(m.status, "sent");
    json_t *env = sink_json(&f->s, n, "env");
    assert_string_equal(jget(env, "mail_from"), "reminders@smile-dental.example");
    json_t *rcpt = json_object_get(env, "rcpt_tos");
    assert_int_equal(json_array_size(rcpt), 1);
    assert_string_equal(json_string_value(json_array_get(rcpt, 0)), "ram@example.com");
    json_decref(env);

    json_t *j = sink_json(&f->s, n, "json");
    assert_string_equal(jget(j, "subject"), m.subject); /* Hindi, decoded exactly */
    assert_string_equal(jget(j, "from_name"), "Smile Dental");
    assert_string_equal(jget(j, "from_addr"), "reminders@smile-dental.example");
    assert_non_null(strstr(jget(j, "reply_to"), "front-desk@smile-dental.example"));
    assert_non_null(strstr(jget(j, "to"), "ram@example.com"));
    assert_string_equal(jget(j, "message_id"), m.provider_id);
    assert_true(strlen(jget(j, "date")) > 0);
    assert_non_null(strstr(jget(j, "text"), "सुबह 10:00"));
    assert_non_null(strstr(jget(j, "html"), "सुबह 10:00"));
    assert_null(strstr(jget(j, "text"), "<p"));
    assert_int_equal(json_integer_value(json_object_get(j, "defects")), 0);
    json_decref(j);
    nudge_notification_free(&m);
}

static int count_received(fx *f)
{
    return tu_count_files(f->s.dir, ".json");
}

static void test_booking_to_smtp_server(void **state)
{
    if (!have_sink)
        skip();
    fx *f = *state;
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = f->patient;
    strcpy(a.service, "Teeth Cleaning");
    a.start_at = VISIT;
    a.duration_min = 60;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &a, &e), 0);

    nudge_tick_stats st;
    f->env.clock.t = BOOKED;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(st.sent, 1);
    assert_int_equal(count_received(f), 1);
    check_mail(f, 1, 1);

    f->env.clock.t = VISIT - 24 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(st.sent, 1);
    assert_int_equal(count_received(f), 2);
    check_mail(f, 2, 2);

    f->env.clock.t = VISIT - 2 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(st.sent, 1);
    check_mail(f, 3, 3);
    /* Nothing went to the outbox: email had a real server. */
    assert_int_equal(tu_count_files(f->env.outbox, ".eml"), 0);
}

/* The calendar part of received mail n, decoded by Python's email package
 * (caller frees); NULL when there is none. */
static char *calendar_of(fx *f, int n)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import email,sys\n"
             "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"))\n"
             "for p in m.walk():\n"
             "    if p.get_content_type() == \"text/calendar\":\n"
             "        print(p.get_param(\"method\"))\n"
             "        print(p.get_filename())\n"
             "        sys.stdout.write(p.get_payload(decode=True).decode())' %s/%d.eml",
             f->s.dir, n);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    sbuf b = {0};
    char buf[1024];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, pp)) > 0)
        sbuf_add(&b, buf, got);
    pclose(pp);
    if (!b.len) {
        sbuf_free(&b);
        return NULL;
    }
    return sbuf_take(&b);
}

static void test_confirmation_carries_invite(void **state)
{
    if (!have_sink)
        skip();
    fx *f = *state;
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = f->patient;
    strcpy(a.service, "Filling");
    a.start_at = VISIT;
    a.duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &a, &e), 0);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    char *cal = calendar_of(f, 1);
    assert_non_null(cal);
    assert_int_equal(strncmp(cal, "REQUEST\ninvite.ics\n", 19), 0);
    assert_non_null(strstr(cal, "METHOD:REQUEST"));
    assert_non_null(strstr(cal, "TZID=Asia/Kolkata:20261201T100000"));
    char uid[96];
    snprintf(uid, sizeof uid, "UID:appointment-%lld@", (long long)a.id);
    assert_non_null(strstr(cal, uid));
    free(cal);
    /* Reminders carry none: one invitation per booking. */
    f->env.clock.t = VISIT - 24 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_null(calendar_of(f, 2));
}

static void test_cancelled_visit_sends_nothing_more(void **state)
{
    if (!have_sink)
        skip();
    fx *f = *state;
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.patient_id = f->patient;
    strcpy(a.service, "Filling");
    a.start_at = VISIT;
    a.duration_min = 30;
    nudge_err e = {0};
    assert_int_equal(nudge_appointment_add(f->env.n, f->clinic, &a, &e), 0);
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(count_received(f), 1);
    assert_int_equal(nudge_appointment_cancel(f->env.n, f->clinic, a.id, &e), 0);
    /* The invitation is withdrawn: same UID, METHOD:CANCEL, later SEQUENCE. */
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(count_received(f), 2);
    char *req = calendar_of(f, 1), *can = calendar_of(f, 2);
    assert_non_null(can);
    assert_int_equal(strncmp(can, "CANCEL\n", 7), 0);
    assert_non_null(strstr(can, "METHOD:CANCEL"));
    assert_non_null(strstr(can, "STATUS:CANCELLED"));
    assert_non_null(strstr(req, "SEQUENCE:0"));
    assert_non_null(strstr(can, "SEQUENCE:1"));
    char uid[96];
    snprintf(uid, sizeof uid, "UID:appointment-%lld@", (long long)a.id);
    assert_non_null(strstr(can, uid));
    free(req);
    free(can);
    json_t *j = sink_json(&f->s, 2, "json");
    assert_non_null(strstr(jget(j, "text"), "Filling"));
    json_decref(j);
    /* And nothing more: the reminders went with the visit. */
    f->env.clock.t = VISIT - 24 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    f->env.clock.t = VISIT - 2 * 3600;
    assert_int_equal(nudge_tick(f->env.n, &st, &e), 0);
    assert_int_equal(count_received(f), 2);
}

int main(void)
{
    have_sink = sink_available();
    if (!have_sink)
        fprintf(stderr, "test_flow_smtp: no python3-aiosmtpd, tests skipped\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_booking_to_smtp_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_visit_sends_nothing_more, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_confirmation_carries_invite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
