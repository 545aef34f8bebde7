/*
 * broadcast.c: notices, health tips and campaigns (the document's
 * BroadcastService), and the only SQL on broadcasts and
 * broadcast_recipients (migration 020).
 *
 *   create ──tx──> broadcasts row (scheduled | sending), a notice's listed
 *                  patients as pending recipients
 *   tick: broadcast_schedule (periodic job): scheduled and due -> sending;
 *         more than grace past due (nudge was down) -> stale, for staff
 *   tick: broadcast_fanout: batches of BROADCAST_BATCH patients, each one
 *         transaction: the next patients after fan_cursor (a segment's,
 *         walked in SQL by segment.c, or the pending listed ones), each
 *         checked (broadcast_eligible), given a variant, rendered in their
 *         language and queued at low priority, its recipient row written
 *         (queued with the message, or skipped with the reason) and the
 *         cursor and counters moved, all in that transaction.
 *
 * So the progress recorded is what was queued: a crash loses a whole
 * batch or none of it, the next tick takes it again, and the unique
 * (broadcast, patient) row and the message's dedupe key refuse a second
 * message. A reminder is never behind a broadcast: the fan-out runs after
 * the tick's sends, bounded per tick, and its messages are low priority,
 * which every claim takes last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "segment.h"
#include "tmpl.h"
#include "tz.h"
#include "util.h"

const char *const nudge_skip_reasons[NUDGE_N_SKIP + 1] = {
    "opted_out", "no_consent", "no_channel", "outside_window", "quota", NULL,
};

/* The kinds: what opt-out category each goes under. */
static const struct {
    const char *kind, *category;
} bc_kinds[] = {
    {"notice", "broadcasts"},
    {"tip", "health_tips"},
    {"campaign", "marketing"},
};

#define BC_MAX_LIST 10000
#define BC_MAX_VARIANTS 10

/* ---- the message: variants ---- */

/* A text per language: {"en": "...", "hi": "..."}; a plain string is
 * English. Checked to render with a patient's variables. */
static json_t *bc_texts(json_t *v, const char *field, nudge_err *err)
{
    if (json_is_string(v))
        v = json_pack("{s:O}", "en", v);
    else if (json_is_object(v))
        json_incref(v);
    else {
        err_set(err, NUDGE_EINVAL, field, "%s is a text or an object of texts by language", field);
        return NULL;
    }
    const char *lang;
    json_t *t;
    if (!json_object_size(v)) {
        err_set(err, NUDGE_EINVAL, field, "%s has no text", field);
        goto bad;
    }
    json_object_foreach(v, lang, t)
    {
        const char *s = json_string_value(t);
        if (!lang_code_ok(lang)) {
            err_set(err, NUDGE_EINVAL, field, "%s: \"%.16s\" is not a language code", field, lang);
            goto bad;
        }
        if (!s || nudge_blank(s) || strlen(s) > 4000 || !text_ok(s)) {
            err_set(err, NUDGE_EINVAL, field,
                    "%s.%s is a text of 1 to 4000 bytes without control characters", field,
                    lang);
            goto bad;
        }
    }
    return v;
bad:
    json_decref(v);
    return NULL;
}

/* One variant from its JSON ({name, weight, text | template, subject}). */
static json_t *bc_variant(nudge *n, int64_t clinic_id, json_t *in, const char *field,
                          nudge_err *err)
{
    json_t *out = json_object(), *v;
    const char *k;
    if (!json_is_object(in)) {
        err_set(err, NUDGE_EINVAL, field, "each of %s is an object", field);
        goto bad;
    }
    json_object_foreach(in, k, v)
    {
        if (!strcmp(k, "name")) {
            const char *s = json_string_value(v);
            if (!s || !*s || strlen(s) > 31 || !text_ok(s)) {
                err_set(err, NUDGE_EINVAL, field, "a variant's name is 1 to 31 bytes");
                goto bad;
            }
            json_object_set(out, k, v);
        } else if (!strcmp(k, "weight")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > 1000) {
                err_set(err, NUDGE_EINVAL, field, "a variant's weight is 1 to 1000");
                goto bad;
            }
            json_object_set(out, k, v);
        } else if (!strcmp(k, "text") || !strcmp(k, "subject")) {
            json_t *t = bc_texts(v, k, err);
            if (!t)
                goto bad;
            json_object_set_new(out, k, t);
        } else if (!strcmp(k, "template")) {
            nudge_template t;
            const char *s = json_string_value(v);
            if (!s || !*s || strlen(s) >= sizeof t.name) {
                err_set(err, NUDGE_EINVAL, "template", "template is a template's name");
                goto bad;
            }
            if (nudge_template_get(n, clinic_id, s, "en", &t, err) < 0) {
                err_set(err, NUDGE_EINVAL, "template", "no template \"%.63s\"", s);
                goto bad;
            }
            nudge_template_free(&t);
            json_object_set(out, k, v);
        } else {
            err_set(err, NUDGE_EINVAL, field, "unknown member \"%.32s\" of a variant", k);
            goto bad;
        }
    }
    if (!!json_object_get(out, "text") == !!json_object_get(out, "template")) {
        err_set(err, NUDGE_EINVAL, "text", "a message has a text or a template (one of them)");
        goto bad;
    }
    if (!json_object_get(out, "weight"))
        json_object_set_new(out, "weight", json_integer(1));
    /* The text must render with a patient's variables ({name}...): found
     * now, not patient by patient in the fan-out. */
    json_t *texts = json_object_get(out, "text");
    if (texts) {
        nudge_clinic c = {0};
        nudge_patient p;
        nudge_vars vars = {0};
        nudge_patient_init(&p);
        snprintf(c.timezone, sizeof c.timezone, "UTC");
        snprintf(c.language, sizeof c.language, "en");
        tmpl_patient_vars(&c, &p, NULL, &vars);
        const char *lang;
        json_t *t;
        int bad = 0;
        json_object_foreach(texts, lang, t)
        {
            nudge_template tp = {.sms = (char *)json_string_value(t)};
            nudge_rendered r;
            if (nudge_template_render(&tp, "sms", &vars, &r, err) < 0) {
                err->code = NUDGE_EINVAL;
                snprintf(err->field, sizeof err->field, "text");
                bad = 1;
                break;
            }
            nudge_rendered_free(&r);
        }
        nudge_vars_free(&vars);
        if (bad)
            goto bad;
    }
    return out;
