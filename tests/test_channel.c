/*
 * test_channel.c: custom channels through the C API (issue 16, item 5) and
 * the dispatcher's batched records. A channel registered by name carries a
 * clinic's medium only where the clinic's mapping names it; its outcomes
 * are recorded like a built-in channel's (attempts, retries, statuses);
 * a worker without it says so on each attempt; an outcome whose lease was
 * lost is not recorded, while the rest of its batch is. The outbox makes
 * its folder once.
 */
#include "store/store.h"
#include "testutil.h"

#define T0 TU_T(2026, 11, 24, 6, 0) /* 11:30 in Kolkata: no quiet hours */

struct pager {
    int sent, calls, freed;
    int result; /* enum nudge_send_result for every send */
    char to[32], text[512], medium[16];
    int64_t clinic_id;
    const char *steal_db; /* set: each send takes its row's lease away first */
    const char *watch_db; /* set: each send counts what is handed off and unrecorded */
    int64_t most_unrecorded;
};

/* Rows handed to their provider and not yet recorded, as another
 * connection sees them: what a crash now could send twice. */
static int64_t pager_unrecorded(const char *db)
{
    store *s;
    nudge_err e = {0};
    int64_t v = -1;
    if (store_open(db, &s, &e) < 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_scalar(s, &v, &e,
                                  "SELECT COUNT(*) FROM notification_queue WHERE status = "
                                  "'sending' AND handed_at IS NOT NULL"),
                     1);
    store_close(s);
    return v;
}

static void pager_steal(const char *db, int64_t id)
{
    store *s;
    nudge_err e = {0};
    if (store_open(db, &s, &e) < 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_exec(s, &e,
                                "UPDATE notification_queue SET lease_owner = 'another' WHERE id = ?",
                                bind_int(id)),
                     0);
    store_close(s);
}

static int pager_send(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out)
{
    struct pager *pg = ctx;
    pg->calls++;
    snprintf(pg->to, sizeof pg->to, "%s", m->to);
    snprintf(pg->text, sizeof pg->text, "%s", m->text);
    snprintf(pg->medium, sizeof pg->medium, "%s", m->medium);
    pg->clinic_id = m->clinic_id;
    if (pg->steal_db && pg->calls % 2 == 1)
        pager_steal(pg->steal_db, m->id);
    if (pg->watch_db) {
        int64_t u = pager_unrecorded(pg->watch_db);
        if (u > pg->most_unrecorded)
            pg->most_unrecorded = u;
    }
    out->result = pg->result;
    if (pg->result == NUDGE_SENT)
        snprintf(out->provider_id, sizeof out->provider_id, "PG-%d", ++pg->sent);
    else
        snprintf(out->detail, sizeof out->detail, "the pager is off");
    return 0;
}

static void pager_free(void *ctx)
{
    ((struct pager *)ctx)->freed++;
}

static const nudge_channel_ops pager_ops = {.send = pager_send, .free = pager_free};

static int64_t add_clinic(nudge *n)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    c.max_retries = 1;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t add_patient(nudge *n, int64_t clinic, const char *phone)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Ram Lal");
    strcpy(p.language, "en");
    strcpy(p.phone, phone);
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

/* A clinic whose SMS the pager carries. */
static int64_t pager_clinic(nudge *n, struct pager *pg)
{
    nudge_err e = {0};
    if (nudge_channel_register(n, "pager", &pager_ops, pg, &e) < 0)
        fail_msg("register: %s", e.msg);
    int64_t c = add_clinic(n);
    if (nudge_clinic_channel_set(n, c, "sms", "pager", &e) < 0)
        fail_msg("map: %s", e.msg);
    return c;
}

static int64_t send_sms(nudge *n, int64_t clinic, int64_t patient, const char *key)
{
    nudge_send s = {.patient_id = patient, .template_name = "prescription_ready",
                    .channel = "sms", .priority = NUDGE_URGENT, .dedupe_key = key};
    int64_t id;
    nudge_err e = {0};
    if (nudge_enqueue(n, clinic, &s, &id, NULL, &e) < 0)
        fail_msg("enqueue: %s", e.msg);
    return id;
}

