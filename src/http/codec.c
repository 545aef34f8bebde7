/*
 * codec.c: the API's JSON shapes, both ways. Each record has one table of
 * its fields (read-only, required), checked before any value is read, so an
 * unknown or read-only field is reported the same way everywhere and a
 * typo gets a "did you mean". Values are decoded into a copy of the record
 * and written back only when all of them passed: a failed request must not
 * leave a half-applied record for a careless caller to save.
 */
#include "http/codec.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"
#include "util.h"

#define FIELD_MAX (sizeof(((nudge_err *)0)->field))

/* ---- output ---- */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
 * Same rules as jansson's: no overlongs, no surrogates, nothing past
 * U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A JSON string for any C string: jansson refuses invalid UTF-8 (and a
 * NULL value would silently drop the key), so bad bytes become U+FFFD. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    sbuf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n) {
            sbuf_add(&b, (const char *)p, n);
            p += n;
        } else {
            sbuf_puts(&b, "\xEF\xBF\xBD");
            p++;
        }
    }
    v = json_string(b.data ? b.data : "");
    sbuf_free(&b);
    return v;
}

static void put_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, jstr(s ? s : ""));
}

/* Optional text: empty is "not set", which JSON says with null. */
static void put_opt(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, s && *s ? jstr(s) : json_null());
}

static void put_int(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void put_id_opt(json_t *o, const char *key, int64_t id)
{
    json_object_set_new(o, key, id ? json_integer((json_int_t)id) : json_null());
}

static void put_time(json_t *o, const char *key, int64_t t, const char *tz)
{
    if (!t) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char buf[48];
    tz_format_rfc3339(t, tz, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
}

static void put_hhmm(json_t *o, const char *key, int minutes)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60 % 100, minutes % 60);
    json_object_set_new(o, key, json_string(buf));
}

json_t *codec_clinic_out(const nudge_clinic *c)
{
    json_t *o = json_object();
    put_int(o, "id", c->id);
    put_str(o, "name", c->name);
    put_str(o, "timezone", c->timezone);
    put_str(o, "country", c->country);
    put_str(o, "language", c->language);
    put_opt(o, "phone", c->phone);
    put_opt(o, "email", c->email);
    put_opt(o, "address", c->address);
    if (c->quiet_start == c->quiet_end) {
        json_object_set_new(o, "quiet_hours", json_null());
    } else {
        json_t *q = json_object();
        put_hhmm(q, "start", c->quiet_start);
        put_hhmm(q, "end", c->quiet_end);
        json_object_set_new(o, "quiet_hours", q);
    }
    json_t *offs = json_array();
    int n = c->n_offsets < 0                   ? 0
            : c->n_offsets > NUDGE_MAX_OFFSETS ? NUDGE_MAX_OFFSETS
                                               : c->n_offsets;
    for (int i = 0; i < n; i++)
        json_array_append_new(offs, json_integer(c->offsets[i]));
    json_object_set_new(o, "reminder_offsets_minutes", offs);
    put_int(o, "followup_after_minutes", c->followup_after);
    put_int(o, "max_retries", c->max_retries);
    put_int(o, "rate_per_minute", c->rate_per_minute);
    put_str(o, "default_channel", c->default_channel);
    put_opt(o, "sms_sender", c->sms_sender);
    json_object_set_new(o, "whatsapp_fallback", json_boolean(c->whatsapp_fallback));
    put_int(o, "whatsapp_fallback_after_minutes", c->whatsapp_fallback_after);
    put_time(o, "created_at", c->created_at, c->timezone);
    return o;
}

static const char *const optout_names[] = {"reminders", "broadcasts", "health_tips", "marketing",
                                           "sms",       "whatsapp",   "email"};
#define N_OPTOUTS (sizeof optout_names / sizeof *optout_names)

json_t *codec_patient_out(const nudge_patient *p, const char *tz)
{
    json_t *o = json_object();
    put_int(o, "id", p->id);
    put_int(o, "clinic_id", p->clinic_id);
    put_str(o, "name", p->name);
    put_opt(o, "email", p->email);
    put_opt(o, "phone", p->phone);
    put_opt(o, "language", p->language);
    put_opt(o, "timezone", p->timezone);
    put_opt(o, "date_of_birth", p->dob);
    put_opt(o, "gender", p->gender);
    /* The record keeps tags as typed at the CLI ("diabetes, bp"): split,
     * trimmed, empty pieces dropped, so the API always sees clean items. */
    json_t *tags = json_array();
    const char *s = p->tags;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *a = s, *z = s + n;
        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (z > a) {
            char item[sizeof p->tags];
            memcpy(item, a, (size_t)(z - a));
            item[z - a] = 0;
            json_array_append_new(tags, jstr(item));
        }
        s += n + (e ? 1 : 0);
    }
    json_object_set_new(o, "tags", tags);
    put_opt(o, "preferred_channel", p->preferred_channel);
    if (p->preferred_time >= 0 && p->preferred_time < 1440)
        put_hhmm(o, "preferred_time", p->preferred_time);
    else
        json_object_set_new(o, "preferred_time", json_null());
    json_t *outs = json_array();
    for (size_t i = 0; i < N_OPTOUTS; i++)
        if (p->opt_outs & (1u << i))
            json_array_append_new(outs, json_string(optout_names[i]));
    json_object_set_new(o, "opt_outs", outs);
    put_int(o, "loyalty_points", p->loyalty_points);
    put_time(o, "last_visit", p->last_visit, tz);
    put_time(o, "created_at", p->created_at, tz);
    return o;
}

