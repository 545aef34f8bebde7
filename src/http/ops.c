/*
 * ops.c: what operators and load balancers ask: /healthz (the process
 * answers), /readyz (the store answers and its schema is current).
 */
#include "core.h"
#include "http/http.h"

int api_healthz(http_req *r)
{
    return http_ok(r, 200, json_pack("{s:s}", "status", "ok"));
}

int api_readyz(http_req *r)
{
    int version = 0;
    nudge_err e = {0};
    if (store_schema_version(r->n->db, &version, &e) < 0)
        return http_problem(r, 503, "Not ready", "the database does not answer", NULL);
    return http_ok(r, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
}
