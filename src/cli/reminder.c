/*
 * cli/reminder.c: `nudge prescription ...`, `nudge reminder ...` and
 * `nudge recall ...`: the reminders not tied to a visit's time. A
 * prescription's own options come from its record table (@prescription);
 * its medications are repeated groups whose options come from the
 * medication table: each --drug starts one, the options after it fill it.
 * Times print in the clinic's zone.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_prescription =
    "usage: nudge prescription add --patient ID --drug NAME --dose D --frequency F\n"
    "                              --duration DUR [--instructions T] [--times HH:MM,..]\n"
    "                              [--drug ... (one group per medication)] [options]\n"
    "       nudge prescription list [--clinic ID] [--patient ID]\n"
    "       nudge prescription show ID\n"
    "       nudge prescription stop ID [--reason TEXT]\n"
    "       nudge prescription change ID --drug NAME --dose D --frequency F\n"
    "                              --duration DUR [...] [--prescriber P] [--notes T]\n"
    "\n"
    "F is how clinicians write it: OD (QD), BD (BID), TDS (TID), QID, HS, q4h,\n"
    "q6h, q8h, q12h, once weekly, alternate days, SOS (PRN: no reminders), or\n"
    "morning-noon-night such as 1-0-1 or 1-1-1-1. DUR: 5 days, 2 weeks,\n"
    "1 month or until review (at most the clinic's review_max_days, 90 by\n"
    "default). Doses go at the frequency's\n"
    "times (BD 09:00 and 21:00, HS 22:00, OD at the patient's preferred time)\n"
    "or --times, in the patient's zone, one message per dose time listing every\n"
    "drug due then; --channels both sends each on SMS and email. stop cancels\n"
    "the doses still to come. change replaces the medications (every group\n"
    "given, as for add) and re-plans the doses from now in one transaction.\n"
    "add prints the new id.\n";

const char *const cli_help_reminder =
    "usage: nudge reminder list (--patient ID | --subject S --clinic ID)\n"
    "       nudge reminder cancel ID\n"
    "       nudge reminder cancel (--patient ID | --subject S --clinic ID)\n"
    "\n"
    "A subject is what a plan is about: prescription:7, recall:3, lab:2,\n"
    "birthday:5, follow_up:5. cancel by patient or subject cancels every plan\n"
    "still to come (and its messages not yet sent) and prints how many.\n";

const char *const cli_help_recall =
    "usage: nudge recall rule-add --clinic ID --service S --after-days N\n"
    "                             [--cadence 14,28] [--template NAME] [--channels C]\n"
    "       nudge recall rules --clinic ID\n"
    "       nudge recall list --clinic ID [--patient ID]\n"
    "       nudge recall close ID --clinic ID\n"
    "\n"
    "A rule recalls a patient N days after a completed visit of service S (the\n"
    "name ignoring case), at their preferred time, again after each cadence\n"
    "step, until a visit is booked (a cancelled booking resumes it) or they opt\n"
    "out of reminders. rule-add prints the rule's id.\n";

/* The medication groups of `prescription add`, in the order given. */
static int cli_rx_meds(cli_ctx *c, nudge_prescription *p)
{
    char opt[40];
    for (int i = 0; i < c->a.nkv; i++) {
        const nudge_field *f = NULL;
        for (const nudge_field *g = nudge_medication_fields; g->name && !f; g++)
            if ((g->flags & NUDGE_F_CREATE) &&
                !strcmp(cli_field_opt(g, opt, sizeof opt), c->a.kv[i].name))
                f = g;
        if (!f)
            continue;
        if (!strcmp(f->name, "drug_name")) {
            if (p->n_medications == NUDGE_MAX_MEDICATIONS)
                return cli_usage(c->cmd, "at most %s medications", "12");
            p->n_medications++;
        } else if (!p->n_medications) {
            return cli_usage(c->cmd, "%s", "give --drug first: each --drug starts a medication");
        }
        char *dst = (char *)&p->medications[p->n_medications - 1] + f->offset;
        if (strlen(c->a.kv[i].value) >= f->size) {
            fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, opt, f->size - 1);
            return CLI_EXIT_USAGE;
        }
        strcpy(dst, c->a.kv[i].value);
    }
    if (!p->n_medications)
        return cli_usage(c->cmd, "%s", "give at least one --drug with its --dose, --frequency "
                                       "and --duration");
    return 0;
}

