/*
 * store.h: the storage interface. One struct of function pointers per
 * backend (sqlite.c, pg.c), and on top of it a thin typed layer every
 * domain module uses: store_exec / store_query with typed bind values
 * (bind_int, bind_text, ...), row iteration, and nestable transactions.
 *
 * Domain code writes portable SQL with `?` placeholders; a backend that wants
 * `$1` rewrites them. Times are integer seconds UTC and ids integers (64-bit
 * on both engines), booleans 0/1, so one schema shape serves both engines.
 * What truly differs per engine (how a transaction begins, the migration
 * set, the migration lock) is a field or operation of struct store_ops.
 */
#ifndef NUDGE_STORE_H
#define NUDGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "nudge.h"

typedef struct store store;
typedef struct store_stmt store_stmt;

struct migration {
    int version;
    const char *name;
    const char *sql;
};
/* One set per engine (src/store/sql/<engine>/), with the same version
 * numbers and names, so a schema version means the same on both. */
extern const struct migration store_migrations_sqlite[];
extern const struct migration store_migrations_pg[];

struct store_ops {
    const char *engine;                  /* "sqlite", "postgresql" */
    const struct migration *migrations; /* this engine's set */
    int (*prepare)(store *s, const char *sql, store_stmt **out);
    int (*bind_int)(store_stmt *st, int i, int64_t v); /* i from 1 */
    /* v is len bytes; keep: v stays as it is until the statement is done
     * (store_done), so the engine may read it in place, not copy it. */
    int (*bind_text)(store_stmt *st, int i, const char *v, size_t len, int keep);
    /* as_int: the NULL stands for an integer (else a text); an engine that
     * types parameters at prepare needs to know. */
    int (*bind_null)(store_stmt *st, int i, int as_int);
    int (*param_count)(store_stmt *st);
    int (*step)(store_stmt *st);               /* 1 row, 0 done, -1 error */
    int (*column_null)(store_stmt *st, int i); /* i from 0 */
    int64_t (*column_int)(store_stmt *st, int i);
    const char *(*column_text)(store_stmt *st, int i); /* NULL for NULL */
    void (*finalize)(store_stmt *st);
    int (*exec_script)(store *s, const char *sql);
    int (*begin)(store *s); /* the outermost store_begin */
    /* The outermost store_begin_clinic: shares the writers' lock with the
     * other clinics' writers and holds key (the clinic's) alone, then the
     * finer key also (0: none), in one round trip. NULL: begin (SQLite,
     * where a write transaction is alone anyway). */
    int (*begin_clinic)(store *s, int64_t key, int64_t also);
    /* Serialises store_migrate across processes (1 take, 0 release); NULL
     * where the engine's own write lock already does. */
    int (*migrate_lock)(store *s, int lock);
    int64_t (*changes)(store *s);
    int (*is_constraint)(store *s); /* last error broke a constraint */
    /* The last error was the storage's, not the statement's: the disk is
     * full (SQLITE_FULL, PostgreSQL's 53100), failing (SQLITE_IOERR,
     * 58030) or read-only (SQLITE_READONLY, 25006). */
    int (*cannot_write)(store *s);
    const char *(*errmsg)(store *s);
    void (*close)(store *s);
    /* Several workers on one database (issue 14). NULL where the engine
     * has one writer at a time anyway (SQLite): */
    int (*begin_own)(store *s);           /* a transaction without the writers' lock */
    int (*lock)(store *s, int64_t key);   /* waits for a lock held to the transaction's end */
    int (*notify)(store *s, const char *topic); /* delivered at commit */
    /* 1 woken by a notify on topic, 0 timed out, -1 error. */
    int (*wait)(store *s, const char *topic, int timeout_ms);
    /* Whether the server can be reached: 0 yes, 1 yes again after the
     * connection was lost and reopened here, -1 no. probe: one round trip
     * rather than the connection's last known state. NULL: an engine in
     * this process (SQLite), always reachable. */
    int (*ping)(store *s, int probe);
    /* A whole-database copy to path (restore 0) or from it (restore 1),
     * online: SQLite's backup API. msg[n] gets the reason of a failure.
     * NULL: the engine has its own tools (PostgreSQL: pg_dump). */
    int (*backup)(store *s, const char *path, int restore, char *msg, size_t n);
    /* The id of the row the last INSERT on this connection added (SQLite's
     * sqlite3_last_insert_rowid): store_insert then needs no RETURNING,
     * which SQLite runs through an ephemeral table per row. NULL: the
     * engine answers RETURNING as cheaply (PostgreSQL). */
    int64_t (*last_id)(store *s);
    /* SQLite's WAL, for the group committer's connection (commit.c): no
     * auto-checkpoint on this connection, and how many frames the WAL held
     * after its last commit (its wal hook); a checkpoint of the mode
     * STORE_CKPT_*. NULL: no WAL to tend (PostgreSQL). */
    int (*wal_manual)(store *s);
    int64_t (*wal_frames)(store *s);
    int (*checkpoint)(store *s, int mode);
    /* The database file's absolute name (SQLite's sqlite3_db_filename),
     * however the URL spelt it: the committer of a file is found by it. */
    const char *(*file_name)(store *s);
    /* A read snapshot outside any transaction (begin 1), ended (0): see
     * store_read_begin. NULL: each statement reads on its own (PostgreSQL,
     * where a BEGIN and a COMMIT would add two round trips to save none). */
    int (*read)(store *s, int begin);
};
#define STORE_CKPT_PASSIVE 0
#define STORE_CKPT_TRUNCATE 3

