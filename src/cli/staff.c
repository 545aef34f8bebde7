/*
 * cli/staff.c: `nudge staff add|list|remove|digest|alert` and `nudge
 * webhook add|list|remove|deliveries`: a clinic's staff and what they are
 * told, and integrators' webhook subscriptions with every delivery and
 * attempt (remove is a cli_by_id row in each). A subscription's secret is
 * printed once, by add, and never again.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_staff =
    "usage: nudge staff add --clinic ID --name NAME [--role ROLE] [--email ADDR]\n"
    "                       [--phone NUMBER] [--chat-url URL] [--no-alerts] [--no-digest]\n"
    "       nudge staff list [--clinic ID]\n"
    "       nudge staff remove ID\n"
    "       nudge staff digest --clinic ID --at HH:MM|none\n"
    "       nudge staff alert --clinic ID --text TEXT [--role ROLE] [--key KEY]\n"
    "       nudge staff deliveries --clinic ID [--limit N]\n"
    "\n"
    "A member needs at least one channel: an email, a phone (SMS), or a chat\n"
    "room's incoming-webhook URL (it gets {\"text\": ...}). Alerts (escalated\n"
    "tickets, no-shows, messages failed for good, refused credentials) go to\n"
    "those taking alerts; the digest of tomorrow's visits goes each day at the\n"
    "clinic's local --at time to those taking the digest. `alert` sends one\n"
    "now (once per --key). Each is retried with backoff; `deliveries` shows\n"
    "every attempt.\n";

const char *const cli_help_webhook =
    "usage: nudge webhook add --clinic ID --url URL --events TYPE[,TYPE...]|'*'\n"
    "       nudge webhook list [--clinic ID]\n"
    "       nudge webhook remove ID\n"
    "       nudge webhook deliveries ID [--limit N]\n"
    "\n"
    "add prints the subscription's id, then its signing secret, once: keep it\n"
    "to verify each delivery (README, \"Outgoing webhooks\"). Each event of the\n"
    "types given (appointment.booked, message.failed, ...) is POSTed as JSON\n"
    "with Nudge-Webhook-Id, Nudge-Webhook-Timestamp and Nudge-Signature\n"
    "(v1=HMAC-SHA256 over \"TIMESTAMP.BODY\"), retried with backoff (30 s, 2 min,\n"
    "10 min, 30 min, 1 h, 2 h, 4 h) up to 8 attempts.\n";

int cli_staff_add(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "name", NULL};
    nudge_staff s = {.alerts = 1, .digest = 1};
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &s.clinic_id)))
        return rc;
    const struct {
        const char *opt;
        char *dst;
        size_t n;
    } texts[] = {{"name", s.name, sizeof s.name},     {"role", s.role, sizeof s.role},
                 {"email", s.email, sizeof s.email},  {"phone", s.phone, sizeof s.phone},
                 {"chat-url", s.chat_url, sizeof s.chat_url}};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *v = cli_arg(&c->a, texts[i].opt);
        if (!v)
            continue;
        if (strlen(v) >= texts[i].n) {
            fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, texts[i].opt,
                    texts[i].n - 1);
            return CLI_EXIT_USAGE;
        }
        snprintf(texts[i].dst, texts[i].n, "%s", v);
    }
    s.alerts = !cli_arg(&c->a, "no-alerts");
    s.digest = !cli_arg(&c->a, "no-digest");
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_staff_add(c->n, &s, &e) < 0) {
        if (!strcmp(e.field, "chat_url"))
            snprintf(e.field, sizeof e.field, "chat-url");
        return cli_fail(c->cmd, &e);
    }
    printf("%lld\n", (long long)s.id);
    return 0;
}

static int cli_staff_row(void *ctx, const nudge_staff *s)
{
    (void)ctx;
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)s->id, (long long)s->clinic_id,
           s->name, cli_or_dash(s->role), cli_or_dash(s->email), cli_or_dash(s->phone),
           cli_or_dash(s->chat_url), s->alerts ? "yes" : "no", s->digest ? "yes" : "no");
    return 0;
}

static int cli_staff_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_staff_list(c->n, p->clinic, cli_staff_row, NULL, e);
}

int cli_staff_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\tname\trole\temail\tphone\tchat_url\talerts\tdigest",
                    cli_staff_rows);
}

int cli_staff_digest(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "at", NULL};
    int64_t clinic;
    int minute = -1, rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)))
        return rc;
    const char *at = cli_arg(&c->a, "at");
    if (strcmp(at, "none") && nudge_time_parse_hhmm(at, &minute) < 0)
        return cli_usage(c->cmd, "--at %s: HH:MM, or none", at);
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_staff_digest_set(c->n, clinic, minute, &e) < 0) {
        if (!strcmp(e.field, "digest_at"))
            snprintf(e.field, sizeof e.field, "at");
        return cli_fail(c->cmd, &e);
    }
    return 0;
}

int cli_staff_alert(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "text", NULL};
    int64_t clinic;
    int rc, count = 0;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_staff_alert(c->n, clinic, cli_arg(&c->a, "role"), cli_arg(&c->a, "text"),
                          cli_arg(&c->a, "key"), &count, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%d\n", count);
    return 0;
}

/* One delivery and its attempts, as `deliveries` prints them. */
static int cli_delivery_row(void *ctx, const nudge_hook_delivery *d)
{
    const char *tz = ctx;
    char made[40], next[40];
    cli_fmt_time(d->created_at, tz, made, sizeof made);
    cli_fmt_time(!strcmp(d->status, "pending") ? d->next_try : 0, tz, next, sizeof next);
    printf("%lld\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", (long long)d->id,
           cli_or_dash(d->event_type), d->target, d->recipient, d->status, d->attempts,
           d->max_attempts, made, next);
    for (int i = 0; i < d->n_tries; i++) {
        char at[40];
        cli_fmt_time(d->tries[i].at, tz, at, sizeof at);
        printf("\tattempt %d\t%s\t%s\tHTTP %d\t%s\n", d->tries[i].attempt, at,
               d->tries[i].outcome, d->tries[i].http_status, cli_or_dash(d->tries[i].error));
    }
    return 0;
}

