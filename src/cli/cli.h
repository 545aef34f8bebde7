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
#include <stdio.h>

#include "nudge.h"

#define CLI_EXIT_USAGE 2
#define CLI_EXIT_NOTFOUND 3
#define CLI_EXIT_CONFLICT 4

#define CLI_MAX_ARGS 64
typedef struct cli_args {
    const char *pos[CLI_MAX_ARGS]; /* positional words after the command */
    int npos;
    struct {
        char name[40];
        const char *value;
    } kv[CLI_MAX_ARGS];
    int nkv;
    int help;
} cli_args;

typedef struct cli_command cli_command;
typedef struct cli_ctx {
    nudge *n;
    nudge_config cfg; /* as loaded: serve hands it to the API threads */
    nudge_config_loaded loaded; /* owns what cfg read from files */
    int cfg_loaded;
    nudge_clock clock;
    cli_args a;
    const char *cmd; /* "patient add": the prefix of every message */
    const cli_command *cm;
} cli_ctx;

/* A library call on one record by id (confirm, cancel, revoke...). */
typedef int (*cli_id_fn)(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);

/* One row of the command table (cli.c). Options are a spec such as
 * "clinic= name= var=* demo": "=" takes a value, "=*" may repeat, a bare
 * name is a switch, and "@patient" names the record the command makes: an
 * option for each field of its table settable on create (fields.c). */
struct cli_command {
    const char *group, *verb; /* verb NULL: a one-word command */
    int (*fn)(cli_ctx *);
    const char *opts;
    const char *const *help;
    const char *what;         /* the positional argument: "patient" (id), "template" (name) */
    cli_id_fn act;            /* cli_by_id: the library call on the record, or */
    int (*show)(cli_ctx *c, int64_t id, nudge_err *err); /* cli_by_id: print it */
};

/* ---- the families' commands and help ---- */
int cli_clinic_add(cli_ctx *c), cli_clinic_list(cli_ctx *c);
int cli_patient_add(cli_ctx *c), cli_patient_list(cli_ctx *c);
int cli_appt_add(cli_ctx *c), cli_appt_list(cli_ctx *c), cli_appt_reschedule(cli_ctx *c);
int cli_tmpl_list(cli_ctx *c), cli_tmpl_show(cli_ctx *c), cli_tmpl_render(cli_ctx *c),
    cli_tmpl_put(cli_ctx *c), cli_tmpl_map(cli_ctx *c);
int cli_send(cli_ctx *c), cli_queue_status(cli_ctx *c), cli_queue_list(cli_ctx *c);
/* `X show ID`: -1 with err set, or 0 once printed. */
int cli_patient_show(cli_ctx *c, int64_t id, nudge_err *err),
    cli_appt_show(cli_ctx *c, int64_t id, nudge_err *err),
    cli_queue_show(cli_ctx *c, int64_t id, nudge_err *err);
int cli_key_create(cli_ctx *c), cli_key_list(cli_ctx *c);
/* reminder.c: prescriptions, plans, recalls */
int cli_rx_add(cli_ctx *c), cli_rx_list(cli_ctx *c), cli_rx_stop(cli_ctx *c),
    cli_rx_change(cli_ctx *c),
    cli_rx_show(cli_ctx *c, int64_t id, nudge_err *err);
int cli_plan_list(cli_ctx *c), cli_plan_cancel(cli_ctx *c);
int cli_recall_rule_add(cli_ctx *c), cli_recall_rules(cli_ctx *c), cli_recall_list(cli_ctx *c),
    cli_recall_close(cli_ctx *c);
int cli_lab_add(cli_ctx *c), cli_lab_list(cli_ctx *c), cli_lab_done(cli_ctx *c),
    cli_followup_add(cli_ctx *c), cli_ready(cli_ctx *c);
extern const char *const cli_help_prescription, *const cli_help_reminder,
    *const cli_help_recall, *const cli_help_lab;
int cli_migrate(cli_ctx *c), cli_tick(cli_ctx *c), cli_serve(cli_ctx *c), cli_demo(cli_ctx *c),
    cli_worker(cli_ctx *c), cli_version(cli_ctx *c);
int cli_config_show(cli_ctx *c), cli_config_doc(cli_ctx *c);
int cli_task_add(cli_ctx *c), cli_task_list(cli_ctx *c), cli_task_history(cli_ctx *c),
    cli_task_run(cli_ctx *c), cli_task_show(cli_ctx *c, int64_t id, nudge_err *err); /* task.c */
int cli_backup(cli_ctx *c), cli_backup_restore(cli_ctx *c); /* backup.c */
extern const char *const cli_help_task, *const cli_help_backup;
int cli_migrate_store(cli_ctx *c); /* store_move.c */
int cli_audit_verify(cli_ctx *c);  /* audit.c */
extern const char *const cli_help_audit;
/* care.c: support tickets, the FAQ, loyalty (issue 10) */
int cli_ticket_list(cli_ctx *c), cli_ticket_open(cli_ctx *c), cli_ticket_reply(cli_ctx *c),
    cli_ticket_assign(cli_ctx *c), cli_ticket_autoresolve(cli_ctx *c),
    cli_ticket_show(cli_ctx *c, int64_t id, nudge_err *err);
int cli_faq_list(cli_ctx *c), cli_faq_add(cli_ctx *c), cli_faq_match(cli_ctx *c),
    cli_faq_threshold(cli_ctx *c), cli_faq_seed(cli_ctx *c);
int cli_loyalty_show(cli_ctx *c), cli_loyalty_add(cli_ctx *c), cli_loyalty_redeem(cli_ctx *c),
    cli_loyalty_rules(cli_ctx *c), cli_loyalty_tell(cli_ctx *c);
