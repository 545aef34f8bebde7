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
    struct wf_custom *wf_custom; /* workflow.c: custom steps registered here */
    char *public_url, *unsubscribe_secret; /* consent.c: one-click unsubscribe links */
    struct committer *commit; /* commit.c: this database's group committer (SQLite) */
    int commit_coming;        /* commit.c: counted among the writes on their way */
    struct commit_async *async; /* commit.c: answers of this handle's submitted writes */
    struct tmpl_cache *tmpl_cache; /* tmpl_store.c: the single enqueue's templates */
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
/* The same, and *id (may be NULL) gets the event's id. */
int event_emit_id(nudge *n, int64_t clinic_id, const char *type, int64_t subject_id,
                  json_t *payload, int64_t *id, nudge_err *err);
/* One event as the workflow engine reads it; payload is the caller's to
 * free. */
typedef struct event_row {
    int64_t id, clinic_id, subject_id, created_at;
    char type[64];
    char *payload;
    int processed;
} event_row;
int event_get(nudge *n, int64_t clinic_id, int64_t id, event_row *ev, nudge_err *err);
/* Up to max events not yet consumed, oldest first (across clinics): the
 * count, or -1. */
int event_unprocessed(nudge *n, int64_t *clinics, int64_t *ids, int max, nudge_err *err);
int event_mark_processed(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* How many distinct subjects had an event of type in [from, to). */
int event_count_range(nudge *n, int64_t clinic_id, const char *type, int64_t from, int64_t to,
                      int64_t *count, nudge_err *err);
/* How many events of a type a clinic had since a time whose payload has
 * key = value (an alert sent once an hour, not once a message). */
int event_count_since(nudge *n, int64_t clinic_id, const char *type, int64_t since,
                      const char *key, const char *value, int64_t *count, nudge_err *err);

/* audit.c: append-only log of every change and every message sent.
 * audit_chain_key: the lock key of a clinic's chain (0: the rows of no
 * clinic), held from the read of the chain's head to the commit. */
int64_t audit_chain_key(int64_t clinic_id);
int audit_add(nudge *n, int64_t clinic_id, const char *action, const char *entity,
              int64_t entity_id, const char *detail, nudge_err *err);
/* count rows of one clinic's chain at once (entity_ids[i], details[i];
 * details NULL: none), chained exactly as count audit_add calls in order
 * would chain them, with one read of the chain's head (a batch's). */
int audit_add_rows(nudge *n, int64_t clinic_id, const char *action, const char *entity,
                   const int64_t *entity_ids, const char *const *details, size_t count,
                   nudge_err *err);
/* Lines of any clinics and actions (a batch of send records'), each
 * clinic's chained exactly as audit_add calls in their order would chain
 * them, one head read and a few multi-row statements per clinic. */
typedef struct audit_line {
    int64_t clinic_id;
    const char *action, *entity;
    int64_t entity_id;
    const char *detail;
} audit_line;
int audit_add_lines(nudge *n, const audit_line *lines, size_t count, nudge_err *err);

/* clinic.c */
int clinic_parse_offsets(const char *s, int *offs, int *n, nudge_err *err);
/* The clinic as an enqueue reads it, and the version of its templates and
 * provider mappings (what tmpl_cache_get holds a cached template to). */
int clinic_get_to_send(nudge *n, int64_t id, nudge_clinic *out, int64_t *tmpl_version,
                       nudge_err *err);
/* Moves that version: every write of a template or a mapping of the
 * clinic calls it inside its transaction, so every handle, in this
 * process or another, reads them again. */
int clinic_tmpl_touch(nudge *n, int64_t clinic_id, nudge_err *err);

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
/* The patient as an enqueue routes and renders for it: nudge_patient_get
 * without the opt-outs (all 0), which the send checks itself when the
 * message leaves (dispatch.c, consent.c). */
int patient_get_to_send(nudge *n, int64_t clinic_id, int64_t id, nudge_patient *out,
                        nudge_err *err);
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
 * data on a medium (WhatsApp's approved template, MSG91's DLT flow).
 * maps: each provider's mapping of t, read at its first use and kept for
 * the next message of t (a batch's; tmpl_map_free), or NULL. */
typedef struct tmpl_map {
    int state;      /* TMPL_MAP_* */
    char *id;       /* WhatsApp's approved name; MSG91's template id */
    char *language; /* WhatsApp's language code */
    char *params;   /* the mapping's parameter list */
} tmpl_map;
enum { TMPL_MAP_UNREAD, TMPL_MAP_NONE, TMPL_MAP_FOUND };
#define TMPL_MAPS 2 /* WhatsApp's, MSG91's */
int tmpl_transport_data(nudge *n, int64_t clinic_id, const nudge_template *t, const char *medium,
                        const nudge_vars *v, json_t *data, tmpl_map maps[TMPL_MAPS],
                        nudge_err *err);
void tmpl_map_free(tmpl_map *m);
/* tmpl_store.c: the templates a handle's single enqueues resolved, each
 * with its mappings, kept while the clinic's tmpl_version stands. */
typedef struct tmpl_cached {
    nudge_template t;
    tmpl_map maps[TMPL_MAPS];
} tmpl_cached;
typedef struct tmpl_cache tmpl_cache;
int tmpl_cache_new(tmpl_cache **out);
void tmpl_cache_free(tmpl_cache *tc);
/* The template `name` for a patient speaking `language` at clinic c, whose
 * tmpl_version the caller read as `version` (clinic_get_to_send): from tc,
 * or read into it. *out is tc's, valid until tc's next call. */
int tmpl_cache_get(nudge *n, tmpl_cache *tc, const nudge_clinic *c, int64_t version,
                   const char *name, const char *language, tmpl_cached **out, nudge_err *err);

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
    int64_t broadcast_id; /* broadcast.c's fan-out: the broadcast it belongs to */
    /* The SMS's parts (tmpl_sms_segments of body) where the builder
     * counted them, before the write (queue_build does); 0: the insert
     * counts them, inside the write transaction. */
    int segments;
} queue_item;
/* Inserts; a duplicate dedupe key is not an error: *id gets the existing row
 * and *created 0. */
int queue_insert(nudge *n, const queue_item *it, int64_t *id, int *created, nudge_err *err);
/* count items of one clinic at once, as count queue_insert calls in order
 * would (a dedupe key met earlier in the call answers that row), in a few
 * multi-row statements: ids[i], created[i]. */
int queue_insert_many(nudge *n, const queue_item *const *its, size_t count, int64_t *ids,
                      int *created, nudge_err *err);
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
/* A claimed row: its clinic with its id, so every statement on it names
 * the clinic (one shard when the store is sharded by clinic). */
typedef struct queue_ref {
    int64_t clinic_id, id;
} queue_ref;
/* Claims up to `max` due notifications under a lease, honouring each
 * clinic's per-channel rate limit. Returns the count, rows in rows[]. */
int queue_claim(nudge *n, queue_ref *rows, int max, nudge_err *err);
/* The same, with each row's message (msgs[i], nudge_notification_free)
 * and transport data (data[i], free; NULL none) as the claim returned
 * them: the dispatcher's, which then reads neither again. Up to `hand`
 * of the first rows are also handed off in the claim's commit (handed,
 * `max` long: 1 for those, 0 for a row the caller hands off itself). */
int queue_claim_rows(nudge *n, queue_ref *rows, nudge_notification *msgs, char **data, int max,
                     int hand, signed char *handed, nudge_err *err);
/* Gives back rows whose lease ran out and cancels what expired unsent;
 * a periodic job (nudge.c), run once per instant across all workers. */
int queue_reap(nudge *n, int *reaped, nudge_err *err);
/* Deletes the rate window's seconds no budget reads any more (migration
 * 030); a periodic job (nudge.c), once a minute across all workers. */
int queue_rate_prune(nudge *n, int64_t now, nudge_err *err);
/* The hand-off: marks claimed rows as handed to their provider (handed_at)
 * in one commit, before any of them is sent; handed[i] 1, or -1 when the
 * lease was lost meanwhile (then it must not be sent). */
int queue_handoff(nudge *n, const queue_ref *rows, int count, signed char *handed,
                  nudge_err *err);
/* Gives back claimed rows never handed off (a worker stopping). */
int queue_unclaim(nudge *n, const queue_ref *rows, int count, nudge_err *err);
/* Gives back at once the rows of dead workers of this host: those never
 * handed off as they were, the others as a recorded lost attempt. */
int queue_release_dead(nudge *n, int *released, nudge_err *err);
/* Waits up to timeout_ms for work enqueued or come due (1 woken, 0 not). */
int queue_wait(nudge *n, int timeout_ms, nudge_err *err);
int queue_load(nudge *n, const queue_ref *r, nudge_notification *m, nudge_err *err);
/* Records the outcome of one attempt and moves the row on. */
typedef struct queue_outcome {
    const nudge_notification *m;
    const char *transport;
    channel_outcome o;
    int retried;  /* out: it goes again later */
    int recorded; /* out: 0 when the lease was lost (nothing written) */
} queue_outcome;
/* The outcomes of a batch in one transaction, every guarantee of
 * queue_record kept for each, and then the hand-off of the next nhand
 * rows (queue_handoff) in the same commit, so a worker's step costs one
 * commit; -1 rolls all of it back (recorded 0, handed 0). */
int queue_record_batch(nudge *n, queue_outcome *rs, int count, const queue_ref *hand, int nhand,
                       signed char *handed, nudge_err *err);
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

/* queue.c's statements whose plans the tests check (tests/test_flow.c):
 * exported for the plan tests, so they EXPLAIN the very text the queue
 * runs, not a copy. Nothing else uses them. */
extern const char queue_sql_claim_pg[];     /* queue_claim_pg_round: one priority's read */
extern const char queue_sql_lease_pg[];     /* queue_claim_pg_round: the rows taken, by ctid */
extern const char queue_sql_claim_sqlite[]; /* queue_claim_sqlite_round: one priority's read */
extern const char queue_sql_reap_pg[];      /* queue_reap_pg */
const char *queue_sql_expire(const char *engine); /* queue_reap's sweep, per engine */
extern const char queue_sql_handoff_pg[];   /* queue_handoff_pg */
/* queue_record_rows_pg's UPDATE of rows rows; the caller frees. */
char *queue_sql_record_pg(size_t rows);

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

/* planner.c / dispatch.c: the two halves of a tick, at the tick's now.
 * planner_step makes one batch of due plans messages: 1 when the batch
 * was full (more may be due), 0 when none is left, -1 on error;
 * planner_run takes up to max_batches steps (0: until none is left), with
 * planner_step's answer for the last. */
int planner_step(nudge *n, int64_t now, nudge_tick_stats *st, nudge_err *err);
int planner_run(nudge *n, int64_t now, int max_batches, nudge_tick_stats *st, nudge_err *err);
/* Work a dispatch_run does while its sends are in flight, in place of
 * waiting for them (nudge_tick: the rest of a burst of plans), a step at a
 * time: run answers 1 when it may have more, 0 when it has none, -1 on
 * error. NULL, or a run of NULL: none. */
typedef struct dispatch_aside {
    int (*run)(nudge *n, void *ctx, nudge_tick_stats *st, nudge_err *err);
    void *ctx;
} dispatch_aside;
int dispatch_run(nudge *n, int64_t now, nudge_tick_stats *st, dispatch_aside *aside,
                 nudge_err *err);

/* Minute of the local day at t in tz, for quiet hours. */
int quiet_contains(int start, int end, int minute);
/* The next instant after now at which the wall clock of tz reads minute
 * (today's, else tomorrow's): where quiet hours end, a window opens. */
int64_t quiet_end_after(int64_t now, const char *tz, int minute);

/* consent.c: the rules at the send instant (issue 17). consent_check: 1
 * allowed, 0 refused with a static *reason ("opted_out", "no_consent"),
 * -1 error; the ledger as it stands (now: the send instant). */
int consent_check(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                  const char *channel, int64_t now, const char **reason, nudge_err *err);
/* consent_check for a batch of messages (ms[i]'s patient, category and
 * channel) in a statement or a few per clinic, category and channel, with
 * each patient's zone: the verdict of a message without a patient, or
 * whose patient is gone, is found 0, ok 1. */
typedef struct consent_verdict {
    int found, ok;
    const char *reason; /* a refusal's, static */
    char timezone[64];  /* the patient's, "" for none */
} consent_verdict;
int consent_check_many(nudge *n, const nudge_notification *const *ms, int count,
                       consent_verdict *out, nudge_err *err);
/* Whether a category needs an opt-in and keeps to the send window. */
int consent_promotional(const char *category);
/* The consent rule as a condition on a patients row aliased p (consent.c
 * states it once; consent_check runs it): consent_sql_allowed appends
 * "may get category on channel", consent_sql_any "on at least one
 * channel" (segment.c's consented_to_category), each with its binds in
 * order. -1: an unknown channel, or the buffer is full. */
#define CONSENT_SQL_BINDS 128
typedef struct consent_sql {
    char sql[24576];
    size_t len;
    store_val v[CONSENT_SQL_BINDS];
    int nv;
} consent_sql;
int consent_sql_allowed(consent_sql *q, const char *category, const char *channel);
int consent_sql_any(consent_sql *q, const char *category);
/* One ledger row / the opt-out flags of a patient record changed, in the
 * caller's transaction. */
int consent_write(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                  const char *channel, const char *state, const char *source,
                  const char *wording, const char *message, const char *provider_id,
                  nudge_err *err);
int consent_flags_changed(nudge *n, int64_t clinic_id, int64_t patient_id, unsigned before,
                          unsigned after, nudge_err *err);
/* A clinic's plan as the send instant reads it: its plan row and its
 * tier's quota and overage (-1: unlimited, none), read once per batch. */
typedef struct consent_plan {
    nudge_usage_plan p;
    int64_t quota, overage;
} consent_plan;
int consent_plan_get(nudge *n, int64_t clinic_id, consent_plan *out, nudge_err *err);
/* Promotional send window: 1 inside, 0 outside (*until: its next opening). */
int consent_window(const nudge_clinic *c, const consent_plan *plan, const char *tz,
                   const char *category, int64_t now, int64_t *until);
/* WhatsApp: 1 when free-form text may go (inside 24 h of the patient's
 * last message) or an approved template is mapped in data. */
int consent_whatsapp_ok(int64_t last_inbound, int64_t now, const json_t *data);
/* Units a message spends of a quota (SMS segments; 1 otherwise). */
int consent_units(const char *channel, const char *body);
/* Quota at the send instant: 1 fits (its units now held), 0 waits until
 * *until (the next month), -1. In a transaction of its own. */
int consent_quota(nudge *n, const nudge_clinic *c, const consent_plan *plan,
                  const nudge_notification *m, int64_t now, int64_t *until, nudge_err *err);
/* Sent messages into the month's usage, in the send records' transaction:
 * one counter statement per clinic and channel among them. */
int consent_usage_count(nudge *n, const nudge_notification *const *ms, int count,
                        nudge_err *err);
/* queue.c for consent.c: units held by a clinic's messages in flight but
 * one; a message's units held (inside the caller's transaction). */
int queue_units_in_flight(nudge *n, int64_t clinic_id, int64_t except_id, int64_t *units,
                          nudge_err *err);
int queue_hold_units(nudge *n, int64_t clinic_id, int64_t id, int64_t units, nudge_err *err);


/* event.c: events created at or after since, after the key (after_at,
 * after_id) in (created_at, id) order, up to max, across every clinic;
 * fn per row (payload borrowed). For scans that must not miss a late
 * commit (hook.c). The count read, or -1. */
typedef struct event_page_row {
    int64_t id, clinic_id, subject_id, created_at;
    char type[64];
    const char *payload;
} event_page_row;
int event_page(nudge *n, int64_t since, int64_t after_at, int64_t after_id, int max,
               int (*fn)(void *ctx, const event_page_row *e), void *ctx, nudge_err *err);

/* hook.c: outgoing deliveries (webhooks to subscriptions, staff alerts
 * and digests to an email, a phone or a chat room's URL), durable and
 * retried; see hook.c. */
typedef struct hook_item {
    int64_t clinic_id, subscription_id, staff_id, event_id; /* 0: none */
    const char *event_type, *target, *recipient, *subject, *body;
    const char *dedupe_key; /* once per clinic and key; NULL: none */
} hook_item;
/* In the caller's transaction: 1 made (*id, may be NULL), 0 already there. */
int hook_enqueue(nudge *n, const hook_item *it, int64_t *id, nudge_err *err);
/* Deliveries for committed events (a periodic job); sends what is due
 * (every tick, any worker: each delivery is claimed). */
int hook_scan(nudge *n, int64_t now, nudge_err *err);
int hook_send_due(nudge *n, int64_t now, int *sent, nudge_err *err);
int hook_url_ok(const char *url, const char *field, nudge_err *err);
int hook_backoff_after(int attempt);
/* "v1=<hex HMAC-SHA256(secret, ts "." body)>" into out[>= 68]. */
int hook_sign(const char *secret, int64_t ts, const char *body, size_t len, char *out);

/* staff.c: alerts to a clinic's staff (role NULL/"": all; staff_id 0:
 * any), one delivery per member and channel, once per key; inside the
 * caller's transaction. And the daily digests due at now (periodic). */
int staff_alert(nudge *n, int64_t clinic_id, const char *role, int64_t staff_id,
                const char *text, const char *key, int *count, nudge_err *err);
int staff_digest_scan(nudge *n, int64_t now, nudge_err *err);

/* The workflow steps of staff.c and hook.c (wfstep.h). */
struct wf_step_kind;
extern const struct wf_step_kind staff_step_notify, hook_step_call;
/* queue.c: a broadcast's messages still pending: to "cancelled", "held"
 * (paused) or "pending" (held ones let go); *moved (may be NULL) counts. */
int queue_broadcast_move(nudge *n, int64_t clinic_id, int64_t broadcast_id, const char *to,
                         int64_t *moved, nudge_err *err);
/* broadcast.c: the tick's part: scheduled campaigns come due or go
 * stale (a periodic job), and up to max_batches batches of fan-out, each
 * its own transaction. */
int broadcast_schedule(nudge *n, int64_t now, nudge_err *err);
int broadcast_fanout(nudge *n, int64_t now, int max_batches, int *batches, nudge_err *err);
#define BROADCAST_BATCH 500
#define BROADCAST_BATCHES_PER_TICK 8
/* Support tickets, the FAQ and loyalty (issue 10; ticket.c, faq.c,
 * loyalty.c). Calls without nudge_ run in the caller's transaction. */
/* A text a person set: required (not blank) if asked, UTF-8 without
 * control characters; errors name field. */
int faq_check_text(const char *s, const char *field, int required, nudge_err *err);
/* Adds the shipped FAQ entries the clinic lacks (a new clinic: clinic.c). */
int faq_seed(nudge *n, int64_t clinic_id, int *added, nudge_err *err);
/* Urgency, then the clinic's best entry for text and its confidence. */
int faq_match(nudge *n, int64_t clinic_id, const char *text, nudge_faq_match *out,
              nudge_err *err);
/* Tickets resolved by an FAQ entry about to go keep no link to it. */
int ticket_forget_faq(nudge *n, int64_t clinic_id, int64_t faq_id, nudge_err *err);
int ticket_autoresolve(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_outcome *out,
                       nudge_err *err);
/* A ledger entry (ref_kind visit, manual, redemption, referral); points
 * below zero are refused (NUDGE_ECONFLICT) when the balance would go
 * negative, under a lock on the patient's ledger. *added 0: a visit's or
 * referral's entry given before (nothing added). */
int loyalty_apply(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                  const char *reason, const char *ref_kind, int64_t ref_id, int64_t *id,
                  int *added, nudge_err *err);
/* The points a completed visit earns by the rules, given once. */
int loyalty_visit(nudge *n, int64_t clinic_id, int64_t appointment_id, int64_t *points,
                  nudge_err *err);
/* The workflow engine's step kinds (wfstep.h): "ticket.autoresolve" and
 * "loyalty.add". */
struct wf_step_kind;
extern const struct wf_step_kind ticket_step_autoresolve, loyalty_step_add;
/* workflow.c: runs the workflows of an event the caller has just
 * committed, here and now (the tick is the safety net; the unique run row
 * makes it once), and fills plan (may be NULL) from what their
 * reminders.plan steps planned. A failure leaves the runs to the tick. */
void workflow_after(nudge *n, int64_t clinic_id, int64_t event_id, nudge_plan *plan);
/* The tick's parts: consume a batch of events into run rows (a periodic
 * job, in its transaction), then run what is due (outside any). */
int workflow_fanout_pending(nudge *n, nudge_err *err);
int workflow_run_due(nudge *n, int64_t now, nudge_err *err);
void workflow_free(nudge *n);
/* Counts the stats need from their tables' owners, for [from, to). */
int patient_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to, int64_t *count,
                        nudge_err *err);
