/*
 * commit.c: group commit on SQLite (issue 16). Every handle of one database
 * file in this process shares a committer: its own connection, and a queue
 * of writes waiting for it. A caller reads and renders on its own handle,
 * then hands its write (a function and its argument) to commit_run and
 * waits. The first waiter with no group running leads: it takes every write
 * queued (up to COMMIT_GROUP_MAX), runs them in one transaction on the
 * committer's connection, commits once (one fsync under synchronous=FULL)
 * and wakes the group. A write that fails fails alone (the group is run
 * again without it, commit_group); a failed commit fails the group. So
 * callers never wait in SQLite's busy handler for each other: only the
 * leader takes the write lock, and a group closes when its leader takes the
 * queue, its size being whatever arrived while the group before it
 * committed (no timer: an idle database commits a lone write at once).
 *
 * The committer's connection runs no auto-checkpoint: between groups its
 * leader checkpoints PASSIVE once the WAL passes COMMIT_CKPT_FRAMES, and
 * TRUNCATE once it passes COMMIT_WAL_MAX (readers held the PASSIVE ones
 * back), so the WAL stays bounded. A checkpoint never waits for a reader
 * (the reader may be a caller waiting on the next group): it is tried
 * again after the next group, so only a reader held open for good lets
 * the WAL grow. Commits of other connections (the dispatcher's) keep
 * SQLite's own auto-checkpoint.
 *
 * When the committer's connection cannot be opened the handle writes
 * directly, as on PostgreSQL; when a group's transaction fails (a full
 * disk), each write of the group fails with that error and the next
 * group begins afresh on the same connection.
 *
 * PostgreSQL commits each write on the caller's own connection (its
 * server groups commits itself): commit_attach leaves those handles
 * without a committer, and commit_run answers 1, "run it yourself".
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "util.h"

#define COMMIT_GROUP_MAX 512
#define COMMIT_CKPT_FRAMES 1000
#define COMMIT_WAL_MAX 8000
#define COMMIT_READERS 2

/* A waiter's word (commit_req.state): what the leader tells it. */
enum { REQ_WAIT, REQ_DONE, REQ_LEAD };

typedef struct commit_req {
    nudge *n; /* the caller's handle: clock and actor */
    commit_fn fn;
    commit_many_fn many; /* NULL, or fn for several args at once */
    int64_t key;         /* writes merge only with the same many and key */
    void *arg;
    int rc;
    _Atomic uint32_t state; /* REQ_*: set by the leader, then woken */
    int alone; /* failed in a round of its group: not run again */
    nudge_err err;
    struct commit_req *next;
} commit_req;

/* A connection the enqueuers read on (commit_read), one at a time. */
struct commit_reader {
    pthread_mutex_t mu;
    store *db; /* opened at first use; NULL if it could not be */
    int tried;
};

struct committer {
    char *key; /* the file's absolute name and the URL's options */
    char *url;
    int refs;
    store *db;
    struct commit_reader readers[COMMIT_READERS];
    void *args[COMMIT_GROUP_MAX]; /* the leader's, for merged writes */
    _Atomic unsigned next_reader;
    pthread_mutex_t mu;
    commit_req *head, **tail; /* waiting; a REQ_LEAD one stays at the head */
    int leading;
    struct committer *next;
};

/* Every committer of the process, one per database file and options. */
static pthread_mutex_t commit_all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct committer *commit_all;

