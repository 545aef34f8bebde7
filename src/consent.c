/*
 * consent.c: the rules a message is checked against at the instant it
 * leaves (issue 17, items 4-6), and the only SQL on consent_ledger (with
 * its view consent_log), clinic_plans, usage_tiers, usage_counters and
 * usage_alerts.
 *
 * Consent: one ledger of grants and withdrawals per patient, category and
 * channel; the state is the newest row of a key. The opt-out flags of a
 * patient record and the STOP/START log are views of it (migration 021),
 * and their writers (patient.c, reply.c through patient_set_consent) write
 * here. Send windows: promotional messages only inside the clinic's
 * window in the patient's zone, narrowed to its country's law. Quotas: a
 * clinic's tier per calendar month of its zone; a message in flight holds
 * its units against the quota (notification_queue.quota_units, queue.c),
 * and the send's record moves them into the month's counter, both under
 * one lock per clinic, so workers sending at once cannot pass a quota.
 * dispatch.c calls these at the send instant; the HTTP and CLI front ends
 * reach them through nudge.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core.h"
#include "record.h"
#include "signature.h"
#include "tmpl.h"
#include "tz.h"
#include "util.h"

const char *const nudge_consent_categories[] = {"reminders", "broadcasts", "health_tips",
                                                "marketing", NULL};
const char *const nudge_consent_sources[] = {"api",    "staff", "inbound_keyword",
                                             "unsubscribe_link", "import", NULL};
static const char *const consent_channels[] = {"sms", "whatsapp", "email", NULL};
static const char *const consent_states[] = {"granted", "withdrawn", NULL};
static const char *const consent_policies[] = {"opt_out", "opt_in", NULL};

/* Which categories are promotional: they need a recorded opt-in and keep
 * to the send window. Reminders and broadcasts (the clinic's notices: a
 * closure, a doctor away, the service messages of India's rules) follow
 * the clinic's policy; any other category (transactional: what the
 * patient booked) knows only channel withdrawals. */
int consent_promotional(const char *category)
{
    return category && (!strcmp(category, "health_tips") || !strcmp(category, "marketing"));
}

/* The law of a clinic's country on promotional messages, in the
 * recipient's local time: a clinic's window is never wider. India: the
 * hours Indian operators deliver promotional SMS under TRAI's rules; the
 * US: the TCPA's 8 a.m. to 9 p.m. */
static const struct {
    const char *country;
    int start, end;
} consent_law[] = {
    {"IN", 10 * 60, 21 * 60},
    {"US", 8 * 60, 21 * 60},
};

/* Text a client sets: UTF-8 without control characters, as every record's. */
static int consent_text_ok(const char *field, const char *s, nudge_err *err)
{
    const nudge_field f[2] = {{.name = field, .size = strlen(s) + 1, .type = NUDGE_T_TEXT}, {0}};
    return record_check_text(f, s, err);
}

/* ---- the ledger ---- */

#define LEDGER_COLS                                                                                \
    "id, clinic_id, patient_id, category, channel, state, source, actor, wording, message, at"

static void ledger_row(store_stmt *st, nudge_consent_entry *e)
{
    memset(e, 0, sizeof *e);
    e->id = store_int(st, 0);
    e->clinic_id = store_int(st, 1);
    e->patient_id = store_int(st, 2);
    store_copy(st, 3, e->category, sizeof e->category);
    store_copy(st, 4, e->channel, sizeof e->channel);
    store_copy(st, 5, e->state, sizeof e->state);
    store_copy(st, 6, e->source, sizeof e->source);
    store_copy(st, 7, e->actor, sizeof e->actor);
    store_copy(st, 8, e->wording, sizeof e->wording);
    store_copy(st, 9, e->message, sizeof e->message);
    e->at = store_int(st, 10);
}

/* One row of the ledger, in the caller's transaction. */
int consent_write(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                  const char *channel, const char *state, const char *source,
                  const char *wording, const char *message, const char *provider_id,
                  nudge_err *err)
{
    return store_exec(n->db, err,
                      "INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, "
                      "state, source, actor, wording, message, provider_id, at) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?)",
                      bind_int(clinic_id), bind_int(patient_id), bind_text(category),
                      bind_text(channel), bind_text(state), bind_text(source),
                      bind_text(n->actor), bind_text_or_null(wording), bind_text_or_null(message),
                      bind_text_or_null(provider_id), bind_int(clock_now(n)));
}

/* The opt-out flags of a patient record changed (patient.c, in its
 * transaction): each flag set is a withdrawal of its category on every
 * channel (or its channel for every category), each flag taken off a
 * "cleared" row, which gives back the default and is no opt-in. */
