/*
 * sqlite.c: the embedded SQLite backend. WAL mode so readers never block the
 * writer and several processes can share one file; a busy timeout so a
 * second process waits for the write lock instead of failing; foreign keys
 * on. Prepared statements are cached by SQL text (a hash table that never
 * evicts), because the domain layer runs the same few hundred statements
 * over and over in the dispatcher's and the API's hot loops.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util.h"

#define LITE_BUSY_MS 10000
/* The statement cache: a hash table keyed by the SQL text, with chaining,
 * sized well above the few hundred distinct statements nudge has, so no
 * statement ever pushes another out (a fixed table of slots by hash did:
 * two hot statements of the API shared a slot and were compiled again on
 * every request). Each text keeps the statements it has compiled that are
 * not in use; one in use is never handed out twice (the flow reads one
 * query while it runs others, sometimes the same text nested). Texts
 * built at run time (segments, the store copy) are bounded, but a cap on
 * the number of texts keeps a surprise from growing memory: past it a
 * statement is compiled per use, as if uncached. */
#define LITE_BUCKETS 1024 /* power of two */
#define LITE_MAX_TEXTS 4096
#define LITE_ADDRS 256 /* power of two */
#define LITE_IDLE 4 /* idle statements kept per text: nesting is shallow */

struct lite_text {
    struct lite_text *next;
    unsigned hash;
    int nidle;
    sqlite3_stmt *idle[LITE_IDLE];
    char sql[]; /* own copy: compared by content, never by address */
};

typedef struct sqlite_store {
    store base;
    sqlite3 *db;
    struct lite_text *bucket[LITE_BUCKETS];
    struct lite_text *by_addr[LITE_ADDRS]; /* by the text's address: a hint */
    int ntexts;
    int last_rc;
    int64_t wal_frames; /* after the last commit, when wal_manual installed the hook */
    int reading; /* a read scope's BEGIN is open (store_read_begin) */
} sqlite_store;

struct store_stmt {
    store *s; /* must be first: store.c reads it */
    sqlite3_stmt *st;
    struct lite_text *text; /* where it goes back when done; NULL: finalize */
};

static sqlite_store *lite(store *s)
{
    return (sqlite_store *)s;
}

static int lite_prepare(store *s, const char *sql, store_stmt **out);
static void lite_finalize(store_stmt *h);

/* A read scope's BEGIN and COMMIT run on every API request: compiled once
 * and kept in the statement cache, not parsed again by sqlite3_exec. */
