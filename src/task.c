/*
 * task.c: the durable task scheduler (issue 9 item 5) and the only SQL on
 * `tasks` and `task_runs`. A task names a function of the registry (a
 * table of built-ins, Redis-style, plus what the embedder registers in its
 * handle) and a schedule in a zone; nudge_tick calls task_tick with its
 * instant, which runs what is due and what this handle knows.
 *
 * An occurrence is claimed in the store, not in a process: a conditional
 * UPDATE of the task row (status 'scheduled' and the next_run the worker
 * read) in a transaction without the writers' lock, so on PostgreSQL a
 * second worker's UPDATE waits for the first's commit and then matches
 * nothing. The function runs outside any transaction (a backup takes its
 * time); its end is recorded by the holder of the claim (lease_owner). A
 * worker that dies mid-run leaves the row 'running' until its lease ends;
 * the next tick records that run as lost and retries it.
 *
 * After a run the next occurrence is the first after the tick's now, so a
 * task that came due while nothing ran (nudge down for a week) runs once,
 * its history marked late, and not once per missed slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "core.h"
#include "tz.h"
#include "util.h"

/* A run may take this long before another worker calls it lost. */
#define TASK_LEASE 3600
/* Retries wait backoff_seconds doubled per attempt, up to a day. */
#define TASK_BACKOFF_MAX 86400
#define TASK_DUE_BATCH 32
#define TASK_PURGE_DAYS 400

static const char *const task_kinds[] = {"once", "daily", "weekly", "monthly", "interval", "rrule",
                                         NULL};
static const char *const task_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

/* ---- the registry ---- */

static int task_purge(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err);

/* The built-in functions. A scan (the reminder kinds' recall, birthday
 * and lab-overdue scans, which look at every clinic) is an entry with
 * .scan set instead of .run; it runs in one transaction under the
 * writers' lock (task_claim_run), as it reads domain state and plans on
 * it (a recall held by a booking). */
static const struct task_builtin {
    const char *name;
    nudge_task_fn run;
    int (*scan)(nudge *n, int64_t now, nudge_err *err);
    int global_only; /* the installation's own: no clinic may own one */
    const char *help;
} task_builtins[] = {
    {"purge", task_purge, NULL, 0,
     "deletes delivered messages older than args.retention_days (400) of the task's clinic, "
     "or of every clinic for a global task"},
    {"backup", backup_task, NULL, 1,
     "backs the SQLite database up (args: dir, keep, encrypt); refused on PostgreSQL"},
    {"recall_scan", NULL, recall_scan, 1,
     "plans each open recall's next send a little ahead (every clinic)"},
    {"birthday_scan", NULL, birthday_scan, 1,
     "plans birthday wishes for the patients whose birthday it is in their zone"},
    {"lab_scan", NULL, lab_scan, 1, "plans the reminders of lab tests due or overdue"},
};
#define TASK_N_BUILTINS (sizeof task_builtins / sizeof *task_builtins)

#define TASK_MAX_FNS 32
struct task_fns {
    int n;
    struct {
        char name[64];
        nudge_task_fn fn;
        void *ctx;
    } f[TASK_MAX_FNS];
};

void task_fns_free(nudge *n)
{
    free(n->task_fns);
    n->task_fns = NULL;
}

int nudge_task_register(nudge *n, const char *name, nudge_task_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    if (str_blank(name) || strlen(name) >= sizeof n->task_fns->f[0].name || !fn)
        return err_set(err, NUDGE_EINVAL, "name", "a task function needs a name (1-63 bytes) and "
                                                  "a function");
    if (!n->task_fns && !(n->task_fns = calloc(1, sizeof *n->task_fns)))
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    struct task_fns *r = n->task_fns;
    int i = 0;
    while (i < r->n && strcmp(r->f[i].name, name))
        i++;
    if (i == TASK_MAX_FNS)
        return err_set(err, NUDGE_EINVAL, "name", "too many task functions (%d)", TASK_MAX_FNS);
    if (i == r->n)
        r->n++;
    snprintf(r->f[i].name, sizeof r->f[i].name, "%s", name);
    r->f[i].fn = fn;
    r->f[i].ctx = ctx;
    return 0;
}

int nudge_task_functions(nudge *n, const char **names, int max)
{
    int c = 0;
    for (size_t i = 0; i < TASK_N_BUILTINS; i++)
        if (c < max)
            names[c++] = task_builtins[i].name;
    for (int i = 0; n->task_fns && i < n->task_fns->n; i++) {
        int seen = 0;
        for (size_t b = 0; b < TASK_N_BUILTINS; b++)
            seen |= !strcmp(task_builtins[b].name, n->task_fns->f[i].name);
        if (!seen && c < max)
            names[c++] = n->task_fns->f[i].name;
    }
    return c;
}

