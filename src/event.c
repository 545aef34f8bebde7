/*
 * event.c: the transactional outbox of domain events. A change that matters
 * (appointment booked, cancelled, ...) writes its event row in the same
 * transaction, so an event exists if and only if the change committed. The
 * workflow engine reads them; until it exists, they are the history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "util.h"

/* subject_id 0: the event is about no one row (stored NULL, which is what
 * event_count_since looks for). */
int event_emit(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id, json_t *payload,
               nudge_err *err)
{
    return event_emit_id(n, clinic_id, type, subject_id, payload, NULL, err);
}

int event_emit_id(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id,
                  json_t *payload, int64_t *id, nudge_err *err)
{
    int64_t got = 0;
    if (!payload)
        payload = json_object();
    char *js = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    if (!js)
        return err_set(err, NUDGE_ENOMEM, "", "cannot encode event");
    int rc = store_insert(n->db, &got, err,
                          "INSERT INTO events (clinic_id, type, subject_id, payload, created_at) "
                          "VALUES (?, ?, ?, ?, ?)",
                          bind_int(clinic_id), bind_text(type), bind_int_or_null(subject_id),
                          bind_text(js), bind_int(clock_now(n)));
    free(js);
    if (id)
        *id = got;
    return rc < 0 ? -1 : 0;
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
               int (*fn)(void *ctx, const event_page_row *e), void *ctx, nudge_err *err)
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
        event_page_row e = {.id = store_int(st, 0), .clinic_id = store_int(st, 1),
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

/* ---- what the workflow engine (workflow.c) reads and marks ---- */

int event_get(nudge *n, int64_t clinic_id, int64_t id, event_row *ev, nudge_err *err)
{
    store_stmt *st;
    memset(ev, 0, sizeof *ev);
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, type, subject_id, payload, created_at, processed_at "
                    "FROM events WHERE clinic_id = ? AND id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        ev->id = store_int(st, 0);
        ev->clinic_id = store_int(st, 1);
        store_copy(st, 2, ev->type, sizeof ev->type);
        ev->subject_id = store_int(st, 3);
        ev->payload = store_dup(st, 4);
        ev->created_at = store_int(st, 5);
        ev->processed = !store_null(st, 6);
    }
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "event", "no event %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

/* Deliberately across clinics: the engine's scan for events not yet
 * consumed. It reads what is unprocessed, not what comes after an id, so
 * an event whose transaction commits after a later id's (PostgreSQL hands
 * ids out before commit) is not skipped. */
int event_unprocessed(nudge *n, int64_t *clinics, int64_t *ids, int max, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id FROM events WHERE processed_at IS NULL ORDER BY id "
                    "LIMIT ?",
                    bind_int(max)) < 0)
        return -1;
    int r, k = 0;
    while (k < max && (r = store_next(st, err)) == 1) {
        clinics[k] = store_int(st, 0);
        ids[k++] = store_int(st, 1);
    }
    store_done(st);
    return r < 0 ? -1 : k;
}

int event_mark_processed(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE events SET processed_at = ? WHERE clinic_id = ? AND id = ? AND "
                      "processed_at IS NULL",
                      bind_int(clock_now(n)), bind_int(clinic_id), bind_int(id));
}

int event_count_range(nudge *n, int64_t clinic_id, const char *type, int64_t from, int64_t to,
                      int64_t *count, nudge_err *err)
{
    *count = 0;
    int r = store_scalar(n->db, count, err,
                         "SELECT COUNT(DISTINCT subject_id) FROM events WHERE clinic_id = ? AND "
                         "type = ? AND created_at >= ? AND created_at < ?",
                         bind_int(clinic_id), bind_text(type), bind_int(from), bind_int(to));
    return r < 0 ? -1 : 0;
}
