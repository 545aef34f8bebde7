/*
 * cli/care.c: `nudge ticket ...`, `nudge faq ...` and `nudge loyalty ...`,
 * the support tickets, each clinic's FAQ and the loyalty ledger (issue 10;
 * ticket.c, faq.c, loyalty.c). Options carry the library's field names
 * (--subject, --text, --points, --reason), so its errors name them. The
 * local CLI sees every clinic: a ticket or patient id finds its clinic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_ticket =
    "usage: nudge ticket list [--clinic ID] [--status S] [--after ID] [--limit N]\n"
    "       nudge ticket show ID          (the ticket and its thread)\n"
    "       nudge ticket open --subject TEXT (--clinic ID | --patient ID)\n"
    "                         [--description TEXT] [--priority P] [--assigned-to NAME]\n"
    "       nudge ticket reply ID --text TEXT [--author NAME]\n"
    "       nudge ticket assign ID --to NAME\n"
    "       nudge ticket close ID\n"
    "       nudge ticket autoresolve ID   (the FAQ answers it, or it is escalated)\n"
    "\n"
    "A ticket is open, in_progress, resolved, closed or escalated; its priority\n"
    "low, normal, high or urgent. A patient's free-text reply opens one (or\n"
    "goes onto theirs); a reply goes to the patient on the channel they wrote\n"
    "on. Urgent words (pain, bleeding, swelling, fever, emergency; दर्द, खून,\n"
    "सूजन, बुखार...) escalate with priority urgent; else an FAQ entry at or above\n"
    "the clinic's threshold answers the patient and resolves the ticket.\n";

const char *const cli_help_faq =
    "usage: nudge faq list [--clinic ID] [--language L]\n"
    "       nudge faq add --clinic ID --question TEXT --answer TEXT [--keywords WORDS]\n"
    "                     [--language L]\n"
    "       nudge faq remove ID\n"
    "       nudge faq match --clinic ID --text TEXT   (what a ticket would get)\n"
    "       nudge faq threshold --clinic ID [--percent N]\n"
    "       nudge faq seed --clinic ID    (the shipped entries a clinic lacks)\n"
    "\n"
    "Every clinic starts with the shipped entries in English and Hindi: hours,\n"
    "location, parking, insurance, fees and cancellation policy. A ticket's\n"
    "text is searched by rank (BM25 on SQLite, ts_rank_cd on PostgreSQL); the\n"
    "confidence is the percent of its words an entry's question or keywords\n"
    "begin with, and the clinic's threshold (default 50) decides.\n";

const char *const cli_help_loyalty =
    "usage: nudge loyalty show --patient ID [--limit N]   (balance and ledger)\n"
    "       nudge loyalty add --patient ID --points N --reason TEXT\n"
    "       nudge loyalty redeem --patient ID --points N [--reason TEXT]\n"
    "       nudge loyalty rules [--clinic ID]\n"
    "       nudge loyalty rules --clinic ID --kind visit|service|referral\n"
    "                           [--service NAME] --points N   (0 removes it)\n"
    "       nudge loyalty tell --patient ID   (the balance, by the patient's channel)\n"
    "\n"
    "The ledger's sum is the balance; a redemption that would take it below\n"
    "zero is refused (exit 4). Rules give points per completed visit, per\n"
    "service on top, and for a referral (through workflow steps loyalty.add).\n";

/* --name into dst[n]: 0, or an exit code once printed. */
static int care_text(cli_ctx *c, const char *name, char *dst, size_t n)
{
    const char *v = cli_arg(&c->a, name);
    if (!v)
        return 0;
    if (strlen(v) >= n) {
        fprintf(stderr, "nudge %s: --%s is at most %zu bytes\n", c->cmd, name, n - 1);
        return CLI_EXIT_USAGE;
    }
    snprintf(dst, n, "%s", v);
    return 0;
}

/* --name as an id (0 when absent). */
static int care_id(cli_ctx *c, const char *name, int64_t *id)
{
    const char *v = cli_arg(&c->a, name);
    char what[40];
    snprintf(what, sizeof what, "--%s", name);
    *id = 0;
    return v ? cli_parse_id(c->cmd, what, v, id) : 0;
}

