/*
 * cli/consent.c: `nudge consent show|grant|withdraw PATIENT` (the consent
 * ledger and what it allows now) and `nudge usage [plan]` (a month's
 * usage and cost, a clinic's tier and compliance settings). All rules are
 * the library's (src/consent.c); this file parses and prints.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_consent =
    "usage: nudge consent show PATIENT [--clinic ID]\n"
    "       nudge consent grant PATIENT --category CAT --channel CH --wording TEXT\n"
    "                         [--source SOURCE] [--clinic ID]\n"
    "       nudge consent withdraw PATIENT --category CAT --channel CH\n"
    "                         [--wording TEXT] [--source SOURCE] [--clinic ID]\n"
    "\n"
    "The consent ledger: each grant and withdrawal of a patient per category\n"
    "(reminders, broadcasts, health_tips, marketing, or * for all) and channel\n"
    "(sms, whatsapp, email, or * for all), with who recorded it, how (--source:\n"
    "staff by default, api, inbound_keyword, unsubscribe_link, import) and the\n"
    "wording the patient was shown; an opt-in to a promotional category\n"
    "(health_tips, marketing) needs --wording. show prints what is\n"
    "allowed now per category and channel, with the reason when not, then the\n"
    "ledger oldest first.\n";

const char *const cli_help_usage =
    "usage: nudge usage --clinic ID [--month YYYY-MM]\n"
    "       nudge usage plan --clinic ID [--tier NAME] [--reminders opt_out|opt_in]\n"
    "                        [--window HH:MM-HH:MM] [--reserve N] [--grace-minutes M]\n"
    "       nudge usage tiers\n"
    "       nudge usage tier --name NAME --quota N|-1 --overage-paise P|-1\n"
    "\n"
    "usage: the messages sent in a calendar month of the clinic's zone (this\n"
    "month by default) by channel, counted in units (an SMS of three segments\n"
    "is three), the tier's quota, what went past it and its cost in rupees.\n"
    "plan: the clinic's tier (free 100 a month, then messages wait; essential\n"
    "500, then Rs 0.25 each; professional 2,000, Rs 0.20; clinic 10,000,\n"
    "Rs 0.15; hospital unlimited at Rs 0.10; an empty --tier: not metered),\n"
    "whether reminders need an opt-in, the promotional send window in the\n"
    "patient's local time (default 09:00-21:00, narrowed to the law of the\n"
    "clinic's country) and the reserve: the last messages of a quota without\n"
    "overage kept for reminders, and the grace: how long past its time a\n"
    "scheduled broadcast without its own --grace-minutes may still start after\n"
    "downtime (default 120; later it waits for staff). Options not given keep\n"
    "their value.\n"
    "tiers: the tier table as it applies; tier: sets one for the whole\n"
    "installation (-1: an unlimited quota, or no overage: messages wait).\n";

static int cli_consent_entry(void *ctx, const nudge_consent_entry *e)
{
    const char *tz = ctx;
    char at[40];
    cli_fmt_time(e->at, tz, at, sizeof at);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)e->id, at, e->category, e->channel,
           e->state, e->source, e->actor, cli_or_dash(e->wording[0] ? e->wording : e->message));
    return 0;
}

static int64_t cli_consent_clinic(cli_ctx *c, int *rc)
{
    int64_t clinic = NUDGE_ANY_CLINIC;
    const char *v = cli_arg(&c->a, "clinic");
    *rc = v ? cli_parse_id(c->cmd, "--clinic", v, &clinic) : 0;
    return clinic;
}

int cli_consent_show(cli_ctx *c)
{
    int64_t id;
    int rc;
    int64_t clinic = cli_consent_clinic(c, &rc);
    if (rc || (rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    nudge_patient p;
    if (nudge_patient_get(c->n, clinic, id, &p, &e) < 0)
        return cli_fail(c->cmd, &e);
    static const char *const channels[] = {"sms", "whatsapp", "email"};
    printf("category\tsms\twhatsapp\temail\n");
    for (int i = 0; nudge_consent_categories[i]; i++) {
        printf("%s", nudge_consent_categories[i]);
        for (int k = 0; k < 3; k++) {
            const char *why = NULL;
            int r = nudge_consent_allowed(c->n, p.clinic_id, p.id, nudge_consent_categories[i],
                                          channels[k], &why, &e);
            if (r < 0)
                return cli_fail(c->cmd, &e);
            printf("\t%s", r ? "allowed" : why);
        }
        printf("\n");
    }
    char tz[64];
    printf("\nid\tat\tcategory\tchannel\tstate\tsource\tactor\twording\n");
    if (nudge_consent_history(c->n, p.clinic_id, p.id, cli_consent_entry,
                              (void *)cli_clinic_tz(c->n, p.clinic_id, tz, sizeof tz), &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

static int cli_consent_change(cli_ctx *c, const char *state)
{
    static const char *const req[] = {"category", "channel", NULL};
    int64_t id;
    int rc;
    int64_t clinic = cli_consent_clinic(c, &rc);
    if (rc || (rc = cli_require(c, req)))
        return rc;
    nudge_consent_entry en = {.clinic_id = clinic};
    struct {
        const char *opt, *dflt;
        char *dst;
        size_t n;
    } texts[] = {{"category", NULL, en.category, sizeof en.category},
                 {"channel", NULL, en.channel, sizeof en.channel},
                 {"source", "staff", en.source, sizeof en.source},
                 {"wording", "", en.wording, sizeof en.wording}};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *v = cli_arg(&c->a, texts[i].opt);
        if (!v)
            v = texts[i].dflt;
        if (strlen(v) >= texts[i].n) {
            fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, texts[i].opt,
                    texts[i].n - 1);
            return CLI_EXIT_USAGE;
        }
        snprintf(texts[i].dst, texts[i].n, "%s", v);
    }
    snprintf(en.state, sizeof en.state, "%s", state);
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    en.patient_id = id;
    nudge_err e = {0};
    if (nudge_consent_record(c->n, &en, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)en.id);
    return 0;
}

int cli_consent_grant(cli_ctx *c)
{
    return cli_consent_change(c, "granted");
}

int cli_consent_withdraw(cli_ctx *c)
{
    return cli_consent_change(c, "withdrawn");
}

static void cli_rupees(int64_t paise, char *buf, size_t n)
{
    snprintf(buf, n, "%lld.%02lld", (long long)(paise / 100), (long long)(paise % 100));
}

int cli_usage_show(cli_ctx *c)
{
    static const char *const req[] = {"clinic", NULL};
    int64_t clinic;
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    nudge_usage u;
    if (nudge_usage_get(c->n, clinic, cli_arg(&c->a, "month"), &u, &e) < 0)
        return cli_fail(c->cmd, &e);
    static const char *const channels[] = {"sms", "whatsapp", "email"};
    char quota[24], rate[24], cost[24];
    if (u.quota < 0)
        snprintf(quota, sizeof quota, "%s", u.tier[0] ? "unlimited" : "-");
    else
        snprintf(quota, sizeof quota, "%lld", (long long)u.quota);
    if (u.overage_paise < 0)
        snprintf(rate, sizeof rate, "%s", u.tier[0] ? "none (messages wait)" : "-");
    else
        cli_rupees(u.overage_paise, rate, sizeof rate);
    cli_rupees(u.cost_paise, cost, sizeof cost);
    printf("month\t%s\ntier\t%s\nquota\t%s\n", u.month, u.tier[0] ? u.tier : "not metered",
           quota);
    for (int k = 0; k < 3; k++)
        printf("%s\t%lld messages\t%lld units\n", channels[k], (long long)u.channel_messages[k],
               (long long)u.channel_units[k]);
    printf("total\t%lld messages\t%lld units\noverage\t%lld\nrate_inr\t%s\ncost_inr\t%s\n",
           (long long)u.messages, (long long)u.units, (long long)u.overage, rate, cost);
    return 0;
}

static int cli_usage_tier_row(void *ctx, const char *name, int64_t quota, int64_t overage)
{
    (void)ctx;
    char q[24] = "unlimited", o[24] = "none (messages wait)";
    if (quota >= 0)
        snprintf(q, sizeof q, "%lld", (long long)quota);
    if (overage >= 0)
        snprintf(o, sizeof o, "%lld", (long long)overage);
    printf("%s\t%s\t%s\n", name, q, o);
    return 0;
}

/* The table as it applies, on a handle already open. */
static int cli_usage_tier_table(cli_ctx *c)
{
    nudge_err e = {0};
    printf("tier\tquota\toverage_paise\n");
    if (nudge_usage_tier_list(c->n, cli_usage_tier_row, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_usage_tiers(cli_ctx *c)
{
    int rc = cli_open(c);
    return rc ? rc : cli_usage_tier_table(c);
}

int cli_usage_tier(cli_ctx *c)
{
    static const char *const req[] = {"name", "quota", "overage-paise", NULL};
    int quota, overage, rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_int(c->cmd, "--quota", cli_arg(&c->a, "quota"), -1, 1000000000,
                            &quota)) ||
        (rc = cli_parse_int(c->cmd, "--overage-paise", cli_arg(&c->a, "overage-paise"), -1,
                            1000000000, &overage)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_usage_tier_set(c->n, cli_arg(&c->a, "name"), quota, overage, &e) < 0)
        return cli_fail(c->cmd, &e);
    return cli_usage_tier_table(c);
}

int cli_usage_plan(cli_ctx *c)
{
    static const char *const req[] = {"clinic", NULL};
    int64_t clinic;
    int rc;
    if ((rc = cli_require(c, req)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)))
        return rc;
    const char *tier = cli_arg(&c->a, "tier"), *rem = cli_arg(&c->a, "reminders"),
               *win = cli_arg(&c->a, "window"), *res = cli_arg(&c->a, "reserve"),
               *grace = cli_arg(&c->a, "grace-minutes");
    int start = 0, end = 0, reserve = 0, grace_min = 0;
    if (win) {
        char a[8] = "", b[8] = "";
        const char *dash = strchr(win, '-');
        if (dash && dash - win < 8 && strlen(dash + 1) < 8) {
            snprintf(a, sizeof a, "%.*s", (int)(dash - win), win);
            snprintf(b, sizeof b, "%s", dash + 1);
        }
        if (!dash || nudge_time_parse_hhmm(a, &start) < 0 ||
            (strcmp(b, "24:00") ? nudge_time_parse_hhmm(b, &end) < 0 : (end = 1440, 0)))
            return cli_usage(c->cmd, "--window must be HH:MM-HH:MM (got %s)", win);
    }
    if (res && (rc = cli_parse_int(c->cmd, "--reserve", res, 0, 1000000000, &reserve)))
        return rc;
    if (grace && (rc = cli_parse_int(c->cmd, "--grace-minutes", grace, 1, 7 * 1440, &grace_min)))
        return rc;
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    nudge_usage_plan p;
    if (nudge_usage_plan_get(c->n, clinic, &p, &e) < 0)
        return cli_fail(c->cmd, &e);
    if (tier && strlen(tier) >= sizeof p.tier)
        return cli_usage(c->cmd, "--tier is not a tier: %s", tier);
    if (rem && strlen(rem) >= sizeof p.reminders_policy)
        return cli_usage(c->cmd, "--reminders must be opt_out or opt_in (got %s)", rem);
    if (tier)
        snprintf(p.tier, sizeof p.tier, "%s", tier);
    if (rem)
        snprintf(p.reminders_policy, sizeof p.reminders_policy, "%s", rem);
    if (win) {
        p.window_start = start;
        p.window_end = end;
    }
    if (res)
        p.reserve = reserve;
    if (grace)
        p.grace = (int64_t)grace_min * 60;
    if (nudge_usage_plan_set(c->n, clinic, &p, &e) < 0)
        return cli_fail(c->cmd, &e);
    char a[8], b[8] = "24:00";
    cli_hhmm(p.window_start, a, sizeof a);
    if (p.window_end < 1440)
        cli_hhmm(p.window_end, b, sizeof b);
    printf("tier\t%s\nreminders\t%s\nwindow\t%s-%s\nreserve\t%lld\ngrace_minutes\t%lld\n",
           p.tier[0] ? p.tier : "not metered", p.reminders_policy, a, b, (long long)p.reserve,
           (long long)(p.grace / 60));
    return 0;
}
