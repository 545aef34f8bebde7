-- 007: the claim groups due rows by clinic and channel and counts those in
-- flight; this index answers both without touching the table (measured:
-- 160 ms to 66 ms per claim with 100,000 queued).
CREATE INDEX nq_claim_group ON notification_queue (status, clinic_id, channel, priority, due_at);