#define STORE_HELD 32
struct store {
    const struct store_ops *ops;
    int tx_depth;  /* nesting of store_begin */
    int tx_failed; /* an inner level rolled back: the outer must too */
    /* What the outermost begin's lock covers: STORE_SCOPE_ALL (store_begin),
     * STORE_SCOPE_OWN (store_begin_own: only what it locks itself) or a
     * clinic id (store_begin_clinic). */
    int64_t tx_scope;
    /* The finer keys the open transaction holds (store_lock, store_held):
     * locking one again is free. Emptied by the outermost begin. */
    int64_t held[STORE_HELD];
    int nheld;
    void (*log)(void *ctx, const char *msg); /* connection lost/back: said once */
    int full_said; /* the disk is full: said once, until a commit goes through */
    void *log_ctx;
    /* Statements the engine compiled (sqlite3_prepare, PQprepare): the
     * statement cache's misses, counted so tests can see it hold. */
    int64_t prepares;
};

/* Opens "postgres://..." / "postgresql://..." (PostgreSQL), or "sqlite:path"
 * or a plain path (SQLite). */
int store_open(const char *url, store **out, nudge_err *err);
void store_close(store *s);
const char *store_engine(store *s);
int store_migrate(store *s, int64_t now, int *applied, nudge_err *err);
int store_schema_version(store *s, int *version, nudge_err *err);
/* The version this build's migrations for the store's engine reach. */
int store_schema_wanted(store *s);
static inline int store_ping(store *s, int probe)
{
    return s->ops->ping ? s->ops->ping(s, probe) : 0;
}

/* Bound values carry their type, set by a typed constructor, so the
 * compiler checks every argument and a text can never be read as a number:
 *   store_exec(db, err, "UPDATE t SET a = ? WHERE id = ?", bind_text(a), bind_int(id));
 * The backend also checks that the count matches the statement's `?`s. */
/* A NULL keeps the kind it stands for (null_int), so PostgreSQL can type
 * a parameter that is only ever NULL-tested. */
typedef struct store_val {
    enum { STORE_NULL, STORE_INT, STORE_TEXT } type;
    int null_int;
    int64_t i;
    const char *s;
} store_val;

static inline store_val bind_int(int64_t v)
{
    return (store_val){.type = STORE_INT, .i = v};
}
/* NULL binds SQL NULL. */
static inline store_val bind_text(const char *v)
{
    return (store_val){.type = v ? STORE_TEXT : STORE_NULL, .s = v};
}
/* "" binds NULL too: for optional text fields kept as empty strings. */
static inline store_val bind_text_or_null(const char *v)
{
    return (store_val){.type = v && *v ? STORE_TEXT : STORE_NULL, .s = v};
}
/* 0 binds NULL: for optional ids and times. */
static inline store_val bind_int_or_null(int64_t v)
{
    return (store_val){.type = v ? STORE_INT : STORE_NULL, .null_int = 1, .i = v};
}

/* The leading {0} makes an empty argument list a valid array; n excludes it. */
#define STORE_VALS(...)                                                                            \
    ((const store_val[]){{0}, __VA_ARGS__}) + 1,                                                   \
        (int)(sizeof((const store_val[]){{0}, __VA_ARGS__}) / sizeof(store_val)) - 1

#define store_exec(s, err, sql, ...) store_exec_v((s), (err), (sql), STORE_VALS(__VA_ARGS__))
#define store_query(s, out, err, sql, ...)                                                         \
    store_query_v((s), (out), (err), (sql), STORE_VALS(__VA_ARGS__))
