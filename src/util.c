/*
 * util.c: shared helpers (error filling, bounded copies, growable buffer,
 * and nudge_log_text: the one escaping every log line's untrusted text
 * goes through).
 * Allocation failure aborts: a daemon that cannot allocate a few bytes cannot
 * do anything useful, and unwinding every path for it hides real errors.
 */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

int nudge_err_set(nudge_err *err, int code, const char *field, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void err_clear(nudge_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int str_copy(char *dst, size_t n, const char *src)
{
    if (!src)
        src = "";
    size_t l = strlen(src);
    if (l >= n)
        return -1;
    memcpy(dst, src, l + 1);
    return 0;
}

int str_field(char *dst, size_t n, const char *src, const char *field, nudge_err *err)
{
    if (src && !text_ok(src))
        return err_set(err, NUDGE_EINVAL, field,
                       "%s must be UTF-8 text without control characters", field);
    if (str_copy(dst, n, src) < 0)
        return err_set(err, NUDGE_EINVAL, field, "%s is too long (at most %zu bytes)", field,
                       n - 1);
    return 0;
}

/* The length of the valid UTF-8 character at p, 0 if none begins there:
 * the shortest form only, no surrogates, nothing past U+10FFFF. Never
 * reads past a NUL (which is no continuation byte). */
static int utf8_char(const unsigned char *p)
{
    if (*p < 0x80)
        return 1;
    int n = *p >= 0xF0 && *p <= 0xF4 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 && *p < 0xE0 ? 2 : 0;
    if (!n || (n == 3 && *p > 0xEF))
        return 0;
    unsigned cp = *p & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

int text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            return 0;
        int n = utf8_char(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

long utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        /* ASCII, nearly every byte nudge binds, without the decoder. */
        while (*p - 1u < 0x7fu)
            p++;
        if (!*p)
            return (long)(p - (const unsigned char *)s);
        int n = utf8_char(p);
        if (!n)
            return -1;
        p += n;
    }
}

int utf8_ok(const char *s)
{
    return utf8_len(s) >= 0;
}

static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_fetched;
}

void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char digit[] = "0123456789abcdef"; /* not "%02x" a byte */
    for (size_t i = 0; i < n; i++)
        out[2 * i] = digit[in[i] >> 4], out[2 * i + 1] = digit[in[i] & 15];
    out[2 * n] = 0;
}

int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    const EVP_MD *m = sha256_md();
    if (!m || !EVP_Digest(data, len, md, &mdlen, m, NULL) || mdlen != 32)
        return -1;
    hex_lower(md, 32, out);
    return 0;
}

char *utf8_clip(char *dst, size_t size, const char *s)
{
    size_t l = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && size;) {
        int n = utf8_char(p);
        if (l + (size_t)(n ? n : 1) >= size)
            break; /* the whole character or nothing */
        if (n)
            memcpy(dst + l, p, (size_t)n);
        else
            dst[l] = '?';
        l += n ? (size_t)n : 1;
        p += n ? n : 1;
    }
    if (size)
        dst[l] = 0;
    return dst;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("nudge: out of memory\n", stderr);
        abort();
    }
    return q;
}

char *str_dup(const char *s)
{
    if (!s)
        return NULL;
    size_t l = strlen(s) + 1;
    return memcpy(xrealloc(NULL, l), s, l);
}

void str_free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

int nudge_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* One byte of untrusted text as it is logged: into e[4], its length. */
static size_t log_escape(unsigned char c, char e[4])
{
    static const char hex[] = "0123456789abcdef";
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
        return e[0] = (char)c, 1;
    e[0] = '\\';
    switch (c) {
    case '\\': case '"': e[1] = (char)c; return 2;
    case '\n': e[1] = 'n'; return 2;
    case '\r': e[1] = 'r'; return 2;
    case '\t': e[1] = 't'; return 2;
    }
    e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15];
    return 4;
}

