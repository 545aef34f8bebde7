-- 018: support tickets as the dental document's SupportTicket (subject,
-- description, status, priority, assignee, a thread), each clinic's FAQ
-- that answers what it can, and the loyalty ledger with its rules.
--
-- tickets' status CHECK grows (open, in_progress, resolved, closed,
-- escalated; 'answered' becomes in_progress). SQLite cannot alter a CHECK,
-- so tickets is rebuilt with the same ids, as 014 rebuilt reminders:
-- ticket_messages references it, so its references are deferred to the
-- commit, by which time every id is back.
PRAGMA defer_foreign_keys = ON;

-- A clinic's FAQ. Shipped entries carry the name they were seeded under
-- (seed), so seeding again adds nothing; the clinic's own have none.
CREATE TABLE faq_entries (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  question   TEXT NOT NULL,
  answer     TEXT NOT NULL,
  keywords   TEXT NOT NULL DEFAULT '',
  language   TEXT NOT NULL DEFAULT 'en',
  seed       TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX faq_clinic ON faq_entries (clinic_id, language, id);
CREATE UNIQUE INDEX faq_seeded ON faq_entries (clinic_id, seed, language) WHERE seed IS NOT NULL;

-- The engine's part of the FAQ search: faq.c asks one portable query,
--   SELECT s.rowid, s.rank FROM faq_search(?) AS s ...
-- with quoted words joined by OR ('"park"* OR "car"*'). Here faq_search is
-- an FTS5 index over faq_entries (external content, kept by triggers) and
-- rank is BM25 (bm25(), lower is better) weighing the question and the
-- keywords four times the answer; PostgreSQL's 018 defines a function of
-- the same name and shape. Marks (M*) are word characters, so a Hindi
-- word is not cut at its vowel signs.
CREATE VIRTUAL TABLE faq_search USING fts5(
  question, keywords, answer,
  content = 'faq_entries', content_rowid = 'id',
  tokenize = "unicode61 categories 'L* N* Co M*'"
);
INSERT INTO faq_search (faq_search, rank) VALUES ('rank', 'bm25(4.0, 4.0, 1.0)');
CREATE TRIGGER faq_search_ai AFTER INSERT ON faq_entries BEGIN
  INSERT INTO faq_search (rowid, question, keywords, answer)
  VALUES (new.id, new.question, new.keywords, new.answer);
END;
CREATE TRIGGER faq_search_ad AFTER DELETE ON faq_entries BEGIN
  INSERT INTO faq_search (faq_search, rowid, question, keywords, answer)
  VALUES ('delete', old.id, old.question, old.keywords, old.answer);
END;
CREATE TRIGGER faq_search_au AFTER UPDATE ON faq_entries BEGIN
  INSERT INTO faq_search (faq_search, rowid, question, keywords, answer)
  VALUES ('delete', old.id, old.question, old.keywords, old.answer);
  INSERT INTO faq_search (rowid, question, keywords, answer)
  VALUES (new.id, new.question, new.keywords, new.answer);
END;

-- Per clinic: the confidence (percent of the message's words an entry
-- matches) at or above which the FAQ answers on its own.
CREATE TABLE faq_settings (
  clinic_id  INTEGER PRIMARY KEY REFERENCES clinics(id),
  threshold  INTEGER NOT NULL CHECK (threshold BETWEEN 0 AND 100),
  updated_at INTEGER NOT NULL
);

CREATE TABLE tickets_017 AS SELECT * FROM tickets;
DROP TABLE tickets;
CREATE TABLE tickets (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  patient_id  INTEGER REFERENCES patients(id),
  status      TEXT NOT NULL DEFAULT 'open'
              CHECK (status IN ('open','in_progress','resolved','closed','escalated')),
  subject     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  priority    TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
  assigned_to TEXT,
  source      TEXT NOT NULL DEFAULT 'patient' CHECK (source IN ('patient','staff','api')),
  faq_id      INTEGER REFERENCES faq_entries(id),
  confidence  INTEGER,
  resolved_at INTEGER,
  closed_at   INTEGER
);
INSERT INTO tickets (id, clinic_id, patient_id, status, subject, created_at, updated_at)
  SELECT id, clinic_id, patient_id, CASE status WHEN 'answered' THEN 'in_progress' ELSE status END,
         subject, created_at, updated_at FROM tickets_017;
DROP TABLE tickets_017;
CREATE INDEX tickets_open ON tickets (clinic_id, patient_id, status);
CREATE INDEX tickets_clinic ON tickets (clinic_id, status, id);

-- The thread: who wrote a staff reply, the message that carried an answer
-- to the patient, and the FAQ entry an automatic answer came from.
ALTER TABLE ticket_messages ADD COLUMN author TEXT;
ALTER TABLE ticket_messages ADD COLUMN notification_id INTEGER;
ALTER TABLE ticket_messages ADD COLUMN faq_id INTEGER REFERENCES faq_entries(id);

-- Loyalty: a ledger, the balance its sum. A visit's or a referral's points
-- are given once (loyalty_once); manual entries and redemptions any number
-- of times.
CREATE TABLE loyalty_ledger (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  points     INTEGER NOT NULL CHECK (points <> 0),
  reason     TEXT NOT NULL,
  ref_kind   TEXT NOT NULL CHECK (ref_kind IN ('visit','manual','redemption','referral')),
  ref_id     INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX loyalty_patient ON loyalty_ledger (clinic_id, patient_id, id);
CREATE UNIQUE INDEX loyalty_once ON loyalty_ledger (clinic_id, patient_id, ref_kind, ref_id, reason)
  WHERE ref_kind IN ('visit','referral');

-- A clinic's rules: points per completed visit, per service type (on top
-- of the visit's), for a referral. service is '' but for kind 'service'.
CREATE TABLE loyalty_rules (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  kind       TEXT NOT NULL CHECK (kind IN ('visit','service','referral')),
  service    TEXT NOT NULL DEFAULT '',
  points     INTEGER NOT NULL CHECK (points > 0),
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX loyalty_rule_one ON loyalty_rules (clinic_id, kind, service);
