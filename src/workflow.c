/*
 * workflow.c: the workflow engine and the only SQL on `workflows` and
 * `workflow_runs` (migration 017). What happens on an event (a visit
 * booked, moved, completed, missed) is a definition, JSON data: the
 * built-ins ship in the binary (src/workflow_builtin.json), and a clinic
 * reads, copies and changes them over the API without a rebuild.
 *
 * Exactly once, across crashes and workers:
 * - consuming: each event not yet processed becomes one run row per
 *   workflow bound to its type, under the unique key (clinic, workflow,
 *   event), in the transaction that marks the event processed. The scan
 *   reads unprocessed events, not ids past a cursor, so a late commit on
 *   PostgreSQL is not skipped.
 * - running: a worker claims a run by a conditional UPDATE that sets its
 *   lease; each step then runs in a write transaction of its own that also
 *   records its result and moves next_step on, guarded by the lease and
 *   the step index, so a step's writes commit exactly when its result does
 *   (src/wfstep.h). A crash loses the lease; another worker takes the run
 *   up at the step that did not commit.
 * The caller of a change runs its event's workflows right after its commit
 * (workflow_after: booking answers with what they planned); the tick is
 * the safety net.
 *
 * Step kinds are one table, wf_kinds[], of the contract's wf_step_kind,
 * plus the custom steps an embedder registers per handle
 * (nudge_workflow_register_step, the document's WorkflowTask).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "util.h"
#include "wfstep.h"

extern const char workflow_builtin_json[];

#define WF_LEASE     300 /* seconds a claimed run is held */
#define WF_BATCH     100 /* events or runs per pass */
#define WF_MAX_STEPS 32

struct wf_custom {
    nudge_workflow_task t;
    char name[64];
    struct wf_custom *next;
};

/* The clinic whose definition is being validated: a step kind's validate
 * (whose contract takes no clinic) checks a template against it. */
static _Thread_local int64_t wf_validating_clinic;

/* ---- helpers the kinds share ---- */

static const char *wf_str(const json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

/* An error whose field is path.key. */
static int wf_bad(nudge_err *err, const char *path, const char *key, const char *msg)
{
    char f[128];
    snprintf(f, sizeof f, "%s.%s", path, key);
    return err_set(err, NUDGE_EINVAL, f, "%s: %s", f, msg);
}

/* Refuses members a kind does not know, naming the path of the first. */
static int wf_only(const json_t *args, const char *const *keys, const char *path, nudge_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)args, k, v)
    {
        int ok = 0;
        for (size_t i = 0; keys[i] && !ok; i++)
            ok = !strcmp(k, keys[i]);
        if (!ok)
            return wf_bad(err, path, k, "not a member of this kind of step");
    }
    return 0;
}

/* An optional integer member within [lo, hi] (*v untouched when absent). */
static int wf_int(const json_t *args, const char *key, int64_t lo, int64_t hi, int64_t *v,
                  const char *path, nudge_err *err)
{
    json_t *j = json_object_get(args, key);
    if (!j)
        return 0;
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi) {
        char m[96];
        snprintf(m, sizeof m, "must be a whole number from %lld to %lld", (long long)lo,
                 (long long)hi);
        return wf_bad(err, path, key, m);
    }
    *v = json_integer_value(j);
    return 0;
}

static int wf_in(const char *s, const char *const *names)
{
    for (size_t i = 0; s && names[i]; i++)
        if (!strcmp(s, names[i]))
            return 1;
    return 0;
}

/* The clinic, and the visit and patient an event is about: its payload's
 * appointment_id and patient_id, else its subject when it is a patient's
 * event. */
static int wf_subjects(wf_ctx *c, nudge_clinic *cl, nudge_appointment *a, int *has_a,
                       nudge_patient *p, nudge_err *err)
{
    if (nudge_clinic_get(c->n, c->clinic_id, cl, err) < 0)
        return -1;
    json_int_t aid = json_integer_value(json_object_get(c->event, "appointment_id"));
    json_int_t pid = json_integer_value(json_object_get(c->event, "patient_id"));
    *has_a = 0;
    if (!pid && !strncmp(c->event_type, "patient.", 8))
        pid = c->subject_id;
    if (aid) {
        if (nudge_appointment_get(c->n, c->clinic_id, aid, a, err) < 0)
            return -1;
        *has_a = 1;
        pid = a->patient_id;
    }
    if (!pid)
        return err_set(err, NUDGE_EINVAL, "event", "a %s event names no patient", c->event_type);
    return nudge_patient_get(c->n, c->clinic_id, pid, p, err);
}

/* ---- message.send: a template to the event's patient ---- */

static const char *const wf_channels[] = {"sms", "whatsapp", "email", NULL};

static int wf_send_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    static const char *const keys[] = {"template", "channel", "delay_minutes", "priority", NULL};
    if (wf_only(args, keys, path, err) < 0)
        return -1;
    const char *t = wf_str(args, "template");
    if (!t)
        return wf_bad(err, path, "template", "the template to send is required");
    nudge_template tp;
    nudge_err e2 = {0};
    if (nudge_template_get(n, wf_validating_clinic, t, "en", &tp, &e2) < 0)
        return wf_bad(err, path, "template",
                      e2.code == NUDGE_ENOTFOUND ? "no template of that name" : e2.msg);
    nudge_template_free(&tp);
    json_t *ch = json_object_get(args, "channel");
    if (ch && !wf_in(json_string_value(ch), wf_channels))
        return wf_bad(err, path, "channel", "must be sms, whatsapp or email");
    json_t *pr = json_object_get(args, "priority");
    if (pr && nudge_names_find(nudge_priority_names, json_string_value(pr)) < 0)
        return wf_bad(err, path, "priority", "must be low, normal, high or urgent");
    int64_t d = 0;
    return wf_int(args, "delay_minutes", 0, 366 * 24 * 60, &d, path, err);
}

