/*
 * staff.c: a clinic's staff and what nudge tells them. Owns staff_members and
 * staff_digests (migration 019).
 *
 * Immediate alerts (staff_alert: escalated tickets, no-shows, messages
 * that failed for good, refused credentials; bound to events by the
 * workflow engine through the "staff.notify" step) and the daily digest
 * of tomorrow's visits. Neither sends anything here: each is one hook
 * delivery per member and channel (hook.c), written in the caller's
 * transaction and sent by a later tick with retries, so an alert commits
 * exactly when what caused it does.
 *
 * The digest goes at a local time of the clinic's zone: each minute
 * (a periodic job, nudge.c) the scan finds the clinics whose time has come
 * today, local date and DST as tz.c resolves them, and claims the day by
 * a conditional UPDATE of staff_digests.last_day, so one worker sends it
 * once a day; the deliveries' keys name the day as a second guard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "phone.h"
#include "tmpl.h"
#include "tz.h"
#include "util.h"
#include "wfstep.h"

#define STAFF_COLS "id, clinic_id, name, role, email, phone, chat_url, alerts, digest, created_at"

static void staff_row(store_stmt *st, nudge_staff *s)
{
    memset(s, 0, sizeof *s);
    s->id = store_int(st, 0);
    s->clinic_id = store_int(st, 1);
    store_copy(st, 2, s->name, sizeof s->name);
    store_copy(st, 3, s->role, sizeof s->role);
    store_copy(st, 4, s->email, sizeof s->email);
    store_copy(st, 5, s->phone, sizeof s->phone);
    store_copy(st, 6, s->chat_url, sizeof s->chat_url);
    s->alerts = (int)store_int(st, 7);
    s->digest = (int)store_int(st, 8);
    s->created_at = store_int(st, 9);
}

static int staff_check(const nudge_clinic *c, nudge_staff *s, nudge_err *err)
{
    if (str_blank(s->name))
        return err_set(err, NUDGE_EINVAL, "name", "name is required");
    if (!text_ok(s->name) || !text_ok(s->role))
        return err_set(err, NUDGE_EINVAL, text_ok(s->name) ? "role" : "name",
                       "%s holds a control character or invalid UTF-8",
                       text_ok(s->name) ? "role" : "name");
    if (s->email[0] && !email_ok(s->email))
        return err_set(err, NUDGE_EINVAL, "email", "email is not an address");
    if (s->phone[0]) {
        char e164[20];
        if (phone_normalize(s->phone, c->country, e164, sizeof e164, "phone", err) < 0)
            return -1;
        snprintf(s->phone, sizeof s->phone, "%s", e164);
    }
    if (s->chat_url[0] && hook_url_ok(s->chat_url, "chat_url", err) < 0)
        return -1;
    if (!s->email[0] && !s->phone[0] && !s->chat_url[0])
        return err_set(err, NUDGE_EINVAL, "email",
                       "a staff member needs a channel: email, phone or chat_url");
    s->alerts = !!s->alerts;
    s->digest = !!s->digest;
    return 0;
}

int nudge_staff_add(nudge *n, nudge_staff *s, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, s->clinic_id, &c, err) < 0 || staff_check(&c, s, err) < 0)
        return -1;
    s->created_at = clock_now(n);
    if (store_begin_clinic(n->db, s->clinic_id, err) < 0)
        return -1;
    if (store_scalar(n->db, &s->id, err,
                     "INSERT INTO staff_members (clinic_id, name, role, email, phone, chat_url, alerts, "
                     "digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                     bind_int(s->clinic_id), bind_text(s->name), bind_text(s->role),
                     bind_text_or_null(s->email[0] ? s->email : NULL),
                     bind_text_or_null(s->phone[0] ? s->phone : NULL),
                     bind_text_or_null(s->chat_url[0] ? s->chat_url : NULL), bind_int(s->alerts),
                     bind_int(s->digest), bind_int(s->created_at)) != 1 ||
        audit_add(n, s->clinic_id, "staff.add", "staff", s->id, s->name, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* The clinic's staff (0: every clinic's), by id; role/staff_id narrow. */
