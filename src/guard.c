/*
 * guard.c: the guarantees a front end wraps around a change, kept in the
 * library so the HTTP API, the CLI and an embedder get the same ones:
 * once-only changes (an Idempotency-Key's answer stored in the change's own
 * transaction), conditional changes (If-Match checked in the change's
 * transaction), and whether the store's schema is the one this build wants
 * (readiness). Front ends only translate their protocol to these calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "core.h"
#include "util.h"

/* ---- once-only ---- */


int nudge_once(nudge *n, int64_t clinic_id, const char *key, const void *request,
               size_t request_len, nudge_once_fn fn, void *ctx, nudge_once_result *out,
               nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    size_t klen = key ? strlen(key) : 0;
    if (klen < 1 || klen > NUDGE_ONCE_KEY_MAX)
        return err_set(err, NUDGE_EINVAL, "idempotency_key",
                       "an idempotency key must be 1 to %d bytes", NUDGE_ONCE_KEY_MAX);
    char hash[65];
    if (sha256_hex(request, request_len, hash) < 0)
        return err_set(err, NUDGE_ENOMEM, "", "SHA-256 failed");
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT request_hash, status, response FROM idempotency_keys WHERE "
                    "clinic_id = ? AND key = ?",
                    bind_int(clinic_id), bind_text(key)) < 0)
        goto fail;
    int found = store_next(st, err);
    if (found == 1) {
        int same = !strcmp(store_text(st, 0), hash);
        out->code = (int)store_int(st, 1);
        out->answer = same ? str_dup(store_text(st, 2)) : NULL;
        store_done(st);
        store_rollback(n->db);
        if (!same)
            return err_set(err, NUDGE_ECONFLICT, "idempotency_key",
                           "this key was used with a different request");
        out->replayed = 1;
        return 0;
    }
    store_done(st);
    if (found < 0)
        goto fail;
    int code = 0;
    char *answer = NULL;
    if (fn(ctx, &code, &answer) < 0) {
        free(answer);
        store_rollback(n->db);
        return 0;
    }
    int rc = store_exec(n->db, err,
                        "INSERT INTO idempotency_keys (clinic_id, key, request_hash, status, "
                        "response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        bind_int(clinic_id), bind_text(key), bind_text(hash), bind_int(code),
                        bind_text(answer ? answer : ""), bind_int(nudge_now(n)));
    free(answer);
    out->code = code;
    if (rc == 0 && store_commit(n->db, err) == 0)
        return 0;
fail:
    store_rollback(n->db);
    return -1;
}

/* ---- conditional ---- */

const char *const nudge_appointment_actions[] = {"confirm", "cancel",     "complete",
                                                 "no-show", "reschedule", NULL};

static int guard_act(nudge *n, int64_t clinic_id, int64_t id, int action, int64_t start_at,
                     nudge_err *err)
{
    static int (*const ops[])(nudge *, int64_t, int64_t, nudge_err *) = {
        nudge_appointment_confirm, nudge_appointment_cancel, nudge_appointment_complete,
        nudge_appointment_no_show};
    if (action < (int)(sizeof ops / sizeof *ops))
        return ops[action](n, clinic_id, id, err);
    return nudge_appointment_reschedule(n, clinic_id, id, start_at, err);
}

int nudge_appointment_act(nudge *n, int64_t clinic_id, int64_t id, const char *action,
                          int64_t start_at, int64_t if_version, nudge_appointment *out,
                          nudge_err *err)
{
    err_clear(err);
    int k = 0;
    while (nudge_appointment_actions[k] && strcmp(nudge_appointment_actions[k], action ? action : ""))
        k++;
    if (!nudge_appointment_actions[k])
        return err_set(err, NUDGE_EINVAL, "action", "no appointment action \"%.32s\"",
                       action ? action : "");
    nudge_appointment a;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (nudge_appointment_get(n, clinic_id, id, &a, err) < 0)
        goto fail;
    if (if_version && if_version != a.version) {
        err_set(err, NUDGE_ECONFLICT, "version", "the appointment was changed since you read it");
        goto fail;
    }
    if (guard_act(n, clinic_id, id, k, start_at, err) < 0 ||
        nudge_appointment_get(n, clinic_id, id, &a, err) < 0 || store_commit(n->db, err) < 0)
        goto fail;
    if (out)
        *out = a;
    return 0;
fail:
    store_rollback(n->db);
    return -1;
}

/* ---- readiness ---- */

int nudge_schema_status(nudge *n, int *have, int *want, nudge_err *err)
{
    err_clear(err);
    *want = store_schema_wanted(n->db);
    *have = 0;
    return store_schema_version(n->db, have, err);
}

int nudge_store_ping(nudge *n, int probe, nudge_err *err)
{
    err_clear(err);
    int rc = store_ping(n->db, probe);
    if (rc < 0)
        return err_set(err, NUDGE_EUNAVAILABLE, "db", "the database cannot be reached: %s",
                       n->db->ops->errmsg(n->db));
    return rc;
}
