/*
 * audit.c: the append-only audit log. Every change and every message sent
 * leaves a row naming who did it (the handle's actor: "cli", an API key id,
 * "worker:<id>"). The table refuses UPDATE and DELETE by trigger, so not
 * even a bug in nudge can rewrite history. Details never hold message
 * bodies or secrets.
 *
 * Someone with the database in hand can drop the triggers, so the rows are
 * also hash chains (migration 012), one per clinic so that writers of
 * different clinics never wait on each other and a chain lives whole on its
 * clinic's shard: each row stores its place (chain_seq, from 1), the
 * previous row's hash (prev_hash) and hash = SHA-256(prev_hash || its
 * canonical fields) (audit_digest). nudge_audit_verify walks the chains and
 * names the first row edited, deleted or rewritten. Rows written before 012
 * have no hash: the first chained row seals them as one block (its
 * prev_hash is the chain over them in id order, audit_sealed), so an edit
 * among them is detected but not named to the row.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "record.h"
#include "util.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_PAGE 500

int64_t audit_chain_key(int64_t clinic_id)
{
    return store_key("audit", clinic_id);
}

/* The fields a row's hash covers, in this order (the id is left out: it is
 * known only once inserted, and the place in the chain stands for it). */
#define AUDIT_CHAIN_COLS                                                                           \
    "clinic_id, chain_seq, actor, action, entity, entity_id, detail, created_at"
enum { AUDIT_NFIELDS = 8 };

/* One chain walk's digest state, reused row after row: its context and
 * the framing not yet handed to OpenSSL, so that a row is a few updates,
 * not two per field. */
typedef struct {
    EVP_MD_CTX *c;
    size_t len;
    int ok;
    char buf[240];
} audit_hash;

static int audit_hash_open(audit_hash *h)
{
    /* sha256_md: looked up once. With a context made and freed per row
     * and SHA-256 looked up at each, a row's hash cost 2.4 us in the
     * single add (issue 16's profile). */
    h->c = sha256_md() ? EVP_MD_CTX_new() : NULL;
    return h->c ? 0 : -1;
}

static void audit_hash_close(audit_hash *h)
{
    EVP_MD_CTX_free(h->c);
    h->c = NULL;
}

static void audit_hash_flush(audit_hash *h)
{
    h->ok = h->ok && (h->len == 0 || EVP_DigestUpdate(h->c, h->buf, h->len));
    h->len = 0;
}

static void audit_hash_add(audit_hash *h, const char *p, size_t n)
{
    if (h->len + n > sizeof h->buf) {
        audit_hash_flush(h);
        if (n > sizeof h->buf) {
            h->ok = h->ok && EVP_DigestUpdate(h->c, p, n);
            return;
        }
    }
    memcpy(h->buf + h->len, p, n);
    h->len += n;
}

/* tag, then v in decimal, as "%lld" writes it. */
static void audit_hash_num(audit_hash *h, char tag, long long v)
{
    char t[24], *e = t + sizeof t, *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    *--p = tag;
    audit_hash_add(h, p, (size_t)(e - p));
}

/* SHA-256 over prev and the values, each framed so that no two different
 * rows serialise alike: NULL "n;", an integer "i<decimal>;", a text
 * "s<length>:<bytes>;". The hash is hex, as stored. out may be prev. */
static int audit_digest(audit_hash *h, const char *prev, const store_val *v, int nv,
                        char out[65])
{
    h->len = 0;
    h->ok = EVP_DigestInit_ex2(h->c, sha256_md(), NULL);
    size_t plen = strlen(prev);
    audit_hash_add(h, "nudge-audit-1;", 14);
    audit_hash_num(h, 's', (long long)plen);
    audit_hash_add(h, ":", 1);
    audit_hash_add(h, prev, plen);
    for (int i = 0; i < nv; i++) {
        if (v[i].type == STORE_NULL) {
            audit_hash_add(h, ";n", 2);
        } else if (v[i].type == STORE_INT) {
            audit_hash_add(h, ";", 1);
            audit_hash_num(h, 'i', (long long)v[i].i);
        } else {
            size_t l = strlen(v[i].s);
            audit_hash_add(h, ";", 1);
            audit_hash_num(h, 's', (long long)l);
            audit_hash_add(h, ":", 1);
            audit_hash_add(h, v[i].s, l);
        }
    }
    audit_hash_flush(h);
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!h->ok || !EVP_DigestFinal_ex(h->c, md, &mdlen) || mdlen != 32)
        return -1;
    hex_lower(md, 32, out);
    return 0;
}

