/*
 * static.c: the staff dashboard's files (web/, embedded at build time by
 * scripts/embed-assets.sh) at / and /dash/. The only answers without a key
 * besides health and the document: every datum the dashboard shows it
 * fetches from /v1 with the key the user signed in with, so it can do
 * nothing an integrator cannot. Each file carries a strict
 * Content-Security-Policy (scripts and styles from this origin only, no
 * inline code, no framing), and an ETag from its bytes with no-cache, so
 * a browser revalidates and an upgraded binary is never mixed with old
 * files.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

typedef struct http_asset {
    const char *path, *type, *etag, *data;
    size_t len;
} http_asset;
extern const http_asset http_assets[];

const char *const http_static_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

/* The If-None-Match header names this ETag (a list, or *). */
static int static_fresh(http_req *r, const char *etag)
{
    const char *h = http_header(r, "If-None-Match");
    if (!h)
        return 0;
    if (!strcmp(h, "*"))
        return 1;
    size_t n = strlen(etag);
    for (const char *p = strstr(h, etag); p; p = strstr(p + 1, etag))
        if ((p == h || p[-1] == ' ' || p[-1] == ',') && (!p[n] || p[n] == ',' || p[n] == ' '))
            return 1;
    return 0;
}

int http_static(http_req *r)
{
    const char *path = r->path;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return 0;
    if (!strcmp(path, "/"))
        path = "/dash/index.html";
    else if (strncmp(path, "/dash/", 6))
        return 0;
    const http_asset *a = http_assets;
    while (a->path && strcmp(a->path, path))
        a++;
    if (!a->path)
        return 0; /* the API's 404 */
    r->cache = "no-cache";
    snprintf(r->etag, sizeof r->etag, "%s", a->etag);
    if (static_fresh(r, a->etag)) {
        r->status = 304;
        r->raw = calloc(1, 1);
        r->raw_type = a->type;
        return 1;
    }
    if (!(r->raw = malloc(a->len + 1)))
        return http_problem(r, 500, "Internal error", "out of memory", NULL), 1;
    memcpy(r->raw, a->data, a->len + 1);
    r->raw_type = a->type;
    r->status = 200;
    return 1;
}
