/*
 * test_openapi.c: docs/openapi.json (built into the binary as
 * http_openapi_json and served at GET /openapi.json) against the server's
 * route table: every routed method and path is documented and every
 * documented one is routed, each operation is complete (a unique
 * operationId, responses, the path's parameters, authentication as the
 * route demands), every $ref resolves and every request body refuses
 * unknown fields as the server does.
 *
 * Each check reports its first problem into a buffer and returns how many
 * it found; the last test breaks a copy of the document in one way per
 * check and makes sure the check notices, so none of them can pass
 * vacuously.
 */
#include "testutil.h"

#include <jansson.h>

#include "http/http.h"

extern const char http_openapi_json[];

#define WHY 512

static const char *const http_methods[] = {"get", "put", "post", "delete", "options",
                                           "head", "patch", "trace"};

static int is_method(const char *k)
{
    for (size_t i = 0; i < sizeof http_methods / sizeof *http_methods; i++)
        if (!strcmp(k, http_methods[i]))
            return 1;
    return 0;
}

static void lower(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = 0;
}

/* Records a problem: the first one is kept for the failure message. */
static int report(char *why, int *count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int report(char *why, int *count, const char *fmt, ...)
{
    if (!*count) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, WHY, fmt, ap);
        va_end(ap);
    }
    return ++*count;
}

static json_t *load_doc(void)
{
    json_error_t je;
    json_t *doc = json_loads(http_openapi_json, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        fail_msg("docs/openapi.json is not JSON: %s (line %d, column %d)", je.text, je.line,
                 je.column);
    assert_true(json_is_object(doc));
    return doc;
}

/* ---- JSON pointers and $ref ---- */

/* The value a local reference ("#/components/schemas/Patient") names, or
 * NULL. */
static json_t *pointer_get(json_t *doc, const char *ref)
{
    if (strncmp(ref, "#", 1))
        return NULL;
    const char *p = ref + 1;
    json_t *cur = doc;
    while (*p) {
        if (*p != '/')
            return NULL;
        p++;
        char tok[256];
        size_t n = 0;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~') {
                if (*p == '0')
                    c = '~';
                else if (*p == '1')
                    c = '/';
                else
                    return NULL;
                p++;
            }
            if (n + 1 >= sizeof tok)
                return NULL;
            tok[n++] = c;
        }
        tok[n] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            if (!n || *end || i < 0)
                return NULL;
            cur = json_array_get(cur, (size_t)i);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
    }
    return cur;
}

/* Follows $ref (a few levels) to the object it names; NULL if it does not
 * resolve. */
static json_t *deref(json_t *doc, json_t *v)
{
    for (int i = 0; i < 8 && json_is_object(v); i++) {
        json_t *r = json_object_get(v, "$ref");
        if (!json_is_string(r))
            return v;
        v = pointer_get(doc, json_string_value(r));
    }
    return json_is_object(v) ? v : NULL;
}

/* ---- the checks ---- */

static int check_version(json_t *doc, char *why)
{
    int n = 0;
    const char *v = json_string_value(json_object_get(doc, "openapi"));
    if (!v || strncmp(v, "3.1.", 4))
        report(why, &n, "openapi is \"%s\", want 3.1.x", v ? v : "(missing)");
    json_t *info = json_object_get(doc, "info");
    if (!json_is_string(json_object_get(info, "title")) ||
        !json_is_string(json_object_get(info, "version")))
        report(why, &n, "info needs a title and a version");
    if (!json_is_object(json_object_get(doc, "paths")))
        report(why, &n, "paths is missing");
    return n;
}

static json_t *doc_op(json_t *doc, const char *method, const char *pattern)
{
    char m[16];
    lower(m, sizeof m, method);
    return json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), m);
}

/* Every route of the server is in the document. */
static int check_routes_documented(json_t *doc, char *why)
{
    int n = 0;
    for (const http_route *rt = http_routes; rt->method; rt++)
        if (!json_is_object(doc_op(doc, rt->method, rt->pattern)))
            report(why, &n, "route %s %s is not documented in paths", rt->method, rt->pattern);
    return n;
}

