/*
 * cli/send_queue.c: `nudge send` (a direct message into the queue, or
 * `--batch FILE` of them, JSON lines through nudge_enqueue_batch) and
 * `nudge queue status|list|show` (retry and cancel are cli_by_id rows).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "cli/cli.h"

const char *const cli_help_send =
    "usage: nudge send --patient ID --template NAME [--channel CH] [--priority P]\n"
    "                  [--at TIME] [--dedupe-key KEY] [--var key=value ...]\n"
    "       nudge send --batch FILE\n"
    "\n"
    "Renders the template in the patient's language and enqueues it; prints the\n"
    "notification id. Priority: low, normal (default), high, urgent (urgent\n"
    "ignores quiet hours). A repeated --dedupe-key enqueues nothing new.\n"
    "\n"
    "--batch FILE (- for standard input): JSON lines, one send per line with\n"
    "the members of POST /v1/notifications:batch's items: patient_id, template,\n"
    "channel, priority, due_at (RFC 3339, or a wall time in the clinic's zone),\n"
    "dedupe_key, vars ({\"notice\": \"Closed on Friday\"}); blank lines are\n"
    "skipped. Every line's patient is one clinic's. Prints \"ID<tab>created\" or\n"
    "\"ID<tab>duplicate\" (its dedupe_key was used before) per line, in order.\n"
    "The lines go in chunks of 1,000, each one transaction, all or nothing: a\n"
    "bad line prints \"line N: field: message\" on stderr (each one its chunk\n"
    "shows: the lines' form first, then what the store says) and exits non-zero\n"
    "with nothing of that chunk written; the chunks before it stay written, and\n"
    "the lines after it are not read.\n";

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

/* ---- send --batch ---- */

/* A line's members: those of POST /v1/notifications:batch's items, so a
 * file written for one serves the other. null is a member's default. */
enum { CLI_BF_ID, CLI_BF_TEXT, CLI_BF_PRIORITY, CLI_BF_TIME, CLI_BF_VARS };
static const struct cli_batch_field {
    const char *name;
    int kind;
    size_t off; /* in nudge_send */
} cli_batch_fields[] = {
    {"patient_id", CLI_BF_ID, offsetof(nudge_send, patient_id)},
    {"template", CLI_BF_TEXT, offsetof(nudge_send, template_name)},
    {"channel", CLI_BF_TEXT, offsetof(nudge_send, channel)},
    {"priority", CLI_BF_PRIORITY, offsetof(nudge_send, priority)},
    {"due_at", CLI_BF_TIME, offsetof(nudge_send, due_at)},
    {"dedupe_key", CLI_BF_TEXT, offsetof(nudge_send, dedupe_key)},
    {"vars", CLI_BF_VARS, offsetof(nudge_send, vars)},
};
#define CLI_BATCH_MEMBERS "patient_id, template, channel, priority, due_at, dedupe_key, vars"

/* One chunk: up to NUDGE_BATCH_MAX sends and the line each came from.
 * The sends' strings point into the lines' JSON, kept until written. */
typedef struct cli_batch {
    nudge_send s[NUDGE_BATCH_MAX];
    nudge_vars vars[NUDGE_BATCH_MAX];
    json_t *j[NUDGE_BATCH_MAX];
    long line[NUDGE_BATCH_MAX];
    nudge_batch_result out[NUDGE_BATCH_MAX];
    size_t n;
    int64_t tz_patient; /* tz is this patient's clinic's zone (a due_at's) */
    char tz[64];
} cli_batch;

static int cli_batch_text(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* One member's value into send i (a due_at is read once the patient is
 * known: its wall time is the patient's clinic's). */
