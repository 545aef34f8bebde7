/*
 * templates.c: /v1/templates. The clinic sees the built-in templates and
 * its own, replaces one per name and language with PUT, and previews a
 * rendering with given variables (a missing variable is a 422 naming it).
 */
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

static int collect(void *ctx, const nudge_template *t)
{
    json_array_append_new(ctx, codec_template_out(t));
    return 0;
}

int api_template_list(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_template_list(r->n, r->key.clinic_id, collect, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
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
    http_ok(r, 200, codec_template_out(&t));
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
    int rc = codec_template_in(j, &t, &e);
    json_decref(j);
    if (rc == 0)
        rc = nudge_template_put(r->n, r->key.clinic_id, &t, &e);
    nudge_template_free(&t);
    if (rc < 0)
        return http_fail(r, &e);
    if (nudge_template_get(r->n, r->key.clinic_id, r->params[0], r->params[1], &t, &e) < 0)
        return http_fail(r, &e);
    http_ok(r, existed ? 200 : 201, codec_template_out(&t));
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
        return http_fail(r, &e);
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
