/*
 * settings.c: the one table of nudge's settings and what walks it. Each
 * row names a field of nudge_config once: its flag, environment variable,
 * type, default, whether it is a secret and whether a change needs a
 * restart, a line of help, and where the field lives (offsetof). Loading
 * (flags, environment, NAME_FILE for secrets, defaults), validation,
 * `nudge config show` and the documentation in the man page and README are
 * all generated from it, so a new setting is one row here and one field in
 * nudge_config. The defaults live only here: nudge_open applies them too.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nudge.h"
#include "util.h"

#define SECRET NUDGE_SETTING_SECRET
#define RESTART NUDGE_SETTING_RESTART
#define AT(field) offsetof(nudge_config, field)

/* clang-format off */
const nudge_setting nudge_settings[] = {
    {"db", "db", "NUDGE_DB", NUDGE_SET_PATH, "nudge.db", RESTART,
     "The store: a SQLite file (`PATH` or `sqlite:PATH`; every commit is synced to disk "
     "before it is acknowledged; `PATH?synchronous=normal` is faster and may lose the last "
     "commits on power loss) or `postgres://...`.", AT(db), 0, 0},
    {"outbox", "outbox", "NUDGE_OUTBOX", NUDGE_SET_PATH, "outbox", RESTART,
     "Folder of the outbox channel, which takes every message no provider is configured for.",
     AT(outbox_dir), 0, 0},
    {"smtp_url", "smtp-url", "NUDGE_SMTP_URL", NUDGE_SET_URL, NULL, RESTART,
     "Send email by SMTP (smtp://host:587, smtps://host:465); unset: email goes to the outbox.",
     AT(smtp_url), 0, 0},
    {"smtp_from", "smtp-from", "NUDGE_SMTP_FROM", NUDGE_SET_TEXT, NULL, RESTART,
     "Envelope and header From address of email.", AT(smtp_from), 0, 0},
    {"smtp_user", "smtp-user", "NUDGE_SMTP_USER", NUDGE_SET_TEXT, NULL, RESTART,
     "SMTP login; AUTH is used when it is set.", AT(smtp_user), 0, 0},
    {"smtp_password", NULL, "NUDGE_SMTP_PASSWORD", NUDGE_SET_TEXT, NULL, SECRET | RESTART,
     "SMTP password.", AT(smtp_password), 0, 0},
    {"smtp_starttls", "smtp-starttls", "NUDGE_SMTP_STARTTLS", NUDGE_SET_BOOL, "off", RESTART,
     "Require STARTTLS on smtp:// URLs.", AT(smtp_starttls), 0, 0},
    {"smtp_insecure", "smtp-insecure", "NUDGE_SMTP_INSECURE", NUDGE_SET_BOOL, "off", RESTART,
     "Skip the SMTP server's certificate checks (tests only).", AT(smtp_insecure), 0, 0},
    {"twilio_base_url", NULL, "NUDGE_TWILIO_BASE_URL", NUDGE_SET_URL, "https://api.twilio.com",
     RESTART, "Twilio's API; tests point it at a local fake.", AT(twilio_base_url), 0, 0},
    {"twilio_account_sid", NULL, "NUDGE_TWILIO_ACCOUNT_SID", NUDGE_SET_TEXT, NULL, RESTART,
     "Twilio account (AC...); when set, SMS goes through Twilio.", AT(twilio_account_sid), 0, 0},
    {"twilio_auth_token", NULL, "NUDGE_TWILIO_AUTH_TOKEN", NUDGE_SET_TEXT, NULL, SECRET | RESTART,
     "Twilio auth token; also checks the signatures of Twilio's webhooks.",
     AT(twilio_auth_token), 0, 0},
    {"twilio_from", NULL, "NUDGE_TWILIO_FROM", NUDGE_SET_TEXT, NULL, RESTART,
     "Default SMS sender (E.164), unless a Messaging Service is given.", AT(twilio_from), 0, 0},
    {"twilio_messaging_service_sid", NULL, "NUDGE_TWILIO_MESSAGING_SERVICE_SID", NUDGE_SET_TEXT,
     NULL, RESTART, "Default Twilio Messaging Service (MG...).",
     AT(twilio_messaging_service_sid), 0, 0},
    {"whatsapp_base_url", NULL, "NUDGE_WHATSAPP_BASE_URL", NUDGE_SET_URL,
     "https://graph.facebook.com", RESTART,
     "WhatsApp Cloud API; tests point it at a local fake.", AT(whatsapp_base_url), 0, 0},
    {"whatsapp_version", NULL, "NUDGE_WHATSAPP_VERSION", NUDGE_SET_TEXT, "v23.0", RESTART,
     "Graph API version in WhatsApp request paths.", AT(whatsapp_version), 0, 0},
    {"whatsapp_phone_number_id", NULL, "NUDGE_WHATSAPP_PHONE_NUMBER_ID", NUDGE_SET_TEXT, NULL,
     RESTART, "WhatsApp Business phone number id; when set, WhatsApp goes through the Cloud API.",
     AT(whatsapp_phone_number_id), 0, 0},
    {"whatsapp_token", NULL, "NUDGE_WHATSAPP_TOKEN", NUDGE_SET_TEXT, NULL, SECRET | RESTART,
     "WhatsApp Cloud API access token.", AT(whatsapp_token), 0, 0},
    {"whatsapp_app_secret", NULL, "NUDGE_WHATSAPP_APP_SECRET", NUDGE_SET_TEXT, NULL,
     SECRET | RESTART, "Meta app secret: checks X-Hub-Signature-256 of WhatsApp webhooks.",
     AT(whatsapp_app_secret), 0, 0},
    {"whatsapp_verify_token", NULL, "NUDGE_WHATSAPP_VERIFY_TOKEN", NUDGE_SET_TEXT, NULL,
     SECRET | RESTART, "Answer to Meta's webhook subscription handshake.",
     AT(whatsapp_verify_token), 0, 0},
    {"msg91_base_url", NULL, "NUDGE_MSG91_BASE_URL", NUDGE_SET_URL, "https://control.msg91.com",
     RESTART, "MSG91's API; tests point it at a local fake.", AT(msg91_base_url), 0, 0},
    {"msg91_authkey", NULL, "NUDGE_MSG91_AUTHKEY", NUDGE_SET_TEXT, NULL, SECRET | RESTART,
     "MSG91 authkey; when set, SMS goes through MSG91's DLT templates instead of Twilio.",
     AT(msg91_authkey), 0, 0},
    {"msg91_webhook_secret", NULL, "NUDGE_MSG91_WEBHOOK_SECRET", NUDGE_SET_TEXT, NULL,
     SECRET | RESTART, "Shared secret MSG91's delivery reports carry.", AT(msg91_webhook_secret),
     0, 0},
    {"public_url", "public-url", "NUDGE_PUBLIC_URL", NUDGE_SET_URL, NULL, RESTART,
     "Where providers reach this server: status callbacks go to it and webhook signatures are "
     "checked over it.", AT(public_url), 0, 0},
    {"lease_seconds", NULL, "NUDGE_LEASE_SECONDS", NUDGE_SET_INT, "300", 0,
     "How long a worker holds a message it is sending before another may take it back.",
     AT(lease_seconds), 1, 86400},
    {"batch_size", NULL, "NUDGE_BATCH_SIZE", NUDGE_SET_INT, "100", 0,
     "Messages claimed at once by a dispatcher pass.", AT(batch_size), 1, 10000},
    {"max_in_flight", NULL, "NUDGE_MAX_IN_FLIGHT", NUDGE_SET_INT, "32", 0,
     "Sends in flight together on the libcurl multi handle.", AT(max_in_flight), 1, 1024},
    {"http_max_connections", NULL, "NUDGE_HTTP_MAX_CONNECTIONS", NUDGE_SET_INT, "1024", RESTART,
     "API connections open at once; past it the stalest one not being answered is closed to make "
     "room, so a flood of slow clients cannot lock others out.", AT(http_max_connections), 16,
     100000},
    {"http_max_per_client", NULL, "NUDGE_HTTP_MAX_PER_CLIENT", NUDGE_SET_INT, "64", RESTART,
     "API connections open at once from one client address (raise it behind a reverse proxy, "
     "where every client has the proxy's address).", AT(http_max_per_client), 1, 100000},
    {"http_idle_timeout", NULL, "NUDGE_HTTP_IDLE_TIMEOUT", NUDGE_SET_INT, "15", RESTART,
     "Seconds an API connection may stay silent between requests (keep-alive) or while an answer "
     "waits to be read.", AT(http_idle_timeout), 1, 3600},
    {"http_head_timeout", NULL, "NUDGE_HTTP_HEAD_TIMEOUT", NUDGE_SET_INT, "10", RESTART,
     "Seconds from a request's first byte to the end of its headers, however the bytes trickle "
     "in; later: 408. Its request line gets 2 seconds (400).", AT(http_head_timeout), 1, 600},
    {"http_body_timeout", NULL, "NUDGE_HTTP_BODY_TIMEOUT", NUDGE_SET_INT, "30", RESTART,
     "Seconds from the end of a request's headers to the end of its body; later: 408.",
     AT(http_body_timeout), 1, 3600},
    {"backup_dir", "backup-dir", "NUDGE_BACKUP_DIR", NUDGE_SET_PATH, "backups", 0,
     "Folder nudge backup (and the backup task) writes SQLite backups into.", AT(backup_dir), 0,
     0},
    {"backup_keep", NULL, "NUDGE_BACKUP_KEEP", NUDGE_SET_INT, "7", 0,
     "Backups kept in the folder; older ones are removed after each backup.", AT(backup_keep), 1,
     10000},
    {"backup_key", NULL, "NUDGE_BACKUP_KEY", NUDGE_SET_TEXT, NULL, SECRET,
     "Key of encrypted backups (AES-256-GCM): 64 hex digits, e.g. from `openssl rand -hex 32`.",
     AT(backup_key), 0, 0},
    {"unsubscribe_secret", NULL, "NUDGE_UNSUBSCRIBE_SECRET", NUDGE_SET_TEXT, NULL,
     SECRET | RESTART,
     "Signs the one-click unsubscribe links of promotional emails (with public_url); without it "
     "promotional emails are not sent.", AT(unsubscribe_secret), 0, 0},
    {"http_threads", NULL, "NUDGE_HTTP_THREADS", NUDGE_SET_INT, "0", RESTART,
     "Threads answering the API (each with its own database connection); 0: two per CPU, at "
     "least 16, as a write's handler waits for its group's commit and a group holds one write "
     "per waiting thread.", AT(http_threads), 0, 256},
};
/* clang-format on */
const int nudge_n_settings = (int)(sizeof nudge_settings / sizeof *nudge_settings);
_Static_assert(sizeof nudge_settings / sizeof *nudge_settings <= NUDGE_MAX_SETTINGS,
               "nudge_config_loaded holds NUDGE_MAX_SETTINGS settings");