/* What runs a function name in this handle: the embedder's first (it may
 * replace a built-in: its own backup), then the table. */
typedef struct task_call {
    nudge_task_fn run;
    int (*scan)(nudge *n, int64_t now, nudge_err *err);
    void *ctx;
    int global_only;
} task_call;

static int task_find(nudge *n, const char *name, task_call *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; n->task_fns && i < n->task_fns->n; i++)
        if (!strcmp(n->task_fns->f[i].name, name)) {
            c->run = n->task_fns->f[i].fn;
            c->ctx = n->task_fns->f[i].ctx;
            return 1;
        }
    for (size_t i = 0; i < TASK_N_BUILTINS; i++)
        if (!strcmp(task_builtins[i].name, name)) {
            c->run = task_builtins[i].run;
            c->scan = task_builtins[i].scan;
            c->global_only = task_builtins[i].global_only;
            return 1;
        }
    return 0;
}

/* ---- schedules ---- */

typedef struct task_sched {
    int kind;       /* index in task_kinds */
    int minute;     /* daily, weekly, monthly: minute of the local day */
    unsigned wdays; /* weekly: bit per day, 0 Sunday */
    int mday;       /* monthly: 1-31 */
    int64_t every;  /* interval: seconds */
} task_sched;

/* The civil date `day` days after y-m-d (tz.c normalises the overflow),
 * with its weekday: date arithmetic through UTC, where it is exact. */
static int task_civil(int y, int m, int d, tz_local *out)
{
    tz_local w = {.year = y, .month = m, .day = d, .hour = 12};
    int64_t t;
    return tz_from_local(&w, "UTC", &t) < 0 ? -1 : tz_to_local(t, "UTC", out);
}

static int task_bad(nudge_err *err, const char *kind, const char *want, const char *got)
{
    return err_set(err, NUDGE_EINVAL, "schedule", "a %s schedule is %s (got \"%.80s\")", kind, want,
                   got);
}

static int task_parse_rrule(const char *s, struct icalrecurrencetype *r, nudge_err *err)
{
    icalerror_clear_errno();
    *r = icalrecurrencetype_from_string(s);
    if (r->freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
        icalerror_clear_errno();
        return task_bad(err, "rrule", "an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO;BYHOUR=9",
                        s);
    }
    return 0;
}

static int task_parse(const nudge_task *t, task_sched *s, nudge_err *err)
{
    memset(s, 0, sizeof *s);
    s->kind = nudge_names_find(task_kinds, t->kind);
    if (s->kind < 0)
        return err_set(err, NUDGE_EINVAL, "kind",
                       "kind is once, daily, weekly, monthly, interval or rrule (got \"%.32s\")",
                       t->kind);
    const char *p = t->schedule;
    switch (s->kind) {
    case 0: /* once: the instant is start_at, read from the schedule by task_add */
        return 0;
    case 1:
        if (tz_parse_hhmm(p, &s->minute) < 0)
            return task_bad(err, "daily", "HH:MM", p);
        return 0;
    case 2: {
        const char *sp = strchr(p, ' ');
        if (!sp || tz_parse_hhmm(sp + 1, &s->minute) < 0)
            return task_bad(err, "weekly", "days and HH:MM, e.g. \"mon,thu 09:00\"", p);
        for (const char *d = p; d < sp;) {
            size_t l = strcspn(d, ", ");
            int i = 0;
            while (task_days[i] && (l != 3 || strncasecmp(task_days[i], d, 3)))
                i++;
            if (!task_days[i])
                return task_bad(err, "weekly", "days (sun..sat) and HH:MM, e.g. \"mon,thu 09:00\"",
                                p);
            s->wdays |= 1u << i;
            d += l + (d[l] == ',');
        }
        return 0;
    }
    case 3: {
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p || *end != ' ' || d < 1 || d > 31 || tz_parse_hhmm(end + 1, &s->minute) < 0)
            return task_bad(err, "monthly", "a day 1-31 and HH:MM, e.g. \"31 02:00\"", p);
        s->mday = (int)d;
        return 0;
    }
    case 4: {
        char *end;
        long long v = strtoll(p, &end, 10);
        int64_t unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                     : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
        if (end == p || !unit || v < 1 || v > 366LL * 86400 / unit)
            return task_bad(err, "interval", "N seconds, or N followed by s, m, h or d", p);
        s->every = (int64_t)v * unit;
        return 0;
    }
    default: {
        struct icalrecurrencetype r;
        return task_parse_rrule(p, &r, err);
    }
    }
}

static int task_zone_err(const char *tz, nudge_err *err)
{
    return err_set(err, NUDGE_EINVAL, "timezone", "unknown time zone \"%.64s\"", tz);
}

