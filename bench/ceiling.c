/*
 * ceiling.c: the physical ceilings `make bench` sets nudge's figures
 * against (issue 16): how fast this machine's disk and engines take rows
 * when nothing but the insert is in the way. Not a test; it links
 * libsqlite3 and libpq directly, not libnudge.
 *
 *   build/bench/ceiling [-w WORK] [-n N] [-c CALLERS] [-D DIR] [-d PG_URL]
 *
 * WORK (default all but pg; pg needs -d):
 *   full    SQLite, WAL, synchronous=FULL: one row per transaction, one
 *           connection (SQLite has one writer, so more would only queue)
 *   normal  the same with synchronous=NORMAL (a commit can be lost on
 *           power loss: the WAL is synced only at checkpoints)
 *   txn     SQLite, synchronous=FULL, 1,000 rows per transaction
 *   pg      PostgreSQL at -d (durable as the server is set), CALLERS
 *           threads (default 16), each its own connection, one row per
 *           transaction (autocommit)
 *
 * The row is shaped like a queued notification (clinic, patient,
 * template, channel, status, due time, a 160-byte body). Files go in DIR
 * (default /tmp), which must be on the disk being measured, not tmpfs.
 * Prints one JSON line per workload: rows/s and, for single rows, the
 * p99 of one commit.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timing.h"

static const char BODY[] = "Your prescription is ready for collection at Bench Clinic. Please bring "
                           "this message and your ID. Reply STOP to opt out of these messages..";

static int g_n = 20000, g_callers = 16;
static const char *g_pg;
static double *g_lat;
static int g_next;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static void ceil_report(const char *work, const char *durability, double sec, int per_txn, double p99)
{
    printf("{\"bench\":\"ceiling\",\"workload\":\"%s\",\"durability\":\"%s\",\"rows\":%d,"
           "\"rows_per_txn\":%d,\"seconds\":%.3f,\"rows_per_s\":%.0f",
           work, durability, g_n, per_txn, sec, g_n / sec);
    if (p99 >= 0)
        printf(",\"p99_ms\":%.2f", p99);
    printf("}\n");
    fflush(stdout);
}

static void ceil_sqlite_die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "ceiling: %s: %s\n", what, sqlite3_errmsg(db));
    exit(2);
}

static void ceil_exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        ceil_sqlite_die(db, sql);
}

/* One SQLite workload on a fresh file: per_txn rows per transaction. */
static void ceil_sqlite(const char *dir, const char *work, const char *sync, int per_txn)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nudge-ceiling-%d-%s.db", dir, (int)getpid(), work);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        ceil_sqlite_die(db, path);
    char pragma[96];
    snprintf(pragma, sizeof pragma, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s", sync);
    ceil_exec(db, pragma);
    ceil_exec(db, "CREATE TABLE q (id INTEGER PRIMARY KEY, clinic_id INTEGER NOT NULL, "
                  "patient_id INTEGER NOT NULL, template TEXT NOT NULL, channel TEXT NOT NULL, "
                  "status TEXT NOT NULL, due_at INTEGER NOT NULL, body TEXT NOT NULL)");
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO q (clinic_id, patient_id, template, channel, status, "
                           "due_at, body) VALUES (1, ?, 'prescription_ready', 'sms', 'pending', "
                           "?, ?)",
                           -1, &ins, NULL) != SQLITE_OK)
        ceil_sqlite_die(db, "prepare");
    double *lat = per_txn == 1 ? calloc((size_t)g_n, sizeof *lat) : NULL;
    double t0 = bench_ms();
    for (int i = 0; i < g_n; i += per_txn) {
        double a = bench_ms();
        if (per_txn > 1)
            ceil_exec(db, "BEGIN");
        for (int k = i; k < i + per_txn && k < g_n; k++) {
            sqlite3_bind_int64(ins, 1, k % 5000 + 1);
            sqlite3_bind_int64(ins, 2, 1800000000 + k);
            sqlite3_bind_text(ins, 3, BODY, (int)sizeof BODY - 1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                ceil_sqlite_die(db, "insert");
            sqlite3_reset(ins);
        }
        if (per_txn > 1)
            ceil_exec(db, "COMMIT");
        if (lat)
            lat[i] = bench_ms() - a;
    }
    double sec = (bench_ms() - t0) / 1e3;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    char durability[64];
    snprintf(durability, sizeof durability, "SQLite synchronous=%s", sync);
    ceil_report(work, durability, sec, per_txn, lat ? bench_pct(lat, g_n, 99) : -1);
    free(lat);
    const char *ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[600];
        snprintf(f, sizeof f, "%s%s", path, ext[i]);
        unlink(f);
    }
}

