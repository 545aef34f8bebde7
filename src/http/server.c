/*
 * server.c: the HTTP API's front door. It owns everything a handler should
 * not think about: libmicrohttpd, the per-thread nudge handles, reading
 * the body under a size limit, routing, authentication and roles, the
 * Idempotency-Key, problem+json answers and the access log. It speaks only
 * the public library (nudge.h).
 *
 * A request that changes data and carries an Idempotency-Key runs through
 * nudge_once: one transaction with the stored answer, so a replay either
 * finds the first answer or finds nothing was done. Errors roll back: a
 * failed request leaves nothing behind.
 *
 * Slow and idle clients (issue 11) meet the guard: libmicrohttpd bounds
 * connections per client address and its idle timeout is reset by every
 * byte, so a client dripping a byte at a time would never be cut off. The
 * guard follows each connection through its phases (ready for a request,
 * request line, head, body, being answered) from libmicrohttpd's
 * callbacks, and a thread of its own times each phase from its start: a
 * request line that has not come 2 s after the first byte (NUL bytes,
 * which libmicrohttpd skips as blank lines, included) is answered 400, a
 * head or body over its time 408, and the socket is shut down, which
 * libmicrohttpd sees as the client leaving and closes at once. Past
 * http_max_connections the stalest connection not being answered makes
 * room for the new one, so accepting never stops and the listen backlog
 * never fills with sockets nobody reads.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/codec.h"
#include "http/http.h"

/* A request line must be whole this long after its first byte: it comes in
 * the first packet, so anything slower is garbage or a drip. */
#define HTTP_LINE_MS 2000
/* Longer URLs are answered 414: every route is far shorter. */
#define HTTP_MAX_URL 8192
/* libmicrohttpd's memory per connection (the request's head; bodies are
 * read by on_request): room for a URL past HTTP_MAX_URL and its headers.
 * It zeroes the whole of it after every request, so more costs every
 * request (128 KiB was 5% of a GET's CPU). */
#define HTTP_CONN_MEMORY (32 * 1024)
/* The kernel's TCP_CLOSE_WAIT (netinet/tcp.h has it, but clashes with
 * linux/tcp.h, whose tcp_info has the received-bytes count). */
#define HTTP_TCP_CLOSE_WAIT 8
/* How often the guard looks at every connection. */
#define HTTP_GUARD_MS 200
/* File descriptors kept for everything but API connections (databases,
 * the dispatcher's sockets, the outbox). */
#define HTTP_FD_RESERVE 256
/* The access log's buffer: written out when half full, by the guard every
 * HTTP_GUARD_MS, and at stop. */
#define HTTP_LOG_BUF (64 * 1024)

/* Where a connection is; the guard times each phase from its start. */
typedef enum conn_phase {
    PH_READY, /* waiting for a request: the idle timeout (libmicrohttpd's) */
    PH_LINE,  /* bytes came, no request line yet: HTTP_LINE_MS */
    PH_HEAD,  /* request line came, headers not done: http_head_timeout */
    PH_BODY,  /* headers done, body not: http_body_timeout */
    PH_BUSY,  /* being answered: never timed or evicted by the guard */
} conn_phase;

/* One per socket, from accept to close, in the server's list (oldest phase
 * first: the eviction order). */
typedef struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    conn_phase phase;
    int64_t since;     /* ms on the monotonic clock: the phase's start */
    uint64_t rx_mark;  /* bytes received when it became ready */
    int fin_seen;      /* the client half-closed it, seen in this phase */
    int shut;          /* shut down by the guard; libmicrohttpd closes it */
} http_conn;

/* Why the guard closed a connection (counted for guard_say). */
enum { GUARD_LINE, GUARD_HEAD, GUARD_BODY, GUARD_EVICTED, GUARD_HALF, GUARD_N };

struct http_server {
    struct MHD_Daemon *d;
    http_config cfg;
    char *db, *outbox; /* copies of the strings in cfg.nudge */
    int port;
    pthread_key_t handle_key;
    /* the guard; mu protects everything below */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t guard;
    int guard_on, guard_stop, stopping;
    http_conn *head, *tail;
    int n_conns, n_shut;
    int max_conns; /* http_max_connections, after the file limit */
    long closed[GUARD_N];
    int64_t said_at;
    /* The access log, buffered: one write(2) per HTTP_GUARD_MS or half a
     * buffer rather than one per request. log_mu guards the buffer; out_mu
     * keeps two writers' flushes in order while requests go on filling
     * the other buffer (a slow stderr stalls no request). */
    pthread_mutex_t log_mu, out_mu;
    char *log_buf, *log_spare;
    size_t log_len;
    /* requests from handle() to their log line: the last one out writes
     * the log, so a quiet server's is up to date and a busy one's is
     * written once for many requests */
    atomic_int handling;
};

typedef struct conn_ctx {
    char *body; /* NUL-terminated */
    size_t body_len;
    int too_big;
    int head_done; /* the access handler has seen the headers */
    size_t url_len;
    struct timespec started;
} conn_ctx;

/* ---- the guard ---- */

