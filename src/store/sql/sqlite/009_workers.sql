-- 009: what the workers sharing one database share, kept in it rather
-- than in a process (issue 14).
-- periodic_runs: a periodic job (reaping leases, the WhatsApp fallback
-- scan) claims its occurrence by inserting (job, slot); the primary key
-- lets exactly one worker win it. Old slots are pruned by the winner.
CREATE TABLE periodic_runs (
    job TEXT NOT NULL,
    slot INTEGER NOT NULL,
    worker TEXT NOT NULL,
    ran_at INTEGER NOT NULL,
    PRIMARY KEY (job, slot)
);

-- channel_rests: a transport whose credentials the provider refused rests
-- until `rest_until`, for every worker alike.
CREATE TABLE channel_rests (
    transport TEXT PRIMARY KEY,
    rest_until INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
