/*
 * httputil.h: the API server in the test process (on a fake clock, on a
 * free 127.0.0.1 port) and a libcurl client for it. Two clinics, A and B,
 * each with admin, staff and integration keys.
 *
 * With NUDGE_CONTRACT_LOG naming a file, every call appends one JSON line
 * (method, path, status, headers, body) to it: tests/contract.py checks
 * each answer against docs/openapi.json after the suites have run.
 */
#ifndef NUDGE_TEST_HTTPUTIL_H
#define NUDGE_TEST_HTTPUTIL_H

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "http/server.h"
#include "testutil.h"
#include "util.h"

typedef struct api_env {
    tu_env env;
    http_server *srv;
    int port;
    int64_t clinic_a, clinic_b;
    char admin_a[NUDGE_KEY_SECRET_LEN], staff_a[NUDGE_KEY_SECRET_LEN],
        integ_a[NUDGE_KEY_SECRET_LEN], admin_b[NUDGE_KEY_SECRET_LEN];
} api_env;

typedef struct api_resp {
    long status;
    json_t *json; /* NULL when the body is not JSON */
    char *body;
    char content_type[64];
    char etag[32];
    char location[128];
    json_t *headers; /* every answer header, names in lower case */
} api_resp;

static inline int64_t api_clinic(nudge *n, const char *name, const char *tz)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.timezone, sizeof c.timezone, "%s", tz);
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static inline void api_key(nudge *n, int64_t clinic, int role, char *secret)
{
    nudge_key k;
    nudge_err e = {0};
    if (nudge_key_create(n, clinic, role, "test", &k, secret, &e) < 0)
        fail_msg("key: %s", e.msg);
}

/* An API server on a's database and fake clock, on a free port, with
 * `threads` threads. */
static inline http_server *api_server(api_env *a, int threads)
{
    http_config hc = {
        .listen = "127.0.0.1:0",
        .nudge = {.db = a->env.db, .outbox_dir = a->env.outbox, .clock = &a->env.clock},
        .max_body = 64 * 1024,
        .threads = threads,
    };
    nudge_err e = {0};
    http_server *srv = NULL;
    if (http_start(&hc, &srv, &e) < 0)
        fail_msg("http_start: %s", e.msg);
    return srv;
}

static inline void api_open(api_env *a, int64_t t)
{
    memset(a, 0, sizeof *a);
    tu_open(&a->env, t);
    a->clinic_a = api_clinic(a->env.n, "Clinic A", "Asia/Kolkata");
    a->clinic_b = api_clinic(a->env.n, "Clinic B", "America/New_York");
    api_key(a->env.n, a->clinic_a, NUDGE_ROLE_ADMIN, a->admin_a);
    api_key(a->env.n, a->clinic_a, NUDGE_ROLE_STAFF, a->staff_a);
    api_key(a->env.n, a->clinic_a, NUDGE_ROLE_INTEGRATION, a->integ_a);
    api_key(a->env.n, a->clinic_b, NUDGE_ROLE_ADMIN, a->admin_b);
    a->srv = api_server(a, 2);
    a->port = http_port(a->srv);
}

static inline void api_close(api_env *a)
{
    http_stop(a->srv);
    tu_close(&a->env);
}

static inline size_t api_collect(char *p, size_t sz, size_t n, void *ud)
{
    sbuf_add(ud, p, sz * n);
    return sz * n;
}

static inline size_t api_header(char *p, size_t sz, size_t n, void *ud)
{
    api_resp *r = ud;
    size_t len = sz * n;
    const char *colon = memchr(p, ':', len);
    if (colon && r->headers) {
        char name[64], value[512];
        size_t nl = (size_t)(colon - p), vs = nl + 1;
        while (vs < len && p[vs] == ' ')
            vs++;
        size_t vl = len - vs;
        while (vl && (p[vs + vl - 1] == '\r' || p[vs + vl - 1] == '\n'))
            vl--;
        if (nl < sizeof name && vl < sizeof value) {
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)tolower((unsigned char)p[i]);
            name[nl] = 0;
            memcpy(value, p + vs, vl);
            value[vl] = 0;
            json_object_set_new(r->headers, name, json_stringn(value, vl));
        }
    }
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } want[] = {{"content-type:", r->content_type, sizeof r->content_type},
                {"etag:", r->etag, sizeof r->etag},
                {"location:", r->location, sizeof r->location}};
    for (size_t i = 0; i < 3; i++) {
        size_t nl = strlen(want[i].name);
        if (len > nl && !strncasecmp(p, want[i].name, nl)) {
            const char *v = p + nl;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                vl--;
            if (vl >= want[i].cap)
                vl = want[i].cap - 1;
            memcpy(want[i].dst, v, vl);
            want[i].dst[vl] = 0;
        }
    }
    return len;
}

