/*
 * tmpl_store.c: where templates come from and what they are filled with.
 * A clinic's own template (name, language) wins over the built-in one;
 * languages fall back patient -> clinic -> English, so a patient is never
 * left without a message because one translation is missing. The variables
 * offered to a template are the minimum about the patient and visit; the
 * template decides which it shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "record.h"
#include "tmpl.h"
#include "tz.h"
#include "util.h"

void nudge_template_free(nudge_template *t)
{
    free(t->sms);
    free(t->whatsapp);
    free(t->subject);
    free(t->text);
    free(t->html);
    t->sms = t->whatsapp = t->subject = t->text = t->html = NULL;
}

int nudge_template_render(const nudge_template *t, const char *channel, const nudge_vars *vars,
                          nudge_rendered *out, nudge_err *err)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(channel, "email")) {
        if ((out->subject = tmpl_render(t->subject, vars, 0, err)) &&
            (out->body = tmpl_render(t->text, vars, 0, err)) &&
            (out->html = tmpl_render(t->html, vars, 1, err)))
            return 0;
    } else {
        const char *src = !strcmp(channel, "whatsapp") && t->whatsapp ? t->whatsapp : t->sms;
        if ((out->body = tmpl_render(src, vars, 0, err)))
            return 0;
    }
    nudge_rendered_free(out);
    return -1;
}

void nudge_rendered_free(nudge_rendered *r)
{
    free(r->subject);
    free(r->body);
    free(r->html);
    r->subject = r->body = r->html = NULL;
}

static void tmpl_from_builtin(const tmpl_builtin *b, nudge_template *t)
{
    memset(t, 0, sizeof *t);
    str_copy(t->name, sizeof t->name, b->name);
    str_copy(t->language, sizeof t->language, b->language);
    str_copy(t->category, sizeof t->category, b->category);
    t->sms = str_dup(b->sms);
    t->whatsapp = str_dup(b->whatsapp);
    t->subject = str_dup(b->subject);
    t->text = str_dup(b->text);
    t->html = str_dup(b->html);
}

#define TMPL_COLS RECORD_TEMPLATE_COLS

static void tmpl_row(store_stmt *st, nudge_template *t)
{
    memset(t, 0, sizeof *t);
    record_read(st, nudge_template_fields, t);
}

/* One language, clinic first then built in. 1 found, 0 not, -1 error. */
static int tmpl_find(nudge *n, int64_t clinic_id, const char *name, const char *lang,
                     nudge_template *out, nudge_err *err)
{
    store_stmt *st;
    if (clinic_id) {
        if (store_query(n->db, &st, err,
                        "SELECT " TMPL_COLS " FROM templates WHERE clinic_id = ? AND name = ? "
                        "AND language = ?",
                        bind_int(clinic_id), bind_text(name), bind_text(lang)) < 0)
            return -1;
        int r = store_next(st, err);
        if (r == 1)
            tmpl_row(st, out);
        store_done(st);
        if (r)
            return r;
    }
    const tmpl_builtin *b = tmpl_builtin_find(name, lang);
    if (!b)
        return 0;
    tmpl_from_builtin(b, out);
    return 1;
}

