/*
 * test_http_matrix.c: the HTTP API's conventions checked route by route,
 * iterating over the route table itself (http_routes), so a route added
 * later is covered without anyone remembering to add it here:
 *
 *   - authentication and roles on every authenticated route;
 *   - tenant isolation on every route with an {id} (another clinic's id
 *     answers exactly like an id that does not exist) and on the
 *     per-clinic template routes;
 *   - every write route refuses malformed, array, bad UTF-8, oversized,
 *     too deeply nested, unknown-field and wrong-type bodies with a
 *     problem+json answer and writes nothing;
 *   - unknown paths are 404 and known paths with another method are 405.
 *
 * "Nothing written" is a fingerprint of the whole database: every row of
 * every table (found from sqlite_master or PostgreSQL's catalog, so new
 * tables are covered too),
 * hashed, read through a separate read-only connection. Only
 * api_keys.last_used_at is left out: authenticating a read updates it.
 *
 * A route the fixtures below do not describe (which object its {id} is
 * about, which actions its {action} takes, what body it takes) fails with
 * a message saying what to add.
 *
 * Checks are soft within a test: every failure is printed with its route
 * and the test fails at the end with the count and the first failure, so
 * one run shows every broken route.
 */
#include "httputil.h"

#include <sqlite3.h>
#include <stdarg.h>

#include "http/http.h"

#define T0 TU_T(2026, 11, 24, 6, 0) /* 11:30 in Kolkata */
#define ABSENT_ID 987654321LL       /* an id no table reaches in a test */

/* ---- soft checks ---- */

static int g_fails;
static char g_first[1024];

static void failf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    print_error("FAIL: %s\n", buf);
    if (!g_fails++)
        snprintf(g_first, sizeof g_first, "%s", buf);
}

static void finish(void)
{
    if (g_fails) {
        int n = g_fails;
        g_fails = 0;
        fail_msg("%d check(s) failed (each printed above); first: %s", n, g_first);
    }
}

/* ---- the database fingerprint ---- */

#define FP_MAX 64
typedef struct fp {
    int n;
    char name[FP_MAX][64];
    uint64_t hash[FP_MAX];
} fp;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The same fingerprint on PostgreSQL: tables from the catalog, every value
 * as its text form (NULL marked apart from ""), through a connection of
 * its own. The connection and the table list are kept for the test's
 * database, and every table is read in one round trip: a connection and
 * a catalog query per fingerprint, after each of the matrix's thousands
 * of requests, made this suite 800 s on PostgreSQL against 13 on SQLite. */
static PGconn *g_fp_conn;
static char g_fp_url[256], g_fp_sql[FP_MAX * 48];
static int g_fp_tables;
static char g_fp_name[FP_MAX][64];

static void fp_connect_pg(const char *url)
{
    if (g_fp_conn && !strcmp(g_fp_url, url) && PQstatus(g_fp_conn) == CONNECTION_OK)
        return;
    if (g_fp_conn)
        PQfinish(g_fp_conn);
    g_fp_conn = PQconnectdb(url);
    if (PQstatus(g_fp_conn) != CONNECTION_OK)
        fail_msg("fingerprint: %s", PQerrorMessage(g_fp_conn));
    snprintf(g_fp_url, sizeof g_fp_url, "%s", url);
    PGresult *tl = PQexec(g_fp_conn, "SELECT table_name FROM information_schema.tables WHERE "
                                     "table_schema = 'public' ORDER BY table_name");
    if (PQresultStatus(tl) != PGRES_TUPLES_OK)
        fail_msg("fingerprint: %s", PQerrorMessage(g_fp_conn));
    g_fp_tables = 0;
    size_t off = 0;
    for (int t = 0; t < PQntuples(tl) && g_fp_tables < FP_MAX; t++) {
        const char *name = PQgetvalue(tl, t, 0);
        snprintf(g_fp_name[g_fp_tables++], sizeof g_fp_name[0], "%s", name);
        off += (size_t)snprintf(g_fp_sql + off, sizeof g_fp_sql - off, "SELECT * FROM \"%s\";",
                                name);
        if (off >= sizeof g_fp_sql)
            fail_msg("fingerprint: too many tables for the query");
    }
    PQclear(tl);
}

static void fp_take_pg(api_env *a, fp *f)
{
    fp_connect_pg(a->env.db);
    if (!PQsendQuery(g_fp_conn, g_fp_sql))
        fail_msg("fingerprint: %s", PQerrorMessage(g_fp_conn));
    PGresult *st;
    while ((st = PQgetResult(g_fp_conn))) {
        if (PQresultStatus(st) != PGRES_TUPLES_OK)
            fail_msg("fingerprint %s: %s", f->n < g_fp_tables ? g_fp_name[f->n] : "?",
                     PQerrorMessage(g_fp_conn));
        if (f->n >= g_fp_tables) {
            PQclear(st);
            continue;
        }
        const char *name = g_fp_name[f->n];
        snprintf(f->name[f->n], sizeof f->name[f->n], "%s", name);
        uint64_t sum = 0, rows = (uint64_t)PQntuples(st);
        for (int r = 0; r < PQntuples(st); r++) {
            uint64_t h = 14695981039346656037ull;
            for (int col = 0; col < PQnfields(st); col++) {
                if (!strcmp(name, "api_keys") && !strcmp(PQfname(st, col), "last_used_at"))
                    continue;
                int null = PQgetisnull(st, r, col), len = PQgetlength(st, r, col);
                h = fnv(h, &col, sizeof col);
                h = fnv(h, &null, sizeof null);
                h = fnv(h, PQgetvalue(st, r, col), (size_t)len);
            }
            sum += h; /* order-independent */
        }
        PQclear(st);
        f->hash[f->n] = sum * 31 + rows;
        f->n++;
    }
}

static void fp_take(api_env *a, fp *f)
{
    memset(f, 0, sizeof *f);
    if (tu_pg_admin()) {
        fp_take_pg(a, f);
        return;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(a->env.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("fingerprint: cannot open %s", a->env.db);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *tl;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                           -1, &tl, NULL) != SQLITE_OK)
        fail_msg("fingerprint: %s", sqlite3_errmsg(db));
    while (sqlite3_step(tl) == SQLITE_ROW && f->n < FP_MAX) {
        const char *t = (const char *)sqlite3_column_text(tl, 0);
        snprintf(f->name[f->n], sizeof f->name[f->n], "%s", t);
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            fail_msg("fingerprint %s: %s", t, sqlite3_errmsg(db));
        uint64_t sum = 0, rows = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t h = 14695981039346656037ull;
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                if (!strcmp(t, "api_keys") && !strcmp(sqlite3_column_name(st, c), "last_used_at"))
                    continue;
                int type = sqlite3_column_type(st, c);
                const void *b = sqlite3_column_blob(st, c);
                int len = sqlite3_column_bytes(st, c);
                h = fnv(h, &c, sizeof c);
                h = fnv(h, &type, sizeof type);
                h = fnv(h, &len, sizeof len);
                if (b && len > 0)
                    h = fnv(h, b, (size_t)len);
            }
            sum += h; /* order-independent */
            rows++;
        }
        if (rc != SQLITE_DONE)
            fail_msg("fingerprint %s: %s", t, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        f->hash[f->n] = sum * 31 + rows;
        f->n++;
    }
    sqlite3_finalize(tl);
    sqlite3_close(db);
}

/* Compares the database with *base; a difference is a failure naming the
 * tables that changed, and the new state becomes the base so one write is
 * reported once. */