static nudge_tick_stats tick_at(tu_env *env, nudge *n, int64_t t)
{
    env->clock.t = t;
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(n, &st, &e) < 0)
        fail_msg("tick: %s", e.msg);
    return st;
}

static int attempt_last(void *ctx, const nudge_attempt *a)
{
    *(nudge_attempt *)ctx = *a;
    return 0;
}

static nudge_notification get(nudge *n, int64_t clinic, int64_t id)
{
    nudge_notification m;
    nudge_err e = {0};
    if (nudge_notification_get(n, clinic, id, &m, &e) < 0)
        fail_msg("get: %s", e.msg);
    return m;
}

static int64_t count_sql(const char *db, const char *sql, int64_t arg)
{
    store *s;
    nudge_err e = {0};
    int64_t v = -1;
    if (store_open(db, &s, &e) < 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_scalar(s, &v, &e, sql, bind_int(arg)), 1);
    store_close(s);
    return v;
}

static void test_register_and_map_refuse_what_is_not_registered(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    struct pager pg = {.result = NUDGE_SENT};
    static const char *const bad[] = {"", "Pager", "a b", "twilio", "outbox",
                                      "a-name-much-longer-than-31-bytes"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(nudge_channel_register(env.n, bad[i], &pager_ops, &pg, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        assert_string_equal(e.field, "name");
    }
    nudge_channel_ops none = {0};
    assert_int_equal(nudge_channel_register(env.n, "pager", &none, &pg, &e), -1);
    assert_string_equal(e.field, "ops");
    assert_int_equal(nudge_channel_register(env.n, "pager", &pager_ops, &pg, &e), 0);
    assert_int_equal(nudge_channel_register(env.n, "pager", &pager_ops, &pg, &e), -1);
    assert_string_equal(e.field, "name");
    /* Registering takes no medium over. */
    assert_string_equal(nudge_transport_for(env.n, "sms"), "outbox");

    int64_t c = add_clinic(env.n);
    assert_int_equal(nudge_clinic_channel_set(env.n, c, "sms", "beeper", &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "channel");
    assert_int_equal(nudge_clinic_channel_set(env.n, c, "sms", "outbox", &e), -1);
    assert_string_equal(e.field, "channel");
    assert_int_equal(nudge_clinic_channel_set(env.n, c, "fax", "pager", &e), -1);
    assert_string_equal(e.field, "medium");
    assert_int_equal(nudge_clinic_channel_set(env.n, c + 99, "sms", "pager", &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    char name[32];
    assert_int_equal(nudge_clinic_channel_get(env.n, c, "sms", name, sizeof name, &e), 0);
    assert_string_equal(name, "");
    assert_int_equal(nudge_clinic_channel_set(env.n, c, "sms", "pager", &e), 0);
    assert_int_equal(nudge_clinic_channel_get(env.n, c, "sms", name, sizeof name, &e), 0);
    assert_string_equal(name, "pager");
    assert_int_equal(nudge_clinic_channel_set(env.n, c, "sms", NULL, &e), 0);
    assert_int_equal(nudge_clinic_channel_get(env.n, c, "sms", name, sizeof name, &e), 0);
    assert_string_equal(name, "");
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM audit_log WHERE clinic_id = ? AND "
                               "action = 'channel'",
                               c),
                     2);
    tu_close(&env);
    assert_int_equal(pg.freed, 1);
}

/* The mapped clinic's SMS go through the pager with the rendered text;
 * another clinic's stay with the handle's transport (the outbox). */
static void test_mapped_clinic_sends_through_its_channel(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    struct pager pg = {.result = NUDGE_SENT};
    assert_int_equal(nudge_channel_register(env.n, "pager", &pager_ops, &pg, &e), 0);
    int64_t c1 = add_clinic(env.n), c2 = add_clinic(env.n);
    assert_int_equal(nudge_clinic_channel_set(env.n, c1, "sms", "pager", &e), 0);
    int64_t p1 = add_patient(env.n, c1, "9876543210"), p2 = add_patient(env.n, c2, "9876543211");
    int64_t a = send_sms(env.n, c1, p1, NULL), b = send_sms(env.n, c2, p2, NULL);
    nudge_tick_stats st = tick_at(&env, env.n, T0 + 1);
    assert_int_equal(st.sent, 2);
    assert_int_equal(pg.calls, 1);
    assert_string_equal(pg.to, "+919876543210");
    assert_string_equal(pg.medium, "sms");
    assert_int_equal(pg.clinic_id, c1);
    assert_non_null(strstr(pg.text, "Ram Lal"));

    nudge_notification m = get(env.n, c1, a);
    assert_string_equal(m.status, "sent");
    assert_string_equal(m.provider_id, "PG-1");
    assert_int_equal(m.attempts, 1);
    nudge_notification_free(&m);
    nudge_attempt at;
    assert_int_equal(nudge_attempt_list(env.n, c1, a, attempt_last, &at, &e), 0);
    assert_string_equal(at.transport, "pager");
    assert_string_equal(at.outcome, "sent");
    assert_int_equal(nudge_attempt_list(env.n, c2, b, attempt_last, &at, &e), 0);
    assert_string_equal(at.transport, "outbox");
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM audit_log WHERE clinic_id = ? AND "
                               "action = 'send'",
                               c1),
                     1);
    tu_close(&env);
}

/* A transient failure is retried after the backoff and, past the
 * clinic's retries, fails with its event, as a built-in channel's would. */
static void test_custom_failures_retry_then_fail(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    struct pager pg = {.result = NUDGE_SEND_TRANSIENT};
    int64_t c = pager_clinic(env.n, &pg);
    int64_t id = send_sms(env.n, c, add_patient(env.n, c, "9876543210"), NULL);
    nudge_tick_stats st = tick_at(&env, env.n, T0 + 1);
    assert_int_equal(st.retried, 1);
    nudge_notification m = get(env.n, c, id);
    assert_string_equal(m.status, "pending");
    assert_int_equal(m.attempts, 1);
    assert_string_equal(m.last_error, "the pager is off");
    assert_true(m.due_at >= T0 + 1 + 300);
    nudge_notification_free(&m);
    st = tick_at(&env, env.n, T0 + 60); /* before the backoff: nothing */
    assert_int_equal(st.claimed, 0);
    st = tick_at(&env, env.n, T0 + 302);
    assert_int_equal(st.failed, 1);
    m = get(env.n, c, id);
    assert_string_equal(m.status, "failed");
    assert_int_equal(m.attempts, 2);
    nudge_notification_free(&m);
    assert_int_equal(pg.calls, 2);
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM events WHERE clinic_id = ? AND "
                               "type = 'message.failed'",
                               c),
                     1);

    /* A permanent failure fails at once. */
    pg.result = NUDGE_SEND_PERMANENT;
    id = send_sms(env.n, c, add_patient(env.n, c, "9876543212"), NULL);
    st = tick_at(&env, env.n, T0 + 400);
    assert_int_equal(st.failed, 1);
    m = get(env.n, c, id);
    assert_string_equal(m.status, "failed");
    nudge_notification_free(&m);
    tu_close(&env);
}