static int wf_send_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    nudge_appointment a;
    nudge_patient p;
    nudge_clinic cl;
    int has_a;
    if (wf_subjects(c, &cl, &a, &has_a, &p, err) < 0)
        return -1;
    int64_t delay = (int64_t)json_integer_value(json_object_get(args, "delay_minutes")) * 60;
    const char *pr = wf_str(args, "priority");
    /* what the clinic's replies offer too (reply.c), so their templates
     * can be sent from a workflow */
    nudge_vars v = {0};
    nudge_vars_set(&v, "clinic_contact", cl.phone[0] ? cl.phone : cl.email[0] ? cl.email : cl.name);
    queue_msg q;
    int built = queue_build(c->n, &cl, &p, has_a ? &a : NULL, wf_str(args, "template"),
                            wf_str(args, "channel"), &v, &q, err);
    nudge_vars_free(&v);
    if (built < 0)
        return -1;
    /* The key makes the step's message once even if the step ran twice. */
    char key[64];
    snprintf(key, sizeof key, "wf:%lld:%d", (long long)c->run_id, c->step);
    q.it.priority = pr ? nudge_names_find(nudge_priority_names, pr) : NUDGE_NORMAL;
    q.it.due_at = c->now + delay;
    q.it.dedupe_key = key;
    int64_t id = 0;
    int created = 0;
    int rc = queue_insert(c->n, &q.it, &id, &created, err);
    if (rc == 0)
        *result = json_pack("{s:I, s:s, s:I}", "notification_id", (json_int_t)id, "channel",
                            q.it.channel, "due_at", (json_int_t)q.it.due_at);
    queue_msg_free(&q);
    return rc;
}

/* ---- reminders.plan: the visit's plans from the clinic's settings ---- */

static const char *const wf_plans[] = {"confirmation", "reminders", "follow_up", "no_show", NULL};

static int wf_plan_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    static const char *const keys[] = {"plan", NULL};
    if (wf_only(args, keys, path, err) < 0)
        return -1;
    if (!wf_in(wf_str(args, "plan"), wf_plans))
        return wf_bad(err, path, "plan", "must be confirmation, reminders, follow_up or no_show");
    return 0;
}

/* The plan outcome as a step result: what booking answers with. */
static json_t *wf_plan_json(const nudge_plan *pl)
{
    json_t *arr = json_array();
    for (int i = 0; i < pl->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:i, s:I, s:b, s:s}", "kind", pl->items[i].kind,
                                             "before_min", pl->items[i].before_min, "due_at",
                                             (json_int_t)pl->items[i].due_at, "planned",
                                             pl->items[i].planned, "why", pl->items[i].why));
    return arr;
}

static int wf_plan_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    nudge_appointment a;
    nudge_patient p;
    nudge_clinic cl;
    int has_a;
    if (wf_subjects(c, &cl, &a, &has_a, &p, err) < 0)
        return -1;
    if (!has_a)
        return err_set(err, NUDGE_EINVAL, "event", "a %s event names no visit", c->event_type);
    const char *what = wf_str(args, "plan");
    nudge_plan pl = {0};
    int rc = 0;
    if (!strcmp(what, "confirmation") || !strcmp(what, "reminders")) {
        nudge_clinic only = cl;
        int conf = !strcmp(what, "confirmation");
        if (conf)
            only.n_offsets = 0;
        rc = reminder_plan_appointment(c->n, &only, &a, conf, &pl, err);
    } else if (!strcmp(what, "follow_up")) {
        if (cl.followup_after > 0)
            rc = reminder_plan_one(c->n, &a, "follow_up", "appointment_follow_up",
                                   c->now + (int64_t)cl.followup_after * 60, 0, err);
        *result = json_pack("{s:b}", "planned", cl.followup_after > 0);
        return rc;
    } else {
        rc = reminder_plan_one(c->n, &a, "no_show", "no_show_follow_up", c->now, 0, err);
    }
    if (rc == 0)
        *result = json_pack("{s:o}", "plan", wf_plan_json(&pl));
    return rc;
}

/* ---- reminders.cancel: the visit's plans and pending messages ---- */

static int wf_cancel_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    static const char *const keys[] = {"why", NULL};
    if (wf_only(args, keys, path, err) < 0)
        return -1;
    json_t *w = json_object_get(args, "why");
    if (w && (!json_is_string(w) || json_string_length(w) > 120))
        return wf_bad(err, path, "why", "must be a text of at most 120 bytes");
    return 0;
}

static int wf_cancel_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    json_int_t aid = json_integer_value(json_object_get(c->event, "appointment_id"));
    if (!aid)
        return err_set(err, NUDGE_EINVAL, "event", "a %s event names no visit", c->event_type);
    const char *why = wf_str(args, "why");
    if (reminder_cancel_appointment(c->n, c->clinic_id, aid, why ? why : "cancelled by a workflow",
                                    err) < 0)
        return -1;
    *result = json_pack("{s:I}", "appointment_id", aid);
    return 0;
}

/* ---- stop_if: ends the run when the event's field compares true ---- */

static const char *const wf_ops[] = {"==", "!=", "<", "<=", ">", ">=", NULL};

static int wf_stop_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    static const char *const keys[] = {"field", "op", "value", NULL};
    if (wf_only(args, keys, path, err) < 0)
        return -1;
    if (!wf_str(args, "field") || !*wf_str(args, "field"))
        return wf_bad(err, path, "field", "the event's field to compare is required");
    if (!wf_in(wf_str(args, "op"), wf_ops))
        return wf_bad(err, path, "op", "must be ==, !=, <, <=, > or >=");
    json_t *v = json_object_get(args, "value");
    if (!v || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v)))
        return wf_bad(err, path, "value", "a text, number, true, false or null is required");
    return 0;
}

/* The event's field: "type" is the event's type, anything else a member
 * of its payload. */
static int wf_compare(wf_ctx *c, const json_t *args)
{
    const char *field = wf_str(args, "field"), *op = wf_str(args, "op");
    json_t *want = json_object_get(args, "value"), *tmp = NULL;
    json_t *have = !strcmp(field, "type") ? (tmp = json_string(c->event_type))
                                          : json_object_get(c->event, field);
    int cmp, comparable = 1;
    if (have && json_is_number(have) && json_is_number(want)) {
        double a = json_number_value(have), b = json_number_value(want);
        cmp = (a > b) - (a < b);
    } else if (have && json_is_string(have) && json_is_string(want)) {
        cmp = strcmp(json_string_value(have), json_string_value(want));
    } else {
        cmp = !json_equal(have ? have : json_null(), want);
        comparable = 0;
    }
    json_decref(tmp);
    if (!strcmp(op, "=="))
        return cmp == 0;
    if (!strcmp(op, "!="))
        return cmp != 0;
    if (!comparable)
        return 0; /* an order between a text and a number holds for nothing */
    if (!strcmp(op, "<"))
        return cmp < 0;
    if (!strcmp(op, "<="))
        return cmp <= 0;
    if (!strcmp(op, ">"))
        return cmp > 0;
    return cmp >= 0;
}

