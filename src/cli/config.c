/*
 * cli/config.c: `nudge config show` (every setting, its value and where it
 * came from, secrets masked) and `nudge config doc --man|--markdown` (the
 * settings' documentation, generated from nudge_settings[]; the man page
 * and the README carry this text between marker comments, and tests/cli.sh
 * fails when they differ from it). Neither opens the database.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_config =
    "usage: nudge config show [global options]\n"
    "       nudge config doc --man|--markdown\n"
    "\n"
    "show prints every setting, its value and its source (default, environment,\n"
    "file, flag) as the other commands would read them; secrets are masked.\n"
    "doc prints the settings' documentation, as in nudge(1) and the README.\n";

static const char *const cli_type_names[] = {"text", "path", "URL", "on/off", "number"};

int cli_config_show(cli_ctx *c)
{
    int rc;
    if ((rc = cli_config(c)))
        return rc;
    printf("setting\tvalue\tsource\n");
    for (int i = 0; i < nudge_n_settings; i++) {
        char v[512];
        nudge_setting_format(&nudge_settings[i], &c->cfg, v, sizeof v);
        printf("%s\t%s\t%s\n", nudge_settings[i].name, v,
               nudge_setting_source_names[c->loaded.source[i]]);
    }
    return 0;
}

static const char *const cli_doc_intro =
    "Every setting is read from its flag where it has one, else from its\n"
    "environment variable, else it takes its default. A secret is never read\n"
    "from the command line: it comes from its variable or from the file named\n"
    "by the variable with _FILE appended (the file's first line); both at once\n"
    "is an error. `nudge config show` prints each value and where it came from,\n"
    "secrets masked. Settings marked restart are read when nudge starts.\n";

/* Man page text: '-' is a hyphen there, and the intro's `...` a bold run. */
static void cli_man_text(const char *s)
{
    int bold = 0;
    for (; *s; s++) {
        if (*s == '-')
            fputs("\\-", stdout);
        else if (*s == '`')
            fputs((bold = !bold) ? "\\fB" : "\\fR", stdout);
        else if (*s == '\\')
            fputs("\\e", stdout);
        else
            putchar(*s);
    }
}

static void cli_doc_man(void)
{
    cli_man_text(cli_doc_intro);
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        printf(".TP\n.B ");
        cli_man_text(s->env);
        if (s->flags & NUDGE_SETTING_SECRET) {
            printf("\\fR or \\fB");
            cli_man_text(s->env);
            printf("_FILE");
        }
        if (s->flag) {
            printf("\\fR, \\fB\\-\\-");
            cli_man_text(s->flag);
        }
        printf("\\fR\n");
        cli_man_text(s->help);
        printf(" (%s", cli_type_names[s->type]);
        if (s->def) {
            printf("; default ");
            cli_man_text(s->def);
        }
        if (s->type == NUDGE_SET_INT)
            printf("; %d to %d", s->min, s->max);
        printf("%s%s)\n", s->flags & NUDGE_SETTING_SECRET ? "; secret" : "",
               s->flags & NUDGE_SETTING_RESTART ? "; restart" : "");
    }
}

static void cli_doc_markdown(void)
{
    fputs(cli_doc_intro, stdout);
    printf("\n| environment | flag | type | default | |\n|---|---|---|---|---|\n");
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        printf("| `%s`", s->env);
        if (s->flags & NUDGE_SETTING_SECRET)
            printf(" or `%s_FILE`", s->env);
        printf(" | %s%s%s | %s", s->flag ? "`--" : "", s->flag ? s->flag : "",
               s->flag ? "`" : "", cli_type_names[s->type]);
        if (s->type == NUDGE_SET_INT)
            printf(", %d to %d", s->min, s->max);
        printf(" | %s%s%s | %s%s%s |\n", s->def ? "`" : "", s->def ? s->def : "",
               s->def ? "`" : "", s->help, s->flags & NUDGE_SETTING_SECRET ? " Secret." : "",
               s->flags & NUDGE_SETTING_RESTART ? " Restart." : "");
    }
}

int cli_config_doc(cli_ctx *c)
{
    int man = cli_arg(&c->a, "man") != NULL, md = cli_arg(&c->a, "markdown") != NULL;
    if (man == md)
        return cli_usage(c->cmd, "%s", "give --man or --markdown");
    if (man)
        cli_doc_man();
    else
        cli_doc_markdown();
    return 0;
}
