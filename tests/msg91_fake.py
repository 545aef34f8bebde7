#!/usr/bin/python3
"""msg91_fake.py: a fake of MSG91's flow API (DLT-registered SMS in India)
for nudge's tests.

It checks each send as MSG91 documents it, answers in MSG91's style, can be
told to fail, and POSTs delivery reports back to nudge. Python 3.11
standard library (and fake_common.py beside it).

  /usr/bin/python3 tests/msg91_fake.py --port 0 --authkey KEY \
      [--dir D] [--keep N] [--verbose]

Listens on 127.0.0.1 only; --port 0 picks a free port. Prints "READY <port>"
once listening and stops on SIGTERM or SIGINT. --dir D appends every
recorded request to D/requests.jsonl and every report sent to
D/callbacks.jsonl. --keep N keeps only the last N records in memory.

Sending: POST /api/v5/flow (also /api/v5/flow/)
-----------------------------------------------
Every answer is JSON {"type": "success" | "error", "message": "..."}.
Checked in this order:
  the path is /api/v5/flow[/]     else 404 {"type":"error","message":"Not Found"}
  header authkey is --authkey     else 401 {"type":"error",
                                   "message":"Authentication failure"}
  POST                            else 405 "Method Not Allowed"
  Content-Type application/json (parameters allowed)
                                  else 400 "Content-Type must be application/json"
  a JSON object                   else 400 "Invalid JSON"
  template_id a non-empty string  else 400 "template_id is required" (the
                                   legacy flow_id is not accepted in its place)
  short_url, if present, "0" or "1" (strings)
                                  else 400 "short_url must be \\"0\\" or \\"1\\""
  recipients a non-empty list of objects
                                  else 400 "recipients is required"
  each recipient's mobiles: one number, digits with the country code, no
    '+', no comma list: ^[1-9][0-9]{9,14}$, and for 91 exactly 91 + 10
    digits starting 6-9           else 400 "Invalid mobile number: ..."
  each other member of a recipient is a template variable (VAR1 ... or any
    name): a string (numbers are refused) of at most 30 characters (code
    points, so a Hindi value counts its characters, not bytes)
                                  else 400 "Variable VAR1 exceeds 30 characters"
                                  (or "... must be a string")
  with control "templates" set: template_id known, else 400 "Invalid
    template_id"; each recipient carries exactly the template's variables,
    else 400 "Variable mismatch for template ...: missing VAR2" / "unexpected ..."
Other top-level members (sender, short_url_expiry, realTimeResponse, ...)
are accepted and listed under "unknown".
200 answers {"type":"success","message":"<request id: 24 lowercase hex>"}.
MSG91 may also answer HTTP 200 with {"type":"error",...}: nudge should
read "type", not only the status (an answer {"status": 200, "type":
"error"} proves it does).

Test control (JSON in and out, never recorded as requests)
----------------------------------------------------------
POST /_control  {"next": [answer, ...]}, {"append": [...]}, {"default":
                answer | null}: each request on the flow path consumes one
                answer, an object of:
                  "status": n        HTTP status (400 unless given when code,
                                     type or message is)
                  "code": "..."      added to the body as "code" (a string)
                  "type": "error"    the body's type (default "error")
                  "message": "..."   the body's message (default for the
                                     status: 401 Authentication failure, 429
                                     Too Many Requests, 500 Internal Server
                                     Error, 502 Bad Gateway, 503 Service
                                     Unavailable, else Bad Request)
                  "retry_after": n   adds a Retry-After header
                  "delay_ms": n      waits first; alone, then answers normally
                  "drop": true | "rst"  closes (or resets) without answering
                  "reports": [...]   alone: accept normally, send these
                                     reports for this request only
                  "repeat": n        this answer serves n requests
                The request is still checked and recorded.
                Report settings:
                {"report_url": "http://127.0.0.1:PORT/webhooks/msg91/status"}
                  or null: where reports go (loopback only); none while null.
                {"shared_secret": "S"} or null: the X-MSG91-Secret header
                  sent with each report (null: no header).
                {"secret_in": "header" | "query"}: "query" puts the secret
                  in the URL instead, as ?secret=S (appended with & when
                  the URL has a query), and sends no header.
                {"reports": ["delivered"]}: after each accepted request, for
                  each recipient, POST one report per entry, in order, from
                  a background thread after the answer went out. An entry is
                  a name: "delivered" (status "1", desc "DELIVERED"),
                  "failed" ("2", "FAILED"), "ndnc" ("9", "NDNC"), "rejected"
                  ("16", "REJECTED"), "blocked" ("17", "BLOCKED"),
                  "rejected25" ("25", "REJECTED"), or an object {"status":
                  "2", "desc": "FAILED", "failureReason": "..."}. Default [].
                {"report_delay_ms": n}: a pause before each report.
                {"templates": {"<template_id>": ["VAR1", "VAR2"]}} or null
                  (default: any template_id, any variables).
                Answers the control state.
GET  /_control  the control state.
GET  /_requests the records, oldest first (?since=N). Each: n, time,
                method, path, query, headers (names lowercased), auth
                {present, ok}, content_type, raw, json (or null), unknown,
                valid, error {message, reason} or null, injected, status
                (null when dropped), dropped, response, request_id,
                template_id, recipients [{"mobiles", "vars": {...}}],
                reports (what was queued for it).
GET  /_callbacks (also /_webhooks) the reports sent: n, time, kind
                "report", url (as requested, with the query secret if any),
                request_id, number, report (status code), payload (the exact
                body), secret (the header sent, or null), status (nudge's
                answer) or null, content_type, body, error.
GET  /_stats    {"requests", "accepted", "rejected", "dropped", "by_status",
                 "callbacks_sent", "callbacks_pending"}
POST /_reset    back to the state at start.
POST /_report   {"request_id": "...", "number": "919812345678", "report":
                "delivered" | {...} (or "reports": [...]), "url"?,
                "shared_secret"?, "secret_in"?, "date"?}: sends now, in order,
                and answers {"results": [{"status", "body", "content_type",
                "payload", "secret", "error"}]} (out of order, duplicates,
                unknown ids: as given).
GET  /_health   200 "ok".

Reports, byte for byte
----------------------
MSG91's real delivery-report webhooks come in several versions (v2 form
field data=<JSON text>, v3 JSON object, v4, and the customisable "Webhook
(New)"), and MSG91 signs none of them. The fake sends one format, shaped
like MSG91's v3 (one JSON object per number and status):
  POST <report_url>
  Content-Type: application/json
  User-Agent: msg91-webhook
  X-MSG91-Secret: <shared_secret>      (unless null, or secret_in "query")
  {"date":"2025-01-31 14:05:09","number":"919812345678","senderId":"NUDGEC",
   "requestId":"<the request id the send answered>","credit":"1",
   "userId":"100001","campaignName":"API","status":"1","desc":"DELIVERED"}
  and, for any status but "1", also "failureReason":"<text>" after "desc".
Compact JSON (no spaces), UTF-8, keys in that order. date is India time
(UTC+05:30) without a zone; senderId is the send's "sender" member, else
"NUDGEC"; status and desc as in the table above. nudge matches a report to
its message by requestId and number (a request to several recipients
shares one requestId).
"""
import sys

