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

/* A deliberate scan over every clinic (hook.c's look-back window). */
int event_page(nudge *n, int64_t since, int64_t after_at, int64_t after_id, int max,
               int (*fn)(void *ctx, const event_row *e), void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, subject_id, created_at, type, payload FROM events "
                    "WHERE created_at >= ? AND (created_at > ? OR (created_at = ? AND id > ?)) "
                    "ORDER BY created_at, id LIMIT ?",
                    bind_int(since), bind_int(after_at), bind_int(after_at), bind_int(after_id),
                    bind_int(max)) < 0)
        return -1;
    int r, count = 0;
    while ((r = store_next(st, err)) == 1) {
        event_row e = {.id = store_int(st, 0), .clinic_id = store_int(st, 1),
                       .subject_id = store_int(st, 2), .created_at = store_int(st, 3),
                       .payload = store_text(st, 5)};
        store_copy(st, 4, e.type, sizeof e.type);
        count++;
        if (fn(ctx, &e) < 0) {
            r = -1;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : count;
}
