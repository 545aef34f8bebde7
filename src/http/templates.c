/*
 * templates.c: /v1/templates. The clinic sees the built-in templates and
 * its own, replaces one per name and language with PUT, and previews a
 * rendering with given variables (a missing variable is a 422 naming it).
 * A draft not yet saved is previewed whole by POST /v1/templates/preview:
 * the dashboard's editor shows what the library would send, by the
 * library's rules (checks, rendering, SMS segments), as the user types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

static int collect(void *ctx, const nudge_template *t)
{
    return http_list_put(ctx, t, 0);
}

int api_template_list(http_req *r)
{
    http_list x = HTTP_LIST(r, nudge_template_fields);
    nudge_err e = {0};
    int rc = nudge_template_list(r->n, r->key.clinic_id, collect, &x, &e);
    return http_list_done(r, &x, rc, &e, NULL, 0);
}

/* Exactly this language: no fallback, so a client sees what it asked for. */
static int load(http_req *r, nudge_template *t)
{
    nudge_err e = {0};
    if (nudge_template_get(r->n, r->key.clinic_id, r->params[0], r->params[1], t, &e) < 0)
        return http_fail(r, &e), -1;
    if (strcmp(t->language, r->params[1])) {
        nudge_template_free(t);
        return http_problem(r, 404, "Not found", "no template in that language", NULL), -1;
    }
    return 0;
}

int api_template_get(http_req *r)
{
    nudge_template t;
    if (load(r, &t) < 0)
        return 0;
    http_answer(r, 0, NULL, 200, nudge_template_fields, &t);
    nudge_template_free(&t);
    return 0;
}

int api_template_put(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    /* The path names it; the body may repeat it, but not differently. */
    const char *names[2] = {"name", "language"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(j, names[i]);
        if (v && (!json_is_string(v) || strcmp(json_string_value(v), r->params[i]))) {
            json_decref(j);
            return http_problem(r, 422, "Invalid input", "does not match the path", names[i]);
        }
        if (!v)
            json_object_set_new(j, names[i], json_string(r->params[i]));
    }
    nudge_template t = {0};
    nudge_err e = {0};
    /* 201 when the clinic had no version of its own in this language. */
    int existed = nudge_template_get(r->n, r->key.clinic_id, r->params[0], r->params[1], &t,
                                     &e) == 0 &&
                  t.clinic_id && !strcmp(t.language, r->params[1]);
    nudge_template_free(&t);
    memset(&t, 0, sizeof t); /* the body alone says what it is */
    int rc = codec_in(nudge_template_fields, j, NULL, &t, sizeof t, 0, &e);
    json_decref(j);
    if (rc < 0) {
        nudge_template_free(&t);
        return http_fail_body(r, &e);
    }
    rc = nudge_template_put(r->n, r->key.clinic_id, &t, &e);
    nudge_template_free(&t);
    if (rc < 0)
        return http_fail(r, &e);
    if (nudge_template_get(r->n, r->key.clinic_id, r->params[0], r->params[1], &t, &e) < 0)
        return http_fail(r, &e);
    http_answer(r, 0, NULL, existed ? 200 : 201, nudge_template_fields, &t);
    nudge_template_free(&t);
    return 0;
}

int api_template_render(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_vars vars = {0};
    const char *channel = "sms";
    nudge_err e = {0};
    nudge_template t;
    int rc = codec_render_in(j, &vars, &channel, &e);
    if (rc < 0) {
        json_decref(j);
        nudge_vars_free(&vars);
        return http_fail_body(r, &e);
    }
    if (load(r, &t) < 0) {
        json_decref(j);
        nudge_vars_free(&vars);
        return 0;
    }
    nudge_rendered out;
    rc = nudge_template_render(&t, channel, &vars, &out, &e);
    if (rc == 0) {
        json_t *o = json_pack("{s:s, s:s}", "channel", channel, "body", out.body);
        if (out.subject)
            json_object_set_new(o, "subject", json_string(out.subject));
        if (out.html)
            json_object_set_new(o, "html", json_string(out.html));
        http_ok(r, 200, o);
        nudge_rendered_free(&out);
    }
    json_decref(j); /* channel points into j */
    nudge_template_free(&t);
    nudge_vars_free(&vars);
    return rc < 0 ? http_fail(r, &e) : 0;
}

/* Fields of a small body, checked by name and JSON type; the problem names
 * the first that is wrong. */
