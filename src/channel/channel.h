/*
 * channel.h: the interface every delivery transport implements, in the style
 * of OpenSMTPD's backends: a struct of function pointers. The dispatcher
 * hands a rendered message to a transport and gets an outcome back; it
 * never knows which provider is behind it. `outbox` writes files (the
 * default when nothing is configured); `smtp` speaks SMTP through libcurl.
 */
#ifndef NUDGE_CHANNEL_H
#define NUDGE_CHANNEL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>

#include "nudge.h"
#include "util.h"

typedef struct channel_msg {
    int64_t id;              /* notification id, unique per store */
    int64_t clinic_id;
    const char *channel;     /* email sms whatsapp */
    const char *to;          /* email address or E.164 */
    const char *from_name;   /* the clinic's name, for display */
    const char *sender;      /* SMS: the clinic's own sender (E.164 or MG...), or NULL */
    const char *reply_to;    /* the clinic's email, may be NULL */
    const char *subject;     /* email only */
    const char *text;        /* SMS/WhatsApp body or email text part */
    const char *html;        /* email only, may be NULL */
    const char *language;
    const char *template_name;
    int64_t now;             /* for Date headers: from the clock */
    /* WhatsApp: whether the patient wrote in the last 24 hours (free-form
     * messages allowed), and the approved template to use otherwise:
     * JSON {name, language, params[]} or NULL when none is mapped. */
    int wa_window;
    const char *wa_template;
    /* Email: an iCalendar invitation to attach as invite.ics, and its
     * METHOD (REQUEST or CANCEL); NULL for none. */
    const char *ics;
    const char *ics_method;
    /* SMS by MSG91: {template_id, vars{}} of the DLT template, or NULL. */
    const char *msg91_flow;
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

/* A transfer in flight on the dispatcher's curl multi handle. The channel
 * fills easy (and state) in start; the dispatcher collects the answer's
 * body and Retry-After and hands the finished transfer to finish. */
/* The most of a provider's answer the dispatcher keeps (1 MiB): their
 * answers are a few hundred bytes; more is not an answer we can read. */
#define CHANNEL_ANSWER_MAX ((size_t)1 << 20)

typedef struct channel_xfer {
    CURL *easy;
    sbuf body;          /* the answer's body, collected by the dispatcher */
    long retry_after;   /* seconds, from a Retry-After header; 0 none */
    void *state;        /* the channel's own; freed by its finish */
    char errbuf[CURL_ERROR_SIZE];
} channel_xfer;

typedef struct channel {
    const char *name; /* outbox smtp twilio ... */
    /* Synchronous channels: delivers one message. Returns 0 when an outcome
     * was produced (including failures); the outcome says what happened. */
    int (*send)(struct channel *ch, const channel_msg *m, channel_outcome *out);
    /* Asynchronous channels (send NULL): start prepares x->easy and answers
     * 0, or answers 1 with the outcome already known (a message the
     * provider could never take); finish reads the finished transfer. */
    int (*start)(struct channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out);
    void (*finish)(struct channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out);
    void (*free)(struct channel *ch);
    void *priv;
    /* Set by the dispatcher when the provider refused our credentials: no
     * message goes through this channel before then (they wait, spending
     * no retries). */
    int64_t paused_until;
} channel;

/* What a JSON-posting channel keeps (WhatsApp, MSG91): its endpoint, the
 * header line that authenticates it (a secret) and its timeout. */
typedef struct channel_post_priv {
    char *url, *auth;
    long timeout_ms;
} channel_post_priv;
/* Frees ch, its channel_post_priv and wipes the secret. */
void channel_post_free(channel *ch);

/* post.c: an HTTP POST for the multi handle. Takes body (len bytes) and
 * headers; they live in x->state until channel_post_end. -1 when out of
 * memory (and both are freed). */
int channel_post_begin(channel_xfer *x, const char *url, char *body, size_t len,
                       struct curl_slist *headers, long timeout_ms);
void channel_post_end(channel_xfer *x);
/* A JSON POST: body is taken (and released), header is one more line
 * such as "Authorization: Bearer ...". */
int channel_post_json(channel_xfer *x, const char *url, json_t *body, const char *header,
                      long timeout_ms);
/* A transfer that failed below HTTP (connect, timeout, reset): transient,
 * with libcurl's reason. An answer past CHANNEL_ANSWER_MAX is permanent:
 * it cannot be read, so whether the provider took the message is unknown,
 * and sending it again could send it twice. Returns 1 then, 0 when there
 * is an answer to read. */
int channel_post_failed(const channel_xfer *x, CURLcode rc, const char *who,
                        channel_outcome *out);

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

typedef struct twilio_config {
    const char *base_url;    /* https://api.twilio.com; a local fake in tests */
    const char *account_sid; /* AC... */
    const char *auth_token;  /* never logged */
    const char *from;        /* E.164 sender, or: */
    const char *messaging_service_sid; /* MG... */
    const char *status_callback; /* public URL of /webhooks/twilio/status, or NULL */
    long timeout_ms;         /* whole transfer; 0: 30 s */
} twilio_config;
channel *channel_twilio_new(const twilio_config *cfg, nudge_err *err);

typedef struct whatsapp_config {
    const char *base_url;        /* https://graph.facebook.com; a local fake in tests */
    const char *version;         /* v23.0 */
    const char *phone_number_id; /* the sending number's id */
    const char *token;           /* Bearer access token; never logged */
    long timeout_ms;
} whatsapp_config;
channel *channel_whatsapp_new(const whatsapp_config *cfg, nudge_err *err);

typedef struct msg91_config {
    const char *base_url; /* https://control.msg91.com; a local fake in tests */
    const char *authkey;  /* never logged */
    long timeout_ms;
} msg91_config;
channel *channel_msg91_new(const msg91_config *cfg, nudge_err *err);

/* Builds the RFC 2047 encoded-word form of a header value when it is not
 * plain ASCII ("=?UTF-8?B?...?=" words of at most 75 characters, never
 * splitting a UTF-8 sequence); ASCII is returned as is. Caller frees. */
char *channel_header_encode(const char *value);

#endif