bad:
    json_decref(out);
    return NULL;
}

/* The spec's message as the stored array of variants, named A, B, ... */
static char *bc_variants(nudge *n, int64_t clinic_id, const nudge_broadcast_spec *s,
                         nudge_err *err)
{
    json_t *list = json_array(), *in = NULL;
    char *text = NULL;
    if (s->variants) {
        if (s->text || s->template_name || s->subject) {
            err_set(err, NUDGE_EINVAL, "variants", "variants replace text, subject and template");
            goto out;
        }
        json_error_t je;
        in = json_loads(s->variants, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(in) || json_array_size(in) < 2 ||
            json_array_size(in) > BC_MAX_VARIANTS) {
            err_set(err, NUDGE_EINVAL, "variants", "variants is an array of 2 to %d messages",
                    BC_MAX_VARIANTS);
            goto out;
        }
    } else {
        in = json_array();
        json_t *one = json_object();
        json_error_t je;
        if (s->text) {
            json_t *t = json_loads(s->text, JSON_DECODE_ANY, &je);
            json_object_set_new(one, "text", t && json_is_object(t) ? t : json_string(s->text));
            if (t && !json_is_object(t))
                json_decref(t);
        }
        if (s->subject) {
            json_t *t = json_loads(s->subject, JSON_DECODE_ANY, &je);
            json_object_set_new(one, "subject",
                                t && json_is_object(t) ? t : json_string(s->subject));
            if (t && !json_is_object(t))
                json_decref(t);
        }
        if (s->template_name)
            json_object_set_new(one, "template", json_string(s->template_name));
        json_array_append_new(in, one);
    }
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v)
    {
        json_t *out = bc_variant(n, clinic_id, v, "variants", err);
        if (!out)
            goto out;
        if (!json_object_get(out, "name")) {
            char name[8];
            snprintf(name, sizeof name, "%c", (char)('A' + i));
            json_object_set_new(out, "name", json_string(name));
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(list, k), "name")),
                        json_string_value(json_object_get(out, "name")))) {
                json_decref(out);
                err_set(err, NUDGE_EINVAL, "variants", "variant names must differ");
                goto out;
            }
        json_array_append_new(list, out);
    }
    text = json_dumps(list, JSON_COMPACT);
out:
    json_decref(in);
    json_decref(list);
    return text;
}

/* A variant for a patient: at random in proportion to the weights, from a
 * hash of the broadcast's seed (the clinic's clock when it was made) and
 * the patient, so a resumed fan-out gives each the same one. */
static json_t *bc_pick(json_t *variants, int64_t seed, int64_t patient_id)
{
    uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)patient_id;
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    int64_t sum = 0;
    size_t i;
    json_t *v;
    json_array_foreach(variants, i, v) sum += json_integer_value(json_object_get(v, "weight"));
    int64_t r = sum > 0 ? (int64_t)(x % (uint64_t)sum) : 0;
    json_array_foreach(variants, i, v)
    {
        r -= json_integer_value(json_object_get(v, "weight"));
        if (r < 0)
            return v;
    }
    return json_array_get(variants, 0);
}

/* ---- creating ---- */

static const char *bc_category(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof bc_kinds / sizeof *bc_kinds; i++)
        if (!strcmp(bc_kinds[i].kind, kind))
            return bc_kinds[i].category;
    return NULL;
}

