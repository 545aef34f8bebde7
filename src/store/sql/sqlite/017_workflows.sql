-- 017: the workflow engine (src/workflow.c, issue 10 items 1-3).
-- workflows: a clinic's own definitions, every saved version kept (the
-- highest is in force); the built-ins live in the binary
-- (src/workflow_builtin.json) and a clinic's definition of the same name
-- replaces its built-in for that clinic.
CREATE TABLE workflows (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL,
  definition  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (clinic_id, name, version)
);

-- workflow_runs: one row per (workflow, event), made when the event is
-- consumed, which the unique key makes once whoever consumes it. The
-- definition is copied in, so a change saved mid-run does not shift its
-- steps. next_step, status and steps (the results so far, a JSON array)
-- move in the transaction of each step with the step's own writes.
-- resume_at: when the run may go on (a wait step puts it ahead); a worker
-- holds a run by lease (lease_owner, lease_until).
CREATE TABLE workflow_runs (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
  workflow    TEXT NOT NULL,
  version     INTEGER NOT NULL,
  event_id    INTEGER NOT NULL REFERENCES events(id),
  event_type  TEXT NOT NULL,
  subject_id  INTEGER,
  definition  TEXT NOT NULL,
  status      TEXT NOT NULL
              CHECK (status IN ('running','waiting','succeeded','partly_failed','failed')),
  next_step   INTEGER NOT NULL DEFAULT 0,
  resume_at   INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  steps       TEXT NOT NULL DEFAULT '[]',
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  duration_s  INTEGER,
  UNIQUE (clinic_id, workflow, event_id)
);
CREATE INDEX workflow_runs_due ON workflow_runs (status, resume_at);
CREATE INDEX workflow_runs_event ON workflow_runs (clinic_id, event_id);
CREATE INDEX workflow_runs_started ON workflow_runs (clinic_id, started_at);

-- Events written before the engine existed are history, not work: the
-- engine would otherwise plan again what booking already planned.
UPDATE events SET processed_at = created_at WHERE processed_at IS NULL;
