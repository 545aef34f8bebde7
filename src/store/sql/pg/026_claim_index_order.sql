-- 026: the claim takes one clinic's and channel's due rows in the order
-- priority DESC, due_at, id. nq_claim_group had priority ascending, so the
-- planner walked nq_claim (status, priority DESC, due_at) instead, which
-- holds every clinic's pending rows: a claim read other clinics' rows to
-- skip them. nq_claim_order has priority descending: the claim is one range
-- of it in its own order, and nq_claim_group goes. nq_claim stays: the
-- claim's first step (the most urgent due rows of every clinic, LIMIT the
-- batch; on PostgreSQL the whole claim) reads it in its order, and without
-- it that step sorts every due row (docs/INDEXES.md has the plans). The new
-- index comes first: dropping and recreating one name in a transaction made
-- a second process migrating at once fail "database is locked"
-- (test_store's concurrent migrations, under ASan's timing).
CREATE INDEX nq_claim_order ON notification_queue (status, clinic_id, channel, priority DESC, due_at);
DROP INDEX nq_claim_group;
