/*
 * storecopy.c: moving a whole store to another engine (`nudge
 * migrate-store`), and the per-table counts and checksums that prove the
 * copy. It is the one exception to table ownership
 * (scripts/check-owners.py): it reads and writes every table, but as rows
 * of columns, never as the domain's records, so it names no table in its
 * SQL; the tables, their columns and their foreign keys come from each
 * engine's catalog (the one place this file speaks a dialect: copy_dialects
 * below). A table added by a migration is therefore copied without a change
 * here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/store.h"
#include "util.h"

/* What each engine's catalog is asked. Identifiers come back from these
 * queries and are checked to be plain names before being quoted into SQL
 * (a table's name cannot be a bound value). */
static const struct copy_dialect {
    const char *engine;
    const char *tables;  /* the base tables, one name per row */
    const char *columns; /* ? = table: name, declared type, in order */
    const char *parents; /* ? = table: the tables its foreign keys name */
    /* After a table's rows: move its id generator past them ("%s" is the
     * table); NULL where the engine takes the next id from the rows. */
    const char *reseed;
    /* How the source is read as of one moment, without taking the write
     * lock a nudge transaction takes (source and target may share one
     * PostgreSQL database). */
    const char *snapshot;
} copy_dialects[] = {
    {"sqlite",
     /* Tables proper: not an FTS5 index (virtual) nor its shadow tables,
      * which the target's own triggers fill. */
     "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND "
     "name NOT LIKE 'sqlite%' ORDER BY name",
     "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
     "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", NULL, "BEGIN"},
    {"postgresql",
     "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
     "AND table_type = 'BASE TABLE' ORDER BY table_name",
     "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
     "current_schema() AND table_name = ? ORDER BY ordinal_position",
     "SELECT DISTINCT p.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
     "JOIN pg_class p ON p.oid = c.confrelid WHERE c.contype = 'f' AND t.relname = ? "
     "AND t.relnamespace = current_schema()::regnamespace",
     "SELECT setval(pg_get_serial_sequence('%s', 'id'), MAX(id)) FROM \"%s\" "
     "HAVING MAX(id) IS NOT NULL",
     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
};

/* The migrations' own record: made by store_migrate on each side and
 * compared as a version, not copied. */
#define COPY_SKIP "schema_migrations"
#define COPY_MAX_COLS 64

struct copy_table {
    char name[64];
    int ncols, has_id;
    char col[COPY_MAX_COLS][64];
    int is_int[COPY_MAX_COLS];
    char parent[16][64];
    int nparents, done;
};

struct copy_side {
    store *s;
    const struct copy_dialect *d;
};

static int copy_dialect_of(struct copy_side *side, nudge_err *err)
{
    for (size_t i = 0; i < sizeof copy_dialects / sizeof copy_dialects[0]; i++)
        if (!strcmp(copy_dialects[i].engine, store_engine(side->s))) {
            side->d = &copy_dialects[i];
            return 0;
        }
    return err_set(err, NUDGE_EINVAL, "db", "cannot copy a %s store", store_engine(side->s));
}

/* Lowercase letters, digits and '_': safe to quote into SQL. */
static int copy_plain(const char *name)
{
    if (!*name || strlen(name) >= 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

/* The names a catalog query gives (column 0), into names[max]. */
static int copy_names(store *s, const char *sql, const char *arg, char (*names)[64], int max,
                      int *n, nudge_err *err)
{
    store_stmt *st;
    store_val v = bind_text(arg);
    if (store_query_v(s, &st, err, sql, &v, arg ? 1 : 0) < 0)
        return -1;
    int rc;
    *n = 0;
    while ((rc = store_next(st, err)) == 1) {
        const char *name = store_text(st, 0);
        if (!copy_plain(name) || *n == max) {
            store_done(st);
            return err_set(err, NUDGE_ESTORE, "", "store copy: cannot handle table or column \"%.60s\"",
                           name);
        }
        snprintf(names[(*n)++], 64, "%s", name);
    }
    store_done(st);
    return rc;
}

static int copy_describe(struct copy_side *side, struct copy_table *t, nudge_err *err)
{
    store_stmt *st;
    store_val v = bind_text(t->name);
    if (store_query_v(side->s, &st, err, side->d->columns, &v, 1) < 0)
        return -1;
    int rc;
    t->ncols = 0;
    while ((rc = store_next(st, err)) == 1) {
        const char *name = store_text(st, 0), *type = store_text(st, 1);
        if (!copy_plain(name) || t->ncols == COPY_MAX_COLS) {
            store_done(st);
            return err_set(err, NUDGE_ESTORE, "", "store copy: cannot handle column %s.%.60s",
                           t->name, name);
        }
        snprintf(t->col[t->ncols], 64, "%s", name);
        /* INTEGER, BIGINT, ...: bound as numbers, which PostgreSQL
         * requires of its BIGINT columns. */
        t->is_int[t->ncols] = strstr(type, "INT") || strstr(type, "int");
        t->has_id |= !strcmp(name, "id");
        t->ncols++;
    }
    store_done(st);
    if (rc < 0)
        return -1;
    return copy_names(side->s, side->d->parents, t->name, t->parent, 16, &t->nparents, err);
}

/* The column list "a", "b", ... of a table into buf. */
static void copy_cols(const struct copy_table *t, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < t->ncols && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s\"%s\"", i ? ", " : "", t->col[i]);
}

/* A table's rows, in id order where it has one (a self-reference, as a
 * fallback message to its first attempt, points at a smaller id). */
static int copy_select(store *s, const struct copy_table *t, store_stmt **st, nudge_err *err)
{
    char cols[COPY_MAX_COLS * 68], sql[sizeof cols + 200];
    copy_cols(t, cols, sizeof cols);
    snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\"%s", cols, t->name,
             t->has_id ? " ORDER BY id" : "");
    return store_query_v(s, st, err, sql, NULL, 0);
}

/* ---- checksums ---- */

struct copy_sum {
    int64_t rows;
    unsigned char acc[32]; /* little-endian sum of the rows' digests */
};

static void copy_sum_row(struct copy_sum *cs, store_stmt *st, int ncols)
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, sha256_md(), NULL);
    for (int i = 0; i < ncols; i++) {
        /* A tag and a length per column: NULL is not '', and no two rows
         * of different columns run together into the same bytes. */
        if (store_null(st, i)) {
            EVP_DigestUpdate(c, "N", 1);
            continue;
        }
        const char *v = store_text(st, i);
        char head[24];
        int hl = snprintf(head, sizeof head, "V%zu:", strlen(v));
        EVP_DigestUpdate(c, head, (size_t)hl);
        EVP_DigestUpdate(c, v, strlen(v));
    }
    EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += (unsigned)cs->acc[i] + md[i];
        cs->acc[i] = (unsigned char)carry;
        carry >>= 8;
    }
    cs->rows++;
}