static int cli_deliveries(cli_ctx *c, int64_t clinic, int64_t sub)
{
    int limit = 50, rc;
    const char *v = cli_arg(&c->a, "limit");
    if (v && (rc = cli_parse_int(c->cmd, "--limit", v, 1, 100000, &limit)))
        return rc;
    char tzb[64];
    const char *tz = cli_clinic_tz(c->n, clinic, tzb, sizeof tzb);
    printf("id\tevent\ttarget\trecipient\tstatus\tattempts\tcreated\tnext_try\n");
    nudge_err e = {0};
    if (nudge_hook_deliveries(c->n, clinic, sub, limit, cli_delivery_row, (void *)tz, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_staff_deliveries(cli_ctx *c)
{
    static const char *const req[] = {"clinic", NULL};
    int64_t clinic;
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)) ||
        (rc = cli_open(c)))
        return rc;
    return cli_deliveries(c, clinic, 0);
}

int cli_webhook_add(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "url", "events", NULL};
    nudge_hook h = {0};
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &h.clinic_id)))
        return rc;
    const char *url = cli_arg(&c->a, "url"), *ev = cli_arg(&c->a, "events");
    if (strlen(url) >= sizeof h.url || strlen(ev) >= sizeof h.events)
        return cli_usage(c->cmd, "%s: --url and --events are at most 511 bytes",
                         strlen(url) >= sizeof h.url ? "--url" : "--events");
    snprintf(h.url, sizeof h.url, "%s", url);
    snprintf(h.events, sizeof h.events, "%s", ev);
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_hook_add(c->n, &h, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n%s\n", (long long)h.id, h.secret);
    fprintf(stderr, "nudge: webhook %lld created; its secret is shown only now\n",
            (long long)h.id);
    memset(h.secret, 0, sizeof h.secret);
    return 0;
}

static int cli_webhook_row(void *ctx, const nudge_hook *h)
{
    (void)ctx;
    printf("%lld\t%lld\t%s\t%s\t%s\n", (long long)h->id, (long long)h->clinic_id, h->url,
           h->events, h->active ? "active" : "paused");
    return 0;
}

static int cli_webhook_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_hook_list(c->n, p->clinic, cli_webhook_row, NULL, e);
}

int cli_webhook_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\turl\tevents\tstatus", cli_webhook_rows);
}

int cli_webhook_deliveries(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_hook h;
    nudge_err e = {0};
    if (nudge_hook_get(c->n, NUDGE_ANY_CLINIC, id, &h, &e) < 0)
        return cli_fail(c->cmd, &e);
    return cli_deliveries(c, h.clinic_id, id);
}
