/*
 * clinic.c: clinics, the tenants. A clinic's settings (time zone, language,
 * quiet hours, reminder offsets, retries, rate limit) drive every plan and
 * send made for its patients, so they are validated hard here, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "record.h"
#include "phone.h"
#include "tz.h"
#include "util.h"

void nudge_clinic_defaults(nudge_clinic *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->language, "en");
    strcpy(c->default_channel, "sms");
    c->quiet_start = 21 * 60;
    c->quiet_end = 8 * 60;
    c->offsets[0] = 24 * 60;
    c->offsets[1] = 2 * 60;
    c->n_offsets = 2;
    c->followup_after = 24 * 60;
    c->max_retries = 3;
    c->rate_per_minute = 20;
    c->whatsapp_fallback = 1;
    c->review_max_days = NUDGE_REVIEW_DAYS;
}

int clinic_parse_offsets(const char *s, int *offs, int *n, nudge_err *err)
{
    *n = 0;
    if (str_blank(s))
        return 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 60 * 24 * 60)
            return err_set(err, NUDGE_EINVAL, "reminder_offsets",
                           "reminder offsets are minutes before the visit, 1 to 86400, "
                           "separated by commas (got \"%s\")",
                           s);
        if (*n >= NUDGE_MAX_OFFSETS)
            return err_set(err, NUDGE_EINVAL, "reminder_offsets", "at most %d reminder offsets",
                           NUDGE_MAX_OFFSETS);
        offs[(*n)++] = (int)v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return err_set(err, NUDGE_EINVAL, "reminder_offsets",
                           "reminder offsets must be numbers separated by commas (got \"%s\")", s);
    }
    return 0;
}

int nudge_clinic_parse_offsets(const char *s, int *offsets, int *n, nudge_err *err)
{
    return clinic_parse_offsets(s, offsets, n, err);
}

static void clinic_offsets_text(const nudge_clinic *c, char *buf, size_t n)
{
    buf[0] = 0;
    size_t l = 0;
    for (int i = 0; i < c->n_offsets && l < n; i++)
        l += (size_t)snprintf(buf + l, n - l, "%s%d", i ? "," : "", c->offsets[i]);
}

static int channel_name_ok(const char *s)
{
    return !strcmp(s, "sms") || !strcmp(s, "whatsapp") || !strcmp(s, "email");
}

static int clinic_validate(nudge_clinic *c, nudge_err *err)
{
    if (str_blank(c->name))
        return err_set(err, NUDGE_EINVAL, "name", "name is required");
    if (record_check_text(nudge_clinic_fields, c, err) < 0)
        return -1;
    if (!tz_valid(c->timezone))
        return err_set(err, NUDGE_EINVAL, "timezone",
                       "timezone must be an IANA zone such as Asia/Kolkata (got \"%s\")",
                       c->timezone);
    for (char *p = c->country; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    if (!phone_country_known(c->country))
        return err_set(err, NUDGE_EINVAL, "country",
                       "country must be an ISO 3166 code nudge knows phone numbers for, such "
                       "as IN or US (got \"%s\")",
                       c->country);
    /* Blank is refused, not defaulted: nudge_clinic_defaults gives "en",
     * so a blank one was sent on purpose (a PATCH {"language": ""}). */
    if (!lang_code_ok(c->language))
        return err_set(err, NUDGE_EINVAL, "language",
                       "language must be a code such as en or hi (got \"%s\")", c->language);
    if (c->phone[0]) {
        char e164[20];
        if (phone_normalize(c->phone, c->country, e164, sizeof e164, "phone", err) < 0)
            return -1;
        strcpy(c->phone, e164);
    }
    if (c->email[0] && !email_ok(c->email))
        return err_set(err, NUDGE_EINVAL, "email",
                       "email must be an address such as "
                       "front-desk@clinic.example");
    if (c->quiet_start < 0 || c->quiet_start >= 1440 || c->quiet_end < 0 || c->quiet_end >= 1440)
        return err_set(err, NUDGE_EINVAL, "quiet_hours", "quiet hours must be HH:MM-HH:MM");
    if (c->max_retries < 0 || c->max_retries > 20)
        return err_set(err, NUDGE_EINVAL, "max_retries", "max retries must be 0 to 20");
    if (c->rate_per_minute < 1 || c->rate_per_minute > 1000000)
        return err_set(err, NUDGE_EINVAL, "rate_per_minute",
                       "rate per minute must be 1 to 1000000");
    if (!channel_name_ok(c->default_channel))
        return err_set(err, NUDGE_EINVAL, "default_channel",
                       "default channel must be sms, whatsapp or email");
    if (c->followup_after < 0)
        return err_set(err, NUDGE_EINVAL, "followup_after", "follow-up delay must be >= 0");
    if (c->whatsapp_fallback_after < 0 || c->whatsapp_fallback_after > 7 * 24 * 60)
        return err_set(err, NUDGE_EINVAL, "whatsapp_fallback_after",
                       "the WhatsApp fallback delay must be 0 to 10080 minutes");
    c->whatsapp_fallback = !!c->whatsapp_fallback;
    if (c->review_max_days < 1 || c->review_max_days > 365)
        return err_set(err, NUDGE_EINVAL, "review_max_days",
                       "review_max_days must be 1 to 365 (got %d)", c->review_max_days);
    char ch[sizeof c->reminder_channels];
    if (reminder_channels(c->reminder_channels, ch, sizeof ch, "reminder_channels", err) < 0)
        return -1;
    str_copy(c->reminder_channels, sizeof c->reminder_channels, ch);
    if (c->sms_sender[0] && strncmp(c->sms_sender, "MG", 2)) {
        char e164[20];
        if (phone_normalize(c->sms_sender, c->country, e164, sizeof e164, "sms_sender", err) < 0)
            return -1;
        strcpy(c->sms_sender, e164);
    } else if (c->sms_sender[0] && (strlen(c->sms_sender) != 34 ||
                                    strspn(c->sms_sender + 2, "0123456789abcdefABCDEF") != 32)) {
        return err_set(err, NUDGE_EINVAL, "sms_sender",
                       "sms_sender is an E.164 number or a Messaging Service SID (MG...)");
    }
    return 0;
}

