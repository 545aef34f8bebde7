/*
 * smtp.c: e-mail delivery over SMTP, through libcurl. libcurl speaks the
 * protocol (EHLO, STARTTLS, AUTH, dot-stuffing) and builds the MIME body;
 * this file supplies what libcurl leaves to the caller (From, To, Subject,
 * Date, Message-ID, all from mail.c) and turns libcurl's result and the
 * server's reply code into an outcome the queue can act on:
 *   sent       with our Message-ID as the provider id (SMTP servers have no
 *              id of their own that a client can rely on)
 *   config     the server refused us, not the message (credentials, TLS)
 *   permanent  the server refused the message for good (5xx)
 *   transient  anything else: network, timeouts, 4xx
 *
 * One easy handle lives as long as the channel, so consecutive sends reuse
 * the SMTP connection (curl_easy_reset keeps the connection cache). That
 * makes a channel usable by one thread at a time; each worker owns one.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "channel/channel.h"
#include "channel/mail.h"
#include "util.h"

#define SMTP_CONNECT_TIMEOUT_MS 10000L
#define SMTP_DEFAULT_TIMEOUT_MS 30000L

typedef struct smtp_priv {
    char *url, *from, *user, *password;
    int starttls, insecure;
    long timeout_ms;
    CURL *curl;
} smtp_priv;

/* curl_global_init is not thread-safe and must run once per process; the
 * channel may be created from any thread, so pthread_once guards it. It is
 * never undone: other parts of nudge use libcurl too. */
static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;
static CURLcode smtp_global_rc;

