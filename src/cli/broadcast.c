/*
 * cli/broadcast.c: `nudge segment add|list|preview` and `nudge broadcast
 * notice|tip|campaign|list|show|stats|cancel|pause|resume`. A broadcast's
 * options become the API's JSON body (nudge_broadcast_create_json), so the
 * CLI and POST /v1/broadcasts are one path and name the same fields.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_segment =
    "usage: nudge segment add --clinic ID --name NAME --criteria JSON\n"
    "       nudge segment list [--clinic ID]\n"
    "       nudge segment preview (--clinic ID --criteria JSON | --segment ID) [--sample N]\n"
    "\n"
    "Criteria, a JSON object, ANDed; a list within one is ORed: diagnosis and\n"
    "tags [\"diabetes\"] (the patient's tags), age_range [min, max], gender M, F\n"
    "or O, last_visit_days N (seen within), language [\"hi\"],\n"
    "has_future_appointment and never_visited (true or false),\n"
    "consented_to_category [\"health_tips\"]. add saves it (a second add of the\n"
    "name replaces it) with the count of its patients; preview prints the count\n"
    "and a sample of ids (and refreshes a saved segment's count).\n";

const char *const cli_help_broadcast =
    "usage: nudge broadcast notice --clinic ID --name NAME --patients ID,ID,... MESSAGE\n"
    "       nudge broadcast tip --clinic ID --name NAME [--segment ID | --criteria JSON] MESSAGE\n"
    "       nudge broadcast campaign --clinic ID --name NAME [--segment ID | --criteria JSON]\n"
    "                      MESSAGE [--at TIME] [--grace-minutes M] [--book-days N]\n"
    "       nudge broadcast list [--clinic ID]\n"
    "       nudge broadcast show ID | stats ID\n"
    "       nudge broadcast cancel ID | pause ID | resume ID\n"
    "\n"
    "MESSAGE: --text TEXT (or a JSON object by language, {\"en\": \"...\", \"hi\":\n"
    "\"...\"}: each patient gets theirs) with --subject for email, or --template\n"
    "NAME, or --variants JSON (an A/B test: [{\"name\": \"A\", \"text\": ...},\n"
    "{\"name\": \"B\", \"weight\": 2, \"template\": ...}], each patient given one at\n"
    "random, recorded). --channel sms|whatsapp|email (default: each patient's).\n"
    "Without --segment or --criteria a tip or campaign goes to every patient.\n"
    "Messages are queued at low priority in batches by `nudge tick`/`worker`/\n"
    "`serve`; a campaign waits for --at, and one found more than --grace-minutes\n"
    "(default 120) past it is stale until resumed or cancelled. Skipped patients\n"
    "are counted by reason (opted_out, no_consent: a campaign needs a recorded\n"
    "START, no_channel). stats: sent, delivered, read, failed, replied and\n"
    "booked within --book-days (default 7) of each message, per variant too.\n";

int cli_segment_add(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "name", "criteria", NULL};
    int64_t clinic, id;
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_segment_save(c->n, clinic, cli_arg(&c->a, "name"), cli_arg(&c->a, "criteria"), &id,
                           &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

static int cli_segment_row(void *ctx, const nudge_segment *s)
{
    (void)ctx;
    printf("%lld\t%lld\t%s\t%lld\t%s\n", (long long)s->id, (long long)s->clinic_id, s->name,
           (long long)s->patient_count, s->criteria);
    return 0;
}

/* --clinic ID, else every clinic's (the local CLI holds the database). */
static int cli_bc_clinic(cli_ctx *c, int64_t *clinic)
{
    const char *v = cli_arg(&c->a, "clinic");
    *clinic = NUDGE_ANY_CLINIC;
    return v ? cli_parse_id(c->cmd, "--clinic", v, clinic) : 0;
}

