/*
 * core.h: the inside of a `nudge` handle and the internal calls the domain
 * modules make of each other. Not installed; include/nudge.h is the public
 * face.
 */
#ifndef NUDGE_CORE_H
#define NUDGE_CORE_H

#include <jansson.h>

#include "channel/channel.h"
#include "nudge.h"
#include "store/store.h"

struct nudge {
    store *db;
    nudge_clock *clock;
    nudge_clock sysclock;
    char actor[64];      /* who is acting, for the audit log */
    char worker_id[64];  /* lease owner: host:pid:random */
    int lease_seconds;
    int batch_size;
    channel *outbox;     /* always there: the default transport */
    channel *email;      /* smtp when configured, else outbox */
    channel *sms;        /* twilio when configured, else outbox */
    channel *whatsapp;   /* the Cloud API when configured, else outbox */
    char *wa_app_secret, *wa_verify_token; /* for its webhooks */
    char *msg91_secret;  /* MSG91's delivery reports carry it */
    CURLM *multi;        /* every asynchronous send of this handle */
    int max_in_flight;
    char *twilio_token;  /* for webhook signatures; NULL without Twilio */
    char *public_url;
    volatile int *stop;  /* set: finish the batch in hand, then return */
    nudge_sent_fn on_sent;
    void *on_sent_ctx;
};


/* event.c: the transactional outbox. Must be called inside the caller's
 * transaction; payload is stolen. */
int event_emit(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id,
               json_t *payload, nudge_err *err);

/* audit.c: append-only log of every change and every message sent. */
int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err);

/* clinic.c */
int clinic_parse_offsets(const char *s, int *offs, int *n, nudge_err *err);

/* reminder.c: plans for an appointment; all inside the caller's transaction. */
int reminder_plan_appointment(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                              int confirmation, nudge_err *err);
int reminder_plan_one(nudge *n, const nudge_appointment *a, const char *kind,
                      const char *template_name, int64_t due_at, int64_t expires_at,
                      nudge_err *err);
/* Cancels planned reminders and pending notifications of an appointment. */
int reminder_cancel_appointment(nudge *n, int64_t appointment_id, const char *why,
                                nudge_err *err);

/* tmpl_store.c: the approved WhatsApp template for a message, filled:
 * *json NULL when the clinic mapped none (caller frees). */
int tmpl_wa_template(nudge *n, int64_t clinic_id, const char *template_name, const char *language,
                     const nudge_vars *v, char **json, nudge_err *err);

int tmpl_msg91_flow(nudge *n, int64_t clinic_id, const char *template_name, const char *language,
                    const nudge_vars *v, char **json, nudge_err *err);

/* tmpl_store.c: variables every message about a patient may use. */
int tmpl_patient_vars(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                      const nudge_appointment *a, nudge_vars *v, nudge_err *err);

/* queue.c */
typedef struct queue_item {
    int64_t clinic_id, patient_id, appointment_id, reminder_id;
    const char *channel, *recipient, *template_name, *language, *category;
    const char *subject, *body, *html;
    int priority, max_retries;
    int64_t due_at, expires_at;
    const char *dedupe_key;
    const char *wa_template; /* JSON {name, language, params[]} or NULL */
    const char *ics, *ics_method; /* email: the invitation, or NULL */
    const char *msg91_flow;       /* sms: {template_id, vars{}} when mapped */
    int64_t fallback_of;
} queue_item;
/* Inserts; a duplicate dedupe key is not an error: *id gets the existing row
 * and *created 0. */
int queue_insert(nudge *n, const queue_item *it, int64_t *id, int *created, nudge_err *err);
/* Chooses the channel and recipient for a patient. */
int queue_route(const nudge_clinic *c, const nudge_patient *p, const char *want,
                const char **channel, const char **recipient, nudge_err *err);
/* Claims up to `max` due notifications under a lease, honouring each
 * clinic's per-channel rate limit. Returns the count, ids in ids[]. */
int queue_claim(nudge *n, int64_t *ids, int max, nudge_err *err);
int queue_reap(nudge *n, int *reaped, nudge_err *err);
int queue_load(nudge *n, int64_t id, nudge_notification *m, nudge_err *err);
/* Records the outcome of one attempt and moves the row on. */
int queue_record(nudge *n, const nudge_notification *m, const char *transport,
                 const channel_outcome *o, int *retried, nudge_err *err);
int queue_defer(nudge *n, int64_t id, int64_t until, const char *why, nudge_err *err);
int queue_drop(nudge *n, const nudge_notification *m, const char *status, const char *why,
               nudge_err *err);
/* A WhatsApp message that failed (or was not delivered in time) goes once
 * more by SMS, as the same logical message, when its clinic allows. */
int queue_fallback(nudge *n, int64_t id, nudge_err *err);
/* scheduler.c: WhatsApp messages sent but not delivered in time. */
int sched_fallbacks(nudge *n, nudge_err *err);

/* scheduler.c / dispatch.c */
int sched_run(nudge *n, nudge_tick_stats *st, nudge_err *err);
int dispatch_run(nudge *n, nudge_tick_stats *st, nudge_err *err);

/* Minute of the local day at t in tz, for quiet hours. */
int quiet_contains(int start, int end, int minute);

#endif
