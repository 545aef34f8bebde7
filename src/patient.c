/*
 * patient.c: patients and their communication preferences. The patient row
 * holds who they are; patient_communication_preferences holds how they want
 * to be reached. What they consented to is the consent ledger's
 * (consent.c): the record's opt-out flags are read through the view
 * patient_preferences and written as ledger rows, checked again at send
 * time.
 * Phone numbers are stored in E.164 only, normalised with the clinic's
 * country, so inbound replies can be matched to a patient by number.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "record.h"
#include "phone.h"
#include "tz.h"
#include "util.h"

void nudge_patient_init(nudge_patient *p)
{
    memset(p, 0, sizeof *p);
    p->preferred_time = -1;
}

static int date_ok(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1880 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static int patient_validate(const nudge_clinic *c, nudge_patient *p, int64_t now, nudge_err *err)
{
    if (str_blank(p->name))
        return err_set(err, NUDGE_EINVAL, "name", "name is required");
    if (record_check_text(nudge_patient_fields, p, err) < 0)
        return -1;
    if (!p->phone[0] && !p->email[0])
        return err_set(err, NUDGE_EINVAL, "phone",
                       "a patient needs a phone number or an email address");
    if (p->phone[0]) {
        char e164[20];
        if (phone_normalize(p->phone, c->country, e164, sizeof e164, "phone", err) < 0)
            return -1;
        strcpy(p->phone, e164);
    }
    if (p->email[0] && !email_ok(p->email))
        return err_set(err, NUDGE_EINVAL, "email",
                       "email \"%s\" is not an address such as name@example.com", p->email);
    if (!p->language[0])
        strcpy(p->language, c->language);
    if (!lang_code_ok(p->language))
        return err_set(err, NUDGE_EINVAL, "language",
                       "language must be a code such as en or hi (got \"%s\")", p->language);
    if (p->timezone[0] && !tz_valid(p->timezone))
        return err_set(err, NUDGE_EINVAL, "timezone",
                       "timezone must be an IANA zone such as Asia/Kolkata (got \"%s\")",
                       p->timezone);
    if (p->dob[0] && !date_ok(p->dob))
        return err_set(err, NUDGE_EINVAL, "date_of_birth",
                       "date of birth must be YYYY-MM-DD (got \"%s\")", p->dob);
    if (p->dob[0]) {
        tz_local today;
        char ymd[16];
        tz_to_local(now, c->timezone, &today);
        snprintf(ymd, sizeof ymd, "%04d-%02d-%02d", today.year, today.month, today.day);
        if (strcmp(p->dob, ymd) > 0)
            return err_set(err, NUDGE_EINVAL, "date_of_birth", "date of birth %s is in the future",
                           p->dob);
    }
    const char *pc = p->preferred_channel;
    if (pc[0]) {
        if (strcmp(pc, "sms") && strcmp(pc, "whatsapp") && strcmp(pc, "email"))
            return err_set(err, NUDGE_EINVAL, "preferred_channel",
                           "preferred channel must be sms, whatsapp or email");
        if (!strcmp(pc, "email") ? !p->email[0] : !p->phone[0])
            return err_set(err, NUDGE_EINVAL, "preferred_channel",
                           "preferred channel %s needs the patient's %s", pc,
                           strcmp(pc, "email") ? "phone number" : "email address");
    }
    if (p->preferred_time < -1 || p->preferred_time >= 1440)
        return err_set(err, NUDGE_EINVAL, "preferred_time", "preferred time must be HH:MM");
    /* Reminders on several channels at once (issue 9): each must reach them. */
    char ch[sizeof p->reminder_channels];
    if (reminder_channels(p->reminder_channels, ch, sizeof ch, "reminder_channels", err) < 0)
        return -1;
    str_copy(p->reminder_channels, sizeof p->reminder_channels, ch);
    return reminder_channels_reach(p, ch, "reminder_channels", err);
}

/* The channels each of their reminders goes on at once (migration 022). */
static int patient_set_channels(nudge *n, const nudge_patient *p, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE patient_communication_preferences SET reminder_channels = ? "
                      "WHERE clinic_id = ? AND patient_id = ?",
                      bind_text_or_null(p->reminder_channels), bind_int(p->clinic_id),
                      bind_int(p->id));
}