static int wf_stop_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    (void)err;
    *result = json_pack("{s:b}", "stop", wf_compare(c, args));
    return 0;
}

/* ---- wait: the next step after a delay, durable (the run's resume_at) ---- */

static int wf_wait_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    static const char *const keys[] = {"minutes", NULL};
    if (wf_only(args, keys, path, err) < 0)
        return -1;
    int64_t m = -1;
    if (wf_int(args, "minutes", 1, 366 * 24 * 60, &m, path, err) < 0)
        return -1;
    return m < 0 ? wf_bad(err, path, "minutes", "how long to wait is required") : 0;
}

static int wf_wait_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    (void)err;
    *result =
        json_pack("{s:I}", "wait_until",
                  (json_int_t)(c->now + json_integer_value(json_object_get(args, "minutes")) * 60));
    return 0;
}

static const wf_step_kind wf_kind_send = {"message.send", wf_send_validate, wf_send_run};
static const wf_step_kind wf_kind_plan = {"reminders.plan", wf_plan_validate, wf_plan_run};
static const wf_step_kind wf_kind_cancel = {"reminders.cancel", wf_cancel_validate, wf_cancel_run};
static const wf_step_kind wf_kind_stop = {"stop_if", wf_stop_validate, wf_stop_run};
static const wf_step_kind wf_kind_wait = {"wait", wf_wait_validate, wf_wait_run};

/* Every kind of step a definition may name: the engine's own, then the
 * other subsystems' (loyalty.c, ticket.c, staff.c, hook.c; declared in
 * core.h), each a wf_step_kind of wfstep.h's contract. */
static const wf_step_kind *const wf_kinds[] = {
    &wf_kind_send,      &wf_kind_plan,           &wf_kind_cancel,    &wf_kind_stop,
    &wf_kind_wait,      &loyalty_step_add,       &ticket_step_autoresolve,
    &staff_step_notify, &hook_step_call,
};

static const wf_step_kind *wf_kind_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof wf_kinds / sizeof *wf_kinds; i++)
        if (!strcmp(wf_kinds[i]->name, name))
            return wf_kinds[i];
    return NULL;
}

static struct wf_custom *wf_custom_find(nudge *n, const char *name)
{
    for (struct wf_custom *c = n->wf_custom; name && c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

int nudge_workflow_register_step(nudge *n, const nudge_workflow_task *t, nudge_err *err)
{
    err_clear(err);
    const char *name = t && t->get_name && t->execute ? t->get_name(t->self) : NULL;
    if (!name || !*name || strlen(name) >= 64)
        return err_set(err, NUDGE_EINVAL, "name",
                       "a step needs get_name, execute and a name "
                       "of 1 to 63 bytes");
    if (wf_kind_find(name))
        return err_set(err, NUDGE_ECONFLICT, "name", "%s is a built-in kind of step", name);
    struct wf_custom *c = wf_custom_find(n, name);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return err_set(err, NUDGE_ENOMEM, "", "out of memory");
        snprintf(c->name, sizeof c->name, "%s", name);
        c->next = n->wf_custom;
        n->wf_custom = c;
    }
    c->t = *t;
    return 0;
}

void workflow_free(nudge *n)
{
    while (n->wf_custom) {
        struct wf_custom *c = n->wf_custom;
        n->wf_custom = c->next;
        free(c);
    }
}

/* ---- definitions ---- */

static int wf_name_ok(const char *s, const char *extra)
{
    size_t l = s ? strlen(s) : 0;
    if (l == 0 || l > 63)
        return 0;
    for (size_t i = 0; i < l; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              strchr(extra, s[i])))
            return 0;
    return 1;
}

/* The step's own members: all but kind and on_error (a new object). */
static json_t *wf_step_args(const json_t *step)
{
    json_t *a = json_deep_copy(step);
    json_object_del(a, "kind");
    json_object_del(a, "on_error");
    return a;
}

/* Whether a definition can run, naming the path of its first fault. */
static int wf_validate(nudge *n, int64_t clinic_id, const json_t *d, nudge_err *err)
{
    static const char *const keys[] = {"name",  "description", "on", "enabled",
                                       "steps", "version",     NULL};
    if (!json_is_object(d))
        return err_set(err, NUDGE_EINVAL, "", "a workflow is a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)d, k, v) if (!wf_in(k, keys)) return err_set(
        err, NUDGE_EINVAL, k,
        "%s: not a member of a workflow (name, "
        "description, on, enabled, steps)",
        k);
    if (!wf_name_ok(wf_str(d, "name"), ""))
        return err_set(err, NUDGE_EINVAL, "name", "name: 1 to 63 of a-z, 0-9 and _ is required");
    json_t *desc = json_object_get(d, "description");
    if (desc && (!json_is_string(desc) || json_string_length(desc) > 255 ||
                 !text_ok(json_string_value(desc))))
        return err_set(err, NUDGE_EINVAL, "description",
                       "description: a text of at most 255 bytes without control characters");
    /* A definition copied from `show` carries its version: read-only, and
     * ignored on save, but it must still be one. */
    json_t *ver = json_object_get(d, "version");
    if (ver && !json_is_null(ver) && (!json_is_integer(ver) || json_integer_value(ver) < 0))
        return err_set(err, NUDGE_EINVAL, "version",
                       "version: the version number shown (read-only; a new one is given)");
    json_t *en = json_object_get(d, "enabled");
    if (en && !json_is_boolean(en))
        return err_set(err, NUDGE_EINVAL, "enabled", "enabled: true or false");
    json_t *on = json_object_get(d, "on");
    if (json_is_string(on)) {
        if (!wf_name_ok(json_string_value(on), "."))
            return err_set(err, NUDGE_EINVAL, "on",
                           "on: an event type such as "
                           "appointment.booked");
    } else if (!json_is_array(on) || json_array_size(on) == 0 || json_array_size(on) > 16) {
        return err_set(err, NUDGE_EINVAL, "on", "on: the event types (1 to 16) that start it");
    } else {
        size_t i;
        json_array_foreach(on, i, v) if (!wf_name_ok(json_string_value(v), ".")) return err_set(
            err, NUDGE_EINVAL, "on",
            "on[%zu]: an event type such as "
            "appointment.booked",
            i);
    }
    json_t *steps = json_object_get(d, "steps");
    if (!json_is_array(steps) || json_array_size(steps) > WF_MAX_STEPS)
        return err_set(err, NUDGE_EINVAL, "steps", "steps: a list of at most %d steps",
                       WF_MAX_STEPS);
    size_t i;
    json_array_foreach(steps, i, v)
    {
        char path[32], f[48];
        snprintf(path, sizeof path, "steps[%zu]", i);
        if (!json_is_object(v))
            return err_set(err, NUDGE_EINVAL, path, "%s: a step is an object", path);
        const char *kind = wf_str(v, "kind");
        snprintf(f, sizeof f, "%s.kind", path);
        const wf_step_kind *sk = wf_kind_find(kind);
        if (!sk && !wf_custom_find(n, kind))
            return err_set(err, NUDGE_EINVAL, f, "%s: no kind of step called \"%s\"", f,
                           kind ? kind : "");
        json_t *oe = json_object_get(v, "on_error");
        snprintf(f, sizeof f, "%s.on_error", path);
        if (oe && !wf_in(json_string_value(oe), (const char *const[]){"continue", "stop", NULL}))
            return err_set(err, NUDGE_EINVAL, f, "%s: continue or stop", f);
        if (sk) {
            json_t *args = wf_step_args(v);
            wf_validating_clinic = clinic_id;
            int rc = sk->validate(n, args, path, err);
            json_decref(args);
            if (rc < 0) {
                if (!err->field[0])
                    snprintf(err->field, sizeof err->field, "%s", path);
                return -1;
            }
        }
    }
    return 0;
}

