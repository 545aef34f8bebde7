-- 011: every tenant table is keyed by (clinic_id, id), and every reference
-- between tenant tables is a composite foreign key through clinic_id.
-- Two reasons. A sharded PostgreSQL (Citus, docs/OPERATIONS.md) can only
-- distribute a table by clinic_id when each of its unique constraints and
-- foreign keys includes clinic_id. And a composite reference makes it
-- impossible, not just unlikely, for a row to point into another clinic:
-- a visit whose patient_id names another clinic's patient is refused by
-- the database itself.
-- Ids stay identity values, unique on their own; a plain index on id
-- serves the few reads that do not know the clinic yet (a worker's record
-- of its own batch, a provider's report found by provider id).
-- Not rekeyed, on purpose: clinics (the distribution key itself),
-- api_keys (found by prefix before the clinic is known: a small reference
-- table), audit_log and inbound_messages (clinic_id is NULL for server
-- actions and for senders no clinic knows), delivery_orphans,
-- periodic_runs, channel_rests (not per clinic). SQLite keeps its rowid
-- keys (sqlite/011 says why).

-- 1. Drop the single-column references into tenant tables.
ALTER TABLE patient_communication_preferences DROP CONSTRAINT patient_communication_preferences_patient_id_fkey;
ALTER TABLE appointments      DROP CONSTRAINT appointments_patient_id_fkey;
ALTER TABLE reminders         DROP CONSTRAINT reminders_patient_id_fkey;
ALTER TABLE reminders         DROP CONSTRAINT reminders_appointment_id_fkey;
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_patient_id_fkey;
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_appointment_id_fkey;
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_reminder_id_fkey;
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_fallback_of_fkey;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_notification_id_fkey;
ALTER TABLE delivery_events   DROP CONSTRAINT delivery_events_notification_id_fkey;
ALTER TABLE broadcasts        DROP CONSTRAINT broadcasts_segment_id_fkey;
ALTER TABLE consent_log       DROP CONSTRAINT consent_log_patient_id_fkey;
ALTER TABLE tickets           DROP CONSTRAINT tickets_patient_id_fkey;
ALTER TABLE ticket_messages   DROP CONSTRAINT ticket_messages_ticket_id_fkey;
ALTER TABLE inbound_messages  DROP CONSTRAINT inbound_messages_patient_id_fkey;

-- 2. Primary keys lead with clinic_id.
ALTER TABLE patients           DROP CONSTRAINT patients_pkey,           ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE patient_communication_preferences
  DROP CONSTRAINT patient_communication_preferences_pkey, ADD PRIMARY KEY (clinic_id, patient_id);
ALTER TABLE appointments       DROP CONSTRAINT appointments_pkey,       ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE reminders          DROP CONSTRAINT reminders_pkey,          ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_pkey, ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE delivery_attempts  DROP CONSTRAINT delivery_attempts_pkey,  ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE delivery_events    DROP CONSTRAINT delivery_events_pkey,    ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE templates          DROP CONSTRAINT templates_pkey,          ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE patient_segments   DROP CONSTRAINT patient_segments_pkey,   ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE broadcasts         DROP CONSTRAINT broadcasts_pkey,         ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE events             DROP CONSTRAINT events_pkey,             ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE consent_log        DROP CONSTRAINT consent_log_pkey,        ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE tickets            DROP CONSTRAINT tickets_pkey,            ADD PRIMARY KEY (clinic_id, id);
ALTER TABLE ticket_messages    DROP CONSTRAINT ticket_messages_pkey,    ADD PRIMARY KEY (clinic_id, id);

-- 3. References go through the clinic. MATCH SIMPLE (the default): a NULL
-- reference (a message about no visit) is not checked, as before.
ALTER TABLE patient_communication_preferences ADD FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id);
ALTER TABLE appointments       ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);
ALTER TABLE reminders          ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);
ALTER TABLE reminders          ADD FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id);
ALTER TABLE notification_queue ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);
ALTER TABLE notification_queue ADD FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id);
ALTER TABLE notification_queue ADD FOREIGN KEY (clinic_id, reminder_id)    REFERENCES reminders (clinic_id, id);
ALTER TABLE notification_queue ADD FOREIGN KEY (clinic_id, fallback_of)    REFERENCES notification_queue (clinic_id, id);
ALTER TABLE notification_queue ADD FOREIGN KEY (clinic_id, broadcast_id)   REFERENCES broadcasts (clinic_id, id);
ALTER TABLE delivery_attempts  ADD FOREIGN KEY (clinic_id, notification_id) REFERENCES notification_queue (clinic_id, id);
ALTER TABLE delivery_events    ADD FOREIGN KEY (clinic_id, notification_id) REFERENCES notification_queue (clinic_id, id);
ALTER TABLE broadcasts         ADD FOREIGN KEY (clinic_id, segment_id)     REFERENCES patient_segments (clinic_id, id);
ALTER TABLE consent_log        ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);
ALTER TABLE tickets            ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);
ALTER TABLE ticket_messages    ADD FOREIGN KEY (clinic_id, ticket_id)      REFERENCES tickets (clinic_id, id);
ALTER TABLE inbound_messages   ADD FOREIGN KEY (clinic_id, patient_id)     REFERENCES patients (clinic_id, id);

-- 4. Reads by id alone (see above), and the composite references' child
-- sides that no index led with before.
CREATE INDEX patients_id ON patients (id);
CREATE INDEX appointments_id ON appointments (id);
CREATE INDEX reminders_id ON reminders (id);
CREATE INDEX nq_id ON notification_queue (id);
CREATE INDEX tickets_id ON tickets (id);
CREATE INDEX events_id ON events (id);
