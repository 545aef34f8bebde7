/*
 * cli/clinic.c: `nudge clinic add|list`. Options are read into a
 * nudge_clinic over nudge_clinic_defaults; the library validates.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_clinic =
    "usage: nudge clinic add --name NAME --timezone ZONE --country CC [options]\n"
    "       nudge clinic list\n"
    "\n"
    "add prints the new clinic's id.\n"
    "  --name NAME            clinic name, as patients see it\n"
    "  --timezone ZONE        IANA time zone, e.g. Asia/Kolkata\n"
    "  --country CC           ISO country code for local phone numbers, e.g. IN\n"
    "  --language LANG        default language of patients (default en)\n"
    "  --phone NUMBER --email ADDR --address TEXT\n"
    "  --quiet-hours HH:MM-HH:MM   no messages then, in the patient's zone\n"
    "                         (default 21:00-08:00; \"none\" to turn off)\n"
    "  --offsets MIN,MIN      reminder times, minutes before (default 1440,120)\n"
    "  --max-retries N        retries after a transient failure (default 3)\n"
    "  --rate N               messages per minute per channel (default 20)\n"
    "  --channel CH           default channel: sms, whatsapp or email (default sms)\n"
    "  --followup-after MIN   follow-up message after a visit (default 1440, 0: none)\n"
    "  --sms-sender S         the clinic's SMS sender: E.164 or a Messaging Service SID\n"
    "  --whatsapp-fallback on|off   a failed WhatsApp message goes once by SMS (on)\n"
    "  --whatsapp-fallback-after MIN  ... and one undelivered after MIN minutes (0: off)\n";

static int cli_quiet_hours(cli_ctx *c, const char *v, nudge_clinic *cl)
{
    if (!strcmp(v, "none")) {
        cl->quiet_start = cl->quiet_end = 0;
        return 0;
    }
    char s[6], e[6];
    const char *dash = strchr(v, '-');
    if (!dash || dash - v != 5 || strlen(dash + 1) != 5)
        return cli_usage(c->cmd, "%s must be HH:MM-HH:MM or none", "--quiet-hours");
    memcpy(s, v, 5);
    s[5] = 0;
    memcpy(e, dash + 1, 6);
    if (nudge_time_parse_hhmm(s, &cl->quiet_start) < 0 ||
        nudge_time_parse_hhmm(e, &cl->quiet_end) < 0)
        return cli_usage(c->cmd, "%s must be HH:MM-HH:MM or none", "--quiet-hours");
    return 0;
}

int cli_clinic_add(cli_ctx *c)
{
    static const char *const required[] = {"name", "timezone", "country", NULL};
    nudge_clinic cl;
    nudge_clinic_defaults(&cl);
    /* Whole numbers: option, bounds, field. */
    const struct {
        const char *opt;
        int lo, hi;
        int *dst;
    } nums[] = {
        {"max-retries", 0, 20, &cl.max_retries},
        {"rate", 1, 1000000, &cl.rate_per_minute},
        {"followup-after", 0, 525600, &cl.followup_after},
        {"whatsapp-fallback-after", 0, 10080, &cl.whatsapp_fallback_after},
    };
    const char *v;
    int rc;
    if ((rc = cli_record_in(c, NULL, NULL, required, &cl)))
        return rc;
    if ((v = cli_arg(&c->a, "quiet-hours")) && (rc = cli_quiet_hours(c, v, &cl)))
        return rc;
    nudge_err e = {0};
    if ((v = cli_arg(&c->a, "offsets")) &&
        nudge_clinic_parse_offsets(v, cl.offsets, &cl.n_offsets, &e) < 0)
        return cli_fail(c->cmd, &e);
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        char opt[40];
        snprintf(opt, sizeof opt, "--%s", nums[i].opt);
        if ((v = cli_arg(&c->a, nums[i].opt)) &&
            (rc = cli_parse_int(c->cmd, opt, v, nums[i].lo, nums[i].hi, nums[i].dst)))
            return rc;
    }
    if ((v = cli_arg(&c->a, "whatsapp-fallback"))) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return cli_usage(c->cmd, "--whatsapp-fallback must be on or off (got \"%s\")", v);
        cl.whatsapp_fallback = !strcmp(v, "on");
    }
    if ((rc = cli_open(c)))
        return rc;
    if (nudge_clinic_add(c->n, &cl, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)cl.id);
    return 0;
}

static int cli_clinic_row(void *x, const nudge_clinic *cl)
{
    (void)x;
    char qs[16], qe[16];
    cli_hhmm(cl->quiet_start, qs, sizeof qs);
    cli_hhmm(cl->quiet_end, qe, sizeof qe);
    printf("%lld\t%s\t%s\t%s\t%s\t%s-%s\t%s\n", (long long)cl->id, cl->name, cl->timezone,
           cl->country, cl->language, qs, qe, cl->default_channel);
    return 0;
}

static int cli_clinic_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    (void)p;
    return nudge_clinic_list(c->n, 0, 100000, cli_clinic_row, NULL, e);
}

int cli_clinic_list(cli_ctx *c)
{
    return cli_list(c, "id\tname\ttimezone\tcountry\tlanguage\tquiet_hours\tchannel",
                    cli_clinic_rows);
}
