/*
 * ticket.c: support tickets (tickets, ticket_messages), the dental
 * document's SupportTicket: opened by staff, by the API (a clinic's web
 * form) or by a patient's free-text reply (reply.c calls ticket_file); a
 * thread of messages in and out; staff reply, assign and close; and the
 * automatic answer: urgent words escalate, else the clinic's FAQ (faq.c)
 * answers above its threshold or the ticket is escalated to staff.
 *
 * A patient has at most one ticket not closed: a new message from them
 * goes onto it. Each change writes its event (ticket.opened,
 * ticket.escalated, ticket.resolved, ticket.closed) and audit row in its
 * transaction; what goes to the patient is enqueued (templates faq_answer
 * and ticket_reply), never sent from here, so the workflow step
 * ticket.autoresolve commits its effect with its result.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "util.h"
#include "wfstep.h"

static const char *const ticket_statuses[] = {"open", "in_progress", "resolved", "closed",
                                              "escalated", NULL};
static const char *const ticket_sources[] = {"patient", "staff", "api", NULL};

#define TICKET_COLS                                                                                \
    "id, clinic_id, patient_id, subject, description, status, priority, assigned_to, source, "    \
    "faq_id, confidence, created_at, updated_at, resolved_at, closed_at"

static void ticket_read(store_stmt *st, nudge_ticket *t)
{
    memset(t, 0, sizeof *t);
    t->id = store_int(st, 0);
    t->clinic_id = store_int(st, 1);
    t->patient_id = store_int(st, 2);
    store_copy(st, 3, t->subject, sizeof t->subject);
    store_copy(st, 4, t->description, sizeof t->description);
    store_copy(st, 5, t->status, sizeof t->status);
    store_copy(st, 6, t->priority, sizeof t->priority);
    store_copy(st, 7, t->assigned_to, sizeof t->assigned_to);
    store_copy(st, 8, t->source, sizeof t->source);
    t->faq_id = store_int(st, 9);
    t->confidence = store_null(st, 10) ? -1 : (int)store_int(st, 10);
    t->created_at = store_int(st, 11);
    t->updated_at = store_int(st, 12);
    t->resolved_at = store_int(st, 13);
    t->closed_at = store_int(st, 14);
}

/* The ticket's event, its payload what a workflow or a webhook needs. */
static int ticket_event(nudge *n, const nudge_ticket *t, const char *type, const char *reason,
                        nudge_err *err)
{
    json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s}", "ticket_id", (json_int_t)t->id, "status",
                           t->status, "priority", t->priority, "subject", t->subject, "source",
                           t->source);
    json_object_set_new(ev, "patient_id",
                        t->patient_id ? json_integer(t->patient_id) : json_null());
    if (reason)
        json_object_set_new(ev, "reason", json_string(reason));
    if (t->faq_id)
        json_object_set_new(ev, "faq_id", json_integer(t->faq_id));
    return event_emit(n, t->clinic_id, type, t->id, ev, err);
}