static int care_points(cli_ctx *c, int64_t *points)
{
    const char *v = cli_arg(&c->a, "points");
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end) {
        fprintf(stderr, "nudge %s: --points takes a whole number\n", c->cmd);
        return CLI_EXIT_USAGE;
    }
    *points = x;
    return 0;
}

/* An id, or "-" for none, into buf[24]. */
static const char *care_id_text(int64_t id, char *buf)
{
    if (!id)
        return "-";
    snprintf(buf, 24, "%lld", (long long)id);
    return buf;
}

/* ---- tickets ---- */

static int care_ticket_row(void *ctx, const nudge_ticket *t)
{
    (void)ctx;
    char made[40], patient[24];
    cli_fmt_time(t->created_at, "UTC", made, sizeof made);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, (long long)t->clinic_id,
           care_id_text(t->patient_id, patient), t->status, t->priority, cli_or_dash(t->assigned_to), made, t->subject);
    return 0;
}

static int care_ticket_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_ticket_list(c->n, p->clinic, cli_arg(&c->a, "status"), p->after, p->limit,
                             care_ticket_row, NULL, e);
}

int cli_ticket_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\tpatient\tstatus\tpriority\tassigned_to\tcreated\tsubject",
                    care_ticket_rows);
}

static int care_message_row(void *ctx, const nudge_ticket_message *m)
{
    (void)ctx;
    char at[40];
    cli_fmt_time(m->created_at, "UTC", at, sizeof at);
    printf("  %s\t%s\t%s\t%s\t%s\n", at, m->direction, m->channel, cli_or_dash(m->author),
           m->body);
    return 0;
}

int cli_ticket_show(cli_ctx *c, int64_t id, nudge_err *e)
{
    nudge_ticket t;
    if (nudge_ticket_get(c->n, NUDGE_ANY_CLINIC, id, &t, e) < 0)
        return -1;
    char made[40], resolved[40], closed[40];
    cli_fmt_time(t.created_at, "UTC", made, sizeof made);
    cli_fmt_time(t.resolved_at, "UTC", resolved, sizeof resolved);
    cli_fmt_time(t.closed_at, "UTC", closed, sizeof closed);
    char faq[24], conf[16] = "-", patient[24];
    if (t.confidence >= 0)
        snprintf(conf, sizeof conf, "%d%%", t.confidence);
    printf("id\t%lld\nclinic\t%lld\npatient\t%s\nsubject\t%s\ndescription\t%s\nstatus\t%s\n"
           "priority\t%s\nassigned_to\t%s\nsource\t%s\nfaq\t%s\nconfidence\t%s\ncreated\t%s\n"
           "resolved\t%s\nclosed\t%s\nthread:\n",
           (long long)t.id, (long long)t.clinic_id, care_id_text(t.patient_id, patient), t.subject,
           cli_or_dash(t.description), t.status, t.priority, cli_or_dash(t.assigned_to),
           t.source, care_id_text(t.faq_id, faq), conf, made, resolved, closed);
    return nudge_ticket_thread(c->n, t.clinic_id, t.id, care_message_row, NULL, e);
}

int cli_ticket_open(cli_ctx *c)
{
    static const char *const req[] = {"subject", NULL};
    nudge_ticket t = {0};
    int rc;
    if ((rc = cli_require(c, req)) || (rc = care_text(c, "subject", t.subject, sizeof t.subject)) ||
        (rc = care_text(c, "description", t.description, sizeof t.description)) ||
        (rc = care_text(c, "priority", t.priority, sizeof t.priority)) ||
        (rc = care_text(c, "assigned-to", t.assigned_to, sizeof t.assigned_to)) ||
        (rc = care_id(c, "clinic", &t.clinic_id)) || (rc = care_id(c, "patient", &t.patient_id)))
        return rc;
    if (!t.clinic_id && !t.patient_id)
        return cli_usage(c->cmd, "%s", "give --clinic or --patient");
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (!t.clinic_id) {
        nudge_patient p;
        if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, t.patient_id, &p, &e) < 0)
            return cli_fail(c->cmd, &e);
        t.clinic_id = p.clinic_id;
    }
    if (nudge_ticket_open(c->n, &t, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)t.id);
    return 0;
}

