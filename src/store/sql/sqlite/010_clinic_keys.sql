-- 010: indexes lead with clinic_id, so that on a PostgreSQL sharded by
-- clinic (Citus, docs/OPERATIONS.md) each lives whole on its clinic's
-- shard and a tenant's read walks only that tenant's entries. Only the
-- indexes whose every reader already names the clinic, or that no query
-- reads yet, change here; those still read without a clinic (a visit's
-- reminders and messages, a message's attempts, the global claim and due
-- scans) stay until their queries carry it, listed in the operations page.
-- The same text on both engines.

-- No query reads consent_log or ticket_messages yet: their future readers
-- (a patient's consent history, a ticket's thread) are per clinic.
DROP INDEX consent_patient;
CREATE INDEX consent_clinic ON consent_log (clinic_id, patient_id, id);
DROP INDEX ticket_messages_ticket;
CREATE INDEX ticket_messages_clinic ON ticket_messages (clinic_id, ticket_id, id);

-- The API's lists of a patient's visits and of a visit's plans pass the
-- key's clinic.
CREATE INDEX appointments_clinic_patient ON appointments (clinic_id, patient_id, start_at);
CREATE INDEX reminders_clinic ON reminders (clinic_id, appointment_id, due_at);
