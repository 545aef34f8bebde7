-- 001: the foundation schema. Every tenant row carries clinic_id; times are
-- INTEGER seconds UTC; statuses are TEXT with CHECK constraints so a bug
-- cannot write a state the code does not know.

CREATE TABLE clinics (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL,
  timezone         TEXT NOT NULL,
  country          TEXT NOT NULL,
  language         TEXT NOT NULL DEFAULT 'en',
  phone            TEXT,
  email            TEXT,
  address          TEXT,
  quiet_start      INTEGER NOT NULL DEFAULT 1260,
  quiet_end        INTEGER NOT NULL DEFAULT 480,
  reminder_offsets TEXT NOT NULL DEFAULT '1440,120',
  followup_after   INTEGER NOT NULL DEFAULT 1440,
  max_retries      INTEGER NOT NULL DEFAULT 3,
  rate_per_minute  INTEGER NOT NULL DEFAULT 20,
  default_channel  TEXT NOT NULL DEFAULT 'sms' CHECK (default_channel IN ('sms','whatsapp','email')),
  created_at       INTEGER NOT NULL
);

CREATE TABLE patients (
  id             INTEGER PRIMARY KEY,
  clinic_id      INTEGER NOT NULL REFERENCES clinics(id),
  name           TEXT NOT NULL,
  email          TEXT,
  phone          TEXT,
  language       TEXT NOT NULL,
  timezone       TEXT,
  date_of_birth  TEXT,
  gender         TEXT,
  tags           TEXT,
  loyalty_points INTEGER NOT NULL DEFAULT 0,
  last_visit     INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX patients_clinic ON patients (clinic_id, id);
CREATE INDEX patients_phone ON patients (clinic_id, phone);

-- The seed's preferences: channel and time, and consent per category and
-- per channel. Checked when a message is about to leave.
CREATE TABLE patient_communication_preferences (
  patient_id          INTEGER PRIMARY KEY REFERENCES patients(id),
  clinic_id           INTEGER NOT NULL REFERENCES clinics(id),
  preferred_channel   TEXT CHECK (preferred_channel IN ('sms','whatsapp','email')),
  preferred_time      INTEGER,
  opt_out_reminders   INTEGER NOT NULL DEFAULT 0,
  opt_out_broadcasts  INTEGER NOT NULL DEFAULT 0,
  opt_out_health_tips INTEGER NOT NULL DEFAULT 0,
  opt_out_marketing   INTEGER NOT NULL DEFAULT 0,
  opt_out_sms         INTEGER NOT NULL DEFAULT 0,
  opt_out_whatsapp    INTEGER NOT NULL DEFAULT 0,
  opt_out_email       INTEGER NOT NULL DEFAULT 0,
  updated_at          INTEGER NOT NULL
);

CREATE TABLE appointments (
  id           INTEGER PRIMARY KEY,
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  patient_id   INTEGER NOT NULL REFERENCES patients(id),
  service      TEXT NOT NULL,
  provider     TEXT,
  notes        TEXT,
  start_at     INTEGER NOT NULL,
  duration_min INTEGER NOT NULL,
  status       TEXT NOT NULL DEFAULT 'scheduled'
               CHECK (status IN ('scheduled','confirmed','completed','cancelled','no-show','rescheduled')),
  version      INTEGER NOT NULL DEFAULT 1,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX appointments_clinic ON appointments (clinic_id, start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);

-- Plans: "tell this patient about this appointment at due_at". The
-- scheduler turns due plans into notifications; a plan that comes due after
-- expires_at (the visit has begun) expires instead.
CREATE TABLE reminders (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  patient_id      INTEGER NOT NULL REFERENCES patients(id),
  appointment_id  INTEGER REFERENCES appointments(id),
  kind            TEXT NOT NULL CHECK (kind IN ('confirmation','reminder','follow_up','no_show')),
  template        TEXT NOT NULL,
  offset_min      INTEGER,
  due_at          INTEGER NOT NULL,
  expires_at      INTEGER,
  status          TEXT NOT NULL DEFAULT 'planned'
                  CHECK (status IN ('planned','enqueued','cancelled','expired','failed')),
  notification_id INTEGER,
  note            TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX reminders_due ON reminders (status, due_at);
CREATE INDEX reminders_appointment ON reminders (appointment_id);

-- Deliveries. Priority 3 urgent .. 0 low. dedupe_key makes enqueue safe to
-- retry. lease_until guards a row while a worker sends it; an expired lease
-- puts it back to pending.
CREATE TABLE notification_queue (
  id             INTEGER PRIMARY KEY,
  clinic_id      INTEGER NOT NULL REFERENCES clinics(id),
  patient_id     INTEGER REFERENCES patients(id),
  appointment_id INTEGER REFERENCES appointments(id),
  reminder_id    INTEGER REFERENCES reminders(id),
  broadcast_id   INTEGER,
  channel        TEXT NOT NULL CHECK (channel IN ('sms','whatsapp','email')),
  recipient      TEXT NOT NULL,
  template       TEXT NOT NULL,
  language       TEXT NOT NULL,
  category       TEXT NOT NULL,
  subject        TEXT,
  body           TEXT NOT NULL,
  html           TEXT,
  segments       INTEGER,
  priority       INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3),
  status         TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending','sending','sent','delivered','read','failed','cancelled')),
  due_at         INTEGER NOT NULL,
  expires_at     INTEGER,
  dedupe_key     TEXT,
  attempts       INTEGER NOT NULL DEFAULT 0,
  max_retries    INTEGER NOT NULL DEFAULT 3,
  lease_until    INTEGER,
  lease_owner    TEXT,
  provider_id    TEXT,
  last_error     TEXT,
  sent_at        INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (clinic_id, dedupe_key)
);
CREATE INDEX nq_claim ON notification_queue (status, priority DESC, due_at);
CREATE INDEX nq_clinic ON notification_queue (clinic_id, id);
CREATE INDEX nq_appointment ON notification_queue (appointment_id);

-- One row per send attempt: the attempt history, and the sliding window the
-- per-channel rate limit counts (shared by every worker through the store).
CREATE TABLE delivery_attempts (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  notification_id INTEGER NOT NULL REFERENCES notification_queue(id),
  channel         TEXT NOT NULL,
  transport       TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  outcome         TEXT NOT NULL CHECK (outcome IN ('sent','transient','permanent','config','lease_expired')),
  provider_id     TEXT,
  detail          TEXT
);
CREATE INDEX da_rate ON delivery_attempts (clinic_id, channel, started_at);
CREATE INDEX da_notification ON delivery_attempts (notification_id);

CREATE TABLE templates (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  name       TEXT NOT NULL,
  language   TEXT NOT NULL,
  category   TEXT NOT NULL,
  sms        TEXT NOT NULL,
  whatsapp   TEXT,
  subject    TEXT NOT NULL,
  text       TEXT NOT NULL,
  html       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (clinic_id, name, language)
);

CREATE TABLE broadcasts (
  id           INTEGER PRIMARY KEY,
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  name         TEXT NOT NULL,
  template     TEXT NOT NULL,
  segment_id   INTEGER REFERENCES patient_segments(id),
  category     TEXT NOT NULL DEFAULT 'broadcasts',
  status       TEXT NOT NULL DEFAULT 'draft'
               CHECK (status IN ('draft','scheduled','sending','sent','cancelled')),
  scheduled_at INTEGER,
  total        INTEGER NOT NULL DEFAULT 0,
  sent_count   INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE patient_segments (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  name       TEXT NOT NULL,
  filter     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (clinic_id, name)
);

-- Transactional outbox: written in the same transaction as the change it
-- describes; the workflow engine consumes it.
CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  type         TEXT NOT NULL,
  subject_id   INTEGER,
  payload      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  processed_at INTEGER
);
CREATE INDEX events_unprocessed ON events (processed_at, id);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  entity     TEXT NOT NULL,
  entity_id  INTEGER,
  detail     TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX audit_clinic ON audit_log (clinic_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