int cli_segment_list(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if ((rc = cli_bc_clinic(c, &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tname\tpatients\tcriteria\n");
    return nudge_segment_list(c->n, clinic, cli_segment_row, NULL, &e) < 0 ? cli_fail(c->cmd, &e)
                                                                           : 0;
}

int cli_segment_preview(cli_ctx *c)
{
    int64_t clinic, id = 0, count, sample[100];
    int rc, max = 10, got;
    const char *v;
    if ((rc = cli_bc_clinic(c, &clinic)))
        return rc;
    if ((v = cli_arg(&c->a, "sample")) && (rc = cli_parse_int(c->cmd, "--sample", v, 0, 100, &max)))
        return rc;
    if ((v = cli_arg(&c->a, "segment"))) {
        if ((rc = cli_parse_id(c->cmd, "--segment", v, &id)))
            return rc;
    } else if (!cli_arg(&c->a, "criteria") || clinic == NUDGE_ANY_CLINIC)
        return cli_usage(c->cmd, "%s", "give --segment ID, or --clinic and --criteria");
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if ((id ? nudge_segment_evaluate(c->n, clinic, id, &count, sample, max, &got, &e)
            : nudge_segment_preview(c->n, clinic, cli_arg(&c->a, "criteria"), &count, sample, max,
                                    &got, &e)) < 0)
        return cli_fail(c->cmd, &e);
    printf("count\t%lld\nsample\t", (long long)count);
    for (int i = 0; i < got; i++)
        printf("%s%lld", i ? "," : "", (long long)sample[i]);
    printf("\n");
    return 0;
}

/* The options as the API's body: each option, the member it fills and
 * how its text is read. */
static const struct {
    const char *opt, *member;
    enum { BC_TEXT, BC_JSON_OR_TEXT, BC_JSON, BC_INT, BC_IDS } how;
} cli_bc_opts[] = {
    {"name", "name", BC_TEXT},
    {"text", "text", BC_JSON_OR_TEXT},
    {"subject", "subject", BC_JSON_OR_TEXT},
    {"template", "template", BC_TEXT},
    {"variants", "variants", BC_JSON},
    {"criteria", "criteria", BC_JSON},
    {"segment", "segment_id", BC_INT},
    {"patients", "patient_ids", BC_IDS},
    {"channel", "channel", BC_TEXT},
    {"at", "scheduled_time", BC_TEXT},
    {"grace-minutes", "grace_minutes", BC_INT},
    {"book-days", "book_days", BC_INT},
};

int cli_broadcast_create(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "name", NULL};
    int64_t clinic, id;
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)))
        return rc;
    json_t *body = json_object();
    for (size_t i = 0; i < sizeof cli_bc_opts / sizeof *cli_bc_opts; i++) {
        const char *v = cli_arg(&c->a, cli_bc_opts[i].opt);
        json_t *x = NULL;
        if (!v)
            continue;
        switch (cli_bc_opts[i].how) {
        case BC_TEXT: x = json_string(v); break;
        case BC_JSON_OR_TEXT:
            x = *v == '{' ? json_loads(v, 0, NULL) : json_string(v);
            break;
        case BC_JSON: x = json_loads(v, 0, NULL); break;
        case BC_INT: {
            int64_t n;
            if ((rc = cli_parse_id(c->cmd, cli_bc_opts[i].opt, v, &n))) {
                json_decref(body);
                return rc;
            }
            x = json_integer(n);
            break;
        }
        case BC_IDS:
            x = json_array();
            for (const char *p = v; *p;) {
                char *end;
                long long n = strtoll(p, &end, 10);
                if (end == p || n <= 0 || (*end && *end != ',')) {
                    json_decref(x);
                    json_decref(body);
                    return cli_usage(c->cmd, "--patients is ID,ID,... (got %s)", v);
                }
                json_array_append_new(x, json_integer(n));
                p = *end ? end + 1 : end;
            }
            break;
        }
        if (!x) {
            json_decref(body);
            fprintf(stderr, "nudge %s: --%s is not valid JSON\n", c->cmd, cli_bc_opts[i].opt);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(body, cli_bc_opts[i].member, x);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if ((rc = cli_open(c))) {
        free(text);
        return rc;
    }
    nudge_err e = {0};
    rc = nudge_broadcast_create_json(c->n, clinic, c->cm->verb[0] == 'n'   ? "notice"
                                                   : c->cm->verb[0] == 't' ? "tip"
                                                                           : "campaign",
                                     text, strlen(text), &id, &e);
    free(text);
    if (rc < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

static int cli_broadcast_row(void *ctx, const nudge_broadcast *b)
{
    (void)ctx;
    char at[40];
    cli_fmt_time(b->scheduled_at, "UTC", at, sizeof at);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\n", (long long)b->id,
           (long long)b->clinic_id, b->kind, b->name, b->status, at, (long long)b->total,
           (long long)b->queued, (long long)b->skipped);
    return 0;
}

int cli_broadcast_list(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if ((rc = cli_bc_clinic(c, &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tkind\tname\tstatus\tscheduled\ttotal\tqueued\tskipped\n");
    return nudge_broadcast_list(c->n, clinic, cli_broadcast_row, NULL, &e) < 0
               ? cli_fail(c->cmd, &e)
               : 0;
}

/* show: the broadcast as JSON; stats: its numbers as name TAB value, the
 * whole and then each variant's. */
int cli_broadcast_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    char *json;
    if (nudge_broadcast_json(c->n, NUDGE_ANY_CLINIC, id, 0, &json, e) < 0)
        return -1;
    printf("%s\n", json);
    free(json);
    return 0;
}

int cli_broadcast_stats(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_delivery_stats st[16];
    int count;
    if (nudge_get_delivery_stats(c->n, NUDGE_ANY_CLINIC, id, st, 16, &count, e) < 0)
        return -1;
    printf("variant\ttotal\tqueued\tskipped\topted_out\tno_consent\tno_channel\toutside_window\t"
           "quota\tpending\tsent\tdelivered\tread\tfailed\tcancelled\treplied\tbooked\t"
           "delivered/total\n");
    for (int i = 0; i < count; i++) {
        const nudge_delivery_stats *d = &st[i];
        printf("%s\t%lld\t%lld\t%lld", i ? d->variant : "all", (long long)d->total,
               (long long)d->queued, (long long)d->skipped);
        for (int k = 0; k < NUDGE_N_SKIP; k++)
            printf("\t%lld", (long long)d->skipped_by[k]);
        printf("\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%.3f\n", (long long)d->pending,
               (long long)d->sent, (long long)d->delivered, (long long)d->read,
               (long long)d->failed, (long long)d->cancelled, (long long)d->replied,
               (long long)d->booked, d->delivery_rate);
    }
    return 0;
}
