/*
 * pg.c: the PostgreSQL backend (libpq). Domain SQL arrives with `?`
 * placeholders; each distinct SQL text is rewritten to `$N` once and kept,
 * and each (SQL, bound types) pair is prepared once per connection under a
 * generated name and reused. Results are read whole into the client
 * (PQexecPrepared), so any number of statements can be open at once: the
 * flow reads one query while it runs others on the same connection.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util.h"

/* Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across releases. */
#define PG_BOOLOID 16
#define PG_INT8OID 20
#define PG_TEXTOID 25

#define PG_BUCKETS 1024 /* well above the few hundred distinct texts */
/* The protocol's limit (a 16-bit count): a batch's multi-row statements
 * bind thousands. */
#define PG_MAX_PARAMS 65535

/* One prepared form of a statement: its bound types and server-side name. */
struct pg_variant {
    struct pg_variant *next;
    char name[24];
    char types[]; /* 'i' or 't' per parameter */
};

/* One distinct SQL text: rewritten once, prepared once per type signature. */
struct pg_sql {
    struct pg_sql *next;
    char *sql; /* the domain's text, compared by content */
    char *rewritten;
    int nparams;
    struct pg_variant *variants;
};

typedef struct pg_store {
    store base;
    PGconn *conn;
    struct pg_sql *bucket[PG_BUCKETS];
    int prepared; /* names are "n1", "n2", ...: unique per connection */
    char sqlstate[6];
    char errmsg[512];
    int64_t changes;
    /* Connection loss: while down, a reset is tried no sooner than
     * retry_at (monotonic ms), the wait doubling up to 10 s. */
    int down;
    int lost_tx; /* the transaction died with the old session */
    int64_t retry_at, backoff_ms;
    char listening[64]; /* the topic LISTENed on this connection, "" none */
    char notify[64];    /* a topic notified in the open transaction, sent with its COMMIT */
} pg_store;

struct store_stmt {
    store *s; /* must be first: store.c reads it */
    struct pg_sql *q;
    char *types; /* nparams + 1, after values[] */
    PGresult *res;
    int row, nrows;
    char *values[];
};

static int pg_revive(pg_store *ps);

static pg_store *pgs(store *s)
{
    return (pg_store *)s;
}

/* Keeps the last error's SQLSTATE and message; the PGresult may be gone by
 * the time store.c asks. */
static void pg_note(pg_store *ps, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(ps->sqlstate, sizeof ps->sqlstate, "%s", state ? state : "");
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(ps->conn);
    snprintf(ps->errmsg, sizeof ps->errmsg, "%s", msg);
    size_t l = strlen(ps->errmsg);
    while (l && ps->errmsg[l - 1] == '\n')
        ps->errmsg[--l] = 0;
}

static void pg_fail(pg_store *ps, const char *msg)
{
    ps->sqlstate[0] = 0;
    snprintf(ps->errmsg, sizeof ps->errmsg, "%s", msg);
}


/* `?` to `$N`, skipping '...' literals ('' inside one is an escaped quote,
 * which the same loop handles: it leaves and re-enters the literal). */
static char *pg_rewrite(const char *sql, int *nparams)
{
    size_t len = strlen(sql);
    char *out = malloc(len * 6 + 1); /* "?" becomes at most "$65535" */
    if (!out)
        return NULL;
    char *o = out;
    int n = 0, quoted = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (*p == '?' && !quoted) {
            o += sprintf(o, "$%d", ++n);
            continue;
        }
        *o++ = *p;
    }
    *o = 0;
    *nparams = n;
    return out;
}