/* What a template may be called: a-z, 0-9 and _, as put holds it to. */
static int tmpl_name_ok(const char *name)
{
    return name && *name && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

int nudge_template_get(nudge *n, int64_t clinic_id, const char *name, const char *language,
                       nudge_template *out, nudge_err *err)
{
    const char *tries[3] = {language, NULL, "en"};
    nudge_clinic c;
    /* A name or language no template can have is not looked up: nothing
     * else could be found, and an engine may refuse its bytes (PostgreSQL
     * binds only valid UTF-8). */
    if (!tmpl_name_ok(name))
        return err_set(err, NUDGE_ENOTFOUND, "template", "no template named %s", name ? name : "");
    for (int i = 0; i < 3; i++) {
        /* The clinic's language only when the asked one has no template:
         * most sends find theirs at once, and an enqueue has read the
         * clinic already (one round trip saved on PostgreSQL). */
        if (i == 1 && clinic_id && nudge_clinic_get(n, clinic_id, &c, err) == 0)
            tries[1] = c.language;
        if (!tries[i] || !lang_code_ok(tries[i]))
            continue;
        int r = tmpl_find(n, clinic_id, name, tries[i], out, err);
        if (r)
            return r < 0 ? -1 : 0;
    }
    return err_set(err, NUDGE_ENOTFOUND, "template", "no template named %s", name);
}

static int tmpl_category_ok(const char *c)
{
    static const char *const ok[] = {"transactional", "reminders", "broadcasts", "health_tips",
                                     "marketing"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(c, ok[i]))
            return 1;
    return 0;
}

/* The texts of a template as they can be sent: present where required, no
 * longer than their medium carries, placeholders well formed. Shared by
 * put and by the preview of a draft (POST /v1/templates/preview), so a
 * draft that previews cleanly saves cleanly. */
int nudge_template_check(const nudge_template *t, nudge_err *err)
{
    err_clear(err);
    /* max: characters, the most each medium carries whole: Twilio's and
     * MSG91's 1,600 for an SMS (ten segments), the Cloud API's 4,096 for a
     * WhatsApp text, one header line for a subject; mail bodies are bounded
     * only so one template cannot fill the database. */
    const struct {
        const char *field, *text;
        int required;
        size_t max;
    } parts[] = {{"sms", t->sms, 1, 1600},
                 {"whatsapp", t->whatsapp, 0, 4096},
                 {"subject", t->subject, 1, 255},
                 {"text", t->text, 1, 65536},
                 {"html", t->html, 1, 262144}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        if (str_blank(parts[i].text)) {
            if (parts[i].required)
                return err_set(err, NUDGE_EINVAL, parts[i].field, "%s is required", parts[i].field);
            continue;
        }
        size_t chars = 0;
        for (const unsigned char *c = (const unsigned char *)parts[i].text; *c; c++)
            chars += (*c & 0xC0) != 0x80; /* UTF-8: count lead bytes */
        if (chars > parts[i].max)
            return err_set(err, NUDGE_EINVAL, parts[i].field,
                           "%s is %zu characters; at most %zu are sent", parts[i].field, chars,
                           parts[i].max);
        if (tmpl_check(parts[i].text, parts[i].field, err) < 0)
            return -1;
    }
    return 0;
}

int nudge_template_put(nudge *n, int64_t clinic_id, const nudge_template *t, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (!t->name[0])
        return err_set(err, NUDGE_EINVAL, "name", "name is required");
    if (!tmpl_name_ok(t->name))
        return err_set(err, NUDGE_EINVAL, "name",
                       "template names use a-z, 0-9 and _ (got \"%s\")", t->name);
    if (record_check_text(nudge_template_fields, t, err) < 0)
        return -1;
    if (!lang_code_ok(t->language))
        return err_set(err, NUDGE_EINVAL, "language",
                       "language must be a code such as en or hi (got \"%s\")", t->language);
    if (!tmpl_category_ok(t->category))
        return err_set(err, NUDGE_EINVAL, "category",
                       "category must be transactional, reminders, broadcasts, health_tips or "
                       "marketing");
    if (nudge_template_check(t, err) < 0)
        return -1;
    int64_t now = clock_now(n);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "INSERT INTO templates (clinic_id, name, language, category, sms, whatsapp, "
                   "subject, text, html, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                   "ON CONFLICT (clinic_id, name, language) DO UPDATE SET "
                   "category = excluded.category, sms = excluded.sms, "
                   "whatsapp = excluded.whatsapp, subject = excluded.subject, "
                   "text = excluded.text, html = excluded.html, updated_at = excluded.updated_at",
                   bind_int(clinic_id), bind_text(t->name), bind_text(t->language),
                   bind_text(t->category), bind_text(t->sms), bind_text_or_null(t->whatsapp),
                   bind_text(t->subject), bind_text(t->text), bind_text(t->html), bind_int(now),
                   bind_int(now)) < 0 ||
        audit_add(n, clinic_id, "put", "template", 0, t->name, err) < 0 ||
        clinic_tmpl_touch(n, clinic_id, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_template_list(nudge *n, int64_t clinic_id, nudge_template_fn fn, void *ctx,
                        nudge_err *err)
{
    /* Built-ins first, each replaced by the clinic's version where it has
     * one; then the clinic's own additional templates. */
    nudge_template t;
    for (size_t i = 0; i < tmpl_builtins_count; i++) {
        const tmpl_builtin *b = &tmpl_builtins[i];
        int r = clinic_id ? tmpl_find(n, clinic_id, b->name, b->language, &t, err) : 0;
        if (r < 0)
            return -1;
        if (r == 0)
            tmpl_from_builtin(b, &t);
        int stop = fn(ctx, &t);
        nudge_template_free(&t);
        if (stop)
            return 0;
    }
    if (!clinic_id)
        return 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " TMPL_COLS " FROM templates WHERE clinic_id = ? ORDER BY name, "
                    "language",
                    bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        char name[64], lang[16];
        store_copy(st, 1, name, sizeof name);
        store_copy(st, 2, lang, sizeof lang);
        if (tmpl_builtin_find(name, lang))
            continue; /* already listed in place of the built-in */
        tmpl_row(st, &t);
        int stop = fn(ctx, &t);
        nudge_template_free(&t);
        if (stop)
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

void tmpl_patient_vars(const nudge_clinic *c, const nudge_patient *p, const nudge_appointment *a,
                       nudge_vars *v)
{
    const char *tz = p && p->timezone[0] ? p->timezone : c->timezone;
    const char *lang = p && p->language[0] ? p->language : c->language;
    nudge_vars_set(v, "clinic_name", c->name);
    if (c->phone[0])
        nudge_vars_set(v, "clinic_phone", c->phone);
    if (c->address[0])
        nudge_vars_set(v, "clinic_address", c->address);
    if (p) {
        nudge_vars_set(v, "patient_name", p->name);
        char first[128];
        str_copy(first, sizeof first, p->name);
        char *sp = strchr(first, ' ');
        if (sp)
            *sp = 0;
        nudge_vars_set(v, "first_name", first);
    }
    if (a) {
        char buf[64];
        nudge_vars_set(v, "service", a->service);
        if (a->provider[0])
            nudge_vars_set(v, "doctor_name", a->provider);
        tz_format_date(a->start_at, tz, lang, buf, sizeof buf);
        nudge_vars_set(v, "date", buf);
        tz_format_time(a->start_at, tz, lang, buf, sizeof buf);
        nudge_vars_set(v, "time", buf);
    }
}

const char *const nudge_wa_button_actions[] = {"confirm", "cancel", "reschedule", NULL};

/* A template's quick-reply buttons as stored: {"payload": "action", ...},
 * or NULL for none (*json). */
static int tmpl_wa_buttons(const nudge_wa_button *b, size_t nb, char **json, nudge_err *err)
{
    *json = NULL;
    if (!nb)
        return 0;
    if (nb > 10) /* WhatsApp's most per template */
        return err_set(err, NUDGE_EINVAL, "buttons", "a template has at most 10 buttons");
    json_t *o = json_object();
    for (size_t i = 0; i < nb; i++) {
        const char *why =
            str_blank(b[i].payload) || strlen(b[i].payload) > 256
                ? "a button's payload is 1 to 256 bytes"
            : !b[i].action || nudge_names_find(nudge_wa_button_actions, b[i].action) < 0
                ? "a button's action is confirm, cancel or reschedule"
            : json_object_get(o, b[i].payload) ? "a payload is mapped twice"
                                               : NULL;
        if (why || json_object_set_new(o, b[i].payload, json_string(b[i].action)) < 0) {
            json_decref(o);
            return err_set(err, NUDGE_EINVAL, "buttons", "%s (%.64s)",
                           why ? why : "a payload must be UTF-8", b[i].payload ? b[i].payload : "");
        }
    }
    *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *json ? 0 : err_set(err, NUDGE_ENOMEM, "", "out of memory");
}

int tmpl_wa_button_action(nudge *n, int64_t clinic_id, const char *template_name,
                          const char *language, const char *payload, char *action, size_t size,
                          nudge_err *err)
{
    store_stmt *st;
    action[0] = 0;
    const char *t = template_name ? template_name : "", *l = language ? language : "";
    if (store_query(n->db, &st, err,
                    "SELECT buttons FROM whatsapp_templates WHERE clinic_id = ? AND buttons IS "
                    "NOT NULL AND (? = '' OR (template = ? AND language = ?)) ORDER BY "
                    "template, language",
                    bind_int(clinic_id), bind_text(t), bind_text(t), bind_text(l)) < 0)
        return -1;
    int r = 0;
    while (!action[0] && (r = store_next(st, err)) == 1) {
        json_t *o = json_loads(store_text(st, 0), 0, NULL);
        const char *a = json_string_value(json_object_get(o, payload));
        if (a)
            str_copy(action, size, a);
        json_decref(o);
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* A provider mapping is for a template the clinic can send: its own or a
 * built-in one, in exactly that language (no fallback: a mapping for
 * zz-QQ would never be used, so it is refused, not stored). */
static int tmpl_mapped_exists(nudge *n, int64_t clinic_id, const char *template_name,
                              const char *language, nudge_err *err)
{
    if (str_blank(template_name))
        return err_set(err, NUDGE_EINVAL, "template", "template is required");
    if (!language || !lang_code_ok(language))
        return err_set(err, NUDGE_EINVAL, "language", "language must be a code such as en or hi");
    nudge_template t;
    if (nudge_template_get(n, clinic_id, template_name, language, &t, err) < 0) {
        if (err && err->code == NUDGE_ENOTFOUND)
            return err_set(err, NUDGE_EINVAL, "template", "there is no template \"%s\"",
                           template_name);
        return -1;
    }
    int same = !strcmp(t.language, language);
    nudge_template_free(&t);
    if (!same)
        return err_set(err, NUDGE_EINVAL, "language",
                       "template \"%s\" has no %s version to map", template_name, language);
    return 0;
}

int nudge_whatsapp_template_put(nudge *n, int64_t clinic_id, const char *template_name,
                                const char *language, const char *wa_name, const char *wa_language,
                                const char *params, const nudge_wa_button *buttons,
                                size_t n_buttons, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (tmpl_mapped_exists(n, clinic_id, template_name, language, err) < 0)
        return -1;
    if (str_blank(wa_name) ||
        strspn(wa_name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(wa_name))
        return err_set(err, NUDGE_EINVAL, "wa_name",
                       "an approved WhatsApp template name is lower case, digits and _");
    /* Meta's codes: "hi", "en_US", "fil" (an underscore, not a hyphen). */
    size_t ll = strspn(wa_language ? wa_language : "", "abcdefghijklmnopqrstuvwxyz");
    if (str_blank(wa_language) || ll < 2 || ll > 3 ||
        (wa_language[ll] &&
         (wa_language[ll] != '_' || strspn(wa_language + ll + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2 ||
          wa_language[ll + 3])))
        return err_set(err, NUDGE_EINVAL, "wa_language",
                       "the template's language is a WhatsApp code such as hi or en_US");
    const char *pl = params ? params : "";
    if (strspn(pl, "abcdefghijklmnopqrstuvwxyz0123456789_,") != strlen(pl))
        return err_set(err, NUDGE_EINVAL, "params",
                       "params are variable names separated by commas");
    char *bj;
    if (tmpl_wa_buttons(buttons, n_buttons, &bj, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, clinic_id, err) < 0) {
        free(bj);
        return -1;
    }
    if (store_exec(n->db, err,
                   "INSERT INTO whatsapp_templates (clinic_id, template, language, wa_name, "
                   "wa_language, params, buttons) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                   "(clinic_id, template, language) DO UPDATE SET wa_name = excluded.wa_name, "
                   "wa_language = excluded.wa_language, params = excluded.params, "
                   "buttons = excluded.buttons",
                   bind_int(clinic_id), bind_text(template_name), bind_text(language),
                   bind_text(wa_name), bind_text(wa_language), bind_text(pl),
                   bind_text_or_null(bj)) < 0 ||
        audit_add(n, clinic_id, "put", "whatsapp_template", 0, template_name, err) < 0 ||
        clinic_tmpl_touch(n, clinic_id, err) < 0) {
        store_rollback(n->db);
        free(bj);
        return -1;
    }
    free(bj);
    return store_commit(n->db, err);
}

/* A document to send with the message (a prescription PDF): given by the
 * sender as the variables document_url (https) and document_name. */
static int tmpl_wa_document(const nudge_vars *v, json_t **out, nudge_err *err)
{
    const char *url = nudge_vars_get(v, "document_url");
    *out = NULL;
    if (!url)
        return 0;
    if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
        return err_set(err, NUDGE_EINVAL, "vars.document_url",
                       "document_url must be an http(s) link to the document");
    const char *name = nudge_vars_get(v, "document_name");
    *out = json_pack("{s:s, s:s}", "link", url, "filename", name ? name : "document.pdf");
    return 0;
}

/* WhatsApp's approved template for the message, its parameters taken
 * from the message's variables in the mapping's order; with a document
 * to send, the document too (alone when the clinic mapped no template:
 * it can still go inside the 24-hour window). */
static int tmpl_wa_fill(const tmpl_map *m, const char *template_name, const nudge_vars *v,
                        char **json, nudge_err *err)
{
    *json = NULL;
    json_t *doc;
    if (tmpl_wa_document(v, &doc, err) < 0)
        return -1;
    if (m->state != TMPL_MAP_FOUND) {
        if (doc) {
            json_t *o = json_pack("{s:o}", "document", doc);
            *json = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
        return 0;
    }
    json_t *params = json_array();
    char list[512];
    str_copy(list, sizeof list, m->params);
    json_t *o = json_pack("{s:s, s:s, s:o}", "name", m->id, "language", m->language, "params",
                          params);
    for (char *save, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        const char *val = nudge_vars_get(v, k);
        if (!val) {
            json_decref(o);
            json_decref(doc);
            return err_set(err, NUDGE_EINVAL, "params",
                           "the WhatsApp template for %s needs variable {%s}", template_name, k);
        }
        json_array_append_new(params, json_string(val));
    }
    if (doc)
        json_object_set_new(o, "document", doc);
    *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return 0;
}

int nudge_msg91_template_put(nudge *n, int64_t clinic_id, const char *template_name,
                             const char *language, const char *template_id, const char *params,
                             nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (tmpl_mapped_exists(n, clinic_id, template_name, language, err) < 0)
        return -1;
    if (str_blank(template_id) ||
        strspn(template_id, "0123456789abcdefABCDEF") != strlen(template_id))
        return err_set(err, NUDGE_EINVAL, "template_id", "a MSG91 template id is hex digits");
    /* VAR:name pairs, comma-separated. */
    const char *pl = params ? params : "";
    for (const char *q = pl; *q;) {
        size_t l = strcspn(q, ","), colon = strcspn(q, ":");
        if (colon == 0 || colon + 1 >= l ||
            strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:") != l)
            return err_set(err, NUDGE_EINVAL, "params",
                           "params are VAR:variable pairs separated by commas");
        q += l + (q[l] == ',');
    }
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "INSERT INTO msg91_templates (clinic_id, template, language, template_id, "
                   "params) VALUES (?, ?, ?, ?, ?) ON CONFLICT (clinic_id, template, language) "
                   "DO UPDATE SET template_id = excluded.template_id, params = excluded.params",
                   bind_int(clinic_id), bind_text(template_name), bind_text(language),
                   bind_text(template_id), bind_text(pl)) < 0 ||
        audit_add(n, clinic_id, "put", "msg91_template", 0, template_name, err) < 0 ||
        clinic_tmpl_touch(n, clinic_id, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* MSG91's DLT flow for the message: its template id and each of its
 * VAR:variable pairs filled from the message's variables. */
static int tmpl_msg91_fill(const tmpl_map *m, const char *template_name, const nudge_vars *v,
                           char **json, nudge_err *err)
{
    *json = NULL;
    if (m->state != TMPL_MAP_FOUND)
        return 0;
    char list[512];
    str_copy(list, sizeof list, m->params);
    json_t *vars = json_object();
    json_t *o = json_pack("{s:s, s:o}", "template_id", m->id, "vars", vars);
    for (char *save, *pair = strtok_r(list, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(pair, ':');
        const char *val = colon ? nudge_vars_get(v, colon + 1) : NULL;
        if (!val) {
            json_decref(o);
            return err_set(err, NUDGE_EINVAL, "params",
                           "the MSG91 template for %s needs variable {%s}", template_name,
                           colon ? colon + 1 : pair);
        }
        *colon = 0;
        json_object_set_new(vars, pair, json_string(val));
    }
    *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return 0;
}

/* The providers' mappings, one table each: the medium they serve, the
 * member of the transport data they fill, and their row (a mapping's
 * name or id, its language, its parameter list). */
static const struct {
    const char *medium, *member, *sql;
    int (*fill)(const tmpl_map *, const char *, const nudge_vars *, char **, nudge_err *);
} tmpl_mappings[TMPL_MAPS] = {
    {"whatsapp", "whatsapp",
     "SELECT wa_name, wa_language, params FROM whatsapp_templates WHERE clinic_id = ? AND "
     "template = ? AND language = ?",
     tmpl_wa_fill},
    {"sms", "msg91",
     "SELECT template_id, '', params FROM msg91_templates WHERE clinic_id = ? AND template = ? "
     "AND language = ?",
     tmpl_msg91_fill},
};

static int tmpl_map_read(nudge *n, int64_t clinic_id, const nudge_template *t, const char *sql,
                         tmpl_map *m, nudge_err *err)
{
    store_stmt *st;
    /* sql is a row of tmpl_mappings, each with these three placeholders. */
    store_val v[3] = {bind_int(clinic_id), bind_text(t->name), bind_text(t->language)};
    if (store_query_v(n->db, &st, err, sql, v, 3) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1 && (!(m->id = strdup(store_text(st, 0))) ||
                   !(m->language = strdup(store_text(st, 1))) ||
                   !(m->params = strdup(store_text(st, 2))))) {
        tmpl_map_free(m);
        r = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    store_done(st);
    if (r < 0)
        return -1;
    m->state = r == 1 ? TMPL_MAP_FOUND : TMPL_MAP_NONE;
    return 0;
}

void tmpl_map_free(tmpl_map *m)
{
    free(m->id);
    free(m->language);
    free(m->params);
    *m = (tmpl_map){0};
}

/* The providers' mappings for a message on a medium, as members of its
 * transport data: WhatsApp's approved template, MSG91's DLT flow (either
 * absent when the clinic mapped none). Each mapping's row is read into
 * maps[] the first time it is needed and reused after (a batch passes
 * the same maps for every item of one template); maps NULL: read here
 * and let go. */
int tmpl_transport_data(nudge *n, int64_t clinic_id, const nudge_template *t, const char *medium,
                        const nudge_vars *v, json_t *data, tmpl_map maps[TMPL_MAPS],
                        nudge_err *err)
{
    tmpl_map own[TMPL_MAPS] = {0};
    tmpl_map *m = maps ? maps : own;
    int rc = 0;
    for (size_t i = 0; i < TMPL_MAPS && rc == 0; i++) {
        char *text = NULL;
        if (strcmp(medium, tmpl_mappings[i].medium))
            continue;
        if ((m[i].state == TMPL_MAP_UNREAD &&
             tmpl_map_read(n, clinic_id, t, tmpl_mappings[i].sql, &m[i], err) < 0) ||
            tmpl_mappings[i].fill(&m[i], t->name, v, &text, err) < 0) {
            rc = -1;
            break;
        }
        json_t *value = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
        if (value && json_object_set_new(data, tmpl_mappings[i].member, value) < 0)
            rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    for (size_t i = 0; !maps && i < TMPL_MAPS; i++)
        tmpl_map_free(&own[i]);
    return rc;
}

/* ---- the enqueue's cache ----
 * A single enqueue read its patient, its clinic, its template and the
 * template's provider mapping: four statements (round trips on
 * PostgreSQL) where the last two are the same for every message of a
 * template. Each handle keeps the templates its enqueues resolved, with
 * their mappings as read so far, under the clinic's tmpl_version they
 * were read at. clinic_tmpl_touch moves that version in the transaction
 * of every template or mapping written, by any process, and the enqueue
 * reads it with the clinic row it reads anyway: an entry read under
 * another version is read again. A version read before the template
 * only ever pairs an older version with newer rows, which costs one more
 * read, never a stale send. The key holds the clinic's language because
 * the template's language falls back to it. Few entries: a clinic sends
 * from a handful of templates, and a miss costs what every enqueue cost
 * before. */
#define TMPL_CACHE_SIZE 16

struct tmpl_cache {
    struct tmpl_cache_ent {
        int64_t clinic_id, version; /* clinic_id 0: empty, never found */
        char name[64], language[16], clinic_language[16];
        unsigned used; /* the cache's tick at its last use */
        tmpl_cached v;
    } e[TMPL_CACHE_SIZE];
    unsigned tick;
};

int tmpl_cache_new(tmpl_cache **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -1;
}

static void tmpl_cache_drop(struct tmpl_cache_ent *e)
{
    nudge_template_free(&e->v.t);
    for (size_t i = 0; i < TMPL_MAPS; i++)
        tmpl_map_free(&e->v.maps[i]);
    memset(e, 0, sizeof *e);
}

void tmpl_cache_free(tmpl_cache *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < TMPL_CACHE_SIZE; i++)
        tmpl_cache_drop(&tc->e[i]);
    free(tc);
}

int tmpl_cache_get(nudge *n, tmpl_cache *tc, const nudge_clinic *c, int64_t version,
                   const char *name, const char *language, tmpl_cached **out, nudge_err *err)
{
    const char *lang = language ? language : "";
    struct tmpl_cache_ent *e = &tc->e[0];
    for (size_t i = 0; i < TMPL_CACHE_SIZE; i++) {
        struct tmpl_cache_ent *x = &tc->e[i];
        if (x->clinic_id == c->id && !strcmp(x->name, name) && !strcmp(x->language, lang) &&
            !strcmp(x->clinic_language, c->language)) {
            e = x;
            if (x->version == version)
                goto found;
            break; /* the same key, read under another version */
        }
        if (x->used < e->used)
            e = x; /* the least recently used, if nothing matches */
    }
    tmpl_cache_drop(e);
    if (nudge_template_get(n, c->id, name, language, &e->v.t, err) < 0) {
        nudge_template_free(&e->v.t);
        return -1;
    }
    /* A key too long for the entry is not kept: it is read each time. */
    if (strlen(name) < sizeof e->name && strlen(lang) < sizeof e->language) {
        e->clinic_id = c->id;
        e->version = version;
        strcpy(e->name, name);
        strcpy(e->language, lang);
        snprintf(e->clinic_language, sizeof e->clinic_language, "%s", c->language);
    }
found:
    e->used = ++tc->tick;
    *out = &e->v;
    return 0;
}
