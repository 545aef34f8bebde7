/*
 * cli.c: main() of the `nudge` command, the command table (the families'
 * tables in order), argument parsing with the global options, the
 * configuration and the handle, and the helpers every family shares. The
 * global options are the settings that have a flag (nudge_settings[]) and
 * --now, which sets the clock.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ---- options ---- */

const char *cli_arg(const cli_args *a, const char *name)
{
    for (int i = a->nkv - 1; i >= 0; i--)
        if (!strcmp(a->kv[i].name, name))
            return a->kv[i].value;
    return NULL;
}

/* Looks name up in a spec ("clinic= var=* demo"): 0 when absent, else
 * 1 (a switch), 2 (takes a value) or 3 (takes a value, may repeat). */
static int cli_spec_find(const char *spec, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = spec; p && *p;) {
        size_t w = strcspn(p, " ");
        size_t nl = strcspn(p, "= ");
        if (nl == n && *p != '@' && !strncmp(p, name, n)) /* "@record": not an option */
            return p[nl] != '=' ? 1 : p[nl + 1] == '*' ? 3 : 2;
        p += w;
        p += strspn(p, " ");
    }
    return 0;
}

/* The options every command accepts: --now and each setting's flag. Their
 * names live in the settings table, whose rows outlive the parse. */
int cli_is_global_opt(const char *name, int *has_value)
{
    if (!strcmp(name, "now")) {
        *has_value = 1;
        return 1;
    }
    for (int i = 0; i < nudge_n_settings; i++)
        if (nudge_settings[i].flag && !strcmp(nudge_settings[i].flag, name)) {
            *has_value = nudge_settings[i].type != NUDGE_SET_BOOL;
            return 1;
        }
    return 0;
}

/* Parses argv into a; options allowed are the command's plus the globals. */
static int cli_args_parse(int argc, char **argv, const cli_command *cm, const char *cmd,
                          cli_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            a->help = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0 || !s[2]) {
            if (a->npos == CLI_MAX_ARGS) {
                fprintf(stderr, "nudge %s: too many arguments\n", cmd);
                return -1;
            }
            a->pos[a->npos++] = s;
            continue;
        }
        char name[sizeof a->kv[0].name];
        const char *eq = strchr(s + 2, '=');
        size_t nl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        if (nl >= sizeof name) {
            fprintf(stderr, "nudge %s: unknown option %s\n", cmd, s);
            return -1;
        }
        memcpy(name, s + 2, nl);
        name[nl] = 0;
        int own = cli_spec_find(cm->opts, name);
        if (!own && cli_field_by_opt(cli_record_of(cm), name))
            own = 2;
        int has_value = own >= 2;
        if (!own && !cli_is_global_opt(name, &has_value)) {
            fprintf(stderr, "nudge %s: unknown option --%s (see nudge %s --help)\n", cmd, name,
                    cmd);
            return -1;
        }
        const char *value = "1";
        if (has_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "nudge %s: option --%s needs a value\n", cmd, name);
                return -1;
            }
        } else if (eq) {
            fprintf(stderr, "nudge %s: option --%s takes no value\n", cmd, name);
            return -1;
        }
        if (own && own != 3 && cli_arg(a, name)) {
            fprintf(stderr, "nudge %s: option --%s given twice\n", cmd, name);
            return -1;
        }
        if (a->nkv == CLI_MAX_ARGS) {
            fprintf(stderr, "nudge %s: too many options\n", cmd);
            return -1;
        }
        memcpy(a->kv[a->nkv].name, name, nl + 1);
        a->kv[a->nkv].value = value;
        a->nkv++;
    }
    return 0;
}

/* ---- errors and numbers ---- */

/* A library message may quote what the user gave (a name, a code), and
 * Hindi in it is welcome on a terminal; control characters are not: C0,
 * DEL, and the C1 range as UTF-8 (U+0080..U+009F; U+009B is a CSI to some
 * terminals) are written as \xNN. */
const char *cli_term_text(char *buf, size_t n, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < n; p++) {
        int c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        if (*p < 0x20 || *p == 0x7f || c1) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c1 ? *++p : *p);
            continue;
        }
        buf[o++] = (char)*p;
    }
    buf[o] = 0;
    return buf;
}

int cli_fail(const char *cmd, const nudge_err *e)
{
    char m[4 * sizeof e->msg + 8], f[4 * sizeof e->field + 8];
    cli_term_text(m, sizeof m, e->msg);
    if (e->field[0] && e->code == NUDGE_EINVAL)
        fprintf(stderr, "nudge %s: %s (field: %s)\n", cmd, m, cli_term_text(f, sizeof f, e->field));
    else
        fprintf(stderr, "nudge %s: %s\n", cmd, m);
    return cli_exit_code(e);
}

