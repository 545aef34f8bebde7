/*
 * cli/run.c: the commands that run nudge rather than change records:
 * `migrate`, `tick` (one pass, for cron and replays), `serve` (the HTTP
 * API and the loop until SIGTERM), `worker` (the same loop without the
 * API: as many as the load needs, on one PostgreSQL database), `demo`
 * (a replay in a scratch database) and `version`.
 *
 * Under systemd (Type=notify, dist/nudge.service) serve and worker tell
 * the service manager through libsystemd's sd_notify when they are ready,
 * pet its watchdog at every pass of the loop, and say when they stop;
 * outside systemd those calls do nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

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
    "Serves the HTTP API and runs the scheduler and dispatcher until SIGTERM or\n"
    "SIGINT; then stops accepting requests, lets those in flight finish,\n"
    "finishes the batch in hand and exits. --listen (else $NUDGE_LISTEN, else\n"
    "127.0.0.1:8080) is where the API listens; port 0 picks a free one; none\n"
    "serves no API. A SQLite database's folder is made if it is missing.\n"
    "--demo first creates a demo clinic with patients and appointments if the\n"
    "database has no clinic. When no API key exists yet, an admin key for the\n"
    "first clinic is created and printed, once (on an empty database, with a\n"
    "clinic \"My clinic\" to hold it, whose settings PATCH /v1/clinic changes);\n"
    "later starts print the `nudge key create` command that makes another.\n"
    "At start it prints where messages go and, for a single clinic, when (its\n"
    "quiet hours). Under systemd (Type=notify) it reports readiness and pets\n"
    "the watchdog.\n";

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
    "usage: nudge demo [--days N] [--keep]\n"
    "\n"
    "Creates a demo clinic, patients and appointments in a scratch database and\n"
    "replays N days (default 3) on a simulated clock, printing every message\n"
    "as it is sent. Touches nothing outside a temporary folder (under $TMPDIR,\n"
    "else /tmp), which is removed at the end unless --keep is given.\n";

const char *const cli_help_version =
    "usage: nudge version (or nudge --version)\n"
    "\n"
    "Prints this build's version and the schema version its migrations reach.\n";

int cli_version(cli_ctx *c)
{
    (void)c;
    printf("nudge %s, schema version %d\n", NUDGE_VERSION, nudge_schema_built());
    return 0;
}

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
    /* A deferral's note says it all: "deferred until <when>: <why>". */
    int deferral = !strncmp(why, "deferred until ", 15);
    fprintf(stderr, "nudge: notification %lld clinic %lld %s %s attempt %d: %s%s%s\n",
            (long long)m->id, (long long)m->clinic_id, m->channel,
            nudge_log_text(tmpl, sizeof tmpl, m->template_name, strlen(m->template_name)),
            m->attempts, deferral ? "" : outcome, deferral || !why[0] ? "" : " - ",
            nudge_log_text(safe, sizeof safe, why, strlen(why)));
}

static int cli_first_clinic(void *x, const nudge_clinic *cl)
{
    *(int64_t *)x = cl->id;
    return 1;
}

static int cli_active_admin(void *x, const nudge_key *k)
{
    if (k->role == NUDGE_ROLE_ADMIN && !k->revoked_at)
        ++*(int64_t *)x;
    return 0;
}

/* The command that makes another admin key for this database: a key is
 * shown only once, so a second start says how to get one. A database URL
 * whose password the log masks is left for the reader to fill in. */
static void cli_key_hint(cli_ctx *c, int64_t clinic, int64_t admins)
{
    char db[512];
    nudge_setting_format(nudge_setting_find("db"), &c->cfg, db, sizeof db);
    int masked = strcmp(db, c->cfg.db) != 0;
    fprintf(stderr,
            "nudge: %s; to make another: nudge --db %s%s%s key create --clinic %lld --role admin\n",
            admins ? "the admin key was shown when it was made and is kept only as a hash"
                   : "this database has no active admin key",
            masked ? "'" : "", masked ? "DATABASE_URL" : db, masked ? "'" : "",
            (long long)clinic);
}

/* The first admin key, so a fresh install can be used over HTTP at once;
 * on later starts, how to make another. */