/* The first local day from `after`'s on which the schedule matches and
 * whose wall time converts to an instant after `after`. A wall time in a
 * DST gap moves forward by the gap; an ambiguous one is its first
 * instant, so a fall-back night runs once. */
static int task_next_local(const task_sched *s, const char *tz, int64_t after, int64_t *next)
{
    tz_local l;
    if (tz_to_local(after, tz, &l) < 0)
        return -1;
    for (int k = 0; k < 400; k++) {
        tz_local w, last;
        if (task_civil(l.year, l.month, l.day + k, &w) < 0)
            return -1;
        if (s->kind == 2 && !(s->wdays & (1u << w.wday)))
            continue;
        /* Day 0 of the next month: this month's last day. */
        if (s->kind == 3 && (task_civil(w.year, w.month + 1, 0, &last) < 0 ||
                             w.day != (s->mday < last.day ? s->mday : last.day)))
            continue;
        w.hour = s->minute / 60;
        w.minute = s->minute % 60;
        w.second = 0;
        int64_t t;
        if (tz_from_local(&w, tz, &t) < 0)
            return -1;
        if (t > after) {
            *next = t;
            return 0;
        }
    }
    *next = 0;
    return 0;
}

static struct icaltimetype task_ical_local(int64_t t, const char *tz)
{
    tz_local l;
    tz_to_local(t, tz, &l);
    struct icaltimetype it = icaltime_null_time();
    it.year = l.year;
    it.month = l.month;
    it.day = l.day;
    it.hour = l.hour;
    it.minute = l.minute;
    it.second = l.second;
    return it;
}

/* RRULE occurrences are wall times (libical iterates floating times from
 * DTSTART's wall time), converted to instants by tz.c like every other
 * kind. */
static int task_next_rrule(const nudge_task *t, int64_t after, int64_t *next, nudge_err *err)
{
    struct icalrecurrencetype r;
    if (task_parse_rrule(t->schedule, &r, err) < 0)
        return -1;
    icalrecur_iterator *it = icalrecur_iterator_new(r, task_ical_local(t->start_at, t->timezone));
    if (!it) {
        icalerror_clear_errno();
        return task_bad(err, "rrule", "an RRULE libical can expand", t->schedule);
    }
    /* Skip ahead to a day before `after` where the rule allows it (not
     * with COUNT, which counts from DTSTART). */
    if (after - 86400 > t->start_at && !r.count)
        icalrecur_iterator_set_start(it, task_ical_local(after - 86400, t->timezone));
    *next = 0;
    for (int i = 0; i < 1000000; i++) {
        struct icaltimetype o = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(o))
            break;
        tz_local w = {.year = o.year, .month = o.month, .day = o.day, .hour = o.hour,
                      .minute = o.minute, .second = o.second};
        int64_t at;
        if (tz_from_local(&w, t->timezone, &at) < 0)
            break;
        if (at > after) {
            *next = at;
            break;
        }
    }
    icalrecur_iterator_free(it);
    icalerror_clear_errno();
    return 0;
}

int nudge_task_next(const nudge_task *t, int64_t after, int64_t *next, nudge_err *err)
{
    err_clear(err);
    task_sched s;
    if (task_parse(t, &s, err) < 0)
        return -1;
    if (!tz_valid(t->timezone))
        return task_zone_err(t->timezone, err);
    switch (s.kind) {
    case 0:
        *next = t->start_at > after ? t->start_at : 0;
        return 0;
    case 4:
        *next = after < t->start_at ? t->start_at
                                    : t->start_at + ((after - t->start_at) / s.every + 1) * s.every;
        return 0;
    case 5:
        return task_next_rrule(t, after, next, err);
    default:
        if (task_next_local(&s, t->timezone, after, next) < 0)
            return task_zone_err(t->timezone, err);
        return 0;
    }
}

/* ---- rows ---- */

#define TASK_COLS                                                                                  \
    "id, clinic_id, name, fn, kind, schedule, timezone, COALESCE(args, ''), status, start_at, "   \
    "COALESCE(next_run, 0), COALESCE(slot, 0), attempts, max_retries, backoff_seconds, "         \
    "COALESCE(last_run_at, 0), COALESCE(last_outcome, ''), COALESCE(last_error, ''), "           \
    "created_at, updated_at, COALESCE(lease_owner, '')"

