-- 015: the durable task scheduler (src/task.c, issue 9 item 5).
-- tasks: one row per scheduled job. clinic_id 0 is the installation's own
-- (a backup, a scan over every clinic); any other value is that clinic's
-- task (its purge). No foreign key to clinics for that reason: task.c
-- checks the clinic when a task is made. `slot` is the occurrence in hand
-- (retries keep it), `next_run` when the next attempt is due; a worker
-- claims an occurrence by a conditional UPDATE of the row (status
-- 'scheduled' and the next_run it read), so one worker wins it.
CREATE TABLE tasks (
  id              INTEGER PRIMARY KEY,
  clinic_id       INTEGER NOT NULL DEFAULT 0,
  name            TEXT NOT NULL,
  fn              TEXT NOT NULL,
  kind            TEXT NOT NULL
                  CHECK (kind IN ('once','daily','weekly','monthly','interval','rrule')),
  schedule        TEXT NOT NULL,
  timezone        TEXT NOT NULL,
  args            TEXT,
  status          TEXT NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled','running','paused','failed','completed')),
  start_at        INTEGER NOT NULL,
  next_run        INTEGER,
  slot            INTEGER,
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_retries     INTEGER NOT NULL DEFAULT 3,
  backoff_seconds INTEGER NOT NULL DEFAULT 60,
  lease_owner     TEXT,
  lease_until     INTEGER,
  last_run_at     INTEGER,
  last_outcome    TEXT,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (clinic_id, name)
);
CREATE INDEX tasks_due ON tasks (status, next_run);

-- task_runs: the history, one row per attempt. (task, slot, attempt) is
-- unique: a second claim of one attempt could not record itself.
CREATE TABLE task_runs (
  id          INTEGER PRIMARY KEY,
  clinic_id   INTEGER NOT NULL,
  task_id     INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  slot        INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  duration_s  INTEGER,
  outcome     TEXT NOT NULL CHECK (outcome IN ('running','ok','failed','lost')),
  error       TEXT,
  late        INTEGER NOT NULL DEFAULT 0,
  worker      TEXT NOT NULL,
  UNIQUE (clinic_id, task_id, slot, attempt)
);
CREATE INDEX task_runs_task ON task_runs (clinic_id, task_id, id);
