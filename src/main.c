/*
 * main.c: the `nudge` command: a thin front over libnudge. It parses
 * arguments, opens the store, calls the library and prints results; all
 * logic lives in the library so the CLI, the HTTP API and embedders cannot
 * disagree.
 *
 * Conventions a shell user expects: ids alone on stdout on creation (so
 * scripts can chain them), lists as tab-separated columns with a header,
 * errors on stderr, and exit codes 0 ok, 1 failure, 2 bad usage or input,
 * 3 not found, 4 not allowed in the current state.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nudge.h"
#include "demo.h"
#include "http/server.h"
#include "tz.h"
#include "util.h"

#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3
#define EXIT_CONFLICT 4

/* ---- options ---- */

typedef struct opt {
    const char *name; /* without "--" */
    int has_value;
    int repeat;      /* may appear several times (--var) */
} opt;

#define MAX_ARGS 64
typedef struct args {
    const char *pos[MAX_ARGS]; /* positional words after the command */
    int npos;
    struct {
        const char *name, *value;
    } kv[MAX_ARGS];
    int nkv;
    int help;
} args;

/* Options every command accepts, wherever they stand. */
static const opt global_opts[] = {
    {"db", 1, 0},       {"outbox", 1, 0},     {"now", 1, 0},      {"smtp-url", 1, 0},
    {"smtp-from", 1, 0}, {"smtp-user", 1, 0}, {"smtp-starttls", 0, 0},
    {"smtp-insecure", 0, 0}, {"public-url", 1, 0}, {NULL, 0, 0},
};

static const char *arg_get(const args *a, const char *name)
{
    for (int i = a->nkv - 1; i >= 0; i--)
        if (!strcmp(a->kv[i].name, name))
            return a->kv[i].value;
    return NULL;
}

static const opt *opt_find(const opt *list, const char *name)
{
    for (; list && list->name; list++)
        if (!strcmp(list->name, name))
            return list;
    return NULL;
}

/* Parses argv into a; options allowed are the command's plus the globals. */
static int args_parse(int argc, char **argv, const opt *allowed, const char *cmd, args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            a->help = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0 || !s[2]) {
            if (a->npos == MAX_ARGS) {
                fprintf(stderr, "nudge %s: too many arguments\n", cmd);
                return -1;
            }
            a->pos[a->npos++] = s;
            continue;
        }
        char name[64];
        const char *eq = strchr(s + 2, '=');
        size_t nl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        if (nl >= sizeof name) {
            fprintf(stderr, "nudge %s: unknown option %s\n", cmd, s);
            return -1;
        }
        memcpy(name, s + 2, nl);
        name[nl] = 0;
        const opt *o = opt_find(allowed, name);
        if (!o)
            o = opt_find(global_opts, name);
        if (!o) {
            fprintf(stderr, "nudge %s: unknown option --%s (see nudge %s --help)\n", cmd, name,
                    cmd);
            return -1;
        }
        const char *value = "1";
        if (o->has_value) {
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
        if (!o->repeat && arg_get(a, name) && opt_find(allowed, name)) {
            fprintf(stderr, "nudge %s: option --%s given twice\n", cmd, name);
            return -1;
        }
        if (a->nkv == MAX_ARGS) {
            fprintf(stderr, "nudge %s: too many options\n", cmd);
            return -1;
        }
        a->kv[a->nkv].name = o->name;
        a->kv[a->nkv].value = value;
        a->nkv++;
    }
    return 0;
}

/* ---- errors and numbers ---- */

static int fail(const char *cmd, const nudge_err *e)
{
    if (e->field[0] && e->code == NUDGE_EINVAL)
        fprintf(stderr, "nudge %s: %s (field: %s)\n", cmd, e->msg, e->field);
    else
        fprintf(stderr, "nudge %s: %s\n", cmd, e->msg);
    switch (e->code) {
    case NUDGE_EINVAL: return EXIT_USAGE;
    case NUDGE_ENOTFOUND: return EXIT_NOTFOUND;
    case NUDGE_ECONFLICT: return EXIT_CONFLICT;
    default: return 1;
    }
}

static int usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "nudge %s: ", cmd);
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see nudge %s --help)\n", cmd);
    return EXIT_USAGE;
}

static int parse_id(const char *cmd, const char *what, const char *s, int64_t *out)
{
    char *end;
    if (!s)
        return usage_error(cmd, "%s is required", what);
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) {
        fprintf(stderr, "nudge %s: %s must be a positive number (got \"%s\")\n", cmd, what, s);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *cmd, const char *what, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "nudge %s: %s must be a number from %d to %d (got \"%s\")\n", cmd, what,
                lo, hi, s);
        return EXIT_USAGE;
    }
    *out = (int)v;
    return 0;
}

static int set_field(const char *cmd, char *dst, size_t n, const char *v, const char *field)
{
    nudge_err e = {0};
    if (v && str_field(dst, n, v, field, &e) < 0)
        return fail(cmd, &e);
    return 0;
}

/* ---- the handle ---- */

/* A secret from $NAME, or from the file named by $NAME_FILE (first line).
 * Never from argv, where every user of the machine could read it. */
