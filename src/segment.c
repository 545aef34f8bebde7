/*
 * segment.c: who is in a segment, and what a broadcast's recipients did.
 * It owns patient_segments and is the one file that reads patients
 * together with their visits, preferences, consent, messages and replies
 * (scripts/check-owners.py's exception): read-only, always one clinic's.
 *
 * Criteria are a JSON object read in C against the table seg_criteria:
 * each criterion parses its value (refused naming the criterion) into an
 * SQL condition on `patients p` with `?` placeholders and bound values;
 * criteria are ANDed, a list's values ORed. The statement is built from
 * the table's fixed fragments only, so no value ever becomes SQL text, and
 * it runs in the database on both engines: a preview counts and samples,
 * the fan-out (broadcast.c) walks the matches by id in batches, and no
 * caller loads the clinic's patients into memory.
 *
 * consented_to_category is consent.c's rule (consent_sql_any).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "segment.h"
#include "tz.h"
#include "util.h"

#define SEG_MAX_VALUES 20

/* ---- building the condition ---- */

static int seg_add(seg_sql *q, nudge_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int seg_add(seg_sql *q, nudge_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(q->sql + q->len, sizeof q->sql - q->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof q->sql - q->len)
        return err_set(err, NUDGE_EINVAL, "criteria", "criteria are too long");
    q->len += (size_t)w;
    return 0;
}

static int seg_bind(seg_sql *q, store_val v, nudge_err *err)
{
    if (q->nv == SEG_MAX_BINDS)
        return err_set(err, NUDGE_EINVAL, "criteria", "criteria have too many values");
    q->v[q->nv++] = v;
    return 0;
}

static int seg_bind_text(seg_sql *q, const char *s, nudge_err *err)
{
    char *d = strdup(s);
    if (!d)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    if (seg_bind(q, bind_text(d), err) < 0) {
        free(d);
        return -1;
    }
    q->owned[q->nowned++] = d;
    return 0;
}

void seg_sql_free(seg_sql *q)
{
    for (int i = 0; i < q->nowned; i++)
        free(q->owned[i]);
    q->nowned = 0;
}

/* A criterion's values as a list: one string or number is a list of one. */
static int seg_list(const char *field, json_t *v, json_t **items, int *count, nudge_err *err)
{
    if (!json_is_array(v)) {
        items[0] = v;
        *count = 1;
        return 0;
    }
    size_t n = json_array_size(v);
    if (n == 0 || n > SEG_MAX_VALUES)
        return err_set(err, NUDGE_EINVAL, field, "%s takes 1 to %d values", field,
                       SEG_MAX_VALUES);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(v, i);
    *count = (int)n;
    return 0;
}

/* A tag or diagnosis: letters, digits, space, '-', '_', '.', '/'; matched
 * against ",tag1,tag2," with spaces removed and lower case, so "Type 2
 * Diabetes" in the patient's tags matches "type2diabetes" too. LIKE's
 * wildcards in the value are escaped ('!' is the escape). */
static int seg_tags(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    (void)now;
    json_t *items[SEG_MAX_VALUES];
    int count;
    if (seg_list(field, v, items, &count, err) < 0 || seg_add(q, err, "(") < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        const char *s = json_string_value(items[i]);
        char pat[160];
        size_t k = 0;
        if (!s || !*s || strlen(s) > 64)
            return err_set(err, NUDGE_EINVAL, field, "%s values are texts of 1 to 64 bytes", field);
        pat[k++] = '%';
        pat[k++] = ',';
        for (const char *c = s; *c; c++) {
            if (!isalnum((unsigned char)*c) && !strchr(" -_./", *c))
                return err_set(err, NUDGE_EINVAL, field,
                               "%s values are letters, digits, space, - _ . / (got \"%.64s\")",
                               field, s);
            if (*c == ' ')
                continue;
            if (*c == '_')
                pat[k++] = '!';
            pat[k++] = (char)tolower((unsigned char)*c);
        }
        pat[k++] = ',';
        pat[k++] = '%';
        pat[k] = 0;
        if (seg_add(q, err,
                    "%s(',' || LOWER(REPLACE(COALESCE(p.tags, ''), ' ', '')) || ',') LIKE ? "
                    "ESCAPE '!'",
                    i ? " OR " : "") < 0 ||
            seg_bind_text(q, pat, err) < 0)
            return -1;
    }
    return seg_add(q, err, ")");
}

/* Values from a fixed list, each its own SQL fragment (a value chooses a
 * fragment; it never becomes text of the statement). */
typedef struct seg_choice {
    const char *value, *sql;
} seg_choice;

static const seg_choice seg_genders[] = {
    {"M", "UPPER(SUBSTR(TRIM(p.gender), 1, 1)) = 'M'"},
    {"F", "UPPER(SUBSTR(TRIM(p.gender), 1, 1)) = 'F'"},
    {"O", "(TRIM(p.gender) <> '' AND UPPER(SUBSTR(TRIM(p.gender), 1, 1)) NOT IN ('M', 'F'))"},
    {NULL, NULL},
};

static int seg_choices(seg_sql *q, const char *field, json_t *v, const seg_choice *ch,
                       nudge_err *err)
{
    json_t *items[SEG_MAX_VALUES];
    int count;
    if (seg_list(field, v, items, &count, err) < 0 || seg_add(q, err, "(") < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        const char *s = json_string_value(items[i]);
        const seg_choice *c = ch;
        while (c->value && (!s || strcmp(c->value, s)))
            c++;
        if (!c->value) {
            char names[128] = "";
            for (const seg_choice *d = ch; d->value; d++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         d == ch ? "" : ", ", d->value);
            return err_set(err, NUDGE_EINVAL, field, "%s values are %s (got %s%.32s%s)", field,
                           names, s ? "\"" : "", s ? s : "a non-text", s ? "\"" : "");
        }
        if (seg_add(q, err, "%s%s", i ? " OR " : "", c->sql) < 0)
            return -1;
    }
    return seg_add(q, err, ")");
}

static int seg_gender(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    (void)now;
    return seg_choices(q, field, v, seg_genders, err);
}

/* consented_to_category: consent.c states the rule (consent_sql_any: the
 * patient may get the category on at least one channel, as consent_check
 * decides it at the send instant), so a segment and the send agree; the
 * fan-out then checks the patient's routed channel. */
static int seg_consent(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    (void)now;
    json_t *items[SEG_MAX_VALUES];
    int count;
    if (seg_list(field, v, items, &count, err) < 0 || seg_add(q, err, "(") < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        const char *s = json_string_value(items[i]);
        if (!s || nudge_names_find(nudge_consent_categories, s) < 0)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s values are reminders, broadcasts, health_tips, marketing (got "
                           "%s%.32s%s)",
                           field, s ? "\"" : "", s ? s : "a non-text", s ? "\"" : "");
        consent_sql c = {.len = 0};
        if (consent_sql_any(&c, s) < 0)
            return err_set(err, NUDGE_EINVAL, "criteria", "criteria are too long");
        if (seg_add(q, err, "%s%s", i ? " OR " : "", c.sql) < 0)
            return -1;
        for (int k = 0; k < c.nv; k++)
            if (seg_bind(q, c.v[k], err) < 0)
                return -1;
    }
    return seg_add(q, err, ")");
}

static int seg_language(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    (void)now;
    json_t *items[SEG_MAX_VALUES];
    int count;
    if (seg_list(field, v, items, &count, err) < 0 || seg_add(q, err, "p.language IN (") < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        const char *s = json_string_value(items[i]);
        size_t l = s ? strlen(s) : 0;
        int ok = l >= 2 && l <= 8;
        if (!ok || !lang_code_ok(s))
            return err_set(err, NUDGE_EINVAL, field,
                           "%s values are language codes such as en or hi", field);
        if (seg_add(q, err, "%s?", i ? ", " : "") < 0 || seg_bind_text(q, s, err) < 0)
            return -1;
    }
    return seg_add(q, err, ")");
}

/* The date of birth of someone who turns `years` on the day of now in
 * UTC, as YYYY-MM-DD (29 February falls back to the 28th). */
static void seg_born(int64_t now, int years, char *buf, size_t n)
{
    tz_local l;
    tz_to_local(now, "UTC", &l);
    int y = l.year - years, d = l.day;
    if (l.month == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        d = 28;
    snprintf(buf, n, "%04d-%02d-%02d", y, l.month, d);
}

/* [min, max] whole years: born on or before today minus min years and
 * after today minus max+1 years. Dates compare as text (YYYY-MM-DD). */
static int seg_age(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(a) ||
        !json_is_integer(b) || json_integer_value(a) < 0 ||
        json_integer_value(b) < json_integer_value(a) || json_integer_value(b) > 150)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s is [min, max]: whole years, 0 <= min <= max <= 150", field);
    char hi[16], lo[16];
    seg_born(now, (int)json_integer_value(a), hi, sizeof hi);
    seg_born(now, (int)json_integer_value(b) + 1, lo, sizeof lo);
    return seg_add(q, err, "(p.date_of_birth <= ? AND p.date_of_birth > ?)") < 0 ||
                   seg_bind_text(q, hi, err) < 0 || seg_bind_text(q, lo, err) < 0
               ? -1
               : 0;
}

static int seg_last_visit(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 36500)
        return err_set(err, NUDGE_EINVAL, field, "%s is a number of days, 1 to 36500", field);
    return seg_add(q, err, "p.last_visit >= ?") < 0 ||
                   seg_bind(q, bind_int(now - json_integer_value(v) * 86400), err) < 0
               ? -1
               : 0;
}

