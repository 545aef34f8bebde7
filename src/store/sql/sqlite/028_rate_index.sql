-- 028: the claim's rate budget counts a clinic's and channel's attempts of
-- the last minute that were not lost leases (outcome <> 'lease_expired').
-- da_rate did not hold outcome, so each of those attempts cost a lookup of
-- its table row: 10 ms a claim with 10,000 sends in the minute, a cost per
-- claim that grows with the rate being sent at (bench/burn). da_rate_outcome
-- holds outcome: the count is a range of the index alone (0.4 ms there).
-- It takes da_rate's place (the same queries; docs/INDEXES.md); the new
-- index comes first, as in 026.
CREATE INDEX da_rate_outcome ON delivery_attempts (clinic_id, channel, started_at, outcome);
DROP INDEX da_rate;
