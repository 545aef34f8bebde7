/*
 * apikey.c: API keys. A key belongs to one clinic and one role; its secret
 * ("nudge_<prefix>_<random>") is shown once at creation and only its
 * SHA-256 is stored, so a stolen database yields no usable key. The prefix
 * is public: it finds the row and names the key in lists and logs. The
 * secrets carry 256 random bits, so a plain hash (no salt, no stretching)
 * is enough; comparison is constant-time anyway.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core.h"
#include "record.h"
#include "util.h"

static const char *const role_names[] = {NULL, "admin", "staff", "integration"};

const char *nudge_role_name(int role)
{
    return role >= NUDGE_ROLE_ADMIN && role <= NUDGE_ROLE_INTEGRATION ? role_names[role] : NULL;
}

int nudge_role_parse(const char *name)
{
    for (int r = NUDGE_ROLE_ADMIN; name && r <= NUDGE_ROLE_INTEGRATION; r++)
        if (!strcmp(name, role_names[r]))
            return r;
    return 0;
}

/* SHA-256 of the secret, as 64 hex digits. */
static int key_hash(const char *secret, char out[65])
{
    return sha256_hex(secret, strlen(secret), out);
}

int nudge_key_create(nudge *n, int64_t clinic_id, int role, const char *label, nudge_key *out,
                     char secret[NUDGE_KEY_SECRET_LEN], nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (!nudge_role_name(role))
        return err_set(err, NUDGE_EINVAL, "role", "role must be admin, staff or integration");
    memset(out, 0, sizeof *out);
    if (str_field(out->label, sizeof out->label, label, "label", err) < 0)
        return -1;
    unsigned char pre[6], rnd[32];
    if (RAND_bytes(pre, sizeof pre) != 1 || RAND_bytes(rnd, sizeof rnd) != 1)
        return err_set(err, NUDGE_EIO, "", "no random bytes for a key");
    hex_lower(pre, sizeof pre, out->prefix);
    char body[65];
    hex_lower(rnd, sizeof rnd, body);
    snprintf(secret, NUDGE_KEY_SECRET_LEN, "nudge_%s_%s", out->prefix, body);
    OPENSSL_cleanse(rnd, sizeof rnd);
    OPENSSL_cleanse(body, sizeof body);
    char h[65];
    if (key_hash(secret, h) < 0)
        return err_set(err, NUDGE_EIO, "", "cannot hash the key");
    out->clinic_id = clinic_id;
    out->role = role;
    out->created_at = clock_now(n);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (store_scalar(n->db, &out->id, err,
                   "INSERT INTO api_keys (clinic_id, role, label, prefix, hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                   bind_int(clinic_id), bind_text(nudge_role_name(role)),
                   bind_text_or_null(out->label), bind_text(out->prefix), bind_text(h),
                   bind_int(out->created_at)) != 1 ||
        audit_add(n, clinic_id, "create", "api_key", out->id, out->prefix, err) < 0) {
        store_rollback(n->db);
        OPENSSL_cleanse(secret, NUDGE_KEY_SECRET_LEN);
        return -1;
    }
    if (store_commit(n->db, err) < 0) {
        OPENSSL_cleanse(secret, NUDGE_KEY_SECRET_LEN);
        return -1;
    }
    return 0;
}

#define KEY_COLS RECORD_KEY_COLS

static void key_row(store_stmt *st, nudge_key *k)
{
    memset(k, 0, sizeof *k);
    record_read(st, nudge_key_fields, k);
}

int nudge_key_verify(nudge *n, const char *secret, nudge_key *out, nudge_err *err)
{
    /* nudge_<12 hex>_<64 hex> */
    char prefix[24];
    size_t len = secret ? strlen(secret) : 0;
    if (len != 6 + 12 + 1 + 64 || strncmp(secret, "nudge_", 6) != 0 || secret[18] != '_')
        return err_set(err, NUDGE_ENOTFOUND, "key", "unknown key");
    memcpy(prefix, secret + 6, 12);
    prefix[12] = 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " KEY_COLS ", hash FROM api_keys WHERE prefix = ? AND "
                    "revoked_at IS NULL",
                    bind_text(prefix)) < 0)
        return -1;
    int r = store_next(st, err);
    char want[65] = "", got[65];
    if (r == 1) {
        key_row(st, out);
        store_copy(st, 8, want, sizeof want);
    }
    store_done(st);
    if (r < 0)
        return -1;
    if (key_hash(secret, got) < 0)
        return err_set(err, NUDGE_EIO, "", "cannot hash the key");
    if (r == 0 || strlen(want) != 64 || CRYPTO_memcmp(want, got, 64) != 0)
        return err_set(err, NUDGE_ENOTFOUND, "key", "unknown key");
    /* Best effort: a key's last use helps staff find keys nobody uses. */
    int64_t now = clock_now(n);
    if (out->last_used_at / 60 != now / 60)
        store_exec(n->db, NULL, "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                   bind_int(now), bind_int(out->id));
    out->last_used_at = now;
    return 0;
}

int nudge_key_list(nudge *n, int64_t clinic_id, nudge_key_fn fn, void *ctx, nudge_err *err)
{
    /* One statement per case, so a clinic's keys are a range of
     * api_keys_clinic (clinic_id, id) in order (docs/INDEXES.md), not a
     * walk of every clinic's keys past a `(? = 0 OR clinic_id = ?)`. */
    store_stmt *st;
    int r = clinic_id != NUDGE_ANY_CLINIC
                ? store_query(n->db, &st, err,
                              "SELECT " KEY_COLS " FROM api_keys WHERE clinic_id = ? ORDER BY id",
                              bind_int(clinic_id))
                /* every clinic's: the local CLI's deliberate scan */
                : store_query(n->db, &st, err, "SELECT " KEY_COLS " FROM api_keys ORDER BY id");
    if (r < 0)
        return -1;
    nudge_key k;
    while ((r = store_next(st, err)) == 1) {
        key_row(st, &k);
        if (fn(ctx, &k))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_key_revoke(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    int64_t owner = 0, revoked = 0;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    int r = store_scalar(n->db, &owner, err,
                         "SELECT clinic_id FROM api_keys WHERE id = ? AND (? = 0 OR clinic_id = ?)",
                         bind_int(id), bind_int(clinic_id), bind_int(clinic_id));
    if (r == 0)
        err_set(err, NUDGE_ENOTFOUND, "key", "no key %lld", (long long)id);
    if (r == 1)
        r = store_scalar(n->db, &revoked, err,
                         "SELECT COALESCE(revoked_at, 0) FROM api_keys WHERE id = ?",
                         bind_int(id));
    if (r == 1 && revoked) {
        err_set(err, NUDGE_ECONFLICT, "key", "key %lld is already revoked", (long long)id);
        r = 0;
    }
    if (r != 1 ||
        store_exec(n->db, err, "UPDATE api_keys SET revoked_at = ? WHERE id = ?",
                   bind_int(clock_now(n)), bind_int(id)) < 0 ||
        audit_add(n, owner, "revoke", "api_key", id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_key_count(nudge *n, int64_t *count, nudge_err *err)
{
    return store_scalar(n->db, count, err,
                        "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL") < 0
               ? -1
               : 0;
}