static void smtp_global_init(void)
{
    smtp_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void smtp_fail(channel_outcome *out, enum channel_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void smtp_fail(channel_outcome *out, enum channel_result r, const char *fmt, ...)
{
    out->result = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
}

/* libcurl reports most refusals by the server as CURLE_SEND_ERROR (RCPT,
 * MAIL, DATA) and keeps the server's reply in CURLINFO_RESPONSE_CODE, so the
 * reply code decides wherever the server gave one; libcurl's code decides
 * the rest (connection, TLS, timeouts). */
static enum channel_result smtp_classify(CURLcode rc, long code)
{
    switch (rc) {
    case CURLE_OK:
        return CHANNEL_SENT;
    /* Retrying with the same configuration cannot help: say so, so the
     * queue keeps the message without spending its retries. */
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
        return CHANNEL_CONFIG;
    default:
        break;
    }
    /* 530 authentication required, 534 mechanism too weak, 535 bad
     * credentials, 538 encryption required: about us, not the message. */
    if (code == 530 || code == 534 || code == 535 || code == 538)
        return CHANNEL_CONFIG;
    if (code >= 500 && code <= 599)
        return CHANNEL_PERMANENT;
    return CHANNEL_TRANSIENT;
}

/* The body: a multipart/mixed root (room for an invitation beside the
 * text) holding a multipart/alternative of text then HTML, both UTF-8 in
 * base64 so any byte and line length survives 7-bit relays. */
/* The invitation, attached as invite.ics beside the body. */
static int smtp_invite(curl_mime *root, const channel_msg *m)
{
    const json_t *inv = channel_data(m, "invite");
    const char *ics = json_string_value(json_object_get(inv, "ics"));
    const char *method = json_string_value(json_object_get(inv, "method"));
    if (!ics)
        return 0;
    char type[96];
    snprintf(type, sizeof type, "text/calendar; method=%s; charset=UTF-8",
             method ? method : "REQUEST");
    curl_mimepart *part = curl_mime_addpart(root);
    if (!part || curl_mime_data(part, ics, CURL_ZERO_TERMINATED) != CURLE_OK ||
        curl_mime_type(part, type) != CURLE_OK ||
        curl_mime_filename(part, "invite.ics") != CURLE_OK ||
        curl_mime_encoder(part, "base64") != CURLE_OK)
        return -1;
    return 0;
}

static curl_mime *smtp_mime(CURL *c, const channel_msg *m)
{
    curl_mime *root = curl_mime_init(c);
    if (!root)
        return NULL;
    CURLcode rc = CURLE_OK;
    curl_mimepart *part;
    if (!m->html) {
        part = curl_mime_addpart(root);
        rc = part ? CURLE_OK : CURLE_OUT_OF_MEMORY;
        if (!rc)
            rc = curl_mime_data(part, m->text ? m->text : "", CURL_ZERO_TERMINATED);
        if (!rc)
            rc = curl_mime_type(part, "text/plain; charset=UTF-8");
        if (!rc)
            rc = curl_mime_encoder(part, "base64");
        if (rc || smtp_invite(root, m) < 0) {
            curl_mime_free(root);
            return NULL;
        }
        return root;
    }
    curl_mime *alt = curl_mime_init(c);
    if (!alt) {
        curl_mime_free(root);
        return NULL;
    }
    const char *types[2] = {"text/plain; charset=UTF-8", "text/html; charset=UTF-8"};
    const char *bodies[2] = {m->text ? m->text : "", m->html};
    for (int i = 0; i < 2 && !rc; i++) {
        part = curl_mime_addpart(alt);
        rc = part ? CURLE_OK : CURLE_OUT_OF_MEMORY;
        if (!rc)
            rc = curl_mime_data(part, bodies[i], CURL_ZERO_TERMINATED);
        if (!rc)
            rc = curl_mime_type(part, types[i]);
        if (!rc)
            rc = curl_mime_encoder(part, "base64");
    }
    part = rc ? NULL : curl_mime_addpart(root);
    if (!part || curl_mime_subparts(part, alt) != CURLE_OK) {
        curl_mime_free(alt); /* not yet owned by root */
        curl_mime_free(root);
        return NULL;
    }
    /* alt belongs to root from here on. */
    if (curl_mime_type(part, "multipart/alternative") != CURLE_OK || smtp_invite(root, m) < 0) {
        curl_mime_free(root);
        return NULL;
    }
    return root;
}

/* What one message's transfer holds until it ends: libcurl reads the
 * headers, recipients and MIME tree while it runs. */
typedef struct smtp_state {
    struct curl_slist *headers, *rcpt;
    curl_mime *mime;
    char msgid[192];
    char from[320];
} smtp_state;

static void smtp_state_free(smtp_state *st)
{
    if (!st)
        return;
    curl_mime_free(st->mime);
    curl_slist_free_all(st->headers);
    curl_slist_free_all(st->rcpt);
    free(st);
}

/* Builds the message for m on handle c: 0 ready, 1 outcome already known. */
static int smtp_prepare(smtp_priv *p, CURL *c, const channel_msg *m, channel_xfer *x,
                        channel_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (!mail_address_ok(m->to)) {
        smtp_fail(out, CHANNEL_PERMANENT, "invalid recipient address");
        return 1;
    }
    if (m->reply_to && *m->reply_to && !mail_address_ok(m->reply_to)) {
        smtp_fail(out, CHANNEL_CONFIG, "invalid Reply-To address");
        return 1;
    }
    smtp_state *st = calloc(1, sizeof *st);
    if (!st || mail_message_id(m->id, p->from, st->msgid, sizeof st->msgid) < 0) {
        free(st);
        smtp_fail(out, CHANNEL_TRANSIENT, "smtp: no random bytes for Message-ID");
        return 1;
    }
    snprintf(st->from, sizeof st->from, "<%s>", p->from); /* fits: checked <= 254 */
    char **hv = mail_headers(m, p->from, st->msgid);
    int oom = 0;
    struct curl_slist *t;
    for (char **h = hv; *h && !oom; h++) {
        if ((t = curl_slist_append(st->headers, *h)))
            st->headers = t;
        else
            oom = 1;
    }
    mail_headers_free(hv);
    sbuf b = {0};
    sbuf_printf(&b, "<%s>", m->to);
    if (!oom && !(st->rcpt = curl_slist_append(NULL, b.data)))
        oom = 1;
    sbuf_free(&b);
    if (oom || !(st->mime = smtp_mime(c, m))) {
        smtp_state_free(st);
        smtp_fail(out, CHANNEL_TRANSIENT, "smtp: out of memory building the message");
        return 1;
    }
    CURLcode rc = CURLE_OK;
#define SMTP_SET(opt, val)                                                                    \
    do {                                                                                      \
        if (rc == CURLE_OK)                                                                   \
            rc = curl_easy_setopt(c, opt, val);                                               \
    } while (0)
    SMTP_SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SMTP_SET(CURLOPT_URL, p->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SMTP_SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    SMTP_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    SMTP_SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a threaded daemon */
    SMTP_SET(CURLOPT_CONNECTTIMEOUT_MS, SMTP_CONNECT_TIMEOUT_MS);
    SMTP_SET(CURLOPT_TIMEOUT_MS, p->timeout_ms);
    SMTP_SET(CURLOPT_MAIL_FROM, st->from);
    SMTP_SET(CURLOPT_MAIL_RCPT, st->rcpt);
    SMTP_SET(CURLOPT_HTTPHEADER, st->headers); /* for SMTP: the message's headers */
    SMTP_SET(CURLOPT_MIMEPOST, st->mime);
    if (p->starttls)
        SMTP_SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (p->user) {
        SMTP_SET(CURLOPT_USERNAME, p->user);
        SMTP_SET(CURLOPT_PASSWORD, p->password);
    }
    if (p->insecure) {
        SMTP_SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SMTP_SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
#undef SMTP_SET
    if (rc != CURLE_OK) {
        smtp_state_free(st);
        smtp_fail(out, CHANNEL_TRANSIENT, "smtp: %s", curl_easy_strerror(rc));
        return 1;
    }
    x->easy = c;
    x->state = st;
    return 0;
}

static void smtp_finish(channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out)
{
    (void)ch;
    smtp_state *st = x->state;
    x->state = NULL;
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) {
        out->result = CHANNEL_SENT;
        str_copy(out->provider_id, sizeof out->provider_id, st->msgid);
    } else {
        /* libcurl's message names the step and the reply code; it never
         * holds the password or the body, but may hold the server's own
         * words, cut here on a character boundary. */
        char why[201];
        utf8_clip(why, sizeof why, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        if (code >= 400)
            smtp_fail(out, smtp_classify(rc, code), "smtp: %s (server replied %ld)", why, code);
        else
            smtp_fail(out, smtp_classify(rc, code), "smtp: %s", why);
    }
    smtp_state_free(st);
}

/* On the dispatcher's multi handle: a handle per message; the multi handle
 * keeps and reuses the connections. */
static int smtp_start(channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out)
{
    CURL *c = curl_easy_init();
    if (!c) {
        smtp_fail(out, CHANNEL_TRANSIENT, "smtp: cannot start a transfer");
        return 1;
    }
    int r = smtp_prepare(ch->priv, c, m, x, out);
    if (r)
        curl_easy_cleanup(c);
    return r;
}

/* One message now, on the channel's own handle (connection kept between
 * calls): for callers without a multi handle. */
static int smtp_send(channel *ch, const channel_msg *m, channel_outcome *out)
{
    smtp_priv *p = ch->priv;
    channel_xfer x;
    memset(&x, 0, sizeof x);
    if (smtp_prepare(p, p->curl, m, &x, out))
        return 0;
    CURLcode rc = curl_easy_perform(p->curl);
    smtp_finish(ch, &x, rc, out);
    /* Reset now rather than before the next send: libcurl lets go of the
     * headers, MIME tree and error buffer just freed, and keeps the
     * connection for the next message. */
    curl_easy_reset(p->curl);
    return 0;
}

static void smtp_free(channel *ch)
{
    if (!ch)
        return;
    smtp_priv *p = ch->priv;
    if (p) {
        if (p->curl)
            curl_easy_cleanup(p->curl);
        str_free_secret(p->password);
        free(p->url);
        free(p->from);
        free(p->user);
        free(p);
    }
    free(ch);
}

/* smtp:// or smtps://, and no credentials in the URL: they belong in
 * user/password, where they stay out of error messages and logs. */
static int smtp_url_ok(const char *url)
{
    const char *rest;
    if (!strncasecmp(url, "smtp://", 7))
        rest = url + 7;
    else if (!strncasecmp(url, "smtps://", 8))
        rest = url + 8;
    else
        return 0;
    size_t host = strcspn(rest, "/?#");
    return host > 0 && !memchr(rest, '@', host);
}

channel *channel_smtp_new(const smtp_config *cfg, nudge_err *err)
{
    if (!cfg || str_blank(cfg->url) || !smtp_url_ok(cfg->url)) {
        err_set(err, NUDGE_EINVAL, "smtp_url",
                "SMTP URL must be smtp://host[:port] or smtps://host[:port], without "
                "credentials");
        return NULL;
    }
    if (!mail_address_ok(cfg->from)) {
        err_set(err, NUDGE_EINVAL, "smtp_from", "SMTP From must be a plain address");
        return NULL;
    }
    pthread_once(&smtp_once, smtp_global_init);
    if (smtp_global_rc != CURLE_OK) {
        err_set(err, NUDGE_EIO, NULL, "libcurl initialisation failed: %s",
                curl_easy_strerror(smtp_global_rc));
        return NULL;
    }
    smtp_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_smtp, p, 1) : NULL;
    if (!ch) {
        free(p);
        err_set(err, NUDGE_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    p->curl = curl_easy_init();
    if (!p->curl) {
        smtp_free(ch);
        err_set(err, NUDGE_ENOMEM, NULL, "libcurl could not create a handle");
        return NULL;
    }
    /* Copies: the caller's configuration may be freed after this returns. */
    p->url = str_dup(cfg->url);
    p->from = str_dup(cfg->from);
    if (!str_blank(cfg->user)) {
        p->user = str_dup(cfg->user);
        p->password = str_dup(cfg->password ? cfg->password : "");
    }
    p->starttls = cfg->starttls;
    p->insecure = cfg->insecure;
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : SMTP_DEFAULT_TIMEOUT_MS;
    return ch;
}

static int smtp_create(const nudge_config *cfg, channel **out, nudge_err *err)
{
    *out = NULL;
    if (!cfg->smtp_url || !*cfg->smtp_url)
        return 0;
    if (!cfg->smtp_from || !*cfg->smtp_from)
        return err_set(err, NUDGE_EINVAL, "smtp_from", "SMTP needs a From address");
    smtp_config sc = {
        .url = cfg->smtp_url,
        .from = cfg->smtp_from,
        .user = cfg->smtp_user,
        .password = cfg->smtp_password,
        .starttls = cfg->smtp_starttls,
        .insecure = cfg->smtp_insecure,
    };
    return (*out = channel_smtp_new(&sc, err)) ? 0 : -1;
}

const transport transport_smtp = {
    .name = "smtp",
    .medium = "email",
    .create = smtp_create,
    .send = smtp_send,
    .start = smtp_start,
    .finish = smtp_finish,
    .free = smtp_free,
};