static void copy_sum_hex(const struct copy_sum *cs, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    char count[24];
    int cl = snprintf(count, sizeof count, "%lld:", (long long)cs->rows);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, sha256_md(), NULL);
    EVP_DigestUpdate(c, count, (size_t)cl);
    EVP_DigestUpdate(c, cs->acc, sizeof cs->acc);
    EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    hex_lower(md, 32, out);
}

/* Counts and checksums one table as `s` sees it now. */
static int copy_checksum(store *s, const struct copy_table *t, int64_t *rows, char hex[65],
                         nudge_err *err)
{
    store_stmt *st;
    struct copy_sum cs = {0};
    if (copy_select(s, t, &st, err) < 0)
        return -1;
    int rc;
    while ((rc = store_next(st, err)) == 1)
        copy_sum_row(&cs, st, t->ncols);
    store_done(st);
    if (rc < 0)
        return -1;
    *rows = cs.rows;
    copy_sum_hex(&cs, hex);
    return 0;
}

/* ---- the copy ---- */

static int copy_rows(struct copy_side *from, struct copy_side *to, const struct copy_table *t,
                     nudge_err *err)
{
    char cols[COPY_MAX_COLS * 68], sql[sizeof cols + 400], marks[COPY_MAX_COLS * 3] = "";
    copy_cols(t, cols, sizeof cols);
    for (int i = 0; i < t->ncols; i++)
        strcat(marks, i ? ", ?" : "?");
    snprintf(sql, sizeof sql, "INSERT INTO \"%s\" (%s) VALUES (%s)", t->name, cols, marks);
    store_stmt *st;
    if (copy_select(from->s, t, &st, err) < 0)
        return -1;
    int rc;
    store_val v[COPY_MAX_COLS];
    while ((rc = store_next(st, err)) == 1) {
        for (int i = 0; i < t->ncols; i++) {
            if (store_null(st, i))
                v[i] = (store_val){.type = STORE_NULL, .null_int = t->is_int[i]};
            else if (t->is_int[i])
                v[i] = bind_int(store_int(st, i));
            else
                v[i] = bind_text(store_text(st, i));
        }
        if (store_exec_v(to->s, err, sql, v, t->ncols) < 0) {
            rc = -1;
            break;
        }
    }
    store_done(st);
    if (rc < 0 || !to->d->reseed || !t->has_id)
        return rc;
    snprintf(sql, sizeof sql, to->d->reseed, t->name, t->name);
    if (store_query_v(to->s, &st, err, sql, NULL, 0) < 0)
        return -1;
    while ((rc = store_next(st, err)) == 1)
        ;
    store_done(st);
    return rc;
}

