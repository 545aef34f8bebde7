#!/usr/bin/env python3
"""Two structural checks run by `make check`.

Table ownership: each table of the store belongs to one file (OWNERS below,
the one place the map is written); SQL naming a table anywhere else fails,
so every other module goes through the owner's calls (the way only
OpenSMTPD's queue_backend.c touches envelopes). EXCEPTIONS names the files
allowed past this, with the reason. SQL is every C string
literal run (adjacent literals joined) that reads as a statement.

Layering: nothing in src/ below the handle calls a function defined in
src/nudge.c; the handle wires modules together and nothing calls up into it.
Only the front ends (FRONT_ENDS: the CLI, the HTTP server, the demo
driver) stand above it. The front ends in PUBLIC_ONLY (the HTTP layer and
the CLI) speak only the public library: they include nudge.h and their
own folder's headers, never core.h, store/store.h, util.h, tz.h and the
like, so an embedder calling nudge.h gets every guarantee they give.
"""
import glob
import os
import re
import sys

OWNERS = {
    'clinics': 'src/clinic.c',
    'patients': 'src/patient.c',
    'patient_communication_preferences': 'src/patient.c',
    'appointments': 'src/appointment.c',
    'reminders': 'src/reminder.c',
    'prescriptions': 'src/prescription.c',
    'prescription_items': 'src/prescription.c',
    'recall_rules': 'src/recall.c',
    'recalls': 'src/recall.c',
    'lab_orders': 'src/lab.c',
    'notification_queue': 'src/queue.c',
    'delivery_attempts': 'src/queue.c',
    'rate_window': 'src/queue.c',
    'delivery_events': 'src/queue.c',
    'delivery_orphans': 'src/queue.c',
    'templates': 'src/tmpl_store.c',
    'whatsapp_templates': 'src/tmpl_store.c',
    'msg91_templates': 'src/tmpl_store.c',
    'broadcasts': 'src/broadcast.c',
    'patient_segments': 'src/segment.c',
    'events': 'src/event.c',
    'audit_log': 'src/audit.c',
    'api_keys': 'src/apikey.c',
    'idempotency_keys': 'src/guard.c',
    'consent_log': 'src/consent.c',
    'inbound_messages': 'src/reply.c',
    'tickets': 'src/ticket.c',
    'ticket_messages': 'src/ticket.c',
    'schema_migrations': 'src/store/store.c',
    'periodic_runs': 'src/nudge.c',
    'channel_rests': 'src/dispatch.c',
    'tasks': 'src/task.c',
    'task_runs': 'src/task.c',
    'staff_members': 'src/staff.c',
    'staff_digests': 'src/staff.c',
    'hook_subscriptions': 'src/hook.c',
    'hook_deliveries': 'src/hook.c',
    'hook_attempts': 'src/hook.c',
    'hook_scan': 'src/hook.c',

    'broadcast_recipients': 'src/broadcast.c',

    # support tickets' FAQ and loyalty (issue 10)
    'faq_entries': 'src/faq.c',
    'faq_settings': 'src/faq.c',
    'faq_search': 'src/faq.c',
    'loyalty_ledger': 'src/loyalty.c',
    'loyalty_rules': 'src/loyalty.c',

    'workflows': 'src/workflow.c',
    'workflow_runs': 'src/workflow.c',

    # issue 17, items 4-6: consent, send windows, quotas
    'consent_ledger': 'src/consent.c',
    'patient_preferences': 'src/patient.c',
    'clinic_plans': 'src/consent.c',
    'usage_tiers': 'src/consent.c',
    'usage_counters': 'src/consent.c',
    'usage_alerts': 'src/consent.c',

    # issue 16: custom channels mapped per clinic
    'clinic_channels': 'src/dispatch.c',
}

# The files that may touch every table, each with its reason. Keep it short:
# an entry here is a file every schema change must think of.
EXCEPTIONS = {
    'src/storecopy.c': 'moves a whole store to another engine (nudge migrate-store): it '
                       'copies and checksums every table as rows of the columns the '
                       "engine's catalog lists, never as domain records, so there is no "
                       'owner whose calls it could go through',
    'src/segment.c': 'a segment is a query over patients with their visits, preferences and '
                     "consent, and a broadcast's statistics one over its recipients with "
                     'their messages, replies and bookings: evaluated in the database (never '
                     'every patient loaded), read-only, one clinic at a time; it writes only '
                     'patient_segments',
}

PUBLIC_ONLY = ('src/http/', 'src/cli/')

FRONT_END_HEADERS = ('demo.h', 'http/server.h')

FRONT_ENDS = ('src/main.c', 'src/demo.c', 'src/cli/', 'src/http/')

LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
GAP = re.compile(r'(?:\s|/\*.*?\*/|//[^\n]*|\b[A-Z_][A-Z0-9_]*\b)*', re.S)
STMT = re.compile(r'\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH)\b')
WORD = re.compile(r'\b[a-z_][a-z0-9_]*\b')


def sql_runs(src):
    """Adjacent string literals joined (macros between them allowed), with
    the line of the first."""
    pos = 0
    while True:
        m = LIT.search(src, pos)
        if not m:
            return
        start, parts, end = m.start(), [m.group(1)], m.end()
        while True:
            g = GAP.match(src, end)
            n = LIT.match(src, g.end())
            if not n:
                break
            parts.append(n.group(1))
            end = n.end()
        pos = end
        yield src.count('\n', 0, start) + 1, ''.join(parts)


def check_owners(paths):
    bad = 0
    for path in paths:
        if path in EXCEPTIONS:
            continue
        src = open(path).read()
        for line, sql in sql_runs(src):
            if not STMT.search(sql):
                continue
            for w in set(WORD.findall(sql)):
                owner = OWNERS.get(w)
                if owner and owner != path:
                    print(f'{path}:{line}: SQL on {w}, which belongs to {owner}')
                    bad += 1
    return bad


def check_layering(paths):
    defined = set(re.findall(r'^[a-z][^\n;(]*?\b(nudge_[a-z0-9_]+)\(', open('src/nudge.c').read(), re.M))
    bad = 0
    for path in paths:
        if path == 'src/nudge.c' or path.startswith(FRONT_ENDS):
            continue
        src = re.sub(r'/\*.*?\*/|//[^\n]*', '', open(path).read(), flags=re.S)
        for name in sorted(defined):
            for m in re.finditer(r'\b' + name + r'\s*\(', src):
                line = src.count('\n', 0, m.start()) + 1
                print(f'{path}:{line}: calls {name}, defined in src/nudge.c above it')
                bad += 1
    return bad


def check_public(paths):
    bad = 0
    for path in paths:
        if not path.startswith(PUBLIC_ONLY):
            continue
        own = os.path.dirname(path)
        for m in re.finditer(r'^\s*#\s*include\s*"([^"]+)"', open(path).read(), re.M):
            h = m.group(1)
            # nudge.h, its own folder's headers, or another front end's
            # (the CLI starts the HTTP server and the demo).
            if h == 'nudge.h' or os.path.dirname(os.path.join('src', h)) == own or \
                    os.path.exists(os.path.join(own, h)) or h in FRONT_END_HEADERS:
                continue
            print(f'{path}: includes "{h}"; it speaks only the public library')
            bad += 1
    return bad

paths = sorted(glob.glob('src/**/*.[ch]', recursive=True))
bad = check_owners(paths) + check_layering(paths) + check_public(paths)
sys.exit(1 if bad else 0)
