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
    int held;            /* a tick is running: its instant is held_at */
    int64_t held_at;
    char actor[64];      /* who is acting, for the audit log */
    char worker_id[64];  /* lease owner: host:pid:process.handle (nudge.c) */
    int lease_seconds;
    int batch_size;
    /* Every transport built: the table's that the configuration names, in
     * its order, then those registered through the C API. */
    channel *chans[16];
    int nchans;
    /* Who carries each medium: the first transport built for it, the
     * outbox otherwise; a registered one takes its medium over. */
    struct {
        const char *medium;
        channel *ch;
    } carrier[3];
    CURLM *multi;        /* every asynchronous send of this handle */
    int max_in_flight;
    volatile int *stop;  /* set: finish the batch in hand, then return */
    nudge_sent_fn on_sent;
    void *on_sent_ctx;
    struct task_fns *task_fns; /* task.c: functions registered by the embedder */
    char *backup_dir, *backup_key;
    int backup_keep;
};


/* clock.c: the time every module reads. A tick holds one instant for its
 * whole pass (clock_hold returns it; clock_release lets time run again). */
int64_t clock_now(nudge *n);
int64_t clock_hold(nudge *n);
void clock_release(nudge *n);

/* event.c: the transactional outbox. Must be called inside the caller's
 * transaction; payload is stolen. */
int event_emit(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id,
               json_t *payload, nudge_err *err);
/* How many events of a type a clinic had since a time whose payload has
 * key = value (an alert sent once an hour, not once a message). */
int event_count_since(nudge *n, int64_t clinic_id, const char *type, int64_t since,
                      const char *key, const char *value, int64_t *count, nudge_err *err);

/* audit.c: append-only log of every change and every message sent. */
int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err);

/* clinic.c */
int clinic_parse_offsets(const char *s, int *offs, int *n, nudge_err *err);

/* reminder.c: plans for an appointment; all inside the caller's transaction.
 * plan (may be NULL) gets what was planned and what was skipped. */
int reminder_plan_appointment(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                              int confirmation, nudge_plan *plan, nudge_err *err);
int reminder_plan_one(nudge *n, const nudge_appointment *a, const char *kind,
                      const char *template_name, int64_t due_at, int64_t expires_at,
                      nudge_err *err);
/* A plan not made from a visit's offsets (a medication dose, a recall...):
 * appointment_id, expires_at, subject and detail may be 0/NULL. */
typedef struct reminder_spec {
    int64_t clinic_id, patient_id, appointment_id;
    const char *kind, *template_name, *subject, *detail;
    /* Set: this (subject, occurrence) is planned at most once; a second
     * plan is quietly not made (a scan run twice). */
    const char *occurrence;
    const char *channels; /* "sms,email": one delivery each; NULL: the route's one */
    int64_t due_at, expires_at;
} reminder_spec;
/* Checks and normalises the channels a plan goes on: "" (the patient's
 * route), "both" (sms,email) or a list of distinct sms, whatsapp, email;
 * errors name field. out >= 24 bytes. */
int reminder_channels(const char *in, char *out, size_t n, const char *field, nudge_err *err);
/* A scan's batch: step on each of count items (size bytes apart), each in
 * its own transaction, so one failure loses nothing already done. */
int reminder_each(nudge *n, const void *items, size_t size, int count, int64_t now,
                  int (*step)(nudge *n, const void *item, int64_t now, nudge_err *err),
                  nudge_err *err);
/* Whether the patient can be reached on every channel listed. */
int reminder_channels_reach(const nudge_patient *p, const char *channels, const char *field,
                            nudge_err *err);
/* 1 planned (*id, may be NULL), 0 that occurrence was planned before, -1. */
int reminder_plan(nudge *n, const reminder_spec *rs, int64_t *id, nudge_err *err);
/* Dates as YYYY-MM-DD (tz.h's tz_local, noon): parse (-1: not a real
 * date) and the text of the date `days` after l. */
