/*
 * nudge.c: the library handle. Opens the store, applies migrations, builds
 * the transports by walking the transports[] table (channel/transport.c)
 * and wires the modules together; nothing below calls up into it. Also
 * `nudge_tick`, the single pass the daemon, cron and tests all drive, and
 * the C API's transport registration and webhook verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <pthread.h>

#include "core.h"
#include "util.h"

void nudge_set_actor(nudge *n, const char *actor)
{
    snprintf(n->actor, sizeof n->actor, "%s", actor ? actor : "system");
}

void nudge_set_stop(nudge *n, volatile int *flag)
{
    n->stop = flag;
}

void nudge_on_sent(nudge *n, nudge_sent_fn fn, void *ctx)
{
    n->on_sent = fn;
    n->on_sent_ctx = ctx;
}

int nudge_wait(nudge *n, int timeout_ms, nudge_err *err)
{
    err_clear(err);
    return queue_wait(n, timeout_ms, err);
}

void nudge_on_log(nudge *n, void (*fn)(void *ctx, const char *msg), void *ctx)
{
    store_on_log(n->db, fn, ctx);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A worker's name, its leases' owner: "host:pid:process.handle". The host
 * and pid say who may judge whether it still runs (queue_release_dead:
 * only a worker on the same host, by the pid); the process token, drawn
 * once per process, tells a dead earlier incarnation that had our pid
 * from a handle of our own; the handle counts this process's handles. */
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static unsigned worker_token;
static int worker_handles;
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;
static void worker_token_once(void)
{
    unsigned char rnd[4] = {0};
    RAND_bytes(rnd, sizeof rnd);
    worker_token = (unsigned)rnd[0] << 24 | (unsigned)rnd[1] << 16 | (unsigned)rnd[2] << 8 | rnd[3];
}

static void nudge_worker_name(char *out, size_t size)
{
    pthread_once(&worker_once, worker_token_once);
    pthread_mutex_lock(&worker_lock);
    int handle = ++worker_handles;
    pthread_mutex_unlock(&worker_lock);
    char host[32] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '-'; /* the name's separator */
    snprintf(out, size, "%s:%d:%08x.%d", host, (int)getpid(), worker_token, handle);
}

int nudge_open(const nudge_config *given, nudge **out, nudge_err *err)
{
    /* Unset fields take the settings table's defaults, their only copy. */
    nudge_config full = *given;
    nudge_config_defaults(&full);
    const nudge_config *cfg = &full;
    err_clear(err);
    pthread_once(&curl_once, curl_init_once);
    nudge *n = calloc(1, sizeof *n);
    if (!n)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    if (cfg->clock) {
        n->clock = cfg->clock;
    } else {
        nudge_clock_system(&n->sysclock);
        n->clock = &n->sysclock;
    }
    nudge_set_actor(n, "system");
    nudge_worker_name(n->worker_id, sizeof n->worker_id);
    n->lease_seconds = cfg->lease_seconds;
    n->batch_size = cfg->batch_size;
    n->max_in_flight = cfg->max_in_flight;
    n->backup_dir = str_dup(cfg->backup_dir);
    n->backup_key = str_dup(cfg->backup_key);
    n->backup_keep = cfg->backup_keep;
    n->public_url = str_dup(cfg->public_url);
    n->unsubscribe_secret = str_dup(cfg->unsubscribe_secret);
    n->multi = curl_multi_init();
    if (!n->multi) {
        free(n);
        return err_set(err, NUDGE_ENOMEM, "", "cannot start libcurl");
    }
    if (tmpl_cache_new(&n->tmpl_cache) < 0) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto fail;
    }

    if (store_open(cfg->db, &n->db, err) < 0)
        goto fail;
    if (store_migrate(n->db, clock_now(n), NULL, err) < 0 || commit_attach(n, cfg->db, err) < 0)
        goto fail;
    /* The transports the configuration names, in the table's order. */
    for (const transport *const *t = transports; *t; t++) {
        channel *ch;
        if ((*t)->create(cfg, &ch, err) < 0)
            goto fail;
        if (ch)
            n->chans[n->nchans++] = ch;
    }
    static const char *const media[] = {"email", "sms", "whatsapp"};
    for (int m = 0; m < 3; m++) {
        n->carrier[m].medium = media[m];
        for (int i = 0; i < n->nchans && !n->carrier[m].ch; i++) {
            const channel *ch = n->chans[i];
            if (ch->sends && ch->t->medium && !strcmp(ch->t->medium, media[m]))
                n->carrier[m].ch = n->chans[i];
        }
        for (int i = 0; i < n->nchans && !n->carrier[m].ch; i++)
            if (!n->chans[i]->t->medium) /* the outbox: whatever nothing else carries */
                n->carrier[m].ch = n->chans[i];
    }
    *out = n;
    return 0;