static int staff_each(nudge *n, int64_t clinic_id, const char *role, int64_t staff_id,
                      nudge_staff_fn fn, void *ctx, nudge_err *err)
{
    store_stmt *st;
    const char *r0 = role ? role : "";
    if (store_query(n->db, &st, err,
                    "SELECT " STAFF_COLS " FROM staff_members WHERE (clinic_id = ? OR ? = 0) AND "
                    "(role = ? OR ? = '') AND (id = ? OR ? = 0) ORDER BY id",
                    bind_int(clinic_id), bind_int(clinic_id), bind_text(r0), bind_text(r0),
                    bind_int(staff_id), bind_int(staff_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_staff s;
        staff_row(st, &s);
        if (fn(ctx, &s))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_staff_list(nudge *n, int64_t clinic_id, nudge_staff_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    return staff_each(n, clinic_id, NULL, 0, fn, ctx, err);
}

static int staff_found(void *ctx, const nudge_staff *s)
{
    *(nudge_staff *)ctx = *s;
    return 1;
}

int nudge_staff_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    nudge_staff s = {0};
    if (staff_each(n, clinic_id, NULL, id, staff_found, &s, err) < 0)
        return -1;
    if (!s.id)
        return err_set(err, NUDGE_ENOTFOUND, "staff", "no staff member %lld", (long long)id);
    if (store_begin_clinic(n->db, s.clinic_id, err) < 0)
        return -1;
    /* Their deliveries go with them (ON DELETE CASCADE): nothing more is
     * sent to someone who left. */
    if (store_exec(n->db, err, "DELETE FROM staff_members WHERE clinic_id = ? AND id = ?",
                   bind_int(s.clinic_id), bind_int(id)) < 0 ||
        audit_add(n, s.clinic_id, "staff.remove", "staff", id, s.name, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_staff_digest_set(nudge *n, int64_t clinic_id, int minute, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (minute < -1 || minute >= 1440)
        return err_set(err, NUDGE_EINVAL, "digest_at", "digest_at is HH:MM, or none");
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    int rc = minute < 0
                 ? store_exec(n->db, err, "DELETE FROM staff_digests WHERE clinic_id = ?",
                              bind_int(clinic_id))
                 : store_exec(n->db, err,
                              "INSERT INTO staff_digests (clinic_id, at_minute) VALUES (?, ?) "
                              "ON CONFLICT (clinic_id) DO UPDATE SET at_minute = excluded.at_minute",
                              bind_int(clinic_id), bind_int(minute));
    char what[8];
    snprintf(what, sizeof what, "%02d:%02d", minute < 0 ? 0 : minute / 60,
             minute < 0 ? 0 : minute % 60);
    if (rc < 0 || audit_add(n, clinic_id, "staff.digest", "clinic", clinic_id,
                            minute < 0 ? "off" : what, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_staff_digest_get(nudge *n, int64_t clinic_id, int *minute, nudge_err *err)
{
    err_clear(err);
    int64_t m = -1;
    int r = store_scalar(n->db, &m, err, "SELECT at_minute FROM staff_digests WHERE clinic_id = ?",
                         bind_int(clinic_id));
    *minute = r == 1 ? (int)m : -1;
    return r < 0 ? -1 : 0;
}

/* ---- alerts ---- */

typedef struct staff_send_ctx {
    nudge *n;
    const char *text, *subject, *key, *kind;
    int want_digest; /* the digest's readers, else the alerts' */
    int count;
    nudge_err *err;
    int failed;
} staff_send_ctx;

/* One delivery per channel the member has. */
static int staff_send_one(void *ctx, const nudge_staff *s)
{
    staff_send_ctx *c = ctx;
    if (!(c->want_digest ? s->digest : s->alerts))
        return 0;
    const struct {
        const char *target, *to;
    } chans[] = {{"email", s->email}, {"sms", s->phone}, {"chat", s->chat_url}};
    for (size_t i = 0; i < sizeof chans / sizeof *chans; i++) {
        if (!chans[i].to[0])
            continue;
        char key[160];
        if (c->key)
            snprintf(key, sizeof key, "%s:%s:%lld:%s", c->kind, c->key, (long long)s->id,
                     chans[i].target);
        hook_item it = {.clinic_id = s->clinic_id, .staff_id = s->id,
                        .event_type = c->want_digest ? "staff.digest" : "staff.alert",
                        .target = chans[i].target, .recipient = chans[i].to,
                        .subject = c->subject, .body = c->text, .dedupe_key = c->key ? key : NULL};
        int r = hook_enqueue(c->n, &it, NULL, c->err);
        if (r < 0) {
            c->failed = 1;
            return 1;
        }
        c->count += r;
    }
    return 0;
}

int staff_alert(nudge *n, int64_t clinic_id, const char *role, int64_t staff_id, const char *text,
                const char *key, int *count, nudge_err *err)
{
    staff_send_ctx c = {.n = n, .text = text, .subject = "nudge: alert", .key = key,
                        .kind = "alert", .err = err};
    if (count)
        *count = 0;
    if (staff_each(n, clinic_id ? clinic_id : -1, role, staff_id, staff_send_one, &c, err) < 0 ||
        c.failed)
        return -1;
    if (count)
        *count = c.count;
    return 0;
}

int nudge_staff_alert(nudge *n, int64_t clinic_id, const char *role, const char *text,
                      const char *key, int *count, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (str_blank(text) || !text_ok(text))
        return err_set(err, NUDGE_EINVAL, "text", "text is required, without control characters");
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (staff_alert(n, clinic_id, role, 0, text, key, count, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* ---- the daily digest ---- */

typedef struct digest_visit {
    int64_t start_at, patient_id;
    char service[128], provider[128], status[16];
} digest_visit;
typedef struct digest_ctx {
    int64_t from, to;
    digest_visit *v;
    int nv, cap;
    int64_t last_id;
} digest_ctx;

static int digest_take(void *ctx, const nudge_appointment *a)
{
    digest_ctx *d = ctx;
    d->last_id = a->id;
    if (a->start_at < d->from || a->start_at >= d->to)
        return 0;
    if (d->nv == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        digest_visit *g = realloc(d->v, (size_t)cap * sizeof *g);
        if (!g)
            return 1;
        d->v = g;
        d->cap = cap;
    }
    digest_visit *v = &d->v[d->nv++];
    v->start_at = a->start_at;
    v->patient_id = a->patient_id;
    snprintf(v->service, sizeof v->service, "%s", a->service);
    snprintf(v->provider, sizeof v->provider, "%s", a->provider);
    snprintf(v->status, sizeof v->status, "%s", a->status);
    return 0;
}

static int digest_cmp(const void *a, const void *b)
{
    const digest_visit *x = a, *y = b;
    return (x->start_at > y->start_at) - (x->start_at < y->start_at);
}

/* Midnight starting the local date `days` after l's. */
static int64_t digest_midnight(const tz_local *l, int days, const char *tz)
{
    tz_local noon = *l;
    noon.hour = 12;
    noon.minute = noon.second = 0;
    int64_t t;
    tz_from_local(&noon, tz, &t);
    tz_local d;
    tz_to_local(t + (int64_t)days * 86400, tz, &d); /* noon +- an hour: the right date */
    d.hour = d.minute = d.second = 0;
    tz_from_local(&d, tz, &t);
    return t;
}

/* The text of a clinic's digest for the local day after l. */
static char *digest_text(nudge *n, const nudge_clinic *c, const tz_local *l, nudge_err *err)
{
    digest_ctx d = {.from = digest_midnight(l, 1, c->timezone),
                    .to = digest_midnight(l, 2, c->timezone)};
    static const char *const active[] = {"scheduled", "confirmed"};
    for (int s = 0; s < 2; s++) {
        d.last_id = 0;
        for (;;) { /* pages of 200 by id until one adds nothing */
            int64_t after = d.last_id;
            if (nudge_appointment_list(n, c->id, 0, active[s], after, 200, digest_take, &d, err) <
                0) {
                free(d.v);
                return NULL;
            }
            if (d.last_id == after)
                break;
        }
    }
    qsort(d.v, (size_t)d.nv, sizeof *d.v, digest_cmp);
    tz_local day;
    tz_to_local(d.from + 3600, c->timezone, &day);
    sbuf b = {0};
    sbuf_printf(&b, "%s: %d visit%s tomorrow, %04d-%02d-%02d\n", c->name, d.nv,
                d.nv == 1 ? "" : "s", day.year, day.month, day.day);
    for (int i = 0; i < d.nv; i++) {
        tz_local at;
        tz_to_local(d.v[i].start_at, c->timezone, &at);
        nudge_patient p;
        nudge_err ignored;
        if (nudge_patient_get(n, c->id, d.v[i].patient_id, &p, &ignored) < 0)
            snprintf(p.name, sizeof p.name, "patient %lld", (long long)d.v[i].patient_id);
        sbuf_printf(&b, "%02d:%02d %s - %s%s%s%s (%s)\n", at.hour, at.minute, p.name,
                    d.v[i].service[0] ? d.v[i].service : "visit",
                    d.v[i].provider[0] ? ", " : "", d.v[i].provider, "", d.v[i].status);
    }
    free(d.v);
    char *s = sbuf_take(&b);
    if (!s)
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
    return s;
}

int staff_digest_scan(nudge *n, int64_t now, nudge_err *err)
{
    store_stmt *st;
    int64_t clinics[64];
    int at[64], count = 0, r;
    /* Every clinic with a digest: a deliberate cross-clinic scan. A
     * clinic whose time has not come is read again next minute. */
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, at_minute FROM staff_digests ORDER BY clinic_id") < 0)
        return -1;
    while ((r = store_next(st, err)) == 1 && count < 64) {
        clinics[count] = store_int(st, 0);
        at[count++] = (int)store_int(st, 1);
    }
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        nudge_clinic c;
        if (nudge_clinic_get(n, clinics[i], &c, err) < 0)
            return -1;
        tz_local l;
        if (tz_to_local(now, c.timezone, &l) < 0)
            continue;
        tz_local due_l = l;
        due_l.hour = at[i] / 60;
        due_l.minute = at[i] % 60;
        due_l.second = 0;
        int64_t due;
        if (tz_from_local(&due_l, c.timezone, &due) < 0 || now < due)
            continue;
        char today[16];
        snprintf(today, sizeof today, "%04d-%02d-%02d", l.year, l.month, l.day);
        if (store_exec(n->db, err,
                       "UPDATE staff_digests SET last_day = ? WHERE clinic_id = ? AND "
                       "(last_day IS NULL OR last_day <> ?)",
                       bind_text(today), bind_int(c.id), bind_text(today)) < 0)
            return -1;
        if (store_changes(n->db) == 0)
            continue; /* today's went already */
        char *text = digest_text(n, &c, &l, err);
        if (!text)
            return -1;
        staff_send_ctx sc = {.n = n, .text = text, .subject = "nudge: tomorrow's visits",
                             .key = today, .kind = "digest", .want_digest = 1, .err = err};
        r = staff_each(n, c.id, NULL, 0, staff_send_one, &sc, err);
        free(text);
        if (r < 0 || sc.failed)
            return -1;
    }
    return 0;
}

/* ---- the workflow step "staff.notify" ----
 * args: "role" (those of that role; absent: every member taking alerts)
 * or "staff" (one member's id); "text", a template over the event's
 * payload ({type}, {subject_id} and each scalar member of the payload),
 * or "template", a built-in alert text by name (the names below); neither:
 * the built-in text of the event's type, else "{type} #{subject_id}". */
static const struct {
    const char *name, *text;
} staff_texts[] = {
    {"ticket.escalated", "Ticket #{subject_id} was escalated and needs a person."},
    {"appointment.no_show", "No-show: appointment #{subject_id} was missed."},
    {"message.failed", "A {channel} message (#{subject_id}) failed for good: {error}"},
    {"channel.misconfigured",
     "The {transport} credentials were refused ({channel}); messages wait: {detail}"},
    {"appointment.cancelled", "Appointment #{subject_id} was cancelled."},
    {"appointment.booked", "New booking: appointment #{subject_id}."},
    {"generic", "{type} #{subject_id}"},
};

static const char *staff_text_named(const char *name)
{
    for (size_t i = 0; i < sizeof staff_texts / sizeof *staff_texts; i++)
        if (!strcmp(staff_texts[i].name, name))
            return staff_texts[i].text;
    return NULL;
}

static int staff_step_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    const char *key;
    json_t *v;
    char f[96];
    if (!json_is_object(args))
        return err_set(err, NUDGE_EINVAL, path, "%s.args must be an object", path);
    json_object_foreach((json_t *)args, key, v)
    {
        snprintf(f, sizeof f, "%s.%s", path, key);
        if (!strcmp(key, "role")) {
            if (!json_is_string(v) || !text_ok(json_string_value(v)))
                return err_set(err, NUDGE_EINVAL, f, "%s must be a role's name", f);
        } else if (!strcmp(key, "staff")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1)
                return err_set(err, NUDGE_EINVAL, f, "%s must be a staff member's id", f);
        } else if (!strcmp(key, "text")) {
            if (!json_is_string(v) || str_blank(json_string_value(v)))
                return err_set(err, NUDGE_EINVAL, f, "%s must be a text", f);
            if (tmpl_check(json_string_value(v), f, err) < 0)
                return -1;
        } else if (!strcmp(key, "template")) {
            if (!json_is_string(v) || !staff_text_named(json_string_value(v)))
                return err_set(err, NUDGE_EINVAL, f,
                               "%s: one of ticket.escalated, appointment.no_show, "
                               "message.failed, channel.misconfigured, appointment.cancelled, "
                               "appointment.booked, generic",
                               f);
        } else {
            return err_set(err, NUDGE_EINVAL, f, "%s: unknown (role, staff, text, template)", f);
        }
    }
    if (json_object_get(args, "role") && json_object_get(args, "staff")) {
        snprintf(f, sizeof f, "%s.staff", path);
        return err_set(err, NUDGE_EINVAL, f, "%s: give role or staff, not both", path);
    }
    if (json_object_get(args, "text") && json_object_get(args, "template")) {
        snprintf(f, sizeof f, "%s.template", path);
        return err_set(err, NUDGE_EINVAL, f, "%s: give text or template, not both", path);
    }
    return 0;
}

static int staff_step_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    if (staff_step_validate(c->n, args, "args", err) < 0)
        return -1;
    nudge_vars v = {0};
    char num[32];
    nudge_vars_set(&v, "type", c->event_type);
    snprintf(num, sizeof num, "%lld", (long long)c->subject_id);
    nudge_vars_set(&v, "subject_id", num);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)c->event, key, val)
    {
        if (json_is_string(val))
            nudge_vars_set(&v, key, json_string_value(val));
        else if (json_is_integer(val)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(val));
            nudge_vars_set(&v, key, num);
        }
    }
    const char *src = json_string_value(json_object_get(args, "text"));
    const char *tname = json_string_value(json_object_get(args, "template"));
    if (!src)
        src = staff_text_named(tname ? tname : c->event_type);
    if (!src)
        src = staff_text_named("generic");
    char *text = tmpl_render(src, &v, 0, err);
    nudge_vars_free(&v);
    if (!text)
        return -1;
    char akey[64];
    snprintf(akey, sizeof akey, "wf%lld.%d", (long long)c->run_id, c->step);
    int count = 0;
    int r = staff_alert(c->n, c->clinic_id, json_string_value(json_object_get(args, "role")),
                        json_integer_value(json_object_get(args, "staff")), text, akey, &count,
                        err);
    free(text);
    if (r < 0)
        return -1;
    *result = json_pack("{s:i}", "deliveries", count);
    return 0;
}

const wf_step_kind staff_step_notify = {"staff.notify", staff_step_validate, staff_step_run};