json_t *codec_appointment_out(const nudge_appointment *a, const char *tz)
{
    json_t *o = json_object();
    put_int(o, "id", a->id);
    put_int(o, "clinic_id", a->clinic_id);
    put_int(o, "patient_id", a->patient_id);
    put_str(o, "service", a->service);
    put_opt(o, "doctor", a->provider);
    put_opt(o, "notes", a->notes);
    put_time(o, "start_at", a->start_at, tz);
    put_int(o, "duration_minutes", a->duration_min);
    put_str(o, "status", a->status);
    put_time(o, "created_at", a->created_at, tz);
    put_time(o, "updated_at", a->updated_at, tz);
    return o;
}

json_t *codec_reminder_out(const nudge_reminder *r, const char *tz)
{
    json_t *o = json_object();
    put_int(o, "id", r->id);
    put_int(o, "appointment_id", r->appointment_id);
    put_str(o, "kind", r->kind);
    put_str(o, "template", r->template_name);
    put_time(o, "due_at", r->due_at, tz);
    put_time(o, "expires_at", r->expires_at, tz);
    put_str(o, "status", r->status);
    put_id_opt(o, "notification_id", r->notification_id);
    return o;
}

static const char *const priority_names[] = {"low", "normal", "high", "urgent"};

json_t *codec_notification_out(const nudge_notification *m, const char *tz)
{
    json_t *o = json_object();
    put_int(o, "id", m->id);
    put_int(o, "patient_id", m->patient_id);
    put_id_opt(o, "appointment_id", m->appointment_id);
    put_id_opt(o, "reminder_id", m->reminder_id);
    put_str(o, "channel", m->channel);
    put_str(o, "recipient", m->recipient);
    put_str(o, "template", m->template_name);
    put_str(o, "language", m->language);
    put_str(o, "category", m->category);
    if (m->priority >= NUDGE_LOW && m->priority <= NUDGE_URGENT)
        put_str(o, "priority", priority_names[m->priority]);
    else
        json_object_set_new(o, "priority", json_null());
    put_str(o, "status", m->status);
    put_time(o, "due_at", m->due_at, tz);
    put_time(o, "expires_at", m->expires_at, tz);
    put_time(o, "sent_at", m->sent_at, tz);
    put_int(o, "attempts", m->attempts);
    put_int(o, "max_retries", m->max_retries);
    put_opt(o, "dedupe_key", m->dedupe_key);
    put_opt(o, "provider_id", m->provider_id);
    put_opt(o, "last_error", m->last_error);
    put_opt(o, "subject", m->subject);
    put_opt(o, "body", m->body);
    put_opt(o, "html", m->html);
    put_time(o, "created_at", m->created_at, tz);
    return o;
}

json_t *codec_template_out(const nudge_template *t)
{
    json_t *o = json_object();
    put_str(o, "name", t->name);
    put_str(o, "language", t->language);
    put_str(o, "category", t->category);
    put_opt(o, "sms", t->sms);
    put_opt(o, "whatsapp", t->whatsapp);
    put_opt(o, "subject", t->subject);
    put_opt(o, "text", t->text);
    put_opt(o, "html", t->html);
    put_str(o, "source", t->clinic_id ? "clinic" : "built-in");
    return o;
}

json_t *codec_key_out(const nudge_key *k, const char *tz)
{
    json_t *o = json_object();
    put_int(o, "id", k->id);
    const char *role = nudge_role_name(k->role);
    json_object_set_new(o, "role", role ? json_string(role) : json_null());
    put_opt(o, "label", k->label);
    put_str(o, "prefix", k->prefix);
    put_time(o, "created_at", k->created_at, tz);
    put_time(o, "last_used_at", k->last_used_at, tz);
    put_time(o, "revoked_at", k->revoked_at, tz);
    return o;
}

/* Messages quote what the client sent, cut to a few bytes; a cut can land
 * inside a UTF-8 sequence (here or in tz_parse), and jansson would then
 * refuse the problem body's strings. Dropping the broken bytes keeps the
 * message and makes it valid again. */
static void utf8_fix(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    while (*r) {
        size_t n = utf8_len(r);
        if (!n) {
            r++;
            continue;
        }
        memmove(w, r, n);
        w += n;
        r += n;
    }
    *w = 0;
}