const char *const nudge_setting_source_names[] = {"default", "environment", "file", "flag"};

const nudge_setting *nudge_setting_find(const char *name)
{
    for (int i = 0; i < nudge_n_settings; i++)
        if (!strcmp(nudge_settings[i].name, name))
            return &nudge_settings[i];
    return NULL;
}

static const char **set_text(const nudge_setting *s, nudge_config *cfg)
{
    return (const char **)((char *)cfg + s->offset);
}

static int *set_int(const nudge_setting *s, nudge_config *cfg)
{
    return (int *)((char *)cfg + s->offset);
}

static int set_is_number(const nudge_setting *s)
{
    return s->type == NUDGE_SET_BOOL || s->type == NUDGE_SET_INT;
}

/* Text to the setting's type; `from` says where it came from, for the
 * error. Numbers are stored, text only checked: the caller stores it. */
static int set_parse(const nudge_setting *s, const char *v, const char *from, nudge_config *cfg,
                     nudge_err *err)
{
    static const char *const on[] = {"1", "on", "true", "yes"}, *const off[] = {"0", "off",
                                                                                "false", "no"};
    switch (s->type) {
    case NUDGE_SET_TEXT: return 0;
    case NUDGE_SET_PATH:
        if (!*v)
            return err_set(err, NUDGE_EINVAL, s->name, "%s: %s must not be empty", s->name, from);
        return 0;
    case NUDGE_SET_URL: {
        size_t scheme = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
        if (*v && (!scheme || strncmp(v + scheme, "://", 3) || !v[scheme + 3]))
            return err_set(err, NUDGE_EINVAL, s->name,
                           "%s: %s must be a URL such as https://host (got \"%.80s\")", s->name,
                           from, v);
        return 0;
    }
    case NUDGE_SET_BOOL:
        for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
            if (!strcasecmp(v, on[i]))
                return *set_int(s, cfg) = 1, 0;
            if (!strcasecmp(v, off[i]))
                return *set_int(s, cfg) = 0, 0;
        }
        return err_set(err, NUDGE_EINVAL, s->name, "%s: %s must be on or off (got \"%.80s\")",
                       s->name, from, v);
    case NUDGE_SET_INT: {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < s->min || x > s->max)
            return err_set(err, NUDGE_EINVAL, s->name,
                           "%s: %s must be a whole number from %d to %d (got \"%.80s\")", s->name,
                           from, s->min, s->max, v);
        *set_int(s, cfg) = (int)x;
        return 0;
    }
    }
    return err_set(err, NUDGE_EINVAL, s->name, "%s: unknown type", s->name);
}

