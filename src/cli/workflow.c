/*
 * cli/workflow.c: `nudge workflow list|show|put|runs|stats`, a clinic's
 * workflows (built-in, or its own versions of them), their runs and the
 * clinic's statistics. A definition is JSON: `show` prints it, `put` reads
 * one from a file (or - for standard input) and saves it as the next
 * version, refused naming the path of a bad member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_workflow =
    "usage: nudge workflow list --clinic ID\n"
    "       nudge workflow show NAME --clinic ID [--version N | --builtin]\n"
    "       nudge workflow put FILE --clinic ID      (FILE - : standard input)\n"
    "       nudge workflow runs --clinic ID [--workflow NAME] [--from TIME] [--to TIME]\n"
    "                           [--limit N] [--steps]\n"
    "       nudge workflow stats --clinic ID [--from TIME] [--to TIME]\n"
    "\n"
    "A workflow runs its steps in order when an event it is bound to happens\n"
    "(\"on\": appointment.booked, .confirmed, .cancelled, .rescheduled,\n"
    ".completed, .no_show, ...). Kinds of step: message.send (template, channel,\n"
    "delay_minutes, priority), reminders.plan (plan: confirmation, reminders,\n"
    "follow_up, no_show), reminders.cancel, stop_if (field, op, value), wait\n"
    "(minutes); a step with \"on_error\": \"stop\" ends the run when it fails, any\n"
    "other failure is recorded and the rest run. The built-ins ship with nudge;\n"
    "`put` of a definition with a built-in's name replaces it for the clinic.\n"
    "Copy one with `show NAME --builtin > f.json`, edit, then `put f.json`.\n"
    "Times are RFC 3339 or a local time in the clinic's zone.\n";

/* --clinic (required) and the handle. */
static int cli_wf_clinic(cli_ctx *c, int64_t *clinic)
{
    static const char *const req[] = {"clinic", NULL};
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), clinic)))
        return rc;
    return cli_open(c);
}

static int cli_wf_row(void *ctx, const nudge_workflow_info *w)
{
    (void)ctx;
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)w->version);
    printf("%s\t%s\t%s\t%s\t%d\t%s\n", w->name, w->version ? v : "built-in",
           w->enabled ? "yes" : "no", w->on, w->steps, cli_or_dash(w->description));
    return 0;
}

