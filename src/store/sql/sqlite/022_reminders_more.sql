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