static int cli_bootstrap_key(cli_ctx *c)
{
    int64_t keys = 0, clinic = 0, admins = 0;
    nudge_err e = {0};
    if (nudge_key_count(c->n, &keys, &e) < 0 ||
        nudge_clinic_list(c->n, 0, 1, cli_first_clinic, &clinic, &e) < 0 ||
        (keys && nudge_key_list(c->n, NUDGE_ANY_CLINIC, cli_active_admin, &admins, &e) < 0))
        return cli_fail(c->cmd, &e);
    if (keys) {
        cli_key_hint(c, clinic, admins);
        return 0;
    }
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
    /* Under a systemd watchdog the loop pets it at every pass, so no wait
     * may outlast half its period. */
    uint64_t wd_usec = 0;
    int wait_ms = interval * 1000;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec / 2000 < (uint64_t)wait_ms)
        wait_ms = wd_usec / 2000 > 0 ? (int)(wd_usec / 2000) : 1;
    sd_notify(0, "READY=1\nSTATUS=serving");
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
        /* Only a loop that still runs passes: a hung tick misses it. */
        sd_notify(0, "WATCHDOG=1");
        /* Waiting is not reading time: the clock stays the only source of
         * "now"; a signal cuts the wait short. */
        if (!cli_stopping && nudge_wait(c->n, wait_ms, &e) < 0) {
            /* No connection to wait on: wait without one. */
            struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
            while (!cli_stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
    }
    sd_notify(0, "STOPPING=1");
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

/* The system's reason a listen failed: the bind retried here, as the
 * server does not keep errno. "" when the bind works now. */
static void cli_listen_reason(const char *addr, char *buf, size_t n)
{
    buf[0] = 0;
    const char *colon = strrchr(addr, ':');
    char host[64];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) {
        snprintf(buf, n, "%s", strerror(errno));
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
        snprintf(buf, n, "%s", strerror(errno));
    close(fd);
}

/* A SQLite file's folder (serve --db run/nudge.db on a fresh checkout). */
static int cli_db_folder(cli_ctx *c)
{
    const char *db = c->cfg.db;
    const char *slash = db ? strrchr(db, '/') : NULL;
    if (!slash || slash == db || strstr(db, "://"))
        return 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - db), db);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0750);
            *p = '/';
        }
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        fprintf(stderr, "nudge %s: cannot make the database's folder %s: %s\n", c->cmd, dir,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int cli_two_clinics(void *x, const nudge_clinic *cl)
{
    int64_t *ids = x;
    ids[ids[2]++] = cl->id;
    return ids[2] == 2;
}

/* One line on where messages go (a provider per channel, else the outbox)
 * and, for a single clinic, when: quiet hours hold messages until they
 * end, which is what an empty outbox usually means. */
static void cli_where_and_when(cli_ctx *c)
{
    const nudge_config *g = &c->cfg;
    char where[512];
    const char *sms = g->msg91_authkey ? "by MSG91" : g->twilio_account_sid ? "by Twilio" : NULL;
    if (!g->smtp_url && !sms && !g->whatsapp_phone_number_id)
        snprintf(where, sizeof where, "messages go to the folder %s (no provider is set)",
                 g->outbox_dir);
    else
        snprintf(where, sizeof where, "email goes %s, SMS %s, WhatsApp %s (outbox: %s)",
                 g->smtp_url ? "by SMTP" : "to the outbox", sms ? sms : "to the outbox",
                 g->whatsapp_phone_number_id ? "by the Cloud API" : "to the outbox",
                 g->outbox_dir);
    int64_t ids[3] = {0, 0, 0}; /* the first two clinics, and how many */
    nudge_err e = {0};
    nudge_clinic cl;
    char when[256] = "";
    if (nudge_clinic_list(c->n, 0, 2, cli_two_clinics, ids, &e) == 0 && ids[2] > 1)
        snprintf(when, sizeof when, "; each clinic's quiet hours hold messages until they end");
    else if (ids[2] == 1 && nudge_clinic_get(c->n, ids[0], &cl, &e) == 0) {
        char qs[8], qe[8], now[40];
        cli_hhmm(cl.quiet_start, qs, sizeof qs);
        cli_hhmm(cl.quiet_end, qe, sizeof qe);
        nudge_time_format(nudge_now(c->n), cl.timezone, now, sizeof now);
        int m = atoi(now + 11) * 60 + atoi(now + 14);
        int quiet = cl.quiet_start != cl.quiet_end &&
                    (cl.quiet_start < cl.quiet_end
                         ? m >= cl.quiet_start && m < cl.quiet_end
                         : m >= cl.quiet_start || m < cl.quiet_end);
        if (cl.quiet_start == cl.quiet_end)
            snprintf(when, sizeof when, "; clinic %lld sends at any hour", (long long)cl.id);
        else
            snprintf(when, sizeof when,
                     "; clinic %lld sends %s-%s %s (now %.5s there%s%s)", (long long)cl.id, qe, qs,
                     cl.timezone, now + 11, quiet ? ": quiet hours, messages wait until " : "",
                     quiet ? qe : "");
    }
    fprintf(stderr, "nudge: %s%s\n", where, when);
}

int cli_serve(cli_ctx *c)
{
    int rc, interval;
    if ((rc = cli_interval(c, &interval)) || (rc = cli_config(c)) || (rc = cli_db_folder(c)) ||
        (rc = cli_open(c)))
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
    const char *listen = cli_arg(&c->a, "listen");
    if (!listen)
        listen = getenv("NUDGE_LISTEN") && getenv("NUDGE_LISTEN")[0] ? getenv("NUDGE_LISTEN")
                                                                     : "127.0.0.1:8080";
    http_server *api = NULL;
    if (strcmp(listen, "none")) {
        http_config hc = {.listen = listen, .nudge = c->cfg, .access_log = 1};
        if (http_start(&hc, &api, &e) < 0) {
            char why[128];
            if (e.code != NUDGE_EIO)
                return cli_fail(c->cmd, &e);
            cli_listen_reason(listen, why, sizeof why);
            fprintf(stderr,
                    "nudge %s: cannot listen on %s%s%s; choose another address with --listen "
                    "HOST:PORT or NUDGE_LISTEN (make run PORT=N)\n",
                    c->cmd, listen, why[0] ? ": " : "", why);
            return 1;
        }
        fprintf(stderr, "nudge: API on http://%.*s:%d\n", (int)(strrchr(listen, ':') - listen),
                listen, http_port(api));
        fprintf(stderr, "nudge: staff dashboard on http://%.*s:%d/ (sign in with a staff or admin key)\n",
                (int)(strrchr(listen, ':') - listen), listen, http_port(api));
    }
    /* Through the settings' formatter: a password inside the database URL
     * is masked, never logged. */
    char db[512];
    nudge_setting_format(nudge_setting_find("db"), &c->cfg, db, sizeof db);
    fprintf(stderr, "nudge: serving %s (outbox %s); stop with SIGTERM\n", db,
            c->cfg.outbox_dir);
    cli_where_and_when(c);
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
    if (demo_replay(stdout, days, cli_arg(&c->a, "keep") != NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}
