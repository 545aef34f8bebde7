/*
 * admin.c: the clinic's own settings (/v1/clinic), its API keys
 * (/v1/keys) and its audit log (/v1/audit). A key sees and changes only
 * its own clinic; changing settings and keys, and reading the audit log,
 * is for admin keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

/* The clinic's own times are in its own zone, which r->clinic is. */
int api_clinic_get(http_req *r)
{
    return http_answer(r, 0, NULL, 200, nudge_clinic_fields, &r->clinic);
}

int api_clinic_update(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_clinic c = r->clinic;
    nudge_err e = {0};
    int rc = codec_in(nudge_clinic_fields, j, NULL, &c, sizeof c, 1, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail_body(r, &e);
    if (nudge_clinic_update(r->n, &c, &e) < 0 ||
        nudge_clinic_get(r->n, c.id, &c, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, codec_out(nudge_clinic_fields, &c, c.timezone));
}

static int add_key(void *ctx, const nudge_key *k)
{
    return http_list_put(ctx, k, k->id);
}

int api_key_list(http_req *r)
{
    http_list x = HTTP_LIST(r, nudge_key_fields);
    nudge_err e = {0};
    int rc = nudge_key_list(r->n, r->key.clinic_id, add_key, &x, &e);
    return http_list_done(r, &x, rc, &e, NULL, 0);
}

int api_key_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        /* The problem is built before j (which owns k) is released. */
        if (strcmp(k, "role") && strcmp(k, "label")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", k);
            http_problem(r, 422, "Invalid input", msg, k);
            json_decref(j);
            return 0;
        }
        if (!json_is_string(v)) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s must be a string", k);
            http_problem(r, 422, "Invalid input", msg, k);
            json_decref(j);
            return 0;
        }
    }
    int role = nudge_role_parse(json_string_value(json_object_get(j, "role")));
    if (!role) {
        json_decref(j);
        return http_problem(r, 422, "Invalid input", "role must be admin, staff or integration",
                            "role");
    }
    nudge_key key;
    char secret[NUDGE_KEY_SECRET_LEN];
    nudge_err e = {0};
    int rc = nudge_key_create(r->n, r->key.clinic_id, role,
                              json_string_value(json_object_get(j, "label")), &key, secret, &e);
    json_decref(j);
    if (rc < 0)
        return http_fail(r, &e);
    json_t *out = codec_out(nudge_key_fields, &key, r->clinic.timezone);
    /* The one time the secret is shown. */
    json_object_set_new(out, "secret", json_string(secret));
    memset(secret, 0, sizeof secret);
    return http_ok(r, 201, out);
}

/* The revoked key as the list shows it (null if it is gone). */
struct revoked {
    int64_t id;
    nudge_key key;
};

static int find_key(void *ctx, const nudge_key *k)
{
    struct revoked *f = ctx;
    if (k->id == f->id)
        f->key = *k;
    return 0;
}

int api_key_revoke(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_key_revoke(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    struct revoked k = {id, {0}};
    nudge_key_list(r->n, r->key.clinic_id, find_key, &k, &e);
    codec_buf b = {0};
    if (k.key.id)
        codec_text(&b, nudge_key_fields, &k.key, r->clinic.timezone);
    return http_ok_text(r, 200, &b);
}

static int add_audit(void *ctx, const nudge_audit *a)
{
    return http_list_put(ctx, a, a->id);
}

/* ?before=ID: the page before that entry. */
static int fetch_audit(http_req *r, int64_t after, int limit, http_list *l, nudge_err *e)
{
    (void)after; /* refused before paging: the log pages back */
    int64_t before = 0;
    if (http_query_id(r, "before", &before) < 0)
        return -2;
    return nudge_audit_list(r->n, r->key.clinic_id, before, limit, add_audit, l, e);
}

/* Newest first: ?before=ID pages back in time. */
int api_audit_list(http_req *r)
{
    if (http_query(r, "after"))
        return http_problem(r, 400, "Malformed request",
                            "the audit log pages back in time with ?before=ID", "after");
    return http_list_page(r, nudge_audit_fields, fetch_audit, "next_before");
}
