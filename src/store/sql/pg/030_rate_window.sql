-- 030: the claim's rate budget read a count of the clinic's and channel's
-- attempts of the last minute (da_rate_outcome, 028): an index range as
-- long as the minute's sends, read on every claim, so a claim cost more
-- the faster the queue was sent (16 % of a worker's CPU draining 20,000
-- in bench/burn). rate_window keeps that count as it is made: a row per
-- clinic, channel and second with the attempts started in it that count
-- against the rate (all but lost leases), written by the batch that
-- records them; the claim sums at most 60 rows. Seconds older than two
-- minutes are deleted once a minute (the periodic job rate_window_prune).
CREATE TABLE rate_window (
  clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
  channel    TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  attempts   BIGINT NOT NULL,
  PRIMARY KEY (clinic_id, channel, started_at)
);
-- A database upgraded while it sends: the last two minutes of attempts
-- before the upgrade, as 028's count would have seen them.
INSERT INTO rate_window (clinic_id, channel, started_at, attempts)
  SELECT clinic_id, channel, started_at, COUNT(*) FROM delivery_attempts
  WHERE outcome <> 'lease_expired'
    AND started_at > (SELECT MAX(started_at) FROM delivery_attempts) - 120
  GROUP BY clinic_id, channel, started_at;
-- Nothing else reads attempts by clinic, channel and time.
DROP INDEX da_rate_outcome;