static int bc_cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int nudge_broadcast_create(nudge *n, int64_t clinic_id, const nudge_broadcast_spec *s,
                           int64_t *id_out, nudge_err *err)
{
    err_clear(err);
    const char *category = bc_category(s->kind);
    int64_t now = clock_now(n), id, total = 0;
    char *variants = NULL, *criteria = NULL;
    int64_t *ids = NULL;
    json_t *crit = NULL;
    int rc = -1;
    nudge_clinic c;
    if (!category)
        return err_set(err, NUDGE_EINVAL, "kind", "kind is notice, tip or campaign");
    if (nudge_blank(s->name) || strlen(s->name) >= sizeof((nudge_broadcast *)0)->name ||
        !text_ok(s->name))
        return err_set(err, NUDGE_EINVAL, "name", "name is a text of 1 to %zu bytes",
                       sizeof((nudge_broadcast *)0)->name - 1);
    if (s->channel && strcmp(s->channel, "sms") && strcmp(s->channel, "whatsapp") &&
        strcmp(s->channel, "email"))
        return err_set(err, NUDGE_EINVAL, "channel", "channel is sms, whatsapp or email");
    if (s->grace < 0 || s->grace > 7 * 86400)
        return err_set(err, NUDGE_EINVAL, "grace", "grace is 0 to 7 days");
    if (s->book_days < 0 || s->book_days > 365)
        return err_set(err, NUDGE_EINVAL, "book_days", "book_days is 0 to 365");
    if (s->scheduled_at && s->scheduled_at < now - 60)
        return err_set(err, NUDGE_EINVAL, "scheduled_time", "scheduled_time is in the past");
    int audiences = (s->npatients > 0 || s->patient_ids) + (s->segment_id > 0) + !!s->criteria;
    if (audiences > 1)
        return err_set(err, NUDGE_EINVAL, "patient_ids",
                       "the audience is patient_ids, segment_id or criteria (one of them)");
    if (!strcmp(s->kind, "notice") && !s->npatients && !s->segment_id && !s->criteria)
        return err_set(err, NUDGE_EINVAL, "patient_ids", "a notice names its patients");
    if (s->npatients < 0 || s->npatients > BC_MAX_LIST)
        return err_set(err, NUDGE_EINVAL, "patient_ids", "patient_ids lists 1 to %d patients",
                       BC_MAX_LIST);
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0) {
        if (err->code == NUDGE_ENOTFOUND)
            err_set(err, NUDGE_EINVAL, "clinic", "no clinic %lld", (long long)clinic_id);
        return -1;
    }
    if (!(variants = bc_variants(n, clinic_id, s, err)))
        return -1;
    if (s->segment_id) {
        nudge_segment seg;
        if (nudge_segment_get(n, clinic_id, s->segment_id, &seg, err) < 0) {
            err_set(err, NUDGE_EINVAL, "segment_id", "no segment %lld", (long long)s->segment_id);
            goto out;
        }
        criteria = seg.criteria;
        seg.criteria = NULL;
    } else if (!s->npatients) {
        /* Checked now: an unknown criterion is the caller's error, named. */
        seg_sql q = {0};
        if (seg_parse(s->criteria, &crit, err) < 0 || seg_where(crit, now, &q, err) < 0) {
            seg_sql_free(&q);
            goto out;
        }
        seg_sql_free(&q);
        criteria = json_dumps(crit, JSON_COMPACT | JSON_SORT_KEYS);
    }
    if (s->npatients) {
        if (!(ids = malloc(sizeof *ids * (size_t)s->npatients))) {
            err_set(err, NUDGE_ENOMEM, "", "out of memory");
            goto out;
        }
        memcpy(ids, s->patient_ids, sizeof *ids * (size_t)s->npatients);
        qsort(ids, (size_t)s->npatients, sizeof *ids, bc_cmp_id);
    }
    int64_t at = s->scheduled_at > now ? s->scheduled_at : now;
    /* No grace of its own: the clinic's (consent.c's plan, 2 h by default),
     * copied so a later change of the setting does not move a waiting one. */
    nudge_usage_plan plan;
    if (!s->grace && nudge_usage_plan_get(n, clinic_id, &plan, err) < 0)
        goto out;
    int64_t grace = s->grace ? s->grace : plan.grace;
    if (store_begin(n->db, err) < 0)
        goto out;
    if (store_scalar(n->db, &id, err,
                     "INSERT INTO broadcasts (clinic_id, kind, name, category, status, "
                     "segment_id, audience, criteria, variants, channel, scheduled_at, grace, "
                     "book_days, seed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                     bind_int(clinic_id), bind_text(s->kind), bind_text(s->name),
                     bind_text(category), bind_text(at > now ? "scheduled" : "sending"),
                     bind_int_or_null(s->segment_id), bind_text(ids ? "list" : "segment"),
                     bind_text(criteria), bind_text(variants), bind_text(s->channel),
                     bind_int(at), bind_int(grace),
                     bind_int(s->book_days ? s->book_days : 7), bind_int(now), bind_int(now),
                     bind_int(now)) != 1)
        goto fail;
    for (int i = 0; ids && i < s->npatients; i++) {
        if (i && ids[i] == ids[i - 1])
            continue;
        nudge_patient p;
        if (nudge_patient_get(n, clinic_id, ids[i], &p, err) < 0) {
            if (err->code == NUDGE_ENOTFOUND)
                err_set(err, NUDGE_EINVAL, "patient_ids", "no patient %lld", (long long)ids[i]);
            goto fail;
        }
        if (store_exec(n->db, err,
                       "INSERT INTO broadcast_recipients (clinic_id, broadcast_id, patient_id, "
                       "outcome, at) VALUES (?, ?, ?, 'pending', ?)",
                       bind_int(clinic_id), bind_int(id), bind_int(ids[i]), bind_int(now)) < 0)
            goto fail;
        total++;
    }
    if (store_exec(n->db, err,
                   "UPDATE broadcasts SET total = ?, started_at = CASE WHEN status = 'sending' "
                   "THEN ? END WHERE clinic_id = ? AND id = ?",
                   bind_int(total), bind_int(now), bind_int(clinic_id), bind_int(id)) < 0 ||
        audit_add(n, clinic_id, "create", "broadcast", id, s->name, err) < 0)
        goto fail;
    if (store_commit(n->db, err) < 0)
        goto out;
    if (id_out)
        *id_out = id;
    rc = 0;
    goto out;
fail:
    store_rollback(n->db);
out:
    free(ids);
    free(variants);
    free(criteria);
    json_decref(crit);
    return rc;
}

int nudge_send_clinic_notice(nudge *n, int64_t clinic_id, const int64_t *patient_ids, int count,
                             const nudge_broadcast_spec *notice, int64_t *id, nudge_err *err)
{
    nudge_broadcast_spec s = *notice;
    s.kind = "notice";
    s.patient_ids = patient_ids;
    s.npatients = count;
    if (count <= 0)
        return err_set(err, NUDGE_EINVAL, "patient_ids", "a notice names its patients");
    return nudge_broadcast_create(n, clinic_id, &s, id, err);
}

int nudge_send_health_tip(nudge *n, int64_t clinic_id, int64_t segment_id,
                          const nudge_broadcast_spec *tip, int64_t *id, nudge_err *err)
{
    nudge_broadcast_spec s = *tip;
    s.kind = "tip";
    s.segment_id = segment_id;
    return nudge_broadcast_create(n, clinic_id, &s, id, err);
}

int nudge_send_campaign(nudge *n, int64_t clinic_id, const nudge_broadcast_spec *campaign,
                        int64_t *id, nudge_err *err)
{
    nudge_broadcast_spec s = *campaign;
    s.kind = "campaign";
    return nudge_broadcast_create(n, clinic_id, &s, id, err);
}

