/*
 * prescription.c: prescriptions and the medication reminders planned from
 * them (issue 9). Owns prescriptions and prescription_items. Each item's
 * frequency and duration are read by medication.c; this file dates the
 * doses: every dose time of every dosing day from starts_on, as wall time
 * in the patient's zone (tz.c resolves each day on its own, so a 09:00
 * dose stays 09:00 across a DST change; a time in a spring-forward gap
 * moves past it, an ambiguous one takes the first), and the doses of all
 * items that fall on one instant become one plan (reminder.c) whose detail
 * lists the items, so the patient gets one message per dose time. The
 * planner asks prescription_dose_vars for the message's variables.
 * Adding, changing and stopping plan or cancel in the same transaction as
 * the prescription's own change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "medication.h"
#include "record.h"
#include "tz.h"
#include "util.h"

/* A dose reminder later than this after its time would do more harm than
 * none (the next dose may be near): it expires instead. Quiet hours that
 * outlast it cancel it at send time (dispatch.c). */
#define RX_DOSE_WINDOW (2 * 3600)

typedef struct rx_dose {
    int64_t at;
    int item; /* index into medications */
} rx_dose;

/* "09:00, 21:00" into minutes; the count must be the frequency's. */
static int rx_times(const char *s, const med_freq *f, int *out, const char *field,
                    nudge_err *err)
{
    int k = 0;
    char buf[96];
    str_copy(buf, sizeof buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        if (k == MED_MAX_TIMES || nudge_time_parse_hhmm(tok, &out[k]) < 0)
            return err_set(err, NUDGE_EINVAL, field,
                           "times must be HH:MM separated by commas (got \"%.40s\")", s);
        k++;
    }
    if (k != f->ntimes)
        return err_set(err, NUDGE_EINVAL, field, "%s takes %d dose time%s a day, %d given",
                       f->code, f->ntimes, f->ntimes == 1 ? "" : "s", k);
    return 0;
}

/* Reads and completes one medication: its times (given, the patient's
 * preferred time for a once-a-day code, or the code's) and days. */
static int rx_medication(nudge_medication *m, int i, const nudge_clinic *c,
                         const nudge_patient *p, med_freq *f, nudge_err *err)
{
    char field[48];
    int until_review;
    snprintf(field, sizeof field, "medications[%d].drug_name", i);
    if (nudge_blank(m->drug_name))
        return err_set(err, NUDGE_EINVAL, field, "drug_name is required");
    snprintf(field, sizeof field, "medications[%d].dose", i);
    if (nudge_blank(m->dose))
        return err_set(err, NUDGE_EINVAL, field, "dose is required");
    snprintf(field, sizeof field, "medications[%d].frequency", i);
    if (med_parse_frequency(m->frequency, f, field, err) < 0)
        return -1;
    snprintf(field, sizeof field, "medications[%d].duration", i);
    /* "until review" runs until staff stop it, at most the clinic's cap. */
    if (med_parse_duration(m->duration, c->review_max_days > 0 ? c->review_max_days
                                                               : NUDGE_REVIEW_DAYS,
                           &m->days, &until_review, field, err) < 0)
        return -1;
    snprintf(field, sizeof field, "medications[%d].times", i);
    if (!nudge_blank(m->times)) {
        if (!f->ntimes)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s is taken as needed: it has no dose times", f->code);
        if (rx_times(m->times, f, f->times, field, err) < 0)
            return -1;
    } else if (f->once && p->preferred_time >= 0) {
        f->times[0] = p->preferred_time;
    }
    /* Stored as used, so a later change of the defaults or of the
     * patient's preferred time does not move a course already planned. */
    size_t len = 0;
    m->times[0] = 0;
    for (int k = 0; k < f->ntimes; k++)
        len += (size_t)snprintf(m->times + len, sizeof m->times - len, "%s%02d:%02d",
                                k ? "," : "", f->times[k] / 60, f->times[k] % 60);
    return 0;
}

static int rx_dose_cmp(const void *a, const void *b)
{
    const rx_dose *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->item - y->item;
}

