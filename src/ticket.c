/*
 * ticket.c: support tickets, where a person answers what a keyword could
 * not (a reschedule request, a question). A patient has at most one open
 * ticket: a new message from them goes onto it. Owns the tickets and
 * ticket_messages tables; the coming tickets module (assignment, staff
 * replies, closing) grows here. Everything runs in the caller's
 * transaction, so the ticket and what caused it commit together.
 */
#include "core.h"
#include "util.h"

int ticket_file(nudge *n, const nudge_patient *p, const char *channel, const char *text,
                const char *provider_id, const char *subject, int64_t *ticket, int *opened,
                nudge_err *err)
{
    int64_t now = clock_now(n);
    *opened = 0;
    int r = store_scalar(n->db, ticket, err,
                         "SELECT id FROM tickets WHERE clinic_id = ? AND patient_id = ? AND "
                         "status <> 'closed' ORDER BY id DESC LIMIT 1",
                         bind_int(p->clinic_id), bind_int(p->id));
    if (r < 0)
        return -1;
    if (r == 0) {
        if (store_scalar(n->db, ticket, err,
                         "INSERT INTO tickets (clinic_id, patient_id, subject, created_at, "
                         "updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                         bind_int(p->clinic_id), bind_int(p->id), bind_text(subject),
                         bind_int(now), bind_int(now)) != 1)
            return -1;
        *opened = 1;
    } else if (store_exec(n->db, err,
                          "UPDATE tickets SET status = 'open', updated_at = ? WHERE clinic_id = ? "
                          "AND id = ?",
                          bind_int(now), bind_int(p->clinic_id), bind_int(*ticket)) < 0) {
        return -1;
    }
    return store_exec(n->db, err,
                      "INSERT INTO ticket_messages (ticket_id, clinic_id, direction, channel, body, "
                      "provider_id, created_at) VALUES (?, ?, 'in', ?, ?, ?, ?)",
                      bind_int(*ticket), bind_int(p->clinic_id), bind_text(channel),
                      bind_text(text), bind_text(provider_id), bind_int(now));
}
