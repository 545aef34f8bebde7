/*
 * admin.c: the clinic's own settings (/v1/clinic), its API keys
 * (/v1/keys) and its audit log (/v1/audit). A key sees and changes only
 * its own clinic; changing settings and keys, and reading the audit log,
 * is for admin keys.
 */
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"
#include "tz.h"

int api_clinic_get(http_req *r)
{
    return http_ok(r, 200, codec_clinic_out(&r->clinic));
}

int api_clinic_update(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_clinic c = r->clinic;
    nudge_err e = {0};
    int rc = codec_clinic_in(j, &c, 1, &e);
    json_decref(j);
    if (rc < 0 || nudge_clinic_update(r->n, &c, &e) < 0 ||
        nudge_clinic_get(r->n, c.id, &c, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, codec_clinic_out(&c));
}

static int add_key(void *ctx, const nudge_key *k)
{
    http_list *x = ctx;
    json_array_append_new(x->items, codec_key_out(k, x->tz));
    return 0;
}

int api_key_list(http_req *r)
{
    http_list x = {json_array(), r->clinic.timezone, 0, 0};
    nudge_err e = {0};
    if (nudge_key_list(r->n, r->key.clinic_id, add_key, &x, &e) < 0) {
        json_decref(x.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", x.items));
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
    json_t *out = codec_key_out(&key, r->clinic.timezone);
    /* The one time the secret is shown. */
    json_object_set_new(out, "secret", json_string(secret));
    memset(secret, 0, sizeof secret);
    return http_ok(r, 201, out);
}

int api_key_revoke(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_key_revoke(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    http_list x = {json_array(), r->clinic.timezone, 0, 0};
    nudge_key_list(r->n, r->key.clinic_id, add_key, &x, &e);
    json_t *found = json_null();
    size_t i;
    json_t *it;
    json_array_foreach(x.items, i, it)
    {
        if (json_integer_value(json_object_get(it, "id")) == id)
            found = json_incref(it);
    }
    json_decref(x.items);
    return http_ok(r, 200, found);
}

static int add_audit(void *ctx, const nudge_audit *a)
{
    http_list *x = ctx;
    char at[40];
    tz_format_rfc3339(a->at, x->tz, at, sizeof at);
    json_array_append_new(
        x->items, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)a->id, "at",
                            at, "actor", a->actor, "action", a->action, "entity", a->entity,
                            "entity_id", a->entity_id ? json_integer(a->entity_id) : json_null(),
                            "detail", a->detail[0] ? json_string(a->detail) : json_null()));
    x->last = a->id;
    x->count++;
    return 0;
}

/* Newest first: ?before=ID pages back in time. */
int api_audit_list(http_req *r)
{
    int64_t before = 0, unused;
    int limit;
    if (http_query(r, "after"))
        return http_problem(r, 400, "Malformed request",
                            "the audit log pages back in time with ?before=ID", "after");
    if (http_paging(r, &unused, &limit) < 0)
        return 0;
    const char *b = http_query(r, "before");
    if (b) {
        char *end;
        long long v = strtoll(b, &end, 10);
        if (*end || v <= 0)
            return http_problem(r, 400, "Malformed request", "before must be a positive id",
                                "before");
        before = v;
    }
    http_list x = {json_array(), r->clinic.timezone, 0, 0};
    nudge_err e = {0};
    if (nudge_audit_list(r->n, r->key.clinic_id, before, limit, add_audit, &x, &e) < 0) {
        json_decref(x.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200,
                   json_pack("{s:o, s:o}", "data", x.items, "next_before",
                             x.count == limit && x.last ? json_integer(x.last) : json_null()));
}