static void fp_check(api_env *a, fp *base, const char *what)
{
    fp now;
    fp_take(a, &now);
    char changed[512] = "";
    size_t l = 0;
    for (int i = 0; i < now.n || i < base->n; i++) {
        int same = i < now.n && i < base->n && !strcmp(now.name[i], base->name[i]) &&
                   now.hash[i] == base->hash[i];
        if (!same && l < sizeof changed - 70)
            l += (size_t)snprintf(changed + l, sizeof changed - l, "%s%s", l ? ", " : "",
                                  i < now.n ? now.name[i] : base->name[i]);
    }
    if (*changed) {
        failf("%s: the request wrote to the database (changed: %s)", what, changed);
        *base = now;
    }
}

/* ---- HTTP with every header we look at ---- */

typedef struct mx_hdrs {
    api_resp *r;
    char www_auth[128];
    char allow[128];
} mx_hdrs;

static size_t mx_header(char *p, size_t sz, size_t n, void *ud)
{
    mx_hdrs *h = ud;
    size_t len = sz * n;
    api_header(p, sz, n, h->r);
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } want[] = {{"www-authenticate:", h->www_auth, sizeof h->www_auth},
                {"allow:", h->allow, sizeof h->allow}};
    for (size_t i = 0; i < 2; i++) {
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

/* One request; headers are whole "Name: value" lines (Authorization
 * included), NULL-terminated, may be NULL. hdrs may be NULL. */
static api_resp mx_call(api_env *a, const char *method, const char *path,
                        const char *const *headers, const char *body, size_t body_len,
                        mx_hdrs *hdrs)
{
    api_resp r;
    memset(&r, 0, sizeof r);
    mx_hdrs local;
    if (!hdrs)
        hdrs = &local;
    memset(hdrs, 0, sizeof *hdrs);
    hdrs->r = &r;
    CURL *c = curl_easy_init();
    char url[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", a->port, path);
    struct curl_slist *h = NULL;
    if (body)
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
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, mx_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
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
    if (!r.body)
        r.body = str_dup("");
    r.json = json_loads(r.body, 0, NULL);
    api_record(method, path, &r);
    hdrs->r = NULL;
    return r;
}

/* As mx_call with "Authorization: Bearer key" (key NULL: none) and at most
 * one more header line (NULL: none). */
static api_resp mx_key(api_env *a, const char *method, const char *path, const char *key,
                       const char *extra, const char *body, size_t body_len, mx_hdrs *hdrs)
{
    char auth[160];
    const char *hv[3] = {0};
    int n = 0;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hv[n++] = auth;
    }
    if (extra)
        hv[n++] = extra;
    return mx_call(a, method, path, hv, body, body_len, hdrs);
}

/* A problem+json answer with status st (or alt, when not 0) and, when
 * fields is given, "field" equal to one of the '|'-separated names. */
static int problem_ok(const char *what, const api_resp *r, int st, int alt, const char *fields)
{
    if (r->status != st && !(alt && r->status == alt)) {
        if (alt)
            failf("%s: want %d or %d, got %ld: %.300s", what, st, alt, r->status, r->body);
        else
            failf("%s: want %d, got %ld: %.300s", what, st, r->status, r->body);
        return 0;
    }
    if (strncmp(r->content_type, "application/problem+json", 24)) {
        failf("%s: %ld with Content-Type \"%s\", want application/problem+json", what, r->status,
              r->content_type);
        return 0;
    }
    if (!json_is_object(r->json)) {
        failf("%s: problem body is not a JSON object: %.300s", what, r->body);
        return 0;
    }
    const char *title = api_str(r, "title"), *detail = api_str(r, "detail");
    if (!title || !*title || !detail || !*detail) {
        failf("%s: problem without title and detail: %.300s", what, r->body);
        return 0;
    }
    json_t *s = json_object_get(r->json, "status");
    if (!json_is_integer(s) || json_integer_value(s) != r->status) {
        failf("%s: problem \"status\" member does not match the HTTP status %ld: %.300s", what,
              r->status, r->body);
        return 0;
    }
    if (fields) {
        const char *f = api_str(r, "field");
        int hit = 0;
        if (f) {
            size_t fl = strlen(f);
            for (const char *p = fields; *p;) {
                const char *e = strchr(p, '|');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                hit |= l == fl && !strncmp(p, f, l);
                p += l + (e ? 1 : 0);
            }
        }
        if (!hit) {
            failf("%s: problem should name field \"%s\", names \"%s\": %.300s", what, fields,
                  f ? f : "(none)", r->body);
            return 0;
        }
    }
    return 1;
}

/* Every run of digits becomes one '#': answers compared but for ids. */
static void squash_digits(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r >= '0' && *r <= '9') {
            if (w == s || w[-1] != '#')
                *w++ = '#';
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

/* Replaces every occurrence of from with to in s (in place; to no longer). */
static void replace_all(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p;
    while ((p = strstr(s, from))) {
        memmove(p + tl, p + fl, strlen(p + fl) + 1);
        memcpy(p, to, tl);
        s = p + tl;
    }
}

/* ---- the objects of clinic A a route's path can be about ---- */

typedef struct objs {
    int64_t patient, appt, notif, key, reminder, task, rx, recall;
    int64_t ticket, faq; /* issue 10 */
    int64_t wf_run; /* a run of the booking's workflows */
    int64_t lab, rx2;
    int64_t staff, webhook, segment, broadcast; /* issues 10 and 17 */
} objs;

static int64_t create(api_env *a, const char *path, const char *key, const char *body)
{
    api_resp r = api_call(a, "POST", path, key, body);
    if (r.status != 201)
        fail_msg("setup POST %s: %ld %s", path, r.status, r.body);
    int64_t id = api_int(&r, "id");
    api_free(&r);
    return id;
}

static void make_objs(api_env *a, objs *o)
{
    memset(o, 0, sizeof *o);
    o->patient = create(a, "/v1/patients", a->staff_a,
                        "{\"name\":\"Ram Lal\",\"phone\":\"9876543210\",\"language\":\"en\"}");
    char body[256];
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"service\":\"Teeth Cleaning\","
             "\"start_at\":\"2026-12-01T10:00:00+05:30\",\"duration_minutes\":30}",
             (long long)o->patient);
    o->appt = create(a, "/v1/appointments", a->staff_a, body);
    char path[96];
    snprintf(path, sizeof path, "/v1/appointments/%lld/reminders", (long long)o->appt);
    api_resp r = api_call(a, "GET", path, a->staff_a, NULL);
    json_t *first = json_array_get(json_object_get(r.json, "data"), 0);
    o->reminder = json_integer_value(json_object_get(first, "id"));
    if (r.status != 200 || !o->reminder)
        fail_msg("setup GET %s: no reminder planned: %ld %s", path, r.status, r.body);
    api_free(&r);
    r = api_call(a, "GET", "/v1/workflow-runs?limit=1", a->staff_a, NULL);
    o->wf_run = json_integer_value(
        json_object_get(json_array_get(json_object_get(r.json, "data"), 0), "id"));
    if (r.status != 200 || !o->wf_run)
        fail_msg("setup: the booking ran no workflow: %ld %s", r.status, r.body);
    api_free(&r);
    snprintf(body, sizeof body, "{\"patient_id\":%lld,\"template\":\"prescription_ready\"}",
             (long long)o->patient);
    o->notif = create(a, "/v1/notifications", a->staff_a, body);
    o->key = create(a, "/v1/keys", a->admin_a, "{\"role\":\"integration\",\"label\":\"victim\"}");
    o->task = create(a, "/v1/tasks", a->admin_a,
                     "{\"name\":\"purge\",\"fn\":\"purge\",\"kind\":\"daily\",\"schedule\":\"03:00\"}");
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"medications\":[{\"drug_name\":\"A\",\"dose\":\"1\","
             "\"frequency\":\"OD\",\"duration\":\"5 days\"}]}",
             (long long)o->patient);
    o->rx = create(a, "/v1/prescriptions", a->staff_a, body);
    /* A recall: a rule, and a visit of its service completed. */
    create(a, "/v1/recalls/rules", a->staff_a, "{\"service\":\"Filling\",\"after_days\":180}");
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"service\":\"Filling\","
             "\"start_at\":\"2026-12-02T10:00:00+05:30\"}",
             (long long)o->patient);
    int64_t done = create(a, "/v1/appointments", a->staff_a, body);
    snprintf(path, sizeof path, "/v1/appointments/%lld/complete", (long long)done);
    r = api_call(a, "POST", path, a->staff_a, NULL);
    api_free(&r);
    r = api_call(a, "GET", "/v1/recalls", a->staff_a, NULL);
    o->recall = json_integer_value(
        json_object_get(json_array_get(json_object_get(r.json, "data"), 0), "id"));
    if (r.status != 200 || !o->recall)
        fail_msg("setup: no recall: %ld %s", r.status, r.body);
    api_free(&r);
    /* A support ticket of the patient's and an FAQ entry of the clinic's. */
    snprintf(body, sizeof body, "{\"subject\":\"Crown\",\"patient_id\":%lld}",
             (long long)o->patient);
    o->ticket = create(a, "/v1/tickets", a->staff_a, body);
    o->faq = create(a, "/v1/faq", a->admin_a, "{\"question\":\"Implants?\",\"answer\":\"Yes.\"}");
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"test_name\":\"HbA1c\",\"due_on\":\"2026-12-10\"}",
             (long long)o->patient);
    o->lab = create(a, "/v1/labs", a->staff_a, body);
    /* The change route's own: the stop route, earlier in the table, stops rx. */
    snprintf(body, sizeof body,
             "{\"patient_id\":%lld,\"medications\":[{\"drug_name\":\"A\",\"dose\":\"1\","
             "\"frequency\":\"OD\",\"duration\":\"5 days\"}]}",
             (long long)o->patient);
    o->rx2 = create(a, "/v1/prescriptions", a->staff_a, body);
    /* A staff member, a webhook subscription, a segment and a notice. */
    o->staff = create(a, "/v1/staff", a->admin_a,
                      "{\"name\":\"Asha\",\"role\":\"reception\",\"email\":\"asha@example.com\"}");
    o->webhook = create(a, "/v1/webhooks", a->admin_a,
                        "{\"url\":\"https://crm.example.com/hook\",\"events\":\"appointment.booked\"}");
    o->segment = create(a, "/v1/segments", a->staff_a,
                        "{\"name\":\"Diabetics\",\"criteria\":{\"diagnosis\":\"diabetes\"}}");
    snprintf(body, sizeof body,
             "{\"kind\":\"notice\",\"name\":\"Holiday\",\"patient_ids\":[%lld],"
             "\"text\":\"Closed on Monday\"}",
             (long long)o->patient);
    o->broadcast = create(a, "/v1/broadcasts", a->staff_a, body);
}

