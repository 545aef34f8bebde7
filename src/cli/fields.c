/*
 * cli/fields.c: the options of the commands that make a record (`clinic
 * add`, `patient add`, `appointment add`, `template put`, `key create`),
 * made from the record's table in nudge.h as the API's codec makes its JSON
 * from it: every field a client may set on create is an option (its name
 * with '-' for '_', or the table's cli name), parsed by its type, checked
 * against its size and its names, required when the table says so, and
 * described in --help by the table's help line. A field added to a table is
 * an option here without a change to the CLI. Whether a value makes sense
 * (a phone number, a zone) stays the library's call.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The records a command can make, by the name its spec gives ("@patient"). */
static const struct {
    const char *name;
    const nudge_field *fields;
} cli_records[] = {
    {"clinic", nudge_clinic_fields},
    {"patient", nudge_patient_fields},
    {"appointment", nudge_appointment_fields},
    {"template", nudge_template_fields},
    {"key", nudge_key_fields},
    {"prescription", nudge_prescription_fields},
};

const nudge_field *cli_record_of(const cli_command *cm)
{
    const char *at = cm->opts ? strchr(cm->opts, '@') : NULL;
    if (!at)
        return NULL;
    size_t n = strcspn(at + 1, " ");
    for (size_t i = 0; i < sizeof cli_records / sizeof *cli_records; i++)
        if (strlen(cli_records[i].name) == n && !strncmp(at + 1, cli_records[i].name, n))
            return cli_records[i].fields;
    return NULL;
}

/* A field a client sets on create: the ones that are options. */
static int cli_field_settable(const nudge_field *f)
{
    return (f->flags & NUDGE_F_CREATE) && !(f->flags & (NUDGE_F_RO | NUDGE_F_HIDDEN));
}

const char *cli_field_opt(const nudge_field *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s", f->cli ? f->cli : f->name);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
    return buf;
}

const nudge_field *cli_field_by_opt(const nudge_field *fs, const char *name)
{
    char opt[64];
    for (const nudge_field *f = fs; f && f->name; f++)
        if (cli_field_settable(f) && !strcmp(cli_field_opt(f, opt, sizeof opt), name))
            return f;
    return NULL;
}

/* "--opt must be a, b or c (got "v")": exit 2. */
static int cli_field_bad_name(const cli_ctx *c, const char *opt, const char *const *names,
                              const char *v)
{
    char list[256];
    nudge_names_join(names, 0, ", ", " or ", list, sizeof list);
    char q[128];
    fprintf(stderr, "nudge %s: --%s must be %s (got \"%s\")\n", c->cmd, opt, list,
            cli_got(q, sizeof q, v));
    return CLI_EXIT_USAGE;
}

/* "HH:MM-HH:MM" or "none" into int q[2]. */
static int cli_field_quiet(const char *v, int *q)
{
    char s[6], e[6];
    const char *dash = strchr(v, '-');
    if (!strcmp(v, "none")) {
        q[0] = q[1] = 0;
        return 0;
    }
    if (!dash || dash - v != 5 || strlen(dash + 1) != 5)
        return -1;
    memcpy(s, v, 5);
    s[5] = 0;
    memcpy(e, dash + 1, 6);
    return nudge_time_parse_hhmm(s, &q[0]) < 0 || nudge_time_parse_hhmm(e, &q[1]) < 0 ? -1 : 0;
}

/* A comma-separated list of opt-out names into bits. */
static int cli_field_optouts(const cli_ctx *c, const char *opt, const char *v, unsigned *bits)
{
    *bits = 0;
    for (const char *p = v; *p;) {
        size_t w = strcspn(p, ",");
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)w, p);
        unsigned bit = w < sizeof name ? nudge_optout_parse(name) : 0;
        if (!bit)
            return cli_field_bad_name(c, opt, nudge_optout_names, name);
        *bits |= bit;
        p += w + (p[w] == ',');
    }
    return 0;
}

