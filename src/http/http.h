/*
 * http.h: what the HTTP server (server.c) and the resource handlers (one
 * file per resource family) share. A handler gets a parsed request whose
 * caller is already authenticated and whose role is already allowed, calls
 * the library with the key's clinic, and fills in a response. Handlers
 * never talk to libmicrohttpd.
 */
#ifndef NUDGE_HTTP_H
#define NUDGE_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/codec.h"
#include "nudge.h"

typedef struct http_req {
    nudge *n;            /* this worker thread's handle */
    const char *method;  /* GET POST PUT PATCH DELETE */
    const char *path;
    const char *params[3]; /* {name}s of the route, in order */
    const char *body;    /* raw body, NUL-terminated (may be "") */
    size_t body_len;
    void *conn;          /* for query and header lookups */
    nudge_key key;       /* the caller */
    nudge_clinic clinic; /* the caller's clinic */
    /* response */
    int status;
    json_t *out;         /* stolen by the server */
    char *text;          /* or a JSON answer already written (owned; codec_text) */
    char *raw;           /* a non-JSON body instead (owned), with its type: */
    const char *raw_type;
    int route;           /* index in http_routes, -1 when none matched */
    char etag[32];
    char location[128];
    char allow[64]; /* methods of a path answered 405 */
    const char *cache; /* Cache-Control of a dashboard file (static.c); NULL: no-store */
} http_req;

typedef int (*http_handler)(http_req *r);

/* min_role: the weakest role allowed (ADMIN < STAFF < INTEGRATION in
 * numbers, so a role passes when role <= min_role). 0: no auth at all. */
typedef struct http_route {
    const char *method;
    const char *pattern; /* "/v1/patients/{id}" */
    http_handler fn;
    int min_role;
    /* The query parameters it takes, space-separated ("after limit"); an
     * id-valued one is written "name:id". Any other is refused (request.c).
     * NULL: none. Provider routes (min_role 0) are not checked. */
    const char *query;
} http_route;

extern const http_route http_routes[];

/* static.c: the dashboard's files at / and /dash/, answered without a key;
 * 1 when r was one of them (answered), 0 for the API to route. */
int http_static(http_req *r);
extern const char *const http_static_csp;

/* metrics.c: counts answered requests per route and status. */
void metrics_count(int route, int status);

/* Responses. Each returns 0 so handlers can `return http_ok(r, 200, j);`. */
int http_ok(http_req *r, int status, json_t *body);
/* The same with the body as JSON text (b->p is taken; *b is emptied):
 * records written by codec_text rather than built as trees. */
int http_ok_text(http_req *r, int status, codec_buf *b);
/* Adds a member to the answer's object, whether a tree or text (json:
 * len bytes of JSON text): a record's answer with what goes with it. */
void http_add_member(http_req *r, const char *name, const char *json, size_t len);
/* RFC 9457 problem from a library error: EINVAL 422 (400 for malformed),
 * ENOTFOUND 404, ECONFLICT 409, anything else 500 (no internals shown). */
int http_fail(http_req *r, const nudge_err *e);
/* A body the codec (codec.h) refused: its error already names the JSON
 * field, which is not renamed as a library error's is (a body's unknown
 * "at" is "at", not "start_at"). */
int http_fail_body(http_req *r, const nudge_err *e);
int http_problem(http_req *r, int status, const char *title, const char *detail,
                 const char *field);

/* The request body as a JSON object; on failure the problem is already
 * set and NULL returned. Caller decrefs. */
json_t *http_body(http_req *r);
const char *http_query(http_req *r, const char *name);
const char *http_header(http_req *r, const char *name);
/* Path parameter i as a positive id; on failure a 404 is set. */
int http_param_id(http_req *r, int i, int64_t *out);
/* ?limit (1..200, default 50) and ?after (an id); on failure a 400 is set. */
int http_paging(http_req *r, int64_t *after, int *limit);
/* A list being collected by a library callback: items are the records
 * encoded by their table, times in the clinic's zone. Every list handler
 * fills one and ends with http_list_done. */
typedef struct http_list {
    codec_buf items; /* the items' JSON text, comma-separated */
    const char *tz;
    const nudge_field *fields;
    int64_t last; /* id of the last item */
    int count;
    int max;  /* a page: items past max are not kept, only noted in more */
    int more;
} http_list;
#define HTTP_LIST(r, f) {{0}, (r)->clinic.timezone, (f), 0, 0, 0, 0}
/* Appends rec; returns 0 (go on), for use as a list callback's body. */
int http_list_put(http_list *l, const void *rec, int64_t id);
/* Appends an item built as a tree (stolen), for records with more than
 * their table (a prescription's medications). */
