/*
 * commit.c: group commit (issue 16). Every handle of one database in this
 * process shares a committer: its own connection, and a queue of writes
 * waiting for it. A caller reads and renders (on SQLite on one of the
 * committer's readers, commit_read; on its own handle otherwise), then
 * hands its write (a function, its argument and its clinic) to commit_run
 * and waits, asleep until the leader wakes it: its group done, or its turn
 * to lead. The first waiter with no group running leads: it takes every
 * write queued (up to COMMIT_GROUP_MAX), runs them on the committer's
 * connection, commits and wakes the group. A write that fails fails alone
 * (the group is run again without it, commit_tx); a failed commit fails
 * the writes it carried. On SQLite the leader runs the writes queued when
 * it begins, then each that arrives while any is on its way (commit_stream:
 * a caller reading for its write, or a member of the last group not yet
 * gone), and commits once none is, or after COMMIT_GATHER_NS; on
 * PostgreSQL a group is the queue its leader takes. An idle database
 * commits a lone write at once.
 *
 * SQLite (one committer per database file and durability): the group is
 * one transaction, one fsync under synchronous=FULL, and callers never
 * wait in SQLite's busy handler for each other: only the leader takes the
 * write lock. The committer's connection runs no auto-checkpoint: between
 * groups its leader checkpoints PASSIVE once the WAL passes
 * COMMIT_CKPT_FRAMES, and TRUNCATE once it passes COMMIT_WAL_MAX (readers
 * held the PASSIVE ones back), so the WAL stays bounded. A checkpoint
 * never waits for a reader (the reader may be a caller waiting on the next
 * group): it is tried again after the next group, so only a reader held
 * open for good lets the WAL grow. Commits of other connections (the
 * dispatcher's) keep SQLite's own auto-checkpoint.
 *
 * PostgreSQL (one committer per URL, connecting at its first write, so a
 * process that never enqueues holds one session): a direct write holds its
 * clinic's advisory lock and the audit chain's to its commit, so 16
 * callers of one clinic ran one at a time, each paying a commit. The group
 * runs each clinic's writes (in their order) in one transaction of that
 * clinic (store_begin_clinic_key: its lock and its audit chain's taken
 * once, in the BEGIN's round trip, before any row), one clinic after the
 * other, so the lock order of store.h holds (never two clinics' locks at
 * once) and nothing here can wait in a cycle that a direct write could
 * not.
 *
 * A write may also be submitted (commit_submit) by a caller that goes on
 * instead of waiting: it is queued like the others, a group it begins is
 * led by the committer's own thread, and its answer is posted to its
 * handle's list for commit_reap, once its group is durable.
 *
 * When the committer's connection cannot be opened the handle writes
 * directly (commit_run answers 1); when a group's transaction fails (a
 * full disk, a lost server), each write of it fails with that error and
 * the next group begins afresh on the same connection.
 */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "util.h"

#define COMMIT_GROUP_MAX   512
#define COMMIT_CKPT_FRAMES 1000
#define COMMIT_WAL_MAX     8000
#define COMMIT_READERS     2
/* The longest a leader waits for writes on their way (commit_gather):
 * a few times an enqueue's reads (35 us) and a woken member's way out. */
#define COMMIT_GATHER_NS 500000L
static _Atomic long commit_gather_ns = COMMIT_GATHER_NS;

/* A waiter's word (commit_req.state): what the leader tells it. */
enum { REQ_WAIT, REQ_DONE, REQ_LEAD };

typedef struct commit_req {
    nudge *n; /* the caller's handle: clock and actor */
    int64_t clinic_id;
    commit_fn fn;
    void *arg;
    int64_t now; /* the caller's clock when its group began */
    int rc;
    _Atomic uint32_t state; /* REQ_*: set by the leader, then woken */
    int alone;              /* failed in a round of its group: not run again */
    int single;             /* in a joined call that failed: run by itself from then on */
    nudge_err err;
    struct commit_req *next; /* the queue, then the group */
    struct commit_req *run;  /* the writes of one transaction */
    struct commit_async *async; /* submitted (commit_submit): whose answer list; NULL: a waiter's */
} commit_req;