/* Plans the doses after `from`, one reminder per instant. */
static int rx_plan(nudge *n, const nudge_clinic *c, const nudge_patient *pt,
                   const nudge_prescription *p, const med_freq *f, int64_t from, nudge_err *err)
{
    const char *tz = reminder_zone(c, pt);
    tz_local start;
    if (reminder_date_parse(p->starts_on, &start) < 0)
        return err_set(err, NUDGE_EINVAL, "starts_on", "starts_on must be YYYY-MM-DD");
    size_t cap = 0, nd = 0;
    for (int i = 0; i < p->n_medications; i++)
        cap += (size_t)p->medications[i].days * (size_t)f[i].ntimes;
    rx_dose *d = cap ? calloc(cap, sizeof *d) : NULL;
    if (cap && !d)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int i = 0; i < p->n_medications; i++)
        for (int day = 0; day < p->medications[i].days; day += f[i].every_days)
            for (int k = 0; k < f[i].ntimes; k++) {
                tz_local l = {.year = start.year, .month = start.month, .day = start.day + day,
                              .hour = f[i].times[k] / 60, .minute = f[i].times[k] % 60};
                int64_t t;
                if (tz_from_local(&l, tz, &t) < 0 || t <= from)
                    continue;
                d[nd++] = (rx_dose){t, i};
            }
    qsort(d, nd, sizeof *d, rx_dose_cmp);
    char subject[48];
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)p->id);
    int rc = 0;
    for (size_t a = 0; a < nd && rc == 0;) {
        char detail[256] = "";
        size_t len = 0, b = a;
        for (; b < nd && d[b].at == d[a].at; b++)
            len += (size_t)snprintf(detail + len, sizeof detail - len, "%s%lld", b > a ? "," : "",
                                    (long long)p->medications[d[b].item].id);
        reminder_spec rs = {
            .clinic_id = p->clinic_id,
            .patient_id = p->patient_id,
            .kind = "medication",
            .template_name = "medication_reminder",
            .subject = subject,
            .detail = detail,
            .channels = p->channels,
            .due_at = d[a].at,
            .expires_at = d[a].at + RX_DOSE_WINDOW,
        };
        rc = reminder_plan(n, &rs, NULL, err) < 0 ? -1 : 0;
        a = b;
    }
    free(d);
    return rc;
}

/* Checks every medication and completes the dates; *c and *pt loaded. */
static int rx_prepare(nudge *n, nudge_prescription *p, nudge_clinic *c, nudge_patient *pt,
                      med_freq *f, nudge_err *err)
{
    if (nudge_patient_get(n, p->clinic_id, p->patient_id, pt, err) < 0) {
        if (err->code == NUDGE_ENOTFOUND)
            err_set(err, NUDGE_EINVAL, "patient_id", "no patient %lld",
                    (long long)p->patient_id);
        return -1;
    }
    p->clinic_id = pt->clinic_id;
    if (nudge_clinic_get(n, p->clinic_id, c, err) < 0)
        return -1;
    if (p->appointment_id) {
        nudge_appointment a;
        if (nudge_appointment_get(n, p->clinic_id, p->appointment_id, &a, err) < 0 ||
            a.patient_id != p->patient_id)
            return err_set(err, NUDGE_EINVAL, "appointment_id",
                           "appointment %lld is not this patient's",
                           (long long)p->appointment_id);
    }
    char ch[sizeof p->channels];
    if (reminder_channels(p->channels, ch, sizeof ch, "channels", err) < 0)
        return -1;
    str_copy(p->channels, sizeof p->channels, ch);
    if (reminder_channels_reach(pt, p->channels, "channels", err) < 0)
        return -1;
    if (p->n_medications < 1 || p->n_medications > NUDGE_MAX_MEDICATIONS)
        return err_set(err, NUDGE_EINVAL, "medications",
                       "a prescription has 1 to %d medications (got %d)", NUDGE_MAX_MEDICATIONS,
                       p->n_medications);
    int longest = 0;
    for (int i = 0; i < p->n_medications; i++) {
        if (rx_medication(&p->medications[i], i, c, pt, &f[i], err) < 0)
            return -1;
        if (p->medications[i].days > longest)
            longest = p->medications[i].days;
    }
    tz_local start;
    if (nudge_blank(p->starts_on)) {
        tz_to_local(clock_now(n), reminder_zone(c, pt), &start);
        reminder_date_text(&start, 0, p->starts_on, sizeof p->starts_on);
    } else if (reminder_date_parse(p->starts_on, &start) < 0) {
        return err_set(err, NUDGE_EINVAL, "starts_on",
                       "starts_on must be a date YYYY-MM-DD (got \"%.20s\")", p->starts_on);
    }
    reminder_date_text(&start, longest - 1, p->ends_on, sizeof p->ends_on);
    return 0;
}