int cli_ticket_reply(cli_ctx *c)
{
    static const char *const req[] = {"text", NULL};
    int64_t id, mid;
    int rc;
    if ((rc = cli_require(c, req)) || (rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    if (nudge_ticket_reply(c->n, NUDGE_ANY_CLINIC, id, cli_arg(&c->a, "author"),
                           cli_arg(&c->a, "text"), &mid, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)mid);
    return 0;
}

int cli_ticket_assign(cli_ctx *c)
{
    static const char *const req[] = {"to", NULL};
    int64_t id;
    int rc;
    if ((rc = cli_require(c, req)) || (rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    if (nudge_ticket_assign(c->n, NUDGE_ANY_CLINIC, id, cli_arg(&c->a, "to"), &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_ticket_autoresolve(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    nudge_ticket_outcome o;
    if (nudge_ticket_autoresolve(c->n, NUDGE_ANY_CLINIC, id, &o, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%s\t%s\tfaq %lld\tconfidence %d%%\tnotification %lld\n", o.action, o.reason,
           (long long)o.faq_id, o.confidence, (long long)o.notification_id);
    return 0;
}

/* ---- the FAQ ---- */

static int care_faq_row(void *ctx, const nudge_faq *f)
{
    (void)ctx;
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\n", (long long)f->id, (long long)f->clinic_id,
           f->language, cli_or_dash(f->seed), f->question, f->answer);
    return 0;
}

int cli_faq_list(cli_ctx *c)
{
    int64_t clinic;
    int rc;
    if ((rc = care_id(c, "clinic", &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tlanguage\tseed\tquestion\tanswer\n");
    if (nudge_faq_list(c->n, clinic, cli_arg(&c->a, "language"), care_faq_row, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_faq_add(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "question", "answer", NULL};
    nudge_faq f = {0};
    int rc;
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "clinic", &f.clinic_id)) ||
        (rc = care_text(c, "question", f.question, sizeof f.question)) ||
        (rc = care_text(c, "answer", f.answer, sizeof f.answer)) ||
        (rc = care_text(c, "keywords", f.keywords, sizeof f.keywords)) ||
        (rc = care_text(c, "language", f.language, sizeof f.language)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_faq_add(c->n, &f, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)f.id);
    return 0;
}

int cli_faq_match(cli_ctx *c)
{
    static const char *const req[] = {"clinic", "text", NULL};
    int64_t clinic;
    int rc;
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "clinic", &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    nudge_faq_match m;
    if (nudge_faq_match_text(c->n, clinic, cli_arg(&c->a, "text"), &m, &e) < 0)
        return cli_fail(c->cmd, &e);
    const char *verdict = m.urgent                     ? "escalate (urgent)"
                          : !m.faq_id                  ? "escalate (no match)"
                          : m.confidence < m.threshold ? "escalate (low confidence)"
                                                       : "answer";
    printf("verdict\t%s\nurgent_word\t%s\nfaq\t%lld\nconfidence\t%d%%\nthreshold\t%d%%\n"
           "answer\t%s\n",
           verdict, cli_or_dash(m.urgent_word), (long long)m.faq_id, m.confidence, m.threshold,
           cli_or_dash(m.answer));
    return 0;
}

int cli_faq_threshold(cli_ctx *c)
{
    static const char *const req[] = {"clinic", NULL};
    int64_t clinic;
    int rc, pct = -1;
    const char *v = cli_arg(&c->a, "percent");
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "clinic", &clinic)) ||
        (v && (rc = cli_parse_int(c->cmd, "--percent", v, 0, 100, &pct))) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if ((pct >= 0 && nudge_faq_set_threshold(c->n, clinic, pct, &e) < 0) ||
        nudge_faq_threshold(c->n, clinic, &pct, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%d\n", pct);
    return 0;
}

int cli_faq_seed(cli_ctx *c)
{
    static const char *const req[] = {"clinic", NULL};
    int64_t clinic;
    int rc, added;
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "clinic", &clinic)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_faq_seed(c->n, clinic, &added, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%d\n", added);
    return 0;
}

/* ---- loyalty ---- */

static int care_entry_row(void *ctx, const nudge_loyalty_entry *x)
{
    (void)ctx;
    char at[40], ref[24];
    cli_fmt_time(x->created_at, "UTC", at, sizeof at);
    printf("%lld\t%s\t%+lld\t%s\t%s\t%s\n", (long long)x->id, at, (long long)x->points,
           x->ref_kind, care_id_text(x->ref_id, ref), x->reason);
    return 0;
}

int cli_loyalty_show(cli_ctx *c)
{
    static const char *const req[] = {"patient", NULL};
    int64_t patient, balance;
    int rc, limit = 0;
    const char *v = cli_arg(&c->a, "limit");
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "patient", &patient)) ||
        (v && (rc = cli_parse_int(c->cmd, "--limit", v, 1, 1000, &limit))) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_loyalty_balance(c->n, NUDGE_ANY_CLINIC, patient, &balance, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("balance\t%lld\nid\tat\tpoints\tref_kind\tref_id\treason\n", (long long)balance);
    if (nudge_loyalty_ledger(c->n, NUDGE_ANY_CLINIC, patient, limit, care_entry_row, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

/* add and redeem: the same options, a different call. */
static int care_loyalty_change(cli_ctx *c, int redeem)
{
    static const char *const req_add[] = {"patient", "points", "reason", NULL};
    static const char *const req_redeem[] = {"patient", "points", NULL};
    int64_t patient, points, id;
    int rc;
    if ((rc = cli_require(c, redeem ? req_redeem : req_add)) ||
        (rc = care_id(c, "patient", &patient)) || (rc = care_points(c, &points)) ||
        (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    const char *reason = cli_arg(&c->a, "reason");
    if ((redeem ? nudge_loyalty_redeem : nudge_loyalty_add)(c->n, NUDGE_ANY_CLINIC, patient,
                                                             points, reason, &id, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

int cli_loyalty_add(cli_ctx *c)
{
    return care_loyalty_change(c, 0);
}

int cli_loyalty_redeem(cli_ctx *c)
{
    return care_loyalty_change(c, 1);
}

static int care_rule_row(void *ctx, const nudge_loyalty_rule *r)
{
    (void)ctx;
    printf("%lld\t%s\t%s\t%lld\n", (long long)r->clinic_id, r->kind, cli_or_dash(r->service),
           (long long)r->points);
    return 0;
}

int cli_loyalty_rules(cli_ctx *c)
{
    nudge_loyalty_rule r = {0};
    int rc;
    if ((rc = care_id(c, "clinic", &r.clinic_id)) || (rc = care_text(c, "kind", r.kind, sizeof r.kind)) ||
        (rc = care_text(c, "service", r.service, sizeof r.service)))
        return rc;
    int set = r.kind[0] || cli_arg(&c->a, "points") || r.service[0];
    if (set) {
        static const char *const req[] = {"clinic", "kind", "points", NULL};
        if ((rc = cli_require(c, req)) || (rc = care_points(c, &r.points)))
            return rc;
    }
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (set && nudge_loyalty_rule_set(c->n, &r, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("clinic\tkind\tservice\tpoints\n");
    if (nudge_loyalty_rules(c->n, r.clinic_id, care_rule_row, NULL, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_loyalty_tell(cli_ctx *c)
{
    static const char *const req[] = {"patient", NULL};
    int64_t patient, id;
    int rc;
    if ((rc = cli_require(c, req)) || (rc = care_id(c, "patient", &patient)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_loyalty_tell(c->n, NUDGE_ANY_CLINIC, patient, &id, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}
