/*
 * sqlite.c: the embedded SQLite backend. WAL mode so readers never block the
 * writer and several processes can share one file; a busy timeout so a
 * second process waits for the write lock instead of failing; foreign keys
 * on. Prepared statements are cached by SQL text (a hash table that never
 * evicts), because the domain layer runs the same few hundred statements
 * over and over in the dispatcher's and the API's hot loops.
 *
 * store_notify/store_wait reach the waiters of the same database file in
 * this process (a worker beside the API in `nudge serve`, an embedder's
 * dispatcher thread): each waiting connection has an eventfd, and a
 * notify's commit writes to every one of its file's, so the worker wakes
 * at once instead of at its next poll. Other processes still poll.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

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
    sqlite3_stmt *ctl[4]; /* lite_ctl_sql's statements, prepared on first use */
    /* In-process wake-ups (lite_notify, lite_wait): the file as realpath
     * names it, this connection's eventfd once it has waited (-1 before),
     * and a notify waiting for its transaction's commit. */
    char *file;
    int wake_fd;
    int wake_pending;
    int writing;          /* a BEGIN IMMEDIATE of ours is open */
    double busy_since_ms; /* when the busy handler's wait began */
} sqlite_store;

struct store_stmt {
    store *s; /* must be first: store.c reads it */
    sqlite3_stmt *st;
    struct lite_text *text; /* where it goes back when done; NULL: finalize */
    int copied;             /* SQLite holds copies of bound texts, to free */
};

static sqlite_store *lite(store *s)
{
    return (sqlite_store *)s;
}

/* The transaction statements, run for every write and read scope: kept
 * prepared, as sqlite3_exec parses its text each time (13% of the
 * group-commit profile with 16 callers was SQLite's parser on these). */
static const char *const lite_ctl_sql[] = {"BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK"};

