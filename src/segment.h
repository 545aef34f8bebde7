/*
 * segment.h: segment.c's calls for broadcast.c: criteria parsed and
 * turned into a bound condition on `patients p`, the matching patients
 * counted or walked by id, and a broadcast's statistics read across the
 * recipients, their messages, replies and bookings.
 */
#ifndef NUDGE_SEGMENT_H
#define NUDGE_SEGMENT_H

#include <jansson.h>

#include "core.h"

#define SEG_MAX_BINDS 256
typedef struct seg_sql {
    char sql[32768];
    size_t len;
    store_val v[SEG_MAX_BINDS];
    int nv;
    char *owned[SEG_MAX_BINDS]; /* the bound texts */
    int nowned;
} seg_sql;
void seg_sql_free(seg_sql *q);

/* The criteria text as a JSON object ("" or NULL: {}); errors name
 * "criteria". */
int seg_parse(const char *criteria, json_t **out, nudge_err *err);
/* Appends " AND <condition>" per criterion; errors name the criterion. */
int seg_where(json_t *crit, int64_t now, seg_sql *q, nudge_err *err);
int seg_count(nudge *n, int64_t clinic_id, json_t *crit, int64_t now, int64_t *count,
              nudge_err *err);
/* Up to max matching ids above after, ascending: the count, or -1. */
int seg_ids(nudge *n, int64_t clinic_id, json_t *crit, int64_t now, int64_t after, int max,
            int64_t *ids, nudge_err *err);
/* fn(variant or NULL, what, key, count) for what in outcome
 * ("queued:", "skipped:no_channel"...), status (the message's), replied,
 * booked. */
int seg_broadcast_stats(nudge *n, int64_t clinic_id, int64_t broadcast_id, int64_t book_days,
                        int (*fn)(void *ctx, const char *variant, const char *what,
                                  const char *key, int64_t count),
                        void *ctx, nudge_err *err);

#endif
