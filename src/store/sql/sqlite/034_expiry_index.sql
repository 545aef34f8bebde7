-- 034: the expiry sweep (queue_reap, each second of the clock: pending
-- messages past their expires_at, a reminder whose visit has begun, are
-- cancelled, never sent late) read every pending row through nq_claim
-- (status = ?) to find the few expired: 22-36 ms a second with 50,000
-- queued, in a transaction that holds the writers' lock. This index holds
-- only pending rows that can expire, in expiry order, so the sweep reads
-- the expired ones alone. A row joins it at enqueue when it has an expiry
-- (reminders do) and leaves it when claimed. (docs/INDEXES.md.)
CREATE INDEX nq_expiry ON notification_queue (expires_at)
    WHERE status = 'pending' AND expires_at IS NOT NULL;