static int ticket_load(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket *out, nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " TICKET_COLS " FROM tickets WHERE (? = 0 OR clinic_id = ?) AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        ticket_read(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "id", "no ticket %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_ticket_get(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket *out, nudge_err *err)
{
    err_clear(err);
    return ticket_load(n, clinic_id, id, out, err);
}

static int ticket_message(nudge *n, const nudge_ticket *t, const char *direction,
                          const char *channel, const char *author, const char *body,
                          const char *provider_id, int64_t notification_id, int64_t faq_id,
                          int64_t *id, nudge_err *err)
{
    int64_t mid;
    if (store_scalar(n->db, &mid, err,
                     "INSERT INTO ticket_messages (ticket_id, clinic_id, direction, channel, body, "
                     "provider_id, created_at, author, notification_id, faq_id) VALUES (?, ?, ?, "
                     "?, ?, ?, ?, ?, ?, ?) RETURNING id",
                     bind_int(t->id), bind_int(t->clinic_id), bind_text(direction),
                     bind_text(channel), bind_text(body), bind_text(provider_id),
                     bind_int(clock_now(n)), bind_text_or_null(author),
                     bind_int_or_null(notification_id), bind_int_or_null(faq_id)) != 1)
        return -1;
    if (id)
        *id = mid;
    return 0;
}

static int ticket_set_status(nudge *n, nudge_ticket *t, const char *status, nudge_err *err)
{
    int64_t now = clock_now(n);
    if (status != t->status) /* as it is: its own text */
        snprintf(t->status, sizeof t->status, "%s", status);
    t->updated_at = now;
    if (!strcmp(status, "resolved"))
        t->resolved_at = now;
    if (!strcmp(status, "closed"))
        t->closed_at = now;
    return store_exec(n->db, err,
                      "UPDATE tickets SET status = ?, priority = ?, assigned_to = ?, faq_id = ?, "
                      "confidence = CASE WHEN ? < 0 THEN NULL ELSE ? END, updated_at = ?, resolved_at = ?, closed_at = ? WHERE "
                      "clinic_id = ? AND id = ?",
                      bind_text(t->status), bind_text(t->priority),
                      bind_text_or_null(t->assigned_to), bind_int_or_null(t->faq_id),
                      bind_int(t->confidence), bind_int(t->confidence),
                      bind_int(now), bind_int_or_null(t->resolved_at),
                      bind_int_or_null(t->closed_at), bind_int(t->clinic_id), bind_int(t->id));
}

int ticket_file(nudge *n, const nudge_patient *p, const char *channel, const char *text,
                const char *provider_id, const char *subject, int64_t *ticket, int *opened,
                nudge_err *err)
{
    *opened = 0;
    int r = store_scalar(n->db, ticket, err,
                         "SELECT id FROM tickets WHERE clinic_id = ? AND patient_id = ? AND "
                         "status <> 'closed' ORDER BY id DESC LIMIT 1",
                         bind_int(p->clinic_id), bind_int(p->id));
    if (r < 0)
        return -1;
    nudge_ticket t;
    if (r == 0) {
        int64_t now = clock_now(n);
        if (store_scalar(n->db, ticket, err,
                         "INSERT INTO tickets (clinic_id, patient_id, subject, created_at, "
                         "updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                         bind_int(p->clinic_id), bind_int(p->id), bind_text(subject),
                         bind_int(now), bind_int(now)) != 1 ||
            ticket_load(n, p->clinic_id, *ticket, &t, err) < 0 ||
            ticket_event(n, &t, "ticket.opened", NULL, err) < 0)
            return -1;
        *opened = 1;
    } else if (ticket_load(n, p->clinic_id, *ticket, &t, err) < 0) {
        return -1;
    } else if (!strcmp(t.status, "resolved")) {
        /* They wrote back after the answer: it did not help, a person
         * should read it. */
        if (ticket_set_status(n, &t, "escalated", err) < 0 ||
            ticket_event(n, &t, "ticket.escalated", "patient_replied", err) < 0)
            return -1;
    } else if (store_exec(n->db, err, "UPDATE tickets SET updated_at = ? WHERE clinic_id = ? AND id = ?",
                          bind_int(clock_now(n)), bind_int(p->clinic_id), bind_int(*ticket)) < 0) {
        return -1;
    }
    return ticket_message(n, &t, "in", channel, NULL, text, provider_id, 0, 0, NULL, err);
}

int nudge_ticket_open(nudge *n, nudge_ticket *t, nudge_err *err)
{
    err_clear(err);
    if (!t->priority[0])
        snprintf(t->priority, sizeof t->priority, "normal");
    if (!t->source[0])
        snprintf(t->source, sizeof t->source, "staff");
    if (faq_check_text(t->subject, "subject", 1, err) < 0 ||
        faq_check_text(t->description, "description", 0, err) < 0 ||
        faq_check_text(t->assigned_to, "assigned_to", 0, err) < 0)
        return -1;
    if (nudge_names_find(nudge_priority_names, t->priority) < 0)
        return err_set(err, NUDGE_EINVAL, "priority", "priority must be low, normal, high or urgent");
    if (nudge_names_find(ticket_sources, t->source) < 0)
        return err_set(err, NUDGE_EINVAL, "source", "source must be patient, staff or api");
    nudge_clinic c;
    if (nudge_clinic_get(n, t->clinic_id, &c, err) < 0)
        return -1;
    if (t->patient_id) {
        nudge_patient p;
        if (nudge_patient_get(n, t->clinic_id, t->patient_id, &p, err) < 0) {
            if (err->code == NUDGE_ENOTFOUND)
                err_set(err, NUDGE_EINVAL, "patient_id", "no patient %lld in this clinic",
                        (long long)t->patient_id);
            return -1;
        }
    }
    int64_t now = clock_now(n);
    if (store_begin_clinic(n->db, t->clinic_id, err) < 0)
        return -1;
    if (store_scalar(n->db, &t->id, err,
                     "INSERT INTO tickets (clinic_id, patient_id, subject, description, priority, "
                     "assigned_to, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                     "?) RETURNING id",
                     bind_int(t->clinic_id), bind_int_or_null(t->patient_id),
                     bind_text(t->subject), bind_text(t->description), bind_text(t->priority),
                     bind_text_or_null(t->assigned_to), bind_text(t->source), bind_int(now),
                     bind_int(now)) != 1 ||
        ticket_load(n, t->clinic_id, t->id, t, err) < 0 ||
        ticket_event(n, t, "ticket.opened", NULL, err) < 0 ||
        audit_add(n, t->clinic_id, "ticket.open", "ticket", t->id, t->subject, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_ticket_list(nudge *n, int64_t clinic_id, const char *status, int64_t after_id,
                      int limit, nudge_ticket_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    status = status ? status : "";
    if (*status && nudge_names_find(ticket_statuses, status) < 0)
        return err_set(err, NUDGE_EINVAL, "status",
                       "status must be open, in_progress, resolved, closed or escalated");
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " TICKET_COLS " FROM tickets WHERE (? = 0 OR clinic_id = ?) AND "
                    "(? = '' OR status = ?) AND id > ? ORDER BY id LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_text(status),
                    bind_text(status), bind_int(after_id), bind_int(limit > 0 ? limit : 50)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_ticket t;
        ticket_read(st, &t);
        if (fn(ctx, &t)) {
            r = 0;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_ticket_thread(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_message_fn fn,
                        void *ctx, nudge_err *err)
{
    nudge_ticket t;
    if (nudge_ticket_get(n, clinic_id, id, &t, err) < 0)
        return -1;
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, ticket_id, direction, channel, author, body, notification_id, "
                    "faq_id, created_at FROM ticket_messages WHERE clinic_id = ? AND ticket_id = ? "
                    "ORDER BY id",
                    bind_int(t.clinic_id), bind_int(t.id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_ticket_message m = {0};
        m.id = store_int(st, 0);
        m.ticket_id = store_int(st, 1);
        store_copy(st, 2, m.direction, sizeof m.direction);
        store_copy(st, 3, m.channel, sizeof m.channel);
        store_copy(st, 4, m.author, sizeof m.author);
        store_copy(st, 5, m.body, sizeof m.body);
        m.notification_id = store_int(st, 6);
        m.faq_id = store_int(st, 7);
        m.created_at = store_int(st, 8);
        if (fn(ctx, &m)) {
            r = 0;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The channel the patient last wrote on, into ch[n] ("" if none). */
static int ticket_last_channel(nudge *n, const nudge_ticket *t, char *ch, size_t size,
                               nudge_err *err)
{
    store_stmt *st;
    ch[0] = 0;
    if (store_query(n->db, &st, err,
                    "SELECT channel FROM ticket_messages WHERE clinic_id = ? AND ticket_id = ? AND "
                    "direction = 'in' ORDER BY id DESC LIMIT 1",
                    bind_int(t->clinic_id), bind_int(t->id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        store_copy(st, 0, ch, size);
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Enqueues template to the ticket's patient, on the channel they wrote on
 * when it still reaches them, and records it on the thread. 1 sent, 0 the
 * patient cannot be reached (nothing written), -1. */
static int ticket_send(nudge *n, const nudge_ticket *t, const char *template_name,
                       const char *var, const char *body, const char *author, int64_t faq_id,
                       const char *dedupe, int64_t *message_id, int64_t *notification_id,
                       nudge_err *err)
{
    nudge_patient p;
    nudge_clinic c;
    char want[16];
    const char *ch, *to;
    if (!t->patient_id || nudge_patient_get(n, t->clinic_id, t->patient_id, &p, err) < 0 ||
        nudge_clinic_get(n, t->clinic_id, &c, err) < 0 ||
        ticket_last_channel(n, t, want, sizeof want, err) < 0)
        return t->patient_id ? -1 : 0;
    nudge_err ignored;
    if ((!want[0] || queue_route(&c, &p, want, &ch, &to, &ignored) < 0) &&
        queue_route(&c, &p, NULL, &ch, &to, &ignored) < 0)
        return 0;
    char channel[16];
    snprintf(channel, sizeof channel, "%s", ch);
    nudge_vars v = {0};
    nudge_vars_set(&v, var, body);
    nudge_send s = {.patient_id = p.id,
                    .template_name = template_name,
                    .channel = channel,
                    .priority = NUDGE_HIGH,
                    .dedupe_key = dedupe,
                    .vars = &v};
    int rc = nudge_enqueue(n, t->clinic_id, &s, notification_id, NULL, err);
    nudge_vars_free(&v);
    if (rc < 0 || ticket_message(n, t, "out", channel, author, body, NULL, *notification_id,
                                 faq_id, message_id, err) < 0)
        return -1;
    return 1;
}

int nudge_ticket_reply(nudge *n, int64_t clinic_id, int64_t id, const char *author,
                       const char *text, int64_t *message_id, nudge_err *err)
{
    err_clear(err);
    nudge_ticket t;
    if (faq_check_text(text, "text", 1, err) < 0 || faq_check_text(author, "author", 0, err) < 0)
        return -1;
    if (strlen(text) >= sizeof((nudge_ticket_message *)0)->body)
        return err_set(err, NUDGE_EINVAL, "text", "a reply is at most %zu bytes",
                       sizeof((nudge_ticket_message *)0)->body - 1);
    if (author && strlen(author) >= sizeof t.assigned_to)
        return err_set(err, NUDGE_EINVAL, "author", "author is at most %zu bytes",
                       sizeof t.assigned_to - 1);
    if (nudge_ticket_get(n, clinic_id, id, &t, err) < 0)
        return -1;
    if (!strcmp(t.status, "closed"))
        return err_set(err, NUDGE_ECONFLICT, "status", "ticket %lld is closed", (long long)id);
    if (!t.patient_id)
        return err_set(err, NUDGE_ECONFLICT, "patient_id",
                       "ticket %lld has no patient to reply to", (long long)id);
    if (store_begin_clinic(n->db, t.clinic_id, err) < 0)
        return -1;
    int64_t mid = 0, nid = 0;
    int sent = ticket_send(n, &t, "ticket_reply", "message", text, author, 0, NULL, &mid, &nid,
                           err);
    if (sent == 0)
        err_set(err, NUDGE_ECONFLICT, "patient_id",
                "the patient cannot be reached on any channel");
    if (sent != 1 || ticket_set_status(n, &t, "in_progress", err) < 0 ||
        audit_add(n, t.clinic_id, "ticket.reply", "ticket", t.id, author, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    if (message_id)
        *message_id = mid;
    return store_commit(n->db, err);
}

int nudge_ticket_assign(nudge *n, int64_t clinic_id, int64_t id, const char *assignee,
                        nudge_err *err)
{
    err_clear(err);
    nudge_ticket t;
    if (faq_check_text(assignee, "assigned_to", 1, err) < 0)
        return -1;
    if (strlen(assignee) >= sizeof t.assigned_to)
        return err_set(err, NUDGE_EINVAL, "assigned_to", "assigned_to is at most %zu bytes",
                       sizeof t.assigned_to - 1);
    if (nudge_ticket_get(n, clinic_id, id, &t, err) < 0)
        return -1;
    if (!strcmp(t.status, "closed"))
        return err_set(err, NUDGE_ECONFLICT, "status", "ticket %lld is closed", (long long)id);
    snprintf(t.assigned_to, sizeof t.assigned_to, "%s", assignee);
    int take = !strcmp(t.status, "open") || !strcmp(t.status, "escalated");
    if (store_begin_clinic(n->db, t.clinic_id, err) < 0)
        return -1;
    if (ticket_set_status(n, &t, take ? "in_progress" : t.status, err) < 0 ||
        audit_add(n, t.clinic_id, "ticket.assign", "ticket", t.id, assignee, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int nudge_ticket_close(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    err_clear(err);
    nudge_ticket t;
    if (nudge_ticket_get(n, clinic_id, id, &t, err) < 0)
        return -1;
    if (!strcmp(t.status, "closed"))
        return err_set(err, NUDGE_ECONFLICT, "status", "ticket %lld is already closed",
                       (long long)id);
    if (store_begin_clinic(n->db, t.clinic_id, err) < 0)
        return -1;
    if (ticket_set_status(n, &t, "closed", err) < 0 ||
        ticket_event(n, &t, "ticket.closed", NULL, err) < 0 ||
        audit_add(n, t.clinic_id, "ticket.close", "ticket", t.id, NULL, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int ticket_forget_faq(nudge *n, int64_t clinic_id, int64_t faq_id, nudge_err *err)
{
    if (store_exec(n->db, err, "UPDATE tickets SET faq_id = NULL WHERE clinic_id = ? AND faq_id = ?",
                   bind_int(clinic_id), bind_int(faq_id)) < 0)
        return -1;
    return store_exec(n->db, err,
                      "UPDATE ticket_messages SET faq_id = NULL WHERE clinic_id = ? AND faq_id = ?",
                      bind_int(clinic_id), bind_int(faq_id));
}

/* What the patient asked: the description, else their last message, else
 * the subject. */
static int ticket_text(nudge *n, const nudge_ticket *t, char *buf, size_t size, nudge_err *err)
{
    if (!nudge_blank(t->description)) {
        snprintf(buf, size, "%s", t->description);
        return 0;
    }
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT body FROM ticket_messages WHERE clinic_id = ? AND ticket_id = ? AND "
                    "direction = 'in' ORDER BY id DESC LIMIT 1",
                    bind_int(t->clinic_id), bind_int(t->id)) < 0)
        return -1;
    int r = store_next(st, err);
    snprintf(buf, size, "%s", r == 1 ? store_text(st, 0) : t->subject);
    store_done(st);
    return r < 0 ? -1 : 0;
}

static int ticket_autoresolve_at(nudge *n, int64_t clinic_id, int64_t id, int threshold,
                                 nudge_ticket_outcome *out, nudge_err *err)
{
    memset(out, 0, sizeof *out);
    out->confidence = -1;
    nudge_ticket t;
    if (ticket_load(n, clinic_id, id, &t, err) < 0)
        return -1;
    if (strcmp(t.status, "open")) {
        /* Answered, escalated or taken by staff already: nothing to do, so
         * a second run changes nothing. */
        snprintf(out->action, sizeof out->action, "skipped");
        snprintf(out->reason, sizeof out->reason, "%s", t.status);
        return 0;
    }
    char text[2048];
    nudge_faq_match m;
    if (ticket_text(n, &t, text, sizeof text, err) < 0 ||
        faq_match(n, t.clinic_id, text, &m, err) < 0)
        return -1;
    if (threshold < 0)
        threshold = m.threshold;
    const char *reason = m.urgent                  ? "urgent"
                         : !m.faq_id               ? "no_match"
                         : m.confidence < threshold ? "low_confidence"
                         : !t.patient_id           ? "no_patient"
                                                   : "matched";
    out->faq_id = m.faq_id;
    out->confidence = m.urgent ? -1 : m.confidence;
    t.confidence = out->confidence;
    if (!strcmp(reason, "matched")) {
        char key[64];
        snprintf(key, sizeof key, "ticket:%lld:faq", (long long)t.id);
        int64_t mid;
        int sent = ticket_send(n, &t, "faq_answer", "answer", m.answer, "faq", m.faq_id, key, &mid,
                               &out->notification_id, err);
        if (sent < 0)
            return -1;
        if (sent == 0)
            reason = "unreachable";
    }
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    if (!strcmp(reason, "matched")) {
        t.faq_id = m.faq_id;
        snprintf(out->action, sizeof out->action, "resolved");
        if (ticket_set_status(n, &t, "resolved", err) < 0 ||
            ticket_event(n, &t, "ticket.resolved", reason, err) < 0)
            return -1;
    } else {
        if (m.urgent)
            snprintf(t.priority, sizeof t.priority, "urgent");
        snprintf(out->action, sizeof out->action, "escalated");
        if (ticket_set_status(n, &t, "escalated", err) < 0 ||
            ticket_event(n, &t, "ticket.escalated", reason, err) < 0)
            return -1;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "%s: %s (faq %lld, %d%%)", out->action, reason,
             (long long)m.faq_id, out->confidence);
    return audit_add(n, t.clinic_id, "ticket.autoresolve", "ticket", t.id, detail, err);
}

int ticket_autoresolve(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_outcome *out,
                       nudge_err *err)
{
    return ticket_autoresolve_at(n, clinic_id, id, -1, out, err);
}

int nudge_ticket_autoresolve(nudge *n, int64_t clinic_id, int64_t id, nudge_ticket_outcome *out,
                             nudge_err *err)
{
    err_clear(err);
    nudge_ticket t;
    if (nudge_ticket_get(n, clinic_id, id, &t, err) < 0 ||
        store_begin_clinic(n->db, t.clinic_id, err) < 0)
        return -1;
    if (ticket_autoresolve(n, t.clinic_id, id, out, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* ---- the workflow step "ticket.autoresolve" ----
 * args: {} or {"threshold": 0..100} (instead of the clinic's). The ticket
 * is the event's subject when the event is a ticket's (ticket.opened),
 * else the payload's ticket_id. */
static int ticket_step_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    const char *k;
    json_t *v;
    if (args && !json_is_object(args))
        return err_set(err, NUDGE_EINVAL, path, "%s.args must be an object", path);
    json_object_foreach((json_t *)args, k, v)
    {
        char field[64];
        snprintf(field, sizeof field, "%s.%.32s", path, k);
        if (strcmp(k, "threshold"))
            return err_set(err, NUDGE_EINVAL, field,
                           "ticket.autoresolve takes only \"threshold\"");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
            return err_set(err, NUDGE_EINVAL, field, "threshold is a percent, 0 to 100");
    }
    return 0;
}

static int ticket_step_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    if (ticket_step_validate(c->n, args, "args", err) < 0)
        return -1;
    int64_t id = !strncmp(c->event_type, "ticket.", 7) ? c->subject_id
                 : json_is_integer(json_object_get(c->event, "ticket_id"))
                     ? json_integer_value(json_object_get(c->event, "ticket_id"))
                     : 0;
    if (id <= 0)
        return err_set(err, NUDGE_EINVAL, "ticket_id", "the event %s names no ticket",
                       c->event_type);
    json_t *th = args ? json_object_get(args, "threshold") : NULL;
    nudge_ticket_outcome o;
    if (ticket_autoresolve_at(c->n, c->clinic_id, id, th ? (int)json_integer_value(th) : -1, &o,
                              err) < 0)
        return -1;
    *result = json_pack("{s:I, s:s, s:s, s:I, s:i, s:I}", "ticket_id", (json_int_t)id, "action",
                        o.action, "reason", o.reason, "faq_id", (json_int_t)o.faq_id,
                        "confidence", o.confidence, "notification_id",
                        (json_int_t)o.notification_id);
    return 0;
}

const wf_step_kind ticket_step_autoresolve = {"ticket.autoresolve", ticket_step_validate,
                                              ticket_step_run};