int consent_flags_changed(nudge *n, int64_t clinic_id, int64_t patient_id, unsigned before,
                          unsigned after, nudge_err *err)
{
    const char *source = strncmp(n->actor, "key:", 4) ? "staff" : "api";
    for (int i = 0; i < NUDGE_N_OPTOUTS; i++) {
        unsigned bit = 1u << i;
        if ((before & bit) == (after & bit))
            continue;
        const char *name = nudge_optout_names[i];
        int is_channel = nudge_names_find(consent_channels, name) >= 0;
        if (consent_write(n, clinic_id, patient_id, is_channel ? "*" : name,
                          is_channel ? name : "*", (after & bit) ? "withdrawn" : "cleared", source,
                          "opt-out flag of the patient record", NULL, NULL, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- the rule, stated once ----
 *
 * The decision for (category, channel), as a condition on a patient row
 * `p` (clinic_id, id), from the ledger as it stands: the newest row of the
 * category, on this channel or every channel, decides the category (a
 * grant allows, a withdrawal refuses; none, or a "cleared" row, leaves the
 * default: a promotional category refuses, the others follow the
 * clinic's reminders_policy); a channel-wide withdrawal (STOP) refuses
 * unless the newest row of the two kinds is a grant of the category on
 * this very channel. consent_check runs it for one patient at the send
 * instant; segment.c's consented_to_category runs consent_sql_any (the
 * rule on at least one channel) over the clinic's patients, so the two
 * cannot disagree. Category and channel are bound, never pasted. */

#define CONSENT_ROWS "FROM consent_ledger l WHERE l.clinic_id = p.clinic_id AND l.patient_id = p.id AND "
/* The newest channel-wide row's state is a withdrawal [channel]. */
#define CONSENT_STOPPED                                                                            \
    "COALESCE((SELECT l.state " CONSENT_ROWS "l.category = '*' AND l.channel = ? ORDER BY l.id "   \
    "DESC LIMIT 1), '') = 'withdrawn'"
/* The newest of the category's and the channel's rows is a grant of the
 * category on this channel [category, channel, category, channel, channel]. */
#define CONSENT_EXACT                                                                              \
    "EXISTS (SELECT 1 FROM consent_ledger g WHERE g.clinic_id = p.clinic_id AND g.patient_id = "   \
    "p.id AND g.category = ? AND g.channel = ? AND g.state = 'granted' AND g.id = (SELECT "        \
    "MAX(l.id) " CONSENT_ROWS "((l.category = ? AND l.channel IN (?, '*')) OR (l.category = '*' "  \
    "AND l.channel = ?))))"
/* The newest category row's state [category, channel]. */
#define CONSENT_CATEGORY                                                                           \
    "COALESCE((SELECT l.state " CONSENT_ROWS "l.category = ? AND l.channel IN (?, '*') ORDER BY "  \
    "l.id DESC LIMIT 1), '')"
#define CONSENT_POLICY_OPT_IN                                                                      \
    "COALESCE((SELECT cp.reminders_policy FROM clinic_plans cp WHERE cp.clinic_id = "              \
    "p.clinic_id), 'opt_out') = 'opt_in'"

static int consent_sql_add(consent_sql *q, const char *s)
{
    size_t l = strlen(s);
    if (q->len + l >= sizeof q->sql)
        return -1;
    memcpy(q->sql + q->len, s, l + 1);
    q->len += l;
    return 0;
}

static int consent_sql_bind(consent_sql *q, int count, ...)
{
    if (q->nv + count > CONSENT_SQL_BINDS)
        return -1;
    va_list ap;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        q->v[q->nv++] = bind_text(va_arg(ap, const char *));
    va_end(ap);
    return 0;
}

/* The static spelling of a known category or channel, so binds outlive
 * the caller's strings; NULL if unknown. */
static const char *consent_static(const char *const *names, const char *v)
{
    int i = v ? nudge_names_find(names, v) : -1;
    return i >= 0 ? names[i] : NULL;
}

/* "The channel stopped": a STOP not overridden [appends 6 binds]. */
static int consent_sql_stopped(consent_sql *q, const char *cat, const char *ch)
{
    if (consent_sql_add(q, "(" CONSENT_STOPPED) < 0 || consent_sql_bind(q, 1, ch) < 0)
        return -1;
    if (!cat)
        return consent_sql_add(q, ")");
    if (consent_sql_add(q, " AND NOT " CONSENT_EXACT ")") < 0)
        return -1;
    return consent_sql_bind(q, 5, cat, ch, cat, ch, ch);
}

int consent_sql_allowed(consent_sql *q, const char *category, const char *channel)
{
    const char *cat = consent_static(nudge_consent_categories, category);
    const char *ch = consent_static(consent_channels, channel);
    if (!ch)
        return -1;
    if (consent_sql_add(q, "(NOT ") < 0 || consent_sql_stopped(q, cat, ch) < 0)
        return -1;
    if (!cat) /* any other category knows only channel withdrawals */
        return consent_sql_add(q, ")");
    if (consent_sql_add(q, " AND CASE " CONSENT_CATEGORY " WHEN 'granted' THEN 1 WHEN "
                           "'withdrawn' THEN 0 ELSE ") < 0 ||
        consent_sql_bind(q, 2, cat, ch) < 0)
        return -1;
    if (consent_promotional(cat))
        return consent_sql_add(q, "0 END = 1)");
    return consent_sql_add(q, "CASE WHEN " CONSENT_POLICY_OPT_IN " THEN 0 ELSE 1 END END = 1)");
}

int consent_sql_any(consent_sql *q, const char *category)
{
    if (consent_sql_add(q, "(") < 0)
        return -1;
    for (int i = 0; consent_channels[i]; i++)
        if ((i && consent_sql_add(q, " OR ") < 0) ||
            consent_sql_allowed(q, category, consent_channels[i]) < 0)
            return -1;
    return consent_sql_add(q, ")");
}

/* The rule for many messages, a query per group of one clinic, category
 * and channel, its patients read at once (a batch's, from dispatch.c, at
 * the hand-off just before they leave). When it refuses, the reason: a
 * withdrawal (the channel stopped, or the category's newest row) is
 * opted_out, any other refusal no_consent. Every row counts, whatever its
 * time, since a replay's clock (--now) may lie before the instant a
 * consent was recorded. */
enum { CONSENT_IDS = 64 }; /* patients a statement, under CONSENT_SQL_BINDS */

/* One statement: the verdicts of ids[0..k) for (clinic, category,
 * channel), into each message of the group whose patient it is. */
static int consent_check_ids(nudge *n, const nudge_notification *const *ms, const int *grp,
                             int ng, const int64_t *ids, size_t k, consent_verdict *out,
                             nudge_err *err)
{
    const nudge_notification *m = ms[grp[0]];
    const char *cat = consent_static(nudge_consent_categories, m->category);
    const char *ch = consent_static(consent_channels, m->channel);
    /* The answer to STOP itself, and a channel no patient can withdraw,
     * need only the patient. */
    int rule = strcmp(m->category, "consent") && ch;
    consent_sql q = {.len = 0};
    consent_sql_add(&q, "SELECT p.id, p.timezone, ");
    if (!rule)
        consent_sql_add(&q, "1, 0");
    else if (consent_sql_add(&q, "CASE WHEN ") < 0 ||
             consent_sql_allowed(&q, m->category, m->channel) < 0 ||
             consent_sql_add(&q, " THEN 1 ELSE 0 END, CASE WHEN ") < 0 ||
             consent_sql_stopped(&q, cat, ch) < 0 ||
             (cat && (consent_sql_add(&q, " OR " CONSENT_CATEGORY " = 'withdrawn'") < 0 ||
                      consent_sql_bind(&q, 2, cat, ch) < 0)) ||
             consent_sql_add(&q, " THEN 1 ELSE 0 END") < 0)
        return err_set(err, NUDGE_ESTORE, "", "consent rule too long");
    if (consent_sql_add(&q, " FROM patients p WHERE p.clinic_id = ? AND p.id IN (") < 0 ||
        q.nv + 1 + (int)k > CONSENT_SQL_BINDS)
        return err_set(err, NUDGE_ESTORE, "", "consent rule too long");
    q.v[q.nv++] = bind_int(m->clinic_id);
    for (size_t i = 0; i < k; i++) {
        if (consent_sql_add(&q, i ? ", ?" : "?") < 0)
            return err_set(err, NUDGE_ESTORE, "", "consent rule too long");
        q.v[q.nv++] = bind_int(ids[i]);
    }
    consent_sql_add(&q, ")");
    store_stmt *st;
    if (store_query_v(n->db, &st, err, q.sql, q.v, q.nv) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        int64_t id = store_int(st, 0);
        int ok = (int)store_int(st, 2), withdrawn = (int)store_int(st, 3);
        for (int j = 0; j < ng; j++) {
            consent_verdict *v = &out[grp[j]];
            if (ms[grp[j]]->patient_id != id)
                continue;
            v->found = 1;
            v->ok = ok;
            v->reason = ok ? NULL : withdrawn ? "opted_out" : "no_consent";
            store_copy(st, 1, v->timezone, sizeof v->timezone);
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int consent_check_many(nudge *n, const nudge_notification *const *ms, int count,
                       consent_verdict *out, nudge_err *err)
{
    int *grp = malloc(((size_t)count + 1) * sizeof *grp);
    int64_t *ids = malloc(((size_t)count + 1) * sizeof *ids);
    char *done = calloc((size_t)count + 1, 1);
    int rc = 0;
    if (!grp || !ids || !done)
        rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int i = 0; i < count; i++)
        out[i] = (consent_verdict){.ok = 1};
    for (int i = 0; rc == 0 && i < count; i++) {
        if (done[i] || !ms[i]->patient_id)
            continue;
        int ng = 0;
        size_t nids = 0;
        for (int j = i; j < count; j++) {
            const nudge_notification *a = ms[i], *b = ms[j];
            if (done[j] || !b->patient_id || a->clinic_id != b->clinic_id ||
                strcmp(a->category, b->category) || strcmp(a->channel, b->channel))
                continue;
            done[j] = 1;
            grp[ng++] = j;
            ids[nids++] = b->patient_id;
        }
        size_t d = ids_sort_unique(ids, nids);
        /* In chunks of a power of two, so a statement's text takes one of
         * a few shapes the statement cache keeps. */
        for (size_t at = 0, k; rc == 0 && at < d; at += k) {
            for (k = CONSENT_IDS; k > d - at;)
                k >>= 1;
            rc = consent_check_ids(n, ms, grp, ng, ids + at, k, out, err);
        }
    }
    free(grp);
    free(ids);
    free(done);
    return rc;
}

int consent_check(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                  const char *channel, int64_t now, const char **reason, nudge_err *err)
{
    (void)now; /* the send instant the caller checks at, beside the window's */
    *reason = NULL;
    if ((category && !strcmp(category, "consent")) || !consent_static(consent_channels, channel))
        return 1; /* the answer to STOP itself; no channel a patient can withdraw */
    nudge_notification m = {.clinic_id = clinic_id, .patient_id = patient_id};
    str_copy(m.category, sizeof m.category, category ? category : "");
    str_copy(m.channel, sizeof m.channel, channel ? channel : "");
    const nudge_notification *mp = &m;
    consent_verdict v;
    if (consent_check_many(n, &mp, 1, &v, err) < 0)
        return -1;
    if (!v.found)
        return err_set(err, NUDGE_ENOTFOUND, "patient_id", "no patient %lld in clinic %lld",
                       (long long)patient_id, (long long)clinic_id);
    *reason = v.reason;
    return v.ok;
}

int nudge_consent_allowed(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                          const char *channel, const char **reason, nudge_err *err)
{
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    return consent_check(n, p.clinic_id, p.id, category, channel, clock_now(n), reason, err);
}

static int consent_name(const char *const *names, const char *v, int star, const char *field,
                        nudge_err *err)
{
    if (v && star && !strcmp(v, "*"))
        return 0;
    if (v && nudge_names_find(names, v) >= 0)
        return 0;
    char list[160];
    nudge_names_join(names, 0, ", ", star ? ", " : " or ", list, sizeof list);
    return err_set(err, NUDGE_EINVAL, field, "%s must be %s%s (got \"%s\")", field, list,
                   star ? " or *" : "", v ? v : "");
}

int nudge_consent_record(nudge *n, nudge_consent_entry *e, nudge_err *err)
{
    err_clear(err);
    if (consent_name(nudge_consent_categories, e->category, 1, "category", err) < 0 ||
        consent_name(consent_channels, e->channel, 1, "channel", err) < 0 ||
        consent_name(consent_states, e->state, 0, "state", err) < 0 ||
        consent_name(nudge_consent_sources, e->source, 0, "source", err) < 0)
        return -1;
    if (!strcmp(e->category, "*") && !strcmp(e->channel, "*"))
        return err_set(err, NUDGE_EINVAL, "category",
                       "name a category or a channel (both \"*\" would say nothing)");
    if (!strcmp(e->state, "granted") && consent_promotional(e->category) &&
        str_blank(e->wording))
        return err_set(err, NUDGE_EINVAL, "wording",
                       "an opt-in to %s needs the wording the patient was shown", e->category);
    if (consent_text_ok("wording", e->wording, err) < 0)
        return -1;
    nudge_patient p;
    if (store_begin(n->db, err) < 0)
        return -1;
    if (nudge_patient_get(n, e->clinic_id, e->patient_id, &p, err) < 0)
        goto fail;
    e->clinic_id = p.clinic_id;
    e->at = clock_now(n);
    if (store_scalar(n->db, &e->id, err,
                     "INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, "
                     "source, actor, wording, at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                     bind_int(p.clinic_id), bind_int(p.id), bind_text(e->category),
                     bind_text(e->channel), bind_text(e->state), bind_text(e->source),
                     bind_text(n->actor), bind_text_or_null(e->wording), bind_int(e->at)) != 1)
        goto fail;
    str_copy(e->actor, sizeof e->actor, n->actor);
    char detail[96];
    snprintf(detail, sizeof detail, "%s %s/%s by %s", e->state, e->category, e->channel,
             e->source);
    json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s}", "patient_id", (json_int_t)p.id,
                           "category", e->category, "channel", e->channel, "state", e->state,
                           "source", e->source);
    if (event_emit(n, p.clinic_id, "consent.changed", p.id, ev, err) < 0 ||
        audit_add(n, p.clinic_id, "consent", "patient", p.id, detail, err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_consent_history(nudge *n, int64_t clinic_id, int64_t patient_id, nudge_consent_fn fn,
                          void *ctx, nudge_err *err)
{
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " LEDGER_COLS " FROM consent_ledger WHERE clinic_id = ? AND "
                    "patient_id = ? ORDER BY id",
                    bind_int(p.clinic_id), bind_int(p.id)) < 0)
        return -1;
    int r;
    nudge_consent_entry e;
    while ((r = store_next(st, err)) == 1) {
        ledger_row(st, &e);
        if (fn(ctx, &e))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- plans and send windows ---- */

/* A scheduled broadcast's grace when neither it nor its clinic names one:
 * the 2 h. */
#define CONSENT_GRACE 7200

int nudge_usage_plan_get(nudge *n, int64_t clinic_id, nudge_usage_plan *out, nudge_err *err)
{
    memset(out, 0, sizeof *out);
    strcpy(out->reminders_policy, "opt_out");
    out->window_start = 9 * 60;
    out->window_end = 21 * 60;
    out->grace = CONSENT_GRACE;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT tier, reminders_policy, window_start, window_end, reserve, grace "
                    "FROM clinic_plans WHERE clinic_id = ?",
                    bind_int(clinic_id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        store_copy(st, 0, out->tier, sizeof out->tier);
        store_copy(st, 1, out->reminders_policy, sizeof out->reminders_policy);
        out->window_start = (int)store_int(st, 2);
        out->window_end = (int)store_int(st, 3);
        out->reserve = store_int(st, 4);
        out->grace = store_int(st, 5);
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The document's tier table; a usage_tiers row of the same name replaces
 * one, another name adds a tier. -1: unlimited, or no overage. */
static const struct {
    const char *name;
    int64_t quota, overage_paise;
} consent_tiers[] = {
    {"free", 100, -1},      {"essential", 500, 25}, {"professional", 2000, 20},
    {"clinic", 10000, 15},  {"hospital", -1, 10},
};

/* A tier's quota and price: 1 found, 0 no such tier. */
static int consent_tier(nudge *n, const char *tier, int64_t *quota, int64_t *overage,
                        nudge_err *err)
{
    *quota = -1;
    *overage = -1;
    if (!tier[0])
        return 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT quota, overage_paise FROM usage_tiers WHERE name = ?",
                    bind_text(tier)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        *quota = store_null(st, 0) ? -1 : store_int(st, 0);
        *overage = store_null(st, 1) ? -1 : store_int(st, 1);
    }
    store_done(st);
    for (size_t i = 0; r == 0 && i < sizeof consent_tiers / sizeof *consent_tiers; i++)
        if (!strcmp(consent_tiers[i].name, tier)) {
            *quota = consent_tiers[i].quota;
            *overage = consent_tiers[i].overage_paise;
            r = 1;
        }
    return r;
}

int nudge_usage_plan_set(nudge *n, int64_t clinic_id, const nudge_usage_plan *p, nudge_err *err)
{
    err_clear(err);
    int64_t q, o;
    int r = consent_tier(n, p->tier, &q, &o, err);
    if (r < 0)
        return -1;
    if (p->tier[0] && r == 0)
        return err_set(err, NUDGE_EINVAL, "tier",
                       "tier \"%s\" is not in the table (free, essential, professional, clinic, "
                       "hospital, or one added)",
                       p->tier);
    if (consent_name(consent_policies, p->reminders_policy, 0, "reminders_policy", err) < 0)
        return -1;
    if (p->window_start < 0 || p->window_start >= 1440 || p->window_end <= p->window_start ||
        p->window_end > 1440)
        return err_set(err, NUDGE_EINVAL, "window",
                       "the send window must be HH:MM-HH:MM within one day, start before end");
    if (p->reserve < 0 || (q >= 0 && p->reserve > q))
        return err_set(err, NUDGE_EINVAL, "reserve",
                       "reserve must be between 0 and the tier's quota (%lld)", (long long)q);
    int64_t grace = p->grace ? p->grace : CONSENT_GRACE;
    if (grace < 60 || grace > 7 * 86400)
        return err_set(err, NUDGE_EINVAL, "grace", "grace is 1 minute to 7 days");
    nudge_clinic c;
    if (store_begin(n->db, err) < 0)
        return -1;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        goto fail;
    int64_t now = clock_now(n);
    if (store_exec(n->db, err,
                   "INSERT INTO clinic_plans (clinic_id, tier, reminders_policy, window_start, "
                   "window_end, reserve, grace, updated_at) VALUES (?,?,?,?,?,?,?,?) ON "
                   "CONFLICT (clinic_id) DO UPDATE SET tier = excluded.tier, reminders_policy = "
                   "excluded.reminders_policy, window_start = excluded.window_start, window_end "
                   "= excluded.window_end, reserve = excluded.reserve, grace = excluded.grace, "
                   "updated_at = excluded.updated_at",
                   bind_int(c.id), bind_text_or_null(p->tier), bind_text(p->reminders_policy),
                   bind_int(p->window_start), bind_int(p->window_end), bind_int(p->reserve),
                   bind_int(grace), bind_int(now)) < 0 ||
        audit_add(n, c.id, "update", "plan", c.id, p->tier[0] ? p->tier : "not metered", err) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_usage_tier_set(nudge *n, const char *name, int64_t quota, int64_t overage_paise,
                         nudge_err *err)
{
    err_clear(err);
    if (str_blank(name) || strlen(name) >= 24 || consent_text_ok("tier", name, err) < 0)
        return err_set(err, NUDGE_EINVAL, "tier", "a tier needs a name of 1 to 23 characters");
    if (quota < -1 || quota == 0)
        return err_set(err, NUDGE_EINVAL, "quota",
                       "quota must be a count of at least 1, or -1 for unlimited");
    if (overage_paise < -1 || overage_paise == 0 || (quota < 0 && overage_paise < 0))
        return err_set(err, NUDGE_EINVAL, "overage_paise",
                       "overage must be at least 1 paise per message (-1: none, only with a "
                       "quota)");
    if (store_begin(n->db, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "INSERT INTO usage_tiers (name, quota, overage_paise) VALUES (?, ?, ?) ON "
                   "CONFLICT (name) DO UPDATE SET quota = excluded.quota, overage_paise = "
                   "excluded.overage_paise",
                   /* -1 is stored as NULL: unlimited, or no overage. */
                   bind_text(name), bind_int_or_null(quota < 0 ? 0 : quota),
                   bind_int_or_null(overage_paise < 0 ? 0 : overage_paise)) < 0 ||
        audit_add(n, 0, "update", "tier", 0, name, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_usage_tier_list(nudge *n, nudge_usage_tier_fn fn, void *ctx, nudge_err *err)
{
    size_t nt = sizeof consent_tiers / sizeof *consent_tiers;
    for (size_t i = 0; i < nt; i++) {
        int64_t q, o;
        if (consent_tier(n, consent_tiers[i].name, &q, &o, err) < 0)
            return -1;
        if (fn(ctx, consent_tiers[i].name, q, o))
            return 0;
    }
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT name, quota, overage_paise FROM usage_tiers ORDER BY name") < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        const char *name = store_text(st, 0);
        size_t i = 0;
        while (i < nt && strcmp(consent_tiers[i].name, name))
            i++;
        if (i < nt)
            continue; /* a replacement, listed above */
        if (fn(ctx, name, store_null(st, 1) ? -1 : store_int(st, 1),
               store_null(st, 2) ? -1 : store_int(st, 2)))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The clinic's window narrowed to its country's law. */
static void consent_window_of(const nudge_clinic *c, const nudge_usage_plan *p, int *start,
                              int *end)
{
    *start = p->window_start;
    *end = p->window_end;
    for (size_t i = 0; i < sizeof consent_law / sizeof *consent_law; i++)
        if (!strcmp(c->country, consent_law[i].country)) {
            if (*start < consent_law[i].start)
                *start = consent_law[i].start;
            if (*end > consent_law[i].end)
                *end = consent_law[i].end;
        }
}

int consent_plan_get(nudge *n, int64_t clinic_id, consent_plan *out, nudge_err *err)
{
    return nudge_usage_plan_get(n, clinic_id, &out->p, err) < 0 ||
                   consent_tier(n, out->p.tier, &out->quota, &out->overage, err) < 0
               ? -1
               : 0;
}

/* Whether a message of category may leave at now in zone tz: 1 yes, 0
 * outside the window with *until its next opening (DST correct: the
 * opening is a wall time of the zone, resolved on its own day). */
int consent_window(const nudge_clinic *c, const consent_plan *plan, const char *tz,
                   const char *category, int64_t now, int64_t *until)
{
    if (!consent_promotional(category))
        return 1;
    int start, end;
    consent_window_of(c, &plan->p, &start, &end);
    tz_local l;
    tz_to_local(now, tz, &l);
    int minute = l.hour * 60 + l.minute;
    if (minute >= start && minute < end)
        return 1;
    *until = quiet_end_after(now, tz, start);
    return 0;
}

/* WhatsApp's rule at the send instant: free-form text only inside 24 h
 * of the patient's last message, else the approved template mapped for
 * it (in the transport data), else skipped. */
int consent_whatsapp_ok(int64_t last_inbound, int64_t now, const json_t *data)
{
    if (last_inbound && now - last_inbound < 24 * 3600)
        return 1;
    /* As the transport reads it: an approved template is a name. */
    return json_is_string(json_object_get(json_object_get(data, "whatsapp"), "name"));
}

/* ---- usage and quotas ---- */

static void consent_month(int64_t t, const char *tz, char *month)
{
    tz_local l;
    tz_to_local(t, tz, &l);
    month[0] = (char)('0' + l.year / 1000 % 10);
    month[1] = (char)('0' + l.year / 100 % 10);
    month[2] = (char)('0' + l.year / 10 % 10);
    month[3] = (char)('0' + l.year % 10);
    month[4] = '-';
    month[5] = (char)('0' + l.month / 10 % 10);
    month[6] = (char)('0' + l.month % 10);
    month[7] = 0;
}

/* The first instant of the month after the one holding t, in tz. */
static int64_t consent_next_month(int64_t t, const char *tz)
{
    tz_local l;
    tz_to_local(t, tz, &l);
    tz_local m = {.year = l.month == 12 ? l.year + 1 : l.year,
                  .month = l.month == 12 ? 1 : l.month + 1,
                  .day = 1};
    int64_t out;
    tz_from_local(&m, tz, &out);
    return out;
}

/* What a message spends of a quota: an SMS its segments, others one. */
int consent_units(const char *channel, const char *body)
{
    int ucs2;
    return strcmp(channel, "sms") ? 1 : tmpl_sms_segments(body ? body : "", &ucs2);
}

static int consent_used(nudge *n, int64_t clinic_id, const char *month, int64_t *units,
                        nudge_err *err)
{
    *units = 0;
    return store_scalar(n->db, units, err,
                        "SELECT COALESCE(SUM(units), 0) FROM usage_counters WHERE clinic_id = ? "
                        "AND month = ?",
                        bind_int(clinic_id), bind_text(month)) < 0
               ? -1
               : 0;
}

/* At the send instant, before a message leaves: 1 it fits the clinic's
 * quota and now holds its units (notification_queue.quota_units); 0 it
 * waits, *until the next month. A tier with overage never waits; the
 * reserve keeps the last part of a quota without overage for reminders. */
int consent_quota(nudge *n, const nudge_clinic *c, const consent_plan *plan,
                  const nudge_notification *m, int64_t now, int64_t *until, nudge_err *err)
{
    const nudge_usage_plan *p = &plan->p;
    if (plan->quota < 0 || plan->overage >= 0)
        return 1;
    int64_t units = consent_units(m->channel, m->body), used, flying;
    char month[8];
    consent_month(now, c->timezone, month);
    if (store_begin_own(n->db, err) < 0)
        return -1;
    if (store_lock(n->db, store_key("usage", c->id), err) < 0 ||
        consent_used(n, c->id, month, &used, err) < 0 ||
        queue_units_in_flight(n, c->id, m->id, &flying, err) < 0)
        goto fail;
    int64_t limit = plan->quota;
    if (strcmp(m->category, "reminders") && strcmp(m->category, "transactional") &&
        strcmp(m->category, "consent"))
        limit -= p->reserve;
    if (used + flying + units > limit) {
        *until = consent_next_month(now, c->timezone);
        return store_commit(n->db, err) < 0 ? -1 : 0;
    }
    if (queue_hold_units(n, c->id, m->id, units, err) < 0)
        goto fail;
    return store_commit(n->db, err) < 0 ? -1 : 1;
fail:
    store_rollback(n->db);
    return -1;
}

/* One clinic's sent messages on one channel: units into the month's
 * counter under the clinic's usage lock; the 80 % and 100 % alerts each
 * once a month, as usage.threshold events. */
static int consent_usage_add(nudge *n, int64_t clinic_id, const char *channel, int64_t units,
                             int64_t messages, nudge_err *err)
{
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    char month[8];
    int64_t now = clock_now(n);
    consent_month(now, c.timezone, month);
    if (store_lock(n->db, store_key("usage", c.id), err) < 0 ||
        store_exec(n->db, err,
                   "INSERT INTO usage_counters (clinic_id, month, channel, units, messages) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (clinic_id, month, channel) DO UPDATE SET "
                   "units = usage_counters.units + excluded.units, messages = "
                   "usage_counters.messages + excluded.messages",
                   bind_int(c.id), bind_text(month), bind_text(channel), bind_int(units),
                   bind_int(messages)) < 0)
        return -1;
    consent_plan p;
    int64_t used;
    if (consent_plan_get(n, c.id, &p, err) < 0)
        return -1;
    if (p.quota <= 0)
        return 0;
    if (consent_used(n, c.id, month, &used, err) < 0)
        return -1;
    static const int thresholds[] = {80, 100};
    for (size_t i = 0; i < sizeof thresholds / sizeof *thresholds; i++) {
        if (used * 100 < p.quota * thresholds[i])
            continue;
        if (store_exec(n->db, err,
                       "INSERT INTO usage_alerts (clinic_id, month, threshold, at) VALUES (?, ?, "
                       "?, ?) ON CONFLICT (clinic_id, month, threshold) DO NOTHING",
                       bind_int(c.id), bind_text(month), bind_int(thresholds[i]),
                       bind_int(now)) < 0)
            return -1;
        if (!store_changes(n->db))
            continue;
        json_t *ev = json_pack("{s:s, s:i, s:I, s:I, s:s}", "month", month, "threshold",
                               thresholds[i], "units", (json_int_t)used, "quota",
                               (json_int_t)p.quota, "tier", p.p.tier);
        if (event_emit(n, c.id, "usage.threshold", 0, ev, err) < 0)
            return -1;
    }
    return 0;
}

/* Messages were sent: grouped by clinic and channel, each group's units
 * in one statement (a batch of a thousand sends is a few statements, not
 * a thousand), in the transaction that records the sends. */
int consent_usage_count(nudge *n, const nudge_notification *const *ms, int count, nudge_err *err)
{
    char *done = calloc((size_t)count + 1, 1);
    if (!done)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        if (done[i])
            continue;
        int64_t units = 0, messages = 0;
        for (int k = i; k < count; k++)
            if (!done[k] && ms[k]->clinic_id == ms[i]->clinic_id &&
                !strcmp(ms[k]->channel, ms[i]->channel)) {
                done[k] = 1;
                units += consent_units(ms[k]->channel, ms[k]->body);
                messages++;
            }
        rc = consent_usage_add(n, ms[i]->clinic_id, ms[i]->channel, units, messages, err);
    }
    free(done);
    return rc;
}

static int consent_month_ok(const char *s)
{
    int y, mo;
    char tail;
    return strlen(s) == 7 && sscanf(s, "%4d-%2d%c", &y, &mo, &tail) == 2 && s[4] == '-' &&
           y >= 2000 && mo >= 1 && mo <= 12;
}

int nudge_usage_get(nudge *n, int64_t clinic_id, const char *month, nudge_usage *out,
                    nudge_err *err)
{
    memset(out, 0, sizeof *out);
    nudge_clinic c;
    if (month && month[0] && !consent_month_ok(month))
        return err_set(err, NUDGE_EINVAL, "month", "month must be YYYY-MM (got \"%s\")", month);
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (month && month[0])
        str_copy(out->month, sizeof out->month, month);
    else
        consent_month(clock_now(n), c.timezone, out->month);
    nudge_usage_plan p;
    if (nudge_usage_plan_get(n, c.id, &p, err) < 0 ||
        consent_tier(n, p.tier, &out->quota, &out->overage_paise, err) < 0)
        return -1;
    str_copy(out->tier, sizeof out->tier, p.tier);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT channel, units, messages FROM usage_counters WHERE clinic_id = ? AND "
                    "month = ?",
                    bind_int(c.id), bind_text(out->month)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        int k = nudge_names_find(consent_channels, store_text(st, 0));
        if (k >= 0) {
            out->channel_units[k] += store_int(st, 1);
            out->channel_messages[k] += store_int(st, 2);
        }
        out->units += store_int(st, 1);
        out->messages += store_int(st, 2);
    }
    store_done(st);
    if (r < 0)
        return -1;
    if (out->overage_paise >= 0) {
        out->overage = out->quota < 0 ? out->units
                                      : (out->units > out->quota ? out->units - out->quota : 0);
        out->cost_paise = out->overage * out->overage_paise;
    }
    return 0;
}

/* ---- one-click unsubscribe ---- */

static int consent_sign(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                        const char *channel, int64_t expires, char hex[65], nudge_err *err)
{
    if (str_blank(n->unsubscribe_secret))
        return err_set(err, NUDGE_EINVAL, "unsubscribe_secret",
                       "unsubscribe links need unsubscribe_secret set");
    char msg[160];
    int len = snprintf(msg, sizeof msg, "%lld|%lld|%s|%s|%lld", (long long)clinic_id,
                       (long long)patient_id, category, channel, (long long)expires);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), n->unsubscribe_secret, (int)strlen(n->unsubscribe_secret),
         (const unsigned char *)msg, (size_t)len, mac, &maclen);
    hex_lower(mac, maclen < 32 ? maclen : 32, hex);
    return 0;
}

int nudge_unsubscribe_url(nudge *n, int64_t clinic_id, int64_t patient_id, const char *category,
                          const char *channel, int64_t expires, char *out, size_t size,
                          nudge_err *err)
{
    char sig[65];
    if (str_blank(n->public_url))
        return err_set(err, NUDGE_EINVAL, "public_url", "unsubscribe links need public_url set");
    if (consent_sign(n, clinic_id, patient_id, category, channel, expires, sig, err) < 0)
        return -1;
    const char *base = n->public_url;
    size_t bl = strlen(base);
    if ((size_t)snprintf(out, size, "%.*s/unsubscribe?c=%lld&p=%lld&cat=%s&ch=%s&exp=%lld&sig=%s",
                         (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base,
                         (long long)clinic_id, (long long)patient_id, category, channel,
                         (long long)expires, sig) >= size)
        return err_set(err, NUDGE_EINVAL, "public_url", "public_url is too long for a link");
    return 0;
}

int nudge_unsubscribe(nudge *n, const nudge_unsubscribe_link *l, int apply, nudge_err *err)
{
    err_clear(err);
    if (consent_name(nudge_consent_categories, l->category, 0, "cat", err) < 0 ||
        consent_name(consent_channels, l->channel, 0, "ch", err) < 0)
        return -1;
    if (!l->sig || strlen(l->sig) != 64)
        return err_set(err, NUDGE_EDENIED, "sig", "the link's signature is missing or cut");
    char want[65];
    if (consent_sign(n, l->clinic_id, l->patient_id, l->category, l->channel, l->expires, want,
                     err) < 0)
        return -1;
    if (!sig_equal(want, l->sig))
        return err_set(err, NUDGE_EDENIED, "sig", "the link was altered: its signature does not match");
    if (l->expires <= clock_now(n))
        return err_set(err, NUDGE_EDENIED, "exp", "the link has expired");
    if (!apply)
        return 0;
    nudge_consent_entry e = {.clinic_id = l->clinic_id, .patient_id = l->patient_id};
    str_copy(e.category, sizeof e.category, l->category);
    str_copy(e.channel, sizeof e.channel, l->channel);
    strcpy(e.state, "withdrawn");
    strcpy(e.source, "unsubscribe_link");
    strcpy(e.wording, "one-click unsubscribe link (RFC 8058)");
    return nudge_consent_record(n, &e, err);
}
