-- 005: WhatsApp. Outside the 24-hour customer-service window WhatsApp only
-- takes approved templates: a clinic maps each nudge template (per
-- language) to its approved one and the variables that fill it, in order.
-- A notification keeps just those values (the minimum the template needs)
-- so it can be sent either way.

CREATE TABLE whatsapp_templates (
  clinic_id   BIGINT NOT NULL REFERENCES clinics(id),
  template    TEXT NOT NULL,
  language    TEXT NOT NULL,
  wa_name     TEXT NOT NULL,
  wa_language TEXT NOT NULL,
  params      TEXT NOT NULL,
  PRIMARY KEY (clinic_id, template, language)
);

ALTER TABLE notification_queue ADD COLUMN wa_template TEXT;
-- Email: the calendar invitation sent with it (METHOD REQUEST or CANCEL).
ALTER TABLE notification_queue ADD COLUMN ics TEXT;
ALTER TABLE notification_queue ADD COLUMN ics_method TEXT;
-- A message sent again by SMS after WhatsApp failed points at the first:
-- the two are one logical message.
ALTER TABLE notification_queue ADD COLUMN fallback_of BIGINT REFERENCES notification_queue(id);
ALTER TABLE clinics ADD COLUMN whatsapp_fallback BIGINT NOT NULL DEFAULT 1;
-- The clinic's own SMS sender: an E.164 number or a Messaging Service SID.
ALTER TABLE clinics ADD COLUMN sms_sender TEXT;
-- Minutes after which a WhatsApp message still not delivered is sent by
-- SMS too; 0: only when WhatsApp fails.
ALTER TABLE clinics ADD COLUMN whatsapp_fallback_after BIGINT NOT NULL DEFAULT 0;
CREATE INDEX inbound_window ON inbound_messages (channel, from_number, received_at);
-- Queue counts and the fallback look rows up by the message they stand
-- in for; without this, counting the queue was quadratic in its size.
CREATE INDEX nq_fallback ON notification_queue (fallback_of);
