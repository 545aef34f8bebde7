-- 021: the consent ledger, and the plans and usage a clinic is billed by
-- (issue 17, items 4-6).
--
-- consent_ledger is the one truth about what a patient agreed to: every
-- grant and withdrawal per category ('*': every category) and channel
-- ('*': every channel), who recorded it, how, and the wording shown. The
-- state is its newest row per key. What came before it becomes views of
-- it: the opt-out flags of patient_communication_preferences (its columns
-- dropped, read through patient_preferences) and the STOP/START
-- consent_log. Their rows move into the ledger here: the log's as they
-- were, then each flag no log row explains as a withdrawal by import.
CREATE TABLE consent_ledger (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  patient_id  INTEGER NOT NULL REFERENCES patients(id),
  category    TEXT NOT NULL CHECK (category IN ('*','reminders','broadcasts','health_tips','marketing')),
  channel     TEXT NOT NULL CHECK (channel IN ('*','sms','whatsapp','email')),
  state       TEXT NOT NULL CHECK (state IN ('granted','withdrawn','cleared')),
  source      TEXT NOT NULL CHECK (source IN ('api','staff','inbound_keyword','unsubscribe_link','import')),
  actor       TEXT NOT NULL,
  wording     TEXT,
  message     TEXT,
  provider_id TEXT,
  at          INTEGER NOT NULL
);
CREATE INDEX consent_ledger_key ON consent_ledger (clinic_id, patient_id, category, channel, id);

INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            message, provider_id, at)
  SELECT clinic_id, patient_id, '*', channel,
         CASE action WHEN 'stop' THEN 'withdrawn' ELSE 'granted' END, 'inbound_keyword',
         'patient', message, provider_id, at
  FROM consent_log ORDER BY id;
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, 'reminders', '*', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_reminders = 1;
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, 'broadcasts', '*', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_broadcasts = 1;
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, 'health_tips', '*', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_health_tips = 1;
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, 'marketing', '*', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_marketing = 1;
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, '*', 'sms', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_sms = 1
    AND NOT EXISTS (SELECT 1 FROM consent_log l WHERE l.clinic_id = c.clinic_id
                    AND l.patient_id = c.patient_id AND l.channel = 'sms');
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, '*', 'whatsapp', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_whatsapp = 1
    AND NOT EXISTS (SELECT 1 FROM consent_log l WHERE l.clinic_id = c.clinic_id
                    AND l.patient_id = c.patient_id AND l.channel = 'whatsapp');
INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, state, source, actor,
                            wording, at)
  SELECT clinic_id, patient_id, '*', 'email', 'withdrawn', 'import', 'migration 021',
         'opt-out flag set before the consent ledger', updated_at
  FROM patient_communication_preferences c WHERE opt_out_email = 1
    AND NOT EXISTS (SELECT 1 FROM consent_log l WHERE l.clinic_id = c.clinic_id
                    AND l.patient_id = c.patient_id AND l.channel = 'email');
DROP TABLE consent_log;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_reminders;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_broadcasts;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_health_tips;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_marketing;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_sms;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_whatsapp;
ALTER TABLE patient_communication_preferences DROP COLUMN opt_out_email;

-- The STOP/START log as it was: the ledger's channel-wide rows that a
-- patient's keyword (or the provider's report of one) made.
CREATE VIEW consent_log AS
  SELECT id, clinic_id, patient_id, channel,
         CASE state WHEN 'withdrawn' THEN 'stop' ELSE 'start' END AS action,
         message, provider_id, at
  FROM consent_ledger WHERE category = '*' AND source = 'inbound_keyword';

-- The preferences with the opt-out flags derived: a flag is set when the
-- newest row of its category on every channel (or of its channel for
-- every category) is a withdrawal.
CREATE VIEW patient_preferences AS
  SELECT c.patient_id, c.clinic_id, c.preferred_channel, c.preferred_time, c.updated_at,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = 'reminders' AND l.channel = '*'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_reminders,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = 'broadcasts' AND l.channel = '*'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_broadcasts,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = 'health_tips' AND l.channel = '*'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_health_tips,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = 'marketing' AND l.channel = '*'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_marketing,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = '*' AND l.channel = 'sms'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_sms,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = '*' AND l.channel = 'whatsapp'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_whatsapp,
    COALESCE((SELECT CASE WHEN l.state = 'withdrawn' THEN 1 ELSE 0 END FROM consent_ledger l
              WHERE l.clinic_id = c.clinic_id AND l.patient_id = c.patient_id
                AND l.category = '*' AND l.channel = 'email'
              ORDER BY l.id DESC LIMIT 1), 0) AS opt_out_email
  FROM patient_communication_preferences c;

-- The pricing tiers a clinic may be on beyond the document's built-in
-- table (consent.c: free, essential, professional, clinic, hospital): a
-- row here replaces a built-in tier of its name or adds one. quota is
-- messages a calendar month, NULL for unlimited; overage_paise the price of
-- each message past it (every message when unlimited), NULL when there is
-- no overage and further messages wait for the next month. Empty until an
-- operator edits the table, so a new store holds no rows of its own.
CREATE TABLE usage_tiers (
  name          TEXT PRIMARY KEY,
  quota         INTEGER,
  overage_paise INTEGER
);

-- A clinic's plan and compliance settings. No row: not metered (usage is
-- still counted), reminders by opt-out, the default send window.
CREATE TABLE clinic_plans (
  clinic_id        INTEGER NOT NULL PRIMARY KEY REFERENCES clinics(id),
  tier             TEXT,
  reminders_policy TEXT NOT NULL DEFAULT 'opt_out' CHECK (reminders_policy IN ('opt_out','opt_in')),
  window_start     INTEGER NOT NULL DEFAULT 540,
  window_end       INTEGER NOT NULL DEFAULT 1260,
  reserve          INTEGER NOT NULL DEFAULT 0,
  updated_at       INTEGER NOT NULL
);

-- Messages sent per clinic, calendar month of its zone ('2026-12') and
-- channel: units count SMS segments, messages count messages. Updated in
-- the transaction that records the send.
CREATE TABLE usage_counters (
  clinic_id INTEGER NOT NULL REFERENCES clinics(id),
  month     TEXT NOT NULL,
  channel   TEXT NOT NULL,
  units     INTEGER NOT NULL DEFAULT 0,
  messages  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (clinic_id, month, channel)
);

-- The 80 % and 100 % alerts of a month, each once (its event with it).
CREATE TABLE usage_alerts (
  clinic_id INTEGER NOT NULL REFERENCES clinics(id),
  month     TEXT NOT NULL,
  threshold INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  PRIMARY KEY (clinic_id, month, threshold)
);

-- The units a message in flight holds against its clinic's quota, so
-- workers sending at once cannot together pass it.
ALTER TABLE notification_queue ADD COLUMN quota_units INTEGER NOT NULL DEFAULT 0;