static int seg_bool(const char *field, json_t *v, nudge_err *err)
{
    if (!json_is_boolean(v))
        return err_set(err, NUDGE_EINVAL, field, "%s is true or false", field);
    return json_is_true(v);
}

static int seg_future(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    int b = seg_bool(field, v, err);
    if (b < 0)
        return -1;
    return seg_add(q, err,
                   "%sEXISTS (SELECT 1 FROM appointments a WHERE a.clinic_id = p.clinic_id AND "
                   "a.patient_id = p.id AND a.start_at > ? AND a.status IN "
                   "('scheduled', 'confirmed'))",
                   b ? "" : "NOT ") < 0 ||
                   seg_bind(q, bind_int(now), err) < 0
               ? -1
               : 0;
}

static int seg_never(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err)
{
    (void)now;
    int b = seg_bool(field, v, err);
    return b < 0 ? -1 : seg_add(q, err, "p.last_visit IS %sNULL", b ? "" : "NOT ");
}

/* The criteria: the document's four, then the issue's. */
static const struct {
    const char *name;
    int (*cond)(seg_sql *q, const char *field, json_t *v, int64_t now, nudge_err *err);
} seg_criteria[] = {
    {"diagnosis", seg_tags},
    {"age_range", seg_age},
    {"gender", seg_gender},
    {"last_visit_days", seg_last_visit},
    {"tags", seg_tags},
    {"language", seg_language},
    {"has_future_appointment", seg_future},
    {"never_visited", seg_never},
    {"consented_to_category", seg_consent},
};
#define SEG_N (sizeof seg_criteria / sizeof *seg_criteria)