/* The API's body: each member, with its type, into the spec. */
int nudge_broadcast_create_json(nudge *n, int64_t clinic_id, const char *kind, const char *json,
                                size_t len, int64_t *id, nudge_err *err)
{
    err_clear(err);
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *v;
    nudge_broadcast_spec s = {.kind = kind};
    char *texts[4] = {0};
    int64_t *ids = NULL;
    int rc = -1;
    const char *k;
    if (!json_is_object(j)) {
        err_set(err, NUDGE_EINVAL, "body", "the body is a JSON object");
        goto out;
    }
    json_object_foreach(j, k, v)
    {
        if (!strcmp(k, "name") || !strcmp(k, "channel") || !strcmp(k, "template")) {
            if (!json_is_string(v)) {
                err_set(err, NUDGE_EINVAL, k, "%s is a text", k);
                goto out;
            }
            *(!strcmp(k, "name") ? &s.name : !strcmp(k, "channel") ? &s.channel
                                                                    : &s.template_name) =
                json_string_value(v);
        } else if (!strcmp(k, "text") || !strcmp(k, "subject") || !strcmp(k, "criteria") ||
                   !strcmp(k, "variants")) {
            int slot = !strcmp(k, "text") ? 0 : !strcmp(k, "subject") ? 1
                                               : !strcmp(k, "criteria") ? 2
                                                                        : 3;
            if (slot == 2 && !json_is_object(v)) {
                err_set(err, NUDGE_EINVAL, k, "criteria is an object");
                goto out;
            }
            if (slot == 3 && !json_is_array(v)) {
                err_set(err, NUDGE_EINVAL, k, "variants is an array");
                goto out;
            }
            texts[slot] = json_is_string(v) ? strdup(json_string_value(v))
                                            : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            const char **dst[] = {&s.text, &s.subject, &s.criteria, &s.variants};
            *dst[slot] = texts[slot];
        } else if (!strcmp(k, "segment_id") || !strcmp(k, "grace_minutes") ||
                   !strcmp(k, "book_days")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 1000000000) {
                err_set(err, NUDGE_EINVAL, k, "%s is a whole number", k);
                goto out;
            }
            if (!strcmp(k, "segment_id"))
                s.segment_id = json_integer_value(v);
            else if (!strcmp(k, "book_days"))
                s.book_days = (int)(json_integer_value(v) > 366 ? 366 : json_integer_value(v));
            else if ((s.grace = json_integer_value(v) * 60) == 0 || s.grace > 7 * 86400) {
                err_set(err, NUDGE_EINVAL, k, "grace_minutes is 1 to 10080");
                goto out;
            }
        } else if (!strcmp(k, "scheduled_time")) {
            if (!json_is_string(v) || nudge_time_parse(json_string_value(v), "UTC",
                                                       &s.scheduled_at, k, err) < 0) {
                if (!json_is_string(v))
                    err_set(err, NUDGE_EINVAL, k, "scheduled_time is an RFC 3339 time");
                goto out;
            }
        } else if (!strcmp(k, "patient_ids")) {
            size_t i, m = json_array_size(v);
            json_t *x;
            if (!json_is_array(v) || m == 0 || m > BC_MAX_LIST) {
                err_set(err, NUDGE_EINVAL, k, "patient_ids is an array of 1 to %d ids",
                        BC_MAX_LIST);
                goto out;
            }
            free(ids);
            if (!(ids = malloc(sizeof *ids * m))) {
                err_set(err, NUDGE_ENOMEM, "", "out of memory");
                goto out;
            }
            json_array_foreach(v, i, x)
            {
                if (!json_is_integer(x) || json_integer_value(x) <= 0) {
                    err_set(err, NUDGE_EINVAL, k, "patient_ids are positive ids");
                    goto out;
                }
                ids[i] = json_integer_value(x);
            }
            s.patient_ids = ids;
            s.npatients = (int)m;
        } else {
            err_set(err, NUDGE_EINVAL, k, "unknown field \"%.64s\"", k);
            goto out;
        }
    }
    if (!s.name) {
        err_set(err, NUDGE_EINVAL, "name", "name is required");
        goto out;
    }
    rc = nudge_broadcast_create(n, clinic_id, &s, id, err);
out:
    for (int i = 0; i < 4; i++)
        free(texts[i]);
    free(ids);
    json_decref(j);
    return rc;
}

/* ---- reading ---- */

#define BC_COLS                                                                                    \
    "id, clinic_id, segment_id, kind, name, category, status, audience, channel, criteria, "     \
    "variants, note, scheduled_at, grace, started_at, completed_at, created_at, updated_at, "    \
    "book_days, total, queued, skipped, seed, fan_cursor"

typedef struct bc_row {
    nudge_broadcast b;
    int64_t seed, cursor;
} bc_row;

static void bc_read(store_stmt *st, bc_row *r)
{
    nudge_broadcast *b = &r->b;
    memset(r, 0, sizeof *r);
    b->id = store_int(st, 0);
    b->clinic_id = store_int(st, 1);
    b->segment_id = store_int(st, 2);
    store_copy(st, 3, b->kind, sizeof b->kind);
    store_copy(st, 4, b->name, sizeof b->name);
    store_copy(st, 5, b->category, sizeof b->category);
    store_copy(st, 6, b->status, sizeof b->status);
    store_copy(st, 7, b->audience, sizeof b->audience);
    store_copy(st, 8, b->channel, sizeof b->channel);
    b->criteria = store_dup(st, 9);
    b->variants = store_dup(st, 10);
    b->note = store_dup(st, 11);
    b->scheduled_at = store_int(st, 12);
    b->grace = store_int(st, 13);
    b->started_at = store_int(st, 14);
    b->completed_at = store_int(st, 15);
    b->created_at = store_int(st, 16);
    b->updated_at = store_int(st, 17);
    b->book_days = (int)store_int(st, 18);
    b->total = store_int(st, 19);
    b->queued = store_int(st, 20);
    b->skipped = store_int(st, 21);
    r->seed = store_int(st, 22);
    r->cursor = store_int(st, 23);
}