/* The first line of a secret's file, without its line end. */
static int set_read_file(const nudge_setting *s, const char *var, const char *path, char **out,
                         nudge_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, NUDGE_EINVAL, s->name, "%s: cannot read %s %.200s: %s", s->name, var,
                       path, strerror(errno));
    sbuf b = {0};
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n' && b.len < 65536) {
        char ch = (char)c;
        sbuf_add(&b, &ch, 1);
    }
    int bad = ferror(f) || (c != EOF && c != '\n');
    fclose(f);
    if (bad) {
        str_free_secret(sbuf_take(&b));
        return err_set(err, NUDGE_EINVAL, s->name, "%s: cannot read %s %.200s (or its first line "
                       "is over 64 KiB)", s->name, var, path);
    }
    if (b.len && b.data[b.len - 1] == '\r')
        b.data[--b.len] = 0;
    *out = b.data ? sbuf_take(&b) : str_dup("");
    return 0;
}

static const char *set_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* One setting: flag, else NAME / NAME_FILE, else the default. */
static int set_load(int i, nudge_config *cfg, nudge_config_loaded *ld, nudge_lookup_fn flag,
                    nudge_lookup_fn env, void *ctx, nudge_err *err)
{
    const nudge_setting *s = &nudge_settings[i];
    char from[128], file_var[80];
    snprintf(file_var, sizeof file_var, "%s_FILE", s->env);
    const char *v = NULL;
    if (s->flag && flag && (v = flag(ctx, s->flag))) {
        ld->source[i] = NUDGE_FROM_FLAG;
        snprintf(from, sizeof from, "--%s", s->flag);
    } else if ((v = env(ctx, s->env))) {
        ld->source[i] = NUDGE_FROM_ENV;
        snprintf(from, sizeof from, "%s", s->env);
        if ((s->flags & SECRET) && env(ctx, file_var))
            return err_set(err, NUDGE_EINVAL, s->name, "%s: %s and %s are both set: give one",
                           s->name, s->env, file_var);
    } else if ((s->flags & SECRET) && (v = env(ctx, file_var))) {
        ld->source[i] = NUDGE_FROM_FILE;
        snprintf(from, sizeof from, "the file named by %s", file_var);
        if (set_read_file(s, file_var, v, &ld->owned[i], err) < 0)
            return -1;
        v = ld->owned[i];
    } else {
        ld->source[i] = NUDGE_FROM_DEFAULT;
        snprintf(from, sizeof from, "the default");
        v = s->def;
    }
    if (!v) {
        if (set_is_number(s))
            *set_int(s, cfg) = 0;
        else
            *set_text(s, cfg) = NULL;
        return 0;
    }
    if (set_parse(s, v, from, cfg, err) < 0)
        return -1;
    if (!set_is_number(s))
        *set_text(s, cfg) = v;
    return 0;
}

