/*
 * test_store.c: the store layer on SQLite: migrations apply once and are
 * recorded, typed binds round-trip (NULLs included), nested transactions
 * commit only at the outermost level and an inner rollback dooms the
 * whole, unique violations are reported as conflicts, and the statement
 * cache hands out a fresh statement when the cached one is still in use.
 */
#include "testutil.h"

#include "store/store.h"
#include "util.h"

static store *open_store(char *dir, size_t n)
{
    tu_tmpdir(dir, n);
    char path[256];
    snprintf(path, sizeof path, "%s/s.db", dir);
    store *s;
    nudge_err e = {0};
    assert_int_equal(store_open(path, &s, &e), 0);
    assert_int_equal(store_migrate(s, 1000, NULL, &e), 0);
    assert_int_equal(store_exec(s, &e,
                                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, "
                                "b INTEGER, u TEXT UNIQUE)"),
                     0);
    return s;
}

static int64_t count_t(store *s)
{
    int64_t c = -1;
    nudge_err e = {0};
    assert_int_equal(store_scalar(s, &c, &e, "SELECT COUNT(*) FROM t"), 1);
    return c;
}

static void test_migrations_apply_once(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    int applied = -1, version = 0;
    assert_int_equal(store_migrate(s, 2000, &applied, &e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(store_schema_version(s, &version, &e), 0);
    assert_true(version >= 1);
    int64_t at = 0;
    assert_int_equal(
        store_scalar(s, &at, &e, "SELECT applied_at FROM schema_migrations WHERE version = 1"), 1);
    assert_int_equal(at, 1000); /* from the clock given, not the system's */
    /* The seed's tables are there, each with its clinic. */
    const char *tables[] = {"reminders",
                            "notification_queue",
                            "broadcasts",
                            "patient_segments",
                            "patient_communication_preferences",
                            "templates",
                            "events",
                            "audit_log",
                            "appointments",
                            "patients"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        int64_t has = 0;
        assert_int_equal(store_scalar(s, &has, &e,
                                      "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = "
                                      "'clinic_id'",
                                      bind_text(tables[i])),
                         1);
        assert_int_equal(has, 1);
    }
    store_close(s);
    tu_rmrf(dir);
}

static void test_binds_round_trip(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a, b, u) VALUES (?, ?, ?)",
                                bind_text_or_null(""), bind_int_or_null((int64_t)0),
                                bind_text("x")),
                     0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a, b, u) VALUES (?, ?, ?)",
                                bind_text("it's \"quoted\"; DROP TABLE t;--"), bind_int(42),
                                bind_text("y")),
                     0);
    store_stmt *st;
    assert_int_equal(store_query(s, &st, &e, "SELECT a, b FROM t ORDER BY id"), 0);
    assert_int_equal(store_next(st, &e), 1);
    assert_true(store_null(st, 0));
    assert_true(store_null(st, 1));
    assert_string_equal(store_text(st, 0), "");
    assert_null(store_dup(st, 0));
    assert_int_equal(store_next(st, &e), 1);
    assert_string_equal(store_text(st, 0), "it's \"quoted\"; DROP TABLE t;--");
    assert_int_equal(store_int(st, 1), 42);
    char small[5];
    store_copy(st, 0, small, sizeof small);
    assert_string_equal(small, "it's");
    assert_int_equal(store_next(st, &e), 0);
    store_done(st);
    assert_int_equal(count_t(s), 2);
    store_close(s);
    tu_rmrf(dir);
}

static void test_nested_transactions(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    /* Inner commit does not commit; outer rollback undoes both. */
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a) VALUES ('1')"), 0);
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a) VALUES ('2')"), 0);
    assert_int_equal(store_commit(s, &e), 0);
    store_rollback(s);
    assert_int_equal(count_t(s), 0);
    /* Inner rollback dooms the outer commit. */
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a) VALUES ('1')"), 0);
    assert_int_equal(store_begin(s, &e), 0);
    store_rollback(s);
    assert_int_equal(store_commit(s, &e), -1);
    assert_int_equal(e.code, NUDGE_ESTORE);
    assert_int_equal(count_t(s), 0);
    /* And a plain one commits. */
    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a) VALUES ('1')"), 0);
    assert_int_equal(store_commit(s, &e), 0);
    assert_int_equal(count_t(s), 1);
    assert_int_equal(store_commit(s, &e), -1); /* commit without begin */
    store_close(s);
    tu_rmrf(dir);
}

static void test_unique_violation_is_conflict(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (u) VALUES (?)", bind_text("k")), 0);
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (u) VALUES (?)", bind_text("k")), -1);
    assert_int_equal(e.code, NUDGE_ECONFLICT);
    assert_true(store_is_constraint(s));
    assert_int_equal(store_exec(s, &e, "SELEC nonsense"), -1);
    assert_int_equal(e.code, NUDGE_ESTORE);
    store_close(s);
    tu_rmrf(dir);
}

static void test_statement_cache_nesting(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_exec(s, &e, "INSERT INTO t (b) VALUES (?)", bind_int(i)), 0);
    /* The same SQL open twice at once: the second must not reuse (and
     * reset) the first's statement. */
    const char *q = "SELECT b FROM t WHERE b >= ? ORDER BY b";
    store_stmt *a, *b;
    assert_int_equal(store_query(s, &a, &e, q, bind_int(0)), 0);
    assert_int_equal(store_next(a, &e), 1);
    assert_int_equal(store_query(s, &b, &e, q, bind_int(2)), 0);
    assert_int_equal(store_next(b, &e), 1);
    assert_int_equal(store_int(b, 0), 2);
    store_done(b);
    assert_int_equal(store_next(a, &e), 1);
    assert_int_equal(store_int(a, 0), 1);
    store_done(a);
    /* Reused from the cache, with fresh bindings. */
    int64_t v;
    assert_int_equal(store_scalar(s, &v, &e, q, bind_int(1)), 1);
    assert_int_equal(v, 1);
    store_close(s);
    tu_rmrf(dir);
}

static void test_bind_count_must_match(void **state)
{
    (void)state;
    char dir[64];
    store *s = open_store(dir, sizeof dir);
    nudge_err e = {0};
    /* Too few and too many values are refused before anything runs. */
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a, b) VALUES (?, ?)", bind_text("x")), -1);
    assert_int_equal(e.code, NUDGE_ESTORE);
    assert_non_null(strstr(e.msg, "1 values bound to 2 placeholders"));
    assert_int_equal(store_exec(s, &e, "INSERT INTO t (a) VALUES (?)", bind_text("x"),
                                bind_int(1)),
                     -1);
    assert_int_equal(count_t(s), 0);
    store_close(s);
    tu_rmrf(dir);
}

static void test_bad_urls(void **state)
{
    (void)state;
    store *s;
    nudge_err e = {0};
    assert_int_equal(store_open("", &s, &e), -1);
    assert_string_equal(e.field, "db");
    assert_int_equal(store_open("postgresql://x/y", &s, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_int_equal(store_open("/nonexistent-dir/x/y.db", &s, &e), -1);
    assert_int_equal(e.code, NUDGE_ESTORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_apply_once),
        cmocka_unit_test(test_binds_round_trip),
        cmocka_unit_test(test_nested_transactions),
        cmocka_unit_test(test_unique_violation_is_conflict),
        cmocka_unit_test(test_statement_cache_nesting),
        cmocka_unit_test(test_bind_count_must_match),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