/* The built-ins, parsed (the caller decrefs). */
static json_t *wf_builtins(void)
{
    return json_loads(workflow_builtin_json, 0, NULL);
}

/* The definitions in force for a clinic, as an array of objects each with
 * "version" set (0: built-in). */
static int wf_in_force(nudge *n, int64_t clinic_id, json_t **out, nudge_err *err)
{
    json_t *all = wf_builtins();
    if (!all)
        return err_set(err, NUDGE_EIO, "", "the built-in workflows do not parse");
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d) json_object_set_new(d, "version", json_integer(0));
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT name, version, definition FROM workflows WHERE clinic_id = ? "
                    "ORDER BY name, version DESC",
                    bind_int(clinic_id)) < 0) {
        json_decref(all);
        return -1;
    }
    int r;
    char last[64] = "";
    while ((r = store_next(st, err)) == 1) {
        if (!strcmp(last, store_text(st, 0)))
            continue; /* an older version */
        snprintf(last, sizeof last, "%s", store_text(st, 0));
        json_t *def = json_loads(store_text(st, 2), 0, NULL);
        if (!def)
            continue;
        json_object_set_new(def, "version", json_integer(store_int(st, 1)));
        int replaced = 0;
        json_array_foreach(all, i, d) if (!strcmp(wf_str(d, "name"), last))
        {
            json_array_set(all, i, def);
            replaced = 1;
            break;
        }
        if (!replaced)
            json_array_append(all, def);
        json_decref(def);
    }
    store_done(st);
    if (r < 0) {
        json_decref(all);
        return -1;
    }
    *out = all;
    return 0;
}

static int wf_bound(const json_t *d, const char *type)
{
    json_t *on = json_object_get(d, "on"), *v;
    size_t i;
    if (json_is_string(on))
        return !strcmp(json_string_value(on), type);
    json_array_foreach(on, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), type)) return 1;
    return 0;
}

static int wf_enabled(const json_t *d)
{
    json_t *e = json_object_get(d, "enabled");
    return !e || json_is_true(e);
}

int nudge_workflow_list(nudge *n, int64_t clinic_id, nudge_workflow_fn fn, void *ctx,
                        nudge_err *err)
{
    err_clear(err);
    json_t *all;
    if (wf_in_force(n, clinic_id, &all, err) < 0)
        return -1;
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d)
    {
        nudge_workflow_info w = {0};
        snprintf(w.name, sizeof w.name, "%s", wf_str(d, "name"));
        w.version = json_integer_value(json_object_get(d, "version"));
        w.enabled = wf_enabled(d);
        w.steps = (int)json_array_size(json_object_get(d, "steps"));
        snprintf(w.description, sizeof w.description, "%s",
                 wf_str(d, "description") ? wf_str(d, "description") : "");
        json_t *on = json_object_get(d, "on"), *v;
        size_t j;
        if (json_is_string(on))
            snprintf(w.on, sizeof w.on, "%s", json_string_value(on));
        json_array_foreach(on, j, v)
        {
            size_t l = strlen(w.on);
            snprintf(w.on + l, sizeof w.on - l, "%s%s", l ? "," : "", json_string_value(v));
        }
        if (fn(ctx, &w))
            break;
    }
    json_decref(all);
    return 0;
}