int seg_parse(const char *criteria, json_t **out, nudge_err *err)
{
    json_error_t je;
    json_t *j = json_loads(criteria && *criteria ? criteria : "{}", JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return err_set(err, NUDGE_EINVAL, "criteria", "criteria must be a JSON object");
    }
    *out = j;
    return 0;
}

int seg_where(json_t *crit, int64_t now, seg_sql *q, nudge_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(crit, k, v)
    {
        size_t i = 0;
        while (i < SEG_N && strcmp(seg_criteria[i].name, k))
            i++;
        if (i == SEG_N) {
            char names[256] = "";
            for (size_t c = 0; c < SEG_N; c++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         c ? ", " : "", seg_criteria[c].name);
            err_set(err, NUDGE_EINVAL, k, "unknown criterion \"%.64s\" (known: %s)", k, names);
            return -1;
        }
        if (seg_add(q, err, " AND ") < 0 || seg_criteria[i].cond(q, k, v, now, err) < 0)
            return -1;
    }
    return 0;
}

/* "SELECT <what> FROM patients p WHERE p.clinic_id = ? <criteria><tail>"
 * with the clinic first and the tail's values last. */
static int seg_statement(json_t *crit, int64_t clinic_id, int64_t now, const char *what,
                         seg_sql *q, nudge_err *err)
{
    memset(q, 0, sizeof *q);
    if (seg_add(q, err, "SELECT %s FROM patients p WHERE p.clinic_id = ?", what) < 0 ||
        seg_bind(q, bind_int(clinic_id), err) < 0 || seg_where(crit, now, q, err) < 0) {
        seg_sql_free(q);
        return -1;
    }
    return 0;
}

int seg_count(nudge *n, int64_t clinic_id, json_t *crit, int64_t now, int64_t *count,
              nudge_err *err)
{
    seg_sql q;
    if (seg_statement(crit, clinic_id, now, "COUNT(*)", &q, err) < 0)
        return -1;
    int r = store_scalar_v(n->db, count, err, q.sql, q.v, q.nv);
    seg_sql_free(&q);
    return r < 0 ? -1 : 0;
}