static void task_read(store_stmt *st, nudge_task *t, char *owner, size_t owner_n)
{
    memset(t, 0, sizeof *t);
    t->id = store_int(st, 0);
    t->clinic_id = store_int(st, 1);
    store_copy(st, 2, t->name, sizeof t->name);
    store_copy(st, 3, t->fn, sizeof t->fn);
    store_copy(st, 4, t->kind, sizeof t->kind);
    store_copy(st, 5, t->schedule, sizeof t->schedule);
    store_copy(st, 6, t->timezone, sizeof t->timezone);
    store_copy(st, 7, t->args, sizeof t->args);
    store_copy(st, 8, t->status, sizeof t->status);
    t->start_at = store_int(st, 9);
    t->next_run = store_int(st, 10);
    t->slot = store_int(st, 11);
    t->attempts = (int)store_int(st, 12);
    t->max_retries = (int)store_int(st, 13);
    t->backoff_seconds = (int)store_int(st, 14);
    t->last_run_at = store_int(st, 15);
    store_copy(st, 16, t->last_outcome, sizeof t->last_outcome);
    store_copy(st, 17, t->last_error, sizeof t->last_error);
    t->created_at = store_int(st, 18);
    t->updated_at = store_int(st, 19);
    if (owner)
        store_copy(st, 20, owner, owner_n);
}

/* One task in the scope (NUDGE_ANY_CLINIC: any clinic's, the local
 * admin's deliberate cross-clinic read). */