static int64_t mono_ms(void)
{
    struct timespec t; /* durations, not a time of day: not the nudge clock */
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Payload bytes the kernel has received on the socket (0 if unknown), and
 * whether the client has half-closed it (its FIN came: CLOSE-WAIT). */
static uint64_t conn_rx(int fd, int *fin)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    int got = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0;
    if (fin)
        *fin = got && ti.tcpi_state == HTTP_TCP_CLOSE_WAIT;
    if (!got ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return 0;
    return ti.tcpi_bytes_received;
}

static void conn_unlink(http_server *s, http_conn *hc)
{
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        s->head = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    else
        s->tail = hc->prev;
    hc->prev = hc->next = NULL;
}

static void conn_append(http_server *s, http_conn *hc)
{
    hc->prev = s->tail;
    hc->next = NULL;
    if (s->tail)
        s->tail->next = hc;
    else
        s->head = hc;
    s->tail = hc;
}

/* Under s->mu: a new phase starts now (or at `since`), at the list's end. */
static void conn_enter(http_server *s, http_conn *hc, conn_phase ph, int64_t since)
{
    hc->phase = ph;
    hc->since = since;
    hc->fin_seen = 0;
    conn_unlink(s, hc);
    conn_append(s, hc);
}

static http_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* Called from libmicrohttpd's threads as a request moves on. */
static void conn_phase_set(http_server *s, struct MHD_Connection *c, conn_phase ph)
{
    http_conn *hc = conn_of(c);
    if (!hc)
        return;
    /* The socket's count is read before the lock every thread takes:
     * a system call under it held up the other threads' requests. */
    uint64_t rx = ph == PH_READY ? conn_rx(hc->fd, NULL) : 0;
    pthread_mutex_lock(&s->mu);
    int64_t now = mono_ms();
    /* A head's time counts from the request's first byte, when the guard
     * saw it come. */
    conn_enter(s, hc, ph, ph == PH_HEAD && hc->phase == PH_LINE ? hc->since : now);
    if (ph == PH_READY)
        hc->rx_mark = rx;
    pthread_mutex_unlock(&s->mu);
}

/* Under s->mu. shutdown, not close: the descriptor stays libmicrohttpd's,
 * which reads the end of the stream and closes it in its own thread. */
static void conn_shut(http_server *s, http_conn *hc)
{
    shutdown(hc->fd, SHUT_RDWR);
    hc->shut = 1;
    s->n_shut++;
}

/* Under s->mu: closes a connection for the guard. A status gets a short
 * problem answer first (the socket is non-blocking and nothing else is
 * writing to it while a request is still arriving). */
static void guard_close(http_server *s, http_conn *hc, int why)
{
    static const struct {
        int status;
        const char *reason, *title, *detail;
    } answers[GUARD_N] = {
        [GUARD_LINE] = {400, "Bad Request", "Malformed request",
                        "no request line arrived after the first bytes"},
        [GUARD_HEAD] = {408, "Request Timeout", "Request timeout",
                        "the request's headers took too long"},
        [GUARD_BODY] = {408, "Request Timeout", "Request timeout",
                        "the request's body took too long"},
    };
    if (answers[why].status) {
        char body[256], msg[512];
        int bl = snprintf(body, sizeof body,
                          "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,"
                          "\"detail\":\"%s\"}",
                          answers[why].title, answers[why].status, answers[why].detail);
        int ml = snprintf(msg, sizeof msg,
                          "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
                          "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                          answers[why].status, answers[why].reason, bl, body);
        /* Best effort: a client that is gone or not reading is closed anyway. */
        send(hc->fd, msg, (size_t)ml, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    conn_shut(s, hc);
    s->closed[why]++;
}

/* Under s->mu: over the limit, the stalest connections not being answered
 * (nor `keep`, the one just accepted) make room. */
static void guard_evict(http_server *s, http_conn *keep)
{
    for (http_conn *hc = s->head; hc && s->n_conns - s->n_shut > s->max_conns; hc = hc->next)
        if (hc != keep && !hc->shut && hc->phase != PH_BUSY)
            guard_close(s, hc, GUARD_EVICTED);
}

/* Under s->mu: one look at every connection. */
static void guard_pass(http_server *s, int64_t now)
{
    const int64_t limit[] = {
        [PH_LINE] = HTTP_LINE_MS,
        [PH_HEAD] = (int64_t)s->cfg.nudge.http_head_timeout * 1000,
        [PH_BODY] = (int64_t)s->cfg.nudge.http_body_timeout * 1000,
    };
    static const int why[] = {[PH_LINE] = GUARD_LINE, [PH_HEAD] = GUARD_HEAD,
                              [PH_BODY] = GUARD_BODY};
    for (http_conn *hc = s->head; hc; hc = hc->next) {
        if (hc->shut || hc->phase == PH_BUSY)
            continue;
        if (hc->phase == PH_READY && s->stopping) {
            conn_shut(s, hc); /* an idle keep-alive would only delay the stop */
            continue;
        }
        int fin;
        uint64_t rx = conn_rx(hc->fd, &fin);
        /* A client that half-closed before its request was whole can never
         * finish it; libmicrohttpd (edge-triggered epoll) may not read the
         * FIN that came with the last bytes until its idle timeout, and the
         * socket would sit in CLOSE-WAIT. Seen on two passes in one phase,
         * so a request racing through its phases is never cut. */
        if (fin && hc->fin_seen) {
            guard_close(s, hc, GUARD_HALF);
            continue;
        }
        hc->fin_seen = fin;
        if (hc->phase == PH_READY) {
            /* Bytes since it became ready: a request has begun. */
            if (rx > hc->rx_mark) {
                hc->phase = PH_LINE;
                hc->since = now;
            }
            continue;
        }
        if (now - hc->since >= limit[hc->phase])
            guard_close(s, hc, why[hc->phase]);
    }
}

/* What the guard closed, said once a second at most (so an attack cannot
 * flood the log) and outside the lock (a slow stderr must not stall the
 * server's threads). */
static void guard_say(http_server *s, int64_t now)
{
    long c[GUARD_N], total = 0;
    memcpy(c, s->closed, sizeof c);
    for (int i = 0; i < GUARD_N; i++)
        total += c[i];
    if (!total || now - s->said_at < 1000)
        return;
    memset(s->closed, 0, sizeof s->closed);
    s->said_at = now;
    int open = s->n_conns;
    pthread_mutex_unlock(&s->mu);
    fprintf(stderr,
            "nudge: http guard closed=%ld line=%ld head=%ld body=%ld half_closed=%ld evicted=%ld "
            "open=%d\n",
            total, c[GUARD_LINE], c[GUARD_HEAD], c[GUARD_BODY], c[GUARD_HALF], c[GUARD_EVICTED],
            open);
    pthread_mutex_lock(&s->mu);
}

/* ---- the access log ---- */

/* Writes out what the log holds, in the order it came. */
static void log_flush(http_server *s)
{
    if (!s->log_buf)
        return;
    pthread_mutex_lock(&s->out_mu);
    pthread_mutex_lock(&s->log_mu);
    char *out = s->log_buf;
    size_t n = s->log_len;
    s->log_buf = s->log_spare;
    s->log_spare = out;
    s->log_len = 0;
    pthread_mutex_unlock(&s->log_mu);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, out + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EINTR)
            break; /* stderr is gone: the lines cannot be kept anywhere */
    }
    pthread_mutex_unlock(&s->out_mu);
}

/* Adds one line (escaped by the caller) to the log. A line is written at
 * once when no other request is being answered (a quiet server's log is
 * up to date), else with the others, by the guard or the last to finish. */
static void log_line(http_server *s, const char *line, size_t n)
{
    if (!s->log_buf) {
        fwrite(line, 1, n, stderr); /* no buffer (out of memory): as it came */
        return;
    }
    pthread_mutex_lock(&s->log_mu);
    while (s->log_len + n > HTTP_LOG_BUF) {
        pthread_mutex_unlock(&s->log_mu);
        log_flush(s);
        pthread_mutex_lock(&s->log_mu);
    }
    memcpy(s->log_buf + s->log_len, line, n);
    s->log_len += n;
    int flush = s->log_len >= HTTP_LOG_BUF / 2 || atomic_load(&s->handling) == 0;
    pthread_mutex_unlock(&s->log_mu);
    if (flush)
        log_flush(s);
}

/* Writes out the last lines and frees the log (the server has stopped). */
static void http_log_free(http_server *s)
{
    log_flush(s);
    free(s->log_buf);
    free(s->log_spare);
    s->log_buf = s->log_spare = NULL;
    pthread_mutex_destroy(&s->log_mu);
    pthread_mutex_destroy(&s->out_mu);
}

static void *guard_run(void *p)
{
    http_server *s = p;
    pthread_mutex_lock(&s->mu);
    while (!s->guard_stop) {
        int64_t now = mono_ms();
        guard_pass(s, now);
        guard_say(s, now);
        pthread_mutex_unlock(&s->mu); /* the log's write must not hold the guard's lock */
        log_flush(s);
        pthread_mutex_lock(&s->mu);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += HTTP_GUARD_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->mu, &t);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    http_conn *hc = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!i || !(hc = calloc(1, sizeof *hc)))
            return; /* unguarded, under libmicrohttpd's own limits still */
        hc->fd = i->connect_fd;
        pthread_mutex_lock(&s->mu);
        hc->phase = PH_READY;
        hc->since = mono_ms();
        conn_append(s, hc);
        s->n_conns++;
        if (s->stopping)
            conn_shut(s, hc); /* accepted after the stop began: closed unanswered */
        guard_evict(s, hc);
        pthread_mutex_unlock(&s->mu);
        *socket_context = hc;
        return;
    }
    if (!hc)
        return;
    /* Closed: libmicrohttpd closes the descriptor only after this returns,
     * so the guard never shuts down a number reused by another socket. */
    pthread_mutex_lock(&s->mu);
    conn_unlink(s, hc);
    s->n_conns--;
    s->n_shut -= hc->shut;
    pthread_mutex_unlock(&s->mu);
    free(hc);
    *socket_context = NULL;
}