sys.dont_write_bytecode = True

import argparse  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_common as fc  # noqa: E402

FLOW_PATH = re.compile(r"^/api/v5/flow/?$")
MOBILE = re.compile(r"^[1-9][0-9]{9,14}$")
INDIA = re.compile(r"^91[6-9][0-9]{9}$")
TOP_KEYS = {"template_id", "short_url", "recipients"}
MAX_VAR = 30
IST = timezone(timedelta(hours=5, minutes=30))

REPORTS = {
    "delivered": ("1", "DELIVERED", None),
    "failed": ("2", "FAILED", "Absent subscriber"),
    "ndnc": ("9", "NDNC", "Number in NDNC registry"),
    "rejected": ("16", "REJECTED", "Rejected by operator"),
    "blocked": ("17", "BLOCKED", "Blocked number"),
    "rejected25": ("25", "REJECTED", "DLT template mismatch"),
}
STATUS_MESSAGE = {401: "Authentication failure", 404: "Not Found", 405: "Method Not Allowed",
                  429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable"}


def report_fields(entry):
    """(status, desc, failureReason or None) for a report entry."""
    if isinstance(entry, str):
        if entry not in REPORTS:
            raise ValueError("unknown report %r (one of %s, or an object)"
                             % (entry, ", ".join(REPORTS)))
        return REPORTS[entry]
    if isinstance(entry, dict) and entry.get("status") is not None:
        st = str(entry["status"])
        desc = entry.get("desc") or {"1": "DELIVERED", "2": "FAILED"}.get(st, "FAILED")
        reason = entry.get("failureReason")
        if reason is None and st != "1":
            reason = "Failed"
        return st, desc, reason
    raise ValueError("a report is a name or an object with status")


class Invalid(Exception):
    def __init__(self, message, reason):
        super().__init__(message)
        self.message, self.reason = message, reason


def validate(body, templates):
    """Raises Invalid; returns (recipients [{mobiles, vars}], unknown)."""
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON", "json")
    tid = body.get("template_id")
    if not isinstance(tid, str) or not tid.strip():
        raise Invalid("template_id is required", "template_id")
    if "short_url" in body and body["short_url"] not in ("0", "1"):
        raise Invalid("short_url must be \"0\" or \"1\"", "short_url")
    recips = body.get("recipients")
    if not isinstance(recips, list) or not recips or not all(isinstance(r, dict)
                                                              for r in recips):
        raise Invalid("recipients is required", "recipients")
    want = None
    if templates is not None:
        if tid not in templates:
            raise Invalid("Invalid template_id", "template_id")
        want = set(templates[tid] or [])
    out = []
    for i, r in enumerate(recips):
        mob = r.get("mobiles")
        if not isinstance(mob, str) or not MOBILE.match(mob) or (
                mob.startswith("91") and not INDIA.match(mob)):
            raise Invalid("Invalid mobile number: %s" % (mob,), "recipients[%d].mobiles" % i)
        vars_ = {k: v for k, v in r.items() if k != "mobiles"}
        for k, v in vars_.items():
            if not isinstance(v, str):
                raise Invalid("Variable %s must be a string" % k, "recipients[%d].%s" % (i, k))
            if len(v) > MAX_VAR:
                raise Invalid("Variable %s exceeds %d characters" % (k, MAX_VAR),
                              "recipients[%d].%s" % (i, k))
        if want is not None:
            missing = sorted(want - set(vars_))
            extra = sorted(set(vars_) - want)
            if missing or extra:
                raise Invalid("Variable mismatch for template %s: %s %s" % (
                    tid, "missing" if missing else "unexpected", (missing or extra)[0]),
                    "recipients[%d]" % i)
        out.append({"mobiles": mob, "vars": vars_})
    return out, sorted(k for k in body if k not in TOP_KEYS)


class MState(fc.State):
    def accepted(self, rec):
        return rec["status"] == 200 and (rec.get("response") or {}).get("type") == "success"

    def reset_extra(self):
        self.report_url = None
        self.shared_secret = None
        self.secret_in = "header"
        self.reports = []
        self.report_delay_ms = 0
        self.templates = None

    def control_extra(self):
        return {"report_url": self.report_url, "shared_secret": self.shared_secret,
                "secret_in": self.secret_in, "reports": self.reports,
                "report_delay_ms": self.report_delay_ms, "templates": self.templates}

    def apply_control(self, req):
        if "report_url" in req:
            self.report_url = req["report_url"]
        if "shared_secret" in req:
            if req["shared_secret"] is not None and not isinstance(req["shared_secret"], str):
                return "shared_secret: a string or null"
            self.shared_secret = req["shared_secret"]
        if "secret_in" in req:
            if req["secret_in"] not in ("header", "query"):
                return "secret_in: header or query"
            self.secret_in = req["secret_in"]
        if "reports" in req:
            try:
                for e in req["reports"] or []:
                    report_fields(e)
            except (ValueError, TypeError) as e:
                return "reports: %s" % e
            self.reports = list(req["reports"] or [])
        if "report_delay_ms" in req:
            self.report_delay_ms = float(req["report_delay_ms"] or 0)
        if "templates" in req:
            t = req["templates"]
            if t is not None and not (isinstance(t, dict) and all(
                    isinstance(v, list) for v in t.values())):
                return "templates: {template_id: [variable names]} or null"
            self.templates = t
        return None


def send_report(state, url, request_id, number, entry, sender, secret, secret_in,
                date=None):
    st, desc, reason = report_fields(entry)
    body = {"date": date or datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S"),
            "number": number, "senderId": sender or "NUDGEC", "requestId": request_id,
            "credit": "1", "userId": "100001", "campaignName": "API", "status": st,
            "desc": desc}
    if st != "1":
        body["failureReason"] = reason or ""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "msg91-webhook",
               "Accept": "*/*"}
    target = url
    sent_secret = None
    if secret is not None:
        if secret_in == "query":
            target = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(
                {"secret": secret})
        else:
            headers["X-MSG91-Secret"] = secret
            sent_secret = secret
    rec = {"time": time.time(), "kind": "report", "url": target, "request_id": request_id,
           "number": number, "report": st, "payload": data.decode("utf-8"),
           "secret": sent_secret}
    rec.update(fc.http_send("POST", target, data, headers))
    state.record_callback(rec)
    return rec