int nudge_patient_add(nudge *n, nudge_patient *p, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, p->clinic_id, &c, err) < 0)
        return err->code == NUDGE_ENOTFOUND
                   ? err_set(err, NUDGE_EINVAL, "clinic", "no clinic %lld", (long long)p->clinic_id)
                   : -1;
    if (patient_validate(&c, p, clock_now(n), err) < 0)
        return -1;
    int64_t now = clock_now(n);
    p->created_at = now;
    if (store_begin_clinic(n->db, c.id, err) < 0)
        return -1;
    if (store_scalar(n->db, &p->id, err,
                   "INSERT INTO patients (clinic_id, name, email, phone, language, timezone, "
                   "date_of_birth, gender, tags, loyalty_points, last_visit, created_at, "
                   "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                   bind_int(p->clinic_id), bind_text(p->name), bind_text_or_null(p->email),
                   bind_text_or_null(p->phone), bind_text(p->language),
                   bind_text_or_null(p->timezone), bind_text_or_null(p->dob),
                   bind_text_or_null(p->gender), bind_text_or_null(p->tags),
                   bind_int(p->loyalty_points), bind_int_or_null(p->last_visit), bind_int(now),
                   bind_int(now)) != 1)
        goto fail;
    if (store_exec(n->db, err,
                   "INSERT INTO patient_communication_preferences (patient_id, clinic_id, "
                   "preferred_channel, preferred_time, updated_at) VALUES (?,?,?,?,?)",
                   bind_int(p->id), bind_int(p->clinic_id), bind_text_or_null(p->preferred_channel),
                   bind_int((int64_t)p->preferred_time), bind_int(now)) < 0 ||
        consent_flags_changed(n, p->clinic_id, p->id, 0, p->opt_outs, err) < 0 ||
        patient_set_channels(n, p, err) < 0)
        goto fail;
    json_t *ev = json_pack("{s:I}", "patient_id", (json_int_t)p->id);
    if (event_emit(n, p->clinic_id, "patient.created", p->id, ev, err) < 0)
        goto fail;
    if (audit_add(n, p->clinic_id, "create", "patient", p->id, NULL, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

#define PATIENT_COLS                                                                               \
    RECORD_PATIENT_COLS " FROM patients p LEFT JOIN patient_preferences c ON c.clinic_id = p.clinic_id "  \
                        "AND c.patient_id = p.id "

static void patient_row(store_stmt *st, nudge_patient *p)
{
    nudge_patient_init(p);
    record_read(st, nudge_patient_fields, p);
}

/* The one row of a patient's query (queried: store_query's answer, the
 * statement in *st). */
static int patient_one(int queried, store_stmt **st, int64_t id, nudge_patient *out,
                       nudge_err *err)
{
    if (queried < 0)
        return -1;
    int r = store_next(*st, err);
    if (r == 1)
        patient_row(*st, out);
    store_done(*st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "patient", "no patient %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_patient_get(nudge *n, int64_t clinic_id, int64_t id, nudge_patient *out, nudge_err *err)
{
    store_stmt *st;
    return patient_one(store_query(n->db, &st, err,
                                   "SELECT " PATIENT_COLS "WHERE p.id = ? AND (? = 0 OR "
                                   "p.clinic_id = ?)",
                                   bind_int(id), bind_int(clinic_id), bind_int(clinic_id)),
                       &st, id, out, err);
}

int patient_get_to_send(nudge *n, int64_t clinic_id, int64_t id, nudge_patient *out,
                        nudge_err *err)
{
    /* Not the view: its opt-outs are seven lookups in the consent ledger
     * a read, a seventh of a single enqueue's time (perf, 16 callers). */
    store_stmt *st;
    return patient_one(store_query(n->db, &st, err,
                                   "SELECT " RECORD_PATIENT_COLS_OPTS("0, 0, 0, 0, 0, 0, 0") " FROM "
                                   "patients p LEFT JOIN patient_communication_preferences c ON "
                                   "c.clinic_id = p.clinic_id AND c.patient_id = p.id WHERE "
                                   "p.id = ? AND (? = 0 OR p.clinic_id = ?)",
                                   bind_int(id), bind_int(clinic_id), bind_int(clinic_id)),
                       &st, id, out, err);
}

int nudge_patient_list(nudge *n, int64_t clinic_id, int64_t after_id, int limit,
                       nudge_patient_fn fn, void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " PATIENT_COLS "WHERE (? = 0 OR p.clinic_id = ?) AND p.id > ? "
                    "ORDER BY p.id LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(after_id),
                    bind_int(limit > 0 ? limit : 1000)) < 0)
        return -1;
    int r;
    nudge_patient p;
    while ((r = store_next(st, err)) == 1) {
        patient_row(st, &p);
        if (fn(ctx, &p))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_patient_update(nudge *n, int64_t clinic_id, nudge_patient *p, int64_t if_version,
                         nudge_err *err)
{
    err_clear(err);
    nudge_patient old;
    nudge_clinic c;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (nudge_patient_get(n, clinic_id, p->id, &old, err) < 0 ||
        nudge_clinic_get(n, old.clinic_id, &c, err) < 0)
        goto fail;
    if (if_version && old.version != if_version) {
        err_set(err, NUDGE_ECONFLICT, "version",
                "patient %lld was changed by someone else (version %lld, not %lld)",
                (long long)p->id, (long long)old.version, (long long)if_version);
        goto fail;
    }
    p->clinic_id = old.clinic_id;
    if (patient_validate(&c, p, clock_now(n), err) < 0)
        goto fail;
    int64_t now = clock_now(n);
    if (store_exec(
            n->db, err,
            "UPDATE patients SET name = ?, email = ?, phone = ?, language = ?, timezone = ?, "
            "date_of_birth = ?, gender = ?, tags = ?, updated_at = ?, version = version + 1 "
            "WHERE clinic_id = ? AND id = ?",
            bind_text(p->name), bind_text_or_null(p->email), bind_text_or_null(p->phone),
            bind_text(p->language), bind_text_or_null(p->timezone), bind_text_or_null(p->dob),
            bind_text_or_null(p->gender), bind_text_or_null(p->tags), bind_int(now),
            bind_int(p->clinic_id), bind_int(p->id)) < 0 ||
        store_exec(n->db, err,
                   "UPDATE patient_communication_preferences SET preferred_channel = ?, "
                   "preferred_time = ?, updated_at = ? WHERE clinic_id = ? AND patient_id = ?",
                   bind_text_or_null(p->preferred_channel), bind_int(p->preferred_time),
                   bind_int(now), bind_int(p->clinic_id), bind_int(p->id)) < 0 ||
        consent_flags_changed(n, p->clinic_id, p->id, old.opt_outs, p->opt_outs, err) < 0 ||
        patient_set_channels(n, p, err) < 0)
        goto fail;
    json_t *ev = json_pack("{s:I}", "patient_id", (json_int_t)p->id);
    if (event_emit(n, p->clinic_id, "patient.updated", p->id, ev, err) < 0 ||
        audit_add(n, p->clinic_id, "update", "patient", p->id, NULL, err) < 0 ||
        nudge_patient_get(n, clinic_id, p->id, p, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* A completed visit: last_visit only moves forward. */
int patient_visited(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t at, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE patients SET last_visit = ?, updated_at = ? WHERE clinic_id = ? AND "
                      "id = ? AND (last_visit IS NULL OR last_visit < ?)",
                      bind_int(at), bind_int(clock_now(n)), bind_int(clinic_id),
                      bind_int(patient_id), bind_int(at));
}

int patient_born_on(nudge *n, const char *mmdd, int64_t after_id, int64_t *ids,
                    int64_t *clinics, int max, nudge_err *err)
{
    store_stmt *st;
    /* A deliberate cross-clinic scan (the birthday scan's). */
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id FROM patients WHERE substr(date_of_birth, 6) = ? AND "
                    "id > ? ORDER BY id LIMIT ?",
                    bind_text(mmdd), bind_int(after_id), bind_int(max)) < 0)
        return -1;
    int k = 0, r;
    while ((r = store_next(st, err)) == 1 && k < max) {
        ids[k] = store_int(st, 0);
        clinics[k++] = store_int(st, 1);
    }
    store_done(st);
    return r < 0 ? -1 : k;
}

int patient_by_phone(nudge *n, const char *phone, int64_t *ids, int64_t *clinics, int max,
                     nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id FROM patients WHERE phone = ? ORDER BY id DESC LIMIT ?",
                    bind_text(phone), bind_int(max)) < 0)
        return -1;
    int got = 0, r = 0;
    while (got < max && (r = store_next(st, err)) == 1) {
        clinics[got] = store_int(st, 1);
        ids[got++] = store_int(st, 0);
    }
    store_done(st);
    return r < 0 ? -1 : got;
}

int patient_provider_opt_out(nudge *n, const nudge_notification *m, const char *why,
                             nudge_err *err)
{
    nudge_patient p;
    if (store_begin_clinic(n->db, m->clinic_id, err) < 0)
        return -1;
    if (nudge_patient_get(n, m->clinic_id, m->patient_id, &p, err) < 0)
        goto fail;
    if (!strcmp(p.phone, m->recipient) && !(p.opt_outs & nudge_optout_parse(m->channel)) &&
        (patient_set_consent(n, &p, m->channel, 1, why, NULL, err) < 0 ||
         audit_add(n, p.clinic_id, "opt_out", "patient", p.id, why, err) < 0))
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* STOP and START: the channel's withdrawal or grant in the consent
 * ledger, with what the patient sent as proof, in the caller's
 * transaction. */
int patient_set_consent(nudge *n, const nudge_patient *p, const char *channel, int stop,
                        const char *message, const char *provider_id, nudge_err *err)
{
    return consent_write(n, p->clinic_id, p->id, "*", channel, stop ? "withdrawn" : "granted",
                         "inbound_keyword", NULL, message, provider_id, err);
}

/* The statistics' count (workflow.c's nudge_statistics). */
int patient_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to, int64_t *count,
                        nudge_err *err)
{
    *count = 0;
    return store_scalar(n->db, count, err,
                        "SELECT COUNT(*) FROM patients WHERE clinic_id = ? AND created_at >= ? "
                        "AND created_at < ?",
                        bind_int(clinic_id), bind_int(from), bind_int(to)) < 0
               ? -1
               : 0;
}
