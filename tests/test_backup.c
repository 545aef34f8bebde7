/*
 * test_backup.c: database backups (src/backup.c). On SQLite: a backup
 * restored into a fresh database equals the original row by row in every
 * table, a restore brings a changed database back, the newest N are kept,
 * an encrypted backup holds no plain text, restores with its key and is
 * refused with a wrong key, a flipped byte or a cut-off end, leaving the
 * database as it was; the backup task writes one. On PostgreSQL the
 * backup (and its task) is refused with a message pointing to pg_dump.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "testutil.h"

#define T0 TU_T(2027, 1, 1, 2, 0)
#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define OTHER_KEY "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* tu_open's database, reopened with a backup key. */
static void open_with_key(tu_env *e, int64_t t, const char *key)
{
    tu_open(e, t);
    nudge_close(e->n);
    nudge_config cfg = {.db = e->db, .outbox_dir = e->outbox, .clock = &e->clock,
                        .backup_key = key};
    nudge_err err = {0};
    if (nudge_open(&cfg, &e->n, &err) < 0)
        fail_msg("nudge_open: %s", err.msg);
}

/* A clinic with patients and visits: plans, events and audit rows too. */
static void fill(nudge *n)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Backup Clinic");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    for (int i = 0; i < 5; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = c.id;
        snprintf(p.name, sizeof p.name, "Patient %d \xe0\xa4\xb0\xe0\xa4\xbe\xe0\xa4\xae", i);
        strcpy(p.language, i % 2 ? "hi" : "en");
        snprintf(p.phone, sizeof p.phone, "98765432%02d", i);
        if (nudge_patient_add(n, &p, &e) < 0)
            fail_msg("patient: %s", e.msg);
        nudge_appointment a = {0};
        a.patient_id = p.id;
        strcpy(a.service, "Cleaning");
        a.start_at = T0 + 86400 * (i + 2);
        a.duration_min = 30;
        if (nudge_appointment_add(n, c.id, &a, &e) < 0)
            fail_msg("appointment: %s", e.msg);
    }
}

/* Every table of two SQLite files, row by row, each value as text with
 * NULL apart: 0 equal, else fails naming the first difference. */
