-- 002: what the HTTP API needs: API keys (only a hash is kept), versions
-- for ETag/If-Match on patients, and stored answers for Idempotency-Key.

CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY,
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  role         TEXT NOT NULL CHECK (role IN ('admin','staff','integration')),
  label        TEXT,
  prefix       TEXT NOT NULL UNIQUE,
  hash         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX api_keys_clinic ON api_keys (clinic_id, id);

ALTER TABLE patients ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- An Idempotency-Key is scoped to the clinic and the key's owner; the first
-- answer is kept with a hash of the request, so a replay returns it and a
-- different body under the same key is refused.
CREATE TABLE idempotency_keys (
  clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (clinic_id, key)
);
