-- 025: a clinic's channel mapping (issue 16, item 5). For a medium, the
-- name of a channel an embedder registered through the C API
-- (nudge_channel_register) that carries the clinic's messages instead of
-- the handle's transport for that medium. Only a name: the channel itself
-- lives in the embedder's process, so no configuration file can reach it.
CREATE TABLE clinic_channels (
  clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
  medium     TEXT NOT NULL CHECK (medium IN ('sms','whatsapp','email')),
  channel    TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (clinic_id, medium)
);
