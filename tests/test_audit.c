/*
 * test_audit.c: the audit log's hash chains (src/audit.c) from inside the
 * library: every stored field is covered by its row's hash (a change to
 * any one of them, triggers bypassed, is named by nudge_audit_verify, and
 * undoing it makes the chain whole again), and on PostgreSQL two writers
 * of one clinic's chain, one of them in a transaction without the
 * writers' lock (as a send's record is), take turns on the chain's head
 * instead of forking it. A batch of send records (queue_record_batch:
 * one step of each clinic's chain for all its lines) chains exactly as
 * the same records made one at a time. tests/audit.sh tampers through
 * the CLI.
 */
#include <pthread.h>
#include <unistd.h>

#include "core.h"
#include "testutil.h"

#define T0 TU_T(2026, 12, 1, 6, 30)

static int64_t audit_clinic(nudge *n)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Audit Clinic");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int keep_chain(void *ctx, const nudge_audit_chain *c)
{
    *(nudge_audit_chain *)ctx = *c;
    return 0;
}

/* The verdict on clinic's chain: the number of broken chains (0 or 1). */
static int verify(nudge *n, int64_t clinic, nudge_audit_chain *c)
{
    nudge_err e = {0};
    memset(c, 0, sizeof *c);
    int r = nudge_audit_verify(n, clinic, keep_chain, c, &e);
    if (r < 0)
        fail_msg("verify: %s", e.msg);
    return r;
}

static void exec_raw(nudge *n, const char *sql)
{
    if (n->db->ops->exec_script(n->db, sql) != 0)
        fail_msg("%s: %s", sql, n->db->ops->errmsg(n->db));
}

/* Each change is made, then undone, on the chain's second row. */
static const struct {
    const char *change, *undo;
} tamper[] = {
    {"actor = actor || 'x'", "actor = substr(actor, 1, length(actor) - 1)"},
    {"action = 'x' || action", "action = substr(action, 2)"},
    {"entity = entity || 'x'", "entity = substr(entity, 1, length(entity) - 1)"},
    {"entity_id = entity_id + 1", "entity_id = entity_id - 1"},
    {"detail = 'forged'", "detail = NULL"},
    {"created_at = created_at - 60", "created_at = created_at + 60"},
    {"prev_hash = 'x' || prev_hash", "prev_hash = substr(prev_hash, 2)"},
    {"hash = 'x' || hash", "hash = substr(hash, 2)"},
};

static void test_every_field_is_covered(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = audit_clinic(env.n);
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c;
    strcpy(p.name, "Ram Lal");
    strcpy(p.phone, "9876543210");
    nudge_err e = {0};
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_set_actor(env.n, "key:0123456789ab");
    assert_int_equal(nudge_patient_update(env.n, c, &p, 0, &e), 0);
    nudge_audit_chain ch;
    assert_int_equal(verify(env.n, c, &ch), 0);
    assert_int_equal(ch.rows, 3);
    assert_int_equal(strlen(ch.head), 64);
    int64_t id = 0;
    assert_int_equal(store_scalar(env.n->db, &id, &e,
                                  "SELECT id FROM audit_log WHERE clinic_id = ? AND chain_seq = 2",
                                  bind_int(c)),
                     1);
    exec_raw(env.n, strcmp(store_engine(env.n->db), "sqlite")
                        ? "ALTER TABLE audit_log DISABLE TRIGGER USER"
                        : "DROP TRIGGER audit_log_no_update");
    for (size_t i = 0; i < sizeof tamper / sizeof *tamper; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE audit_log SET %s WHERE id = %lld", tamper[i].change,
                 (long long)id);
        exec_raw(env.n, sql);
        if (verify(env.n, c, &ch) != 1)
            fail_msg("not detected: %s", tamper[i].change);
        /* the row itself, or (its hash changed) the row that links to it */
        if (ch.bad_id != id && !strstr(ch.problem, "rewritten"))
            fail_msg("%s: %s", tamper[i].change, ch.problem);
        snprintf(sql, sizeof sql, "UPDATE audit_log SET %s WHERE id = %lld", tamper[i].undo,
                 (long long)id);
        exec_raw(env.n, sql);
        assert_int_equal(verify(env.n, c, &ch), 0);
    }
    tu_close(&env);
}