void nudge_broadcast_free(nudge_broadcast *b)
{
    free(b->criteria);
    free(b->variants);
    free(b->note);
    b->criteria = b->variants = b->note = NULL;
}

/* *r is zeroed first, so a caller frees it the same way whether or not
 * the row was found (the tenant test's id of another clinic found none,
 * and the free of an uninitialised row crashed). */
static int bc_load(nudge *n, int64_t clinic_id, int64_t id, bc_row *r, nudge_err *err)
{
    memset(r, 0, sizeof *r);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " BC_COLS " FROM broadcasts WHERE (? = 0 OR clinic_id = ?) AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int got = store_next(st, err);
    if (got == 1)
        bc_read(st, r);
    store_done(st);
    if (got == 0)
        return err_set(err, NUDGE_ENOTFOUND, "broadcast", "no broadcast %lld", (long long)id);
    return got < 0 ? -1 : 0;
}

int nudge_broadcast_get(nudge *n, int64_t clinic_id, int64_t id, nudge_broadcast *out,
                        nudge_err *err)
{
    err_clear(err);
    bc_row r;
    if (bc_load(n, clinic_id, id, &r, err) < 0)
        return -1;
    *out = r.b;
    return 0;
}

int nudge_broadcast_list(nudge *n, int64_t clinic_id, nudge_broadcast_fn fn, void *ctx,
                         nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " BC_COLS " FROM broadcasts WHERE (? = 0 OR clinic_id = ?) ORDER BY id",
                    bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        bc_row row;
        bc_read(st, &row);
        int stop = fn(ctx, &row.b);
        nudge_broadcast_free(&row.b);
        if (stop)
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- staff: cancel, pause, resume ---- */

static const struct {
    const char *action, *from, *to, *queue; /* queue: what its pending messages become */
} bc_moves[] = {
    {"cancel", " draft scheduled sending paused stale completed ", "cancelled", "cancelled"},
    {"pause", " scheduled sending completed ", "paused", "held"},
    {"resume", " paused stale ", "sending", "pending"},
};

static int bc_move(nudge *n, int64_t clinic_id, int64_t id, const char *action, nudge_err *err)
{
    err_clear(err);
    size_t m = 0;
    while (strcmp(bc_moves[m].action, action))
        m++;
    bc_row r;
    if (store_begin(n->db, err) < 0)
        return -1;
    if (bc_load(n, clinic_id, id, &r, err) < 0)
        goto fail;
    char word[24];
    snprintf(word, sizeof word, " %s ", r.b.status);
    if (!strstr(bc_moves[m].from, word)) {
        err_set(err, NUDGE_ECONFLICT, "status", "cannot %s broadcast %lld: it is %s", action,
                (long long)id, r.b.status);
        goto fail;
    }
    int64_t now = clock_now(n);
    /* A paused campaign not yet due goes back to waiting for its time. */
    const char *to = !strcmp(action, "resume") && r.b.scheduled_at > now && !r.b.started_at
                         ? "scheduled"
                         : bc_moves[m].to;
    if (store_exec(n->db, err,
                   "UPDATE broadcasts SET status = ?, note = ?, started_at = CASE WHEN ? = "
                   "'sending' THEN COALESCE(started_at, ?) ELSE started_at END, completed_at = "
                   "CASE WHEN ? = 'cancelled' THEN ? ELSE completed_at END, updated_at = ? "
                   "WHERE clinic_id = ? AND id = ? AND status = ?",
                   bind_text(to), bind_text(action), bind_text(to), bind_int(now), bind_text(to),
                   bind_int(now), bind_int(now), bind_int(r.b.clinic_id), bind_int(id),
                   bind_text(r.b.status)) < 0)
        goto fail;
    /* The schedule's tick job takes no writers' lock: it may have moved
     * the row since it was read. */
    if (store_changes(n->db) == 0) {
        err_set(err, NUDGE_ECONFLICT, "status", "cannot %s broadcast %lld: it changed meanwhile",
                action, (long long)id);
        goto fail;
    }
    if (queue_broadcast_move(n, r.b.clinic_id, id, bc_moves[m].queue, NULL, err) < 0 ||
        (!strcmp(to, "cancelled") &&
         store_exec(n->db, err,
                    "UPDATE broadcast_recipients SET outcome = 'cancelled', at = ? WHERE "
                    "clinic_id = ? AND broadcast_id = ? AND outcome = 'pending'",
                    bind_int(now), bind_int(r.b.clinic_id), bind_int(id)) < 0) ||
        audit_add(n, r.b.clinic_id, action, "broadcast", id, NULL, err) < 0)
        goto fail;
    nudge_broadcast_free(&r.b);
    return store_commit(n->db, err);
fail:
    nudge_broadcast_free(&r.b);
    store_rollback(n->db);
    return -1;
}

int nudge_broadcast_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return bc_move(n, clinic_id, id, "cancel", err);
}

int nudge_broadcast_pause(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return bc_move(n, clinic_id, id, "pause", err);
}

int nudge_broadcast_resume(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return bc_move(n, clinic_id, id, "resume", err);
}

/* ---- the tick ---- */