static int cli_batch_member(cli_batch *b, size_t i, const struct cli_batch_field *f, json_t *v,
                            nudge_err *e)
{
    char *at = (char *)&b->s[i] + f->off;
    if (json_is_null(v))
        return 0;
    switch (f->kind) {
    case CLI_BF_ID:
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return nudge_err_set(e, NUDGE_EINVAL, f->name, "must be a patient's id (a number)");
        *(int64_t *)at = json_integer_value(v);
        return 0;
    case CLI_BF_TEXT:
        if (!cli_batch_text(v))
            return nudge_err_set(e, NUDGE_EINVAL, f->name, "must be a string");
        *(const char **)at = json_string_value(v);
        return 0;
    case CLI_BF_PRIORITY:
        if (!json_is_string(v) || (*(int *)at = cli_parse_priority(json_string_value(v))) < 0)
            return nudge_err_set(e, NUDGE_EINVAL, f->name, "must be low, normal, high or urgent");
        return 0;
    case CLI_BF_TIME:
        if (!json_is_string(v))
            return nudge_err_set(e, NUDGE_EINVAL, f->name,
                                 "must be a time: RFC 3339, or a wall time in the clinic's zone");
        return 0;
    }
    if (!json_is_object(v))
        return nudge_err_set(e, NUDGE_EINVAL, f->name,
                             "must be an object of strings, such as {\"notice\": \"Closed\"}");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        char path[64];
        snprintf(path, sizeof path, "vars.%.50s", k);
        if (!cli_batch_text(x))
            return nudge_err_set(e, NUDGE_EINVAL, path, "must be a string");
        if (nudge_vars_set(&b->vars[i], k, json_string_value(x)) < 0)
            return nudge_err_set(e, NUDGE_EINVAL, path, "too many variables, or a bad name");
    }
    *(const nudge_vars **)at = &b->vars[i];
    return 0;
}

/* A due_at's instant, read in the zone of the patient's clinic, as
 * `send --at` reads it; the zone kept for the lines that follow. */
static int cli_batch_due(cli_ctx *c, cli_batch *b, nudge_send *s, const char *when, nudge_err *e)
{
    if (b->tz_patient != s->patient_id) {
        nudge_patient p;
        if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, s->patient_id, &p, e) < 0)
            return e->code == NUDGE_ENOTFOUND
                       ? nudge_err_set(e, NUDGE_EINVAL, "patient_id", "no patient %lld",
                                       (long long)s->patient_id)
                       : -1;
        cli_clinic_tz(c->n, p.clinic_id, b->tz, sizeof b->tz);
        b->tz_patient = s->patient_id;
    }
    return nudge_time_parse(when, b->tz, &s->due_at, "due_at", e);
}

/* Line text (len bytes) into the chunk's next send; its JSON is kept in
 * b->j, bad or not, for cli_batch_clear. */
static int cli_batch_line(cli_ctx *c, cli_batch *b, const char *text, size_t len, nudge_err *e)
{
    size_t i = b->n;
    nudge_send *s = &b->s[i];
    *s = (nudge_send){.priority = NUDGE_NORMAL};
    json_error_t je;
    json_t *j = b->j[i] = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return nudge_err_set(e, NUDGE_EINVAL, "", "not JSON: %s (column %d)", je.text, je.column);
    if (!json_is_object(j))
        return nudge_err_set(e, NUDGE_EINVAL, "", "a line is one send, a JSON object");
    const char *k;
    json_t *v, *due = NULL;
    json_object_foreach(j, k, v) {
        const struct cli_batch_field *f = NULL;
        for (size_t m = 0; m < sizeof cli_batch_fields / sizeof *cli_batch_fields && !f; m++)
            if (!strcmp(k, cli_batch_fields[m].name))
                f = &cli_batch_fields[m];
        if (!f)
            return nudge_err_set(e, NUDGE_EINVAL, k, "unknown member (a send has %s)",
                                 CLI_BATCH_MEMBERS);
        if (cli_batch_member(b, i, f, v, e) < 0)
            return -1;
        if (f->kind == CLI_BF_TIME)
            due = v;
    }
    if (!s->patient_id)
        return nudge_err_set(e, NUDGE_EINVAL, "patient_id", "is required");
    if (!s->template_name)
        return nudge_err_set(e, NUDGE_EINVAL, "template", "is required");
    return due && !json_is_null(due) ? cli_batch_due(c, b, s, json_string_value(due), e) : 0;
}

