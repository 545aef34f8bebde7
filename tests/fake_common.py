"""fake_common.py: what nudge's provider fakes (whatsapp_fake.py,
msg91_fake.py) share. Python 3.11 standard library only; imported from the
fake's own directory (the scripts set sys.dont_write_bytecode first so no
__pycache__ appears in tests/).

Every fake built on it follows one convention (tests/fake.h relies on it):

  /usr/bin/python3 tests/<fake>.py --port 0 [--dir D] [--keep N] [--verbose] ...

listens on 127.0.0.1 only, prints "READY <port>" once listening, stops on
SIGTERM or SIGINT. --dir D appends every recorded request to
D/requests.jsonl and every webhook it sent to D/callbacks.jsonl; --keep N
keeps only the last N records in memory (the counters of /_stats always
count everything).

The common test endpoints (JSON in and out, never recorded as requests):
  POST /_control  {"next": [answer, ...]} replaces the queue of answers, each
                  API request consuming one; {"append": [...]} adds to it;
                  {"default": answer | null} serves when the queue is empty.
                  An answer is an object; these keys are common:
                    "status": n, "code": n, "message": "...",
                    "retry_after": n   (a Retry-After header),
                    "delay_ms": n      (waits first; alone, then answers
                                        normally),
                    "drop": true | "rst" (closes, or resets, the connection
                                        without answering),
                    "repeat": n        (this answer serves n requests).
                  The request is still checked and recorded ("valid",
                  "error" say what the fake would have answered). The other
                  keys of /_control belong to each fake. Answers the state.
  GET  /_control  the control state.
  GET  /_requests the records, oldest first (?since=N: those with n > N).
  GET  /_callbacks the webhooks sent (also /_webhooks), oldest first, ?since=N.
  GET  /_stats    {"requests", "accepted", "rejected", "dropped", "by_status",
                   "callbacks_sent", "callbacks_pending"}
  POST /_reset    the state at start: records, counters, queue, default and
                  every control setting forgotten; webhooks still queued are
                  dropped.
  GET  /_health   200 "ok".
Outgoing connections only ever go to loopback addresses; anything else is
recorded with an error and not sent.
"""
import http.client
import ipaddress
import json
import os
import queue
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


def is_loopback(host):
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def http_send(method, url, body=None, headers=None, timeout=10):
    """One request to a loopback URL. Returns {"status", "content_type",
    "body", "error"}: error set (and status None) when it could not be sent
    or answered."""
    out = {"status": None, "content_type": None, "body": None, "error": None}
    try:
        u = urllib.parse.urlsplit(url)
        host = u.hostname
        port = u.port or (443 if u.scheme == "https" else 80)
        if u.scheme not in ("http", "https"):
            raise ValueError("not an http(s) URL: %s" % url)
        if not host or not is_loopback(host):
            raise ValueError("not a loopback address: %s" % (host,))
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            resp = conn.getresponse()
            out["status"] = resp.status
            out["content_type"] = resp.getheader("Content-Type")
            out["body"] = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
    except Exception as e:  # recorded for the test to see
        out["error"] = "%s: %s" % (type(e).__name__, e)
    return out


class State:
    """Records, counters, the answer queue and the webhook queue. A fake
    subclasses it: reset_extra() sets its own settings (under the lock),
    control_extra() shows them, apply_control(req) applies a /_control body
    (under the lock; returns an error string or None)."""

    ok_status = 200

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.jsonl_lock = threading.Lock()
        self.outq = queue.Queue()
        self.generation = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.records = []
            self.callbacks_log = []
            self.n = 0
            self.cn = 0
            self.queue = []
            self.default = None
            self.stats = {"requests": 0, "accepted": 0, "rejected": 0, "dropped": 0,
                          "by_status": {}, "callbacks_sent": 0}
            self.generation += 1
            self.reset_extra()

    def reset_extra(self):
        pass

    def control_extra(self):
        return {}

    def apply_control(self, req):
        return None

    def control_view(self):
        with self.lock:
            view = {"next": self.queue, "default": self.default}
            view.update(self.control_extra())
            return json.loads(json.dumps(view))

    def control(self, req):
        """Applies a /_control body; returns (status, answer)."""
        if not isinstance(req, dict):
            return 400, {"error": "expected a JSON object"}
        with self.lock:
            for key in ("next", "append"):
                if key in req:
                    lst = req[key]
                    if not isinstance(lst, list) or not all(isinstance(a, dict) for a in lst):
                        return 400, {"error": "%s: a list of objects" % key}
            if "default" in req and not (req["default"] is None or
                                         isinstance(req["default"], dict)):
                return 400, {"error": "default: an object or null"}
            err = self.apply_control(req)
            if err:
                return 400, {"error": err}
            for key in ("next", "append"):
                if key in req:
                    self.queue = (self.queue if key == "append" else []) + list(req[key])
            if "default" in req:
                self.default = req["default"]
        return 200, self.control_view()

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

    def accepted(self, rec):
        return rec["status"] == self.ok_status

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
                s["accepted" if self.accepted(rec) else "rejected"] += 1
            self.keep(rec, "requests.jsonl", self.records)

    def record_callback(self, rec):
        with self.lock:
            self.cn += 1
            rec["n"] = self.cn
            if rec.get("status") is not None:
                self.stats["callbacks_sent"] += 1
            self.keep(rec, "callbacks.jsonl", self.callbacks_log)

    def enqueue(self, job):
        """Queues job (a callable taking no argument) for the webhook
        workers; dropped if /_reset comes first."""
        self.outq.put((self.generation, job))