int seg_ids(nudge *n, int64_t clinic_id, json_t *crit, int64_t now, int64_t after, int max,
            int64_t *ids, nudge_err *err)
{
    seg_sql q;
    store_stmt *st;
    if (seg_statement(crit, clinic_id, now, "p.id", &q, err) < 0)
        return -1;
    int got = -1;
    if (seg_add(&q, err, " AND p.id > ? ORDER BY p.id LIMIT ?") < 0 ||
        seg_bind(&q, bind_int(after), err) < 0 || seg_bind(&q, bind_int(max), err) < 0 ||
        store_query_v(n->db, &st, err, q.sql, q.v, q.nv) < 0)
        goto out;
    int r;
    got = 0;
    while (got < max && (r = store_next(st, err)) == 1)
        ids[got++] = store_int(st, 0);
    store_done(st);
    if (r < 0 && got < max)
        got = -1;
out:
    seg_sql_free(&q);
    return got;
}

/* ---- saved segments ---- */

void nudge_segment_free(nudge_segment *s)
{
    free(s->criteria);
    s->criteria = NULL;
}

static int seg_check_name(const char *name, nudge_err *err)
{
    if (nudge_blank(name))
        return err_set(err, NUDGE_EINVAL, "name", "name is required");
    if (strlen(name) >= sizeof((nudge_segment *)0)->name)
        return err_set(err, NUDGE_EINVAL, "name", "name is at most %zu bytes",
                       sizeof((nudge_segment *)0)->name - 1);
    if (!text_ok(name))
        return err_set(err, NUDGE_EINVAL, "name", "name must be UTF-8 without control characters");
    return 0;
}

int nudge_segment_preview(nudge *n, int64_t clinic_id, const char *criteria, int64_t *count,
                          int64_t *sample, int max, int *nsample, nudge_err *err)
{
    err_clear(err);
    json_t *crit;
    if (seg_parse(criteria, &crit, err) < 0)
        return -1;
    int64_t now = clock_now(n);
    int got = 0, rc = seg_count(n, clinic_id, crit, now, count, err);
    if (rc == 0 && max > 0 && (got = seg_ids(n, clinic_id, crit, now, 0, max, sample, err)) < 0)
        rc = -1;
    if (nsample)
        *nsample = rc == 0 ? got : 0;
    json_decref(crit);
    return rc;
}

int nudge_segment_save(nudge *n, int64_t clinic_id, const char *name, const char *criteria,
                       int64_t *id, nudge_err *err)
{
    err_clear(err);
    json_t *crit;
    int64_t count, now = clock_now(n), sid;
    if (seg_check_name(name, err) < 0 || seg_parse(criteria, &crit, err) < 0)
        return -1;
    char *text = json_dumps(crit, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = -1;
    if (!text) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto out;
    }
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0) {
        if (err->code == NUDGE_ENOTFOUND)
            err_set(err, NUDGE_EINVAL, "clinic", "no clinic %lld", (long long)clinic_id);
        goto out;
    }
    if (store_begin(n->db, err) < 0)
        goto out;
    if (seg_count(n, clinic_id, crit, now, &count, err) < 0 ||
        store_scalar(n->db, &sid, err,
                     "INSERT INTO patient_segments (clinic_id, name, criteria, patient_count, "
                     "evaluated_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (clinic_id, name) DO UPDATE SET criteria = excluded.criteria, "
                     "patient_count = excluded.patient_count, evaluated_at = "
                     "excluded.evaluated_at, updated_at = excluded.updated_at RETURNING id",
                     bind_int(clinic_id), bind_text(name), bind_text(text), bind_int(count),
                     bind_int(now), bind_int(now), bind_int(now)) != 1 ||
        audit_add(n, clinic_id, "save", "segment", sid, name, err) < 0) {
        store_rollback(n->db);
        goto out;
    }
    if (store_commit(n->db, err) < 0)
        goto out;
    if (id)
        *id = sid;
    rc = 0;
out:
    free(text);
    json_decref(crit);
    return rc;
}

#define SEG_COLS "id, clinic_id, name, criteria, patient_count, evaluated_at, created_at"

static void seg_row(store_stmt *st, nudge_segment *s)
{
    memset(s, 0, sizeof *s);
    s->id = store_int(st, 0);
    s->clinic_id = store_int(st, 1);
    store_copy(st, 2, s->name, sizeof s->name);
    s->criteria = store_dup(st, 3);
    s->patient_count = store_null(st, 4) ? -1 : store_int(st, 4);
    s->evaluated_at = store_int(st, 5);
    s->created_at = store_int(st, 6);
}