int nudge_workflow_get(nudge *n, int64_t clinic_id, const char *name, int64_t version, char **json,
                       nudge_err *err)
{
    err_clear(err);
    *json = NULL;
    json_t *all, *found = NULL, *d;
    if (version > 0) {
        char *text = NULL;
        store_stmt *st;
        if (store_query(n->db, &st, err,
                        "SELECT definition FROM workflows WHERE clinic_id = ? AND name = ? AND "
                        "version = ?",
                        bind_int(clinic_id), bind_text(name), bind_int(version)) < 0)
            return -1;
        int r = store_next(st, err);
        if (r == 1)
            text = store_dup(st, 0);
        store_done(st);
        if (r < 0)
            return -1;
        found = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
        if (found)
            json_object_set_new(found, "version", json_integer(version));
    } else {
        if (version == 0 ? (all = wf_builtins()) == NULL : wf_in_force(n, clinic_id, &all, err) < 0)
            return version == 0 ? err_set(err, NUDGE_EIO, "", "the built-ins do not parse") : -1;
        size_t i;
        json_array_foreach(all, i, d) if (!strcmp(wf_str(d, "name"), name))
        {
            found = json_incref(d);
            break;
        }
        json_decref(all);
        if (found && version == 0)
            json_object_set_new(found, "version", json_integer(0));
    }
    if (!found)
        return err_set(err, NUDGE_ENOTFOUND, "workflow", "no workflow %s%s", name,
                       version == 0 ? " among the built-ins" : "");
    *json = json_dumps(found, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(found);
    return *json ? 0 : err_set(err, NUDGE_ENOMEM, "", "out of memory");
}

int nudge_workflow_put(nudge *n, int64_t clinic_id, const char *json, size_t len, int64_t *version,
                       nudge_err *err)
{
    err_clear(err);
    json_error_t je;
    json_t *d = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!d)
        return err_set(err, NUDGE_EINVAL, "", "not JSON: %s (line %d)", je.text, je.line);
    nudge_clinic c;
    int rc = -1;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0 || wf_validate(n, clinic_id, d, err) < 0)
        goto out;
    json_object_del(d, "version");
    char *text = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int64_t v = 0;
    if (!text || store_begin_clinic(n->db, clinic_id, err) < 0) {
        free(text);
        goto out;
    }
    if (store_scalar(n->db, &v, err,
                     "SELECT COALESCE(MAX(version), 0) + 1 FROM workflows WHERE clinic_id = ? "
                     "AND name = ?",
                     bind_int(clinic_id), bind_text(wf_str(d, "name"))) < 0 ||
        store_exec(n->db, err,
                   "INSERT INTO workflows (clinic_id, name, version, definition, created_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   bind_int(clinic_id), bind_text(wf_str(d, "name")), bind_int(v), bind_text(text),
                   bind_int(clock_now(n))) < 0 ||
        audit_add(n, clinic_id, "update", "workflow", v, wf_str(d, "name"), err) < 0 ||
        store_commit(n->db, err) < 0) {
        store_rollback(n->db);
        free(text);
        goto out;
    }
    free(text);
    if (version)
        *version = v;
    rc = 0;
out:
    json_decref(d);
    return rc;
}

/* ---- consuming events ---- */

/* One event into its runs, inside the caller's transaction; owner (may be
 * NULL) holds the new runs' leases from the start (the caller that runs
 * them at once saves a claim's commit per run). */
static int wf_fanout(nudge *n, int64_t clinic_id, int64_t event_id, const char *owner,
                     nudge_err *err)
{
    event_row ev;
    if (event_get(n, clinic_id, event_id, &ev, err) < 0)
        return -1;
    json_t *all = NULL;
    int rc = ev.processed ? 0 : wf_in_force(n, clinic_id, &all, err);
    size_t i;
    json_t *d;
    int64_t now = clock_now(n);
    json_array_foreach(all, i, d)
    {
        if (rc < 0)
            break;
        if (!wf_enabled(d) || !wf_bound(d, ev.type))
            continue;
        char *def = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
        rc = def ? store_exec(n->db, err,
                              "INSERT INTO workflow_runs (clinic_id, workflow, version, event_id, "
                              "event_type, subject_id, definition, status, next_step, resume_at, "
                              "lease_owner, lease_until, started_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 0, ?, ?, ?, ?) "
                              "ON CONFLICT DO NOTHING",
                              bind_int(clinic_id), bind_text(wf_str(d, "name")),
                              bind_int(json_integer_value(json_object_get(d, "version"))),
                              bind_int(event_id), bind_text(ev.type),
                              bind_int_or_null(ev.subject_id), bind_text(def), bind_int(now),
                              bind_text(owner), bind_int_or_null(owner ? now + WF_LEASE : 0),
                              bind_int(now))
                 : err_set(err, NUDGE_ENOMEM, "", "out of memory");
        free(def);
    }
    json_decref(all);
    free(ev.payload);
    if (rc == 0 && !ev.processed)
        rc = event_mark_processed(n, clinic_id, event_id, err);
    return rc;
}

int workflow_fanout_pending(nudge *n, nudge_err *err)
{
    int64_t clinics[WF_BATCH], ids[WF_BATCH];
    int k = event_unprocessed(n, clinics, ids, WF_BATCH, err);
    for (int i = 0; i < k; i++)
        if (wf_fanout(n, clinics[i], ids[i], NULL, err) < 0)
            return -1;
    return k < 0 ? -1 : 0;
}

/* ---- running ---- */

/* A run in the executor's hands: the row as the history reads it, with
 * its definition and results parsed. */
typedef struct wf_run {
    nudge_workflow_run w;
    json_t *def, *steps;
} wf_run;

#define WF_RUN_COLS                                                                                \
    "id, clinic_id, workflow, version, event_id, event_type, subject_id, status, next_step, "      \
    "resume_at, started_at, finished_at, duration_s, steps"
#define WF_CLAIM_COLS WF_RUN_COLS ", definition"

static void wf_run_row(store_stmt *st, nudge_workflow_run *w)
{
    memset(w, 0, sizeof *w);
    w->id = store_int(st, 0);
    w->clinic_id = store_int(st, 1);
    store_copy(st, 2, w->workflow, sizeof w->workflow);
    w->version = store_int(st, 3);
    w->event_id = store_int(st, 4);
    store_copy(st, 5, w->event_type, sizeof w->event_type);
    w->subject_id = store_int(st, 6);
    store_copy(st, 7, w->status, sizeof w->status);
    w->next_step = (int)store_int(st, 8);
    w->resume_at = store_int(st, 9);
    w->started_at = store_int(st, 10);
    w->finished_at = store_int(st, 11);
    w->duration_s = store_int(st, 12);
    w->steps = store_dup(st, 13);
}

/* A run as its executor needs it (a definition or steps that do not parse,
 * which the engine never writes, run as no steps). */
static void wf_run_read(store_stmt *st, wf_run *r)
{
    wf_run_row(st, &r->w);
    r->def = json_loads(store_text(st, 14), 0, NULL);
    r->steps = r->w.steps ? json_loads(r->w.steps, 0, NULL) : NULL;
    free(r->w.steps);
    r->w.steps = NULL;
    if (!r->def || !json_is_array(r->steps)) {
        json_decref(r->def);
        json_decref(r->steps);
        r->def = NULL;
        r->steps = json_array();
    }
}