/* The object of clinic A an {id} in this pattern names, by path prefix. */
static int64_t id_for(const char *pattern, const objs *o)
{
    static const struct {
        const char *prefix;
        size_t off;
    } map[] = {
        {"/v1/patients/", offsetof(objs, patient)},
        {"/v1/appointments/", offsetof(objs, appt)},
        {"/v1/notifications/", offsetof(objs, notif)},
        {"/v1/keys/", offsetof(objs, key)},
        {"/v1/reminders/", offsetof(objs, reminder)},
        {"/v1/tasks/", offsetof(objs, task)},
        {"/v1/prescriptions/{id}/change", offsetof(objs, rx2)},
        {"/v1/prescriptions/", offsetof(objs, rx)},
        {"/v1/recalls/", offsetof(objs, recall)},
        {"/v1/tickets/", offsetof(objs, ticket)},
        {"/v1/faq/", offsetof(objs, faq)},
        {"/v1/workflow-runs/", offsetof(objs, wf_run)},
        {"/v1/labs/", offsetof(objs, lab)},
        {"/v1/staff/", offsetof(objs, staff)},
        {"/v1/webhooks/", offsetof(objs, webhook)},
        {"/v1/segments/", offsetof(objs, segment)},
        {"/v1/broadcasts/", offsetof(objs, broadcast)},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strncmp(pattern, map[i].prefix, strlen(map[i].prefix)))
            return *(const int64_t *)((const char *)o + map[i].off);
    return 0;
}

/* The actions an {action} segment takes, by path prefix. */
#define MAX_ACTIONS 8
static int actions_for(const http_route *rt, const char *out[MAX_ACTIONS])
{
    static const char *const appt[] = {"confirm", "cancel", "complete", "no-show", "reschedule",
                                       NULL};
    static const char *const notif[] = {"retry", "cancel", NULL};
    static const char *const task[] = {"pause", "resume", "run", NULL};
    static const char *const ticket[] = {"reply", "assign", "close", "autoresolve", NULL};
    static const char *const broadcast[] = {"pause", "resume", "cancel", NULL};
    static const struct {
        const char *prefix;
        const char *const *actions;
    } map[] = {{"/v1/appointments/", appt}, {"/v1/notifications/", notif}, {"/v1/tasks/", task},
                 {"/v1/tickets/", ticket}, {"/v1/broadcasts/", broadcast}};
    if (!strstr(rt->pattern, "{action}")) {
        out[0] = NULL;
        return 1;
    }
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        if (strncmp(rt->pattern, map[i].prefix, strlen(map[i].prefix)))
            continue;
        int n = 0;
        for (; map[i].actions[n] && n < MAX_ACTIONS; n++)
            out[n] = map[i].actions[n];
        return n;
    }
    failf("%s %s: no actions known for {action}: add them to actions_for()", rt->method,
          rt->pattern);
    return 0;
}

/* pattern with {id}, {name}, {language} and {action} filled in. */
static void concretize(const char *pattern, long long id, const char *name, const char *lang,
                       const char *action, char *out, size_t cap)
{
    size_t l = 0;
    out[0] = 0;
    for (const char *p = pattern; *p && l < cap - 1;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            char v[128];
            if (!strncmp(p, "{id}", 4))
                snprintf(v, sizeof v, "%lld", id);
            else if (!strncmp(p, "{name}", 6))
                snprintf(v, sizeof v, "%s", name);
            else if (!strncmp(p, "{language}", 10))
                snprintf(v, sizeof v, "%s", lang);
            else if (!strncmp(p, "{action}", 8))
                snprintf(v, sizeof v, "%s", action ? action : "x");
            else
                snprintf(v, sizeof v, "x");
            l += (size_t)snprintf(out + l, cap - l, "%s", v);
            p = e ? e + 1 : p + strlen(p);
        } else {
            out[l++] = *p++;
            out[l] = 0;
        }
    }
}