static int rx_insert_items(nudge *n, nudge_prescription *p, nudge_err *err)
{
    for (int i = 0; i < p->n_medications; i++) {
        nudge_medication *m = &p->medications[i];
        if (store_scalar(n->db, &m->id, err,
                         "INSERT INTO prescription_items (clinic_id, prescription_id, position, "
                         "drug_name, dose, frequency, duration, instructions, times, days) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
                         bind_int(p->clinic_id), bind_int(p->id), bind_int(i),
                         bind_text(m->drug_name), bind_text(m->dose), bind_text(m->frequency),
                         bind_text(m->duration), bind_text_or_null(m->instructions),
                         bind_text(m->times), bind_int(m->days)) != 1)
            return -1;
    }
    return 0;
}

int nudge_prescription_add(nudge *n, nudge_prescription *p, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    nudge_patient pt;
    med_freq f[NUDGE_MAX_MEDICATIONS];
    int64_t now = clock_now(n);
    if (record_check_text(nudge_prescription_fields, p, err) < 0)
        return -1;
    for (int i = 0; i < p->n_medications && i < NUDGE_MAX_MEDICATIONS; i++)
        if (record_check_text(nudge_medication_fields, &p->medications[i], err) < 0)
            return -1;
    if (store_begin_clinic(n->db, p->clinic_id, err) < 0)
        return -1;
    if (rx_prepare(n, p, &c, &pt, f, err) < 0)
        goto fail;
    str_copy(p->status, sizeof p->status, "active");
    if (store_scalar(n->db, &p->id, err,
                     "INSERT INTO prescriptions (clinic_id, patient_id, appointment_id, "
                     "prescriber, notes, status, starts_on, ends_on, channels, created_at, "
                     "updated_at) VALUES (?,?,?,?,?,'active',?,?,?,?,?) RETURNING id",
                     bind_int(p->clinic_id), bind_int(p->patient_id),
                     bind_int_or_null(p->appointment_id), bind_text_or_null(p->prescriber),
                     bind_text_or_null(p->notes), bind_text(p->starts_on), bind_text(p->ends_on),
                     bind_text_or_null(p->channels), bind_int(now), bind_int(now)) != 1)
        goto fail;
    if (rx_insert_items(n, p, err) < 0 || rx_plan(n, &c, &pt, p, f, now, err) < 0 ||
        audit_add(n, p->clinic_id, "create", "prescription", p->id, NULL, err) < 0)
        goto fail;
    if (store_commit(n->db, err) < 0)
        return -1;
    return nudge_prescription_get(n, p->clinic_id, p->id, p, err);
fail:
    store_rollback(n->db);
    return -1;
}

static int rx_items(nudge *n, nudge_prescription *p, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_MEDICATION_COLS " FROM prescription_items WHERE "
                    "clinic_id = ? AND prescription_id = ? ORDER BY position",
                    bind_int(p->clinic_id), bind_int(p->id)) < 0)
        return -1;
    int r;
    p->n_medications = 0;
    while ((r = store_next(st, err)) == 1 && p->n_medications < NUDGE_MAX_MEDICATIONS)
        record_read(st, nudge_medication_fields, &p->medications[p->n_medications++]);
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_prescription_get(nudge *n, int64_t clinic_id, int64_t id, nudge_prescription *out,
                           nudge_err *err)
{
    store_stmt *st;
    memset(out, 0, sizeof *out);
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_PRESCRIPTION_COLS " FROM prescriptions WHERE "
                    "(? = 0 OR clinic_id = ?) AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        record_read(st, nudge_prescription_fields, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "prescription", "no prescription %lld",
                       (long long)id);
    return r < 0 ? -1 : rx_items(n, out, err);
}