int appointment_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to,
                            int64_t *count, nudge_err *err);
typedef int (*queue_count_fn)(void *ctx, const char *channel, const char *status, int64_t count);
int queue_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to, queue_count_fn fn,
                      void *ctx, nudge_err *err);
/* The reply rate's denominator (reply.c's nudge_reply_stats_get): the
 * send times in [from, to), oldest first, as an open statement. */
int queue_sent_times(nudge *n, int64_t clinic_id, int64_t from, int64_t to, store_stmt **st,
                     nudge_err *err);

/* commit.c: group commit (SQLite and PostgreSQL). A write to run in the
 * next group: 0, or -1 with err set, its work rolled back alone. fn gets
 * the args of count writes queued with it (count >= 1) and writes them
 * all, or fails them all: writes of one clinic next to each other in a
 * group join one call when their handles agree on the actor and on the
 * instant their clocks gave when the group began. n is a shallow copy of
 * the first writer's handle whose store is the committer's and whose
 * clock holds that instant: fn may read the handle's clock, actor and
 * settings and write through n->db, but must not change the handle (the
 * change would be lost with the copy) nor keep a pointer to it. fn may
 * run more than once, with fewer args (its group is run again without a
 * write that failed, and a joined call that failed is run again a write
 * at a time): it sets its outputs afresh each time. */
