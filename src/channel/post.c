/*
 * post.c: the one HTTP POST every provider channel makes (WhatsApp and
 * MSG91 with JSON, Twilio with a form): a fresh easy handle for the
 * dispatcher's multi handle, carrying its body and headers until the
 * transfer ends, and the timeouts and protocols all of them want.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "util.h"

typedef struct post_state {
    char *body;
    struct curl_slist *headers;
    void *extra; /* the channel's own, freed with the transfer */
} post_state;

int channel_post_begin(channel_xfer *x, const char *url, char *body, size_t len,
                       struct curl_slist *headers, long timeout_ms)
{
    post_state *st = calloc(1, sizeof *st);
    CURL *c = curl_easy_init();
    if (!st || !c) {
        free(st);
        curl_easy_cleanup(c);
        free(body);
        curl_slist_free_all(headers);
        return -1;
    }
    st->body = body;
    st->headers = headers;
    x->state = st;
    x->easy = c;
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    return 0;
}

void channel_post_end(channel_xfer *x)
{
    post_state *st = x->state;
    x->state = NULL;
    if (!st)
        return;
    free(st->body);
    curl_slist_free_all(st->headers);
    free(st);
}

int channel_post_json(channel_xfer *x, const char *url, json_t *body, const char *header,
                      long timeout_ms)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return -1;
    /* libcurl would label a POST body as a form: say JSON explicitly. */
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, header);
    return channel_post_begin(x, url, text, strlen(text), h, timeout_ms);
}

int channel_post_failed(const channel_xfer *x, CURLcode rc, const char *who,
                        channel_outcome *out)
{
    if (rc == CURLE_OK)
        return 0;
    if (x->body.over) {
        out->result = CHANNEL_PERMANENT;
        snprintf(out->detail, sizeof out->detail, "%s: the answer is larger than %zu bytes", who,
                 x->body.max);
        return 1;
    }
    out->result = CHANNEL_TRANSIENT;
    char m[201];
    snprintf(out->detail, sizeof out->detail, "%s: %s", who,
             utf8_clip(m, sizeof m, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)));
    return 1;
}

channel *channel_post_listener(const transport *t, nudge_err *err)
{
    channel_post_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(t, p, 0) : NULL;
    if (!ch) {
        free(p);
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    return ch;
}

void channel_post_free(channel *ch)
{
    if (!ch)
        return;
    channel_post_priv *p = ch->priv;
    if (p) {
        str_free_secret(p->auth);
        str_free_secret(p->secret);
        str_free_secret(p->token);
        free(p->url);
        free(p);
    }
    free(ch);
}
