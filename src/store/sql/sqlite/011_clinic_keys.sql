-- 011: on PostgreSQL this rekeys every tenant table by (clinic_id, id) and
-- turns references between them into composite foreign keys, so that the
-- schema can be sharded by clinic (pg/011 says which tables and why).
-- SQLite is one file on one machine and never shards; rebuilding every
-- table to change its rowid key would buy nothing there. The migration
-- exists so both engines share one list of schema versions, which
-- `nudge migrate-store` and `nudge version` compare.
SELECT 1;