int nudge_clinic_add(nudge *n, nudge_clinic *c, nudge_err *err)
{
    err_clear(err);
    if (clinic_validate(c, err) < 0)
        return -1;
    char offs[128];
    clinic_offsets_text(c, offs, sizeof offs);
    c->created_at = clock_now(n);
    if (store_begin(n->db, err) < 0)
        return -1;
    if (store_scalar(n->db, &c->id, err,
                   "INSERT INTO clinics (name, timezone, country, language, phone, email, "
                   "address, quiet_start, quiet_end, reminder_offsets, followup_after, "
                   "max_retries, rate_per_minute, default_channel, created_at, sms_sender, "
                   "whatsapp_fallback, whatsapp_fallback_after, review_max_days, "
                   "reminder_channels) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                   bind_text(c->name), bind_text(c->timezone), bind_text(c->country),
                   bind_text(c->language), bind_text_or_null(c->phone), bind_text_or_null(c->email),
                   bind_text_or_null(c->address), bind_int(c->quiet_start), bind_int(c->quiet_end),
                   bind_text(offs), bind_int(c->followup_after), bind_int(c->max_retries),
                   bind_int(c->rate_per_minute), bind_text(c->default_channel),
                   bind_int(c->created_at), bind_text_or_null(c->sms_sender), bind_int(c->whatsapp_fallback),
                   bind_int(c->whatsapp_fallback_after), bind_int(c->review_max_days),
                   bind_text_or_null(c->reminder_channels)) != 1)
        goto fail;
    /* Its default tasks first: the clinic's creation is its last audit row. */
    if (task_defaults(n, c->id, err) < 0 ||
        faq_seed(n, c->id, NULL, err) < 0 || /* the shipped FAQ (faq.c) */
        audit_add(n, c->id, "create", "clinic", c->id, c->name, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

#define CLINIC_COLS RECORD_CLINIC_COLS

static void clinic_row(store_stmt *st, nudge_clinic *c)
{
    memset(c, 0, sizeof *c);
    record_read(st, nudge_clinic_fields, c);
}

static int clinic_one(int queried, store_stmt **stp, int64_t id, nudge_clinic *out,
                      int64_t *tmpl_version, nudge_err *err)
{
    if (queried < 0)
        return -1;
    store_stmt *st = *stp; /* set by the query, evaluated first */
    int r = store_next(st, err);
    if (r == 1)
        clinic_row(st, out);
    if (r == 1 && tmpl_version) /* the column after the record's */
        *tmpl_version = store_int(st, record_width(nudge_clinic_fields));
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "clinic", "no clinic %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_clinic_get(nudge *n, int64_t id, nudge_clinic *out, nudge_err *err)
{
    store_stmt *st;
    return clinic_one(store_query(n->db, &st, err,
                                  "SELECT " CLINIC_COLS " FROM clinics WHERE id = ?", bind_int(id)),
                      &st, id, out, NULL, err);
}

int clinic_get_to_send(nudge *n, int64_t id, nudge_clinic *out, int64_t *tmpl_version,
                       nudge_err *err)
{
    store_stmt *st;
    return clinic_one(store_query(n->db, &st, err,
                                  "SELECT " CLINIC_COLS ", tmpl_version FROM clinics WHERE id = ?",
                                  bind_int(id)),
                      &st, id, out, tmpl_version, err);
}

int clinic_tmpl_touch(nudge *n, int64_t clinic_id, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE clinics SET tmpl_version = tmpl_version + 1 WHERE id = ?",
                      bind_int(clinic_id));
}

int nudge_clinic_list(nudge *n, int64_t after_id, int limit, nudge_clinic_fn fn, void *ctx,
                      nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " CLINIC_COLS " FROM clinics WHERE id > ? ORDER BY id LIMIT ?",
                    bind_int(after_id), bind_int(limit > 0 ? limit : 1000)) < 0)
        return -1;
    int r;
    nudge_clinic c;
    while ((r = store_next(st, err)) == 1) {
        clinic_row(st, &c);
        if (fn(ctx, &c))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_clinic_update(nudge *n, nudge_clinic *c, nudge_err *err)
{
    err_clear(err);
    nudge_clinic old;
    if (nudge_clinic_get(n, c->id, &old, err) < 0)
        return -1;
    if (clinic_validate(c, err) < 0)
        return -1;
    char offs[128];
    clinic_offsets_text(c, offs, sizeof offs);
    c->created_at = old.created_at;
    if (store_begin_clinic(n->db, c->id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "UPDATE clinics SET name = ?, timezone = ?, country = ?, language = ?, phone = ?, "
                   "email = ?, address = ?, quiet_start = ?, quiet_end = ?, reminder_offsets = ?, "
                   "followup_after = ?, max_retries = ?, rate_per_minute = ?, default_channel = ?, "
                   "sms_sender = ?, whatsapp_fallback = ?, whatsapp_fallback_after = ?, "
                   "review_max_days = ?, reminder_channels = ? WHERE id = ?",
                   bind_text(c->name), bind_text(c->timezone), bind_text(c->country),
                   bind_text(c->language), bind_text_or_null(c->phone),
                   bind_text_or_null(c->email), bind_text_or_null(c->address),
                   bind_int(c->quiet_start), bind_int(c->quiet_end), bind_text(offs),
                   bind_int(c->followup_after), bind_int(c->max_retries),
                   bind_int(c->rate_per_minute), bind_text(c->default_channel),
                   bind_text_or_null(c->sms_sender), bind_int(c->whatsapp_fallback),
                   bind_int(c->whatsapp_fallback_after), bind_int(c->review_max_days),
                   bind_text_or_null(c->reminder_channels), bind_int(c->id)) < 0 ||
        audit_add(n, c->id, "update", "clinic", c->id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}
