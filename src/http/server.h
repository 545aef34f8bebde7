/*
 * server.h: the HTTP API server, started by `nudge serve` beside the
 * scheduler and dispatcher. libmicrohttpd runs a small pool of threads;
 * each opens its own nudge handle (SQLite connections are not shared
 * between threads) on first use. A guard thread holds slow and idle
 * clients to the http_* settings (server.c says how).
 */
#ifndef NUDGE_HTTP_SERVER_H
#define NUDGE_HTTP_SERVER_H

#include <stddef.h>

#include "nudge.h"

typedef struct http_config {
    const char *listen;      /* "127.0.0.1:8080"; port 0 picks a free one */
    /* How each worker thread opens its handle, lazily, on its first
     * request: db and outbox_dir are copied, every other string must live
     * as long as the server. */
    nudge_config nudge;
    size_t max_body;         /* bytes; default 1 MiB */
    int max_depth;           /* JSON nesting; default 32 */
    int threads;             /* 0: nudge.http_threads (the setting) */
    /* Connection limits and timeouts are nudge.http_* (the settings). */
    /* One logfmt line per request on stderr, buffered: written out every
     * 200 ms, when 32 KiB gather, and at http_stop. */
    int access_log;
} http_config;

typedef struct http_server http_server;

int http_start(const http_config *cfg, http_server **out, nudge_err *err);
int http_port(const http_server *s);
/* Stops accepting, lets requests in flight finish (up to 10 s), stops. */
void http_stop(http_server *s);

#endif