static int body_fields(http_req *r, json_t *j, const char *const *names, const int *types,
                       size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        size_t i;
        for (i = 0; i < n && strcmp(k, names[i]); i++)
            ;
        char msg[128];
        if (i == n) {
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
        if ((int)json_typeof(v) != types[i]) {
            snprintf(msg, sizeof msg, "%s has the wrong type", k);
            return http_problem(r, 422, "Invalid input", msg, k), -1;
        }
    }
    return 0;
}

/* A mapping's parameters as the library takes them: an array of strings
 * as "a,b", an object of strings as "K1:a,K2:b". NULL when there are none
 * (or no memory). */
static char *params_join(json_t *params)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(params))
        json_array_foreach(params, i, v) fprintf(f, "%s%s", i ? "," : "", json_string_value(v));
    else
        json_object_foreach(params, k, v) fprintf(f, "%s%s:%s", ftell(f) ? "," : "", k,
                                                  json_string_value(v));
    fclose(f);
    return out;
}

/* A mapping refused because the path names no template the clinic has in
 * that language: the resource mapped does not exist, 404 naming the path
 * part. Other errors are the body's. */
static int map_path_missing(http_req *r, const nudge_err *e)
{
    if (e->code != NUDGE_EINVAL || (strcmp(e->field, "template") && strcmp(e->field, "language")))
        return 0;
    nudge_err c = *e;
    codec_err_fields(&c); /* the message quotes the path's bytes */
    http_problem(r, 404, "Not found", c.msg, strcmp(e->field, "template") ? "language" : "name");
    return 1;
}

/* PUT /v1/templates/{name}/{language}/whatsapp: the clinic's approved
 * WhatsApp template for this one, used outside the 24-hour window:
 * {"name", "language", "params": ["patient_name", ...], "buttons":
 * {"PAYLOAD": "confirm", ...}} (params in the order of its body
 * parameters; buttons its quick replies' payloads and their actions). */
int api_template_map_whatsapp(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    static const char *const names[] = {"name", "language", "params", "buttons"};
    static const int types[] = {JSON_STRING, JSON_STRING, JSON_ARRAY, JSON_OBJECT};
    if (body_fields(r, j, names, types, 4) < 0) {
        json_decref(j);
        return 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "params"), i, v)
    {
        if (!json_is_string(v)) {
            json_decref(j);
            return http_problem(r, 422, "Invalid input", "params are variable names", "params");
        }
    }
    nudge_wa_button buttons[16];
    size_t nb = 0;
    const char *k;
    json_object_foreach(json_object_get(j, "buttons"), k, v)
    {
        if (!json_is_string(v) || nb == sizeof buttons / sizeof *buttons) {
            json_decref(j);
            return http_problem(r, 422, "Invalid input",
                                "buttons map each payload to confirm, cancel or reschedule",
                                "buttons");
        }
        buttons[nb++] = (nudge_wa_button){k, json_string_value(v)};
    }
    char *params = params_join(json_object_get(j, "params"));
    nudge_err e = {0};
    const char *nm = json_string_value(json_object_get(j, "name"));
    const char *lang = json_string_value(json_object_get(j, "language"));
    int rc = nudge_whatsapp_template_put(r->n, r->key.clinic_id, r->params[0], r->params[1],
                                         nm ? nm : "", lang ? lang : "",
                                         params ? params : "", buttons, nb, &e);
    free(params);
    if (rc == 0)
        http_ok(r, 200,
                json_pack("{s:s, s:s, s:O?}", "template", r->params[0], "language", r->params[1],
                          "whatsapp", j));
    json_decref(j);
    if (rc < 0) {
        if (map_path_missing(r, &e))
            return 0;
        if (!strcmp(e.field, "wa_name"))
            strcpy(e.field, "name");
        else if (!strcmp(e.field, "wa_language"))
            strcpy(e.field, "language");
        return http_fail(r, &e);
    }
    return 0;
}

/* PUT /v1/templates/{name}/{language}/msg91: the clinic's DLT-registered
 * template for this one: {"template_id", "params": {"VAR1": "patient_name"}}. */