/* The statement sql is one of lite_ctl_sql: run it; else -2 (not one). */
static int lite_ctl(sqlite_store *ls, const char *sql)
{
    int i = 0;
    while (i < 4 && strcmp(sql, lite_ctl_sql[i]))
        i++;
    if (i == 4)
        return -2;
    if (!ls->ctl[i] && sqlite3_prepare_v3(ls->db, lite_ctl_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                          &ls->ctl[i], NULL) != SQLITE_OK)
        return sqlite3_exec(ls->db, sql, NULL, NULL, NULL); /* its error, in errmsg */
    int rc = sqlite3_step(ls->ctl[i]);
    sqlite3_reset(ls->ctl[i]);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Ends a read scope: its snapshot is let go before anything writes. */
static void lite_read_stop(sqlite_store *ls)
{
    if (ls->reading) {
        ls->reading = 0;
        /* COMMIT runs even with SELECTs pending; should it fail, nothing
         * was written to keep: what follows must not run inside it. */
        if (lite_ctl(ls, "COMMIT") != SQLITE_OK && !sqlite3_get_autocommit(ls->db))
            lite_ctl(ls, "ROLLBACK");
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
    int rc = lite_ctl(ls, "BEGIN");
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

static int lite_bind_text(store_stmt *h, int i, const char *v, size_t len, int keep)
{
    h->copied |= !keep;
    return lite_rc(h, sqlite3_bind_text64(h->st, i, v, len, keep ? SQLITE_STATIC : SQLITE_TRANSIENT,
                                          SQLITE_UTF8));
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
        /* Copies are freed now, not held while idle. Texts read in place
         * may be left bound: every use binds all parameters again before
         * the first step (store_bind), and a 1,000-row insert's 23,000
         * cleared one by one cost 2 % of the batch. */
        if (h->copied)
            sqlite3_clear_bindings(h->st);
        t->idle[t->nidle++] = h->st;
    } else {
        sqlite3_finalize(h->st);
    }
    free(h);
}

static void lite_wake_after(sqlite_store *ls, int rc);
static void lite_busy_install(sqlite_store *ls);

static int lite_exec_script(store *s, const char *sql)
{
    lite_read_stop(lite(s)); /* BEGIN IMMEDIATE, DDL: writes, never in a read scope */
    int rc = lite_ctl(lite(s), sql);
    if (rc == -2)
        rc = sqlite3_exec(lite(s)->db, sql, NULL, NULL, NULL);
    lite(s)->last_rc = rc;
    lite_wake_after(lite(s), rc);
    return rc == SQLITE_OK ? 0 : -1;
}

/* IMMEDIATE takes the write lock up front, so two processes never both
 * read then deadlock upgrading to write. */
static int lite_begin(store *s)
{
    int rc = lite_exec_script(s, "BEGIN IMMEDIATE");
    lite(s)->writing = rc == 0;
    return rc;
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
    /* A group of 16 batches of 1,000 overflowed the default 2 MiB page
     * cache, which then spilled WAL frames in the middle of the
     * transaction: the committer's connection, one per file, may hold
     * up to 64 MiB. */
    return sqlite3_exec(ls->db, "PRAGMA cache_size = -65536", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                                           : -1;
}

static int64_t lite_wal_frames(store *s)
{
    return lite(s)->wal_frames;
}

static const char *lite_file_name(store *s)
{
    return sqlite3_db_filename(lite(s)->db, "main");
}

static int lite_checkpoint(store *s, int mode)
{
    sqlite_store *ls = lite(s);
    int log = 0, done = 0;
    /* Never waits for a reader (which may be a caller waiting on this
     * very group): BUSY, and the next group tries again. */
    sqlite3_busy_handler(ls->db, NULL, NULL);
    int rc = sqlite3_wal_checkpoint_v2(ls->db, NULL, mode, &log, &done);
    lite_busy_install(ls);
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

static void lite_wake_close(sqlite_store *ls);

static void lite_close(store *s)
{
    sqlite_store *ls = lite(s);
    lite_read_stop(ls);
    lite_wake_close(ls);
    for (int b = 0; b < LITE_BUCKETS; b++)
        for (struct lite_text *t = ls->bucket[b], *nt; t; t = nt) {
            nt = t->next;
            for (int i = 0; i < t->nidle; i++)
                sqlite3_finalize(t->idle[i]);
            free(t);
        }
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(ls->ctl[i]);
    sqlite3_close(ls->db);
    free(ls);
}

/* ---- wake-ups in this process ----
 * The registry holds the connections that have waited, by file. A notify
 * inside a transaction is kept until the transaction ends (a rollback
 * wakes too: a waiter woken for nothing ticks once and waits again,
 * while a waiter not woken would sleep through work). An eventfd keeps a
 * wake-up that comes while its connection is busy ticking, so the next
 * wait returns at once: nothing is lost between a tick and its wait. */
struct lite_waker {
    struct lite_waker *next;
    sqlite_store *ls;
};
static pthread_mutex_t lite_wake_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lite_waker *lite_wakers;

static void lite_wake_file(const char *file)
{
    uint64_t one = 1;
    pthread_mutex_lock(&lite_wake_mu);
    for (struct lite_waker *w = lite_wakers; w; w = w->next)
        if (w->ls->file && !strcmp(w->ls->file, file) && write(w->ls->wake_fd, &one, sizeof one) < 0) {
            /* EAGAIN: its counter is full, so it is woken already */
        }
    pthread_mutex_unlock(&lite_wake_mu);
}

/* The write lock let go in this process: connections waiting for it (in
 * lite_busy) try again at once rather than after SQLite's sleep of up to
 * 100 ms, which a worker's commits beside the API's group commits made
 * the common case (bench/steady.c). A lock another process holds is
 * polled every millisecond, to the same LITE_BUSY_MS. */
static pthread_cond_t lite_unlock_cv = PTHREAD_COND_INITIALIZER;
static unsigned long lite_unlock_gen;

static double lite_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int lite_busy(void *ctx, int count)
{
    sqlite_store *ls = ctx;
    double now = lite_mono_ms();
    if (count == 0)
        ls->busy_since_ms = now;
    else if (now - ls->busy_since_ms >= LITE_BUSY_MS)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 1000000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lite_wake_mu);
    unsigned long gen = lite_unlock_gen;
    while (gen == lite_unlock_gen &&
           pthread_cond_timedwait(&lite_unlock_cv, &lite_wake_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&lite_wake_mu);
    return 1;
}

static void lite_busy_install(sqlite_store *ls)
{
    sqlite3_busy_handler(ls->db, lite_busy, ls);
}

static void lite_wake_after(sqlite_store *ls, int rc)
{
    (void)rc;
    if (ls->writing && sqlite3_get_autocommit(ls->db)) {
        ls->writing = 0;
        pthread_mutex_lock(&lite_wake_mu);
        lite_unlock_gen++;
        pthread_cond_broadcast(&lite_unlock_cv);
        pthread_mutex_unlock(&lite_wake_mu);
    }
    if (ls->wake_pending && ls->file && sqlite3_get_autocommit(ls->db)) {
        ls->wake_pending = 0;
        lite_wake_file(ls->file);
    }
}

static void lite_wake_close(sqlite_store *ls)
{
    pthread_mutex_lock(&lite_wake_mu);
    for (struct lite_waker **p = &lite_wakers; *p; p = &(*p)->next)
        if ((*p)->ls == ls) {
            struct lite_waker *w = *p;
            *p = w->next;
            free(w);
            break;
        }
    pthread_mutex_unlock(&lite_wake_mu);
    if (ls->wake_fd >= 0)
        close(ls->wake_fd);
    free(ls->file);
}

static int lite_notify(store *s, const char *topic)
{
    sqlite_store *ls = lite(s);
    (void)topic; /* one topic is all nudge has: every waiter is a worker */
    ls->wake_pending = 1;
    lite_wake_after(ls, SQLITE_OK); /* outside a transaction: now */
    return 0;
}

/* 1 woken, 0 after timeout_ms or a signal, -1 no eventfd. A connection
 * hears the notifies from its first wait on, as a PostgreSQL LISTEN. */
static int lite_wait(store *s, const char *topic, int timeout_ms)
{
    sqlite_store *ls = lite(s);
    (void)topic;
    if (ls->wake_fd < 0) {
        struct lite_waker *w = calloc(1, sizeof *w);
        int fd = w ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
        if (fd < 0) {
            free(w);
            return -1;
        }
        w->ls = ls;
        pthread_mutex_lock(&lite_wake_mu);
        ls->wake_fd = fd;
        w->next = lite_wakers;
        lite_wakers = w;
        pthread_mutex_unlock(&lite_wake_mu);
    }
    struct pollfd p = {.fd = ls->wake_fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    uint64_t v;
    if (r > 0 && read(ls->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return -1;
    return r > 0;
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
    .file_name = lite_file_name,
    .read = lite_read,
    .notify = lite_notify,
    .wait = lite_wait,
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

/* SQLite counts every allocation under one process-wide mutex unless
 * told not to (SQLITE_CONFIG_MEMSTATUS): with 16 callers that mutex was
 * 11% of the single add's profile, for figures nudge never reads.
 *
 * A page cache starts with no bulk allocation (SQLITE_CONFIG_PAGECACHE
 * with no buffer and 0 lines; SQLite's default takes 20 pages, ~85 KB, at
 * once): a statement that builds an ephemeral b-tree (the consent
 * check's, once a patient at fan-out) made and freed that bulk
 * each time, at the top of the heap, and glibc gave it back to the kernel
 * and took it again: 2.8 brk calls a patient, a campaign fanned out to
 * 20,000 patients at 1,432 rows/s with 14 s of CPU, 36,844 rows/s after
 * (bench/README.md). Pages are then allocated as they are used.
 *
 * Both can only be said before SQLite initialises: an embedder that used
 * SQLite first keeps its own choice (sqlite3_config then refuses,
 * harmlessly). */
static void lite_init_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

int store_sqlite_open(const char *url, store **out, nudge_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, lite_init_once);
    char path[4096];
    const char *sync;
    if (lite_sync_mode(url, path, sizeof path, &sync, err))
        return -1;
    sqlite_store *ls = calloc(1, sizeof *ls);
    if (!ls)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    ls->base.ops = &sqlite_ops;
    ls->wake_fd = -1;
    int rc = sqlite3_open_v2(path, &ls->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             sqlite_wal_vfs());
    if (rc != SQLITE_OK) {
        err_set(err, NUDGE_ESTORE, "db", "cannot open database %s: %s", path,
                ls->db ? sqlite3_errmsg(ls->db) : sqlite3_errstr(rc));
        sqlite3_close(ls->db);
        free(ls);
        return -1;
    }
    /* Named as every handle of the file names it, once it exists. */
    char real[PATH_MAX];
    if (!(ls->file = strdup(realpath(path, real) ? real : path))) {
        lite_close(&ls->base);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    lite_busy_install(ls);
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