static int secret_from_env(const char *cmd, const char *name, char *buf, size_t n)
{
    char fname[64];
    snprintf(fname, sizeof fname, "%s_FILE", name);
    const char *v = getenv(name), *path = getenv(fname);
    buf[0] = 0;
    if (v)
        return str_copy(buf, n, v) < 0 ? (fprintf(stderr, "nudge %s: %s is too long\n", cmd, name),
                                          -1)
                                       : 0;
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, (int)n, f)) {
        fprintf(stderr, "nudge %s: cannot read %s %s\n", cmd, fname, path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

typedef struct ctx {
    nudge *n;
    /* Secrets read from the environment or files; they live as long as the
     * API threads that check webhook signatures with them. */
    char twilio_token[256], wa_token[512], wa_secret[256], wa_verify[256], msg91_key[256],
        msg91_secret[256];
    nudge_config cfg; /* as opened: serve hands it to the API threads */
    nudge_clock clock;
    args a;
    const char *cmd;
} ctx;

static int open_nudge(ctx *c)
{
    const char *db = arg_get(&c->a, "db");
    if (!db)
        db = getenv("NUDGE_DB");
    nudge_config cfg = {
        .db = db ? db : "nudge.db",
        .outbox_dir = arg_get(&c->a, "outbox") ? arg_get(&c->a, "outbox") : getenv("NUDGE_OUTBOX"),
        .smtp_url = arg_get(&c->a, "smtp-url") ? arg_get(&c->a, "smtp-url")
                                                : getenv("NUDGE_SMTP_URL"),
        .smtp_from = arg_get(&c->a, "smtp-from") ? arg_get(&c->a, "smtp-from")
                                                  : getenv("NUDGE_SMTP_FROM"),
        .smtp_user = arg_get(&c->a, "smtp-user") ? arg_get(&c->a, "smtp-user")
                                                  : getenv("NUDGE_SMTP_USER"),
        .smtp_starttls = arg_get(&c->a, "smtp-starttls") != NULL,
        .smtp_insecure = arg_get(&c->a, "smtp-insecure") != NULL,
    };
    /* The password only ever comes from the environment or a file, never
     * from argv, where every user of the machine could read it. */
    char pw[256] = "", token[256] = "";
    if (secret_from_env(c->cmd, "NUDGE_SMTP_PASSWORD", pw, sizeof pw) < 0 ||
        secret_from_env(c->cmd, "NUDGE_TWILIO_AUTH_TOKEN", token, sizeof token) < 0)
        return 1;
    cfg.smtp_password = pw[0] ? pw : NULL;
    cfg.twilio_auth_token = token;
    cfg.twilio_account_sid = getenv("NUDGE_TWILIO_ACCOUNT_SID");
    cfg.twilio_from = getenv("NUDGE_TWILIO_FROM");
    cfg.twilio_messaging_service_sid = getenv("NUDGE_TWILIO_MESSAGING_SERVICE_SID");
    cfg.twilio_base_url = getenv("NUDGE_TWILIO_BASE_URL");
    if (secret_from_env(c->cmd, "NUDGE_WHATSAPP_TOKEN", c->wa_token, sizeof c->wa_token) < 0 ||
        secret_from_env(c->cmd, "NUDGE_WHATSAPP_APP_SECRET", c->wa_secret, sizeof c->wa_secret) <
            0 ||
        secret_from_env(c->cmd, "NUDGE_WHATSAPP_VERIFY_TOKEN", c->wa_verify,
                        sizeof c->wa_verify) < 0)
        return 1;
    if (secret_from_env(c->cmd, "NUDGE_MSG91_AUTHKEY", c->msg91_key, sizeof c->msg91_key) < 0 ||
        secret_from_env(c->cmd, "NUDGE_MSG91_WEBHOOK_SECRET", c->msg91_secret,
                        sizeof c->msg91_secret) < 0)
        return 1;
    cfg.msg91_authkey = c->msg91_key[0] ? c->msg91_key : NULL;
    cfg.msg91_webhook_secret = c->msg91_secret[0] ? c->msg91_secret : NULL;
    cfg.msg91_base_url = getenv("NUDGE_MSG91_BASE_URL");
    cfg.whatsapp_phone_number_id = getenv("NUDGE_WHATSAPP_PHONE_NUMBER_ID");
    cfg.whatsapp_base_url = getenv("NUDGE_WHATSAPP_BASE_URL");
    cfg.whatsapp_version = getenv("NUDGE_WHATSAPP_VERSION");
    cfg.whatsapp_token = c->wa_token;
    cfg.whatsapp_app_secret = c->wa_secret[0] ? c->wa_secret : NULL;
    cfg.whatsapp_verify_token = c->wa_verify[0] ? c->wa_verify : NULL;
    cfg.public_url = arg_get(&c->a, "public-url") ? arg_get(&c->a, "public-url")
                                                   : getenv("NUDGE_PUBLIC_URL");
    const char *now = arg_get(&c->a, "now");
    if (now) {
        int64_t t;
        nudge_err e = {0};
        if (tz_parse(now, NULL, &t, "now", &e) < 0)
            return fail(c->cmd, &e);
        nudge_clock_fake(&c->clock, t);
        cfg.clock = &c->clock;
    }
    nudge_err e = {0};
    int rc = nudge_open(&cfg, &c->n, &e);
    memset(pw, 0, sizeof pw);
    cfg.smtp_password = NULL; /* read once, by the sending handle only */
    /* The API threads keep the token: they check Twilio's webhook
     * signatures with it. It lives in ctx, as long as they do. */
    str_copy(c->twilio_token, sizeof c->twilio_token, token);
    memset(token, 0, sizeof token);
    cfg.twilio_auth_token = c->twilio_token;
    c->cfg = cfg;
    if (rc < 0)
        return fail(c->cmd, &e);
    nudge_set_actor(c->n, "cli");
    return 0;
}

/* ---- printing ---- */

static void fmt_time(int64_t t, const char *tz, char *buf, size_t n)
{
    if (!t) {
        snprintf(buf, n, "-");
        return;
    }
    tz_format_rfc3339(t, tz, buf, n);
}

static const char *clinic_tz(nudge *n, int64_t clinic_id, char *buf, size_t sz)
{
    nudge_clinic c;
    nudge_err e;
    if (nudge_clinic_get(n, clinic_id, &c, &e) == 0)
        snprintf(buf, sz, "%s", c.timezone);
    else
        snprintf(buf, sz, "UTC");
    return buf;
}

static void hhmm(int m, char *buf, size_t n)
{
    snprintf(buf, n, "%02d:%02d", (m / 60) % 24, m % 60);
}

/* ---- help ---- */

static const char *const help_main =
    "usage: nudge [--db PATH] COMMAND [ARGS]\n"
    "\n"
    "nudge keeps a clinic's patients and appointments and sends their\n"
    "confirmations and reminders by SMS, WhatsApp and email.\n"
    "\n"
    "commands:\n"
    "  migrate                       apply database migrations\n"
    "  clinic add|list               clinics (tenants)\n"
    "  patient add|list|show         patients\n"
    "  appointment add|list|show|confirm|cancel|reschedule|complete|no-show\n"
    "  template list|show|render|put|map-whatsapp|map-msg91\n"
    "  send                          enqueue a direct message to a patient\n"
    "  queue status|list|show|retry|cancel\n"
    "  key create|list|revoke        API keys (shown once, stored hashed)\n"
    "  tick [--now TIME]             one scheduler and dispatcher pass, then exit\n"
    "  serve                         run the scheduler and dispatcher until SIGTERM\n"
    "  demo                          replay three days of a demo clinic\n"
    "\n"
    "options for every command:\n"
    "  --db PATH        SQLite database (default ./nudge.db, or $NUDGE_DB)\n"
    "  --outbox DIR     folder for the outbox channel (default ./outbox)\n"
    "  --now TIME       act as if it were TIME (RFC 3339), for replays and tests\n"
    "  --smtp-url URL   send email by SMTP (smtp://host:port, smtps://...)\n"
    "  --smtp-from ADDR --smtp-user USER --smtp-starttls\n"
    "                   the password comes from $NUDGE_SMTP_PASSWORD or the file\n"
    "                   named by $NUDGE_SMTP_PASSWORD_FILE, never from arguments\n"
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
    "\n"
    "`nudge COMMAND --help` describes each command. Exit codes: 0 ok, 1 failure,\n"
    "2 bad usage or input, 3 not found, 4 not allowed in the current state.\n";

/* ---- clinic ---- */

static const opt clinic_add_opts[] = {
    {"name", 1, 0},        {"timezone", 1, 0}, {"country", 1, 0},     {"language", 1, 0},
    {"phone", 1, 0},       {"email", 1, 0},    {"address", 1, 0},     {"quiet-hours", 1, 0},
    {"offsets", 1, 0},     {"max-retries", 1, 0}, {"rate", 1, 0},     {"channel", 1, 0},
    {"followup-after", 1, 0}, {"sms-sender", 1, 0}, {"whatsapp-fallback", 1, 0},
    {"whatsapp-fallback-after", 1, 0}, {NULL, 0, 0},
};

static const char *const help_clinic =
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

static int cmd_clinic_add(ctx *c)
{
    const args *a = &c->a;
    nudge_clinic cl;
    nudge_clinic_defaults(&cl);
    const char *v;
    if (!arg_get(a, "name"))
        return usage_error(c->cmd, "%s is required", "--name");
    if (!arg_get(a, "timezone"))
        return usage_error(c->cmd, "%s is required", "--timezone");
    if (!arg_get(a, "country"))
        return usage_error(c->cmd, "%s is required", "--country");
    int rc;
    if ((rc = set_field(c->cmd, cl.name, sizeof cl.name, arg_get(a, "name"), "name")) ||
        (rc = set_field(c->cmd, cl.timezone, sizeof cl.timezone, arg_get(a, "timezone"),
                        "timezone")) ||
        (rc = set_field(c->cmd, cl.country, sizeof cl.country, arg_get(a, "country"), "country")) ||
        (rc = set_field(c->cmd, cl.language, sizeof cl.language, arg_get(a, "language"),
                        "language")) ||
        (rc = set_field(c->cmd, cl.phone, sizeof cl.phone, arg_get(a, "phone"), "phone")) ||
        (rc = set_field(c->cmd, cl.email, sizeof cl.email, arg_get(a, "email"), "email")) ||
        (rc = set_field(c->cmd, cl.address, sizeof cl.address, arg_get(a, "address"),
                        "address")) ||
        (rc = set_field(c->cmd, cl.default_channel, sizeof cl.default_channel,
                        arg_get(a, "channel"), "channel")))
        return rc;
    if ((v = arg_get(a, "quiet-hours"))) {
        if (!strcmp(v, "none")) {
            cl.quiet_start = cl.quiet_end = 0;
        } else {
            char s[6], e[6];
            const char *dash = strchr(v, '-');
            if (!dash || dash - v != 5 || strlen(dash + 1) != 5)
                return usage_error(c->cmd, "%s must be HH:MM-HH:MM or none", "--quiet-hours");
            memcpy(s, v, 5);
            s[5] = 0;
            memcpy(e, dash + 1, 6);
            if (tz_parse_hhmm(s, &cl.quiet_start) < 0 || tz_parse_hhmm(e, &cl.quiet_end) < 0)
                return usage_error(c->cmd, "%s must be HH:MM-HH:MM or none", "--quiet-hours");
        }
    }
    if ((v = arg_get(a, "offsets"))) {
        nudge_err e = {0};
        extern int clinic_parse_offsets(const char *, int *, int *, nudge_err *);
        if (clinic_parse_offsets(v, cl.offsets, &cl.n_offsets, &e) < 0)
            return fail(c->cmd, &e);
    }
    if ((v = arg_get(a, "max-retries")) &&
        (rc = parse_int(c->cmd, "--max-retries", v, 0, 20, &cl.max_retries)))
        return rc;
    if ((v = arg_get(a, "rate")) &&
        (rc = parse_int(c->cmd, "--rate", v, 1, 1000000, &cl.rate_per_minute)))
        return rc;
    if ((v = arg_get(a, "followup-after")) &&
        (rc = parse_int(c->cmd, "--followup-after", v, 0, 525600, &cl.followup_after)))
        return rc;
    if ((rc = set_field(c->cmd, cl.sms_sender, sizeof cl.sms_sender, arg_get(a, "sms-sender"),
                        "sms_sender")))
        return rc;
    if ((v = arg_get(a, "whatsapp-fallback"))) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return usage_error(c->cmd, "--whatsapp-fallback must be on or off (got \"%s\")", v);
        cl.whatsapp_fallback = !strcmp(v, "on");
    }
    if ((v = arg_get(a, "whatsapp-fallback-after")) &&
        (rc = parse_int(c->cmd, "--whatsapp-fallback-after", v, 0, 10080,
                        &cl.whatsapp_fallback_after)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_clinic_add(c->n, &cl, &e) < 0)
        return fail(c->cmd, &e);
    printf("%lld\n", (long long)cl.id);
    return 0;
}

static int print_clinic(void *x, const nudge_clinic *cl)
{
    (void)x;
    char qs[16], qe[16];
    hhmm(cl->quiet_start, qs, sizeof qs);
    hhmm(cl->quiet_end, qe, sizeof qe);
    printf("%lld\t%s\t%s\t%s\t%s\t%s-%s\t%s\n", (long long)cl->id, cl->name, cl->timezone,
           cl->country, cl->language, qs, qe, cl->default_channel);
    return 0;
}

static int cmd_clinic_list(ctx *c)
{
    int rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tname\ttimezone\tcountry\tlanguage\tquiet_hours\tchannel\n");
    if (nudge_clinic_list(c->n, 0, 100000, print_clinic, NULL, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

/* ---- patient ---- */

static const opt patient_add_opts[] = {
    {"clinic", 1, 0},  {"name", 1, 0},    {"phone", 1, 0},    {"email", 1, 0},
    {"language", 1, 0}, {"dob", 1, 0},    {"gender", 1, 0},   {"tags", 1, 0},
    {"channel", 1, 0}, {"preferred-time", 1, 0}, {"timezone", 1, 0}, {"opt-out", 1, 0},
    {NULL, 0, 0},
};
static const opt list_opts[] = {
    {"clinic", 1, 0}, {"patient", 1, 0}, {"status", 1, 0}, {"limit", 1, 0}, {"after", 1, 0},
    {NULL, 0, 0},
};

static const char *const help_patient =
    "usage: nudge patient add --clinic ID --name NAME (--phone N | --email ADDR) [options]\n"
    "       nudge patient list [--clinic ID] [--limit N] [--after ID]\n"
    "       nudge patient show ID\n"
    "\n"
    "add prints the new patient's id. Phone numbers are stored in E.164, read\n"
    "with the clinic's country as default.\n"
    "  --language LANG       en, hi, ... (default: the clinic's)\n"
    "  --dob YYYY-MM-DD --gender G --tags \"diabetes,braces\"\n"
    "  --channel CH          preferred channel: sms, whatsapp or email\n"
    "  --preferred-time HH:MM --timezone ZONE\n"
    "  --opt-out LIST        reminders,broadcasts,health_tips,marketing,sms,whatsapp,email\n";

static int parse_optouts(const char *cmd, const char *s, unsigned *out)
{
    static const char *const names[] = {"reminders", "broadcasts", "health_tips", "marketing",
                                        "sms",       "whatsapp",   "email"};
    *out = 0;
    char buf[256];
    if (str_copy(buf, sizeof buf, s) < 0)
        return usage_error(cmd, "%s is too long", "--opt-out");
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof names / sizeof *names; i++)
            if (!strcmp(t, names[i]))
                break;
        if (i == sizeof names / sizeof *names) {
            fprintf(stderr,
                    "nudge %s: unknown opt-out \"%s\": use reminders, broadcasts, health_tips, "
                    "marketing, sms, whatsapp or email\n",
                    cmd, t);
            return EXIT_USAGE;
        }
        *out |= 1u << i;
    }
    return 0;
}

static int cmd_patient_add(ctx *c)
{
    const args *a = &c->a;
    nudge_patient p;
    nudge_patient_init(&p);
    int rc;
    const char *v;
    if ((rc = parse_id(c->cmd, "--clinic", arg_get(a, "clinic"), &p.clinic_id)))
        return rc;
    if (!arg_get(a, "name"))
        return usage_error(c->cmd, "%s is required", "--name");
    if ((rc = set_field(c->cmd, p.name, sizeof p.name, arg_get(a, "name"), "name")) ||
        (rc = set_field(c->cmd, p.phone, sizeof p.phone, arg_get(a, "phone"), "phone")) ||
        (rc = set_field(c->cmd, p.email, sizeof p.email, arg_get(a, "email"), "email")) ||
        (rc = set_field(c->cmd, p.language, sizeof p.language, arg_get(a, "language"),
                        "language")) ||
        (rc = set_field(c->cmd, p.dob, sizeof p.dob, arg_get(a, "dob"), "date_of_birth")) ||
        (rc = set_field(c->cmd, p.gender, sizeof p.gender, arg_get(a, "gender"), "gender")) ||
        (rc = set_field(c->cmd, p.tags, sizeof p.tags, arg_get(a, "tags"), "tags")) ||
        (rc = set_field(c->cmd, p.timezone, sizeof p.timezone, arg_get(a, "timezone"),
                        "timezone")) ||
        (rc = set_field(c->cmd, p.preferred_channel, sizeof p.preferred_channel,
                        arg_get(a, "channel"), "preferred_channel")))
        return rc;
    if ((v = arg_get(a, "preferred-time")) && tz_parse_hhmm(v, &p.preferred_time) < 0)
        return usage_error(c->cmd, "%s must be HH:MM", "--preferred-time");
    if ((v = arg_get(a, "opt-out")) && (rc = parse_optouts(c->cmd, v, &p.opt_outs)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    nudge_clinic cl;
    if (nudge_clinic_get(c->n, p.clinic_id, &cl, &e) < 0 || nudge_patient_add(c->n, &p, &e) < 0)
        return fail(c->cmd, &e);
    printf("%lld\n", (long long)p.id);
    return 0;
}

static int print_patient_row(void *x, const nudge_patient *p)
{
    (void)x;
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\n", (long long)p->id, (long long)p->clinic_id, p->name,
           p->phone[0] ? p->phone : "-", p->email[0] ? p->email : "-", p->language);
    return 0;
}

static int list_paging(ctx *c, int64_t *clinic, int64_t *after, int *limit)
{
    const char *v;
    int rc;
    *clinic = 0;
    *after = 0;
    *limit = 1000;
    if ((v = arg_get(&c->a, "clinic")) && (rc = parse_id(c->cmd, "--clinic", v, clinic)))
        return rc;
    if ((v = arg_get(&c->a, "after")) && (rc = parse_id(c->cmd, "--after", v, after)))
        return rc;
    if ((v = arg_get(&c->a, "limit")) && (rc = parse_int(c->cmd, "--limit", v, 1, 100000, limit)))
        return rc;
    return 0;
}

static int cmd_patient_list(ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    if ((rc = list_paging(c, &clinic, &after, &limit)) || (rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tname\tphone\temail\tlanguage\n");
    if (nudge_patient_list(c->n, clinic, after, limit, print_patient_row, NULL, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static const char *const optout_names[] = {"reminders", "broadcasts", "health_tips", "marketing",
                                           "sms",       "whatsapp",   "email"};

static int cmd_patient_show(ctx *c)
{
    int64_t id;
    int rc;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one patient id");
    if ((rc = parse_id(c->cmd, "patient id", c->a.pos[0], &id)) || (rc = open_nudge(c)))
        return rc;
    nudge_patient p;
    nudge_err e = {0};
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, id, &p, &e) < 0)
        return fail(c->cmd, &e);
    char tzb[64], t[40];
    const char *tz = p.timezone[0] ? p.timezone : clinic_tz(c->n, p.clinic_id, tzb, sizeof tzb);
    printf("id: %lld\nclinic: %lld\nname: %s\nphone: %s\nemail: %s\nlanguage: %s\n",
           (long long)p.id, (long long)p.clinic_id, p.name, p.phone[0] ? p.phone : "-",
           p.email[0] ? p.email : "-", p.language);
    printf("timezone: %s\ndate_of_birth: %s\ngender: %s\ntags: %s\n", tz, p.dob[0] ? p.dob : "-",
           p.gender[0] ? p.gender : "-", p.tags[0] ? p.tags : "-");
    printf("preferred_channel: %s\n", p.preferred_channel[0] ? p.preferred_channel : "-");
    if (p.preferred_time >= 0) {
        hhmm(p.preferred_time, t, sizeof t);
        printf("preferred_time: %s\n", t);
    } else {
        printf("preferred_time: -\n");
    }
    printf("opt_outs:");
    int any = 0;
    for (int i = 0; i < 7; i++)
        if (p.opt_outs & (1u << i))
            printf("%s%s", any++ ? "," : " ", optout_names[i]);
    printf("%s\n", any ? "" : " -");
    fmt_time(p.last_visit, tz, t, sizeof t);
    printf("loyalty_points: %lld\nlast_visit: %s\n", (long long)p.loyalty_points, t);
    fmt_time(p.created_at, tz, t, sizeof t);
    printf("created_at: %s\n", t);
    return 0;
}

/* ---- appointment ---- */

static const opt appt_add_opts[] = {
    {"patient", 1, 0}, {"service", 1, 0}, {"at", 1, 0}, {"duration", 1, 0},
    {"doctor", 1, 0},  {"notes", 1, 0},   {NULL, 0, 0},
};
static const opt appt_resched_opts[] = {{"at", 1, 0}, {NULL, 0, 0}};

static const char *const help_appointment =
    "usage: nudge appointment add --patient ID --service TEXT --at TIME [--duration MIN]\n"
    "                             [--doctor NAME] [--notes TEXT]\n"
    "       nudge appointment list [--clinic ID] [--patient ID] [--status S]\n"
    "       nudge appointment show ID\n"
    "       nudge appointment confirm|cancel|complete|no-show ID\n"
    "       nudge appointment reschedule ID --at TIME\n"
    "\n"
    "TIME is RFC 3339 (2026-12-01T10:00:00+05:30), or a local time in the clinic's\n"
    "zone (2026-12-01T10:00). add prints the new id and plans a confirmation now\n"
    "and reminders before the visit (the clinic's offsets, 24 h and 2 h by default).\n"
    "cancel drops the plans; reschedule plans afresh; complete plans a follow-up;\n"
    "no-show plans a no-show message. Duration defaults to 30 minutes.\n";

static int appt_time(ctx *c, int64_t clinic_id, const char *s, int64_t *out)
{
    char tzb[64];
    nudge_err e = {0};
    if (tz_parse(s, clinic_tz(c->n, clinic_id, tzb, sizeof tzb), out, "at", &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static int cmd_appt_add(ctx *c)
{
    const args *a = &c->a;
    nudge_appointment ap;
    memset(&ap, 0, sizeof ap);
    ap.duration_min = 30;
    int rc;
    const char *v;
    if ((rc = parse_id(c->cmd, "--patient", arg_get(a, "patient"), &ap.patient_id)))
        return rc;
    if (!arg_get(a, "service"))
        return usage_error(c->cmd, "%s is required", "--service");
    if (!arg_get(a, "at"))
        return usage_error(c->cmd, "%s is required", "--at");
    if ((rc = set_field(c->cmd, ap.service, sizeof ap.service, arg_get(a, "service"),
                        "service")) ||
        (rc = set_field(c->cmd, ap.provider, sizeof ap.provider, arg_get(a, "doctor"),
                        "doctor")) ||
        (rc = set_field(c->cmd, ap.notes, sizeof ap.notes, arg_get(a, "notes"), "notes")))
        return rc;
    if ((v = arg_get(a, "duration")) &&
        (rc = parse_int(c->cmd, "--duration", v, 1, 1440, &ap.duration_min)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_patient p;
    nudge_err e = {0};
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, ap.patient_id, &p, &e) < 0)
        return fail(c->cmd, &e);
    if ((rc = appt_time(c, p.clinic_id, arg_get(a, "at"), &ap.start_at)))
        return rc;
    if (nudge_appointment_add(c->n, p.clinic_id, &ap, &e) < 0)
        return fail(c->cmd, &e);
    printf("%lld\n", (long long)ap.id);
    return 0;
}

typedef struct appt_list {
    nudge *n;
    int header; /* printed: only once a row or the end shows the call worked */
} appt_list;

static void appt_header(appt_list *l)
{
    if (!l->header++)
        printf("id\tpatient\tat\tservice\tminutes\tdoctor\tstatus\n");
}

static int print_appt_row(void *x, const nudge_appointment *ap)
{
    appt_list *l = x;
    nudge *n = l->n;
    appt_header(l);
    char tzb[64], t[40];
    fmt_time(ap->start_at, clinic_tz(n, ap->clinic_id, tzb, sizeof tzb), t, sizeof t);
    printf("%lld\t%lld\t%s\t%s\t%d\t%s\t%s\n", (long long)ap->id, (long long)ap->patient_id, t,
           ap->service, ap->duration_min, ap->provider[0] ? ap->provider : "-", ap->status);
    return 0;
}

static int cmd_appt_list(ctx *c)
{
    int64_t clinic, after, patient = 0;
    int limit, rc;
    const char *v;
    if ((rc = list_paging(c, &clinic, &after, &limit)))
        return rc;
    if ((v = arg_get(&c->a, "patient")) && (rc = parse_id(c->cmd, "--patient", v, &patient)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    appt_list l = {c->n, 0};
    if (nudge_appointment_list(c->n, clinic, patient, arg_get(&c->a, "status"), after, limit,
                               print_appt_row, &l, &e) < 0)
        return fail(c->cmd, &e);
    appt_header(&l);
    return 0;
}

static int print_reminder(void *x, const nudge_reminder *r)
{
    const char *tz = x;
    char t[40];
    fmt_time(r->due_at, tz, t, sizeof t);
    printf("  %-12s %-26s %-10s %s", r->kind, r->template_name, r->status, t);
    if (r->notification_id)
        printf("  notification %lld", (long long)r->notification_id);
    printf("\n");
    return 0;
}

static int cmd_appt_show(ctx *c)
{
    int64_t id;
    int rc;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one appointment id");
    if ((rc = parse_id(c->cmd, "appointment id", c->a.pos[0], &id)) || (rc = open_nudge(c)))
        return rc;
    nudge_appointment ap;
    nudge_err e = {0};
    if (nudge_appointment_get(c->n, NUDGE_ANY_CLINIC, id, &ap, &e) < 0)
        return fail(c->cmd, &e);
    char tzb[64], t[40];
    const char *tz = clinic_tz(c->n, ap.clinic_id, tzb, sizeof tzb);
    fmt_time(ap.start_at, tz, t, sizeof t);
    printf("id: %lld\nclinic: %lld\npatient: %lld\nservice: %s\nat: %s\nduration: %d\n"
           "doctor: %s\nstatus: %s\nnotes: %s\nplans:\n",
           (long long)ap.id, (long long)ap.clinic_id, (long long)ap.patient_id, ap.service, t,
           ap.duration_min, ap.provider[0] ? ap.provider : "-", ap.status,
           ap.notes[0] ? ap.notes : "-");
    if (nudge_reminder_list(c->n, NUDGE_ANY_CLINIC, ap.id, print_reminder, (void *)tz, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static int cmd_appt_change(ctx *c)
{
    int64_t id;
    int rc;
    const char *verb = strchr(c->cmd, ' ') + 1;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one appointment id");
    if ((rc = parse_id(c->cmd, "appointment id", c->a.pos[0], &id)))
        return rc;
    if (!strcmp(verb, "reschedule") && !arg_get(&c->a, "at"))
        return usage_error(c->cmd, "%s is required", "--at");
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    int r;
    if (!strcmp(verb, "cancel"))
        r = nudge_appointment_cancel(c->n, NUDGE_ANY_CLINIC, id, &e);
    else if (!strcmp(verb, "confirm"))
        r = nudge_appointment_confirm(c->n, NUDGE_ANY_CLINIC, id, &e);
    else if (!strcmp(verb, "complete"))
        r = nudge_appointment_complete(c->n, NUDGE_ANY_CLINIC, id, &e);
    else if (!strcmp(verb, "no-show"))
        r = nudge_appointment_no_show(c->n, NUDGE_ANY_CLINIC, id, &e);
    else {
        nudge_appointment ap;
        int64_t t;
        if (nudge_appointment_get(c->n, NUDGE_ANY_CLINIC, id, &ap, &e) < 0)
            return fail(c->cmd, &e);
        if ((rc = appt_time(c, ap.clinic_id, arg_get(&c->a, "at"), &t)))
            return rc;
        r = nudge_appointment_reschedule(c->n, NUDGE_ANY_CLINIC, id, t, &e);
    }
    if (r < 0)
        return fail(c->cmd, &e);
    return 0;
}

/* ---- templates ---- */

static const opt tmpl_opts[] = {
    {"clinic", 1, 0}, {"language", 1, 0}, {"channel", 1, 0}, {"var", 1, 1}, {NULL, 0, 0},
};
static const opt tmpl_put_opts[] = {
    {"clinic", 1, 0}, {"name", 1, 0}, {"language", 1, 0}, {"category", 1, 0}, {"sms", 1, 0},
    {"whatsapp", 1, 0}, {"subject", 1, 0}, {"text", 1, 0}, {"html", 1, 0}, {NULL, 0, 0},
};

static const char *const help_template =
    "usage: nudge template list [--clinic ID]\n"
    "       nudge template show NAME [--language LANG] [--clinic ID]\n"
    "       nudge template render NAME [--language LANG] [--clinic ID]\n"
    "                             [--channel sms|whatsapp|email] --var key=value ...\n"
    "       nudge template put --clinic ID --name NAME --language LANG --category CAT\n"
    "                          --sms TEXT --subject TEXT --text TEXT --html HTML [--whatsapp TEXT]\n"
    "\n"
    "Placeholders are {name}; a missing variable is an error. put creates or\n"
    "replaces the clinic's own version, which wins over the built-in one.\n"
    "Categories: transactional, reminders, broadcasts, health_tips, marketing.\n";

static int print_tmpl_row(void *x, const nudge_template *t)
{
    (void)x;
    printf("%s\t%s\t%s\t%s\n", t->name, t->language, t->category,
           t->clinic_id ? "clinic" : "built-in");
    return 0;
}

static int cmd_tmpl_list(ctx *c)
{
    int64_t clinic = 0;
    int rc;
    const char *v;
    if ((v = arg_get(&c->a, "clinic")) && (rc = parse_id(c->cmd, "--clinic", v, &clinic)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    printf("name\tlanguage\tcategory\tsource\n");
    if (nudge_template_list(c->n, clinic, print_tmpl_row, NULL, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static int tmpl_load(ctx *c, nudge_template *t)
{
    int64_t clinic = 0;
    int rc;
    const char *v;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one template name");
    if ((v = arg_get(&c->a, "clinic")) && (rc = parse_id(c->cmd, "--clinic", v, &clinic)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    const char *lang = arg_get(&c->a, "language");
    if (nudge_template_get(c->n, clinic, c->a.pos[0], lang ? lang : "en", t, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static int cmd_tmpl_show(ctx *c)
{
    nudge_template t = {0};
    int rc = tmpl_load(c, &t);
    if (rc)
        return rc;
    printf("name: %s\nlanguage: %s\ncategory: %s\nsource: %s\n\n[sms]\n%s\n", t.name,
           t.language, t.category, t.clinic_id ? "clinic" : "built-in", t.sms);
    if (t.whatsapp)
        printf("\n[whatsapp]\n%s\n", t.whatsapp);
    printf("\n[subject]\n%s\n\n[text]\n%s\n\n[html]\n%s\n", t.subject, t.text, t.html);
    nudge_template_free(&t);
    return 0;
}

/* Every --var key=value into vars; on error vars is freed. */
static int parse_vars(ctx *c, nudge_vars *vars)
{
    for (int i = 0; i < c->a.nkv; i++) {
        if (strcmp(c->a.kv[i].name, "var"))
            continue;
        const char *kv = c->a.kv[i].value;
        const char *eq = strchr(kv, '=');
        char key[48];
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
            nudge_vars_free(vars);
            return usage_error(c->cmd, "--var must be key=value (got \"%s\")", kv);
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = 0;
        if (nudge_vars_set(vars, key, eq + 1) < 0) {
            nudge_vars_free(vars);
            return usage_error(c->cmd, "too many variables, or a bad name: %s", key);
        }
    }
    return 0;
}

static int cmd_tmpl_render(ctx *c)
{
    nudge_vars vars = {0};
    int rc = parse_vars(c, &vars);
    if (rc)
        return rc;
    const char *channel = arg_get(&c->a, "channel");
    if (!channel)
        channel = "sms";
    if (strcmp(channel, "sms") && strcmp(channel, "whatsapp") && strcmp(channel, "email")) {
        nudge_vars_free(&vars);
        return usage_error(c->cmd, "--channel must be sms, whatsapp or email (got \"%s\")",
                           channel);
    }
    nudge_template t = {0};
    if ((rc = tmpl_load(c, &t))) {
        nudge_vars_free(&vars);
        return rc;
    }
    nudge_err e = {0};
    nudge_rendered r;
    if (nudge_template_render(&t, channel, &vars, &r, &e) < 0)
        rc = fail(c->cmd, &e);
    else if (r.subject)
        printf("Subject: %s\n\n%s\n\n%s\n", r.subject, r.body, r.html);
    else
        printf("%s\n", r.body);
    nudge_rendered_free(&r);
    nudge_template_free(&t);
    nudge_vars_free(&vars);
    return rc;
}

static int cmd_tmpl_put(ctx *c)
{
    const args *a = &c->a;
    nudge_template t = {0};
    int64_t clinic;
    int rc;
    if ((rc = parse_id(c->cmd, "--clinic", arg_get(a, "clinic"), &clinic)))
        return rc;
    if ((rc = set_field(c->cmd, t.name, sizeof t.name, arg_get(a, "name"), "name")) ||
        (rc = set_field(c->cmd, t.language, sizeof t.language, arg_get(a, "language"),
                        "language")) ||
        (rc = set_field(c->cmd, t.category, sizeof t.category, arg_get(a, "category"),
                        "category")))
        return rc;
    t.sms = (char *)arg_get(a, "sms");
    t.whatsapp = (char *)arg_get(a, "whatsapp");
    t.subject = (char *)arg_get(a, "subject");
    t.text = (char *)arg_get(a, "text");
    t.html = (char *)arg_get(a, "html");
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_template_put(c->n, clinic, &t, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

/* ---- provider template mappings ---- */

static const opt map_opts[] = {
    {"clinic", 1, 0},      {"template", 1, 0}, {"language", 1, 0}, {"name", 1, 0},
    {"name-language", 1, 0}, {"id", 1, 0},     {"params", 1, 0},   {NULL, 0, 0},
};

static const char *const help_map =
    "usage: nudge template map-whatsapp --clinic ID --template NAME --language LANG\n"
    "                                   --name APPROVED --name-language CODE\n"
    "                                   [--params var,var,...]\n"
    "       nudge template map-msg91 --clinic ID --template NAME --language LANG\n"
    "                                --id DLT_TEMPLATE_ID [--params VAR1:var,VAR2:var]\n"
    "\n"
    "map-whatsapp: outside the 24-hour window WhatsApp takes only approved\n"
    "templates: this one (its name and language code as approved by Meta) is\n"
    "sent for the nudge template, its body parameters filled in order by --params.\n"
    "map-msg91: Indian SMS must use a DLT-registered template: its id, and which\n"
    "nudge variable fills each of its variables.\n";

static int cmd_tmpl_map(ctx *c)
{
    const args *a = &c->a;
    int64_t clinic;
    int rc;
    int wa = strstr(c->cmd, "whatsapp") != NULL;
    if ((rc = parse_id(c->cmd, "--clinic", arg_get(a, "clinic"), &clinic)))
        return rc;
    const char *need[] = {"template", "language", wa ? "name" : "id", wa ? "name-language" : NULL};
    for (int i = 0; i < 4 && need[i]; i++)
        if (!arg_get(a, need[i])) {
            char opt[32];
            snprintf(opt, sizeof opt, "--%s", need[i]);
            return usage_error(c->cmd, "%s is required", opt);
        }
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    rc = wa ? nudge_whatsapp_template_put(c->n, clinic, arg_get(a, "template"),
                                          arg_get(a, "language"), arg_get(a, "name"),
                                          arg_get(a, "name-language"), arg_get(a, "params"), &e)
            : nudge_msg91_template_put(c->n, clinic, arg_get(a, "template"),
                                       arg_get(a, "language"), arg_get(a, "id"),
                                       arg_get(a, "params"), &e);
    return rc < 0 ? fail(c->cmd, &e) : 0;
}

/* ---- send ---- */

static const opt send_opts[] = {
    {"patient", 1, 0}, {"template", 1, 0}, {"channel", 1, 0}, {"priority", 1, 0},
    {"at", 1, 0},      {"dedupe-key", 1, 0}, {"var", 1, 1},   {NULL, 0, 0},
};

static const char *const help_send =
    "usage: nudge send --patient ID --template NAME [--channel CH] [--priority P]\n"
    "                  [--at TIME] [--dedupe-key KEY] [--var key=value ...]\n"
    "\n"
    "Renders the template in the patient's language and enqueues it; prints the\n"
    "notification id. Priority: low, normal (default), high, urgent (urgent\n"
    "ignores quiet hours). A repeated --dedupe-key enqueues nothing new.\n";

static int parse_priority(const char *s)
{
    static const char *const names[] = {"low", "normal", "high", "urgent"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static int cmd_send(ctx *c)
{
    const args *a = &c->a;
    nudge_send s = {.priority = NUDGE_NORMAL};
    nudge_vars vars = {0};
    int rc;
    const char *v;
    if ((rc = parse_id(c->cmd, "--patient", arg_get(a, "patient"), &s.patient_id)))
        return rc;
    if (!(s.template_name = arg_get(a, "template")))
        return usage_error(c->cmd, "%s is required", "--template");
    if ((v = arg_get(a, "priority")) && (s.priority = parse_priority(v)) < 0)
        return usage_error(c->cmd, "--priority must be low, normal, high or urgent (got \"%s\")",
                           v);
    s.channel = arg_get(a, "channel");
    s.dedupe_key = arg_get(a, "dedupe-key");
    if ((rc = parse_vars(c, &vars)))
        return rc;
    s.vars = &vars;
    if ((rc = open_nudge(c))) {
        nudge_vars_free(&vars);
        return rc;
    }
    nudge_err e = {0};
    nudge_patient p;
    if (nudge_patient_get(c->n, NUDGE_ANY_CLINIC, s.patient_id, &p, &e) < 0) {
        nudge_vars_free(&vars);
        return fail(c->cmd, &e);
    }
    if ((v = arg_get(a, "at")) && (rc = appt_time(c, p.clinic_id, v, &s.due_at))) {
        nudge_vars_free(&vars);
        return rc;
    }
    int64_t id;
    rc = nudge_enqueue(c->n, p.clinic_id, &s, &id, NULL, &e);
    nudge_vars_free(&vars);
    if (rc < 0)
        return fail(c->cmd, &e);
    printf("%lld\n", (long long)id);
    return 0;
}

/* ---- queue ---- */

static const char *const help_queue =
    "usage: nudge queue status [--clinic ID]\n"
    "       nudge queue list [--status S] [--clinic ID] [--limit N] [--after ID]\n"
    "       nudge queue show ID\n"
    "       nudge queue retry ID     (a failed or cancelled notification)\n"
    "       nudge queue cancel ID    (a pending notification)\n"
    "\n"
    "Statuses: pending sending sent delivered read failed cancelled.\n";

static int cmd_queue_status(ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    if ((rc = list_paging(c, &clinic, &after, &limit)) || (rc = open_nudge(c)))
        return rc;
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(c->n, clinic, counts, &e) < 0)
        return fail(c->cmd, &e);
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        printf("%-10s %lld\n", nudge_status_names[i], (long long)counts[i]);
    return 0;
}

static int print_notif_row(void *x, const nudge_notification *m)
{
    nudge *n = x;
    char tzb[64], t[40];
    fmt_time(m->due_at, clinic_tz(n, m->clinic_id, tzb, sizeof tzb), t, sizeof t);
    static const char *const pr[] = {"low", "normal", "high", "urgent"};
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", (long long)m->id, (long long)m->clinic_id,
           m->channel, m->template_name, m->language, pr[m->priority & 3], m->status,
           m->attempts, t);
    return 0;
}

static int cmd_queue_list(ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    const char *status = arg_get(&c->a, "status");
    if (status) {
        int ok = 0;
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            ok |= !strcmp(status, nudge_status_names[i]);
        if (!ok)
            return usage_error(c->cmd, "unknown --status \"%s\"", status);
    }
    if ((rc = list_paging(c, &clinic, &after, &limit)) || (rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\tchannel\ttemplate\tlanguage\tpriority\tstatus\tattempts\tdue\n");
    if (nudge_notification_list(c->n, clinic, status, after, limit, print_notif_row, c->n, &e) <
        0)
        return fail(c->cmd, &e);
    return 0;
}

static int cmd_queue_one(ctx *c)
{
    int64_t id;
    int rc;
    const char *verb = strchr(c->cmd, ' ') + 1;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one notification id");
    if ((rc = parse_id(c->cmd, "notification id", c->a.pos[0], &id)) || (rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    if (!strcmp(verb, "retry"))
        rc = nudge_notification_retry(c->n, NUDGE_ANY_CLINIC, id, &e);
    else if (!strcmp(verb, "cancel"))
        rc = nudge_notification_cancel(c->n, NUDGE_ANY_CLINIC, id, &e);
    else {
        nudge_notification m;
        if ((rc = nudge_notification_get(c->n, NUDGE_ANY_CLINIC, id, &m, &e)) == 0) {
            char tzb[64], due[40], sent[40];
            const char *tz = clinic_tz(c->n, m.clinic_id, tzb, sizeof tzb);
            fmt_time(m.due_at, tz, due, sizeof due);
            fmt_time(m.sent_at, tz, sent, sizeof sent);
            printf("id: %lld\nclinic: %lld\npatient: %lld\nchannel: %s\nrecipient: %s\n"
                   "template: %s\nlanguage: %s\ncategory: %s\npriority: %d\nstatus: %s\n"
                   "attempts: %d of %d\ndue: %s\nsent: %s\nprovider_id: %s\nlast_error: %s\n",
                   (long long)m.id, (long long)m.clinic_id, (long long)m.patient_id, m.channel,
                   m.recipient, m.template_name, m.language, m.category, m.priority, m.status,
                   m.attempts, m.max_retries + 1, due, sent,
                   m.provider_id[0] ? m.provider_id : "-", m.last_error[0] ? m.last_error : "-");
            if (m.subject)
                printf("subject: %s\n", m.subject);
            printf("\n%s\n", m.body);
            nudge_notification_free(&m);
        }
    }
    return rc < 0 ? fail(c->cmd, &e) : 0;
}

/* ---- API keys ---- */

static const opt key_create_opts[] = {
    {"clinic", 1, 0}, {"role", 1, 0}, {"label", 1, 0}, {NULL, 0, 0}};

static const char *const help_key =
    "usage: nudge key create --clinic ID --role admin|staff|integration [--label TEXT]\n"
    "       nudge key list [--clinic ID]\n"
    "       nudge key revoke ID\n"
    "\n"
    "create prints the new key, once: only a hash of it is kept. Send it as\n"
    "`Authorization: Bearer KEY`. list shows each key's public prefix only.\n";

static int cmd_key_create(ctx *c)
{
    int64_t clinic;
    int rc, role;
    const char *v;
    if ((rc = parse_id(c->cmd, "--clinic", arg_get(&c->a, "clinic"), &clinic)))
        return rc;
    if (!(v = arg_get(&c->a, "role")))
        return usage_error(c->cmd, "%s is required", "--role");
    if (!(role = nudge_role_parse(v)))
        return usage_error(c->cmd, "--role must be admin, staff or integration (got \"%s\")", v);
    if ((rc = open_nudge(c)))
        return rc;
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    nudge_err e = {0};
    if (nudge_key_create(c->n, clinic, role, arg_get(&c->a, "label"), &k, secret, &e) < 0)
        return fail(c->cmd, &e);
    printf("%s\n", secret);
    fprintf(stderr, "nudge: key %lld (%s, %s) created; it is shown only now\n", (long long)k.id,
            k.prefix, nudge_role_name(k.role));
    memset(secret, 0, sizeof secret);
    return 0;
}

static int print_key_row(void *x, const nudge_key *k)
{
    nudge *n = x;
    char tzb[64], created[40], used[40], revoked[40];
    const char *tz = clinic_tz(n, k->clinic_id, tzb, sizeof tzb);
    fmt_time(k->created_at, tz, created, sizeof created);
    fmt_time(k->last_used_at, tz, used, sizeof used);
    fmt_time(k->revoked_at, tz, revoked, sizeof revoked);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)k->id, (long long)k->clinic_id,
           nudge_role_name(k->role), k->prefix, k->label[0] ? k->label : "-", created, used,
           revoked);
    return 0;
}

static int cmd_key_list(ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    if ((rc = list_paging(c, &clinic, &after, &limit)) || (rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\trole\tprefix\tlabel\tcreated\tlast_used\trevoked\n");
    if (nudge_key_list(c->n, clinic, print_key_row, c->n, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static int cmd_key_revoke(ctx *c)
{
    int64_t id;
    int rc;
    if (c->a.npos != 1)
        return usage_error(c->cmd, "%s", "give one key id");
    if ((rc = parse_id(c->cmd, "key id", c->a.pos[0], &id)) || (rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_key_revoke(c->n, NUDGE_ANY_CLINIC, id, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

/* ---- running ---- */

static const char *const help_tick =
    "usage: nudge tick [--now TIME] [--outbox DIR]\n"
    "\n"
    "Runs one scheduler pass (due plans become notifications) and one dispatcher\n"
    "pass (due notifications are sent), prints what it did, and exits. For cron\n"
    "deployments and for replaying a moment: --now sets the clock.\n";

static int cmd_tick(ctx *c)
{
    int rc;
    if (c->a.npos)
        return usage_error(c->cmd, "unexpected argument \"%s\"", c->a.pos[0]);
    if ((rc = open_nudge(c)))
        return rc;
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(c->n, &st, &e) < 0)
        return fail(c->cmd, &e);
    printf("enqueued %d, expired %d, sent %d, retrying %d, failed %d, deferred %d\n",
           st.planned_enqueued, st.expired, st.sent, st.retried, st.failed, st.deferred);
    return 0;
}

static volatile int stopping; /* int, not sig_atomic_t: the library reads it */
static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* A provider's error text can quote the recipient ("The 'To' number
 * +91... is not valid"): runs of 8 or more digits (no error code is that
 * long) are masked before a reason reaches the log. */
static void log_redact(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < n;) {
        size_t d = strspn(in + i, "0123456789");
        if (d >= 8) {
            if (o > 0 && out[o - 1] == '+')
                o--;
            out[o++] = '#';
            i += d;
        } else if (d) {
            size_t k = d < n - o - 1 ? d : n - o - 1;
            memcpy(out + o, in + i, k);
            o += k;
            i += d;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = 0;
}

static void log_sent(void *x, const nudge_notification *m, const char *outcome)
{
    (void)x;
    /* Ids and kinds only: no names, numbers or message text in logs. */
    char why[256] = "";
    if (strcmp(outcome, "sent"))
        log_redact(m->last_error, why, sizeof why);
    fprintf(stderr, "nudge: notification %lld clinic %lld %s %s attempt %d: %s%s%s\n",
            (long long)m->id, (long long)m->clinic_id, m->channel, m->template_name, m->attempts,
            outcome, why[0] ? " - " : "", why);
}

static const opt serve_opts[] = {
    {"demo", 0, 0}, {"interval", 1, 0}, {"listen", 1, 0}, {NULL, 0, 0}};

static const char *const help_serve =
    "usage: nudge serve [--listen HOST:PORT|none] [--demo] [--interval SECONDS]\n"
    "\n"
    "Serves the HTTP API (default 127.0.0.1:8080) and runs the scheduler and\n"
    "dispatcher until SIGTERM or SIGINT; then stops accepting requests, lets\n"
    "those in flight finish, finishes the batch in hand and exits.\n"
    "--demo first creates a demo clinic with patients and appointments if the\n"
    "database has no clinic. When no API key exists yet, an admin key for the\n"
    "first clinic is created and printed, once (on an empty database, with a\n"
    "clinic \"My clinic\" to hold it, whose settings PATCH /v1/clinic changes).\n";

static int first_clinic(void *x, const nudge_clinic *cl)
{
    *(int64_t *)x = cl->id;
    return 1;
}

/* The first admin key, so a fresh install can be used over HTTP at once. */
static int bootstrap_key(ctx *c)
{
    int64_t keys = 0, clinic = 0;
    nudge_err e = {0};
    if (nudge_key_count(c->n, &keys, &e) < 0 ||
        nudge_clinic_list(c->n, 0, 1, first_clinic, &clinic, &e) < 0)
        return fail(c->cmd, &e);
    if (keys)
        return 0;
    if (!clinic) {
        /* An empty database: a clinic to hold the key, whose settings the
         * admin then sets with PATCH /v1/clinic (or nudge clinic ...). */
        nudge_clinic cl;
        nudge_clinic_defaults(&cl);
        strcpy(cl.name, "My clinic");
        strcpy(cl.timezone, "UTC");
        strcpy(cl.country, "US");
        if (nudge_clinic_add(c->n, &cl, &e) < 0)
            return fail(c->cmd, &e);
        clinic = cl.id;
        fprintf(stderr, "nudge: empty database: created clinic %lld \"My clinic\" (UTC, US); set "
                        "its name, time zone and country with PATCH /v1/clinic\n",
                (long long)clinic);
    }
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    if (nudge_key_create(c->n, clinic, NUDGE_ROLE_ADMIN, "first admin key", &k, secret, &e) < 0)
        return fail(c->cmd, &e);
    fprintf(stderr, "nudge: created the first admin key for clinic %lld; it is shown only now:\n",
            (long long)clinic);
    printf("%s\n", secret);
    fflush(stdout);
    memset(secret, 0, sizeof secret);
    return 0;
}

static int cmd_serve(ctx *c)
{
    int rc, interval = 5;
    const char *v;
    if ((v = arg_get(&c->a, "interval")) &&
        (rc = parse_int(c->cmd, "--interval", v, 1, 3600, &interval)))
        return rc;
    if ((rc = open_nudge(c)))
        return rc;
    nudge_err e = {0};
    if (arg_get(&c->a, "demo")) {
        int64_t clinic;
        if (demo_seed(c->n, nudge_now(c->n), &clinic, &e) < 0)
            return fail(c->cmd, &e);
        if (clinic)
            fprintf(stderr, "nudge: created demo clinic %lld\n", (long long)clinic);
    }
    if ((rc = bootstrap_key(c)))
        return rc;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    nudge_on_sent(c->n, log_sent, NULL);
    nudge_set_stop(c->n, &stopping);
    const char *listen = arg_get(&c->a, "listen") ? arg_get(&c->a, "listen") : "127.0.0.1:8080";
    http_server *api = NULL;
    if (strcmp(listen, "none")) {
        http_config hc = {.listen = listen, .nudge = c->cfg, .access_log = 1};
        if (http_start(&hc, &api, &e) < 0)
            return fail(c->cmd, &e);
        fprintf(stderr, "nudge: API on http://%.*s:%d\n", (int)(strrchr(listen, ':') - listen),
                listen, http_port(api));
    }
    fprintf(stderr, "nudge: serving %s (outbox %s); stop with SIGTERM\n", c->cfg.db,
            c->cfg.outbox_dir ? c->cfg.outbox_dir : "outbox");
    while (!stopping) {
        nudge_tick_stats st;
        if (nudge_tick(c->n, &st, &e) < 0)
            fprintf(stderr, "nudge: tick failed: %s\n", e.msg);
        /* Sleeping is not reading time: the clock interface stays the only
         * source of "now"; a signal cuts the sleep short. */
        struct timespec ts = {interval, 0};
        while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    http_stop(api);
    fprintf(stderr, "nudge: stopped\n");
    return 0;
}

static const opt demo_opts[] = {{"days", 1, 0}, {NULL, 0, 0}};

static const char *const help_demo =
    "usage: nudge demo [--days N]\n"
    "\n"
    "Creates a demo clinic, patients and appointments in a scratch database and\n"
    "replays N days (default 3) on a simulated clock, printing every message\n"
    "as it is sent. Touches nothing outside a temporary folder.\n";

static int cmd_demo(ctx *c)
{
    int days = 3, rc;
    const char *v;
    if ((v = arg_get(&c->a, "days")) && (rc = parse_int(c->cmd, "--days", v, 1, 30, &days)))
        return rc;
    nudge_err e = {0};
    if (demo_replay(stdout, days, &e) < 0)
        return fail(c->cmd, &e);
    return 0;
}

static const char *const help_migrate =
    "usage: nudge migrate\n\nApplies the database migrations not yet applied (also done at "
    "every start).\n";

static int cmd_migrate(ctx *c)
{
    int rc;
    if ((rc = open_nudge(c)))
        return rc;
    printf("schema up to date\n");
    return 0;
}

/* ---- command table ---- */

typedef struct command {
    const char *group, *verb; /* verb NULL: a one-word command */
    int (*fn)(ctx *);
    const opt *opts;
    const char *const *help;
    int takes_id; /* one positional argument: the id (or template name) */
} command;

static const command commands[] = {
    {"migrate", NULL, cmd_migrate, NULL, &help_migrate, 0},
    {"clinic", "add", cmd_clinic_add, clinic_add_opts, &help_clinic, 0},
    {"clinic", "list", cmd_clinic_list, NULL, &help_clinic, 0},
    {"patient", "add", cmd_patient_add, patient_add_opts, &help_patient, 0},
    {"patient", "list", cmd_patient_list, list_opts, &help_patient, 0},
    {"patient", "show", cmd_patient_show, NULL, &help_patient, 1},
    {"appointment", "add", cmd_appt_add, appt_add_opts, &help_appointment, 0},
    {"appointment", "list", cmd_appt_list, list_opts, &help_appointment, 0},
    {"appointment", "show", cmd_appt_show, NULL, &help_appointment, 1},
    {"appointment", "confirm", cmd_appt_change, NULL, &help_appointment, 1},
    {"appointment", "cancel", cmd_appt_change, NULL, &help_appointment, 1},
    {"appointment", "complete", cmd_appt_change, NULL, &help_appointment, 1},
    {"appointment", "no-show", cmd_appt_change, NULL, &help_appointment, 1},
    {"appointment", "reschedule", cmd_appt_change, appt_resched_opts, &help_appointment, 1},
    {"template", "list", cmd_tmpl_list, tmpl_opts, &help_template, 0},
    {"template", "show", cmd_tmpl_show, tmpl_opts, &help_template, 1},
    {"template", "render", cmd_tmpl_render, tmpl_opts, &help_template, 1},
    {"template", "put", cmd_tmpl_put, tmpl_put_opts, &help_template, 0},
    {"template", "map-whatsapp", cmd_tmpl_map, map_opts, &help_map, 0},
    {"template", "map-msg91", cmd_tmpl_map, map_opts, &help_map, 0},
    {"send", NULL, cmd_send, send_opts, &help_send, 0},
    {"queue", "status", cmd_queue_status, list_opts, &help_queue, 0},
    {"queue", "list", cmd_queue_list, list_opts, &help_queue, 0},
    {"queue", "show", cmd_queue_one, NULL, &help_queue, 1},
    {"queue", "retry", cmd_queue_one, NULL, &help_queue, 1},
    {"queue", "cancel", cmd_queue_one, NULL, &help_queue, 1},
    {"key", "create", cmd_key_create, key_create_opts, &help_key, 0},
    {"key", "list", cmd_key_list, list_opts, &help_key, 0},
    {"key", "revoke", cmd_key_revoke, NULL, &help_key, 1},
    {"tick", NULL, cmd_tick, NULL, &help_tick, 0},
    {"serve", NULL, cmd_serve, serve_opts, &help_serve, 0},
    {"demo", NULL, cmd_demo, demo_opts, &help_demo, 0},
};

int main(int argc, char **argv)
{
    /* Global options may come before the command: skip them to find it. */
    int i = 1;
    if (i < argc && !strcmp(argv[i], "-h")) {
        fputs(help_main, stdout);
        return 0;
    }
    while (i < argc && !strncmp(argv[i], "--", 2)) {
        if (!strcmp(argv[i], "--help")) {
            fputs(help_main, stdout);
            return 0;
        }
        const char *name = argv[i] + 2;
        const opt *o = opt_find(global_opts, name);
        if (!o && strchr(name, '=')) {
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", (int)(strchr(name, '=') - name), name);
            o = opt_find(global_opts, nm);
            if (o) {
                i++;
                continue;
            }
        }
        if (!o) {
            fprintf(stderr, "nudge: unknown option %s (see nudge --help)\n", argv[i]);
            return EXIT_USAGE;
        }
        i += o->has_value ? 2 : 1;
    }
    if (i >= argc) {
        fputs(help_main, stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[i], "help")) {
        fputs(help_main, stdout);
        return 0;
    }
    const char *group = argv[i];
    const char *verb = i + 1 < argc ? argv[i + 1] : NULL;
    int known_group = 0;
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++) {
        const command *cm = &commands[k];
        if (strcmp(cm->group, group))
            continue;
        known_group = 1;
        if (cm->verb && (!verb || strcmp(cm->verb, verb)))
            continue;
        ctx c = {0};
        char name[64];
        snprintf(name, sizeof name, "%s%s%s", group, cm->verb ? " " : "", cm->verb ? cm->verb : "");
        c.cmd = name;
        /* Global options before the command count too. */
        char **rest = malloc(sizeof(char *) * (size_t)argc);
        int nrest = 0;
        for (int j = 1; j < i; j++)
            rest[nrest++] = argv[j];
        for (int j = i + (cm->verb ? 2 : 1); j < argc; j++)
            rest[nrest++] = argv[j];
        int rc = args_parse(nrest, rest, cm->opts, name, &c.a);
        free(rest);
        if (rc < 0)
            return EXIT_USAGE;
        if (c.a.help) {
            fputs(*cm->help, stdout);
            return 0;
        }
        if (c.a.npos > cm->takes_id)
            return usage_error(name, "unexpected argument \"%s\"", c.a.pos[cm->takes_id]);
        rc = cm->fn(&c);
        nudge_close(c.n);
        return rc;
    }
    if (known_group) {
        if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h"))) {
            for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
                if (!strcmp(commands[k].group, group)) {
                    fputs(*commands[k].help, stdout);
                    return 0;
                }
        }
        fprintf(stderr, "nudge %s: unknown or missing subcommand%s%s (see nudge %s --help)\n",
                group, verb ? " " : "", verb ? verb : "", group);
        return EXIT_USAGE;
    }
    fprintf(stderr, "nudge: unknown command \"%s\" (see nudge --help)\n", group);
    return EXIT_USAGE;
}
