#!/usr/bin/env python3
"""contract.py: the API's answers against docs/openapi.json, judged by an
independent validator (python3-jsonschema), so the server and its document
cannot drift apart unnoticed.

    python3 tests/contract.py RECORD...   check recorded exchanges
    python3 tests/contract.py --doc       check the document's own promises
    python3 tests/contract.py --mutants RECORD...
                                          prove the check can fail: copies of
                                          the document broken one way each
                                          must each disagree with the record

A record is JSON lines of {method, path, status, headers, body}: the HTTP
suites write one when NUDGE_CONTRACT_LOG names a file (tests/httputil.h),
and tests/hostile.py checks its own answers with the same functions. For
each answer: the operation is found by method and path; its status must be
declared (a path that exists without the method: 405 with the Allow the
document implies; no path at all: 404); the declared headers must be there
(unless marked "required": false) and match their schemas; the body's media
type must be declared and the body valid against its schema.

--doc checks what the document promises for every operation: an operation
that reads or writes the database declares 503 with Retry-After, one with a
request body declares 413 and 415, and a key-authenticated one declares
400 when it takes query parameters. Exit status 1 on any disagreement,
with each one printed.
"""
import json
import os
import re
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_PATH = os.path.join(HERE, "..", "docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class Contract:
    def __init__(self, path=DOC_PATH, doc=None):
        if doc is None:
            with open(path) as f:
                doc = json.load(f)
        self.doc = doc
        self.components = self.doc.get("components", {})
        self.routes = []  # (regex, literal segments, path item, template)
        for tmpl, item in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(tmpl)) + "$"
            literal = sum(1 for s in tmpl.split("/") if s and not s.startswith("{"))
            self.routes.append((re.compile(rx), literal, item, tmpl))
        self.routes.sort(key=lambda r: -r[1])

    def deref(self, v):
        while isinstance(v, dict) and "$ref" in v:
            v = self.pointer(v["$ref"])
        return v

    def pointer(self, ref):
        assert ref.startswith("#/"), ref
        cur = self.doc
        for part in ref[2:].split("/"):
            cur = cur[part.replace("~1", "/").replace("~0", "~")]
        return cur

    def schema_errors(self, schema, value):
        # Local $refs resolve against the root: give the schema the
        # document's components, which works with jsonschema 4.10 to 4.2x.
        root = dict(schema)
        root["components"] = self.components
        v = jsonschema.Draft202012Validator(root)
        return sorted(
            "%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
            for e in v.iter_errors(value))

    def find(self, method, path):
        """(operation, path item, template): operation None when the path
        exists without this method; all None when no path matches."""
        path = path.split("?", 1)[0]
        matched = [r for r in self.routes if r[0].match(path)]
        for _, _, item, tmpl in matched:
            op = item.get(method.lower())
            if op:
                return op, item, tmpl
        if matched:
            return None, matched[0][2], matched[0][3]
        return None, None, None

    def allowed(self, path):
        path = path.split("?", 1)[0]
        out = set()
        for rx, _, item, _ in self.routes:
            if rx.match(path):
                out |= {m.upper() for m in item if m in METHODS}
        return out

    def check(self, ex):
        """Every disagreement of one exchange, as text."""
        method, path, status = ex["method"], ex["path"], int(ex["status"])
        headers = {k.lower(): v for k, v in (ex.get("headers") or {}).items()}
        body = ex.get("body") or ""
        where = "%s %s -> %d" % (method, path, status)
        op, item, tmpl = self.find(method, path)
        if item is None or op is None:
            # No operation answers: the document's server-wide answers,
            # components/responses NotFound (no such path) and
            # MethodNotAllowed (a path without this method), or what is
            # refused before routing: a body too large or too deep.
            want = 404 if item is None else 405
            errs = []
            if status not in (want, 400, 413):
                return ["%s: no operation, so %d was due" % (where, want)]
            if status == 405:
                allow = {m.strip() for m in headers.get("allow", "").split(",") if m.strip()}
                if allow != self.allowed(path):
                    errs.append("%s: Allow is %r, the document has %s" %
                                (where, headers.get("allow"), sorted(self.allowed(path))))
            name = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest",
                    413: "PayloadTooLarge"}[status]
            return errs + self.response_errors(where, headers, body,
                                               self.components["responses"][name])
        responses = op.get("responses", {})
        resp = responses.get(str(status)) or responses.get("%dXX" % (status // 100)) \
            or responses.get("default")
        if resp is None:
            return ["%s: status %d is not declared for %s (declared: %s)" %
                    (where, status, op.get("operationId"), ", ".join(sorted(responses)))]
        return self.response_errors(where, headers, body, self.deref(resp))

    def response_errors(self, where, headers, body, resp):
        errs = []
        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            val = headers.get(name.lower())
            if val is None:
                if h.get("required", True):
                    errs.append("%s: declared header %s is missing" % (where, name))
                continue
            if "schema" in h:
                for e in self.schema_errors(h["schema"], val):
                    errs.append("%s: header %s: %s" % (where, name, e))
        errs += self.body_errors(where, headers, body, resp.get("content"))
        return errs

    def body_errors(self, where, headers, body, content):
        if not content:
            return []
        full = headers.get("content-type", "").strip()
        ctype = full.split(";")[0].strip().lower()
        # A declared media type may carry parameters (text/plain; version=...).
        media = content.get(full) or content.get(ctype) or next(
            (m for k, m in content.items() if k.split(";")[0].strip().lower() == ctype), None)
        if media is None:
            return ["%s: Content-Type %r is not declared (declared: %s)" %
                    (where, ctype, ", ".join(content))]
        schema = media.get("schema")
        if not schema:
            return []
        if not ctype.endswith("json"):
            return [] if isinstance(body, str) else ["%s: body is not text" % where]
        try:
            value = json.loads(body)
        except ValueError as e:
            return ["%s: body is not JSON (%s): %.200r" % (where, e, body)]
        return ["%s: body %s" % (where, e) for e in self.schema_errors(schema, value)]

    def doc_errors(self):
        """What every operation must declare (see the module's comment)."""
        errs = []
        for tmpl, item in self.doc["paths"].items():
            for m, op in item.items():
                if m not in METHODS:
                    continue
                name = op.get("operationId", "%s %s" % (m, tmpl))
                responses = op.get("responses", {})
                touches = op.get("x-nudge-min-role") or tmpl.startswith("/webhooks/") \
                    or tmpl == "/readyz"
                if touches:
                    r = self.deref(responses.get("503", {}))
                    if "Retry-After" not in (r.get("headers") or {}):
                        errs.append("%s: touches the database but declares no 503 with "
                                    "Retry-After" % name)
                if "requestBody" in op and op.get("x-nudge-min-role"):
                    for st in ("413", "415"):
                        if st not in responses:
                            errs.append("%s: takes a body but declares no %s" % (name, st))
                params = [self.deref(p) for p in op.get("parameters", []) + item.get("parameters", [])]
                if op.get("x-nudge-min-role") and any(p.get("in") == "query" for p in params) \
                        and "400" not in responses:
                    errs.append("%s: takes query parameters but declares no 400" % name)
        return errs


def mutants(doc):
    """Copies of the document each broken in one way the server's answers
    must expose: (what, document). Used to prove the check is not vacuous."""
    import copy

    def edit(what, fn):
        d = copy.deepcopy(doc)
        fn(d)
        return what, d

    def drop_enum_value(d):  # the category enums without consent (issue 15)
        def walk(v):
            if isinstance(v, dict):
                if "consent" in v.get("enum", []):
                    v["enum"].remove("consent")
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(d)

    def drop_status(status):
        return lambda d: [op["responses"].pop(status, None)
                          for item in d["paths"].values()
                          for m, op in item.items() if m in METHODS]

    def require_header(d):
        d["paths"]["/v1/clinic"]["get"]["responses"]["200"]["headers"] = {
            "X-Not-Sent": {"schema": {"type": "string"}}}

    def problem_field(d):
        d["components"]["schemas"]["Problem"]["required"].append("instance")

    def no_allow(d):
        d["paths"]["/v1/patients"]["delete"] = d["paths"]["/v1/patients"]["get"]

    return [edit("category without consent", drop_enum_value),
            edit("no 201 anywhere", drop_status("201")),
            edit("no 415 anywhere", drop_status("415")),
            edit("no 422 anywhere", drop_status("422")),
            edit("a header the server does not send", require_header),
            edit("problems need a field they lack", problem_field),
            edit("a method the server does not route", no_allow)]


def main(argv):
    if argv[1:2] == ["--mutants"]:
        # Every broken copy must disagree with the recorded answers.
        base = Contract()
        exchanges = []
        for path in argv[2:]:
            with open(path) as f:
                exchanges += [json.loads(line) for line in f if line.strip()]
        missed = 0
        for what, d in mutants(base.doc):
            c = Contract(doc=d)
            if not any(c.check(ex) for ex in exchanges):
                print("not caught: %s" % what)
                missed += 1
            else:
                print("caught: %s" % what)
        return 1 if missed or not exchanges else 0
    c = Contract()
    if argv[1:] == ["--doc"]:
        errs = c.doc_errors()
        for e in errs:
            print(e)
        print("%d document promises broken" % len(errs))
        return 1 if errs else 0
    seen = bad = 0
    shown = set()
    for path in argv[1:]:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                seen += 1
                errs = c.check(json.loads(line))
                bad += bool(errs)
                for e in errs:
                    if e not in shown:
                        shown.add(e)
                        print(e)
    print("%d answers checked, %d disagree with docs/openapi.json" % (seen, bad))
    return 1 if bad or not seen else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