class Handler(fc.Handler):
    name = "msg91_fake"

    def api(self, url, raw):
        state = self.server.state
        args = state.args
        rec = self.base_record(url, raw)
        rec.update({"auth": None, "request_id": None, "template_id": None,
                    "recipients": [], "reports": None})
        is_flow = bool(FLOW_PATH.match(url.path))
        key = self.headers.get("authkey")
        auth = {"present": key is not None,
                "ok": key is not None and hmac.compare_digest(key.encode(),
                                                              args.authkey.encode())}
        rec["auth"] = auth
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = None
        if ctype == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
                rec["json"] = body
            except (ValueError, UnicodeDecodeError):
                body = None
        if isinstance(body, dict) and isinstance(body.get("template_id"), str):
            rec["template_id"] = body["template_id"]

        status, resp, reason, hdrs, recips = None, None, None, {}, []
        if not is_flow:
            status, reason = 404, "path"
        elif not auth["ok"]:
            status, reason = 401, "auth"
        elif self.command != "POST":
            status, reason = 405, "method"
            hdrs["Allow"] = "POST"
        elif ctype != "application/json":
            status, reason = 400, "content-type"
            resp = {"type": "error", "message": "Content-Type must be application/json"}
        elif body is None:
            status, reason = 400, "json"
            resp = {"type": "error", "message": "Invalid JSON"}
        else:
            with state.lock:
                templates = json.loads(json.dumps(state.templates))
            try:
                recips, rec["unknown"] = validate(body, templates)
            except Invalid as e:
                status, reason = 400, e.reason
                resp = {"type": "error", "message": e.message}
        if status is not None and resp is None:
            resp = {"type": "error", "message": STATUS_MESSAGE[status]}
        valid = status is None
        rec["valid"] = valid
        if not valid:
            rec["error"] = {"message": resp["message"], "reason": reason}

        inj = state.take_answer() if is_flow else None
        percall = None
        if inj:
            rec["injected"] = inj
            if self.injected_wait_or_drop(inj, rec):
                return
            if any(k in inj for k in ("status", "code", "type", "message")):
                st = int(inj.get("status") or 400)
                resp = {"type": inj.get("type", "error"),
                        "message": inj.get("message") or STATUS_MESSAGE.get(st, "Bad Request")}
                if inj.get("code") is not None:
                    resp["code"] = str(inj["code"])
                status, valid, hdrs = st, False, {}
            elif "reports" in inj:
                percall = list(inj["reports"] or [])
            if inj.get("retry_after") is not None:
                hdrs["Retry-After"] = str(inj["retry_after"])

        job = None
        if valid:
            rid = secrets.token_hex(12)
            status, resp = 200, {"type": "success", "message": rid}
            rec["request_id"] = rid
            rec["recipients"] = recips
            with state.lock:
                reports = percall if percall is not None else list(state.reports)
                cfg = {"url": state.report_url, "secret": state.shared_secret,
                       "secret_in": state.secret_in, "delay": state.report_delay_ms}
            rec["reports"] = reports
            sender = body.get("sender") if isinstance(body.get("sender"), str) else None
            if reports and cfg["url"]:
                job = self.report_job(rid, [r["mobiles"] for r in recips], reports, sender, cfg)
        rec["status"] = status
        rec["response"] = resp
        state.record(rec)
        self.answer(status, resp, hdrs)
        if job:
            state.enqueue(job)

    def report_job(self, rid, numbers, reports, sender, cfg):
        state = self.server.state

        def run(alive):
            for number in numbers:
                for entry in reports:
                    if cfg["delay"]:
                        time.sleep(cfg["delay"] / 1000.0)
                    if not alive():
                        return
                    send_report(state, cfg["url"], rid, number, entry, sender, cfg["secret"],
                                cfg["secret_in"])
        return run

    def extra(self, url, method, req):
        if url.path != "/_report" or method != "POST":
            return False
        state = self.server.state
        if not isinstance(req, dict) or not req.get("request_id") or not req.get("number"):
            self.answer(400, {"error": "request_id and number are required"})
            return True
        entries = req.get("reports", [req.get("report", "delivered")])
        try:
            for e in entries:
                report_fields(e)
        except (ValueError, TypeError) as e:
            self.answer(400, {"error": str(e)})
            return True
        with state.lock:
            url_ = req.get("url") or state.report_url
            secret = req["shared_secret"] if "shared_secret" in req else state.shared_secret
            secret_in = req.get("secret_in") or state.secret_in
        if not url_:
            self.answer(400, {"error": "no report_url (set it by /_control or give url)"})
            return True
        results = []
        for e in entries:
            r = send_report(state, url_, str(req["request_id"]), str(req["number"]), e,
                            req.get("sender"), secret, secret_in, req.get("date"))
            results.append({k: r.get(k) for k in ("status", "body", "content_type", "payload",
                                                  "secret", "error")})
        self.answer(200, {"results": results})
        return True


def main():
    ap = argparse.ArgumentParser(description="fake of MSG91's flow API")
    fc.add_common_args(ap)
    ap.add_argument("--authkey", required=True)
    args = ap.parse_args()
    fc.serve(args, Handler, MState(args))


if __name__ == "__main__":
    main()