typedef int (*commit_fn)(nudge *n, void *const *args, size_t count, nudge_err *err);
/* At open: n's committer (shared by every handle of url in the process);
 * none for a database in memory or when its connection cannot be opened
 * (then n writes directly). */
int commit_attach(nudge *n, const char *url, nudge_err *err);
void commit_detach(nudge *n);
/* fn writes clinic_id's rows (<= 0: any clinic's), in a transaction of
 * that clinic (store_begin_clinic) with the group's other writes of it.
 * 0 fn ran and its group committed (durable), -1 fn or the commit failed
 * (err), 1 no committer here (none attached, or inside n's own
 * transaction): the caller runs fn in a transaction of its own. */
int commit_run(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err);
/* fn's write submitted, not waited for: queued for the next group (led
 * by the committer's thread when no waiter leads), or, with no committer
 * here, written now in a transaction of its own. Its answer comes from
 * commit_reap once its group committed (durable) or it failed. fn and arg
 * must live until then; fn runs on another thread, with a copy of n as it
 * was now (commit_fn's contract). 0, or -1 (out of memory: nothing
 * submitted). */
int commit_submit(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err);
/* Takes up to max answers of n's submitted writes, in the order they were
 * submitted, first waiting until at least min are ready (at most as many
 * as are pending); each is passed to `each` (rc 0 or -1, err when -1) and
 * its arg is the caller's again. Answers how many. */
