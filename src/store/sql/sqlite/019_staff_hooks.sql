-- 019: staff notifications (src/staff.c) and outgoing webhooks (src/hook.c),
-- issue 10 items 6 and 7.
-- staff_members: a clinic's people and where they hear from nudge: an email, a
-- phone (SMS), a chat room's incoming-webhook URL; any of them may be
-- NULL. alerts / digest: whether they get immediate alerts and the daily
-- digest.
CREATE TABLE staff_members (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  name       TEXT NOT NULL,
  role       TEXT NOT NULL DEFAULT '',
  email      TEXT,
  phone      TEXT,
  chat_url   TEXT,
  alerts     INTEGER NOT NULL DEFAULT 1,
  digest     INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE INDEX staff_members_clinic ON staff_members (clinic_id, id);

-- staff_digests: the local time (minutes after midnight, in the clinic's
-- zone) of a clinic's daily digest, and the last local date it went for:
-- the conditional update of last_day is what makes it once a day across
-- workers.
CREATE TABLE staff_digests (
  clinic_id INTEGER PRIMARY KEY REFERENCES clinics(id),
  at_minute INTEGER NOT NULL CHECK (at_minute >= 0 AND at_minute < 1440),
  last_day  TEXT
);

-- hook_subscriptions: a URL a clinic subscribed to event types (stored as
-- ",a,b," so a LIKE can narrow a scan; "*" all). The secret signs each
-- delivery (HMAC-SHA256); it is shown once at creation, never logged.
CREATE TABLE hook_subscriptions (
  id         INTEGER PRIMARY KEY,
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  url        TEXT NOT NULL,
  event_types TEXT NOT NULL,
  secret     TEXT NOT NULL,
  active     INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE INDEX hook_subscriptions_clinic ON hook_subscriptions (clinic_id, id);

-- hook_deliveries: everything nudge posts or sends that is not a message
-- to a patient: an event to a subscription (target 'webhook'), and a staff
-- member's alert or digest ('email', 'sms', 'chat'). Durable and retried
-- like the queue, apart from it: the queue's policies (opt-outs, quiet
-- hours, fallbacks, patients' statistics) are a patient's. One row per
-- (subscription, event): the scan of events may meet an event twice and
-- inserts it once. next_try is also the lease: a claim moves it ahead, so
-- a worker that dies leaves the row due again.
CREATE TABLE hook_deliveries (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
  subscription_id INTEGER REFERENCES hook_subscriptions(id) ON DELETE CASCADE,
  staff_id        INTEGER REFERENCES staff_members(id) ON DELETE CASCADE,
  event_id        INTEGER,
  event_type      TEXT NOT NULL,
  target          TEXT NOT NULL CHECK (target IN ('webhook','email','sms','chat')),
  recipient       TEXT NOT NULL,
  subject         TEXT,
  body            TEXT NOT NULL,
  dedupe_key      TEXT,
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending','delivered','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL,
  next_try        INTEGER NOT NULL,
  lease_owner     TEXT,
  last_status     INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (clinic_id, subscription_id, event_id),
  UNIQUE (clinic_id, dedupe_key)
);
CREATE INDEX hook_deliveries_due ON hook_deliveries (status, next_try);
CREATE INDEX hook_deliveries_sub ON hook_deliveries (clinic_id, subscription_id, id);

-- hook_attempts: every try of a delivery, with its HTTP status (0: none,
-- the transfer failed below HTTP or the target is not HTTP) and error.
CREATE TABLE hook_attempts (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL,
  delivery_id INTEGER NOT NULL REFERENCES hook_deliveries(id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  http_status INTEGER NOT NULL DEFAULT 0,
  outcome     TEXT NOT NULL CHECK (outcome IN ('delivered','retry','failed')),
  error       TEXT
);
CREATE INDEX hook_attempts_delivery ON hook_attempts (clinic_id, delivery_id, id);

-- hook_scan: how far the scan of events has come (one row). A scan reads
-- from scanned_to minus a look-back window (hook.c says why). No row
-- until the first scan: a migrated store stays empty for migrate-store.
CREATE TABLE hook_scan (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  scanned_to INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);
