#!/usr/bin/python3
"""twilio_fake.py: a fake of Twilio's Messages API for nudge's tests.

It checks each send exactly as Twilio documents it, answers like Twilio
(including its error bodies), can be told to fail, and sends signed status
callbacks (and inbound messages) back to nudge. Python 3.11 standard library.

  /usr/bin/python3 tests/twilio_fake.py --port 0 --account-sid AC... \
      --auth-token TOKEN [--dir D] [--keep N] [--verbose]
  /usr/bin/python3 tests/twilio_fake.py --sign TOKEN URL [name=value ...]
      prints X-Twilio-Signature for a POST of those (decoded) parameters to URL

Listens on 127.0.0.1 only; --port 0 picks a free port. Prints "READY <port>"
once listening and stops on SIGTERM or SIGINT. --dir D appends every recorded
request to D/requests.jsonl and every callback sent to D/callbacks.jsonl.
--keep N keeps only the last N records in memory (0, the default: all; the
counters of GET /_stats always count everything), for benchmarks.

The Messages API
----------------
POST /2010-04-01/Accounts/{AccountSid}/Messages.json, checked in this order:
  HTTP Basic auth AccountSid:AuthToken   else 401, code 20003 "Authenticate",
                                         with WWW-Authenticate: Basic
  {AccountSid} is --account-sid          else 404, code 20404
  Content-Type application/x-www-form-urlencoded (parameters allowed)
                                         else 400, code 21604: Twilio reads
                                         parameters only from a form body, so
                                         To is missing (recorded as
                                         reason "content-type")
  To present                             else 400, 21604
  To is E.164, ^\\+[1-9]\\d{7,14}$, decoded (an unencoded '+' arrives as a
    space and fails)                     else 400, 21211
  From or MessagingServiceSid present    else 400, 21603
  From is E.164, or an alphanumeric sender ID (1-11 letters, digits, spaces,
    at least one letter)                 else 400, 21212
  MessagingServiceSid ^MG[0-9a-fA-F]{32}$ else 400, 21705
  Body present and not empty (or MediaUrl / ContentSid instead)
                                         else 400, 21602
  Body at most 1600 characters (code points)
                                         else 400, 21617
  StatusCallback, if present, an absolute http(s) URL with a host (no '_' in
    the host, at most 4000 characters)   else 400, 21609
Both From and MessagingServiceSid together are accepted: Twilio documents
that From may pick a sender from the service's pool. Unknown form fields are
accepted (Twilio ignores many) and listed in the record under "unknown".
Any other path: 404 20404; another method on the Messages path: 405 20004.

201 answers the message resource as JSON: sid SM + 32 lowercase hex,
account_sid, to, from (null when only MessagingServiceSid was given),
messaging_service_sid (or null), body, status "queued", direction
"outbound-api", num_segments as a string (GSM-7 160/153 with extension
characters counting two, else UCS-2 70/67 in UTF-16 units), num_media as a
string, price null, price_unit null, error_code null, error_message null,
date_created / date_updated / date_sent in RFC 2822 ("Thu, 24 Aug 2023
05:01:45 +0000"), api_version "2010-04-01", uri, subresource_uris.

Error bodies (all {"code","message","more_info","status"}, more_info
https://www.twilio.com/docs/errors/<code>):
  20003 401 Authenticate                 20404 404 resource not found
  20004 405 Method not allowed           20429 429 Too Many Requests
  20500 500 internal server error        20503 503 Service Unavailable
  21211 400 invalid 'To'                 21212 400 invalid 'From'
  21602 400 Message body is required     21603 400 From/MessagingServiceSid required
  21604 400 'To' phone number required   21609 400 invalid StatusCallback
  21610 400 unsubscribed recipient       21612 400 'To' not reachable via this 'From'
  21614 400 'To' not a mobile number     21617 400 body exceeds 1600 characters
  21705 400 invalid Messaging Service    30007 400 message filtered (carrier)
Permanent for nudge: 21211, 21610, 21612, 21614, 21617 (and the other 4xx
validation codes); transient: 5xx, 20429/429; configuration: 20003/401.

Test control (JSON in and out, never recorded as requests)
----------------------------------------------------------
POST /_control  {"next": [answer, ...]}  replaces the queue of answers; each
                Messages request (POST on the Messages path, whatever it
                carries) consumes one. {"append": [...]} adds to it instead.
                An answer is an object of:
                  "status": n        HTTP status (body: Twilio's JSON for it:
                                     401 -> 20003, 429 -> 20429, 5xx -> 20500 /
                                     20503, 400 -> 21211)
                  "code": n          a Twilio error code; status defaults to
                                     400 (401 for 20003, 429 for 20429 ...)
                  "message": "..."   overrides the error message
                  "retry_after": n   adds a Retry-After header
                  "pad": n           alone: accept normally, with n more
                                     bytes in the answer ("_pad"), as a
                                     provider gone wrong might send
                  "delay_ms": n      waits first; alone, then answers normally
                  "drop": true       reads the request and closes the
                                     connection without answering ("rst":
                                     resets it instead)
                  "callbacks": [...] alone: accept normally, but send these
                                     callbacks for this message only
                  "repeat": n        this answer serves n requests
                The request is still validated and recorded: "valid" and
                "error" say what the fake would have answered.
                {"default": answer | null}: used whenever the queue is empty
                (a provider that is down until told otherwise).
                {"callbacks": ["sent", "delivered"]}: for every message
                accepted from then on with a StatusCallback, POST these
                statuses in order, from a background thread after the 201 went
                out, form-encoded: MessageSid, SmsSid, MessageStatus,
                SmsStatus, AccountSid, From, To, ApiVersion, MessagingServiceSid
                (if used), ErrorCode (failed and undelivered only), signed with
                X-Twilio-Signature over the StatusCallback URL exactly as
                given.
                {"callback_error_code": 30003}: ErrorCode for failed/undelivered.
                {"callback_delay_ms": n}: a pause before each callback.
                {"callback_target": "http://127.0.0.1:PORT"}: connect there
                instead of the URL's own host and port (the URL still gets
                signed, its path and query requested, its host sent as Host),
                so a public URL like https://nudge.example/... can be tested.
                null restores the default.
                {"callback_token": "..."}: sign with this token instead (to
                prove nudge rejects wrong keys); null restores.
                {"callback_signature": false}: omit the header.
                {"advanced_opt_out": true}: Advanced Opt-Out, as a Messaging
                Service with Twilio's default keywords has it: an inbound
                body that is (trimmed, any case) STOP, STOPALL, UNSUBSCRIBE,
                CANCEL, END or QUIT carries OptOutType=STOP and blocks its
                sender; START, YES or UNSTOP carries OptOutType=START and
                unblocks it; HELP or INFO carries OptOutType=HELP. A send to
                a blocked number answers 400, 21610.
                {"opted_out": ["+91..."]}: the blocked numbers (as if they
                had sent STOP to Twilio).
                Answers the resulting control state.
GET  /_control  the control state.
GET  /_requests the records, oldest first (?since=N: those with n > N). Each:
                n, time, method, path, query, headers (all, names lowercased),
                auth {present, user, ok}, content_type, raw (the body), form
                (decoded; a repeated name gives a list), unknown (names not
                in Twilio's CreateMessage), valid, error {code, message,
                reason} or null, injected (the control answer used) or null,
                status (the answer's HTTP status, null when dropped), dropped,
                sid (accepted only), response (the JSON answered).
GET  /_callbacks the status callbacks and inbound messages sent: n, kind,
                url, target, sid, params, signature, status (nudge's answer)
                or null, error, body.
GET  /_stats    {"requests", "accepted", "rejected", "dropped", "by_status",
                 "callbacks_sent", "callbacks_pending"}
POST /_reset    back to the state at start: records, counters, queue, default
                and callback settings cleared.
POST /_inbound  {"url": ..., "from": "+1...", "to": "+1...", "body": "C",
                 "messaging_service_sid": ..., "params": {extra or overriding},
                 "target": ..., "token": ..., "signature": false | "literal"}
                POSTs Twilio's signed inbound-message webhook (MessageSid,
                SmsSid, SmsMessageSid, AccountSid, From, To, Body, NumMedia
                "0", NumSegments, SmsStatus "received", ApiVersion) to url and
                answers {"status", "body", "content_type", "params",
                "signature", "error"} with nudge's answer.
GET  /_health   200 "ok".

Outgoing connections (callbacks, inbound) only ever go to loopback addresses;
anything else is recorded with an error and not sent.

Twilio's signature: the full URL as requested (scheme, host, port, path,
query), then each POST parameter sorted by name (byte order, case-sensitive),
name then value, no separators, decoded values, empty values included;
HMAC-SHA1 keyed with the auth token; base64.
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import queue
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2010-04-01"
MAX_BODY = 1 << 20

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ALNUM_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MG_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")

# The form fields of CreateMessage in twilio_api_v2010.json.
KNOWN_FIELDS = {
    "To", "StatusCallback", "ApplicationSid", "MaxPrice", "ProvideFeedback",
    "Attempt", "ValidityPeriod", "ForceDelivery", "ContentRetention",
    "AddressRetention", "SmartEncoded", "PersistentAction", "TrafficType",
    "ShortenUrls", "ScheduleType", "SendAt", "SendAsMms", "ContentVariables",
    "RiskCheck", "From", "FallbackFrom", "MessagingServiceSid", "Body",
    "MediaUrl", "ContentSid",
}

MESSAGES = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21212: "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21609: "The StatusCallback URL {cb} is not a valid URL.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from_} via SMS.",
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21705: "The Messaging Service Sid {mg} is invalid.",
    30007: "Message filtered",
}
CODE_STATUS = {20003: 401, 20004: 405, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
# Advanced Opt-Out's default keywords, by the OptOutType they give.
OPT_OUT_KEYWORDS = {"STOP": {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"},
                    "START": {"START", "YES", "UNSTOP"}, "HELP": {"HELP", "INFO"}}
STATUS_CODE = {400: 21211, 401: 20003, 404: 20404, 405: 20004, 429: 20429, 503: 20503}

# GSM 03.38: the basic set (one septet) and the extension table (two).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = set("^{}\\[~]|€\f")


def segments(body):
    """Twilio's segment count: GSM-7 160/153 (extension characters take two
    septets and are never split), else UCS-2 70/67 in UTF-16 units (surrogate
    pairs never split)."""
    if all(c in GSM_BASIC or c in GSM_EXT for c in body):
        costs, single, multi = [2 if c in GSM_EXT else 1 for c in body], 160, 153
    else:
        costs, single, multi = [2 if ord(c) > 0xFFFF else 1 for c in body], 70, 67
    if sum(costs) <= single:
        return 1
    n, used = 1, 0
    for c in costs:
        if used + c > multi:
            n, used = n + 1, 0
        used += c
    return n


def sign(token, url, params):
    """X-Twilio-Signature of a POST of params (pairs or dict, decoded) to url."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    data = url + "".join(k + v for k, v in sorted(pairs))
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def rfc2822(t=None):
    return email.utils.format_datetime(
        datetime.fromtimestamp(time.time() if t is None else t, timezone.utc))


