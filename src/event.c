/*
 * event.c: the transactional outbox of domain events. A change that matters
 * (appointment booked, cancelled, ...) writes its event row in the same
 * transaction, so an event exists if and only if the change committed. The
 * workflow engine reads them; until it exists, they are the history.
 */
#include <stdlib.h>

#include "core.h"
#include "util.h"

int event_emit(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id, json_t *payload,
               nudge_err *err)
{
    char *js = json_dumps(payload ? payload : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    if (!js)
        return err_set(err, NUDGE_ENOMEM, "", "cannot encode event");
    int rc = store_exec(n->db, err,
                        "INSERT INTO events (clinic_id, type, subject_id, payload, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        bind_int(clinic_id), bind_text(type), bind_int(subject_id), bind_text(js),
                        bind_int(nudge_now(n)));
    free(js);
    return rc;
}