int broadcast_schedule(nudge *n, int64_t now, nudge_err *err)
{
    /* Scans over every clinic, by design: campaigns come due by the clock.
     * Stale first: one found past its grace does not start. */
    return store_exec(n->db, err,
                      "UPDATE broadcasts SET status = 'stale', note = 'scheduled time passed "
                      "more than the grace ago: waiting for staff', updated_at = ? WHERE status "
                      "= 'scheduled' AND scheduled_at + grace < ?",
                      bind_int(now), bind_int(now)) < 0 ||
                   store_exec(n->db, err,
                              "UPDATE broadcasts SET status = 'sending', started_at = ?, "
                              "updated_at = ? WHERE status = 'scheduled' AND scheduled_at <= ?",
                              bind_int(now), bind_int(now), bind_int(now)) < 0
               ? -1
               : 0;
}

/* Whether patient p may get broadcast b, and on which channel: NULL, or
 * the reason (one of nudge_skip_reasons; "" on a store error, in err).
 * Consent is the ledger's (consent.c): the opt-out flags are its view, and
 * consent_check adds a withdrawal on the routed channel and, for the
 * promotional categories (a tip, a campaign), a recorded opt-in. The send
 * instant checks the same again (dispatch.c), so a withdrawal between the
 * fan-out and the send still holds. */
static const char *broadcast_eligible(nudge *n, const nudge_broadcast *b, const nudge_clinic *c,
                                      const nudge_patient *p, const char **channel,
                                      const char **recipient, nudge_err *err)
{
    nudge_err ignored = {0};
    if (p->opt_outs & nudge_optout_parse(b->category))
        return "opted_out";
    if (queue_route(c, p, b->channel[0] ? b->channel : NULL, channel, recipient, &ignored) < 0)
        return "no_channel";
    const char *why = NULL;
    int r = consent_check(n, p->clinic_id, p->id, b->category, *channel, clock_now(n), &why, err);
    if (r < 0)
        return "";
    return r ? NULL : why;
}

/* The message of variant v for patient p on channel: its text in their
 * language (else the clinic's, else English, else any), or its template. */
static int bc_build(nudge *n, const nudge_clinic *c, const nudge_patient *p, json_t *v,
                    const char *channel, const char *recipient, const char *name, queue_msg *q,
                    nudge_err *err)
{
    const char *tname = json_string_value(json_object_get(v, "template"));
    if (tname)
        return queue_build(n, c, p, NULL, tname, channel, NULL, q, err);
    json_t *texts = json_object_get(v, "text"), *subj = json_object_get(v, "subject");
    const char *langs[] = {p->language, c->language, "en"}, *lang = NULL, *text = NULL;
    for (int i = 0; i < 3 && !text; i++)
        if ((text = json_string_value(json_object_get(texts, langs[i]))))
            lang = langs[i];
    if (!text) {
        void *it = json_object_iter(texts);
        lang = json_object_iter_key(it);
        text = json_string_value(json_object_iter_value(it));
    }
    const char *subject = json_string_value(json_object_get(subj, lang));
    nudge_vars vars = {0};
    memset(q, 0, sizeof *q);
    tmpl_patient_vars(c, p, NULL, &vars);
    q->t.sms = str_dup(text);
    q->t.text = str_dup(text);
    q->t.html = str_dup(text);
    q->t.subject = str_dup(subject ? subject : name);
    snprintf(q->t.name, sizeof q->t.name, "broadcast");
    snprintf(q->t.language, sizeof q->t.language, "%s", lang);
    int rc = nudge_template_render(&q->t, channel, &vars, &q->r, err);
    nudge_vars_free(&vars);
    if (rc < 0) {
        queue_msg_free(q);
        return -1;
    }
    q->it = (queue_item){
        .clinic_id = c->id,
        .patient_id = p->id,
        .channel = channel,
        .recipient = recipient,
        .template_name = q->t.name,
        .language = q->t.language,
        .subject = q->r.subject,
        .body = q->r.body,
        .html = q->r.html,
        .max_retries = c->max_retries,
        .segments = strcmp(channel, "email") ? tmpl_sms_segments(q->r.body, NULL) : 0,
    };
    return 0;
}

/* One patient of a batch: the recipient row (upserted over a listed
 * patient's pending one) with the message queued, or the reason. *queued
 * is 1 or 0. */
static int bc_one(nudge *n, const bc_row *r, const nudge_clinic *c, json_t *variants,
                  int64_t pid, int64_t now, int *queued, nudge_err *err)
{
    nudge_patient p;
    const char *channel = NULL, *recipient = NULL, *why;
    int64_t nid = 0;
    json_t *v = NULL;
    *queued = 0;
    if (nudge_patient_get(n, r->b.clinic_id, pid, &p, err) < 0)
        return -1;
    if (!(why = broadcast_eligible(n, &r->b, c, &p, &channel, &recipient, err))) {
        queue_msg q;
        char key[64];
        int created;
        v = bc_pick(variants, r->seed, pid);
        if (bc_build(n, c, &p, v, channel, recipient, r->b.name, &q, err) < 0)
            return -1;
        snprintf(key, sizeof key, "broadcast:%lld:%lld", (long long)r->b.id, (long long)pid);
        q.it.priority = NUDGE_LOW;
        q.it.category = r->b.category;
        q.it.due_at = now;
        q.it.dedupe_key = key;
        q.it.broadcast_id = r->b.id;
        int rc = queue_insert(n, &q.it, &nid, &created, err);
        queue_msg_free(&q);
        if (rc < 0)
            return -1;
        *queued = 1;
    } else if (!*why)
        return -1;
    return store_exec(n->db, err,
                      "INSERT INTO broadcast_recipients (clinic_id, broadcast_id, patient_id, "
                      "variant, outcome, reason, notification_id, at) VALUES (?, ?, ?, ?, ?, ?, "
                      "?, ?) ON CONFLICT (clinic_id, broadcast_id, patient_id) DO UPDATE SET "
                      "variant = excluded.variant, outcome = excluded.outcome, reason = "
                      "excluded.reason, notification_id = excluded.notification_id, at = "
                      "excluded.at WHERE broadcast_recipients.outcome = 'pending'",
                      bind_int(r->b.clinic_id), bind_int(r->b.id), bind_int(pid),
                      bind_text(v ? json_string_value(json_object_get(v, "name")) : NULL),
                      bind_text(why ? "skipped" : "queued"), bind_text(why),
                      bind_int_or_null(nid), bind_int(now));
}

