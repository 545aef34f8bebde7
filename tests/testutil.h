/*
 * testutil.h: what every cmocka test shares: a scratch directory, a nudge
 * handle on a fresh SQLite file driven by a fake clock, and time literals.
 */
#ifndef NUDGE_TESTUTIL_H
#define NUDGE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nudge.h"

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
    snprintf(e->db, sizeof e->db, "%s/n.db", e->dir);
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