struct tz_local;
int reminder_date_parse(const char *s, struct tz_local *l);
void reminder_date_text(const struct tz_local *l, int days, char *buf, size_t n);
/* The patient's zone, else the clinic's. */
const char *reminder_zone(const nudge_clinic *c, const nudge_patient *p);
/* The instant of the patient's preferred time of day (else 10:00) on the
 * local date `days` after day, in their zone: what every plan not tied to
 * a visit's time is sent at. */
#define REMINDER_DEFAULT_TIME (10 * 60)
int64_t reminder_local_at(const nudge_clinic *c, const nudge_patient *p,
                          const struct tz_local *day, int days);
/* Cancels the planned reminders of a clinic's patient (0: any) about a
 * subject (NULL or "": any), and the still-pending messages of those
 * recently enqueued; *count (may be NULL) gets how many plans. Inside the
 * caller's transaction. */
int reminder_cancel_where(nudge *n, int64_t clinic_id, int64_t patient_id, const char *subject,
                          const char *why, int *count, nudge_err *err);
/* Cancels planned reminders and pending notifications of an appointment. */
int reminder_cancel_appointment(nudge *n, int64_t clinic_id, int64_t appointment_id,
                                const char *why, nudge_err *err);
/* Up to max plans due at now, oldest first: the count, or -1. */
int reminder_due(nudge *n, int64_t now, nudge_reminder *batch, int max, nudge_err *err);
/* A plan's outcome: enqueued (with its notification), expired or failed. */
int reminder_mark(nudge *n, int64_t clinic_id, int64_t id, const char *status,
                  int64_t notification_id, const char *note, nudge_err *err);
/* Age of the oldest due plan not yet enqueued (0: none). */
int reminder_lag(nudge *n, int64_t now, int64_t *lag, nudge_err *err);

/* prescription.c: the variables of a medication dose (medication, dosage,
 * timing) from the prescription items named in detail ("3,4"). */
int prescription_dose_vars(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                           const nudge_reminder *rm, nudge_vars *v, nudge_err *err);

/* recall.c: a completed visit makes recalls from its clinic's rules; a
 * booking holds the patient's open recalls, its cancellation resumes
 * them. In the appointment's transaction. */
int recall_on_complete(nudge *n, const nudge_clinic *c, const nudge_appointment *a,
                       nudge_err *err);
int recall_on_booking(nudge *n, const nudge_appointment *a, nudge_err *err);
int recall_on_cancel(nudge *n, const nudge_appointment *a, nudge_err *err);

/* The periodic scans (recalls near due, birthdays, lab reminders): each
 * self-contained and idempotent (a scan run twice at one instant plans
 * nothing twice), run by the tick once per slot (nudge.c). */
int recall_scan(nudge *n, int64_t now, nudge_err *err);
int birthday_scan(nudge *n, int64_t now, nudge_err *err);
int lab_scan(nudge *n, int64_t now, nudge_err *err);

/* appointment.c: a patient's next active visit after now: 1 found, 0 none. */
int appointment_next(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t now, int64_t *id,
                     int64_t *start_at, nudge_err *err);

/* patient.c */
int patient_visited(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t at, nudge_err *err);
/* Ids of the patients with this E.164 number, newest first: count or -1. */
int patient_by_phone(nudge *n, const char *phone, int64_t *ids, int64_t *clinics, int max,
                     nudge_err *err);
/* Patients born on "MM-DD" (any year) with id > after_id, by id, up to
 * max, across every clinic: count or -1. */
int patient_born_on(nudge *n, const char *mmdd, int64_t after_id, int64_t *ids,
                    int64_t *clinics, int max, nudge_err *err);
int patient_set_consent(nudge *n, const nudge_patient *p, const char *channel, int stop,
                        const char *message, const char *provider_id, nudge_err *err);
/* A provider refused message m because its recipient opted out with the
 * provider (Twilio 21610): the patient's opt-out of m's channel, with why
 * as proof, in its own transaction; nothing when already recorded or when
 * the patient's number is no longer m's recipient. */
int patient_provider_opt_out(nudge *n, const nudge_notification *m, const char *why,
                             nudge_err *err);

/* ticket.c: files an inbound message on the patient's open ticket, or
 * opens one (*opened = 1). */