static const http_route *route_of(const char *method, const char *path)
{
    for (const http_route *rt = http_routes; rt->method; rt++) {
        char m[16];
        lower(m, sizeof m, rt->method);
        if (!strcmp(m, method) && !strcmp(rt->pattern, path))
            return rt;
    }
    return NULL;
}

/* Every documented operation is a route of the server. */
static int check_documented_routed(json_t *doc, char *why)
{
    int n = 0;
    const char *path, *k;
    json_t *item, *v;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        int ops = 0;
        json_object_foreach(item, k, v)
        {
            if (!is_method(k))
                continue;
            ops++;
            if (!route_of(k, path))
                report(why, &n, "documented %s %s is not a route in src/http/routes.c", k, path);
        }
        if (!ops)
            report(why, &n, "path %s documents no operation", path);
    }
    return n;
}

static const char *const role_names[] = {"none", "admin", "staff", "integration"};

/* operationId unique, responses with a 2xx, authentication as the route
 * demands, its weakest role stated. */
static int check_operations(json_t *doc, char *why)
{
    int n = 0;
    json_t *seen = json_object();
    json_t *global = json_object_get(doc, "security");
    int global_auth = json_is_array(global) && json_array_size(global) > 0;
    const char *path, *k;
    json_t *item, *o;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, k, o)
        {
            if (!is_method(k))
                continue;
            const char *id = json_string_value(json_object_get(o, "operationId"));
            if (!id || !*id) {
                report(why, &n, "%s %s has no operationId", k, path);
            } else if (json_object_get(seen, id)) {
                report(why, &n, "%s %s: operationId %s is also used by %s", k, path, id,
                       json_string_value(json_object_get(seen, id)));
            } else {
                char where[300];
                snprintf(where, sizeof where, "%s %s", k, path);
                json_object_set_new(seen, id, json_string(where));
            }
            if (!json_is_string(json_object_get(o, "summary")) ||
                !json_is_string(json_object_get(o, "description")))
                report(why, &n, "%s %s needs a summary and a description", k, path);
            json_t *resp = json_object_get(o, "responses");
            int ok = 0;
            const char *code;
            json_t *r;
            json_object_foreach(resp, code, r)
            {
                if (code[0] == '2')
                    ok++;
                if (!deref(doc, r))
                    report(why, &n, "%s %s: response %s does not resolve", k, path, code);
            }
            if (!json_is_object(resp) || !json_object_size(resp))
                report(why, &n, "%s %s has no responses", k, path);
            else if (!ok)
                report(why, &n, "%s %s documents no 2xx response", k, path);

            const http_route *rt = route_of(k, path);
            if (!rt)
                continue; /* check_documented_routed says so */
            json_t *sec = json_object_get(o, "security");
            int opens = json_is_array(sec) && json_array_size(sec) == 0;
            if (rt->min_role == 0 && !opens)
                report(why, &n, "%s %s needs no key but lacks \"security\": []", k, path);
            if (rt->min_role != 0) {
                if (opens)
                    report(why, &n, "%s %s needs a key but overrides security with []", k, path);
                else if (!(json_is_array(sec) && json_array_size(sec)) && !global_auth)
                    report(why, &n, "%s %s needs a key but no security applies", k, path);
                if (!json_object_get(resp, "401"))
                    report(why, &n, "%s %s needs a key but documents no 401", k, path);
            }
            const char *stated = json_string_value(json_object_get(o, "x-nudge-min-role"));
            if (rt->min_role < 0 || rt->min_role > 3 || !stated ||
                strcmp(stated, role_names[rt->min_role]))
                report(why, &n, "%s %s: x-nudge-min-role is %s, the route's is %s", k, path,
                       stated ? stated : "(missing)",
                       rt->min_role >= 0 && rt->min_role <= 3 ? role_names[rt->min_role] : "?");
        }
    }
    json_decref(seen);
    return n;
}

/* Every {name} of a path template is a required path parameter of each of
 * its operations, and every path parameter is in the template. */