/* The source's tables in foreign-key order: each after every table it
 * references (a self-reference aside). */
static int copy_plan(struct copy_side *from, struct copy_side *to, struct copy_table *tabs,
                     int *ntabs, int order[], nudge_err *err)
{
    char names[NUDGE_COPY_MAX_TABLES][64], there[NUDGE_COPY_MAX_TABLES][64];
    int n, nthere;
    if (copy_names(from->s, from->d->tables, NULL, names, NUDGE_COPY_MAX_TABLES, &n, err) < 0 ||
        copy_names(to->s, to->d->tables, NULL, there, NUDGE_COPY_MAX_TABLES, &nthere, err) < 0)
        return -1;
    *ntabs = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], COPY_SKIP))
            continue;
        int found = 0;
        for (int j = 0; j < nthere; j++)
            found |= !strcmp(names[i], there[j]);
        if (!found)
            return err_set(err, NUDGE_ECONFLICT, "to", "the target has no table %s", names[i]);
        struct copy_table *t = &tabs[(*ntabs)++];
        memset(t, 0, sizeof *t);
        str_copy(t->name, sizeof t->name, names[i]);
        if (copy_describe(from, t, err) < 0)
            return -1;
        struct copy_table other = {0};
        str_copy(other.name, sizeof other.name, names[i]);
        if (copy_describe(to, &other, err) < 0)
            return -1;
        for (int c = 0; c < t->ncols; c++) {
            int has = 0;
            for (int k = 0; k < other.ncols; k++)
                has |= !strcmp(t->col[c], other.col[k]);
            if (!has)
                return err_set(err, NUDGE_ECONFLICT, "to", "the target's table %s has no column %s",
                               t->name, t->col[c]);
        }
    }
    for (int placed = 0; placed < *ntabs; placed++) {
        int pick = -1;
        for (int i = 0; i < *ntabs && pick < 0; i++) {
            if (tabs[i].done)
                continue;
            int ready = 1;
            for (int p = 0; p < tabs[i].nparents; p++)
                for (int j = 0; j < *ntabs; j++)
                    if (j != i && !tabs[j].done && !strcmp(tabs[j].name, tabs[i].parent[p]))
                        ready = 0;
            if (ready)
                pick = i;
        }
        if (pick < 0)
            return err_set(err, NUDGE_ESTORE, "", "store copy: the foreign keys form a cycle");
        tabs[pick].done = 1;
        order[placed] = pick;
    }
    return 0;
}

/* Open both, migrate the target, compare versions, refuse a non-empty
 * target. */
