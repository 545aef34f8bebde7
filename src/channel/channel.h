/*
 * channel.h: transports, in the style of curl's TLS backends: each provider
 * is one const `transport` (name, the medium it carries, capability bits,
 * and its operations: create from the configuration, send or start and
 * finish, verify a webhook, free), listed in one table, `transports[]`
 * (transport.c). The handle walks the table to build its transports; the
 * dispatcher hands a rendered message to the one carrying its medium and
 * gets an outcome back, never knowing which provider is behind it. The
 * medium is what the patient receives (sms, whatsapp, email); the
 * transport is who carries it (twilio, msg91, smtp, the outbox, ...).
 * What only one provider needs (WhatsApp's approved template, MSG91's DLT
 * flow, the email's calendar invitation) travels in the message's
 * transport data, a JSON object the queue stores without reading.
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
    /* When the recipient last wrote to us on this medium (0: never);
     * read only for transports with TRANSPORT_INBOUND (WhatsApp's 24-hour
     * window). */
    int64_t last_inbound;
    /* The message's transport data: a JSON object whose members belong to
     * the transports ("whatsapp": the approved template or document,
     * "msg91": the DLT flow, "invite": {method, ics}); NULL for none.
     * Borrowed: the dispatcher owns it. */
    const json_t *data;
    /* Email of a promotional category: its signed one-click unsubscribe
     * URL (List-Unsubscribe, RFC 8058), else NULL. */
    const char *unsubscribe;
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
    /* The provider refuses the recipient until they opt in again (Twilio
     * 21610: they sent STOP to it): recorded as the patient's opt-out. */
    int opted_out;
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

typedef struct channel channel;


enum {
    TRANSPORT_INBOUND = 1 << 0, /* wants channel_msg.last_inbound */
    TRANSPORT_WEBHOOK = 1 << 1, /* its callbacks are verified by verify */
};

typedef struct transport {
    const char *name;   /* outbox smtp twilio ...: the delivery attempts name it */
    const char *medium; /* the medium it carries; NULL: any (the outbox) */
    unsigned caps;      /* TRANSPORT_* */
    /* Builds it from the configuration: 0 with *out NULL when nothing of it
     * is configured; an instance that only verifies webhooks has sends 0. */
    int (*create)(const nudge_config *cfg, channel **out, nudge_err *err);
    /* Synchronous transports: delivers one message. Returns 0 when an
     * outcome was produced (including failures); the outcome says what
     * happened. */
    int (*send)(channel *ch, const channel_msg *m, channel_outcome *out);
    /* Asynchronous transports (send NULL): start prepares x->easy and
     * answers 0, or answers 1 with the outcome already known (a message the
     * provider could never take); finish reads the finished transfer. */
    int (*start)(channel *ch, const channel_msg *m, channel_xfer *x, channel_outcome *out);
    void (*finish)(channel *ch, channel_xfer *x, CURLcode rc, channel_outcome *out);
    /* A callback is the provider's: 0, or -1 with NUDGE_ENOTFOUND (not
     * configured for it) or NUDGE_EDENIED (the signature or secret does not
     * match; err->msg says which, never the secret). */
    int (*verify)(channel *ch, const nudge_webhook *w, nudge_err *err);
    void (*free)(channel *ch);
} transport;

/* One transport built by the handle. */
struct channel {
    const transport *t;
    const char *name; /* t->name, or a registered transport's own */
    void *priv;
    int sends; /* 0: configured only to verify its webhooks */
    /* Set by the dispatcher when the provider refused our credentials: no
     * message goes through this channel before then (they wait, spending
     * no retries). */
    int64_t paused_until;
    /* Registered by name (nudge_channel_register): it carries only what a
     * clinic's channel mapping gives it. */
    int named;
};

/* transport.c: every transport nudge has, in the order the handle prefers
 * them for a medium (MSG91 before Twilio: India's DLT rules). */
extern const transport *const transports[];
/* A new instance of t owning priv (NULL when out of memory). */
channel *channel_new(const transport *t, void *priv, int sends);
/* Wraps an embedder's transport (nudge_transport_register). */
channel *channel_custom_new(const nudge_transport *t, void *ctx, nudge_err *err);
/* The member key of a message's transport data (NULL: none). */
const json_t *channel_data(const channel_msg *m, const char *key);

/* What a JSON-posting channel keeps (WhatsApp, MSG91): its endpoint, the
 * header line that authenticates it (a secret) and its timeout. */
typedef struct channel_post_priv {
    char *url, *auth;
    long timeout_ms;
    char *secret, *token; /* webhooks: WhatsApp's app secret and verify
                           * token; MSG91's shared secret */
} channel_post_priv;
/* A JSON-posting transport built only to verify its webhooks (sends 0):
 * the caller fills the secrets. */
channel *channel_post_listener(const transport *t, nudge_err *err);
/* Frees ch, its channel_post_priv and wipes the secrets. */
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

extern const transport transport_outbox, transport_smtp, transport_twilio, transport_whatsapp,
    transport_msg91;

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
