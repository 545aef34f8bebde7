/*
 * mail.c: the parts of an e-mail that the SMTP channel and the outbox share,
 * so that a message written to the outbox is the message SMTP would have
 * sent: RFC 2047 header encoding, address checks, the Message-ID and the
 * top-level header lines (From, To, Subject, Date, Message-ID, Reply-To).
 * The MIME body is not here: libcurl builds it for SMTP, the outbox writes
 * the same structure itself.
 *
 * Every header value that comes from data (clinic name, subject, addresses)
 * is cleaned of control characters before use: a CR or LF in a subject would
 * otherwise let a template author add headers of their choice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "channel/channel.h"
#include "channel/mail.h"
#include "tz.h"
#include "util.h"


/* Raw bytes per encoded word: 39 bytes make 52 base64 characters, so a word
 * is 64 characters and even "Reply-To: " plus one word stays within the 76
 * characters RFC 2047 allows on a line holding encoded words. */
#define MAIL_WORD_BYTES 39

/* Copy of s with every control character (CR and LF above all) turned into a
 * space, so a value can never end its header line early. */
static char *mail_clean(const char *s)
{
    char *c = str_dup(s ? s : "");
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return c;
}

/* Whether a value must become encoded words: any 8-bit byte, or text a
 * reader would itself mistake for an encoded word. */
static int mail_needs_encoding(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x80)
            return 1;
    return strstr(s, "=?") != NULL;
}

/* Length of the UTF-8 sequence starting at p, never past the end. Bytes that
 * cannot start a sequence count alone: invalid input is passed through, not
 * repaired, but it never makes the splitter read beyond the string. */
static size_t mail_utf8_len(const unsigned char *p)
{
    size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
             : (*p & 0xf8) == 0xf0 ? 4 : 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return i;
    return n;
}

char *channel_header_encode(const char *value)
{
    if (!value)
        value = "";
    if (!mail_needs_encoding(value))
        return str_dup(value);
    sbuf b = {0};
    const unsigned char *p = (const unsigned char *)value;
    while (*p) {
        size_t n = 0, space = 0;
        while (p[n]) {
            size_t l = mail_utf8_len(p + n);
            if (n + l > MAIL_WORD_BYTES)
                break;
            n += l;
            if (p[n - 1] == ' ')
                space = n;
        }
        /* End a word after a space when one is at hand. Compliant readers
         * do not care, but some parsers put a space between adjacent
         * words (CPython before gh-128110 does in display names); that
         * doubles a space instead of splitting a Devanagari conjunct. */
        if (p[n] && space)
            n = space;
        unsigned char enc[4 * ((MAIL_WORD_BYTES + 2) / 3) + 1];
        EVP_EncodeBlock(enc, p, (int)n);
        /* Folding (CRLF + space) between words: libcurl sends a header
         * string as given, and readers drop the whitespace between adjacent
         * encoded words, so the text comes back exactly. */
        sbuf_printf(&b, "%s=?UTF-8?B?%s?=", b.len ? "\r\n " : "", (const char *)enc);
        p += n;
    }
    return sbuf_take(&b);
}

/* An addr-spec we are willing to put in a header and an SMTP envelope:
 * printable ASCII without spaces or the characters that delimit addresses,
 * one '@' with something on both sides. Stricter than RFC 5321 on purpose;
 * no clinic or patient has a quoted local part. */
int mail_address_ok(const char *addr)
{
    if (!addr || !*addr || strlen(addr) > 254)
        return 0;
    const char *at = strchr(addr, '@');
    if (!at || at == addr || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[],;:\"\\", *p))
            return 0;
    return 1;
}

static const char *mail_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at && at[1] ? at + 1 : "localhost";
}

/* "<nudge.<id>.<random>@<domain>>": the id ties a bounce back to its
 * notification, the random part keeps a retried send distinct. */
int mail_message_id(int64_t id, const char *from_addr, char *buf, size_t n)
{
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    char hex[2 * sizeof rnd + 1];
    hex_lower(rnd, sizeof rnd, hex);
    int l = snprintf(buf, n, "<nudge.%lld.%s@%s>", (long long)id, hex, mail_domain(from_addr));
    return l < 0 || (size_t)l >= n ? -1 : 0;
}

/* From's display name: a quoted string when plain ASCII, encoded words
 * otherwise (an encoded word inside quotes is not decoded by readers). */
static void mail_add_mailbox(sbuf *b, const char *name, const char *addr)
{
    char *clean = mail_clean(name);
    if (str_blank(clean)) {
        sbuf_puts(b, addr);
    } else if (mail_needs_encoding(clean)) {
        char *enc = channel_header_encode(clean);
        sbuf_printf(b, "%s <%s>", enc, addr);
        free(enc);
    } else {
        sbuf_puts(b, "\"");
        for (const char *p = clean; *p; p++) {
            if (*p == '"' || *p == '\\')
                sbuf_puts(b, "\\");
            sbuf_add(b, p, 1);
        }
        sbuf_printf(b, "\" <%s>", addr);
    }
    free(clean);
}

/* The message's own header lines, without CRLF, NULL-terminated. Addresses
 * must have passed mail_address_ok. MIME-Version and Content-Type are left
 * to whoever builds the body (libcurl adds them for SMTP). */
char **mail_headers(const channel_msg *m, const char *from_addr, const char *message_id)
{
    char **v = calloc(10, sizeof *v);
    if (!v)
        abort(); /* as util.c: allocation failure is not recoverable here */
    int i = 0;
    sbuf b = {0};

    sbuf_puts(&b, "From: ");
    mail_add_mailbox(&b, m->from_name, from_addr);
    v[i++] = sbuf_take(&b);

    sbuf_printf(&b, "To: %s", m->to);
    v[i++] = sbuf_take(&b);

    char *subject = mail_clean(m->subject);
    char *enc = channel_header_encode(subject);
    sbuf_printf(&b, "Subject: %s", enc);
    v[i++] = sbuf_take(&b);
    free(enc);
    free(subject);

    char date[64];
    tz_format_rfc5322(m->now, date, sizeof date);
    sbuf_printf(&b, "Date: %s", date);
    v[i++] = sbuf_take(&b);

    sbuf_printf(&b, "Message-ID: %s", message_id);
    v[i++] = sbuf_take(&b);

    if (m->reply_to && *m->reply_to) {
        sbuf_printf(&b, "Reply-To: %s", m->reply_to);
        v[i++] = sbuf_take(&b);
    }
    /* RFC 8058: a promotional mail's one-click unsubscribe (the URL is
     * ours, signed, without spaces or line breaks). */
    if (m->unsubscribe && *m->unsubscribe) {
        sbuf_printf(&b, "List-Unsubscribe: <%s>", m->unsubscribe);
        v[i++] = sbuf_take(&b);
        sbuf_puts(&b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
        v[i++] = sbuf_take(&b);
    }
    return v;
}

void mail_headers_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}
