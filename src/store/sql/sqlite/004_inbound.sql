-- 004: what patients send us. Consent changes keep the inbound message as
-- proof; anything that is not a keyword opens or extends a support ticket.

CREATE TABLE consent_log (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  patient_id  INTEGER NOT NULL REFERENCES patients(id),
  channel     TEXT NOT NULL,
  action      TEXT NOT NULL CHECK (action IN ('stop','start')),
  message     TEXT NOT NULL,
  provider_id TEXT,
  at          INTEGER NOT NULL
);
CREATE INDEX consent_patient ON consent_log (patient_id, id);

CREATE TABLE tickets (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  patient_id INTEGER REFERENCES patients(id),
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','answered','closed')),
  subject    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX tickets_open ON tickets (clinic_id, patient_id, status);

CREATE TABLE ticket_messages (
  id          INTEGER PRIMARY KEY,
  ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  direction   TEXT NOT NULL CHECK (direction IN ('in','out')),
  channel     TEXT NOT NULL,
  body        TEXT NOT NULL,
  provider_id TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

-- Every message a patient sends, with what nudge did about it; the
-- provider's id makes handling a retried webhook a no-op.
CREATE TABLE inbound_messages (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER REFERENCES clinics(id),
  patient_id  INTEGER REFERENCES patients(id),
  channel     TEXT NOT NULL,
  from_number TEXT NOT NULL,
  body        TEXT NOT NULL,
  provider_id TEXT UNIQUE,
  action      TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