/* A stored row's hashed fields, read from columns first.. in
 * AUDIT_CHAIN_COLS order, as the values audit_add bound. */
static void audit_row_vals(store_stmt *st, int first, store_val v[AUDIT_NFIELDS])
{
    static const int is_text[AUDIT_NFIELDS] = {0, 0, 1, 1, 1, 0, 1, 0};
    for (int i = 0; i < AUDIT_NFIELDS; i++) {
        int col = first + i;
        if (store_null(st, col))
            v[i] = (store_val){.type = STORE_NULL};
        else if (is_text[i])
            v[i] = bind_text(store_text(st, col));
        else
            v[i] = bind_int(store_int(st, col));
    }
}

/* The chain over a chain's rows from before migration 012 (the genesis,
 * 64 zeros, when there are none): what its first chained row links to.
 * count, first and last id of them when asked. */
static int audit_sealed(nudge *n, int64_t chain, char h[65], int64_t *count, int64_t *first,
                        int64_t *last, nudge_err *err)
{
    memcpy(h, AUDIT_GENESIS, 65);
    int64_t after = 0, got = 0, total = 0;
    int r = 0;
    audit_hash hs;
    if (audit_hash_open(&hs) < 0)
        return err_set(err, NUDGE_ENOMEM, NULL, "SHA-256 failed");
    do {
        store_stmt *st;
        if (store_query(n->db, &st, err,
                        "SELECT id, " AUDIT_CHAIN_COLS " FROM audit_log WHERE COALESCE(clinic_id, "
                        "0) = ? AND chain_seq IS NULL AND id > ? ORDER BY id LIMIT ?",
                        bind_int(chain), bind_int(after), bind_int(AUDIT_PAGE)) < 0) {
            r = -1;
            break;
        }
        for (got = 0; (r = store_next(st, err)) == 1; got++) {
            store_val v[AUDIT_NFIELDS];
            after = store_int(st, 0);
            audit_row_vals(st, 1, v);
            if (audit_digest(&hs, h, v, AUDIT_NFIELDS, h) < 0) {
                r = err_set(err, NUDGE_ENOMEM, NULL, "SHA-256 failed");
                break;
            }
            if (!total++ && first)
                *first = after;
        }
        store_done(st);
    } while (r == 0 && got == AUDIT_PAGE);
    audit_hash_close(&hs);
    if (r < 0)
        return -1;
    if (count)
        *count = total;
    if (last)
        *last = after;
    return 0;
}