static void cli_batch_say(const cli_ctx *c, long line, const nudge_err *e)
{
    char m[4 * sizeof e->msg + 8], f[4 * sizeof e->field + 8];
    /* The library names the patient "patient"; the line's member is patient_id. */
    const char *field = strcmp(e->field, "patient") ? e->field : "patient_id";
    cli_term_text(m, sizeof m, e->msg);
    if (field[0])
        fprintf(stderr, "nudge %s: line %ld: %s: %s\n", c->cmd, line,
                cli_term_text(f, sizeof f, field), m);
    else
        fprintf(stderr, "nudge %s: line %ld: %s\n", c->cmd, line, m);
}

static void cli_batch_clear(cli_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->j[i]);
        b->j[i] = NULL;
        nudge_vars_free(&b->vars[i]);
    }
    b->n = 0;
}

/* The chunk in one nudge_enqueue_batch: each send's line printed, or
 * every bad one named on stderr. 0, or the exit code. */
static int cli_batch_write(cli_ctx *c, cli_batch *b)
{
    nudge_err e = {0};
    if (nudge_enqueue_batch(c->n, NUDGE_ANY_CLINIC, b->s, b->n, b->out, &e) < 0) {
        int said = 0;
        for (size_t i = 0; i < b->n; i++)
            if (b->out[i].err.code && ++said)
                cli_batch_say(c, b->line[i], &b->out[i].err);
        return said ? cli_exit_code(&e) : cli_fail(c->cmd, &e);
    }
    for (size_t i = 0; i < b->n; i++)
        printf("%lld\t%s\n", (long long)b->out[i].id,
               b->out[i].created ? "created" : "duplicate");
    fflush(stdout);
    return 0;
}

/* Reads a chunk (every line parsed, so one run names each bad line of
 * it), then writes it; stops at the first chunk that fails. */
static int cli_batch_run(cli_ctx *c, cli_batch *b, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0, more = 1;
    while (!rc && more) {
        ssize_t len = 0;
        while (b->n < NUDGE_BATCH_MAX && (more = (len = getline(&buf, &cap, in)) >= 0)) {
            lineno++;
            if (strspn(buf, " \t\r\n") == (size_t)len)
                continue;
            nudge_err e = {0};
            b->line[b->n] = lineno;
            if (cli_batch_line(c, b, buf, (size_t)len, &e) < 0) {
                cli_batch_say(c, lineno, &e);
                if (!rc)
                    rc = cli_exit_code(&e);
            }
            b->n++;
        }
        if (!more && ferror(in)) {
            fprintf(stderr, "nudge %s: reading line %ld: %s\n", c->cmd, lineno + 1,
                    strerror(errno));
            rc = rc ? rc : 1;
        }
        if (!rc && b->n)
            rc = cli_batch_write(c, b);
        cli_batch_clear(b);
    }
    free(buf);
    return rc;
}

static int cli_send_batch(cli_ctx *c, const char *path)
{
    static const char *const single[] = {"patient", "template", "channel", "priority",
                                         "at",      "dedupe-key", "var",  NULL};
    for (int i = 0; single[i]; i++)
        if (cli_arg(&c->a, single[i]))
            return cli_usage(c->cmd, "--batch takes every send from its file: no --%s with it",
                             single[i]);
    int rc;
    if ((rc = cli_open(c)))
        return rc;
    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in) {
        char q[128];
        fprintf(stderr, "nudge %s: cannot read %s: %s\n", c->cmd, cli_got(q, sizeof q, path),
                strerror(errno));
        return CLI_EXIT_USAGE;
    }
    cli_batch *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "nudge %s: out of memory\n", c->cmd);
        rc = 1;
    } else {
        rc = cli_batch_run(c, b, in);
    }
    free(b);
    if (in != stdin)
        fclose(in);
    return rc;
}

int cli_send(cli_ctx *c)
{
    nudge_send s = {.priority = NUDGE_NORMAL};
    nudge_vars vars = {0};
    int rc;
    const char *v;
    if ((v = cli_arg(&c->a, "batch")))
        return cli_send_batch(c, v);
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
