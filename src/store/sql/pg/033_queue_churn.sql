-- 033: fewer index entries for each version of a queued row. A row is
-- written four times on its way out (enqueue, claim, hand-off, record),
-- and every version PostgreSQL cannot write as a heap-only tuple (HOT)
-- adds an entry to every index whose predicate it meets: before this,
-- five of them (the dedupe key's, the primary key, nq_id, nq_claim_order,
-- nq_claim) for the claim, the hand-off and the record alike, and in
-- bench/burn index insertion was over a quarter of the server's CPU.
--
-- The dedupe key's unique index holds only rows that have a key: most
-- rows have none, and NULLs never conflict. queue.c's ON CONFLICT names
-- the same predicate (WHERE dedupe_key IS NOT NULL), which is what lets
-- PostgreSQL infer a partial index as the arbiter.
CREATE UNIQUE INDEX nq_dedupe ON notification_queue (clinic_id, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
ALTER TABLE notification_queue DROP CONSTRAINT notification_queue_clinic_id_dedupe_key_key;
-- nq_claim serves one statement, the claim's read of due pending rows
-- (queue_sql_claim_pg, status = 'pending' written as a literal so the
-- planner can match the predicate); a row leaving `pending` no longer
-- adds an entry to it, and the rows sent long ago are not in it at all.
-- nq_claim_order stays whole: the budgets read `sending`, the listings
-- every status.
CREATE INDEX nq_claim_pending ON notification_queue (priority DESC, due_at, id)
    WHERE status = 'pending';
DROP INDEX nq_claim;
ALTER INDEX nq_claim_pending RENAME TO nq_claim;
-- Room on each page for a row's next version: the hand-off changes only
-- handed_at, in no index, so with room on the page it is written as a
-- HOT update with no index entry at all (bench/burn, 20,000 rows: HOT
-- updates 2.5k -> 15.7k at 50). 70 leaves room for one version of a
-- typical row; it applies to pages written from now on.
ALTER TABLE notification_queue SET (fillfactor = 70);