static int check_path_params(json_t *doc, char *why)
{
    int n = 0;
    const char *path, *k;
    json_t *item, *o;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, k, o)
        {
            if (!is_method(k))
                continue;
            json_t *declared = json_object();
            json_t *lists[2] = {json_object_get(item, "parameters"),
                                json_object_get(o, "parameters")};
            for (int l = 0; l < 2; l++) {
                size_t i;
                json_t *p;
                json_array_foreach(lists[l], i, p)
                {
                    json_t *pp = deref(doc, p);
                    if (!pp) {
                        report(why, &n, "%s %s: parameter %zu does not resolve", k, path, i);
                        continue;
                    }
                    const char *in = json_string_value(json_object_get(pp, "in"));
                    const char *name = json_string_value(json_object_get(pp, "name"));
                    if (!in || !name || !json_object_get(pp, "schema"))
                        report(why, &n, "%s %s: parameter %zu needs name, in and schema", k,
                               path, i);
                    else if (!strcmp(in, "path"))
                        json_object_set(declared, name, json_object_get(pp, "required"));
                }
            }
            int in_template = 0;
            for (const char *s = strchr(path, '{'); s; s = strchr(s + 1, '{')) {
                const char *e = strchr(s, '}');
                char name[64];
                if (!e || (size_t)(e - s - 1) >= sizeof name) {
                    report(why, &n, "%s: malformed template", path);
                    break;
                }
                memcpy(name, s + 1, (size_t)(e - s - 1));
                name[e - s - 1] = 0;
                in_template++;
                json_t *req = json_object_get(declared, name);
                if (!req)
                    report(why, &n, "%s %s: path parameter {%s} is not declared", k, path, name);
                else if (!json_is_true(req))
                    report(why, &n, "%s %s: path parameter {%s} must be required", k, path, name);
            }
            if ((int)json_object_size(declared) != in_template)
                report(why, &n, "%s %s declares path parameters that are not in the template", k,
                       path);
            json_decref(declared);
        }
    }
    return n;
}

static void refs_walk(json_t *doc, json_t *v, const char *at, char *why, int *n)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            if (!strcmp(k, "$ref")) {
                const char *r = json_string_value(c);
                if (!r || strncmp(r, "#/components/", 13) || !pointer_get(doc, r))
                    report(why, n, "$ref \"%s\" in %s does not name an existing component",
                           r ? r : "(not a string)", at);
                continue;
            }
            char sub[WHY];
            snprintf(sub, sizeof sub, "%s/%s", at, k);
            refs_walk(doc, c, sub, why, n);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            char sub[WHY];
            snprintf(sub, sizeof sub, "%s/%zu", at, i);
            refs_walk(doc, c, sub, why, n);
        }
    }
}

static int check_refs(json_t *doc, char *why)
{
    int n = 0;
    refs_walk(doc, doc, "#", why, &n);
    return n;
}

/* An object schema with properties must be closed, as the codec refuses
 * unknown fields at every level. */
static void closed_walk(json_t *doc, json_t *s, const char *at, char *why, int *n, int depth)
{
    s = deref(doc, s);
    if (!s || depth > 8)
        return;
    json_t *props = json_object_get(s, "properties");
    if (json_is_object(props)) {
        if (!json_is_false(json_object_get(s, "additionalProperties")))
            report(why, n, "%s: request schema lacks \"additionalProperties\": false", at);
        const char *k;
        json_t *p;
        json_object_foreach(props, k, p)
        {
            char sub[WHY];
            snprintf(sub, sizeof sub, "%s.%s", at, k);
            closed_walk(doc, p, sub, why, n, depth + 1);
        }
    }
    const char *alts[] = {"oneOf", "anyOf", "allOf"};
    for (size_t a = 0; a < 3; a++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(s, alts[a]), i, c)
            closed_walk(doc, c, at, why, n, depth + 1);
    }
}