int nudge_config_load(nudge_config *cfg, nudge_config_loaded *loaded, nudge_lookup_fn flag,
                      nudge_lookup_fn env, void *ctx, nudge_err *err)
{
    err_clear(err);
    memset(loaded, 0, sizeof *loaded);
    for (int i = 0; i < nudge_n_settings; i++)
        if (set_load(i, cfg, loaded, flag, env ? env : set_getenv, ctx, err) < 0) {
            nudge_config_loaded_free(loaded);
            return -1;
        }
    return 0;
}

void nudge_config_loaded_free(nudge_config_loaded *loaded)
{
    for (int i = 0; i < NUDGE_MAX_SETTINGS; i++) {
        str_free_secret(loaded->owned[i]);
        loaded->owned[i] = NULL;
    }
}

void nudge_config_defaults(nudge_config *cfg)
{
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        if (!s->def)
            continue;
        if (!set_is_number(s)) {
            if (!*set_text(s, cfg))
                *set_text(s, cfg) = s->def;
        } else if (*set_int(s, cfg) <= 0) {
            /* The table's defaults are checked by tests/test_settings.c. */
            set_parse(s, s->def, "the default", cfg, NULL);
        }
    }
}

/* A URL may carry a password (postgres://user:secret@host/db): it is
 * written as ******** so `config show` and logs never hold it. */
static void settings_mask_url(const char *v, char *buf, size_t n)
{
    const char *scheme = strstr(v, "://");
    const char *auth = scheme ? scheme + 3 : NULL;
    const char *at = auth ? strchr(auth, '@') : NULL;
    const char *slash = auth ? strchr(auth, '/') : NULL;
    const char *colon = auth ? strchr(auth, ':') : NULL;
    if (at && (!slash || at < slash) && colon && colon < at)
        snprintf(buf, n, "%.*s********%s", (int)(colon + 1 - v), v, at);
    else
        snprintf(buf, n, "%s", v);
}

void nudge_setting_format(const nudge_setting *s, const nudge_config *cfg, char *buf, size_t n)
{
    nudge_config *c = (nudge_config *)cfg; /* read only */
    if (s->type == NUDGE_SET_BOOL)
        snprintf(buf, n, "%s", *set_int(s, c) ? "on" : "off");
    else if (s->type == NUDGE_SET_INT)
        snprintf(buf, n, "%d", *set_int(s, c));
    else if (!*set_text(s, c))
        snprintf(buf, n, "-");
    else if (s->flags & SECRET)
        snprintf(buf, n, "%s", **set_text(s, c) ? "********" : "(empty)");
    else
        settings_mask_url(*set_text(s, c), buf, n);
}
