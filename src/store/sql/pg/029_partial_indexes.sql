-- 029: a single enqueue wrote seven index entries, three of them NULL
-- keys: appointment_id (a send that is not about a visit), provider_id
-- (set only once a provider has taken the message) and fallback_of (only
-- a WhatsApp fallback has one). Every query on these columns asks for a
-- value (`= ?`, or `IS NOT NULL`: docs/INDEXES.md has the plans), which
-- a partial index WHERE the column IS NOT NULL answers, so a row enters
-- each index only once it has that value. The new indexes come before
-- the old ones go (026's lesson: a second process migrating at once).
CREATE INDEX nq_appointment_set ON notification_queue (appointment_id) WHERE appointment_id IS NOT NULL;
CREATE INDEX nq_provider_set ON notification_queue (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX nq_fallback_set ON notification_queue (fallback_of) WHERE fallback_of IS NOT NULL;
DROP INDEX nq_appointment;
DROP INDEX nq_provider;
DROP INDEX nq_fallback;