extern const char *const cli_help_ticket, *const cli_help_faq, *const cli_help_loyalty;
extern const char *const cli_help_migrate_store;
/* staff.c: staff notifications and outgoing webhooks */
int cli_staff_add(cli_ctx *c), cli_staff_list(cli_ctx *c), cli_staff_digest(cli_ctx *c),
    cli_staff_alert(cli_ctx *c), cli_staff_deliveries(cli_ctx *c);
int cli_webhook_add(cli_ctx *c), cli_webhook_list(cli_ctx *c), cli_webhook_deliveries(cli_ctx *c);
extern const char *const cli_help_staff, *const cli_help_webhook;
/* broadcast.c: segments and broadcasts */
int cli_segment_add(cli_ctx *c), cli_segment_list(cli_ctx *c), cli_segment_preview(cli_ctx *c);
int cli_broadcast_create(cli_ctx *c), cli_broadcast_list(cli_ctx *c),
    cli_broadcast_show(cli_ctx *c, int64_t id, nudge_err *err),
    cli_broadcast_stats(cli_ctx *c, int64_t id, nudge_err *err);
extern const char *const cli_help_segment, *const cli_help_broadcast;
int cli_wf_list(cli_ctx *c), cli_wf_show(cli_ctx *c), cli_wf_put(cli_ctx *c),
    cli_wf_runs(cli_ctx *c), cli_wf_stats(cli_ctx *c); /* workflow.c */
extern const char *const cli_help_workflow;
/* `X verb ID`: the row's act or show on that id. */
int cli_by_id(cli_ctx *c);
extern const char *const cli_help_clinic, *const cli_help_patient, *const cli_help_appointment,
    *const cli_help_template, *const cli_help_map, *const cli_help_send, *const cli_help_queue,
    *const cli_help_key, *const cli_help_migrate, *const cli_help_tick, *const cli_help_serve,
    *const cli_help_demo, *const cli_help_config, *const cli_help_worker,
    *const cli_help_version;

/* consent.c: the consent ledger, usage and plans (issue 17) */
int cli_consent_show(cli_ctx *c), cli_consent_grant(cli_ctx *c), cli_consent_withdraw(cli_ctx *c);
int cli_usage_show(cli_ctx *c), cli_usage_plan(cli_ctx *c);
int cli_usage_tiers(cli_ctx *c), cli_usage_tier(cli_ctx *c);
extern const char *const cli_help_consent, *const cli_help_usage;

/* ---- arguments (cli.c) ---- */
const char *cli_arg(const cli_args *a, const char *name); /* the last one given */
int cli_fail(const char *cmd, const nudge_err *e);      /* prints; the exit code */
int cli_exit_code(const nudge_err *e);
int cli_usage(const char *cmd, const char *fmt, const char *what);
/* A value the user typed, fit to echo in a message: escaped as a log line
 * is (nudge_log_text), so a pasted escape sequence or newline cannot reach
 * the terminal or forge a second line of output. Returns buf. */
const char *cli_got(char *buf, size_t n, const char *v);
/* A library message for the terminal: Hindi kept, control characters
 * (C0, DEL, C1) as \xNN. Returns buf. */
const char *cli_term_text(char *buf, size_t n, const char *s);
int cli_parse_id(const char *cmd, const char *what, const char *s, int64_t *out);
int cli_parse_int(const char *cmd, const char *what, const char *s, int lo, int hi, int *out);
/* Every option named in `names` (NULL-ended) is required. */
int cli_require(const cli_ctx *c, const char *const *names);
/* The front of the commands that make a record: the parent's id from
 * option `parent` ("clinic"; NULL: none), then cli_fields_in without a
 * zone. */
int cli_record_in(cli_ctx *c, const char *parent, int64_t *parent_id, void *record);

/* ---- options from the record's table (fields.c) ---- */
/* The table of the record a row makes (its "@name"), or NULL. */
const nudge_field *cli_record_of(const cli_command *cm);
/* A field's option: its cli name, or its name with '-' for '_'. */
const char *cli_field_opt(const nudge_field *f, char *buf, size_t n);
/* The field of fs settable on create whose option is name, or NULL. */
const nudge_field *cli_field_by_opt(const nudge_field *fs, const char *name);
/* The options of the row's record given, each parsed by its field's type
 * into record. tz NULL: every field but the times, after checking the
 * required ones are given; else the times only, read in zone tz (known
 * once the handle is open). 0, or an exit code once printed. */
int cli_fields_in(const cli_ctx *c, void *record, const char *tz);
/* cli_fail for the library's error about a record: a field it names is
 * also named by its option. */
int cli_fail_fields(const cli_ctx *c, const nudge_err *e);
/* The options of the row's record, one line each from the table's help. */
void cli_fields_help(const cli_command *cm, FILE *out);
/* The one positional id of `show ID`-like commands (named by the row's
 * what); then the handle when open is set. */
int cli_one_id(cli_ctx *c, int64_t *id, int open);
/* The paging of list commands, and a list call made with it. */
typedef struct cli_page {
    int64_t clinic, after;
    int limit;
} cli_page;
/* -1 with err set, or an exit code (0: done). */
/* --clinic, --after and --limit of the list commands. */
int cli_paging(cli_ctx *c, cli_page *p);
typedef int (*cli_list_fn)(cli_ctx *c, const cli_page *p, nudge_err *err);
/* Paging, the handle, then `header` (if any) and the call. */
int cli_list(cli_ctx *c, const char *header, cli_list_fn call);
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

#endif