int ticket_file(nudge *n, const nudge_patient *p, const char *channel, const char *text,
                const char *provider_id, const char *subject, int64_t *ticket, int *opened,
                nudge_err *err);

/* reply.c: when the patient last wrote from number on channel (0: never). */
int reply_last_inbound(nudge *n, const char *channel, const char *number, int64_t *at,
                       nudge_err *err);

/* tmpl_store.c: what the providers' mappings add to a message's transport
 * data on a medium (WhatsApp's approved template, MSG91's DLT flow). */
int tmpl_transport_data(nudge *n, int64_t clinic_id, const nudge_template *t, const char *medium,
                        const nudge_vars *v, json_t *data, nudge_err *err);

/* tmpl_store.c: variables every message about a patient may use. */
/* tmpl_store.c: the action (confirm, cancel, reschedule) the clinic
 * mapped to a WhatsApp quick-reply payload, in its mapping of
 * (template_name, language) when the message answered is known (else
 * NULL: in any of its mappings); "" when none. */
int tmpl_wa_button_action(nudge *n, int64_t clinic_id, const char *template_name,
                          const char *language, const char *payload, char *action, size_t size,
                          nudge_err *err);
void tmpl_patient_vars(const nudge_clinic *c, const nudge_patient *p, const nudge_appointment *a,
                       nudge_vars *v);

/* queue.c */
typedef struct queue_item {
    int64_t clinic_id, patient_id, appointment_id, reminder_id;
    const char *channel, *recipient, *template_name, *language, *category;
    const char *subject, *body, *html;
    int priority, max_retries;
    int64_t due_at, expires_at;
    const char *dedupe_key;
    /* What the transports need, a JSON object the queue stores without
     * reading ("whatsapp", "msg91", "invite" members), or NULL. */
    const char *transport_data;
    int64_t fallback_of;
} queue_item;
/* Inserts; a duplicate dedupe key is not an error: *id gets the existing row
 * and *created 0. */
int queue_insert(nudge *n, const queue_item *it, int64_t *id, int *created, nudge_err *err);
/* The one builder of a queued item: routes the patient (want: a channel
 * asked for, or NULL), renders the template in their language with vars
 * and the patient's (and visit's, a may be NULL) variables, and adds what
 * the provider will need. q owns the strings q->it points to; the caller
 * sets priority, due time, expiry, dedupe key and reminder. */
typedef struct queue_msg {
    queue_item it;
    nudge_template t;
    nudge_rendered r;
    json_t *data;    /* the transport data, as built */
    char *data_text; /* ... and as stored: it.transport_data */
} queue_msg;
int queue_build(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                const nudge_appointment *a, const char *template_name, const char *want,
                const nudge_vars *vars, queue_msg *q, nudge_err *err);
/* Attaches the visit's calendar invitation (ics.h's ICS_REQUEST or
 * ICS_CANCEL) to an email. */
int queue_build_invite(queue_msg *q, const nudge_clinic *c, const nudge_appointment *a,
                       const nudge_patient *p, int method, int sequence, int64_t now,
                       nudge_err *err);
void queue_msg_free(queue_msg *q);
/* Cancels a plan's message if it is still pending. */
int queue_cancel_reminder(nudge *n, int64_t clinic_id, int64_t reminder_id, const char *why,
                          nudge_err *err);
/* Cancels the appointment's messages not yet handed to a provider. */
int queue_cancel_appointment(nudge *n, int64_t clinic_id, int64_t appointment_id, const char *why,
                             nudge_err *err);
/* Whether a message of the appointment that reached the patient has
 * value at path of its transport data (the caller's: the queue does not
 * interpret it). */
int queue_sent_with(nudge *n, int64_t clinic_id, int64_t appointment_id, const char *path,
                    const char *value, int *sent, nudge_err *err);
/* A message's transport data (caller frees; NULL: none). */
int queue_transport_data(nudge *n, int64_t clinic_id, int64_t id, char **data, nudge_err *err);
/* The message a provider knows by provider_id (a patient's answer names
 * it): 1 found (the caller frees *m), 0 none. */
