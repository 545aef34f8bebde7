"""bench/api/app.py: the FastAPI + uvicorn peer of nudge's API (issue 16).

The three routes `make bench` loads with wrk, doing the work nudge does
for them on a SQLite file of the same shape:

  GET  /v1/notifications/{id}   the API key checked (SHA-256 of the bearer
                                token looked up), the row, its attempts and
                                delivery events (three reads)
  GET  /v1/notifications?limit  a page of rows by id, 50 here
  POST /v1/notifications        key checked, body validated (pydantic),
                                patient and template read, body rendered,
                                one row inserted and committed (WAL,
                                synchronous=FULL: durable when answered),
                                201 with the row

Run as the clinics' documents deploy it: 2 workers, uvloop, httptools, no
access log. Handlers are plain functions (FastAPI runs them in its thread
pool), each thread with its own connection, as a sync SQLite app is
written. `python3 app.py seed DB N_PATIENTS KEY` makes the file.
"""
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from typing import Optional

DB = os.environ.get("BENCH_API_DB", "bench-api.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (hash TEXT PRIMARY KEY, clinic_id INTEGER NOT NULL,
    role TEXT NOT NULL, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS patients (id INTEGER PRIMARY KEY, clinic_id INTEGER NOT NULL,
    name TEXT NOT NULL, phone TEXT NOT NULL, language TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (clinic_id INTEGER NOT NULL, name TEXT NOT NULL,
    language TEXT NOT NULL, sms TEXT NOT NULL, PRIMARY KEY (clinic_id, name, language));
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, clinic_id INTEGER NOT NULL,
    patient_id INTEGER NOT NULL, template TEXT NOT NULL, channel TEXT NOT NULL,
    priority TEXT NOT NULL, status TEXT NOT NULL, due_at TEXT NOT NULL, body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, dedupe_key TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_clinic ON notifications (clinic_id, id);
CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL,
    started_at TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_n ON attempts (notification_id);
CREATE TABLE IF NOT EXISTS delivery_events (id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS delivery_events_n ON delivery_events (notification_id);
"""

SMS = ("Hi {name}, your prescription is ready for collection at Bench Clinic. "
       "Reply STOP to opt out.")


def connect():
    c = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
    c.row_factory = sqlite3.Row
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("PRAGMA busy_timeout=5000")
    return c


def seed(patients, key):
    c = connect()
    c.executescript(SCHEMA)
    c.execute("BEGIN")
    c.execute("INSERT INTO api_keys VALUES (?, 1, 'staff', NULL)",
              (hashlib.sha256(key.encode()).hexdigest(),))
    c.executemany("INSERT INTO patients VALUES (?, 1, ?, ?, 'en')",
                  [(i, f"Patient {i:06d}", f"+9198{i:08d}") for i in range(1, patients + 1)])
    c.execute("INSERT INTO templates VALUES (1, 'prescription_ready', 'en', ?)", (SMS,))
    c.execute("COMMIT")


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "seed":
    DB = sys.argv[2]
    seed(int(sys.argv[3]), sys.argv[4])
    sys.exit(0)

from fastapi import FastAPI, Header, HTTPException, Query  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

app = FastAPI()
local = threading.local()


def db():
    c = getattr(local, "c", None)
    if c is None:
        c = local.c = connect()
    return c


def clinic_of(authorization: Optional[str]):
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing key")
    h = hashlib.sha256(authorization[7:].encode()).hexdigest()
    r = db().execute("SELECT clinic_id FROM api_keys WHERE hash = ? AND revoked_at IS NULL",
                     (h,)).fetchone()
    if not r:
        raise HTTPException(401, "unknown key")
    return r[0]


def row(r):
    return {k: r[k] for k in r.keys()}


class Send(BaseModel):
    patient_id: int = Field(gt=0)
    template: str = Field(min_length=1, max_length=64)
    channel: str = Field(regex="^(sms|whatsapp|email)$")
    priority: str = Field("normal", regex="^(high|normal|low)$")
    due_at: Optional[str] = None
    dedupe_key: Optional[str] = None


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@app.get("/v1/notifications/{nid}")
def get_one(nid: int, authorization: Optional[str] = Header(None)):
    clinic = clinic_of(authorization)
    c = db()
    r = c.execute("SELECT * FROM notifications WHERE clinic_id = ? AND id = ?",
                  (clinic, nid)).fetchone()
    if not r:
        raise HTTPException(404, "no such notification")
    out = row(r)
    out["attempts"] = [row(a) for a in c.execute(
        "SELECT * FROM attempts WHERE notification_id = ? ORDER BY id", (nid,))]
    out["delivery_events"] = [row(a) for a in c.execute(
        "SELECT * FROM delivery_events WHERE notification_id = ? ORDER BY id", (nid,))]
    return out


@app.get("/v1/notifications")
def list_page(limit: int = Query(50, ge=1, le=200), after: int = Query(0, ge=0),
              authorization: Optional[str] = Header(None)):
    clinic = clinic_of(authorization)
    items = [row(r) for r in db().execute(
        "SELECT * FROM notifications WHERE clinic_id = ? AND id > ? ORDER BY id LIMIT ?",
        (clinic, after, limit))]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@app.post("/v1/notifications", status_code=201)
def create(s: Send, authorization: Optional[str] = Header(None)):
    clinic = clinic_of(authorization)
    c = db()
    p = c.execute("SELECT name, language FROM patients WHERE clinic_id = ? AND id = ?",
                  (clinic, s.patient_id)).fetchone()
    if not p:
        raise HTTPException(400, "patient_id: no such patient")
    t = c.execute("SELECT sms FROM templates WHERE clinic_id = ? AND name = ? AND language = ?",
                  (clinic, s.template, p["language"])).fetchone()
    if not t:
        raise HTTPException(400, "template: no such template")
    stamp = now()
    c.execute("BEGIN IMMEDIATE")
    try:
        r = c.execute(
            "INSERT INTO notifications (clinic_id, patient_id, template, channel, priority, "
            "status, due_at, body, dedupe_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING *",
            (clinic, s.patient_id, s.template, s.channel, s.priority, s.due_at or stamp,
             t["sms"].format(name=p["name"]), s.dedupe_key, stamp, stamp)).fetchone()
        out = row(r)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return JSONResponse(out, status_code=201,
                        headers={"Location": f"/v1/notifications/{out['id']}"})


if __name__ == "__main__":
    print(json.dumps({"usage": "uvicorn app:app, or app.py seed DB PATIENTS KEY"}))
