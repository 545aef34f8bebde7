/*
 * codec.c: the API's JSON shapes, both ways. Each record has one table of
 * its fields (read-only, required), checked before any value is read, so an
 * unknown or read-only field is reported the same way everywhere and a
 * typo gets a "did you mean". Values are decoded into a copy of the record
 * and written back only when all of them passed: a failed request must not
 * leave a half-applied record for a careless caller to save.
 */
#include "http/codec.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FIELD_MAX (sizeof(((nudge_err *)0)->field))

/* ---- the layer's own small helpers ---- */

/* Out of memory in a few bytes of bookkeeping: nothing sensible is left. */
static void *codec_oom(void *p)
{
    if (!p) {
        fputs("nudge: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *codec_strdup(const char *s)
{
    return s ? codec_oom(strdup(s)) : NULL;
}


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

int codec_utf8_ok(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n) {
        const unsigned char *p = (const unsigned char *)s + i;
        if (!(n = utf8_len(p)) || n > len - i)
            return 0;
    }
    return 1;
}

/* ---- output: JSON text written straight from the record ----
 *
 * A page of 50 records built as jansson trees and then dumped spent most
 * of its time allocating, hashing and freeing the trees; the text is
 * written here instead, byte for byte what json_dumps(JSON_COMPACT |
 * JSON_ENSURE_ASCII) wrote for the same tree (tests/test_codec.c holds
 * them equal), and codec_out parses it back for the few callers that edit
 * a tree. */

static void codec_grow(codec_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->p = codec_oom(realloc(b->p, cap));
    b->cap = cap;
}

/* Called for every few bytes of an answer: the growth kept out of line. */
static inline void put(codec_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap)
        codec_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void codec_put(codec_buf *b, const char *s, size_t n)
{
    put(b, s, n);
}

static void put_s(codec_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

void codec_put_int(codec_buf *b, int64_t v)
{
    char buf[24], *w = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--w = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--w = '-';
    put(b, w, (size_t)(buf + sizeof buf - w));
}

static void put_u(codec_buf *b, unsigned cp)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = {'\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
                 hex[cp & 15]};
    put(b, e, sizeof e);
}

/* A JSON string, ASCII only (\uXXXX, a surrogate pair past the BMP):
 * bytes that are not valid UTF-8 become U+FFFD, as a NULL from jansson
 * would otherwise silently drop the key. end NULL: up to the NUL, found
 * by the same scan (no strlen first: every value of every answer). */
static void put_string(codec_buf *b, const char *s, const char *end)
{
    const unsigned char *p = (const unsigned char *)s, *e = (const unsigned char *)end;
    put(b, "\"", 1);
    for (;;) {
        const unsigned char *run = p;
        if (e)
            while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                p++;
        else
            while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                p++;
        put(b, (const char *)run, (size_t)(p - run));
        if (e ? p == e : !*p)
            break;
        unsigned c = *p;
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (esc) {
            put(b, esc, 2);
            p++;
            continue;
        }
        if (c < 0x80) {
            put_u(b, c);
            p++;
            continue;
        }
        /* A NUL ends a sequence early here: it is no continuation byte. */
        size_t k = utf8_len(p);
        if (!k || (e && k > (size_t)(e - p))) {
            put_u(b, 0xFFFD);
            p++;
            continue;
        }
        unsigned cp = k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < k; i++)
            cp = cp << 6 | (p[i] & 0x3F);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u(b, 0xD800 | (cp >> 10));
            put_u(b, 0xDC00 | (cp & 0x3FF));
        } else {
            put_u(b, cp);
        }
        p += k;
    }
    put(b, "\"", 1);
}

void codec_put_strn(codec_buf *b, const char *s, size_t n)
{
    put_string(b, s, s + n);
}

void codec_put_str(codec_buf *b, const char *s)
{
    put_string(b, s, NULL);
}

static int put_json_cb(const char *s, size_t n, void *b)
{
    codec_put(b, s, n);
    return 0;
}