int commit_attach(nudge *n, const char *url, nudge_err *err)
{
    (void)err;
    n->commit = NULL;
    /* A database in memory is each connection's own: no second one. */
    if (!n->db->ops->wal_manual || strstr(url, ":memory:") || strstr(url, "mode=memory"))
        return 0;
    /* One committer per file and durability: "db", "./db" and the
     * absolute name are one file (two committers of one file would make
     * their groups wait for each other in the busy handler), while a
     * `?synchronous=normal` handle must not commit a FULL one's writes. */
    const char *file = n->db->ops->file_name(n->db), *opt = strrchr(url, '?');
    size_t klen = strlen(file && *file ? file : url) + (opt ? strlen(opt) : 0) + 1;
    char *key = malloc(klen);
    if (!key)
        return 0; /* direct writes */
    snprintf(key, klen, "%s%s", file && *file ? file : url, opt ? opt : "");
    pthread_mutex_lock(&commit_all_mu);
    struct committer *c = commit_all;
    while (c && strcmp(c->key, key))
        c = c->next;
    if (!c) {
        nudge_err lost = {0}; /* the handle's own writes will say it, if it matters */
        c = calloc(1, sizeof *c);
        if (!c || store_open(url, &c->db, &lost) < 0) {
            free(c);
            free(key);
            pthread_mutex_unlock(&commit_all_mu);
            return 0; /* direct writes, as on PostgreSQL */
        }
        c->key = key;
        key = NULL;
        if (!(c->url = strdup(url))) {
            store_close(c->db);
            free(c->key);
            free(c);
            pthread_mutex_unlock(&commit_all_mu);
            return 0;
        }
        for (int i = 0; i < COMMIT_READERS; i++)
            pthread_mutex_init(&c->readers[i].mu, NULL);
        c->db->ops->wal_manual(c->db);
        pthread_mutex_init(&c->mu, NULL);
        c->tail = &c->head;
        c->next = commit_all;
        commit_all = c;
    }
    c->refs++;
    n->commit = c;
    pthread_mutex_unlock(&commit_all_mu);
    free(key);
    return 0;
}

void commit_detach(nudge *n)
{
    struct committer *c = n->commit;
    if (!c)
        return;
    n->commit = NULL;
    pthread_mutex_lock(&commit_all_mu);
    if (--c->refs == 0) {
        struct committer **p = &commit_all;
        while (*p != c)
            p = &(*p)->next;
        *p = c->next;
        store_close(c->db);
        for (int i = 0; i < COMMIT_READERS; i++) {
            store_close(c->readers[i].db);
            pthread_mutex_destroy(&c->readers[i].mu);
        }
        pthread_mutex_destroy(&c->mu);
        free(c->url);
        free(c->key);
        free(c);
    }
    pthread_mutex_unlock(&commit_all_mu);
}

/* A group's writes run one after the other in one transaction, with no
 * savepoint between them: measured (perf, 16 callers), a savepoint per
 * write cost as much as the write, in parsing SAVEPOINT and RELEASE and in
 * a page bitmap allocated and freed each time (whose free trimmed the
 * heap, a TLB shootdown on every core). A write that fails is rare (the
 * caller checked its input before it queued; a duplicate is not a
 * failure), so the group is then rolled back and run again without it:
 * it fails alone and the others are written once. After COMMIT_ROUNDS
 * such rounds the rest run one transaction each, so a group of many bad
 * writes costs what they would alone. A failure of the disk (full, I/O)
 * fails the group at once: every write would meet it. */
#define COMMIT_ROUNDS 4

/* fn on a copy of the caller's handle whose store is the committer's:
 * the write reads the caller's clock, actor and settings, and writes
 * through the committer's connection (commit_fn's contract, core.h). */
static int commit_call(struct committer *c, commit_req *r)
{
    nudge cn = *r->n;
    cn.db = c->db;
    r->err = (nudge_err){0};
    return r->rc = r->fn(&cn, r->arg, &r->err);
}

static void commit_fail(commit_req *g, const nudge_err *e)
{
    for (commit_req *r = g; r; r = r->next)
        if (!r->alone)
            r->rc = -1, r->err = *e;
}

/* The WAL's bound, between groups (the leader, the lock not held). */
static void commit_checkpoint(struct committer *c)
{
    store *db = c->db;
    if (db->ops->wal_frames(db) < COMMIT_CKPT_FRAMES)
        return;
    db->ops->checkpoint(db, STORE_CKPT_PASSIVE);
    if (db->ops->wal_frames(db) >= COMMIT_WAL_MAX)
        db->ops->checkpoint(db, STORE_CKPT_TRUNCATE);
}

/* Whether q's write may run in one call with r's: the same kind and key,
 * and what the call reads of the handle the same for both, since it runs
 * on r's (the actor its audit lines name, the clock its rows' times come
 * from: two API keys' writes in one group stay two calls). */
