/*
 * commit.c: group commit on SQLite (issue 16). Every handle of one database
 * file in this process shares a committer: its own connection, and a queue
 * of writes waiting for it. A caller reads and renders on its own handle,
 * then hands its write (a function and its argument) to commit_run and
 * waits. The first waiter with no group running leads: it takes every write
 * queued (up to COMMIT_GROUP_MAX), runs each in a savepoint of one
 * transaction on the committer's connection, commits once (one fsync under
 * synchronous=FULL) and wakes the group. A write that fails is rolled back
 * to its savepoint and fails alone; a failed commit fails the group. So
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "util.h"

#define COMMIT_GROUP_MAX 512
#define COMMIT_CKPT_FRAMES 1000
#define COMMIT_WAL_MAX 8000

typedef struct commit_req {
    nudge *n; /* the caller's handle: clock and actor */
    commit_fn fn;
    void *arg;
    int rc, done;
    nudge_err err;
    struct commit_req *next;
} commit_req;

struct committer {
    char *url;
    int refs;
    store *db;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    commit_req *head, **tail;
    int leading;
    struct committer *next;
};

/* Every committer of the process, one per database URL. */
static pthread_mutex_t commit_all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct committer *commit_all;

int commit_attach(nudge *n, const char *url, nudge_err *err)
{
    (void)err;
    n->commit = NULL;
    /* A database in memory is each connection's own: no second one. */
    if (!n->db->ops->wal_manual || strstr(url, ":memory:") || strstr(url, "mode=memory"))
        return 0;
    pthread_mutex_lock(&commit_all_mu);
    struct committer *c = commit_all;
    while (c && strcmp(c->url, url))
        c = c->next;
    if (!c) {
        nudge_err lost = {0}; /* the handle's own writes will say it, if it matters */
        c = calloc(1, sizeof *c);
        if (!c || !(c->url = str_dup(url)) || store_open(url, &c->db, &lost) < 0) {
            if (c)
                free(c->url);
            free(c);
            pthread_mutex_unlock(&commit_all_mu);
            return 0; /* direct writes, as on PostgreSQL */
        }
        c->db->ops->wal_manual(c->db);
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        c->tail = &c->head;
        c->next = commit_all;
        commit_all = c;
    }
    c->refs++;
    n->commit = c;
    pthread_mutex_unlock(&commit_all_mu);
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
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c->url);
        free(c);
    }
    pthread_mutex_unlock(&commit_all_mu);
}

/* One write in its savepoint, on the committer's connection: the caller's
 * handle as it is (clock, actor), its store swapped for the committer's. */
/* -1: the transaction is gone (an error SQLite answers by rolling it all
 * back, a full disk): the group fails. */
static int commit_one(struct committer *c, commit_req *r)
{
    nudge cn = *r->n;
    store *db = c->db;
    cn.db = db;
    if (db->ops->exec_script(db, "SAVEPOINT commit_item")) {
        r->rc = err_set(&r->err, NUDGE_ESTORE, "", "database: %s", db->ops->errmsg(db));
        return -1;
    }
    r->rc = r->fn(&cn, r->arg, &r->err);
    if (r->rc < 0) {
        if (db->ops->exec_script(db, "ROLLBACK TO commit_item"))
            return -1;
        db->tx_failed = 0; /* the savepoint took back all the failure did */
    }
    return db->ops->exec_script(db, "RELEASE commit_item") ? -1 : 0;
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

/* Runs one group taken off the queue (c->mu not held). */
static void commit_group(struct committer *c, commit_req *g)
{
    nudge_err e = {0};
    if (store_begin(c->db, &e) < 0) {
        for (commit_req *r = g; r; r = r->next)
            r->rc = -1, r->err = e;
        return;
    }
    commit_req *r = g;
    while (r && commit_one(c, r) == 0)
        r = r->next;
    if (r) { /* nothing of the group is written: each says why */
        err_set(&e, NUDGE_ESTORE, "", "database: %s", c->db->ops->errmsg(c->db));
        if (c->db->ops->cannot_write(c->db))
            e.code = NUDGE_ENOSPACE;
        store_rollback(c->db);
    } else if (store_commit(c->db, &e) == 0) {
        return;
    }
    for (r = g; r; r = r->next)
        if (r->rc >= 0 || !r->err.code)
            r->rc = -1, r->err = e;
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

int commit_run(nudge *n, commit_fn fn, void *arg, nudge_err *err)
{
    struct committer *c = n->commit;
    /* Inside the caller's own transaction the write is that transaction's
     * (which holds the write lock the committer would wait for). */
    if (!c || n->db->tx_depth > 0)
        return 1;
    commit_req me = {.n = n, .fn = fn, .arg = arg};
    pthread_mutex_lock(&c->mu);
    *c->tail = &me;
    c->tail = &me.next;
    while (!me.done) {
        if (c->leading) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        c->leading = 1;
        commit_req *g = c->head, *last = g;
        for (int k = 1; k < COMMIT_GROUP_MAX && last->next; k++)
            last = last->next;
        c->head = last->next;
        if (!c->head)
            c->tail = &c->head;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);
        commit_group(c, g);
        pthread_mutex_lock(&c->mu);
        for (commit_req *r = g, *next; r; r = next) {
            next = r->next; /* r may return and be gone once done is set */
            r->done = 1;
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        commit_checkpoint(c);
        pthread_mutex_lock(&c->mu);
        c->leading = 0;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (me.rc < 0 && err)
        *err = me.err;
    return me.rc < 0 ? -1 : 0;
}