/* A submitted write (commit_submit): no caller waits on it, so it carries
 * a copy of its handle as it was when submitted (the caller goes on using
 * the handle on its own thread) and is answered into that handle's list. */
struct commit_sub {
    commit_req r; /* first: a commit_req * is a commit_sub * when r.async is set */
    nudge snap;
    struct commit_sub *done_next;
};

/* One handle's submitted writes: their answers in the order the groups
 * gave them, until commit_reap takes them. Written by whichever thread
 * leads; read by the handle's own. */
struct commit_async {
    pthread_mutex_t mu;
    struct commit_sub *done, **done_tail;
    size_t pending;          /* submitted, not yet reaped: the handle's thread's alone */
    _Atomic uint32_t posted; /* bumped with each answer posted; the reaper's futex word */
    atomic_int sleeping;
    void (*ready)(void *ctx); /* commit_ready's hook (mu) */
    void *ready_ctx;
};

/* A connection the enqueuers read on (commit_read), one at a time. */
struct commit_reader {
    pthread_mutex_t mu;
    store *db; /* opened at first use; NULL if it could not be */
    int tried;
};

struct committer {
    char *key; /* SQLite: the file's absolute name and the URL's options; PostgreSQL: the URL */
    char *url;
    int refs;
    int per_clinic; /* PostgreSQL: a transaction per clinic of the group */
    store *db;
    pthread_mutex_t mu;
    commit_req *head, **tail; /* waiting; a REQ_LEAD one stays at the head */
    int leading;
    _Atomic uint32_t woken; /* every waiter's futex word (commit_sleep) */
    /* Writes on their way (commit_gather), and the word a leader waiting
     * for them sleeps on. */
    atomic_int coming, gathering;
    _Atomic uint32_t gathered;
    int open_failed;                              /* PostgreSQL: the first write's connect failed */
    _Atomic long groups;                          /* commit_groups */
    struct commit_reader readers[COMMIT_READERS]; /* SQLite's */
    _Atomic unsigned next_reader;
    /* The committer's thread, started by the first commit_submit: it leads
     * a group whose first write no caller waits on. */
    pthread_t thread;
    int thread_started, thread_lead, thread_stop; /* c->mu */
    pthread_cond_t thread_cv;
    void *args[COMMIT_GROUP_MAX]; /* the leader's: one call's writes */
    struct committer *next;
};

static void commit_arrived(nudge *n);

/* Every committer of the process, one per database (file and options, or URL). */
static pthread_mutex_t commit_all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct committer *commit_all;

