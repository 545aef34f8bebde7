/*
 * event.c: the transactional outbox of domain events. A change that matters
 * (appointment booked, cancelled, ...) writes its event row in the same
 * transaction, so an event exists if and only if the change committed. The
 * workflow engine reads them; until it exists, they are the history.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "util.h"

/* subject_id 0: the event is about no one row (stored NULL, which is what
 * event_count_since looks for). */
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
                        bind_int(clinic_id), bind_text(type), bind_int_or_null(subject_id), bind_text(js),
                        bind_int(clock_now(n)));
    free(js);
    return rc;
}

int event_count_since(nudge *n, int64_t clinic_id, const char *type, int64_t since,
                      const char *key, const char *value, int64_t *count, nudge_err *err)
{
    store_stmt *st;
    *count = 0;
    if (store_query(n->db, &st, err,
                    "SELECT payload FROM events WHERE clinic_id = ? AND type = ? AND "
                    "subject_id IS NULL AND created_at > ?",
                    bind_int(clinic_id), bind_text(type), bind_int(since)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1)
        *count += json_text_is(store_text(st, 0), key, value);
    store_done(st);
    return r < 0 ? -1 : 0;
}
