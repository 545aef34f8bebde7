/*
 * recalls.c: /v1/recalls: the clinic's recall rules (made and listed), its
 * patients' recalls (listed, closed by staff). Rules and recalls are
 * encoded and decoded by their record tables; what a rule makes and when
 * it is sent is the library's (recall.c).
 */
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

int api_recall_rule_create(http_req *r)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_recall_rule rule;
    memset(&rule, 0, sizeof rule);
    nudge_err e = {0};
    int rc = codec_in(nudge_recall_rule_fields, j, r->clinic.timezone, &rule, sizeof rule, 0, &e);
    json_decref(j);
    if (rc == 0) {
        rule.clinic_id = r->key.clinic_id;
        rc = nudge_recall_rule_add(r->n, &rule, &e);
    }
    if (rc < 0) {
        codec_err_fields(&e);
        return http_fail(r, &e);
    }
    return http_ok(r, 201, codec_out(nudge_recall_rule_fields, &rule, r->clinic.timezone));
}

static int recall_rule_put(void *ctx, const nudge_recall_rule *rule)
{
    return http_list_put(ctx, rule, rule->id);
}

int api_recall_rule_list(http_req *r)
{
    http_list l = HTTP_LIST(r, nudge_recall_rule_fields);
    nudge_err e = {0};
    int rc = nudge_recall_rule_list(r->n, r->key.clinic_id, recall_rule_put, &l, &e);
    return http_list_done(r, &l, rc, &e, NULL, 0);
}

static int recall_put(void *ctx, const nudge_recall *rc)
{
    return http_list_put(ctx, rc, rc->id);
}

/* ?patient_id narrows it; newest first, not paged. */
int api_recall_list(http_req *r)
{
    int64_t patient = 0;
    if (http_query_id(r, "patient_id", &patient) < 0)
        return 0;
    http_list l = HTTP_LIST(r, nudge_recall_fields);
    nudge_err e = {0};
    int rc = nudge_recall_list(r->n, r->key.clinic_id, patient, recall_put, &l, &e);
    return http_list_done(r, &l, rc, &e, NULL, 0);
}

int api_recall_close(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_recall_close(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "closed"));
}