const char *cli_got(char *buf, size_t n, const char *v)
{
    return nudge_log_text(buf, n, v, v ? strlen(v) : 0);
}

int cli_exit_code(const nudge_err *e)
{
    switch (e->code) {
    case NUDGE_EINVAL: return CLI_EXIT_USAGE;
    case NUDGE_ENOTFOUND: return CLI_EXIT_NOTFOUND;
    case NUDGE_ECONFLICT: return CLI_EXIT_CONFLICT;
    default: return 1;
    }
}

int cli_usage(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "nudge %s: ", cmd);
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see nudge %s --help)\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse_id(const char *cmd, const char *what, const char *s, int64_t *out)
{
    char *end;
    if (!s)
        return cli_usage(cmd, "%s is required", what);
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) {
        char q[128];
        fprintf(stderr, "nudge %s: %s must be a positive number (got \"%s\")\n", cmd, what,
                cli_got(q, sizeof q, s));
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *what, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char q[128];
        fprintf(stderr, "nudge %s: %s must be a number from %d to %d (got \"%s\")\n", cmd, what,
                lo, hi, cli_got(q, sizeof q, s));
        return CLI_EXIT_USAGE;
    }
    *out = (int)v;
    return 0;
}

int cli_require(const cli_ctx *c, const char *const *names)
{
    for (; *names; names++)
        if (!cli_arg(&c->a, *names)) {
            char opt[40];
            snprintf(opt, sizeof opt, "--%s", *names);
            return cli_usage(c->cmd, "%s is required", opt);
        }
    return 0;
}

int cli_paging(cli_ctx *c, cli_page *p)
{
    const char *v;
    int rc;
    *p = (cli_page){.limit = 1000};
    if ((v = cli_arg(&c->a, "clinic")) && (rc = cli_parse_id(c->cmd, "--clinic", v, &p->clinic)))
        return rc;
    if ((v = cli_arg(&c->a, "after")) && (rc = cli_parse_id(c->cmd, "--after", v, &p->after)))
        return rc;
    if ((v = cli_arg(&c->a, "limit")) &&
        (rc = cli_parse_int(c->cmd, "--limit", v, 1, 100000, &p->limit)))
        return rc;
    return 0;
}

int cli_list(cli_ctx *c, const char *header, cli_list_fn call)
{
    cli_page p;
    int rc;
    if ((rc = cli_paging(c, &p)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (header)
        printf("%s\n", header);
    rc = call(c, &p, &e);
    return rc < 0 ? cli_fail(c->cmd, &e) : rc;
}

int cli_one_id(cli_ctx *c, int64_t *id, int open)
{
    char msg[64], label[64];
    snprintf(msg, sizeof msg, "give one %s id", c->cm->what);
    snprintf(label, sizeof label, "%s id", c->cm->what);
    if (c->a.npos != 1)
        return cli_usage(c->cmd, "%s", msg);
    int rc = cli_parse_id(c->cmd, label, c->a.pos[0], id);
    return rc || !open ? rc : cli_open(c);
}

int cli_by_id(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, &id, 1)))
        return rc;
    nudge_err e = {0};
    rc = c->cm->act ? c->cm->act(c->n, NUDGE_ANY_CLINIC, id, &e) : c->cm->show(c, id, &e);
    return rc < 0 ? cli_fail(c->cmd, &e) : 0;
}

int cli_parse_vars(cli_ctx *c, nudge_vars *vars)
{
    for (int i = 0; i < c->a.nkv; i++) {
        if (strcmp(c->a.kv[i].name, "var"))
            continue;
        const char *kv = c->a.kv[i].value;
        const char *eq = strchr(kv, '=');
        char key[48];
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
            nudge_vars_free(vars);
            char q[128];
            return cli_usage(c->cmd, "--var must be key=value (got \"%s\")", cli_got(q, sizeof q, kv));
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = 0;
        if (nudge_vars_set(vars, key, eq + 1) < 0) {
            nudge_vars_free(vars);
            return cli_usage(c->cmd, "too many variables, or a bad name: %s", key);
        }
    }
    return 0;
}

/* ---- the configuration and the handle ---- */

static const char *cli_flag(void *ctx, const char *flag)
{
    return cli_arg(ctx, flag);
}