static int is_write(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

static const char *key_of_role(api_env *a, int role)
{
    return role == NUDGE_ROLE_ADMIN   ? a->admin_a
           : role == NUDGE_ROLE_STAFF ? a->staff_a
                                      : a->integ_a;
}

/* ---- what a write route takes ---- */

/* body: a valid body, "@S@" where a string value goes and "@P@" for
 * clinic A's patient id; s: the string for a valid request (NULL: the
 * body has no string value, and the invalid UTF-8 goes into a member of
 * its own). wrong: a body with one field of the wrong type (wrong_field).
 * if_match: the route needs If-Match with the ETag a GET of the same path
 * answers. body NULL: the route takes no body. */
typedef struct body_fx {
    const char *body, *s, *wrong, *wrong_field;
    int if_match;
} body_fx;

/* Providers' webhooks take no API key and no JSON: their own signature
 * and form tests (test_twilio) hold them; so does the signed unsubscribe
 * link (tests/consent.sh). */
static int is_webhook(const http_route *rt)
{
    return !strncmp(rt->pattern, "/webhooks/", 10) || !strcmp(rt->pattern, "/unsubscribe");
}

static int body_for(const http_route *rt, const char *action, body_fx *fx)
{
    static const struct {
        const char *method, *pattern, *action;
        body_fx fx;
    } t[] = {
        {"PATCH", "/v1/clinic", NULL, {"{\"name\":\"@S@\"}", "Clinic A2", "{\"name\":42}", "name", 0}},
        {"POST", "/v1/patients", NULL,
         {"{\"name\":\"@S@\",\"phone\":\"9876543211\"}", "Sita Devi", "{\"name\":42}", "name", 0}},
        {"PATCH", "/v1/patients/{id}", NULL,
         {"{\"name\":\"@S@\"}", "Ram Prasad", "{\"tags\":\"vip\"}", "tags", 1}},
        {"POST", "/v1/appointments", NULL,
         {"{\"patient_id\":@P@,\"service\":\"@S@\",\"start_at\":\"2026-12-03T10:00:00+05:30\"}",
          "Checkup",
          "{\"patient_id\":@P@,\"service\":\"X\",\"start_at\":\"2026-12-03T10:00:00+05:30\","
          "\"duration_minutes\":\"60\"}",
          "duration_minutes", 0}},
        {"PATCH", "/v1/appointments/{id}", NULL,
         {"{\"service\":\"@S@\"}", "Root Canal", "{\"duration_minutes\":\"60\"}",
          "duration_minutes", 1}},
        {"POST", "/v1/appointments/{id}/{action}", "reschedule",
         {"{\"start_at\":\"@S@\"}", "2026-12-02T10:00:00+05:30", "{\"start_at\":5}", "start_at",
          0}},
        {"PUT", "/v1/templates/{name}/{language}", NULL,
         {"{\"category\":\"transactional\",\"sms\":\"@S@ {patient_name}\",\"subject\":\"S\","
          "\"text\":\"T {patient_name}\",\"html\":\"<p>H</p>\"}",
          "Hello",
          "{\"category\":\"transactional\",\"sms\":5,\"subject\":\"S\",\"text\":\"T\","
          "\"html\":\"<p>H</p>\"}",
          "sms", 0}},
        {"POST", "/v1/templates/{name}/{language}/render", NULL,
         {"{\"vars\":{\"patient_name\":\"@S@\",\"clinic_name\":\"A\"}}", "Ram",
          "{\"channel\":5}", "channel", 0}},
        {"POST", "/v1/notifications", NULL,
         {"{\"patient_id\":@P@,\"template\":\"prescription_ready\",\"dedupe_key\":\"@S@\"}",
          "matrix-1",
          "{\"patient_id\":@P@,\"template\":\"prescription_ready\",\"priority\":5}", "priority",
          0}},
        {"POST", "/v1/keys", NULL,
         {"{\"role\":\"integration\",\"label\":\"@S@\"}", "matrix", "{\"role\":\"integration\","
                                                                    "\"label\":5}",
          "label", 0}},
        {"PUT", "/v1/templates/{name}/{language}/whatsapp", NULL,
         {"{\"name\":\"@S@\",\"language\":\"hi\",\"params\":[\"patient_name\"]}", "visit_ok",
          "{\"name\":\"visit_ok\",\"language\":\"hi\",\"params\":\"patient_name\"}", "params",
          0}},
        {"PUT", "/v1/templates/{name}/{language}/msg91", NULL,
         {"{\"template_id\":\"@S@\",\"params\":{\"VAR1\":\"patient_name\"}}", "64a1b2",
          "{\"template_id\":5}", "template_id", 0}},
        {"POST", "/v1/tasks", NULL,
         {"{\"name\":\"@S@\",\"fn\":\"purge\",\"kind\":\"daily\",\"schedule\":\"04:00\"}",
          "matrix-purge", "{\"name\":5,\"fn\":\"purge\",\"kind\":\"daily\",\"schedule\":\"04:00\"}",
          "name", 0}},
        {"PUT", "/v1/workflows/{name}", NULL,
         {"{\"on\":\"appointment.confirmed\",\"description\":\"@S@\",\"steps\":[]}",
          "matrix", "{\"on\":\"appointment.confirmed\",\"steps\":5}", "steps", 0}},
        /* Actions that take no body. */
        {"POST", "/v1/appointments/{id}/{action}", "confirm", {0}},
        {"POST", "/v1/appointments/{id}/{action}", "cancel", {0}},
        {"POST", "/v1/appointments/{id}/{action}", "complete", {0}},
        {"POST", "/v1/appointments/{id}/{action}", "no-show", {0}},
        {"POST", "/v1/notifications/{id}/{action}", "retry", {0}},
        {"POST", "/v1/notifications/{id}/{action}", "cancel", {0}},
        {"POST", "/v1/keys/{id}/revoke", NULL, {0}},
        {"POST", "/v1/reminders/{id}/cancel", NULL, {0}},
        {"POST", "/v1/tasks/{id}/{action}", "pause", {0}},
        {"POST", "/v1/tasks/{id}/{action}", "resume", {0}},
        {"POST", "/v1/tasks/{id}/{action}", "run", {0}},
        {"POST", "/v1/prescriptions", NULL,
         {"{\"patient_id\":@P@,\"prescriber\":\"@S@\",\"medications\":[{\"drug_name\":\"A\","
          "\"dose\":\"1\",\"frequency\":\"OD\",\"duration\":\"5 days\"}]}",
          "Dr Rao",
          "{\"patient_id\":@P@,\"prescriber\":5,\"medications\":[{\"drug_name\":\"A\","
          "\"dose\":\"1\",\"frequency\":\"OD\",\"duration\":\"5 days\"}]}",
          "prescriber", 0}},
        {"POST", "/v1/prescriptions/{id}/stop", NULL,
         {"{\"reason\":\"@S@\"}", "rash", "{\"reason\":5}", "reason", 0}},
        {"POST", "/v1/recalls/{id}/close", NULL, {0}},
        {"POST", "/v1/recalls/rules", NULL,
         {"{\"service\":\"@S@\",\"after_days\":30}", "Check-up",
          "{\"service\":\"X\",\"after_days\":\"30\"}", "after_days", 0}},
        {"POST", "/v1/reminders/cancel", NULL,
         {"{\"patient_id\":@P@,\"subject\":\"@S@\"}", "prescription:1",
          "{\"patient_id\":@P@,\"subject\":5}", "subject", 0}},
        /* support tickets, the FAQ, loyalty (issue 10) */
        {"POST", "/v1/tickets", NULL,
         {"{\"subject\":\"@S@\",\"patient_id\":@P@}", "Crown question",
          "{\"subject\":5,\"patient_id\":@P@}", "subject", 0}},
        {"POST", "/v1/tickets/{id}/{action}", "reply",
         {"{\"text\":\"@S@\"}", "Your crown is ready", "{\"text\":5}", "text", 0}},
        {"POST", "/v1/tickets/{id}/{action}", "assign",
         {"{\"assigned_to\":\"@S@\"}", "Priya", "{\"assigned_to\":5}", "assigned_to", 0}},
        {"POST", "/v1/tickets/{id}/{action}", "close", {0}},
        {"POST", "/v1/tickets/{id}/{action}", "autoresolve", {0}},
        {"POST", "/v1/faq", NULL,
         {"{\"question\":\"@S@\",\"answer\":\"Yes.\"}", "Do you do implants?",
          "{\"question\":5,\"answer\":\"Yes.\"}", "question", 0}},
        {"POST", "/v1/faq/match", NULL,
         {"{\"text\":\"@S@\"}", "parking for my car?", "{\"text\":5}", "text", 0}},
        {"POST", "/v1/faq/{id}/remove", NULL, {0}},
        {"POST", "/v1/patients/{id}/loyalty", NULL,
         {"{\"type\":\"add\",\"points\":10,\"reason\":\"@S@\"}", "welcome gift",
          "{\"type\":\"add\",\"points\":\"10\",\"reason\":\"x\"}", "points", 0}},
        {"PUT", "/v1/loyalty/rules", NULL,
         {"{\"kind\":\"service\",\"service\":\"@S@\",\"points\":5}", "Implant",
          "{\"kind\":\"visit\",\"points\":\"5\"}", "points", 0}},
        /* issue 17 (http/consent.c) */
        {"POST", "/v1/patients/{id}/consent", NULL,
         {"{\"category\":\"marketing\",\"channel\":\"sms\",\"state\":\"granted\","
          "\"wording\":\"@S@\"}",
          "Offers by SMS, please",
          "{\"category\":\"marketing\",\"channel\":5,\"state\":\"granted\"}", "channel", 0}},
        {"PUT", "/v1/plan", NULL,
         {"{\"tier\":\"@S@\",\"grace_minutes\":90}", "essential", "{\"grace_minutes\":\"90\"}",
          "grace_minutes", 0}},
        {"POST", "/v1/templates/preview", NULL,
         {"{\"sms\":\"@S@ {patient_name}\",\"subject\":\"S\",\"text\":\"T\","
          "\"html\":\"H\",\"vars\":{\"patient_name\":\"Ram\"}}",
          "Hello", "{\"sms\":5,\"subject\":\"S\",\"text\":\"T\",\"html\":\"H\"}", "sms",
          0}},
        {"POST", "/v1/prescriptions/{id}/change", NULL,
         {"{\"prescriber\":\"@S@\",\"medications\":[{\"drug_name\":\"B\",\"dose\":\"1\","
          "\"frequency\":\"BD\",\"duration\":\"3 days\"}]}",
          "Dr Iyer",
          "{\"notes\":5,\"medications\":[{\"drug_name\":\"B\",\"dose\":\"1\","
          "\"frequency\":\"BD\",\"duration\":\"3 days\"}]}",
          "notes", 0}},
        {"POST", "/v1/labs", NULL,
         {"{\"patient_id\":@P@,\"test_name\":\"@S@\",\"due_on\":\"2026-12-10\"}", "Lipids",
          "{\"patient_id\":@P@,\"test_name\":\"X\",\"due_on\":5}", "due_on", 0}},
        {"POST", "/v1/labs/{id}/done", NULL, {0}},
        {"POST", "/v1/follow-ups", NULL,
         {"{\"patient_id\":@P@,\"date\":\"@S@\"}", "2026-12-20",
          "{\"patient_id\":@P@,\"date\":5}", "date", 0}},
        {"POST", "/v1/patients/{id}/ready", NULL,
         {"{\"what\":\"@S@\"}", "prescription", "{\"what\":5}", "what", 0}},
        /* staff and outgoing webhooks (issue 10), segments and broadcasts (17) */
        {"POST", "/v1/staff", NULL,
         {"{\"name\":\"@S@\",\"email\":\"dev@example.com\"}", "Dev", "{\"name\":5}", "name", 0}},
        {"POST", "/v1/staff/{id}/remove", NULL, {0}},
        {"POST", "/v1/webhooks", NULL,
         {"{\"url\":\"https://crm.example.com/@S@\",\"events\":\"*\"}", "in",
          "{\"url\":5,\"events\":\"*\"}", "url", 0}},
        {"POST", "/v1/webhooks/{id}/remove", NULL, {0}},
        {"POST", "/v1/segments", NULL,
         {"{\"name\":\"@S@\",\"criteria\":{\"gender\":\"F\"}}", "Women",
          "{\"name\":5,\"criteria\":{}}", "name", 0}},
        {"POST", "/v1/segments/preview", NULL,
         {"{\"criteria\":{\"language\":\"@S@\"}}", "hi", "{\"criteria\":5}", "criteria", 0}},
        {"POST", "/v1/broadcasts", NULL,
         {"{\"kind\":\"notice\",\"name\":\"@S@\",\"patient_ids\":[@P@],\"text\":\"Closed\"}",
          "Diwali", "{\"kind\":\"notice\",\"name\":5,\"patient_ids\":[@P@],\"text\":\"x\"}",
          "name", 0}},
        {"POST", "/v1/broadcasts/{id}/{action}", "pause", {0}},
        {"POST", "/v1/broadcasts/{id}/{action}", "resume", {0}},
        {"POST", "/v1/broadcasts/{id}/{action}", "cancel", {0}},
        /* issue 16: the batch enqueue */
        {"POST", "/v1/notifications:batch", NULL,
         {"{\"items\":[{\"patient_id\":@P@,\"template\":\"prescription_ready\","
          "\"dedupe_key\":\"@S@\"}]}",
          "matrix-batch-1",
          "{\"items\":[{\"patient_id\":@P@,\"template\":\"prescription_ready\","
          "\"priority\":5}]}",
          "items[0].priority", 0}},
        /* issue 10's settings */
        {"PUT", "/v1/faq/threshold", NULL,
         {"{\"threshold\":60}", NULL, "{\"threshold\":\"60\"}", "threshold", 0}},
        {"PUT", "/v1/staff/digest", NULL,
         {"{\"digest_at\":\"@S@\"}", "07:30", "{\"digest_at\":730}", "digest_at", 0}},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (strcmp(t[i].method, rt->method) || strcmp(t[i].pattern, rt->pattern))
            continue;
        if ((t[i].action == NULL) != (action == NULL) ||
            (action && strcmp(t[i].action, action)))
            continue;
        *fx = t[i].fx;
        return 1;
    }
    failf("%s %s%s%s: no body fixture: describe it in body_for()", rt->method, rt->pattern,
          action ? " action " : "", action ? action : "");
    return 0;
}

/* The fixture's template with @S@ and @P@ filled in (caller frees). */
static char *fill(const char *tmpl, const char *s, int64_t patient)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%lld", (long long)patient);
    if (!s)
        s = "";
    size_t cap = strlen(tmpl) + 8 * (strlen(s) + strlen(pid)) + 1;
    char *out = malloc(cap);
    snprintf(out, cap, "%s", tmpl);
    replace_all(out, "@S@", s);
    replace_all(out, "@P@", pid);
    return out;
}