static int failed(nudge_err *err)
{
    if (err) {
        utf8_fix(err->field);
        utf8_fix(err->msg);
    }
    return -1;
}

/* ---- input: shape of an object ---- */

enum { F_RO = 1, F_REQ = 2 };
typedef struct cfield {
    const char *name;
    int flags;
    const char *why; /* for read-only fields: where changes go instead */
} cfield;

/* "quiet_hours" + "start" -> "quiet_hours.start"; truncated to fit
 * err->field rather than overflowing it. */
static void path_join(char *out, const char *prefix, const char *name)
{
    if (prefix && *prefix)
        snprintf(out, FIELD_MAX, "%s.%s", prefix, name);
    else
        snprintf(out, FIELD_MAX, "%s", name);
}

static void path_index(char *out, const char *prefix, size_t i)
{
    snprintf(out, FIELD_MAX, "%s[%zu]", prefix, i);
}

/* What the client sent, for "x must be an integer (got the string "3")". */
static void describe(const json_t *v, char *buf, size_t n)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(buf, n, "an object"); break;
    case JSON_ARRAY: snprintf(buf, n, "an array"); break;
    case JSON_STRING:
        snprintf(buf, n, "the string \"%.24s%s\"", json_string_value(v),
                 json_string_length(v) > 24 ? "..." : "");
        break;
    case JSON_INTEGER: snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, n, "%g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, n, "true"); break;
    case JSON_FALSE: snprintf(buf, n, "false"); break;
    default: snprintf(buf, n, "null"); break;
    }
}

static int type_err(const json_t *v, const char *path, const char *want, nudge_err *err)
{
    char got[64];
    describe(v, got, sizeof got);
    if (!*path)
        return err_set(err, NUDGE_EINVAL, "", "the request body must be %s (got %s)", want, got);
    return err_set(err, NUDGE_EINVAL, path, "%s must be %s (got %s)", path, want, got);
}

/* Optimal string alignment distance: a swap of two neighbours ("phnoe")
 * counts as one edit, the commonest typo of all. Names are short. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

static int unknown_field(const char *key, const char *prefix, const cfield *fs, size_t nf,
                         nudge_err *err)
{
    char path[FIELD_MAX];
    path_join(path, prefix, key);
    const char *best = NULL;
    int best_d = strlen(key) >= 5 ? 3 : 2; /* short names: one edit at most */
    for (size_t i = 0; i < nf; i++) {
        if (fs[i].flags & F_RO)
            continue;
        int d = edit_distance(key, fs[i].name);
        if (d < best_d) {
            best_d = d;
            best = fs[i].name;
        }
    }
    if (best) {
        char sugg[FIELD_MAX];
        path_join(sugg, prefix, best);
        return err_set(err, NUDGE_EINVAL, path, "unknown field \"%.60s\" (did you mean \"%s\"?)",
                       path, sugg);
    }
    return err_set(err, NUDGE_EINVAL, path, "unknown field \"%.60s\"", path);
}

/* j must be an object whose every key is in fs and writable; without
 * `partial`, every required field must be there. */
static int check_fields(json_t *j, const char *prefix, const cfield *fs, size_t nf, int partial,
                        nudge_err *err)
{
    if (!json_is_object(j))
        return type_err(j, prefix, "a JSON object", err);
    for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
        const char *key = json_object_iter_key(it);
        const cfield *f = NULL;
#if JANSSON_VERSION_HEX >= 0x020e00
        /* "name\u0000x" must not pass for "name". */
        if (json_object_iter_key_len(it) == strlen(key))
#endif
            for (size_t i = 0; i < nf && !f; i++)
                if (!strcmp(key, fs[i].name))
                    f = &fs[i];
        if (!f)
            return unknown_field(key, prefix, fs, nf, err);
        if (f->flags & F_RO) {
            char path[FIELD_MAX];
            path_join(path, prefix, key);
            return err_set(err, NUDGE_EINVAL, path, "%s is read-only%s%s", path, f->why ? ": " : "",
                           f->why ? f->why : "");
        }
    }
    for (size_t i = 0; i < nf && !partial; i++) {
        if ((fs[i].flags & F_REQ) && !json_object_get(j, fs[i].name)) {
            char path[FIELD_MAX];
            path_join(path, prefix, fs[i].name);
            return err_set(err, NUDGE_EINVAL, path, "%s is required", path);
        }
    }
    return 0;
}

/* ---- input: values ---- */

/* The string's text, refusing embedded NULs: C would silently cut there. */
static int str_val(json_t *v, const char *path, const char *want, const char **out, nudge_err *err)
{
    if (!json_is_string(v))
        return type_err(v, path, want, err);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return err_set(err, NUDGE_EINVAL, path, "%s must not contain NUL characters (\\u0000)",
                       path);
    *out = s;
    return 0;
}