struct writer {
    nudge *n;
    int64_t clinic;
    int rc;
    nudge_err e;
};

static void *writer_run(void *x)
{
    struct writer *w = x;
    w->rc = audit_add(w->n, w->clinic, "send", "notification", 8, NULL, &w->e);
    return NULL;
}

/* Until backend pid waits for a lock (pg_locks, asked on watcher's
 * connection): a state another connection brings about, not a time. */
static void wait_for_lock(nudge *watcher, int64_t pid, const char *locktype)
{
    nudge_err e = {0};
    int64_t waiting = 0;
    for (int i = 0; i < 100000 && !waiting; i++) {
        assert_int_equal(store_scalar(watcher->db, &waiting, &e,
                                      "SELECT COUNT(*) FROM pg_locks WHERE pid = ? AND NOT "
                                      "granted AND locktype LIKE ?",
                                      bind_int(pid), bind_text(locktype)),
                         1);
        if (!waiting)
            usleep(1000);
    }
    assert_true(waiting);
}

/* PostgreSQL only (SQLite has one writer at a time): A appends to the
 * chain in a transaction without the writers' lock and holds it open; B
 * appends to the same chain meanwhile. B waits for A (seen in pg_locks),
 * then links after A's row: without the chain's lock B would read the
 * same head, and the unique (clinic, place) index would refuse its row. */
