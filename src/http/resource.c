/*
 * resource.c: the handlers' shared shapes, driven by each record's table
 * (nudge.h) and a resource's few library calls (http_resource): read one
 * by id, create, edit under If-Match, and lists page by page. A resource
 * file names its calls and its rules; the walking is done once, here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

/* Items are written as text as they come (codec_text), one buffer per
 * list: no tree per record, no dump of the page at the end. */
static int list_room(http_list *l)
{
    if (l->max && l->count >= l->max) {
        l->more = 1;
        return 0;
    }
    if (l->count++)
        codec_put(&l->items, ",", 1);
    return 1;
}

int http_list_put(http_list *l, const void *rec, int64_t id)
{
    if (list_room(l)) {
        codec_text(&l->items, l->fields, rec, l->tz);
        l->last = id;
    }
    return 0;
}

void http_list_put_json(http_list *l, json_t *item)
{
    if (list_room(l))
        codec_put_json(&l->items, item);
    json_decref(item);
}

void http_list_array(http_list *l, codec_buf *b)
{
    codec_put(b, "[", 1);
    codec_put(b, l->items.p ? l->items.p : "", l->items.len);
    codec_put(b, "]", 1);
    free(l->items.p);
    l->items = (codec_buf){0};
}

int http_list_done(http_req *r, http_list *l, int rc, const nudge_err *e, const char *page_key,
                   int limit)
{
    (void)limit; /* the page was fetched one longer: l->more says if it goes on */
    if (rc < 0) {
        free(l->items.p);
        return http_fail(r, e);
    }
    codec_buf b = {0};
    codec_put(&b, "{\"data\":", 8);
    http_list_array(l, &b);
    if (page_key) {
        codec_put(&b, ",", 1);
        codec_put_str(&b, page_key);
        codec_put(&b, ":", 1);
        if (l->more && l->last)
            codec_put_int(&b, l->last);
        else
            codec_put(&b, "null", 4);
    }
    codec_put(&b, "}", 1);
    return http_ok_text(r, 200, &b);
}

int http_list_page(http_req *r, const nudge_field *fields, http_fetch fetch,
                   const char *page_key)
{
    int64_t after;
    int limit;
    if (http_paging(r, &after, &limit) < 0)
        return 0;
    http_list l = HTTP_LIST(r, fields);
    l.max = limit;
    nudge_err e = {0};
    /* One past the page: a cursor only when something follows. */
    int rc = fetch(r, after, limit + 1, &l, &e);
    if (rc == -2) {
        free(l.items.p);
        return 0;
    }
    return http_list_done(r, &l, rc, &e, page_key, limit);
}

int http_reread(http_req *r, const http_resource *res, int status, int64_t id, int located)
{
    void *rec = calloc(1, res->size);
    nudge_err e = {0};
    int rc = rec ? res->get(r->n, r->key.clinic_id, id, rec, &e)
                 : codec_err(&e, NUDGE_ENOMEM, "", "out of memory");
    http_answer(r, rc, &e, status, res->fields, rec);
    if (rc == 0 && res->release)
        res->release(rec);
    free(rec);
    if (rc == 0 && located)
        snprintf(r->location, sizeof r->location, res->location, (long long)id);
    return 0;
}

int http_fail_body(http_req *r, const nudge_err *e)
{
    if (e->code != NUDGE_EINVAL)
        return http_fail(r, e);
    return http_problem(r, 422, "Invalid input", e->msg, e->field);
}

int http_get(http_req *r, const http_resource *res)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return http_reread(r, res, 200, id, 0);
}

int http_answer(http_req *r, int rc, const nudge_err *e, int status, const nudge_field *fields,
                const void *rec)
{
    if (rc < 0)
        return http_fail(r, e);
    const nudge_field *v = nudge_field_find(fields, "version");
    if (v) {
        int64_t version;
        memcpy(&version, (const char *)rec + v->offset, sizeof version);
        http_set_etag(r, version);
    }
    codec_buf b = {0};
    codec_text(&b, fields, rec, r->clinic.timezone);
    return http_ok_text(r, status, &b);
}

int64_t http_if_match_required(http_req *r, const char *what)
{
    int64_t want = http_if_match(r);
    if (want == 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "send If-Match with the ETag of the %s you edited", what);
        http_problem(r, 428, "Precondition required", msg, "If-Match");
    } else if (want < 0) {
        http_problem(r, 400, "Malformed request", "If-Match must be an ETag such as \"3\"",
                     "If-Match");
    }
    return want;
}

int http_query_id(http_req *r, const char *name, int64_t *out)
{
    const char *s = http_query(r, name);
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0 || errno == ERANGE || *s < '0' || *s > '9') {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a positive id", name);
        return http_problem(r, 400, "Malformed request", msg, name), -1;
    }
    *out = v;
    return 0;
}

/* An RFC 3339 time in the query (with its offset); absent leaves *out. */
int http_query_time(http_req *r, const char *name, int64_t *out)
{
    const char *s = http_query(r, name);
    nudge_err e = {0};
    if (s && nudge_time_parse(s, NULL, out, name, &e) < 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be an RFC 3339 time with an offset", name);
        return http_problem(r, 400, "Malformed request", msg, name), -1;
    }
    return 0;
}

int http_create(http_req *r, const http_resource *res)
{
    json_t *j = http_body(r);
    if (!j)
        return 0;
    void *rec = calloc(1, res->size);
    nudge_err e = {0};
    int64_t id = 0;
    int rc = rec ? 0 : codec_err(&e, NUDGE_ENOMEM, "", "out of memory");
    if (rc == 0) {
        res->init(rec);
        rc = codec_in(res->fields, j, r->clinic.timezone, rec, res->size, 0, &e);
    }
    json_decref(j);
    if (rc < 0) {
        free(rec);
        return http_fail_body(r, &e);
    }
    rc = res->add(r, rec, &id, &e);
    free(rec);
    if (rc < 0)
        return http_fail(r, &e);
    return http_reread(r, res, 201, id, 1);
}

int http_update(http_req *r, const http_resource *res)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    int64_t want = http_if_match_required(r, res->what);
    if (want <= 0)
        return 0;
    char *rec = calloc(2, res->size), *before = rec + res->size;
    nudge_err e = {0};
    int rc = rec ? res->get(r->n, r->key.clinic_id, id, rec, &e)
                 : codec_err(&e, NUDGE_ENOMEM, "", "out of memory");
    json_t *j = NULL;
    if (rc < 0) {
        http_fail(r, &e);
    } else if ((j = http_body(r))) {
        memcpy(before, rec, res->size);
        rc = codec_in(res->fields, j, r->clinic.timezone, rec, res->size, 1, &e);
        json_decref(j);
        if (rc < 0)
            http_fail_body(r, &e);
        else if (!res->check_edit || res->check_edit(r, before, rec) == 0) {
            rc = res->update(r, rec, want, &e);
            http_answer(r, rc, &e, 200, res->fields, rec);
        }
    }
    free(rec);
    return 0;
}
