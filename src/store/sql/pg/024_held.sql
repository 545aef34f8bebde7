-- 024: a paused broadcast's messages are "held" (sqlite/024 says why),
-- instead of pending with a due time in the year 9999.
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_status_check;
ALTER TABLE notification_queue ADD CONSTRAINT notification_queue_status_check
  CHECK (status IN ('pending','sending','sent','delivered','read','failed','cancelled','held'));
UPDATE notification_queue SET status = 'held'
 WHERE status = 'pending' AND broadcast_id IS NOT NULL AND due_at = 253402300799;
-- The clinic's grace for scheduled broadcasts (sqlite/024 says why).
ALTER TABLE clinic_plans ADD COLUMN grace BIGINT NOT NULL DEFAULT 7200;
