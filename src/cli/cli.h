/*
 * cli.h: what the files of the `nudge` command share. cli.c holds main(),
 * the command table built from each family's commands, argument parsing,
 * the global options (the settings that have a flag, and --now) and the
 * helpers every command uses; each other file is one resource family, as
 * src/http/ is. The CLI speaks only the public library (nudge.h): all logic
 * lives there, so the CLI, the HTTP API and embedders cannot disagree.
 *
 * Conventions a shell user expects: ids alone on stdout on creation (so
 * scripts can chain them), lists as tab-separated columns with a header,
 * errors on stderr, and exit codes 0 ok, 1 failure, 2 bad usage or input,
 * 3 not found, 4 not allowed in the current state.
 */
#ifndef NUDGE_CLI_H
#define NUDGE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "nudge.h"

#define CLI_EXIT_USAGE 2
#define CLI_EXIT_NOTFOUND 3
#define CLI_EXIT_CONFLICT 4

typedef struct cli_opt {
    const char *name; /* without "--" */
    int has_value;
    int repeat; /* may appear several times (--var) */
} cli_opt;

#define CLI_MAX_ARGS 64
typedef struct cli_args {
    const char *pos[CLI_MAX_ARGS]; /* positional words after the command */
    int npos;
    struct {
        const char *name, *value;
    } kv[CLI_MAX_ARGS];
    int nkv;
    int help;
} cli_args;

typedef struct cli_ctx {
    nudge *n;
    nudge_config cfg; /* as loaded: serve hands it to the API threads */
    nudge_config_loaded loaded; /* owns what cfg read from files */
    int cfg_loaded;
    nudge_clock clock;
    cli_args a;
    const char *cmd; /* "patient add": the prefix of every message */
} cli_ctx;

typedef struct cli_command {
    const char *group, *verb; /* verb NULL: a one-word command */
    int (*fn)(cli_ctx *);
    const cli_opt *opts;
    const char *const *help;
    int takes_id; /* one positional argument: the id (or template name) */
} cli_command;

/* Each family's commands, ended by an entry with a NULL group. */
extern const cli_command cli_clinic_commands[], cli_patient_commands[],
    cli_appointment_commands[], cli_template_commands[], cli_send_queue_commands[],
    cli_key_commands[], cli_run_commands[], cli_config_commands[];

/* Options shared by several families' list commands. */
extern const cli_opt cli_list_opts[];

/* ---- arguments (cli.c) ---- */
const char *cli_arg(const cli_args *a, const char *name); /* the last one given */
int cli_fail(const char *cmd, const nudge_err *e);      /* prints; the exit code */
int cli_usage(const char *cmd, const char *fmt, const char *what);
int cli_parse_id(const char *cmd, const char *what, const char *s, int64_t *out);
int cli_parse_int(const char *cmd, const char *what, const char *s, int lo, int hi, int *out);
/* Each of the options named, when given, copied into its field. */
typedef struct cli_text {
    const char *opt;   /* the option, without "--" */
    char *dst;
    size_t size;
    const char *field; /* as errors name it */
} cli_text;
int cli_set_texts(const cli_ctx *c, const cli_text *t, size_t n);
/* Every option named in `names` (NULL-ended) is required. */
int cli_require(const cli_ctx *c, const char *const *names);
/* --clinic, --after and --limit of the list commands. */
int cli_paging(cli_ctx *c, int64_t *clinic, int64_t *after, int *limit);
/* The one positional id of `show ID`-like commands, then the handle. */
int cli_one_id(cli_ctx *c, const char *what, int64_t *id);
/* Every --var key=value into vars; on error vars is freed. */
int cli_parse_vars(cli_ctx *c, nudge_vars *vars);

/* ---- the configuration and the handle (cli.c) ---- */
/* Loads the settings from the flags and the environment, once. */
int cli_config(cli_ctx *c);
int cli_open(cli_ctx *c);
int cli_is_global_opt(const char *name, int *has_value);

/* ---- printing (cli.c) ---- */
void cli_fmt_time(int64_t t, const char *tz, char *buf, size_t n); /* "-" for 0 */
const char *cli_clinic_tz(nudge *n, int64_t clinic_id, char *buf, size_t sz);
void cli_hhmm(int m, char *buf, size_t n);
const char *cli_or_dash(const char *s);
/* A time in the clinic's zone. */
int cli_time_in_clinic(cli_ctx *c, int64_t clinic_id, const char *s, int64_t *out);
/* Prints `header`, then runs the list call: rc of the call, or the exit code. */
int cli_list_done(cli_ctx *c, int rc, const nudge_err *e);

#endif