/* Runs a query expected to give one integer: 1 found (in *out), 0 no row. */
#define store_scalar(s, out, err, sql, ...)                                                        \
    store_scalar_v((s), (out), (err), (sql), STORE_VALS(__VA_ARGS__))

/* Runs an INSERT of one row into a table with an `id` key, written without
 * RETURNING: 1 inserted (*id the new row's), 0 no row (ON CONFLICT DO
 * NOTHING), -1 error. The engine chooses how it learns the id. */
#define store_insert(s, id, err, sql, ...)                                                         \
    store_insert_v((s), (id), (err), (sql), STORE_VALS(__VA_ARGS__))
int store_insert_v(store *s, int64_t *id, nudge_err *err, const char *sql, const store_val *v,
                   int n);
/* Multi-row statements: a batch's rows in a few statements rather than
 * one each. Up to STORE_ROWS_EXACT rows go in one statement of exactly
 * that many (a group commit's usual size: its 12 rows were two
 * statements, 8 and 4, each a round trip on PostgreSQL); more go in
 * chunks of a power of two rows, at most STORE_ROWS_MAX, largest first
 * (1,000 rows: 512, 256, 128, 64, 32, 8). A statement's text so takes one
 * of 21 shapes, each prepared once per connection by the engine's cache,
 * and a chunk of rows of up to 32 values stays under SQLite's 32,766
 * variables. */
#define STORE_ROWS_MAX 512
#define STORE_ROWS_EXACT 16
static inline size_t store_rows_chunk(size_t left)
{
    if (left <= STORE_ROWS_EXACT)
        return left;
    size_t k = STORE_ROWS_MAX;
    while (k > left)
        k >>= 1;
    return k;
}
/* head, rows copies of row separated by commas (a VALUES list, an IN
 * list), tail: allocated (the caller frees), NULL when out of memory. */
char *store_rows_sql(const char *head, const char *row, size_t rows, const char *tail);
/* Runs an INSERT of rows rows (a VALUES list, no RETURNING, no ON
 * CONFLICT) into a table with an `id` key: ids[i] the id of the i-th row
 * of the list. 0, or -1 with err. */
int store_insert_rows_v(store *s, int64_t *ids, size_t rows, nudge_err *err, const char *sql,
                        const store_val *v, int n);
int store_exec_v(store *s, nudge_err *err, const char *sql, const store_val *v, int n);
int store_query_v(store *s, store_stmt **out, nudge_err *err, const char *sql, const store_val *v,
                  int n);
int store_scalar_v(store *s, int64_t *out, nudge_err *err, const char *sql, const store_val *v,
                   int n);
/* 1 row, 0 done (statement stays open until store_done), -1 error. */
int store_next(store_stmt *st, nudge_err *err);
void store_done(store_stmt *st);
int64_t store_int(store_stmt *st, int col);
const char *store_text(store_stmt *st, int col); /* "" for NULL */
int store_null(store_stmt *st, int col);
/* Copies a text column into dst[n], truncating safely. */
void store_copy(store_stmt *st, int col, char *dst, size_t n);
char *store_dup(store_stmt *st, int col); /* NULL for NULL; caller frees */
int64_t store_changes(store *s);
int store_is_constraint(store *s);

/* Nestable: only the outermost begin/commit touch the engine. A rollback at
 * any depth dooms the whole transaction.
 *
 * Write transactions and the writers' lock (PostgreSQL; SQLite has one
 * writer at a time anyway). Domain code reads, checks and writes rows of
 * one clinic (a dedupe key before its insert, a visit's version before its
 * change), which READ COMMITTED alone would let two writers interleave,
 * so a domain write takes a turn, per clinic:
 *   store_begin_clinic(s, clinic, err): the writers' lock shared, then the
 *     clinic's own lock (store_key("writers", clinic)) alone: writers of
 *     different clinics run in parallel, those of one clinic take turns.
 *     clinic <= 0 (NUDGE_ANY_CLINIC, the local CLI) is store_begin.
 *   store_begin(s, err): the writers' lock alone: waits for every clinic's
 *     writers and holds them off; for what is truly cross-clinic (a new
 *     clinic, a webhook whose clinic is not known yet, a whole-store copy)
 *     and for domain code not converted yet (correct, only slower).
 * Lock order, so no two transactions wait on each other in a cycle: the
 * writers' lock (shared or alone), then at most one clinic's lock, then
 * the finer keys of store_lock (a rate budget per clinic and channel in
 * ascending key order, a provider message id, an audit chain's head,
 * the configuration alert), then rows. Only the outermost begin takes a
 * lock: a nested begin runs under the outer one's (a nested
 * store_begin_clinic of another clinic than the outer's is refused: see
 * store.c); a transaction holding a finer key never takes the writers'
 * or a clinic's lock after it. */