/* "If-Match: <ETag>" of what GET path answers clinic A (the current
 * version of the object a PATCH of that path edits). */
static void if_match_for(api_env *a, const char *path, char *out, size_t cap)
{
    api_resp g = api_call(a, "GET", path, a->admin_a, NULL);
    if (!g.etag[0])
        failf("GET %s: no ETag to send as If-Match (%ld)", path, g.status);
    snprintf(out, cap, "If-Match: %s", g.etag);
    api_free(&g);
}

/* ---- setup ---- */

static int setup(void **state)
{
    api_env *a = calloc(1, sizeof *a);
    api_open(a, T0);
    *state = a;
    g_fails = 0;
    return 0;
}

static int teardown(void **state)
{
    if (g_fp_conn) { /* before the database is dropped under it */
        PQfinish(g_fp_conn);
        g_fp_conn = NULL;
    }
    api_close(*state);
    free(*state);
    return 0;
}

/* ---- 1. authentication and roles ---- */

static void test_auth_every_route(void **state)
{
    api_env *a = *state;
    objs o;
    make_objs(a, &o);
    fp base;
    fp_take(a, &base);
    int routes = 0;
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        if (!rt->min_role)
            continue;
        routes++;
        for (int ai = 0; ai < na; ai++) {
            char path[256], what[512];
            concretize(rt->pattern, (long long)id_for(rt->pattern, &o), "prescription_ready", "en",
                       acts[ai], path, sizeof path);
            /* A write carries a valid body, so only the key can be wrong. */
            char *body = NULL;
            const char *ifm = NULL;
            char ifm_buf[64];
            body_fx fx;
            if (is_write(rt->method) && body_for(rt, acts[ai], &fx) && fx.body) {
                body = fill(fx.body, fx.s, o.patient);
                if (fx.if_match) {
                    if_match_for(a, path, ifm_buf, sizeof ifm_buf);
                    ifm = ifm_buf;
                }
            }
            size_t bl = body ? strlen(body) : 0;

            /* No Authorization at all. */
            mx_hdrs h;
            const char *hv[3] = {ifm, NULL, NULL};
            api_resp r = mx_call(a, rt->method, path, hv, body, bl, &h);
            snprintf(what, sizeof what, "%s %s without Authorization", rt->method, path);
            if (problem_ok(what, &r, 401, 0, NULL) && strncmp(h.www_auth, "Bearer", 6))
                failf("%s: 401 without \"WWW-Authenticate: Bearer\" (got \"%s\")", what,
                      h.www_auth);
            api_free(&r);
            fp_check(a, &base, what);

            /* Malformed or unknown credentials. */
            char wrong_key[160];
            snprintf(wrong_key, sizeof wrong_key, "Authorization: Bearer %sx", a->admin_a);
            const char *bad[] = {"Authorization: Basic x", "Authorization: Bearer ",
                                 "Authorization: Bearer nudge_x", "Authorization: Bearer",
                                 "Authorization: Token abc", wrong_key};
            for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                const char *hb[3] = {bad[i], ifm, NULL};
                r = mx_call(a, rt->method, path, hb, body, bl, &h);
                snprintf(what, sizeof what, "%s %s with \"%.40s\"", rt->method, path, bad[i]);
                if (problem_ok(what, &r, 401, 0, NULL) && strncmp(h.www_auth, "Bearer", 6))
                    failf("%s: 401 without \"WWW-Authenticate: Bearer\" (got \"%s\")", what,
                          h.www_auth);
                api_free(&r);
                fp_check(a, &base, what);
            }

            /* Every role weaker than the route's. */
            for (int role = rt->min_role + 1; role <= NUDGE_ROLE_INTEGRATION; role++) {
                r = mx_key(a, rt->method, path, key_of_role(a, role), ifm, body, bl, NULL);
                snprintf(what, sizeof what, "%s %s with a %s key (route wants %s)", rt->method,
                         path, nudge_role_name(role), nudge_role_name(rt->min_role));
                problem_ok(what, &r, 403, 0, NULL);
                api_free(&r);
                fp_check(a, &base, what);
            }
            free(body);
        }
    }
    assert_true(routes >= 20);

    /* The control: the weakest allowed role gets through (0: no key). */
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        for (int ai = 0; ai < na; ai++) {
            char path[256], ifm_buf[64];
            const char *ifm = NULL;
            char *body = NULL;
            body_fx fx;
            concretize(rt->pattern, (long long)id_for(rt->pattern, &o), "prescription_ready", "en",
                       acts[ai], path, sizeof path);
            if (is_write(rt->method) && body_for(rt, acts[ai], &fx) && fx.body) {
                body = fill(fx.body, fx.s, o.patient);
                if (fx.if_match) {
                    /* Earlier controls may have moved the version on. */
                    if_match_for(a, path, ifm_buf, sizeof ifm_buf);
                    ifm = ifm_buf;
                }
            }
            api_resp r = mx_key(a, rt->method, path,
                                rt->min_role ? key_of_role(a, rt->min_role) : NULL, ifm, body,
                                body ? strlen(body) : 0, NULL);
            if (r.status == 401 || r.status == 403 || r.status >= 500)
                failf("%s %s with a %s key: the weakest allowed role is refused: %ld %.300s",
                      rt->method, path, rt->min_role ? nudge_role_name(rt->min_role) : "no",
                      r.status, r.body);
            api_free(&r);
            free(body);
        }
    }
    finish();
}

