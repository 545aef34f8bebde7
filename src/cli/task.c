/*
 * cli/task.c: `nudge task add|list|show|history|run|pause|resume|delete`,
 * the durable task scheduler's commands (pause, resume and delete are
 * cli_by_id rows). Times are printed in each task's own zone. The local
 * CLI sees every clinic's tasks and the installation's (clinic 0).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_task =
    "usage: nudge task add --name NAME --fn FN --kind KIND --schedule SPEC\n"
    "                      [--clinic ID] [--timezone ZONE] [--args JSON]\n"
    "                      [--max-retries N] [--backoff SECONDS]\n"
    "       nudge task list [--clinic ID]\n"
    "       nudge task show ID\n"
    "       nudge task history ID [--limit N]\n"
    "       nudge task run ID      (now, here; the schedule goes on after)\n"
    "       nudge task pause ID | resume ID | delete ID\n"
    "\n"
    "Kinds and their SPEC: once \"2026-12-01T09:00\", daily \"HH:MM\", weekly\n"
    "\"mon,thu HH:MM\", monthly \"D HH:MM\" (31: the last day of a shorter month),\n"
    "interval \"N[s|m|h|d]\", rrule \"FREQ=WEEKLY;BYDAY=MO;BYHOUR=9\" (RFC 5545).\n"
    "Times are wall times in the task's zone (default: the clinic's, else UTC).\n"
    "Functions: purge (args {\"retention_days\": 400}; a clinic's, or every\n"
    "clinic's without --clinic) and backup (args {\"dir\", \"keep\", \"encrypt\"};\n"
    "the installation's only). `nudge tick`, `nudge worker` and `nudge serve` run\n"
    "what is due, once per occurrence across every process on the database; a\n"
    "task due while nothing ran runs once, marked late in its history. A failed\n"
    "attempt is retried after --backoff seconds, doubling, --max-retries times\n"
    "(default 3, 60 s); then the task is failed until resumed.\n";

int cli_task_add(cli_ctx *c)
{
    static const char *const req[] = {"name", "fn", "kind", "schedule", NULL};
    nudge_task t = {.max_retries = -1};
    const char *v;
    int rc;
    if ((rc = cli_require(c, req)))
        return rc;
    struct {
        const char *opt;
        char *dst;
        size_t n;
    } texts[] = {{"name", t.name, sizeof t.name},       {"fn", t.fn, sizeof t.fn},
                 {"kind", t.kind, sizeof t.kind},       {"schedule", t.schedule, sizeof t.schedule},
                 {"timezone", t.timezone, sizeof t.timezone}, {"args", t.args, sizeof t.args}};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        if (!(v = cli_arg(&c->a, texts[i].opt)))
            continue;
        if (strlen(v) >= texts[i].n) {
            fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, texts[i].opt,
                    texts[i].n - 1);
            return CLI_EXIT_USAGE;
        }
        snprintf(texts[i].dst, texts[i].n, "%s", v);
    }
    if ((v = cli_arg(&c->a, "clinic")) && (rc = cli_parse_id(c->cmd, "--clinic", v, &t.clinic_id)))
        return rc;
    if ((v = cli_arg(&c->a, "max-retries")) &&
        (rc = cli_parse_int(c->cmd, "--max-retries", v, 0, 100, &t.max_retries)))
        return rc;
    if ((v = cli_arg(&c->a, "backoff")) &&
        (rc = cli_parse_int(c->cmd, "--backoff", v, 1, 86400, &t.backoff_seconds)))
        return rc;
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_task_add(c->n, &t, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)t.id);
    return 0;
}

static int cli_task_row(void *ctx, const nudge_task *t)
{
    (void)ctx;
    char next[40], last[40];
    cli_fmt_time(t->next_run, t->timezone, next, sizeof next);
    cli_fmt_time(t->last_run_at, t->timezone, last, sizeof last);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id,
           (long long)t->clinic_id, t->name, t->fn, t->kind, t->schedule, t->status, next, last,
           cli_or_dash(t->last_outcome));
    return 0;
}

static int cli_task_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_task_list(c->n, p->clinic, cli_task_row, NULL, e);
}

int cli_task_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\tname\tfn\tkind\tschedule\tstatus\tnext_run\tlast_run\tlast_outcome",
                    cli_task_rows);
}

int cli_task_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_task t;
    if (nudge_task_get(c->n, NUDGE_ANY_CLINIC, id, &t, e) < 0)
        return -1;
    char start[40], next[40], slot[40], last[40], made[40];
    cli_fmt_time(t.start_at, t.timezone, start, sizeof start);
    cli_fmt_time(t.next_run, t.timezone, next, sizeof next);
    cli_fmt_time(t.slot, t.timezone, slot, sizeof slot);
    cli_fmt_time(t.last_run_at, t.timezone, last, sizeof last);
    cli_fmt_time(t.created_at, t.timezone, made, sizeof made);
    printf("id\t%lld\nclinic\t%lld\nname\t%s\nfn\t%s\nkind\t%s\nschedule\t%s\ntimezone\t%s\n"
           "args\t%s\nstatus\t%s\nstart_at\t%s\nnext_run\t%s\nslot\t%s\nattempts\t%d\n"
           "max_retries\t%d\nbackoff_seconds\t%d\nlast_run\t%s\nlast_outcome\t%s\n"
           "last_error\t%s\ncreated\t%s\n",
           (long long)t.id, (long long)t.clinic_id, t.name, t.fn, t.kind, t.schedule, t.timezone,
           cli_or_dash(t.args), t.status, start, next, slot, t.attempts, t.max_retries,
           t.backoff_seconds, last, cli_or_dash(t.last_outcome), cli_or_dash(t.last_error), made);
    return 0;
}

static int cli_task_run_row(void *ctx, const nudge_task_run *r)
{
    const char *tz = ctx;
    char slot[40], start[40], end[40];
    cli_fmt_time(r->slot, tz, slot, sizeof slot);
    cli_fmt_time(r->started_at, tz, start, sizeof start);
    cli_fmt_time(r->ended_at, tz, end, sizeof end);
    printf("%lld\t%s\t%d\t%s\t%s\t%lld\t%s\t%s\t%s\n", (long long)r->id, slot, r->attempt, start,
           end, (long long)r->duration, r->outcome, r->late ? "late" : "-", cli_or_dash(r->error));
    return 0;
}

int cli_task_history(cli_ctx *c)
{
    int64_t id;
    int limit = 50, rc;
    const char *v = cli_arg(&c->a, "limit");
    if ((v && (rc = cli_parse_int(c->cmd, "--limit", v, 1, 100000, &limit))) ||
        (rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    nudge_task t;
    if (nudge_task_get(c->n, NUDGE_ANY_CLINIC, id, &t, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("run\tslot\tattempt\tstarted\tended\tseconds\toutcome\tlate\terror\n");
    if (nudge_task_runs(c->n, NUDGE_ANY_CLINIC, id, limit, cli_task_run_row, t.timezone, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

/* Runs it now, here, and says how it went: exit 1 when it failed. */
int cli_task_run(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    nudge_task t;
    if (nudge_task_run_now(c->n, NUDGE_ANY_CLINIC, id, &e) < 0 ||
        nudge_task_get(c->n, NUDGE_ANY_CLINIC, id, &t, &e) < 0)
        return cli_fail(c->cmd, &e);
    char next[40];
    cli_fmt_time(t.next_run, t.timezone, next, sizeof next);
    if (!strcmp(t.last_outcome, "ok")) {
        printf("%s: ok; next run %s\n", t.name, next);
        return 0;
    }
    fprintf(stderr, "nudge %s: %s failed: %s (status %s, next attempt %s)\n", c->cmd, t.name,
            t.last_error, t.status, next);
    return 1;
}
