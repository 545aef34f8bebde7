/*
 * loyalty.c: the loyalty ledger and each clinic's rules (loyalty_ledger,
 * loyalty_rules). A ledger, not a counter: every change is an entry with
 * its points, reason, reference (visit, manual, redemption, referral) and
 * time, and the balance is their sum, so a balance can always be
 * explained. A visit's and a referral's points are given once (a unique
 * index); an entry that takes points off is refused when the balance would
 * go below zero. That check and its insert hold a lock on the patient's
 * ledger (store_lock) to the commit, so two redemptions at once cannot both
 * spend the same points, also in a transaction without the writers' lock
 * (a workflow step's); SQLite has one writer anyway.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "util.h"
#include "wfstep.h"

static const char *const loyalty_ref_kinds[] = {"visit", "manual", "redemption", "referral", NULL};
static const char *const loyalty_rule_kinds[] = {"visit", "service", "referral", NULL};

#define LOYALTY_MAX_POINTS 1000000000LL

static int loyalty_sum(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t *balance,
                       nudge_err *err)
{
    *balance = 0;
    return store_scalar(n->db, balance, err,
                        "SELECT COALESCE(SUM(points), 0) FROM loyalty_ledger WHERE clinic_id = ? "
                        "AND patient_id = ?",
                        bind_int(clinic_id), bind_int(patient_id)) < 0
               ? -1
               : 0;
}

int loyalty_apply(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                  const char *reason, const char *ref_kind, int64_t ref_id, int64_t *id,
                  int *added, nudge_err *err)
{
    if (added)
        *added = 0;
    if (!points || points > LOYALTY_MAX_POINTS || points < -LOYALTY_MAX_POINTS)
        return err_set(err, NUDGE_EINVAL, "points", "points are a non-zero whole number up to %lld",
                       LOYALTY_MAX_POINTS);
    if (faq_check_text(reason, "reason", 1, err) < 0)
        return -1;
    if (strlen(reason) >= sizeof((nudge_loyalty_entry *)0)->reason)
        return err_set(err, NUDGE_EINVAL, "reason", "reason is at most %zu bytes",
                       sizeof((nudge_loyalty_entry *)0)->reason - 1);
    if (nudge_names_find(loyalty_ref_kinds, ref_kind) < 0)
        return err_set(err, NUDGE_EINVAL, "ref_kind",
                       "ref_kind must be visit, manual, redemption or referral");
    if (points < 0) {
        int64_t balance;
        if (store_lock(n->db, store_key("loyalty", patient_id), err) < 0 ||
            loyalty_sum(n, clinic_id, patient_id, &balance, err) < 0)
            return -1;
        if (balance + points < 0)
            return err_set(err, NUDGE_ECONFLICT, "points",
                           "the balance is %lld points: %lld cannot be taken off",
                           (long long)balance, (long long)-points);
    }
    int64_t eid = 0;
    int r = store_scalar(n->db, &eid, err,
                         "INSERT INTO loyalty_ledger (clinic_id, patient_id, points, reason, "
                         "ref_kind, ref_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                         "DO NOTHING RETURNING id",
                         bind_int(clinic_id), bind_int(patient_id), bind_int(points),
                         bind_text(reason), bind_text(ref_kind), bind_int_or_null(ref_id),
                         bind_int(clock_now(n)));
    if (r < 0)
        return -1;
    if (id)
        *id = eid;
    if (added)
        *added = r;
    if (!r)
        return 0;
    char detail[256];
    snprintf(detail, sizeof detail, "%+lld %s: %s", (long long)points, ref_kind, reason);
    return audit_add(n, clinic_id, "loyalty.entry", "patient", patient_id, detail, err);
}

/* A public call's frame: the patient in this clinic, one transaction. */
static int loyalty_change(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                          const char *reason, const char *ref_kind, int64_t *id, nudge_err *err)
{
    err_clear(err);
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, p.clinic_id, err) < 0)
        return -1;
    if (loyalty_apply(n, p.clinic_id, p.id, points, reason, ref_kind, 0, id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_loyalty_add(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                      const char *reason, int64_t *id, nudge_err *err)
{
    return loyalty_change(n, clinic_id, patient_id, points, reason, "manual", id, err);
}

int nudge_loyalty_redeem(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t points,
                         const char *reason, int64_t *id, nudge_err *err)
{
    if (points <= 0)
        return err_set(err, NUDGE_EINVAL, "points", "a redemption takes a positive number of points");
    return loyalty_change(n, clinic_id, patient_id, -points, nudge_blank(reason) ? "redemption" : reason,
                          "redemption", id, err);
}

int nudge_loyalty_balance(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t *balance,
                          nudge_err *err)
{
    err_clear(err);
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    return loyalty_sum(n, p.clinic_id, p.id, balance, err);
}

int nudge_loyalty_ledger(nudge *n, int64_t clinic_id, int64_t patient_id, int limit,
                         nudge_loyalty_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, patient_id, points, reason, ref_kind, ref_id, "
                    "created_at FROM loyalty_ledger WHERE clinic_id = ? AND patient_id = ? "
                    "ORDER BY id DESC LIMIT ?",
                    bind_int(p.clinic_id), bind_int(p.id), bind_int(limit > 0 ? limit : 50)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_loyalty_entry e = {0};
        e.id = store_int(st, 0);
        e.clinic_id = store_int(st, 1);
        e.patient_id = store_int(st, 2);
        e.points = store_int(st, 3);
        store_copy(st, 4, e.reason, sizeof e.reason);
        store_copy(st, 5, e.ref_kind, sizeof e.ref_kind);
        e.ref_id = store_int(st, 6);
        e.created_at = store_int(st, 7);
        if (fn(ctx, &e)) {
            r = 0;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The rule's points (0: none). */
static int loyalty_rule_points(nudge *n, int64_t clinic_id, const char *kind, const char *service,
                               int64_t *points, nudge_err *err)
{
    *points = 0;
    return store_scalar(n->db, points, err,
                        "SELECT points FROM loyalty_rules WHERE clinic_id = ? AND kind = ? AND "
                        "service = ?",
                        bind_int(clinic_id), bind_text(kind), bind_text(service)) < 0
               ? -1
               : 0;
}

int loyalty_visit(nudge *n, int64_t clinic_id, int64_t appointment_id, int64_t *points,
                  nudge_err *err)
{
    nudge_appointment a;
    int64_t total = 0;
    if (nudge_appointment_get(n, clinic_id, appointment_id, &a, err) < 0)
        return -1;
    if (strcmp(a.status, "completed"))
        return err_set(err, NUDGE_ECONFLICT, "appointment_id",
                       "appointment %lld is %s, not completed", (long long)a.id, a.status);
    /* The visit's points, then its service's on top, each given once. */
    const struct {
        const char *kind, *service;
    } rules[] = {{"visit", ""}, {"service", a.service}};
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        int64_t pts;
        if (loyalty_rule_points(n, a.clinic_id, rules[i].kind, rules[i].service, &pts, err) < 0)
            return -1;
        if (!pts)
            continue;
        char reason[200];
        snprintf(reason, sizeof reason, i ? "%.128s visit" : "completed visit", a.service);
        int added;
        if (loyalty_apply(n, a.clinic_id, a.patient_id, pts, reason, "visit", a.id, NULL, &added,
                          err) < 0)
            return -1;
        total += added ? pts : 0;
    }
    if (points)
        *points = total;
    return 0;
}

int nudge_loyalty_visit(nudge *n, int64_t clinic_id, int64_t appointment_id, int64_t *points,
                        nudge_err *err)
{
    err_clear(err);
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (loyalty_visit(n, clinic_id, appointment_id, points, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_loyalty_rule_set(nudge *n, nudge_loyalty_rule *r, nudge_err *err)
{
    err_clear(err);
    if (nudge_names_find(loyalty_rule_kinds, r->kind) < 0)
        return err_set(err, NUDGE_EINVAL, "kind", "kind must be visit, service or referral");
    if (!strcmp(r->kind, "service") ? faq_check_text(r->service, "service", 1, err) < 0
                                    : r->service[0] != 0)
        return r->service[0] ? err_set(err, NUDGE_EINVAL, "service",
                                       "only a rule of kind service names a service")
                             : -1;
    if (r->points < 0 || r->points > LOYALTY_MAX_POINTS)
        return err_set(err, NUDGE_EINVAL, "points", "points are 0 (remove the rule) to %lld",
                       LOYALTY_MAX_POINTS);
    nudge_clinic c;
    if (nudge_clinic_get(n, r->clinic_id, &c, err) < 0 ||
        store_begin_clinic(n->db, r->clinic_id, err) < 0)
        return -1;
    char detail[200];
    snprintf(detail, sizeof detail, "%s %.128s = %lld", r->kind, r->service, (long long)r->points);
    int rc = r->points
                 ? store_scalar(n->db, &r->id, err,
                                "INSERT INTO loyalty_rules (clinic_id, kind, service, points, "
                                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (clinic_id, kind, "
                                "service) DO UPDATE SET points = excluded.points, updated_at = "
                                "excluded.updated_at RETURNING id",
                                bind_int(r->clinic_id), bind_text(r->kind), bind_text(r->service),
                                bind_int(r->points), bind_int(clock_now(n)))
                 : store_exec(n->db, err,
                              "DELETE FROM loyalty_rules WHERE clinic_id = ? AND kind = ? AND "
                              "service = ?",
                              bind_int(r->clinic_id), bind_text(r->kind), bind_text(r->service));
    if (!r->points)
        r->id = 0;
    if (rc < 0 || audit_add(n, r->clinic_id, "loyalty.rule", "clinic", r->clinic_id, detail, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_loyalty_rules(nudge *n, int64_t clinic_id, nudge_loyalty_rule_fn fn, void *ctx,
                        nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, kind, service, points FROM loyalty_rules WHERE "
                    "(? = 0 OR clinic_id = ?) ORDER BY clinic_id, kind, service",
                    bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_loyalty_rule x = {0};
        x.id = store_int(st, 0);
        x.clinic_id = store_int(st, 1);
        store_copy(st, 2, x.kind, sizeof x.kind);
        store_copy(st, 3, x.service, sizeof x.service);
        x.points = store_int(st, 4);
        if (fn(ctx, &x)) {
            r = 0;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_loyalty_tell(nudge *n, int64_t clinic_id, int64_t patient_id, int64_t *notification_id,
                       nudge_err *err)
{
    int64_t balance;
    if (nudge_loyalty_balance(n, clinic_id, patient_id, &balance, err) < 0)
        return -1;
    nudge_patient p;
    if (nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    char pts[24];
    snprintf(pts, sizeof pts, "%lld", (long long)balance);
    nudge_vars v = {0};
    nudge_vars_set(&v, "points", pts);
    nudge_send s = {.patient_id = p.id, .template_name = "loyalty_balance",
                    .priority = NUDGE_NORMAL, .vars = &v};
    int rc = nudge_enqueue(n, p.clinic_id, &s, notification_id, NULL, err);
    nudge_vars_free(&v);
    return rc;
}

/* ---- the workflow step "loyalty.add" ----
 * args: {"points": N, "reason": "..."} (N may be negative: taken off, not
 * below zero), or {"rule": "visit"} (the completed visit's points by the
 * clinic's rules; the event's appointment) or {"rule": "referral"} (the
 * referral rule's points to the payload's referred_by patient, once per
 * referred patient). The patient: the payload's patient_id. */
static int loyalty_step_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    if (!json_is_object(args))
        return err_set(err, NUDGE_EINVAL, path, "%s.args must be an object", path);
    char field[64];
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)args, k, v)
    {
        snprintf(field, sizeof field, "%s.%.32s", path, k);
        if (!strcmp(k, "points")) {
            if (!json_is_integer(v) || !json_integer_value(v) ||
                json_integer_value(v) > LOYALTY_MAX_POINTS ||
                json_integer_value(v) < -LOYALTY_MAX_POINTS)
                return err_set(err, NUDGE_EINVAL, field, "points is a non-zero whole number");
        } else if (!strcmp(k, "rule")) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "visit") &&
                                       strcmp(json_string_value(v), "referral")))
                return err_set(err, NUDGE_EINVAL, field, "rule is \"visit\" or \"referral\"");
        } else if (!strcmp(k, "reason")) {
            if (!json_is_string(v) || faq_check_text(json_string_value(v), field, 1, err) < 0 ||
                strlen(json_string_value(v)) >= sizeof((nudge_loyalty_entry *)0)->reason)
                return err_set(err, NUDGE_EINVAL, field, "reason is a text of at most 199 bytes");
        } else {
            return err_set(err, NUDGE_EINVAL, field,
                           "loyalty.add takes \"points\" (with \"reason\") or \"rule\"");
        }
    }
    int has_points = json_object_get(args, "points") != NULL;
    if (has_points == (json_object_get(args, "rule") != NULL)) {
        snprintf(field, sizeof field, "%s.points", path);
        return err_set(err, NUDGE_EINVAL, field, "loyalty.add takes either points or rule");
    }
    if (!has_points && json_object_get(args, "reason")) {
        snprintf(field, sizeof field, "%s.reason", path);
        return err_set(err, NUDGE_EINVAL, field, "a rule gives its own reason");
    }
    return 0;
}

static int64_t loyalty_payload_id(const json_t *event, const char *key)
{
    json_t *v = event ? json_object_get(event, key) : NULL;
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int loyalty_step_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    if (loyalty_step_validate(c->n, args, "args", err) < 0)
        return -1;
    const char *rule = json_string_value(json_object_get(args, "rule"));
    int64_t patient = loyalty_payload_id(c->event, "patient_id"), points = 0, id = 0;
    if (rule && !strcmp(rule, "visit")) {
        int64_t appt = !strncmp(c->event_type, "appointment.", 12)
                           ? c->subject_id
                           : loyalty_payload_id(c->event, "appointment_id");
        if (appt <= 0)
            return err_set(err, NUDGE_EINVAL, "appointment_id", "the event %s names no visit",
                           c->event_type);
        if (loyalty_visit(c->n, c->clinic_id, appt, &points, err) < 0)
            return -1;
        *result = json_pack("{s:s, s:I, s:I}", "rule", rule, "appointment_id", (json_int_t)appt,
                            "points", (json_int_t)points);
        return 0;
    }
    if (rule) { /* referral: the referrer earns, once per patient referred */
        int64_t referrer = loyalty_payload_id(c->event, "referred_by");
        if (referrer <= 0 || patient <= 0)
            return err_set(err, NUDGE_EINVAL, "referred_by",
                           "the event %s names no referring patient", c->event_type);
        if (loyalty_rule_points(c->n, c->clinic_id, "referral", "", &points, err) < 0)
            return -1;
        int added = 0;
        if (points && loyalty_apply(c->n, c->clinic_id, referrer, points, "referral", "referral",
                                    patient, &id, &added, err) < 0)
            return -1;
        *result = json_pack("{s:s, s:I, s:I, s:I}", "rule", rule, "patient_id",
                            (json_int_t)referrer, "points", (json_int_t)(added ? points : 0),
                            "entry_id", (json_int_t)id);
        return 0;
    }
    if (patient <= 0 && !strncmp(c->event_type, "patient.", 8))
        patient = c->subject_id;
    if (patient <= 0)
        return err_set(err, NUDGE_EINVAL, "patient_id", "the event %s names no patient",
                       c->event_type);
    points = json_integer_value(json_object_get(args, "points"));
    const char *reason = json_string_value(json_object_get(args, "reason"));
    char why[200];
    snprintf(why, sizeof why, "%s", reason ? reason : c->event_type);
    /* A step runs once (wfstep.h); points taken off name a redemption. */
    if (loyalty_apply(c->n, c->clinic_id, patient, points, why,
                      points < 0 ? "redemption" : "manual", 0, &id, NULL, err) < 0)
        return -1;
    *result = json_pack("{s:I, s:I, s:I}", "patient_id", (json_int_t)patient, "points",
                        (json_int_t)points, "entry_id", (json_int_t)id);
    return 0;
}

const wf_step_kind loyalty_step_add = {"loyalty.add", loyalty_step_validate, loyalty_step_run};
