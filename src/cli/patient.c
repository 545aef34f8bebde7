/*
 * cli/patient.c: `nudge patient add|list|show`. add's options are the
 * patient table's (fields.c); phone numbers are read with the clinic's
 * country by the library.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_patient =
    "usage: nudge patient add --clinic ID --name NAME (--phone N | --email ADDR) [options]\n"
    "       nudge patient list [--clinic ID] [--limit N] [--after ID]\n"
    "       nudge patient show ID\n"
    "\n"
    "add prints the new patient's id. Phone numbers are stored in E.164, read\n"
    "with the clinic's country as default.\n";

int cli_patient_add(cli_ctx *c)
{
    nudge_patient p;
    nudge_patient_init(&p);
    int rc;
    if ((rc = cli_record_in(c, "clinic", &p.clinic_id, &p)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    nudge_clinic cl;
    if (nudge_clinic_get(c->n, p.clinic_id, &cl, &e) < 0 || nudge_patient_add(c->n, &p, &e) < 0)
        return cli_fail_fields(c, &e);
    printf("%lld\n", (long long)p.id);
    return 0;
}

static int cli_patient_row(void *x, const nudge_patient *p)
{
    (void)x;
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\n", (long long)p->id, (long long)p->clinic_id, p->name,
           cli_or_dash(p->phone), cli_or_dash(p->email), p->language);
    return 0;
}

static int cli_patient_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_patient_list(c->n, p->clinic, p->after, p->limit, cli_patient_row, NULL, e);
}

int cli_patient_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\tname\tphone\temail\tlanguage", cli_patient_rows);
}

int cli_patient_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_patient p;
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, id, &p, e) < 0)
        return -1;
    char tzb[64], t[40], created[40], visit[40], optouts[128] = "";
    const char *tz = p.timezone[0] ? p.timezone : cli_clinic_tz(c->n, p.clinic_id, tzb, sizeof tzb);
    for (size_t i = 0; nudge_optout_names[i]; i++)
        if (p.opt_outs & (1u << i))
            snprintf(optouts + strlen(optouts), sizeof optouts - strlen(optouts), "%s%s",
                     optouts[0] ? "," : "", nudge_optout_names[i]);
    if (p.preferred_time >= 0)
        cli_hhmm(p.preferred_time, t, sizeof t);
    else
        strcpy(t, "-");
    cli_fmt_time(p.last_visit, tz, visit, sizeof visit);
    cli_fmt_time(p.created_at, tz, created, sizeof created);
    printf("id: %lld\nclinic: %lld\nname: %s\nphone: %s\nemail: %s\nlanguage: %s\n"
           "timezone: %s\ndate_of_birth: %s\ngender: %s\ntags: %s\npreferred_channel: %s\n"
           "preferred_time: %s\nopt_outs: %s\nloyalty_points: %lld\nlast_visit: %s\n"
           "created_at: %s\n",
           (long long)p.id, (long long)p.clinic_id, p.name, cli_or_dash(p.phone),
           cli_or_dash(p.email), p.language, tz, cli_or_dash(p.dob), cli_or_dash(p.gender),
           cli_or_dash(p.tags), cli_or_dash(p.preferred_channel), t, cli_or_dash(optouts),
           (long long)p.loyalty_points, visit, created);
    return 0;
}