int nudge_prescription_list(nudge *n, int64_t clinic_id, int64_t patient_id,
                            nudge_prescription_fn fn, void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_PRESCRIPTION_COLS " FROM prescriptions WHERE "
                    "(? = 0 OR clinic_id = ?) AND (? = 0 OR patient_id = ?) ORDER BY id DESC",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(patient_id),
                    bind_int(patient_id)) < 0)
        return -1;
    int r;
    nudge_prescription *p = malloc(sizeof *p);
    if (!p) {
        store_done(st);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    while ((r = store_next(st, err)) == 1) {
        memset(p, 0, sizeof *p);
        record_read(st, nudge_prescription_fields, p);
        if (rx_items(n, p, err) < 0) {
            r = -1;
            break;
        }
        if (fn(ctx, p))
            break;
    }
    store_done(st);
    free(p);
    return r < 0 ? -1 : 0;
}

/* The stored prescription, active, in the caller's transaction. */
static int rx_active(nudge *n, int64_t clinic_id, int64_t id, nudge_prescription *cur,
                     nudge_err *err)
{
    if (nudge_prescription_get(n, clinic_id, id, cur, err) < 0)
        return -1;
    if (strcmp(cur->status, "active"))
        return err_set(err, NUDGE_ECONFLICT, "status", "prescription %lld is %s",
                       (long long)id, cur->status);
    return 0;
}

int nudge_prescription_stop(nudge *n, int64_t clinic_id, int64_t id, const char *reason,
                            nudge_err *err)
{
    err_clear(err);
    if (reason && !text_ok(reason))
        return err_set(err, NUDGE_EINVAL, "reason",
                       "reason must be UTF-8 text without control characters");
    nudge_prescription *cur = malloc(sizeof *cur);
    if (!cur)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    char subject[48];
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)id);
    const char *why = nudge_blank(reason) ? "stopped by staff" : reason;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        goto out;
    if (rx_active(n, clinic_id, id, cur, err) < 0 ||
        store_exec(n->db, err,
                   "UPDATE prescriptions SET status = 'stopped', stop_reason = ?, "
                   "updated_at = ?, version = version + 1 WHERE clinic_id = ? AND id = ?",
                   bind_text(why), bind_int(clock_now(n)), bind_int(cur->clinic_id),
                   bind_int(id)) < 0 ||
        reminder_cancel_where(n, cur->clinic_id, 0, subject, "prescription stopped", NULL,
                              err) < 0 ||
        audit_add(n, cur->clinic_id, "stop", "prescription", id, why, err) < 0) {
        store_rollback(n->db);
        goto out;
    }
    free(cur);
    return store_commit(n->db, err);
out:
    free(cur);
    return -1;
}