int cli_config(cli_ctx *c)
{
    if (c->cfg_loaded)
        return 0;
    nudge_err e = {0};
    if (nudge_config_load(&c->cfg, &c->loaded, cli_flag, NULL, &c->a, &e) < 0)
        return cli_fail(c->cmd, &e);
    c->cfg_loaded = 1;
    return 0;
}

int cli_open(cli_ctx *c)
{
    int rc;
    if ((rc = cli_config(c)))
        return rc;
    const char *now = cli_arg(&c->a, "now");
    nudge_err e = {0};
    if (now) {
        int64_t t;
        if (nudge_time_parse(now, NULL, &t, "now", &e) < 0)
            return cli_fail(c->cmd, &e);
        nudge_clock_fake(&c->clock, t);
        c->cfg.clock = &c->clock;
    }
    rc = nudge_open(&c->cfg, &c->n, &e);
    /* The SMTP password is read once, by the sending handle only; the API
     * threads keep the webhook secrets, which live as long as c does. */
    c->cfg.smtp_password = NULL;
    if (rc < 0)
        return cli_fail(c->cmd, &e);
    nudge_set_actor(c->n, "cli");
    return 0;
}

/* ---- printing ---- */

void cli_fmt_time(int64_t t, const char *tz, char *buf, size_t n)
{
    if (!t) {
        snprintf(buf, n, "-");
        return;
    }
    nudge_time_format(t, tz, buf, n);
}

const char *cli_clinic_tz(nudge *n, int64_t clinic_id, char *buf, size_t sz)
{
    nudge_clinic c;
    nudge_err e;
    if (nudge_clinic_get(n, clinic_id, &c, &e) == 0)
        snprintf(buf, sz, "%s", c.timezone);
    else
        snprintf(buf, sz, "UTC");
    return buf;
}

void cli_hhmm(int m, char *buf, size_t n)
{
    snprintf(buf, n, "%02d:%02d", (m / 60) % 24, m % 60);
}

int cli_record_in(cli_ctx *c, const char *parent, int64_t *parent_id, void *record)
{
    int rc;
    char opt[40];
    if (parent) {
        snprintf(opt, sizeof opt, "--%s", parent);
        if ((rc = cli_parse_id(c->cmd, opt, cli_arg(&c->a, parent), parent_id)))
            return rc;
    }
    return cli_fields_in(c, record, NULL);
}

const char *cli_or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