void codec_put_json(codec_buf *b, const json_t *j)
{
    if (!j || json_dump_callback(j, put_json_cb, b, JSON_COMPACT | JSON_ENSURE_ASCII |
                                                        JSON_ENCODE_ANY) < 0)
        codec_put(b, "null", 4);
}

static void put_hhmm(codec_buf *b, int minutes)
{
    char buf[16];
    int n = snprintf(buf, sizeof buf, "\"%02d:%02d\"", minutes / 60 % 100, minutes % 60);
    codec_put(b, buf, (size_t)n);
}

/* The record keeps tags as typed at the CLI ("diabetes, bp"): split,
 * trimmed, empty pieces dropped, so the API always sees clean items. */
static void put_tags(codec_buf *b, const char *s)
{
    int first = 1;
    codec_put(b, "[", 1);
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *a = s, *z = s + n;
        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (z > a) {
            if (!first)
                codec_put(b, ",", 1);
            first = 0;
            codec_put_strn(b, a, (size_t)(z - a));
        }
        s += n + (e ? 1 : 0);
    }
    codec_put(b, "]", 1);
}

/* One field's value at p, as JSON text. */
static void field_put(codec_buf *b, const nudge_field *f, const char *p, const char *tz)
{
    int64_t i64;
    int i;
    unsigned u;
    const char *s;
    char buf[48];
    int nullable = (f->flags & NUDGE_F_NULLABLE) != 0;
    switch (f->type) {
    case NUDGE_T_INT64:
    case NUDGE_T_ID:
        memcpy(&i64, p, sizeof i64);
        if (!i64 && nullable)
            break;
        codec_put_int(b, i64);
        return;
    case NUDGE_T_INT: memcpy(&i, p, sizeof i); codec_put_int(b, i); return;
    case NUDGE_T_BOOL:
        memcpy(&i, p, sizeof i);
        put_s(b, i ? "true" : "false");
        return;
    case NUDGE_T_TEXT:
        if (!*p && nullable)
            break;
        codec_put_str(b, p);
        return;
    case NUDGE_T_STR:
        memcpy(&s, p, sizeof s);
        if (!s || !*s)
            break;
        codec_put_str(b, s);
        return;
    case NUDGE_T_TIME:
        memcpy(&i64, p, sizeof i64);
        if (!i64)
            break;
        nudge_time_format(i64, tz, buf, sizeof buf);
        codec_put_str(b, buf);
        return;
    case NUDGE_T_HHMM:
        memcpy(&i, p, sizeof i);
        if (i < 0 || i >= 1440)
            break;
        put_hhmm(b, i);
        return;
    case NUDGE_T_ENUM: {
        memcpy(&i, p, sizeof i);
        int n = 0;
        while (f->names[n])
            n++;
        if (i - f->base < 0 || i - f->base >= n)
            break;
        codec_put_str(b, f->names[i - f->base]);
        return;
    }
    case NUDGE_T_TAGS: put_tags(b, p); return;
    case NUDGE_T_OPTOUTS: {
        memcpy(&u, p, sizeof u);
        const char *sep = "[";
        for (int k = 0; nudge_optout_names[k]; k++)
            if (u & (1u << k)) {
                put_s(b, sep);
                codec_put_str(b, nudge_optout_names[k]);
                sep = ",";
            }
        put_s(b, *sep == '[' ? "[]" : "]");
        return;
    }
    case NUDGE_T_QUIET: {
        int q[2];
        memcpy(q, p, sizeof q);
        if (q[0] == q[1])
            break;
        put_s(b, "{\"start\":");
        put_hhmm(b, q[0]);
        put_s(b, ",\"end\":");
        put_hhmm(b, q[1]);
        put_s(b, "}");
        return;
    }
    case NUDGE_T_OFFSETS: {
        int offs[NUDGE_MAX_OFFSETS], n;
        memcpy(offs, p, sizeof offs);
        memcpy(&n, p + sizeof offs, sizeof n);
        n = n < 0 ? 0 : n > NUDGE_MAX_OFFSETS ? NUDGE_MAX_OFFSETS : n;
        codec_put(b, "[", 1);
        for (int k = 0; k < n; k++) {
            if (k)
                codec_put(b, ",", 1);
            codec_put_int(b, offs[k]);
        }
        codec_put(b, "]", 1);
        return;
    }
    case NUDGE_T_SOURCE:
        memcpy(&i64, p, sizeof i64);
        put_s(b, i64 ? "\"clinic\"" : "\"built-in\"");
        return;
    default: break;
    }
    put_s(b, "null");
}