static int check_bodies_closed(json_t *doc, char *why)
{
    int n = 0;
    const char *path, *k;
    json_t *item, *o;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, k, o)
        {
            if (strcmp(k, "post") && strcmp(k, "put") && strcmp(k, "patch"))
                continue;
            json_t *rb = json_object_get(o, "requestBody");
            if (!rb)
                continue;
            json_t *content = json_object_get(deref(doc, rb), "content");
            if (!json_is_object(content) || !json_object_size(content)) {
                report(why, &n, "%s %s: requestBody has no content", k, path);
                continue;
            }
            const char *mt;
            json_t *m;
            json_object_foreach(content, mt, m)
            {
                json_t *schema = json_object_get(m, "schema");
                char at[WHY];
                snprintf(at, sizeof at, "%s %s (%s)", k, path, mt);
                json_t *s = deref(doc, schema);
                if (!s)
                    report(why, &n, "%s: no schema", at);
                else if (!json_is_false(json_object_get(s, "additionalProperties")))
                    report(why, &n, "%s: request schema lacks \"additionalProperties\": false",
                           at);
                else
                    closed_walk(doc, schema, at, why, &n, 0);
            }
        }
    }
    return n;
}

/* ---- tests ---- */

typedef int (*check_fn)(json_t *doc, char *why);

static void expect_clean(check_fn f, const char *name)
{
    json_t *doc = load_doc();
    char why[WHY] = "";
    int n = f(doc, why);
    json_decref(doc);
    if (n)
        fail_msg("%s: %d problem(s); first: %s", name, n, why);
}

static void test_is_openapi_31(void **state)
{
    (void)state;
    expect_clean(check_version, "version");
}

static void test_every_route_documented(void **state)
{
    (void)state;
    expect_clean(check_routes_documented, "routes documented");
}

static void test_every_documented_path_routed(void **state)
{
    (void)state;
    expect_clean(check_documented_routed, "documented routed");
}

static void test_operations_complete(void **state)
{
    (void)state;
    expect_clean(check_operations, "operations");
    expect_clean(check_path_params, "path parameters");
}

static void test_refs_resolve(void **state)
{
    (void)state;
    expect_clean(check_refs, "refs");
}

static void test_request_bodies_refuse_unknown_fields(void **state)
{
    (void)state;
    expect_clean(check_bodies_closed, "request bodies");
}

