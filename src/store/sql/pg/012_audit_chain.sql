-- 012: the audit log as hash chains, one per clinic (rows about no clinic
-- form chain 0), so a row edited or deleted by hand, triggers bypassed, is
-- found by `nudge audit verify` (src/audit.c computes and checks them):
--   hash = SHA-256(prev_hash || the row's canonical fields), hex;
--   chain_seq = the row's place in its chain, from 1, so a deleted row
--   leaves a gap.
-- Rows written before this migration keep NULL in all three: SQL cannot
-- compute SHA-256 on both engines, and the table refuses UPDATE. The first
-- row chained after the upgrade seals them as one block instead (its
-- prev_hash is the chain over them, in id order), so an edit among them is
-- still detected, though not named to the row.
-- The unique index makes two writers that both read the same head (a bug:
-- audit.c reads it under a lock) a conflict rather than a fork. NULLs are
-- distinct in a unique index on both engines, so the unchained rows pass.
-- The same text on both engines but for BIGINT (PostgreSQL).
ALTER TABLE audit_log ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_chain ON audit_log (COALESCE(clinic_id, 0), chain_seq);
