/*
 * signature.h: how providers sign what they send us, so webhooks can be
 * verified before anything is read from them. Comparison is always in
 * constant time.
 */
#ifndef NUDGE_SIGNATURE_H
#define NUDGE_SIGNATURE_H

#include <stddef.h>

typedef struct sig_param {
    const char *name, *value; /* decoded */
} sig_param;

/* X-Twilio-Signature: base64(HMAC-SHA1(token, url + each param sorted by
 * name in byte order as name + value)). params are sorted in place.
 * out >= 32 bytes. */
int sig_twilio(const char *token, const char *url, sig_param *params, size_t n, char *out,
               size_t outsz);
/* X-Hub-Signature-256 (Meta): "sha256=" and the lowercase hex HMAC-SHA256
 * of the raw body keyed with the app secret. out >= 72 bytes. */
int sig_hub256(const char *secret, const char *body, size_t len, char *out, size_t outsz);
/* 1 if the two strings are equal, in time independent of where they
 * differ (lengths are not secret). */
int sig_equal(const char *a, const char *b);

/* Parses application/x-www-form-urlencoded text into params (names and
 * values decoded, '+' as space), pointing into *storage (caller frees).
 * Returns the count, or -1 when there are more than max or the encoding
 * is broken. */
int sig_form_parse(const char *body, size_t len, sig_param *params, size_t max, char **storage);

#endif
