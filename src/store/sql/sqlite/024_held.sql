-- 024: a paused broadcast's messages are "held" (issue 17), a status of
-- their own, instead of pending with a due time in the year 9999: the
-- claim (status = 'pending') never sees them, the counts and metrics name
-- them, and resume makes them pending again. SQLite cannot alter a CHECK
-- constraint; widening one changes no stored row, which is the case
-- SQLite's documentation (ALTER TABLE, "other kinds of table schema
-- changes") allows through writable_schema: the table's text gains the
-- value; creating and dropping a table moves the schema cookie so every
-- other connection reads the new text, and RESET makes this one read it.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''failed'',''cancelled'')',
                                       '''failed'',''cancelled'',''held'')')
 WHERE type = 'table' AND name = 'notification_queue';
CREATE TABLE schema_cookie_024 (x INTEGER);
DROP TABLE schema_cookie_024;
PRAGMA writable_schema = RESET;
PRAGMA writable_schema = OFF;
-- The replace() above changes nothing when the table's text differs from
-- the one 001 wrote (a hand-edited schema): the migration would succeed
-- and the first pause fail at run time. SQLite has no RAISE outside a
-- trigger, so a CHECK on a temporary table asserts that the new text takes
-- 'held': when it does not, the insert fails with the constraint's name as
-- the message, and the migration's transaction rolls back with nothing of
-- it applied. On a text that passes, the table is gone by the end.
CREATE TEMP TABLE migration_024_check (
  ok INTEGER CONSTRAINT "notification_queue's status CHECK does not take 'held' after 024: its text differs from the one 001_init wrote (a hand-edited schema?); add 'held' to it by hand, then migrate again"
     CHECK (ok)
);
INSERT INTO migration_024_check
SELECT EXISTS (SELECT 1 FROM sqlite_schema
                WHERE type = 'table' AND name = 'notification_queue'
                  AND instr(sql, '''held''') > 0);
DROP TABLE migration_024_check;
UPDATE notification_queue SET status = 'held'
 WHERE status = 'pending' AND broadcast_id IS NOT NULL AND due_at = 253402300799;
-- The clinic's grace (issue 17): how long past its time a scheduled
-- broadcast without a grace of its own may still start (after downtime);
-- later it waits for staff. Seconds, 2 h by default.
ALTER TABLE clinic_plans ADD COLUMN grace INTEGER NOT NULL DEFAULT 7200;
