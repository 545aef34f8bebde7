#!/usr/bin/env python3
"""hostile.py: hostile HTTP against a running `nudge serve` (issue 11).

    python3 tests/hostile.py --port P --key ADMIN_KEY --db PATH --ids IDS.json
                             [--count N] [--seed S]

Walks every operation of docs/openapi.json and sends each a request broken
in one way: malformed, oversized, wrongly typed, badly encoded (invalid
UTF-8, overlong forms, NUL bytes, control characters) or out of range, in
the path, the query, the headers or the body. Every request is built to be
refused: a body is always broken somewhere, an action that takes no body
always gets one, so no request may change anything. It checks that
  - every request is answered (the server does not crash or hang);
  - no answer is a 5xx (a 503 would be documented, but the database is
    here, so none is expected either);
  - every 4xx is a problem body, and every answer agrees with the document
    (tests/contract.py: status declared, headers, schema);
  - the store is the same afterwards, except the access bookkeeping listed
    in BOOKKEEPING (each read authenticates and stamps its key).
Raw sockets, so nothing is repaired on the way. Prints one line per kind
of failure and a summary; exit 1 on any failure.
"""
import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contract import METHODS, Contract  # noqa: E402

# Columns that a refused request may still change: authenticating stamps
# the key's last use. Nothing else.
BOOKKEEPING = {"api_keys": {"last_used_at"}}


def dump_pg(url):
    """dump() of a PostgreSQL schema: one psql for all tables, each row as
    its JSON text with the bookkeeping columns removed."""
    skip = sorted({c for cols in BOOKKEEPING.values() for c in cols})
    script = ("SELECT format('SELECT %%L, (to_jsonb(r) - %%L::text[])::text FROM %%I r', "
              "table_name, '{%s}', table_name) FROM information_schema.tables "
              "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
              "ORDER BY table_name \\gexec\n" % ",".join(skip))
    text = subprocess.run([os.environ.get("PSQL", "psql"), "-X", "-At", "-F", "\t", url],
                          input=script, capture_output=True, text=True, check=True).stdout
    out = {}
    for line in text.splitlines():
        t, _, row = line.partition("\t")
        out.setdefault(t, []).append(row)
    return {t: sorted(rows) for t, rows in out.items()}


def dump(db):
    """Every row of every table, bookkeeping columns left out."""
    if db.startswith("postgres"):
        return dump_pg(db)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    out = {}
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for t in sorted(tables):
        cur = con.execute('SELECT * FROM "%s"' % t)
        cols = [c[0] for c in cur.description]
        skip = BOOKKEEPING.get(t, set())
        keep = [i for i, c in enumerate(cols) if c not in skip]
        out[t] = sorted(repr(tuple(row[i] for i in keep)) for row in cur)
    con.close()
    return out


# ---- broken values ----

BAD_TEXT = [
    b"\xff\xfe", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
    b"a\x00b", b"\x00", b"\x01\x02\x1b[31m", b"\r\nX-Injected: 1", b"\x7f", b"\xc3", b"\xf4\x90\x80\x80",
]
BAD_IDS = ["0", "-1", "99999999999999999999", "9223372036854775808", "abc", "1.5", "1e3",
           "%00", "%ff", "%c0%af", "1%0a", "0x10", " 1", "+1", "", "1" * 300]


def json_str(raw):
    """A JSON string literal around raw bytes, as they are: not escaped, so
    invalid UTF-8 and control bytes reach the parser."""
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def wrong_type(rng, schema):
    t = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        t = t[0] if t else None
    choices = [b"123", b"-1", b"1e400", b"9223372036854775808", b"true", b"[]", b"{}",
               b'"x"', b"[1,[2,[3]]]", b"-0.5", b'{"a":1}']
    nullable = isinstance(schema, dict) and (
        "null" in (schema.get("type") if isinstance(schema.get("type"), list) else []) or
        schema.get("nullable") is True or
        any(isinstance(b, dict) and b.get("type") == "null"
            for b in schema.get("oneOf", []) + schema.get("anyOf", [])))
    if t == "string":
        choices = [c for c in choices if not c.startswith(b'"')]
    elif t == "integer":
        choices = [c for c in choices if c not in (b"123", b"-1")]
    elif t == "boolean":
        choices = [c for c in choices if c != b"true"]
    elif t == "array":
        choices = [c for c in choices if not c.startswith(b"[")]
    elif t == "object":
        choices = [c for c in choices if not c.startswith(b"{")]
    if not nullable and rng.random() < 0.1:
        return b"null"
    return rng.choice(choices)