/* One batch of a broadcast in its own transaction: 1 done (completed
 * now or not sending any more), 0 more to do, -1 error. */
static int bc_batch(nudge *n, int64_t clinic_id, int64_t id, int64_t now, nudge_err *err)
{
    bc_row r;
    int64_t ids[BROADCAST_BATCH];
    json_t *variants = NULL, *crit = NULL;
    int got = 0, done = 1;
    nudge_clinic c;
    if (store_begin(n->db, err) < 0)
        return -1;
    /* Read again inside the transaction: a cancel or pause since the list
     * was read wins. */
    if (bc_load(n, clinic_id, id, &r, err) < 0)
        goto fail_norow;
    if (strcmp(r.b.status, "sending")) {
        nudge_broadcast_free(&r.b);
        store_rollback(n->db);
        return 1;
    }
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0 ||
        !(variants = json_loads(r.b.variants, 0, NULL)))
        goto fail;
    if (!strcmp(r.b.audience, "list")) {
        store_stmt *st;
        if (store_query(n->db, &st, err,
                        "SELECT patient_id FROM broadcast_recipients WHERE clinic_id = ? AND "
                        "broadcast_id = ? AND outcome = 'pending' AND patient_id > ? ORDER BY "
                        "patient_id LIMIT ?",
                        bind_int(clinic_id), bind_int(id), bind_int(r.cursor),
                        bind_int(BROADCAST_BATCH)) < 0)
            goto fail;
        int x;
        while (got < BROADCAST_BATCH && (x = store_next(st, err)) == 1)
            ids[got++] = store_int(st, 0);
        store_done(st);
        if (x < 0 && got < BROADCAST_BATCH)
            goto fail;
    } else if (seg_parse(r.b.criteria, &crit, err) < 0 ||
               (got = seg_ids(n, clinic_id, crit, now, r.cursor, BROADCAST_BATCH, ids, err)) < 0)
        goto fail;
    int64_t queued = 0, skipped = 0;
    for (int i = 0; i < got; i++) {
        int q;
        if (bc_one(n, &r, &c, variants, ids[i], now, &q, err) < 0)
            goto fail;
        queued += q;
        skipped += !q;
    }
    done = got < BROADCAST_BATCH;
    if (store_exec(n->db, err,
                   "UPDATE broadcasts SET fan_cursor = ?, total = total + ?, queued = queued + ?, "
                   "skipped = skipped + ?, status = CASE WHEN ? = 1 THEN 'completed' ELSE status "
                   "END, completed_at = CASE WHEN ? = 1 THEN ? ELSE completed_at END, updated_at "
                   "= ? WHERE clinic_id = ? AND id = ?",
                   bind_int(got ? ids[got - 1] : r.cursor),
                   bind_int(strcmp(r.b.audience, "list") ? got : 0), bind_int(queued),
                   bind_int(skipped), bind_int(done), bind_int(done), bind_int(now),
                   bind_int(now), bind_int(clinic_id), bind_int(id)) < 0)
        goto fail;
    json_decref(variants);
    json_decref(crit);
    nudge_broadcast_free(&r.b);
    return store_commit(n->db, err) < 0 ? -1 : done;
fail:
    json_decref(variants);
    json_decref(crit);
    nudge_broadcast_free(&r.b);
fail_norow:
    store_rollback(n->db);
    return -1;
}

int broadcast_fanout(nudge *n, int64_t now, int max_batches, int *batches, nudge_err *err)
{
    int64_t clinics[16], ids[16];
    int count = 0, ran = 0, r;
    store_stmt *st;
    if (batches)
        *batches = 0;
    /* A scan over every clinic, by design: the broadcasts under way. */
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id FROM broadcasts WHERE status = 'sending' ORDER BY id "
                    "LIMIT 16") < 0)
        return -1;
    while (count < 16 && (r = store_next(st, err)) == 1) {
        clinics[count] = store_int(st, 0);
        ids[count++] = store_int(st, 1);
    }
    store_done(st);
    if (r < 0 && count < 16)
        return -1;
    /* In turn, a batch each, so one large broadcast does not hold up a
     * small one started after it. */
    while (count > 0 && ran < max_batches) {
        for (int i = 0; i < count && ran < max_batches; i++) {
            int done = bc_batch(n, clinics[i], ids[i], now, err);
            if (done < 0)
                return -1;
            ran++;
            if (done) {
                clinics[i] = clinics[count - 1];
                ids[i] = ids[--count];
                i--;
            }
        }
    }
    if (batches)
        *batches = ran;
    return 0;
}

/* ---- statistics ---- */

typedef struct bc_stats {
    nudge_delivery_stats *out;
    int max, count;
    int per_variant; /* an A/B test: one entry per variant too */
} bc_stats;

static nudge_delivery_stats *bc_slot(bc_stats *s, const char *variant)
{
    for (int i = 1; i < s->count; i++)
        if (!strcmp(s->out[i].variant, variant))
            return &s->out[i];
    if (s->count == s->max)
        return NULL;
    nudge_delivery_stats *d = &s->out[s->count++];
    memset(d, 0, sizeof *d);
    snprintf(d->variant, sizeof d->variant, "%s", variant);
    return d;
}

