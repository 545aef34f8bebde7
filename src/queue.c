/*
 * queue.c: the durable notification queue. A notification is a rendered
 * message for one recipient on one channel, with a priority, a due time, an
 * optional expiry and a dedupe key unique per clinic (so enqueueing is safe
 * to retry). Workers claim batches under a lease; the outcome of each send
 * is recorded as a delivery attempt and moves the row on:
 *
 *   pending -> sending -> sent (-> delivered -> read by provider webhooks)
 *                      -> pending again after a backoff (transient failure)
 *                      -> failed (permanent, or retries used up)
 *   pending -> cancelled (by staff, by the appointment, by policy, expired)
 *
 * A worker records the hand-off of each group of sends (handed_at, in its
 * own commit) before they start. A worker that dies leaves rows in
 * `sending`: a worker on the same host sees its process gone and puts them
 * back at once (queue_release_dead), others once their lease runs out
 * (queue_reap). Rows never handed off go back untouched; handed ones count
 * a lost attempt, recorded as `lease_expired`, so nothing is lost, and a
 * duplicate is only a send that was on the wire, known as a retry.
 *
 * The per-channel rate limit is a sliding minute counted from the
 * delivery_attempts table plus the rows in flight, so every worker sharing
 * the store shares the limit without any extra state.
 *
 * What every worker does on every pass (claim, reap, open an outcome's
 * record) is an operation of the queue's backend, chosen by the store's
 * engine, in the style of OpenSMTPD's scheduler_backend: SQLite admits one
 * writer at a time, so its claim reads the budgets and takes rows in one
 * transaction; PostgreSQL's workers run side by side, so its claim locks
 * the rows it takes (FOR UPDATE SKIP LOCKED) and each (clinic, channel)
 * budget under an advisory lock of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "core.h"
#include "record.h"
#include "ics.h"
#include "tmpl.h"
#include "util.h"

const char *const nudge_status_names[NUDGE_N_STATUS] = {
    "pending", "sending", "sent", "delivered", "read", "failed", "cancelled",
    "held", /* a paused broadcast's (migration 024) */
};

/* The seed's backoff: 5 min, 15 min, 1 h, 4 h; the last step repeats when a
 * clinic allows more retries than steps. */
static const int queue_backoff[] = {5 * 60, 15 * 60, 60 * 60, 4 * 60 * 60};

/* The topic idle workers wait on (queue_wait). */
#define QUEUE_TOPIC "nudge_queue"

int queue_wait(nudge *n, int timeout_ms, nudge_err *err)
{
    return store_wait(n->db, QUEUE_TOPIC, timeout_ms, err);
}

int queue_route(const nudge_clinic *c, const nudge_patient *p, const char *want,
                const char **channel, const char **recipient, nudge_err *err)
{
    const char *order[4] = {want, p->preferred_channel, c->default_channel, NULL};
    for (int i = 0; i < 3; i++) {
        const char *ch = order[i];
        if (!ch || !*ch)
            continue;
        if (!strcmp(ch, "email") && p->email[0]) {
            *channel = "email";
            *recipient = p->email;
            return 0;
        }
        if ((!strcmp(ch, "sms") || !strcmp(ch, "whatsapp")) && p->phone[0]) {
            *channel = !strcmp(ch, "sms") ? "sms" : "whatsapp";
            *recipient = p->phone;
            return 0;
        }
        if (i == 0)
            return err_set(err, NUDGE_EINVAL, "channel", "patient %lld has no %s for channel %s",
                           (long long)p->id, strcmp(ch, "email") ? "phone number" : "email", ch);
    }
    /* Whatever the patient has. */
    if (p->phone[0]) {
        *channel = "sms";
        *recipient = p->phone;
        return 0;
    }
    if (p->email[0]) {
        *channel = "email";
        *recipient = p->email;
        return 0;
    }
    return err_set(err, NUDGE_EINVAL, "patient", "patient %lld has no phone and no email",
                   (long long)p->id);
}

/* A row of notification_queue as enqueued: QUEUE_NVALS values a row
 * (queue_row), its status 'pending'. */
#define QUEUE_INSERT                                                                               \
    "INSERT INTO notification_queue (clinic_id, patient_id, appointment_id, reminder_id, "         \
    "channel, recipient, template, language, category, subject, body, html, segments, priority, " \
    "status, due_at, expires_at, dedupe_key, max_retries, created_at, updated_at, "               \
    "transport_data, fallback_of, broadcast_id) VALUES "
#define QUEUE_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?,?,?,?,?,?,?,?)"
enum { QUEUE_NVALS = 23 };

static void queue_row(const queue_item *it, int64_t now, store_val v[QUEUE_NVALS])
{
    int segments = !strcmp(it->channel, "email") ? 0
                   : it->segments                ? it->segments
                                                 : tmpl_sms_segments(it->body, NULL);
    const store_val row[QUEUE_NVALS] = {
        bind_int(it->clinic_id), bind_int_or_null(it->patient_id),
        bind_int_or_null(it->appointment_id), bind_int_or_null(it->reminder_id),
        bind_text(it->channel), bind_text(it->recipient), bind_text(it->template_name),
        bind_text(it->language), bind_text(it->category), bind_text_or_null(it->subject),
        bind_text(it->body), bind_text_or_null(it->html),
        bind_int_or_null((int64_t)segments), bind_int(it->priority),
        bind_int(it->due_at), bind_int_or_null(it->expires_at),
        bind_text_or_null(it->dedupe_key), bind_int(it->max_retries), bind_int(now),
        bind_int(now), bind_text_or_null(it->transport_data),
        bind_int_or_null(it->fallback_of), bind_int_or_null(it->broadcast_id),
    };
    memcpy(v, row, sizeof row);
}

/* A dedupe key of the items being written, and the item that carries it
 * first (its leader): the others with the same key answer the leader's
 * row, as they would have found it one insert at a time. */
struct queue_key {
    const char *key;
    size_t i;
};

static int queue_key_order(const void *a, const void *b)
{
    const struct queue_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int queue_key_find(const void *key, const void *elem)
{
    return strcmp(key, ((const struct queue_key *)elem)->key);
}

/* The rows of the leaders' keys already stored: ids[leader]. */
static int queue_dedupe_read(nudge *n, int64_t clinic_id, const struct queue_key *lead,
                             size_t nlead, int64_t *ids, nudge_err *err)
{
    store_val *v = malloc((store_rows_chunk(nlead) + 1) * sizeof *v);
    if (!v)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int r = 0;
    for (size_t done = 0, k; r >= 0 && done < nlead; done += k) {
        k = store_rows_chunk(nlead - done);
        v[0] = bind_int(clinic_id);
        for (size_t j = 0; j < k; j++)
            v[1 + j] = bind_text(lead[done + j].key);
        char *sql = store_rows_sql("SELECT dedupe_key, id FROM notification_queue WHERE "
                                   "clinic_id = ? AND dedupe_key IN (",
                                   "?", k, ")");
        store_stmt *st;
        if (!sql) {
            r = err_set(err, NUDGE_ENOMEM, "", "out of memory");
            break;
        }
        r = store_query_v(n->db, &st, err, sql, v, (int)k + 1);
        free(sql);
        if (r < 0)
            break;
        while ((r = store_next(st, err)) == 1) {
            const struct queue_key *l = bsearch(store_text(st, 0), lead + done, k, sizeof *lead,
                                                queue_key_find);
            if (l)
                ids[l->i] = store_int(st, 1);
        }
        store_done(st);
    }
    free(v);
    return r < 0 ? -1 : 0;
}

/* The rows to insert (ins[], item indexes in order), a chunk a statement. */
static int queue_insert_rows(nudge *n, const queue_item *const *its, const size_t *ins,
                             size_t nins, int64_t now, int64_t *ids, nudge_err *err)
{
    size_t most = store_rows_chunk(nins);
    store_val *v = malloc(most * QUEUE_NVALS * sizeof *v);
    int64_t *got = malloc(most * sizeof *got);
    int r = 0;
    if (!v || !got)
        r = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (size_t done = 0, k; r >= 0 && done < nins; done += k) {
        k = store_rows_chunk(nins - done);
        for (size_t j = 0; j < k; j++)
            queue_row(its[ins[done + j]], now, v + j * QUEUE_NVALS);
        char *sql = store_rows_sql(QUEUE_INSERT, QUEUE_ROW, k, "");
        if (!sql) {
            r = err_set(err, NUDGE_ENOMEM, "", "out of memory");
            break;
        }
        r = store_insert_rows_v(n->db, got, k, err, sql, v, (int)(k * QUEUE_NVALS));
        free(sql);
        for (size_t j = 0; r >= 0 && j < k; j++)
            ids[ins[done + j]] = got[j];
    }
    free(got);
    free(v);
    return r < 0 ? -1 : 0;
}

int queue_insert_many(nudge *n, const queue_item *const *its, size_t count, int64_t *ids,
                      int *created, nudge_err *err)
{
    if (count == 0)
        return 0;
    int64_t now = clock_now(n), clinic_id = its[0]->clinic_id;
    struct queue_key *keys = malloc(count * sizeof *keys);
    size_t *ins = malloc(count * sizeof *ins), *lead = malloc(count * sizeof *lead);
    size_t nkeys = 0, nlead = 0, nins = 0;
    int rc = -1, due = 0;
    if (!keys || !ins || !lead) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        ids[i] = 0, created[i] = 0;
        if (its[i]->clinic_id != clinic_id) { /* the dedupe read is one clinic's */
            err_set(err, NUDGE_EINVAL, "clinic_id", "a write holds one clinic's messages");
            goto out;
        }
        if (its[i]->dedupe_key)
            keys[nkeys++] = (struct queue_key){its[i]->dedupe_key, i};
    }
    /* Each key's first item leads; lead[i] names item i's leader. */
    qsort(keys, nkeys, sizeof *keys, queue_key_order);
    for (size_t i = 0; i < count; i++)
        lead[i] = i;
    for (size_t k = 0; k < nkeys; k++)
        if (nlead && !strcmp(keys[nlead - 1].key, keys[k].key))
            lead[keys[k].i] = keys[nlead - 1].i;
        else
            keys[nlead++] = keys[k];
    if (queue_dedupe_read(n, clinic_id, keys, nlead, ids, err) < 0)
        goto out;
    for (size_t i = 0; i < count; i++)
        if (lead[i] == i && !ids[i]) {
            ins[nins++] = i;
            created[i] = 1;
            due |= its[i]->due_at <= now;
        }
    if (queue_insert_rows(n, its, ins, nins, now, ids, err) < 0)
        goto out;
    for (size_t i = 0; i < count; i++)
        ids[i] = ids[lead[i]];
    /* Idle workers wake when the transaction commits; a message due later
     * is found by their poll. */
    rc = due ? store_notify(n->db, QUEUE_TOPIC, err) : 0;
out:
    free(keys);
    free(ins);
    free(lead);
    return rc;
}

int queue_insert(nudge *n, const queue_item *it, int64_t *id, int *created, nudge_err *err)
{
    return queue_insert_many(n, &it, 1, id, created, err);
}

void queue_msg_free(queue_msg *q)
{
    json_decref(q->data);
    free(q->data_text);
    nudge_rendered_free(&q->r);
    nudge_template_free(&q->t);
    memset(q, 0, sizeof *q);
}

/* The transport data as stored: it.transport_data, NULL when empty. */
static int queue_msg_data(queue_msg *q, nudge_err *err)
{
    free(q->data_text);
    q->data_text = NULL;
    q->it.transport_data = NULL;
    if (!json_object_size(q->data))
        return 0;
    q->data_text = json_dumps(q->data, JSON_COMPACT | JSON_SORT_KEYS);
    if (!q->data_text)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    q->it.transport_data = q->data_text;
    return 0;
}

/* tpl: the template already read (a batch's, read once for all its
 * items; the handle's cache's: borrowed, q keeps copies of its names),
 * or NULL to read template_name in the patient's language. */
static int queue_build_with(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                            const nudge_appointment *a, const nudge_template *tpl,
                            tmpl_map *maps, const char *template_name, const char *want,
                            const nudge_vars *vars, queue_msg *q, nudge_err *err)
{
    nudge_vars v = {0};
    const char *channel, *recipient;
    int rc = -1;
    memset(q, 0, sizeof *q);
    if (queue_route(c, p, want, &channel, &recipient, err) < 0)
        return -1;
    if (!(q->data = json_object()))
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    if (vars)
        for (size_t i = 0; i < vars->n; i++)
            nudge_vars_set(&v, vars->kv[i].key, vars->kv[i].value);
    tmpl_patient_vars(c, p, a, &v);
    /* What the providers will need travels with it, opaque to the queue. */
    if (!tpl && nudge_template_get(n, c->id, template_name, p->language, &q->t, err) < 0)
        goto out;
    if (!tpl) {
        tpl = &q->t;
    } else { /* the item names the template by q's copy: the caller's may go first */
        memcpy(q->t.name, tpl->name, sizeof q->t.name);
        memcpy(q->t.language, tpl->language, sizeof q->t.language);
        memcpy(q->t.category, tpl->category, sizeof q->t.category);
    }
    if (nudge_template_render(tpl, channel, &v, &q->r, err) < 0 ||
        tmpl_transport_data(n, c->id, tpl, channel, &v, q->data, maps, err) < 0)
        goto out;
    q->it = (queue_item){
        .clinic_id = c->id,
        .patient_id = p->id,
        .appointment_id = a ? a->id : 0,
        .channel = channel,
        .recipient = recipient,
        .template_name = q->t.name,
        .language = q->t.language,
        .category = q->t.category,
        .subject = q->r.subject,
        .body = q->r.body,
        .html = q->r.html,
        .priority = NUDGE_NORMAL,
        .max_retries = c->max_retries,
        .segments = strcmp(channel, "email") ? tmpl_sms_segments(q->r.body, NULL) : 0,
    };
    rc = queue_msg_data(q, err);
out:
    nudge_vars_free(&v);
    if (rc < 0)
        queue_msg_free(q);
    return rc;
}

int queue_build(nudge *n, const nudge_clinic *c, const nudge_patient *p,
                const nudge_appointment *a, const char *template_name, const char *want,
                const nudge_vars *vars, queue_msg *q, nudge_err *err)
{
    return queue_build_with(n, c, p, a, NULL, NULL, template_name, want, vars, q, err);
}

int queue_build_invite(queue_msg *q, const nudge_clinic *c, const nudge_appointment *a,
                       const nudge_patient *p, int method, int sequence, int64_t now,
                       nudge_err *err)
{
    char *ics = ics_invite(c, a, p->name, p->email, (ics_method)method, sequence, now, err);
    if (!ics)
        return -1;
    json_t *inv = json_pack("{s:s, s:s}", "method", method == ICS_CANCEL ? "CANCEL" : "REQUEST",
                            "ics", ics);
    free(ics);
    if (!inv || json_object_set_new(q->data, "invite", inv) < 0)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    return queue_msg_data(q, err);
}