/* One option's value v into field f at p: 0, or an exit code. */
static int cli_field_in(const cli_ctx *c, const nudge_field *f, const char *opt, const char *v,
                        const char *tz, char *p)
{
    char dashed[72];
    snprintf(dashed, sizeof dashed, "--%s", opt);
    nudge_err e = {0};
    int rc;
    switch (f->type) {
    case NUDGE_T_TEXT:
    case NUDGE_T_TAGS: {
        size_t len = strlen(v);
        if (len >= f->size) {
            e.code = NUDGE_EINVAL;
            snprintf(e.field, sizeof e.field, "%s", f->name);
            snprintf(e.msg, sizeof e.msg, "%s is too long (at most %zu bytes)", dashed,
                     f->size - 1);
            return cli_fail(c->cmd, &e);
        }
        if (f->names && (len || !(f->flags & NUDGE_F_NULLABLE)) &&
            nudge_names_find(f->names, v) < 0)
            return cli_field_bad_name(c, opt, f->names, v);
        memcpy(p, v, len + 1);
        return 0;
    }
    case NUDGE_T_STR: /* borrowed from argv, which outlives the command */
        memcpy(p, &v, sizeof v);
        return 0;
    case NUDGE_T_ID: {
        int64_t id;
        if ((rc = cli_parse_id(c->cmd, dashed, v, &id)))
            return rc;
        memcpy(p, &id, sizeof id);
        return 0;
    }
    case NUDGE_T_INT:
    case NUDGE_T_INT64: {
        /* The library judges the value; here only that it is a number of
         * the field's C type, so 2^32 + 20 cannot wrap to 20. */
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end ||
            (f->type == NUDGE_T_INT && (x < INT_MIN || x > INT_MAX))) {
            char q[128];
            fprintf(stderr, "nudge %s: %s must be a whole number (got \"%s\")\n", c->cmd, dashed,
                    cli_got(q, sizeof q, v));
            return CLI_EXIT_USAGE;
        }
        if (f->type == NUDGE_T_INT) {
            int n = (int)x;
            memcpy(p, &n, sizeof n);
        } else {
            int64_t n = x;
            memcpy(p, &n, sizeof n);
        }
        return 0;
    }
    case NUDGE_T_BOOL: {
        static const char *const onoff[] = {"on", "off", NULL};
        int k = nudge_names_find(onoff, v);
        if (k < 0)
            return cli_field_bad_name(c, opt, onoff, v);
        k = k == 0;
        memcpy(p, &k, sizeof k);
        return 0;
    }
    case NUDGE_T_ENUM: {
        int k = nudge_names_find(f->names, v);
        if (k < 0)
            return cli_field_bad_name(c, opt, f->names, v);
        k += f->base;
        memcpy(p, &k, sizeof k);
        return 0;
    }
    case NUDGE_T_TIME: {
        int64_t t;
        if (nudge_time_parse(v, tz, &t, opt, &e) < 0)
            return cli_fail(c->cmd, &e);
        memcpy(p, &t, sizeof t);
        return 0;
    }
    case NUDGE_T_HHMM: {
        int m;
        if (nudge_time_parse_hhmm(v, &m) < 0)
            return cli_usage(c->cmd, "%s must be HH:MM", dashed);
        memcpy(p, &m, sizeof m);
        return 0;
    }
    case NUDGE_T_QUIET: {
        int q[2];
        if (cli_field_quiet(v, q) < 0)
            return cli_usage(c->cmd, "%s must be HH:MM-HH:MM or none", dashed);
        memcpy(p, q, sizeof q);
        return 0;
    }
    case NUDGE_T_OFFSETS: {
        int offs[NUDGE_MAX_OFFSETS] = {0}, n = 0;
        if (nudge_clinic_parse_offsets(v, offs, &n, &e) < 0)
            return cli_fail(c->cmd, &e);
        memcpy(p, offs, sizeof offs);
        memcpy(p + f->size - sizeof n, &n, sizeof n);
        return 0;
    }
    case NUDGE_T_OPTOUTS: {
        unsigned bits;
        if ((rc = cli_field_optouts(c, opt, v, &bits)))
            return rc;
        memcpy(p, &bits, sizeof bits);
        return 0;
    }
    default: return cli_usage(c->cmd, "%s cannot be set", dashed); /* SOURCE: read-only */
    }
}