static int copy_open(const char *from, const char *to, int64_t now, struct copy_side *src,
                     struct copy_side *dst, int *version, nudge_err *err)
{
    int applied, vs = 0;
    /* A SQLite path that is not there would be created empty. */
    const char *path = strncmp(from, "sqlite:", 7) ? from : from + 7;
    if (strncmp(from, "postgres", 8) && access(path, F_OK))
        return err_set(err, NUDGE_EINVAL, "from", "no database at %s", path);
    if (store_open(from, &src->s, err) < 0) {
        snprintf(err->field, sizeof err->field, "from");
        return -1;
    }
    if (store_open(to, &dst->s, err) < 0)
        return -1;
    if (copy_dialect_of(src, err) < 0 || copy_dialect_of(dst, err) < 0)
        return -1;
    if (store_schema_version(src->s, &vs, err) < 0)
        return err_set(err, NUDGE_ECONFLICT, "from", "the source has no nudge schema");
    if (store_migrate(dst->s, now, &applied, err) < 0 ||
        store_schema_version(dst->s, version, err) < 0)
        return -1;
    if (vs != *version)
        return err_set(err, NUDGE_ECONFLICT, "from",
                       "the source's schema is version %d and this build's %d: run `nudge --db "
                       "SOURCE migrate` with this build first",
                       vs, *version);
    return 0;
}

static int copy_empty(store *s, const struct copy_table *tabs, int n, nudge_err *err)
{
    for (int i = 0; i < n; i++) {
        char sql[128];
        int64_t rows = 0;
        store_stmt *st;
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM \"%s\"", tabs[i].name);
        if (store_query_v(s, &st, err, sql, NULL, 0) < 0)
            return -1;
        if (store_next(st, err) == 1)
            rows = store_int(st, 0);
        store_done(st);
        if (rows)
            return err_set(err, NUDGE_ECONFLICT, "to",
                           "the target is not empty (table %s has %lld rows); migrate-store "
                           "copies only into an empty store",
                           tabs[i].name, (long long)rows);
    }
    return 0;
}

int nudge_store_copy(const char *from, const char *to, int64_t now, nudge_copy_report *out,
                     nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    struct copy_side src = {0}, dst = {0};
    struct copy_table *tabs = calloc(NUDGE_COPY_MAX_TABLES, sizeof *tabs); /* ~300 KiB */
    int order[NUDGE_COPY_MAX_TABLES], n = 0, rc = -1, mismatch = 0;
    if (!tabs) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto done;
    }
    if (copy_open(from, to, now, &src, &dst, &out->schema_version, err) < 0)
        goto done;
    /* One transaction on each side: the source read as of one moment, the
     * target all or nothing. */
    if (src.s->ops->exec_script(src.s, src.d->snapshot)) {
        err_set(err, NUDGE_ESTORE, "from", "database: %s", src.s->ops->errmsg(src.s));
        goto done;
    }
    if (store_begin(dst.s, err) < 0)
        goto rollback_src;
    if (copy_plan(&src, &dst, tabs, &n, order, err) < 0 || copy_empty(dst.s, tabs, n, err) < 0)
        goto rollback;
    for (int i = 0; i < n; i++)
        if (copy_rows(&src, &dst, &tabs[order[i]], err) < 0)
            goto rollback;
    for (int i = 0; i < n; i++) {
        nudge_copy_table *r = &out->tables[out->ntables++];
        snprintf(r->name, sizeof r->name, "%s", tabs[order[i]].name);
        if (copy_checksum(src.s, &tabs[order[i]], &r->rows_from, r->sum_from, err) < 0 ||
            copy_checksum(dst.s, &tabs[order[i]], &r->rows_to, r->sum_to, err) < 0)
            goto rollback;
        if (r->rows_from != r->rows_to || strcmp(r->sum_from, r->sum_to))
            mismatch++;
    }
    if (mismatch) {
        err_set(err, NUDGE_ESTORE, "", "%d table(s) differ after the copy; nothing was committed",
                mismatch);
        goto rollback;
    }
    rc = store_commit(dst.s, err);
    goto rollback_src;
rollback:
    store_rollback(dst.s);
rollback_src:
    src.s->ops->exec_script(src.s, "ROLLBACK");
done:
    free(tabs);
    store_close(src.s);
    store_close(dst.s);
    return rc;
}
