-- 022: the rest of issue 9's reminders (sqlite/022 says what each is for):
-- a clinic's "until review" cap and its reminder channels, a patient's
-- reminder channels, and the birthday scan's index on month and day.
ALTER TABLE clinics ADD COLUMN review_max_days BIGINT NOT NULL DEFAULT 90;
ALTER TABLE clinics ADD COLUMN reminder_channels TEXT;
ALTER TABLE patient_communication_preferences ADD COLUMN reminder_channels TEXT;
CREATE INDEX patients_birthday ON patients ((substr(date_of_birth, 6)), id);