/* What a send's own fields must be, before anything is read. */
static int queue_send_check(const nudge_send *s, nudge_err *err)
{
    if (s->priority < NUDGE_LOW || s->priority > NUDGE_URGENT)
        return err_set(err, NUDGE_EINVAL, "priority",
                       "priority must be low, normal, high or "
                       "urgent");
    if (s->channel && strcmp(s->channel, "sms") && strcmp(s->channel, "whatsapp") &&
        strcmp(s->channel, "email"))
        return err_set(err, NUDGE_EINVAL, "channel",
                       "channel must be sms, whatsapp or email (got \"%s\")", s->channel);
    if (!s->template_name || !*s->template_name)
        return err_set(err, NUDGE_EINVAL, "template", "template is required");
    if (s->dedupe_key && strlen(s->dedupe_key) > 120)
        return err_set(err, NUDGE_EINVAL, "dedupe_key", "dedupe key is at most 120 bytes");
    return 0;
}

/* What the caller chose beyond the template: priority, due time, dedupe. */
static void queue_send_set(nudge *n, const nudge_send *s, queue_item *it)
{
    it->priority = s->priority;
    it->due_at = s->due_at ? s->due_at : clock_now(n);
    it->dedupe_key = s->dedupe_key;
}

/* The rows of one enqueue call (one, or a batch's, of one clinic), all
 * or nothing. */
struct queue_write {
    queue_msg *msgs;
    size_t count;
    nudge_batch_result *out;
};

/* The rows and their audit lines of count writes of one clinic (joined
 * by the group commit, or one), inside the caller's transaction: the
 * dedupe read, the rows and the audit chain each a few multi-row
 * statements for them all, in the writes' order, as if written one after
 * the other (a dedupe key of an earlier write answers a later one's). */
static int queue_write_fn(nudge *n, void *const *args, size_t nw, nudge_err *err)
{
    size_t count = 0, made = 0;
    for (size_t k = 0; k < nw; k++)
        count += ((struct queue_write *)args[k])->count;
    const queue_item **its = calloc(count, sizeof *its);
    const char **details = malloc(count * sizeof *details);
    int64_t *ids = malloc(count * sizeof *ids);
    int *created = malloc(count * sizeof *created);
    int rc = -1;
    if (!its || !details || !ids || !created) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto out;
    }
    for (size_t k = 0, i = 0; k < nw; k++) {
        const struct queue_write *w = args[k];
        for (size_t j = 0; j < w->count; j++)
            its[i++] = &w->msgs[j].it;
    }
    if (queue_insert_many(n, its, count, ids, created, err) < 0)
        goto out;
    for (size_t k = 0, i = 0; k < nw; k++) {
        struct queue_write *w = args[k];
        for (size_t j = 0; j < w->count; j++, i++) {
            w->out[j].id = ids[i];
            w->out[j].created = created[i];
            if (created[i]) { /* the audit's entities, in the order of the rows */
                ids[made] = ids[i];
                details[made++] = its[i]->template_name;
            }
        }
    }
    rc = audit_add_rows(n, ((struct queue_write *)args[0])->msgs[0].it.clinic_id, "enqueue",
                        "notification", ids, details, made, err);
out:
    free(its);
    free(details);
    free(ids);
    free(created);
    return rc;
}

/* In the next group commit (commit.c) where there is one, else in a
 * transaction of the caller's. */
static int queue_write(nudge *n, int64_t clinic_id, struct queue_write *w, nudge_err *err)
{
    int r = commit_run(n, clinic_id, queue_write_fn, w, err);
    return r <= 0 ? r : commit_direct(n, clinic_id, queue_write_fn, w, err);
}

/* An enqueue's reads and render: the patient, the clinic and the
 * template, from one snapshot. */
struct queue_prep {
    int64_t clinic_id;
    const nudge_send *s;
    nudge_patient p;
    nudge_clinic c;
    queue_msg q;
};

static int queue_prep_fn(nudge *n, void *arg, nudge_err *err)
{
    struct queue_prep *w = arg;
    int64_t version = 0;
    tmpl_cached *tc = NULL;
    int rc = patient_get_to_send(n, w->clinic_id, w->s->patient_id, &w->p, err);
    if (rc < 0 && err->code == NUDGE_ENOTFOUND)
        err_set(err, NUDGE_EINVAL, "patient", "no patient %lld", (long long)w->s->patient_id);
    if (rc == 0)
        rc = clinic_get_to_send(n, w->p.clinic_id, &w->c, &version, err);
    if (rc == 0)
        rc = tmpl_cache_get(n, n->tmpl_cache, &w->c, version, w->s->template_name,
                            w->p.language, &tc, err);
    if (rc == 0)
        rc = queue_build_with(n, &w->c, &w->p, NULL, &tc->t, tc->maps, w->s->template_name,
                              w->s->channel, w->s->vars, &w->q, err);
    if (rc < 0 && err->code == NUDGE_ENOTFOUND) /* the template: the caller's mistake */
        err->code = NUDGE_EINVAL;
    return rc;
}

/* A send checked, read and rendered into w (w->clinic_id and w->s set):
 * on the committer's readers where there is one (commit_read: a warm
 * page cache); else one read scope of this handle's, not one implicit
 * transaction per read, ended before the write waits for its group (and
 * so ending a scope the caller had open). */
static int queue_prep(nudge *n, struct queue_prep *w, nudge_err *err)
{
    if (queue_send_check(w->s, err) < 0)
        return -1;
    int rc = commit_read(n, queue_prep_fn, w, err);
    if (rc == 1) {
        store_read_begin(n->db);
        rc = queue_prep_fn(n, w, err);
        store_read_end(n->db);
    }
    if (rc < 0)
        return -1;
    queue_send_set(n, w->s, &w->q.it);
    return 0;
}

int nudge_enqueue(nudge *n, int64_t clinic_id, const nudge_send *s, int64_t *id_out,
                  int *created_out, nudge_err *err)
{
    err_clear(err);
    struct queue_prep w = {.clinic_id = clinic_id, .s = s};
    if (queue_prep(n, &w, err) < 0)
        return -1;
    nudge_batch_result res = {0};
    struct queue_write qw = {&w.q, 1, &res};
    int rc = queue_write(n, w.p.clinic_id, &qw, err);
    if (rc == 0 && id_out)
        *id_out = res.id;
    if (rc == 0 && created_out)
        *created_out = res.created;
    queue_msg_free(&w.q);
    return rc;
}

/* A submitted enqueue (nudge_enqueue_submit), until it is reaped: the
 * message and what the send lent (its dedupe key) are its own. */
struct queue_sub {
    struct queue_write qw; /* first: commit_submit's arg */
    struct queue_prep w;
    char *dedupe;
    nudge_batch_result res;
    uint64_t tag;
};

int nudge_enqueue_submit(nudge *n, int64_t clinic_id, const nudge_send *s, uint64_t tag,
                         nudge_err *err)
{
    err_clear(err);
    struct queue_sub *q = calloc(1, sizeof *q);
    if (!q)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    q->w = (struct queue_prep){.clinic_id = clinic_id, .s = s};
    q->tag = tag;
    /* Before the reads: once they began the write is on its way
     * (commit_read), and only commit_submit may end that. */
    if (s->dedupe_key && !(q->dedupe = strdup(s->dedupe_key))) {
        free(q);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    if (queue_prep(n, &q->w, err) < 0)
        goto fail;
    q->w.s = NULL; /* the caller's: gone once this returns */
    q->w.q.it.dedupe_key = q->dedupe;
    q->qw = (struct queue_write){&q->w.q, 1, &q->res};
    if (commit_submit(n, q->w.p.clinic_id, queue_write_fn, &q->qw, err) < 0)
        goto fail;
    return 0;
fail:
    queue_msg_free(&q->w.q);
    free(q->dedupe);
    free(q);
    return -1;
}

struct queue_reaped {
    nudge_enqueued *out;
    size_t k;
};

static void queue_reap_one(void *ctx, void *arg, int rc, const nudge_err *err)
{
    struct queue_reaped *r = ctx;
    struct queue_sub *q = arg;
    nudge_enqueued *o = &r->out[r->k++];
    *o = (nudge_enqueued){.tag = q->tag, .rc = rc};
    if (rc == 0) {
        o->id = q->res.id;
        o->created = q->res.created;
    } else {
        o->err = *err;
    }
    queue_msg_free(&q->w.q);
    free(q->dedupe);
    free(q);
}

size_t nudge_enqueue_reap(nudge *n, nudge_enqueued *out, size_t max, size_t min)
{
    struct queue_reaped r = {out, 0};
    return commit_reap(n, max, min, queue_reap_one, &r);
}

size_t nudge_enqueue_pending(nudge *n)
{
    return commit_pending(n);
}

int nudge_enqueue_on_ready(nudge *n, void (*fn)(void *ctx), void *ctx, nudge_err *err)
{
    err_clear(err);
    return commit_ready(n, fn, ctx) < 0 ? err_set(err, NUDGE_ENOMEM, "", "out of memory") : 0;
}

/* A batch's reads, each made once: the patients (sorted by id, looked up
 * by bsearch) and each (template, language) pair met. Sized by what the
 * batch holds, not by its items: a batch of 1,000 sends to a few patients
 * with one template allocated (and zeroed, and faulted in) 1.7 MB for
 * them each time, 440 page faults a batch. */
struct batch_tpl {
    char name[64], language[16];
    int rc;
    nudge_err err;
    nudge_template t;
    tmpl_map maps[TMPL_MAPS]; /* its providers' mappings, read once */
};

/* The pairs met, in chunks that never move (the messages built point into
 * their templates). */
#define BATCH_TPL_CHUNK 8
struct batch_tpls {
    struct batch_tpls *next;
    size_t used;
    struct batch_tpl v[BATCH_TPL_CHUNK];
};

static void batch_tpls_free(struct batch_tpls *c)
{
    while (c) {
        struct batch_tpls *next = c->next;
        for (size_t i = 0; i < c->used; i++) {
            nudge_template_free(&c->v[i].t);
            for (int k = 0; k < TMPL_MAPS; k++)
                tmpl_map_free(&c->v[i].maps[k]);
        }
        free(c);
        c = next;
    }
}

/* Reads each distinct patient of the batch once, into *pats (allocated, in
 * the order of ids[], sorted and distinct); a patient not found keeps
 * clinic_id 0. */
static int batch_patients(nudge *n, int64_t clinic_id, const nudge_send *items, size_t count,
                          int64_t *ids, size_t *nids, nudge_patient **pats, nudge_err *err)
{
    for (size_t i = 0; i < count; i++)
        ids[i] = items[i].patient_id;
    *nids = ids_sort_unique(ids, count);
    if (!(*pats = calloc(*nids, sizeof **pats)))
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (size_t k = 0; k < *nids; k++)
        if (nudge_patient_get(n, clinic_id, ids[k], &(*pats)[k], err) < 0) {
            if (err->code != NUDGE_ENOTFOUND)
                return -1;
            memset(&(*pats)[k], 0, sizeof(*pats)[k]);
            err_clear(err);
        }
    return 0;
}

static const nudge_patient *batch_patient(const int64_t *ids, size_t nids,
                                          const nudge_patient *pats, int64_t id)
{
    const int64_t *k = bsearch(&id, ids, nids, sizeof *ids, ids_cmp);
    return k && pats[k - ids].clinic_id ? &pats[k - ids] : NULL;
}

/* The pair (name, language), read at its first use. */
static struct batch_tpl *batch_template(nudge *n, int64_t clinic_id, struct batch_tpls **tpls,
                                        const char *name, const char *language, nudge_err *err)
{
    struct batch_tpl *b = NULL;
    for (struct batch_tpls *c = *tpls; c && !b; c = c->next)
        for (size_t i = 0; i < c->used && !b; i++)
            if (!strcmp(c->v[i].name, name) && !strcmp(c->v[i].language, language))
                b = &c->v[i];
    if (!b) {
        if (!*tpls || (*tpls)->used == BATCH_TPL_CHUNK) {
            struct batch_tpls *c = calloc(1, sizeof *c);
            if (!c)
                return err_set(err, NUDGE_ENOMEM, "", "out of memory"), NULL;
            c->next = *tpls;
            *tpls = c;
        }
        b = &(*tpls)->v[(*tpls)->used++];
        snprintf(b->name, sizeof b->name, "%s", name);
        snprintf(b->language, sizeof b->language, "%s", language);
        b->rc = nudge_template_get(n, clinic_id, name, language, &b->t, &b->err);
        if (b->rc < 0 && b->err.code == NUDGE_ENOTFOUND) /* the caller's mistake */
            b->err.code = NUDGE_EINVAL;
    }
    if (b->rc < 0)
        return *err = b->err, NULL;
    return b;
}

/* Builds item i, or says what is wrong with it in out[i].err. -1 only for
 * what fails the batch as a whole (the store, memory). */
static int batch_build(nudge *n, const nudge_clinic *c, const nudge_send *s, const nudge_patient *p,
                       struct batch_tpls **tpls, queue_msg *q, nudge_batch_result *out,
                       nudge_err *err)
{
    nudge_err *ie = &out->err;
    if (queue_send_check(s, ie) < 0)
        return 0;
    /* A patient of another clinic is not found, as nudge_enqueue says. */
    if (!p || p->clinic_id != c->id)
        return err_set(ie, NUDGE_EINVAL, "patient", "no patient %lld", (long long)s->patient_id),
               0;
    struct batch_tpl *t = batch_template(n, c->id, tpls, s->template_name, p->language, ie);
    if (!t || queue_build_with(n, c, p, NULL, &t->t, t->maps, NULL, s->channel, s->vars, q, ie) < 0)
        return ie->code == NUDGE_EINVAL || ie->code == NUDGE_ENOTFOUND
                   ? (ie->code = NUDGE_EINVAL, 0)
                   : (*err = *ie, -1);
    queue_send_set(n, s, &q->it);
    return 0;
}

int nudge_enqueue_batch(nudge *n, int64_t clinic_id, const nudge_send *items, size_t count,
                        nudge_batch_result *out, nudge_err *err)
{
    err_clear(err);
    memset(out, 0, count * sizeof *out);
    if (count == 0)
        return 0;
    if (count > NUDGE_BATCH_MAX)
        return err_set(err, NUDGE_EINVAL, "items", "a batch holds at most %d items",
                       NUDGE_BATCH_MAX);
    nudge_clinic c = {0};
    nudge_patient *pats = NULL;
    int64_t *ids = calloc(count, sizeof *ids);
    queue_msg *qs = calloc(count, sizeof *qs);
    struct batch_tpls *tpls = NULL;
    size_t nids = 0, bad = 0;
    int rc = -1;
    if (!ids || !qs) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto out;
    }
    if (batch_patients(n, clinic_id, items, count, ids, &nids, &pats, err) < 0)
        goto out;
    /* NUDGE_ANY_CLINIC: a patient found names the clinic; a batch is one
     * clinic's transaction. */
    for (size_t k = 0; clinic_id <= 0 && k < nids; k++)
        clinic_id = pats[k].clinic_id;
    if (clinic_id > 0 && nudge_clinic_get(n, clinic_id, &c, err) < 0)
        goto out;
    for (size_t i = 0; i < count; i++) {
        const nudge_patient *p = batch_patient(ids, nids, pats, items[i].patient_id);
        if (batch_build(n, &c, &items[i], p, &tpls, &qs[i], &out[i], err) < 0)
            goto out;
        /* The first bad item names the field; out[] has every one. */
        if (out[i].err.code && bad++ == 0) {
            err_set(err, NUDGE_EINVAL, "", "items[%zu]: %s", i, out[i].err.msg);
            snprintf(err->field, sizeof err->field, "items[%zu].%.40s", i, out[i].err.field);
        }
    }
    if (bad)
        goto out;
    struct queue_write w = {qs, count, out};
    rc = queue_write(n, clinic_id, &w, err);
out:
    if (rc < 0)
        for (size_t i = 0; i < count; i++)
            out[i].id = 0, out[i].created = 0;
    for (size_t i = 0; qs && i < count; i++)
        queue_msg_free(&qs[i]);
    batch_tpls_free(tpls);
    free(qs);
    free(ids);
    free(pats);
    return rc;
}

