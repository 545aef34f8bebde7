/*
 * ops.c: what operators and load balancers ask: /healthz (the process
 * answers), /readyz (the store answers now, asked with a round
 * trip, and its schema is current; a 503 carries Retry-After), and
 * /openapi.json (docs/openapi.json, built into the binary).
 */
#include "http/http.h"

int api_healthz(http_req *r)
{
    return http_ok(r, 200, json_pack("{s:s}", "status", "ok"));
}

extern const char http_openapi_json[];

int api_openapi(http_req *r)
{
    json_error_t je;
    json_t *doc = json_loads(http_openapi_json, 0, &je);
    if (!doc)
        return http_problem(r, 500, "Internal error", "the API description is damaged", NULL);
    return http_ok(r, 200, doc);
}

int api_readyz(http_req *r)
{
    int version = 0, want = 0;
    nudge_err e = {0};
    /* Asked of the server itself (one round trip), so a database gone
     * since the last request shows here; a lost connection is reopened. */
    if (!r->n || nudge_store_ping(r->n, 1, &e) < 0 ||
        nudge_schema_status(r->n, &version, &want, &e) < 0)
        return http_problem(r, 503, "Not ready", "the database cannot be reached", NULL);
    if (version != want)
        return http_problem(r, 503, "Not ready", "the database schema is not current", NULL);
    return http_ok(r, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
}