/* The library names a medication's field "medications[1].frequency":
 * say which --drug group and option. */
static int cli_rx_fail(cli_ctx *c, const nudge_err *e)
{
    int k;
    char name[32];
    if (sscanf(e->field, "medications[%d].%31s", &k, name) == 2) {
        const nudge_field *f = nudge_field_find(nudge_medication_fields, name);
        char opt[40];
        fprintf(stderr, "nudge %s: %s (medication %d, option --%s)\n", c->cmd, e->msg, k + 1,
                f ? cli_field_opt(f, opt, sizeof opt) : name);
        return cli_exit_code(e);
    }
    return cli_fail_fields(c, e);
}

int cli_rx_add(cli_ctx *c)
{
    static nudge_prescription p;
    memset(&p, 0, sizeof p);
    int rc;
    if ((rc = cli_record_in(c, NULL, NULL, &p)) || (rc = cli_rx_meds(c, &p)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_prescription_add(c->n, &p, &e) < 0)
        return cli_rx_fail(c, &e);
    printf("%lld\n", (long long)p.id);
    return 0;
}

static int cli_rx_row(void *x, const nudge_prescription *p)
{
    (void)x;
    printf("%lld\t%lld\t%s\t%s\t%s\t%d\t", (long long)p->id, (long long)p->patient_id,
           p->status, p->starts_on, p->ends_on, p->n_medications);
    for (int i = 0; i < p->n_medications; i++)
        printf("%s%s %s", i ? ", " : "", p->medications[i].drug_name,
               p->medications[i].frequency);
    printf("\n");
    return 0;
}

static int cli_rx_rows(cli_ctx *c, const cli_page *pg, nudge_err *e)
{
    int64_t patient = 0;
    const char *v = cli_arg(&c->a, "patient");
    if (v && cli_parse_id(c->cmd, "--patient", v, &patient))
        return CLI_EXIT_USAGE;
    return nudge_prescription_list(c->n, pg->clinic, patient, cli_rx_row, NULL, e);
}

int cli_rx_list(cli_ctx *c)
{
    return cli_list(c, "id\tpatient\tstatus\tstarts\tends\tdrugs\tmedications", cli_rx_rows);
}

static int cli_plan_row(void *x, const nudge_reminder *r)
{
    const char *tz = x;
    char t[40];
    cli_fmt_time(r->due_at, tz, t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)r->id, (long long)r->patient_id,
           r->kind, cli_or_dash(r->subject), t, r->status, cli_or_dash(r->channels),
           cli_or_dash(r->note));
    return 0;
}

#define CLI_PLAN_HEADER "id\tpatient\tkind\tsubject\tdue\tstatus\tchannels\tnote"

int cli_rx_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    static nudge_prescription p;
    if (nudge_prescription_get(c->n, NUDGE_ANY_CLINIC, id, &p, e) < 0)
        return -1;
    char tzb[64], subject[48];
    printf("id: %lld\nclinic: %lld\npatient: %lld\nstatus: %s\nstarts_on: %s\nends_on: %s\n"
           "prescriber: %s\nchannels: %s\nstop_reason: %s\nmedications:\n",
           (long long)p.id, (long long)p.clinic_id, (long long)p.patient_id, p.status,
           p.starts_on, p.ends_on, cli_or_dash(p.prescriber), cli_or_dash(p.channels),
           cli_or_dash(p.stop_reason));
    for (int i = 0; i < p.n_medications; i++) {
        const nudge_medication *m = &p.medications[i];
        printf("  %s\t%s\t%s\t%s\t%d days\t%s\t%s\n", m->drug_name, m->dose, m->frequency,
               m->duration, m->days, cli_or_dash(m->times), cli_or_dash(m->instructions));
    }
    printf("doses:\n" CLI_PLAN_HEADER "\n");
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)id);
    return nudge_reminder_find(c->n, p.clinic_id, 0, subject, cli_plan_row,
                               (void *)cli_clinic_tz(c->n, p.clinic_id, tzb, sizeof tzb), e);
}

