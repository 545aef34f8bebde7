-- 016: the hand-off of a leased row to its provider (issue 11, defect 7).
-- handed_at is set, in a commit of its own, just before the send starts:
-- a row in 'sending' without it was never handed to a provider, so when
-- its worker dies it goes back to 'pending' at once with no attempt
-- counted; one with it may have reached the patient, so its resend is
-- recorded as a retry (a delivery attempt with outcome lease_expired).
-- Cleared whenever the row leaves 'sending'.
ALTER TABLE notification_queue ADD COLUMN handed_at INTEGER;