void codec_text(codec_buf *b, const nudge_field *fs, const void *rec, const char *tz)
{
    const char *sep = "{";
    for (const nudge_field *f = fs; f->name; f++) {
        if (f->flags & NUDGE_F_HIDDEN)
            continue;
        /* The tables' names are plain identifiers: nothing to escape. */
        put(b, sep, 1);
        put(b, "\"", 1);
        put_s(b, f->name);
        put(b, "\":", 2);
        field_put(b, f, (const char *)rec + f->offset, tz);
        sep = ",";
    }
    put_s(b, *sep == '{' ? "{}" : "}");
}

json_t *codec_out(const nudge_field *fs, const void *rec, const char *tz)
{
    codec_buf b = {0};
    codec_text(&b, fs, rec, tz);
    json_t *o = codec_oom(json_loadb(b.p, b.len, 0, NULL));
    free(b.p);
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

/* A field a client may not name: read-only, or not part of the JSON at all. */
#define NOT_INPUT (NUDGE_F_RO | NUDGE_F_HIDDEN)

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
        return codec_err(err, NUDGE_EINVAL, "", "the request body must be %s (got %s)", want, got);
    return codec_err(err, NUDGE_EINVAL, path, "%s must be %s (got %s)", path, want, got);
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

static int unknown_field(const char *key, const char *prefix, const nudge_field *fs,
                         nudge_err *err)
{
    char path[FIELD_MAX];
    path_join(path, prefix, key);
    const char *best = NULL;
    int best_d = strlen(key) >= 5 ? 3 : 2; /* short names: one edit at most */
    for (const nudge_field *f = fs; f->name; f++) {
        if (f->flags & NOT_INPUT)
            continue;
        int d = edit_distance(key, f->name);
        if (d < best_d) {
            best_d = d;
            best = f->name;
        }
    }
    if (best) {
        char sugg[FIELD_MAX];
        path_join(sugg, prefix, best);
        return codec_err(err, NUDGE_EINVAL, path, "unknown field \"%.60s\" (did you mean \"%s\"?)",
                       path, sugg);
    }
    return codec_err(err, NUDGE_EINVAL, path, "unknown field \"%.60s\"", path);
}

/* j must be an object whose every key is in fs and writable; without
 * `partial`, every required field must be there. */
static int check_fields(json_t *j, const char *prefix, const nudge_field *fs, int partial,
                        nudge_err *err)
{
    if (!json_is_object(j))
        return type_err(j, prefix, "a JSON object", err);
    for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
        const char *key = json_object_iter_key(it);
        const nudge_field *f = NULL;
#if JANSSON_VERSION_HEX >= 0x020e00
        /* "name\u0000x" must not pass for "name". */
        if (json_object_iter_key_len(it) == strlen(key))
#endif
            f = nudge_field_find(fs, key);
        if (!f || (f->flags & NUDGE_F_HIDDEN))
            return unknown_field(key, prefix, fs, err);
        if (f->flags & NUDGE_F_RO) {
            char path[FIELD_MAX];
            path_join(path, prefix, key);
            return codec_err(err, NUDGE_EINVAL, path, "%s is read-only%s%s", path, f->why ? ": " : "",
                           f->why ? f->why : "");
        }
    }
    for (const nudge_field *f = fs; f->name && !partial; f++) {
        if ((f->flags & NUDGE_F_REQUIRED) && !json_object_get(j, f->name)) {
            char path[FIELD_MAX];
            path_join(path, prefix, f->name);
            return codec_err(err, NUDGE_EINVAL, path, "%s is required", path);
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
        return codec_err(err, NUDGE_EINVAL, path, "%s must not contain NUL characters (\\u0000)",
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
    if (strlen(s) >= n)
        return codec_err(err, NUDGE_EINVAL, path, "%s is too long (at most %zu bytes)", path,
                         n - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
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
        return codec_err(err, NUDGE_EINVAL, path, "%s is too long (at most %zu bytes)", path, max);
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
            return codec_err(err, NUDGE_EINVAL, path, "%s must be at least %lld (got %lld)", path,
                           (long long)lo, (long long)x);
        return codec_err(err, NUDGE_EINVAL, path, "%s must be from %lld to %lld (got %lld)", path,
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
    if (nudge_time_parse(s, tz, &t, path, err) < 0)
        return -1;
    if (t <= 0)
        return codec_err(err, NUDGE_EINVAL, path,
                       "%s must be after 1970-01-01T00:00:00Z (got \"%.40s\")", path, s);
    *out = t;
    return 0;
}

static int get_hhmm(json_t *v, const char *path, int *out, nudge_err *err)
{
    const char *s;
    if (str_val(v, path, "a time of day \"HH:MM\"", &s, err) < 0)
        return -1;
    if (nudge_time_parse_hhmm(s, out) < 0)
        return codec_err(err, NUDGE_EINVAL, path,
                       "%s must be a time of day \"HH:MM\" from 00:00 to 23:59 (got \"%.24s\")",
                       path, s);
    return 0;
}

/* ---- input: the special types ---- */

static const nudge_field quiet_fields[] = {
    {.name = "start", .flags = NUDGE_F_REQUIRED}, {.name = "end", .flags = NUDGE_F_REQUIRED}, {0}};

/* int q[2]: start and end. */
static int quiet_in(json_t *v, const nudge_field *f, void *p, nudge_err *err)
{
    int q[2] = {0, 0};
    if (!json_is_null(v)) {
        if (!json_is_object(v))
            return type_err(v, f->name,
                            "an object such as {\"start\": \"21:00\", \"end\": \"08:00\"} or null",
                            err);
        if (check_fields(v, f->name, quiet_fields, 0, err) < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            char path[FIELD_MAX];
            path_join(path, f->name, quiet_fields[i].name);
            if (get_hhmm(json_object_get(v, quiet_fields[i].name), path, &q[i], err) < 0)
                return -1;
        }
    }
    memcpy(p, q, sizeof q);
    return 0;
}

/* The same bound the CLI's parser applies (clinic_parse_offsets): 60 days. */
#define OFFSET_MAX (60 * 24 * 60)

/* int offsets[NUDGE_MAX_OFFSETS] followed by the count. */
static int offsets_in(json_t *v, const nudge_field *f, void *p, nudge_err *err)
{
    if (!json_is_array(v))
        return type_err(v, f->name, "an array of minutes such as [1440, 120]", err);
    size_t n = json_array_size(v);
    if (n < 1 || n > NUDGE_MAX_OFFSETS)
        return codec_err(err, NUDGE_EINVAL, f->name, "%s must have 1 to %d entries (got %zu)",
                         f->name, NUDGE_MAX_OFFSETS, n);
    int offs[NUDGE_MAX_OFFSETS], count = (int)n;
    memcpy(offs, p, sizeof offs);
    for (size_t i = 0; i < n; i++) {
        char path[FIELD_MAX];
        path_index(path, f->name, i);
        if (get_int(json_array_get(v, i), path, 1, OFFSET_MAX, &offs[i], err) < 0)
            return -1;
    }
    memcpy(p, offs, sizeof offs);
    memcpy((char *)p + sizeof offs, &count, sizeof count);
    return 0;
}

/* Each item of an array of strings, with its path ("tags[2]"), to `each`,
 * which judges it; `want` describes the array for a type error. */
typedef int (*item_fn)(void *ctx, const char *s, const char *path, nudge_err *err);
static int strings_in(json_t *v, const char *name, const char *want, item_fn each, void *ctx,
                      nudge_err *err)
{
    if (!json_is_array(v))
        return type_err(v, name, want, err);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char path[FIELD_MAX];
        const char *s;
        path_index(path, name, i);
        if (str_val(item, path, "a string", &s, err) < 0 || each(ctx, s, path, err) < 0)
            return -1;
    }
    return 0;
}

/* The bytes the tags take joined with commas, in *ctx. */
static int tag_ok(void *ctx, const char *s, const char *path, nudge_err *err)
{
    size_t *total = ctx;
    if (codec_blank(s))
        return codec_err(err, NUDGE_EINVAL, path, "%s must not be empty", path);
    /* The record joins tags with commas; one inside a tag would split it. */
    if (strchr(s, ','))
        return codec_err(err, NUDGE_EINVAL, path, "%s must not contain a comma (got \"%.40s\")",
                         path, s);
    *total += (*total ? 1 : 0) + strlen(s);
    return 0;
}

/* Tags joined with commas into char[f->size]. */
static int tags_in(json_t *v, const nudge_field *f, void *p, nudge_err *err)
{
    size_t total = 0;
    if (strings_in(v, f->name, "an array of strings", tag_ok, &total, err) < 0)
        return -1;
    if (total >= f->size)
        return codec_err(err, NUDGE_EINVAL, f->name,
                         "%s are too long: at most %zu bytes in all, counting a comma between "
                         "each two (got %zu)",
                         f->name, f->size - 1, total);
    char *w = p;
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        size_t n = json_string_length(t);
        if (i)
            *w++ = ',';
        memcpy(w, json_string_value(t), n);
        w += n;
    }
    *w = 0;
    return 0;
}

/* One name of a list: its index in *k. */
static int name_in(json_t *v, const char *path, const char *const *names, int *k, nudge_err *err)
{
    char list[160], want[sizeof list + 8];
    nudge_names_join(names, 1, ", ", NULL, list, sizeof list);
    snprintf(want, sizeof want, "one of %s", list);
    const char *s;
    if (str_val(v, path, want, &s, err) < 0)
        return -1;
    if ((*k = nudge_names_find(names, s)) < 0) {
        nudge_names_join(names, 0, ", ", " or ", list, sizeof list);
        return codec_err(err, NUDGE_EINVAL, path, "%s must be %s (got \"%.24s\")", path, list, s);
    }
    return 0;
}

/* int, names[value - base]; null (when nullable) keeps the value. */
static int enum_in(json_t *v, const nudge_field *f, void *p, nudge_err *err)
{
    int k;
    if (json_is_null(v) && (f->flags & NUDGE_F_NULLABLE))
        return 0;
    if (name_in(v, f->name, f->names, &k, err) < 0)
        return -1;
    k += f->base;
    memcpy(p, &k, sizeof k);
    return 0;
}

/* One opt-out name, its bit added to *ctx. */
static int optout_ok(void *ctx, const char *s, const char *path, nudge_err *err)
{
    unsigned bit = nudge_optout_parse(s);
    if (!bit) {
        char list[160];
        nudge_names_join(nudge_optout_names, 0, ", ", NULL, list, sizeof list);
        return codec_err(err, NUDGE_EINVAL, path, "%s must be one of %s (got \"%.32s\")", path,
                         list, s);
    }
    *(unsigned *)ctx |= bit; /* a repeated name is harmless: it is a set */
    return 0;
}

/* unsigned bits, by name. */
static int optouts_in(json_t *v, const nudge_field *f, void *p, nudge_err *err)
{
    unsigned bits = 0;
    if (strings_in(v, f->name, "an array such as [\"marketing\", \"sms\"]", optout_ok, &bits,
                   err) < 0)
        return -1;
    memcpy(p, &bits, sizeof bits);
    return 0;
}

/* ---- input: a record by its table ---- */

/* One field's value into its place p in a copy of the record. */
static int field_in(json_t *v, const nudge_field *f, const char *tz, char *p, nudge_err *err)
{
    int nullable = (f->flags & NUDGE_F_NULLABLE) != 0;
    int none = nullable && json_is_null(v); /* null: the field's empty value */
    int64_t x = 0; /* the numeric types, written below by their size */
    int rc = 0;
    switch (f->type) {
    case NUDGE_T_TEXT: return get_str(v, f->name, p, f->size, nullable, err);
    case NUDGE_T_STR: {
        const char *s = NULL;
        if (!none && str_val(v, f->name, nullable ? "a string or null" : "a string", &s, err) < 0)
            return -1;
        char *dup = codec_strdup(s);
        memcpy(p, &dup, sizeof dup);
        return 0;
    }
    case NUDGE_T_ENUM: return enum_in(v, f, p, err);
    case NUDGE_T_TAGS: return tags_in(v, f, p, err);
    case NUDGE_T_OPTOUTS: return optouts_in(v, f, p, err);
    case NUDGE_T_QUIET: return quiet_in(v, f, p, err);
    case NUDGE_T_OFFSETS: return offsets_in(v, f, p, err);
    case NUDGE_T_ID:
    case NUDGE_T_INT64:
        if (!none)
            rc = get_int64(v, f->name, f->type == NUDGE_T_ID ? 1 : INT64_MIN, INT64_MAX, &x, err);
        break;
    /* An int field: the library judges the value; here only the C type's
     * range, so 2^32 + 20 cannot wrap to 20. */
    case NUDGE_T_INT: rc = get_int64(v, f->name, INT_MIN, INT_MAX, &x, err); break;
    case NUDGE_T_BOOL:
        rc = json_is_boolean(v) ? 0 : type_err(v, f->name, "true or false", err);
        x = json_is_true(v);
        break;
    case NUDGE_T_TIME: rc = get_time(v, f->name, tz, nullable, &x, err); break;
    case NUDGE_T_HHMM: {
        int m = -1;
        if (!none)
            rc = get_hhmm(v, f->name, &m, err);
        x = m;
        break;
    }
    default: return type_err(v, f->name, "left out", err); /* SOURCE is read-only */
    }
    if (rc < 0)
        return -1;
    if (f->size == sizeof(int64_t)) {
        memcpy(p, &x, sizeof x);
    } else {
        int n = (int)x;
        memcpy(p, &n, sizeof n);
    }
    return 0;
}

/* The STR fields of `a` that `b` does not share, freed. */
static void free_new_strs(const nudge_field *fs, char *a, const char *b)
{
    for (const nudge_field *f = fs; f->name; f++) {
        char *x, *y;
        if (f->type != NUDGE_T_STR)
            continue;
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        if (x != y)
            free(x);
    }
}

static int do_in(const nudge_field *fs, json_t *j, const char *tz, void *rec, size_t size,
                 int partial, nudge_err *err)
{
    if (check_fields(j, "", fs, partial, err) < 0)
        return -1;
    char *t = malloc(size);
    if (!t)
        return codec_err(err, NUDGE_ENOMEM, "", "out of memory");
    memcpy(t, rec, size);
    for (const nudge_field *f = fs; f->name; f++) {
        json_t *v = json_object_get(j, f->name);
        if (v && field_in(v, f, tz, t + f->offset, err) < 0) {
            free_new_strs(fs, t, rec);
            free(t);
            return -1;
        }
    }
    free_new_strs(fs, rec, t); /* the strings replaced */
    memcpy(rec, t, size);
    free(t);
    return 0;
}

int codec_in(const nudge_field *fs, json_t *j, const char *tz, void *rec, size_t size,
             int partial, nudge_err *err)
{
    return do_in(fs, j, tz, rec, size, partial, err) < 0 ? failed(err) : 0;
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
        return codec_err(err, NUDGE_EINVAL, "vars", "vars has %zu variables; at most %zu",
                       json_object_size(v), max_n);
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *key = json_object_iter_key(it);
        char path[FIELD_MAX];
        path_join(path, "vars", key);
        size_t klen = strlen(key);
#if JANSSON_VERSION_HEX >= 0x020e00
        if (json_object_iter_key_len(it) != klen)
            return codec_err(err, NUDGE_EINVAL, path,
                           "variable names must not contain NUL characters (\\u0000)");
#endif
        if (!klen)
            return codec_err(err, NUDGE_EINVAL, "vars", "variable names must not be empty");
        if (klen > max_key)
            return codec_err(err, NUDGE_EINVAL, path,
                           "variable name \"%.60s\" is too long (at most %zu bytes)", key, max_key);
        const char *s;
        if (str_val(json_object_iter_value(it), path, "a string", &s, err) < 0)
            return -1;
        if (nudge_vars_set(vars, key, s) < 0)
            return codec_err(err, NUDGE_EINVAL, path, "%s could not be stored", path);
    }
    return 0;
}

static const nudge_field send_fields[] = {
    {.name = "patient_id", .flags = NUDGE_F_REQUIRED},
    {.name = "template", .flags = NUDGE_F_REQUIRED},
    {.name = "channel"},
    {.name = "priority", .type = NUDGE_T_ENUM, .flags = NUDGE_F_NULLABLE, .names = nudge_priority_names},
    {.name = "due_at"},
    {.name = "dedupe_key"},
    {.name = "vars"},
    {0},
};

/* Lengths from the record the message becomes, so the codec and the
 * queue's columns cannot drift apart. */
#define NOTIF_MAX(f) (sizeof(((nudge_notification *)0)->f) - 1)

static int do_send_in(json_t *j, const char *tz, nudge_send *s, nudge_vars *vars, nudge_err *err)
{
    nudge_vars_free(vars);
    memset(vars, 0, sizeof *vars);
    if (check_fields(j, "", send_fields, 0, err) < 0)
        return -1;
    nudge_send t = {0};
    t.priority = NUDGE_NORMAL;
    json_t *v;
    if (get_id(json_object_get(j, "patient_id"), "patient_id", &t.patient_id, err) < 0)
        return -1;
    v = json_object_get(j, "template");
    if (json_is_null(v))
        return type_err(v, "template", "a string", err);
    const struct {
        const char *name;
        size_t max;
        const char **dst;
    } strs[] = {
        {"template", NOTIF_MAX(template_name), &t.template_name},
        {"channel", NOTIF_MAX(channel), &t.channel},
        {"dedupe_key", NOTIF_MAX(dedupe_key), &t.dedupe_key},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if ((v = json_object_get(j, strs[i].name)) &&
            get_strp(v, strs[i].name, strs[i].max, strs[i].dst, err) < 0)
            return -1;
    if ((v = json_object_get(j, "priority")) &&
        enum_in(v, nudge_field_find(send_fields, "priority"), &t.priority, err) < 0)
        return -1;
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

static const char *const render_channels[] = {"sms", "whatsapp", "email", NULL};
static const nudge_field render_fields[] = {{.name = "vars"}, {.name = "channel"}, {0}};

static int do_render_in(json_t *j, nudge_vars *vars, const char **channel, nudge_err *err)
{
    nudge_vars_free(vars);
    memset(vars, 0, sizeof *vars);
    if (check_fields(j, "", render_fields, 0, err) < 0)
        return -1;
    const char *ch = *channel;
    json_t *v = json_object_get(j, "channel");
    int k;
    /* nudge_template_render takes anything that is not email or whatsapp
     * for SMS, so the name is checked here. */
    if (v && name_in(v, "channel", render_channels, &k, err) < 0)
        return -1;
    if (v)
        ch = json_string_value(v);
    if ((v = json_object_get(j, "vars")) && vars_in(v, vars, err) < 0) {
        nudge_vars_free(vars);
        return -1;
    }
    *channel = ch;
    return 0;
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
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
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
    /* A library message may quote a path's bytes ("no template named
     * \xff"): jansson would refuse the problem body. */
    failed(err);
}