static void ceil_pg_check(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        fprintf(stderr, "ceiling: %s: %s", what, PQerrorMessage(c));
        exit(2);
    }
    PQclear(r);
}

static PGconn *ceil_pg_connect(void)
{
    PGconn *c = PQconnectdb(g_pg);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ceiling: connect: %s", PQerrorMessage(c));
        exit(2);
    }
    return c;
}

static void *ceil_pg_caller(void *arg)
{
    (void)arg;
    PGconn *c = ceil_pg_connect();
    ceil_pg_check(c,
                  PQprepare(c, "ins",
                            "INSERT INTO ceiling_q (clinic_id, patient_id, template, channel, "
                            "status, due_at, body) VALUES (1, $1, 'prescription_ready', 'sms', "
                            "'pending', $2, $3)",
                            3, NULL),
                  "prepare");
    for (;;) {
        pthread_mutex_lock(&g_mu);
        int i = g_next++;
        pthread_mutex_unlock(&g_mu);
        if (i >= g_n)
            break;
        char patient[24], due[24];
        snprintf(patient, sizeof patient, "%d", i % 5000 + 1);
        snprintf(due, sizeof due, "%d", 1800000000 + i);
        const char *v[3] = {patient, due, BODY};
        double a = bench_ms();
        ceil_pg_check(c, PQexecPrepared(c, "ins", 3, v, NULL, NULL, 0), "insert");
        g_lat[i] = bench_ms() - a;
    }
    PQfinish(c);
    return NULL;
}

static void ceil_pg(void)
{
    PGconn *c = ceil_pg_connect();
    ceil_pg_check(c, PQexec(c, "DROP TABLE IF EXISTS ceiling_q"), "drop");
    ceil_pg_check(c,
                  PQexec(c, "CREATE TABLE ceiling_q (id BIGINT GENERATED BY DEFAULT AS IDENTITY "
                            "PRIMARY KEY, clinic_id BIGINT NOT NULL, patient_id BIGINT NOT NULL, "
                            "template TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, "
                            "due_at BIGINT NOT NULL, body TEXT NOT NULL)"),
                  "create");
    PGresult *r = PQexec(c, "SHOW synchronous_commit");
    char durability[64];
    snprintf(durability, sizeof durability, "PostgreSQL, synchronous_commit %s",
             PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    g_lat = calloc((size_t)g_n, sizeof *g_lat);
    g_next = 0;
    pthread_t *t = calloc((size_t)g_callers, sizeof *t);
    double t0 = bench_ms();
    for (int i = 0; i < g_callers; i++)
        pthread_create(&t[i], NULL, ceil_pg_caller, NULL);
    for (int i = 0; i < g_callers; i++)
        pthread_join(t[i], NULL);
    double sec = (bench_ms() - t0) / 1e3;
    ceil_report("pg", durability, sec, 1, bench_pct(g_lat, g_n, 99));
    ceil_pg_check(c, PQexec(c, "DROP TABLE ceiling_q"), "drop");
    PQfinish(c);
    free(t);
    free(g_lat);
}

int main(int argc, char **argv)
{
    const char *work = NULL, *dir = "/tmp";
    int o;
    while ((o = getopt(argc, argv, "w:n:c:D:d:")) != -1) {
        switch (o) {
        case 'w': work = optarg; break;
        case 'n': g_n = atoi(optarg); break;
        case 'c': g_callers = atoi(optarg); break;
        case 'D': dir = optarg; break;
        case 'd': g_pg = optarg; break;
        default:
            fprintf(stderr, "usage: ceiling [-w full|normal|txn|pg] [-n N] [-c CALLERS] "
                            "[-D DIR] [-d PG_URL]\n");
            return 2;
        }
    }
    if (g_n < 1 || g_callers < 1) {
        fprintf(stderr, "ceiling: -n and -c must be positive\n");
        return 2;
    }
    static const struct {
        const char *work, *sync;
        int per_txn;
    } sqlite_works[] = {{"full", "FULL", 1}, {"normal", "NORMAL", 1}, {"txn", "FULL", 1000}};
    int ran = 0;
    for (size_t i = 0; i < sizeof sqlite_works / sizeof *sqlite_works; i++)
        if (!work || !strcmp(work, sqlite_works[i].work)) {
            ceil_sqlite(dir, sqlite_works[i].work, sqlite_works[i].sync, sqlite_works[i].per_txn);
            ran++;
        }
    if ((!work && g_pg) || (work && !strcmp(work, "pg"))) {
        if (!g_pg) {
            fprintf(stderr, "ceiling: -w pg needs -d postgres://...\n");
            return 2;
        }
        ceil_pg();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "ceiling: no workload named %s\n", work);
        return 2;
    }
    return 0;
}
