-- 009 (PostgreSQL twin of sqlite/009; BIGINT for times): what the workers
-- sharing one database share, kept in it rather than in a process.
-- periodic_runs: a periodic job (reaping leases, the WhatsApp fallback
-- scan) claims its occurrence by inserting (job, slot); the primary key
-- lets exactly one worker win it. Old slots are pruned by the winner.
CREATE TABLE periodic_runs (
    job TEXT NOT NULL,
    slot BIGINT NOT NULL,
    worker TEXT NOT NULL,
    ran_at BIGINT NOT NULL,
    PRIMARY KEY (job, slot)
);

-- channel_rests: a transport whose credentials the provider refused rests
-- until `rest_until`, for every worker alike.
CREATE TABLE channel_rests (
    transport TEXT PRIMARY KEY,
    rest_until BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
