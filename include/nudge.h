/*
 * nudge.h: the C library API of nudge, the patient-communication engine.
 *
 * Everything the CLI does goes through these functions, and so will the HTTP
 * API: one implementation, several fronts. A `nudge` handle owns an open
 * store, a clock and the channel configuration. Functions return 0 on
 * success and -1 on failure, with the reason in a caller-supplied nudge_err
 * (code, offending field, message); nothing is printed.
 *
 * Records are plain structs with fixed-size text fields: input lengths are
 * validated against them, so a record can be copied and freed with the stack.
 * Times are int64 seconds since the Unix epoch, UTC.
 *
 * Scoping: every call that reads or changes a tenant row takes the clinic it
 * acts for. NUDGE_ANY_CLINIC (0) lifts the scope; only the local admin CLI,
 * which has the database file itself, uses it.
 */
#ifndef NUDGE_H
#define NUDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NUDGE_ANY_CLINIC 0

/* This release of nudge: `nudge --version` prints it with the schema
 * version its migrations build (nudge_schema_built). */
#define NUDGE_VERSION "0.15.0"

enum nudge_code {
    NUDGE_OK = 0,
    NUDGE_EINVAL,    /* bad input; err.field names it */
    NUDGE_ENOTFOUND, /* no such record in this clinic */
    NUDGE_ECONFLICT, /* state does not allow it (cancel a completed visit) */
    NUDGE_ESTORE,    /* database failure */
    NUDGE_EIO,       /* file or network failure */
    NUDGE_ENOMEM,
    NUDGE_EDENIED,   /* a signature or shared secret does not match */
    NUDGE_EUNAVAILABLE, /* the database cannot be reached now; retry later */
    NUDGE_ENOSPACE,  /* the database cannot write (disk full, failing or read-only); retry later */
};

typedef struct nudge_err {
    int code;
    char field[64];
    char msg[256];
} nudge_err;

/* The clock every time reading goes through. Tests set `t` and use
 * nudge_clock_fake; production uses the system clock. */
typedef struct nudge_clock {
    int64_t (*now)(struct nudge_clock *);
    int64_t t;
} nudge_clock;

void nudge_clock_system(nudge_clock *c);
void nudge_clock_fake(nudge_clock *c, int64_t t);

typedef struct nudge nudge;

/* What nudge_open needs. Every field but the clock is a setting described
 * once in nudge_settings[] (below): its flag, environment variable, type,
 * default and help. A field left NULL (or 0 for numbers) takes the table's
 * default in nudge_open; nudge_config_load fills one from flags and the
 * environment. */
typedef struct nudge_config {
    const char *db;            /* SQLite file path */
    const char *outbox_dir;    /* the outbox channel's folder */
    const char *smtp_url;      /* smtp://host:port or smtps://; NULL: email to outbox */
    const char *smtp_from;     /* envelope and header From address */
    const char *smtp_user;     /* AUTH when set */
    const char *smtp_password; /* never logged */
    int smtp_starttls;         /* require STARTTLS on smtp:// */
    int smtp_insecure;         /* skip certificate checks (tests only) */
    /* SMS through Twilio when account_sid is set; else SMS goes to the outbox. */
    const char *twilio_base_url;
    const char *twilio_account_sid;  /* AC... */
    const char *twilio_auth_token;   /* never logged */
    const char *twilio_from;         /* E.164 sender, or: */
    const char *twilio_messaging_service_sid; /* MG... */
    /* WhatsApp through the Business Cloud API when phone_number_id is set. */
    const char *whatsapp_base_url;
    const char *whatsapp_version;
    const char *whatsapp_phone_number_id;
    const char *whatsapp_token;           /* never logged */
    const char *whatsapp_app_secret;      /* verifies X-Hub-Signature-256 */
    const char *whatsapp_verify_token;    /* the webhook subscription handshake */
    /* SMS through MSG91's flow API (DLT templates) when authkey is set; it
     * takes precedence over Twilio for SMS. */
    const char *msg91_base_url;
    const char *msg91_authkey;        /* never logged */
    const char *msg91_webhook_secret; /* its delivery reports carry it */
    /* Where providers reach this server: status callbacks are sent to
     * <public_url>/webhooks/..., and webhook signatures are checked over
     * it. e.g. https://nudge.clinic.example */
    const char *public_url;
    nudge_clock *clock;        /* NULL: system clock */
    int lease_seconds;
    int batch_size;
    int max_in_flight;         /* sends at once on the multi handle */
    /* The HTTP API's limits against slow and idle clients (nudge serve):
     * connections in all and per client address; seconds a connection may
     * idle between requests, and a request may take over its head and
     * over its body (counted from their first byte, not from the last). */
    int http_max_connections;
    int http_max_per_client;
    int http_idle_timeout;
    int http_head_timeout;
    int http_body_timeout;
    const char *backup_dir;    /* where nudge backup writes */
    int backup_keep;           /* backups kept */
    const char *backup_key;    /* 64 hex digits: AES-256-GCM key of encrypted backups */
    const char *unsubscribe_secret; /* signs one-click unsubscribe links (consent.c) */
    int http_threads;          /* the API's threads; 0: one per CPU, at least 4 */
} nudge_config;

int nudge_open(const nudge_config *cfg, nudge **out, nudge_err *err);
void nudge_close(nudge *n);
int64_t nudge_now(nudge *n);
/* Applies pending migrations; *applied gets how many ran (may be NULL). */
int nudge_migrate(nudge *n, int *applied, nudge_err *err);

/* ---- clinics ---- */
#define NUDGE_MAX_OFFSETS 8
typedef struct nudge_clinic {
    int64_t id;
    char name[128];
    char timezone[64]; /* IANA zone, e.g. Asia/Kolkata */
    char country[3];   /* ISO 3166 alpha-2: default for phone numbers */
    char language[16]; /* default language of its patients */
    char phone[20];    /* E.164 */
    char email[256];
    char address[256];
    int quiet_start, quiet_end; /* minutes after local midnight; equal: none */
    int offsets[NUDGE_MAX_OFFSETS]; /* reminder offsets, minutes before */
    int n_offsets;
    int followup_after;  /* minutes after completion; 0: no follow-up */
    int max_retries;
    int rate_per_minute; /* per channel */
    char default_channel[16];
    char sms_sender[40];       /* E.164 or a Twilio Messaging Service SID; "": the default */
    int whatsapp_fallback;     /* a failed WhatsApp message goes once by SMS */
    int whatsapp_fallback_after; /* ... and one still undelivered after N minutes; 0: off */
    int64_t created_at;
    int review_max_days;         /* "until review" courses are reminded at most this long */
    char reminder_channels[24];  /* "sms,email": every reminder on each at once; "": one */
} nudge_clinic;

/* Fills defaults (quiet hours 21:00-08:00, offsets 24 h and 2 h, 3 retries,
 * 20 per minute, language en, channel sms). */
void nudge_clinic_defaults(nudge_clinic *c);
/* "1440,120" into offsets (minutes before the visit, at most NUDGE_MAX_OFFSETS). */
int nudge_clinic_parse_offsets(const char *s, int *offsets, int *n, nudge_err *err);
int nudge_clinic_add(nudge *n, nudge_clinic *c, nudge_err *err);
int nudge_clinic_get(nudge *n, int64_t id, nudge_clinic *out, nudge_err *err);
/* Replaces the clinic's settings (all but id and created_at). */
int nudge_clinic_update(nudge *n, nudge_clinic *c, nudge_err *err);
typedef int (*nudge_clinic_fn)(void *ctx, const nudge_clinic *c);
int nudge_clinic_list(nudge *n, int64_t after_id, int limit, nudge_clinic_fn fn, void *ctx,
                      nudge_err *err);

/* ---- patients ---- */
enum nudge_optout {
    NUDGE_OPTOUT_REMINDERS = 1 << 0,
    NUDGE_OPTOUT_BROADCASTS = 1 << 1,
    NUDGE_OPTOUT_HEALTH_TIPS = 1 << 2,
    NUDGE_OPTOUT_MARKETING = 1 << 3,
    NUDGE_OPTOUT_SMS = 1 << 4,
    NUDGE_OPTOUT_WHATSAPP = 1 << 5,
    NUDGE_OPTOUT_EMAIL = 1 << 6,
};

typedef struct nudge_patient {
    int64_t id, clinic_id;
    char name[128];
    char email[256];
    char phone[20];    /* E.164 after normalisation */
    char language[16]; /* "" on input: the clinic's */
    char timezone[64]; /* "" : the clinic's */
    char dob[11];      /* YYYY-MM-DD or "" */
    char gender[16];
    char tags[512];    /* comma-separated diagnoses and tags */
    char preferred_channel[16]; /* "", sms, whatsapp, email */
    int preferred_time;         /* minutes after local midnight, -1 none */
    unsigned opt_outs;          /* enum nudge_optout bits */
    int64_t loyalty_points;
    int64_t last_visit; /* 0: never */
    int64_t created_at;
    int64_t version; /* bumped by every change: the ETag */
    char reminder_channels[24]; /* "sms,email": every reminder on each at once; "": one */
} nudge_patient;

void nudge_patient_init(nudge_patient *p);
int nudge_patient_add(nudge *n, nudge_patient *p, nudge_err *err);
/* Replaces the patient's editable fields (all but id, clinic, loyalty,
 * last visit). if_version != 0: refused with ECONFLICT unless the stored
 * version still equals it (someone else changed it meanwhile). On success
 * p holds the stored record with its new version. */
int nudge_patient_update(nudge *n, int64_t clinic_id, nudge_patient *p, int64_t if_version,
                         nudge_err *err);
int nudge_patient_get(nudge *n, int64_t clinic_id, int64_t id, nudge_patient *out,
                      nudge_err *err);
typedef int (*nudge_patient_fn)(void *ctx, const nudge_patient *p);
int nudge_patient_list(nudge *n, int64_t clinic_id, int64_t after_id, int limit,
                       nudge_patient_fn fn, void *ctx, nudge_err *err);

/* ---- appointments ---- */
typedef struct nudge_appointment {
    int64_t id, clinic_id, patient_id;
    char service[128];
    char provider[128]; /* dentist or doctor */
    char notes[1024];
    int64_t start_at;
    int duration_min;
    char status[16]; /* scheduled confirmed completed cancelled no-show rescheduled */
    int64_t created_at, updated_at;
    int64_t version; /* bumped by every change: the ETag */
} nudge_appointment;

/* What booking (or rescheduling) planned and what it skipped, and why: a
 * visit entered after the fact, or a reminder whose time had already
 * passed, is planned for nobody and said so. One item per message the
 * clinic's settings call for: the confirmation, then each reminder offset. */
typedef struct nudge_plan_item {
    char kind[16];      /* "confirmation" or "reminder" */
    int before_min;     /* a reminder's offset, minutes before the visit; else 0 */
    int64_t due_at;     /* when it goes, or would have gone */
    int planned;        /* 1: planned; 0: skipped, for `why` */
    char why[64];       /* skipped: "its time had passed", "the visit has begun" */
} nudge_plan_item;
typedef struct nudge_plan {
    int n;
    nudge_plan_item items[NUDGE_MAX_OFFSETS + 1];
} nudge_plan;
/* The item's name as people say it: "confirmation", "24 h reminder",
 * "90 min reminder". */
void nudge_plan_item_name(const nudge_plan_item *it, char *buf, size_t n);

/* Books it and, in the same transaction, plans the confirmation and the
 * reminders. clinic_id is taken from the patient. */
int nudge_appointment_add(nudge *n, int64_t clinic_id, nudge_appointment *a, nudge_err *err);
/* The same, and *plan (may be NULL) says what was planned and skipped. */
int nudge_appointment_book(nudge *n, int64_t clinic_id, nudge_appointment *a, nudge_plan *plan,
                           nudge_err *err);
int nudge_appointment_get(nudge *n, int64_t clinic_id, int64_t id, nudge_appointment *out,
                          nudge_err *err);