fail:
    nudge_close(n);
    return -1;
}

void nudge_close(nudge *n)
{
    if (!n)
        return;
    /* Submitted writes finish first, while the handle they were copied
     * from is whole (their rows are the caller's promise to keep); their
     * answers have no one left to read them. */
    nudge_enqueued drop[32];
    while (nudge_enqueue_pending(n) > 0)
        nudge_enqueue_reap(n, drop, 32, 1);
    while (n->nchans > 0) {
        channel *ch = n->chans[--n->nchans];
        ch->t->free(ch);
    }
    if (n->multi)
        curl_multi_cleanup(n->multi);
    commit_async_free(n);
    commit_detach(n);
    store_close(n->db);
    task_fns_free(n);
    workflow_free(n);
    tmpl_cache_free(n->tmpl_cache);
    free(n->backup_dir);
    str_free_secret(n->backup_key);
    free(n->public_url);
    str_free_secret(n->unsubscribe_secret);
    free(n);
}

int nudge_transport_register(nudge *n, const nudge_transport *t, void *ctx, nudge_err *err)
{
    err_clear(err);
    int m = 0;
    while (m < 3 && (!t || !t->medium || strcmp(n->carrier[m].medium, t->medium)))
        m++;
    if (m == 3)
        return err_set(err, NUDGE_EINVAL, "medium", "a transport carries sms, whatsapp or email");
    if (n->nchans == (int)(sizeof n->chans / sizeof *n->chans))
        return err_set(err, NUDGE_EINVAL, "transport", "too many transports");
    channel *ch = channel_custom_new(t, ctx, err);
    if (!ch)
        return -1;
    n->chans[n->nchans++] = ch;
    n->carrier[m].ch = ch;
    return 0;
}

const char *nudge_transport_for(nudge *n, const char *medium)
{
    for (int m = 0; m < 3; m++)
        if (medium && !strcmp(n->carrier[m].medium, medium))
            return n->carrier[m].ch->name;
    return NULL;
}

int nudge_webhook_verify(nudge *n, const char *name, const nudge_webhook *w, nudge_err *err)
{
    err_clear(err);
    for (int i = 0; i < n->nchans; i++)
        if (n->chans[i]->t->verify && !strcmp(n->chans[i]->t->name, name))
            return n->chans[i]->t->verify(n->chans[i], w, err);
    /* Not built here: the transport says so in its own words. */
    for (const transport *const *t = transports; *t; t++)
        if ((*t)->verify && !strcmp((*t)->name, name))
            return (*t)->verify(NULL, w, err);
    return err_set(err, NUDGE_ENOTFOUND, "", "no transport %.32s takes callbacks", name);
}

int nudge_migrate(nudge *n, int *applied, nudge_err *err)
{
    return store_migrate(n->db, clock_now(n), applied, err);
}

int periodic_once(nudge *n, const char *job, int64_t slot,
                  int (*fn)(nudge *n, void *ctx, nudge_err *err), void *ctx, int *ran,
                  nudge_err *err)
{
    *ran = 0;
    /* No writers' lock: the primary key decides. A second worker's insert
     * waits for the first's commit and then finds the slot taken. */
    if (store_begin_own(n->db, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "INSERT INTO periodic_runs (job, slot, worker, ran_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (job, slot) DO NOTHING",
                   bind_text(job), bind_int(slot), bind_text(n->worker_id),
                   bind_int(clock_now(n))) < 0)
        goto fail;
    if (store_changes(n->db) == 0) {
        store_rollback(n->db);
        return 0;
    }
    /* Slots long past tell nothing: the table stays a few rows per job. */
    if (store_exec(n->db, err, "DELETE FROM periodic_runs WHERE job = ? AND slot < ?",
                   bind_text(job), bind_int(slot - 16)) < 0 ||
        fn(n, ctx, err) < 0)
        goto fail;
    if (store_commit(n->db, err) < 0)
        return -1;
    *ran = 1;
    return 0;
fail:
    store_rollback(n->db);
    return -1;
}

static int tick_reap(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    int reaped;
    return queue_reap(n, &reaped, err);
}

static int tick_rate_prune(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return queue_rate_prune(n, clock_now(n), err);
}