/* Into a fixed buffer; with `nullable`, null means empty. */
static int get_str(json_t *v, const char *path, char *dst, size_t n, int nullable, nudge_err *err)
{
    if (nullable && json_is_null(v)) {
        dst[0] = 0;
        return 0;
    }
    const char *s;
    if (str_val(v, path, nullable ? "a string or null" : "a string", &s, err) < 0)
        return -1;
    return str_field(dst, n, s, path, err);
}

/* A pointer into j (for nudge_send); null leaves *out NULL. */
static int get_strp(json_t *v, const char *path, size_t max, const char **out, nudge_err *err)
{
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    const char *s;
    if (str_val(v, path, "a string or null", &s, err) < 0)
        return -1;
    if (strlen(s) > max)
        return err_set(err, NUDGE_EINVAL, path, "%s is too long (at most %zu bytes)", path, max);
    *out = s;
    return 0;
}

static int get_int64(json_t *v, const char *path, int64_t lo, int64_t hi, int64_t *out,
                     nudge_err *err)
{
    /* JSON has one number type, but 3.0 or "3" where a count belongs is a
     * client bug worth hearing about, not something to round. */
    if (!json_is_integer(v))
        return type_err(v, path, "an integer", err);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        if (hi == INT64_MAX)
            return err_set(err, NUDGE_EINVAL, path, "%s must be at least %lld (got %lld)", path,
                           (long long)lo, (long long)x);
        return err_set(err, NUDGE_EINVAL, path, "%s must be from %lld to %lld (got %lld)", path,
                       (long long)lo, (long long)hi, (long long)x);
    }
    *out = (int64_t)x;
    return 0;
}

/* An int field: the library judges the value; here only the C type's
 * range, so 2^32 + 20 cannot wrap to 20. */
static int get_int(json_t *v, const char *path, int lo, int hi, int *out, nudge_err *err)
{
    int64_t x;
    if (get_int64(v, path, lo, hi, &x, err) < 0)
        return -1;
    *out = (int)x;
    return 0;
}

static int get_id(json_t *v, const char *path, int64_t *out, nudge_err *err)
{
    return get_int64(v, path, 1, INT64_MAX, out, err);
}

/* RFC 3339, or wall time in tz. With `nullable`, null is 0 ("none").
 * Instants at or before the epoch are refused: 0 means "not set" in the
 * records, and no appointment or message belongs in 1970. */
static int get_time(json_t *v, const char *path, const char *tz, int nullable, int64_t *out,
                    nudge_err *err)
{
    if (nullable && json_is_null(v)) {
        *out = 0;
        return 0;
    }
    const char *s;
    if (str_val(v, path, nullable ? "an RFC 3339 time string or null" : "an RFC 3339 time string",
                &s, err) < 0)
        return -1;
    int64_t t;
    if (tz_parse(s, tz, &t, path, err) < 0)
        return -1;
    if (t <= 0)
        return err_set(err, NUDGE_EINVAL, path,
                       "%s must be after 1970-01-01T00:00:00Z (got \"%.40s\")", path, s);
    *out = t;
    return 0;
}

static int get_hhmm(json_t *v, const char *path, int *out, nudge_err *err)
{
    const char *s;
    if (str_val(v, path, "a time of day \"HH:MM\"", &s, err) < 0)
        return -1;
    if (tz_parse_hhmm(s, out) < 0)
        return err_set(err, NUDGE_EINVAL, path,
                       "%s must be a time of day \"HH:MM\" from 00:00 to 23:59 (got \"%.24s\")",
                       path, s);
    return 0;
}

/* ---- clinics ---- */

static const cfield clinic_fields[] = {
    {"id", F_RO, NULL},
    {"name", F_REQ, NULL},
    {"timezone", F_REQ, NULL},
    {"country", F_REQ, NULL},
    {"language", 0, NULL},
    {"phone", 0, NULL},
    {"email", 0, NULL},
    {"address", 0, NULL},
    {"quiet_hours", 0, NULL},
    {"reminder_offsets_minutes", 0, NULL},
    {"followup_after_minutes", 0, NULL},
    {"max_retries", 0, NULL},
    {"rate_per_minute", 0, NULL},
    {"default_channel", 0, NULL},
    {"sms_sender", 0, NULL},
    {"whatsapp_fallback", 0, NULL},
    {"whatsapp_fallback_after_minutes", 0, NULL},
    {"created_at", F_RO, NULL},
};
#define NF(t) (sizeof(t) / sizeof *(t))

static const cfield quiet_fields[] = {{"start", F_REQ, NULL}, {"end", F_REQ, NULL}};

static int quiet_in(json_t *v, nudge_clinic *c, nudge_err *err)
{
    if (json_is_null(v)) {
        c->quiet_start = c->quiet_end = 0;
        return 0;
    }
    if (!json_is_object(v))
        return type_err(v, "quiet_hours",
                        "an object such as {\"start\": \"21:00\", \"end\": \"08:00\"} or null",
                        err);
    if (check_fields(v, "quiet_hours", quiet_fields, NF(quiet_fields), 0, err) < 0)
        return -1;
    if (get_hhmm(json_object_get(v, "start"), "quiet_hours.start", &c->quiet_start, err) < 0 ||
        get_hhmm(json_object_get(v, "end"), "quiet_hours.end", &c->quiet_end, err) < 0)
        return -1;
    return 0;
}

