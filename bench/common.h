/*
 * common.h: what the library benchmarks (bench/queue.c, burn.c, steady.c)
 * set up and print alike: the one clinic they all work in (no quiet
 * hours, a rate no run reaches, patients of equal length), the
 * durability their JSON line names, and the scratch file they remove.
 * The no-op channel benchmarks (burn.c, steady.c) start from bench_setup.
 * Beside timing.h (the clock and percentiles), which it includes; header
 * only, like it: each benchmark is one C file.
 */
#ifndef NUDGE_BENCH_COMMON_H
#define NUDGE_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nudge.h"
#include "store/store.h"
#include "timing.h"

/* Prints "prog: what: message / field" and exits 2. */
static inline void bench_die(const char *prog, const char *what, const nudge_err *e)
{
    fprintf(stderr, "%s: %s: %s%s%s\n", prog, what, e ? e->msg : "",
            e && e->field[0] ? " / " : "", e ? e->field : "");
    exit(2);
}

/* The benchmarks' clinic: no quiet hours (quiet_start == quiet_end), a
 * rate of 1,000,000 a minute, UTC, India; npatients patients whose names
 * and numbers all have the same length, their ids into patients. The
 * clinic's id, or -1 (e says why). */
static inline int64_t bench_clinic(nudge *n, int npatients, int64_t *patients, nudge_err *e)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    c.quiet_start = c.quiet_end = 0;
    c.rate_per_minute = 1000000;
    snprintf(c.name, sizeof c.name, "Bench Clinic");
    snprintf(c.timezone, sizeof c.timezone, "UTC");
    snprintf(c.country, sizeof c.country, "IN");
    if (nudge_clinic_add(n, &c, e) < 0)
        return -1;
    for (int i = 0; i < npatients; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = c.id;
        snprintf(p.name, sizeof p.name, "Patient %06d", i);
        snprintf(p.phone, sizeof p.phone, "+9198%08d", i);
        if (nudge_patient_add(n, &p, e) < 0)
            return -1;
        patients[i] = p.id;
    }
    return c.id;
}

/* What an acknowledged write survives on the store a URL names. */
static inline const char *bench_durability(const char *db)
{
    return strstr(db, "postgres")              ? "PostgreSQL, synchronous_commit on"
           : strstr(db, "synchronous=normal") ? "SQLite synchronous=NORMAL"
                                              : "SQLite synchronous=FULL";
}

/* The WAL's fsyncs a job between two counts of sqlite_wal_syncs (a
 * commit's under synchronous=FULL, a checkpoint's), as JSON: what a
 * durable job waited on, the disk's share of its time (null on
 * PostgreSQL, whose syncs are the server's). */
static inline const char *bench_syncs(char *out, size_t size, const char *db, long syncs,
                                      long jobs)
{
    if (strstr(db, "postgres") || jobs < 1)
        snprintf(out, size, "null");
    else
        snprintf(out, size, "%.4f", (double)syncs / (double)jobs);
    return out;
}

/* The database a benchmark runs on: db (-d), else a scratch SQLite file
 * in /tmp named for the benchmark and this process (into path; removed
 * at the end with bench_scratch_remove). */
static inline const char *bench_db(const char *db, char *path, size_t size, const char *name)
{
    if (db)
        return db;
    snprintf(path, size, "/tmp/nudge-%s-%d.db", name, (int)getpid());
    return path;
}

/* A handle on cfg (outbox in /tmp unless set); with ops, that channel
 * registered as "noop". Exits on failure. */
static inline nudge *bench_open(const char *prog, nudge_config cfg, const nudge_channel_ops *ops)
{
    nudge *n;
    nudge_err e = {0};
    if (!cfg.outbox_dir)
        cfg.outbox_dir = "/tmp/nudge-bench-outbox";
    if (nudge_open(&cfg, &n, &e) < 0)
        bench_die(prog, "open", &e);
    if (ops && nudge_channel_register(n, "noop", ops, NULL, &e) < 0)
        bench_die(prog, "register", &e);
    return n;
}

/* bench_clinic with its SMS carried by the "noop" channel. Exits on
 * failure. */
static inline int64_t bench_noop_clinic(const char *prog, nudge *n, int npatients,
                                        int64_t *patients)
{
    nudge_err e = {0};
    int64_t c = bench_clinic(n, npatients, patients, &e);
    if (c < 0)
        bench_die(prog, "clinic", &e);
    if (nudge_clinic_channel_set(n, c, "sms", "noop", &e) < 0)
        bench_die(prog, "map", &e);
    return c;
}

static inline void bench_scratch_remove(const char *path)
{
    static const char *const ext[] = {"", "-wal", "-shm"};
    char f[4200];
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s%s", path, ext[i]);
        unlink(f);
    }
}

/* Prints the usage line and exits 2: a bad option, or a count below 1. */
static inline void bench_usage(const char *prog, const char *usage)
{
    fprintf(stderr, "usage: %s %s\n", prog, usage);
    exit(2);
}

/* What the no-op channel benchmarks (burn.c, steady.c) start from: their
 * database (-d, else a scratch file), a handle on cfg with ops registered
 * as "noop", the benchmarks' clinic with its SMS carried by it, and
 * BENCH_PATIENTS patients. bench_handle opens another handle alike (a
 * worker's); bench_teardown closes the first and removes the scratch
 * file. */
enum { BENCH_PATIENTS = 100 };
typedef struct bench_env {
    const char *prog, *db;
    char path[128]; /* the scratch file; "" when -d named the database */
    nudge_config cfg;
    const nudge_channel_ops *ops;
    nudge *n;
    int64_t clinic, patients[BENCH_PATIENTS];
} bench_env;

static inline nudge *bench_handle(const bench_env *b)
{
    return bench_open(b->prog, b->cfg, b->ops);
}

static inline void bench_setup(bench_env *b, const char *prog, const char *db, nudge_config cfg,
                               const nudge_channel_ops *ops)
{
    b->prog = prog;
    b->path[0] = 0;
    b->db = bench_db(db, b->path, sizeof b->path, prog);
    b->cfg = cfg;
    b->cfg.db = b->db;
    b->ops = ops;
    b->n = bench_handle(b);
    b->clinic = bench_noop_clinic(prog, b->n, BENCH_PATIENTS, b->patients);
}

static inline void bench_teardown(bench_env *b)
{
    nudge_close(b->n);
    if (b->path[0])
        bench_scratch_remove(b->path);
}

#endif