int store_begin(store *s, nudge_err *err);
int store_begin_clinic(store *s, int64_t clinic_id, nudge_err *err);
/* store_begin_clinic, then store_lock(key) (a finer key: the lock order
 * above), on PostgreSQL in the begin's own round trip. */
int store_begin_clinic_key(store *s, int64_t clinic_id, int64_t key, nudge_err *err);
int store_commit(store *s, nudge_err *err);
void store_rollback(store *s);

/* Several workers on one database. store_begin_own opens a transaction
 * that does not take the writers' lock (PostgreSQL's pg_begin) and takes
 * the finer locks it needs itself with store_lock (a key of the caller's,
 * held to the transaction's end; nothing on SQLite, where a write
 * transaction is alone anyway). Nested, it is a plain store_begin.
 * store_notify wakes the workers waiting in store_wait on the same topic
 * when the transaction commits; store_wait returns 1 when woken, 0 after
 * timeout_ms, early on a signal. SQLite wakes only the waiters of the same
 * file in this process (sqlite.c); a worker in another process polls.
 * A key the transaction already holds is not locked again: each
 * audit_add of a transaction of many writes (a planner pass, a worker's
 * record after its batch of locks) was a round trip on PostgreSQL to
 * take a lock it had. store_held notes keys the caller locked in a
 * statement of its own (queue.c's record: every key in one round trip). */
int store_begin_own(store *s, nudge_err *err);
int store_lock(store *s, int64_t key, nudge_err *err);
void store_held(store *s, const int64_t *keys, int n);
/* The writers' lock every plain store_begin takes alone on PostgreSQL
 * (pg_begin; store_begin_clinic shares it). Work that runs inside a
 * store_begin_own transaction but reads domain state of every clinic and
 * writes on it (the periodic scans that plan reminders: a booking must not
 * slip between a scan's read and its plan) takes it alone with
 * store_lock_writers, first in its transaction (the lock order above); a
 * store_begin nested there would not. Nothing on SQLite, where a write
 * transaction is alone anyway. */
#define STORE_WRITERS_KEY 474215081830
#define STORE_SCOPE_ALL 0
#define STORE_SCOPE_OWN (-1)
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
static inline int store_lock_writers(store *s, nudge_err *err)
{
    if (store_lock(s, STORE_WRITERS_KEY, err) < 0)
        return -1;
    s->tx_scope = STORE_SCOPE_ALL; /* nested begins of any clinic run under it */
    return 0;
}
/* A read scope: the reads that follow share one snapshot, opened once,
 * instead of one implicit transaction each (the API's key, clinic and
 * record: three on SQLite, each with its locks). Only outside a
 * transaction; anything that writes ends the scope first (a store_begin,
 * a statement that is not read-only), so a write never upgrades a stale
 * snapshot. store_read_end ends it; both may be called when none is open.
 * Scopes do not nest: a store_read_end ends the scope whoever opened it,
 * so a function that opens one (nudge_enqueue, when it reads on its own
 * handle) is not called inside a caller's scope; the API ends its scope
 * before a write's handler runs. */
void store_read_begin(store *s);
void store_read_end(store *s);
int store_notify(store *s, const char *topic, nudge_err *err);
int store_wait(store *s, const char *topic, int timeout_ms, nudge_err *err);
void store_on_log(store *s, void (*fn)(void *ctx, const char *msg), void *ctx);
/* A stable lock key for a text and a number ("rate", clinic id). */
int64_t store_key(const char *what, int64_t id);

/* Backend constructors. */
int store_sqlite_open(const char *path, store **out, nudge_err *err);
/* sqlite_wal.c: the VFS sqlite.c opens files through (a WAL file's frames
 * written with one call a transaction), registered at the first call;
 * NULL when it could not be, and SQLite's default serves. */
const char *sqlite_wal_vfs(void);
long sqlite_wal_calls(void); /* WAL writes handed to the default VFS: for tests */
/* WAL syncs asked of the default VFS, by every connection of the
 * process (a commit under synchronous=FULL, a checkpoint): for tests and
 * bench/, which reports them a job. */
long sqlite_wal_syncs(void);
int store_pg_open(const char *url, store **out, nudge_err *err);

#endif