int nudge_prescription_change(nudge *n, int64_t clinic_id, int64_t id, nudge_prescription *p,
                              nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    nudge_patient pt;
    med_freq f[NUDGE_MAX_MEDICATIONS];
    int64_t now = clock_now(n);
    nudge_prescription *cur = malloc(sizeof *cur);
    if (!cur)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    char subject[48];
    snprintf(subject, sizeof subject, "prescription:%lld", (long long)id);
    if (record_check_text(nudge_prescription_fields, p, err) < 0)
        goto out;
    for (int i = 0; i < p->n_medications && i < NUDGE_MAX_MEDICATIONS; i++)
        if (record_check_text(nudge_medication_fields, &p->medications[i], err) < 0)
            goto out;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        goto out;
    if (rx_active(n, clinic_id, id, cur, err) < 0)
        goto fail;
    /* What stays: who, when it started; what changes: the medications. */
    p->id = id;
    p->clinic_id = cur->clinic_id;
    p->patient_id = cur->patient_id;
    p->appointment_id = cur->appointment_id;
    str_copy(p->starts_on, sizeof p->starts_on, cur->starts_on);
    if (nudge_blank(p->prescriber))
        str_copy(p->prescriber, sizeof p->prescriber, cur->prescriber);
    if (nudge_blank(p->channels))
        str_copy(p->channels, sizeof p->channels, cur->channels);
    if (nudge_blank(p->notes))
        str_copy(p->notes, sizeof p->notes, cur->notes);
    if (rx_prepare(n, p, &c, &pt, f, err) < 0 ||
        reminder_cancel_where(n, p->clinic_id, 0, subject, "prescription changed", NULL,
                              err) < 0 ||
        store_exec(n->db, err,
                   "DELETE FROM prescription_items WHERE clinic_id = ? AND prescription_id = ?",
                   bind_int(p->clinic_id), bind_int(id)) < 0 ||
        store_exec(n->db, err,
                   "UPDATE prescriptions SET prescriber = ?, notes = ?, ends_on = ?, "
                   "channels = ?, updated_at = ?, version = version + 1 WHERE clinic_id = ? AND "
                   "id = ?",
                   bind_text_or_null(p->prescriber), bind_text_or_null(p->notes),
                   bind_text(p->ends_on), bind_text_or_null(p->channels), bind_int(now),
                   bind_int(p->clinic_id),
                   bind_int(id)) < 0 ||
        rx_insert_items(n, p, err) < 0 || rx_plan(n, &c, &pt, p, f, now, err) < 0 ||
        audit_add(n, p->clinic_id, "update", "prescription", id, NULL, err) < 0)
        goto fail;
    free(cur);
    if (store_commit(n->db, err) < 0)
        return -1;
    return nudge_prescription_get(n, clinic_id, id, p, err);
fail:
    store_rollback(n->db);
out:
    free(cur);
    return -1;
}

/* Appends ", item" (or the first item) while it fits. */
static void rx_append(char *buf, size_t n, size_t *len, const char *item)
{
    int w = snprintf(buf + *len, n - *len, "%s%s", *len ? ", " : "", item);
    if (w > 0 && (size_t)w < n - *len)
        *len += (size_t)w;
    else
        buf[*len] = 0;
}

int prescription_dose_vars(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                           const nudge_reminder *rm, nudge_vars *v, nudge_err *err)
{
    char drugs[512] = "", doses[512] = "", when[64];
    size_t dl = 0, sl = 0;
    const char *s = rm->detail;
    while (*s) {
        char *end;
        long long item = strtoll(s, &end, 10);
        if (end == s)
            break;
        store_stmt *st;
        if (store_query(n->db, &st, err,
                        "SELECT drug_name, dose FROM prescription_items WHERE clinic_id = ? "
                        "AND id = ?",
                        bind_int(rm->clinic_id), bind_int(item)) < 0)
            return -1;
        int r = store_next(st, err);
        if (r == 1) {
            rx_append(drugs, sizeof drugs, &dl, store_text(st, 0));
            rx_append(doses, sizeof doses, &sl, store_text(st, 1));
        }
        store_done(st);
        if (r < 0)
            return -1;
        s = *end == ',' ? end + 1 : end;
    }
    if (!dl)
        return err_set(err, NUDGE_ENOTFOUND, "detail", "the dose's medications are gone");
    const char *lang = p->language[0] ? p->language : c->language;
    char t[48];
    tz_format_time(rm->due_at, reminder_zone(c, p), lang, t, sizeof t);
    /* The Hindi template puts the time first ("सुबह 9:00 अपनी दवा"). */
    snprintf(when, sizeof when, strcmp(lang, "hi") ? "at %s" : "%s", t);
    nudge_vars_set(v, "medication", drugs);
    nudge_vars_set(v, "dosage", doses);
    nudge_vars_set(v, "timing", when);
    return 0;
}