int nudge_segment_get(nudge *n, int64_t clinic_id, int64_t id, nudge_segment *out,
                      nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " SEG_COLS " FROM patient_segments WHERE (? = 0 OR clinic_id = ?) "
                    "AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        seg_row(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "segment", "no segment %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_segment_list(nudge *n, int64_t clinic_id, nudge_segment_fn fn, void *ctx,
                       nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " SEG_COLS " FROM patient_segments WHERE (? = 0 OR clinic_id = ?) "
                    "ORDER BY id",
                    bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_segment s;
        seg_row(st, &s);
        int stop = fn(ctx, &s);
        nudge_segment_free(&s);
        if (stop)
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_segment_evaluate(nudge *n, int64_t clinic_id, int64_t id, int64_t *count,
                           int64_t *sample, int max, int *nsample, nudge_err *err)
{
    nudge_segment s;
    if (nudge_segment_get(n, clinic_id, id, &s, err) < 0)
        return -1;
    int rc = nudge_segment_preview(n, s.clinic_id, s.criteria, count, sample, max, nsample, err);
    if (rc == 0)
        rc = store_exec(n->db, err,
                        "UPDATE patient_segments SET patient_count = ?, evaluated_at = ? WHERE "
                        "clinic_id = ? AND id = ?",
                        bind_int(*count), bind_int(clock_now(n)), bind_int(s.clinic_id),
                        bind_int(id));
    nudge_segment_free(&s);
    return rc < 0 ? -1 : 0;
}

/* ---- what a broadcast's recipients did (broadcast.c's statistics) ---- */

/* Per variant (NULL variant: recipients not yet reached): recipients by
 * outcome and reason, their messages by status, and the patients who
 * replied or booked within book_days of their message leaving. */
int seg_broadcast_stats(nudge *n, int64_t clinic_id, int64_t broadcast_id, int64_t book_days,
                        int (*fn)(void *ctx, const char *variant, const char *what,
                                  const char *key, int64_t count),
                        void *ctx, nudge_err *err)
{
    static const struct {
        const char *what, *sql;
    } parts[] = {
        {"outcome", "SELECT r.variant, r.outcome || ':' || COALESCE(r.reason, ''), COUNT(*) "
                    "FROM broadcast_recipients r WHERE r.clinic_id = ? AND r.broadcast_id = ? "
                    "AND ? >= 0 GROUP BY r.variant, r.outcome, r.reason"},
        {"status", "SELECT r.variant, q.status, COUNT(*) FROM broadcast_recipients r JOIN "
                   "notification_queue q ON q.clinic_id = r.clinic_id AND q.id = "
                   "r.notification_id WHERE r.clinic_id = ? AND r.broadcast_id = ? AND ? >= 0 "
                   "GROUP BY r.variant, q.status"},
        {"replied", "SELECT r.variant, 'replied', COUNT(*) FROM broadcast_recipients r JOIN "
                    "notification_queue q ON q.clinic_id = r.clinic_id AND q.id = "
                    "r.notification_id WHERE r.clinic_id = ? AND r.broadcast_id = ? AND "
                    "q.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM inbound_messages i WHERE "
                    "i.clinic_id = r.clinic_id AND i.patient_id = r.patient_id AND "
                    "i.received_at >= q.sent_at AND i.received_at < q.sent_at + ?) GROUP BY "
                    "r.variant"},
        {"booked", "SELECT r.variant, 'booked', COUNT(*) FROM broadcast_recipients r JOIN "
                   "notification_queue q ON q.clinic_id = r.clinic_id AND q.id = "
                   "r.notification_id WHERE r.clinic_id = ? AND r.broadcast_id = ? AND "
                   "q.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM appointments a WHERE "
                   "a.clinic_id = r.clinic_id AND a.patient_id = r.patient_id AND "
                   "a.created_at >= q.sent_at AND a.created_at < q.sent_at + ?) GROUP BY "
                   "r.variant"},
    };
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        store_stmt *st;
        if (store_query_v(n->db, &st, err, parts[i].sql,
                          STORE_VALS(bind_int(clinic_id), bind_int(broadcast_id),
                                     bind_int(book_days * 86400))) < 0)
            return -1;
        int r;
        while ((r = store_next(st, err)) == 1)
            if (fn(ctx, store_null(st, 0) ? NULL : store_text(st, 0), parts[i].what,
                   store_text(st, 1), store_int(st, 2)) < 0) {
                store_done(st);
                return -1;
            }
        store_done(st);
        if (r < 0)
            return -1;
    }
    return 0;
}
