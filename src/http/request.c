/*
 * request.c: what an authenticated request must be at the HTTP level
 * before its handler sees it, checked once for every route: a body comes
 * as JSON (415 otherwise), a framing header is not given twice with
 * different values, an Idempotency-Key is visible ASCII, and the query
 * holds only the parameters its route
 * takes (routes.c), each once, ids as positive 64-bit numbers. Refusing an
 * unknown or malformed parameter, rather than ignoring it, keeps a typo
 * (?patient=4) from answering a whole unfiltered list. Values inside a
 * body are the library's to judge; the handlers hand them on.
 *
 * It also decodes the URL (http_unescape, given to libmicrohttpd): %00 is
 * left as it came, so a NUL cannot cut a path short ("/v1/audit%00x" is
 * not "/v1/audit") or hide in a query value.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "http/codec.h"
#include "http/http.h"

/* Headers whose two different values would mean two different requests to
 * two different readers (request smuggling), so either is a lie. */
static const char *const framing[] = {"Content-Length", "Transfer-Encoding", "Content-Type",
                                      "Authorization", "If-Match", "Idempotency-Key"};

struct header_scan {
    const char *name;
    const char *first;
    int differ;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct header_scan *h = cls;
    if (!key || strcasecmp(key, h->name))
        return MHD_YES;
    if (!h->first)
        h->first = value ? value : "";
    else if (strcmp(h->first, value ? value : ""))
        h->differ = 1;
    return MHD_YES;
}

/* A positive decimal id that fits in 63 bits. */
static int request_id_ok(const char *s, size_t len)
{
    if (!len || len > 19)
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v > 0 && v <= (unsigned long long)INT64_MAX;
}

/* The kind of query parameter `name` on a route ("id", "" for text), or
 * NULL when the route does not take it. */
static const char *request_param_kind(const char *spec, const char *name, size_t len)
{
    for (const char *p = spec; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " :");
        const char *kind = p[n] == ':' ? p + n + 1 : "";
        if (n == len && !strncmp(p, name, len))
            return strncmp(kind, "id", 2) ? "" : "id";
        p += strcspn(p, " ");
    }
    return NULL;
}

struct query_scan {
    http_req *r;
    const http_route *rt;
    char seen[8][32];
    int nseen;
    int bad;
};

static enum MHD_Result scan_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_len, const char *value, size_t value_len)
{
    (void)kind;
    struct query_scan *q = cls;
    char name[32], msg[128];
    snprintf(name, sizeof name, "%.*s", (int)(key_len < 31 ? key_len : 31), key ? key : "");
    const char *k = request_param_kind(q->rt->query, key ? key : "", key ? key_len : 0);
    if (!k || memchr(key, 0, key_len)) {
        for (char *c = name; *c; c++) /* quoted back: printable ASCII only */
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        snprintf(msg, sizeof msg, "this resource takes no query parameter \"%.31s\"", name);
        http_problem(q->r, 400, "Malformed request", msg, name);
        return q->bad = 1, MHD_NO;
    }
    for (int i = 0; i < q->nseen; i++)
        if (!strcmp(q->seen[i], name)) {
            snprintf(msg, sizeof msg, "%s is given more than once", name);
            http_problem(q->r, 400, "Malformed request", msg, name);
            return q->bad = 1, MHD_NO;
        }
    if (q->nseen < 8)
        snprintf(q->seen[q->nseen++], sizeof q->seen[0], "%s", name);
    if (!value || (value_len && memchr(value, 0, value_len)) ||
        (*k && !request_id_ok(value, value_len)) || !codec_utf8_ok(value, value_len)) {
        snprintf(msg, sizeof msg,
                 *k ? "%s must be a positive id" : value && value_len ? "%s must be UTF-8 text" : "%s must be a value",
                 name);
        http_problem(q->r, 400, "Malformed request", msg, name);
        return q->bad = 1, MHD_NO;
    }
    return MHD_YES;
}

/* application/json, any case, with parameters (charset) allowed. */
static int request_is_json(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1))
        return 0;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return !*ct || *ct == ';';
}

static int request_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        int hi = *p == '%' ? request_hex(p[1]) : -1;
        int lo = hi >= 0 ? request_hex(p[2]) : -1;
        if (lo >= 0 && (hi | lo)) {
            *w++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *w++ = *p; /* not an escape, or %00: kept as it came */
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

int http_request_check(http_req *r, const http_route *rt)
{
    for (size_t i = 0; i < sizeof framing / sizeof *framing; i++) {
        struct header_scan h = {framing[i], NULL, 0};
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_header, &h);
        if (h.differ) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s is given twice with different values", framing[i]);
            return http_problem(r, 400, "Malformed request", msg, framing[i]), -1;
        }
    }
    if (!rt->min_role) /* providers: their own forms and parameters */
        return 0;
    /* Stored with the answer it keys: text any engine takes, as HTTP's
     * field values are (visible ASCII and spaces). */
    const char *ik = http_header(r, "Idempotency-Key");
    for (const char *p = ik; p && *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return http_problem(r, 400, "Malformed request",
                                "Idempotency-Key must be visible ASCII characters",
                                "Idempotency-Key"),
                   -1;
    if (r->body_len && !request_is_json(http_header(r, "Content-Type")))
        return http_problem(r, 415, "Unsupported media type",
                            "the body must be sent as Content-Type: application/json",
                            "Content-Type"),
               -1;
    struct query_scan q = {.r = r, .rt = rt};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, scan_query, &q);
    return q.bad ? -1 : 0;
}