#define NOTIF_COLS RECORD_NOTIFICATION_COLS

static void notif_row(store_stmt *st, nudge_notification *m)
{
    memset(m, 0, sizeof *m);
    record_read(st, nudge_notification_fields, m);
}

void nudge_notification_free(nudge_notification *m)
{
    free(m->subject);
    free(m->body);
    free(m->html);
    m->subject = m->body = m->html = NULL;
}

int nudge_notification_get(nudge *n, int64_t clinic_id, int64_t id, nudge_notification *out,
                           nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " NOTIF_COLS " FROM notification_queue WHERE id = ? AND "
                    "(? = 0 OR clinic_id = ?)",
                    bind_int(id), bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        notif_row(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "notification", "no notification %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int queue_load(nudge *n, const queue_ref *r, nudge_notification *m, nudge_err *err)
{
    return nudge_notification_get(n, r->clinic_id, r->id, m, err);
}

int nudge_notification_list(nudge *n, int64_t clinic_id, const char *status, int64_t after_id,
                            int limit, nudge_notification_fn fn, void *ctx, nudge_err *err)
{
    nudge_notification_filter f = {.status = status};
    return nudge_notification_find(n, clinic_id, &f, after_id, limit, fn, ctx, err);
}

int nudge_notification_find(nudge *n, int64_t clinic_id, const nudge_notification_filter *f,
                            int64_t after_id, int limit, nudge_notification_fn fn, void *ctx,
                            nudge_err *err)
{
    const char *ch = f->channel;
    if (ch && strcmp(ch, "sms") && strcmp(ch, "whatsapp") && strcmp(ch, "email"))
        return err_set(err, NUDGE_EINVAL, "channel",
                       "channel must be sms, whatsapp or email (got \"%s\")", ch);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " NOTIF_COLS " FROM notification_queue WHERE (? = 0 OR clinic_id = ?) "
                    "AND (? IS NULL OR status = ?) AND (? IS NULL OR channel = ?) "
                    "AND (? = 0 OR patient_id = ?) AND (? = 0 OR appointment_id = ?) "
                    "AND created_at >= ? AND created_at < ? AND id > ? ORDER BY id LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_text(f->status),
                    bind_text(f->status), bind_text(ch), bind_text(ch), bind_int(f->patient_id),
                    bind_int(f->patient_id), bind_int(f->appointment_id),
                    bind_int(f->appointment_id), bind_int(f->from ? f->from : INT64_MIN),
                    bind_int(f->to ? f->to : INT64_MAX), bind_int(after_id),
                    bind_int(limit > 0 ? limit : 1000)) < 0)
        return -1;
    int r;
    nudge_notification m;
    while ((r = store_next(st, err)) == 1) {
        notif_row(st, &m);
        int stop = fn(ctx, &m);
        nudge_notification_free(&m);
        if (stop)
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Staff actions: only from the states where they make sense. */
static int queue_staff_move(nudge *n, int64_t clinic_id, int64_t id, const char *from_sql,
                            const char *to, const char *action, nudge_err *err)
{
    err_clear(err);
    nudge_notification m;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (nudge_notification_get(n, clinic_id, id, &m, err) < 0)
        goto fail;
    nudge_notification_free(&m);
    if (!strstr(from_sql, m.status)) {
        err_set(err, NUDGE_ECONFLICT, "status", "cannot %s notification %lld: it is %s", action,
                (long long)id, m.status);
        goto fail;
    }
    int64_t now = clock_now(n);
    /* A retry starts the retry budget afresh: staff looked at it. */
    if (store_exec(n->db, err,
                   "UPDATE notification_queue SET status = ?, due_at = CASE WHEN ? = 'pending' "
                   "THEN ? ELSE due_at END, attempts = CASE WHEN ? = 'pending' THEN 0 ELSE "
                   "attempts END, last_error = CASE WHEN ? = 'cancelled' THEN 'cancelled by "
                   "staff' ELSE last_error END, updated_at = ? WHERE clinic_id = ? AND id = ? AND "
                   "status = ?",
                   bind_text(to), bind_text(to), bind_int(now), bind_text(to), bind_text(to),
                   bind_int(now), bind_int(m.clinic_id), bind_int(id), bind_text(m.status)) < 0)
        goto fail;
    /* A worker may have claimed it since we read it (claims do not wait
     * for the writers' lock on PostgreSQL). */
    if (store_changes(n->db) == 0) {
        err_set(err, NUDGE_ECONFLICT, "status", "cannot %s notification %lld: it changed meanwhile",
                action, (long long)id);
        goto fail;
    }
    if (audit_add(n, m.clinic_id, action, "notification", id, NULL, err) < 0 ||
        (!strcmp(to, "pending") && store_notify(n->db, QUEUE_TOPIC, err) < 0))
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int nudge_notification_retry(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return queue_staff_move(n, clinic_id, id, "failed cancelled", "pending", "retry", err);
}

int nudge_notification_cancel(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    return queue_staff_move(n, clinic_id, id, "pending", "cancelled", "cancel", err);
}

int nudge_queue_status(nudge *n, int64_t clinic_id, int64_t counts[NUDGE_N_STATUS], nudge_err *err)
{
    memset(counts, 0, sizeof(int64_t) * NUDGE_N_STATUS);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT status, COUNT(*) FROM notification_queue q WHERE (? = 0 OR "
                    "clinic_id = ?) AND NOT EXISTS (SELECT 1 FROM notification_queue f WHERE "
                    "f.fallback_of = q.id) GROUP BY status",
                    bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1)
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            if (!strcmp(store_text(st, 0), nudge_status_names[i]))
                counts[i] = store_int(st, 1);
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Gives back the rows whose lease ran out (lease_until <= now) or whose
 * owner is a dead process (lease_owner = owner; "" for none). A row the
 * worker handed to its provider (handed_at) may have reached the patient:
 * the lost attempt is counted and recorded as a lease_expired attempt, so
 * its resend is a known retry and a message that kills its worker every
 * time still runs out of retries. A row never handed off goes back as it
 * was, with no attempt spent. One writer at a time: the INSERT and the
 * UPDATE see the same rows. */
static int queue_reap_sqlite(nudge *n, int64_t now, const char *owner, int *reaped,
                             nudge_err *err)
{
    if (store_exec(
            n->db, err,
            "INSERT INTO delivery_attempts (clinic_id, notification_id, channel, transport, "
            "started_at, outcome, detail) SELECT clinic_id, id, channel, '-', ?, "
            "'lease_expired', 'worker ' || COALESCE(lease_owner, 'unknown') || CASE WHEN "
            "lease_owner = ? THEN ' died during the send' ELSE ' lost its lease' END "
            "FROM notification_queue WHERE status = 'sending' AND (lease_until <= ? OR "
            "lease_owner = ?) AND handed_at IS NOT NULL",
            bind_int(now), bind_text(owner), bind_int(now), bind_text(owner)) < 0)
        return -1;
    if (store_exec(
            n->db, err,
            "UPDATE notification_queue SET attempts = attempts + CASE WHEN handed_at IS NULL "
            "THEN 0 ELSE 1 END, status = CASE WHEN handed_at IS NOT NULL AND attempts + 1 > "
            "max_retries THEN 'failed' ELSE 'pending' END, last_error = CASE WHEN handed_at IS "
            "NULL THEN last_error ELSE 'lease expired' END, lease_until = NULL, "
            "lease_owner = NULL, handed_at = NULL, updated_at = ? WHERE status = 'sending' AND "
            "(lease_until <= ? OR lease_owner = ?)",
            bind_int(now), bind_int(now), bind_text(owner)) < 0)
        return -1;
    *reaped = (int)store_changes(n->db);
    return 0;
}

/* queue_reap_pg's statement (named for the plan tests: core.h). */
const char queue_sql_reap_pg[] =
    "WITH x AS (SELECT ctid AS t, id, lease_owner, handed_at FROM notification_queue "
    "WHERE status = 'sending' AND (lease_until <= ? OR lease_owner = ?) FOR UPDATE SKIP "
    "LOCKED), "
    "u AS (UPDATE notification_queue q SET attempts = q.attempts + CASE WHEN "
    "x.handed_at IS NULL THEN 0 ELSE 1 END, status = CASE WHEN x.handed_at IS NOT NULL "
    "AND q.attempts + 1 > q.max_retries THEN 'failed' ELSE 'pending' END, "
    "last_error = CASE WHEN x.handed_at IS NULL THEN q.last_error ELSE 'lease expired' "
    "END, lease_until = NULL, lease_owner = NULL, handed_at = NULL, "
    "updated_at = ? FROM x WHERE q.ctid = x.t "
    "RETURNING q.id, q.clinic_id, q.channel, x.lease_owner, x.handed_at) "
    "INSERT INTO delivery_attempts (clinic_id, notification_id, channel, transport, "
    "started_at, outcome, detail) SELECT clinic_id, id, channel, '-', ?, "
    "'lease_expired', 'worker ' || COALESCE(lease_owner, 'unknown') || CASE WHEN "
    "lease_owner = ? THEN ' died during the send' ELSE ' lost its lease' END "
    "FROM u WHERE handed_at IS NOT NULL";

/* Side by side with records: one statement, so the rows given back are
 * exactly those whose lost attempt is written, and a row whose late
 * holder is recording it right now (locked) is left to that record.
 * The UPDATE finds x's rows by their ctid (locked by this statement, so
 * it holds): joined by id it was planned as a hash join over a scan of
 * the whole table, every second on every worker, however few leases had
 * run out. A row changed between the snapshot and its lock is not found
 * at its old ctid and waits for the next reap. */
static int queue_reap_pg(nudge *n, int64_t now, const char *owner, int *reaped, nudge_err *err)
{
    if (store_exec(n->db, err, queue_sql_reap_pg, bind_int(now), bind_text(owner), bind_int(now),
                   bind_int(now), bind_text(owner)) < 0)
        return -1;
    /* The rows given back, handed off or not. */
    *reaped = (int)store_changes(n->db);
    return 0;
}

/* The claimed rows as the claim returned them: each message whole and its
 * transport data, so the dispatcher reads neither again per message.
 * The caller's arrays, filled in place (a batch of messages is ~110 kB:
 * a copy of it allocated and freed each claim made glibc give the heap
 * back to the kernel and fault it in again every batch). */
struct claimed {
    nudge_notification *m;
    char **data;
    /* Up to `hand` of the most urgent rows handed off in the claim's own
     * commit (one commit and its fsync a batch fewer), their ids into
     * hand_ids (nhand of them); queue_claim_rows tells the caller which. */
    int hand, nhand;
    int64_t *hand_ids;
};

#define QUEUE_CLAIM_COLS NOTIF_COLS ", transport_data"
#define QUEUE_CLAIM_RETURNING " RETURNING " QUEUE_CLAIM_COLS

/* The claimed row at the statement's cursor (QUEUE_CLAIM_COLS) into row i. */
static void queue_claimed_row(store_stmt *st, struct claimed *cl, int i)
{
    notif_row(st, &cl->m[i]);
    cl->data[i] = store_null(st, 24) ? NULL : strdup(store_text(st, 24));
}

static void queue_claimed_free(struct claimed *cl, int i)
{
    nudge_notification_free(&cl->m[i]);
    free(cl->data[i]);
    cl->data[i] = NULL;
}

/* What a (clinic, channel) group may still send this minute: its clinic's
 * rate less the attempts of the last minute (rate_window, written in the
 * same transaction as the attempts themselves: queue_rate_add) and the
 * rows in flight (counted from the queue, which every claim writes). */
static int queue_group_budget(nudge *n, int64_t clinic_id, const char *channel, int64_t now,
                              int64_t *budget, nudge_err *err)
{
    nudge_clinic c;
    int64_t used = 0;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0 ||
        store_scalar(n->db, &used, err,
                     "SELECT (SELECT COALESCE(SUM(attempts), 0) FROM rate_window WHERE "
                     "clinic_id = ? AND channel = ? AND started_at > ?) + "
                     "(SELECT COUNT(*) FROM notification_queue WHERE clinic_id = ? AND "
                     "channel = ? AND status = 'sending')",
                     bind_int(clinic_id), bind_text(channel), bind_int(now - 60),
                     bind_int(clinic_id), bind_text(channel)) < 0)
        return -1;
    *budget = c.rate_per_minute - used;
    return 0;
}

/* A group out of budget: into skip (",clinic:channel,"), so the next round
 * looks past it and one busy clinic does not starve the others. */
static void queue_skip_group(char *skip, size_t skipsz, int64_t clinic_id, const char *channel,
                             int *more)
{
    char grp[48];
    snprintf(grp, sizeof grp, "%lld:%s,", (long long)clinic_id, channel);
    if (!strstr(skip, grp) && strlen(skip) + strlen(grp) < skipsz)
        strcat(skip, grp);
    *more = 1;
}

/* queue_claim_sqlite_round's read of one priority (named for the plan
 * tests: core.h). */
const char queue_sql_claim_sqlite[] =
    "SELECT " QUEUE_CLAIM_COLS " FROM notification_queue WHERE status = 'pending' AND "
    "priority = ? AND due_at <= ? AND instr(?, ',' || clinic_id || ':' || channel || ',') = 0 "
    "ORDER BY due_at, id LIMIT ?";

/* One round of the SQLite claim, inside its transaction: the most urgent
 * due rows, whole, read through the claim index no further than what is
 * left of the batch (so a claim touches about the rows it takes, however
 * long the queue); each (clinic, channel) among them takes rows up to what
 * is left of its minute, each leased by its own UPDATE of one row (a
 * prepared statement, a few microseconds: the multi-row UPDATE ...
 * RETURNING it replaces built four temporary b-trees per round). A group
 * out of budget goes into skip and *more is set. */
static int queue_claim_sqlite_round(nudge *n, struct claimed *cl, int got, int max, char *skip,
                                    size_t skipsz, int *more, nudge_err *err)
{
    int64_t now = clock_now(n);
    store_stmt *st;
    int np = got, r = 0;
    *more = 0;
    /* A read per priority, most urgent first (see queue_claim_pg_round):
     * with the priority fixed, due_at is a range of nq_claim, so rows not
     * yet due (a night's deferrals, tomorrow's reminders) are never read,
     * where one ordered read walked them in every more urgent priority.
     * NUDGE_LOW..NUDGE_URGENT is every priority a row can hold: the
     * table's CHECK (priority BETWEEN 0 AND 3) on both engines. */
    for (int prio = NUDGE_URGENT; prio >= NUDGE_LOW && np < max; prio--) {
        if (store_query(n->db, &st, err, queue_sql_claim_sqlite, bind_int(prio), bind_int(now),
                        bind_text(skip), bind_int(max - np)) < 0)
            goto fail;
        while (np < max && (r = store_next(st, err)) == 1)
            queue_claimed_row(st, cl, np++);
        store_done(st);
        if (r < 0)
            goto fail;
    }
    struct group {
        int64_t clinic_id, budget;
        char channel[16];
    } groups[16];
    int ng = 0;
    for (int i = got; i < np; i++) {
        nudge_notification *m = &cl->m[i];
        int g = 0;
        while (g < ng && (groups[g].clinic_id != m->clinic_id || strcmp(groups[g].channel,
                                                                         m->channel)))
            g++;
        if (g == ng && ng < (int)(sizeof groups / sizeof *groups)) {
            groups[g] = (struct group){.clinic_id = m->clinic_id};
            str_copy(groups[g].channel, sizeof groups[g].channel, m->channel);
            if (queue_group_budget(n, m->clinic_id, m->channel, now, &groups[g].budget, err) < 0)
                goto fail;
            ng++;
        }
        /* Past the groups a round keeps, a row waits for the next round. */
        int take = g < ng && groups[g].budget-- > 0;
        if (take &&
            store_exec(n->db, err,
                       "UPDATE notification_queue SET status = 'sending', lease_until = ?, "
                       "lease_owner = ?, handed_at = NULL, updated_at = ? WHERE clinic_id = ? "
                       "AND id = ? AND status = 'pending'",
                       bind_int(now + n->lease_seconds), bind_text(n->worker_id), bind_int(now),
                       bind_int(m->clinic_id), bind_int(m->id)) < 0)
            goto fail;
        if (!take) {
            if (g < ng)
                queue_skip_group(skip, skipsz, m->clinic_id, m->channel, more);
            else
                *more = 1;
            queue_claimed_free(cl, i);
            continue;
        }
        str_copy(m->status, sizeof m->status, "sending");
        if (i != got) { /* moved down over the rows not taken */
            cl->m[got] = *m;
            memset(m, 0, sizeof *m);
            cl->data[got] = cl->data[i];
            cl->data[i] = NULL;
        }
        got++;
    }
    return got;
fail:
    while (np > got)
        queue_claimed_free(cl, --np);
    return -1;
}

static void queue_claim_order(struct claimed *cl, int got);
static int queue_handoff_sqlite(nudge *n, const queue_ref *rows, int count, signed char *handed,
                                nudge_err *err);

/* SQLite: the claim's first cl->hand rows, most urgent first, handed off
 * inside its transaction. */
static int queue_claim_hand(nudge *n, struct claimed *cl, int got, nudge_err *err)
{
    int k = cl->hand < got ? cl->hand : got;
    if (k < 1)
        return 0;
    queue_ref *refs = calloc((size_t)k, sizeof *refs);
    signed char *handed = calloc((size_t)k, 1);
    if (!refs || !handed) {
        free(refs);
        free(handed);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    queue_claim_order(cl, got);
    for (int i = 0; i < k; i++)
        refs[i] = (queue_ref){cl->m[i].clinic_id, cl->m[i].id};
    int rc = queue_handoff_sqlite(n, refs, k, handed, err);
    for (int i = 0; rc == 0 && i < k; i++)
        if (handed[i] > 0)
            cl->hand_ids[cl->nhand++] = refs[i].id;
    free(refs);
    free(handed);
    return rc;
}

/* One writer at a time: the budgets read at the start hold to the commit. */
static int queue_claim_sqlite(nudge *n, struct claimed *cl, int max, nudge_err *err)
{
    char skip[1024] = ",";
    int got = 0, more = 1;
    if (store_begin(n->db, err) < 0)
        return -1;
    for (int round = 0; round < 4 && more && got < max; round++) {
        int r = queue_claim_sqlite_round(n, cl, got, max, skip, sizeof skip, &more, err);
        if (r < 0) {
            store_rollback(n->db);
            while (got > 0)
                queue_claimed_free(cl, --got);
            return -1;
        }
        got = r;
    }
    if (queue_claim_hand(n, cl, got, err) < 0) {
        store_rollback(n->db);
        while (got > 0)
            queue_claimed_free(cl, --got);
        return -1;
    }
    if (store_commit(n->db, err) < 0) {
        while (got > 0)
            queue_claimed_free(cl, --got);
        return -1;
    }
    return got;
}

/* v appended to a comma-separated list of integers (PostgreSQL's
 * string_to_array reads it). */
static int queue_csv_add(struct sbuf *b, int64_t v)
{
    char t[24];
    int l = snprintf(t, sizeof t, b->len ? ",%lld" : "%lld", (long long)v);
    return sbuf_add(b, t, (size_t)l);
}

/* queue_claim_pg_round's statements: its read of one priority, the same
 * read past the groups out of budget, and the lease of the rows taken
 * (named for the plan tests: core.h). */
const char queue_sql_claim_pg[] =
    "SELECT CAST(ctid AS TEXT), id, clinic_id, channel, priority, due_at FROM "
    "notification_queue WHERE status = 'pending' AND priority = ? AND due_at <= ? ORDER BY "
    "due_at, id LIMIT ? FOR UPDATE SKIP LOCKED";
static const char queue_sql_claim_pg_skip[] =
    "SELECT CAST(ctid AS TEXT), id, clinic_id, channel, priority, due_at FROM "
    "notification_queue WHERE status = 'pending' AND priority = ? AND due_at <= ? AND "
    "position(',' || clinic_id || ':' || channel || ',' IN ?) = 0 ORDER BY due_at, id LIMIT ? "
    "FOR UPDATE SKIP LOCKED";
const char queue_sql_lease_pg[] =
    "UPDATE notification_queue SET status = 'sending', lease_until = ?, lease_owner = ?, "
    "handed_at = CASE WHEN id = ANY (CAST(string_to_array(?, ',') AS BIGINT[])) THEN ? ELSE "
    "NULL END, updated_at = ? WHERE ctid = ANY (CAST(? AS TID[])) AND id = ANY "
    "(CAST(string_to_array(?, ',') AS BIGINT[]))" QUEUE_CLAIM_RETURNING;

/* One round of the PostgreSQL claim, in its own transaction: the most
 * urgent due rows nobody else holds (reading only those: a read per
 * priority, most urgent first, each an ordered range of nq_claim bounded
 * by what is left of the batch), then each (clinic, channel)
 * among them takes its budget under that group's advisory lock. The lock
 * is taken where the budget is read, not on a counter row: the budget is
 * the rows in `sending` and the minute's rate_window, and a record moves a
 * row out of `sending` and adds its attempt to the window in one
 * transaction, so the sum a claim reads is never between the two; the
 * lock serialises exactly the readers of one group's budget.
 * Locks are taken in ascending key order and held to the commit, so two
 * claims never wait for each other in a cycle; rows are never waited for
 * (SKIP LOCKED). Groups out of budget go into skip (",clinic:channel,")
 * for the next round. Returns rows taken, or -1.
 *
 * Why a read per priority, and the rows leased by their ctid: both keep
 * the plan from hanging on statistics, which a queue's are not (a burst
 * of 20,000 due rows is minutes older than autovacuum's next ANALYZE).
 * One read ordered by priority DESC, due_at, id was planned (bench/burn,
 * auto_explain) as every due row fetched and sorted, 12-34 ms a claim,
 * and its id list's UPDATE as a scan of the table. With the priority
 * fixed, nq_claim (status, priority DESC, due_at, id: migration 031) is
 * the read's exact order and due_at its range, so the scan stops at the
 * batch's size and never reads a row not yet due; the rows are locked by
 * this transaction, so their ctids hold to its UPDATE, a TID scan. */
static int queue_claim_pg_round(nudge *n, struct claimed *cl, int want, char *skip, size_t skipsz,
                                int *more, nudge_err *err)
{
    struct pick {
        int64_t id, clinic, priority, due, key;
        char channel[16];
        char tid[24];
        int take;
    } *pk = calloc((size_t)want, sizeof *pk);
    if (!pk)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int64_t now = clock_now(n);
    int np = 0, got = 0, r = 0;
    struct sbuf ids = {0}, hids = {0}, tids = {0};
    int64_t *hk = calloc((size_t)cl->hand + 1, sizeof *hk);
    store_stmt *st;
    *more = 0;
    if (!hk) {
        free(pk);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    if (store_begin_own(n->db, err) < 0) {
        free(hk);
        free(pk);
        return -1;
    }
    for (int prio = NUDGE_URGENT; prio >= NUDGE_LOW && np < want; prio--) {
        /* Two texts so the first round, most claims, plans with no skip
         * filter and no guess at how few rows pass it. One text switched
         * off by (? = ',' OR position(...) = 0) would keep that guess in the
         * prepared statement's generic plan, and the bad estimate with it. */
        int q = skip[1] ? store_query(n->db, &st, err, queue_sql_claim_pg_skip, bind_int(prio),
                                      bind_int(now), bind_text(skip), bind_int(want - np))
                        : store_query(n->db, &st, err, queue_sql_claim_pg, bind_int(prio),
                                      bind_int(now), bind_int(want - np));
        if (q < 0)
            goto fail;
        while (np < want && (r = store_next(st, err)) == 1) {
            store_copy(st, 0, pk[np].tid, sizeof pk[np].tid);
            pk[np].id = store_int(st, 1);
            pk[np].clinic = store_int(st, 2);
            store_copy(st, 3, pk[np].channel, sizeof pk[np].channel);
            pk[np].priority = store_int(st, 4);
            pk[np].due = store_int(st, 5);
            pk[np].key = store_key(pk[np].channel, pk[np].clinic);
            np++;
        }
        store_done(st);
        if (r < 0)
            goto fail;
    }
    for (;;) { /* the groups, lowest lock key first */
        int g = -1;
        for (int i = 0; i < np; i++)
            if (!pk[i].take && (g < 0 || pk[i].key < pk[g].key))
                g = i;
        if (g < 0)
            break;
        int64_t budget;
        if (store_lock(n->db, pk[g].key, err) < 0 ||
            queue_group_budget(n, pk[g].clinic, pk[g].channel, now, &budget, err) < 0)
            goto fail;
        for (int i = 0; i < np; i++) {
            if (pk[i].take || pk[i].key != pk[g].key || pk[i].clinic != pk[g].clinic ||
                strcmp(pk[i].channel, pk[g].channel))
                continue;
            pk[i].take = budget-- > 0 ? 1 : -1; /* rows past the budget stay pending */
            if (pk[i].take < 0)
                queue_skip_group(skip, skipsz, pk[i].clinic, pk[i].channel, more);
        }
    }
    /* The most urgent taken (pk is in the claim's order) are also handed
     * off, up to cl->hand, in this same UPDATE. */
    int nh = 0;
    for (int i = 0; i < np; i++)
        if (pk[i].take > 0) {
            /* tids: a tid[] literal, {"(0,1)","(0,2)"} */
            if (sbuf_add(&tids, got ? ",\"" : "{\"", 2) < 0 ||
                sbuf_add(&tids, pk[i].tid, strlen(pk[i].tid)) < 0 ||
                sbuf_add(&tids, "\"", 1) < 0 || queue_csv_add(&ids, pk[i].id) < 0 ||
                (nh < cl->hand && queue_csv_add(&hids, pk[i].id) < 0))
                goto oom;
            if (nh < cl->hand)
                hk[nh++] = pk[i].id;
            got++;
        }
    int taken = 0;
    if (got) {
        if (sbuf_add(&ids, "", 1) < 0 || sbuf_add(&hids, "", 1) < 0 ||
            sbuf_add(&tids, "}", 2) < 0)
            goto oom;
        if (store_query(n->db, &st, err, queue_sql_lease_pg, bind_int(now + n->lease_seconds),
                        bind_text(n->worker_id), bind_text(hids.data), bind_int(now),
                        bind_int(now), bind_text(tids.data), bind_text(ids.data)) < 0)
            goto fail;
        while (taken < got && (r = store_next(st, err)) == 1)
            queue_claimed_row(st, cl, taken++);
        store_done(st);
        if (r < 0) {
            while (taken > 0)
                queue_claimed_free(cl, --taken);
            goto fail;
        }
    }
    got = taken;
    sbuf_free(&ids);
    sbuf_free(&hids);
    sbuf_free(&tids);
    if (np < want)
        *more = 0; /* nothing else is due */
    free(pk);
    if (store_commit(n->db, err) < 0) {
        free(hk);
        return -1;
    }
    for (int i = 0; i < nh; i++)
        cl->hand_ids[cl->nhand++] = hk[i];
    free(hk);
    return got;
oom:
    err_set(err, NUDGE_ENOMEM, "", "out of memory");
fail:
    sbuf_free(&ids);
    sbuf_free(&hids);
    sbuf_free(&tids);
    free(pk);
    free(hk);
    store_rollback(n->db);
    return -1;
}

static int queue_claim_pg(nudge *n, struct claimed *cl, int max, nudge_err *err)
{
    char skip[1024] = ",";
    int got = 0, more = 1;
    /* A few rounds at most: each passes over the groups the last found
     * out of budget, so one busy clinic does not starve the others. */
    for (int round = 0; round < 4 && more && got < max; round++) {
        /* The hand-off in the first round only: a later round's rows
         * may sort among the first round's. */
        struct claimed rest = {cl->m + got, cl->data + got, round ? 0 : cl->hand, cl->nhand,
                               cl->hand_ids};
        int r = queue_claim_pg_round(n, &rest, max - got, skip, sizeof skip, &more, err);
        if (r < 0)
            return got ? got : -1; /* what was taken is leased: send it */
        cl->nhand = rest.nhand;
        got += r;
    }
    return got;
}

/* The transaction a batch of outcomes is recorded in. SQLite: the one
 * writer's, and no locks of its own (queue_record_locks_sqlite).
 * PostgreSQL: no writers' lock (store_begin_own); the batch's locks are
 * taken in it later, by queue_record_locks_pg. */
static int queue_record_begin_sqlite(nudge *n, nudge_err *err)
{
    return store_begin(n->db, err);
}

static int queue_record_begin_pg(nudge *n, nudge_err *err)
{
    return store_begin_own(n->db, err);
}

static int queue_record_locks_sqlite(nudge *n, const queue_outcome *rs, int count,
                                     nudge_err *err)
{
    (void)n, (void)rs, (void)count, (void)err;
    return 0;
}

/* The keys the records take on their way (audit.c's chain head,
 * consent.c's usage counters) for rs's clinics, sorted and unique, into
 * keys (2 * count room): their number. */
static int queue_record_way_keys(const queue_outcome *rs, int count, int64_t *keys)
{
    int nk = 0;
    for (int i = 0; i < count; i++) {
        keys[nk++] = audit_chain_key(rs[i].m->clinic_id);
        keys[nk++] = store_key("usage", rs[i].m->clinic_id);
    }
    return (int)ids_sort_unique(keys, (size_t)nk);
}

/* PostgreSQL's locks of a record, inside its transaction: a delivery
 * report for the same provider id takes the same lock
 * (nudge_delivery_report), so the report and the send's record cannot
 * both miss each other; the hourly configuration alert of a clinic is
 * decided by one record at a time; a clinic's audit chain and usage
 * counters take one record at a time. They are taken in one statement,
 * in ascending key order, so two workers' records never wait for each
 * other in a cycle, and only after the writes to rows the batch alone
 * holds (its rows' moves, their attempts, the hand-off: queue_record_batch),
 * so a clinic's records wait for each other only through the writes
 * that need the turn and the commit. */
static int queue_record_locks_pg(nudge *n, const queue_outcome *rs, int count, nudge_err *err)
{
    int64_t *keys = calloc((size_t)count * 4 + 1, sizeof *keys);
    if (!keys)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    /* The keys taken on the way are taken here, in the same order as the
     * rest: two batches spanning the same clinics in another order would
     * otherwise wait for each other. */
    int nk = queue_record_way_keys(rs, count, keys);
    for (int i = 0; i < count; i++) {
        if (rs[i].o.provider_id[0])
            keys[nk++] = store_key(rs[i].o.provider_id, 0);
        if (rs[i].o.result == CHANNEL_CONFIG)
            keys[nk++] = store_key("config-alert", rs[i].m->clinic_id);
    }
    nk = (int)ids_sort_unique(keys, (size_t)nk);
    struct sbuf list = {0};
    int rc = 0;
    for (int i = 0; i < nk && rc == 0; i++)
        rc = queue_csv_add(&list, keys[i]);
    if (rc < 0 || sbuf_add(&list, "", 1) < 0) {
        sbuf_free(&list);
        free(keys);
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    }
    if (!nk) { /* a hand-off alone */
        sbuf_free(&list);
        free(keys);
        return 0;
    }
    /* Every lock of the batch in one round trip (store_lock's, a
     * statement each, cost one per provider id), taken in the list's
     * ascending order; noted as held, so the audit's and the usage
     * count's store_lock on the way cost nothing. */
    rc = store_exec(n->db, err,
                    "SELECT pg_advisory_xact_lock(k) FROM (SELECT CAST(unnest(string_to_array(?, "
                    "',')) AS BIGINT) AS k ORDER BY k) s",
                    bind_text(list.data));
    sbuf_free(&list);
    if (rc == 0) /* noted first the ones taken again on the way, should the list be long */
        store_held(n->db, keys, queue_record_way_keys(rs, count, keys));
    free(keys);
    return rc;
}

/* The hand-off's marks, inside the caller's transaction. SQLite: a
 * statement per row, each a few microseconds in process. */
static int queue_handoff_sqlite(nudge *n, const queue_ref *rows, int count, signed char *handed,
                                nudge_err *err)
{
    int64_t now = clock_now(n);
    for (int i = 0; i < count; i++) {
        /* Only under our lease: a row reaped meanwhile is another's now. */
        if (store_exec(n->db, err,
                       "UPDATE notification_queue SET handed_at = ? WHERE clinic_id = ? AND "
                       "id = ? AND status = 'sending' AND lease_owner = ?",
                       bind_int(now), bind_int(rows[i].clinic_id), bind_int(rows[i].id),
                       bind_text(n->worker_id)) < 0)
            return -1;
        handed[i] = store_changes(n->db) ? 1 : -1;
    }
    return 0;
}

/* PostgreSQL: one statement for the group, a round trip rather than one
 * a row; the rows returned are those still under our lease. By id alone,
 * as the claim's UPDATE: ids are unique across clinics. The lease check
 * is written COALESCE(status, '') for the reason queue_record_rows_pg's
 * is: written `status = 'sending'` it was planned as a BitmapAnd with
 * nq_claim's entries in `sending`, dead ones included (7,202 of them for
 * 32 rows, 1.2 ms against 0.3 ms by nq_id alone), and in bench/burn the
 * hand-off was the largest statement on the server, 3.8 ms at the median. */
const char queue_sql_handoff_pg[] =
    "UPDATE notification_queue SET handed_at = ? WHERE id = ANY (CAST(string_to_array(?, ',') AS "
    "BIGINT[])) AND COALESCE(status, '') = 'sending' AND lease_owner = ? RETURNING id";

static int queue_handoff_pg(nudge *n, const queue_ref *rows, int count, signed char *handed,
                            nudge_err *err)
{
    struct sbuf ids = {0};
    for (int i = 0; i < count; i++) {
        handed[i] = -1;
        if (queue_csv_add(&ids, rows[i].id) < 0) {
            sbuf_free(&ids);
            return err_set(err, NUDGE_ENOMEM, "", "out of memory");
        }
    }
    store_stmt *st;
    int r = -1;
    if (sbuf_add(&ids, "", 1) == 0 &&
        store_query(n->db, &st, err, queue_sql_handoff_pg, bind_int(clock_now(n)),
                    bind_text(ids.data), bind_text(n->worker_id)) == 0) {
        while ((r = store_next(st, err)) == 1)
            for (int i = 0; i < count; i++)
                if (rows[i].id == store_int(st, 0))
                    handed[i] = 1;
        store_done(st);
    }
    sbuf_free(&ids);
    return r < 0 ? -1 : 0;
}

struct record_move;
static int queue_record_rows_sqlite(nudge *n, queue_outcome *rs, const struct record_move *mv,
                                    int count, int64_t now, nudge_err *err);
static int queue_record_rows_pg(nudge *n, queue_outcome *rs, const struct record_move *mv,
                                int count, int64_t now, nudge_err *err);

struct queue_backend {
    const char *engine; /* store_engine's name */
    /* Takes up to max due rows under a lease, within the rate limits. */
    int (*claim)(nudge *n, struct claimed *cl, int max, nudge_err *err);
    /* Gives back rows whose lease ran out or whose owner died. */
    int (*reap)(nudge *n, int64_t now, const char *owner, int *reaped, nudge_err *err);
    /* Opens a record's transaction, then takes its locks in it. */
    int (*record_begin)(nudge *n, nudge_err *err);
    int (*record_locks)(nudge *n, const queue_outcome *rs, int count, nudge_err *err);
    /* Marks rows handed to their provider, inside the record's transaction. */
    int (*handoff)(nudge *n, const queue_ref *rows, int count, signed char *handed,
                   nudge_err *err);
    /* Moves a batch's rows on by their outcomes (queue_record_batch). */
    int (*record_rows)(nudge *n, queue_outcome *rs, const struct record_move *mv, int count,
                       int64_t now, nudge_err *err);
    /* queue_reap's sweep of the expired pending rows (now, now), read
     * alone through nq_expiry (migration 034). Its predicate is written
     * out, as both planners match a partial index's predicate only to the
     * statement's own text; SQLite, with no statistics, would still rather
     * take nq_claim's equality on status than a range and read every
     * pending row, so its statement names the index. */
    const char *expire;
};

static const struct queue_backend queue_backends[] = {
    {"sqlite", queue_claim_sqlite, queue_reap_sqlite, queue_record_begin_sqlite,
     queue_record_locks_sqlite, queue_handoff_sqlite, queue_record_rows_sqlite,
     "UPDATE notification_queue INDEXED BY nq_expiry SET status = 'cancelled', last_error = "
     "'expired before it could be sent', updated_at = ? WHERE status = 'pending' AND "
     "expires_at IS NOT NULL AND expires_at <= ?"},
    {"postgresql", queue_claim_pg, queue_reap_pg, queue_record_begin_pg, queue_record_locks_pg,
     queue_handoff_pg, queue_record_rows_pg,
     "UPDATE notification_queue SET status = 'cancelled', last_error = 'expired before it "
     "could be sent', updated_at = ? WHERE status = 'pending' AND expires_at IS NOT NULL AND "
     "expires_at <= ?"},
};

const char *queue_sql_expire(const char *engine)
{
    for (size_t i = 0; i < sizeof queue_backends / sizeof *queue_backends; i++)
        if (!strcmp(queue_backends[i].engine, engine))
            return queue_backends[i].expire;
    return NULL;
}

static const struct queue_backend *queue_backend_of(nudge *n)
{
    const char *e = store_engine(n->db);
    for (size_t i = 1; i < sizeof queue_backends / sizeof *queue_backends; i++)
        if (!strcmp(queue_backends[i].engine, e))
            return &queue_backends[i];
    return &queue_backends[0];
}

/* A claimed row's place in the batch: most urgent first. */
struct claim_key {
    int64_t priority, due_at, id;
    int at;
};

static int claim_key_cmp(const void *a, const void *b)
{
    const struct claim_key *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* RETURNING gives rows in the engine's order, not the subquery's: the
 * batch is sorted so it is sent most urgent first. The keys are sorted,
 * then the messages moved along the permutation's cycles, one aside at a
 * time (no second copy of the batch). Unsorted if out of memory. */
static void queue_claim_order(struct claimed *cl, int got)
{
    struct claim_key *k = malloc((size_t)got * sizeof *k);
    char *placed = calloc((size_t)got, 1);
    if (k && placed) {
        for (int i = 0; i < got; i++)
            k[i] = (struct claim_key){cl->m[i].priority, cl->m[i].due_at, cl->m[i].id, i};
        qsort(k, (size_t)got, sizeof *k, claim_key_cmp);
        for (int i = 0; i < got; i++) {
            if (placed[i])
                continue;
            nudge_notification tm = cl->m[i];
            char *td = cl->data[i];
            for (int j = i;;) { /* row j's new message is row k[j].at's */
                int from = k[j].at;
                placed[j] = 1;
                if (from == i) {
                    cl->m[j] = tm;
                    cl->data[j] = td;
                    break;
                }
                cl->m[j] = cl->m[from];
                cl->data[j] = cl->data[from];
                j = from;
            }
        }
    }
    free(k);
    free(placed);
}

int queue_claim_rows(nudge *n, queue_ref *rows, nudge_notification *msgs, char **data, int max,
                     int hand, signed char *handed, nudge_err *err)
{
    nudge_notification *tm = NULL;
    char **td = NULL;
    if (!msgs) { /* the leases alone (tests, tools) */
        tm = calloc((size_t)max + 1, sizeof *tm);
        td = calloc((size_t)max + 1, sizeof *td);
        if (!tm || !td) {
            free(tm);
            free(td);
            return err_set(err, NUDGE_ENOMEM, "", "out of memory");
        }
        msgs = tm;
        data = td;
    }
    if (!handed)
        hand = 0;
    if (hand > max)
        hand = max;
    for (int i = 0; handed && i < max; i++)
        handed[i] = 0;
    int64_t *hand_ids = hand > 0 ? calloc((size_t)hand, sizeof *hand_ids) : NULL;
    if (hand > 0 && !hand_ids)
        hand = 0; /* the dispatcher hands them off itself */
    struct claimed cl = {msgs, data, hand, 0, hand_ids};
    int got = queue_backend_of(n)->claim(n, &cl, max, err);
    if (got > 1)
        queue_claim_order(&cl, got);
    /* Handed off: the rows at the front whose ids the claim marked. Only
     * a run from the first row counts, so the dispatcher's later hand-offs
     * still keep what is unrecorded within the flights; a marked row past
     * it is marked again, with the same effect, when its turn comes. */
    for (int i = 0; i < got && i < cl.nhand; i++) {
        int k = 0;
        while (k < cl.nhand && hand_ids[k] != msgs[i].id)
            k++;
        if (k == cl.nhand)
            break;
        handed[i] = 1;
    }
    free(hand_ids);
    for (int i = 0; i < got; i++)
        rows[i] = (queue_ref){msgs[i].clinic_id, msgs[i].id};
    if (tm) {
        for (int i = 0; i < got; i++)
            queue_claimed_free(&cl, i);
        free(tm);
        free(td);
    }
    return got;
}

int queue_claim(nudge *n, queue_ref *rows, int max, nudge_err *err)
{
    return queue_claim_rows(n, rows, NULL, NULL, max, 0, NULL, err);
}

int queue_reap(nudge *n, int *reaped, nudge_err *err)
{
    int64_t now = clock_now(n);
    *reaped = 0;
    if (queue_backend_of(n)->reap(n, now, "", reaped, err) < 0)
        return -1;
    /* Expired before anyone could send them (a reminder for a visit that
     * has begun): never send late. */
    store_val v[] = {bind_int(now), bind_int(now)};
    return store_exec_v(n->db, err, queue_backend_of(n)->expire, v, 2);
}

int queue_rate_prune(nudge *n, int64_t now, nudge_err *err)
{
    /* Two minutes: the budget reads one, the other is margin for a
     * worker whose clock is behind this one's. */
    return store_exec(n->db, err, "DELETE FROM rate_window WHERE started_at <= ?",
                      bind_int(now - 120));
}

int queue_handoff(nudge *n, const queue_ref *rows, int count, signed char *handed,
                  nudge_err *err)
{
    return queue_record_batch(n, NULL, 0, rows, count, handed, err);
}

int queue_unclaim(nudge *n, const queue_ref *rows, int count, nudge_err *err)
{
    if (store_begin_own(n->db, err) < 0)
        return -1;
    for (int i = 0; i < count; i++)
        if (store_exec(n->db, err,
                       "UPDATE notification_queue SET status = 'pending', lease_until = NULL, "
                       "lease_owner = NULL, updated_at = ? WHERE clinic_id = ? AND id = ? AND "
                       "status = 'sending' AND lease_owner = ? AND handed_at IS NULL",
                       bind_int(clock_now(n)), bind_int(rows[i].clinic_id), bind_int(rows[i].id),
                       bind_text(n->worker_id)) < 0) {
            store_rollback(n->db);
            return -1;
        }
    return store_commit(n->db, err);
}

/* A lease owner is "host:pid:process.handle" (nudge.c). 1: the process
 * that held it is gone, which only a worker on the same host can tell:
 * its pid no longer runs, or it is our own pid with another process token
 * (an earlier incarnation that had our pid, as pid 1 in a container). */
static int queue_owner_dead(const char *mine, const char *owner)
{
    const char *c1 = strchr(mine, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *o1 = strchr(owner, ':'), *o2 = o1 ? strchr(o1 + 1, ':') : NULL;
    if (!c2 || !o2 || c1 - mine != o1 - owner || strncmp(mine, owner, (size_t)(c1 - mine)))
        return 0; /* another host's, or not ours to judge */
    char *end;
    long pid = strtol(o1 + 1, &end, 10);
    if (end != o2 || pid <= 0)
        return 0;
    const char *mydot = strchr(c2, '.'), *odot = strchr(o2, '.');
    if (pid == (long)getpid())
        return !mydot || !odot || mydot - c2 != odot - o2 || strncmp(c2, o2, (size_t)(odot - o2));
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int queue_release_dead(nudge *n, int *released, nudge_err *err)
{
    /* A deliberate cross-clinic scan: the owners of rows in flight, a few
     * at most (the claim index answers it). */
    char owners[16][64];
    int no = 0, r;
    store_stmt *st;
    *released = 0;
    if (store_query(n->db, &st, err,
                    "SELECT DISTINCT lease_owner FROM notification_queue WHERE status = "
                    "'sending' AND lease_owner IS NOT NULL AND lease_owner <> ?",
                    bind_text(n->worker_id)) < 0)
        return -1;
    while ((r = store_next(st, err)) == 1)
        if (no < 16 && queue_owner_dead(n->worker_id, store_text(st, 0)))
            store_copy(st, 0, owners[no++], sizeof owners[0]);
    store_done(st);
    if (r < 0)
        return -1;
    int64_t now = clock_now(n);
    for (int i = 0; i < no; i++) {
        int got = 0;
        if (store_begin_own(n->db, err) < 0)
            return -1;
        if (queue_backend_of(n)->reap(n, now, owners[i], &got, err) < 0) {
            store_rollback(n->db);
            return -1;
        }
        if (store_commit(n->db, err) < 0)
            return -1;
        *released += got;
    }
    return 0;
}

static int delivery_adopt(nudge *n, int64_t id, const char *provider_id, nudge_err *err);

/* A provider refused our credentials: messages wait without spending
 * their retries, and staff hear of it through an event (workflows notify
 * them), once an hour per clinic and transport rather than per message. */
static int queue_config_alert(nudge *n, const nudge_notification *m, const char *transport,
                              const channel_outcome *o, nudge_err *err)
{
    int64_t recent = 0;
    if (event_count_since(n, m->clinic_id, "channel.misconfigured", clock_now(n) - 3600,
                          "transport", transport, &recent, err) < 0)
        return -1;
    if (recent)
        return 0;
    json_t *ev = json_pack("{s:s, s:s, s:s}", "transport", transport, "channel", m->channel,
                           "detail", o->detail);
    return event_emit(n, m->clinic_id, "channel.misconfigured", 0, ev, err);
}

static const char *outcome_name(enum channel_result r)
{
    switch (r) {
    case CHANNEL_SENT: return "sent";
    case CHANNEL_TRANSIENT: return "transient";
    case CHANNEL_PERMANENT: return "permanent";
    case CHANNEL_CONFIG: return "config";
    }
    return "transient";
}

/* What a batch of records writes together, after its rows are moved on:
 * the attempts in multi-row INSERTs, the audit lines in one step of each
 * clinic's chain (nothing else a record writes is audited, so the lines
 * keep the order single steps would give them). adopt[i]: reports came
 * for outcome i's provider id before its record (delivery_orphans, read
 * for the whole batch at once). */
enum { QUEUE_ATTEMPT_NVALS = 8 };
#define QUEUE_ATTEMPT_ROW "(?,?,?,?,?,?,?,?)"
struct record_batch {
    audit_line *audit;
    size_t naudit;
    store_val *att; /* QUEUE_ATTEMPT_NVALS per attempt */
    size_t natt;
    char *adopt;
};

/* The outcomes whose provider id has reports waiting, in a statement per
 * chunk of ids rather than a read per send. On PostgreSQL the batch holds
 * each id's lock (queue_record_locks_pg), which a report takes too, so
 * none arrives between this read and the record. */
static int queue_orphans_of(nudge *n, const queue_outcome *rs, int count, char *adopt,
                            nudge_err *err)
{
    store_val *v = malloc(((size_t)count + 1) * sizeof *v);
    size_t np = 0;
    int rc = v ? 0 : err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int i = 0; rc == 0 && i < count; i++)
        if (rs[i].o.result == CHANNEL_SENT && rs[i].o.provider_id[0])
            v[np++] = bind_text(rs[i].o.provider_id);
    for (size_t at = 0; rc == 0 && at < np;) {
        size_t k = store_rows_chunk(np - at);
        char *sql = store_rows_sql("SELECT DISTINCT provider_id FROM delivery_orphans WHERE "
                                   "provider_id IN (",
                                   "?", k, ")");
        store_stmt *st = NULL;
        rc = sql ? store_query_v(n->db, &st, err, sql, v + at, (int)k)
                 : err_set(err, NUDGE_ENOMEM, "", "out of memory");
        free(sql);
        at += k;
        int r = 0;
        while (rc == 0 && (r = store_next(st, err)) == 1)
            for (int i = 0; i < count; i++)
                adopt[i] |= rs[i].o.result == CHANNEL_SENT &&
                            !strcmp(rs[i].o.provider_id, store_text(st, 0));
        if (rc == 0) {
            store_done(st);
            rc = r < 0 ? -1 : 0;
        }
    }
    free(v);
    return rc;
}

/* The batch's attempts counted into rate_window (migration 030), which
 * the claim's budget sums: one row per clinic, channel and second, so a
 * budget reads at most the minute's 60 rows however fast the queue goes.
 * Every attempt recorded here counts (a lost lease is written by the reap,
 * never here). Seconds the budget no longer reads go once a minute
 * (queue_rate_prune), off the records' path. The rows are
 * written in key order: two PostgreSQL records of one clinic are already
 * one after the other (its audit lock), and of two clinics touch no row
 * in common. */
static int queue_rate_add(nudge *n, const store_val *att, size_t count, nudge_err *err)
{
    struct rate_key {
        int64_t clinic, at, attempts;
        const char *channel;
    } *k = calloc(count + 1, sizeof *k);
    if (!k)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    size_t nk = 0;
    for (size_t i = 0; i < count; i++) {
        const store_val *a = att + i * QUEUE_ATTEMPT_NVALS;
        size_t j = 0;
        while (j < nk && !(k[j].clinic == a[0].i && k[j].at == a[4].i &&
                           !strcmp(k[j].channel, a[2].s)))
            j++;
        if (j == nk)
            k[nk++] = (struct rate_key){a[0].i, a[4].i, 0, a[2].s};
        k[j].attempts++;
    }
    int rc = 0;
    for (size_t done = 0; rc == 0 && done < nk; done++) {
        size_t g = done; /* the least key left, moved to the front */
        for (size_t j = done + 1; j < nk; j++) {
            int c = k[j].clinic != k[g].clinic ? (k[j].clinic < k[g].clinic ? -1 : 1)
                                               : strcmp(k[j].channel, k[g].channel);
            if (c < 0 || (c == 0 && k[j].at < k[g].at))
                g = j;
        }
        struct rate_key t = k[g];
        k[g] = k[done];
        k[done] = t;
        rc = store_exec(n->db, err,
                        "INSERT INTO rate_window (clinic_id, channel, started_at, attempts) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (clinic_id, channel, started_at) DO "
                        "UPDATE SET attempts = rate_window.attempts + excluded.attempts",
                        bind_int(t.clinic), bind_text(t.channel), bind_int(t.at),
                        bind_int(t.attempts));
    }
    free(k);
    return rc < 0 ? -1 : 0;
}

/* The batch's attempts, a chunk a statement; their count in the rate
 * window is queue_rate_add's, under the record's locks. */
static int queue_attempts_write(nudge *n, const store_val *att, size_t count, nudge_err *err)
{
    for (size_t at = 0, k; at < count; at += k) {
        k = store_rows_chunk(count - at);
        char *sql = store_rows_sql("INSERT INTO delivery_attempts (clinic_id, notification_id, "
                                   "channel, transport, started_at, outcome, provider_id, "
                                   "detail) VALUES ",
                                   QUEUE_ATTEMPT_ROW, k, "");
        if (!sql)
            return err_set(err, NUDGE_ENOMEM, "", "out of memory");
        int r = store_exec_v(n->db, err, sql, att + at * QUEUE_ATTEMPT_NVALS,
                             (int)(k * QUEUE_ATTEMPT_NVALS));
        free(sql);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Where an outcome moves its row: its status, attempts spent and next due
 * time, with r->retried (it goes again later). */
struct record_move {
    const char *status;
    int attempts;
    int64_t due;
};

static void queue_record_plan(queue_outcome *r, int64_t now, struct record_move *mv)
{
    const nudge_notification *m = r->m;
    const channel_outcome *o = &r->o;
    *mv = (struct record_move){.due = m->due_at, .attempts = m->attempts + 1};
    r->retried = 0;
    r->recorded = 0;
    switch (o->result) {
    case CHANNEL_SENT: mv->status = "sent"; break;
    case CHANNEL_PERMANENT: mv->status = "failed"; break;
    case CHANNEL_CONFIG:
        /* Our mistake, not the message's: keep it, do not spend a retry. */
        mv->status = "pending";
        mv->attempts = m->attempts;
        mv->due = now + queue_backoff[0];
        r->retried = 1;
        break;
    case CHANNEL_TRANSIENT:
    default:
        if (mv->attempts <= m->max_retries) {
            int step = mv->attempts - 1;
            int nsteps = (int)(sizeof queue_backoff / sizeof *queue_backoff);
            int64_t delay = queue_backoff[step < nsteps ? step : nsteps - 1];
            if (o->retry_after > delay)
                delay = o->retry_after;
            mv->status = "pending";
            mv->due = now + delay;
            r->retried = 1;
        } else {
            mv->status = "failed";
        }
        break;
    }
}

/* The rows moved on, inside the record's transaction; rs[i].recorded 1
 * for each still under our lease. Only the lease holder may record: if
 * our lease expired and another worker took the row, its outcome stands
 * and ours is dropped. SQLite: a one-row UPDATE each (in process, a few
 * microseconds; a multi-row one would build temporary b-trees). */
static int queue_record_rows_sqlite(nudge *n, queue_outcome *rs, const struct record_move *mv,
                                    int count, int64_t now, nudge_err *err)
{
    for (int i = 0; i < count; i++) {
        const nudge_notification *m = rs[i].m;
        const channel_outcome *o = &rs[i].o;
        if (store_exec(n->db, err,
                       "UPDATE notification_queue SET status = ?, attempts = ?, due_at = ?, "
                       "lease_until = NULL, lease_owner = NULL, handed_at = NULL, provider_id = "
                       "COALESCE(?, provider_id), last_error = ?, sent_at = CASE WHEN ? = 'sent' "
                       "THEN ? ELSE sent_at END, updated_at = ? WHERE clinic_id = ? AND id = ? AND "
                       "status = 'sending' AND lease_owner = ?",
                       bind_text(mv[i].status), bind_int(mv[i].attempts), bind_int(mv[i].due),
                       bind_text_or_null(o->provider_id),
                       bind_text_or_null(o->result == CHANNEL_SENT ? "" : o->detail),
                       bind_text(mv[i].status), bind_int(now), bind_int(now),
                       bind_int(m->clinic_id), bind_int(m->id), bind_text(n->worker_id)) < 0)
            return -1;
        rs[i].recorded = store_changes(n->db) > 0;
    }
    return 0;
}

/* PostgreSQL: one UPDATE ... FROM VALUES a chunk of rows, a round trip
 * rather than one a row; the rows returned are those under our lease.
 * Each row is found by its key (clinic_id, id); the lease check is a
 * filter on the row found. Written `status = 'sending'`, the check was
 * an index condition the planner preferred (nq_claim_order, its guess of
 * the rows in `sending` being low): each VALUES row then walked every
 * row in `sending`, dead entries included, 4-6 ms a record of 32 where
 * the key finds them in under 1 ms (bench/burn; the check is the same
 * written COALESCE(status, ''), which no index serves). */
enum { QUEUE_MOVE_NVALS = 8 };
#define QUEUE_MOVE_ROW                                                                             \
    "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), "                 \
    "CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT))"

/* queue_record_rows_pg's UPDATE of rows rows, allocated (NULL when out of
 * memory); a function for the plan tests (core.h). */
char *queue_sql_record_pg(size_t rows)
{
    return store_rows_sql(
        "UPDATE notification_queue q SET status = v.status, attempts = v.attempts, "
        "due_at = v.due_at, lease_until = NULL, lease_owner = NULL, handed_at = NULL, "
        "provider_id = COALESCE(v.provider_id, q.provider_id), last_error = v.last_error, "
        "sent_at = CASE WHEN v.status = 'sent' THEN v.now ELSE q.sent_at END, "
        "updated_at = v.now FROM (VALUES ",
        QUEUE_MOVE_ROW, rows,
        ") AS v (clinic_id, id, status, attempts, due_at, provider_id, last_error, now) "
        "WHERE q.clinic_id = v.clinic_id AND q.id = v.id AND COALESCE(q.status, '') = "
        "'sending' AND q.lease_owner = ? RETURNING q.id");
}

static int queue_record_rows_pg(nudge *n, queue_outcome *rs, const struct record_move *mv,
                                int count, int64_t now, nudge_err *err)
{
    size_t most = store_rows_chunk((size_t)count);
    store_val *v = malloc((most * QUEUE_MOVE_NVALS + 1) * sizeof *v);
    if (!v)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    int rc = 0;
    for (size_t at = 0, k; rc == 0 && at < (size_t)count; at += k) {
        k = store_rows_chunk((size_t)count - at);
        for (size_t j = 0; j < k; j++) {
            const queue_outcome *r = &rs[at + j];
            store_val *row = v + j * QUEUE_MOVE_NVALS;
            row[0] = bind_int(r->m->clinic_id);
            row[1] = bind_int(r->m->id);
            row[2] = bind_text(mv[at + j].status);
            row[3] = bind_int(mv[at + j].attempts);
            row[4] = bind_int(mv[at + j].due);
            row[5] = bind_text_or_null(r->o.provider_id);
            row[6] = bind_text_or_null(r->o.result == CHANNEL_SENT ? "" : r->o.detail);
            row[7] = bind_int(now);
        }
        v[k * QUEUE_MOVE_NVALS] = bind_text(n->worker_id);
        char *sql = queue_sql_record_pg(k);
        store_stmt *st;
        if (!sql) {
            rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
            break;
        }
        rc = store_query_v(n->db, &st, err, sql, v, (int)(k * QUEUE_MOVE_NVALS + 1));
        free(sql);
        if (rc < 0)
            break;
        int r;
        while ((r = store_next(st, err)) == 1)
            for (size_t j = at; j < at + k; j++)
                if (rs[j].m->id == store_int(st, 0))
                    rs[j].recorded = 1;
        store_done(st);
        if (r < 0)
            rc = -1;
    }
    free(v);
    return rc;
}

/* A recorded outcome's attempt, into rb. */
static void queue_attempt_row(const queue_outcome *r, int64_t now, struct record_batch *rb)
{
    store_val *a = rb->att + rb->natt++ * QUEUE_ATTEMPT_NVALS;
    a[0] = bind_int(r->m->clinic_id);
    a[1] = bind_int(r->m->id);
    a[2] = bind_text(r->m->channel);
    a[3] = bind_text(r->transport);
    a[4] = bind_int(now);
    a[5] = bind_text(outcome_name(r->o.result));
    a[6] = bind_text_or_null(r->o.provider_id);
    a[7] = bind_text_or_null(r->o.detail);
}

/* One recorded outcome's writes, inside the caller's transaction and
 * under its locks, after its row moved on: what a send or a failure
 * brings (reports that came first, events, the SMS fallback); its audit
 * line into rb. */
static int queue_record_one(nudge *n, queue_outcome *r, const char *status, int adopt,
                            struct record_batch *rb, nudge_err *err)
{
    const nudge_notification *m = r->m;
    const channel_outcome *o = &r->o;
    const char *transport = r->transport;
    if (!strcmp(status, "sent") || !strcmp(status, "failed"))
        rb->audit[rb->naudit++] =
            (audit_line){m->clinic_id, status[0] == 's' ? "send" : "fail", "notification", m->id,
                         status[0] == 's' ? m->template_name : o->detail};
    if (!strcmp(status, "sent") && adopt && delivery_adopt(n, m->id, o->provider_id, err) < 0)
        return -1;
    if (o->result == CHANNEL_CONFIG && queue_config_alert(n, m, transport, o, err) < 0)
        return -1;
    if (!strcmp(status, "failed") &&
        (event_emit(n, m->clinic_id, "message.failed", m->id, json_pack("{s:s, s:s, s:I, s:s}",
                    "channel", m->channel, "template", m->template_name, "patient_id",
                    (json_int_t)m->patient_id, "error", o->detail), err) < 0 ||
         queue_fallback(n, m->clinic_id, m->id, err) < 0))
        return -1;
    return 0;
}

int queue_record_batch(nudge *n, queue_outcome *rs, int count, const queue_ref *hand, int nhand,
                       signed char *handed, nudge_err *err)
{
    if (count < 1 && nhand < 1)
        return 0;
    const struct queue_backend *be = queue_backend_of(n);
    if (be->record_begin(n, err) < 0)
        return -1;
    const nudge_notification **sent = calloc((size_t)count + 1, sizeof *sent);
    struct record_batch rb = {
        .audit = calloc((size_t)count + 1, sizeof *rb.audit),
        .att = calloc(((size_t)count + 1) * QUEUE_ATTEMPT_NVALS, sizeof *rb.att),
        .adopt = calloc((size_t)count + 1, 1),
    };
    struct record_move *mv = calloc((size_t)count + 1, sizeof *mv);
    int64_t now = clock_now(n);
    int nsent = 0, used = 0;
    if (!sent || !rb.audit || !rb.att || !rb.adopt || !mv)
        used = err_set(err, NUDGE_ENOMEM, "", "out of memory");
    for (int i = 0; used == 0 && i < count; i++)
        queue_record_plan(&rs[i], now, &mv[i]);
    /* First the writes to rows this batch alone holds: its rows moved on
     * (under their lease), their attempts, the next rows' hand-off. Then
     * the batch's locks, and the writes they guard: reports that came
     * first, the rate window, the audit chain, the month's usage (a
     * statement or a step each per clinic and channel, none per
     * message). On PostgreSQL a clinic's records wait for each other only
     * from the locks to the commit (queue_record_locks_pg). */
    if (used == 0 && count)
        used = be->record_rows(n, rs, mv, count, now, err);
    for (int i = 0; used == 0 && i < count; i++)
        if (rs[i].recorded)
            queue_attempt_row(&rs[i], now, &rb);
    if (used == 0)
        used = queue_attempts_write(n, rb.att, rb.natt, err);
    if (used == 0 && nhand > 0)
        used = be->handoff(n, hand, nhand, handed, err);
    if (used == 0)
        used = be->record_locks(n, rs, count, err);
    if (used == 0)
        used = queue_orphans_of(n, rs, count, rb.adopt, err);
    for (int i = 0; used == 0 && i < count; i++) {
        if (!rs[i].recorded)
            continue;
        used = queue_record_one(n, &rs[i], mv[i].status, rb.adopt[i], &rb, err);
        if (rs[i].o.result == CHANNEL_SENT)
            sent[nsent++] = rs[i].m;
    }
    free(mv);
    if (used == 0 && rb.natt)
        used = queue_rate_add(n, rb.att, rb.natt, err);
    if (used == 0)
        used = audit_add_lines(n, rb.audit, rb.naudit, err);
    if (used == 0 && nsent)
        used = consent_usage_count(n, sent, nsent, err);
    free(sent);
    free(rb.audit);
    free(rb.att);
    free(rb.adopt);
    if (used < 0)
        goto fail;
    if (store_commit(n->db, err) < 0)
        goto failed;
    return 0;
fail:
    store_rollback(n->db);
failed:
    for (int k = 0; k < count; k++)
        rs[k].recorded = 0;
    for (int k = 0; k < nhand; k++)
        handed[k] = 0;
    return -1;
}

int queue_record(nudge *n, const nudge_notification *m, const char *transport,
                 const channel_outcome *o, int *retried, nudge_err *err)
{
    queue_outcome r = {.m = m, .transport = transport, .o = *o};
    int rc = queue_record_batch(n, &r, 1, NULL, 0, NULL, err);
    *retried = r.retried;
    if (rc == 0 && !r.recorded)
        return err_set(err, NUDGE_ECONFLICT, "lease", "lost the lease on notification %lld",
                       (long long)m->id);
    return rc;
}

/* Quotas (consent.c): the units a clinic's messages in flight hold; a
 * row's units count only while it is 'sending', so a record, a deferral
 * or a reap lets them go in the same statement that moves the row. */
int queue_units_in_flight(nudge *n, int64_t clinic_id, int64_t except_id, int64_t *units,
                          nudge_err *err)
{
    *units = 0;
    return store_scalar(n->db, units, err,
                        "SELECT COALESCE(SUM(quota_units), 0) FROM notification_queue WHERE "
                        "clinic_id = ? AND status = 'sending' AND id <> ?",
                        bind_int(clinic_id), bind_int(except_id)) < 0
               ? -1
               : 0;
}

int queue_hold_units(nudge *n, int64_t clinic_id, int64_t id, int64_t units, nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE notification_queue SET quota_units = ? WHERE clinic_id = ? AND id = ? "
                      "AND status = 'sending' AND lease_owner = ?",
                      bind_int(units), bind_int(clinic_id), bind_int(id), bind_text(n->worker_id));
}

int queue_defer(nudge *n, int64_t clinic_id, int64_t id, int64_t until, const char *why,
                nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE notification_queue SET status = 'pending', due_at = ?, "
                      "lease_until = NULL, lease_owner = NULL, handed_at = NULL, last_error = ?, "
                      "updated_at = ? WHERE clinic_id = ? AND id = ? AND status = 'sending' AND "
                      "lease_owner = ?",
                      bind_int(until), bind_text(why), bind_int(clock_now(n)), bind_int(clinic_id),
                      bind_int(id), bind_text(n->worker_id));
}

int queue_drop(nudge *n, const nudge_notification *m, const char *status, const char *why,
               nudge_err *err)
{
    if (store_begin_clinic(n->db, m->clinic_id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "UPDATE notification_queue SET status = ?, lease_until = NULL, "
                   "lease_owner = NULL, handed_at = NULL, last_error = ?, updated_at = ? WHERE "
                   "clinic_id = ? AND id = ? AND status = 'sending' AND lease_owner = ?",
                   bind_text(status), bind_text(why), bind_int(clock_now(n)),
                   bind_int(m->clinic_id), bind_int(m->id), bind_text(n->worker_id)) < 0 ||
        audit_add(n, m->clinic_id, status, "notification", m->id, why, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_attempt_list(nudge *n, int64_t clinic_id, int64_t notification_id, nudge_attempt_fn fn,
                       void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_ATTEMPT_COLS " FROM delivery_attempts WHERE notification_id = ? AND "
                    "(? = 0 OR clinic_id = ?) ORDER BY id",
                    bind_int(notification_id), bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_attempt a;
        memset(&a, 0, sizeof a);
        record_read(st, nudge_attempt_fields, &a);
        if (fn(ctx, &a))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Where a provider's status puts a notification, and how far along that
 * is; -1: a status that moves nothing (queued, accepted, ...). */
static int delivery_rank(const char *status)
{
    static const char *const order[] = {"pending", "sending", "sent", "delivered", "read"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(status, order[i]))
            return i;
    return -1;
}

static const char *delivery_map(const char *provider_status)
{
    if (!strcmp(provider_status, "sent"))
        return "sent";
    if (!strcmp(provider_status, "delivered") || !strcmp(provider_status, "partially_delivered"))
        return "delivered";
    if (!strcmp(provider_status, "read"))
        return "read";
    if (!strcmp(provider_status, "failed") || !strcmp(provider_status, "undelivered"))
        return "failed";
    return NULL;
}

/* One report applied to notification id, inside the caller's transaction:
 * the status moves forward only, and the report is kept as an event. */
static int delivery_apply(nudge *n, int64_t id, const char *provider, const char *status,
                          const char *error_code, int *moved, nudge_err *err)
{
    int64_t clinic = 0;
    char current[16] = "";
    store_stmt *st;
    if (store_query(n->db, &st, err, "SELECT clinic_id, status FROM notification_queue WHERE id = ?",
                    bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        clinic = store_int(st, 0);
        store_copy(st, 1, current, sizeof current);
    }
    store_done(st);
    if (r != 1)
        return r < 0 ? -1 : 0;
    const char *to = delivery_map(status);
    int now_rank = delivery_rank(current);
    *moved = 0;
    if (to && !strcmp(to, "failed"))
        *moved = now_rank >= 0 && now_rank < delivery_rank("delivered");
    else if (to)
        *moved = now_rank >= 0 && delivery_rank(to) > now_rank;
    int64_t now = clock_now(n);
    if (*moved) {
        char why[96] = "";
        if (!strcmp(to, "failed"))
            snprintf(why, sizeof why, "%s reports %s%s%s", provider, status,
                     error_code && *error_code ? ", error " : "", error_code ? error_code : "");
        if (store_exec(n->db, err,
                       "UPDATE notification_queue SET status = ?, last_error = CASE WHEN ? = '' "
                       "THEN last_error ELSE ? END, updated_at = ? WHERE clinic_id = ? AND id = ?",
                       bind_text(to), bind_text(why), bind_text(why), bind_int(now),
                       bind_int(clinic), bind_int(id)) < 0)
            return -1;
        if (!strcmp(to, "failed") && queue_fallback(n, clinic, id, err) < 0)
            return -1;
    }
    return store_exec(n->db, err,
                      "INSERT INTO delivery_events (clinic_id, notification_id, provider, status, "
                      "error_code, applied, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      bind_int(clinic), bind_int(id), bind_text(provider), bind_text(status),
                      bind_text_or_null(error_code), bind_int(*moved), bind_int(now));
}

/* Reports that arrived before this send was recorded, applied in order. */
static int delivery_adopt(nudge *n, int64_t id, const char *provider_id, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT provider, status, error_code FROM delivery_orphans WHERE "
                    "provider_id = ? ORDER BY id",
                    bind_text(provider_id)) < 0)
        return -1;
    struct {
        char provider[16], status[24], code[24];
    } rep[16];
    int nrep = 0, r;
    while (nrep < 16 && (r = store_next(st, err)) == 1) {
        store_copy(st, 0, rep[nrep].provider, sizeof rep[nrep].provider);
        store_copy(st, 1, rep[nrep].status, sizeof rep[nrep].status);
        store_copy(st, 2, rep[nrep].code, sizeof rep[nrep].code);
        nrep++;
    }
    store_done(st);
    for (int i = 0; i < nrep; i++) {
        int moved;
        if (delivery_apply(n, id, rep[i].provider, rep[i].status, rep[i].code, &moved, err) < 0)
            return -1;
    }
    return nrep ? store_exec(n->db, err, "DELETE FROM delivery_orphans WHERE provider_id = ?",
                             bind_text(provider_id))
                : 0;
}

int nudge_delivery_report(nudge *n, const char *provider, const char *provider_id,
                          const char *status, const char *error_code, int *applied,
                          nudge_err *err)
{
    int moved = 0;
    if (applied)
        *applied = 0;
    if (!provider_id || !*provider_id || !status || !*status)
        return err_set(err, NUDGE_EINVAL, "status", "a report needs a message id and a status");
    /* Its clinic first, before the transaction (a provider's message id
     * names one message, whose clinic never changes), so the report takes
     * that clinic's turn only; one that comes before its send is recorded
     * takes every clinic's. Then the lock the send's record takes too
     * (queue_record_locks_pg). */
    int64_t clinic = 0;
    if (store_scalar(n->db, &clinic, err,
                     "SELECT clinic_id FROM notification_queue WHERE provider_id = ?",
                     bind_text(provider_id)) < 0 ||
        store_begin_clinic(n->db, clinic, err) < 0)
        return -1;
    if (store_lock(n->db, store_key(provider_id, 0), err) < 0)
        goto fail;
    int64_t id = 0;
    int r = store_scalar(n->db, &id, err,
                         "SELECT id FROM notification_queue WHERE provider_id = ?",
                         bind_text(provider_id));
    if (r < 0)
        goto fail;
    if (r == 0) {
        /* Not recorded yet (or never ours): kept until the send is. */
        if (store_exec(n->db, err,
                       "INSERT INTO delivery_orphans (provider, provider_id, status, error_code, "
                       "received_at) VALUES (?, ?, ?, ?, ?)",
                       bind_text(provider), bind_text(provider_id), bind_text(status),
                       bind_text_or_null(error_code), bind_int(clock_now(n))) < 0)
            goto fail;
        return store_commit(n->db, err);
    }
    if (delivery_apply(n, id, provider, status, error_code, &moved, err) < 0)
        goto fail;
    if (applied)
        *applied = moved;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int queue_fallback(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    int64_t now = clock_now(n), patient = 0, clinic = 0;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, patient_id FROM notification_queue WHERE clinic_id = ? AND "
                    "id = ? AND channel = 'whatsapp' AND fallback_of IS NULL AND patient_id IS "
                    "NOT NULL AND (expires_at IS NULL OR expires_at > ?)",
                    bind_int(clinic_id), bind_int(id), bind_int(now)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        clinic = store_int(st, 0);
        patient = store_int(st, 1);
    }
    store_done(st);
    if (r != 1)
        return r < 0 ? -1 : 0;
    nudge_clinic c;
    nudge_patient p;
    if (nudge_clinic_get(n, clinic, &c, err) < 0)
        return -1;
    if (!c.whatsapp_fallback)
        return 0;
    if (nudge_patient_get(n, NUDGE_ANY_CLINIC, patient, &p, err) < 0)
        return err->code == NUDGE_ENOTFOUND ? 0 : -1;
    if (!p.phone[0])
        return 0;
    /* Copied in SQL: the same text, category, priority and expiry; a new
     * channel and recipient; the dedupe key makes it happen once. The
     * conflict target names the key's index with its predicate: on
     * PostgreSQL that index is partial (migration 033), and a partial
     * index is the arbiter only when the statement names its WHERE. */
    return store_exec(
        n->db, err,
        "INSERT INTO notification_queue (clinic_id, patient_id, appointment_id, reminder_id, "
        "channel, recipient, template, language, category, subject, body, html, segments, "
        "priority, status, due_at, expires_at, dedupe_key, max_retries, created_at, updated_at, "
        "fallback_of) "
        "SELECT q.clinic_id, q.patient_id, q.appointment_id, q.reminder_id, 'sms', ?, "
        "q.template, q.language, q.category, NULL, q.body, NULL, q.segments, q.priority, "
        "'pending', ?, q.expires_at, 'fallback:' || q.id, ?, ?, ?, q.id "
        "FROM notification_queue q WHERE q.id = ? "
        "ON CONFLICT (clinic_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
        bind_text(p.phone), bind_int(now), bind_int(c.max_retries), bind_int(now), bind_int(now),
        bind_int(id));
}

/* WhatsApp messages of one clinic sent but still not delivered by its
 * deadline go by SMS too. */
struct overdue {
    nudge *n;
    int64_t now, last;
    int seen, rc;
    nudge_err *err;
};

static int queue_overdue_clinic(void *ctx, const nudge_clinic *c)
{
    struct overdue *o = ctx;
    o->last = c->id;
    o->seen++;
    if (!c->whatsapp_fallback || c->whatsapp_fallback_after <= 0)
        return 0;
    store_stmt *st;
    if (store_query(o->n->db, &st, o->err,
                    "SELECT q.id FROM notification_queue q WHERE q.clinic_id = ? AND "
                    "q.channel = 'whatsapp' AND q.status = 'sent' AND q.sent_at <= ? AND NOT "
                    "EXISTS (SELECT 1 FROM notification_queue f WHERE f.fallback_of = q.id) "
                    "LIMIT 500",
                    bind_int(c->id), bind_int(o->now - (int64_t)c->whatsapp_fallback_after * 60)) < 0)
        return o->rc = -1;
    int64_t ids[500];
    int nids = 0, r = 0;
    while (nids < 500 && (r = store_next(st, o->err)) == 1)
        ids[nids++] = store_int(st, 0);
    store_done(st);
    if (r < 0)
        return o->rc = -1;
    for (int i = 0; i < nids; i++)
        if (queue_fallback(o->n, c->id, ids[i], o->err) < 0)
            return o->rc = -1;
    return 0;
}

int queue_fallback_overdue(nudge *n, int64_t now, nudge_err *err)
{
    struct overdue o = {.n = n, .now = now, .err = err};
    do { /* the clinics a page at a time */
        o.seen = 0;
        if (nudge_clinic_list(n, o.last, 500, queue_overdue_clinic, &o, err) < 0)
            return -1;
    } while (o.rc == 0 && o.seen == 500);
    return o.rc;
}

/* Messages of an appointment queued but not yet handed to a provider are
 * cancelled with it; one in a worker's hands cannot be recalled. */
int queue_cancel_appointment(nudge *n, int64_t clinic_id, int64_t appointment_id, const char *why,
                             nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE notification_queue SET status = 'cancelled', last_error = ?, "
                      "updated_at = ? WHERE clinic_id = ? AND appointment_id = ? AND "
                      "status = 'pending'",
                      bind_text(why), bind_int(clock_now(n)), bind_int(clinic_id),
                      bind_int(appointment_id));
}

/* A broadcast's messages not yet claimed (broadcast.c): cancelled (held
 * ones too), held (a status of their own, migration 024: the claim takes
 * only pending rows, and the counts name them) or let go again, due at
 * now. */
int queue_broadcast_move(nudge *n, int64_t clinic_id, int64_t broadcast_id, const char *to,
                         int64_t *moved, nudge_err *err)
{
    int64_t now = clock_now(n);
    int rc;
    if (!strcmp(to, "cancelled"))
        rc = store_exec(n->db, err,
                        "UPDATE notification_queue SET status = 'cancelled', last_error = "
                        "'broadcast cancelled', updated_at = ? WHERE clinic_id = ? AND "
                        "broadcast_id = ? AND status IN ('pending', 'held')",
                        bind_int(now), bind_int(clinic_id), bind_int(broadcast_id));
    else if (!strcmp(to, "held"))
        rc = store_exec(n->db, err,
                        "UPDATE notification_queue SET status = 'held', updated_at = ? WHERE "
                        "clinic_id = ? AND broadcast_id = ? AND status = 'pending'",
                        bind_int(now), bind_int(clinic_id), bind_int(broadcast_id));
    else
        rc = store_exec(n->db, err,
                        "UPDATE notification_queue SET status = 'pending', due_at = ?, updated_at "
                        "= ? WHERE clinic_id = ? AND broadcast_id = ? AND status = 'held'",
                        bind_int(now), bind_int(now), bind_int(clinic_id),
                        bind_int(broadcast_id));
    if (rc < 0)
        return -1;
    if (moved)
        *moved = store_changes(n->db);
    return strcmp(to, "pending") ? 0 : store_notify(n->db, QUEUE_TOPIC, err);
}

int queue_cancel_reminder(nudge *n, int64_t clinic_id, int64_t reminder_id, const char *why,
                          nudge_err *err)
{
    return store_exec(n->db, err,
                      "UPDATE notification_queue SET status = 'cancelled', last_error = ?, "
                      "updated_at = ? WHERE clinic_id = ? AND reminder_id = ? AND "
                      "status = 'pending'",
                      bind_text(why), bind_int(clock_now(n)), bind_int(clinic_id),
                      bind_int(reminder_id));
}

int queue_sent_with(nudge *n, int64_t clinic_id, int64_t appointment_id, const char *path,
                    const char *value, int *sent, nudge_err *err)
{
    store_stmt *st;
    *sent = 0;
    if (store_query(n->db, &st, err,
                    "SELECT transport_data FROM notification_queue WHERE clinic_id = ? AND "
                    "appointment_id = ? AND status IN ('sent', 'delivered', 'read') AND "
                    "transport_data IS NOT NULL",
                    bind_int(clinic_id), bind_int(appointment_id)) < 0)
        return -1;
    int r = 0;
    while (!*sent && (r = store_next(st, err)) == 1)
        *sent = json_text_is(store_text(st, 0), path, value);
    store_done(st);
    return !*sent && r < 0 ? -1 : 0;
}

int queue_transport_data(nudge *n, int64_t clinic_id, int64_t id, char **data, nudge_err *err)
{
    store_stmt *st;
    *data = NULL;
    if (store_query(n->db, &st, err,
                    "SELECT transport_data FROM notification_queue WHERE clinic_id = ? AND id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        *data = store_dup(st, 0);
    store_done(st);
    return r < 0 ? -1 : 0;
}

int queue_by_provider_id(nudge *n, const char *provider_id, nudge_notification *m,
                         nudge_err *err)
{
    /* Across clinics on purpose: the provider's id is unique on its own. */
    int64_t id = 0;
    int r = store_scalar(n->db, &id, err,
                         "SELECT id FROM notification_queue WHERE provider_id = ? ORDER BY id "
                         "LIMIT 1",
                         bind_text(provider_id));
    if (r <= 0)
        return r;
    return nudge_notification_get(n, NUDGE_ANY_CLINIC, id, m, err) < 0 ? -1 : 1;
}

/* Rows of (label, label, count) into a growing array. */
static int queue_counts(nudge *n, store_stmt *st, nudge_count **out, size_t *nout,
                        nudge_err *err)
{
    int r;
    size_t cap = 0;
    while ((r = store_next(st, err)) == 1) {
        if (*nout == cap) {
            cap = cap ? cap * 2 : 16;
            nudge_count *c = realloc(*out, cap * sizeof *c);
            if (!c) {
                store_done(st);
                return err_set(err, NUDGE_ENOMEM, "", "out of memory");
            }
            *out = c;
        }
        nudge_count *c = &(*out)[(*nout)++];
        store_copy(st, 0, c->a, sizeof c->a);
        store_copy(st, 1, c->b, sizeof c->b);
        c->count = store_int(st, 2);
    }
    (void)n;
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_queue_metrics(nudge *n, nudge_queue_stats *m, nudge_err *err)
{
    int64_t now = clock_now(n);
    store_stmt *st;
    memset(m, 0, sizeof *m);
    if (store_query(n->db, &st, err,
                    "SELECT status, channel, COUNT(*) FROM notification_queue "
                    "GROUP BY status, channel ORDER BY 1, 2") < 0 ||
        queue_counts(n, st, &m->by_status, &m->n_by_status, err) < 0 ||
        store_query(n->db, &st, err,
                    "SELECT channel, outcome, COUNT(*) FROM delivery_attempts "
                    "GROUP BY channel, outcome ORDER BY 1, 2") < 0 ||
        queue_counts(n, st, &m->attempts, &m->n_attempts, err) < 0 ||
        reminder_lag(n, now, &m->plan_lag, err) < 0 ||
        store_scalar(n->db, &m->dispatch_lag, err,
                     "SELECT COALESCE(? - MIN(due_at), 0) FROM notification_queue WHERE status = "
                     "'pending' AND due_at <= ?",
                     bind_int(now), bind_int(now)) < 0) {
        nudge_queue_stats_free(m);
        return -1;
    }
    return 0;
}

void nudge_queue_stats_free(nudge_queue_stats *m)
{
    free(m->by_status);
    free(m->attempts);
    memset(m, 0, sizeof *m);
}

int nudge_delivery_event_list(nudge *n, int64_t clinic_id, int64_t notification_id,
                              nudge_delivery_event_fn fn, void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " RECORD_DELIVERY_EVENT_COLS " FROM delivery_events WHERE notification_id = ? AND (? = 0 OR "
                    "clinic_id = ?) ORDER BY id",
                    bind_int(notification_id), bind_int(clinic_id), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_delivery_event d;
        memset(&d, 0, sizeof d);
        record_read(st, nudge_delivery_event_fields, &d);
        if (fn(ctx, &d))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The purge task's operation (task.c): delivered and read messages last
 * changed before `before`, with their attempts and events, in one
 * transaction. A message an SMS fallback points at stays while the
 * fallback does. clinic_id 0 is every clinic's (the installation's purge:
 * a deliberate cross-clinic delete). */
int queue_purge_delivered(nudge *n, int64_t clinic_id, int64_t before, int64_t *deleted,
                          nudge_err *err)
{
    *deleted = 0;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "DELETE FROM delivery_attempts WHERE (? = 0 OR clinic_id = ?) AND "
                   "notification_id IN ("
                   "SELECT id FROM notification_queue WHERE (? = 0 OR clinic_id = ?) "
                   "AND status IN ('delivered', 'read') AND updated_at < ? AND id NOT IN "
                   "(SELECT fallback_of FROM notification_queue WHERE fallback_of IS NOT NULL))",
                   bind_int(clinic_id), bind_int(clinic_id), bind_int(clinic_id),
                   bind_int(clinic_id), bind_int(before)) < 0 ||
        store_exec(n->db, err,
                   "DELETE FROM delivery_events WHERE (? = 0 OR clinic_id = ?) AND "
                   "notification_id IN ("
                   "SELECT id FROM notification_queue WHERE (? = 0 OR clinic_id = ?) "
                   "AND status IN ('delivered', 'read') AND updated_at < ? AND id NOT IN "
                   "(SELECT fallback_of FROM notification_queue WHERE fallback_of IS NOT NULL))",
                   bind_int(clinic_id), bind_int(clinic_id), bind_int(clinic_id),
                   bind_int(clinic_id), bind_int(before)) < 0 ||
        store_exec(n->db, err, "DELETE FROM notification_queue WHERE id IN ("
                   "SELECT id FROM notification_queue WHERE (? = 0 OR clinic_id = ?) "
                   "AND status IN ('delivered', 'read') AND updated_at < ? AND id NOT IN "
                   "(SELECT fallback_of FROM notification_queue WHERE fallback_of IS NOT NULL))",
                   bind_int(clinic_id), bind_int(clinic_id), bind_int(before)) < 0) {
        store_rollback(n->db);
        return -1;
    }
    *deleted = store_changes(n->db);
    return store_commit(n->db, err);
}

/* The statistics' messages by channel and status (workflow.c's
 * nudge_statistics): the messages made in [from, to). */
int queue_count_range(nudge *n, int64_t clinic_id, int64_t from, int64_t to, queue_count_fn fn,
                      void *ctx, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT channel, status, COUNT(*) FROM notification_queue WHERE clinic_id = ? "
                    "AND created_at >= ? AND created_at < ? GROUP BY channel, status "
                    "ORDER BY channel, status",
                    bind_int(clinic_id), bind_int(from), bind_int(to)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1)
        if (fn(ctx, store_text(st, 0), store_text(st, 1), store_int(st, 2)))
            break;
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The reply rate's denominator (reply.c's nudge_reply_stats_get): when
 * each message the provider took in [from, to) was sent, oldest first; the
 * caller reads the open statement (column 0) and closes it. */
int queue_sent_times(nudge *n, int64_t clinic_id, int64_t from, int64_t to, store_stmt **st,
                     nudge_err *err)
{
    return store_query(n->db, st, err,
                       "SELECT sent_at FROM notification_queue WHERE clinic_id = ? AND "
                       "sent_at >= ? AND sent_at < ? ORDER BY sent_at",
                       bind_int(clinic_id), bind_int(from), bind_int(to));
}
