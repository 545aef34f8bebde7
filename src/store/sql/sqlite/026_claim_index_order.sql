-- 026: the claim takes one clinic's and channel's due rows in the order
-- priority DESC, due_at, id. nq_claim_group had priority ascending, so the
-- planner walked nq_claim (status, priority DESC, due_at) instead, which
-- holds every clinic's pending rows: a claim read other clinics' rows to
-- skip them. With priority descending here, the claim is one range of this
-- index in its own order, and every other query nq_claim served filters on
-- status alone, which this index leads with: nq_claim goes, one index fewer
-- for every enqueue to write (docs/INDEXES.md has the plans).
DROP INDEX nq_claim_group;
CREATE INDEX nq_claim_group ON notification_queue (status, clinic_id, channel, priority DESC, due_at);
DROP INDEX nq_claim;
