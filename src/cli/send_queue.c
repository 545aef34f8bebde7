/*
 * cli/send_queue.c: `nudge send` (a direct message into the queue) and
 * `nudge queue status|list|show` (retry and cancel are cli_by_id rows).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_send =
    "usage: nudge send --patient ID --template NAME [--channel CH] [--priority P]\n"
    "                  [--at TIME] [--dedupe-key KEY] [--var key=value ...]\n"
    "\n"
    "Renders the template in the patient's language and enqueues it; prints the\n"
    "notification id. Priority: low, normal (default), high, urgent (urgent\n"
    "ignores quiet hours). A repeated --dedupe-key enqueues nothing new.\n";

const char *const cli_help_queue =
    "usage: nudge queue status [--clinic ID]\n"
    "       nudge queue list [--status S] [--clinic ID] [--limit N] [--after ID]\n"
    "       nudge queue show ID\n"
    "       nudge queue retry ID     (a failed or cancelled notification)\n"
    "       nudge queue cancel ID    (a pending notification)\n"
    "\n"
    "Statuses: pending sending sent delivered read failed cancelled held.\n";

/* The library's names, by value of enum nudge_priority. */
static int cli_parse_priority(const char *s)
{
    for (int i = 0; nudge_priority_names[i]; i++)
        if (!strcmp(s, nudge_priority_names[i]))
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

int cli_send(cli_ctx *c)
{
    nudge_send s = {.priority = NUDGE_NORMAL};
    nudge_vars vars = {0};
    int rc;
    const char *v;
    if ((rc = cli_parse_id(c->cmd, "--patient", cli_arg(&c->a, "patient"), &s.patient_id)))
        return rc;
    if (!(s.template_name = cli_arg(&c->a, "template")))
        return cli_usage(c->cmd, "%s is required", "--template");
    char q[128];
    if ((v = cli_arg(&c->a, "priority")) && (s.priority = cli_parse_priority(v)) < 0)
        return cli_usage(c->cmd, "--priority must be low, normal, high or urgent (got \"%s\")",
                         cli_got(q, sizeof q, v));
    s.channel = cli_arg(&c->a, "channel");
    s.dedupe_key = cli_arg(&c->a, "dedupe-key");
    if ((rc = cli_parse_vars(c, &vars)))
        return rc;
    s.vars = &vars;
    rc = cli_send_vars(c, &s);
    nudge_vars_free(&vars);
    return rc;
}

static int cli_queue_counts(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    int64_t counts[NUDGE_N_STATUS];
    if (nudge_queue_status(c->n, p->clinic, counts, e) < 0)
        return -1;
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        printf("%-10s %lld\n", nudge_status_names[i], (long long)counts[i]);
    return 0;
}

int cli_queue_status(cli_ctx *c)
{
    return cli_list(c, NULL, cli_queue_counts);
}

static int cli_notif_row(void *x, const nudge_notification *m)
{
    nudge *n = x;
    char tzb[64], t[40];
    cli_fmt_time(m->due_at, cli_clinic_tz(n, m->clinic_id, tzb, sizeof tzb), t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", (long long)m->id, (long long)m->clinic_id,
           m->channel, m->template_name, m->language, nudge_priority_names[m->priority & 3], m->status,
           m->attempts, t);
    return 0;
}

static int cli_notif_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_notification_list(c->n, p->clinic, cli_arg(&c->a, "status"), p->after, p->limit,
                                   cli_notif_row, c->n, e);
}

int cli_queue_list(cli_ctx *c)
{
    const char *status = cli_arg(&c->a, "status");
    if (status) {
        int ok = 0;
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            ok |= !strcmp(status, nudge_status_names[i]);
        if (!ok)
            return cli_usage(c->cmd, "unknown --status \"%s\"", status);
    }
    return cli_list(c, "id\tclinic\tchannel\ttemplate\tlanguage\tpriority\tstatus\tattempts\tdue",
                    cli_notif_rows);
}

int cli_queue_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_notification m;
    if (nudge_notification_get(c->n, NUDGE_ANY_CLINIC, id, &m, e) < 0)
        return -1;
    char tzb[64], due[40], sent[40];
    const char *tz = cli_clinic_tz(c->n, m.clinic_id, tzb, sizeof tzb);
    cli_fmt_time(m.due_at, tz, due, sizeof due);
    cli_fmt_time(m.sent_at, tz, sent, sizeof sent);
    printf("id: %lld\nclinic: %lld\npatient: %lld\nchannel: %s\nrecipient: %s\n"
           "template: %s\nlanguage: %s\ncategory: %s\npriority: %d\nstatus: %s\n"
           "attempts: %d of %d\ndue: %s\nsent: %s\nprovider_id: %s\nlast_error: %s\n",
           (long long)m.id, (long long)m.clinic_id, (long long)m.patient_id, m.channel,
           m.recipient, m.template_name, m.language, m.category, m.priority, m.status,
           m.attempts, m.max_retries + 1, due, sent, cli_or_dash(m.provider_id),
           cli_or_dash(m.last_error));
    if (m.subject)
        printf("subject: %s\n", m.subject);
    printf("\n%s\n", m.body);
    nudge_notification_free(&m);
    return 0;
}