int queue_by_provider_id(nudge *n, const char *provider_id, nudge_notification *m,
                         nudge_err *err);
/* Chooses the channel and recipient for a patient. */
int queue_route(const nudge_clinic *c, const nudge_patient *p, const char *want,
                const char **channel, const char **recipient, nudge_err *err);
/* Claims up to `max` due notifications under a lease, honouring each
 * clinic's per-channel rate limit. Returns the count, ids in ids[]. */
int queue_claim(nudge *n, int64_t *ids, int max, nudge_err *err);
/* Gives back rows whose lease ran out and cancels what expired unsent;
 * a periodic job (nudge.c), run once per instant across all workers. */
int queue_reap(nudge *n, int *reaped, nudge_err *err);
/* The hand-off: marks claimed rows as handed to their provider (handed_at)
 * in one commit, before any of them is sent; handed[i] 1, or -1 when the
 * lease was lost meanwhile (then it must not be sent). */
int queue_handoff(nudge *n, const int64_t *ids, int count, signed char *handed, nudge_err *err);
/* Gives back claimed rows never handed off (a worker stopping). */
int queue_unclaim(nudge *n, const int64_t *ids, int count, nudge_err *err);
/* Gives back at once the rows of dead workers of this host: those never
 * handed off as they were, the others as a recorded lost attempt. */
int queue_release_dead(nudge *n, int *released, nudge_err *err);
/* Waits up to timeout_ms for work enqueued or come due (1 woken, 0 not). */
int queue_wait(nudge *n, int timeout_ms, nudge_err *err);
int queue_load(nudge *n, int64_t id, nudge_notification *m, nudge_err *err);
/* Records the outcome of one attempt and moves the row on. */
int queue_record(nudge *n, const nudge_notification *m, const char *transport,
                 const channel_outcome *o, int *retried, nudge_err *err);
int queue_defer(nudge *n, int64_t clinic_id, int64_t id, int64_t until, const char *why,
                nudge_err *err);
int queue_drop(nudge *n, const nudge_notification *m, const char *status, const char *why,
               nudge_err *err);
/* A WhatsApp message that failed (or was not delivered in time) goes once
 * more by SMS, as the same logical message, when its clinic allows. */
int queue_fallback(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* WhatsApp messages sent but not delivered by their clinic's deadline go
 * by SMS too (once per tick). */
int queue_fallback_overdue(nudge *n, int64_t now, nudge_err *err);

/* nudge.c: runs fn once for (job, slot) across every worker sharing the
 * store: the first to insert the periodic_runs row runs it, in the same
 * transaction (a failed run leaves the slot to another worker). *ran says
 * whether this call ran it. */
int periodic_once(nudge *n, const char *job, int64_t slot,
                  int (*fn)(nudge *n, void *ctx, nudge_err *err), void *ctx, int *ran,
                  nudge_err *err);

/* task.c: the scheduler's pass of a tick, and its registry's end. */
int task_tick(nudge *n, int64_t now, int *ran, nudge_err *err);
void task_fns_free(nudge *n);
/* The default tasks of a new clinic, and the installation's if missing
 * (scans, backup paused, the clinic's purge); in the caller's transaction. */
int task_defaults(nudge *n, int64_t clinic_id, nudge_err *err);

/* queue.c: deletes a clinic's delivered (and read) messages last changed
 * before `before`, with their attempts and events (clinic 0: every
 * clinic's); *deleted gets the count. For the purge task. */
int queue_purge_delivered(nudge *n, int64_t clinic_id, int64_t before, int64_t *deleted,
                          nudge_err *err);

/* backup.c: the backup task's function (args: dir, keep, encrypt). */
int backup_task(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err);

/* planner.c / dispatch.c: the two halves of a tick, at the tick's now. */
int planner_run(nudge *n, int64_t now, nudge_tick_stats *st, nudge_err *err);
int dispatch_run(nudge *n, int64_t now, nudge_tick_stats *st, nudge_err *err);

/* Minute of the local day at t in tz, for quiet hours. */
int quiet_contains(int start, int end, int minute);

#endif