/* The same bound the CLI's parser applies (clinic_parse_offsets): 60 days. */
#define OFFSET_MAX (60 * 24 * 60)

static int offsets_in(json_t *v, nudge_clinic *c, nudge_err *err)
{
    const char *f = "reminder_offsets_minutes";
    if (!json_is_array(v))
        return type_err(v, f, "an array of minutes such as [1440, 120]", err);
    size_t n = json_array_size(v);
    if (n < 1 || n > NUDGE_MAX_OFFSETS)
        return err_set(err, NUDGE_EINVAL, f, "%s must have 1 to %d entries (got %zu)", f,
                       NUDGE_MAX_OFFSETS, n);
    for (size_t i = 0; i < n; i++) {
        char path[FIELD_MAX];
        path_index(path, f, i);
        if (get_int(json_array_get(v, i), path, 1, OFFSET_MAX, &c->offsets[i], err) < 0)
            return -1;
    }
    c->n_offsets = (int)n;
    return 0;
}

static int do_clinic_in(json_t *j, nudge_clinic *c, int partial, nudge_err *err)
{
    if (check_fields(j, "", clinic_fields, NF(clinic_fields), partial, err) < 0)
        return -1;
    nudge_clinic t = *c;
    const struct {
        const char *name;
        char *dst;
        size_t n;
        int nullable;
    } strs[] = {
        {"name", t.name, sizeof t.name, 0},
        {"timezone", t.timezone, sizeof t.timezone, 0},
        {"country", t.country, sizeof t.country, 0},
        {"language", t.language, sizeof t.language, 0},
        {"phone", t.phone, sizeof t.phone, 1},
        {"email", t.email, sizeof t.email, 1},
        {"address", t.address, sizeof t.address, 1},
        {"default_channel", t.default_channel, sizeof t.default_channel, 0},
        {"sms_sender", t.sms_sender, sizeof t.sms_sender, 1},
    };
    for (size_t i = 0; i < NF(strs); i++) {
        json_t *v = json_object_get(j, strs[i].name);
        if (v && get_str(v, strs[i].name, strs[i].dst, strs[i].n, strs[i].nullable, err) < 0)
            return -1;
    }
    const struct {
        const char *name;
        int *dst;
    } ints[] = {
        {"followup_after_minutes", &t.followup_after},
        {"max_retries", &t.max_retries},
        {"rate_per_minute", &t.rate_per_minute},
        {"whatsapp_fallback_after_minutes", &t.whatsapp_fallback_after},
    };
    for (size_t i = 0; i < NF(ints); i++) {
        json_t *v = json_object_get(j, ints[i].name);
        if (v && get_int(v, ints[i].name, INT_MIN, INT_MAX, ints[i].dst, err) < 0)
            return -1;
    }
    json_t *v;
    if ((v = json_object_get(j, "quiet_hours")) && quiet_in(v, &t, err) < 0)
        return -1;
    if ((v = json_object_get(j, "reminder_offsets_minutes")) && offsets_in(v, &t, err) < 0)
        return -1;
    if ((v = json_object_get(j, "whatsapp_fallback"))) {
        if (!json_is_boolean(v))
            return type_err(v, "whatsapp_fallback", "true or false", err);
        t.whatsapp_fallback = json_is_true(v);
    }
    *c = t;
    return 0;
}

/* ---- patients ---- */

static const cfield patient_fields[] = {
    {"id", F_RO, NULL},
    {"clinic_id", F_RO, NULL},
    {"name", F_REQ, NULL},
    {"email", 0, NULL},
    {"phone", 0, NULL},
    {"language", 0, NULL},
    {"timezone", 0, NULL},
    {"date_of_birth", 0, NULL},
    {"gender", 0, NULL},
    {"tags", 0, NULL},
    {"preferred_channel", 0, NULL},
    {"preferred_time", 0, NULL},
    {"opt_outs", 0, NULL},
    {"loyalty_points", F_RO, "points are earned through visits"},
    {"last_visit", F_RO, "it is set when an appointment is completed"},
    {"created_at", F_RO, NULL},
};

