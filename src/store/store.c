/*
 * store.c: the engine-independent half of the store: typed binds from a
 * format string, row helpers, nestable transactions and migrations. Each
 * backend (sqlite.c, later pg.c) supplies only struct store_ops.
 */
#include "store/store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int store_open(const char *url, store **out, nudge_err *err)
{
    if (!url || !*url)
        return err_set(err, NUDGE_EINVAL, "db", "no database given");
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return err_set(err, NUDGE_EINVAL, "db",
                       "PostgreSQL is not supported by this build yet; use a SQLite path");
    if (strncmp(url, "sqlite:", 7) == 0)
        url += 7;
    return store_sqlite_open(url, out, err);
}

void store_close(store *s)
{
    if (s)
        s->ops->close(s);
}

const char *store_engine(store *s)
{
    return s->ops->engine;
}

static int store_fail(store *s, nudge_err *err)
{
    return err_set(err, s->ops->is_constraint(s) ? NUDGE_ECONFLICT : NUDGE_ESTORE, "",
                   "database: %s", s->ops->errmsg(s));
}

static int store_bindv(store *s, store_stmt *st, const char *types, va_list ap, nudge_err *err)
{
    int rc = 0;
    for (int i = 0; types && types[i] && rc == 0; i++) {
        int idx = i + 1;
        switch (types[i]) {
        case 'i': rc = s->ops->bind_int(st, idx, va_arg(ap, int64_t)); break;
        case 'd': rc = s->ops->bind_int(st, idx, va_arg(ap, int)); break;
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            rc = v ? s->ops->bind_int(st, idx, v) : s->ops->bind_null(st, idx);
            break;
        }
        case 's':
        case 'z': {
            const char *v = va_arg(ap, const char *);
            if (!v || (types[i] == 'z' && !*v))
                rc = s->ops->bind_null(st, idx);
            else
                rc = s->ops->bind_text(st, idx, v);
            break;
        }
        default:
            return err_set(err, NUDGE_ESTORE, "", "store: bad bind type '%c'", types[i]);
        }
    }
    if (rc)
        return store_fail(s, err);
    return 0;
}

/* The statement remembers its store so row helpers need only the stmt. */
struct stmt_head {
    store *s;
};

static int store_preparev(store *s, store_stmt **out, nudge_err *err, const char *sql,
                          const char *types, va_list ap)
{
    store_stmt *st;
    if (s->ops->prepare(s, sql, &st))
        return store_fail(s, err);
    if (store_bindv(s, st, types, ap, err)) {
        s->ops->finalize(st);
        return -1;
    }
    *out = st;
    return 0;
}

/* Backends put `store *` first in their stmt struct. */
static store *stmt_store(store_stmt *st)
{
    return ((struct stmt_head *)st)->s;
}

int store_exec(store *s, nudge_err *err, const char *sql, const char *types, ...)
{
    store_stmt *st;
    va_list ap;
    va_start(ap, types);
    int rc = store_preparev(s, &st, err, sql, types, ap);
    va_end(ap);
    if (rc)
        return -1;
    int r;
    while ((r = s->ops->step(st)) == 1)
        ;
    if (r < 0) {
        store_fail(s, err);
        s->ops->finalize(st);
        return -1;
    }
    s->ops->finalize(st);
    return 0;
}

int store_query(store *s, store_stmt **out, nudge_err *err, const char *sql, const char *types,
                ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = store_preparev(s, out, err, sql, types, ap);
    va_end(ap);
    return rc;
}

int store_next(store_stmt *st, nudge_err *err)
{
    store *s = stmt_store(st);
    int r = s->ops->step(st);
    if (r < 0)
        return store_fail(s, err);
    return r;
}

void store_done(store_stmt *st)
{
    if (st)
        stmt_store(st)->ops->finalize(st);
}

int64_t store_int(store_stmt *st, int col)
{
    return stmt_store(st)->ops->column_int(st, col);
}