typedef void (*commit_answer_fn)(void *ctx, void *arg, int rc, const nudge_err *err);
size_t commit_reap(nudge *n, size_t max, size_t min, commit_answer_fn each, void *ctx);
/* Submitted and not yet reaped. */
size_t commit_pending(nudge *n);
/* fn(ctx) after answers are posted for n (nudge_enqueue_on_ready), under
 * the lock of n's list: fn must not call into the library. -1: out of
 * memory. */
int commit_ready(nudge *n, void (*fn)(void *ctx), void *ctx);
/* At close, once nothing is pending. */
void commit_async_free(nudge *n);
/* fn's write in a transaction of n's own (no committer, or inside n's
 * transaction): 0 or -1. */
int commit_direct(nudge *n, int64_t clinic_id, commit_fn fn, void *arg, nudge_err *err);
/* How many writes wait for the next group (tests, to know a group formed). */
int commit_waiting(nudge *n);
/* Tests: the writes on their way (commit_gather), and the longest a
 * leader waits for them (<= 0: the default), answering the old value. */
int commit_on_way(nudge *n);
long commit_gather_set(long ns);
/* Tests: the groups the committer has run (a group run again after a
 * failed write counts again). */
long commit_groups(nudge *n);
/* Reads for a write to come (an enqueue's patient, clinic and template),
 * in one snapshot: on SQLite on a connection of the committer's whose
 * page cache its commits leave stale once a group, not once a caller; on
 * PostgreSQL on n's own. The write is then on its way (SQLite's group
 * leader waits for it) until the caller's commit_run, or fn's failure. 0 or -1
 * as fn answered, 1 no committer here (none, or inside n's own
 * transaction: the caller reads on its own handle). n is a shallow copy
 * as for commit_fn, and fn must not write. */
typedef int (*commit_read_fn)(nudge *n, void *arg, nudge_err *err);
int commit_read(nudge *n, commit_read_fn fn, void *arg, nudge_err *err);

#endif