static int tags_in(json_t *v, nudge_patient *p, nudge_err *err)
{
    if (!json_is_array(v))
        return type_err(v, "tags", "an array of strings", err);
    sbuf b = {0};
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        char path[FIELD_MAX];
        path_index(path, "tags", i);
        const char *s;
        int rc = str_val(t, path, "a string", &s, err);
        if (rc == 0 && str_blank(s))
            rc = err_set(err, NUDGE_EINVAL, path, "%s must not be empty", path);
        /* The record joins tags with commas; one inside a tag would split it. */
        if (rc == 0 && strchr(s, ','))
            rc = err_set(err, NUDGE_EINVAL, path, "%s must not contain a comma (got \"%.40s\")",
                         path, s);
        if (rc < 0) {
            sbuf_free(&b);
            return -1;
        }
        if (i)
            sbuf_puts(&b, ",");
        sbuf_puts(&b, s);
    }
    int rc = 0;
    if (b.len >= sizeof p->tags)
        rc = err_set(err, NUDGE_EINVAL, "tags",
                     "tags are too long: at most %zu bytes in all, counting a comma between "
                     "each two (got %zu)",
                     sizeof p->tags - 1, b.len);
    else
        memcpy(p->tags, b.data ? b.data : "", b.len + 1);
    sbuf_free(&b);
    return rc;
}

static int optouts_in(json_t *v, nudge_patient *p, nudge_err *err)
{
    if (!json_is_array(v))
        return type_err(v, "opt_outs", "an array such as [\"marketing\", \"sms\"]", err);
    unsigned bits = 0;
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o)
    {
        char path[FIELD_MAX];
        path_index(path, "opt_outs", i);
        const char *s;
        if (str_val(o, path, "a string", &s, err) < 0)
            return -1;
        size_t k = 0;
        while (k < N_OPTOUTS && strcmp(s, optout_names[k]))
            k++;
        if (k == N_OPTOUTS)
            return err_set(err, NUDGE_EINVAL, path,
                           "%s must be one of reminders, broadcasts, health_tips, marketing, sms, "
                           "whatsapp, email (got \"%.32s\")",
                           path, s);
        bits |= 1u << k; /* a repeated name is harmless: it is a set */
    }
    p->opt_outs = bits;
    return 0;
}

static int do_patient_in(json_t *j, nudge_patient *p, int partial, nudge_err *err)
{
    if (check_fields(j, "", patient_fields, NF(patient_fields), partial, err) < 0)
        return -1;
    nudge_patient t = *p;
    const struct {
        const char *name;
        char *dst;
        size_t n;
        int nullable;
    } strs[] = {
        {"name", t.name, sizeof t.name, 0},
        {"email", t.email, sizeof t.email, 1},
        {"phone", t.phone, sizeof t.phone, 1},
        {"language", t.language, sizeof t.language, 1},
        {"timezone", t.timezone, sizeof t.timezone, 1},
        {"date_of_birth", t.dob, sizeof t.dob, 1},
        {"gender", t.gender, sizeof t.gender, 1},
        {"preferred_channel", t.preferred_channel, sizeof t.preferred_channel, 1},
    };
    for (size_t i = 0; i < NF(strs); i++) {
        json_t *v = json_object_get(j, strs[i].name);
        if (v && get_str(v, strs[i].name, strs[i].dst, strs[i].n, strs[i].nullable, err) < 0)
            return -1;
    }
    json_t *v;
    if ((v = json_object_get(j, "tags")) && tags_in(v, &t, err) < 0)
        return -1;
    if ((v = json_object_get(j, "opt_outs")) && optouts_in(v, &t, err) < 0)
        return -1;
    if ((v = json_object_get(j, "preferred_time"))) {
        if (json_is_null(v))
            t.preferred_time = -1;
        else if (get_hhmm(v, "preferred_time", &t.preferred_time, err) < 0)
            return -1;
    }
    *p = t;
    return 0;
}

/* ---- appointments ---- */

static const cfield appointment_fields[] = {
    {"id", F_RO, NULL},
    {"clinic_id", F_RO, NULL},
    {"patient_id", F_REQ, NULL},
    {"service", F_REQ, NULL},
    {"doctor", 0, NULL},
    {"notes", 0, NULL},
    {"start_at", F_REQ, NULL},
    {"duration_minutes", 0, NULL},
    {"status", F_RO, "use the confirm, complete, cancel, no-show and reschedule actions"},
    {"created_at", F_RO, NULL},
    {"updated_at", F_RO, NULL},
};

static int do_appointment_in(json_t *j, const char *tz, nudge_appointment *a, int partial,
                             nudge_err *err)
{
    if (check_fields(j, "", appointment_fields, NF(appointment_fields), partial, err) < 0)
        return -1;
    nudge_appointment t = *a;
    json_t *v;
    if ((v = json_object_get(j, "patient_id")) && get_id(v, "patient_id", &t.patient_id, err) < 0)
        return -1;
    if ((v = json_object_get(j, "service")) &&
        get_str(v, "service", t.service, sizeof t.service, 0, err) < 0)
        return -1;
    if ((v = json_object_get(j, "doctor")) &&
        get_str(v, "doctor", t.provider, sizeof t.provider, 1, err) < 0)
        return -1;
    if ((v = json_object_get(j, "notes")) &&
        get_str(v, "notes", t.notes, sizeof t.notes, 1, err) < 0)
        return -1;
    if ((v = json_object_get(j, "start_at")) &&
        get_time(v, "start_at", tz, 0, &t.start_at, err) < 0)
        return -1;
    if ((v = json_object_get(j, "duration_minutes")) &&
        get_int(v, "duration_minutes", INT_MIN, INT_MAX, &t.duration_min, err) < 0)
        return -1;
    *a = t;
    return 0;
}