/* ---- 2. tenant isolation ---- */

static void test_tenant_isolation_every_id_route(void **state)
{
    api_env *a = *state;
    objs o;
    make_objs(a, &o);
    fp base;
    fp_take(a, &base);
    int routes = 0;
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        if (!strstr(rt->pattern, "{id}"))
            continue;
        routes++;
        int64_t id = id_for(rt->pattern, &o);
        if (!id) {
            failf("%s %s: no clinic-A object for {id}: add its prefix to id_for()", rt->method,
                  rt->pattern);
            continue;
        }
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        for (int ai = 0; ai < na; ai++) {
            char mine[256], absent[256], what[512];
            concretize(rt->pattern, (long long)id, "", "", acts[ai], mine, sizeof mine);
            concretize(rt->pattern, ABSENT_ID, "", "", acts[ai], absent, sizeof absent);
            char *body = NULL;
            const char *ifm = NULL;
            char ifm_buf[64];
            body_fx fx;
            if (is_write(rt->method) && body_for(rt, acts[ai], &fx) && fx.body) {
                body = fill(fx.body, fx.s, o.patient);
                if (fx.if_match) {
                    /* A's real ETag: only the clinic is wrong. */
                    if_match_for(a, mine, ifm_buf, sizeof ifm_buf);
                    ifm = ifm_buf;
                }
            }
            size_t bl = body ? strlen(body) : 0;
            api_resp x = mx_key(a, rt->method, mine, a->admin_b, ifm, body, bl, NULL);
            snprintf(what, sizeof what, "%s %s (clinic A's id) with clinic B's admin key",
                     rt->method, mine);
            int ok = problem_ok(what, &x, 404, 0, NULL);
            fp_check(a, &base, what);
            api_resp y = mx_key(a, rt->method, absent, a->admin_b, ifm, body, bl, NULL);
            snprintf(what, sizeof what, "%s %s (no such id) with clinic B's admin key",
                     rt->method, absent);
            ok &= problem_ok(what, &y, 404, 0, NULL);
            fp_check(a, &base, what);
            if (ok) {
                squash_digits(x.body);
                squash_digits(y.body);
                if (strcmp(x.body, y.body))
                    failf("%s %s: clinic A's id answers B differently from a missing id:\n"
                          "  A's id:  %s\n  missing: %s",
                          rt->method, mine, x.body, y.body);
            }
            api_free(&x);
            api_free(&y);
            /* The control: the id is real, and A's own key reaches it. */
            if (!strcmp(rt->method, "GET")) {
                api_resp c = api_call(a, "GET", mine, a->admin_a, NULL);
                if (c.status != 200)
                    failf("GET %s with clinic A's key: want 200 (the object exists), got %ld: "
                          "%.300s",
                          mine, c.status, c.body);
                api_free(&c);
            }
            free(body);
        }
    }
    assert_true(routes >= 6);

    /* Templates are per clinic too. A has a template of its own. */
    body_fx tfx = {0};
    const char *tput = "{\"category\":\"transactional\",\"sms\":\"A only {patient_name}\","
                       "\"subject\":\"S\",\"text\":\"T\",\"html\":\"<p>H</p>\"}";
    api_resp r = api_call(a, "PUT", "/v1/templates/a_private/en", a->staff_a, tput);
    if (r.status != 200 && r.status != 201)
        fail_msg("setup PUT /v1/templates/a_private/en: %ld %s", r.status, r.body);
    api_free(&r);
    fp_take(a, &base);
    int troutes = 0;
    /* Reads first: once B has PUT a template of its own under A's name,
     * B rightly sees it. */
    for (int pass = 0; pass < 2; pass++)
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        if (strncmp(rt->pattern, "/v1/templates/", 14) ||
            (pass == 1) != !strcmp(rt->method, "PUT"))
            continue;
        /* A draft's preview names no stored template: nothing to isolate. */
        if (!strcmp(rt->pattern, "/v1/templates/preview"))
            continue;
        /* Provider mappings have no GET to compare: test_http checks that
         * B's mapping lands in B's clinic and leaves A's alone. */
        if (!strcmp(rt->method, "PUT") && strcmp(rt->pattern, "/v1/templates/{name}/{language}"))
            continue;
        troutes++;
        char mine[256], absent[256], what[512];
        concretize(rt->pattern, 0, "a_private", "en", NULL, mine, sizeof mine);
        concretize(rt->pattern, 0, "zz_absent", "en", NULL, absent, sizeof absent);
        if (!strcmp(rt->method, "PUT")) {
            if (!body_for(rt, NULL, &tfx) || !tfx.body)
                continue;
            /* B writes its own templates under A's private name and under a
             * built-in one; what A sees must not move. */
            char builtin[256];
            concretize(rt->pattern, 0, "prescription_ready", "en", NULL, builtin, sizeof builtin);
            const char *paths[] = {mine, builtin};
            api_resp before[2], list0 = api_call(a, "GET", "/v1/templates", a->admin_a, NULL);
            for (int i = 0; i < 2; i++)
                before[i] = api_call(a, "GET", paths[i], a->admin_a, NULL);
            char *bbody = fill(tfx.body, "Clinic B says", 0);
            for (int i = 0; i < 2; i++) {
                api_resp w = api_call(a, "PUT", paths[i], a->admin_b, bbody);
                snprintf(what, sizeof what, "PUT %s with clinic B's admin key", paths[i]);
                if (w.status != 200 && w.status != 201)
                    failf("%s: want 200 or 201 (B's own template), got %ld: %.300s", what,
                          w.status, w.body);
                api_free(&w);
                api_resp bv = api_call(a, "GET", paths[i], a->admin_b, NULL);
                const char *sms = api_str(&bv, "sms");
                if (!sms || strncmp(sms, "Clinic B says", 13))
                    failf("GET %s with B's key after B's PUT: B does not see its template: %.300s",
                          paths[i], bv.body);
                api_free(&bv);
                api_resp av = api_call(a, "GET", paths[i], a->admin_a, NULL);
                if (av.status != before[i].status || strcmp(av.body, before[i].body))
                    failf("%s changed what clinic A sees:\n  before: %.300s\n  after:  %.300s",
                          what, before[i].body, av.body);
                api_free(&av);
            }
            api_resp list1 = api_call(a, "GET", "/v1/templates", a->admin_a, NULL);
            if (strcmp(list0.body, list1.body))
                failf("PUT %s with clinic B's key changed clinic A's GET /v1/templates", rt->pattern);
            api_free(&list0);
            api_free(&list1);
            for (int i = 0; i < 2; i++)
                api_free(&before[i]);
            free(bbody);
            fp_take(a, &base); /* B's own writes are allowed */
            continue;
        }
        /* Reads and renders: A's private template is as absent for B as one
         * that does not exist anywhere. */
        char *body = NULL;
        body_fx fx;
        if (is_write(rt->method) && body_for(rt, NULL, &fx) && fx.body)
            body = fill(fx.body, fx.s, o.patient);
        size_t bl = body ? strlen(body) : 0;
        api_resp x = mx_key(a, rt->method, mine, a->admin_b, NULL, body, bl, NULL);
        snprintf(what, sizeof what, "%s %s (clinic A's template) with clinic B's admin key",
                 rt->method, mine);
        int ok = problem_ok(what, &x, 404, 0, NULL);
        fp_check(a, &base, what);
        api_resp y = mx_key(a, rt->method, absent, a->admin_b, NULL, body, bl, NULL);
        snprintf(what, sizeof what, "%s %s (no such template) with clinic B's admin key",
                 rt->method, absent);
        ok &= problem_ok(what, &y, 404, 0, NULL);
        fp_check(a, &base, what);
        if (ok) {
            replace_all(x.body, "a_private", "NAME");
            replace_all(y.body, "zz_absent", "NAME");
            if (strcmp(x.body, y.body))
                failf("%s %s: clinic A's template answers B differently from a missing one:\n"
                      "  A's:     %s\n  missing: %s",
                      rt->method, mine, x.body, y.body);
        }
        api_free(&x);
        api_free(&y);
        api_resp c = mx_key(a, rt->method, mine, a->admin_a, NULL, body, bl, NULL);
        if (c.status != 200)
            failf("%s %s with clinic A's key: want 200 (the template exists), got %ld: %.300s",
                  rt->method, mine, c.status, c.body);
        api_free(&c);
        free(body);
    }
    assert_true(troutes >= 3);
    finish();
}

