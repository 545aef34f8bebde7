/*
 * cli/appointment.c: `nudge appointment ...`: booking, listing, showing
 * with its plans, and rescheduling (the other changes of state are one
 * library call each: cli_by_id rows). Times are read and printed in the
 * clinic's zone.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_appointment =
    "usage: nudge appointment add --patient ID --service TEXT --at TIME [options]\n"
    "       nudge appointment list [--clinic ID] [--patient ID] [--status S]\n"
    "       nudge appointment show ID\n"
    "       nudge appointment confirm|cancel|complete|no-show ID\n"
    "       nudge appointment reschedule ID --at TIME\n"
    "\n"
    "TIME is RFC 3339 (2026-12-01T10:00:00+05:30), or a local time in the clinic's\n"
    "zone (2026-12-01T10:00). add prints the new id and plans a confirmation now\n"
    "and reminders before the visit (the clinic's offsets, 24 h and 2 h by default);\n"
    "on stderr it says what it planned and what it skipped and why (a visit in the\n"
    "past, or a reminder whose time had passed, is recorded without messages).\n"
    "cancel drops the plans; reschedule plans afresh; complete plans a follow-up;\n"
    "no-show plans a no-show message. Duration defaults to 30 minutes.\n";

/* What the booking planned and skipped, one line each on stderr (stdout
 * keeps only the id, for scripts): a visit recorded after the fact, or a
 * reminder whose time had passed, is said to be skipped and why. */
static void cli_appt_plan(const cli_ctx *c, const nudge_plan *plan, const char *tz)
{
    for (int i = 0; i < plan->n; i++) {
        const nudge_plan_item *it = &plan->items[i];
        char name[40], t[40];
        nudge_plan_item_name(it, name, sizeof name);
        cli_fmt_time(it->due_at, tz, t, sizeof t);
        if (it->planned)
            fprintf(stderr, "nudge %s: %s: planned for %s\n", c->cmd, name, t);
        else
            fprintf(stderr, "nudge %s: %s: skipped, %s\n", c->cmd, name, it->why);
    }
}

int cli_appt_add(cli_ctx *c)
{
    nudge_appointment ap;
    memset(&ap, 0, sizeof ap);
    ap.duration_min = 30;
    int rc;
    if ((rc = cli_record_in(c, NULL, NULL, &ap)) || (rc = cli_open(c)))
        return rc;
    nudge_patient p;
    nudge_err e = {0};
    char tzb[64];
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, ap.patient_id, &p, &e) < 0)
        return cli_fail_fields(c, &e);
    if ((rc = cli_fields_in(c, &ap, cli_clinic_tz(c->n, p.clinic_id, tzb, sizeof tzb))))
        return rc;
    nudge_plan plan;
    if (nudge_appointment_book(c->n, p.clinic_id, &ap, &plan, &e) < 0)
        return cli_fail_fields(c, &e);
    printf("%lld\n", (long long)ap.id);
    cli_appt_plan(c, &plan, tzb);
    return 0;
}

typedef struct cli_appt_rows_seen {
    nudge *n;
    int header; /* printed: only once a row or the end shows the call worked */
} cli_appt_rows_seen;

static void cli_appt_header(cli_appt_rows_seen *l)
{
    if (!l->header++)
        printf("id\tpatient\tat\tservice\tminutes\tdoctor\tstatus\n");
}

static int cli_appt_row(void *x, const nudge_appointment *ap)
{
    cli_appt_rows_seen *l = x;
    cli_appt_header(l);
    char tzb[64], t[40];
    cli_fmt_time(ap->start_at, cli_clinic_tz(l->n, ap->clinic_id, tzb, sizeof tzb), t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%d\t%s\t%s\n", (long long)ap->id, (long long)ap->patient_id, t,
           ap->service, ap->duration_min, cli_or_dash(ap->provider), ap->status);
    return 0;
}

/* --patient and --status narrow the list; the header follows the call. */
static int cli_appt_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    int64_t patient = 0;
    const char *v = cli_arg(&c->a, "patient");
    if (v && cli_parse_id(c->cmd, "--patient", v, &patient))
        return CLI_EXIT_USAGE;
    cli_appt_rows_seen l = {c->n, 0};
    if (nudge_appointment_list(c->n, p->clinic, patient, cli_arg(&c->a, "status"), p->after,
                               p->limit, cli_appt_row, &l, e) < 0)
        return -1;
    cli_appt_header(&l);
    return 0;
}

int cli_appt_list(cli_ctx *c)
{
    return cli_list(c, NULL, cli_appt_rows);
}

static int cli_reminder_row(void *x, const nudge_reminder *r)
{
    const char *tz = x;
    char t[40];
    cli_fmt_time(r->due_at, tz, t, sizeof t);
    printf("  %-12s %-26s %-10s %s", r->kind, r->template_name, r->status, t);
    if (r->notification_id)
        printf("  notification %lld", (long long)r->notification_id);
    printf("\n");
    return 0;
}

int cli_appt_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_appointment ap;
    if (nudge_appointment_get(c->n, NUDGE_ANY_CLINIC, id, &ap, e) < 0)
        return -1;
    char tzb[64], t[40];
    const char *tz = cli_clinic_tz(c->n, ap.clinic_id, tzb, sizeof tzb);
    cli_fmt_time(ap.start_at, tz, t, sizeof t);
    printf("id: %lld\nclinic: %lld\npatient: %lld\nservice: %s\nat: %s\nduration: %d\n"
           "doctor: %s\nstatus: %s\nnotes: %s\nplans:\n",
           (long long)ap.id, (long long)ap.clinic_id, (long long)ap.patient_id, ap.service, t,
           ap.duration_min, cli_or_dash(ap.provider), ap.status, cli_or_dash(ap.notes));
    return nudge_reminder_list(c->n, NUDGE_ANY_CLINIC, ap.id, cli_reminder_row, (void *)tz, e);
}

int cli_appt_reschedule(cli_ctx *c)
{
    int64_t id, t;
    int rc;
    if ((rc = cli_one_id(c, &id, 0)))
        return rc;
    if (!cli_arg(&c->a, "at"))
        return cli_usage(c->cmd, "%s is required", "--at");
    if ((rc = cli_open(c)))
        return rc;
    nudge_appointment ap;
    nudge_err e = {0};
    if (nudge_appointment_get(c->n, NUDGE_ANY_CLINIC, id, &ap, &e) < 0)
        return cli_fail(c->cmd, &e);
    if ((rc = cli_time_in_clinic(c, ap.clinic_id, cli_arg(&c->a, "at"), &t)))
        return rc;
    if (nudge_appointment_reschedule(c->n, NUDGE_ANY_CLINIC, id, t, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}
