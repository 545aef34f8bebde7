-- 027: the CHECK constraints of the tables every message writes name their
-- values with = and OR, not IN. SQLite builds an ephemeral b-tree for an
-- IN list of three or more values each time it checks a row: measured,
-- 1.8 us a row for one list (300,000 inserts, 1.00 s against 0.46 s),
-- and with threads far more, as freeing that b-tree's pages made glibc
-- give the heap back to the system (madvise, a TLB shootdown on every
-- core) on every insert of an enqueue and every status change of a send.
-- The constraints allow the same values, so no stored row changes: the
-- case SQLite's documentation allows through writable_schema (as 024).
-- The last statement fails the migration if a table's text was not the
-- one expected (a hand-edited schema): CHECK constraint failed:
-- migration_027_check_lists_rewritten.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'channel IN (''sms'',''whatsapp'',''email'')',
    '(channel = ''sms'' OR channel = ''whatsapp'' OR channel = ''email'')')
 WHERE type = 'table' AND name = 'notification_queue';
UPDATE sqlite_schema SET sql = replace(sql, 'status IN (''pending'',''sending'',''sent'',''delivered'',''read'',''failed'',''cancelled'',''held'')',
    '(status = ''pending'' OR status = ''sending'' OR status = ''sent'' OR status = ''delivered'' OR status = ''read'' OR status = ''failed'' OR status = ''cancelled'' OR status = ''held'')')
 WHERE type = 'table' AND name = 'notification_queue';
UPDATE sqlite_schema SET sql = replace(sql, 'outcome IN (''sent'',''transient'',''permanent'',''config'',''lease_expired'')',
    '(outcome = ''sent'' OR outcome = ''transient'' OR outcome = ''permanent'' OR outcome = ''config'' OR outcome = ''lease_expired'')')
 WHERE type = 'table' AND name = 'delivery_attempts';
UPDATE sqlite_schema SET sql = replace(sql, 'status IN (''planned'',''enqueued'',''cancelled'',''expired'',''failed'')',
    '(status = ''planned'' OR status = ''enqueued'' OR status = ''cancelled'' OR status = ''expired'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'reminders';
UPDATE sqlite_schema SET sql = replace(sql, 'outcome IN (''pending'',''queued'',''skipped'',''cancelled'')',
    '(outcome = ''pending'' OR outcome = ''queued'' OR outcome = ''skipped'' OR outcome = ''cancelled'')')
 WHERE type = 'table' AND name = 'broadcast_recipients';
UPDATE sqlite_schema SET sql = replace(sql, 'status IN (''scheduled'',''confirmed'',''completed'',''cancelled'',''no-show'',''rescheduled'')',
    '(status = ''scheduled'' OR status = ''confirmed'' OR status = ''completed'' OR status = ''cancelled'' OR status = ''no-show'' OR status = ''rescheduled'')')
 WHERE type = 'table' AND name = 'appointments';
UPDATE sqlite_schema SET sql = replace(sql, 'target IN (''webhook'',''email'',''sms'',''chat'')',
    '(target = ''webhook'' OR target = ''email'' OR target = ''sms'' OR target = ''chat'')')
 WHERE type = 'table' AND name = 'hook_deliveries';
UPDATE sqlite_schema SET sql = replace(sql, 'status IN (''pending'',''delivered'',''failed'')',
    '(status = ''pending'' OR status = ''delivered'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'hook_deliveries';
UPDATE sqlite_schema SET sql = replace(sql, 'outcome IN (''delivered'',''retry'',''failed'')',
    '(outcome = ''delivered'' OR outcome = ''retry'' OR outcome = ''failed'')')
 WHERE type = 'table' AND name = 'hook_attempts';
-- The text spans two lines here, as in the table's CREATE (014).
UPDATE sqlite_schema SET sql = replace(sql, 'kind IN (''confirmation'',''reminder'',''follow_up'',''no_show'',
                  ''medication'',''recall'',''lab_due'',''follow_up_visit'',''birthday'')',
    '(kind = ''confirmation'' OR kind = ''reminder'' OR kind = ''follow_up'' OR kind = ''no_show'' OR kind = ''medication'' OR kind = ''recall'' OR kind = ''lab_due'' OR kind = ''follow_up_visit'' OR kind = ''birthday'')')
 WHERE type = 'table' AND name = 'reminders';
CREATE TABLE schema_cookie_027 (x INTEGER);
DROP TABLE schema_cookie_027;
PRAGMA writable_schema = RESET;
PRAGMA writable_schema = OFF;
CREATE TEMP TABLE migration_027 (
  migration_027_check_lists_rewritten INTEGER CHECK (migration_027_check_lists_rewritten));
INSERT INTO migration_027 SELECT COUNT(*) = 0 FROM sqlite_schema
 WHERE type = 'table' AND name IN ('notification_queue', 'delivery_attempts', 'reminders', 'broadcast_recipients', 'appointments', 'hook_deliveries', 'hook_attempts')
   AND sql LIKE '% IN (''%';
DROP TABLE migration_027;