const char *store_text(store_stmt *st, int col)
{
    const char *t = stmt_store(st)->ops->column_text(st, col);
    return t ? t : "";
}

int store_null(store_stmt *st, int col)
{
    return stmt_store(st)->ops->column_null(st, col);
}

void store_copy(store_stmt *st, int col, char *dst, size_t n)
{
    const char *t = store_text(st, col);
    size_t l = strlen(t);
    if (l >= n)
        l = n - 1;
    memcpy(dst, t, l);
    dst[l] = 0;
}

char *store_dup(store_stmt *st, int col)
{
    return store_null(st, col) ? NULL : str_dup(store_text(st, col));
}

int store_scalar(store *s, int64_t *out, nudge_err *err, const char *sql, const char *types, ...)
{
    store_stmt *st;
    va_list ap;
    va_start(ap, types);
    int rc = store_preparev(s, &st, err, sql, types, ap);
    va_end(ap);
    if (rc)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        *out = store_int(st, 0);
    store_done(st);
    return r;
}

int64_t store_changes(store *s)
{
    return s->ops->changes(s);
}

int store_is_constraint(store *s)
{
    return s->ops->is_constraint(s);
}

int store_begin(store *s, nudge_err *err)
{
    if (s->tx_depth == 0) {
        /* IMMEDIATE takes the write lock up front, so two processes never
         * both read then deadlock upgrading to write. */
        const char *sql = strcmp(s->ops->engine, "sqlite") == 0 ? "BEGIN IMMEDIATE" : "BEGIN";
        if (s->ops->exec_script(s, sql))
            return store_fail(s, err);
        s->tx_failed = 0;
    }
    s->tx_depth++;
    return 0;
}

int store_commit(store *s, nudge_err *err)
{
    if (s->tx_depth <= 0)
        return err_set(err, NUDGE_ESTORE, "", "store: commit without begin");
    if (--s->tx_depth > 0)
        return 0;
    if (s->tx_failed) {
        s->ops->exec_script(s, "ROLLBACK");
        return err_set(err, NUDGE_ESTORE, "", "store: transaction was rolled back");
    }
    if (s->ops->exec_script(s, "COMMIT")) {
        int rc = store_fail(s, err);
        s->ops->exec_script(s, "ROLLBACK");
        return rc;
    }
    return 0;
}

void store_rollback(store *s)
{
    if (s->tx_depth <= 0)
        return;
    if (--s->tx_depth > 0) {
        s->tx_failed = 1;
        return;
    }
    s->ops->exec_script(s, "ROLLBACK");
}

int store_schema_version(store *s, int *version, nudge_err *err)
{
    int64_t v = 0;
    int r = store_scalar(s, &v, err, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                         "");
    if (r < 0)
        return -1;
    *version = (int)v;
    return 0;
}

int store_migrate(store *s, int64_t now, int *applied, nudge_err *err)
{
    const struct migration *m = store_migrations_sqlite;
    int n = 0;
    if (store_exec(s, err,
                   "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                   ""))
        return -1;
    for (; m->sql; m++) {
        if (store_begin(s, err))
            return -1;
        int64_t have = 0;
        int r = store_scalar(s, &have, err, "SELECT 1 FROM schema_migrations WHERE version = ?",
                             "d", m->version);
        if (r == 0) {
            if (s->ops->exec_script(s, m->sql)) {
                err_set(err, NUDGE_ESTORE, "", "migration %s: %s", m->name, s->ops->errmsg(s));
                store_rollback(s);
                return -1;
            }
            if (store_exec(s, err,
                           "INSERT INTO schema_migrations (version, name, applied_at) "
                           "VALUES (?, ?, ?)",
                           "dsi", m->version, m->name, now)) {
                store_rollback(s);
                return -1;
            }
            n++;
        } else if (r < 0) {
            store_rollback(s);
            return -1;
        }
        if (store_commit(s, err))
            return -1;
    }
    if (applied)
        *applied = n;
    return 0;
}