/* Claims run (clinic, id) if due and free: 1 claimed (r loaded), 0 not. */
static int wf_claim(nudge *n, int64_t clinic_id, int64_t id, int64_t now, wf_run *r, nudge_err *err)
{
    memset(r, 0, sizeof *r);
    if (store_begin_own(n->db, err) < 0)
        return -1;
    /* Only one worker's UPDATE finds the run free (PostgreSQL re-reads the
     * row after the first commits and matches nothing). */
    if (store_exec(n->db, err,
                   "UPDATE workflow_runs SET status = 'running', lease_owner = ?, lease_until = ? "
                   "WHERE clinic_id = ? AND id = ? AND status IN ('running', 'waiting') AND "
                   "resume_at <= ? AND (lease_until IS NULL OR lease_until <= ?)",
                   bind_text(n->worker_id), bind_int(now + WF_LEASE), bind_int(clinic_id),
                   bind_int(id), bind_int(now), bind_int(now)) < 0)
        goto fail;
    if (store_changes(n->db) == 0) {
        store_rollback(n->db);
        return 0;
    }
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " WF_CLAIM_COLS " FROM workflow_runs WHERE clinic_id = ? AND id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        goto fail;
    int q = store_next(st, err);
    if (q == 1)
        wf_run_read(st, r);
    store_done(st);
    if (q != 1 || store_commit(n->db, err) < 0)
        goto fail;
    return 1;
fail:
    store_rollback(n->db);
    return -1;
}

/* The run's end: succeeded, partly_failed (some steps failed, the rest
 * ran) or failed (none succeeded, or a failing step said stop). */
static const char *wf_outcome(const json_t *steps, int stopped_on_error)
{
    size_t i, ok = 0, bad = 0;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        if (!strcmp(wf_str(s, "status"), "failed"))
            bad++;
        else
            ok++;
    }
    if (!bad)
        return "succeeded";
    return stopped_on_error || !ok ? "failed" : "partly_failed";
}

/* Writes the step's result and the run's next state, guarded by the lease
 * and the step index (0 rows: the run is no longer ours). In the step's
 * transaction. */
static int wf_advance(nudge *n, wf_run *r, int step, const char *status, int64_t resume_at,
                      int64_t now, int *held, nudge_err *err)
{
    char *steps = json_dumps(r->steps, JSON_COMPACT);
    if (!steps)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int done = strcmp(status, "running") && strcmp(status, "waiting");
    int rc =
        store_exec(n->db, err,
                   "UPDATE workflow_runs SET status = ?, next_step = ?, steps = ?, resume_at = ?, "
                   "lease_owner = CASE WHEN ? = 'running' THEN lease_owner END, "
                   "lease_until = CASE WHEN ? = 'running' THEN lease_until END, "
                   "finished_at = CASE WHEN ? = 1 THEN ? END, "
                   "duration_s = CASE WHEN ? = 1 THEN ? - started_at END "
                   "WHERE clinic_id = ? AND id = ? AND lease_owner = ? AND next_step = ?",
                   bind_text(status), bind_int(step + 1), bind_text(steps), bind_int(resume_at),
                   bind_text(status), bind_text(status), bind_int(done), bind_int(now),
                   bind_int(done), bind_int(now), bind_int(r->w.clinic_id), bind_int(r->w.id),
                   bind_text(n->worker_id), bind_int(step));
    free(steps);
    *held = rc == 0 && store_changes(n->db) == 1;
    return rc;
}

/* Calls one step's kind: the contract's or a custom one. */
static int wf_call(nudge *n, wf_ctx *c, const char *kind, const json_t *args, json_t **result,
                   nudge_err *err)
{
    const wf_step_kind *sk = wf_kind_find(kind);
    if (sk)
        return sk->run(c, args, result, err);
    struct wf_custom *cu = wf_custom_find(n, kind);
    if (!cu)
        return err_set(err, NUDGE_EINVAL, "kind", "no kind of step \"%s\" in this process", kind);
    char *ev = json_dumps(c->event, JSON_COMPACT), *as = json_dumps(args, JSON_COMPACT);
    char *res = NULL;
    nudge_workflow_context x = {.n = n,
                                .clinic_id = c->clinic_id,
                                .run_id = c->run_id,
                                .event_id = c->event_id,
                                .subject_id = c->subject_id,
                                .now = c->now,
                                .step = c->step,
                                .workflow = kind,
                                .event_type = c->event_type,
                                .event_json = ev ? ev : "{}",
                                .args_json = as ? as : "{}"};
    int rc = cu->t.execute(cu->t.self, &x, &res, err);
    if (rc < 0 && !err->msg[0])
        err_set(err, NUDGE_EIO, "", "%s failed without saying why", kind);
    if (rc == 0 && res) {
        *result = json_loads(res, 0, NULL);
        if (!json_is_object(*result)) {
            json_decref(*result);
            *result = json_pack("{s:s}", "text", res);
        }
    }
    free(res);
    free(ev);
    free(as);
    return rc < 0 ? -1 : 0;
}