def twilio_error(code, status=None, message=None, **fmt):
    status = status or CODE_STATUS.get(code, 400)
    if message is None:
        message = MESSAGES.get(code, "Error %d" % code)
        try:
            message = message.format(**{k: ("" if v is None else v) for k, v in fmt.items()})
        except KeyError:
            pass
    return status, {"code": code, "message": message,
                    "more_info": "https://www.twilio.com/docs/errors/%d" % code,
                    "status": status}


def is_loopback(host):
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def valid_callback_url(u):
    if len(u) > 4000:
        return False
    try:
        p = urllib.parse.urlsplit(u)
        p.port  # raises on a bad port
    except ValueError:
        return False
    return (p.scheme in ("http", "https") and bool(p.hostname)
            and "_" not in p.hostname and " " not in u)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.jsonl_lock = threading.Lock()
        self.outq = queue.Queue()
        self.reset()

    def reset(self):
        with self.lock:
            self.records = []
            self.callbacks_log = []
            self.n = 0
            self.cn = 0
            self.queue = []
            self.default = None
            self.callbacks = []
            self.cb_error_code = 30003
            self.cb_delay_ms = 0
            self.cb_target = None
            self.cb_token = None
            self.cb_signature = True
            self.advanced_opt_out = False
            self.opted_out = set()
            self.stats = {"requests": 0, "accepted": 0, "rejected": 0, "dropped": 0,
                          "by_status": {}, "callbacks_sent": 0}
            self.generation = getattr(self, "generation", 0) + 1

    def control_view(self):
        return {"next": self.queue, "default": self.default, "callbacks": self.callbacks,
                "callback_error_code": self.cb_error_code,
                "callback_delay_ms": self.cb_delay_ms, "callback_target": self.cb_target,
                "callback_token": self.cb_token, "callback_signature": self.cb_signature,
                "advanced_opt_out": self.advanced_opt_out,
                "opted_out": sorted(self.opted_out)}

    def blocked(self):
        with self.lock:
            return set(self.opted_out)

    def opt_out_type(self, sender, body):
        """Advanced Opt-Out's reading of an inbound body (None: not a
        keyword, or not enabled); STOP and START change who is blocked."""
        word = (body or "").strip().upper()
        kind = next((k for k, words in OPT_OUT_KEYWORDS.items() if word in words), None)
        with self.lock:
            if not self.advanced_opt_out or not kind:
                return None
            if kind == "STOP":
                self.opted_out.add(sender)
            elif kind == "START":
                self.opted_out.discard(sender)
        return kind

    def take_answer(self):
        with self.lock:
            if self.queue:
                a = self.queue[0]
                left = int(a.get("repeat", 1)) - 1
                if left > 0:
                    self.queue[0] = dict(a, repeat=left)
                else:
                    self.queue.pop(0)
                return a
            return self.default

    def keep(self, rec, log_name, lst):
        if self.args.keep and len(lst) >= self.args.keep:
            del lst[: len(lst) - self.args.keep + 1]
        lst.append(rec)
        if self.args.dir:
            line = json.dumps(rec, ensure_ascii=False) + "\n"
            with self.jsonl_lock:
                with open(os.path.join(self.args.dir, log_name), "a", encoding="utf-8") as f:
                    f.write(line)

    def record(self, rec):
        with self.lock:
            self.n += 1
            rec["n"] = self.n
            s = self.stats
            s["requests"] += 1
            if rec.get("dropped"):
                s["dropped"] += 1
            else:
                key = str(rec["status"])
                s["by_status"][key] = s["by_status"].get(key, 0) + 1
                s["accepted" if rec["status"] == 201 else "rejected"] += 1
            self.keep(rec, "requests.jsonl", self.records)

    def record_callback(self, rec):
        with self.lock:
            self.cn += 1
            rec["n"] = self.cn
            if rec.get("status") is not None:
                self.stats["callbacks_sent"] += 1
            self.keep(rec, "callbacks.jsonl", self.callbacks_log)


