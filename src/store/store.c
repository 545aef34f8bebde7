/*
 * store.c: the engine-independent half of the store: typed binds, row
 * helpers, nestable transactions and migrations. Each backend (sqlite.c,
 * pg.c) supplies only struct store_ops.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int store_open(const char *url, store **out, nudge_err *err)
{
    if (!url || !*url)
        return err_set(err, NUDGE_EINVAL, "db", "no database given");
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return store_pg_open(url, out, err);
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

/* What the log hears of the disk: once when it fills, once when a write
 * goes through again; each failure in between only answers ENOSPACE. */
static void store_say(store *s, const char *msg)
{
    if (s->log)
        s->log(s->log_ctx, msg);
}

static int store_fail(store *s, nudge_err *err)
{
    if (s->ops->cannot_write && s->ops->cannot_write(s)) {
        err_set(err, NUDGE_ENOSPACE, "", "database: %s", s->ops->errmsg(s));
        if (!s->full_said) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "database cannot write (%.200s): writes fail until there is room again; "
                     "reads go on",
                     s->ops->errmsg(s));
            store_say(s, msg);
            s->full_said = 1;
        }
        return -1;
    }
    return err_set(err, s->ops->is_constraint(s) ? NUDGE_ECONFLICT : NUDGE_ESTORE, "",
                   "database: %s", s->ops->errmsg(s));
}

/* keep: the values stay as they are until the statement is done (the
 * call binds and steps it to the end), so texts need no copy. */
static int store_bind(store *s, store_stmt *st, const char *sql, const store_val *v, int n,
                      int keep, nudge_err *err)
{
    int want = s->ops->param_count(st);
    if (want != n)
        return err_set(err, NUDGE_ESTORE, "", "store: %d values bound to %d placeholders in: %.80s",
                       n, want, sql);
    for (int i = 0; i < n; i++) {
        int rc;
        /* PostgreSQL refuses invalid UTF-8 (SQLSTATE 22021) and SQLite
         * would keep bytes no JSON answer can carry: the same refusal on
         * both, as bad input, not a store failure. Fields a person sets
         * are checked earlier, by name; this catches the rest (a filter). */
        long len = v[i].type == STORE_TEXT && v[i].s ? utf8_len(v[i].s) : 0;
        if (len < 0)
            return err_set(err, NUDGE_EINVAL, "", "text is not valid UTF-8");
        switch (v[i].type) {
        case STORE_INT: rc = s->ops->bind_int(st, i + 1, v[i].i); break;
        case STORE_TEXT: rc = s->ops->bind_text(st, i + 1, v[i].s, (size_t)len, keep); break;
        default: rc = s->ops->bind_null(st, i + 1, v[i].null_int); break;
        }
        if (rc)
            return store_fail(s, err);
    }
    return 0;
}

/* The statement remembers its store so row helpers need only the stmt. */
struct stmt_head {
    store *s;
};