int cli_rx_stop(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    if (nudge_prescription_stop(c->n, NUDGE_ANY_CLINIC, id, cli_arg(&c->a, "reason"), &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

/* Text options into a record: each --opt given is copied to its member,
 * refused (usage) when it does not fit. */
typedef struct cli_text_opt {
    const char *opt;
    size_t off, size;
} cli_text_opt;

static int cli_text_opts(cli_ctx *c, void *rec, const cli_text_opt *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = cli_arg(&c->a, t[i].opt);
        if (v && strlen(v) >= t[i].size) {
            fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, t[i].opt,
                    t[i].size - 1);
            return CLI_EXIT_USAGE;
        }
        if (v)
            strcpy((char *)rec + t[i].off, v);
    }
    return 0;
}

int cli_rx_change(cli_ctx *c)
{
    static nudge_prescription p;
    memset(&p, 0, sizeof p);
    int64_t id;
    int rc;
    static const cli_text_opt texts[] = {
        {"prescriber", offsetof(nudge_prescription, prescriber), sizeof p.prescriber},
        {"notes", offsetof(nudge_prescription, notes), sizeof p.notes},
    };
    if ((rc = cli_one_id(c, &id, 0)) || (rc = cli_rx_meds(c, &p)) ||
        (rc = cli_text_opts(c, &p, texts, sizeof texts / sizeof texts[0])) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_prescription_change(c->n, NUDGE_ANY_CLINIC, id, &p, &e) < 0)
        return cli_rx_fail(c, &e);
    return 0;
}

/* --patient (its clinic) or --subject with --clinic: what a reminder
 * command is about. */
static int cli_plan_scope(cli_ctx *c, int64_t *clinic, int64_t *patient, const char **subject)
{
    const char *v;
    int rc;
    *clinic = *patient = 0;
    *subject = cli_arg(&c->a, "subject");
    if ((v = cli_arg(&c->a, "patient")) && (rc = cli_parse_id(c->cmd, "--patient", v, patient)))
        return rc;
    if ((v = cli_arg(&c->a, "clinic")) && (rc = cli_parse_id(c->cmd, "--clinic", v, clinic)))
        return rc;
    if (!*patient && !*subject)
        return cli_usage(c->cmd, "%s", "give --patient ID, or --subject S with --clinic ID");
    if ((rc = cli_open(c)))
        return rc;
    if (*patient) {
        nudge_patient p;
        nudge_err e = {0};
        if (nudge_patient_get(c->n, *clinic, *patient, &p, &e) < 0)
            return cli_fail(c->cmd, &e);
        *clinic = p.clinic_id;
    } else if (!*clinic) {
        return cli_usage(c->cmd, "%s", "--subject needs --clinic ID");
    }
    return 0;
}

int cli_plan_list(cli_ctx *c)
{
    int64_t clinic, patient;
    const char *subject;
    char tzb[64];
    int rc;
    if ((rc = cli_plan_scope(c, &clinic, &patient, &subject)))
        return rc;
    nudge_err e = {0};
    printf(CLI_PLAN_HEADER "\n");
    if (nudge_reminder_find(c->n, clinic, patient, subject, cli_plan_row,
                            (void *)cli_clinic_tz(c->n, clinic, tzb, sizeof tzb), &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_plan_cancel(cli_ctx *c)
{
    nudge_err e = {0};
    int rc;
    if (c->a.npos) {
        int64_t id;
        if ((rc = cli_one_id(c, &id, 1)))
            return rc;
        return nudge_reminder_cancel(c->n, NUDGE_ANY_CLINIC, id, &e) < 0 ? cli_fail(c->cmd, &e)
                                                                         : 0;
    }
    int64_t clinic, patient;
    const char *subject;
    int count = 0;
    if ((rc = cli_plan_scope(c, &clinic, &patient, &subject)))
        return rc;
    if (nudge_reminder_cancel_where(c->n, clinic, patient, subject, &count, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%d\n", count);
    return 0;
}

/* --clinic, required by the recall commands. */
static int cli_recall_clinic(cli_ctx *c, int64_t *clinic)
{
    static const char *const need[] = {"clinic", NULL};
    int rc;
    if ((rc = cli_require(c, need)) ||
        (rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), clinic)))
        return rc;
    return 0;
}

int cli_recall_rule_add(cli_ctx *c)
{
    static const char *const need[] = {"service", "after-days", NULL};
    nudge_recall_rule r;
    memset(&r, 0, sizeof r);
    int rc;
    if ((rc = cli_recall_clinic(c, &r.clinic_id)) || (rc = cli_require(c, need)) ||
        (rc = cli_parse_int(c->cmd, "--after-days", cli_arg(&c->a, "after-days"), 1, 3660,
                            &r.after_days)))
        return rc;
    static const cli_text_opt texts[] = {
        {"service", offsetof(nudge_recall_rule, service), sizeof r.service},
        {"cadence", offsetof(nudge_recall_rule, cadence), sizeof r.cadence},
        {"template", offsetof(nudge_recall_rule, template_name), sizeof r.template_name},
        {"channels", offsetof(nudge_recall_rule, channels), sizeof r.channels},
    };
    if ((rc = cli_text_opts(c, &r, texts, sizeof texts / sizeof texts[0])) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_recall_rule_add(c->n, &r, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)r.id);
    return 0;
}

static int cli_rule_row(void *x, const nudge_recall_rule *r)
{
    (void)x;
    printf("%lld\t%s\t%d\t%s\t%s\t%s\n", (long long)r->id, r->service, r->after_days,
           cli_or_dash(r->cadence), r->template_name, cli_or_dash(r->channels));
    return 0;
}

int cli_recall_rules(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if ((rc = cli_recall_clinic(c, &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tservice\tafter_days\tcadence\ttemplate\tchannels\n");
    return nudge_recall_rule_list(c->n, clinic, cli_rule_row, NULL, &e) < 0
               ? cli_fail(c->cmd, &e)
               : 0;
}

static int cli_recall_row(void *x, const nudge_recall *r)
{
    char t[40];
    cli_fmt_time(r->next_at, x, t, sizeof t);
    printf("%lld\t%lld\t%lld\t%s\t%s\t%d\t%s\n", (long long)r->id, (long long)r->patient_id,
           (long long)r->rule_id, r->due_on, t, r->sends, r->status);
    return 0;
}

/* --clinic (required) and --patient (optional), the handle, the header,
 * then list's rows with times in the clinic's zone. */
typedef int (*cli_clinic_list_fn)(nudge *n, int64_t clinic, int64_t patient, const char *tz,
                                  nudge_err *e);
static int cli_clinic_rows(cli_ctx *c, const char *header, cli_clinic_list_fn list)
{
    int64_t clinic, patient = 0;
    const char *v;
    char tzb[64];
    int rc;
    if ((rc = cli_recall_clinic(c, &clinic)) ||
        ((v = cli_arg(&c->a, "patient")) && (rc = cli_parse_id(c->cmd, "--patient", v, &patient))) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("%s\n", header);
    return list(c->n, clinic, patient, cli_clinic_tz(c->n, clinic, tzb, sizeof tzb), &e) < 0
               ? cli_fail(c->cmd, &e)
               : 0;
}

/* `X verb ID --clinic C`: the library call on that clinic's record. */
static int cli_clinic_act(cli_ctx *c, cli_id_fn act)
{
    int64_t clinic, id;
    int rc;
    if ((rc = cli_recall_clinic(c, &clinic)) || (rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    return act(c->n, clinic, id, &e) < 0 ? cli_fail(c->cmd, &e) : 0;
}

static int cli_recall_rows(nudge *n, int64_t clinic, int64_t patient, const char *tz,
                           nudge_err *e)
{
    return nudge_recall_list(n, clinic, patient, cli_recall_row, (void *)tz, e);
}

int cli_recall_list(cli_ctx *c)
{
    return cli_clinic_rows(c, "id\tpatient\trule\tdue_on\tnext\tsends\tstatus", cli_recall_rows);
}

int cli_recall_close(cli_ctx *c)
{
    return cli_clinic_act(c, nudge_recall_close);
}

const char *const cli_help_lab =
    "usage: nudge lab add --patient ID --test NAME --due YYYY-MM-DD [--repeat-days N]\n"
    "                     [--channels C]\n"
    "       nudge lab list --clinic ID [--patient ID]\n"
    "       nudge lab done ID --clinic ID\n"
    "       nudge followup add --patient ID --date YYYY-MM-DD\n"
    "       nudge ready --patient ID --what prescription|results [--test NAME]\n"
    "\n"
    "A lab test is reminded on its due day at the patient's preferred time, then\n"
    "every --repeat-days while not done (at most 12 times). followup add plans a\n"
    "follow-up visit reminder on the date; ready sends \"your prescription is\n"
    "ready\" or \"your NAME results are ready\" now. Each prints the new id.\n";

int cli_lab_add(cli_ctx *c)
{
    static const char *const need[] = {"patient", "test", "due", NULL};
    nudge_lab_order o;
    memset(&o, 0, sizeof o);
    const char *v;
    int rc;
    if ((rc = cli_require(c, need)) ||
        (rc = cli_parse_id(c->cmd, "--patient", cli_arg(&c->a, "patient"), &o.patient_id)) ||
        ((v = cli_arg(&c->a, "repeat-days")) &&
         (rc = cli_parse_int(c->cmd, "--repeat-days", v, 0, 365, &o.repeat_days))))
        return rc;
    if (strlen(cli_arg(&c->a, "test")) >= sizeof o.test_name ||
        strlen(cli_arg(&c->a, "due")) >= sizeof o.due_on ||
        ((v = cli_arg(&c->a, "channels")) && strlen(v) >= sizeof o.channels))
        return cli_usage(c->cmd, "%s", "--test, --due or --channels is too long");
    strcpy(o.test_name, cli_arg(&c->a, "test"));
    strcpy(o.due_on, cli_arg(&c->a, "due"));
    if ((v = cli_arg(&c->a, "channels")))
        strcpy(o.channels, v);
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_lab_add(c->n, &o, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)o.id);
    return 0;
}

static int cli_lab_row(void *x, const nudge_lab_order *o)
{
    char t[40];
    cli_fmt_time(o->next_at, x, t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%d\t%d\t%s\t%s\n", (long long)o->id, (long long)o->patient_id,
           o->test_name, o->due_on, o->repeat_days, o->sends, t, o->status);
    return 0;
}

static int cli_lab_rows(nudge *n, int64_t clinic, int64_t patient, const char *tz,
                        nudge_err *e)
{
    return nudge_lab_list(n, clinic, patient, cli_lab_row, (void *)tz, e);
}

int cli_lab_list(cli_ctx *c)
{
    return cli_clinic_rows(c, "id\tpatient\ttest\tdue_on\trepeat_days\tsends\tnext\tstatus",
                           cli_lab_rows);
}

int cli_lab_done(cli_ctx *c)
{
    return cli_clinic_act(c, nudge_lab_done);
}

int cli_followup_add(cli_ctx *c)
{
    static const char *const need[] = {"patient", "date", NULL};
    int64_t patient, id = 0;
    int rc;
    if ((rc = cli_require(c, need)) ||
        (rc = cli_parse_id(c->cmd, "--patient", cli_arg(&c->a, "patient"), &patient)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_followup_add(c->n, NUDGE_ANY_CLINIC, patient, cli_arg(&c->a, "date"), &id, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

int cli_ready(cli_ctx *c)
{
    static const char *const need[] = {"patient", "what", NULL};
    int64_t patient, id = 0;
    int rc;
    if ((rc = cli_require(c, need)) ||
        (rc = cli_parse_id(c->cmd, "--patient", cli_arg(&c->a, "patient"), &patient)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_notify_ready(c->n, NUDGE_ANY_CLINIC, patient, cli_arg(&c->a, "what"),
                           cli_arg(&c->a, "test"), &id, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}