/* ---- per-thread handles ---- */

static void handle_free(void *p)
{
    nudge_close(p);
}

static nudge *thread_handle(http_server *s, nudge_err *err)
{
    nudge *n = pthread_getspecific(s->handle_key);
    if (n)
        return n;
    if (nudge_open(&s->cfg.nudge, &n, err) < 0)
        return NULL;
    pthread_setspecific(s->handle_key, n);
    return n;
}

/* ---- responses ---- */

int http_ok(http_req *r, int status, json_t *body)
{
    r->status = status;
    json_decref(r->out);
    r->out = body;
    free(r->text);
    r->text = NULL;
    return 0;
}

int http_ok_text(http_req *r, int status, codec_buf *b)
{
    http_ok(r, status, NULL);
    r->text = b->p ? b->p : codec_strdup("null");
    *b = (codec_buf){0};
    return 0;
}

/* The bytes of the top-level member `name`'s value in the JSON object
 * text t (an answer codec_text wrote): its start in *at, its length
 * returned; 0 when there is no such member. */
static size_t member_find(const char *t, const char *name, size_t *at)
{
    size_t nl = strlen(name), key = 0, val = 0;
    int depth = 0, in_str = 0, is_key = 0, match = 0;
    for (size_t i = 0; t[i]; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"') {
                in_str = 0;
                if (is_key)
                    match = i - key == nl && !memcmp(t + key, name, nl);
            }
            continue;
        }
        if (c == '"') {
            in_str = 1;
            key = i + 1;
        } else if (c == '{' || c == '[') {
            is_key = ++depth == 1;
        } else if (c == ':' && depth == 1) {
            is_key = 0;
            val = i + 1;
        } else if ((c == ',' || c == '}' || c == ']') && depth == 1 && match) {
            *at = val;
            return i - val;
        } else if (c == ',' && depth == 1) {
            is_key = 1;
        } else if (c == '}' || c == ']') {
            is_key = 0;
            depth--;
        }
        if (depth == 1 && (c == ',' || c == '{'))
            match = 0;
    }
    return 0;
}