class Hostile:
    def __init__(self, args):
        self.c = Contract()
        self.args = args
        self.rng = random.Random(args.seed)
        with open(args.ids) as f:
            self.ids = json.load(f)
        self.ops = []
        for tmpl, item in self.c.doc["paths"].items():
            for m, op in item.items():
                if m in METHODS:
                    self.ops.append((m.upper(), tmpl, op, item))
        self.failures = {}
        self.statuses = {}

    def fail(self, kind, detail):
        self.failures.setdefault(kind, []).append(detail)

    # ---- the pieces of a request ----

    def props(self, op):
        rb = op.get("requestBody")
        if not rb:
            return {}, []
        media = rb.get("content", {}).get("application/json")
        if not media:
            return {}, []
        s = self.c.deref(media.get("schema", {}))
        for sub in s.get("allOf", []):
            s = dict(s, **self.c.deref(sub))
        props = {k: self.c.deref(v) for k, v in (s.get("properties") or {}).items()}
        return props, s.get("required", [])

    def good_path(self, tmpl):
        vals = {"id": None, "name": "appointment_confirmation", "language": "en",
                "action": None}
        path = tmpl
        if "{id}" in tmpl:
            kind = tmpl.split("/")[2]
            path = path.replace("{id}", str(self.ids.get(kind, 1)))
        if "{action}" in tmpl:
            act = "confirm" if "appointments" in tmpl else "cancel"
            path = path.replace("{action}", act)
        for k in ("name", "language"):
            path = path.replace("{%s}" % k, vals[k])
        return path

    def bad_path(self, tmpl):
        r = self.rng
        if "{" not in tmpl:
            return tmpl + r.choice(["/", "/x", "%00", "/..", "/%2e%2e/keys", "?"]), True
        parts = tmpl.split("/")
        slots = [i for i, p in enumerate(parts) if p.startswith("{")]
        i = r.choice(slots)
        name = parts[i][1:-1]
        if name == "id":
            v = r.choice(BAD_IDS + [str(self.ids.get("absent", 987654321))])
        elif name == "action":
            v = r.choice(["", "CONFIRM", "delete", "confirm%00", "x" * 500, "%ff", "..",
                          "confirm%0a"])
        elif name == "language":
            v = r.choice(["zz-QQ", "EN", "e", "en%00", "%c0%af", "x" * 300, "en-", "hi_IN"])
        else:
            v = r.choice(["NoSuch", "x" * 300, "a%00b", "%ff%fe", "..", "a%0ab", "nope"])
        parts[i] = v
        path = "/".join(parts)
        return self.good_path(path) if "{" in path else path, True

    def query(self, op, item):
        r = self.rng
        params = [self.c.deref(p) for p in op.get("parameters", []) + item.get("parameters", [])]
        names = [p["name"] for p in params if p.get("in") == "query"]
        bad = ["limit=0", "limit=201", "limit=-1", "limit=abc", "limit=1e3",
               "limit=99999999999999999999", "after=0", "after=abc", "after=-5",
               "after=99999999999999999999", "status=bogus", "status=%00", "status=%ff",
               "patient_id=99999999999999999999", "patient_id=abc", "before=x", "nope=1",
               "limit=1&limit=2", "%ff=1", "a%00=1", "=1", "&&", "limit"]
        if names and r.random() < 0.5:
            n = r.choice(names)
            return "%s=%s" % (n, r.choice(["", "%00", "%ff%fe", "x" * 3000, "-1", "0",
                                           "99999999999999999999", "%0a%0d"]))
        return r.choice(bad)

    def body(self, op):
        """A JSON body broken in one way, as bytes."""
        r = self.rng
        props, required = self.props(op)
        kind = r.choice(["type", "type", "encoding", "encoding", "oversize", "unknown",
                         "syntax", "shape", "nest", "nul", "range"])
        fields = {}
        for k in required:
            fields[k] = json.dumps(self.sample(k, props.get(k, {}))).encode()
        if props and r.random() < 0.5:
            k = r.choice(list(props))
            fields.setdefault(k, json.dumps(self.sample(k, props[k])).encode())
        target = r.choice(list(props)) if props else None
        if kind == "range" and target and not (
                props[target].get("type") in ("integer", ["integer", "null"]) or
                props[target].get("format") == "date-time"):
            kind = "type"
        if kind in ("type", "range") and target:
            fields[target] = wrong_type(r, props[target]) if kind == "type" else r.choice(
                [b"-9223372036854775809", b"9223372036854775808", b"-1", b"1e308"]
                if props[target].get("type") != "string" else
                [b'"9999-99-99T99:99:99Z"', b'"-001-01-01T00:00:00Z"', b'"2026-02-30T10:00:00Z"',
                 b'"2026-12-01T25:00:00Z"', b'"2026-12-01T10:00:00+99:00"'])
        elif kind == "encoding" and target:
            fields[target] = json_str(b"ok" + r.choice(BAD_TEXT) + b"ok")
        elif kind == "nul" and target:
            fields[target] = r.choice([json_str(b"a\x00b"), b'"a\\u0000b"', b'"\\ud800"',
                                       b'"\\u001b[0m"'])
        elif kind == "oversize" and target:
            # Past the field's documented length, or past any text limit
            # (a template's HTML: 262,144) and still under the body limit.
            most = props[target].get("maxLength")
            fields[target] = json_str(b"x" * (most + 1 if most else 300000))
        elif kind == "unknown" or not target:
            fields[r.choice(["nope", "ID", "at", "\u00e9".encode().decode(), "a b", ""])] = b"1"
        elif kind == "nest":
            fields[target] = b"[" * 200 + b"]" * 200
        body = b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in fields.items()) + b"}"
        if kind == "syntax":
            body = r.choice([body[:-1], body + b"}", b"{'a':1}", b"{\"a\":1,}", b"\x00" + body,
                             body.replace(b":", b"=", 1), b"\xef\xbb\xbf" + body, b"{" + body,
                             b"{\"a\":1}{\"a\":1}", b"NaN", b"{\"a\":01}"])
            if body == b"{}":
                body = b"{,}"
        elif kind == "shape":
            body = r.choice([b"[]", b"null", b"1", b'"x"', b"true", b"[" + body + b"]"])
        if kind in ("unknown", "nul", "nest") and body == b"{}":
            body = b'{"nope":1}'
        return body

    def sample(self, name, s):
        """A plausible value of a field, for the fields not being broken."""
        t = s.get("type")
        if isinstance(t, list):
            t = [x for x in t if x != "null"][0] if [x for x in t if x != "null"] else "string"
        if "enum" in s:
            return s["enum"][0]
        if t == "integer":
            return self.ids.get("patients", 1) if name.endswith("_id") else 1
        if t == "boolean":
            return True
        if t == "array":
            return []
        if t == "object":
            return {}
        if s.get("format") == "date-time" or name.endswith("_at"):
            return "2026-12-01T10:00:00+05:30"
        if name == "phone":
            return "9876543210"
        return "x"

    # ---- one request ----

    def build(self, method, tmpl, op, item):
        r = self.rng
        where = r.choice(["path", "query", "headers", "body", "body", "body"])
        has_body = "requestBody" in op and "application/json" in op["requestBody"].get("content", {})
        if where == "body" and not has_body and method == "GET":
            where = "query"
        path, q, body = self.good_path(tmpl), "", None
        headers = [("Authorization", "Bearer " + self.args.key)]
        ctype = "application/json"
        if where == "path":
            path, _ = self.bad_path(tmpl)
        elif where == "query":
            q = self.query(op, item)
        elif where == "headers":
            h = r.choice(["ctype", "ctype", "cl2", "auth", "ifmatch", "idem", "te", "ctype2",
                          "hdrbytes"])
            if h == "ctype":
                ctype = r.choice(["text/plain", "application/x-www-form-urlencoded",
                                  "application/jsonx", "json", "", "multipart/form-data; b=x",
                                  "application/json\x01"])
                body = self.body(op) if has_body else b'{"nope":1}'
                if body in (b"{}",):
                    body = b'{"nope":1}'
            elif h == "cl2":
                # The true length first (so the body is read whole), then a
                # second, different one: two readings of one request.
                body = self.body(op) if has_body else b'{"nope":1}'
                headers.append(("Content-Length", str(len(body))))
                headers.append(("Content-Length", str(len(body) + r.choice([1, 5, 1000]))))
            elif h == "auth":
                headers = [("Authorization", r.choice(
                    ["Bearer ", "Bearer nudge_x", "Basic YTpi", "Bearer " + self.args.key[:-1] + ("1" if self.args.key.endswith("0") else "0"),
                     "Bearer " + self.args.key + "\x01", "Bearer " + "x" * 4000]))]
                body = self.body(op) if has_body else None
            elif h == "ifmatch":
                headers.append(("If-Match", r.choice(['"0"', "3", '"abc"', '"-1"', '""', "*",
                                                      '"99999999999999999999"', 'W/"1"'])))
                body = self.body(op) if has_body else (b"\x00" if method != "GET" else None)
            elif h == "idem":
                headers.append(("Idempotency-Key", r.choice(["", "k" * 300, "a\x01b", "\x7f", "k\xff\xfe"])))
                body = self.body(op) if has_body else (b"\x00" if method != "GET" else None)
            elif h == "te":
                # A well-framed chunked body, then a codec the server does
                # not speak: framing that is not Content-Length.
                body = self.body(op) if has_body else b'{"nope":1}'
                headers.append(("Transfer-Encoding", "chunked"))
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
                headers.append(("X-Framed", "chunked"))
            elif h == "ctype2":
                headers.append(("Content-Type", "text/plain"))
                body = self.body(op) if has_body else b'{"nope":1}'
            else:
                headers.append(("X-Bytes", "\xff\xfe\x00".encode("latin-1").decode("latin-1")))
                body = self.body(op) if has_body else (b"\x00" if method != "GET" else None)
        else:
            body = self.body(op) if has_body else r.choice(
                [b"\x00garbage", b"\x00", b" ", b"[]", b'{"a":1}', b"\xff", b"null"])
        if method == "PATCH" and not any(h[0] == "If-Match" for h in headers):
            headers.append(("If-Match", '"1"'))
        if method != "GET" and body is None and where in ("path", "query"):
            # The path or query is what is broken; an action's good body is none.
            body = b"\x00" if not has_body else self.body(op)
        if method == "GET" and where == "body":
            body = self.body(op)
        return method, path + ("?" + q if q else ""), headers, ctype, body

    def send(self, method, target, headers, ctype, body):
        req = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" %
               (method, target)).encode("latin-1", "replace")
        for k, v in headers:
            req += ("%s: %s\r\n" % (k, v)).encode("latin-1", "replace")
        if body is not None:
            if not any(k == "Content-Type" for k, _ in headers) or ctype != "application/json":
                req += ("Content-Type: %s\r\n" % ctype).encode("latin-1", "replace")
            if not any(k in ("Content-Length", "Transfer-Encoding") for k, _ in headers):
                req += b"Content-Length: %d\r\n" % len(body)
        req += b"\r\n" + (body or b"")
        s = socket.create_connection(("127.0.0.1", self.args.port), timeout=8)
        try:
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        return data

    def parse(self, data):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            return None, {}, body
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return int(parts[1]), hdrs, body

    def run(self, count):
        for i in range(count):
            method, tmpl, op, item = self.ops[i % len(self.ops)]
            method, target, headers, ctype, body = self.build(method, tmpl, op, item)
            what = "%s %s %s" % (method, target[:120], [h[0] for h in headers[1:]])
            try:
                data = self.send(method, target, headers, ctype, body)
            except OSError as e:
                self.fail("no answer (crash or hang)", "%s: %s" % (what, e))
                if not self.alive():
                    return i + 1
                continue
            status, hdrs, rbody = self.parse(data)
            if status is None:
                self.fail("no answer (crash or hang)", "%s: %r" % (what, data[:200]))
                if not self.alive():
                    return i + 1
                continue
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500:
                self.fail("5xx", "%s -> %d %s" % (what, status, rbody[:200]))
            if status >= 400 and not hdrs.get("content-type", "").startswith(
                    "application/problem+json"):
                self.fail("an error that is not a problem body",
                          "%s -> %d %r" % (what, status, rbody[:200]))
            if 200 <= status < 300 and op.get("x-nudge-min-role") and method != "GET":
                self.fail("a hostile write accepted", "%s body %r -> %d %s" %
                          (what, (body or b"")[:200], status, rbody[:200]))
            ex = {"method": method, "path": target, "status": status, "headers": hdrs,
                  "body": rbody.decode("utf-8", "replace")}
            for e in self.c.check(ex):
                self.fail("disagrees with docs/openapi.json", e)
        return count

    def alive(self):
        try:
            socket.create_connection(("127.0.0.1", self.args.port), timeout=5).close()
            return True
        except OSError:
            return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    h = Hostile(args)
    before = dump(args.db)
    sent = h.run(args.count)
    after = dump(args.db)
    for t in sorted(set(before) | set(after)):
        if before.get(t) != after.get(t):
            gone = set(before.get(t, [])) - set(after.get(t, []))
            new = set(after.get(t, [])) - set(before.get(t, []))
            h.fail("the store changed", "%s: -%s +%s" % (t, sorted(gone)[:2], sorted(new)[:2]))
    if not h.alive():
        h.fail("no answer (crash or hang)", "the server is gone at the end")
    for kind, items in sorted(h.failures.items()):
        print("FAIL %s (%d), e.g.:" % (kind, len(items)))
        for x in items[:5]:
            print("  %s" % x[:400])
    print("%d hostile requests (seed %d) over %d operations; answers %s; %d failures" %
          (sent, args.seed, len(h.ops), dict(sorted(h.statuses.items())),
           sum(len(v) for v in h.failures.values())))
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