static int commit_mergeable(commit_req *q, commit_req *r)
{
    return q->many == r->many && q->key == r->key && !strcmp(q->n->actor, r->n->actor) &&
           clock_now(q->n) == clock_now(r->n);
}

/* The writes from r on that merge with it (same many and key, in queue
 * order, the ones failed alone skipped): run as one call. Answers the
 * request after them, through *next; 0 merged and ran, -1 the merged
 * call failed (err), 1 nothing to merge (r runs alone). */
static int commit_merged(struct committer *c, commit_req *r, commit_req **next, nudge_err *e)
{
    int k = 0;
    commit_req *q = r;
    for (; q && (q->alone || commit_mergeable(q, r)); q = q->next)
        if (!q->alone)
            c->args[k++] = q->arg;
    if (k < 2)
        return 1;
    *next = q;
    nudge cn = *r->n;
    cn.db = c->db;
    if (r->many(&cn, c->args, k, e) < 0)
        return -1;
    for (commit_req *w = r; w != q; w = w->next)
        if (!w->alone)
            w->rc = 0, w->err = (nudge_err){0};
    return 0;
}

/* Runs one group taken off the queue (c->mu not held). Writes that can
 * merge (commit_run_many) first run as one call each run of them: one
 * multi-row statement for a group's rows instead of one per caller. If a
 * merged call fails, the round is taken back and the group runs again
 * write by write, so the failing write is found and fails alone. */
static void commit_group(struct committer *c, commit_req *g)
{
    nudge_err e = {0};
    int merge = 1;
    for (int round = 0; round < COMMIT_ROUNDS; round++) {
        if (store_begin(c->db, &e) < 0) {
            commit_fail(g, &e);
            return;
        }
        commit_req *bad = NULL;
        int merged_failed = 0;
        for (commit_req *r = g, *next; r && !bad && !merged_failed; r = next) {
            next = r->next;
            if (r->alone)
                continue;
            int m = merge && r->many ? commit_merged(c, r, &next, &e) : 1;
            if (m < 0)
                merged_failed = 1;
            else if (m == 1 && commit_call(c, r) < 0)
                bad = r;
        }
        if (!bad && !merged_failed) {
            if (store_commit(c->db, &e) < 0)
                commit_fail(g, &e);
            return;
        }
        store_rollback(c->db);
        if ((bad ? bad->err.code : e.code) == NUDGE_ENOSPACE) {
            commit_fail(g, bad ? &bad->err : &e);
            return;
        }
        if (bad)
            bad->alone = 1; /* its answer is its error */
        else
            merge = 0;
    }
    for (commit_req *r = g; r; r = r->next) {
        if (r->alone)
            continue;
        if (store_begin(c->db, &r->err) < 0) {
            r->rc = -1;
            continue;
        }
        if (commit_call(c, r) < 0)
            store_rollback(c->db);
        else if (store_commit(c->db, &r->err) < 0)
            r->rc = -1;
    }
}

int commit_waiting(nudge *n)
{
    struct committer *c = n->commit;
    int k = 0;
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (commit_req *r = c->head; r; r = r->next)
        k++;
    pthread_mutex_unlock(&c->mu);
    return k;
}

/* Each waiter sleeps on its own word and is woken alone: when a group
 * ends, its members (to return) and the head of the queue (to lead the
 * next group). Measured with 16 callers, the one condition variable this
 * replaced woke every waiter at each group's end, and each went back to
 * sleep through the mutex the leader held: 17 futex calls per enqueue,
 * the largest system cost of the single add. A futex word on the
 * waiter's stack may be woken after its owner has returned (the wake
 * follows the store): a later wait at that address then sees a spurious
 * wake-up, which every wait here rechecks. */
static void commit_sleep(_Atomic uint32_t *w)
{
    while (atomic_load_explicit(w, memory_order_acquire) == REQ_WAIT)
        syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, REQ_WAIT, NULL, NULL, 0);
}

