/*
 * test_audit.c: the audit log's hash chains (src/audit.c) from inside the
 * library: every stored field is covered by its row's hash (a change to
 * any one of them, triggers bypassed, is named by nudge_audit_verify, and
 * undoing it makes the chain whole again), and on PostgreSQL two writers
 * of one clinic's chain, one of them in a transaction without the
 * writers' lock (as a send's record is), take turns on the chain's head
 * instead of forking it. tests/audit.sh tampers through the CLI.
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
    int64_t waiting = 0;
    for (int i = 0; i < 100000 && !waiting; i++) { /* until B waits on a lock A holds */
        assert_int_equal(store_scalar(env.n->db, &waiting, &e,
                                      "SELECT COUNT(*) FROM pg_locks WHERE pid = ? AND NOT granted",
                                      bind_int(pid)),
                         1);
        if (!waiting)
            usleep(1000);
    }
    assert_true(waiting);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_is_covered),
        cmocka_unit_test(test_two_writers_take_turns_on_the_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