static int tick_fallbacks(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return queue_fallback_overdue(n, clock_now(n), err);
}

static int tick_staff_digest(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return staff_digest_scan(n, clock_now(n), err);
}

static int tick_hook_scan(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return hook_scan(n, clock_now(n), err);
}

/* Campaigns come due or go stale by the clock (broadcast.c): a
 * conditional UPDATE, in the gate's transaction. */
static int tick_broadcasts(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return broadcast_schedule(n, clock_now(n), err);
}

/* The events not yet consumed become workflow runs (workflow.c): the
 * safety net behind the caller that runs its own event's at once. The
 * runs themselves go on outside this transaction (nudge_tick), one
 * transaction per step. */
static int tick_workflow_events(nudge *n, void *ctx, nudge_err *err)
{
    (void)ctx;
    return workflow_fanout_pending(n, err);
}

/* The periodic jobs of a tick, each once per occurrence across every
 * worker. An occurrence is a second of the clock: a lease ends, and a
 * WhatsApp message becomes overdue, at a given second, and the tests'
 * fake clock steps to exactly that second. */
static const struct {
    const char *job;
    int period; /* seconds per occurrence */
    int (*run)(nudge *n, void *ctx, nudge_err *err);
} tick_jobs[] = {
    {"reap_leases", 1, tick_reap},
    {"rate_window_prune", 60, tick_rate_prune},
    {"whatsapp_fallback", 1, tick_fallbacks},
    /* staff.c, hook.c: the daily digests (each clinic's local time, looked
     * at each minute) and the scan of events into webhook deliveries. */
    {"staff_digest", 60, tick_staff_digest},
    {"hook_scan", 10, tick_hook_scan},
    {"broadcast_schedule", 1, tick_broadcasts},
    {"workflow_events", 1, tick_workflow_events},
    /* The recall, birthday and lab scans are built-in tasks (task.c). */
};

/* Batches of the planner (64 plans each) a tick runs before its first send. */
#define TICK_PLAN_AHEAD 16

static int tick_plan_step(nudge *n, void *ctx, nudge_tick_stats *st, nudge_err *err)
{
    return planner_step(n, *(const int64_t *)ctx, st, err);
}

int nudge_tick(nudge *n, nudge_tick_stats *st, nudge_err *err)
{
    nudge_tick_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    err_clear(err);
    int64_t now = clock_hold(n);
    int rc = 0, ran;
    for (size_t j = 0; j < sizeof tick_jobs / sizeof *tick_jobs && rc == 0; j++)
        rc = periodic_once(n, tick_jobs[j].job, now / tick_jobs[j].period, tick_jobs[j].run, NULL,
                           &ran, err);
    /* Rows a dead worker of this host left in flight come back at once,
     * not after their lease: a restarted worker frees its own. */
    int released;
    if (rc == 0)
        rc = queue_release_dead(n, &released, err);
    /* Before the planner: what a workflow plans for now goes this tick. */
    if (rc == 0)
        rc = workflow_run_due(n, now, err);
    /* A burst of plans (50,000 reminders due at 09:00) is not all made
     * messages before the first is sent: the planner's first
     * TICK_PLAN_AHEAD batches go first, the rest while those are in flight
     * (dispatch_run's aside, in the time it waits for the providers). A
     * tick with fewer due plans all made messages before any is sent. */
    if (rc == 0) {
        int more = planner_run(n, now, TICK_PLAN_AHEAD, st, err);
        dispatch_aside as = {more == 1 ? tick_plan_step : NULL, &now};
        rc = more < 0 || dispatch_run(n, now, st, &as, err) < 0 ? -1 : 0;
    }
    /* Broadcasts fan out after the sends, a bounded number of batches of
     * one transaction each, so they never hold a reminder up. */
    if (rc == 0)
        rc = broadcast_fanout(n, now, BROADCAST_BATCHES_PER_TICK, NULL, err);
    /* After the sends: a backup's minutes do not hold the reminders up. */
    if (rc == 0)
        rc = task_tick(n, now, NULL, err);
    /* Webhooks and staff messages: not a periodic job, as each delivery
     * is claimed on its own and any worker may send it (hook.c). */
    if (rc == 0)
        rc = hook_send_due(n, now, NULL, err);
    clock_release(n);
    return rc;
}

void nudge_read_begin(nudge *n)
{
    store_read_begin(n->db);
}

void nudge_read_end(nudge *n)
{
    store_read_end(n->db);
}
