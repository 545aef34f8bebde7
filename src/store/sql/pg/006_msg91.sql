-- 006: MSG91 for Indian clinics. Every SMS there must use a DLT-registered
-- template: a clinic maps each nudge template (per language) to its
-- template id and names which nudge variable fills each of its variables.
-- A notification keeps just those values, as the flow request needs them.

CREATE TABLE msg91_templates (
  clinic_id   BIGINT NOT NULL REFERENCES clinics(id),
  template    TEXT NOT NULL,
  language    TEXT NOT NULL,
  template_id TEXT NOT NULL,
  params      TEXT NOT NULL,
  PRIMARY KEY (clinic_id, template, language)
);

ALTER TABLE notification_queue ADD COLUMN msg91_flow TEXT;
