-- 034: the expiry sweep (queue_reap, each second of the clock: pending
-- messages past their expires_at, a reminder whose visit has begun, are
-- cancelled, never sent late) read every pending row through nq_claim to
-- find the few expired: 94 ms a second with 20,000 queued. This index
-- holds only pending rows that can expire, in expiry order, so the sweep
-- reads the expired ones alone (its statement in queue.c writes status =
-- 'pending' as a literal, so the planner can match the predicate). A row
-- joins it at enqueue when it has an expiry (reminders do) and leaves it
-- when claimed; the columns it reads were already in an index or a
-- predicate, so it makes no update HOT that was not. (docs/INDEXES.md.)
CREATE INDEX nq_expiry ON notification_queue (expires_at)
    WHERE status = 'pending' AND expires_at IS NOT NULL;