int commit_attach(nudge *n, const char *url, nudge_err *err)
{
    (void)err;
    n->commit = NULL;
    const struct store_ops *ops = n->db->ops;
    int per_clinic = ops->begin_clinic != NULL;
    /* A database in memory is each connection's own: no second one. */
    if ((!ops->wal_manual && !per_clinic) || strstr(url, ":memory:") || strstr(url, "mode=memory"))
        return 0;
    /* One committer per file and durability: "db", "./db" and the
     * absolute name are one file (two committers of one file would make
     * their groups wait for each other in the busy handler), while a
     * `?synchronous=normal` handle must not commit a FULL one's writes.
     * On PostgreSQL the URL itself: two spellings of one server make two
     * committers, which only take turns on the server's locks. */
    const char *file = per_clinic ? NULL : ops->file_name(n->db);
    const char *opt = per_clinic ? NULL : strrchr(url, '?');
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
        /* A PostgreSQL committer connects when its first write comes
         * (commit_run): a process that never enqueues (a worker, most CLI
         * commands) holds one session, not two. */
        if (!c || (!per_clinic && store_open(url, &c->db, &lost) < 0)) {
            free(c);
            free(key);
            pthread_mutex_unlock(&commit_all_mu);
            return 0; /* direct writes */
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
        c->per_clinic = per_clinic;
        if (c->db && c->db->ops->wal_manual)
            c->db->ops->wal_manual(c->db);
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->thread_cv, NULL);
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
    commit_arrived(n);
    n->commit = NULL;
    pthread_mutex_lock(&commit_all_mu);
    if (--c->refs == 0) {
        struct committer **p = &commit_all;
        while (*p != c)
            p = &(*p)->next;
        *p = c->next;
        if (c->thread_started) { /* idle: every handle drained its writes at close */
            pthread_mutex_lock(&c->mu);
            c->thread_stop = 1;
            pthread_cond_signal(&c->thread_cv);
            pthread_mutex_unlock(&c->mu);
            pthread_join(c->thread, NULL);
        }
        pthread_cond_destroy(&c->thread_cv);
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
 * fails the group at once: every write would meet it.
 *
 * Writes next to each other in a transaction join one call of their fn
 * when they can (commit_joins): the call writes them all in a few
 * multi-row statements, where one each cost a round trip a statement on
 * PostgreSQL (measured: ~5 a single add) and a statement's overhead per
 * row on SQLite. A joined call that fails does not say which of its
 * writes failed: they are run again each by itself, which spends no
 * round. */
#define COMMIT_ROUNDS 4

/* Whether b may join a's call: the same fn for the same clinic, and
 * handles that agree on what the call reads of them (commit_fn's
 * contract, core.h): the actor, and the instant their clocks gave when the
 * group began (the call holds that instant). */
static int commit_joins(const commit_req *a, const commit_req *b)
{
    return !a->single && !b->single && !b->alone && b->fn == a->fn &&
           b->clinic_id == a->clinic_id && b->now == a->now && !strcmp(b->n->actor, a->n->actor);
}

/* fn for the k writes in c->args, whose first is r, on a copy of r's
 * handle whose store is the committer's and whose clock holds r->now: the
 * write reads the caller's clock, actor and settings, and writes through
 * the committer's connection (commit_fn's contract, core.h). The answer
 * is r's (err in r->err); the others' once it is known to be theirs. */
static int commit_call(struct committer *c, commit_req *r, size_t k)
{
    nudge cn = *r->n;
    cn.db = c->db;
    cn.held = 1;
    cn.held_at = r->now;
    r->err = (nudge_err){0};
    r->rc = r->fn(&cn, c->args, k, &r->err);
    for (commit_req *q = r->run; r->rc == 0 && --k > 0; q = q->run)
        q->rc = 0;
    return r->rc;
}

/* r and the writes after it that join its call: their args in c->args,
 * their count; *after the write that follows them. */
static size_t commit_unit(struct committer *c, commit_req *r, commit_req **after)
{
    size_t k = 0;
    commit_req *q = r;
    do {
        c->args[k++] = q->arg;
        q = q->run;
    } while (q && commit_joins(r, q));
    *after = q;
    return k;
}

static void commit_fail(commit_req *g, const nudge_err *e)
{
    for (commit_req *r = g; r; r = r->run)
        if (!r->alone)
            r->rc = -1, r->err = *e;
}

/* The WAL's bound, between groups (the leader, the lock not held). */
static void commit_checkpoint(struct committer *c)
{
    store *db = c->db;
    if (!db->ops->wal_frames || db->ops->wal_frames(db) < COMMIT_CKPT_FRAMES)
        return;
    db->ops->checkpoint(db, STORE_CKPT_PASSIVE);
    if (db->ops->wal_frames(db) >= COMMIT_WAL_MAX)
        db->ops->checkpoint(db, STORE_CKPT_TRUNCATE);
}

/* After the k writes of a call from bad failed (the transaction rolled
 * back): a full disk fails the group (-1: every write would meet it); a
 * joined call's writes are each run by itself from now on (0: which of
 * them failed is not known); a write alone keeps its error as its answer
 * and is not run again (1: a round spent). */
static int commit_blame(commit_req *g, commit_req *bad, size_t k)
{
    if (bad->err.code == NUDGE_ENOSPACE) {
        commit_fail(g, &bad->err);
        return -1;
    }
    if (k > 1) {
        for (commit_req *q = bad; k > 0; q = q->run, k--)
            q->single = 1;
        return 0;
    }
    bad->alone = 1;
    return 1;
}

/* Runs the writes linked by `run` in one transaction (clinic_id: of
 * that clinic, under its lock; 0 any clinic's), each failing alone. */
static void commit_tx(struct committer *c, commit_req *g, int64_t clinic_id)
{
    nudge_err e = {0};
    atomic_fetch_add(&c->groups, 1);
    for (int round = 0; round < COMMIT_ROUNDS;) {
        /* The clinic's audit chain with the BEGIN: every write here is an
         * enqueue that appends to it (one round trip fewer a group). */
        if (store_begin_clinic_key(c->db, clinic_id, clinic_id > 0 ? audit_chain_key(clinic_id) : 0,
                                   &e) < 0) {
            commit_fail(g, &e);
            return;
        }
        commit_req *bad = NULL, *next;
        size_t badk = 0;
        for (commit_req *r = g; r && !bad; r = next) {
            next = r->run;
            if (r->alone)
                continue;
            size_t k = commit_unit(c, r, &next);
            if (commit_call(c, r, k) < 0)
                bad = r, badk = k;
        }
        if (!bad) {
            if (store_commit(c->db, &e) < 0)
                commit_fail(g, &e);
            return;
        }
        store_rollback(c->db);
        int blame = commit_blame(g, bad, badk);
        if (blame < 0)
            return;
        round += blame;
    }
    for (commit_req *r = g; r; r = r->run) {
        if (r->alone)
            continue;
        if (store_begin_clinic_key(c->db, clinic_id, clinic_id > 0 ? audit_chain_key(clinic_id) : 0,
                                   &r->err) < 0) {
            r->rc = -1;
            continue;
        }
        c->args[0] = r->arg;
        if (commit_call(c, r, 1) < 0)
            store_rollback(c->db);
        else if (store_commit(c->db, &r->err) < 0)
            r->rc = -1;
    }
}

/* Runs one group taken off the queue (c->mu not held), on PostgreSQL:
 * a transaction per clinic, in the order each clinic first appears, its
 * writes in theirs. (SQLite's leader streams its group: commit_stream.) */
static void commit_group(struct committer *c, commit_req *g)
{
    for (commit_req *r = g; r; r = r->next)
        if (!r->async) /* a submitted write's instant is its submission's */
            r->now = clock_now(r->n); /* its caller waits: the handle is still */
    for (commit_req *r = g; r; r = r->next)
        r->run = r; /* not yet in a transaction's list */
    for (commit_req *first = g; first; first = first->next) {
        if (first->run != first)
            continue;
        commit_req **tail = &first->run;
        *tail = NULL;
        for (commit_req *r = first->next; r; r = r->next)
            if (r->run == r && r->clinic_id == first->clinic_id) {
                *tail = r;
                tail = &r->run;
                *tail = NULL;
            }
        commit_tx(c, first, first->clinic_id);
    }
}

long commit_gather_set(long ns)
{
    return atomic_exchange(&commit_gather_ns, ns > 0 ? ns : COMMIT_GATHER_NS);
}

long commit_groups(nudge *n)
{
    return n->commit ? atomic_load(&n->commit->groups) : 0;
}

int commit_on_way(nudge *n)
{
    return n->commit ? atomic_load(&n->commit->coming) : 0;
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

/* Every waiter sleeps on the committer's word and is woken with the
 * others by one call when a group ends (commit_wake_all): its members,
 * to return, and the head of the queue, to lead the next. One call
 * instead of one a member: measured with 16 callers, waking 10-12
 * members one by one took the leader 140-180 us a group, longer than
 * any other step but the commit. Writes queued behind the group wake
 * too and sleep again; the gathering (below) leaves few of them. Each
 * waiter rechecks its own state, so a wake-up meant for others is
 * harmless. */
static void commit_sleep(struct committer *c, commit_req *r)
{
    for (;;) {
        uint32_t w = atomic_load(&c->woken);
        if (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_WAIT)
            return;
        syscall(SYS_futex, (uint32_t *)&c->woken, FUTEX_WAIT_PRIVATE, w, NULL, NULL, 0);
    }
}

static void commit_wake_all(struct committer *c)
{
    atomic_fetch_add(&c->woken, 1);
    syscall(SYS_futex, (uint32_t *)&c->woken, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Gathering (SQLite). A group's commit costs one fsync however many
 * writes it carries, so a leader that commits while writes are on their
 * way commits them in the next group, after another fsync. A write is on
 * its way from its caller's commit_read (the reads before it) to its
 * place in the queue, and a member of the group just committed from its
 * wake-up until it leaves commit_run (it may well enqueue again: a
 * library caller's loop, an API thread's next request). The leader
 * gathers (commit_gather) until none is, or COMMIT_GATHER_NS has passed
 * (a caller that reads long, or never writes after its read, costs a
 * group that much once). Measured with 16 callers on SQLite: groups of
 * 12 writes became groups of 16. Not on PostgreSQL: its groups are a
 * clinic's each, and its callers read for their writes in round trips,
 * so a leader waiting for them held the group without making it larger;
 * measured (16 callers, A/B pairs): the same rate, p99 7-8 -> 8-11 ms. */
static void commit_came(struct committer *c)
{
    atomic_fetch_sub(&c->coming, 1);
    if (atomic_load(&c->gathering)) { /* it runs each write as it comes */
        atomic_fetch_add(&c->gathered, 1);
        syscall(SYS_futex, (uint32_t *)&c->gathered, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

/* n's write, counted on its way by commit_read, is queued (or will not be). */
static void commit_arrived(nudge *n)
{
    if (n->commit_coming) {
        n->commit_coming = 0;
        commit_came(n->commit);
    }
}

/* Whether a write is queued for the streaming leader to take (1), or no
 * more is on its way or COMMIT_GATHER_NS has passed since *t0 (0). */
static int commit_gather(struct committer *c, const struct timespec *t0)
{
    int more = 0;
    for (;;) {
        uint32_t w = atomic_load(&c->gathered);
        atomic_store(&c->gathering, 1); /* before the checks: commit_came sees one or the other */
        pthread_mutex_lock(&c->mu);
        more = c->head != NULL;
        pthread_mutex_unlock(&c->mu);
        if (more || atomic_load(&c->coming) <= 0)
            break;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = atomic_load(&commit_gather_ns) - (t.tv_sec - t0->tv_sec) * 1000000000L -
                    (t.tv_nsec - t0->tv_nsec);
        if (left <= 0)
            break;
        struct timespec rel = {left / 1000000000L, left % 1000000000L};
        syscall(SYS_futex, (uint32_t *)&c->gathered, FUTEX_WAIT_PRIVATE, w, &rel, NULL, 0);
    }
    atomic_store(&c->gathering, 0);
    return more;
}

/* Whether a write is queued (the committer's thread streams what is
 * queued and commits once nothing is: commit_lead says why). */
static int commit_queued(struct committer *c)
{
    pthread_mutex_lock(&c->mu);
    int more = c->head != NULL;
    pthread_mutex_unlock(&c->mu);
    return more;
}

/* Takes the next group off the queue, at most max writes (c->mu held). */
static commit_req *commit_take_max(struct committer *c, int max)
{
    commit_req *g = c->head, *last = g;
    for (int k = 1; k < max && last->next; k++)
        last = last->next;
    c->head = last->next;
    if (!c->head)
        c->tail = &c->head;
    last->next = NULL;
    return g;
}

static commit_req *commit_take(struct committer *c)
{
    return commit_take_max(c, COMMIT_GROUP_MAX);
}

/* Writes just taken, readied to run in the group's transaction: each
 * with its caller's instant (its caller waits: the handle is still), in
 * their order; counted; the last of them. */
static commit_req *commit_stream_link(commit_req *r, int *count)
{
    commit_req *last = r;
    for (; r; r = r->next, ++*count) {
        if (!r->async)
            r->now = clock_now(r->n);
        r->run = r->next;
        last = r;
    }
    return last;
}

/* SQLite's leader, gathering while it writes: the writes queued now are
 * run at once in the group's transaction, and while writes are still on
 * their way (commit_gather: for at most COMMIT_GATHER_NS) each
 * that arrives is run in it too, then the group commits. Measured (single
 * add, 16 callers, a cycle of ~800 us for 15.5 writes): the leader waited
 * 160-200 us for the last members of the group before to come back, then
 * wrote for 180-220 us; each write now runs as it comes, on a core the
 * callers' reads leave free. A write that fails sends the whole group,
 * rolled back, through commit_tx's rounds. The group is returned linked by
 * `next`, every write answered. */
static commit_req *commit_stream(struct committer *c, int gather)
{
    nudge_err e = {0};
    pthread_mutex_lock(&c->mu);
    commit_req *g = commit_take(c), *from = g;
    pthread_mutex_unlock(&c->mu);
    int count = 0;
    commit_req *last = commit_stream_link(g, &count);
    atomic_fetch_add(&c->groups, 1);
    if (store_begin_clinic_key(c->db, 0, 0, &e) < 0) {
        commit_fail(g, &e);
        return g;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (commit_req *r = from, *next; r; r = next) {
            size_t k = commit_unit(c, r, &next);
            if (commit_call(c, r, k) < 0) {
                /* The group again, through commit_tx's rounds. */
                store_rollback(c->db);
                if (commit_blame(g, r, k) >= 0)
                    commit_tx(c, g, 0);
                return g;
            }
        }
        if (count >= COMMIT_GROUP_MAX || !(gather ? commit_gather(c, &t0) : commit_queued(c)))
            break;
        pthread_mutex_lock(&c->mu);
        commit_req *more = commit_take_max(c, COMMIT_GROUP_MAX - count);
        pthread_mutex_unlock(&c->mu);
        last->next = last->run = more;
        from = more;
        last = commit_stream_link(more, &count);
    }
    if (store_commit(c->db, &e) < 0)
        commit_fail(g, &e);
    return g;
}

/* Submitted writes' answers, r and those after it in the group of the
 * same handle, into that handle's list; its thread woken if it sleeps in
 * commit_reap, and its ready hook called. All of it under the list's
 * lock: once the lock is let go the answers may be reaped, the handle
 * closed and the list freed. Answers the write after them. */
static commit_req *commit_post(commit_req *r)
{
    struct commit_async *a = r->async;
    pthread_mutex_lock(&a->mu);
    for (; r && r->async == a; r = r->next) {
        struct commit_sub *sub = (struct commit_sub *)r;
        sub->done_next = NULL;
        *a->done_tail = sub;
        a->done_tail = &sub->done_next;
    }
    atomic_fetch_add(&a->posted, 1);
    if (atomic_load(&a->sleeping))
        syscall(SYS_futex, (uint32_t *)&a->posted, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    if (a->ready)
        a->ready(a->ready_ctx);
    pthread_mutex_unlock(&a->mu);
    return r;
}

/* Leads one group: the writes at the head of the queue (me, a waiter
 * leading, is the first; NULL: the committer's thread leads), answered;
 * then passes the lead to the next write queued, or gives it up. A waiter
 * heir leads its own group, woken with REQ_LEAD; a submitted one is led
 * by the committer's thread. Answers 1 when the thread (me NULL) is to
 * lead the next group itself.
 *
 * The thread does not gather (commit_gather): its writes come from
 * callers that do not wait for them, so a caller keeps its next write
 * coming while a group syncs, and the thread commits what is queued once
 * nothing is, the next group taking what came during the sync. Measured
 * (bench/queue -w async: one thread keeping 16 enqueues outstanding,
 * against -w single's 16 threads waiting, same disk, alternating): 24-34k
 * against 19-27k jobs/s, groups of 15 both; a 16-thread round paid about
 * two context switches a job, this one a wake of the submitter a group
 * (37 us). */
static int commit_lead(struct committer *c, commit_req *me)
{
    commit_req *g;
    if (c->per_clinic) { /* no gathering (above, commit_came) */
        pthread_mutex_lock(&c->mu);
        g = commit_take(c);
        pthread_mutex_unlock(&c->mu);
        commit_group(c, g);
    } else {
        g = commit_stream(c, me != NULL);
    }
    int woke = 0;
    for (commit_req *r = g, *next; r; r = next) {
        if (r->async) {
            next = commit_post(r);
            continue;
        }
        next = r->next; /* once answered, r may return and be gone */
        atomic_fetch_add(&c->coming, 1); /* on its way out (and maybe back) */
        if (r != me) {
            atomic_store_explicit(&r->state, REQ_DONE, memory_order_release);
            woke = 1;
        }
    }
    if (woke)
        commit_wake_all(c);
    commit_checkpoint(c); /* while the members return */
    int again = 0;
    pthread_mutex_lock(&c->mu);
    commit_req *heir = c->head;
    if (!heir) {
        c->leading = 0;
    } else if (!heir->async) { /* still queued: it takes its group from the head */
        atomic_store_explicit(&heir->state, REQ_LEAD, memory_order_release);
    } else if (me) {
        c->thread_lead = 1;
        pthread_cond_signal(&c->thread_cv);
    } else {
        again = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (heir && !heir->async)
        commit_wake_all(c);
    return again;
}

int commit_run(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err)
{
    struct committer *c = n->commit;
    /* Inside the caller's own transaction the write is that transaction's
     * (which holds the write lock, or the clinic's, the committer would
     * wait for). */
    if (!c || n->db->tx_depth > 0) {
        if (c)
            commit_arrived(n);
        return 1;
    }
    commit_req me = {.n = n, .clinic_id = clinic_id, .fn = fn, .arg = arg};
    atomic_init(&me.state, REQ_WAIT);
    pthread_mutex_lock(&c->mu);
    if (!c->db && !c->open_failed) { /* PostgreSQL's, at its first write */
        nudge_err lost = {0};        /* the caller's direct write will say it */
        if (store_open(c->url, &c->db, &lost) < 0)
            c->db = NULL, c->open_failed = 1;
    }
    if (!c->db) {
        pthread_mutex_unlock(&c->mu);
        commit_arrived(n);
        return 1;
    }
    *c->tail = &me;
    c->tail = &me.next;
    int lead = !c->leading;
    c->leading = 1;
    commit_arrived(n); /* queued, under c->mu: no leader can have taken the queue without it */
    pthread_mutex_unlock(&c->mu);
    if (!lead) {
        commit_sleep(c, &me);
        if (atomic_load_explicit(&me.state, memory_order_acquire) == REQ_DONE) {
            commit_came(c);
            goto answer;
        }
    }
    /* Leading: me is at the head of the queue, and no group runs. */
    commit_lead(c, &me);
    commit_came(c);
answer:
    if (me.rc < 0 && err)
        *err = me.err;
    return me.rc < 0 ? -1 : 0;
}

/* The committer's thread: leads the groups whose first write was
 * submitted, while there are any, then sleeps until told to lead again. */
static void *commit_thread(void *arg)
{
    struct committer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->thread_lead && !c->thread_stop)
            pthread_cond_wait(&c->thread_cv, &c->mu);
        if (!c->thread_lead)
            break;
        c->thread_lead = 0;
        pthread_mutex_unlock(&c->mu);
        while (commit_lead(c, NULL))
            ;
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* n's list of answers, made at its first submission. */
static struct commit_async *commit_async_of(nudge *n)
{
    if (!n->async && (n->async = calloc(1, sizeof *n->async))) {
        pthread_mutex_init(&n->async->mu, NULL);
        n->async->done_tail = &n->async->done;
    }
    return n->async;
}

int commit_submit(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err)
{
    struct commit_async *a = commit_async_of(n);
    struct commit_sub *sub = a ? calloc(1, sizeof *sub) : NULL;
    if (!sub) {
        commit_arrived(n);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    commit_req *r = &sub->r;
    *r = (commit_req){.n = &sub->snap, .clinic_id = clinic_id, .fn = fn, .arg = arg, .async = a};
    sub->snap = *n;
    r->now = clock_now(n);
    a->pending++;
    struct committer *c = n->commit;
    int queued = 0;
    if (c && n->db->tx_depth == 0) {
        pthread_mutex_lock(&c->mu);
        if (!c->db && !c->open_failed) { /* PostgreSQL's, at its first write */
            nudge_err lost = {0};        /* the direct write below will say it */
            if (store_open(c->url, &c->db, &lost) < 0)
                c->db = NULL, c->open_failed = 1;
        }
        if (c->db && !c->thread_started &&
            pthread_create(&c->thread, NULL, commit_thread, c) == 0)
            c->thread_started = 1;
        if (c->db && c->thread_started) {
            *c->tail = r;
            c->tail = &r->next;
            if (!c->leading) {
                c->leading = 1;
                c->thread_lead = 1;
                pthread_cond_signal(&c->thread_cv);
            }
            queued = 1;
        }
        commit_arrived(n); /* under c->mu, as commit_run's */
        pthread_mutex_unlock(&c->mu);
    }
    if (!queued) { /* written now, in a transaction of its own, and answered */
        r->rc = commit_direct(n, clinic_id, fn, arg, &r->err);
        commit_post(r);
    }
    return 0;
}

size_t commit_reap(nudge *n, size_t max, size_t min, commit_answer_fn each, void *ctx)
{
    struct commit_async *a = n->async;
    size_t got = 0;
    if (!a)
        return 0;
    if (min > a->pending)
        min = a->pending;
    if (min > max)
        min = max;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        struct commit_sub *list = a->done, *last = NULL;
        size_t k = 0;
        for (struct commit_sub *s = list; s && got + k < max; s = s->done_next)
            last = s, k++;
        if (last) {
            a->done = last->done_next;
            if (!a->done)
                a->done_tail = &a->done;
            last->done_next = NULL;
        }
        pthread_mutex_unlock(&a->mu);
        for (struct commit_sub *s = list, *next; k > 0 && s; s = next) {
            next = s->done_next;
            each(ctx, s->r.arg, s->r.rc < 0 ? -1 : 0, &s->r.err);
            free(s);
            got++;
            a->pending--;
        }
        if (got >= min)
            return got;
        uint32_t w = atomic_load(&a->posted);
        atomic_store(&a->sleeping, 1);
        pthread_mutex_lock(&a->mu);
        int empty = a->done == NULL;
        pthread_mutex_unlock(&a->mu);
        if (empty)
            syscall(SYS_futex, (uint32_t *)&a->posted, FUTEX_WAIT_PRIVATE, w, NULL, NULL, 0);
        atomic_store(&a->sleeping, 0);
    }
}

int commit_ready(nudge *n, void (*fn)(void *ctx), void *ctx)
{
    struct commit_async *a = commit_async_of(n);
    if (!a)
        return -1;
    pthread_mutex_lock(&a->mu);
    a->ready = fn;
    a->ready_ctx = ctx;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

size_t commit_pending(nudge *n)
{
    return n->async ? n->async->pending : 0;
}

void commit_async_free(nudge *n)
{
    if (!n->async)
        return;
    pthread_mutex_destroy(&n->async->mu);
    free(n->async);
    n->async = NULL;
}

int commit_direct(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err)
{
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    void *one = arg;
    if (fn(n, &one, 1, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
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

int commit_read(nudge *n, commit_read_fn fn, void *arg, nudge_err *err)
{
    struct committer *c = n->commit;
    /* Inside its own transaction the caller must read its own writes. */
    if (!c || n->db->tx_depth > 0)
        return 1;
    if (!n->commit_coming) { /* its write is on its way (commit_gather) */
        n->commit_coming = 1;
        atomic_fetch_add(&c->coming, 1);
    }
    /* A PostgreSQL connection keeps no page cache to find stale: the
     * caller's own serves, as it does when no reader could be opened. */
    struct commit_reader *r = c->per_clinic ? NULL : commit_reader(c);
    nudge cn = *n;
    cn.db = r ? r->db : n->db;
    store_read_begin(cn.db);
    int rc = fn(&cn, arg, err);
    store_read_end(cn.db);
    if (r)
        pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        commit_arrived(n); /* no write follows */
    return rc < 0 ? -1 : 0;
}