/* ---- 3. bad bodies on every write route ---- */

static void test_bad_bodies_every_write_route(void **state)
{
    api_env *a = *state;
    objs o;
    make_objs(a, &o);
    fp base;
    fp_take(a, &base);

    /* Shared pieces. */
    char deep[256];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = 0;
    const size_t big = 80 * 1024; /* httputil's server takes 64 KiB */

    int routes = 0;
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        if (!is_write(rt->method))
            continue;
        routes++;
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        for (int ai = 0; ai < na; ai++) {
            body_fx fx;
            if (!body_for(rt, acts[ai], &fx))
                continue;
            char path[256], ifm[64], what[512];
            int64_t id = id_for(rt->pattern, &o);
            if (strstr(rt->pattern, "{id}") && !id) {
                failf("%s %s: no clinic-A object for {id}: add its prefix to id_for()",
                      rt->method, rt->pattern);
                continue;
            }
            concretize(rt->pattern, (long long)id, "prescription_ready", "en", acts[ai], path,
                       sizeof path);
            const char *extra = NULL;
            if (fx.if_match) {
                if_match_for(a, path, ifm, sizeof ifm);
                extra = ifm;
            }
            int takes = fx.body != NULL;
            /* Without a body to hold them, the cases use bodies of their own;
             * a route that takes no body must refuse any that is not empty. */
            char *valid = takes ? fill(fx.body, fx.s, o.patient) : str_dup("{}");
            char *bad_utf8;
            if (takes && fx.s)
                bad_utf8 = fill(fx.body, "R\xff\xfem", o.patient);
            else {
                bad_utf8 = malloc(strlen(valid) + 32);
                sprintf(bad_utf8, "{\"zz\":\"R\xff\xfem\"%s%s", strcmp(valid, "{}") ? "," : "",
                        valid + 1);
            }
            char *unknown = malloc(strlen(valid) + 32);
            sprintf(unknown, "{\"zz_unknown\":1%s%s", strcmp(valid, "{}") ? "," : "", valid + 1);
            char *nested = malloc(strlen(valid) + sizeof deep + 32);
            sprintf(nested, "{\"zz_deep\":%s%s%s", deep, strcmp(valid, "{}") ? "," : "",
                    valid + 1);
            /* A valid body padded past the limit with whitespace. */
            char *huge = malloc(big + 1);
            size_t vl = strlen(valid);
            memcpy(huge, valid, vl - 1);
            memset(huge + vl - 1, ' ', big - vl);
            huge[big - 1] = '}';
            huge[big] = 0;
            char *wrong = takes ? fill(fx.wrong, fx.s, o.patient) : NULL;

            /* No-body routes may answer 400 or 422; body routes as the brief. */
            int alt = takes ? 0 : 422;
            const char *bodyf = "body";
            struct {
                const char *name, *body;
                size_t len;
                int st, alt;
                const char *field;
            } cases[] = {
                {"malformed JSON", "{\"name\":", 8, 400, alt, bodyf},
                {"a JSON array", "[{\"name\":\"x\"}]", 14, 400, alt, bodyf},
                {"invalid UTF-8 in a string", bad_utf8, strlen(bad_utf8), 400, alt, bodyf},
                {"a body over the limit", huge, big, 413, 0, bodyf},
                {"JSON nested 100 deep", nested, strlen(nested), 400, 0, bodyf},
                {"an unknown field", unknown, strlen(unknown), 422, takes ? 0 : 400,
                 takes ? "zz_unknown" : "zz_unknown|body"},
                {"a field of the wrong type", wrong, wrong ? strlen(wrong) : 0, 422, 0,
                 takes ? fx.wrong_field : NULL},
                {"no body", NULL, 0, 400, 422, bodyf},
            };
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                if (!takes && (i == 6 || i == 7))
                    continue; /* no fields to get wrong; no body is right */
                api_resp r = mx_key(a, rt->method, path, a->admin_a, extra, cases[i].body,
                                    cases[i].len, NULL);
                snprintf(what, sizeof what, "%s %s with %s", rt->method, path, cases[i].name);
                problem_ok(what, &r, cases[i].st, cases[i].alt, cases[i].field);
                api_free(&r);
                fp_check(a, &base, what);
            }
            free(valid);
            free(bad_utf8);
            free(unknown);
            free(nested);
            free(huge);
            free(wrong);
        }
    }
    assert_true(routes >= 10);

    /* The control: every fixture's valid body is accepted, so the refusals
     * above are about what each case broke. */
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        if (!is_write(rt->method))
            continue;
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        for (int ai = 0; ai < na; ai++) {
            body_fx fx;
            if (!body_for(rt, acts[ai], &fx) || !fx.body)
                continue;
            char path[256], ifm[64];
            concretize(rt->pattern, (long long)id_for(rt->pattern, &o), "prescription_ready",
                       "en", acts[ai], path, sizeof path);
            if (fx.if_match)
                if_match_for(a, path, ifm, sizeof ifm);
            char *valid = fill(fx.body, fx.s, o.patient);
            api_resp r = mx_key(a, rt->method, path, a->admin_a, fx.if_match ? ifm : NULL, valid,
                                strlen(valid), NULL);
            if (r.status < 200 || r.status > 299)
                failf("%s %s with its valid body %s: want 2xx, got %ld: %.300s", rt->method,
                      path, valid, r.status, r.body);
            api_free(&r);
            free(valid);
        }
    }
    finish();
}

