/*
 * util.h: the few helpers every module shares: filling a nudge_err, bounded
 * string copies, and a growable byte buffer. Kept tiny on purpose.
 */
#ifndef NUDGE_UTIL_H
#define NUDGE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "nudge.h"

/* Sets err (if not NULL) and returns -1, so callers can `return err_set(...)`:
 * the public nudge_err_set, under the library's short name. */
#define err_set nudge_err_set
void err_clear(nudge_err *err);

/* Copies src into dst[n]; returns -1 (and copies nothing) if it does not fit. */
int str_copy(char *dst, size_t n, const char *src);
/* Copies a validated input field, setting EINVAL naming `field` if too long. */
int str_field(char *dst, size_t n, const char *src, const char *field, nudge_err *err);
char *str_dup(const char *s); /* NULL-safe strdup; aborts on OOM */
/* Wipes a secret (token, password, key) before freeing it; NULL-safe. */
void str_free_secret(char *s);
#define str_blank nudge_blank /* NULL, empty or only spaces: the public one */
/* A language tag nudge accepts: "en", "hi", "pt-BR". */
int lang_code_ok(const char *s);
int email_ok(const char *s);
/* UTF-8 (shortest forms, no surrogates) without control characters but
 * tab and line breaks: what a person may write into any text nudge keeps. */
int text_ok(const char *s);
/* Any valid UTF-8 (the same forms), control characters allowed: what the
 * store binds as text (store_bind), on both engines alike. */
int utf8_ok(const char *s);
/* The same check, answering s's length in bytes, or -1 when it is not
 * valid UTF-8: one pass where a bind needs both. */
long utf8_len(const char *s);
/* SHA-256 as OpenSSL names it, looked up once: OpenSSL 3 resolves an
 * implicit EVP_sha256() again, under a lock, on every digest begun with
 * it. NULL if OpenSSL has none. */
const struct evp_md_st *sha256_md(void);
/* SHA-256 of len bytes as 64 lowercase hex digits and a NUL; -1 if
 * OpenSSL fails. */
int sha256_hex(const void *data, size_t len, char out[65]);
/* n bytes as 2n lowercase hex digits and a NUL. */
void hex_lower(const unsigned char *in, size_t n, char *out);
/* Foreign text (a provider's error, a server's answer, a patient's SMS)
 * as nudge keeps it: s's characters into dst while they fit in size - 1
 * bytes, never part of one, and '?' for each byte that begins no valid
 * character (a byte count alone could split a Hindi letter, which
 * PostgreSQL refuses). s NULL: "". Returns dst. */
char *utf8_clip(char *dst, size_t size, const char *s);
/* Whether the JSON text holds the string value at a dotted member path
 * ("invite.method"). Read in C, not by the engine, because SQLite's
 * json_extract and PostgreSQL's ->> differ, and these checks touch a
 * handful of rows. */
int json_text_is(const char *json, const char *path, const char *value);
/* A report's time range [from, to), as the statistics calls take it: to
 * <= 0 is an open end (becomes INT64_MAX); from must be >= 0 and before
 * to, else EINVAL naming "from". One check, so the reports agree on what
 * a range is. */
int range_check(int64_t from, int64_t *to, nudge_err *err);
/* Row ids: the qsort/bsearch order, and a list sorted with its repeats
 * dropped in place (the new count): a batch's patients, read once each. */
int ids_cmp(const void *a, const void *b);
size_t ids_sort_unique(int64_t *ids, size_t n);
/* A batch of one clinic after another: the items from i on not yet done
 * whose id at key_off (an int64_t in each item of size bytes; a clinic's)
 * is item i's, in their order, marked done, their indexes into at[];
 * their count. Called for each i not done, it walks the clinics in the
 * order each first appears. */
size_t ids_group(const void *items, size_t count, size_t size, size_t key_off, char *done,
                 size_t i, size_t *at);

/* Growable NUL-terminated buffer, capped as curl's dynbuf is: it never
 * grows past max bytes (0: SBUF_MAX). An append that would pass the cap
 * empties the buffer, marks it over and answers -1; later appends are
 * refused too, so a provider's answer cannot grow it without limit and
 * a truncated text is never mistaken for a whole one. Starts zeroed;
 * sbuf_take transfers data. */
#define SBUF_MAX ((size_t)64 << 20)
typedef struct sbuf {
    char *data;
    size_t len, cap;
    size_t max;  /* the cap; 0: SBUF_MAX */
    int over;    /* an append passed the cap */
} sbuf;
int sbuf_add(sbuf *b, const char *s, size_t n);
int sbuf_puts(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sbuf_take(sbuf *b); /* caller frees; buffer is reset */
void sbuf_free(sbuf *b);

#endif