/* The parts every client relies on: the bearer scheme and the Problem shape. */
static void test_document_shape(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    json_t *schemes = json_object_get(json_object_get(doc, "components"), "securitySchemes");
    json_t *bearer = json_object_get(schemes, "bearer");
    assert_non_null(bearer);
    assert_string_equal(json_string_value(json_object_get(bearer, "type")), "http");
    assert_string_equal(json_string_value(json_object_get(bearer, "scheme")), "bearer");
    json_t *problem = pointer_get(doc, "#/components/schemas/Problem");
    assert_non_null(problem);
    const char *fields[] = {"type", "title", "status", "detail", "field", "errors"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (!json_object_get(json_object_get(problem, "properties"), fields[i]))
            fail_msg("Problem lacks %s", fields[i]);
    json_decref(doc);
}

/* Breaks a copy of the document with `edit` and expects `f` to find more
 * problems in it than in the document as it is. */
static void expect_caught(check_fn f, const char *what, void (*edit)(json_t *doc))
{
    json_t *doc = load_doc();
    char why[WHY] = "";
    int before = f(doc, why);
    edit(doc);
    why[0] = 0;
    int after = f(doc, why);
    json_decref(doc);
    if (after <= before)
        fail_msg("a check missed: %s (%d problem(s) before, %d after)", what, before, after);
    print_message("caught %s: %s\n", what, why);
}

static json_t *paths_of(json_t *doc)
{
    return json_object_get(doc, "paths");
}

static void break_version(json_t *d)
{
    json_object_set_new(d, "openapi", json_string("3.0.3"));
}
static void drop_route(json_t *d)
{
    json_object_del(json_object_get(paths_of(d), "/v1/patients/{id}"), "patch");
}
static void drop_path(json_t *d)
{
    json_object_del(paths_of(d), "/v1/audit");
}
static void add_unrouted(json_t *d)
{
    json_t *o = json_deep_copy(doc_op(d, "GET", "/v1/clinic"));
    json_object_set_new(o, "operationId", json_string("deleteClinic"));
    json_object_set_new(json_object_get(paths_of(d), "/v1/clinic"), "delete", o);
}
static void rename_template(json_t *d)
{
    json_t *item = json_object_get(paths_of(d), "/v1/patients/{id}");
    json_object_set(paths_of(d), "/v1/patients/{patient_id}", item);
    json_object_del(paths_of(d), "/v1/patients/{id}");
}
static void duplicate_opid(json_t *d)
{
    json_object_set_new(doc_op(d, "GET", "/v1/patients"), "operationId",
                        json_string("getPatient"));
}
static void open_private(json_t *d)
{
    json_object_set_new(doc_op(d, "POST", "/v1/keys"), "security", json_array());
}
static void close_health(json_t *d)
{
    json_object_del(doc_op(d, "GET", "/healthz"), "security");
}
static void drop_responses(json_t *d)
{
    json_object_del(doc_op(d, "GET", "/v1/queue/status"), "responses");
}
static void wrong_role(json_t *d)
{
    json_object_set_new(doc_op(d, "GET", "/v1/audit"), "x-nudge-min-role",
                        json_string("integration"));
}
static void drop_path_param(json_t *d)
{
    json_t *params = json_object_get(doc_op(d, "POST", "/v1/appointments/{id}/{action}"),
                                     "parameters");
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p)
    {
        json_t *pp = deref(d, p);
        if (!strcmp(json_string_value(json_object_get(pp, "name")), "action")) {
            json_array_remove(params, i);
            return;
        }
    }
}
static void dangling_ref(json_t *d)
{
    json_t *s = json_object_get(json_object_get(json_object_get(json_object_get(
                                    doc_op(d, "GET", "/v1/clinic"), "responses"),
                                                                "200"),
                                                "content"),
                                "application/json");
    json_object_set_new(json_object_get(s, "schema"), "$ref",
                        json_string("#/components/schemas/Clinc"));
}
static void open_body(json_t *d)
{
    json_object_set_new(pointer_get(d, "#/components/schemas/PatientInput"),
                        "additionalProperties", json_true());
}
static void open_nested(json_t *d)
{
    json_t *c = pointer_get(d, "#/components/schemas/ClinicUpdate/properties/quiet_hours/oneOf/0");
    json_object_del(c, "additionalProperties");
}

static void test_checks_catch_mistakes(void **state)
{
    (void)state;
    expect_caught(check_version, "openapi 3.0.3", break_version);
    expect_caught(check_routes_documented, "PATCH /v1/patients/{id} undocumented", drop_route);
    expect_caught(check_routes_documented, "/v1/audit undocumented", drop_path);
    expect_caught(check_documented_routed, "DELETE /v1/clinic documented", add_unrouted);
    expect_caught(check_documented_routed, "{patient_id} instead of {id}", rename_template);
    expect_caught(check_operations, "a duplicate operationId", duplicate_opid);
    expect_caught(check_operations, "security [] on POST /v1/keys", open_private);
    expect_caught(check_operations, "/healthz without security []", close_health);
    expect_caught(check_operations, "an operation without responses", drop_responses);
    expect_caught(check_operations, "a wrong x-nudge-min-role", wrong_role);
    expect_caught(check_path_params, "an undeclared {action}", drop_path_param);
    expect_caught(check_refs, "a $ref to a missing schema", dangling_ref);
    expect_caught(check_bodies_closed, "PatientInput open", open_body);
    expect_caught(check_bodies_closed, "quiet_hours open", open_nested);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_openapi_31),
        cmocka_unit_test(test_every_route_documented),
        cmocka_unit_test(test_every_documented_path_routed),
        cmocka_unit_test(test_operations_complete),
        cmocka_unit_test(test_refs_resolve),
        cmocka_unit_test(test_request_bodies_refuse_unknown_fields),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_checks_catch_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