/* ---- 4. unknown paths and methods ---- */

/* Whether path matches pattern segment by segment ({x}: any non-empty). */
static int matches(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t sl = strcspn(s, "/");
            if (!pe || !sl)
                return 0;
            p = pe + 1;
            s += sl;
            continue;
        }
        if (*p++ != *s++)
            return 0;
    }
    return !*p && !*s;
}

static int path_known(const char *path)
{
    for (const http_route *rt = http_routes; rt->method; rt++)
        if (matches(rt->pattern, path))
            return 1;
    return 0;
}

static void test_unknown_paths_and_methods(void **state)
{
    api_env *a = *state;
    objs o;
    make_objs(a, &o);
    fp base;
    fp_take(a, &base);
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    int n405 = 0, n404 = 0;
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (is_webhook(rt))
            continue; /* signed by providers, not keyed: test_twilio covers them */
        int seen = 0; /* one pass per pattern */
        for (const http_route *q = http_routes; q < rt; q++)
            seen |= !strcmp(q->pattern, rt->pattern);
        if (seen)
            continue;
        const char *acts[MAX_ACTIONS];
        int na = actions_for(rt, acts);
        for (int ai = 0; ai < na; ai++) {
            int allow_reported = 0;
            char path[256], what[700];
            concretize(rt->pattern, (long long)(id_for(rt->pattern, &o) ? id_for(rt->pattern, &o)
                                                                        : 1),
                       "prescription_ready", "en", acts[ai], path, sizeof path);
            /* The methods the table has for this path, whichever routes match. */
            char allowed[64] = "";
            for (const http_route *q = http_routes; q->method; q++)
                if (matches(q->pattern, path) && !strstr(allowed, q->method)) {
                    strcat(allowed, *allowed ? ", " : "");
                    strcat(allowed, q->method);
                }
            for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
                if (strstr(allowed, methods[m]))
                    continue;
                mx_hdrs h;
                api_resp r = mx_key(a, methods[m], path, a->admin_a, NULL, NULL, 0, &h);
                snprintf(what, sizeof what, "%s %s (the table has %s)", methods[m], path, allowed);
                if (problem_ok(what, &r, 405, 0, NULL) && !allow_reported) {
                    /* RFC 9110 15.5.6: a 405 carries Allow with the methods. */
                    for (const char *p = allowed; *p;) {
                        size_t l = strcspn(p, ", ");
                        char one[16];
                        snprintf(one, sizeof one, "%.*s", (int)l, p);
                        if (!strstr(h.allow, one)) {
                            failf("%s: 405 without \"Allow: %s\" (got \"%s\")", what, allowed,
                                  h.allow);
                            allow_reported = 1;
                            break;
                        }
                        p += l;
                        p += strspn(p, ", ");
                    }
                }
                api_free(&r);
                fp_check(a, &base, what);
                n405++;
            }

            /* Paths near this one that no route has. */
            char near[6][260];
            snprintf(near[0], sizeof near[0], "%s/zz", path);
            snprintf(near[1], sizeof near[1], "%s/", path);
            snprintf(near[2], sizeof near[2], "/v2%s", path + 3);
            snprintf(near[3], sizeof near[3], "%sz", path);
            snprintf(near[4], sizeof near[4], "/%s", path);
            snprintf(near[5], sizeof near[5], "%s", path);
            for (char *c = near[5]; *c; c++)
                if (*c >= 'a' && *c <= 'z')
                    *c = (char)(*c - 'a' + 'A');
            for (size_t i = 0; i < 6; i++) {
                if (path_known(near[i]))
                    continue;
                for (size_t m = 0; m < 2; m++) {
                    const char *meth = m ? rt->method : "GET";
                    api_resp r = mx_key(a, meth, near[i], a->admin_a, NULL, NULL, 0, NULL);
                    snprintf(what, sizeof what, "%s %.255s (no such route)", meth, near[i]);
                    problem_ok(what, &r, 404, 0, NULL);
                    api_free(&r);
                    fp_check(a, &base, what);
                    n404++;
                }
            }
        }
    }
    /* And a few that are nowhere near (/ is the dashboard, static.c; /dash/
     * holds only its files). */
    const char *far[] = {"/dash/", "/dash/nothing.js", "/v1", "/v1/", "/v1/nothing",
                         "/v1/patients/1/2/3/4/5", "/healthz/x", "/v1/%2e%2e/v1/patients",
                         "/v1//patients"};
    for (size_t i = 0; i < sizeof far / sizeof *far; i++) {
        char what[256];
        if (path_known(far[i]))
            continue;
        api_resp r = mx_key(a, "GET", far[i], a->admin_a, NULL, NULL, 0, NULL);
        snprintf(what, sizeof what, "GET %s (no such route)", far[i]);
        problem_ok(what, &r, 404, 0, NULL);
        api_free(&r);
        r = mx_key(a, "GET", far[i], NULL, NULL, NULL, 0, NULL);
        snprintf(what, sizeof what, "GET %s (no such route) without a key", far[i]);
        problem_ok(what, &r, 404, 0, NULL);
        api_free(&r);
        n404 += 2;
    }
    fp_check(a, &base, "unknown paths");
    assert_true(n405 >= 20);
    assert_true(n404 >= 40);
    finish();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_auth_every_route),
        T(test_tenant_isolation_every_id_route),
        T(test_bad_bodies_every_write_route),
        T(test_unknown_paths_and_methods),
    };
    /* MX_FILTER=test_name runs one test (e.g. past a sanitizer abort). */
    if (getenv("MX_FILTER"))
        cmocka_set_test_filter(getenv("MX_FILTER"));
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
