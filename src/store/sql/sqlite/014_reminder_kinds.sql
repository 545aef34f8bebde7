-- 014: reminders not tied to a visit (issue 9): medication doses from a
-- prescription, and room for the other kinds. The reminders table gains
-- what such a plan is about (subject: "prescription:7"), what it carries
-- (detail: the prescription items due at that dose time) and the channels
-- it goes on; its kind CHECK grows.
-- SQLite cannot alter a CHECK, so reminders is rebuilt: copied aside,
-- dropped, made anew and filled with the same ids. notification_queue
-- references it; dropping a referenced table is an implicit DELETE that
-- would break those references, so they are deferred to the commit, by
-- which time every id is back (PRAGMA defer_foreign_keys lasts only for
-- this transaction). A new table beside reminders would have avoided the
-- rebuild but split every plan query, the planner and `reminder list` in
-- two; the rebuild happens once.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE reminders_013 AS SELECT * FROM reminders;
DROP TABLE reminders;
CREATE TABLE reminders (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  patient_id      INTEGER NOT NULL REFERENCES patients(id),
  appointment_id  INTEGER REFERENCES appointments(id),
  kind            TEXT NOT NULL CHECK (kind IN ('confirmation','reminder','follow_up','no_show',
                  'medication','recall','lab_due','follow_up_visit','birthday')),
  template        TEXT NOT NULL,
  offset_min      INTEGER,
  due_at          INTEGER NOT NULL,
  expires_at      INTEGER,
  status          TEXT NOT NULL DEFAULT 'planned'
                  CHECK (status IN ('planned','enqueued','cancelled','expired','failed')),
  notification_id INTEGER,
  note            TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  subject         TEXT,
  detail          TEXT,
  channels        TEXT,
  occurrence      TEXT
);
INSERT INTO reminders (id, clinic_id, patient_id, appointment_id, kind, template, offset_min,
                       due_at, expires_at, status, notification_id, note, created_at, updated_at)
  SELECT id, clinic_id, patient_id, appointment_id, kind, template, offset_min, due_at,
         expires_at, status, notification_id, note, created_at, updated_at FROM reminders_013;
DROP TABLE reminders_013;
CREATE INDEX reminders_due ON reminders (status, due_at);
CREATE INDEX reminders_appointment ON reminders (appointment_id);
CREATE INDEX reminders_clinic ON reminders (clinic_id, appointment_id, due_at);
-- A prescription's plans, found to cancel or re-plan them; a patient's.
CREATE INDEX reminders_subject ON reminders (clinic_id, subject, status);
CREATE INDEX reminders_patient ON reminders (clinic_id, patient_id, due_at);
-- What a periodic scan plans (a recall's second send, a birthday's year)
-- is planned once, however often the scan runs: INSERT ... ON CONFLICT DO
-- NOTHING against this index.
CREATE UNIQUE INDEX reminders_once ON reminders (clinic_id, subject, occurrence)
  WHERE occurrence IS NOT NULL;

-- A prescription: one or more medications for a patient, from a start
-- date (the patient's zone) for each item's duration.
CREATE TABLE prescriptions (
  id             INTEGER PRIMARY KEY,
  clinic_id      INTEGER NOT NULL REFERENCES clinics(id),
  patient_id     INTEGER NOT NULL REFERENCES patients(id),
  appointment_id INTEGER REFERENCES appointments(id),
  prescriber     TEXT,
  notes          TEXT,
  status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','stopped')),
  starts_on      TEXT NOT NULL,
  ends_on        TEXT NOT NULL,
  stop_reason    TEXT,
  channels       TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX prescriptions_patient ON prescriptions (clinic_id, patient_id, id);

CREATE TABLE prescription_items (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  prescription_id INTEGER NOT NULL REFERENCES prescriptions(id),
  position        INTEGER NOT NULL,
  drug_name       TEXT NOT NULL,
  dose            TEXT NOT NULL,
  frequency       TEXT NOT NULL,
  duration        TEXT NOT NULL,
  instructions    TEXT,
  times           TEXT NOT NULL,
  days            INTEGER NOT NULL
);
CREATE INDEX prescription_items_rx ON prescription_items (clinic_id, prescription_id, position);

-- Recalls (preventive care): a clinic's rules per service ("6 months
-- after a completed cleaning"), and each patient's recall made from one
-- when a visit of that service is completed. A recall is sent at next_at,
-- then again after each cadence step, until a visit is booked (booked_by:
-- resumed if that visit is cancelled), the patient opts out, or the
-- cadence runs out.
CREATE TABLE recall_rules (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  service     TEXT NOT NULL,
  after_days  INTEGER NOT NULL,
  cadence     TEXT NOT NULL DEFAULT '',
  template    TEXT NOT NULL DEFAULT 'preventive_care_annual',
  channels    TEXT,
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL
);
CREATE INDEX recall_rules_clinic ON recall_rules (clinic_id, id);

CREATE TABLE recalls (
  id             INTEGER PRIMARY KEY,
  clinic_id      INTEGER NOT NULL REFERENCES clinics(id),
  patient_id     INTEGER NOT NULL REFERENCES patients(id),
  rule_id        INTEGER NOT NULL REFERENCES recall_rules(id),
  appointment_id INTEGER REFERENCES appointments(id),
  due_on         TEXT NOT NULL,
  next_at        INTEGER NOT NULL,
  sends          INTEGER NOT NULL DEFAULT 0,
  status         TEXT NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open','booked','done','opted_out','closed')),
  booked_by      INTEGER REFERENCES appointments(id),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX recalls_due ON recalls (status, next_at);
CREATE INDEX recalls_patient ON recalls (clinic_id, patient_id, status);

-- Lab tests due on a date, reminded then and every repeat_days after
-- while not marked done ('reminded': its reminders ran out, still not done).
CREATE TABLE lab_orders (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  patient_id  INTEGER NOT NULL REFERENCES patients(id),
  test_name   TEXT NOT NULL,
  due_on      TEXT NOT NULL,
  repeat_days INTEGER NOT NULL DEFAULT 0,
  channels    TEXT,
  next_at     INTEGER NOT NULL,
  sends       INTEGER NOT NULL DEFAULT 0,
  status      TEXT NOT NULL DEFAULT 'due' CHECK (status IN ('due','reminded','done','cancelled')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX lab_orders_due ON lab_orders (status, next_at);
CREATE INDEX lab_orders_patient ON lab_orders (clinic_id, patient_id, id);