/* A row's values as inserted: AUDIT_CHAIN_COLS, then prev_hash and hash. */
enum { AUDIT_NVALS = AUDIT_NFIELDS + 2 };
#define AUDIT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* One clinic's lines (ls[0..count), in order) appended to its chain. */
static int audit_append(nudge *n, int64_t clinic_id, const audit_line *const *ls, size_t count,
                        nudge_err *err)
{
    /* The head is read and the rows appended under a lock on the chain (on
     * PostgreSQL; SQLite has one writer anyway), held to the commit: the
     * record of a send takes no writers' lock, so two workers could
     * otherwise link to the same head. Most callers are inside their own
     * transaction already; then this is a nested level. */
    size_t most = store_rows_chunk(count);
    store_val *v = malloc(most * AUDIT_NVALS * sizeof *v);
    char(*h)[65] = malloc((most + 1) * sizeof *h); /* h[0] the head, h[i + 1] row i's hash */
    audit_hash hs = {0};
    if (!v || !h || audit_hash_open(&hs) < 0) {
        free(v);
        free(h);
        audit_hash_close(&hs);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    if (store_begin_own(n->db, err) < 0)
        goto out;
    if (store_lock(n->db, audit_chain_key(clinic_id), err) < 0)
        goto fail;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT chain_seq, hash FROM audit_log WHERE COALESCE(clinic_id, 0) = ? AND "
                    "chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1",
                    bind_int(clinic_id)) < 0)
        goto fail;
    int64_t seq = 1;
    h[0][0] = 0;
    int r = store_next(st, err);
    if (r == 1) {
        seq = store_int(st, 0) + 1;
        store_copy(st, 1, h[0], sizeof h[0]);
    }
    store_done(st);
    if (r < 0 || (r == 0 && audit_sealed(n, clinic_id, h[0], NULL, NULL, NULL, err) < 0))
        goto fail;
    /* The chain is computed here from the one head read, row after row as
     * one add at a time would, and written a chunk a statement. The values
     * hashed are the very values bound: a difference would fail every
     * verify (tests/audit.sh). */
    int64_t now = clock_now(n);
    for (size_t done = 0, k; done < count; done += k, seq += (int64_t)k) {
        k = store_rows_chunk(count - done);
        for (size_t i = 0; i < k; i++) {
            store_val *row = v + i * AUDIT_NVALS;
            const audit_line *l = ls[done + i];
            row[0] = bind_int_or_null(clinic_id);
            row[1] = bind_int(seq + (int64_t)i);
            row[2] = bind_text(n->actor);
            row[3] = bind_text(l->action);
            row[4] = bind_text(l->entity);
            row[5] = bind_int_or_null(l->entity_id);
            row[6] = bind_text_or_null(l->detail);
            row[7] = bind_int(now);
            if (audit_digest(&hs, h[i], row, AUDIT_NFIELDS, h[i + 1]) < 0) {
                err_set(err, NUDGE_ENOMEM, NULL, "SHA-256 failed");
                goto fail;
            }
            row[8] = bind_text(h[i]);
            row[9] = bind_text(h[i + 1]);
        }
        char *sql = store_rows_sql("INSERT INTO audit_log (" AUDIT_CHAIN_COLS
                                   ", prev_hash, hash) VALUES ",
                                   AUDIT_ROW, k, "");
        if (!sql) {
            err_set(err, NUDGE_ENOMEM, "", "out of memory");
            goto fail;
        }
        r = store_exec_v(n->db, err, sql, v, (int)(k * AUDIT_NVALS));
        free(sql);
        if (r < 0)
            goto fail;
        memcpy(h[0], h[k], sizeof h[0]);
    }
    free(v);
    free(h);
    audit_hash_close(&hs);
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
out:
    free(v);
    free(h);
    audit_hash_close(&hs);
    return -1;
}

int audit_add_lines(nudge *n, const audit_line *lines, size_t count, nudge_err *err)
{
    if (count == 0)
        return 0;
    /* Each clinic's lines in their order, a chain at a time; the chains
     * are apart, so which clinic goes first changes no hash. */
    const audit_line **ls = malloc(count * sizeof *ls);
    size_t *at = malloc(count * sizeof *at);
    char *done = calloc(count, 1);
    int rc = 0;
    if (!ls || !at || !done)
        rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (done[i])
            continue;
        size_t k = ids_group(lines, count, sizeof *lines, offsetof(audit_line, clinic_id), done,
                             i, at);
        for (size_t j = 0; j < k; j++)
            ls[j] = &lines[at[j]];
        rc = audit_append(n, lines[i].clinic_id, ls, k, err);
    }
    free(ls);
    free(at);
    free(done);
    return rc;
}

int audit_add_rows(nudge *n, int64_t clinic_id, const char *action, const char *entity,
                   const int64_t *entity_ids, const char *const *details, size_t count,
                   nudge_err *err)
{
    if (count == 0)
        return 0;
    audit_line *lines = malloc(count * sizeof *lines);
    if (!lines)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < count; i++)
        lines[i] = (audit_line){clinic_id, action, entity, entity_ids[i],
                                details ? details[i] : NULL};
    int rc = audit_add_lines(n, lines, count, err);
    free(lines);
    return rc;
}

