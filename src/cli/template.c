/*
 * cli/template.c: `nudge template ...`: listing, showing and rendering
 * templates (clinic's own over built-in), replacing a clinic's version, and
 * the provider mappings (WhatsApp approved templates, MSG91 DLT ids).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_template =
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

const char *const cli_help_map =
    "usage: nudge template map-whatsapp --clinic ID --template NAME --language LANG\n"
    "                                   --name APPROVED --name-language CODE\n"
    "                                   [--params var,var,...]\n"
    "                                   [--button PAYLOAD=confirm|cancel|reschedule ...]\n"
    "       nudge template map-msg91 --clinic ID --template NAME --language LANG\n"
    "                                --id DLT_TEMPLATE_ID [--params VAR1:var,VAR2:var]\n"
    "\n"
    "map-whatsapp: outside the 24-hour window WhatsApp takes only approved\n"
    "templates: this one (its name and language code as approved by Meta) is\n"
    "sent for the nudge template, its body parameters filled in order by --params.\n"
    "Each --button maps the payload of one of its quick-reply buttons to what\n"
    "tapping it does; a button not mapped is read by its text (Confirm, हाँ, ...).\n"
    "map-msg91: Indian SMS must use a DLT-registered template: its id, and which\n"
    "nudge variable fills each of its variables.\n";

static int cli_tmpl_row(void *x, const nudge_template *t)
{
    (void)x;
    printf("%s\t%s\t%s\t%s\n", t->name, t->language, t->category,
           t->clinic_id ? "clinic" : "built-in");
    return 0;
}

static int cli_tmpl_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_template_list(c->n, p->clinic, cli_tmpl_row, NULL, e);
}

int cli_tmpl_list(cli_ctx *c)
{
    return cli_list(c, "name\tlanguage\tcategory\tsource", cli_tmpl_rows);
}

static int cli_tmpl_load(cli_ctx *c, nudge_template *t)
{
    cli_page p;
    int rc;
    if (c->a.npos != 1)
        return cli_usage(c->cmd, "%s", "give one template name");
    if ((rc = cli_paging(c, &p)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    const char *lang = cli_arg(&c->a, "language");
    if (nudge_template_get(c->n, p.clinic, c->a.pos[0], lang ? lang : "en", t, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

int cli_tmpl_show(cli_ctx *c)
{
    nudge_template t = {0};
    int rc = cli_tmpl_load(c, &t);
    if (!rc) {
        printf("name: %s\nlanguage: %s\ncategory: %s\nsource: %s\n\n[sms]\n%s\n", t.name,
               t.language, t.category, t.clinic_id ? "clinic" : "built-in", t.sms);
        if (t.whatsapp)
            printf("\n[whatsapp]\n%s\n", t.whatsapp);
        printf("\n[subject]\n%s\n\n[text]\n%s\n\n[html]\n%s\n", t.subject, t.text, t.html);
    }
    nudge_template_free(&t);
    return rc;
}

int cli_tmpl_render(cli_ctx *c)
{
    nudge_vars vars = {0};
    int rc = cli_parse_vars(c, &vars);
    if (rc)
        return rc;
    const char *channel = cli_arg(&c->a, "channel");
    if (!channel)
        channel = "sms";
    /* The channels are the library's list, as a notification's table has it. */
    if (nudge_names_find(nudge_field_find(nudge_notification_fields, "channel")->names,
                         channel) < 0) {
        nudge_vars_free(&vars);
        char q[128];
        return cli_usage(c->cmd, "--channel must be sms, whatsapp or email (got \"%s\")",
                         cli_got(q, sizeof q, channel));
    }
    nudge_template t = {0};
    if ((rc = cli_tmpl_load(c, &t))) {
        nudge_vars_free(&vars);
        return rc;
    }
    nudge_err e = {0};
    nudge_rendered r;
    if (nudge_template_render(&t, channel, &vars, &r, &e) < 0)
        rc = cli_fail(c->cmd, &e);
    else if (r.subject)
        printf("Subject: %s\n\n%s\n\n%s\n", r.subject, r.body, r.html);
    else
        printf("%s\n", r.body);
    nudge_rendered_free(&r);
    nudge_template_free(&t);
    nudge_vars_free(&vars);
    return rc;
}

int cli_tmpl_put(cli_ctx *c)
{
    nudge_template t = {0}; /* its texts are borrowed from argv: not freed */
    int64_t clinic;
    int rc;
    if ((rc = cli_record_in(c, "clinic", &clinic, &t)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_template_put(c->n, clinic, &t, &e) < 0)
        return cli_fail_fields(c, &e);
    return 0;
}

int cli_tmpl_map(cli_ctx *c)
{
    static const char *const need_wa[] = {"template", "language", "name", "name-language", NULL},
                             *const need_msg91[] = {"template", "language", "id", NULL};
    const cli_args *a = &c->a;
    int64_t clinic;
    int rc;
    int wa = strstr(c->cmd, "whatsapp") != NULL;
    /* --button PAYLOAD=ACTION: the action is a word, so the last '=' splits
     * (a payload may hold one). */
    nudge_wa_button buttons[16];
    char spec[16][320];
    size_t nb = 0;
    for (int i = 0; i < a->nkv; i++) {
        if (strcmp(a->kv[i].name, "button"))
            continue;
        const char *eq = strrchr(a->kv[i].value, '=');
        if (!wa || !eq || eq == a->kv[i].value || nb == 16 ||
            strlen(a->kv[i].value) >= sizeof spec[0]) {
            char q[128];
            return cli_usage(c->cmd, "--button is PAYLOAD=ACTION, for map-whatsapp (got \"%s\")",
                             cli_got(q, sizeof q, a->kv[i].value));
        }
        snprintf(spec[nb], sizeof spec[nb], "%s", a->kv[i].value);
        spec[nb][eq - a->kv[i].value] = 0;
        buttons[nb] = (nudge_wa_button){spec[nb], spec[nb] + (eq - a->kv[i].value) + 1};
        nb++;
    }
    if ((rc = cli_parse_id(c->cmd, "--clinic", cli_arg(a, "clinic"), &clinic)) ||
        (rc = cli_require(c, wa ? need_wa : need_msg91)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    rc = wa ? nudge_whatsapp_template_put(c->n, clinic, cli_arg(a, "template"),
                                          cli_arg(a, "language"), cli_arg(a, "name"),
                                          cli_arg(a, "name-language"), cli_arg(a, "params"),
                                          buttons, nb, &e)
            : nudge_msg91_template_put(c->n, clinic, cli_arg(a, "template"),
                                       cli_arg(a, "language"), cli_arg(a, "id"),
                                       cli_arg(a, "params"), &e);
    return rc < 0 ? cli_fail(c->cmd, &e) : 0;
}
