/*
 * channel.h: the interface every delivery transport implements, in the style
 * of OpenSMTPD's backends: a struct of function pointers. The dispatcher
 * hands a rendered message to a transport and gets an outcome back; it
 * never knows which provider is behind it. `outbox` writes files (the
 * default when nothing is configured); `smtp` speaks SMTP through libcurl.
 */
#ifndef NUDGE_CHANNEL_H
#define NUDGE_CHANNEL_H

#include <stdint.h>

#include "nudge.h"

typedef struct channel_msg {
    int64_t id;              /* notification id, unique per store */
    int64_t clinic_id;
    const char *channel;     /* email sms whatsapp */
    const char *to;          /* email address or E.164 */
    const char *from_name;   /* the clinic's name, for display */
    const char *reply_to;    /* the clinic's email, may be NULL */
    const char *subject;     /* email only */
    const char *text;        /* SMS/WhatsApp body or email text part */
    const char *html;        /* email only, may be NULL */
    const char *language;
    const char *template_name;
    int64_t now;             /* for Date headers: from the clock */
} channel_msg;

enum channel_result {
    CHANNEL_SENT = 0,
    CHANNEL_TRANSIENT, /* try again later (network, 4xx/5xx temporary) */
    CHANNEL_PERMANENT, /* will never work (bad address, refused recipient) */
    CHANNEL_CONFIG,    /* our configuration is wrong (credentials) */
};

typedef struct channel_outcome {
    enum channel_result result;
    char provider_id[128]; /* id the provider gave the message, if any */
    char detail[256];      /* reason for failure: no secrets, no body */
    int retry_after;       /* seconds the provider asked us to wait, 0 none */
} channel_outcome;

typedef struct channel {
    const char *name; /* outbox smtp ... */
    /* Delivers one message. Returns 0 when an outcome was produced (including
     * failures); the outcome says what happened. */
    int (*send)(struct channel *ch, const channel_msg *m, channel_outcome *out);
    void (*free)(struct channel *ch);
    void *priv;
} channel;

channel *channel_outbox_new(const char *dir, nudge_err *err);

typedef struct smtp_config {
    const char *url;      /* smtp://127.0.0.1:2525 or smtps://... */
    const char *from;     /* envelope sender and From address */
    const char *user, *password; /* AUTH when user is set */
    int starttls;         /* require STARTTLS */
    int insecure;         /* do not verify the server certificate */
    long timeout_ms;      /* whole transfer; 0: 30 s */
} smtp_config;
channel *channel_smtp_new(const smtp_config *cfg, nudge_err *err);

/* Builds the RFC 2047 encoded-word form of a header value when it is not
 * plain ASCII ("=?UTF-8?B?...?=" words of at most 75 characters, never
 * splitting a UTF-8 sequence); ASCII is returned as is. Caller frees. */
char *channel_header_encode(const char *value);

#endif