def webhook_worker(state, name):
    while True:
        gen, job = state.outq.get()
        try:
            if gen == state.generation:
                job(lambda: gen == state.generation)
        except Exception as e:
            sys.stderr.write("%s: webhook worker: %s\n" % (name, e))
        finally:
            state.outq.task_done()


class Handler(BaseHTTPRequestHandler):
    """Plumbing and the common test endpoints. A fake sets `name` and
    defines api(url, raw) and, for its own endpoints, extra(url, method, req)
    returning False when it has none at that path."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    name = "fake"

    def setup(self):
        super().setup()
        # One write per answer and no Nagle: otherwise delayed ACKs cap a
        # keep-alive connection at ~25 answers a second.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.name + "/1"

    def log_message(self, fmt, *a):
        if self.server.state.args.verbose:
            sys.stderr.write(self.name + ": " + (fmt % a) + "\n")

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

    def base_record(self, url, raw):
        return {"time": time.time(), "method": self.command, "path": url.path,
                "query": url.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "content_type": self.headers.get("Content-Type"),
                "raw": raw.decode("utf-8", "replace"), "json": None, "unknown": [],
                "valid": False, "error": None, "injected": None, "status": None,
                "dropped": False, "response": None}

    def injected_wait_or_drop(self, inj, rec):
        """Applies delay_ms and drop of a control answer; True when the
        connection was dropped (the record is then stored)."""
        if inj.get("delay_ms"):
            time.sleep(float(inj["delay_ms"]) / 1000.0)
        if inj.get("drop"):
            rec["dropped"] = True
            self.server.state.record(rec)
            self.drop("rst" if inj["drop"] == "rst" else "close")
            return True
        return False

    def control(self, url, raw):
        state = self.server.state
        path, method = url.path, self.command
        try:
            req = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as e:
            self.answer(400, {"error": "invalid JSON: %s" % e})
            return
        since = 0
        if method == "GET":
            try:
                since = int((urllib.parse.parse_qs(url.query).get("since") or ["0"])[0])
            except ValueError:
                since = 0
        if path == "/_health":
            self.answer(200, text="ok\n", ctype="text/plain")
        elif path == "/_control" and method == "GET":
            self.answer(200, state.control_view())
        elif path == "/_control" and method == "POST":
            st, out = state.control(req)
            self.answer(st, out)
        elif path == "/_requests" and method == "GET":
            with state.lock:
                out = json.dumps([r for r in state.records if r["n"] > since])
            self.answer(200, text=out)
        elif path in ("/_callbacks", "/_webhooks") and method == "GET":
            with state.lock:
                out = json.dumps([r for r in state.callbacks_log if r["n"] > since])
            self.answer(200, text=out)
        elif path == "/_stats" and method == "GET":
            with state.lock:
                out = json.dumps(dict(state.stats,
                                      callbacks_pending=state.outq.unfinished_tasks))
            self.answer(200, text=out)
        elif path == "/_reset" and method == "POST":
            state.reset()
            self.answer(200, {"reset": True})
        elif not self.extra(url, method, req):
            self.answer(404, {"error": "no such control endpoint: %s %s" % (method, path)})

    def extra(self, url, method, req):
        return False


def serve(args, handler_cls, state, workers=4):
    """Listens on 127.0.0.1:args.port, prints READY, serves until SIGTERM."""
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        request_queue_size = 1024
        allow_reuse_address = True

    server = Server(("127.0.0.1", args.port), handler_cls)
    server.state = state
    for _ in range(workers):
        threading.Thread(target=webhook_worker, args=(state, handler_cls.name),
                         daemon=True).start()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def add_common_args(ap):
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir")
    ap.add_argument("--keep", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
