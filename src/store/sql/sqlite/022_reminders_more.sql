-- 022: the rest of issue 9's reminders.
-- A clinic's "until review" cap (review_max_days: a course written "until
-- review" is reminded for at most so many days) and the channels every
-- reminder of the clinic goes on at once (reminder_channels: "sms,email",
-- the documents' "BOTH"; NULL: each patient's one channel). A patient may
-- ask for the same (patient_communication_preferences.reminder_channels),
-- which comes before the clinic's; a plan's own channels (a prescription's,
-- a lab order's) come before both.
ALTER TABLE clinics ADD COLUMN review_max_days INTEGER NOT NULL DEFAULT 90;
ALTER TABLE clinics ADD COLUMN reminder_channels TEXT;
ALTER TABLE patient_communication_preferences ADD COLUMN reminder_channels TEXT;
-- The birthday scan looks patients up by month and day ("12-01") across
-- clinics; without this it read every patient each hour.
CREATE INDEX patients_birthday ON patients (substr(date_of_birth, 6), id);
-- The recall, birthday and lab scans were jobs of every tick; they are
-- scheduled tasks now (task.c), made with a clinic (task_defaults). An
-- installation upgraded with clinics gets them here, and each clinic its
-- retention purge: due at once (next_run 0), their first run marked late,
-- then on their schedules (the scans hourly on the hour, the purge 03:30
-- in the clinic's zone).
INSERT INTO tasks (clinic_id, name, fn, kind, schedule, timezone, status, start_at, next_run,
                   slot, created_at, updated_at)
  SELECT 0, d.name, d.fn, 'interval', '1h', 'UTC', 'scheduled', 0, 0, 0, 0, 0
  FROM (SELECT 'recall-scan' AS name, 'recall_scan' AS fn
        UNION ALL SELECT 'birthday-scan', 'birthday_scan'
        UNION ALL SELECT 'lab-scan', 'lab_scan') d
  WHERE EXISTS (SELECT 1 FROM clinics)
    AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.clinic_id = 0 AND t.name = d.name);
INSERT INTO tasks (clinic_id, name, fn, kind, schedule, timezone, args, status, start_at,
                   next_run, slot, created_at, updated_at)
  SELECT c.id, 'retention', 'purge', 'daily', '03:30', c.timezone, '{"retention_days": 400}',
         'scheduled', 0, 0, 0, 0, 0
  FROM clinics c
  WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.clinic_id = c.id AND t.name = 'retention');

-- patient_preferences (migration 021, the opt-out flags derived from the
-- consent ledger) carries the new column too: the patient's record is read
-- through it.
DROP VIEW patient_preferences;
CREATE VIEW patient_preferences AS
  SELECT c.patient_id, c.clinic_id, c.preferred_channel, c.preferred_time, c.updated_at,
    c.reminder_channels,
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