static void bc_tally(nudge_delivery_stats *d, const char *what, const char *key, int64_t count)
{
    if (!strcmp(what, "outcome")) {
        d->total += count;
        if (!strncmp(key, "queued", 6))
            d->queued += count;
        else if (!strncmp(key, "skipped:", 8)) {
            d->skipped += count;
            int i = nudge_names_find(nudge_skip_reasons, key + 8);
            if (i >= 0)
                d->skipped_by[i] += count;
        }
    } else if (!strcmp(what, "status")) {
        if (!strcmp(key, "pending") || !strcmp(key, "sending") || !strcmp(key, "held"))
            d->pending += count; /* held: waiting for its broadcast's resume */
        if (!strcmp(key, "sent") || !strcmp(key, "delivered") || !strcmp(key, "read"))
            d->sent += count;
        if (!strcmp(key, "delivered") || !strcmp(key, "read"))
            d->delivered += count;
        if (!strcmp(key, "read"))
            d->read += count;
        if (!strcmp(key, "failed"))
            d->failed += count;
        if (!strcmp(key, "cancelled"))
            d->cancelled += count;
    } else if (!strcmp(what, "replied"))
        d->replied += count;
    else
        d->booked += count;
}

static int bc_stats_row(void *ctx, const char *variant, const char *what, const char *key,
                        int64_t count)
{
    bc_stats *s = ctx;
    bc_tally(&s->out[0], what, key, count);
    nudge_delivery_stats *d = variant && s->per_variant ? bc_slot(s, variant) : NULL;
    if (d)
        bc_tally(d, what, key, count);
    return 0;
}

int nudge_get_delivery_stats(nudge *n, int64_t clinic_id, int64_t id, nudge_delivery_stats *out,
                             int max, int *count, nudge_err *err)
{
    err_clear(err);
    bc_row r;
    if (max < 1)
        return err_set(err, NUDGE_EINVAL, "max", "room for one at least");
    if (bc_load(n, clinic_id, id, &r, err) < 0)
        return -1;
    json_t *variants = json_loads(r.b.variants, 0, NULL), *v;
    bc_stats s = {out, max, 1, json_array_size(variants) > 1};
    memset(&out[0], 0, sizeof out[0]);
    /* Every variant listed, even one no patient drew yet. */
    size_t i;
    json_array_foreach(variants, i, v) if (s.per_variant)
        bc_slot(&s, json_string_value(json_object_get(v, "name")));
    json_decref(variants);
    int rc = seg_broadcast_stats(n, r.b.clinic_id, id, r.b.book_days, bc_stats_row, &s, err);
    nudge_broadcast_free(&r.b);
    if (rc < 0)
        return -1;
    for (int k = 0; k < s.count; k++)
        out[k].delivery_rate = out[k].total ? (double)out[k].delivered / (double)out[k].total : 0;
    *count = s.count;
    return 0;
}

/* ---- as JSON, for the front ends ---- */

static json_t *bc_time(int64_t t)
{
    if (!t)
        return json_null();
    char b[40];
    nudge_time_format(t, "UTC", b, sizeof b);
    return json_string(b);
}

static json_t *bc_stats_json(const nudge_delivery_stats *d)
{
    json_t *by = json_object();
    for (int i = 0; i < NUDGE_N_SKIP; i++)
        json_object_set_new(by, nudge_skip_reasons[i], json_integer(d->skipped_by[i]));
    return json_pack("{s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "total",
                     (json_int_t)d->total, "queued", (json_int_t)d->queued, "skipped",
                     (json_int_t)d->skipped, "skipped_by", by, "pending", (json_int_t)d->pending,
                     "sent", (json_int_t)d->sent, "delivered", (json_int_t)d->delivered, "read",
                     (json_int_t)d->read, "failed", (json_int_t)d->failed, "cancelled",
                     (json_int_t)d->cancelled, "replied", (json_int_t)d->replied, "booked",
                     (json_int_t)d->booked, "delivery_rate", d->delivery_rate);
}

int nudge_broadcast_json(nudge *n, int64_t clinic_id, int64_t id, int with_stats, char **out,
                         nudge_err *err)
{
    nudge_broadcast b;
    *out = NULL;
    if (nudge_broadcast_get(n, clinic_id, id, &b, err) < 0)
        return -1;
    json_t *crit = b.criteria ? json_loads(b.criteria, 0, NULL) : NULL;
    json_t *vars = json_loads(b.variants, 0, NULL);
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:i, s:I, "
        "s:I, s:I, s:o}",
        "id", (json_int_t)b.id, "kind", b.kind, "name", b.name, "category", b.category, "status",
        b.status, "segment_id", b.segment_id ? json_integer(b.segment_id) : json_null(),
        "criteria", crit ? crit : json_null(), "variants", vars ? vars : json_array(), "channel",
        b.channel[0] ? json_string(b.channel) : json_null(), "scheduled_time",
        bc_time(b.scheduled_at), "note", b.note ? json_string(b.note) : json_null(),
        "grace_minutes", (json_int_t)(b.grace / 60), "started_at", bc_time(b.started_at),
        "completed_at", bc_time(b.completed_at), "created_at", bc_time(b.created_at),
        "book_days", b.book_days, "total", (json_int_t)b.total, "queued", (json_int_t)b.queued,
        "skipped", (json_int_t)b.skipped, "audience", json_string(b.audience));
    nudge_broadcast_free(&b);
    if (j && with_stats) {
        nudge_delivery_stats st[1 + BC_MAX_VARIANTS];
        int count;
        if (nudge_get_delivery_stats(n, clinic_id, id, st, 1 + BC_MAX_VARIANTS, &count, err) <
            0) {
            json_decref(j);
            return -1;
        }
        json_t *per = json_object();
        for (int i = 1; i < count; i++)
            json_object_set_new(per, st[i].variant, bc_stats_json(&st[i]));
        json_object_set_new(j, "stats", bc_stats_json(&st[0]));
        json_object_set_new(j, "variants_stats", per);
    }
    if (!j || !(*out = json_dumps(j, JSON_COMPACT))) {
        json_decref(j);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    json_decref(j);
    return 0;
}
