-- 013: the quick-reply buttons of a clinic's approved WhatsApp templates.
-- Outside the 24-hour window the patient answers by tapping one, and
-- WhatsApp sends back its payload: a JSON object of payload -> action
-- (confirm, cancel, reschedule), read in C; NULL when none are mapped.
-- The same text on both engines.

ALTER TABLE whatsapp_templates ADD COLUMN buttons TEXT;