static void commit_wake(_Atomic uint32_t *w, uint32_t to)
{
    atomic_store_explicit(w, to, memory_order_release);
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Takes the next group off the queue (c->mu held). */
static commit_req *commit_take(struct committer *c)
{
    commit_req *g = c->head, *last = g;
    for (int k = 1; k < COMMIT_GROUP_MAX && last->next; k++)
        last = last->next;
    c->head = last->next;
    if (!c->head)
        c->tail = &c->head;
    last->next = NULL;
    return g;
}

int commit_run(nudge *n, commit_fn fn, void *arg, nudge_err *err)
{
    return commit_run_many(n, fn, NULL, 0, arg, err);
}

int commit_run_many(nudge *n, commit_fn fn, commit_many_fn many, int64_t key, void *arg,
                    nudge_err *err)
{
    struct committer *c = n->commit;
    /* Inside the caller's own transaction the write is that transaction's
     * (which holds the write lock the committer would wait for). */
    if (!c || n->db->tx_depth > 0)
        return 1;
    commit_req me = {.n = n, .fn = fn, .many = many, .key = key, .arg = arg};
    atomic_init(&me.state, REQ_WAIT);
    pthread_mutex_lock(&c->mu);
    *c->tail = &me;
    c->tail = &me.next;
    int lead = !c->leading;
    c->leading = 1;
    pthread_mutex_unlock(&c->mu);
    if (!lead) {
        commit_sleep(&me.state);
        if (atomic_load_explicit(&me.state, memory_order_acquire) == REQ_DONE)
            goto answer;
    }
    /* Leading: me is at the head of the queue, and no group runs. */
    pthread_mutex_lock(&c->mu);
    commit_req *g = commit_take(c);
    pthread_mutex_unlock(&c->mu);
    commit_group(c, g);
    for (commit_req *r = g, *next; r; r = next) {
        next = r->next; /* r may return and be gone once woken */
        if (r != &me)
            commit_wake(&r->state, REQ_DONE);
    }
    commit_checkpoint(c);
    pthread_mutex_lock(&c->mu);
    commit_req *heir = c->head;
    if (!heir)
        c->leading = 0;
    pthread_mutex_unlock(&c->mu);
    if (heir) /* still queued: it takes its group from the head */
        commit_wake(&heir->state, REQ_LEAD);
answer:
    if (me.rc < 0 && err)
        *err = me.err;
    return me.rc < 0 ? -1 : 0;
}

/* The enqueuers' reads (patient, clinic, template) on a few connections
 * of the committer's instead of each caller's own. SQLite drops a
 * connection's whole page cache when it finds that another connection
 * has committed, and the committer commits once a group: with 16 callers
 * each read scope found its cache stale and went back to pread for every
 * page (19% of the single add's profile). A shared reader finds it stale
 * once a group, and the next readers of that group read warm pages.
 * COMMIT_READERS of them, so two cores read at once. */
static struct commit_reader *commit_reader(struct committer *c)
{
    unsigned k = atomic_fetch_add_explicit(&c->next_reader, 1, memory_order_relaxed);
    struct commit_reader *r = NULL;
    for (int i = 0; i < COMMIT_READERS && !r; i++)
        if (pthread_mutex_trylock(&c->readers[(k + i) % COMMIT_READERS].mu) == 0)
            r = &c->readers[(k + i) % COMMIT_READERS];
    if (!r) {
        r = &c->readers[k % COMMIT_READERS];
        pthread_mutex_lock(&r->mu);
    }
    if (!r->db && !r->tried) {
        nudge_err lost = {0}; /* the caller reads on its own handle instead */
        r->tried = 1;
        if (store_open(c->url, &r->db, &lost) < 0)
            r->db = NULL;
    }
    if (!r->db) {
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    return r;
}

int commit_read(nudge *n, commit_fn fn, void *arg, nudge_err *err)
{
    struct committer *c = n->commit;
    /* Inside its own transaction the caller must read its own writes. */
    if (!c || n->db->tx_depth > 0)
        return 1;
    struct commit_reader *r = commit_reader(c);
    if (!r)
        return 1;
    nudge cn = *n;
    cn.db = r->db;
    store_read_begin(r->db);
    int rc = fn(&cn, arg, err);
    store_read_end(r->db);
    pthread_mutex_unlock(&r->mu);
    return rc < 0 ? -1 : 0;
}