/* Appends the exchange to $NUDGE_CONTRACT_LOG, if set: one JSON line. */
static inline void api_record(const char *method, const char *path, const api_resp *r)
{
    const char *log = getenv("NUDGE_CONTRACT_LOG");
    if (!log || !*log)
        return;
    json_t *o = json_pack("{s:s, s:s, s:i, s:O, s:s?}", "method", method, "path", path, "status",
                          (int)r->status, "headers", r->headers, "body", r->body);
    FILE *f = fopen(log, "a");
    if (o && f) {
        json_dumpf(o, f, JSON_COMPACT);
        fputc('\n', f);
    }
    if (f)
        fclose(f);
    json_decref(o);
}

/* One request. key NULL: no Authorization. headers: extra "Name: value"
 * lines, NULL-terminated, may be NULL. body NULL: none. */
static inline api_resp api_call_raw(api_env *a, const char *method, const char *path,
                                    const char *key, const char *body, size_t body_len,
                                    const char *const *headers)
{
    api_resp r;
    memset(&r, 0, sizeof r);
    CURL *c = curl_easy_init();
    char url[512], auth[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", a->port, path);
    struct curl_slist *h = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    int own_type = 0; /* a test sending its own Content-Type (or none: "Content-Type:") */
    for (const char *const *x = headers; x && *x; x++)
        own_type |= !strncasecmp(*x, "Content-Type:", 13);
    if (body && !own_type)
        h = curl_slist_append(h, "Content-Type: application/json");
    for (; headers && *headers; headers++)
        h = curl_slist_append(h, *headers);
    r.headers = json_object();
    sbuf out = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, api_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    r.body = sbuf_take(&out);
    r.json = json_loads(r.body, 0, NULL);
    api_record(method, path, &r);
    return r;
}

static inline api_resp api_call(api_env *a, const char *method, const char *path,
                                const char *key, const char *body)
{
    return api_call_raw(a, method, path, key, body, body ? strlen(body) : 0, NULL);
}

static inline void api_free(api_resp *r)
{
    json_decref(r->json);
    json_decref(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static inline const char *api_str(const api_resp *r, const char *field)
{
    json_t *v = json_object_get(r->json, field);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static inline int64_t api_int(const api_resp *r, const char *field)
{
    return json_integer_value(json_object_get(r->json, field));
}

/* Sends bytes as they are on a new connection and returns what came back
 * (the status line, headers and body; owned), for requests no HTTP client
 * would send. */
static inline char *api_send_bytes(api_env *a, const char *req, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        fail_msg("connect: %s", strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, req + off, len - off);
        if (w <= 0)
            fail_msg("write: %s", strerror(errno));
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sbuf out = {0};
    char buf[4096];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0)
        sbuf_add(&out, buf, (size_t)got);
    close(fd);
    char *text = sbuf_take(&out);
    return text ? text : calloc(1, 1);
}

/* Asserts a problem+json answer with this status (and field, if given). */
#define API_EXPECT_PROBLEM(resp, st, fld)                                                     \
    do {                                                                                      \
        if ((resp).status != (st))                                                            \
            fail_msg("want %d, got %ld: %s", (st), (resp).status, (resp).body);               \
        assert_string_equal((resp).content_type, "application/problem+json");                 \
        assert_non_null(api_str(&(resp), "title"));                                           \
        assert_non_null(api_str(&(resp), "detail"));                                          \
        if (fld)                                                                              \
            assert_string_equal(api_str(&(resp), "field") ? api_str(&(resp), "field") : "",  \
                                (const char *)(fld));                                         \
    } while (0)

#endif