static unsigned pg_hash(const char *sql)
{
    unsigned h = 2166136261u;
    for (const char *p = sql; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % PG_BUCKETS;
}

static struct pg_sql *pg_lookup(pg_store *ps, const char *sql)
{
    unsigned h = pg_hash(sql);
    for (struct pg_sql *q = ps->bucket[h]; q; q = q->next)
        if (strcmp(q->sql, sql) == 0)
            return q;
    struct pg_sql *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->sql = str_dup(sql);
    q->rewritten = pg_rewrite(sql, &q->nparams);
    if (!q->sql || !q->rewritten) {
        free(q->sql);
        free(q->rewritten);
        free(q);
        return NULL;
    }
    q->next = ps->bucket[h];
    ps->bucket[h] = q;
    return q;
}

/* Nothing reaches the server here: the parameter types are known only once
 * bound, and PostgreSQL types a parameter at PREPARE, so the prepare waits
 * for the first step (pg_step). */
static int pg_prepare(store *s, const char *sql, store_stmt **out)
{
    pg_store *ps = pgs(s);
    struct pg_sql *q = pg_lookup(ps, sql);
    if (!q) {
        pg_fail(ps, "out of memory");
        return -1;
    }
    if (q->nparams > PG_MAX_PARAMS) {
        pg_fail(ps, "too many parameters in one statement");
        return -1;
    }
    size_t np = (size_t)q->nparams;
    store_stmt *h = calloc(1, sizeof *h + np * sizeof *h->values + np + 1);
    if (!h) {
        pg_fail(ps, "out of memory");
        return -1;
    }
    h->s = s;
    h->q = q;
    h->types = (char *)(h->values + np);
    memset(h->types, 't', (size_t)q->nparams);
    h->types[q->nparams] = 0;
    *out = h;
    return 0;
}

static int pg_bind(store_stmt *h, int i, char type, const char *v)
{
    if (i < 1 || i > h->q->nparams)
        return -1;
    free(h->values[i - 1]);
    h->values[i - 1] = NULL;
    h->types[i - 1] = type;
    if (v && !(h->values[i - 1] = str_dup(v))) {
        pg_fail(pgs(h->s), "out of memory");
        return -1;
    }
    return 0;
}

static int pg_bind_int(store_stmt *h, int i, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return pg_bind(h, i, 'i', b);
}

static int pg_bind_text(store_stmt *h, int i, const char *v, size_t len, int keep)
{
    (void)len, (void)keep; /* libpq sends parameters as C strings, copied for PQexecPrepared */
    return pg_bind(h, i, 't', v);
}

/* A NULL still carries its type: `(? IS NULL OR x = ?)` gives PostgreSQL
 * nothing else to type the first parameter by. */
static int pg_bind_null(store_stmt *h, int i, int as_int)
{
    return pg_bind(h, i, as_int ? 'i' : 't', NULL);
}

static int pg_param_count(store_stmt *h)
{
    return h->q->nparams;
}

/* The prepared name for this statement's SQL and bound types, preparing
 * it on first use. The cache is keyed by both because one SQL text bound
 * once with an int and once with a text is two statements to PostgreSQL. */
static const char *pg_prepared(pg_store *ps, store_stmt *h)
{
    struct pg_variant *v;
    for (v = h->q->variants; v; v = v->next)
        if (strcmp(v->types, h->types) == 0)
            return v->name;
    size_t np = (size_t)h->q->nparams;
    Oid *oids = malloc((np ? np : 1) * sizeof *oids);
    if (!oids || !(v = calloc(1, sizeof *v + np + 1))) {
        free(oids);
        pg_fail(ps, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < np; i++)
        oids[i] = h->types[i] == 'i' ? PG_INT8OID : PG_TEXTOID;
    memcpy(v->types, h->types, np + 1);
    snprintf(v->name, sizeof v->name, "n%d", ++ps->prepared);
    PGresult *r = PQprepare(ps->conn, v->name, h->q->rewritten, h->q->nparams, oids);
    free(oids);
    ps->base.prepares++;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_note(ps, r);
        PQclear(r);
        free(v);
        if (PQstatus(ps->conn) == CONNECTION_BAD)
            pg_revive(ps);
        return NULL;
    }
    PQclear(r);
    v->next = h->q->variants;
    h->q->variants = v;
    return v->name;
}

/* Backoff is about the connection, not the domain: it reads the
 * monotonic clock, which a test's fake clock does not (and need not) move. */
static int64_t pg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pg_log(pg_store *ps, const char *msg)
{
    if (ps->base.log)
        ps->base.log(ps->base.log_ctx, msg);
}

/* After a failure: if the connection is gone, reset it (now, or once the
 * backoff allows). The server forgot our prepared statements and LISTEN
 * with the old session, so we forget them too; an open transaction is
 * lost, so the caller's commit must fail. Said once per outage. 0: the
 * connection is usable. */
static int pg_revive(pg_store *ps)
{
    if (PQstatus(ps->conn) == CONNECTION_OK)
        return 0;
    if (!ps->down) {
        ps->down = 1;
        ps->backoff_ms = 100;
        ps->retry_at = 0;
        char msg[300];
        snprintf(msg, sizeof msg, "database connection lost (%.200s); reconnecting",
                 PQerrorMessage(ps->conn));
        msg[strcspn(msg, "\n")] = 0;
        pg_log(ps, msg);
    }
    if (ps->base.tx_depth > 0)
        ps->base.tx_failed = ps->lost_tx = 1;
    int64_t now = pg_mono_ms();
    if (now < ps->retry_at) {
        pg_fail(ps, "database unreachable; reconnecting");
        return -1;
    }
    PQreset(ps->conn);
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        ps->retry_at = now + ps->backoff_ms;
        ps->backoff_ms = ps->backoff_ms * 2 > 10000 ? 10000 : ps->backoff_ms * 2;
        pg_fail(ps, "database unreachable; reconnecting");
        return -1;
    }
    for (int b = 0; b < PG_BUCKETS; b++)
        for (struct pg_sql *q = ps->bucket[b]; q; q = q->next) {
            for (struct pg_variant *v = q->variants, *nv; v; v = nv) {
                nv = v->next;
                free(v);
            }
            q->variants = NULL;
        }
    ps->listening[0] = 0;
    ps->down = 0;
    PGresult *r = PQexec(ps->conn, "SET client_min_messages = warning");
    PQclear(r);
    pg_log(ps, "database connection back");
    return 0;
}

