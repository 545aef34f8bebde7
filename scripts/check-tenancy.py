#!/usr/bin/env python3
"""Tenancy check run by `make check`: every statement that reads, changes
or deletes rows of a tenant table names the clinic in its WHERE clause.

Two reasons. The API is scoped to the key's clinic, and a query that finds
a row by id alone relies on its caller having checked the clinic first;
naming the clinic in the statement makes the database enforce it. And on
a PostgreSQL sharded by clinic (docs/OPERATIONS.md, "Past one database
server") a statement that names the clinic is routed to one shard; one
that does not fans out to all of them.

SQL is each store_exec/store_query/store_scalar call's string literals
joined (scripts/sqlcalls.py); INSERTs are exempt (the
row's clinic_id is one of its columns). KNOWN lists the statements allowed
without a clinic, keyed by file and the statement's first words, each
with its reason: CROSS are deliberate scans over every clinic; DEBT are
lookups by id whose callers hold the clinic and should pass it
(docs/OPERATIONS.md item 2). A new statement must not join either list
without a reason; a DEBT entry is removed when its statement is fixed
(the check fails on an entry that no longer matches anything, so the
list cannot rot).
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sqlcalls import sql_tables, store_calls  # noqa: E402

TENANT = {
    'patients', 'patient_communication_preferences', 'appointments', 'reminders',
    'notification_queue', 'delivery_attempts', 'delivery_events', 'templates',
    'patient_segments', 'broadcasts', 'events', 'consent_log', 'tickets',
    'ticket_messages', 'whatsapp_templates', 'msg91_templates', 'idempotency_keys',
    'tasks', 'task_runs',
    'staff_members', 'staff_digests', 'hook_subscriptions', 'hook_deliveries', 'hook_attempts',

    'broadcast_recipients',

    'workflows', 'workflow_runs',

    'consent_ledger', 'patient_preferences', 'clinic_plans', 'usage_counters', 'usage_alerts',
}
# support tickets' FAQ and loyalty (issue 10)
TENANT |= {'faq_entries', 'faq_settings', 'loyalty_ledger', 'loyalty_rules'}
# custom channels mapped per clinic (issue 16)
TENANT |= {'clinic_channels'}
# the rate budget's count of attempts per second (migration 030)
TENANT |= {'rate_window'}

CROSS = 'a scan over every clinic, by design'
WEBHOOK = 'arrives without a clinic: the provider names only its own message id or the number'
DEBT = 'by id; the caller holds the clinic and should pass it'

KNOWN = {
    ('src/queue.c', 'SELECT id FROM notification_queue WHERE provider_id'): WEBHOOK,
    ('src/queue.c', 'SELECT clinic_id FROM notification_queue WHERE provider_id'): WEBHOOK + ' (to take its clinic\'s turn)',
    ('src/queue.c', 'SELECT clinic_id, status FROM notification_queue WHERE id'): WEBHOOK + ' (a report, by the message id its provider id named)',
    ('src/patient.c', 'SELECT id, clinic_id FROM patients WHERE phone'): WEBHOOK,
    ('src/queue.c', 'SELECT status, channel, COUNT(*) FROM notification_queue'): CROSS + ' (/metrics)',
    ('src/queue.c', 'SELECT channel, outcome, COUNT(*) FROM delivery_attempts'): CROSS + ' (/metrics)',
    ('src/queue.c', 'DELETE FROM rate_window WHERE started_at'): CROSS + ' (the window\'s old seconds, once a minute)',
    ('src/queue.c', 'SELECT COALESCE(? - MIN(due_at), 0) FROM notification_queue'): CROSS + ' (queue lag)',
    ('src/reminder.c', 'SELECT COALESCE(? - MIN(due_at), 0) FROM reminders'): CROSS + ' (planner lag)',
    # (a macro's column list is not a literal, so the statement reads "SELECT FROM")
    ('src/reminder.c', "SELECT FROM reminders WHERE status = 'planned' AND due_at"): CROSS + ' (due plans)',
    ('src/patient.c', 'SELECT id, clinic_id FROM patients WHERE substr(date_of_birth'): CROSS + ' (birthdays)',
    ('src/queue.c', 'UPDATE notification_queue SET attempts = attempts + CASE WHEN handed_at'): CROSS + ' (expired leases)',
    ('src/queue.c', "UPDATE notification_queue SET status = 'cancelled', last_error = 'expired"): CROSS + ' (expired messages)',
    ('src/queue.c', "UPDATE notification_queue INDEXED BY nq_expiry SET status = 'cancelled', last_error = 'expired"): CROSS + ' (expired messages; SQLite\'s names its index)',
    ('src/queue.c', "UPDATE notification_queue SET status = 'sending', lease_until = ?, lease_owner = ?, handed_at = CASE"): CROSS + " (the PostgreSQL claim's batch spans clinics: rows it locked)",
    ('src/queue.c', "SELECT CAST(ctid AS TEXT), id, clinic_id, channel, priority, due_at FROM notification_queue WHERE status"): CROSS + " (the PostgreSQL claim's read of the most urgent due rows, of every clinic)",
    ('src/queue.c', "SELECT DISTINCT lease_owner FROM notification_queue WHERE status = 'sending'"): CROSS + ' (dead workers on this host)',
    ('src/task.c', "SELECT clinic_id, id FROM tasks WHERE status = 'running'"): CROSS + ' (lost runs)',
    ('src/task.c', "SELECT clinic_id, id, next_run, fn FROM tasks WHERE status = 'scheduled'"): CROSS + ' (due tasks)',
    ('src/event.c', 'SELECT id, clinic_id, subject_id, created_at, type, payload FROM events'): CROSS + " (hook.c's scan of events into webhook deliveries)",
    ('src/hook.c', 'SELECT id, clinic_id, created_at, url, event_types FROM hook_subscriptions'): CROSS + ' (the subscriptions the scan of events matches)',
    ('src/hook.c', 'SELECT clinic_id, id, next_try FROM hook_deliveries'): CROSS + ' (due deliveries, each then claimed by its clinic and id)',
    ('src/staff.c', 'SELECT clinic_id, at_minute FROM staff_digests'): CROSS + ' (the clinics whose digest may be due)',

    ('src/broadcast.c', "UPDATE broadcasts SET status = 'stale'"): CROSS + ' (campaigns past their grace)',
    ('src/broadcast.c', "UPDATE broadcasts SET status = 'sending', started_at = ?, updated_at = ? WHERE status = 'scheduled'"): CROSS + ' (campaigns come due)',
    ('src/broadcast.c', "SELECT clinic_id, id FROM broadcasts WHERE status = 'sending'"): CROSS + ' (broadcasts under way)',

    ('src/event.c', 'SELECT clinic_id, id FROM events WHERE processed_at IS NULL'): CROSS + ' (events the workflow engine has not consumed)',
    ('src/workflow.c', "SELECT clinic_id, id FROM workflow_runs WHERE status IN"): CROSS + ' (workflow runs to go on)',

    ('src/queue.c', "UPDATE notification_queue SET handed_at = ? WHERE id = ANY"): CROSS + " (the PostgreSQL hand-off of a claimed group, which spans clinics: rows under our lease)",
}


def statements(path):
    """The statements at its calls, and those in its tables (a backend's
    row: queue.c's queue_backends), which a call runs by reference."""
    for line, _, sql in store_calls(path):
        yield line, ' '.join(sql.split())
    for line, _, _, sql in sql_tables(path):
        yield line, ' '.join(sql.split())


bad = 0
used = set()
for path in sorted(glob.glob('src/**/*.c', recursive=True)):
    if path == 'src/storecopy.c':   # copies whole tables (check-owners.py's exception)
        continue
    for line, sql in statements(path):
        if re.match(r'(INSERT|CREATE|DROP|ALTER)\b', sql, re.I):
            continue
        tables = set(re.findall(r'\b(?:FROM|JOIN|UPDATE)\s+(\w+)', sql, re.I)) & TENANT
        if not tables:
            continue
        where = re.split(r'\bWHERE\b', sql, maxsplit=1, flags=re.I)
        if len(where) == 2 and re.search(r'\bclinic_id\b', where[1]):
            continue
        key = next((k for k in KNOWN if k[0] == path and sql.startswith(k[1])), None)
        if key:
            used.add(key)
            continue
        print(f'{path}:{line}: no clinic_id in the WHERE of a statement on '
              f'{", ".join(sorted(tables))}: {sql[:100]}')
        bad += 1
for k in sorted(set(KNOWN) - used):
    print(f'{k[0]}: KNOWN entry matches no statement any more, remove it: {k[1]}')
    bad += 1
sys.exit(1 if bad else 0)