int cli_time_in_clinic(cli_ctx *c, int64_t clinic_id, const char *s, int64_t *out)
{
    char tzb[64];
    nudge_err e = {0};
    if (nudge_time_parse(s, cli_clinic_tz(c->n, clinic_id, tzb, sizeof tzb), out, "at", &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

/* ---- help and the command table ---- */

static const char *const cli_help_main =
    "usage: nudge [--db PATH] COMMAND [ARGS]\n"
    "\n"
    "nudge keeps a clinic's patients and appointments and sends their\n"
    "confirmations and reminders by SMS, WhatsApp and email.\n"
    "\n"
    "commands:\n"
    "  migrate                       apply database migrations\n"
    "  migrate-store --from URL --to URL  copy a store to another engine, verified\n"
    "  clinic add|list               clinics (tenants)\n"
    "  patient add|list|show         patients\n"
    "  appointment add|list|show|confirm|cancel|reschedule|complete|no-show\n"
    "  prescription add|list|show|stop|change   medication reminders from a prescription\n"
    "  reminder list|cancel          plans by patient or subject\n"
    "  recall rule-add|rules|list|close  preventive-care recalls\n"
    "  lab add|list|done             lab tests due, reminded until done\n"
    "  followup add                  a follow-up visit reminder on a date\n"
    "  ready                         prescription or results ready, sent now\n"
    "  template list|show|render|put|map-whatsapp|map-msg91\n"
    "  send                          enqueue a direct message to a patient\n"
    "  queue status|list|show|retry|cancel\n"
    "  key create|list|revoke        API keys (shown once, stored hashed)\n"
    "  audit verify                  check the audit log's hash chains\n"
    "  config show|doc               the settings: values and sources, or their manual\n"
    "  task add|list|show|history|run|pause|resume|delete  scheduled tasks\n"
    "  backup [--encrypt] | backup restore FILE  SQLite backups, kept and sealed\n"
    "  staff add|list|remove|digest|alert|deliveries  staff alerts and the daily digest\n"
    "  webhook add|list|remove|deliveries  signed outgoing webhooks for integrators\n"
    "  segment add|list|preview      patient segments by criteria, counted in the database\n"
    "  broadcast notice|tip|campaign|list|show|stats|cancel|pause|resume\n"
    "  ticket list|show|open|reply|assign|close|autoresolve  support tickets\n"
    "  faq list|add|remove|match|threshold|seed  each clinic's FAQ\n"
    "  loyalty show|add|redeem|rules|tell  the loyalty ledger and its rules\n"
    "  workflow list|show|put|runs|stats  what happens on an event, its runs, statistics\n"
    "  tick [--now TIME]             one scheduler and dispatcher pass, then exit\n"
    "  serve [--listen HOST:PORT]    the HTTP API, scheduler and dispatcher until SIGTERM\n"
    "  worker                        the same without the HTTP API, for scale-out\n"
    "  demo [--keep]                 replay three days of a demo clinic\n"
    "  version                       the version and schema version (also --version)\n"
    "  consent show|grant|withdraw   a patient's consent ledger and what it allows\n"
    "  usage [plan]                  a month's messages, quota and cost; the clinic's tier\n"
    "  usage tiers|tier              the tier table; set one for the installation\n"
    "\n"
    "options for every command:\n"
    "  --db PATH        SQLite database (default ./nudge.db, or $NUDGE_DB)\n"
    "  --outbox DIR     folder for the outbox channel (default ./outbox)\n"
    "  --now TIME       act as if it were TIME (RFC 3339), for replays and tests\n"
    "  --smtp-url URL   send email by SMTP (smtp://host:port, smtps://...)\n"
    "  --smtp-from ADDR --smtp-user USER --smtp-starttls\n"
    "                   the password comes from $NUDGE_SMTP_PASSWORD or the file\n"
    "                   named by $NUDGE_SMTP_PASSWORD_FILE, never from arguments\n"
    "  --smtp-insecure  skip the SMTP server's certificate checks: for a test\n"
    "                   server only (anyone on the path could read the mail and\n"
    "                   the password)\n"
    "  --public-url URL where providers reach this server (webhooks), or\n"
    "                   $NUDGE_PUBLIC_URL\n"
    "\n"
    "SMS goes through Twilio when $NUDGE_TWILIO_ACCOUNT_SID is set, with\n"
    "$NUDGE_TWILIO_AUTH_TOKEN (or _FILE), $NUDGE_TWILIO_FROM or\n"
    "$NUDGE_TWILIO_MESSAGING_SERVICE_SID, and $NUDGE_TWILIO_BASE_URL (tests).\n"
    "WhatsApp goes through the Cloud API when $NUDGE_WHATSAPP_PHONE_NUMBER_ID is\n"
    "set, with $NUDGE_WHATSAPP_TOKEN, $NUDGE_WHATSAPP_APP_SECRET and\n"
    "$NUDGE_WHATSAPP_VERIFY_TOKEN (each also as _FILE), $NUDGE_WHATSAPP_BASE_URL.\n"
    "SMS goes through MSG91 (DLT templates) instead when $NUDGE_MSG91_AUTHKEY is\n"
    "set, with $NUDGE_MSG91_WEBHOOK_SECRET for its reports, $NUDGE_MSG91_BASE_URL.\n"
    "`nudge config doc --man` lists every setting.\n"
    "\n"
    "`nudge COMMAND --help` describes each command. Exit codes: 0 ok, 1 failure,\n"
    "2 bad usage or input, 3 not found, 4 not allowed in the current state.\n";

#define CLI_LIST "clinic= patient= status= limit= after="
#define CLI_TMPL "clinic= language= channel= var=*"
#define CLI_MAP "clinic= template= language= name= name-language= id= params= button=*"

#define CLI_ACT(group, verb, help, what, act) {group, verb, cli_by_id, NULL, &help, what, act, NULL}
#define CLI_SHOW(group, help, what, show) {group, "show", cli_by_id, NULL, &help, what, NULL, show}

/* Every command, in one table: group, verb, handler, options, help, the
 * positional argument (NULL: none) and what cli_by_id calls. */
static const cli_command cli_commands[] = {
    {"migrate", NULL, cli_migrate, NULL, &cli_help_migrate, NULL, NULL, NULL},
    {"migrate-store", NULL, cli_migrate_store, "from= to=", &cli_help_migrate_store, NULL, NULL, NULL},
    {"clinic", "add", cli_clinic_add, "@clinic", &cli_help_clinic, NULL, NULL, NULL},
    {"clinic", "list", cli_clinic_list, NULL, &cli_help_clinic, NULL, NULL, NULL},
    {"patient", "add", cli_patient_add, "clinic= @patient", &cli_help_patient, NULL, NULL, NULL},
    {"patient", "list", cli_patient_list, CLI_LIST, &cli_help_patient, NULL, NULL, NULL},
    CLI_SHOW("patient", cli_help_patient, "patient", cli_patient_show),
    {"appointment", "add", cli_appt_add, "@appointment", &cli_help_appointment, NULL, NULL, NULL},
    {"appointment", "list", cli_appt_list, CLI_LIST, &cli_help_appointment, NULL, NULL, NULL},
    CLI_SHOW("appointment", cli_help_appointment, "appointment", cli_appt_show),
    CLI_ACT("appointment", "confirm", cli_help_appointment, "appointment", nudge_appointment_confirm),
    CLI_ACT("appointment", "cancel", cli_help_appointment, "appointment", nudge_appointment_cancel),
    CLI_ACT("appointment", "complete", cli_help_appointment, "appointment", nudge_appointment_complete),
    CLI_ACT("appointment", "no-show", cli_help_appointment, "appointment", nudge_appointment_no_show),
    {"appointment", "reschedule", cli_appt_reschedule, "at=", &cli_help_appointment,
     "appointment", NULL, NULL},
    {"prescription", "add", cli_rx_add,
     "@prescription drug=* dose=* frequency=* duration=* instructions=* times=*",
     &cli_help_prescription, NULL, NULL, NULL},
    {"prescription", "list", cli_rx_list, CLI_LIST, &cli_help_prescription, NULL, NULL, NULL},
    CLI_SHOW("prescription", cli_help_prescription, "prescription", cli_rx_show),
    {"prescription", "stop", cli_rx_stop, "reason=", &cli_help_prescription, "prescription",
     NULL, NULL},
    {"prescription", "change", cli_rx_change,
     "prescriber= notes= drug=* dose=* frequency=* duration=* instructions=* times=*",
     &cli_help_prescription, "prescription", NULL, NULL},
    {"reminder", "list", cli_plan_list, "clinic= patient= subject=", &cli_help_reminder, NULL,
     NULL, NULL},
    {"reminder", "cancel", cli_plan_cancel, "clinic= patient= subject=", &cli_help_reminder,
     "reminder", NULL, NULL},
    {"recall", "rule-add", cli_recall_rule_add,
     "clinic= service= after-days= cadence= template= channels=", &cli_help_recall, NULL, NULL,
     NULL},
    {"recall", "rules", cli_recall_rules, "clinic=", &cli_help_recall, NULL, NULL, NULL},
    {"recall", "list", cli_recall_list, "clinic= patient=", &cli_help_recall, NULL, NULL, NULL},
    {"recall", "close", cli_recall_close, "clinic=", &cli_help_recall, "recall", NULL, NULL},
    {"lab", "add", cli_lab_add, "patient= test= due= repeat-days= channels=", &cli_help_lab,
     NULL, NULL, NULL},
    {"lab", "list", cli_lab_list, "clinic= patient=", &cli_help_lab, NULL, NULL, NULL},
    {"lab", "done", cli_lab_done, "clinic=", &cli_help_lab, "lab order", NULL, NULL},
    {"followup", "add", cli_followup_add, "patient= date=", &cli_help_lab, NULL, NULL, NULL},
    {"ready", NULL, cli_ready, "patient= what= test=", &cli_help_lab, NULL, NULL, NULL},
    {"template", "list", cli_tmpl_list, CLI_TMPL, &cli_help_template, NULL, NULL, NULL},
    {"template", "show", cli_tmpl_show, CLI_TMPL, &cli_help_template, "template", NULL, NULL},
    {"template", "render", cli_tmpl_render, CLI_TMPL, &cli_help_template, "template", NULL, NULL},
    {"template", "put", cli_tmpl_put, "clinic= @template", &cli_help_template, NULL, NULL, NULL},
    {"template", "map-whatsapp", cli_tmpl_map, CLI_MAP, &cli_help_map, NULL, NULL, NULL},
    {"template", "map-msg91", cli_tmpl_map, CLI_MAP, &cli_help_map, NULL, NULL, NULL},
    {"send", NULL, cli_send,
     "patient= template= channel= priority= at= dedupe-key= var=* batch=",
     &cli_help_send, NULL, NULL, NULL},
    {"queue", "status", cli_queue_status, CLI_LIST, &cli_help_queue, NULL, NULL, NULL},
    {"queue", "list", cli_queue_list, CLI_LIST, &cli_help_queue, NULL, NULL, NULL},
    CLI_SHOW("queue", cli_help_queue, "notification", cli_queue_show),
    CLI_ACT("queue", "retry", cli_help_queue, "notification", nudge_notification_retry),
    CLI_ACT("queue", "cancel", cli_help_queue, "notification", nudge_notification_cancel),
    {"key", "create", cli_key_create, "clinic= @key", &cli_help_key, NULL, NULL, NULL},
    {"key", "list", cli_key_list, CLI_LIST, &cli_help_key, NULL, NULL, NULL},
    CLI_ACT("key", "revoke", cli_help_key, "key", nudge_key_revoke),
    {"audit", "verify", cli_audit_verify, "clinic=", &cli_help_audit, NULL, NULL, NULL},
    {"config", "show", cli_config_show, NULL, &cli_help_config, NULL, NULL, NULL},
    {"config", "doc", cli_config_doc, "man markdown", &cli_help_config, NULL, NULL, NULL},
    {"task", "add", cli_task_add,
     "name= fn= kind= schedule= clinic= timezone= args= max-retries= backoff=", &cli_help_task,
     NULL, NULL, NULL},
    {"task", "list", cli_task_list, "clinic=", &cli_help_task, NULL, NULL, NULL},
    CLI_SHOW("task", cli_help_task, "task", cli_task_show),
    {"task", "history", cli_task_history, "limit=", &cli_help_task, "task", NULL, NULL},
    {"task", "run", cli_task_run, NULL, &cli_help_task, "task", NULL, NULL},
    CLI_ACT("task", "pause", cli_help_task, "task", nudge_task_pause),
    CLI_ACT("task", "resume", cli_help_task, "task", nudge_task_resume),
    CLI_ACT("task", "delete", cli_help_task, "task", nudge_task_delete),
    {"segment", "add", cli_segment_add, "clinic= name= criteria=", &cli_help_segment, NULL, NULL,
     NULL},
    {"segment", "list", cli_segment_list, "clinic=", &cli_help_segment, NULL, NULL, NULL},
    {"segment", "preview", cli_segment_preview, "clinic= criteria= segment= sample=", &cli_help_segment,
     NULL, NULL, NULL},
#define CLI_BC_OPTS "clinic= name= text= subject= template= variants= channel= "
    {"broadcast", "notice", cli_broadcast_create, CLI_BC_OPTS "patients=", &cli_help_broadcast,
     NULL, NULL, NULL},
    {"broadcast", "tip", cli_broadcast_create, CLI_BC_OPTS "segment= criteria= at=",
     &cli_help_broadcast, NULL, NULL, NULL},
    {"broadcast", "campaign", cli_broadcast_create,
     CLI_BC_OPTS "segment= criteria= at= grace-minutes= book-days=", &cli_help_broadcast, NULL,
     NULL, NULL},
    {"broadcast", "list", cli_broadcast_list, "clinic=", &cli_help_broadcast, NULL, NULL, NULL},
    CLI_SHOW("broadcast", cli_help_broadcast, "broadcast", cli_broadcast_show),
    {"broadcast", "stats", cli_by_id, NULL, &cli_help_broadcast, "broadcast", NULL,
     cli_broadcast_stats},
    CLI_ACT("broadcast", "cancel", cli_help_broadcast, "broadcast", nudge_broadcast_cancel),
    CLI_ACT("broadcast", "pause", cli_help_broadcast, "broadcast", nudge_broadcast_pause),
    CLI_ACT("broadcast", "resume", cli_help_broadcast, "broadcast", nudge_broadcast_resume),
    {"backup", "restore", cli_backup_restore, NULL, &cli_help_backup, "backup file", NULL, NULL},
    {"backup", NULL, cli_backup, "encrypt keep=", &cli_help_backup, NULL, NULL, NULL},
    {"tick", NULL, cli_tick, NULL, &cli_help_tick, NULL, NULL, NULL},
    {"serve", NULL, cli_serve, "demo interval= listen=", &cli_help_serve, NULL, NULL, NULL},
    {"worker", NULL, cli_worker, "interval=", &cli_help_worker, NULL, NULL, NULL},
    {"demo", NULL, cli_demo, "days= keep", &cli_help_demo, NULL, NULL, NULL},
    {"version", NULL, cli_version, NULL, &cli_help_version, NULL, NULL, NULL},
    {"staff", "add", cli_staff_add,
     "clinic= name= role= email= phone= chat-url= no-alerts no-digest", &cli_help_staff, NULL,
     NULL, NULL},
    {"staff", "list", cli_staff_list, "clinic=", &cli_help_staff, NULL, NULL, NULL},
    CLI_ACT("staff", "remove", cli_help_staff, "staff member", nudge_staff_remove),
    {"staff", "digest", cli_staff_digest, "clinic= at=", &cli_help_staff, NULL, NULL, NULL},
    {"staff", "alert", cli_staff_alert, "clinic= text= role= key=", &cli_help_staff, NULL, NULL,
     NULL},
    {"staff", "deliveries", cli_staff_deliveries, "clinic= limit=", &cli_help_staff, NULL, NULL,
     NULL},
    {"webhook", "add", cli_webhook_add, "clinic= url= events=", &cli_help_webhook, NULL, NULL,
     NULL},
    {"webhook", "list", cli_webhook_list, "clinic=", &cli_help_webhook, NULL, NULL, NULL},
    CLI_ACT("webhook", "remove", cli_help_webhook, "webhook", nudge_hook_remove),
    {"webhook", "deliveries", cli_webhook_deliveries, "limit=", &cli_help_webhook, "webhook",
     NULL, NULL},
    /* support tickets, the FAQ, loyalty (issue 10; care.c) */
    {"ticket", "list", cli_ticket_list, "clinic= status= limit= after=", &cli_help_ticket, NULL,
     NULL, NULL},
    CLI_SHOW("ticket", cli_help_ticket, "ticket", cli_ticket_show),
    {"ticket", "open", cli_ticket_open,
     "clinic= patient= subject= description= priority= assigned-to=", &cli_help_ticket, NULL,
     NULL, NULL},
    {"ticket", "reply", cli_ticket_reply, "text= author=", &cli_help_ticket, "ticket", NULL, NULL},
    {"ticket", "assign", cli_ticket_assign, "to=", &cli_help_ticket, "ticket", NULL, NULL},
    CLI_ACT("ticket", "close", cli_help_ticket, "ticket", nudge_ticket_close),
    {"ticket", "autoresolve", cli_ticket_autoresolve, NULL, &cli_help_ticket, "ticket", NULL,
     NULL},
    {"faq", "list", cli_faq_list, "clinic= language=", &cli_help_faq, NULL, NULL, NULL},
    {"faq", "add", cli_faq_add, "clinic= question= answer= keywords= language=", &cli_help_faq,
     NULL, NULL, NULL},
    CLI_ACT("faq", "remove", cli_help_faq, "faq entry", nudge_faq_remove),
    {"faq", "match", cli_faq_match, "clinic= text=", &cli_help_faq, NULL, NULL, NULL},
    {"faq", "threshold", cli_faq_threshold, "clinic= percent=", &cli_help_faq, NULL, NULL, NULL},
    {"faq", "seed", cli_faq_seed, "clinic=", &cli_help_faq, NULL, NULL, NULL},
    {"loyalty", "show", cli_loyalty_show, "patient= limit=", &cli_help_loyalty, NULL, NULL, NULL},
    {"loyalty", "add", cli_loyalty_add, "patient= points= reason=", &cli_help_loyalty, NULL, NULL,
     NULL},
    {"loyalty", "redeem", cli_loyalty_redeem, "patient= points= reason=", &cli_help_loyalty, NULL,
     NULL, NULL},
    {"loyalty", "rules", cli_loyalty_rules, "clinic= kind= service= points=", &cli_help_loyalty,
     NULL, NULL, NULL},
    {"loyalty", "tell", cli_loyalty_tell, "patient=", &cli_help_loyalty, NULL, NULL, NULL},
    {"workflow", "list", cli_wf_list, "clinic=", &cli_help_workflow, NULL, NULL, NULL},
    {"workflow", "show", cli_wf_show, "clinic= version= builtin", &cli_help_workflow,
     "workflow name", NULL, NULL},
    {"workflow", "put", cli_wf_put, "clinic=", &cli_help_workflow, "file", NULL, NULL},
    {"workflow", "runs", cli_wf_runs, "clinic= workflow= from= to= limit= steps",
     &cli_help_workflow, NULL, NULL, NULL},
    {"workflow", "stats", cli_wf_stats, "clinic= from= to=", &cli_help_workflow, NULL, NULL,
     NULL},
    /* issue 17: consent, usage and plans (cli/consent.c) */
    {"consent", "show", cli_consent_show, "clinic=", &cli_help_consent, "patient", NULL, NULL},
    {"consent", "grant", cli_consent_grant, "clinic= category= channel= wording= source=",
     &cli_help_consent, "patient", NULL, NULL},
    {"consent", "withdraw", cli_consent_withdraw, "clinic= category= channel= wording= source=",
     &cli_help_consent, "patient", NULL, NULL},
    {"usage", "plan", cli_usage_plan, "clinic= tier= reminders= window= reserve= grace-minutes=",
     &cli_help_usage, NULL, NULL, NULL},
    {"usage", "tiers", cli_usage_tiers, "", &cli_help_usage, NULL, NULL, NULL},
    {"usage", "tier", cli_usage_tier, "name= quota= overage-paise=", &cli_help_usage, NULL, NULL,
     NULL},
    {"usage", NULL, cli_usage_show, "clinic= month=", &cli_help_usage, NULL, NULL, NULL},
};
#define CLI_N_COMMANDS (sizeof cli_commands / sizeof *cli_commands)

/* Global options may come before the command: the index of the command. */
static int cli_skip_globals(int argc, char **argv, int *exit_code)
{
    int i = 1;
    while (i < argc && !strncmp(argv[i], "--", 2)) {
        if (!strcmp(argv[i], "--help")) {
            fputs(cli_help_main, stdout);
            *exit_code = 0;
            return -1;
        }
        if (!strcmp(argv[i], "--version")) {
            *exit_code = cli_version(NULL);
            return -1;
        }
        char nm[64];
        const char *name = argv[i] + 2, *eq = strchr(name, '=');
        snprintf(nm, sizeof nm, "%.*s", eq ? (int)(eq - name) : (int)strlen(name), name);
        int has_value;
        if (!cli_is_global_opt(nm, &has_value)) {
            fprintf(stderr, "nudge: unknown option %s (see nudge --help)\n", argv[i]);
            *exit_code = CLI_EXIT_USAGE;
            return -1;
        }
        i += has_value && !eq ? 2 : 1;
    }
    return i;
}

/* A group's help, then the options of its commands that make a record. */
static void cli_help_group(const cli_command *cm)
{
    fputs(*cm->help, stdout);
    for (const cli_command *r = cli_commands; r < cli_commands + CLI_N_COMMANDS; r++)
        if (cli_record_of(r) && !strcmp(r->group, cm->group))
            cli_fields_help(r, stdout);
}

static int cli_run(const cli_command *cm, int argc, char **argv, int i)
{
    cli_ctx c = {.cm = cm};
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", cm->group, cm->verb ? " " : "",
             cm->verb ? cm->verb : "");
    c.cmd = name;
    /* Global options before the command count too. */
    char **rest = malloc(sizeof(char *) * (size_t)argc);
    if (!rest)
        return 1;
    int nrest = 0;
    for (int j = 1; j < i; j++)
        rest[nrest++] = argv[j];
    for (int j = i + (cm->verb ? 2 : 1); j < argc; j++)
        rest[nrest++] = argv[j];
    int rc = cli_args_parse(nrest, rest, cm, name, &c.a);
    free(rest);
    if (rc < 0)
        return CLI_EXIT_USAGE;
    if (c.a.help) {
        cli_help_group(cm);
        return 0;
    }
    int takes = cm->what != NULL;
    if (c.a.npos > takes)
        return cli_usage(name, "unexpected argument \"%s\"", c.a.pos[takes]);
    rc = cm->fn(&c);
    nudge_close(c.n);
    nudge_config_loaded_free(&c.loaded);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "-h")) {
        fputs(cli_help_main, stdout);
        return 0;
    }
    int exit_code = 0;
    int i = cli_skip_globals(argc, argv, &exit_code);
    if (i < 0)
        return exit_code;
    if (i >= argc) {
        fputs(cli_help_main, stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[i], "help")) {
        fputs(cli_help_main, stdout);
        return 0;
    }
    const char *group = argv[i];
    const char *verb = i + 1 < argc ? argv[i + 1] : NULL;
    const cli_command *first = NULL; /* of the group: its help */
    for (const cli_command *cm = cli_commands; cm < cli_commands + CLI_N_COMMANDS; cm++) {
        if (strcmp(cm->group, group))
            continue;
        if (!first)
            first = cm;
        if (cm->verb && (!verb || strcmp(cm->verb, verb)))
            continue;
        return cli_run(cm, argc, argv, i);
    }
    if (!first) {
        fprintf(stderr, "nudge: unknown command \"%s\" (see nudge --help)\n", group);
        return CLI_EXIT_USAGE;
    }
    if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h"))) {
        cli_help_group(first);
        return 0;
    }
    fprintf(stderr, "nudge %s: unknown or missing subcommand%s%s (see nudge %s --help)\n", group,
            verb ? " " : "", verb ? verb : "", group);
    return CLI_EXIT_USAGE;
}