def deliver(state, url, params, token, target=None, signature=True, kind="status", sid=None,
            timeout=10):
    """POSTs params, signed, to url (connecting to target if given). Returns
    and records what happened."""
    sig = sign(token, url, params)
    rec = {"kind": kind, "url": url, "target": target, "sid": sid, "params": dict(params),
           "signature": None, "status": None, "error": None, "body": None,
           "time": time.time()}
    if signature is True:
        rec["signature"] = sig
    elif isinstance(signature, str):
        rec["signature"] = signature
    try:
        u = urllib.parse.urlsplit(url)
        t = urllib.parse.urlsplit(target) if target else u
        host, port = t.hostname, t.port or (443 if t.scheme == "https" else 80)
        if not host or not is_loopback(host):
            raise ValueError("not a loopback address: %s" % (host,))
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        if t.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        body = urllib.parse.urlencode(params).encode("utf-8")
        headers = {"Host": u.netloc, "Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "TwilioProxy/1.1", "Accept": "*/*",
                   "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        if rec["signature"] is not None:
            headers["X-Twilio-Signature"] = rec["signature"]
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            rec["status"] = resp.status
            rec["content_type"] = resp.getheader("Content-Type")
            rec["body"] = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
    except Exception as e:  # recorded for the test to see
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    state.record_callback(rec)
    return rec


def callback_worker(state):
    while True:
        job = state.outq.get()
        try:
            gen, msg, statuses, cfg = job
            for st in statuses:
                if cfg["delay_ms"]:
                    time.sleep(cfg["delay_ms"] / 1000.0)
                if gen != state.generation:
                    break  # reset since: drop the rest
                params = {"MessageSid": msg["sid"], "SmsSid": msg["sid"],
                          "MessageStatus": st, "SmsStatus": st,
                          "AccountSid": msg["account_sid"],
                          "From": msg["from"] or "+15005550006", "To": msg["to"],
                          "ApiVersion": API_VERSION}
                if msg.get("messaging_service_sid"):
                    params["MessagingServiceSid"] = msg["messaging_service_sid"]
                if st in ("failed", "undelivered"):
                    params["ErrorCode"] = str(cfg["error_code"])
                deliver(state, msg["callback"], params, cfg["token"], cfg["target"],
                        cfg["signature"], "status", msg["sid"])
        except Exception as e:
            sys.stderr.write("twilio_fake: callback worker: %s\n" % e)
        finally:
            state.outq.task_done()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "twilio_fake/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # One write per answer and no Nagle: otherwise delayed ACKs cap a
        # keep-alive connection at ~25 answers a second.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        if self.server.state.args.verbose:
            sys.stderr.write("twilio_fake: " + (fmt % a) + "\n")

    # -- plumbing -------------------------------------------------------
    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(16)
                if len(out) > MAX_BODY:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, obj=None, headers=None, text=None, ctype="application/json"):
        data = (text if text is not None else json.dumps(obj)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

    def drop(self, how):
        self.close_connection = True
        try:
            if how == "rst":
                # Linger 0 then a real close (the reader holds a reference
                # to the socket; socketserver would shut down with a FIN).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.answer(413, {"error": "body too large or unreadable"})
            return
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_"):
            self.control(url, raw)
            return
        self.api(url, raw)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    # -- the Messages API -------------------------------------------------
    def api(self, url, raw):
        state = self.server.state
        args = state.args
        rec = {"time": time.time(), "method": self.command, "path": url.path,
               "query": url.query, "headers": {k.lower(): v for k, v in self.headers.items()},
               "auth": None, "content_type": self.headers.get("Content-Type"),
               "raw": raw.decode("utf-8", "replace"), "form": {}, "unknown": [],
               "valid": False, "error": None, "injected": None, "status": None,
               "dropped": False, "sid": None, "response": None}
        m = MESSAGES_PATH.match(url.path)
        is_send = bool(m) and self.command == "POST"

        # Basic auth
        auth = {"present": False, "user": None, "ok": False}
        h = self.headers.get("Authorization") or ""
        if h[:6].lower() == "basic ":
            auth["present"] = True
            try:
                user, _, pw = base64.b64decode(h[6:].strip(), validate=True).decode(
                    "utf-8").partition(":")
                auth["user"] = user
                auth["ok"] = (hmac.compare_digest(user.encode(), args.account_sid.encode())
                              and hmac.compare_digest(pw.encode(), args.auth_token.encode()))
            except (ValueError, UnicodeDecodeError):
                pass
        rec["auth"] = auth

        # Decoded form, whatever the content type says (for the record).
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        is_form = ctype == "application/x-www-form-urlencoded"
        pairs = []
        if is_form:
            pairs = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"),
                                           keep_blank_values=True)
        form = {}
        for k, v in pairs:
            if k in form:
                form[k] = (form[k] if isinstance(form[k], list) else [form[k]]) + [v]
            else:
                form[k] = v
        rec["form"] = form
        rec["unknown"] = sorted({k for k, _ in pairs if k not in KNOWN_FIELDS})

        def one(name):
            v = form.get(name)
            return v[-1] if isinstance(v, list) else v

        # What Twilio would answer.
        status, body, reason, hdrs = None, None, None, {}
        if not auth["ok"]:
            status, body = twilio_error(20003)
            reason = "auth"
            hdrs["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        elif not m or m.group(1) != args.account_sid:
            status, body = twilio_error(
                20404, 404, "The requested resource %s was not found" % url.path)
            reason = "path"
        elif self.command != "POST":
            status, body = twilio_error(20004, 405)
            reason = "method"
            hdrs["Allow"] = "GET, POST"
        else:
            to, frm, mg = one("To"), one("From"), one("MessagingServiceSid")
            text, cb = one("Body"), one("StatusCallback")
            media = form.get("MediaUrl")
            fmt = {"to": to, "from_": frm, "mg": mg, "cb": cb}
            code = None
            if not is_form:
                code, reason = 21604, "content-type"
            elif not to:
                code, reason = 21604, "To missing"
            elif not E164.match(to):
                code, reason = 21211, "To not E.164"
            elif not frm and not mg:
                code, reason = 21603, "From and MessagingServiceSid missing"
            elif frm and not (E164.match(frm) or ALNUM_SENDER.match(frm)):
                code, reason = 21212, "From not E.164 or alphanumeric"
            elif mg is not None and not MG_SID.match(mg):
                code, reason = 21705, "MessagingServiceSid malformed"
            elif not text and not media and not one("ContentSid"):
                code, reason = 21602, "Body missing"
            elif text and len(text) > 1600:
                code, reason = 21617, "Body longer than 1600"
            elif cb is not None and not valid_callback_url(cb):
                code, reason = 21609, "StatusCallback not an absolute http(s) URL"
            elif to in state.blocked():
                code, reason = 21610, "the recipient sent STOP"
            if code:
                status, body = twilio_error(code, 400, **fmt)
            else:
                rec["valid"] = True
                now = rfc2822()
                sid = "SM" + secrets.token_hex(16)
                nmedia = len(media) if isinstance(media, list) else (1 if media else 0)
                uri = "/%s/Accounts/%s/Messages/%s" % (API_VERSION, args.account_sid, sid)
                status, body = 201, {
                    "account_sid": args.account_sid, "api_version": API_VERSION,
                    "body": text or "", "date_created": now, "date_sent": now,
                    "date_updated": now, "direction": "outbound-api", "error_code": None,
                    "error_message": None, "from": frm or None,
                    "messaging_service_sid": mg, "num_media": str(nmedia),
                    "num_segments": str(segments(text or "")), "price": None,
                    "price_unit": None, "sid": sid, "status": "queued",
                    "subresource_uris": {"media": uri + "/Media.json"},
                    "to": to, "uri": uri + ".json"}
        if status != 201:
            rec["error"] = {"code": body["code"], "message": body["message"], "reason": reason}

        # A control answer overrides (POST on the Messages path only).
        inj = state.take_answer() if is_send else None
        percall = None
        if inj:
            rec["injected"] = inj
            if inj.get("delay_ms"):
                time.sleep(float(inj["delay_ms"]) / 1000.0)
            if inj.get("drop"):
                rec["dropped"] = True
                state.record(rec)
                self.drop("rst" if inj["drop"] == "rst" else "close")
                return
            if "status" in inj or "code" in inj:
                st = inj.get("status")
                code = inj.get("code") or STATUS_CODE.get(st) or (20503 if st == 503 else
                                                               20500 if st and st >= 500
                                                               else 21211)
                fmt = {"to": one("To"), "from_": one("From"),
                       "mg": one("MessagingServiceSid"), "cb": one("StatusCallback")}
                status, body = twilio_error(code, st, inj.get("message"), **fmt)
                hdrs = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
            elif "callbacks" in inj:
                percall = list(inj["callbacks"])
            if inj.get("retry_after") is not None:
                hdrs["Retry-After"] = str(inj["retry_after"])
            if inj.get("pad") and status == 201:
                body = dict(body, _pad="x" * int(inj["pad"]))
        rec["status"] = status
        rec["response"] = body
        if status == 201:
            rec["sid"] = body["sid"]
        hdrs["Twilio-Request-Id"] = "RQ" + secrets.token_hex(16)
        state.record(rec)
        self.answer(status, body, hdrs)

        if status == 201 and one("StatusCallback"):
            with state.lock:
                statuses = percall if percall is not None else list(state.callbacks)
                cfg = {"delay_ms": state.cb_delay_ms, "error_code": state.cb_error_code,
                       "target": state.cb_target,
                       "token": state.cb_token or args.auth_token,
                       "signature": state.cb_signature}
                gen = state.generation
            if statuses:
                msg = {"sid": body["sid"], "account_sid": args.account_sid,
                       "from": body["from"], "to": body["to"],
                       "messaging_service_sid": body["messaging_service_sid"],
                       "callback": one("StatusCallback")}
                state.outq.put((gen, msg, statuses, cfg))

    # -- control ----------------------------------------------------------
    def control(self, url, raw):
        state = self.server.state
        path, method = url.path, self.command
        try:
            req = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as e:
            self.answer(400, {"error": "invalid JSON: %s" % e})
            return
        if path == "/_health":
            self.answer(200, text="ok\n", ctype="text/plain")
        elif path == "/_control" and method == "GET":
            with state.lock:
                view = json.loads(json.dumps(state.control_view()))
            self.answer(200, view)
        elif path == "/_control" and method == "POST":
            if not isinstance(req, dict):
                self.answer(400, {"error": "expected a JSON object"})
                return
            with state.lock:
                for key in ("next", "append"):
                    if key in req:
                        lst = req[key]
                        if not isinstance(lst, list) or not all(isinstance(a, dict) for a in lst):
                            self.answer(400, {"error": "%s: a list of objects" % key})
                            return
                        state.queue = (state.queue if key == "append" else []) + lst
                if "default" in req:
                    state.default = req["default"]
                if "callbacks" in req:
                    state.callbacks = list(req["callbacks"] or [])
                if "callback_error_code" in req:
                    state.cb_error_code = req["callback_error_code"]
                if "callback_delay_ms" in req:
                    state.cb_delay_ms = req["callback_delay_ms"] or 0
                if "callback_target" in req:
                    state.cb_target = req["callback_target"]
                if "callback_token" in req:
                    state.cb_token = req["callback_token"]
                if "callback_signature" in req:
                    state.cb_signature = bool(req["callback_signature"])
                if "advanced_opt_out" in req:
                    state.advanced_opt_out = bool(req["advanced_opt_out"])
                if "opted_out" in req:
                    state.opted_out = set(req["opted_out"] or [])
                view = json.loads(json.dumps(state.control_view()))
            self.answer(200, view)
        elif path == "/_requests" and method == "GET":
            since = int((urllib.parse.parse_qs(url.query).get("since") or ["0"])[0])
            with state.lock:
                out = json.dumps([r for r in state.records if r["n"] > since])
            self.answer(200, text=out)
        elif path == "/_callbacks" and method == "GET":
            since = int((urllib.parse.parse_qs(url.query).get("since") or ["0"])[0])
            with state.lock:
                out = json.dumps([r for r in state.callbacks_log if r["n"] > since])
            self.answer(200, text=out)
        elif path == "/_stats" and method == "GET":
            with state.lock:
                out = json.dumps(dict(state.stats, callbacks_pending=state.outq.unfinished_tasks))
            self.answer(200, text=out)
        elif path == "/_reset" and method == "POST":
            state.reset()
            self.answer(200, {"reset": True})
        elif path == "/_inbound" and method == "POST":
            self.inbound(req)
        else:
            self.answer(404, {"error": "no such control endpoint: %s %s" % (method, path)})

    def inbound(self, req):
        state = self.server.state
        args = state.args
        if not isinstance(req, dict) or not req.get("url"):
            self.answer(400, {"error": "url is required"})
            return
        sid = "SM" + secrets.token_hex(16)
        text = req.get("body", "")
        params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                  "AccountSid": args.account_sid, "From": req.get("from", "+15551230001"),
                  "To": req.get("to", "+15005550006"), "Body": text, "NumMedia": "0",
                  "NumSegments": str(segments(text)), "SmsStatus": "received",
                  "ApiVersion": API_VERSION}
        if req.get("messaging_service_sid"):
            params["MessagingServiceSid"] = req["messaging_service_sid"]
        kind = state.opt_out_type(params["From"], text)
        if kind:
            params["OptOutType"] = kind
        params.update({k: str(v) for k, v in (req.get("params") or {}).items()})
        with state.lock:
            target = req.get("target", state.cb_target)
        rec = deliver(state, req["url"], params, req.get("token") or args.auth_token, target,
                      req.get("signature", True), "inbound", sid)
        self.answer(200, {k: rec.get(k) for k in
                          ("status", "body", "content_type", "params", "signature", "error")})


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sign":
        if len(sys.argv) < 4:
            sys.exit("usage: twilio_fake.py --sign TOKEN URL [name=value ...]")
        pairs = [tuple(a.split("=", 1)) if "=" in a else (a, "") for a in sys.argv[4:]]
        print(sign(sys.argv[2], sys.argv[3], pairs))
        return
    ap = argparse.ArgumentParser(description="fake of Twilio's Messages API")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--account-sid", required=True)
    ap.add_argument("--auth-token", required=True)
    ap.add_argument("--dir")
    ap.add_argument("--keep", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        request_queue_size = 1024
        allow_reuse_address = True

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    for _ in range(4):
        threading.Thread(target=callback_worker, args=(server.state,), daemon=True).start()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