void http_list_put_json(http_list *l, json_t *item);
/* The items as a JSON array's text in b (l->items is emptied). */
void http_list_array(http_list *l, codec_buf *b);
/* The end of a list handler: rc < 0 answers e; else {"data": items} and,
 * with page_key ("next_after", "next_before"), the cursor of the next
 * page when there is one (the fetch found an item past the page), else
 * null: a full last page has no cursor to an empty one. */
int http_list_done(http_req *r, http_list *l, int rc, const nudge_err *e, const char *page_key,
                   int limit);
/* Fetches one page into l (through http_list_put); -1 with e set for a
 * library error, -2 when it has set a problem itself (a bad query). */
typedef int (*http_fetch)(http_req *r, int64_t after, int limit, http_list *l, nudge_err *e);
/* A paged list handler: ?after and ?limit, then fetch, then the page with
 * its page_key cursor. */
int http_list_page(http_req *r, const nudge_field *fields, http_fetch fetch,
                   const char *page_key);

/* A resource: its table and the library calls that read, create and edit
 * one (resource.c walks them). Calls a resource does not offer are NULL. */
typedef struct http_resource {
    const char *location; /* "/v1/patients/%lld" */
    const char *what;     /* "patient": for messages */
    const nudge_field *fields;
    size_t size; /* of the record */
    int (*get)(nudge *n, int64_t clinic_id, int64_t id, void *out, nudge_err *err);
    void (*release)(void *rec); /* frees what get allocated; NULL: nothing */
    void (*init)(void *rec);    /* a new record's defaults, before the body */
    int (*add)(http_req *r, void *rec, int64_t *id, nudge_err *err);
    int (*update)(http_req *r, void *rec, int64_t if_version, nudge_err *err);
    /* An edit the table allows but the resource refuses: -1 with a
     * problem set. NULL: none. */
    int (*check_edit)(http_req *r, const void *before, const void *after);
} http_resource;
/* GET .../{id}: path parameter 0. */
int http_get(http_req *r, const http_resource *res);
/* POST: the body decoded over init's defaults, added, answered 201 with
 * the stored record and its Location. */
int http_create(http_req *r, const http_resource *res);
/* PATCH .../{id} with If-Match required: the stored record, the body over
 * it, check_edit, update; answered with the stored record. */
int http_update(http_req *r, const http_resource *res);
/* ?name as a positive id: 0 (absent leaves *out), or -1 with 400 set. */
int http_query_id(http_req *r, const char *name, int64_t *out);
int http_query_time(http_req *r, const char *name, int64_t *out);
/* Answers with the stored record id (re-read, so the client sees what was
 * stored); `located`: with its Location, for a create. */
int http_reread(http_req *r, const http_resource *res, int status, int64_t id, int located);

/* The end of a handler that read one record: rc < 0 answers e; else the
 * record encoded by its table, with its version as the ETag when the
 * table has one. */
int http_answer(http_req *r, int rc, const nudge_err *e, int status, const nudge_field *fields,
                const void *rec);

/* For actions that take no input: a body of no bytes or the empty object
 * {}; anything else (a NUL byte included: the body is bytes with a
 * length) is refused with a problem set and -1 returned. */
int http_no_body(http_req *r);
/* If-Match: 0 absent, else the version it names (-1 if malformed). */
int64_t http_if_match(http_req *r);
void http_set_etag(http_req *r, int64_t version);
/* If-Match on an edit, where it is required: the version (> 0), or <= 0
 * with 428 (absent; "the <what> you edited") or 400 (malformed) set. */
int64_t http_if_match_required(http_req *r, const char *what);

/* request.c: the HTTP-level checks of an authenticated request before its
 * handler runs: a body's Content-Type (415), framing headers given twice
 * with different values, and the query parameters its route takes (by
 * name and kind). 0, or -1 with a problem set. */
int http_request_check(http_req *r, const http_route *rt);
/* libmicrohttpd's URL unescaper (MHD_OPTION_UNESCAPE_CALLBACK): %HH
 * decoded, except %00, which stays three characters. */
struct MHD_Connection;
size_t http_unescape(void *cls, struct MHD_Connection *c, char *s);

/* A list callback for reminder plans (patients.c): two resources list them. */
int http_reminder_put(void *ctx, const nudge_reminder *rm);

#endif
