/*
 * cli/run.c: the commands that run nudge rather than change records:
 * `migrate`, `tick` (one pass, for cron and replays), `serve` (the HTTP
 * API and the loop until SIGTERM), `worker` (the same loop without the
 * API: as many as the load needs, on one PostgreSQL database) and `demo`
 * (a replay in a scratch database).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "demo.h"
#include "http/server.h"

const char *const cli_help_migrate =
    "usage: nudge migrate\n\nApplies the database migrations not yet applied (also done at "
    "every start).\n";

const char *const cli_help_tick =
    "usage: nudge tick [--now TIME] [--outbox DIR]\n"
    "\n"
    "Runs one scheduler pass (due plans become notifications) and one dispatcher\n"
    "pass (due notifications are sent), prints what it did, and exits. For cron\n"
    "deployments and for replaying a moment: --now sets the clock.\n";

const char *const cli_help_serve =
    "usage: nudge serve [--listen HOST:PORT|none] [--demo] [--interval SECONDS]\n"
    "\n"
    "Serves the HTTP API (default 127.0.0.1:8080) and runs the scheduler and\n"
    "dispatcher until SIGTERM or SIGINT; then stops accepting requests, lets\n"
    "those in flight finish, finishes the batch in hand and exits.\n"
    "--demo first creates a demo clinic with patients and appointments if the\n"
    "database has no clinic. When no API key exists yet, an admin key for the\n"
    "first clinic is created and printed, once (on an empty database, with a\n"
    "clinic \"My clinic\" to hold it, whose settings PATCH /v1/clinic changes).\n";

const char *const cli_help_worker =
    "usage: nudge worker [--interval SECONDS]\n"
    "\n"
    "Runs the scheduler and dispatcher, without the HTTP API, until SIGTERM or\n"
    "SIGINT; then finishes the batch in hand and exits. Any number of workers\n"
    "(and serve processes) can share one PostgreSQL database: each message is\n"
    "claimed by one of them, rate limits and periodic jobs are shared, and\n"
    "an idle worker wakes as soon as work is enqueued (--interval, default 5,\n"
    "is the longest it waits otherwise).\n";

const char *const cli_help_demo =
    "usage: nudge demo [--days N]\n"
    "\n"
    "Creates a demo clinic, patients and appointments in a scratch database and\n"
    "replays N days (default 3) on a simulated clock, printing every message\n"
    "as it is sent. Touches nothing outside a temporary folder.\n";

int cli_migrate(cli_ctx *c)
{
    int rc;
    if ((rc = cli_open(c)))
        return rc;
    printf("schema up to date\n");
    return 0;
}

int cli_tick(cli_ctx *c)
{
    int rc;
    if (c->a.npos)
        return cli_usage(c->cmd, "unexpected argument \"%s\"", c->a.pos[0]);
    if ((rc = cli_open(c)))
        return rc;
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(c->n, &st, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("enqueued %d, expired %d, sent %d, retrying %d, failed %d, deferred %d\n",
           st.planned_enqueued, st.expired, st.sent, st.retried, st.failed, st.deferred);
    return 0;
}

static volatile int cli_stopping; /* int, not sig_atomic_t: the library reads it */
static void cli_on_signal(int sig)
{
    (void)sig;
    cli_stopping = 1;
}

/* A provider's error text can quote the recipient ("The 'To' number
 * +91... is not valid"): runs of 8 or more digits (no error code is that
 * long) are masked before a reason reaches the log. */
