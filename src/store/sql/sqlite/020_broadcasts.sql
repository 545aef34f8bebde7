-- 020: segments, broadcasts and who each broadcast reached (src/segment.c,
-- src/broadcast.c). 001's two tables were never written; they are made
-- anew with what sending needs.
--
-- patient_segments: saved criteria (JSON, read in C by segment.c's
-- criteria table) and the count of their last evaluation.
-- broadcasts: a notice (to listed patients), a tip or a campaign (to a
-- segment's criteria, copied when created so a later edit of the segment
-- does not change a broadcast under way). variants is a JSON array of the
-- messages (text per language or a template, a weight each). fan_cursor is the
-- last patient id the fan-out has recorded; counters move in the same
-- transaction as the recipients' rows they count.
-- broadcast_recipients: one row per (broadcast, patient), written in the
-- batch's transaction with the queued message, so a resumed or crashed
-- fan-out neither skips nor sends twice (the unique key refuses a second).
DROP TABLE broadcasts;
DROP TABLE patient_segments;

CREATE TABLE patient_segments (
  id            INTEGER PRIMARY KEY,
  clinic_id     INTEGER NOT NULL REFERENCES clinics(id),
  name          TEXT NOT NULL,
  criteria      TEXT NOT NULL,
  patient_count INTEGER,
  evaluated_at  INTEGER,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (clinic_id, name)
);

CREATE TABLE broadcasts (
  id           INTEGER PRIMARY KEY,
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  kind         TEXT NOT NULL CHECK (kind IN ('notice','tip','campaign')),
  name         TEXT NOT NULL,
  category     TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'draft'
               CHECK (status IN ('draft','scheduled','sending','paused','completed','cancelled','stale')),
  segment_id   INTEGER REFERENCES patient_segments(id),
  audience     TEXT NOT NULL CHECK (audience IN ('list','segment')),
  criteria     TEXT,
  variants     TEXT NOT NULL,
  channel      TEXT,
  scheduled_at INTEGER,
  grace        INTEGER NOT NULL DEFAULT 7200,
  book_days    INTEGER NOT NULL DEFAULT 7,
  seed         INTEGER NOT NULL,
  fan_cursor   INTEGER NOT NULL DEFAULT 0,
  total        INTEGER NOT NULL DEFAULT 0,
  queued       INTEGER NOT NULL DEFAULT 0,
  skipped      INTEGER NOT NULL DEFAULT 0,
  started_at   INTEGER,
  completed_at INTEGER,
  note         TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX broadcasts_due ON broadcasts (status, scheduled_at);
CREATE INDEX broadcasts_clinic ON broadcasts (clinic_id, id);

CREATE TABLE broadcast_recipients (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  broadcast_id    INTEGER NOT NULL REFERENCES broadcasts(id),
  patient_id      INTEGER NOT NULL REFERENCES patients(id),
  variant         TEXT,
  outcome         TEXT NOT NULL CHECK (outcome IN ('pending','queued','skipped','cancelled')),
  reason          TEXT,
  notification_id INTEGER,
  at              INTEGER NOT NULL,
  UNIQUE (clinic_id, broadcast_id, patient_id)
);
CREATE INDEX broadcast_recipients_outcome ON broadcast_recipients (clinic_id, broadcast_id, outcome, patient_id);
