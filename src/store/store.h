/*
 * store.h: the storage interface. One struct of function pointers per
 * backend (SQLite now, PostgreSQL next), and on top of it a thin typed layer
 * every domain module uses: store_exec / store_query with a format string of
 * bind types, row iteration, and nestable transactions.
 *
 * Domain code writes portable SQL with `?` placeholders; a backend that wants
 * `$1` rewrites them. Times are INTEGER seconds UTC, ids INTEGER, booleans
 * 0/1, so one schema shape serves both engines. The few statements that
 * must differ per engine (claiming a batch) ask store_engine().
 */
#ifndef NUDGE_STORE_H
#define NUDGE_STORE_H

#include <stdint.h>

#include "nudge.h"

typedef struct store store;
typedef struct store_stmt store_stmt;

struct migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct migration store_migrations_sqlite[];

struct store_ops {
    const char *engine; /* "sqlite" */
    int (*prepare)(store *s, const char *sql, store_stmt **out);
    int (*bind_int)(store_stmt *st, int i, int64_t v); /* i from 1 */
    int (*bind_text)(store_stmt *st, int i, const char *v);
    int (*bind_null)(store_stmt *st, int i);
    int (*step)(store_stmt *st); /* 1 row, 0 done, -1 error */
    int (*column_null)(store_stmt *st, int i); /* i from 0 */
    int64_t (*column_int)(store_stmt *st, int i);
    const char *(*column_text)(store_stmt *st, int i); /* NULL for NULL */
    void (*finalize)(store_stmt *st);
    int (*exec_script)(store *s, const char *sql);
    int64_t (*changes)(store *s);
    int (*is_constraint)(store *s); /* last error was a unique violation */
    const char *(*errmsg)(store *s);
    void (*close)(store *s);
};

struct store {
    const struct store_ops *ops;
    int tx_depth;   /* nesting of store_begin */
    int tx_failed;  /* an inner level rolled back: the outer must too */
};

/* Opens "path" or "sqlite:path" (PostgreSQL URLs in a later backend). */
int store_open(const char *url, store **out, nudge_err *err);
void store_close(store *s);
const char *store_engine(store *s);
int store_migrate(store *s, int64_t now, int *applied, nudge_err *err);
int store_schema_version(store *s, int *version, nudge_err *err);

/* Bind types: 'i' int64_t, 'd' int, 's' const char * (NULL binds NULL),
 * 'z' const char * ("" binds NULL too), 'n' int64_t (0 binds NULL). */
int store_exec(store *s, nudge_err *err, const char *sql, const char *types, ...);
int store_query(store *s, store_stmt **out, nudge_err *err, const char *sql,
                const char *types, ...);
/* 1 row, 0 done (statement stays open until store_done), -1 error. */
int store_next(store_stmt *st, nudge_err *err);
void store_done(store_stmt *st);
int64_t store_int(store_stmt *st, int col);
const char *store_text(store_stmt *st, int col); /* "" for NULL */
int store_null(store_stmt *st, int col);
/* Copies a text column into dst[n], truncating safely. */
void store_copy(store_stmt *st, int col, char *dst, size_t n);
char *store_dup(store_stmt *st, int col); /* NULL for NULL; caller frees */
/* Runs a query expected to give one integer: 1 found (in *out), 0 no row. */
int store_scalar(store *s, int64_t *out, nudge_err *err, const char *sql, const char *types,
                 ...);
int64_t store_changes(store *s);
int store_is_constraint(store *s);

/* Nestable: only the outermost begin/commit touch the engine. A rollback at
 * any depth dooms the whole transaction. */
int store_begin(store *s, nudge_err *err);
int store_commit(store *s, nudge_err *err);
void store_rollback(store *s);

/* Backend constructors. */
int store_sqlite_open(const char *path, store **out, nudge_err *err);

#endif