static int64_t compare_files(const char *a, const char *b)
{
    sqlite3 *da, *db;
    assert_int_equal(sqlite3_open_v2(a, &da, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2(b, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *tl;
    assert_int_equal(sqlite3_prepare_v2(da,
                         "SELECT name FROM pragma_table_list WHERE schema = 'main' AND "
                         "type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &tl, NULL), SQLITE_OK);
    int64_t rows = 0;
    int tables = 0;
    while (sqlite3_step(tl) == SQLITE_ROW) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY rowid",
                 (const char *)sqlite3_column_text(tl, 0));
        sqlite3_stmt *sa, *sb;
        assert_int_equal(sqlite3_prepare_v2(da, sql, -1, &sa, NULL), SQLITE_OK);
        if (sqlite3_prepare_v2(db, sql, -1, &sb, NULL) != SQLITE_OK)
            fail_msg("%s: missing from the restored copy", sql);
        tables++;
        for (;;) {
            int ra = sqlite3_step(sa), rb = sqlite3_step(sb);
            if (ra != rb)
                fail_msg("%s: row counts differ", sql);
            if (ra != SQLITE_ROW)
                break;
            rows++;
            assert_int_equal(sqlite3_column_count(sa), sqlite3_column_count(sb));
            for (int i = 0; i < sqlite3_column_count(sa); i++) {
                int na = sqlite3_column_type(sa, i) == SQLITE_NULL;
                int nb = sqlite3_column_type(sb, i) == SQLITE_NULL;
                const char *va = (const char *)sqlite3_column_text(sa, i);
                const char *vb = (const char *)sqlite3_column_text(sb, i);
                if (na != nb || (!na && strcmp(va, vb)))
                    fail_msg("%s: column %d differs: %s / %s", sql, i, va ? va : "NULL",
                             vb ? vb : "NULL");
            }
        }
        sqlite3_finalize(sa);
        sqlite3_finalize(sb);
    }
    sqlite3_finalize(tl);
    sqlite3_close(da);
    sqlite3_close(db);
    assert_true(tables > 20);
    return rows;
}

static void test_backup_restore_row_by_row(void **state)
{
    (void)state;
    if (tu_pg_admin())
        skip();
    tu_env a;
    tu_open(&a, T0);
    fill(a.n);
    char dir[256], path[4096];
    snprintf(dir, sizeof dir, "%s/backups", a.dir);
    nudge_err e = {0};
    assert_int_equal(nudge_backup(a.n, dir, 3, 0, path, sizeof path, &e), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/nudge-20270101T020000Z.db", dir);
    assert_string_equal(path, want);
    /* A fresh database restored from it equals the original, row by row. */
    tu_env b;
    tu_open(&b, T0);
    assert_int_equal(nudge_backup_restore(b.n, path, &e), 0);
    assert_true(compare_files(a.db, b.db) > 20);
    /* The original changed, then restored: as it was at the backup. */
    assert_int_equal(nudge_backup_restore(b.n, path, &e), 0);
    fill(a.n);
    assert_int_equal(nudge_backup_restore(a.n, path, &e), 0);
    compare_files(a.db, b.db);
    /* Keeping 3: five backups later, the three newest remain. */
    for (int i = 1; i <= 5; i++) {
        a.clock.t = T0 + i;
        assert_int_equal(nudge_backup(a.n, dir, 3, 0, path, sizeof path, &e), 0);
    }
    assert_int_equal(tu_count_files(dir, ".db"), 3);
    snprintf(want, sizeof want, "%s/nudge-20270101T020005Z.db", dir);
    assert_string_equal(path, want);
    struct stat sb;
    snprintf(want, sizeof want, "%s/nudge-20270101T020003Z.db", dir);
    assert_int_equal(stat(want, &sb), 0);
    snprintf(want, sizeof want, "%s/nudge-20270101T020002Z.db", dir);
    assert_int_equal(stat(want, &sb), -1);
    /* Two in one second do not overwrite each other. */
    assert_int_equal(nudge_backup(a.n, dir, 3, 0, path, sizeof path, &e), 0);
    snprintf(want, sizeof want, "%s/nudge-20270101T020005Z-2.db", dir);
    assert_string_equal(path, want);
    /* Not a backup: refused, nothing changed. */
    char junk[512];
    snprintf(junk, sizeof junk, "%s/junk.db", a.dir);
    FILE *f = fopen(junk, "wb");
    fputs("this is not a database, not even close to one; padding padding padding", f);
    fclose(f);
    assert_int_equal(nudge_backup_restore(a.n, junk, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    compare_files(a.db, b.db);
    tu_close(&b);
    tu_close(&a);
}

static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)*len);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static void spill(const char *path, const char *b, long len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
}

static void test_encrypted_backup(void **state)
{
    (void)state;
    if (tu_pg_admin())
        skip();
    tu_env a;
    open_with_key(&a, T0, KEY);
    fill(a.n);
    char dir[256], path[4096];
    snprintf(dir, sizeof dir, "%s/backups", a.dir);
    nudge_err e = {0};
    assert_int_equal(nudge_backup(a.n, dir, 3, 1, path, sizeof path, &e), 0);
    assert_non_null(strstr(path, ".db.enc"));
    long len;
    char *sealed = slurp(path, &len);
    assert_memory_equal(sealed, "NUDGEBK1", 8);
    assert_null(memmem(sealed, (size_t)len, "SQLite format 3", 15));
    assert_null(memmem(sealed, (size_t)len, "Backup Clinic", 13));

    /* The right key restores it, equal row by row. */
    tu_env b;
    open_with_key(&b, T0, KEY);
    assert_int_equal(nudge_backup_restore(b.n, path, &e), 0);
    compare_files(a.db, b.db);

    /* A wrong key, a flipped byte anywhere, a cut-off end: refused, and
     * the database is as it was. */
    tu_env w;
    open_with_key(&w, T0, OTHER_KEY);
    assert_int_equal(nudge_backup_restore(w.n, path, &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);
    char tampered[512];
    snprintf(tampered, sizeof tampered, "%s/tampered.db.enc", b.dir);
    const long at[] = {3, 10, 20, len / 2, len - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        sealed[at[i]] ^= 0x01;
        spill(tampered, sealed, len);
        sealed[at[i]] ^= 0x01;
        e = (nudge_err){0};
        assert_int_equal(nudge_backup_restore(b.n, tampered, &e), -1);
        if (at[i] >= 8)
            assert_int_equal(e.code, NUDGE_EDENIED);
    }
    spill(tampered, sealed, len - 5);
    assert_int_equal(nudge_backup_restore(b.n, tampered, &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);
    compare_files(a.db, b.db);
    assert_int_equal(tu_count_files(b.dir, ".tmp"), 0);
    /* Without a key: encrypting is refused, naming the setting. */
    tu_env k;
    tu_open(&k, T0);
    assert_int_equal(nudge_backup(k.n, dir, 3, 1, path, sizeof path, &e), -1);
    assert_string_equal(e.field, "backup_key");
    assert_int_equal(nudge_backup_restore(k.n, tampered, &e), -1);
    assert_string_equal(e.field, "backup_key");
    free(sealed);
    tu_close(&k);
    tu_close(&w);
    tu_close(&b);
    tu_close(&a);
}

/* The backup task writes a backup on its schedule (SQLite), or fails with
 * the pointer to pg_dump in its history (PostgreSQL); either way the
 * direct call on PostgreSQL says the same. */
static void test_backup_task(void **state)
{
    (void)state;
    tu_env a;
    tu_open(&a, T0);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/nightly", a.dir);
    nudge_task t = {0};
    strcpy(t.name, "nightly backup");
    strcpy(t.fn, "backup");
    strcpy(t.kind, "daily");
    strcpy(t.schedule, "03:00");
    t.max_retries = 0;
    snprintf(t.args, sizeof t.args, "{\"dir\": \"%s\", \"keep\": 2}", dir);
    nudge_err e = {0};
    assert_int_equal(nudge_task_add(a.n, &t, &e), 0);
    int ran;
    for (int d = 0; d < 3; d++) {
        a.clock.t = TU_T(2027, 1, 1 + d, 3, 0);
        assert_int_equal(nudge_task_tick(a.n, a.clock.t, &ran, &e), 0);
        assert_int_equal(ran, !tu_pg_admin() || d == 0); /* PG: failed on the first */
    }
    nudge_task got;
    assert_int_equal(nudge_task_get(a.n, 0, t.id, &got, &e), 0);
    if (!tu_pg_admin()) {
        assert_string_equal(got.last_outcome, "ok");
        assert_int_equal(tu_count_files(dir, ".db"), 2);
    } else {
        assert_string_equal(got.status, "failed");
        assert_non_null(strstr(got.last_error, "pg_dump"));
        char path[256];
        assert_int_equal(nudge_backup(a.n, dir, 3, 0, path, sizeof path, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        assert_non_null(strstr(e.msg, "pg_dump"));
        assert_int_equal(nudge_backup_restore(a.n, "x.db", &e), -1);
        assert_non_null(strstr(e.msg, "pg_dump"));
    }
    tu_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_restore_row_by_row),
        cmocka_unit_test(test_encrypted_backup),
        cmocka_unit_test(test_backup_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