static int lite_run(sqlite_store *ls, const char *sql)
{
    store_stmt *h;
    if (lite_prepare(&ls->base, sql, &h) < 0)
        return SQLITE_ERROR;
    int rc = sqlite3_step(h->st);
    lite_finalize(h);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Ends a read scope: its snapshot is let go before anything writes. */
static void lite_read_stop(sqlite_store *ls)
{
    if (ls->reading) {
        ls->reading = 0;
        /* COMMIT runs even with SELECTs pending; should it fail, nothing
         * was written to keep: what follows must not run inside it. */
        if (lite_run(ls, "COMMIT") != SQLITE_OK && !sqlite3_get_autocommit(ls->db))
            sqlite3_exec(ls->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* A deferred BEGIN: the first read takes the snapshot, the rest share it. */
static int lite_read(store *s, int begin)
{
    sqlite_store *ls = lite(s);
    if (!begin) {
        lite_read_stop(ls);
        return 0;
    }
    if (ls->reading || !sqlite3_get_autocommit(ls->db))
        return 0;
    int rc = lite_run(ls, "BEGIN");
    ls->reading = rc == SQLITE_OK;
    return rc == SQLITE_OK ? 0 : -1;
}

static struct lite_text *lite_text_find(sqlite_store *ls, const char *sql);

static unsigned lite_hash(const char *sql, size_t *len)
{
    unsigned h = 2166136261u;
    const char *p = sql;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    *len = (size_t)(p - sql);
    return h;
}

/* The text's entry, added if new and the cap allows; NULL otherwise. */
static struct lite_text *lite_text_for(sqlite_store *ls, const char *sql)
{
    /* Most texts are literals at a fixed address: the entry last found for
     * an address is tried first, still compared by content (a text built
     * at run time can reuse an address), which a long SELECT's hash byte
     * by byte cost more than (5% of an API GET). */
    struct lite_text **seen = &ls->by_addr[((uintptr_t)sql >> 3) & (LITE_ADDRS - 1)];
    if (*seen && strcmp((*seen)->sql, sql) == 0)
        return *seen;
    struct lite_text *t = lite_text_find(ls, sql);
    if (t)
        *seen = t;
    return t;
}

static struct lite_text *lite_text_find(sqlite_store *ls, const char *sql)
{
    size_t len;
    unsigned h = lite_hash(sql, &len);
    struct lite_text **b = &ls->bucket[h & (LITE_BUCKETS - 1)];
    for (struct lite_text *t = *b; t; t = t->next)
        if (t->hash == h && strcmp(t->sql, sql) == 0)
            return t;
    if (ls->ntexts >= LITE_MAX_TEXTS)
        return NULL;
    struct lite_text *t = calloc(1, sizeof *t + len + 1);
    if (!t)
        return NULL;
    t->hash = h;
    memcpy(t->sql, sql, len + 1);
    t->next = *b;
    *b = t;
    ls->ntexts++;
    return t;
}

static int lite_prepare(store *s, const char *sql, store_stmt **out)
{
    sqlite_store *ls = lite(s);
    store_stmt *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->s = s;
    h->text = lite_text_for(ls, sql);
    if (h->text && h->text->nidle > 0) {
        h->st = h->text->idle[--h->text->nidle];
        *out = h;
        return 0;
    }
    int rc = sqlite3_prepare_v3(ls->db, sql, -1, h->text ? SQLITE_PREPARE_PERSISTENT : 0, &h->st,
                                NULL);
    ls->last_rc = rc;
    s->prepares++;
    if (rc != SQLITE_OK) {
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

static int lite_rc(store_stmt *h, int rc)
{
    lite(h->s)->last_rc = rc;
    return rc == SQLITE_OK ? 0 : -1;
}

static int lite_bind_int(store_stmt *h, int i, int64_t v)
{
    return lite_rc(h, sqlite3_bind_int64(h->st, i, v));
}

static int lite_bind_text(store_stmt *h, int i, const char *v)
{
    return lite_rc(h, sqlite3_bind_text(h->st, i, v, -1, SQLITE_TRANSIENT));
}

static int lite_bind_null(store_stmt *h, int i, int as_int)
{
    (void)as_int;
    return lite_rc(h, sqlite3_bind_null(h->st, i));
}

static int lite_param_count(store_stmt *h)
{
    return sqlite3_bind_parameter_count(h->st);
}

static int lite_step(store_stmt *h)
{
    sqlite_store *ls = lite(h->s);
    /* A write inside a read scope would upgrade its snapshot, which fails
     * once another connection has committed since: it runs on its own. */
    if (ls->reading && !sqlite3_stmt_busy(h->st) && !sqlite3_stmt_readonly(h->st))
        lite_read_stop(ls);
    int rc = sqlite3_step(h->st);
    lite(h->s)->last_rc = rc;
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return -1;
}

static int lite_column_null(store_stmt *h, int i)
{
    return sqlite3_column_type(h->st, i) == SQLITE_NULL;
}

static int64_t lite_column_int(store_stmt *h, int i)
{
    return sqlite3_column_int64(h->st, i);
}

static const char *lite_column_text(store_stmt *h, int i)
{
    return (const char *)sqlite3_column_text(h->st, i);
}

static void lite_finalize(store_stmt *h)
{
    struct lite_text *t = h->text;
    if (t && t->nidle < LITE_IDLE) {
        sqlite3_reset(h->st);
        sqlite3_clear_bindings(h->st);
        t->idle[t->nidle++] = h->st;
    } else {
        sqlite3_finalize(h->st);
    }
    free(h);
}

static int lite_exec_script(store *s, const char *sql)
{
    lite_read_stop(lite(s)); /* BEGIN IMMEDIATE, DDL: writes, never in a read scope */
    int rc = sqlite3_exec(lite(s)->db, sql, NULL, NULL, NULL);
    lite(s)->last_rc = rc;
    return rc == SQLITE_OK ? 0 : -1;
}

/* IMMEDIATE takes the write lock up front, so two processes never both
 * read then deadlock upgrading to write. */
static int lite_begin(store *s)
{
    return lite_exec_script(s, "BEGIN IMMEDIATE");
}

static int64_t lite_changes(store *s)
{
    return sqlite3_changes64(lite(s)->db);
}

static int lite_is_constraint(store *s)
{
    return (lite(s)->last_rc & 0xff) == SQLITE_CONSTRAINT;
}

static int lite_cannot_write(store *s)
{
    int rc = lite(s)->last_rc & 0xff;
    return rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_READONLY;
}

static int64_t lite_last_id(store *s)
{
    return sqlite3_last_insert_rowid(lite(s)->db);
}

static int lite_wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((sqlite_store *)ctx)->wal_frames = frames;
    return SQLITE_OK;
}

/* The caller checkpoints (commit.c, between groups): a commit never runs
 * one. sqlite3_wal_autocheckpoint would install its own hook: the hook
 * replaces it. */
static int lite_wal_manual(store *s)
{
    sqlite_store *ls = lite(s);
    sqlite3_wal_hook(ls->db, lite_wal_hook, ls);
    return 0;
}

static int64_t lite_wal_frames(store *s)
{
    return lite(s)->wal_frames;
}

static int lite_checkpoint(store *s, int mode)
{
    sqlite_store *ls = lite(s);
    int log = 0, done = 0;
    /* Never waits for a reader (which may be a caller waiting on this
     * very group): BUSY, and the next group tries again. */
    sqlite3_busy_timeout(ls->db, 0);
    int rc = sqlite3_wal_checkpoint_v2(ls->db, NULL, mode, &log, &done);
    sqlite3_busy_timeout(ls->db, LITE_BUSY_MS);
    ls->last_rc = rc;
    if (rc == SQLITE_OK && mode == SQLITE_CHECKPOINT_TRUNCATE)
        ls->wal_frames = 0;
    else if (rc == SQLITE_OK && log >= 0)
        ls->wal_frames = log - done; /* what a reader still holds back */
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : -1;
}

static const char *lite_errmsg(store *s)
{
    return sqlite3_errmsg(lite(s)->db);
}

/* The online backup API, whole in one step: the source stays readable
 * and writable by others meanwhile (a write restarts the copy). */
static int lite_backup(store *s, const char *path, int restore, char *msg, size_t n)
{
    lite_read_stop(lite(s));
    sqlite3 *file = NULL;
    int rc = sqlite3_open_v2(path, &file,
                             restore ? SQLITE_OPEN_READONLY
                                     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             NULL);
    if (rc == SQLITE_OK) {
        sqlite3 *to = restore ? lite(s)->db : file, *from = restore ? file : lite(s)->db;
        sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
        if (!b) {
            rc = sqlite3_errcode(to);
            snprintf(msg, n, "%s", sqlite3_errmsg(to));
        } else {
            sqlite3_backup_step(b, -1);
            rc = sqlite3_backup_finish(b);
            /* The copy carries the source's WAL mark; a backup is one
             * self-contained file, read later without -wal and -shm. */
            if (rc == SQLITE_OK && !restore)
                rc = sqlite3_exec(file, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
            if (rc != SQLITE_OK)
                snprintf(msg, n, "%s", sqlite3_errmsg(to));
        }
    } else {
        snprintf(msg, n, "%s: %s", path, file ? sqlite3_errmsg(file) : sqlite3_errstr(rc));
    }
    sqlite3_close(file);
    return rc == SQLITE_OK ? 0 : -1;
}

static void lite_close(store *s)
{
    sqlite_store *ls = lite(s);
    lite_read_stop(ls);
    for (int b = 0; b < LITE_BUCKETS; b++)
        for (struct lite_text *t = ls->bucket[b], *nt; t; t = nt) {
            nt = t->next;
            for (int i = 0; i < t->nidle; i++)
                sqlite3_finalize(t->idle[i]);
            free(t);
        }
    sqlite3_close(ls->db);
    free(ls);
}

static const struct store_ops sqlite_ops = {
    .engine = "sqlite",
    .migrations = store_migrations_sqlite,
    .prepare = lite_prepare,
    .bind_int = lite_bind_int,
    .bind_text = lite_bind_text,
    .bind_null = lite_bind_null,
    .param_count = lite_param_count,
    .step = lite_step,
    .column_null = lite_column_null,
    .column_int = lite_column_int,
    .column_text = lite_column_text,
    .finalize = lite_finalize,
    .exec_script = lite_exec_script,
    .begin = lite_begin,
    .migrate_lock = NULL, /* each migration's BEGIN IMMEDIATE serialises them */
    .changes = lite_changes,
    .is_constraint = lite_is_constraint,
    .cannot_write = lite_cannot_write,
    .errmsg = lite_errmsg,
    .close = lite_close,
    .backup = lite_backup,
    .last_id = lite_last_id,
    .wal_manual = lite_wal_manual,
    .wal_frames = lite_wal_frames,
    .checkpoint = lite_checkpoint,
    .read = lite_read,
};
_Static_assert(STORE_CKPT_PASSIVE == SQLITE_CHECKPOINT_PASSIVE &&
                   STORE_CKPT_TRUNCATE == SQLITE_CHECKPOINT_TRUNCATE,
               "store.h's checkpoint modes are SQLite's");

/* Durability: with synchronous=FULL every commit is on disk before it
 * returns, so an acknowledged write survives power loss: the default.
 * `PATH?synchronous=normal` trades that for speed (in WAL mode the last
 * commits before a power cut may be lost; a crash of nudge alone loses
 * nothing either way), for those who choose it knowingly. */
static int lite_sync_mode(const char *path, char *file, size_t n, const char **pragma,
                          nudge_err *err)
{
    const char *q = strrchr(path, '?');
    size_t len = q ? (size_t)(q - path) : strlen(path);
    *pragma = "PRAGMA synchronous=FULL;";
    if (q) {
        if (strcmp(q, "?synchronous=normal") == 0)
            *pragma = "PRAGMA synchronous=NORMAL;";
        else if (strcmp(q, "?synchronous=full") != 0)
            return err_set(err, NUDGE_EINVAL, "db",
                           "unknown SQLite option '%s' (accepted: ?synchronous=full, "
                           "?synchronous=normal)", q);
    }
    if (len >= n)
        return err_set(err, NUDGE_EINVAL, "db", "database path too long");
    memcpy(file, path, len);
    file[len] = '\0';
    return 0;
}

int store_sqlite_open(const char *url, store **out, nudge_err *err)
{
    char path[4096];
    const char *sync;
    if (lite_sync_mode(url, path, sizeof path, &sync, err))
        return -1;
    sqlite_store *ls = calloc(1, sizeof *ls);
    if (!ls)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    ls->base.ops = &sqlite_ops;
    int rc = sqlite3_open_v2(path, &ls->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        err_set(err, NUDGE_ESTORE, "db", "cannot open database %s: %s", path,
                ls->db ? sqlite3_errmsg(ls->db) : sqlite3_errstr(rc));
        sqlite3_close(ls->db);
        free(ls);
        return -1;
    }
    sqlite3_busy_timeout(ls->db, LITE_BUSY_MS);
    if (lite_exec_script(&ls->base, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;") ||
        lite_exec_script(&ls->base, sync)) {
        err_set(err, NUDGE_ESTORE, "db", "cannot use database %s: %s", path,
                sqlite3_errmsg(ls->db));
        lite_close(&ls->base);
        return -1;
    }
    *out = &ls->base;
    return 0;
}