int cli_wf_list(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if ((rc = cli_wf_clinic(c, &clinic)))
        return rc;
    nudge_err e = {0};
    printf("name\tversion\tenabled\ton\tsteps\tdescription\n");
    if (nudge_workflow_list(c->n, clinic, cli_wf_row, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_wf_show(cli_ctx *c)
{
    int64_t clinic, version = -1;
    int rc, v = 0;
    if (c->a.npos != 1)
        return cli_usage(c->cmd, "%s", "give one workflow name");
    const char *s = cli_arg(&c->a, "version");
    if (s && (rc = cli_parse_int(c->cmd, "--version", s, 1, 1000000, &v)))
        return rc;
    if (s && cli_arg(&c->a, "builtin"))
        return cli_usage(c->cmd, "%s", "give --version or --builtin, not both");
    if (s)
        version = v;
    if (cli_arg(&c->a, "builtin"))
        version = 0;
    if ((rc = cli_wf_clinic(c, &clinic)))
        return rc;
    nudge_err e = {0};
    char *json = NULL;
    if (nudge_workflow_get(c->n, clinic, c->a.pos[0], version, &json, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%s\n", json);
    free(json);
    return 0;
}

/* The whole of a file, or standard input for "-" (caller frees). */
static char *cli_wf_read(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap && n < (1 << 20)) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        } else if (n == cap) {
            break; /* past 1 MiB: what was read is refused as JSON */
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return b;
}

int cli_wf_put(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if (c->a.npos != 1)
        return cli_usage(c->cmd, "%s", "give the definition's file (- for standard input)");
    size_t len = 0;
    char *json = cli_wf_read(c->a.pos[0], &len);
    if (!json) {
        fprintf(stderr, "nudge %s: cannot read %s\n", c->cmd, c->a.pos[0]);
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_wf_clinic(c, &clinic))) {
        free(json);
        return rc;
    }
    nudge_err e = {0};
    int64_t version = 0;
    rc = nudge_workflow_put(c->n, clinic, json, len, &version, &e);
    free(json);
    if (rc < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)version);
    return 0;
}

/* --from and --to in the clinic's zone (0: open). */
static int cli_wf_range(cli_ctx *c, int64_t clinic, int64_t *from, int64_t *to)
{
    const char *f = cli_arg(&c->a, "from"), *t = cli_arg(&c->a, "to");
    int rc;
    *from = *to = 0;
    if ((f && (rc = cli_time_in_clinic(c, clinic, f, from))) ||
        (t && (rc = cli_time_in_clinic(c, clinic, t, to))))
        return rc;
    return 0;
}

typedef struct cli_wf_runs_ctx {
    const char *tz;
    int steps;
} cli_wf_runs_ctx;

static int cli_wf_run_row(void *ctx, const nudge_workflow_run *r)
{
    const cli_wf_runs_ctx *x = ctx;
    char start[40], end[40];
    cli_fmt_time(r->started_at, x->tz, start, sizeof start);
    cli_fmt_time(r->finished_at, x->tz, end, sizeof end);
    char dur[24] = "-";
    if (r->finished_at)
        snprintf(dur, sizeof dur, "%lld", (long long)r->duration_s);
    printf("%lld\t%s\t%lld\t%s\t%lld\t%s\t%s\t%s\t%s\n", (long long)r->id, r->workflow,
           (long long)r->version, r->event_type, (long long)r->event_id, r->status, start, end,
           dur);
    if (x->steps)
        printf("  steps: %s\n", r->steps ? r->steps : "[]");
    return 0;
}

int cli_wf_runs(cli_ctx *c)
{
    int64_t clinic, from, to;
    int rc, limit = 50;
    const char *v = cli_arg(&c->a, "limit");
    if (v && (rc = cli_parse_int(c->cmd, "--limit", v, 1, 100000, &limit)))
        return rc;
    if ((rc = cli_wf_clinic(c, &clinic)) || (rc = cli_wf_range(c, clinic, &from, &to)))
        return rc;
    char tz[64];
    cli_wf_runs_ctx x = {cli_clinic_tz(c->n, clinic, tz, sizeof tz), !!cli_arg(&c->a, "steps")};
    nudge_err e = {0};
    printf("run\tworkflow\tversion\tevent\tevent_id\tstatus\tstarted\tfinished\tseconds\n");
    if (nudge_workflow_history(c->n, clinic, cli_arg(&c->a, "workflow"), from, to, 0, limit,
                               cli_wf_run_row, &x, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_wf_stats(cli_ctx *c)
{
    int64_t clinic, from, to;
    int rc;
    if ((rc = cli_wf_clinic(c, &clinic)) || (rc = cli_wf_range(c, clinic, &from, &to)))
        return rc;
    nudge_stats s;
    nudge_err e = {0};
    if (nudge_statistics(c->n, clinic, from, to, &s, &e) < 0)
        return cli_fail(c->cmd, &e);
    char tz[64], f[40], t[40];
    cli_clinic_tz(c->n, clinic, tz, sizeof tz);
    cli_fmt_time(from, tz, f, sizeof f);
    cli_fmt_time(to, tz, t, sizeof t);
    printf("from\t%s\nto\t%s\npatients\t%lld\nappointments\t%lld\n"
           "workflows_executed\t%lld\nworkflows_succeeded\t%lld\nworkflows_partly_failed\t%lld\n"
           "workflows_failed\t%lld\nworkflows_unfinished\t%lld\n"
           "booked\t%lld\nconfirmed\t%lld\ncompleted\t%lld\nno_shows\t%lld\n"
           "confirmation_rate\t%.3f\nno_show_rate\t%.3f\n",
           f, t, (long long)s.patients, (long long)s.appointments, (long long)s.workflows_executed,
           (long long)s.workflows_succeeded, (long long)s.workflows_partly_failed,
           (long long)s.workflows_failed, (long long)s.workflows_unfinished, (long long)s.booked,
           (long long)s.confirmed, (long long)s.completed, (long long)s.no_shows,
           s.confirmation_rate, s.no_show_rate);
    for (int i = 0; i < s.n_messages; i++)
        printf("messages\t%s\t%s\t%lld\n", s.messages[i].channel, s.messages[i].status,
               (long long)s.messages[i].count);
    return 0;
}