/* A worker without the channel (nudge worker, say) never falls back to
 * a configured transport: each attempt says the channel is missing. */
static void test_worker_without_the_channel_says_so(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    struct pager pg = {.result = NUDGE_SENT};
    int64_t c = pager_clinic(env.n, &pg);
    int64_t id = send_sms(env.n, c, add_patient(env.n, c, "9876543210"), NULL);

    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    nudge *w;
    assert_int_equal(nudge_open(&cfg, &w, &e), 0);
    nudge_tick_stats st = tick_at(&env, w, T0 + 1);
    assert_int_equal(st.retried, 1);
    assert_int_equal(tu_count_files(env.outbox, ""), 0);
    nudge_attempt at;
    assert_int_equal(nudge_attempt_list(w, c, id, attempt_last, &at, &e), 0);
    assert_string_equal(at.outcome, "transient");
    assert_non_null(strstr(at.detail, "\"pager\" is not registered"));
    nudge_close(w);

    st = tick_at(&env, env.n, T0 + 400); /* the embedder's worker sends it */
    assert_int_equal(st.sent, 1);
    assert_int_equal(pg.calls, 1);
    tu_close(&env);
}

/* Outcomes go in one batch; the one whose lease another worker took
 * meanwhile is not recorded (no attempt, the row left to its holder),
 * and the others of the batch are. */