const char *nudge_log_text(char *buf, size_t size, const char *s, size_t len)
{
    if (!size)
        return buf;
    if (!s) {
        snprintf(buf, size, "-");
        return buf;
    }
    char e[4];
    size_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += log_escape((unsigned char)s[i], e);
    /* Cut: room is kept for "...", and an escape is never split. */
    size_t room = total < size ? size - 1 : size - 1 > 3 ? size - 1 - 3 : 0, o = 0;
    for (size_t i = 0; i < len; i++) {
        size_t el = log_escape((unsigned char)s[i], e);
        if (o + el > room)
            break;
        memcpy(buf + o, e, el);
        o += el;
    }
    if (total >= size)
        while (o + 1 < size && o < room + 3)
            buf[o++] = '.';
    buf[o] = 0;
    return buf;
}

/* An address a mail server could take: one @ with text before it, a
 * dotted domain after it, none of the characters that split addresses. */
int email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.'))
        return 0;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s) || *s == '<' ||
            *s == '>' || *s == ',' || *s == '"')
            return 0;
    return at[1] != '.' && s[-1] != '.';
}

int lang_code_ok(const char *s)
{
    size_t i = 0;
    while (islower((unsigned char)s[i]))
        i++;
    if (i < 2 || i > 3)
        return 0;
    if (!s[i])
        return 1;
    if (s[i] != '-' || !isupper((unsigned char)s[i + 1]) || !isupper((unsigned char)s[i + 2]))
        return 0;
    return s[i + 3] == 0;
}

/* Room for n more bytes and the terminating NUL, within the cap. */
static int sbuf_reserve(sbuf *b, size_t n)
{
    size_t max = b->max ? b->max : SBUF_MAX;
    if (b->over || n > max || b->len > max - n) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->over = 1;
        return -1;
    }
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int sbuf_add(sbuf *b, const char *s, size_t n)
{
    if (sbuf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int sbuf_puts(sbuf *b, const char *s)
{
    return sbuf_add(b, s, strlen(s));
}

int sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return 0;
    if (sbuf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *sbuf_take(sbuf *b)
{
    char *d = b->data;
    if (!d)
        d = str_dup("");
    b->data = NULL;
    b->len = b->cap = 0;
    b->over = 0;
    return d;
}

void sbuf_free(sbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->over = 0;
}

int json_text_is(const char *json, const char *path, const char *value)
{
    if (!json || !*json)
        return 0;
    json_t *root = json_loads(json, JSON_DECODE_ANY, NULL), *v = root;
    char key[64];
    for (const char *p = path; v && *p;) {
        size_t l = strcspn(p, ".");
        if (l >= sizeof key)
            v = NULL;
        else {
            memcpy(key, p, l);
            key[l] = 0;
            v = json_object_get(v, key);
        }
        p += l + (p[l] == '.');
    }
    int is = v && json_is_string(v) && !strcmp(json_string_value(v), value);
    json_decref(root);
    return is;
}

int range_check(int64_t from, int64_t *to, nudge_err *err)
{
    if (*to <= 0)
        *to = INT64_MAX;
    if (from < 0 || from >= *to)
        return err_set(err, NUDGE_EINVAL, "from", "the range must start before it ends");
    return 0;
}

int ids_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

size_t ids_sort_unique(int64_t *ids, size_t n)
{
    size_t d = 0;
    qsort(ids, n, sizeof *ids, ids_cmp);
    for (size_t i = 0; i < n; i++)
        if (!d || ids[d - 1] != ids[i])
            ids[d++] = ids[i];
    return d;
}

size_t ids_group(const void *items, size_t count, size_t size, size_t key_off, char *done,
                 size_t i, size_t *at)
{
    const unsigned char *b = items;
    int64_t key, k;
    size_t n = 0;
    memcpy(&key, b + i * size + key_off, sizeof key);
    for (size_t j = i; j < count; j++) {
        memcpy(&k, b + j * size + key_off, sizeof k);
        if (!done[j] && k == key) {
            done[j] = 1;
            at[n++] = j;
        }
    }
    return n;
}