static void cli_log_redact(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < n;) {
        size_t d = strspn(in + i, "0123456789");
        if (d >= 8) {
            if (o > 0 && out[o - 1] == '+')
                o--;
            out[o++] = '#';
            i += d;
        } else if (d) {
            size_t k = d < n - o - 1 ? d : n - o - 1;
            memcpy(out + o, in + i, k);
            o += k;
            i += d;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = 0;
}

static void cli_log_sent(void *x, const nudge_notification *m, const char *outcome)
{
    (void)x;
    /* Ids and kinds only: no names, numbers or message text in logs. */
    char why[256] = "", safe[512], tmpl[256];
    if (strcmp(outcome, "sent"))
        cli_log_redact(m->last_error, why, sizeof why);
    fprintf(stderr, "nudge: notification %lld clinic %lld %s %s attempt %d: %s%s%s\n",
            (long long)m->id, (long long)m->clinic_id, m->channel,
            nudge_log_text(tmpl, sizeof tmpl, m->template_name, strlen(m->template_name)),
            m->attempts, outcome, why[0] ? " - " : "",
            nudge_log_text(safe, sizeof safe, why, strlen(why)));
}

static int cli_first_clinic(void *x, const nudge_clinic *cl)
{
    *(int64_t *)x = cl->id;
    return 1;
}

/* The first admin key, so a fresh install can be used over HTTP at once. */
static int cli_bootstrap_key(cli_ctx *c)
{
    int64_t keys = 0, clinic = 0;
    nudge_err e = {0};
    if (nudge_key_count(c->n, &keys, &e) < 0 ||
        nudge_clinic_list(c->n, 0, 1, cli_first_clinic, &clinic, &e) < 0)
        return cli_fail(c->cmd, &e);
    if (keys)
        return 0;
    if (!clinic) {
        /* An empty database: a clinic to hold the key, whose settings the
         * admin then sets with PATCH /v1/clinic (or nudge clinic ...). */
        nudge_clinic cl;
        nudge_clinic_defaults(&cl);
        strcpy(cl.name, "My clinic");
        strcpy(cl.timezone, "UTC");
        strcpy(cl.country, "US");
        if (nudge_clinic_add(c->n, &cl, &e) < 0)
            return cli_fail(c->cmd, &e);
        clinic = cl.id;
        fprintf(stderr, "nudge: empty database: created clinic %lld \"My clinic\" (UTC, US); set "
                        "its name, time zone and country with PATCH /v1/clinic\n",
                (long long)clinic);
    }
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    if (nudge_key_create(c->n, clinic, NUDGE_ROLE_ADMIN, "first admin key", &k, secret, &e) < 0)
        return cli_fail(c->cmd, &e);
    fprintf(stderr, "nudge: created the first admin key for clinic %lld; it is shown only now:\n",
            (long long)clinic);
    printf("%s\n", secret);
    fflush(stdout);
    memset(secret, 0, sizeof secret);
    return 0;
}

static void cli_log_store(void *x, const char *msg)
{
    (void)x;
    char safe[1024]; /* a server's message can quote what a client sent */
    fprintf(stderr, "nudge: %s\n", nudge_log_text(safe, sizeof safe, msg, strlen(msg)));
}

static int cli_interval(cli_ctx *c, int *interval)
{
    const char *v = cli_arg(&c->a, "interval");
    *interval = 5;
    return v ? cli_parse_int(c->cmd, "--interval", v, 1, 3600, interval) : 0;
}

/* What serve and worker share: the signals and the log (cli_run_setup),
 * and the loop of ticks until a signal (cli_run_ticks); between ticks the wait ends early when another
 * process enqueues due work (nudge_wait). A tick that fails (the database
 * went away) is logged and the next one tries again. */
static void cli_run_setup(cli_ctx *c)
{
    struct sigaction sa = {0};
    sa.sa_handler = cli_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit reached is the store's error to answer (503),
     * not the end of the process. */
    signal(SIGXFSZ, SIG_IGN);
    nudge_on_sent(c->n, cli_log_sent, NULL);
    nudge_on_log(c->n, cli_log_store, NULL);
    nudge_set_stop(c->n, &cli_stopping);
}

static void cli_run_ticks(cli_ctx *c, int interval)
{
    nudge_err e = {0};
    char said[sizeof e.msg] = ""; /* a failure repeating is logged once */
    while (!cli_stopping) {
        nudge_tick_stats st;
        if (nudge_tick(c->n, &st, &e) < 0) {
            if (strcmp(said, e.msg))
                fprintf(stderr, "nudge: tick failed: %s\n", e.msg);
            memcpy(said, e.msg, sizeof said);
        } else if (said[0]) {
            fprintf(stderr, "nudge: ticks go through again\n");
            said[0] = 0;
        }
        /* Waiting is not reading time: the clock stays the only source of
         * "now"; a signal cuts the wait short. */
        if (!cli_stopping && nudge_wait(c->n, interval * 1000, &e) < 0) {
            /* No connection to wait on: wait without one. */
            struct timespec ts = {interval, 0};
            while (!cli_stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
    }
}

int cli_worker(cli_ctx *c)
{
    int rc, interval;
    if (c->a.npos)
        return cli_usage(c->cmd, "unexpected argument \"%s\"", c->a.pos[0]);
    if ((rc = cli_interval(c, &interval)) || (rc = cli_open(c)))
        return rc;
    cli_run_setup(c);
    fprintf(stderr, "nudge: worker on %s; stop with SIGTERM\n",
            strncmp(c->cfg.db, "postgres", 8) ? c->cfg.db : "PostgreSQL");
    cli_run_ticks(c, interval);
    fprintf(stderr, "nudge: stopped\n");
    return 0;
}

int cli_serve(cli_ctx *c)
{
    int rc, interval;
    if ((rc = cli_interval(c, &interval)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (cli_arg(&c->a, "demo")) {
        int64_t clinic;
        if (demo_seed(c->n, nudge_now(c->n), &clinic, &e) < 0)
            return cli_fail(c->cmd, &e);
        if (clinic)
            fprintf(stderr, "nudge: created demo clinic %lld\n", (long long)clinic);
    }
    if ((rc = cli_bootstrap_key(c)))
        return rc;
    cli_run_setup(c);
    const char *listen = cli_arg(&c->a, "listen") ? cli_arg(&c->a, "listen") : "127.0.0.1:8080";
    http_server *api = NULL;
    if (strcmp(listen, "none")) {
        http_config hc = {.listen = listen, .nudge = c->cfg, .access_log = 1};
        if (http_start(&hc, &api, &e) < 0)
            return cli_fail(c->cmd, &e);
        fprintf(stderr, "nudge: API on http://%.*s:%d\n", (int)(strrchr(listen, ':') - listen),
                listen, http_port(api));
    }
    /* Through the settings' formatter: a password inside the database URL
     * is masked, never logged. */
    char db[512];
    nudge_setting_format(nudge_setting_find("db"), &c->cfg, db, sizeof db);
    fprintf(stderr, "nudge: serving %s (outbox %s); stop with SIGTERM\n", db,
            c->cfg.outbox_dir);
    cli_run_ticks(c, interval);
    http_stop(api);
    fprintf(stderr, "nudge: stopped\n");
    return 0;
}

int cli_demo(cli_ctx *c)
{
    int days = 3, rc;
    const char *v;
    if ((v = cli_arg(&c->a, "days")) && (rc = cli_parse_int(c->cmd, "--days", v, 1, 30, &days)))
        return rc;
    nudge_err e = {0};
    if (demo_replay(stdout, days, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}