void http_add_member(http_req *r, const char *name, const char *json, size_t len)
{
    if (json_is_object(r->out)) {
        json_object_set_new(r->out, name, json_loadb(json, len, JSON_DECODE_ANY, NULL));
        return;
    }
    size_t n = r->text ? strlen(r->text) : 0, at = 0, old;
    if (n < 2 || r->text[n - 1] != '}')
        return;
    codec_buf b = {0};
    if ((old = member_find(r->text, name, &at))) { /* replaced where it stands, as a tree's is */
        codec_put(&b, r->text, at);
        codec_put(&b, json, len);
        codec_put(&b, r->text + at + old, n - at - old);
    } else { /* "{...}" becomes "{...,"name":json}" */
        codec_put(&b, r->text, n - 1);
        if (n > 2)
            codec_put(&b, ",", 1);
        codec_put_str(&b, name);
        codec_put(&b, ":", 1);
        codec_put(&b, json, len);
        codec_put(&b, "}", 1);
    }
    free(r->text);
    r->text = b.p;
}

int http_problem(http_req *r, int status, const char *title, const char *detail,
                 const char *field)
{
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title,
                          "status", status, "detail", detail ? detail : title);
    if (field && *field) {
        json_object_set_new(p, "field", json_string(field));
        json_object_set_new(p, "errors",
                            json_pack("[{s:s, s:s}]", "field", field, "detail",
                                      detail ? detail : title));
    }
    return http_ok(r, status, p);
}

/* The database cannot be reached: a 503 the client retries after
 * HTTP_RETRY_AFTER seconds (send_response adds the header to every 503,
 * /readyz's included): about the store's longest reconnect backoff. */
#define HTTP_RETRY_AFTER "5"

static int http_unavailable(http_req *r)
{
    return http_problem(r, 503, "Unavailable", "the database cannot be reached; retry later", NULL);
}

int http_fail(http_req *r, const nudge_err *in)
{
    /* The library names its own fields ("at", "provider"); the client sent
     * JSON names ("start_at", "doctor"). */
    nudge_err copy = *in, *e = &copy;
    codec_err_fields(e);
    switch (e->code) {
    case NUDGE_EINVAL:
        return http_problem(r, 422, "Invalid input", e->msg, e->field);
    case NUDGE_ENOTFOUND:
        return http_problem(r, 404, "Not found", e->msg, NULL);
    case NUDGE_ECONFLICT:
        /* If-Match that no longer holds: the version a client read is gone. */
        if (!strcmp(e->field, "version"))
            return http_problem(r, 412, "Precondition failed", e->msg, "If-Match");
        return http_problem(r, 409, "Conflict", e->msg, e->field);
    case NUDGE_EUNAVAILABLE:
        return http_unavailable(r);
    case NUDGE_ENOSPACE: /* the store logged the cause, once */
        return http_problem(r, 503, "Unavailable", "the database cannot write now; retry later",
                            NULL);
    case NUDGE_ESTORE: {
        /* A store failure because the connection was lost (even if it is
         * back by now) is the client's to retry, not a fault: 503. */
        nudge_err pe = {0};
        if (r->n && nudge_store_ping(r->n, 0, &pe) != 0)
            return http_unavailable(r);
    }
        /* fall through */
    default:
        /* The store's message may name tables; the client gets none of it. */
        return http_problem(r, 500, "Internal error", "the request could not be completed",
                            NULL);
    }
}