/* Runs a claimed run from its next step until it ends, waits or is lost. */
static int wf_execute(nudge *n, wf_run *r, nudge_err *err)
{
    event_row ev = {0};
    if (event_get(n, r->w.clinic_id, r->w.event_id, &ev, err) < 0)
        return -1;
    json_t *payload = json_loads(ev.payload ? ev.payload : "{}", 0, NULL);
    free(ev.payload);
    if (!json_is_object(payload)) {
        json_decref(payload);
        payload = json_object();
    }
    json_t *steps = json_object_get(r->def, "steps");
    int nsteps = (int)json_array_size(steps), rc = 0, held = 1;
    for (int i = r->w.next_step; held && rc == 0; i++) {
        int64_t now = clock_now(n);
        if (i >= nsteps) { /* no steps left (a definition without any) */
            if (store_begin_clinic(n->db, r->w.clinic_id, err) < 0 ||
                wf_advance(n, r, i, wf_outcome(r->steps, 0), now, now, &held, err) < 0 ||
                store_commit(n->db, err) < 0) {
                store_rollback(n->db);
                rc = -1;
            }
            break;
        }
        json_t *step = json_array_get(steps, i), *args = wf_step_args(step), *result = NULL;
        const char *kind = wf_str(step, "kind");
        int stop_on_error = wf_in(wf_str(step, "on_error"), (const char *const[]){"stop", NULL});
        wf_ctx c = {.n = n,
                    .clinic_id = r->w.clinic_id,
                    .run_id = r->w.id,
                    .step = i,
                    .event_id = r->w.event_id,
                    .event_type = r->w.event_type,
                    .subject_id = r->w.subject_id,
                    .event = payload,
                    .now = now};
        nudge_err serr = {0};
        size_t before = json_array_size(r->steps);
        if (store_begin_clinic(n->db, r->w.clinic_id, err) < 0) {
            json_decref(args);
            rc = -1;
            break;
        }
        /* A savepoint takes a failed step's writes back and keeps the
         * transaction for its record (also inside a caller's transaction,
         * which a plain nested rollback would doom). */
        int depth = n->db->tx_depth, doomed = n->db->tx_failed, ok = 0;
        if (store_exec(n->db, err, "SAVEPOINT wf_step") < 0) {
            store_rollback(n->db);
            json_decref(args);
            rc = -1;
            break;
        }
        ok = wf_call(n, &c, kind, args, &result, &serr) == 0;
        if (n->db->tx_depth > depth) { /* a custom step that left a transaction open */
            while (n->db->tx_depth > depth)
                store_rollback(n->db);
            ok = 0;
            err_set(&serr, NUDGE_ESTORE, "", "the step left a transaction open");
        }
        if (ok && n->db->tx_failed != doomed) {
            ok = 0;
            err_set(&serr, NUDGE_ESTORE, "", "a change inside the step was rolled back");
        }
        if (!ok) {
            json_decref(result);
            result = NULL;
            if (store_exec(n->db, err, "ROLLBACK TO SAVEPOINT wf_step") < 0) {
                store_rollback(n->db);
                json_decref(args);
                rc = -1;
                break;
            }
            n->db->tx_failed = doomed;
        }
        if (store_exec(n->db, err, "RELEASE SAVEPOINT wf_step") < 0) {
            store_rollback(n->db);
            json_decref(args);
            rc = -1;
            break;
        }
        json_t *rec = json_pack("{s:i, s:s, s:s, s:I}", "step", i, "kind", kind ? kind : "",
                                "status", ok ? "ok" : "failed", "at", (json_int_t)now);
        if (ok && result)
            json_object_set(rec, "result", result);
        if (!ok) {
            json_object_set_new(rec, "error", json_string(serr.msg));
            if (serr.field[0])
                json_object_set_new(rec, "field", json_string(serr.field));
        }
        json_array_append_new(r->steps, rec);
        int stop = ok && json_is_true(json_object_get(result, "stop"));
        int64_t until = ok ? json_integer_value(json_object_get(result, "wait_until")) : 0;
        const char *status = "running";
        if ((!ok && stop_on_error) || stop || i + 1 >= nsteps)
            status = wf_outcome(r->steps, !ok && stop_on_error);
        else if (until > now)
            status = "waiting";
        json_decref(result);
        json_decref(args);
        if (wf_advance(n, r, i, status, until > now ? until : now, now, &held, err) < 0 ||
            (held ? store_commit(n->db, err) : (store_rollback(n->db), 0)) < 0) {
            store_rollback(n->db);
            rc = -1;
        }
        if (!held || rc < 0)
            json_array_remove(r->steps, before); /* not recorded */
        if (strcmp(status, "running"))
            break;
    }
    json_decref(payload);
    return rc;
}

static void wf_run_free(wf_run *r)
{
    json_decref(r->def);
    json_decref(r->steps);
}

/* Claims and runs one run if it is due and free. */
static int wf_take(nudge *n, int64_t clinic_id, int64_t id, int64_t now, nudge_err *err)
{
    wf_run r;
    int c = wf_claim(n, clinic_id, id, now, &r, err);
    if (c <= 0)
        return c;
    int rc = wf_execute(n, &r, err);
    wf_run_free(&r);
    return rc;
}

int workflow_run_due(nudge *n, int64_t now, nudge_err *err)
{
    struct {
        int64_t clinic, id;
    } due[WF_BATCH];
    int k = 0, r;
    store_stmt *st;
    /* Deliberately across clinics: the engine's own scan of runs to go on
     * (new, waited long enough, or left by a worker whose lease ran out). */
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id FROM workflow_runs WHERE status IN ('running', "
                    "'waiting') AND resume_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "
                    "ORDER BY resume_at, id LIMIT ?",
                    bind_int(now), bind_int(now), bind_int(WF_BATCH)) < 0)
        return -1;
    while (k < WF_BATCH && (r = store_next(st, err)) == 1) {
        due[k].clinic = store_int(st, 0);
        due[k++].id = store_int(st, 1);
    }
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < k; i++)
        if (wf_take(n, due[i].clinic, due[i].id, now, err) < 0)
            return -1;
    return 0;
}

