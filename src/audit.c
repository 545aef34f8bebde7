/*
 * audit.c: the append-only audit log. Every change and every message sent
 * leaves a row naming who did it (the handle's actor: "cli", an API key id,
 * "worker:<id>"). The table refuses UPDATE and DELETE by trigger, so not
 * even a bug in nudge can rewrite history. Details never hold message
 * bodies or secrets.
 */
#include <string.h>

#include "core.h"
#include "record.h"
#include "util.h"

int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err)
{
    return store_exec(n->db, err,
                      "INSERT INTO audit_log (clinic_id, actor, action, entity, entity_id, detail, "
                      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      bind_int_or_null(clinic_id), bind_text(n->actor), bind_text(action),
                      bind_text(entity), bind_int_or_null(entity_id), bind_text_or_null(detail),
                      bind_int(clock_now(n)));
}

int nudge_audit_list(nudge *n, int64_t clinic_id, int64_t before_id, int limit, nudge_audit_fn fn,
                     void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_AUDIT_COLS " FROM audit_log WHERE (? = 0 OR clinic_id = ?) AND (? = 0 OR id < ?) "
                    "ORDER BY id DESC LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(before_id),
                    bind_int(before_id), bind_int(limit > 0 ? limit : 100)) < 0)
        return -1;
    int r;
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