int cli_fields_in(const cli_ctx *c, void *record, const char *tz)
{
    const nudge_field *fs = cli_record_of(c->cm);
    char opt[64];
    if (!tz)
        for (const nudge_field *f = fs; f && f->name; f++)
            if (cli_field_settable(f) && (f->flags & NUDGE_F_REQUIRED) &&
                !cli_arg(&c->a, cli_field_opt(f, opt, sizeof opt))) {
                char dashed[72];
                snprintf(dashed, sizeof dashed, "--%s", opt);
                return cli_usage(c->cmd, "%s is required", dashed);
            }
    for (const nudge_field *f = fs; f && f->name; f++) {
        if (!cli_field_settable(f) || (f->type == NUDGE_T_TIME) != (tz != NULL))
            continue;
        const char *v = cli_arg(&c->a, cli_field_opt(f, opt, sizeof opt));
        int rc;
        if (v && (rc = cli_field_in(c, f, opt, v, tz, (char *)record + f->offset)))
            return rc;
    }
    return 0;
}

int cli_fail_fields(const cli_ctx *c, const nudge_err *e)
{
    char opt[64];
    for (const nudge_field *f = cli_record_of(c->cm); e->field[0] && f && f->name; f++) {
        if (!cli_field_settable(f))
            continue;
        cli_field_opt(f, opt, sizeof opt);
        if (strcmp(e->field, f->name) && (!f->column || strcmp(e->field, f->column)) &&
            strcmp(e->field, opt))
            continue;
        fprintf(stderr, "nudge %s: %s (field: %s, option --%s)\n", c->cmd, e->msg, e->field, opt);
        return cli_exit_code(e);
    }
    return cli_fail(c->cmd, e);
}

/* What an option's value looks like, from its type. */
static const char *cli_field_metavar(const nudge_field *f, char *buf, size_t n)
{
    if (f->names && f->type != NUDGE_T_OPTOUTS) {
        nudge_names_join(f->names, 0, "|", NULL, buf, n);
        return buf;
    }
    switch (f->type) {
    case NUDGE_T_ID: return "ID";
    case NUDGE_T_INT:
    case NUDGE_T_INT64: return "N";
    case NUDGE_T_BOOL: return "on|off";
    case NUDGE_T_TIME: return "TIME";
    case NUDGE_T_HHMM: return "HH:MM";
    case NUDGE_T_QUIET: return "HH:MM-HH:MM|none";
    case NUDGE_T_OFFSETS: return "MIN,MIN";
    case NUDGE_T_TAGS: return "A,B";
    case NUDGE_T_OPTOUTS: return "NAME,NAME";
    default: return "TEXT";
    }
}

void cli_fields_help(const cli_command *cm, FILE *out)
{
    char opt[64], mv[128], left[200], list[160];
    fprintf(out, "\noptions of nudge %s %s (* required):\n", cm->group, cm->verb);
    for (const nudge_field *f = cli_record_of(cm); f && f->name; f++) {
        if (!cli_field_settable(f))
            continue;
        snprintf(left, sizeof left, "--%s %s%s", cli_field_opt(f, opt, sizeof opt),
                 cli_field_metavar(f, mv, sizeof mv), f->flags & NUDGE_F_REQUIRED ? " *" : "");
        if (strlen(left) > 28)
            fprintf(out, "  %s\n  %-28s ", left, "");
        else
            fprintf(out, "  %-28s ", left);
        fputs(f->help, out);
        if (f->type == NUDGE_T_OPTOUTS) {
            nudge_names_join(f->names, 0, ",", NULL, list, sizeof list);
            fprintf(out, ": %s", list);
        }
        fputc('\n', out);
    }
}