typedef int (*nudge_appointment_fn)(void *ctx, const nudge_appointment *a);
/* patient_id 0: all; status NULL: all. */
int nudge_appointment_list(nudge *n, int64_t clinic_id, int64_t patient_id, const char *status,
                           int64_t after_id, int limit, nudge_appointment_fn fn, void *ctx,
                           nudge_err *err);
/* The same with more filters: start_at in [from, to) (0: unbounded). */
typedef struct nudge_appointment_filter {
    int64_t patient_id; /* 0: all */
    const char *status; /* NULL: all */
    int64_t from, to;
} nudge_appointment_filter;
int nudge_appointment_find(nudge *n, int64_t clinic_id, const nudge_appointment_filter *f,
                           int64_t after_id, int limit, nudge_appointment_fn fn, void *ctx,
                           nudge_err *err);
/* Changes service, provider, notes and duration (the time changes by
 * reschedule). if_version as for nudge_patient_update. */
int nudge_appointment_update(nudge *n, int64_t clinic_id, nudge_appointment *a, int64_t if_version,
                             nudge_err *err);
int nudge_appointment_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_appointment_confirm(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_appointment_complete(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_appointment_no_show(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_appointment_reschedule(nudge *n, int64_t clinic_id, int64_t id, int64_t start_at,
                                 nudge_err *err);

/* ---- reminder plans ---- */
typedef struct nudge_reminder {
    int64_t id, clinic_id, patient_id, appointment_id, notification_id;
    char kind[16];      /* confirmation reminder follow_up no_show medication recall
                           lab_due follow_up_visit birthday */
    char template_name[64];
    int64_t due_at, expires_at;
    char status[16];    /* planned enqueued cancelled expired failed */
    char subject[48];   /* what a plan without a visit is about: "prescription:7" */
    char detail[256];   /* what it carries (a dose time's prescription items) */
    char note[256];     /* why it was cancelled, expired or failed */
    char channels[24];  /* "sms,email": one delivery per channel; "": the patient's route */
} nudge_reminder;
typedef int (*nudge_reminder_fn)(void *ctx, const nudge_reminder *r);
int nudge_reminder_list(nudge *n, int64_t clinic_id, int64_t appointment_id, nudge_reminder_fn fn,
                        void *ctx, nudge_err *err);
/* A patient's plans still to come, soonest first. */
int nudge_reminder_pending(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_reminder_fn fn,
                           void *ctx, nudge_err *err);
/* Cancels one planned reminder (ECONFLICT once it is no longer planned). */
int nudge_reminder_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* A clinic's plans of one patient (0: all) and subject (NULL: all), by due time. */
int nudge_reminder_find(nudge *n, int64_t clinic_id, int64_t patient_id, const char *subject,
                        nudge_reminder_fn fn, void *ctx, nudge_err *err);
/* Cancels every planned reminder of a patient (patient_id) or about a
 * subject ("prescription:7"), with their messages not yet sent; *count gets
 * how many plans (may be NULL). */
int nudge_reminder_cancel_where(nudge *n, int64_t clinic_id, int64_t patient_id,
                                const char *subject, int *count, nudge_err *err);

/* ---- prescriptions: medication reminders ----
 * Each medication's frequency ("BD", "1-0-1", "q8h", "SOS"...) and duration
 * ("5 days", "until review") are read as clinicians write them; doses are
 * planned at their times (the defaults per frequency, the patient's
 * preferred time for once-a-day codes, or the times given) in the
 * patient's zone from starts_on, one reminder per dose time listing every
 * drug due then. Stopping or changing cancels or re-plans the doses still
 * to come in the same transaction. */
#define NUDGE_MAX_MEDICATIONS 12
#define NUDGE_REVIEW_DAYS 90 /* "until review": the default of a clinic's review_max_days */
typedef struct nudge_medication {
    int64_t id;
    char drug_name[128];
    char dose[64];
    char frequency[32];
    char duration[32];
    char instructions[256];
    char times[96]; /* "09:00,21:00": given, or the frequency's defaults */
    int days;       /* the course's length, read from duration */
} nudge_medication;
typedef struct nudge_prescription {
    int64_t id, clinic_id, patient_id, appointment_id;
    char prescriber[128];
    char notes[512];
    char status[16];    /* active stopped */
    char starts_on[11]; /* YYYY-MM-DD in the patient's zone; "" on input: today */
    char ends_on[11];   /* the last day of its longest course */
    char stop_reason[256];
    char channels[24]; /* "" (the patient's route), "both" (sms,email) or a list */
    int64_t created_at, updated_at, version;
    int n_medications;
    nudge_medication medications[NUDGE_MAX_MEDICATIONS];
} nudge_prescription;
int nudge_prescription_add(nudge *n, nudge_prescription *p, nudge_err *err);
int nudge_prescription_get(nudge *n, int64_t clinic_id, int64_t id, nudge_prescription *out,
                           nudge_err *err);
typedef int (*nudge_prescription_fn)(void *ctx, const nudge_prescription *p);
/* A clinic's prescriptions, of one patient (0: all), newest first. */
int nudge_prescription_list(nudge *n, int64_t clinic_id, int64_t patient_id,
                            nudge_prescription_fn fn, void *ctx, nudge_err *err);
/* Stops it: its doses still to come are cancelled. */
int nudge_prescription_stop(nudge *n, int64_t clinic_id, int64_t id, const char *reason,
                            nudge_err *err);
/* Replaces its medications (p->medications) and re-plans the doses still
 * to come from now; the doses already sent stay in its history. */
int nudge_prescription_change(nudge *n, int64_t clinic_id, int64_t id, nudge_prescription *p,
                              nudge_err *err);

/* ---- recalls: preventive care ----
 * A clinic's rule per service ("Cleaning": 180 days after it was completed,
 * again 14 and 28 days later) makes a recall for the patient when a visit
 * of that service is completed; the recall is sent at the patient's
 * preferred time on its day, then on each cadence step, until a visit is
 * booked (a cancelled booking resumes it), the patient opts out of
 * reminders, or the cadence runs out. */
typedef struct nudge_recall_rule {
    int64_t id, clinic_id;
    char service[128];      /* the visit's service, matched ignoring case */
    int after_days;         /* days after the completed visit */
    char cadence[64];       /* "14,28": sent again this many days after the first */
    char template_name[64]; /* "" on input: preventive_care_annual */
    char channels[24];      /* "" (the patient's route), "both" (sms,email) or a list */
    int active;
    int64_t created_at;
} nudge_recall_rule;
int nudge_recall_rule_add(nudge *n, nudge_recall_rule *r, nudge_err *err);
typedef int (*nudge_recall_rule_fn)(void *ctx, const nudge_recall_rule *r);
int nudge_recall_rule_list(nudge *n, int64_t clinic_id, nudge_recall_rule_fn fn, void *ctx,
                           nudge_err *err);
typedef struct nudge_recall {
    int64_t id, clinic_id, patient_id, rule_id, appointment_id;
    char due_on[11];   /* the recall's date, the patient's zone */
    int64_t next_at;   /* when it is next sent */
    int sends;
    char status[16];   /* open booked done opted_out closed */
    int64_t booked_by; /* the visit that holds it */
    int64_t updated_at;
} nudge_recall;
typedef int (*nudge_recall_fn)(void *ctx, const nudge_recall *r);
/* A clinic's recalls, of one patient (0: all), newest first. */
int nudge_recall_list(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_recall_fn fn,
                      void *ctx, nudge_err *err);
/* Staff close a recall: nothing more is sent. */
int nudge_recall_close(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);

/* ---- lab tests, follow-up visits, messages on demand ---- */
typedef struct nudge_lab_order {
    int64_t id, clinic_id, patient_id;
    char test_name[128];
    char due_on[11];   /* YYYY-MM-DD: reminded on this day at the preferred time */
    int repeat_days;   /* then every so many days while not done; 0: once */
    char channels[24]; /* "" (the patient's route), "both" (sms,email) or a list */
    char status[16];   /* due, reminded (no more reminders, not done), done */
    int sends;
    int64_t next_at;
} nudge_lab_order;
int nudge_lab_add(nudge *n, nudge_lab_order *o, nudge_err *err);
/* Marks it done: no more reminders, the one planned is cancelled. */
int nudge_lab_done(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
typedef int (*nudge_lab_fn)(void *ctx, const nudge_lab_order *o);
int nudge_lab_list(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_lab_fn fn, void *ctx,
                   nudge_err *err);
/* The clinician's "review in 2 weeks": a follow_up_visit reminder on date
 * (YYYY-MM-DD) at the patient's preferred time; *id gets the plan. */
int nudge_followup_add(nudge *n, int64_t clinic_id, int64_t patient_id, const char *date,
                       int64_t *id, nudge_err *err);
/* Sends now "your prescription is ready" (what = "prescription") or "your
 * results are ready" (what = "results", test_name required); *id gets the
 * notification. */
int nudge_notify_ready(nudge *n, int64_t clinic_id, int64_t patient_id, const char *what,
                       const char *test_name, int64_t *id, nudge_err *err);

/* ---- templates ---- */
typedef struct nudge_template {
    int64_t clinic_id;    /* 0: built in */
    char name[64];
    char language[16];
    char category[16];    /* transactional reminders broadcasts health_tips marketing */
    char *sms;            /* SMS text, also WhatsApp unless `whatsapp` is set */
    char *whatsapp;
    char *subject, *text, *html; /* email */
} nudge_template;
void nudge_template_free(nudge_template *t); /* frees the strings, not t */

typedef struct nudge_vars {
    size_t n;
    struct { char key[48]; char *value; } kv[48];
} nudge_vars;
int nudge_vars_set(nudge_vars *v, const char *key, const char *value); /* copies */
const char *nudge_vars_get(const nudge_vars *v, const char *key);
void nudge_vars_free(nudge_vars *v);

/* A template rendered for one channel: email fills subject, body (text)
 * and html; SMS and WhatsApp fill body only. Owned; nudge_rendered_free. */
typedef struct nudge_rendered {
    char *subject, *body, *html;
} nudge_rendered;
int nudge_template_render(const nudge_template *t, const char *channel, const nudge_vars *vars,
                          nudge_rendered *out, nudge_err *err);
void nudge_rendered_free(nudge_rendered *r);
/* Checks a template's texts as nudge_template_put does (required parts,
 * their lengths, placeholder syntax) without saving; err names the part. */
int nudge_template_check(const nudge_template *t, nudge_err *err);
/* SMS segments of a text as sent: GSM-7 160/153 septets a part, otherwise
 * UCS-2 70/67 UTF-16 units; *ucs2 (may be NULL) says UCS-2 was needed. */
int nudge_sms_segments(const char *text, int *ucs2);

/* Finds the clinic's own template or the built-in one, in `language`,
 * falling back to the clinic's language and then English. */
int nudge_template_get(nudge *n, int64_t clinic_id, const char *name, const char *language,
                       nudge_template *out, nudge_err *err);
/* Creates or replaces the clinic's own template (name, language). */
int nudge_template_put(nudge *n, int64_t clinic_id, const nudge_template *t, nudge_err *err);
typedef int (*nudge_template_fn)(void *ctx, const nudge_template *t);
int nudge_template_list(nudge *n, int64_t clinic_id, nudge_template_fn fn, void *ctx,
                        nudge_err *err);

/* A quick-reply button of an approved WhatsApp template: the payload
 * WhatsApp sends back when it is tapped, and what it does (confirm,
 * cancel, reschedule). */
typedef struct nudge_wa_button {
    const char *payload, *action;
} nudge_wa_button;
extern const char *const nudge_wa_button_actions[]; /* confirm cancel reschedule, NULL */

/* Maps a nudge template (in one language) to the clinic's approved
 * WhatsApp template, used outside the 24-hour window: wa_name and
 * wa_language as approved by Meta, params the nudge variables that fill
 * its body parameters, in order, comma-separated ("patient_name,date"),
 * and its quick-reply buttons' payloads (n_buttons of them; a payload
 * not mapped is read by its text). Replaces an earlier mapping whole. */
int nudge_whatsapp_template_put(nudge *n, int64_t clinic_id, const char *template_name,
                                const char *language, const char *wa_name, const char *wa_language,
                                const char *params, const nudge_wa_button *buttons,
                                size_t n_buttons, nudge_err *err);

/* Maps a nudge template (in one language) to a DLT-registered MSG91 flow
 * template: template_id as registered, params its variables and the nudge
 * variables that fill them ("VAR1:patient_name,VAR2:date"). */
int nudge_msg91_template_put(nudge *n, int64_t clinic_id, const char *template_name,
                             const char *language, const char *template_id, const char *params,
                             nudge_err *err);

/* ---- notifications and the queue ---- */
enum nudge_priority { NUDGE_LOW = 0, NUDGE_NORMAL = 1, NUDGE_HIGH = 2, NUDGE_URGENT = 3 };

typedef struct nudge_notification {
    int64_t id, clinic_id, patient_id, appointment_id, reminder_id;
    char channel[16];   /* email sms whatsapp */
    char recipient[256];
    char template_name[64];
    char language[16];
    char category[16];
    int priority;
    char status[16];    /* pending sending sent delivered read failed cancelled held */
    int64_t due_at, expires_at, sent_at, created_at;
    int attempts, max_retries;
    char dedupe_key[128];
    char provider_id[128];
    char last_error[256];
    char *subject, *body, *html; /* owned; nudge_notification_free */
} nudge_notification;
void nudge_notification_free(nudge_notification *m);

/* A direct message: renders `template_name` for the patient with `vars`
 * (patient and clinic variables are added) and enqueues it. */
typedef struct nudge_send {
    int64_t patient_id;
    const char *template_name;
    const char *channel;  /* NULL: the patient's preference */
    int priority;
    int64_t due_at;       /* 0: now */
    const char *dedupe_key; /* NULL: none */
    const nudge_vars *vars;
} nudge_send;
/* *created (may be NULL) is 0 when dedupe_key matched an existing
 * notification, whose id is returned and which is left as it is. */
int nudge_enqueue(nudge *n, int64_t clinic_id, const nudge_send *s, int64_t *id_out, int *created,
                  nudge_err *err);
/* The same without waiting: the send is checked, read and rendered now
 * (a bad send answers -1 here, naming its field, and nothing is
 * submitted), and its write joins the next group commit, led by a thread
 * of the library's, while the caller goes on (an event loop, or one
 * thread keeping many enqueues outstanding, as a Node client keeps
 * promises). Its answer comes from nudge_enqueue_reap once its row is
 * durable, or its write failed, under the caller's tag. The handle stays
 * the calling thread's: submit and reap on the thread that uses it.
 * Inside nudge_once's function the write joins that transaction, as
 * nudge_enqueue's does, and its answer is ready at once (it stands if
 * the transaction commits). nudge_close waits for what is still pending
 * (and drops the answers). */
typedef struct nudge_enqueued {
    uint64_t tag;    /* the caller's, from nudge_enqueue_submit */
    int rc;          /* 0 written (or found by its dedupe key), -1 err says why */
    int created;     /* as nudge_enqueue's */
    int64_t id;
    nudge_err err;
} nudge_enqueued;
int nudge_enqueue_submit(nudge *n, int64_t clinic_id, const nudge_send *s, uint64_t tag,
                         nudge_err *err);
/* Up to max answers, in the order the sends were submitted, first waiting
 * until at least min are ready (at most as many as are pending; 0: do not
 * wait). Answers how many it stored in out. */
size_t nudge_enqueue_reap(nudge *n, nudge_enqueued *out, size_t max, size_t min);
/* Submitted and not yet reaped. */
size_t nudge_enqueue_pending(nudge *n);
/* For an event loop: fn(ctx) is called whenever answers become ready to
 * reap on n, from the library's thread (or from within
 * nudge_enqueue_submit, when the write was made at once), so the loop can
 * wake itself (a write to its own pipe or eventfd, uv_async_send) and
 * reap without waiting (min 0). fn must not call into the library. NULL:
 * none. -1 (NUDGE_ENOMEM) or 0. */
int nudge_enqueue_on_ready(nudge *n, void (*fn)(void *ctx), void *ctx, nudge_err *err);

/* Many sends in one transaction, all or nothing: out[i] gets item i's id
 * and created flag. The clinic, each patient and each template are read
 * once per batch. When any item is bad nothing is written: out[i].err says
 * what is wrong with each bad item (code 0: that item was fine) and err's
 * field names the first ("items[3].patient"). All items are one clinic's
 * (NUDGE_ANY_CLINIC: the first item's patient's). At most NUDGE_BATCH_MAX
 * items. */
#define NUDGE_BATCH_MAX 1000
typedef struct nudge_batch_result {
    int64_t id;
    int created;
    nudge_err err;
} nudge_batch_result;
int nudge_enqueue_batch(nudge *n, int64_t clinic_id, const nudge_send *items, size_t count,
                        nudge_batch_result *out, nudge_err *err);

int nudge_notification_get(nudge *n, int64_t clinic_id, int64_t id, nudge_notification *out,
                           nudge_err *err);
typedef int (*nudge_notification_fn)(void *ctx, const nudge_notification *m);
int nudge_notification_list(nudge *n, int64_t clinic_id, const char *status, int64_t after_id,
                            int limit, nudge_notification_fn fn, void *ctx, nudge_err *err);
/* The same with more filters (0 or NULL: all): created_at in [from, to). */
typedef struct nudge_notification_filter {
    const char *status, *channel;
    int64_t patient_id, appointment_id;
    int64_t from, to;
} nudge_notification_filter;
int nudge_notification_find(nudge *n, int64_t clinic_id, const nudge_notification_filter *f,
                            int64_t after_id, int limit, nudge_notification_fn fn, void *ctx,
                            nudge_err *err);
/* A provider's report about a message it took (a status callback).
 * Moves the notification forward only: sent, delivered, read; failed or
 * undelivered from any state before delivered. Duplicates and late
 * arrivals are recorded and change nothing; a report for an id not yet
 * recorded (it outran the send's own record) is kept and applied when the
 * send is. *applied (may be NULL) says whether the status moved now. */
int nudge_delivery_report(nudge *n, const char *provider, const char *provider_id,
                          const char *status, const char *error_code, int *applied,
                          nudge_err *err);

/* The attempt history of one notification, oldest first. */
typedef struct nudge_attempt {
    int64_t id, notification_id;
    char transport[16];
    char outcome[16]; /* sent transient permanent config lease_expired */
    char provider_id[128];
    char detail[256];
    int64_t at;
} nudge_attempt;
typedef int (*nudge_attempt_fn)(void *ctx, const nudge_attempt *a);
int nudge_attempt_list(nudge *n, int64_t clinic_id, int64_t notification_id, nudge_attempt_fn fn,
                       void *ctx, nudge_err *err);

/* The provider's reports about one notification (delivery events), oldest
 * first. */
typedef struct nudge_delivery_event {
    int64_t id, notification_id, at;
    char provider[16], status[24], error_code[24];
    int applied; /* whether it moved the notification's status */
} nudge_delivery_event;
typedef int (*nudge_delivery_event_fn)(void *ctx, const nudge_delivery_event *d);
int nudge_delivery_event_list(nudge *n, int64_t clinic_id, int64_t notification_id,
                              nudge_delivery_event_fn fn, void *ctx, nudge_err *err);

int nudge_notification_retry(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_notification_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);

#define NUDGE_N_STATUS 8
extern const char *const nudge_status_names[NUDGE_N_STATUS];
int nudge_queue_status(nudge *n, int64_t clinic_id, int64_t counts[NUDGE_N_STATUS],
                       nudge_err *err);

/* ---- transports ---- */
/* A message as a transport sees it. */
typedef struct nudge_outgoing {
    int64_t id;        /* the notification */
    int64_t clinic_id;
    const char *medium; /* sms whatsapp email */
    const char *to;    /* E.164 or an email address */
    const char *from_name, *reply_to, *subject, *text, *html;
    const char *language, *template_name;
    const char *transport_data; /* JSON object (providers' own data) or NULL */
    int64_t now;
} nudge_outgoing;

enum nudge_send_result { NUDGE_SENT, NUDGE_SEND_TRANSIENT, NUDGE_SEND_PERMANENT, NUDGE_SEND_CONFIG };
typedef struct nudge_send_outcome {
    int result;            /* enum nudge_send_result */
    char provider_id[128]; /* the provider's id for the message, if any */
    char detail[256];      /* why it failed: no secrets, no body */
    int retry_after;       /* seconds the provider asked to wait; 0 none */
} nudge_send_outcome;

/* A transport of the embedder's: from now on it carries every message of
 * its medium sent through this handle (the built-in one stays for its
 * webhooks). send delivers one message and fills out, answering 0 (an
 * outcome, including a failure) or -1 (treated as a transient failure).
 * free (may be NULL) is called with ctx when the handle closes. */
typedef struct nudge_transport {
    const char *name;   /* recorded with each attempt, at most 31 bytes */
    const char *medium; /* sms whatsapp email */
    int (*send)(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out);
    void (*free)(void *ctx);
} nudge_transport;
int nudge_transport_register(nudge *n, const nudge_transport *t, void *ctx, nudge_err *err);
/* The transport carrying a medium ("twilio", "outbox", ...), NULL for an
 * unknown medium. */
const char *nudge_transport_for(nudge *n, const char *medium);

/* ---- custom channels (issue 16) ---- */
/* A channel of the embedder's (a push provider, a pager), registered by
 * name on this handle. Unlike nudge_transport_register it takes no medium
 * over: it carries a clinic's messages of a medium only where that
 * clinic's channel mapping names it (nudge_clinic_channel_set). Only the
 * name is stored, so no configuration file can reach a channel: a worker
 * in which the mapped name is not registered records each such message as
 * a transient failure saying so. send delivers one message (the rendered
 * text, the recipient, the clinic) and fills out, answering 0 (an outcome,
 * a failure included, recorded like a built-in channel's: attempts,
 * retries with backoff, statuses) or -1 (a transient failure). It is
 * called from the thread that runs nudge_tick, outside any transaction.
 * free (may be NULL) is called with ctx when the handle closes. */
typedef struct nudge_channel_ops {
    int (*send)(void *ctx, const nudge_outgoing *m, nudge_send_outcome *out);
    void (*free)(void *ctx);
} nudge_channel_ops;
/* name: at most 31 bytes of [a-z0-9_-], not a built-in transport's name
 * nor one registered already on this handle (NUDGE_EINVAL, field name). */
int nudge_channel_register(nudge *n, const char *name, const nudge_channel_ops *ops, void *ctx,
                           nudge_err *err);
/* A clinic's channel for a medium (sms whatsapp email): a name registered
 * on this handle (NUDGE_EINVAL, field channel, for any other), or NULL or
 * "" for the handle's transport again. Audited. */
int nudge_clinic_channel_set(nudge *n, int64_t clinic_id, const char *medium, const char *name,
                             nudge_err *err);
/* The mapped name into out ("" when the handle's transport carries it). */
int nudge_clinic_channel_get(nudge *n, int64_t clinic_id, const char *medium, char *out,
                             size_t outsz, nudge_err *err);

/* ---- provider callbacks ---- */
/* A provider's callback as the HTTP layer received it. */
typedef struct nudge_webhook {
    const char *method; /* GET (a subscription handshake) or POST */
    const char *path;   /* as requested: /webhooks/twilio/status */
    const char *body;   /* raw bytes, body_len of them */
    size_t body_len;
    const char *(*header)(void *ctx, const char *name); /* NULL when absent */
    const char *(*query)(void *ctx, const char *name);
    void *ctx;
} nudge_webhook;
/* Whether the callback is the named transport's (twilio, whatsapp, msg91):
 * 0, or -1 with NUDGE_ENOTFOUND when that provider is not configured here
 * or NUDGE_EDENIED when the signature or secret does not match (err->msg
 * says which check failed, never a secret). */
int nudge_webhook_verify(nudge *n, const char *transport, const nudge_webhook *w,
                         nudge_err *err);
/* application/x-www-form-urlencoded fields (decoded), pointing into
 * *storage (caller frees): the count, or -1 when more than max or broken. */
typedef struct nudge_form_field {
    const char *name, *value;
} nudge_form_field;
int nudge_form_parse(const char *body, size_t len, nudge_form_field *f, size_t max,
                     char **storage);

/* ---- queue metrics ---- */
/* One count under two labels (status and channel; channel and outcome). */
typedef struct nudge_count {
    char a[24], b[24];
    int64_t count;
} nudge_count;
/* Everything /metrics says about messages, for every clinic: notifications
 * by status and channel, attempts by channel and outcome, and the age of
 * the oldest due plan and due message (planner and dispatcher lag). */
typedef struct nudge_queue_stats {
    nudge_count *by_status;
    size_t n_by_status;
    nudge_count *attempts;
    size_t n_attempts;
    int64_t plan_lag, dispatch_lag; /* seconds */
} nudge_queue_stats;
int nudge_queue_metrics(nudge *n, nudge_queue_stats *out, nudge_err *err);
void nudge_queue_stats_free(nudge_queue_stats *s);

/* ---- messages from patients ---- */
typedef struct nudge_inbound {
    const char *channel;     /* sms whatsapp */
    const char *from;        /* the sender's number, E.164 */
    const char *text;        /* what they wrote, or the text of the button they tapped */
    /* A WhatsApp button: a reply button's id (confirm, reschedule) or an
     * approved template's quick-reply payload; or NULL. */
    const char *button_id;
    const char *provider_id; /* the provider's id for the message: makes handling idempotent */
    /* The provider's id of the message this one answers (WhatsApp's
     * context.id), or NULL: the visit acted on is that message's. */
    const char *context_id;
    /* The provider's own reading of the message, when it has already
     * answered the patient itself (Twilio's Advanced Opt-Out: OptOutType
     * stop, start or help): recorded, and nudge sends no answer. NULL:
     * nudge reads the message. */
    const char *opt_out;
} nudge_inbound;

typedef struct nudge_reply {
    char action[16]; /* confirmed cancelled reschedule stop start help ticket ignored */
    int64_t clinic_id, patient_id, appointment_id, ticket_id;
    int64_t notification_id; /* the answer enqueued, 0 for none */
} nudge_reply;

/* Handles one inbound message: finds the patient by number and the visit
 * it is about (the one of the message it answers, else the patient's
 * next), acts on a keyword (confirm, cancel, reschedule, STOP,
 * START, HELP, in English and Hindi) or files it in a support ticket, and
 * enqueues the answer, all in one transaction with an event. A message
 * already handled (same provider_id) changes nothing. */
int nudge_inbound_handle(nudge *n, const nudge_inbound *in, nudge_reply *out, nudge_err *err);

/* ---- audit log ---- */
typedef struct nudge_audit {
    int64_t id, clinic_id, entity_id, at;
    char actor[64], action[32], entity[32];
    char detail[256];
} nudge_audit;
typedef int (*nudge_audit_fn)(void *ctx, const nudge_audit *a);
/* Newest first; before_id 0 starts at the newest. */
int nudge_audit_list(nudge *n, int64_t clinic_id, int64_t before_id, int limit, nudge_audit_fn fn,
                     void *ctx, nudge_err *err);
/* The audit log is one hash chain per clinic (clinic_id 0: the rows about
 * no clinic): each row holds SHA-256 over the previous row's hash and its
 * own fields, and its place in the chain. One chain's verdict: */
typedef struct nudge_audit_chain {
    int64_t clinic_id;
    int64_t rows;      /* rows checked, the sealed ones included */
    int64_t sealed;    /* rows from before the chain began (schema 012), checked as one block */
    char head[65];     /* the last row's hash, hex: kept elsewhere, it also shows a lost tail */
    int64_t bad_id;    /* the row found edited, or the one after a deletion; 0 when intact */
    char problem[256]; /* what was found, naming the rows; "" when intact */
} nudge_audit_chain;
typedef int (*nudge_audit_chain_fn)(void *ctx, const nudge_audit_chain *c);
/* Walks the chains (clinic_id NUDGE_ANY_CLINIC: every chain), calling fn
 * once per chain, and stops a chain at its first problem: a row whose hash
 * does not match its fields (edited), a gap in the places (deleted), a
 * link to a previous hash that is not the previous row's (rewritten).
 * Deleting a chain's last rows is seen only against a head kept elsewhere.
 * Returns the number of broken chains, -1 on error. */
int nudge_audit_verify(nudge *n, int64_t clinic_id, nudge_audit_chain_fn fn, void *ctx,
                       nudge_err *err);
/* Who the following changes are made by, for the audit log ("cli",
 * "key:<prefix>"). */
void nudge_set_actor(nudge *n, const char *actor);

/* ---- API keys ---- */
enum nudge_role { NUDGE_ROLE_ADMIN = 1, NUDGE_ROLE_STAFF = 2, NUDGE_ROLE_INTEGRATION = 3 };
const char *nudge_role_name(int role);  /* "admin" ...; NULL for an unknown role */
int nudge_role_parse(const char *name); /* 0 for an unknown name */

typedef struct nudge_key {
    int64_t id, clinic_id;
    int role;
    char label[64];
    char prefix[24]; /* the public part, shown in lists and logs */
    int64_t created_at, last_used_at, revoked_at;
} nudge_key;

#define NUDGE_KEY_SECRET_LEN 96
/* Creates a key and writes its secret ("nudge_<prefix>_<random>") into
 * secret[NUDGE_KEY_SECRET_LEN]: the only time it exists outside the
 * caller; the store keeps a SHA-256 hash. */
int nudge_key_create(nudge *n, int64_t clinic_id, int role, const char *label, nudge_key *out,
                     char secret[NUDGE_KEY_SECRET_LEN], nudge_err *err);
/* The key a secret belongs to; ENOTFOUND for unknown, malformed or
 * revoked secrets (all alike, so a caller cannot tell which). */
int nudge_key_verify(nudge *n, const char *secret, nudge_key *out, nudge_err *err);
typedef int (*nudge_key_fn)(void *ctx, const nudge_key *k);
int nudge_key_list(nudge *n, int64_t clinic_id, nudge_key_fn fn, void *ctx, nudge_err *err);
int nudge_key_revoke(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* Number of keys not revoked, across all clinics. */
int nudge_key_count(nudge *n, int64_t *count, nudge_err *err);

/* ---- running ---- */
typedef struct nudge_tick_stats {
    int planned_enqueued; /* plans turned into notifications */
    int expired;          /* plans that came due too late */
    int claimed, sent, retried, failed, deferred;
} nudge_tick_stats;
/* One scheduler pass and one dispatcher pass (all due work, in batches). */
int nudge_tick(nudge *n, nudge_tick_stats *st, nudge_err *err);

/* A flag (set by a signal handler) that makes the dispatcher stop after the
 * batch in hand instead of draining everything due. */
void nudge_set_stop(nudge *n, volatile int *flag);

/* Observer of every dispatch outcome, for the CLI's timeline and tests. */
typedef void (*nudge_sent_fn)(void *ctx, const nudge_notification *m, const char *outcome);
void nudge_on_sent(nudge *n, nudge_sent_fn fn, void *ctx);
/* Waits up to timeout_ms for work: 1 when due work was enqueued (on
 * PostgreSQL by any process, LISTEN/NOTIFY; on SQLite by a handle of the
 * same file in this process), 0 after the timeout or a signal. The
 * daemons' loop between ticks. */
int nudge_wait(nudge *n, int timeout_ms, nudge_err *err);
/* Where the library says what a daemon's operator should hear, once per
 * event (the database connection lost, then back); otherwise silent. */
void nudge_on_log(nudge *n, void (*fn)(void *ctx, const char *msg), void *ctx);

/* ---- settings ----
 * One table describes every setting of nudge_config, as Redis's
 * static_configs[] describe its server struct: parsing, the _FILE form of
 * secrets, `nudge config show` and the generated documentation all walk it.
 * Precedence: flag, then environment (NAME or, for a secret, NAME_FILE: a
 * file whose first line is the value), then the table's default. */
typedef enum nudge_setting_type {
    NUDGE_SET_TEXT, /* any text */
    NUDGE_SET_PATH, /* a file or folder: not empty */
    NUDGE_SET_URL,  /* scheme://rest, or empty for none */
    NUDGE_SET_BOOL, /* on/off, true/false, yes/no, 1/0; a flag alone is on */
    NUDGE_SET_INT,  /* a whole number from min to max */
} nudge_setting_type;

#define NUDGE_SETTING_SECRET 1u  /* never from argv, never printed: also NAME_FILE */
#define NUDGE_SETTING_RESTART 2u /* read when the handle opens: a change needs a restart */

typedef struct nudge_setting {
    const char *name;  /* smtp_url */
    const char *flag;  /* smtp-url (--smtp-url); NULL: environment only (every secret) */
    const char *env;   /* NUDGE_SMTP_URL: "NUDGE_" + upper(name) */
    nudge_setting_type type;
    const char *def;   /* as text, parsed like a given value; NULL: unset */
    unsigned flags;    /* NUDGE_SETTING_* */
    const char *help;  /* one sentence */
    size_t offset;     /* of its field in nudge_config (const char * or int) */
    int min, max;      /* NUDGE_SET_INT */
} nudge_setting;

extern const nudge_setting nudge_settings[];
extern const int nudge_n_settings;
const nudge_setting *nudge_setting_find(const char *name);

/* Where a loaded setting's value came from. */
typedef enum nudge_setting_source {
    NUDGE_FROM_DEFAULT, /* the table (or unset when it has no default) */
    NUDGE_FROM_ENV,
    NUDGE_FROM_FILE,    /* NAME_FILE */
    NUDGE_FROM_FLAG,
} nudge_setting_source;
extern const char *const nudge_setting_source_names[]; /* "default", "environment", ... */

#define NUDGE_MAX_SETTINGS 64
/* What nudge_config_load read: each setting's source, and the values read
 * from files, which the nudge_config points into until
 * nudge_config_loaded_free wipes and frees them. */
typedef struct nudge_config_loaded {
    unsigned char source[NUDGE_MAX_SETTINGS]; /* nudge_setting_source, by table index */
    char *owned[NUDGE_MAX_SETTINGS];
} nudge_config_loaded;

/* A value by name, or NULL when absent: flag(ctx, "smtp-url") gives what
 * followed --smtp-url ("1" for a flag that takes none); env(ctx,
 * "NUDGE_DB") an environment variable. */
typedef const char *(*nudge_lookup_fn)(void *ctx, const char *name);

/* Fills every setting of cfg (the clock is left alone) from flag (may be
 * NULL), env (NULL: getenv) and the defaults; values are checked by type.
 * An error names the setting in err->field and says which flag, variable
 * or file held the bad value; NAME and NAME_FILE both set is an error.
 * On success *loaded must be freed with nudge_config_loaded_free, after
 * the last use of cfg. */
int nudge_config_load(nudge_config *cfg, nudge_config_loaded *loaded, nudge_lookup_fn flag,
                      nudge_lookup_fn env, void *ctx, nudge_err *err);
void nudge_config_loaded_free(nudge_config_loaded *loaded);
/* Gives every unset setting of cfg (NULL text, number <= 0) its default. */
void nudge_config_defaults(nudge_config *cfg);
/* A setting's value as text for people: "-" when unset, "********" for a
 * secret that is set (a secret is never written out). */
void nudge_setting_format(const nudge_setting *s, const nudge_config *cfg, char *buf, size_t n);

/* ---- times, for front ends ----
 * The library's own parser and formatter, so a CLI or an HTTP layer reads
 * and prints times in a zone exactly as the library does. */
/* RFC 3339, or a local time without offset read in zone (with zone NULL an
 * offset is required); errors are EINVAL naming field. */
int nudge_time_parse(const char *s, const char *zone, int64_t *out, const char *field,
                     nudge_err *err);
/* RFC 3339 in zone ("Z" for UTC); buf of at least 32 bytes. */
void nudge_time_format(int64_t t, const char *zone, char *buf, size_t n);
/* "HH:MM" to minutes after midnight; -1 when it is not one. */
int nudge_time_parse_hhmm(const char *s, int *minutes);

/* ---- changes made once and changes made on a condition ----
 * What a front end (the HTTP API, the CLI, an embedder) needs to offer
 * retries and optimistic locking with the library's guarantees. */

/* The change nudge_once runs, inside the transaction that stores its
 * answer. Return 0 with *code and *answer (malloc'd text; nudge stores
 * and frees it) to keep the change, or -1 to roll it back and remember
 * nothing, so a retry of a failed request runs afresh. */
typedef int (*nudge_once_fn)(void *ctx, int *code, char **answer);
typedef struct nudge_once_result {
    int replayed; /* 1: the key was seen; code and answer are the first run's */
    int code;
    char *answer; /* on a replay, the caller's to free */
} nudge_once_result;
#define NUDGE_ONCE_KEY_MAX 200
/* Runs fn at most once per clinic and key (1 to NUDGE_ONCE_KEY_MAX bytes).
 * A later call with the same key and the same request bytes gets the
 * first answer back without running fn; with other request bytes it is
 * refused with ECONFLICT (field "idempotency_key"). The request is kept as
 * its SHA-256. A failing fn is not an error: out->replayed is 0 and
 * nothing is stored. */
int nudge_once(nudge *n, int64_t clinic_id, const char *key, const void *request,
               size_t request_len, nudge_once_fn fn, void *ctx, nudge_once_result *out,
               nudge_err *err);

/* The appointment actions by name, NULL-terminated: "confirm", "cancel",
 * "complete", "no-show", "reschedule" (to start_at). */
extern const char *const nudge_appointment_actions[];
/* One action, with If-Match: if_version != 0 refuses with ECONFLICT (field
 * "version") unless the stored version still equals it, checked in the
 * action's own transaction, so two clients acting on one version cannot
 * both succeed. *out (may be NULL) gets the appointment after. An unknown
 * action is EINVAL (field "action"). */
int nudge_appointment_act(nudge *n, int64_t clinic_id, int64_t id, const char *action,
                          int64_t start_at, int64_t if_version, nudge_appointment *out,
                          nudge_err *err);

/* The schema version the store has and the one this build wants; the
 * store is ready for this build when they are equal. -1 when the store
 * does not answer. */
int nudge_schema_status(nudge *n, int *have, int *want, nudge_err *err);
/* The schema version this build's migrations reach (the same number on
 * both engines), without opening a store. */
int nudge_schema_built(void);

/* Whether the store can be reached now. A connection found lost is
 * reopened here, at most once per step of a backoff (0.25 s doubling to
 * 5 s). 0: it answers and did all along; 1: it had been lost and answers
 * again (a call that just failed on it may be retried); -1 with
 * NUDGE_EUNAVAILABLE: it cannot be reached. probe: ask the server (one
 * round trip) instead of trusting what the connection last saw. A SQLite
 * file always answers. */
int nudge_store_ping(nudge *n, int probe, nudge_err *err);

/* ---- moving a store to another engine ----
 * nudge_store_copy copies every table of the store at `from` into the
 * empty store at `to` (any two of sqlite:PATH and postgres://...): the
 * target is migrated to this build's schema first and must then hold no
 * row; the source must be at the same version. Rows keep their ids (on
 * PostgreSQL each identity moves past the largest), tables go in
 * foreign-key order, all in one transaction on the target, read from one
 * transaction on the source. Before committing, every table is counted and
 * checksummed on both sides the same way (below); any difference rolls the
 * copy back and fails with NUDGE_ESTORE, the report saying where. A
 * non-empty target or differing versions: NUDGE_ECONFLICT, nothing
 * written. The checksum of a table is the hex SHA-256 of its row count
 * and the sum (mod 2^256) of its rows' SHA-256 digests, a row being each
 * column as text with NULL distinct from '': independent of row order, so
 * of each engine's collation, and computed in constant memory. */
#define NUDGE_COPY_MAX_TABLES 64
typedef struct nudge_copy_table {
    char name[64];
    int64_t rows_from, rows_to;
    char sum_from[65], sum_to[65];
} nudge_copy_table;
typedef struct nudge_copy_report {
    int schema_version;
    int ntables; /* in the order copied */
    nudge_copy_table tables[NUDGE_COPY_MAX_TABLES];
} nudge_copy_report;
/* now: the time recorded for migrations applied to the target. */
int nudge_store_copy(const char *from, const char *to, int64_t now, nudge_copy_report *out,
                     nudge_err *err);

/* ---- tasks: the durable scheduler (task.c) and backups (backup.c) ----
 * A task runs a registered function on a schedule in a named zone:
 *   once      "2026-12-01T09:00" (local in the zone, or RFC 3339)
 *   daily     "HH:MM"
 *   weekly    "mon,thu HH:MM"
 *   monthly   "D HH:MM", D 1-31 (31 runs on the last day of a shorter month)
 *   interval  "N[s|m|h|d]" from start_at
 *   rrule     an RFC 5545 RRULE ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"), DTSTART
 *             start_at in the zone
 * An occurrence is claimed in the store (a conditional UPDATE of the task
 * row), so every process sharing the database runs it once. A task that
 * came due while nothing ran runs once, late, then goes on from now. A
 * failed attempt is retried after backoff_seconds, doubling, up to
 * max_retries; then the task is failed until resumed. clinic_id 0: the
 * installation's own task (backup, scans of every clinic); else the
 * clinic's, seen only with that clinic's scope. */
#define NUDGE_TASK_GLOBAL 0
typedef struct nudge_task {
    int64_t id;
    int64_t clinic_id;    /* NUDGE_TASK_GLOBAL or a clinic */
    char name[64];        /* unique per clinic */
    char fn[64];          /* the registered function ("purge", "backup", ...) */
    char kind[16];        /* once daily weekly monthly interval rrule */
    char schedule[256];
    char timezone[64];    /* IANA zone; default UTC (a clinic's task: its zone) */
    char args[512];       /* a JSON object for the function, or "" */
    char status[16];      /* scheduled running paused failed completed */
    int64_t start_at;     /* once: the instant; interval, rrule: the start */
    int64_t next_run;     /* 0: none */
    int64_t slot;         /* the occurrence in hand: retries keep it */
    int attempts;         /* of the occurrence in hand */
    int max_retries;      /* < 0 on add: 3 */
    int backoff_seconds;  /* 0 on add: 60 */
    int64_t last_run_at;
    char last_outcome[16]; /* ok failed lost, "" before the first run */
    char last_error[256];
    int64_t created_at, updated_at;
} nudge_task;
typedef struct nudge_task_run {
    int64_t id, task_id, clinic_id;
    int64_t slot;       /* the occurrence it ran for */
    int attempt;        /* 1 the first, then each retry */
    int64_t started_at, ended_at; /* ended 0: still running */
    int64_t duration;   /* seconds of the clock */
    char outcome[16];   /* running ok failed lost (its worker stopped) */
    char error[256];
    int late;           /* started more than NUDGE_TASK_LATE after its slot */
    char worker[64];
} nudge_task_run;
#define NUDGE_TASK_LATE 60
/* A task function: 0 done, -1 failed with err (retried). `now` is the
 * tick's instant; t->args holds its JSON arguments. */
typedef int (*nudge_task_fn)(nudge *n, const nudge_task *t, int64_t now, void *ctx,
                             nudge_err *err);
/* Registers (or replaces, a built-in included) a function tasks can name,
 * in this handle: only handles that know a function run its tasks. */
int nudge_task_register(nudge *n, const char *name, nudge_task_fn fn, void *ctx, nudge_err *err);
/* The functions this handle knows, built-ins first: the count, names into
 * names[max]. */
int nudge_task_functions(nudge *n, const char **names, int max);
/* Adds a task (id, status, next_run, timestamps set). */
int nudge_task_add(nudge *n, nudge_task *t, nudge_err *err);
int nudge_task_get(nudge *n, int64_t clinic_id, int64_t id, nudge_task *out, nudge_err *err);
typedef int (*nudge_task_each_fn)(void *ctx, const nudge_task *t);
/* Every task the scope sees (NUDGE_ANY_CLINIC: all), by id. */
int nudge_task_list(nudge *n, int64_t clinic_id, nudge_task_each_fn fn, void *ctx,
                    nudge_err *err);
typedef int (*nudge_task_run_fn)(void *ctx, const nudge_task_run *r);
/* A task's runs, newest first, at most limit (0: 50). */
int nudge_task_runs(nudge *n, int64_t clinic_id, int64_t id, int limit, nudge_task_run_fn fn,
                    void *ctx, nudge_err *err);
/* Pause (not while running), resume (a paused or failed task, from now)
 * and run now (due at once; run here if this handle knows its function,
 * else by the next worker that does). */
int nudge_task_pause(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_task_resume(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_task_run_now(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_task_delete(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* The first occurrence of t's schedule strictly after `after` (0: none),
 * for t as given (kind, schedule, timezone, start_at). */
int nudge_task_next(const nudge_task *t, int64_t after, int64_t *next, nudge_err *err);
/* Runs the tasks due at now that this handle knows (nudge_tick does this);
 * *ran gets how many ran here (may be NULL). */
int nudge_task_tick(nudge *n, int64_t now, int *ran, nudge_err *err);

/* Backups (the "backup" task runs nudge_backup with its args). SQLite:
 * the online backup API into dir/nudge-YYYYMMDDTHHMMSSZ.db, written under
 * a temporary name then renamed, keeping the newest `keep`; with encrypt,
 * AES-256-GCM under the backup_key setting (64 hex digits), as ".db.enc".
 * PostgreSQL: refused (EINVAL), pointing to pg_dump (docs/OPERATIONS.md).
 * dir NULL, keep 0: the settings' backup_dir and backup_keep. path gets
 * the file written. */
int nudge_backup(nudge *n, const char *dir, int keep, int encrypt, char *path, size_t path_n,
                 nudge_err *err);
/* Replaces this handle's SQLite database with a backup (encrypted ones
 * need the same key; a wrong key or a changed byte is refused, EDENIED,
 * and nothing is written). Stop the workers first. */
int nudge_backup_restore(nudge *n, const char *file, nudge_err *err);

/* ---- records described once ----
 * One table of fields per record drives reading its rows, its JSON shape
 * (names, types, read-only and required fields, lengths) and can drive a
 * front end's options: the API's codec walks them, and so can a CLI. Each
 * table ends with an entry whose name is NULL. */
enum nudge_ftype {
    NUDGE_T_INT64,   /* int64_t */
    NUDGE_T_ID,      /* int64_t, a positive id; with NUDGE_F_NULLABLE 0 is null */
    NUDGE_T_INT,     /* int */
    NUDGE_T_BOOL,    /* int 0 or 1; JSON true or false */
    NUDGE_T_TEXT,    /* char[size]; with NUDGE_F_NULLABLE "" is null */
    NUDGE_T_STR,     /* char *, owned by the record; NULL or "" is null */
    NUDGE_T_TIME,    /* int64_t seconds UTC, RFC 3339 in the clinic's zone; 0 is null */
    NUDGE_T_HHMM,    /* int minutes after local midnight, "HH:MM"; -1 is null */
    NUDGE_T_ENUM,    /* int: names[value - base]; out of range is null */
    NUDGE_T_TAGS,    /* char[size] of comma-separated items; a JSON array of strings */
    NUDGE_T_OPTOUTS, /* unsigned enum nudge_optout bits; names from nudge_optout_names */
    NUDGE_T_QUIET,   /* int start, end (adjacent); {"start","end"} "HH:MM", null when equal */
    NUDGE_T_OFFSETS, /* int[NUDGE_MAX_OFFSETS] followed by its int count; minutes */
    NUDGE_T_SOURCE,  /* int64_t owning clinic, 0 built in: "clinic" or "built-in" */
};
enum nudge_fflag {
    NUDGE_F_RO = 1 << 0,       /* read-only: refused on input */
    NUDGE_F_REQUIRED = 1 << 1, /* must be given on create */
    NUDGE_F_NULLABLE = 1 << 2, /* null (or absent) is the empty value */
    NUDGE_F_CREATE = 1 << 3,   /* settable on create */
    NUDGE_F_UPDATE = 1 << 4,   /* settable on update */
    NUDGE_F_HIDDEN = 1 << 5,   /* stored and read, never shown (version: the ETag) */
    NUDGE_F_BYNAME = 1 << 6,   /* an ENUM stored by its name, not its number */
};
typedef struct nudge_field {
    const char *name;   /* JSON name; its CLI option is the same with '-' for '_' */
    const char *column; /* SQL column(s) its value is read from; NULL: none */
    size_t offset;      /* in the record */
    size_t size;        /* of the member: text fields hold size - 1 bytes at most */
    int type;           /* enum nudge_ftype */
    int flags;          /* enum nudge_fflag */
    const char *const *names; /* the allowed values (ENUM, TEXT), NULL-terminated */
    int base;                 /* ENUM: the value of names[0] */
    const char *help;         /* one line */
    const char *why;          /* read-only: where changes go instead, or NULL */
    const char *cli;          /* the CLI option when it is not the name with '-' for '_' */
} nudge_field;

extern const nudge_field nudge_clinic_fields[];
extern const nudge_field nudge_patient_fields[];
extern const nudge_field nudge_appointment_fields[];
extern const nudge_field nudge_reminder_fields[];
extern const nudge_field nudge_prescription_fields[];
extern const nudge_field nudge_medication_fields[];
extern const nudge_field nudge_recall_rule_fields[];
extern const nudge_field nudge_recall_fields[];
extern const nudge_field nudge_lab_order_fields[];
extern const nudge_field nudge_notification_fields[];
extern const nudge_field nudge_attempt_fields[];
extern const nudge_field nudge_delivery_event_fields[];
extern const nudge_field nudge_key_fields[];
extern const nudge_field nudge_template_fields[];
extern const nudge_field nudge_audit_fields[];
/* The field called name, or NULL. */
const nudge_field *nudge_field_find(const nudge_field *fields, const char *name);

/* Opt-out names in bit order (NUDGE_OPTOUT_REMINDERS first), NULL-terminated. */
#define NUDGE_N_OPTOUTS 7
extern const char *const nudge_optout_names[NUDGE_N_OPTOUTS + 1];
/* The bit of one name ("sms" -> NUDGE_OPTOUT_SMS), 0 for an unknown one;
 * also maps a notification's category or channel to its opt-out. */
unsigned nudge_optout_parse(const char *name);
/* Priority names by value (NUDGE_LOW first), NULL-terminated. */
extern const char *const nudge_priority_names[];
/* The index of s in a NULL-terminated name list (a field's names), or -1. */
int nudge_names_find(const char *const *names, const char *s);
/* The list as text into buf: "a, b or c" with last " or ", or each joined
 * by sep when last is NULL ("a|b|c"); quoted: each in double quotes. */
void nudge_names_join(const char *const *names, int quoted, const char *sep, const char *last,
                      char *buf, size_t n);

/* NULL, empty or only white space: a value not given. */
int nudge_blank(const char *s);
/* The one way untrusted text (a path, a method, a provider's answer)
 * enters a log line: printable ASCII is kept, a backslash and '"' are
 * escaped, and every other byte (control characters, DEL, anything above
 * 0x7f) is written as \n, \r, \t or \xNN, so no input can end a line, forge
 * one, or reach a terminal as an escape sequence. len bytes of s are read
 * (NUL included); the text is cut to fit buf with "..." at its end; NULL
 * gives "-". Returns buf. */
const char *nudge_log_text(char *buf, size_t size, const char *s, size_t len);
/* Fills err (if not NULL) and returns -1, so a front end or an embedder's
 * own checks can report as the library does. */
int nudge_err_set(nudge_err *err, int code, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- staff notifications (staff.c) and outgoing webhooks (hook.c) ----
 * A clinic's staff hear from nudge on their own channels (an email, a
 * phone for SMS, a chat room's incoming-webhook URL that gets
 * {"text": ...}): immediate alerts (escalated tickets, no-shows, messages
 * that failed for good, refused credentials) and a daily digest of
 * tomorrow's visits at a local time of the clinic. Integrators subscribe
 * URLs to event types; each delivery is a signed POST (README, "Outgoing
 * webhooks"). Both travel as hook deliveries: durable, retried with
 * backoff, every attempt kept. */
typedef struct nudge_staff {
    int64_t id, clinic_id;
    char name[128];
    char role[32];       /* free text ("reception", "dentist"); steps pick staff by it */
    char email[256];     /* "": none */
    char phone[20];      /* E.164 after normalisation; "": none */
    char chat_url[512];  /* http(s) incoming-webhook URL; "": none */
    int alerts;          /* 1: takes immediate alerts (the CLI and API default to 1) */
    int digest;          /* 1: takes the daily digest (likewise) */
    int64_t created_at;
} nudge_staff;
int nudge_staff_add(nudge *n, nudge_staff *s, nudge_err *err);
typedef int (*nudge_staff_fn)(void *ctx, const nudge_staff *s);
int nudge_staff_list(nudge *n, int64_t clinic_id, nudge_staff_fn fn, void *ctx, nudge_err *err);
/* Removes a member with their pending deliveries. */
int nudge_staff_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* The clinic's digest time (minutes after local midnight; -1: no digest). */
int nudge_staff_digest_set(nudge *n, int64_t clinic_id, int minute, nudge_err *err);
int nudge_staff_digest_get(nudge *n, int64_t clinic_id, int *minute, nudge_err *err);
/* An alert to the clinic's staff who take alerts (role NULL or "": all;
 * else those of that role): one delivery per member and channel, once per
 * key (NULL: always new). *count (may be NULL) gets how many. */
int nudge_staff_alert(nudge *n, int64_t clinic_id, const char *role, const char *text,
                      const char *key, int *count, nudge_err *err);

typedef struct nudge_hook {
    int64_t id, clinic_id;
    char url[512];      /* http:// or https:// */
    char events[512];   /* comma-separated event types, or "*" */
    int active;
    char secret[72];    /* "whsec_" + 64 hex: set by nudge_hook_add only (shown once) */
    int64_t created_at;
} nudge_hook;
int nudge_hook_add(nudge *n, nudge_hook *h, nudge_err *err);
typedef int (*nudge_hook_fn)(void *ctx, const nudge_hook *h);
/* The clinic's subscriptions (secrets left empty). */
int nudge_hook_list(nudge *n, int64_t clinic_id, nudge_hook_fn fn, void *ctx, nudge_err *err);
int nudge_hook_get(nudge *n, int64_t clinic_id, int64_t id, nudge_hook *out, nudge_err *err);
int nudge_hook_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
typedef struct nudge_hook_attempt {
    int attempt;
    int64_t at;
    int http_status; /* 0: no HTTP answer */
    char outcome[16]; /* delivered retry failed */
    char error[256];
} nudge_hook_attempt;
#define NUDGE_HOOK_MAX_ATTEMPTS 8
typedef struct nudge_hook_delivery {
    int64_t id, clinic_id, subscription_id, staff_id, event_id; /* 0: none */
    char event_type[64];
    char target[16];     /* webhook email sms chat */
    char recipient[512];
    char status[16];     /* pending delivered failed */
    int attempts, max_attempts;
    int64_t next_try, created_at, updated_at;
    char last_error[256];
    int n_tries;         /* tries[] filled, oldest first */
    nudge_hook_attempt tries[NUDGE_HOOK_MAX_ATTEMPTS];
} nudge_hook_delivery;
typedef int (*nudge_hook_delivery_fn)(void *ctx, const nudge_hook_delivery *d);
/* Deliveries of a subscription (0: those to no subscription: staff
 * messages and a workflow's calls of a bare URL), newest first, at most
 * limit (0: 50), each with its attempts. */
int nudge_hook_deliveries(nudge *n, int64_t clinic_id, int64_t subscription_id, int limit,
                          nudge_hook_delivery_fn fn, void *ctx, nudge_err *err);
/* ---- segments and broadcasts (src/segment.c, src/broadcast.c) ----
 * A segment is a JSON object of criteria, ANDed; a criterion given a list
 * matches any of its values (OR):
 *   {"diagnosis": ["diabetes"], "age_range": [40, 60], "gender": ["F"],
 *    "last_visit_days": 180, "tags": ["vip"], "language": ["hi"],
 *    "has_future_appointment": false, "never_visited": true,
 *    "consented_to_category": ["health_tips"]}
 * diagnosis and tags match the patient's comma-separated tags (which hold
 * diagnoses and tags alike), case-insensitively; age_range is whole years
 * on the clinic's clock (patients without a date of birth never match);
 * last_visit_days: seen within that many days. An unknown criterion or a
 * bad value is refused (NUDGE_EINVAL) with field naming it ("age_range"). */
typedef struct nudge_segment {
    int64_t id, clinic_id;
    char name[128];
    char *criteria;        /* JSON object, normalised */
    int64_t patient_count; /* at evaluated_at */
    int64_t evaluated_at, created_at;
} nudge_segment;
void nudge_segment_free(nudge_segment *s);
/* The document's create_patient_segment(name, criteria): creates the
 * clinic's segment, or replaces the criteria of the one of that name, and
 * evaluates it (patient_count). */
int nudge_segment_save(nudge *n, int64_t clinic_id, const char *name, const char *criteria,
                       int64_t *id, nudge_err *err);
int nudge_segment_get(nudge *n, int64_t clinic_id, int64_t id, nudge_segment *out,
                      nudge_err *err);
typedef int (*nudge_segment_fn)(void *ctx, const nudge_segment *s);
int nudge_segment_list(nudge *n, int64_t clinic_id, nudge_segment_fn fn, void *ctx,
                       nudge_err *err);
/* Before sending: how many patients criteria match now, and the ids of up
 * to max of them (lowest first). */
int nudge_segment_preview(nudge *n, int64_t clinic_id, const char *criteria, int64_t *count,
                          int64_t *sample, int max, int *nsample, nudge_err *err);
/* A saved segment's preview, which refreshes its patient_count. */
int nudge_segment_evaluate(nudge *n, int64_t clinic_id, int64_t id, int64_t *count,
                           int64_t *sample, int max, int *nsample, nudge_err *err);

/* A broadcast: a notice (to listed patients), a health tip or a campaign
 * (to a segment). Its message is free text per language, a JSON object
 * {"en": "...", "hi": "..."} (a plain text is English), or a template;
 * each patient gets it in their language, else the clinic's, else
 * English. variants, instead, is a JSON array of two or more messages
 * [{"name": "A", "weight": 1, "text": {...}, "subject": {...}} |
 *  {"name": "B", "template": "..."}], each patient given one at random
 * (in proportion to weight) and the assignment recorded. It fans out into
 * the queue at low priority in batches, each its own transaction, from
 * nudge_tick; a campaign waits for scheduled_at, and one found more than
 * grace past it (downtime) becomes "stale" and waits for staff to resume
 * or cancel it. Statuses: scheduled, sending, paused, completed,
 * cancelled, stale. */
typedef struct nudge_broadcast_spec {
    const char *kind;          /* notice, tip, campaign */
    const char *name;          /* required */
    const int64_t *patient_ids; /* the audience: these patients, or */
    int npatients;
    int64_t segment_id;        /* a saved segment's criteria, or */
    const char *criteria;      /* criteria JSON; none of the three: every patient */
    const char *text;          /* the message: text, */
    const char *subject;       /* (email subject, same forms) */
    const char *template_name; /* or a template, */
    const char *variants;      /* or A/B variants */
    const char *channel;       /* sms, whatsapp, email; NULL: each patient's route */
    int64_t scheduled_at;      /* 0: now */
    int64_t grace;             /* seconds past scheduled_at it may still start; 0: 2 h */
    int book_days;             /* stats: bookings within N days of a send; 0: 7 */
} nudge_broadcast_spec;
int nudge_broadcast_create(nudge *n, int64_t clinic_id, const nudge_broadcast_spec *s,
                           int64_t *id, nudge_err *err);
/* The same from a JSON object (the API's body: "name", "patient_ids",
 * "segment_id", "criteria", "text", "subject", "template", "variants",
 * "channel", "scheduled_time" as RFC 3339, "grace_minutes", "book_days"),
 * len bytes; errors name the member. */
int nudge_broadcast_create_json(nudge *n, int64_t clinic_id, const char *kind, const char *json,
                                size_t len, int64_t *id, nudge_err *err);
/* The document's three calls. */
int nudge_send_clinic_notice(nudge *n, int64_t clinic_id, const int64_t *patient_ids, int count,
                             const nudge_broadcast_spec *notice, int64_t *id, nudge_err *err);
int nudge_send_health_tip(nudge *n, int64_t clinic_id, int64_t segment_id,
                          const nudge_broadcast_spec *tip, int64_t *id, nudge_err *err);
int nudge_send_campaign(nudge *n, int64_t clinic_id, const nudge_broadcast_spec *campaign,
                        int64_t *id, nudge_err *err);

typedef struct nudge_broadcast {
    int64_t id, clinic_id, segment_id;
    char kind[16], name[128], category[16], status[16], audience[8], channel[16];
    char *criteria, *variants, *note; /* JSON, JSON, text (NULL when none) */
    int64_t scheduled_at, grace, started_at, completed_at, created_at, updated_at;
    int book_days;
    int64_t total, queued, skipped; /* as recorded by the fan-out so far */
} nudge_broadcast;
void nudge_broadcast_free(nudge_broadcast *b);
int nudge_broadcast_get(nudge *n, int64_t clinic_id, int64_t id, nudge_broadcast *out,
                        nudge_err *err);
typedef int (*nudge_broadcast_fn)(void *ctx, const nudge_broadcast *b);
int nudge_broadcast_list(nudge *n, int64_t clinic_id, nudge_broadcast_fn fn, void *ctx,
                         nudge_err *err);
/* Cancel stops what has not left (its queued messages still pending are
 * cancelled too); pause holds the fan-out and the pending messages;
 * resume continues where it stopped (and lets a stale campaign go). */
int nudge_broadcast_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_broadcast_pause(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
int nudge_broadcast_resume(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);

/* Why a patient of a broadcast's audience got nothing. */
#define NUDGE_N_SKIP 5
extern const char *const nudge_skip_reasons[NUDGE_N_SKIP + 1]; /* opted_out no_consent no_channel outside_window quota */
typedef struct nudge_delivery_stats {
    char variant[32]; /* "": the whole broadcast */
    int64_t total, queued, skipped, skipped_by[NUDGE_N_SKIP];
    int64_t pending, sent, delivered, read, failed, cancelled, replied, booked;
    double delivery_rate; /* delivered / total (0 when total is 0) */
} nudge_delivery_stats;
/* The document's get_delivery_stats: out[0] the whole broadcast, then one
 * per variant; *count entries (at most max). sent counts what left
 * (delivered and read included), delivered what arrived (read included);
 * replied and booked count patients who wrote back, or booked a visit,
 * within book_days of their message leaving. */
int nudge_get_delivery_stats(nudge *n, int64_t clinic_id, int64_t id, nudge_delivery_stats *out,
                             int max, int *count, nudge_err *err);
/* A broadcast (with its stats) as a JSON object, for the front ends; the
 * caller frees *out. */
int nudge_broadcast_json(nudge *n, int64_t clinic_id, int64_t id, int with_stats, char **out,
                         nudge_err *err);
/* ---- support tickets, the FAQ and loyalty (ticket.c, faq.c, loyalty.c) ----
 * A ticket is the dental document's SupportTicket: opened by staff, by the
 * API (a clinic's web form) or by a patient's free-text reply; status
 * open, in_progress, resolved, closed or escalated; a priority (low,
 * normal, high, urgent), an assignee and a thread of messages. Each change
 * emits its event (ticket.opened, ticket.escalated, ticket.resolved,
 * ticket.closed) in its transaction. */
typedef struct nudge_ticket {
    int64_t id, clinic_id, patient_id; /* patient_id 0: none (a web form) */
    char subject[200];
    char description[2000];
    char status[16];
    char priority[8];
    char assigned_to[64];
    char source[8];       /* patient, staff, api */
    int64_t faq_id;       /* the FAQ entry that resolved it (0: none) */
    int confidence;       /* of the automatic match, percent (-1: not tried) */
    int64_t created_at, updated_at, resolved_at, closed_at;
} nudge_ticket;
typedef struct nudge_ticket_message {
    int64_t id, ticket_id;
    char direction[4];    /* in (the patient), out (to the patient) */
    char channel[16];
    char author[64];      /* staff who wrote it; "faq" for an automatic answer */
    char body[2000];
    int64_t notification_id, faq_id;
    int64_t created_at;
} nudge_ticket_message;
/* Opens a ticket (t->clinic_id, subject required; priority "" = normal;
 * source "" = staff); sets id and the rest. */
int nudge_ticket_open(nudge *n, nudge_ticket *t, nudge_err *err);
int nudge_ticket_get(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket *out, nudge_err *err);
typedef int (*nudge_ticket_fn)(void *ctx, const nudge_ticket *t);
/* A clinic's tickets (NUDGE_ANY_CLINIC: all) with status ("": any), by
 * id after after_id, at most limit (0: 50). */
int nudge_ticket_list(nudge *n, int64_t clinic_id, const char *status, int64_t after_id,
                      int limit, nudge_ticket_fn fn, void *ctx, nudge_err *err);
typedef int (*nudge_ticket_message_fn)(void *ctx, const nudge_ticket_message *m);
int nudge_ticket_thread(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_message_fn fn,
                        void *ctx, nudge_err *err);
/* A staff reply: goes to the patient on the ticket's channel (template
 * ticket_reply) and onto the thread; an open or escalated ticket is then
 * in progress. *message_id (may be NULL) gets the thread's row. */
int nudge_ticket_reply(nudge *n, int64_t clinic_id, int64_t id, const char *author,
                       const char *text, int64_t *message_id, nudge_err *err);
/* Assigns to a staff member (an open or escalated ticket is then in
 * progress); closing ends it (a closed ticket takes no reply). */
int nudge_ticket_assign(nudge *n, int64_t clinic_id, int64_t id, const char *assignee,
                        nudge_err *err);
int nudge_ticket_close(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
/* What the automatic answer did to an open ticket. */
typedef struct nudge_ticket_outcome {
    char action[16];      /* resolved, escalated, skipped (not open) */
    char reason[16];      /* urgent, no_match, low_confidence, no_patient, matched */
    int64_t faq_id;       /* the best entry (0: none) */
    int confidence;       /* percent; -1 when not searched (urgent) */
    int64_t notification_id;
} nudge_ticket_outcome;
/* Auto-resolution of an open ticket: urgent words escalate it (priority
 * urgent); else the clinic's FAQ is searched and an entry at or above the
 * clinic's threshold answers the patient (template faq_answer) and
 * resolves it; else it is escalated. The workflow step ticket.autoresolve
 * does the same. */
int nudge_ticket_autoresolve(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_outcome *out,
                             nudge_err *err);

typedef struct nudge_faq {
    int64_t id, clinic_id;
    char question[500];
    char answer[1000];
    char keywords[500];   /* words a question may use, separated by spaces or commas */
    char language[16];    /* "" on input: en */
    char seed[32];        /* the shipped entry it came from ("hours"); "" for the clinic's own */
    int64_t created_at, updated_at;
} nudge_faq;
int nudge_faq_add(nudge *n, nudge_faq *f, nudge_err *err);
int nudge_faq_get(nudge *n, int64_t clinic_id, int64_t id, nudge_faq *out, nudge_err *err);
int nudge_faq_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err);
typedef int (*nudge_faq_fn)(void *ctx, const nudge_faq *f);
/* language "" or NULL: every language. */
int nudge_faq_list(nudge *n, int64_t clinic_id, const char *language, nudge_faq_fn fn, void *ctx,
                   nudge_err *err);
/* Adds the shipped entries (English and Hindi: hours, location, parking,
 * insurance, fees, cancellation) a clinic lacks; a new clinic gets them
 * when made. *added (may be NULL) gets the count. */
int nudge_faq_seed(nudge *n, int64_t clinic_id, int *added, nudge_err *err);
/* The search a ticket's text gets, without acting on it. */
typedef struct nudge_faq_match {
    int urgent;           /* the text names an urgent symptom */
    char urgent_word[64];
    int64_t faq_id;       /* best entry (0: none matched) */
    int confidence;       /* percent of the text's words the entry matches */
    int threshold;        /* the clinic's */
    char answer[1000];
    char language[16];
} nudge_faq_match;
int nudge_faq_match_text(nudge *n, int64_t clinic_id, const char *text, nudge_faq_match *out,
                         nudge_err *err);
/* The clinic's confidence threshold, percent (default 50). */
int nudge_faq_threshold(nudge *n, int64_t clinic_id, int *threshold, nudge_err *err);
int nudge_faq_set_threshold(nudge *n, int64_t clinic_id, int threshold, nudge_err *err);

/* Loyalty: a ledger per patient whose sum is the balance. ref_kind: visit,
 * manual, redemption, referral (with ref_id: the visit, the referred
 * patient). */
typedef struct nudge_loyalty_entry {
    int64_t id, clinic_id, patient_id;
    int64_t points;
    char reason[200];
    char ref_kind[16];
    int64_t ref_id;
    int64_t created_at;
} nudge_loyalty_entry;
/* Adds points (a manual adjustment may be negative, but not below zero);
 * *id (may be NULL) gets the entry. */
int nudge_loyalty_add(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                      const char *reason, int64_t *id, nudge_err *err);
/* Takes points off; refused (NUDGE_ECONFLICT, field "points") when the
 * balance would go below zero, whoever redeems at the same moment. */
int nudge_loyalty_redeem(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                         const char *reason, int64_t *id, nudge_err *err);
int nudge_loyalty_balance(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t *balance,
                          nudge_err *err);
typedef int (*nudge_loyalty_fn)(void *ctx, const nudge_loyalty_entry *e);
/* The ledger, newest first, at most limit (0: 50). */
int nudge_loyalty_ledger(nudge *n, int64_t clinic_id, int64_t patient_id, int limit,
                         nudge_loyalty_fn fn, void *ctx, nudge_err *err);
/* The points a completed visit earns by the clinic's rules (visit, and its
 * service's), given once per visit; *points (may be NULL) gets the sum. */
int nudge_loyalty_visit(nudge *n, int64_t clinic_id, int64_t appointment_id, int64_t *points,
                        nudge_err *err);
typedef struct nudge_loyalty_rule {
    int64_t id, clinic_id;
    char kind[16];        /* visit, service, referral */
    char service[128];    /* kind service: the appointment's service */
    int64_t points;
} nudge_loyalty_rule;
/* Sets (or, with points 0, removes) the rule of (kind, service). */
int nudge_loyalty_rule_set(nudge *n, nudge_loyalty_rule *r, nudge_err *err);
typedef int (*nudge_loyalty_rule_fn)(void *ctx, const nudge_loyalty_rule *r);
int nudge_loyalty_rules(nudge *n, int64_t clinic_id, nudge_loyalty_rule_fn fn, void *ctx,
                        nudge_err *err);
/* Tells the patient their balance (template loyalty_balance). */
int nudge_loyalty_tell(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t *notification_id,
                       nudge_err *err);
/* ---- workflows (src/workflow.c): what happens on an event ---- */
/* A workflow is a JSON definition bound to event types ("on"), whose
 * steps run in order, each in a transaction of its own with its result:
 *   {"name": "appointment_scheduling", "on": ["appointment.booked"],
 *    "enabled": true, "description": "...",
 *    "steps": [{"kind": "reminders.plan", "plan": "confirmation"},
 *              {"kind": "wait", "minutes": 60},
 *              {"kind": "stop_if", "field": "status", "op": "==", "value": "cancelled"},
 *              {"kind": "message.send", "template": "x", "channel": "sms",
 *               "delay_minutes": 0, "priority": "high", "on_error": "stop"}]}
 * Built-ins ship in the binary; a clinic's own definition of a name
 * replaces the built-in of that name for the clinic (every version kept). */

/* What a custom step (the document's WorkflowTask) sees of its run. */
typedef struct nudge_workflow_context {
    nudge *n;
    int64_t clinic_id, run_id, event_id, subject_id, now;
    int step;               /* index in the definition */
    const char *workflow;   /* the workflow's name */
    const char *event_type; /* "appointment.booked", ... */
    const char *event_json; /* the event's payload, a JSON object */
    const char *args_json;  /* the step's own members (kind and on_error left out) */
} nudge_workflow_context;
/* A custom step: get_name() is the kind definitions name it by; execute
 * runs inside the step's write transaction (it may call the library's
 * changes, which join it) and may set *result_json to a JSON object text
 * (malloc'd; the engine frees it). 0 done; -1 failed with err (rolled
 * back and recorded; the run goes on unless the step says "on_error":
 * "stop"). Only store writes: the transaction may run again after a crash. */
typedef struct nudge_workflow_task {
    const char *(*get_name)(void *self);
    int (*execute)(void *self, const nudge_workflow_context *ctx, char **result_json,
                   nudge_err *err);
    void *self;
} nudge_workflow_task;
/* Registers (or replaces) a custom step kind in this handle; *t is copied.
 * A name of a built-in kind is refused. */
int nudge_workflow_register_step(nudge *n, const nudge_workflow_task *t, nudge_err *err);

typedef struct nudge_workflow_info {
    char name[64];
    int64_t version;    /* 0: the built-in */
    int enabled;
    char on[256];       /* the event types, comma-separated */
    int steps;
    char description[256];
} nudge_workflow_info;
typedef int (*nudge_workflow_fn)(void *ctx, const nudge_workflow_info *w);
/* The workflows in force for a clinic: built-ins in their order, each
 * replaced by the clinic's own of that name, then the clinic's others. */
int nudge_workflow_list(nudge *n, int64_t clinic_id, nudge_workflow_fn fn, void *ctx,
                        nudge_err *err);
/* The definition in force (version 0: the built-in, also when the clinic
 * has its own), as JSON text with "version" added; the caller frees it. */
int nudge_workflow_get(nudge *n, int64_t clinic_id, const char *name, int64_t version,
                       char **json, nudge_err *err);
/* Validates and saves a clinic's definition (len bytes of JSON) as the next
 * version of its name; errors name the path of the bad member
 * ("steps[2].template"). */
int nudge_workflow_put(nudge *n, int64_t clinic_id, const char *json, size_t len,
                       int64_t *version, nudge_err *err);

typedef struct nudge_workflow_run {
    int64_t id, clinic_id, version, event_id, subject_id;
    char workflow[64];
    char event_type[64];
    char status[16];    /* running waiting succeeded partly_failed failed */
    int next_step;
    int64_t resume_at, started_at, finished_at, duration_s;
    char *steps;        /* each step's result, a JSON array (owned: freed after fn) */
} nudge_workflow_run;
typedef int (*nudge_workflow_run_fn)(void *ctx, const nudge_workflow_run *r);
/* The history (the document's get_workflow_history): runs started in
 * [from, to) (0: open), of one workflow (NULL: all), newest first, after
 * before_id (0: from the newest), up to limit. */
int nudge_workflow_history(nudge *n, int64_t clinic_id, const char *workflow, int64_t from,
                           int64_t to, int64_t before_id, int limit, nudge_workflow_run_fn fn,
                           void *ctx, nudge_err *err);
int nudge_workflow_run_get(nudge *n, int64_t clinic_id, int64_t id, nudge_workflow_run *out,
                           nudge_err *err); /* free out->steps */
/* Consumes the events not yet consumed and runs what is due now (the
 * tick does this; an embedder without a tick may call it). */
int nudge_workflow_tick(nudge *n, nudge_err *err);

/* The document's get_statistics(), for one clinic over [from, to). */
typedef struct nudge_stats {
    int64_t from, to;
    int64_t patients;           /* patients added */
    int64_t appointments;       /* visits booked (appointments rows made) */
    int64_t workflows_executed, workflows_succeeded, workflows_partly_failed,
        workflows_failed, workflows_unfinished;
    int64_t booked, confirmed, completed, no_shows; /* distinct visits with that event */
    double confirmation_rate;   /* confirmed / booked (0 when none) */
    double no_show_rate;        /* no_shows / (completed + no_shows) */
    int n_messages;
    struct {
        char channel[16];
        char status[16];
        int64_t count;
    } messages[48];             /* messages made in the range, by channel and status */
} nudge_stats;
int nudge_statistics(nudge *n, int64_t clinic_id, int64_t from, int64_t to, nudge_stats *out,
                     nudge_err *err);
/* Replies (src/reply.c): the messages sent (taken by a provider) and the
 * patients' inbound messages in [from, to) (to <= 0: no end), in all and
 * per day in the clinic's zone (only the days with either, oldest first);
 * a rate is replies / sent, 0 when nothing was sent. Free with
 * nudge_reply_stats_free. */
typedef struct nudge_reply_day {
    char date[11]; /* YYYY-MM-DD */
    int64_t sent, replies;
    double reply_rate;
} nudge_reply_day;
typedef struct nudge_reply_stats {
    int64_t sent, replies;
    double reply_rate;
    int n_days;
    nudge_reply_day *days;
} nudge_reply_stats;
int nudge_reply_stats_get(nudge *n, int64_t clinic_id, int64_t from, int64_t to,
                          nudge_reply_stats *out, nudge_err *err);
void nudge_reply_stats_free(nudge_reply_stats *s);

/* ---- consent, send windows, plans and usage (issue 17; src/consent.c) ---- */
/* The consent ledger: every grant and withdrawal of a patient per category
 * (reminders broadcasts health_tips marketing, or "*": every category) and
 * channel (sms whatsapp email, or "*"), with who, how and the wording
 * shown; the state is its newest row per key. Promotional categories
 * (health_tips, marketing) need a grant; reminders and broadcasts (the
 * clinic's notices) follow the clinic's policy (opt_out: allowed unless withdrawn; opt_in: need a grant). */
extern const char *const nudge_consent_categories[]; /* reminders ... marketing, NULL */
extern const char *const nudge_consent_sources[];    /* api staff inbound_keyword
                                                        unsubscribe_link import, NULL */
typedef struct nudge_consent_entry {
    int64_t id, clinic_id, patient_id;
    char category[16]; /* or "*" */
    char channel[16];  /* or "*" */
    char state[16];    /* granted withdrawn cleared (an opt-out flag taken off: the default again) */
    char source[24];
    char actor[64];
    char wording[512]; /* what the patient was shown, "" when none */
    char message[256]; /* what the patient sent (a keyword's message), "" when none */
    int64_t at;
} nudge_consent_entry;
/* Records one grant or withdrawal (e->category, channel, state, source,
 * wording; the actor is the handle's): errors name the field. Sets e->id
 * and e->at. */
int nudge_consent_record(nudge *n, nudge_consent_entry *e, nudge_err *err);
typedef int (*nudge_consent_fn)(void *ctx, const nudge_consent_entry *e);
/* A patient's ledger, oldest first. */
int nudge_consent_history(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_consent_fn fn,
                          void *ctx, nudge_err *err);
/* Whether a message of category on channel may reach the patient now:
 * 1 allowed, 0 refused with *reason ("opted_out", "no_consent"), -1. */
int nudge_consent_allowed(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                          const char *channel, const char **reason, nudge_err *err);

/* A clinic's plan: its tier (usage_tiers: free essential professional
 * clinic hospital; "" not metered), how reminders are consented
 * (opt_out, opt_in), its promotional send window in the patient's local
 * time (minutes after midnight; narrowed to the law of its country:
 * IN 10:00-21:00, US 08:00-21:00) and the reserve: the last messages of a
 * quota without overage kept for reminders. */
typedef struct nudge_usage_plan {
    char tier[24];
    char reminders_policy[16];
    int window_start, window_end;
    int64_t reserve;
    /* Seconds past its time a scheduled broadcast without a grace of its
     * own may still start (60 s to 7 days; 0 on set: 2 h). */
    int64_t grace;
} nudge_usage_plan;
int nudge_usage_plan_get(nudge *n, int64_t clinic_id, nudge_usage_plan *out, nudge_err *err);
int nudge_usage_plan_set(nudge *n, int64_t clinic_id, const nudge_usage_plan *p, nudge_err *err);
/* A tier of the table: quota (-1 unlimited), overage_paise per message
 * past it (every message when unlimited; -1: no overage, messages wait). */
int nudge_usage_tier_set(nudge *n, const char *name, int64_t quota, int64_t overage_paise,
                         nudge_err *err);
/* The tier table as it applies: the document's tiers, each replaced by a
 * row of the same name, then the tiers added, by name. */
typedef int (*nudge_usage_tier_fn)(void *ctx, const char *name, int64_t quota,
                                   int64_t overage_paise);
int nudge_usage_tier_list(nudge *n, nudge_usage_tier_fn fn, void *ctx, nudge_err *err);
/* A month's usage of a clinic: messages and units (SMS segments) sent by
 * channel, the quota, what went past it and its cost, in paise. */
typedef struct nudge_usage {
    char month[8]; /* YYYY-MM in the clinic's zone */
    char tier[24]; /* "" not metered */
    int64_t quota; /* -1 unlimited or not metered */
    int64_t overage_paise; /* -1 none */
    int64_t units, messages;
    int64_t channel_units[3], channel_messages[3]; /* sms whatsapp email */
    int64_t overage; /* units past the quota (every unit when unlimited and priced) */
    int64_t cost_paise;
} nudge_usage;
/* month: "YYYY-MM", or NULL/"" for the current month in the clinic's zone. */
int nudge_usage_get(nudge *n, int64_t clinic_id, const char *month, nudge_usage *out,
                    nudge_err *err);

/* One-click unsubscribe (RFC 8058): the signed URL a promotional email
 * carries, <public_url>/unsubscribe?c=..&p=..&cat=..&ch=..&exp=..&sig=..
 * (HMAC-SHA256 under unsubscribe_secret). nudge_unsubscribe checks a
 * link's parts (refused with NUDGE_EDENIED when altered or expired) and,
 * with apply, records the withdrawal (source unsubscribe_link). */
int nudge_unsubscribe_url(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                          const char *channel, int64_t expires, char *out, size_t size,
                          nudge_err *err);
typedef struct nudge_unsubscribe_link {
    int64_t clinic_id, patient_id, expires;
    const char *category, *channel, *sig;
} nudge_unsubscribe_link;
int nudge_unsubscribe(nudge *n, const nudge_unsubscribe_link *l, int apply, nudge_err *err);

/* ---- read scope (issue 16) ----
 * The reads that follow share one snapshot, opened once, instead of one
 * implicit transaction each: the API reads a request's key, its clinic and
 * the record in one. Anything that writes ends the scope first, so a call
 * that writes is safe inside it (it runs as it would outside). Nothing on
 * PostgreSQL, where each statement is one round trip either way.
 * nudge_read_end may be called when no scope is open. */
void nudge_read_begin(nudge *n);
void nudge_read_end(nudge *n);

#ifdef __cplusplus
}
#endif
#endif
