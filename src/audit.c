/*
 * audit.c: the append-only audit log. Every change and every message sent
 * leaves a row naming who did it (the handle's actor: "cli", an API key id,
 * "worker:<id>"). The table refuses UPDATE and DELETE by trigger, so not
 * even a bug in nudge can rewrite history. Details never hold message
 * bodies or secrets.
 */
#include "core.h"
#include "util.h"

int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err)
{
    return store_exec(n->db, err,
                      "INSERT INTO audit_log (clinic_id, actor, action, entity, entity_id, detail, "
                      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      bind_int_or_null(clinic_id), bind_text(n->actor), bind_text(action),
                      bind_text(entity), bind_int_or_null(entity_id), bind_text_or_null(detail),
                      bind_int(nudge_now(n)));
}