/* ---- templates ---- */

static const cfield template_fields[] = {
    {"name", F_REQ, NULL},
    {"language", F_REQ, NULL},
    {"category", F_REQ, NULL},
    {"sms", F_REQ, NULL},
    {"whatsapp", 0, NULL},
    {"subject", F_REQ, NULL},
    {"text", F_REQ, NULL},
    {"html", F_REQ, NULL},
    {"source", F_RO, "it follows from who owns the template"},
};

static int do_template_in(json_t *j, nudge_template *t, nudge_err *err)
{
    memset(t, 0, sizeof *t);
    if (check_fields(j, "", template_fields, NF(template_fields), 0, err) < 0)
        return -1;
    nudge_template n = {0};
    const struct {
        const char *name;
        char *dst;
        size_t size;
    } keys[] = {
        {"name", n.name, sizeof n.name},
        {"language", n.language, sizeof n.language},
        {"category", n.category, sizeof n.category},
    };
    for (size_t i = 0; i < NF(keys); i++)
        if (get_str(json_object_get(j, keys[i].name), keys[i].name, keys[i].dst, keys[i].size, 0,
                    err) < 0)
            return -1;
    const struct {
        const char *name;
        char **dst;
        int nullable;
    } texts[] = {
        {"sms", &n.sms, 0},   {"whatsapp", &n.whatsapp, 1}, {"subject", &n.subject, 0},
        {"text", &n.text, 0}, {"html", &n.html, 0},
    };
    for (size_t i = 0; i < NF(texts); i++) {
        json_t *v = json_object_get(j, texts[i].name);
        if (!v || (texts[i].nullable && json_is_null(v)))
            continue;
        const char *s;
        if (str_val(v, texts[i].name, texts[i].nullable ? "a string or null" : "a string", &s,
                    err) < 0) {
            nudge_template_free(&n);
            return -1;
        }
        *texts[i].dst = str_dup(s);
    }
    *t = n;
    return 0;
}

/* ---- messages ---- */

static int vars_in(json_t *v, nudge_vars *vars, nudge_err *err)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return type_err(v, "vars", "an object of strings such as {\"test_name\": \"HbA1c\"}", err);
    const size_t max_n = sizeof vars->kv / sizeof vars->kv[0];
    const size_t max_key = sizeof vars->kv[0].key - 1;
    if (json_object_size(v) > max_n)
        return err_set(err, NUDGE_EINVAL, "vars", "vars has %zu variables; at most %zu",
                       json_object_size(v), max_n);
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *key = json_object_iter_key(it);
        char path[FIELD_MAX];
        path_join(path, "vars", key);
        size_t klen = strlen(key);
#if JANSSON_VERSION_HEX >= 0x020e00
        if (json_object_iter_key_len(it) != klen)
            return err_set(err, NUDGE_EINVAL, path,
                           "variable names must not contain NUL characters (\\u0000)");
#endif
        if (!klen)
            return err_set(err, NUDGE_EINVAL, "vars", "variable names must not be empty");
        if (klen > max_key)
            return err_set(err, NUDGE_EINVAL, path,
                           "variable name \"%.60s\" is too long (at most %zu bytes)", key, max_key);
        const char *s;
        if (str_val(json_object_iter_value(it), path, "a string", &s, err) < 0)
            return -1;
        if (nudge_vars_set(vars, key, s) < 0)
            return err_set(err, NUDGE_EINVAL, path, "%s could not be stored", path);
    }
    return 0;
}

static const cfield send_fields[] = {
    {"patient_id", F_REQ, NULL}, {"template", F_REQ, NULL}, {"channel", 0, NULL},
    {"priority", 0, NULL},       {"due_at", 0, NULL},       {"dedupe_key", 0, NULL},
    {"vars", 0, NULL},
};

/* Lengths from the record the message becomes, so the codec and the
 * queue's columns cannot drift apart. */
#define NOTIF_MAX(f) (sizeof(((nudge_notification *)0)->f) - 1)