int api_template_map_msg91(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    static const char *const names[] = {"template_id", "params"};
    static const int types[] = {JSON_STRING, JSON_OBJECT};
    if (body_fields(r, j, names, types, 2) < 0) {
        json_decref(j);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "params"), k, v)
    {
        if (!json_is_string(v)) {
            json_decref(j);
            return http_problem(r, 422, "Invalid input", "each variable names a nudge variable",
                                "params");
        }
    }
    char *params = params_join(json_object_get(j, "params"));
    nudge_err e = {0};
    const char *id = json_string_value(json_object_get(j, "template_id"));
    int rc = nudge_msg91_template_put(r->n, r->key.clinic_id, r->params[0], r->params[1],
                                      id ? id : "", params ? params : "", &e);
    free(params);
    if (rc == 0)
        http_ok(r, 200,
                json_pack("{s:s, s:s, s:O?}", "template", r->params[0], "language", r->params[1],
                          "msg91", j));
    json_decref(j);
    if (rc < 0 && map_path_missing(r, &e))
        return 0;
    return rc < 0 ? http_fail(r, &e) : 0;
}

/* A checked draft rendered for every channel, with the SMS's segments and
 * encoding; NULL with err set when a variable is missing. */
static json_t *preview_render(const nudge_template *t, const nudge_vars *vars, nudge_err *e)
{
    static const char *const channels[] = {"sms", "whatsapp", "email"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof channels / sizeof *channels; i++) {
        nudge_rendered out;
        if (nudge_template_render(t, channels[i], vars, &out, e) < 0) {
            json_decref(o);
            return NULL;
        }
        json_t *c = json_pack("{s:s}", "body", out.body);
        if (out.subject)
            json_object_set_new(c, "subject", json_string(out.subject));
        if (out.html)
            json_object_set_new(c, "html", json_string(out.html));
        if (!strcmp(channels[i], "sms")) {
            int ucs2 = 0;
            json_object_set_new(c, "segments", json_integer(nudge_sms_segments(out.body, &ucs2)));
            json_object_set_new(c, "encoding", json_string(ucs2 ? "UCS-2" : "GSM-7"));
        }
        json_object_set_new(o, channels[i], c);
        nudge_rendered_free(&out);
    }
    return o;
}

/* POST /v1/templates/preview: a draft's texts {"sms", "whatsapp"?,
 * "subject", "text", "html", "vars"?} checked as PUT checks them and
 * rendered for every channel, with the SMS's segments and encoding, and
 * the variables the texts use that vars lacks. Writes nothing; an error
 * names the text at fault. */
int api_template_preview(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    static const char *const names[] = {"sms", "whatsapp", "subject", "text", "html", "vars"};
    static const int types[] = {JSON_STRING, JSON_STRING, JSON_STRING,
                                JSON_STRING, JSON_STRING, JSON_OBJECT};
    if (body_fields(r, j, names, types, 6) < 0) {
        json_decref(j);
        return 0;
    }
    nudge_template t = {0};
    char **parts[] = {&t.sms, &t.whatsapp, &t.subject, &t.text, &t.html};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        const char *v = json_string_value(json_object_get(j, names[i]));
        *parts[i] = v && *v ? codec_strdup(v) : NULL; /* "" whatsapp: the SMS text */
    }
    nudge_vars vars = {0};
    nudge_err e = {0};
    const char *ch = "sms"; /* every channel is rendered; vars alone are read */
    json_t *vj = json_pack("{s:O?}", "vars", json_object_get(j, "vars"));
    int rc = codec_render_in(vj, &vars, &ch, &e);
    json_decref(vj);
    json_decref(j);
    if (rc < 0) {
        nudge_template_free(&t);
        nudge_vars_free(&vars);
        return http_fail_body(r, &e);
    }
    json_t *o = NULL, *missing = json_array();
    int full = 0;
    rc = nudge_template_check(&t, &e);
    /* A variable the sample lacks is listed in "missing" and shown as its
     * placeholder, so an editor learns the names a draft uses from one
     * answer; each pass adds one, and vars holds at most 48. */
    while (rc == 0 && !(o = preview_render(&t, &vars, &e))) {
        if (strncmp(e.field, "vars.", 5) || nudge_vars_get(&vars, e.field + 5)) {
            rc = -1;
            break;
        }
        char shown[sizeof e.field + 2]; /* a name fits: it fitted in e.field */
        snprintf(shown, sizeof shown, "{%.*s}", (int)sizeof e.field - 5, e.field + 5);
        json_array_append_new(missing, json_string(e.field + 5));
        rc = full = nudge_vars_set(&vars, e.field + 5, shown);
    }
    nudge_template_free(&t);
    nudge_vars_free(&vars);
    if (rc < 0) {
        json_decref(missing);
        return full ? http_problem(r, 422, "Invalid input", "the texts use too many variables",
                                   "vars")
                    : http_fail_body(r, &e);
    }
    json_object_set_new(o, "missing", missing);
    return http_ok(r, 200, o), 0;
}