static int store_prepare(store *s, store_stmt **out, nudge_err *err, const char *sql,
                         const store_val *v, int n, int keep)
{
    store_stmt *st;
    if (s->ops->prepare(s, sql, &st))
        return store_fail(s, err);
    if (store_bind(s, st, sql, v, n, keep, err)) {
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

int store_exec_v(store *s, nudge_err *err, const char *sql, const store_val *v, int n)
{
    store_stmt *st;
    if (store_prepare(s, &st, err, sql, v, n, 1))
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

int store_insert_v(store *s, int64_t *id, nudge_err *err, const char *sql, const store_val *v,
                   int n)
{
    if (s->ops->last_id) {
        if (store_exec_v(s, err, sql, v, n) < 0)
            return -1;
        if (s->ops->changes(s) == 0)
            return 0;
        *id = s->ops->last_id(s);
        return 1;
    }
    char q[8192];
    if (snprintf(q, sizeof q, "%s RETURNING id", sql) >= (int)sizeof q)
        return err_set(err, NUDGE_ESTORE, "", "store: insert too long: %.80s", sql);
    return store_scalar_v(s, id, err, q, v, n);
}

char *store_rows_sql(const char *head, const char *row, size_t rows, const char *tail)
{
    size_t lh = strlen(head), lr = strlen(row), lt = strlen(tail);
    char *q = malloc(lh + rows * (lr + 1) + lt + 1), *p = q;
    if (!q)
        return NULL;
    memcpy(p, head, lh);
    p += lh;
    for (size_t i = 0; i < rows; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, row, lr);
        p += lr;
    }
    memcpy(p, tail, lt + 1);
    return q;
}

int store_insert_rows_v(store *s, int64_t *ids, size_t rows, nudge_err *err, const char *sql,
                        const store_val *v, int n)
{
    if (s->ops->last_id) {
        /* SQLite gives a row inserted without a rowid the table's largest
         * rowid plus one (https://sqlite.org/autoinc.html; with
         * AUTOINCREMENT, one more than the largest ever), and one INSERT
         * inserts its VALUES rows one after another in list order. Every
         * write here is inside a write transaction, which no other
         * connection shares, and no trigger inserts into the tables this
         * serves (notification_queue, audit_log). So the rows' ids are
         * consecutive, ending at the last one's. (Only a table that
         * already holds rowid 2^63-1 would break this, and none of
         * nudge's is given explicit ids near it.) */
        if (store_exec_v(s, err, sql, v, n) < 0)
            return -1;
        if (s->ops->changes(s) != (int64_t)rows)
            return err_set(err, NUDGE_ESTORE, "", "store: %lld of %zu rows inserted: %.80s",
                           (long long)s->ops->changes(s), rows, sql);
        int64_t last = s->ops->last_id(s);
        for (size_t i = 0; i < rows; i++)
            ids[i] = last - (int64_t)(rows - 1 - i);
        return 0;
    }
    /* PostgreSQL: an identity's nextval is taken row by row as the
     * VALUES list is scanned in order, and a sequence only grows within a
     * session; so the ids in ascending order are the rows' in list order,
     * whatever order RETURNING hands them back in. */
    char *q = malloc(strlen(sql) + sizeof " RETURNING id");
    if (!q)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    strcpy(q, sql);
    strcat(q, " RETURNING id");
    store_stmt *st;
    int r = store_query_v(s, &st, err, q, v, n);
    free(q);
    if (r < 0)
        return -1;
    size_t got = 0;
    while ((r = store_next(st, err)) == 1)
        if (got < rows)
            ids[got++] = store_int(st, 0);
    store_done(st);
    if (r < 0)
        return -1;
    if (got != rows)
        return err_set(err, NUDGE_ESTORE, "", "store: %zu of %zu rows inserted: %.80s", got, rows,
                       sql);
    qsort(ids, rows, sizeof *ids, ids_cmp);
    return 0;
}

int store_query_v(store *s, store_stmt **out, nudge_err *err, const char *sql, const store_val *v,
                  int n)
{
    return store_prepare(s, out, err, sql, v, n, 0); /* stepped after we return */
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

int store_scalar_v(store *s, int64_t *out, nudge_err *err, const char *sql, const store_val *v,
                   int n)
{
    store_stmt *st;
    if (store_prepare(s, &st, err, sql, v, n, 1))
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

/* begin opens the outermost level (key: the clinic's lock key, for
 * begin_clinic, and also a finer key it takes after it); scope is what
 * its lock covers (struct store, tx_scope). */
static int store_begin_with(store *s, int (*begin)(store *),
                            int (*begin_key)(store *, int64_t, int64_t), int64_t key,
                            int64_t also, int64_t scope, nudge_err *err)
{
    if (s->tx_depth == 0) {
        s->nheld = 0;
        if (begin_key ? begin_key(s, key, also) : begin(s))
            return store_fail(s, err);
        s->tx_failed = 0;
        s->tx_scope = scope;
        s->tx_depth++;
        if (begin_key && also)
            store_held(s, &also, 1);
        return 0;
    }
    s->tx_depth++;
    return 0;
}

int store_begin(store *s, nudge_err *err)
{
    return store_begin_with(s, s->ops->begin, NULL, 0, 0, STORE_SCOPE_ALL, err);
}

int store_begin_own(store *s, nudge_err *err)
{
    return store_begin_with(s, s->ops->begin_own ? s->ops->begin_own : s->ops->begin, NULL, 0, 0,
                            STORE_SCOPE_OWN, err);
}

int store_begin_clinic(store *s, int64_t clinic_id, nudge_err *err)
{
    return store_begin_clinic_key(s, clinic_id, 0, err);
}

int store_begin_clinic_key(store *s, int64_t clinic_id, int64_t key, nudge_err *err)
{
    /* Nested, the outer level's lock covers the work, except another
     * clinic's: taking its lock here could wait in a cycle with a
     * transaction holding that clinic's and wanting this one's (the lock
     * order holds at most one clinic's lock), and not taking it would
     * leave the write unguarded. Refused on both engines alike, so a
     * SQLite run finds the mistake too. */
    if (clinic_id > 0 && s->tx_depth > 0 && s->tx_scope > 0 && s->tx_scope != clinic_id)
        return err_set(err, NUDGE_ESTORE, "",
                       "a transaction of clinic %lld cannot write clinic %lld",
                       (long long)s->tx_scope, (long long)clinic_id);
    /* clinic_id 0: any clinic (the local CLI's scope), every writer's turn */
    if ((clinic_id <= 0 ? store_begin(s, err)
                        : store_begin_with(s, s->ops->begin, s->ops->begin_clinic,
                                           store_key("writers", clinic_id), key, clinic_id, err)) <
        0)
        return -1;
    /* Taken by the begin where it could (then held: nothing is sent). */
    if (key && store_lock(s, key, err) < 0) {
        store_rollback(s);
        return -1;
    }
    return 0;
}

/* Whether the open transaction holds key (outside a transaction a lock
 * ends with its statement: nothing is held). */
static int store_holds(const store *s, int64_t key)
{
    for (int i = 0; s->tx_depth > 0 && i < s->nheld; i++)
        if (s->held[i] == key)
            return 1;
    return 0;
}

int store_lock(store *s, int64_t key, nudge_err *err)
{
    if (!s->ops->lock || store_holds(s, key))
        return 0;
    if (s->ops->lock(s, key))
        return store_fail(s, err);
    store_held(s, &key, 1);
    return 0;
}

void store_held(store *s, const int64_t *keys, int n)
{
    for (int i = 0; s->tx_depth > 0 && i < n && s->nheld < STORE_HELD; i++)
        if (!store_holds(s, keys[i]))
            s->held[s->nheld++] = keys[i];
}

int store_notify(store *s, const char *topic, nudge_err *err)
{
    return s->ops->notify && s->ops->notify(s, topic) ? store_fail(s, err) : 0;
}

int store_wait(store *s, const char *topic, int timeout_ms, nudge_err *err)
{
    if (s->ops->wait) {
        int r = s->ops->wait(s, topic, timeout_ms);
        return r < 0 ? store_fail(s, err) : r;
    }
    /* An engine that cannot wake anyone: the poll is all there is. A
     * signal cuts the sleep short, so a stopping daemon does not wait it out. */
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

void store_on_log(store *s, void (*fn)(void *ctx, const char *msg), void *ctx)
{
    s->log = fn;
    s->log_ctx = ctx;
}

/* FNV-1a of the text, mixed with the id: the same on every worker, which is
 * all a lock key needs. */
int64_t store_key(const char *what, int64_t id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = what; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint64_t)((id >> (8 * i)) & 0xff)) * 1099511628211ull;
    return (int64_t)(h >> 1);
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
    if (s->full_said) {
        store_say(s, "database writes go through again");
        s->full_said = 0;
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
    int r = store_scalar(s, &v, err, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (r < 0)
        return -1;
    *version = (int)v;
    return 0;
}

/* Applies this engine's migrations not yet recorded, each in its own
 * transaction with its record. */
/* Every pending migration in one transaction: one commit (one fsync)
 * rather than one per migration, which was most of the cost of a fresh
 * database (each test's, each newcomer's first command), and an upgrade
 * across several versions either lands whole or leaves the schema as it
 * was. Both engines' DDL is transactional; PRAGMA defer_foreign_keys,
 * which two SQLite migrations set, lasts to the commit, so the foreign
 * keys are checked once, there. */
static int store_migrate_locked(store *s, int64_t now, int *applied, nudge_err *err)
{
    int n = 0;
    /* BIGINT, not INTEGER: applied_at is int64 seconds, and PostgreSQL's
     * INTEGER is 32-bit (SQLite reads BIGINT as INTEGER). */
    if (store_exec(s, err,
                   "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, applied_at BIGINT NOT NULL)"))
        return -1;
    if (store_begin(s, err))
        return -1;
    for (const struct migration *m = s->ops->migrations; m->sql; m++) {
        int64_t have = 0;
        int r = store_scalar(s, &have, err, "SELECT 1 FROM schema_migrations WHERE version = ?",
                             bind_int(m->version));
        if (r < 0)
            goto fail;
        if (r > 0)
            continue;
        if (s->ops->exec_script(s, m->sql)) {
            err_set(err, NUDGE_ESTORE, "", "migration %s: %s", m->name, s->ops->errmsg(s));
            goto fail;
        }
        if (store_exec(s, err,
                       "INSERT INTO schema_migrations (version, name, applied_at) "
                       "VALUES (?, ?, ?)",
                       bind_int(m->version), bind_text(m->name), bind_int(now)))
            goto fail;
        n++;
    }
    if (store_commit(s, err))
        return -1;
    if (applied)
        *applied = n;
    return 0;
fail:
    store_rollback(s);
    return -1;
}

int nudge_schema_built(void)
{
    int v = 0;
    for (const struct migration *m = store_migrations_sqlite; m->sql; m++)
        v = m->version;
    return v;
}

int store_schema_wanted(store *s)
{
    int v = 0;
    for (const struct migration *m = s->ops->migrations; m->sql; m++)
        v = m->version;
    return v;
}

int store_migrate(store *s, int64_t now, int *applied, nudge_err *err)
{
    /* Every command migrates first: when the schema is current (the usual
     * case) one read answers, without the lock or a transaction per
     * migration. A missing table is only an error here, not a failure. */
    int want = store_schema_wanted(s), version = 0;
    nudge_err ignored = {0};
    if (want && store_schema_version(s, &version, &ignored) == 0 && version == want) {
        if (applied)
            *applied = 0;
        return 0;
    }
    if (!s->ops->migrate_lock)
        return store_migrate_locked(s, now, applied, err);
    if (s->ops->migrate_lock(s, 1))
        return store_fail(s, err);
    int rc = store_migrate_locked(s, now, applied, err);
    s->ops->migrate_lock(s, 0);
    return rc;
}

void store_read_begin(store *s)
{
    if (s->tx_depth == 0 && s->ops->read)
        s->ops->read(s, 1);
}

void store_read_end(store *s)
{
    if (s->ops->read)
        s->ops->read(s, 0);
}
