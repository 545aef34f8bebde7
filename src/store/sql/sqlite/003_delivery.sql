-- 003: delivery tracking. Every provider callback about a message is kept
-- as an event under its notification, and notifications are found by the
-- provider's id for them.

CREATE INDEX nq_provider ON notification_queue (provider_id);

CREATE TABLE delivery_events (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  notification_id INTEGER NOT NULL REFERENCES notification_queue(id),
  provider        TEXT NOT NULL,
  status          TEXT NOT NULL,
  error_code      TEXT,
  applied         INTEGER NOT NULL,
  received_at     INTEGER NOT NULL
);
CREATE INDEX de_notification ON delivery_events (notification_id, id);

-- A report can outrun the send's own record (the provider calls back
-- before the worker has stored the provider's id): it waits here and is
-- applied when the send is recorded.
CREATE TABLE delivery_orphans (
  id          INTEGER PRIMARY KEY,
  provider    TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  status      TEXT NOT NULL,
  error_code  TEXT,
  received_at INTEGER NOT NULL
);
CREATE INDEX delivery_orphans_id ON delivery_orphans (provider_id);
