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
/* The URL in the two forms Twilio's reference validators (twilio-python's
 * RequestValidator.validate, twilio-java's alike) accept a signature over:
 * with_port 0, without any port ("https://h:8443/p" -> "https://h/p");
 * with_port 1, with the scheme's default port added when it has none
 * ("https://h/p" -> "https://h:443/p", "http://h/p" -> "http://h:80/p"),
 * else as given. -1 when url has no "scheme://" or out is too small. */
int sig_url_port(const char *url, int with_port, char *out, size_t outsz);
/* 1 when given is X-Twilio-Signature over either form of url: exactly
 * the two Twilio's validators try, and no other variation. */
int sig_twilio_valid(const char *token, const char *url, sig_param *params, size_t n,
                     const char *given);
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