static void test_batch_records_all_but_the_lost_lease(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    struct pager pg = {.result = NUDGE_SENT, .steal_db = env.db};
    int64_t c = pager_clinic(env.n, &pg);
    int64_t p = add_patient(env.n, c, "9876543210");
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "k%d", i);
        send_sms(env.n, c, p, key);
    }
    nudge_tick_stats st = tick_at(&env, env.n, T0 + 1);
    assert_int_equal(pg.calls, 4);
    assert_int_equal(st.sent, 2); /* every other send lost its lease */
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM notification_queue WHERE clinic_id = ? AND "
                               "status = 'sending' AND lease_owner = 'another'",
                               c),
                     2);
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM delivery_attempts WHERE clinic_id = ?", c),
                     2);
    assert_int_equal(count_sql(env.db,
                               "SELECT COUNT(*) FROM notification_queue WHERE clinic_id = ? AND "
                               "status = 'sent'",
                               c),
                     2);
    tu_close(&env);
}

/* The outbox makes its folder once, and again if it was taken away. */
static void test_outbox_folder_made_once_and_again_if_gone(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = add_clinic(env.n);
    int64_t p = add_patient(env.n, c, "9876543210");
    send_sms(env.n, c, p, "a");
    assert_int_equal(tick_at(&env, env.n, T0 + 1).sent, 1);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 1);
    tu_rmrf(env.outbox);
    send_sms(env.n, c, p, "b");
    assert_int_equal(tick_at(&env, env.n, T0 + 2).sent, 1);
    assert_int_equal(tu_count_files(env.outbox, ".json"), 1);
    tu_close(&env);
}

/* What may go twice after a crash stays within the sends in flight,
 * batch after batch: the claim's own hand-off and the outcomes a full
 * batch leaves to the next one's record count together. Batches of 4 with
 * 2 in flight: 10 messages take three batches, each full batch's last
 * outcomes carried into the next. */
static void test_unrecorded_sends_stay_within_the_flights(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_clock clk;
    nudge_clock_fake(&clk, T0);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &clk,
                        .batch_size = 4, .max_in_flight = 2};
    nudge *w;
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &w, &e), 0);
    struct pager pg = {.result = NUDGE_SENT, .watch_db = env.db};
    int64_t c = pager_clinic(w, &pg);
    int64_t p = add_patient(w, c, "9876543210");
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        send_sms(w, c, p, key);
    }
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(w, &st, &e), 0);
    assert_int_equal(st.sent, 10);
    assert_int_equal(pg.calls, 10);
    assert_true(pg.most_unrecorded >= 1);
    assert_true(pg.most_unrecorded <= 2);
    /* Every send recorded by the tick's end, the last batch's too. */
    assert_int_equal(pager_unrecorded(env.db), 0);
    store *s;
    assert_int_equal(store_open(env.db, &s, &e), 0);
    int64_t sent = 0, attempts = 0;
    assert_int_equal(store_scalar(s, &sent, &e, "SELECT COUNT(*) FROM notification_queue "
                                                "WHERE status = 'sent'"),
                     1);
    assert_int_equal(store_scalar(s, &attempts, &e, "SELECT COUNT(*) FROM delivery_attempts"), 1);
    store_close(s);
    assert_int_equal(sent, 10);
    assert_int_equal(attempts, 10);
    nudge_close(w);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_map_refuse_what_is_not_registered),
        cmocka_unit_test(test_mapped_clinic_sends_through_its_channel),
        cmocka_unit_test(test_custom_failures_retry_then_fail),
        cmocka_unit_test(test_worker_without_the_channel_says_so),
        cmocka_unit_test(test_batch_records_all_but_the_lost_lease),
        cmocka_unit_test(test_outbox_folder_made_once_and_again_if_gone),
        cmocka_unit_test(test_unrecorded_sends_stay_within_the_flights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