int nudge_workflow_tick(nudge *n, nudge_err *err)
{
    err_clear(err);
    if (store_begin_own(n->db, err) < 0)
        return -1;
    if (workflow_fanout_pending(n, err) < 0 || store_commit(n->db, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return workflow_run_due(n, clock_now(n), err);
}

/* The plan items of the event's runs' results, confirmation first. */
static void wf_plan_gather(nudge *n, int64_t clinic_id, int64_t event_id, nudge_plan *plan)
{
    nudge_err err = {0};
    store_stmt *st;
    plan->n = 0;
    if (store_query(n->db, &st, &err,
                    "SELECT steps FROM workflow_runs WHERE clinic_id = ? AND event_id = ? "
                    "ORDER BY id",
                    bind_int(clinic_id), bind_int(event_id)) < 0)
        return;
    nudge_plan rest = {0};
    const int max = (int)(sizeof plan->items / sizeof *plan->items);
    while (store_next(st, &err) == 1) {
        json_t *steps = json_loads(store_text(st, 0), 0, NULL), *s, *it;
        size_t i, j;
        json_array_foreach(steps, i, s)
        {
            json_t *items = json_object_get(json_object_get(s, "result"), "plan");
            json_array_foreach(items, j, it)
            {
                int conf = !strcmp(wf_str(it, "kind") ? wf_str(it, "kind") : "", "confirmation");
                nudge_plan *to = conf ? plan : &rest;
                if (to->n >= max)
                    continue;
                nudge_plan_item *pi = &to->items[to->n++];
                memset(pi, 0, sizeof *pi);
                snprintf(pi->kind, sizeof pi->kind, "%s", wf_str(it, "kind"));
                pi->before_min = (int)json_integer_value(json_object_get(it, "before_min"));
                pi->due_at = json_integer_value(json_object_get(it, "due_at"));
                pi->planned = json_is_true(json_object_get(it, "planned"));
                snprintf(pi->why, sizeof pi->why, "%s", wf_str(it, "why") ? wf_str(it, "why") : "");
            }
        }
        json_decref(steps);
    }
    store_done(st);
    for (int i = 0; i < rest.n && plan->n < max; i++)
        plan->items[plan->n++] = rest.items[i];
}

void workflow_after(nudge *n, int64_t clinic_id, int64_t event_id, nudge_plan *plan)
{
    nudge_err err = {0};
    wf_run runs[WF_MAX_STEPS];
    int k = 0, r = 0;
    if (plan)
        plan->n = 0;
    if (store_begin_own(n->db, &err) < 0)
        return;
    store_stmt *st;
    if (wf_fanout(n, clinic_id, event_id, n->worker_id, &err) < 0 ||
        store_query(n->db, &st, &err,
                    "SELECT " WF_CLAIM_COLS " FROM workflow_runs WHERE clinic_id = ? AND "
                    "event_id = ? AND lease_owner = ? AND next_step = 0 AND status = 'running' "
                    "ORDER BY id",
                    bind_int(clinic_id), bind_int(event_id), bind_text(n->worker_id)) < 0) {
        store_rollback(n->db);
        return; /* the tick consumes it */
    }
    while (k < WF_MAX_STEPS && (r = store_next(st, &err)) == 1)
        wf_run_read(st, &runs[k++]);
    store_done(st);
    if (r < 0 || store_commit(n->db, &err) < 0) {
        store_rollback(n->db);
        r = -1; /* not committed: no runs were made */
    }
    /* One run failing on the store leaves the rest to their lease. */
    for (int i = 0; i < k; i++) {
        if (r >= 0)
            r = wf_execute(n, &runs[i], &err);
        wf_run_free(&runs[i]);
    }
    /* A worker's tick may have consumed the event between our commit and
     * here: its runs are claimed like any (one another worker is running
     * goes on there, and the plan answered lacks what it plans). */
    int64_t ids[WF_MAX_STEPS];
    k = 0;
    if (r >= 0 &&
        store_query(n->db, &st, &err,
                    "SELECT id FROM workflow_runs WHERE clinic_id = ? AND event_id = ? AND "
                    "status = 'running' AND lease_owner IS NULL ORDER BY id",
                    bind_int(clinic_id), bind_int(event_id)) == 0) {
        while (k < WF_MAX_STEPS && (r = store_next(st, &err)) == 1)
            ids[k++] = store_int(st, 0);
        store_done(st);
    }
    for (int i = 0; i < k && r >= 0; i++)
        r = wf_take(n, clinic_id, ids[i], clock_now(n), &err);
    if (plan)
        wf_plan_gather(n, clinic_id, event_id, plan);
}

/* ---- history ---- */

int nudge_workflow_history(nudge *n, int64_t clinic_id, const char *workflow, int64_t from,
                           int64_t to, int64_t before_id, int limit, nudge_workflow_run_fn fn,
                           void *ctx, nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " WF_RUN_COLS " FROM workflow_runs WHERE clinic_id = ? AND "
                    "(? IS NULL OR workflow = ?) AND started_at >= ? AND (? = 0 OR started_at < ?) "
                    "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
                    bind_int(clinic_id), bind_text(workflow), bind_text(workflow), bind_int(from),
                    bind_int(to), bind_int(to), bind_int(before_id), bind_int(before_id),
                    bind_int(limit > 0 ? limit : 100)) < 0)
        return -1;
    int r;
    nudge_workflow_run w;
    while ((r = store_next(st, err)) == 1) {
        wf_run_row(st, &w);
        int stop = fn(ctx, &w);
        free(w.steps);
        if (stop)
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_workflow_run_get(nudge *n, int64_t clinic_id, int64_t id, nudge_workflow_run *out,
                           nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " WF_RUN_COLS " FROM workflow_runs WHERE clinic_id = ? AND id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        wf_run_row(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "run", "no workflow run %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

/* ---- statistics ---- */

static int wf_stats_msg(void *ctx, const char *channel, const char *status, int64_t count)
{
    nudge_stats *s = ctx;
    if (s->n_messages >= (int)(sizeof s->messages / sizeof *s->messages))
        return 1;
    snprintf(s->messages[s->n_messages].channel, sizeof s->messages[0].channel, "%s", channel);
    snprintf(s->messages[s->n_messages].status, sizeof s->messages[0].status, "%s", status);
    s->messages[s->n_messages++].count = count;
    return 0;
}

int nudge_statistics(nudge *n, int64_t clinic_id, int64_t from, int64_t to, nudge_stats *out,
                     nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    if (range_check(from, &to, err) < 0)
        return -1;
    out->from = from;
    out->to = to;
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0 ||
        patient_count_range(n, clinic_id, from, to, &out->patients, err) < 0 ||
        appointment_count_range(n, clinic_id, from, to, &out->appointments, err) < 0 ||
        event_count_range(n, clinic_id, "appointment.booked", from, to, &out->booked, err) < 0 ||
        event_count_range(n, clinic_id, "appointment.confirmed", from, to, &out->confirmed, err) <
            0 ||
        event_count_range(n, clinic_id, "appointment.completed", from, to, &out->completed, err) <
            0 ||
        event_count_range(n, clinic_id, "appointment.no_show", from, to, &out->no_shows, err) < 0 ||
        queue_count_range(n, clinic_id, from, to, wf_stats_msg, out, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT status, COUNT(*) FROM workflow_runs WHERE clinic_id = ? AND "
                    "started_at >= ? AND started_at < ? GROUP BY status",
                    bind_int(clinic_id), bind_int(from), bind_int(to)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        const char *s = store_text(st, 0);
        int64_t k = store_int(st, 1);
        out->workflows_executed += k;
        if (!strcmp(s, "succeeded"))
            out->workflows_succeeded += k;
        else if (!strcmp(s, "partly_failed"))
            out->workflows_partly_failed += k;
        else if (!strcmp(s, "failed"))
            out->workflows_failed += k;
        else
            out->workflows_unfinished += k;
    }
    store_done(st);
    if (out->booked)
        out->confirmation_rate = (double)out->confirmed / (double)out->booked;
    if (out->completed + out->no_shows)
        out->no_show_rate = (double)out->no_shows / (double)(out->completed + out->no_shows);
    return r < 0 ? -1 : 0;
}
