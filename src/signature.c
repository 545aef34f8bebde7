/*
 * signature.c: webhook signatures (Twilio's HMAC-SHA1 over URL and sorted
 * form parameters, tried over the URL with and without its port as
 * Twilio's own validators do; Meta's HMAC-SHA256 over the raw body) and
 * the form parsing they need. Providers' requests are verified over
 * exactly the bytes and values they signed, before any of it is trusted.
 */
#include "signature.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* By name, then (a name given twice) by value, as Twilio's reference
 * validator sorts them. */
static int param_cmp(const void *a, const void *b)
{
    const sig_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int sig_twilio(const char *token, const char *url, sig_param *params, size_t n, char *out,
               size_t outsz)
{
    if (outsz < 32)
        return -1;
    qsort(params, n, sizeof *params, param_cmp);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    size_t total = strlen(url);
    for (size_t i = 0; i < n; i++)
        total += strlen(params[i].name) + strlen(params[i].value);
    char *data = malloc(total + 1);
    if (!data)
        return -1;
    size_t off = strlen(url);
    memcpy(data, url, off);
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(params[i].name), b = strlen(params[i].value);
        memcpy(data + off, params[i].name, a);
        memcpy(data + off + a, params[i].value, b);
        off += a + b;
    }
    int ok = HMAC(EVP_sha1(), token, (int)strlen(token), (unsigned char *)data, off, md, &len) !=
             NULL;
    OPENSSL_cleanse(data, total);
    free(data);
    if (!ok)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, md, (int)len);
    return 0;
}

int sig_url_port(const char *url, int with_port, char *out, size_t outsz)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return -1;
    const char *host = sep + 3, *end = host + strcspn(host, "/?#"), *after = host;
    if (*host == '[' && !(after = memchr(host, ']', (size_t)(end - host))))
        return -1; /* an IPv6 literal: its colons are not a port's */
    const char *colon = memchr(after, ':', (size_t)(end - after));
    int https = (size_t)(sep - url) == 5 && !strncasecmp(url, "https", 5);
    int n;
    if (with_port && !colon) /* the scheme's default port added */
        n = snprintf(out, outsz, "%.*s:%s%s", (int)(end - url), url, https ? "443" : "80", end);
    else if (!with_port && colon) /* any port removed, default or not */
        n = snprintf(out, outsz, "%.*s%s", (int)(colon - url), url, end);
    else
        n = snprintf(out, outsz, "%s", url);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int sig_twilio_valid(const char *token, const char *url, sig_param *params, size_t n,
                     const char *given)
{
    int ok = 0;
    for (int with = 0; with < 2; with++) {
        char u[2048], want[64];
        if (sig_url_port(url, with, u, sizeof u) == 0 &&
            sig_twilio(token, u, params, n, want, sizeof want) == 0)
            ok |= sig_equal(want, given);
    }
    return ok;
}

int sig_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) in place into dst; returns -1 on a broken escape or a
 * NUL byte. */
static int form_decode(const char *s, size_t len, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            dst[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            dst[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            dst[o++] = s[i];
        }
    }
    dst[o] = 0;
    return 0;
}

int sig_form_parse(const char *body, size_t len, sig_param *params, size_t max, char **storage)
{
    *storage = malloc(len * 2 + 2);
    if (!*storage)
        return -1;
    char *w = *storage;
    size_t n = 0, i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && body[eq] != '=')
                eq++;
            if (n == max)
                return -1;
            if (form_decode(body + i, eq - i, w) < 0)
                return -1;
            params[n].name = w;
            w += strlen(w) + 1;
            if (form_decode(body + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0, w) < 0)
                return -1;
            params[n].value = w;
            w += strlen(w) + 1;
            n++;
        }
        i = end + 1;
    }
    return (int)n;
}

int sig_hub256(const char *secret, const char *body, size_t len, char *out, size_t outsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (outsz < 72 || !HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
                            len, md, &mdlen))
        return -1;
    memcpy(out, "sha256=", 7);
    hex_lower(md, mdlen, out + 7);
    return 0;
}
