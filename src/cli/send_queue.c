/*
 * cli/send_queue.c: `nudge send` (a direct message into the queue) and
 * `nudge queue ...` (counts, listing, one notification, staff retry and
 * cancel).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_opt cli_send_opts[] = {
    {"patient", 1, 0}, {"template", 1, 0}, {"channel", 1, 0}, {"priority", 1, 0},
    {"at", 1, 0},      {"dedupe-key", 1, 0}, {"var", 1, 1},   {NULL, 0, 0},
};

static const char *const cli_help_send =
    "usage: nudge send --patient ID --template NAME [--channel CH] [--priority P]\n"
    "                  [--at TIME] [--dedupe-key KEY] [--var key=value ...]\n"
    "\n"
    "Renders the template in the patient's language and enqueues it; prints the\n"
    "notification id. Priority: low, normal (default), high, urgent (urgent\n"
    "ignores quiet hours). A repeated --dedupe-key enqueues nothing new.\n";

static const char *const cli_help_queue =
    "usage: nudge queue status [--clinic ID]\n"
    "       nudge queue list [--status S] [--clinic ID] [--limit N] [--after ID]\n"
    "       nudge queue show ID\n"
    "       nudge queue retry ID     (a failed or cancelled notification)\n"
    "       nudge queue cancel ID    (a pending notification)\n"
    "\n"
    "Statuses: pending sending sent delivered read failed cancelled.\n";

/* By value of enum nudge_priority. */
static const char *const cli_priorities[] = {"low", "normal", "high", "urgent"};

static int cli_parse_priority(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, cli_priorities[i]))
            return i;
    return -1;
}

/* Everything after the vars are parsed: they are freed on every path. */
static int cli_send_vars(cli_ctx *c, nudge_send *s)
{
    int rc;
    const char *v;
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    nudge_patient p;
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, s->patient_id, &p, &e) < 0)
        return cli_fail(c->cmd, &e);
    if ((v = cli_arg(&c->a, "at")) && (rc = cli_time_in_clinic(c, p.clinic_id, v, &s->due_at)))
        return rc;
    int64_t id;
    if (nudge_enqueue(c->n, p.clinic_id, s, &id, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

static int cli_send(cli_ctx *c)
{
    nudge_send s = {.priority = NUDGE_NORMAL};
    nudge_vars vars = {0};
    int rc;
    const char *v;
    if ((rc = cli_parse_id(c->cmd, "--patient", cli_arg(&c->a, "patient"), &s.patient_id)))
        return rc;
    if (!(s.template_name = cli_arg(&c->a, "template")))
        return cli_usage(c->cmd, "%s is required", "--template");
    if ((v = cli_arg(&c->a, "priority")) && (s.priority = cli_parse_priority(v)) < 0)
        return cli_usage(c->cmd, "--priority must be low, normal, high or urgent (got \"%s\")",
                         v);
    s.channel = cli_arg(&c->a, "channel");
    s.dedupe_key = cli_arg(&c->a, "dedupe-key");
    if ((rc = cli_parse_vars(c, &vars)))
        return rc;
    s.vars = &vars;
    rc = cli_send_vars(c, &s);
    nudge_vars_free(&vars);
    return rc;
}

static int cli_queue_status(cli_ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    if ((rc = cli_paging(c, &clinic, &after, &limit)) || (rc = cli_open(c)))
        return rc;
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(c->n, clinic, counts, &e) < 0)
        return cli_fail(c->cmd, &e);
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        printf("%-10s %lld\n", nudge_status_names[i], (long long)counts[i]);
    return 0;
}

static int cli_notif_row(void *x, const nudge_notification *m)
{
    nudge *n = x;
    char tzb[64], t[40];
    cli_fmt_time(m->due_at, cli_clinic_tz(n, m->clinic_id, tzb, sizeof tzb), t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", (long long)m->id, (long long)m->clinic_id,
           m->channel, m->template_name, m->language, cli_priorities[m->priority & 3], m->status,
           m->attempts, t);
    return 0;
}

static int cli_queue_list(cli_ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    const char *status = cli_arg(&c->a, "status");
    if (status) {
        int ok = 0;
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            ok |= !strcmp(status, nudge_status_names[i]);
        if (!ok)
            return cli_usage(c->cmd, "unknown --status \"%s\"", status);
    }
    if ((rc = cli_paging(c, &clinic, &after, &limit)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tchannel\ttemplate\tlanguage\tpriority\tstatus\tattempts\tdue\n");
    if (nudge_notification_list(c->n, clinic, status, after, limit, cli_notif_row, c->n, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

static void cli_notif_print(nudge *n, const nudge_notification *m)
{
    char tzb[64], due[40], sent[40];
    const char *tz = cli_clinic_tz(n, m->clinic_id, tzb, sizeof tzb);
    cli_fmt_time(m->due_at, tz, due, sizeof due);
    cli_fmt_time(m->sent_at, tz, sent, sizeof sent);
    printf("id: %lld\nclinic: %lld\npatient: %lld\nchannel: %s\nrecipient: %s\n"
           "template: %s\nlanguage: %s\ncategory: %s\npriority: %d\nstatus: %s\n"
           "attempts: %d of %d\ndue: %s\nsent: %s\nprovider_id: %s\nlast_error: %s\n",
           (long long)m->id, (long long)m->clinic_id, (long long)m->patient_id, m->channel,
           m->recipient, m->template_name, m->language, m->category, m->priority, m->status,
           m->attempts, m->max_retries + 1, due, sent, cli_or_dash(m->provider_id),
           cli_or_dash(m->last_error));
    if (m->subject)
        printf("subject: %s\n", m->subject);
    printf("\n%s\n", m->body);
}

static int cli_queue_one(cli_ctx *c)
{
    int64_t id;
    int rc;
    const char *verb = strchr(c->cmd, ' ') + 1;
    if ((rc = cli_one_id(c, "notification", &id)))
        return rc;
    nudge_err e = {0};
    if (!strcmp(verb, "retry"))
        rc = nudge_notification_retry(c->n, NUDGE_ANY_CLINIC, id, &e);
    else if (!strcmp(verb, "cancel"))
        rc = nudge_notification_cancel(c->n, NUDGE_ANY_CLINIC, id, &e);
    else {
        nudge_notification m;
        if ((rc = nudge_notification_get(c->n, NUDGE_ANY_CLINIC, id, &m, &e)) == 0) {
            cli_notif_print(c->n, &m);
            nudge_notification_free(&m);
        }
    }
    return rc < 0 ? cli_fail(c->cmd, &e) : 0;
}

const cli_command cli_send_queue_commands[] = {
    {"send", NULL, cli_send, cli_send_opts, &cli_help_send, 0},
    {"queue", "status", cli_queue_status, cli_list_opts, &cli_help_queue, 0},
    {"queue", "list", cli_queue_list, cli_list_opts, &cli_help_queue, 0},
    {"queue", "show", cli_queue_one, NULL, &cli_help_queue, 1},
    {"queue", "retry", cli_queue_one, NULL, &cli_help_queue, 1},
    {"queue", "cancel", cli_queue_one, NULL, &cli_help_queue, 1},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