int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err)
{
    const audit_line l = {clinic_id, action, entity, entity_id, detail};
    const audit_line *ls = &l;
    return audit_append(n, clinic_id, &ls, 1, err);
}

int nudge_audit_list(nudge *n, int64_t clinic_id, int64_t before_id, int limit, nudge_audit_fn fn,
                     void *ctx, nudge_err *err)
{
    /* One statement per case, so a clinic's page is a range of
     * audit_clinic (clinic_id, id) read backwards and stopped at the limit
     * (docs/INDEXES.md): a `(? = 0 OR clinic_id = ?)` filter no index
     * serves would walk every clinic's rows. "Before" nothing is before
     * the largest id. */
    store_stmt *st;
    int64_t before = before_id ? before_id : INT64_MAX, most = limit > 0 ? limit : 100;
    int r = clinic_id != NUDGE_ANY_CLINIC
                ? store_query(n->db, &st, err,
                              "SELECT " RECORD_AUDIT_COLS " FROM audit_log WHERE clinic_id = ? "
                              "AND id < ? ORDER BY id DESC LIMIT ?",
                              bind_int(clinic_id), bind_int(before), bind_int(most))
                /* every clinic's: the local CLI's deliberate scan */
                : store_query(n->db, &st, err,
                              "SELECT " RECORD_AUDIT_COLS " FROM audit_log WHERE id < ? ORDER "
                              "BY id DESC LIMIT ?",
                              bind_int(before), bind_int(most));
    if (r < 0)
        return -1;
    while ((r = store_next(st, err)) == 1) {
        nudge_audit a;
        memset(&a, 0, sizeof a);
        record_read(st, nudge_audit_fields, &a);
        if (fn(ctx, &a))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- verification ---- */

/* Where the walk of one chain is. */
typedef struct audit_walk {
    nudge_audit_chain *c;
    audit_hash hash;
    int64_t seq, prev_id;  /* the last row that checked out (0: none yet) */
    char link[65];         /* its hash: what the next row must link to */
    int64_t sealed_first, sealed_last;
} audit_walk;

#define audit_bad(w, id, ...)                                                                      \
    ((w)->c->bad_id = (id), snprintf((w)->c->problem, sizeof (w)->c->problem, __VA_ARGS__), 1)

/* One chained row (columns: id, AUDIT_CHAIN_COLS, prev_hash, hash): 0 it
 * checks out, 1 the chain is broken here (c->problem says how), -1 error. */
static int audit_check(audit_walk *w, store_stmt *st, nudge_err *err)
{
    int64_t id = store_int(st, 0), seq = store_int(st, 2);
    store_val v[AUDIT_NFIELDS];
    audit_row_vals(st, 1, v);
    const char *prev = store_text(st, 1 + AUDIT_NFIELDS), *hash = store_text(st, 2 + AUDIT_NFIELDS);
    char want[65];
    if (audit_digest(&w->hash, prev, v, AUDIT_NFIELDS, want) < 0)
        return err_set(err, NUDGE_ENOMEM, NULL, "SHA-256 failed");
    if (strcmp(want, hash))
        return audit_bad(w, id, "row %lld was edited: its hash does not match its fields",
                         (long long)id);
    if (seq <= w->seq)
        return audit_bad(w, id, "row %lld repeats place %lld of the chain", (long long)id,
                         (long long)seq);
    if (seq > w->seq + 1) {
        char places[64];
        if (seq == w->seq + 2)
            snprintf(places, sizeof places, "place %lld", (long long)(w->seq + 1));
        else
            snprintf(places, sizeof places, "places %lld to %lld", (long long)(w->seq + 1),
                     (long long)(seq - 1));
        if (!w->prev_id)
            return audit_bad(w, id, "rows deleted: %s of the chain, before row %lld", places,
                             (long long)id);
        return audit_bad(w, id, "rows deleted: %s of the chain, between row %lld and row %lld",
                         places, (long long)w->prev_id, (long long)id);
    }
    if (strcmp(prev, w->link)) {
        if (seq > 1)
            return audit_bad(w, w->prev_id,
                             "row %lld was rewritten: row %lld recorded a different hash for it",
                             (long long)w->prev_id, (long long)id);
        return audit_bad(w, id,
                         "the %lld rows from before the chain began (ids %lld to %lld) were "
                         "edited, or rows added or deleted among them: row %lld sealed others",
                         (long long)w->c->sealed, (long long)w->sealed_first,
                         (long long)w->sealed_last, (long long)id);
    }
    w->seq = seq;
    w->prev_id = id;
    memcpy(w->link, hash, 65);
    w->c->rows++;
    return 0;
}

/* One chain: 0 intact, 1 broken, -1 error. */
static int audit_verify_walk(nudge *n, int64_t chain, nudge_audit_chain *c, audit_walk *w,
                             nudge_err *err)
{
    if (audit_sealed(n, chain, w->link, &c->sealed, &w->sealed_first, &w->sealed_last, err) < 0)
        return -1;
    c->rows = c->sealed;
    w->prev_id = w->sealed_last;
    int broken = 0;
    int64_t got;
    do {
        store_stmt *st;
        if (store_query(n->db, &st, err,
                        "SELECT id, " AUDIT_CHAIN_COLS ", prev_hash, hash FROM audit_log WHERE "
                        "COALESCE(clinic_id, 0) = ? AND chain_seq > ? ORDER BY chain_seq LIMIT ?",
                        bind_int(chain), bind_int(w->seq), bind_int(AUDIT_PAGE)) < 0)
            return -1;
        int r;
        for (got = 0; !broken && (r = store_next(st, err)) == 1; got++) {
            if (w->seq == 0 && c->sealed) {
                /* A row without a hash after the chain began was added by
                 * hand (or by a binary older than 012, which should not
                 * run on this schema). */
                int64_t late = 0;
                int f = store_scalar(n->db, &late, err,
                                     "SELECT MIN(id) FROM audit_log WHERE COALESCE(clinic_id, 0) "
                                     "= ? AND chain_seq IS NULL AND id > ?",
                                     bind_int(chain), bind_int(store_int(st, 0)));
                if (f < 0) {
                    r = -1;
                    break;
                }
                if (late) {
                    broken = audit_bad(w, late, "row %lld has no hash but was written after the chain began: added by hand",
                                       (long long)late);
                    break;
                }
            }
            broken = audit_check(w, st, err);
            if (broken < 0)
                r = -1;
        }
        store_done(st);
        if (r < 0)
            return -1;
    } while (!broken && got == AUDIT_PAGE);
    memcpy(c->head, w->link, 65);
    return broken;
}

static int audit_verify_chain(nudge *n, int64_t chain, nudge_audit_chain *c, nudge_err *err)
{
    memset(c, 0, sizeof *c);
    c->clinic_id = chain;
    audit_walk w = {.c = c};
    if (audit_hash_open(&w.hash) < 0)
        return err_set(err, NUDGE_ENOMEM, NULL, "SHA-256 failed");
    int r = audit_verify_walk(n, chain, c, &w, err);
    audit_hash_close(&w.hash);
    return r;
}

int nudge_audit_verify(nudge *n, int64_t clinic_id, nudge_audit_chain_fn fn, void *ctx,
                       nudge_err *err)
{
    int broken = 0;
    nudge_audit_chain c;
    if (clinic_id != NUDGE_ANY_CLINIC) {
        int r = audit_verify_chain(n, clinic_id, &c, err);
        if (r < 0)
            return -1;
        fn(ctx, &c);
        return r;
    }
    /* Every chain, one after another: a deliberate scan across clinics
     * (the local CLI's), the chains found by walking the index. */
    int64_t chain = -1;
    for (;;) {
        int r = store_scalar(n->db, &chain, err,
                             "SELECT COALESCE(clinic_id, 0) FROM audit_log WHERE "
                             "COALESCE(clinic_id, 0) > ? ORDER BY COALESCE(clinic_id, 0) LIMIT 1",
                             bind_int(chain));
        if (r <= 0)
            return r < 0 ? -1 : broken;
        if ((r = audit_verify_chain(n, chain, &c, err)) < 0)
            return -1;
        broken += r;
        if (fn(ctx, &c))
            return broken;
    }
}