static int task_load(nudge *n, int64_t clinic_id, int64_t id, nudge_task *t, char *owner,
                     size_t owner_n, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " TASK_COLS " FROM tasks WHERE (? = 0 OR clinic_id = ?) AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        task_read(st, t, owner, owner_n);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "id", "no task %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_task_get(nudge *n, int64_t clinic_id, int64_t id, nudge_task *out, nudge_err *err)
{
    err_clear(err);
    return task_load(n, clinic_id, id, out, NULL, 0, err);
}

int nudge_task_list(nudge *n, int64_t clinic_id, nudge_task_each_fn fn, void *ctx,
                    nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " TASK_COLS " FROM tasks WHERE (? = 0 OR clinic_id = ?) ORDER BY id",
                    bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_task t;
        task_read(st, &t, NULL, 0);
        if (fn(ctx, &t) < 0) {
            r = err_set(err, NUDGE_EIO, "", "stopped by the caller");
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_task_runs(nudge *n, int64_t clinic_id, int64_t id, int limit, nudge_task_run_fn fn,
                    void *ctx, nudge_err *err)
{
    err_clear(err);
    nudge_task t;
    if (task_load(n, clinic_id, id, &t, NULL, 0, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, task_id, clinic_id, slot, attempt, started_at, "
                    "COALESCE(ended_at, 0), COALESCE(duration_s, 0), outcome, COALESCE(error, ''), "
                    "late, worker FROM task_runs WHERE clinic_id = ? AND task_id = ? "
                    "ORDER BY id DESC LIMIT ?",
                    bind_int(t.clinic_id), bind_int(t.id), bind_int(limit > 0 ? limit : 50)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_task_run x = {0};
        x.id = store_int(st, 0);
        x.task_id = store_int(st, 1);
        x.clinic_id = store_int(st, 2);
        x.slot = store_int(st, 3);
        x.attempt = (int)store_int(st, 4);
        x.started_at = store_int(st, 5);
        x.ended_at = store_int(st, 6);
        x.duration = store_int(st, 7);
        store_copy(st, 8, x.outcome, sizeof x.outcome);
        store_copy(st, 9, x.error, sizeof x.error);
        x.late = (int)store_int(st, 10);
        store_copy(st, 11, x.worker, sizeof x.worker);
        if (fn(ctx, &x) < 0) {
            r = err_set(err, NUDGE_EIO, "", "stopped by the caller");
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- changes ---- */

/* audit 0: a default task, made within its clinic's creation, which is
 * the audit log's row for it. */
static int task_add(nudge *n, nudge_task *t, int audit, nudge_err *err)
{
    err_clear(err);
    int64_t now = clock_now(n);
    if (str_blank(t->name))
        return err_set(err, NUDGE_EINVAL, "name", "a task needs a name");
    const struct {
        const char *field, *text;
    } texts[] = {{"name", t->name},         {"fn", t->fn},         {"kind", t->kind},
                 {"schedule", t->schedule}, {"timezone", t->timezone}, {"args", t->args}};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (!text_ok(texts[i].text))
            return err_set(err, NUDGE_EINVAL, texts[i].field,
                           "%s must be UTF-8 text without control characters", texts[i].field);
    task_call call;
    if (!task_find(n, t->fn, &call)) {
        const char *names[TASK_MAX_FNS + TASK_N_BUILTINS + 1] = {0};
        nudge_task_functions(n, names, TASK_MAX_FNS + (int)TASK_N_BUILTINS);
        char list[512];
        nudge_names_join(names, 0, ", ", NULL, list, sizeof list);
        return err_set(err, NUDGE_EINVAL, "fn", "no task function \"%.64s\" here; known: %s",
                       t->fn, list);
    }
    if (call.global_only && t->clinic_id != NUDGE_TASK_GLOBAL)
        return err_set(err, NUDGE_EINVAL, "clinic_id",
                       "a %s task is the installation's own, not a clinic's", t->fn);
    if (t->clinic_id != NUDGE_TASK_GLOBAL) {
        nudge_clinic c;
        if (nudge_clinic_get(n, t->clinic_id, &c, err) < 0)
            return err->code == NUDGE_ENOTFOUND
                       ? err_set(err, NUDGE_EINVAL, "clinic_id", "no clinic %lld",
                                 (long long)t->clinic_id)
                       : -1;
        if (!t->timezone[0])
            snprintf(t->timezone, sizeof t->timezone, "%s", c.timezone);
    }
    if (!t->timezone[0])
        snprintf(t->timezone, sizeof t->timezone, "UTC");
    if (!tz_valid(t->timezone))
        return task_zone_err(t->timezone, err);
    if (t->args[0]) {
        json_error_t je;
        json_t *a = json_loads(t->args, 0, &je);
        int obj = json_is_object(a);
        json_decref(a);
        if (!obj)
            return err_set(err, NUDGE_EINVAL, "args", "args is a JSON object");
    }
    if (t->max_retries < 0)
        t->max_retries = 3;
    if (t->backoff_seconds <= 0)
        t->backoff_seconds = 60;
    if (t->max_retries > 100 || t->backoff_seconds > TASK_BACKOFF_MAX)
        return err_set(err, NUDGE_EINVAL, t->max_retries > 100 ? "max_retries" : "backoff_seconds",
                       "at most 100 retries, a backoff of at most a day");
    task_sched s;
    if (task_parse(t, &s, err) < 0)
        return -1;
    if (s.kind == 0 && tz_parse(t->schedule, t->timezone, &t->start_at, "schedule", err) < 0)
        return -1;
    if (!t->start_at)
        t->start_at = now;
    /* An occurrence at this very second counts. */
    if (nudge_task_next(t, now - 1, &t->next_run, err) < 0)
        return -1;
    if (!t->next_run)
        return err_set(err, NUDGE_EINVAL, "schedule", "the schedule has no occurrence after now");
    t->slot = t->next_run;
    snprintf(t->status, sizeof t->status, "scheduled");
    t->attempts = 0;
    t->created_at = t->updated_at = now;
    if (store_begin_clinic(n->db, t->clinic_id, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "INSERT INTO tasks (clinic_id, name, fn, kind, schedule, timezone, args, "
                    "status, start_at, next_run, slot, max_retries, backoff_seconds, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING id",
                    bind_int(t->clinic_id), bind_text(t->name), bind_text(t->fn),
                    bind_text(t->kind), bind_text(t->schedule), bind_text(t->timezone),
                    bind_text_or_null(t->args), bind_text(t->status), bind_int(t->start_at),
                    bind_int(t->next_run), bind_int(t->slot), bind_int(t->max_retries),
                    bind_int(t->backoff_seconds), bind_int(now), bind_int(now)) < 0)
        goto fail_conflict;
    int r = store_next(st, err);
    if (r == 1)
        t->id = store_int(st, 0);
    store_done(st);
    if (r != 1)
        goto fail_conflict;
    if (audit && audit_add(n, t->clinic_id, "task.add", "task", t->id, t->name, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail_conflict:
    if (err->code == NUDGE_ECONFLICT)
        err_set(err, NUDGE_ECONFLICT, "name", "a task named \"%.64s\" exists", t->name);
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_task_add(nudge *n, nudge_task *t, nudge_err *err)
{
    return task_add(n, t, 1, err);
}

/* A staff change of a task's state: the UPDATE names the states it may
 * come from, so a concurrent run or change is a conflict, not a lost
 * write. */
static int task_change(nudge *n, int64_t clinic_id, int64_t id, const char *action,
                       nudge_task *t, nudge_err *err)
{
    err_clear(err);
    int64_t now = clock_now(n);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (task_load(n, clinic_id, id, t, NULL, 0, err) < 0)
        goto fail;
    const char *was = t->status;
    int rc;
    if (!strcmp(action, "pause")) {
        if (strcmp(was, "scheduled")) {
            err_set(err, NUDGE_ECONFLICT, "status", "task %lld is %s: only a scheduled task "
                    "pauses", (long long)id, was);
            goto fail;
        }
        rc = store_exec(n->db, err,
                        "UPDATE tasks SET status = 'paused', updated_at = ? "
                        "WHERE clinic_id = ? AND id = ? AND status = 'scheduled'",
                        bind_int(now), bind_int(t->clinic_id), bind_int(id));
    } else if (!strcmp(action, "delete")) {
        if (!strcmp(was, "running")) {
            err_set(err, NUDGE_ECONFLICT, "status", "task %lld is running", (long long)id);
            goto fail;
        }
        rc = store_exec(n->db, err, "DELETE FROM task_runs WHERE clinic_id = ? AND task_id = ?",
                        bind_int(t->clinic_id), bind_int(id));
        if (rc == 0)
            rc = store_exec(n->db, err,
                            "DELETE FROM tasks WHERE clinic_id = ? AND id = ? AND status <> "
                            "'running'",
                            bind_int(t->clinic_id), bind_int(id));
    } else {
        /* resume: from now on; run: due now, the schedule going on after. */
        int run = !strcmp(action, "run");
        if (run ? !strcmp(was, "running") || !strcmp(was, "paused")
                : strcmp(was, "paused") && strcmp(was, "failed")) {
            err_set(err, NUDGE_ECONFLICT, "status", "task %lld is %s: %s", (long long)id, was,
                    run ? "resume a paused task first; a running one is running"
                        : "only a paused or failed task resumes");
            goto fail;
        }
        int64_t next = now;
        if (!run && nudge_task_next(t, now - 1, &next, err) < 0)
            goto fail;
        if (!run && !next && !strcmp(t->kind, "once"))
            next = now; /* a one-off whose time passed while paused: once, now */
        if (!next) {
            err_set(err, NUDGE_ECONFLICT, "schedule", "task %lld has no occurrence left",
                    (long long)id);
            goto fail;
        }
        rc = store_exec(n->db, err,
                        "UPDATE tasks SET status = 'scheduled', next_run = ?, slot = ?, "
                        "attempts = 0, updated_at = ? WHERE clinic_id = ? AND id = ? "
                        "AND status = ?",
                        bind_int(next), bind_int(next), bind_int(now), bind_int(t->clinic_id),
                        bind_int(id), bind_text(was));
        t->next_run = next;
    }
    char what[32];
    snprintf(what, sizeof what, "task.%s", action);
    if (rc < 0 || audit_add(n, t->clinic_id, what, "task", id, t->name, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_task_pause(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_task t;
    return task_change(n, clinic_id, id, "pause", &t, err);
}

int nudge_task_resume(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_task t;
    return task_change(n, clinic_id, id, "resume", &t, err);
}

int nudge_task_delete(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_task t;
    return task_change(n, clinic_id, id, "delete", &t, err);
}

/* ---- running ---- */

/* Records the end of a claimed attempt and moves the task on: the next
 * occurrence after now on success, a retry after backoff, or failed. */
static int task_finish(nudge *n, const nudge_task *t, const char *owner, int64_t run_id,
                       int64_t started, const char *outcome, const char *error, int64_t now,
                       nudge_err *err)
{
    const char *status = "scheduled";
    int64_t next = 0, slot = t->slot;
    int attempts = t->attempts;
    if (!strcmp(outcome, "ok")) {
        if (nudge_task_next(t, now, &next, err) < 0)
            return -1;
        status = next ? "scheduled" : "completed";
        slot = next;
        attempts = 0;
    } else if (t->attempts <= t->max_retries) {
        int64_t wait = t->backoff_seconds;
        for (int i = 1; i < t->attempts && wait < TASK_BACKOFF_MAX; i++)
            wait *= 2;
        next = now + (wait < TASK_BACKOFF_MAX ? wait : TASK_BACKOFF_MAX);
    } else {
        status = "failed";
    }
    if (store_begin_own(n->db, err) < 0)
        return -1;
    if (run_id &&
        store_exec(n->db, err,
                   "UPDATE task_runs SET ended_at = ?, duration_s = ?, outcome = ?, error = ? "
                   "WHERE clinic_id = ? AND id = ?",
                   bind_int(now), bind_int(now - started), bind_text(outcome),
                   bind_text_or_null(error), bind_int(t->clinic_id), bind_int(run_id)) < 0)
        goto fail;
    if (store_exec(n->db, err,
                   "UPDATE tasks SET status = ?, next_run = ?, slot = ?, attempts = ?, "
                   "lease_owner = NULL, lease_until = NULL, last_run_at = ?, last_outcome = ?, "
                   "last_error = ?, updated_at = ? "
                   "WHERE clinic_id = ? AND id = ? AND status = 'running' AND lease_owner = ?",
                   bind_text(status), bind_int_or_null(next), bind_int_or_null(slot),
                   bind_int(attempts), bind_int(started), bind_text(outcome),
                   bind_text_or_null(error), bind_int(now), bind_int(t->clinic_id),
                   bind_int(t->id), bind_text(owner)) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* A scan in one transaction with the writers' lock (store_begin takes
 * it), so on PostgreSQL a booking cannot slip between a recall scan's read
 * and its plan; its plans are committed together. */
static int task_scan(nudge *n, int (*scan)(nudge *n, int64_t now, nudge_err *err), int64_t now,
                     nudge_err *err)
{
    if (store_begin(n->db, err) < 0)
        return -1;
    if (scan(n, now, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* Claims the occurrence of task (clinic, id) due at `due` and runs it
 * here: *ran 1 when this call ran it, 0 when another worker had it. A
 * failing function is recorded, not returned: -1 is the store's. */
static int task_claim_run(nudge *n, int64_t clinic_id, int64_t id, int64_t due, int64_t now,
                          int *ran, nudge_err *err)
{
    *ran = 0;
    if (store_begin_own(n->db, err) < 0)
        return -1;
    /* The claim: only one worker's UPDATE finds the row still scheduled
     * at this next_run (PostgreSQL re-reads it after the first commits). */
    if (store_exec(n->db, err,
                   "UPDATE tasks SET status = 'running', attempts = attempts + 1, "
                   "lease_owner = ?, lease_until = ?, updated_at = ? "
                   "WHERE clinic_id = ? AND id = ? AND status = 'scheduled' AND next_run = ?",
                   bind_text(n->worker_id), bind_int(now + TASK_LEASE), bind_int(now),
                   bind_int(clinic_id), bind_int(id), bind_int(due)) < 0)
        goto fail;
    if (store_changes(n->db) == 0) {
        store_rollback(n->db);
        return 0;
    }
    nudge_task t;
    if (task_load(n, clinic_id, id, &t, NULL, 0, err) < 0)
        goto fail;
    int late = t.attempts == 1 && now > t.slot + NUDGE_TASK_LATE;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "INSERT INTO task_runs (clinic_id, task_id, slot, attempt, started_at, "
                    "outcome, late, worker) VALUES (?, ?, ?, ?, ?, 'running', ?, ?) RETURNING id",
                    bind_int(clinic_id), bind_int(id), bind_int(t.slot), bind_int(t.attempts),
                    bind_int(now), bind_int(late), bind_text(n->worker_id)) < 0)
        goto fail;
    int64_t run_id = 0;
    int r = store_next(st, err);
    if (r == 1)
        run_id = store_int(st, 0);
    store_done(st);
    if (r != 1 || store_commit(n->db, err) < 0)
        goto fail;
    *ran = 1;

    task_call call;
    nudge_err ferr = {0};
    int rc;
    if (!task_find(n, t.fn, &call))
        rc = err_set(&ferr, NUDGE_EINVAL, "fn", "no task function \"%.64s\" here", t.fn);
    else
        rc = call.scan ? task_scan(n, call.scan, now, &ferr)
                       : call.run(n, &t, now, call.ctx, &ferr);
    if (n->db->tx_depth > 0) { /* a function that left its transaction open */
        store_rollback(n->db);
        if (rc == 0)
            rc = err_set(&ferr, NUDGE_ESTORE, "", "the task left a transaction open");
    }
    if (rc < 0 && !ferr.msg[0])
        err_set(&ferr, NUDGE_EIO, "", "failed without saying why");
    return task_finish(n, &t, n->worker_id, run_id, now, rc < 0 ? "failed" : "ok",
                       rc < 0 ? ferr.msg : NULL, now, err);
fail:
    store_rollback(n->db);
    return -1;
}

/* Runs whose worker stopped (the lease ran out) are recorded as lost and
 * retried like a failure. Deliberately across clinics: the scheduler's
 * own scan. */
static int task_reap(nudge *n, int64_t now, nudge_err *err)
{
    struct {
        int64_t clinic, id;
    } lost[TASK_DUE_BATCH];
    int k = 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id FROM tasks WHERE status = 'running' AND lease_until <= ? "
                    "ORDER BY id LIMIT ?",
                    bind_int(now), bind_int(TASK_DUE_BATCH)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        lost[k].clinic = store_int(st, 0);
        lost[k++].id = store_int(st, 1);
    }
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        nudge_task t;
        char owner[64];
        if (task_load(n, lost[i].clinic, lost[i].id, &t, owner, sizeof owner, err) < 0)
            return -1;
        int64_t run_id = 0, started = now;
        if (store_query(n->db, &st, err,
                        "SELECT id, started_at FROM task_runs WHERE clinic_id = ? AND task_id = ? "
                        "AND slot = ? AND attempt = ?",
                        bind_int(t.clinic_id), bind_int(t.id), bind_int(t.slot),
                        bind_int(t.attempts)) < 0)
            return -1;
        if ((r = store_next(st, err)) == 1) {
            run_id = store_int(st, 0);
            started = store_int(st, 1);
        }
        store_done(st);
        if (r < 0 || task_finish(n, &t, owner, run_id, started, "lost",
                                 "its worker stopped before the run ended", now, err) < 0)
            return -1;
    }
    return 0;
}

/* Due tasks this handle knows, oldest first; across clinics on purpose. */
static int task_run_due(nudge *n, int64_t now, int64_t only, int *ran, nudge_err *err)
{
    struct {
        int64_t clinic, id, due;
    } due[TASK_DUE_BATCH];
    int k = 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id, next_run, fn FROM tasks WHERE status = 'scheduled' "
                    "AND next_run <= ? AND (? = 0 OR id = ?) ORDER BY next_run, id LIMIT ?",
                    bind_int(now), bind_int(only), bind_int(only),
                    bind_int(TASK_DUE_BATCH)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        task_call c;
        if (!task_find(n, store_text(st, 3), &c))
            continue; /* another process's function: it runs it */
        due[k].clinic = store_int(st, 0);
        due[k].id = store_int(st, 1);
        due[k++].due = store_int(st, 2);
    }
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        int one;
        if (task_claim_run(n, due[i].clinic, due[i].id, due[i].due, now, &one, err) < 0)
            return -1;
        *ran += one;
    }
    return 0;
}

int task_tick(nudge *n, int64_t now, int *ran, nudge_err *err)
{
    int local = 0;
    if (!ran)
        ran = &local;
    *ran = 0;
    if (task_reap(n, now, err) < 0)
        return -1;
    return task_run_due(n, now, 0, ran, err);
}

int nudge_task_tick(nudge *n, int64_t now, int *ran, nudge_err *err)
{
    err_clear(err);
    return task_tick(n, now, ran, err);
}

int nudge_task_run_now(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_task t;
    if (task_change(n, clinic_id, id, "run", &t, err) < 0)
        return -1;
    int ran = 0;
    return task_run_due(n, clock_now(n), t.id, &ran, err);
}

/* ---- built-in functions ---- */

/* An integer member of the task's JSON args, or dflt. */
static int64_t task_arg_int(const nudge_task *t, const char *key, int64_t dflt)
{
    json_t *a = t->args[0] ? json_loads(t->args, 0, NULL) : NULL;
    json_t *v = json_object_get(a, key);
    int64_t r = json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
    json_decref(a);
    return r;
}

static int task_purge(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)ctx;
    int64_t days = task_arg_int(t, "retention_days", TASK_PURGE_DAYS), deleted;
    if (days < 1)
        return err_set(err, NUDGE_EINVAL, "args", "retention_days is at least 1");
    return queue_purge_delivered(n, t->clinic_id, now - days * 86400, &deleted, err);
}

/* ---- the tasks every installation and clinic has ---- */

/* Made with the first clinic (the installation's, clinic 0) and with each
 * clinic (its own), so `nudge task list` shows them and they keep their
 * history. The backup is made paused: it writes files where backup_dir
 * says, which an administrator chooses before resuming it; on PostgreSQL
 * it is not made (pg_dump). A retention other than 400 days is the purge
 * task's args. They have no audit rows of their own: the clinic's
 * creation is theirs. */
static const struct task_default {
    int global;
    const char *name, *fn, *kind, *schedule, *args;
    int paused;
} task_default_tab[] = {
    {1, "recall-scan", "recall_scan", "interval", "1h", NULL, 0},
    {1, "birthday-scan", "birthday_scan", "interval", "1h", NULL, 0},
    {1, "lab-scan", "lab_scan", "interval", "1h", NULL, 0},
    {1, "backup", "backup", "daily", "02:00", NULL, 1},
    {0, "retention", "purge", "daily", "03:30", "{\"retention_days\": 400}", 0},
};

int task_defaults(nudge *n, int64_t clinic_id, nudge_err *err)
{
    for (size_t i = 0; i < sizeof task_default_tab / sizeof *task_default_tab; i++) {
        const struct task_default *d = &task_default_tab[i];
        int64_t owner = d->global ? NUDGE_TASK_GLOBAL : clinic_id, have = 0;
        if (!strcmp(d->fn, "backup") && !n->db->ops->backup)
            continue;
        if (store_scalar(n->db, &have, err,
                         "SELECT COUNT(*) FROM tasks WHERE clinic_id = ? AND name = ?",
                         bind_int(owner), bind_text(d->name)) < 0)
            return -1;
        if (have)
            continue;
        nudge_task t = {0};
        t.clinic_id = owner;
        t.max_retries = -1;
        snprintf(t.name, sizeof t.name, "%s", d->name);
        snprintf(t.fn, sizeof t.fn, "%s", d->fn);
        snprintf(t.kind, sizeof t.kind, "%s", d->kind);
        snprintf(t.schedule, sizeof t.schedule, "%s", d->schedule);
        snprintf(t.args, sizeof t.args, "%s", d->args ? d->args : "");
        if (task_add(n, &t, 0, err) < 0)
            return -1;
        if (d->paused && store_exec(n->db, err,
                                    "UPDATE tasks SET status = 'paused' WHERE clinic_id = ? AND "
                                    "id = ?",
                                    bind_int(owner), bind_int(t.id)) < 0)
            return -1;
    }
    return 0;
}