/* ---- request helpers ---- */

json_t *http_body(http_req *r)
{
    if (!r->body_len)
        return http_problem(r, 400, "Malformed request", "a JSON object body is required",
                            "body"),
               NULL;
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "body is not valid JSON: %s (at byte %d)", je.text,
                 je.position);
        http_problem(r, 400, "Malformed request", msg, "body");
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_problem(r, 400, "Malformed request", "the body must be a JSON object", "body");
        return NULL;
    }
    return j;
}

const char *http_query(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static int parse_pos(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

int http_param_id(http_req *r, int i, int64_t *out)
{
    if (parse_pos(r->params[i], out) < 0) {
        http_problem(r, 404, "Not found", "no such resource", NULL);
        return -1;
    }
    return 0;
}

int http_paging(http_req *r, int64_t *after, int *limit)
{
    const char *a = http_query(r, "after"), *l = http_query(r, "limit");
    int64_t v;
    *after = 0;
    *limit = 50;
    if (a && parse_pos(a, after) < 0)
        return http_problem(r, 400, "Malformed request", "after must be a positive id", "after"),
               -1;
    if (l) {
        if (parse_pos(l, &v) < 0 || v > 200)
            return http_problem(r, 400, "Malformed request", "limit must be 1 to 200", "limit"),
                   -1;
        *limit = (int)v;
    }
    return 0;
}

int http_no_body(http_req *r)
{
    if (!r->body_len) /* bytes with a length: a leading NUL is a body */
        return 0;
    json_t *j = http_body(r);
    if (!j)
        return -1;
    size_t n = json_object_size(j);
    json_decref(j);
    if (n)
        return http_problem(r, 422, "Invalid input", "this action takes no fields", "body"), -1;
    return 0;
}

int64_t http_if_match(http_req *r)
{
    const char *h = http_header(r, "If-Match");
    if (!h)
        return 0;
    int64_t v;
    char buf[32];
    size_t l = strlen(h);
    if (l < 3 || l >= sizeof buf || h[0] != '"' || h[l - 1] != '"')
        return -1;
    memcpy(buf, h + 1, l - 2);
    buf[l - 2] = 0;
    return parse_pos(buf, &v) < 0 ? -1 : v;
}

void http_set_etag(http_req *r, int64_t version)
{
    snprintf(r->etag, sizeof r->etag, "\"%lld\"", (long long)version);
}

/* ---- routing ---- */

/* Matches "/v1/patients/{id}" against a path, capturing {..} segments into
 * params (pointing into buf, a writable copy of the path). */
static int route_match(const char *pattern, char *buf, const char *params[3])
{
    const char *p = pattern;
    char *s = buf;
    int np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            char *se = strchr(s, '/');
            if (!pe || np == 3)
                return 0;
            if (se)
                *se = 0;
            if (!*s)
                return 0;
            params[np++] = s;
            p = pe + 1;
            s = se ? se + 1 : s + strlen(s);
            if (se && *p == '/')
                p++;
            else if (se)
                return 0;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return !*p && !*s;
}

/* The route for method and path. When the path exists only with other
 * methods, allow gets them ("GET, POST") for the 405's Allow header. */
static const http_route *route_find(const char *method, const char *path, const char *params[3],
                                    char *buf, size_t bufsz, char *allow, size_t allowsz)
{
    allow[0] = 0;
    for (const http_route *rt = http_routes; rt->method; rt++) {
        if (strlen(path) >= bufsz)
            return NULL;
        strcpy(buf, path);
        const char *pp[3] = {0};
        if (!route_match(rt->pattern, buf, pp))
            continue;
        if (strcmp(rt->method, method)) {
            size_t l = strlen(allow);
            if (!strstr(allow, rt->method))
                snprintf(allow + l, allowsz - l, "%s%s", l ? ", " : "", rt->method);
            continue;
        }
        strcpy(buf, path);
        route_match(rt->pattern, buf, params);
        return rt;
    }
    return NULL;
}

/* ---- idempotency ---- */

/* The answer a handler gave, kept under the key: body and the headers that
 * went with it. Only 2xx answers are kept; anything else rolls back. */
struct once_ctx {
    http_req *r;
    const http_route *rt;
};

static int run_once(void *ctx, int *code, char **answer)
{
    struct once_ctx *o = ctx;
    http_req *r = o->r;
    o->rt->fn(r);
    if (r->status < 200 || r->status >= 300)
        return -1;
    json_t *body = r->text ? json_loads(r->text, 0, NULL) : json_incref(r->out);
    json_t *saved = json_pack("{s:o?, s:s, s:s}", "body", body, "etag", r->etag, "location",
                              r->location);
    *answer = json_dumps(saved, JSON_COMPACT);
    json_decref(saved);
    *code = r->status;
    return 0;
}

/* Runs the handler, under an Idempotency-Key when the request has one: the
 * library runs it at most once per key, in one transaction with its answer.
 * Only on the API's routes: a provider's callback has no clinic to scope a
 * key to, and is idempotent by its own message ids (a header there is
 * ignored, as request.c leaves it unchecked). */
static void run_handler(http_req *r, const http_route *rt)
{
    const char *ikey = strcmp(r->method, "POST") || !rt->min_role
                           ? NULL
                           : http_header(r, "Idempotency-Key");
    if (!ikey) {
        rt->fn(r);
        return;
    }
    if (!*ikey || strlen(ikey) > NUDGE_ONCE_KEY_MAX) {
        http_problem(r, 400, "Malformed request", "Idempotency-Key must be 1 to 200 characters",
                     "Idempotency-Key");
        return;
    }
    /* The request as the key remembers it: method, path and body. */
    size_t ml = strlen(r->method), pl = strlen(r->path);
    char *req = malloc(ml + pl + 2 + r->body_len);
    if (!req) {
        http_problem(r, 500, "Internal error", "the request could not be completed", NULL);
        return;
    }
    memcpy(req, r->method, ml);
    req[ml] = ' ';
    memcpy(req + ml + 1, r->path, pl);
    req[ml + 1 + pl] = '\n';
    memcpy(req + ml + pl + 2, r->body, r->body_len);
    struct once_ctx o = {r, rt};
    nudge_once_result res;
    nudge_err e = {0};
    int rc = nudge_once(r->n, r->key.clinic_id, ikey, req, ml + pl + 2 + r->body_len, run_once, &o,
                        &res, &e);
    free(req);
    if (rc < 0 && e.code == NUDGE_ECONFLICT) {
        http_problem(r, 422, "Idempotency-Key reused",
                     "this Idempotency-Key was used with a different request", "Idempotency-Key");
        return;
    }
    if (rc < 0) {
        http_fail(r, &e);
        return;
    }
    if (!res.replayed)
        return;
    json_t *saved = json_loads(res.answer ? res.answer : "", 0, NULL);
    free(res.answer);
    const char *etag = json_string_value(json_object_get(saved, "etag"));
    const char *loc = json_string_value(json_object_get(saved, "location"));
    snprintf(r->etag, sizeof r->etag, "%s", etag ? etag : "");
    snprintf(r->location, sizeof r->location, "%s", loc ? loc : "");
    http_ok(r, res.code, json_incref(json_object_get(saved, "body")));
    json_decref(saved);
}

/* ---- the request ---- */

static int authenticate(http_req *r, const http_route *rt)
{
    const char *h = http_header(r, "Authorization");
    nudge_err e = {0};
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return http_problem(r, 401, "Unauthorized",
                            "send an API key as Authorization: Bearer KEY", NULL),
               -1;
    int rc = nudge_key_verify(r->n, h + 7, &r->key, &e);
    if (rc < 0 && e.code == NUDGE_ENOTFOUND)
        return http_problem(r, 401, "Unauthorized", "the API key is not valid", NULL), -1;
    if (rc < 0)
        return http_fail(r, &e), -1;
    if (r->key.role > rt->min_role)
        return http_problem(r, 403, "Forbidden", "this key's role may not do this", NULL), -1;
    if (nudge_clinic_get(r->n, r->key.clinic_id, &r->clinic, &e) < 0)
        return http_fail(r, &e), -1;
    char actor[64];
    snprintf(actor, sizeof actor, "key:%s", r->key.prefix);
    nudge_set_actor(r->n, actor);
    return 0;
}

static void handle(http_server *s, http_req *r)
{
    char buf[512];
    if (http_static(r)) /* the dashboard: no key, no store */
        return;
    const http_route *rt =
        route_find(r->method, r->path, r->params, buf, sizeof buf, r->allow, sizeof r->allow);
    r->route = rt ? (int)(rt - http_routes) : -1;
    if (!rt) {
        if (r->allow[0])
            http_problem(r, 405, "Method not allowed", "this resource does not take that method",
                         NULL);
        else
            http_problem(r, 404, "Not found", "no such resource", NULL);
        return;
    }
    nudge_err e = {0};
    if (!(r->n = thread_handle(s, &e)) && rt->min_role) {
        http_unavailable(r);
        return;
    }
    /* A connection known to be lost is reopened (with backoff) before the
     * request, not discovered halfway through it: no round trip when it
     * is healthy. */
    if (r->n && rt->min_role && nudge_store_ping(r->n, 0, &e) < 0) {
        http_unavailable(r);
        return;
    }
    if (!r->n) { /* health, readiness, metrics: they answer for themselves */
        rt->fn(r);
        return;
    }
    nudge_set_actor(r->n, "api");
    /* One snapshot for the key, the clinic and a GET's record, not one
     * implicit transaction each. A write's handler begins its own
     * transaction, so its scope ends before it. */
    nudge_read_begin(r->n);
    if ((!rt->min_role || authenticate(r, rt) == 0) &&
        http_request_check(r, rt) == 0) { /* request.c */
        if (strcmp(r->method, "GET"))
            nudge_read_end(r->n);
        run_handler(r, rt);
    }
    nudge_read_end(r->n);
    if (!r->status)
        http_problem(r, 500, "Internal error", "no response", NULL);
}

static enum MHD_Result send_response(struct MHD_Connection *c, http_req *r)
{
    char *text = r->raw;
    r->raw = NULL;
    if (!text) {
        text = r->text;
        r->text = NULL;
    }
    if (!text)
        text = r->out ? json_dumps(r->out, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!text && !(text = calloc(1, 1)))
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type",
                            r->raw_type             ? r->raw_type
                            : r->status >= 400 ? "application/problem+json"
                                               : "application/json");
    MHD_add_response_header(resp, "Cache-Control", r->cache ? r->cache : "no-store");
    if (r->cache) { /* a dashboard file (static.c) */
        MHD_add_response_header(resp, "Content-Security-Policy", http_static_csp);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    if (r->etag[0])
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->location[0])
        MHD_add_response_header(resp, "Location", r->location);
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (r->status == 503)
        MHD_add_response_header(resp, "Retry-After", HTTP_RETRY_AFTER);
    if (r->status == 405 && r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The request line is whole: the request's context starts here, so the
 * guard knows its head has begun and a long URL is known before the
 * headers. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    conn_ctx *cx = calloc(1, sizeof *cx);
    if (cx) {
        cx->url_len = strlen(uri);
        clock_gettime(CLOCK_MONOTONIC, &cx->started); /* a duration, not a time of day */
    }
    conn_phase_set(cls, c, PH_HEAD);
    return cx;
}

/* Answers, counts and logs a request. The log line is logfmt; everything
 * the client chose (method, path) goes through nudge_log_text, so no byte
 * of it can break or forge a line. Never bodies, names or secrets: the
 * path holds ids only, the key its public prefix. */
static enum MHD_Result finish(http_server *s, struct MHD_Connection *c, conn_ctx *cx,
                              http_req *r, int counted)
{
    if (!counted) /* a counted request is being answered since on_request */
        conn_phase_set(s, c, PH_BUSY);
    metrics_count(r->route, r->status);
    enum MHD_Result ret = send_response(c, r);
    if (s->cfg.access_log) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (double)(now.tv_sec - cx->started.tv_sec) * 1e3 +
                    (double)(now.tv_nsec - cx->started.tv_nsec) / 1e6;
        char method[64], path[512], client[INET6_ADDRSTRLEN] = "-";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, client,
                      sizeof client);
        char line[768];
        int n = snprintf(line, sizeof line,
                         "nudge: http method=\"%s\" path=\"%s\" status=%d ms=%.1f key=%s "
                         "client=%s\n",
                         nudge_log_text(method, sizeof method, r->method, strlen(r->method)),
                         nudge_log_text(path, sizeof path, r->path, strlen(r->path)), r->status,
                         ms, r->key.prefix[0] ? r->key.prefix : "-", client);
        if (n > 0)
            log_line(s, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    json_decref(r->out);
    free(r->text);
    if (counted && atomic_fetch_sub(&s->handling, 1) == 1 && s->cfg.access_log)
        log_flush(s); /* the last request out writes the lines the others left */
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    conn_ctx *cx = *con_cls;
    if (!cx)
        return MHD_NO; /* out of memory in on_uri */
    http_req r;
    memset(&r, 0, sizeof r);
    r.route = -1;
    r.method = method;
    r.path = url;
    r.conn = c;
    if (!cx->head_done) {
        cx->head_done = 1;
        if (cx->url_len > HTTP_MAX_URL) { /* at once, not after a body */
            char d[96];
            snprintf(d, sizeof d, "the URL is longer than %d bytes", HTTP_MAX_URL);
            http_problem(&r, 414, "URI too long", d, "url");
            return finish(s, c, cx, &r, 0);
        }
        conn_phase_set(s, c, PH_BODY);
        return MHD_YES;
    }
    if (*upload_size) {
        char *b = NULL;
        if (!cx->too_big && cx->body_len + *upload_size <= s->cfg.max_body)
            b = realloc(cx->body, cx->body_len + *upload_size + 1);
        if (b) {
            memcpy(b + cx->body_len, upload, *upload_size);
            cx->body = b;
            cx->body_len += *upload_size;
            b[cx->body_len] = 0;
        } else {
            cx->too_big = 1; /* or out of memory: either way it is not read */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    r.body = cx->body ? cx->body : "";
    r.body_len = cx->body_len;
    int counted = 0; /* in s->handling until its log line is written */
    if (cx->too_big) {
        char d[96];
        snprintf(d, sizeof d, "the body is larger than %zu bytes", s->cfg.max_body);
        http_problem(&r, 413, "Payload too large", d, "body");
    } else if (r.body_len && !codec_depth_ok(r.body, r.body_len, s->cfg.max_depth)) {
        char d[96];
        snprintf(d, sizeof d, "the body nests deeper than %d levels", s->cfg.max_depth);
        http_problem(&r, 400, "Malformed request", d, "body");
    } else {
        conn_phase_set(s, c, PH_BUSY);
        atomic_fetch_add(&s->handling, 1);
        handle(s, &r);
        counted = 1;
    }
    return finish(s, c, cx, &r, counted);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)why;
    conn_ctx *cx = *con_cls;
    if (cx) {
        free(cx->body);
        free(cx);
    }
    *con_cls = NULL;
    conn_phase_set(cls, c, PH_READY);
}

/* Room in the file limit for the connections asked for: the soft limit is
 * raised toward the hard one, and the connection limit lowered to fit what
 * remains (said once, at start). */
static int fd_budget(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return want;
    rlim_t need = (rlim_t)want + (rlim_t)want / 4 + HTTP_FD_RESERVE + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    long fit = ((long)rl.rlim_cur - HTTP_FD_RESERVE - 64) * 4 / 5;
    if (fit < 16)
        fit = 16;
    fprintf(stderr,
            "nudge: http_max_connections %d lowered to %ld: the open-file limit is %ld "
            "(raise it with ulimit -n)\n",
            want, fit, (long)rl.rlim_cur);
    return (int)fit;
}

int http_start(const http_config *cfg, http_server **out, nudge_err *err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return codec_err(err, NUDGE_ENOMEM, "", "out of memory");
    s->cfg = *cfg;
    if (!s->cfg.max_body)
        s->cfg.max_body = 1 << 20;
    if (!s->cfg.max_depth)
        s->cfg.max_depth = 32;
    s->db = codec_strdup(cfg->nudge.db);
    s->outbox = codec_strdup(cfg->nudge.outbox_dir);
    s->cfg.nudge.db = s->db;
    s->cfg.nudge.outbox_dir = s->outbox;
    s->cfg.nudge.smtp_url = NULL; /* API threads enqueue; they never send */
    nudge_config_defaults(&s->cfg.nudge); /* the http_* limits an embedder left 0 */
    if (!s->cfg.threads)
        s->cfg.threads = s->cfg.nudge.http_threads;
    /* 0: two per CPU, at least 16. A POST's thread waits for its group's
     * fsync (commit.c), and a group holds at most one write per waiting
     * thread: with 4 threads, 16 connections' writes went to disk 4 to an
     * fsync. */
    if (s->cfg.threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = cpus > 8 ? (int)(cpus < 128 ? 2 * cpus : 256) : 16;
    }
    pthread_mutex_init(&s->log_mu, NULL);
    pthread_mutex_init(&s->out_mu, NULL);
    s->log_buf = malloc(HTTP_LOG_BUF);
    s->log_spare = malloc(HTTP_LOG_BUF);
    if (!s->log_buf || !s->log_spare) {
        free(s->log_buf);
        free(s->log_spare);
        s->log_buf = s->log_spare = NULL;
    }
    s->max_conns = fd_budget(s->cfg.nudge.http_max_connections);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);

    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    const char *colon = strrchr(listen, ':');
    struct sockaddr_in addr = {.sin_family = AF_INET};
    char host[64];
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || (size_t)(colon - listen) >= sizeof host || port < 0 || port > 65535) {
        http_stop(s);
        return codec_err(err, NUDGE_EINVAL, "listen", "listen must be HOST:PORT (got \"%s\")",
                       listen);
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        http_stop(s);
        return codec_err(err, NUDGE_EINVAL, "listen",
                       "listen host must be an IPv4 address such as 127.0.0.1 (got \"%s\")",
                       host);
    }
    addr.sin_port = htons((uint16_t)port);
    pthread_key_create(&s->handle_key, handle_free);
    /* libmicrohttpd's own limit is above the guard's, so it keeps accepting
     * (it stops polling the listen socket at its limit) while the guard
     * makes room; each pool thread gets an equal share of it. */
    unsigned hard = (unsigned)(s->max_conns + s->max_conns / 4 + 16 * s->cfg.threads);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ITC, 0,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)s->cfg.nudge.http_idle_timeout, MHD_OPTION_CONNECTION_LIMIT, hard,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->cfg.nudge.http_max_per_client,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL, MHD_OPTION_END);
    if (s->d && pthread_create(&s->guard, NULL, guard_run, s) == 0)
        s->guard_on = 1;
    if (!s->guard_on) {
        if (s->d)
            MHD_stop_daemon(s->d);
        pthread_key_delete(s->handle_key);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->wake);
        http_log_free(s);
        free(s->db);
        free(s->outbox);
        free(s);
        return codec_err(err, NUDGE_EIO, "listen", "cannot listen on %s", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (int)port;
    *out = s;
    return 0;
}

int http_port(const http_server *s)
{
    return s->port;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    if (s->d) {
        /* Requests in flight finish; a connection accepted from now on is
         * shut at once (on_connection), and the guard closes idle ones.
         * Not MHD_quiesce_daemon(): in libmicrohttpd 0.9.75 it races its
         * own epoll workers over removing the listen socket and aborts the
         * process ("Failed to remove listen FD from epoll set"), and the
         * socket it hands back would be ours to close. */
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        for (int i = 0; i < 1000; i++) {
            const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            if (!info || info->num_connections == 0)
                break;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&s->mu);
        s->guard_stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->guard, NULL);
        MHD_stop_daemon(s->d);
        pthread_key_delete(s->handle_key);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->wake);
    }
    http_log_free(s); /* after every request has finished: no line is lost */
    free(s->db);
    free(s->outbox);
    free(s);
}