static int do_send_in(json_t *j, const char *tz, nudge_send *s, nudge_vars *vars, nudge_err *err)
{
    nudge_vars_free(vars);
    memset(vars, 0, sizeof *vars);
    if (check_fields(j, "", send_fields, NF(send_fields), 0, err) < 0)
        return -1;
    nudge_send t = {0};
    t.priority = NUDGE_NORMAL;
    json_t *v;
    if (get_id(json_object_get(j, "patient_id"), "patient_id", &t.patient_id, err) < 0)
        return -1;
    v = json_object_get(j, "template");
    if (json_is_null(v))
        return type_err(v, "template", "a string", err);
    if (get_strp(v, "template", NOTIF_MAX(template_name), &t.template_name, err) < 0)
        return -1;
    if ((v = json_object_get(j, "channel")) &&
        get_strp(v, "channel", NOTIF_MAX(channel), &t.channel, err) < 0)
        return -1;
    if ((v = json_object_get(j, "dedupe_key")) &&
        get_strp(v, "dedupe_key", NOTIF_MAX(dedupe_key), &t.dedupe_key, err) < 0)
        return -1;
    if ((v = json_object_get(j, "priority")) && !json_is_null(v)) {
        const char *p;
        if (str_val(v, "priority", "one of \"low\", \"normal\", \"high\", \"urgent\"", &p, err) < 0)
            return -1;
        int k = 0;
        while (k <= NUDGE_URGENT && strcmp(p, priority_names[k]))
            k++;
        if (k > NUDGE_URGENT)
            return err_set(err, NUDGE_EINVAL, "priority",
                           "priority must be low, normal, high or urgent (got \"%.24s\")", p);
        t.priority = k;
    }
    if ((v = json_object_get(j, "due_at")) && get_time(v, "due_at", tz, 1, &t.due_at, err) < 0)
        return -1;
    if ((v = json_object_get(j, "vars")) && vars_in(v, vars, err) < 0) {
        nudge_vars_free(vars);
        return -1;
    }
    t.vars = vars;
    *s = t;
    return 0;
}

static const cfield render_fields[] = {{"vars", 0, NULL}, {"channel", 0, NULL}};

static int do_render_in(json_t *j, nudge_vars *vars, const char **channel, nudge_err *err)
{
    nudge_vars_free(vars);
    memset(vars, 0, sizeof *vars);
    if (check_fields(j, "", render_fields, NF(render_fields), 0, err) < 0)
        return -1;
    const char *ch = *channel;
    json_t *v = json_object_get(j, "channel");
    if (v) {
        /* nudge_template_render takes anything that is not email or
         * whatsapp for SMS, so the name is checked here. */
        if (str_val(v, "channel", "one of \"sms\", \"whatsapp\", \"email\"", &ch, err) < 0)
            return -1;
        if (strcmp(ch, "sms") && strcmp(ch, "whatsapp") && strcmp(ch, "email"))
            return err_set(err, NUDGE_EINVAL, "channel",
                           "channel must be sms, whatsapp or email (got \"%.24s\")", ch);
    }
    if ((v = json_object_get(j, "vars")) && vars_in(v, vars, err) < 0) {
        nudge_vars_free(vars);
        return -1;
    }
    *channel = ch;
    return 0;
}

/* ---- entry points: every failure leaves a message jansson accepts ---- */

int codec_clinic_in(json_t *j, nudge_clinic *c, int partial, nudge_err *err)
{
    return do_clinic_in(j, c, partial, err) < 0 ? failed(err) : 0;
}

int codec_patient_in(json_t *j, nudge_patient *p, int partial, nudge_err *err)
{
    return do_patient_in(j, p, partial, err) < 0 ? failed(err) : 0;
}

int codec_appointment_in(json_t *j, const char *tz, nudge_appointment *a, int partial,
                         nudge_err *err)
{
    return do_appointment_in(j, tz, a, partial, err) < 0 ? failed(err) : 0;
}

int codec_template_in(json_t *j, nudge_template *t, nudge_err *err)
{
    return do_template_in(j, t, err) < 0 ? failed(err) : 0;
}

int codec_send_in(json_t *j, const char *tz, nudge_send *s, nudge_vars *vars, nudge_err *err)
{
    return do_send_in(j, tz, s, vars, err) < 0 ? failed(err) : 0;
}

int codec_render_in(json_t *j, nudge_vars *vars, const char **channel, nudge_err *err)
{
    return do_render_in(j, vars, channel, err) < 0 ? failed(err) : 0;
}

/* ---- raw text ---- */

int codec_depth_ok(const char *text, size_t len, int max)
{
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 1;
}

/* ---- library errors ---- */

const char *codec_json_field(const char *lib_field)
{
    static const char *const map[][2] = {
        {"at", "start_at"},
        {"duration", "duration_minutes"},
        {"provider", "doctor"},
        {"patient", "patient_id"},
        {"followup_after", "followup_after_minutes"},
        {"reminder_offsets", "reminder_offsets_minutes"},
        {"dob", "date_of_birth"},
    };
    if (!lib_field)
        return "";
    for (size_t i = 0; i < NF(map); i++)
        if (!strcmp(lib_field, map[i][0]))
            return map[i][1];
    return lib_field;
}

void codec_err_fields(nudge_err *err)
{
    if (!err)
        return;
    const char *f = codec_json_field(err->field);
    if (f != err->field)
        snprintf(err->field, sizeof err->field, "%s", f);
}
