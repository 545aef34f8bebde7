/*
 * cli/clinic.c: `nudge clinic add|list`. add's options are the clinic
 * table's (fields.c), read over nudge_clinic_defaults; the library
 * validates.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_clinic =
    "usage: nudge clinic add --name NAME --timezone ZONE --country CC [options]\n"
    "       nudge clinic list\n"
    "\n"
    "add prints the new clinic's id. Left out, a setting takes its default:\n"
    "language en, quiet hours 21:00-08:00 (in the patient's zone), reminders\n"
    "1440 and 120 minutes before, 3 retries, 20 messages a minute, channel sms,\n"
    "a follow-up 1440 minutes after a visit, WhatsApp falling back to SMS.\n";

int cli_clinic_add(cli_ctx *c)
{
    nudge_clinic cl;
    nudge_clinic_defaults(&cl);
    int rc;
    if ((rc = cli_record_in(c, NULL, NULL, &cl)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_clinic_add(c->n, &cl, &e) < 0)
        return cli_fail_fields(c, &e);
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
