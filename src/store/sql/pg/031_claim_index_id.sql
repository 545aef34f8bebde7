-- 031: nq_claim gains id, so that one priority's due rows are read in
-- exactly the claim's order (due_at, id) and the read stops at the
-- batch's size. Without id, rows due at the same instant (a burst of
-- reminders all due at 09:00) came out of the index unordered among
-- themselves, and the plan was to fetch every due row and sort it
-- (bench/burn: 12-34 ms a claim of 100 with 20,000 due). SQLite needs no
-- change: its index entries end with the rowid, which is id.
-- (queue.c's queue_claim_pg_round; docs/INDEXES.md.)
CREATE INDEX nq_claim_id ON notification_queue (status, priority DESC, due_at, id);
DROP INDEX nq_claim;
ALTER INDEX nq_claim_id RENAME TO nq_claim;
-- nq_clinic (clinic_id, id) is, since 011 made the primary key
-- (clinic_id, id), the primary key's index again: an entry more on every
-- insert and every update that is not HOT, for no plan the key's index
-- does not give. SQLite's key is id alone, so its nq_clinic stays.
DROP INDEX nq_clinic;
