/*
 * testutil.h: what every cmocka test shares: a scratch directory, a fresh
 * database per test (a SQLite file, or a new PostgreSQL database when
 * NUDGE_TEST_PG names a server: tests/run.sh runs each store-touching
 * binary once per engine), a nudge handle on it driven by a fake clock,
 * time literals, and the plan of a statement.
 */
#ifndef NUDGE_TESTUTIL_H
#define NUDGE_TESTUTIL_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "nudge.h"
#include "store/store.h"

/* A peer that hangs up (a fake, or a server answering early) is an error
 * the test reports (EPIPE), not a silent death by SIGPIPE. */
__attribute__((constructor)) static void tu_no_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* Creates a fresh temporary directory; path in buf (>= 64 bytes). */
static inline void tu_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/nudge-test-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static inline void tu_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* The engine under test: NUDGE_TEST_PG holds an admin URL of a throwaway
 * server (tests/pgcluster.sh) or is unset for SQLite. */
static inline const char *tu_pg_admin(void)
{
    const char *u = getenv("NUDGE_TEST_PG");
    return u && *u ? u : NULL;
}

static inline void tu_pg_admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(tu_pg_admin());
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("NUDGE_TEST_PG: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* A fresh database for one test, its URL (or path) in db[n]: dir/n.db on
 * SQLite; on PostgreSQL a new database nudge_t_<random>, dropped by
 * tu_db_drop. */
static inline void tu_db_from(const char *dir, char *db, size_t n, const char *tpl)
{
    const char *admin = tu_pg_admin();
    if (!admin) {
        snprintf(db, n, "%s/n.db", dir);
        return;
    }
    unsigned rnd = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&rnd, sizeof rnd, 1, f) != 1)
        fail_msg("no random bytes for a database name");
    fclose(f);
    char name[32], sql[160];
    snprintf(name, sizeof name, "nudge_t_%08x", rnd);
    if (tpl && *tpl)
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %.40s", name, tpl);
    else
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    tu_pg_admin_exec(sql);
    const char *slash = strrchr(admin, '/');
    snprintf(db, n, "%.*s/%s", (int)(slash - admin), admin, name);
}

/* An empty database (a test of migrations opens it bare). */
static inline void tu_db(const char *dir, char *db, size_t n)
{
    tu_db_from(dir, db, n, NULL);
}

/* A database nudge_open will find migrated: on PostgreSQL a copy of the
 * run's migrated template when there is one (tests/run.sh), 0.8 s where
 * a new database and its migrations took 2.5 s on a busy machine. */
static inline void tu_db_migrated(const char *dir, char *db, size_t n)
{
    tu_db_from(dir, db, n, getenv("NUDGE_TEST_PG_TEMPLATE"));
}

static inline void tu_db_drop(const char *db)
{
    if (!tu_pg_admin() || strncmp(db, "postgres", 8) != 0)
        return;
    char sql[96];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", strrchr(db, '/') + 1);
    tu_pg_admin_exec(sql);
}

/* A nudge on a new database in dir, fake clock at t, outbox in dir/out. */
typedef struct tu_env {
    char dir[128];
    char db[192];
    char outbox[192];
    nudge_clock clock;
    nudge *n;
} tu_env;

static inline void tu_open(tu_env *e, int64_t t)
{
    memset(e, 0, sizeof *e);
    tu_tmpdir(e->dir, sizeof e->dir);
    tu_db_migrated(e->dir, e->db, sizeof e->db);
    snprintf(e->outbox, sizeof e->outbox, "%s/out", e->dir);
    nudge_clock_fake(&e->clock, t);
    nudge_config cfg = {.db = e->db, .outbox_dir = e->outbox, .clock = &e->clock};
    nudge_err err = {0};
    if (nudge_open(&cfg, &e->n, &err) < 0)
        fail_msg("nudge_open: %s", err.msg);
}

static inline void tu_close(tu_env *e)
{
    nudge_close(e->n);
    tu_db_drop(e->db);
    tu_rmrf(e->dir);
}

/* Counts files in dir whose name ends with suffix. */
#include <dirent.h>
static inline int tu_count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int c = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l >= sl && strcmp(de->d_name + l - sl, suffix) == 0)
            c++;
    }
    closedir(d);
    return c;
}

/* Reads a whole file into a new string (caller frees), NULL if absent. */
static inline char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1);
    size_t r = fread(b, 1, (size_t)l, f);
    b[r] = 0;
    fclose(f);
    return b;
}

/* The plan of one statement, its lines joined into plan[size]: EXPLAIN
 * (COSTS OFF) on PostgreSQL, EXPLAIN QUERY PLAN's detail column on SQLite.
 * The plan tests look for an index or a node by name; costs would only
 * make the text vary from run to run. */
static inline void tu_plan(store *db, const char *sql, const store_val *v, int nv, char *plan,
                           size_t size)
{
    int pg = !strcmp(store_engine(db), "postgresql");
    const char *pre = pg ? "EXPLAIN (COSTS OFF) " : "EXPLAIN QUERY PLAN ";
    size_t ql = strlen(pre) + strlen(sql) + 1;
    char *q = malloc(ql);
    assert_non_null(q);
    snprintf(q, ql, "%s%s", pre, sql);
    store_stmt *st;
    nudge_err e = {0};
    if (store_query_v(db, &st, &e, q, v, nv) < 0)
        fail_msg("explain: %s", e.msg);
    free(q);
    size_t len = 0;
    int rc;
    plan[0] = 0;
    while ((rc = store_next(st, &e)) == 1 && len < size)
        len += (size_t)snprintf(plan + len, size - len, "%s\n", store_text(st, pg ? 0 : 3));
    store_done(st);
    if (rc < 0)
        fail_msg("explain: %s", e.msg);
}

/* 2026-12-01T10:00:00+05:30 and friends, for readable tests. */
#define TU_T(y, mo, d, h, mi) tu_utc((y), (mo), (d), (h), (mi))
static inline int64_t tu_utc(int y, int mo, int d, int h, int mi)
{
    /* days from civil, Howard Hinnant's algorithm */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60;
}

#endif