static void test_two_writers_take_turns_on_the_head(void **state)
{
    (void)state;
    if (!tu_pg_admin())
        skip();
    tu_env env;
    tu_open(&env, T0);
    int64_t c = audit_clinic(env.n);
    struct writer w = {.clinic = c};
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    nudge_err e = {0};
    if (nudge_open(&cfg, &w.n, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    int64_t pid = 0;
    assert_int_equal(store_scalar(w.n->db, &pid, &e, "SELECT pg_backend_pid()"), 1);
    assert_int_equal(store_begin_own(env.n->db, &e), 0);
    assert_int_equal(audit_add(env.n, c, "send", "notification", 7, NULL, &e), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_run, &w), 0);
    wait_for_lock(env.n, pid, "%"); /* B waits on a lock A holds */
    assert_int_equal(store_commit(env.n->db, &e), 0);
    pthread_join(t, NULL);
    if (w.rc < 0)
        fail_msg("the second writer: %s", w.e.msg);
    nudge_audit_chain ch;
    assert_int_equal(verify(env.n, c, &ch), 0);
    assert_int_equal(ch.rows, 3);
    nudge_close(w.n);
    tu_close(&env);
}


/* Two clinics' messages, claimed, their outcomes (sent, failed for good,
 * to be retried) recorded in one queue_record_batch on one database and
 * one queue_record at a time in the same order on another: each clinic's
 * chain the same hash for hash, and whole. */
#define RB_N 30

static void rb_setup(tu_env *env, int64_t c[2], queue_ref *ids, nudge_notification *msgs,
                     char **data)
{
    tu_open(env, T0);
    nudge_err e = {0};
    for (int k = 0; k < 2; k++) {
        c[k] = audit_clinic(env->n);
        nudge_clinic cl;
        assert_int_equal(nudge_clinic_get(env->n, c[k], &cl, &e), 0);
        cl.rate_per_minute = 1000;
        cl.quiet_start = cl.quiet_end = 0;
        assert_int_equal(nudge_clinic_update(env->n, &cl, &e), 0);
    }
    int64_t pid[2];
    for (int k = 0; k < 2; k++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = c[k];
        snprintf(p.name, sizeof p.name, "Patient %d", k);
        snprintf(p.phone, sizeof p.phone, "987654321%d", k);
        assert_int_equal(nudge_patient_add(env->n, &p, &e), 0);
        pid[k] = p.id;
    }
    for (int i = 0; i < RB_N; i++) {
        nudge_send s = {.patient_id = pid[i % 3 == 0], .template_name = "prescription_ready",
                        .channel = "sms", .priority = NUDGE_NORMAL};
        if (nudge_enqueue(env->n, c[i % 3 == 0], &s, NULL, NULL, &e) < 0)
            fail_msg("enqueue %d: %s", i, e.msg);
    }
    assert_int_equal(queue_claim_rows(env->n, ids, msgs, data, RB_N, 0, NULL, &e), RB_N);
}

/* Outcome i of the batch: mostly sent, some refused for good, some to
 * be tried again. */
static channel_outcome rb_outcome(int i)
{
    channel_outcome o = {.result = CHANNEL_SENT};
    if (i % 5 == 3) {
        o.result = CHANNEL_PERMANENT;
        snprintf(o.detail, sizeof o.detail, "refused %d", i);
    } else if (i % 7 == 4) {
        o.result = CHANNEL_TRANSIENT;
        snprintf(o.detail, sizeof o.detail, "busy %d", i);
    } else {
        snprintf(o.provider_id, sizeof o.provider_id, "p-%d", i);
    }
    return o;
}

/* A clinic's chain as its hashes in order (each covers its row's fields
 * and the hash before it), then the actions of the batch's rows. */
static char *rb_chain(nudge *n, int64_t c)
{
    store_stmt *st;
    nudge_err e = {0};
    struct sbuf out = {0};
    if (store_query(n->db, &st, &e,
                    "SELECT hash, action FROM audit_log WHERE clinic_id = ? ORDER BY chain_seq",
                    bind_int(c)) < 0)
        fail_msg("audit: %s", e.msg);
    while (store_next(st, &e) == 1) {
        sbuf_add(&out, store_text(st, 0), 64);
        sbuf_add(&out, ":", 1);
        sbuf_add(&out, store_text(st, 1), strlen(store_text(st, 1)));
        sbuf_add(&out, ";", 1);
    }
    store_done(st);
    sbuf_add(&out, "", 1);
    return out.data;
}

static void test_record_batch_chains_as_single_records(void **state)
{
    (void)state;
    tu_env a, b;
    int64_t ca[2], cb[2];
    queue_ref ids[2][RB_N];
    nudge_notification msgs[2][RB_N];
    char *data[2][RB_N];
    rb_setup(&a, ca, ids[0], msgs[0], data[0]);
    rb_setup(&b, cb, ids[1], msgs[1], data[1]);
    assert_memory_equal(ca, cb, sizeof ca);
    queue_outcome rs[RB_N];
    for (int i = 0; i < RB_N; i++) {
        assert_int_equal(ids[0][i].id, ids[1][i].id);
        rs[i] = (queue_outcome){.m = &msgs[0][i], .transport = "noop", .o = rb_outcome(i)};
    }
    nudge_err e = {0};
    assert_int_equal(queue_record_batch(a.n, rs, RB_N, NULL, 0, NULL, &e), 0);
    int sends = 0, fails = 0;
    for (int i = 0; i < RB_N; i++) {
        channel_outcome o = rb_outcome(i);
        int retried;
        assert_true(rs[i].recorded);
        if (queue_record(b.n, &msgs[1][i], "noop", &o, &retried, &e) < 0)
            fail_msg("record %d: %s", i, e.msg);
        assert_int_equal(retried, rs[i].retried);
        sends += o.result == CHANNEL_SENT;
        fails += o.result == CHANNEL_PERMANENT;
    }
    assert_true(sends > 0 && fails > 0 && sends + fails < RB_N);
    for (int k = 0; k < 2; k++) {
        char *ha = rb_chain(a.n, ca[k]), *hb = rb_chain(b.n, cb[k]);
        assert_true(strstr(ha, ":send;") && strstr(ha, ":fail;"));
        assert_string_equal(ha, hb);
        free(ha);
        free(hb);
        nudge_audit_chain ch;
        assert_int_equal(verify(a.n, ca[k], &ch), 0);
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < RB_N; i++) {
            nudge_notification_free(&msgs[k][i]);
            free(data[k][i]);
        }
    tu_close(&a);
    tu_close(&b);
}

/* PostgreSQL only: a worker's record writes what only its batch holds
 * (its rows moved on, their attempts) before it waits for the clinic's
 * turn (the audit chain's lock, held here by another writer), so two
 * workers of one clinic wait for each other only from the locks to the
 * commit (queue_record_locks_pg). Seen in pg_locks: the waiting record
 * already holds its row locks on both tables; once the other writer
 * commits, the record goes through and the chain is whole. */
struct recorder {
    nudge *n;
    queue_outcome *rs;
    int count, rc;
    nudge_err e;
};

static void *recorder_run(void *x)
{
    struct recorder *r = x;
    r->rc = queue_record_batch(r->n, r->rs, r->count, NULL, 0, NULL, &r->e);
    return NULL;
}

static void test_record_writes_its_rows_before_the_clinic_turn(void **state)
{
    (void)state;
    if (!tu_pg_admin())
        skip();
    tu_env env;
    int64_t c[2];
    queue_ref ids[RB_N];
    nudge_notification msgs[RB_N];
    char *data[RB_N];
    rb_setup(&env, c, ids, msgs, data);
    queue_outcome rs[RB_N];
    int mine = 0; /* clinic c[0]'s rows: one clinic's turn */
    for (int i = 0; i < RB_N; i++)
        if (msgs[i].clinic_id == c[0])
            rs[mine++] = (queue_outcome){.m = &msgs[i], .transport = "noop",
                                         .o = {.result = CHANNEL_SENT}};
    assert_true(mine > 1);
    nudge *other;
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    nudge_err e = {0};
    if (nudge_open(&cfg, &other, &e) < 0)
        fail_msg("nudge_open: %s", e.msg);
    int64_t pid = 0;
    assert_int_equal(store_scalar(env.n->db, &pid, &e, "SELECT pg_backend_pid()"), 1);
    assert_int_equal(store_begin_own(other->db, &e), 0);
    assert_int_equal(audit_add(other, c[0], "note", "clinic", c[0], NULL, &e), 0);
    struct recorder r = {.n = env.n, .rs = rs, .count = mine};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recorder_run, &r), 0);
    wait_for_lock(other, pid, "advisory"); /* the record waits for its turn */
    int64_t held = 0;
    assert_int_equal(store_scalar(other->db, &held, &e,
                                  "SELECT COUNT(*) FROM pg_locks WHERE pid = ? AND granted AND "
                                  "mode = 'RowExclusiveLock' AND relation IN "
                                  "('notification_queue'::regclass, "
                                  "'delivery_attempts'::regclass)",
                                  bind_int(pid)),
                     1);
    assert_int_equal(held, 2);
    assert_int_equal(store_commit(other->db, &e), 0);
    pthread_join(t, NULL);
    if (r.rc < 0)
        fail_msg("the record: %s", r.e.msg);
    int64_t sent = 0;
    assert_int_equal(store_scalar(env.n->db, &sent, &e,
                                  "SELECT COUNT(*) FROM notification_queue q WHERE clinic_id = ? "
                                  "AND status = 'sent' AND EXISTS (SELECT 1 FROM "
                                  "delivery_attempts a WHERE a.notification_id = q.id)",
                                  bind_int(c[0])),
                     1);
    assert_int_equal(sent, mine);
    for (int i = 0; i < mine; i++)
        assert_true(rs[i].recorded);
    nudge_audit_chain ch;
    assert_int_equal(verify(env.n, c[0], &ch), 0);
    nudge_close(other);
    for (int i = 0; i < RB_N; i++) {
        nudge_notification_free(&msgs[i]);
        free(data[i]);
    }
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_is_covered),
        cmocka_unit_test(test_two_writers_take_turns_on_the_head),
        cmocka_unit_test(test_record_batch_chains_as_single_records),
        cmocka_unit_test(test_record_writes_its_rows_before_the_clinic_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