static int pg_step(store_stmt *h)
{
    pg_store *ps = pgs(h->s);
    if (!h->res && pg_revive(ps) < 0)
        return -1;
    /* What follows a lost transaction must not run outside it, committed
     * one statement at a time on the new session. */
    if (!h->res && ps->lost_tx && ps->base.tx_depth > 0) {
        pg_fail(ps, "the transaction was lost with the database connection");
        return -1;
    }
    if (!h->res) {
        const char *name = pg_prepared(ps, h);
        if (!name)
            return -1;
        h->res = PQexecPrepared(ps->conn, name, h->q->nparams, (const char *const *)h->values,
                                NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(h->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            pg_note(ps, h->res);
            PQclear(h->res);
            h->res = NULL;
            if (PQstatus(ps->conn) == CONNECTION_BAD) {
                char keep[sizeof ps->errmsg];
                memcpy(keep, ps->errmsg, sizeof keep);
                pg_revive(ps); /* ready for the next statement */
                memcpy(ps->errmsg, keep, sizeof keep);
            }
            return -1;
        }
        /* As sqlite3_changes: rows the last write touched; a SELECT
         * leaves the count alone. */
        const char *cmd = PQcmdStatus(h->res);
        if (!strncmp(cmd, "INSERT", 6) || !strncmp(cmd, "UPDATE", 6) || !strncmp(cmd, "DELETE", 6))
            ps->changes = strtoll(PQcmdTuples(h->res), NULL, 10);
        h->nrows = PQntuples(h->res);
        h->row = -1;
    }
    if (h->row + 1 >= h->nrows) {
        h->row = h->nrows;
        return 0;
    }
    h->row++;
    return 1;
}

static int pg_column_null(store_stmt *h, int i)
{
    return PQgetisnull(h->res, h->row, i);
}

static int64_t pg_column_int(store_stmt *h, int i)
{
    if (PQgetisnull(h->res, h->row, i))
        return 0;
    const char *v = PQgetvalue(h->res, h->row, i);
    /* Booleans from comparisons (`SELECT a = b`) read as 1/0, as on SQLite. */
    if (PQftype(h->res, i) == PG_BOOLOID)
        return *v == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_column_text(store_stmt *h, int i)
{
    return PQgetisnull(h->res, h->row, i) ? NULL : PQgetvalue(h->res, h->row, i);
}

static void pg_finalize(store_stmt *h)
{
    for (int i = 0; i < h->q->nparams; i++)
        free(h->values[i]);
    PQclear(h->res);
    free(h);
}

static int pg_exec_script(store *s, const char *sql)
{
    pg_store *ps = pgs(s);
    char *lit = NULL, *both = NULL;
    int rollback = !strcmp(sql, "ROLLBACK");
    if (ps->notify[0] && !strcmp(sql, "COMMIT") && ps->conn) {
        /* The transaction's notification rides in its COMMIT's round trip
         * (PostgreSQL delivers it at the commit either way). */
        lit = PQescapeLiteral(ps->conn, ps->notify, strlen(ps->notify));
        size_t len = lit ? strlen(lit) + 40 : 0;
        if (lit && (both = malloc(len)))
            snprintf(both, len, "SELECT pg_notify(%s, ''); COMMIT", lit);
        PQfreemem(lit);
        if (!both)
            return pg_fail(ps, "out of memory"), -1;
        sql = both;
    }
    if (both || rollback || !strncmp(sql, "BEGIN", 5))
        ps->notify[0] = 0; /* sent with this COMMIT, or gone with its transaction */
    /* A ROLLBACK after a lost connection has nothing to undo: the server
     * ended that transaction with the session. */
    if (pg_revive(ps) < 0) {
        free(both);
        return rollback ? 0 : -1;
    }
    PGresult *r = PQexec(ps->conn, sql);
    free(both);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_note(ps, r);
    PQclear(r);
    if (!ok && PQstatus(ps->conn) == CONNECTION_BAD) {
        char keep[sizeof ps->errmsg];
        memcpy(keep, ps->errmsg, sizeof keep);
        pg_revive(ps);
        memcpy(ps->errmsg, keep, sizeof keep);
    }
    return ok ? 0 : -1;
}

/* One statement with parameters, no prepared name: the few statements of
 * the backend itself (locks, notify). */
static int pg_exec_params(pg_store *ps, const char *sql, int n, const char *const *vals)
{
    if (pg_revive(ps) < 0)
        return -1;
    PGresult *r = PQexecParams(ps->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_note(ps, r);
    PQclear(r);
    if (!ok && PQstatus(ps->conn) == CONNECTION_BAD)
        pg_revive(ps);
    return ok ? 0 : -1;
}

/* A lock that fails (lock_timeout, a cancel) leaves the BEGIN's block
 * aborted; the caller never got a level to roll back, so it is ended here
 * (the failure's message and code stay the error). */
static int pg_begin_script(store *s, const char *sql)
{
    pgs(s)->lost_tx = 0;
    if (pg_exec_script(s, sql) == 0)
        return 0;
    if (PQstatus(pgs(s)->conn) == CONNECTION_OK &&
        PQtransactionStatus(pgs(s)->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pgs(s)->conn, "ROLLBACK"));
    return -1;
}

/* Write transactions take turns, as SQLite's BEGIN IMMEDIATE makes
 * them, but per clinic (pg_begin_clinic below): domain code was written
 * for one writer at a time (a dedupe key read before its insert, a plan's
 * state read before it moves, an appointment's version checked before its
 * change), all within one clinic, and READ COMMITTED alone would let two
 * such transactions interleave. pg_begin takes the writers' lock alone:
 * every clinic's turn at once. The locks are released at COMMIT/ROLLBACK;
 * plain reads outside a transaction do not wait.
 * What runs on every worker all the time does not take it: the queue's
 * claim, outcome records and reaping, and the periodic-job gate, open
 * their transaction with store_begin_own (pg_begin_own) and take only
 * what they need: row locks (FOR UPDATE SKIP LOCKED), the rate budget's
 * lock per clinic and channel, the lock per provider message id that a
 * delivery report shares with the send's record (see queue.c). So the
 * workers claim and record concurrently, and wait for each other only on
 * the same clinic and channel's budget. */
static int pg_begin(store *s)
{
    return pg_begin_script(s, "BEGIN; SELECT pg_advisory_xact_lock(" STORE_STR(STORE_WRITERS_KEY) ")");
}

/* A clinic's writers take turns on the clinic's key and share the
 * writers' lock, so they wait for a pg_begin (every clinic's turn: a new
 * clinic, a webhook not yet routed to its clinic) and it for them, but
 * never for another clinic's writers. Shared first, then the clinic's:
 * the lock order of store.h. PostgreSQL queues a later shared request
 * behind a waiting exclusive one, so pg_begin is not starved. */
static int pg_begin_clinic(store *s, int64_t key, int64_t also)
{
    char sql[224], then[64] = "";
    if (also) /* a finer key, after the clinic's */
        snprintf(then, sizeof then, "; SELECT pg_advisory_xact_lock(%lld)", (long long)also);
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT pg_advisory_xact_lock_shared(" STORE_STR(STORE_WRITERS_KEY)
             "); SELECT pg_advisory_xact_lock(%lld)%s",
             (long long)key, then);
    return pg_begin_script(s, sql);
}

static int pg_begin_own(store *s)
{
    pgs(s)->lost_tx = 0;
    return pg_exec_script(s, "BEGIN");
}

static int pg_lock(store *s, int64_t key)
{
    char k[24];
    snprintf(k, sizeof k, "%lld", (long long)key);
    const char *v[] = {k};
    return pg_exec_params(pgs(s), "SELECT pg_advisory_xact_lock($1::bigint)", 1, v);
}

/* Inside a transaction the notification waits for its COMMIT (one round
 * trip fewer a group commit); outside one it goes at once. */
static int pg_notify(store *s, const char *topic)
{
    pg_store *ps = pgs(s);
    if (s->tx_depth > 0 && strlen(topic) < sizeof ps->notify &&
        (!ps->notify[0] || !strcmp(ps->notify, topic))) {
        memcpy(ps->notify, topic, strlen(topic) + 1);
        return 0;
    }
    const char *v[] = {topic};
    return pg_exec_params(ps, "SELECT pg_notify($1, '')", 1, v);
}

/* LISTENs on first use (and again after a reset), then waits on the
 * connection's socket: a notification, the timeout or a signal ends it. */
static int pg_wait(store *s, const char *topic, int timeout_ms)
{
    pg_store *ps = pgs(s);
    if (pg_revive(ps) < 0)
        return -1;
    if (strcmp(ps->listening, topic)) {
        char *id = PQescapeIdentifier(ps->conn, topic, strlen(topic));
        char sql[160];
        snprintf(sql, sizeof sql, "LISTEN %s", id ? id : "\"\"");
        PQfreemem(id);
        if (pg_exec_script(s, sql) < 0)
            return -1;
        snprintf(ps->listening, sizeof ps->listening, "%s", topic);
    }
    int woken = 0;
    for (int round = 0; round < 2 && !woken; round++) {
        if (!PQconsumeInput(ps->conn)) {
            pg_note(ps, NULL);
            pg_revive(ps);
            return -1;
        }
        PGnotify *nt;
        while ((nt = PQnotifies(ps->conn))) {
            woken = 1;
            PQfreemem(nt);
        }
        if (woken || round)
            break;
        struct pollfd pfd = {.fd = PQsocket(ps->conn), .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            break; /* timed out, or a signal (EINTR): the caller looks */
    }
    return woken;
}

/* Processes starting together each run store_migrate; the session lock
 * makes the second wait for the first and then find nothing to apply.
 * The key is arbitrary but fixed: "nudge" in ASCII. */
static int pg_migrate_lock(store *s, int lock)
{
    return pg_exec_script(s, lock ? "SELECT pg_advisory_lock(474215081829)"
                                  : "SELECT pg_advisory_unlock(474215081829)");
}

static int64_t pg_changes(store *s)
{
    return pgs(s)->changes;
}

/* Class 23 is every integrity constraint (unique, foreign key, check, not
 * null), as SQLITE_CONSTRAINT is on SQLite. */
static int pg_cannot_write(store *s)
{
    /* disk_full, io_error, read_only_sql_transaction: the server's
     * storage, not our statement. */
    const char *st = pgs(s)->sqlstate;
    return !strcmp(st, "53100") || !strcmp(st, "58030") || !strcmp(st, "25006");
}

static int pg_is_constraint(store *s)
{
    return strncmp(pgs(s)->sqlstate, "23", 2) == 0;
}

static const char *pg_errmsg(store *s)
{
    return pgs(s)->errmsg;
}

static void pg_close(store *s)
{
    pg_store *ps = pgs(s);
    for (int b = 0; b < PG_BUCKETS; b++)
        for (struct pg_sql *q = ps->bucket[b], *nq; q; q = nq) {
            nq = q->next;
            for (struct pg_variant *v = q->variants, *nv; v; v = nv) {
                nv = v->next;
                free(v);
            }
            free(q->sql);
            free(q->rewritten);
            free(q);
        }
    PQfinish(ps->conn);
    free(ps);
}

/* Whether the server answers, for readiness and the API's 503: 0 yes, 1
 * yes again after the connection was reopened here, -1 no. probe makes a
 * round trip instead of trusting the connection's last known state. The
 * reopening itself (backoff, forgetting prepared statements, saying it
 * once) is pg_revive's. */
static int pg_ping(store *s, int probe)
{
    pg_store *ps = pgs(s);
    if (probe && PQstatus(ps->conn) == CONNECTION_OK) {
        PGresult *r = PQexec(ps->conn, "SELECT 1");
        PQclear(r);
    }
    if (PQstatus(ps->conn) == CONNECTION_OK)
        return 0;
    return pg_revive(ps) < 0 ? -1 : 1;
}

static const struct store_ops pg_ops = {
    .engine = "postgresql",
    .migrations = store_migrations_pg,
    .prepare = pg_prepare,
    .bind_int = pg_bind_int,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .param_count = pg_param_count,
    .step = pg_step,
    .column_null = pg_column_null,
    .column_int = pg_column_int,
    .column_text = pg_column_text,
    .finalize = pg_finalize,
    .exec_script = pg_exec_script,
    .begin = pg_begin,
    .begin_clinic = pg_begin_clinic,
    .migrate_lock = pg_migrate_lock,
    .changes = pg_changes,
    .is_constraint = pg_is_constraint,
    .cannot_write = pg_cannot_write,
    .errmsg = pg_errmsg,
    .close = pg_close,
    .begin_own = pg_begin_own,
    .lock = pg_lock,
    .notify = pg_notify,
    .wait = pg_wait,
    .ping = pg_ping,
};

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int store_pg_open(const char *url, store **out, nudge_err *err)
{
    pg_store *ps = calloc(1, sizeof *ps);
    if (!ps)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    ps->base.ops = &pg_ops;
    ps->conn = PQconnectdb(url);
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        /* The message, not the URL: the URL may carry a password. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(ps->conn));
        msg[strcspn(msg, "\n")] = 0;
        err_set(err, NUDGE_ESTORE, "db", "cannot open database: %s", msg);
        pg_close(&ps->base);
        return -1;
    }
    /* Notices (e.g. "relation already exists, skipping") are not errors and
     * the library prints nothing. */
    PQsetNoticeProcessor(ps->conn, pg_quiet, NULL);
    if (pg_exec_script(&ps->base, "SET client_min_messages = warning")) {
        err_set(err, NUDGE_ESTORE, "db", "cannot use database: %s", ps->errmsg);
        pg_close(&ps->base);
        return -1;
    }
    *out = &ps->base;
    return 0;
}
