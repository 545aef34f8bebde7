#!/usr/bin/env python3
"""bench/table.py: the one table of `make bench` (bench/bench.sh), from the
JSON lines its phases wrote: every measurement with its durability, and
each of issue 16's goals beside what was measured and whether it was met.

  table.py OUT                         prints the table (markdown)
  table.py --wrk FILE SERVER ROUTE     one wrk run's output as a JSON line

A cell whose phase could not run says why ("not built", "failed"); a goal
whose figures are missing says "not measured", never "met".
"""
import json
import os
import re
import sys

DUR = {
    "SQLite synchronous=FULL": "SQLite FULL: durable when acknowledged",
    "SQLite synchronous=NORMAL": "SQLite NORMAL: last commits lost on power loss",
    "PostgreSQL, synchronous_commit on": "PostgreSQL, synchronous_commit on: durable",
    "AOF everysec": "redis AOF everysec: ~1 s lost on crash",
    "AOF always": "redis AOF always: durable",
}


def wrk_json(path, server, route):
    text = open(path).read()
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}

    def ms(v):
        m = re.match(r"([0-9.]+)([a-z]+)", v)
        return float(m.group(1)) * unit[m.group(2)]
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    reqs = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not rate or not p99:
        sys.stderr.write(text[-400:])
        return 1
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = re.search(r"Socket errors: (.*)", text)
    statuses = {int(k): int(v) for k, v in re.findall(r"^status (\d+): (\d+)$", text, re.M)}
    per = int(os.environ.get("BENCH_BATCH", "1000")) if route == "batch" else 1
    print(json.dumps({"bench": "api", "server": server, "route": route, "per_request": per,
                      "jobs_per_s": round(float(rate.group(1)) * per),
                      "statuses": {str(k): statuses[k] for k in sorted(statuses)},
                      "req_per_s": round(float(rate.group(1))), "p99_ms": round(ms(p99.group(1)), 2),
                      "requests": int(reqs.group(1)) if reqs else 0,
                      "non2xx": int(bad.group(1)) if bad else 0,
                      "socket_errors": errs.group(1).strip() if errs else ""}))
    return 0


def num(v):
    return f"{v:,.0f}"


class Table:
    def __init__(self, lines):
        self.rows = []
        self.meta = {}
        self.queue = {}     # (peer, durability, workload) -> record
        self.api = {}       # (server, route) -> record
        self.ceiling = {}   # workload -> record
        self.fanout = self.twilio = self.plan = self.burst = None
        for r in lines:
            if "machine" in r or "versions" in r or "seconds" in r and "missing" in r:
                self.meta.update(r)
            elif r.get("bench") == "ceiling" or r.get("phase") == "ceiling":
                self.ceiling[r["workload"]] = r
            elif r.get("bench") == "api" or r.get("phase") == "api":
                self.api[(r.get("server") or r.get("peer"), r.get("route") or r.get("workload"))] = r
            elif r.get("bench") == "fanout" or r.get("phase") == "fanout":
                self.fanout = r
            elif r.get("bench") == "plan" or r.get("phase") == "plan":
                self.plan = r
            elif r.get("bench") == "twilio" or r.get("phase") == "twilio":
                self.twilio = r
            elif r.get("bench") == "burst":
                self.burst = r
            elif "workload" in r:
                key = (r["peer"], r.get("durability", ""), r["workload"])
                if r["workload"] == "burn" and r.get("workers"):
                    key = key + (int(r["workers"]),)
                self.queue.setdefault(key, r)

    def add(self, what, durability, measured, goal="", met=""):
        self.rows.append((what, durability, measured, goal, met))

    def section(self, title):
        self.rows.append((f"**{title}**", "", "", "", ""))

    @staticmethod
    def cell(r, key="jobs_per_s", p99=True):
        if r is None:
            return "–"
        if "error" in r:
            return r["error"]
        st = r.get("statuses")
        if st and not any(k[0] == "2" for k in st):   # nothing answered: the route is not there
            return "not built (404)" if list(st) == ["404"] else "failed: " + ", ".join(
                f"{v} × {k}" for k, v in st.items())
        s = f"{num(r[key])}/s"
        if p99 and r.get("p99_ms") is not None:
            s += f" (p99 {r['p99_ms']} ms)"
        # What a job cost beside its rate (bench/burn.c, queue.c, steady.c):
        # the CPU, and how many jobs shared a WAL fsync (the disk's share).
        if r.get("cpu_us_per_job") is not None:
            s += f", CPU {r['cpu_us_per_job']} µs a job"
        if r.get("syncs_per_job"):
            s += f", a WAL fsync every {1 / r['syncs_per_job']:.1f} jobs"
        if r.get("exactly_once") is False:
            s += " (CHECK FAILED: not every job sent exactly once)"
        if r.get("non2xx"):
            odd = ", ".join(f"{v} × {k}" for k, v in r.get("statuses", {}).items() if k[0] != "2")
            s += f" [{r['non2xx']} non-2xx{': ' + odd if odd else ''}]"
        return s

    @staticmethod
    def val(r, key="jobs_per_s"):
        """A figure a goal may be judged on: none from a run whose check failed."""
        if not r or "error" in r or key not in r or r.get("exactly_once") is False:
            return None
        return r[key]

    def goal(self, what, durability, target, measured, ok):
        if ok is None:
            self.add(what, durability, measured or "not measured", target, "not measured")
        else:
            self.add(what, durability, measured, target, "**met**" if ok else "NOT met")

    def q(self, peer, dur, work, workers=None):
        """The first record of the workload; with workers, of that many (a
        record that names none counts as one)."""
        for k, r in self.queue.items():
            if k[:3] == (peer, dur, work) and (workers is None or (k[3] if len(k) > 3 else 1) == workers):
                return r
        return None

    def build(self):
        full, normal, pg = ("SQLite synchronous=FULL", "SQLite synchronous=NORMAL",
                            "PostgreSQL, synchronous_commit on")
        self.section("physical ceilings (bench/ceiling.c, libsqlite3 and libpq alone)")
        names = {"full": ("SQLite single-row inserts, 1 connection", full),
                 "normal": ("SQLite single-row inserts, 1 connection", normal),
                 "txn": ("SQLite 1,000-row transactions", full),
                 "pg": ("PostgreSQL single-row inserts, 16 connections", pg)}
        for w, (what, dur) in names.items():
            r = self.ceiling.get(w)
            self.add(what, DUR.get(r.get("durability", dur) if r else dur, dur),
                     self.cell(r, "rows_per_s"))

        self.section("job queues: single add (16 callers), batches of 1,000, burn-down")
        order = []
        for k in self.queue:
            if k[:2] not in order:
                order.append(k[:2])
        for peer, dur in order:
            for w, label in (("single", "single add"),
                             ("async", "single add, one thread keeping 16 outstanding"),
                             ("batch", "add in batches of 1,000"),
                             ("burn", "burn-down, no-op handler")):
                keys = [k for k in self.queue if k[:3] == (peer, dur, w)]
                for k in keys:
                    extra = f", {k[3]} worker{'s' if k[3] > 1 else ''}" if len(k) > 3 else ""
                    self.add(f"{peer}: {label}{extra}", DUR.get(dur, dur),
                             self.cell(self.queue[k], p99=(w in ("single", "async"))))

        self.section("the API, wrk at 16 connections (nudge serve; FastAPI + uvicorn, 2 workers)")
        routes = {"post": "POST /v1/notifications",
                  "batch": "POST /v1/notifications:batch",
                  "get": "GET /v1/notifications/{id}", "list": "GET /v1/notifications?limit=50"}
        for route, what in routes.items():
            for server in ("nudge", "fastapi"):
                r = self.api.get((server, route))
                if route == "batch" and server == "fastapi":
                    continue   # the peer has no batch route
                if route == "batch" and r and "error" not in r:
                    r = dict(r, p99_ms=None)
                    self.add(f"nudge: {what}, {num(r['per_request'])} a request (jobs/s)",
                             "SQLite FULL: durable when answered",
                             self.cell(r, "jobs_per_s", p99=False))
                    continue
                dur = "read" if route in ("get", "list") else "SQLite FULL: durable when answered"
                self.add(f"{'nudge' if server == 'nudge' else 'FastAPI'}: {what}", dur,
                         self.cell(r, "req_per_s"))

        self.section("fan-out, the planner and the Twilio fake")
        f = self.fanout
        if f and "error" not in f:
            self.add(f"campaign fan-out to {num(f['patients'])} patients", "SQLite FULL",
                     f"{num(f['fanout_rows_per_s'])} rows/s; raw INSERT…SELECT "
                     f"{num(f['raw_rows_per_s'])} rows/s; a reminder waited "
                     f"{f['reminder_wait_ms']} ms"
                     + (f" ({num(f['skipped'])} SKIPPED)" if f.get("skipped") else ""))
        else:
            self.add("campaign fan-out", "SQLite FULL", (f or {}).get("error", "–"))
        pl = self.plan
        if pl and "error" not in pl:
            self.add(f"{num(pl['plans'])} reminders due at once made messages (planner)", "SQLite FULL",
                     f"{num(pl['plans_per_s'])} plans/s, all in {pl['plan_ms'] / 1000:.2f} s"
                     + ("" if pl.get("exactly_once") else " (CHECK FAILED)"))
        else:
            self.add("reminders due at once made messages (planner)", "SQLite FULL",
                     (pl or {}).get("error", "–"))
        t = self.twilio
        if t and "error" not in t:
            self.add(f"SMS to the Twilio fake, {num(t['n'])} due at once", "SQLite FULL",
                     f"{num(t['rate'])} msg/s, last sent after {t['send_s']} s"
                     + ("" if t.get("ok") == 1 else " (CHECK FAILED)"))
            self.add("the fake's own ceiling (wrk, same request)", "–",
                     f"{num(t['wrk_rate'])} req/s (p99 {t['wrk_p99_ms']} ms)")
        else:
            self.add("SMS to the Twilio fake", "SQLite FULL", (t or {}).get("error", "–"))
        bu = self.burst
        if bu:
            self.add(f"{num(bu['n'])} reminders due at once, planned and sent", "SQLite FULL",
                     f"last sent after {bu['send_s']} s ({num(bu['rate'])} msg/s), "
                     f"first after {bu['first_ms']} ms"
                     + ("" if bu.get("ok") == 1 else " (CHECK FAILED)"))

        self.goals(full, pg)

    def goals(self, full, pg):
        self.section("issue 16's goals")
        v = self.val
        # Judged on the library's better shape of 16 callers: 16 threads
        # waiting in nudge_enqueue, or one thread keeping 16 outstanding
        # (nudge_enqueue_submit), as the peers' clients keep 16 promises.
        shapes = [(r, how) for r, how in ((self.q("nudge", full, "single"), "16 threads"),
                                          (self.q("nudge", full, "async"), "one thread, 16 outstanding"))
                  if v(r) is not None]
        single, how = max(shapes, key=lambda x: v(x[0])) if shapes else (None, "")
        s, p = v(single), v(single, "p99_ms")
        bull_ev = v(self.q("bullmq", "AOF everysec", "single"))
        self.goal("library single add, 16 callers", DUR[full], "≥ 28,000/s, p99 ≤ 3 ms, > BullMQ everysec",
                  f"{self.cell(single)} ({how})" if single else None,
                  None if s is None else s >= 28000 and p <= 3 and (bull_ev is None or s > bull_ev))
        post = self.api.get(("nudge", "post"))
        hs, hp = v(post, "req_per_s"), v(post, "p99_ms")
        bull_al = v(self.q("bullmq", "AOF always", "single"))
        self.goal("HTTP POST, 16 connections", DUR[full], "≥ 15,000/s, p99 ≤ 5 ms, > BullMQ always",
                  self.cell(post, "req_per_s") if post else None,
                  None if hs is None else hs >= 15000 and hp <= 5 and (bull_al is None or hs > bull_al))
        batch = self.q("nudge", full, "batch")
        b, ceil = v(batch), v(self.ceiling.get("txn"), "rows_per_s")
        self.goal("library batch enqueue", DUR[full], "≥ 250,000/s and ≥ ½ the 1,000-row ceiling",
                  self.cell(batch, p99=False) if batch else None,
                  None if b is None else b >= 250000 and (ceil is None or b >= ceil / 2))
        hb = self.api.get(("nudge", "batch"))
        hbv = v(hb) if hb and any(k[0] == "2" for k in hb.get("statuses", {})) else None
        self.goal("HTTP batch enqueue", DUR[full], "≥ 250,000 jobs/s",
                  self.cell(hb, p99=False) if hb else None, None if hbv is None else hbv >= 250000)
        burn = self.q("nudge", full, "burn")
        u, bull_burn = v(burn), v(self.q("bullmq", "AOF everysec", "burn"))
        self.goal("burn-down, no-op channel, 1 worker", DUR[full], "≥ 40,000/s and > 2× BullMQ",
                  self.cell(burn, p99=False) if burn else None,
                  None if u is None else u >= 40000 and (bull_burn is None or u > 2 * bull_burn))
        t = self.twilio if self.twilio and "error" not in self.twilio else None
        self.goal("to the Twilio fake", DUR[full], "≥ 80 % of the fake's wrk ceiling",
                  t and f"{100 * t['rate'] / t['wrk_rate']:.0f} %",
                  None if not t else t["rate"] >= 0.8 * t["wrk_rate"])
        # The burst is reminders, planned into messages and sent: judged on
        # the burst row (one loop doing both, as `nudge serve` does) where
        # it ran at 50,000; else on the plan row's time plus the Twilio
        # row's (what a run from before the burst row could say).
        bu = self.burst if self.burst and self.burst.get("ok") == 1 else None
        pl = self.plan if self.plan and self.plan.get("exactly_once") else None
        whole = t and pl and pl["plans"] == t["n"] and pl["plan_ms"] / 1000 + t["send_s"]
        if bu:
            self.goal("50,000 reminders due at once: the last sent", DUR[full], "within 10 s",
                      f"{bu['send_s']} s at N = {num(bu['n'])}, planned as they went "
                      f"(the fake's wrk ceiling for these reminders {num(bu['wrk_rate'])} req/s: "
                      f"{bu['n'] / bu['wrk_rate']:.2f} s for N)",
                      None if bu["n"] < 50000 else bu["send_s"] <= 10)
        else:
            self.goal("50,000 reminders due at once: the last sent", DUR[full], "within 10 s",
                      t and (f"{whole:.2f} s at N = {num(t['n'])} (planned in {pl['plan_ms'] / 1000:.2f} s, "
                             f"then sent in {t['send_s']} s)" if whole
                             else f"sent in {t['send_s']} s at N = {num(t['n'])}, planning not measured"),
                      None if not t or t["n"] < 50000 or not whole else whole <= 10)
        # steady (bench/steady.c): judged only where the rate was kept
        st = self.q("nudge", full, "steady")
        sp = v(st, "p99_ms")
        self.goal("steady 2,000/s: enqueue to send start", DUR[full], "p99 ≤ 5 ms",
                  st and (st.get("error") or f"p99 {st['p99_ms']} ms (p50 {st['p50_ms']} ms), "
                          f"{num(st['enqueue_per_s'])}/s enqueued of {num(st['rate'])}/s"
                          + (f"; the enqueue's own durable answer p99 {st['ack_p99_ms']} ms "
                             f"(p50 {st['ack_p50_ms']} ms)" if "ack_p99_ms" in st else "")),
                  None if sp is None else sp <= 5 and st["enqueue_per_s"] >= 0.95 * st["rate"])
        self.goal("API POST p99 at 16 connections", DUR[full], "≤ 10 ms",
                  hp is not None and f"{hp} ms", None if hp is None else hp <= 10)
        for route in ("get", "list"):
            a, fa = v(self.api.get(("nudge", route)), "req_per_s"), v(self.api.get(("fastapi", route)), "req_per_s")
            self.goal(f"API {route}: nudge vs FastAPI", "read", "≥ 2× FastAPI + uvicorn",
                      a is not None and fa and f"{a / fa:.1f}×",
                      None if a is None or not fa else a >= 2 * fa)
        lst = v(self.api.get(("nudge", "list")), "req_per_s")
        self.goal("API list pages of 50", "read", "≥ 10,000 req/s",
                  lst is not None and f"{num(lst)}/s", None if lst is None else lst >= 10000)
        pg_single = max((x for x in (v(self.q("nudge", pg, "single")), v(self.q("nudge", pg, "async")))
                         if x is not None), default=None)
        boss = v(self.q("pg-boss", pg, "single"))
        self.goal("PostgreSQL single add", DUR[pg], "≥ 5× pg-boss",
                  pg_single is not None and boss and f"{pg_single / boss:.1f}×",
                  None if pg_single is None or not boss else pg_single >= 5 * boss)
        pg_batch, gw = v(self.q("nudge", pg, "batch")), v(self.q("graphile-worker", pg, "batch"))
        self.goal("PostgreSQL batch", DUR[pg], "> graphile-worker",
                  pg_batch is not None and gw and f"{pg_batch / gw:.1f}×",
                  None if pg_batch is None or not gw else pg_batch > gw)
        boss_burn = v(self.q("pg-boss", pg, "burn"))
        for workers in (1, 4):
            rec = self.q("nudge", pg, "burn", workers)
            nb = v(rec)
            self.goal(f"PostgreSQL burn-down, {workers} worker{'s' if workers > 1 else ''}", DUR[pg],
                      "≥ 2× pg-boss", f"{nb / boss_burn:.1f}×" if nb is not None and boss_burn
                      else rec and self.cell(rec, p99=False),
                      None if nb is None or not boss_burn else nb >= 2 * boss_burn)

    def print(self):
        m = self.meta
        if "machine" in m:
            print(f"machine: {m['machine']}, nproc {m['nproc']}, {m['kernel']}, SQLite {m['sqlite']}; "
                  f"N {num(m['n'])}, {m['callers']} callers")
        if "versions" in m:
            print(f"beside: {m['versions']}")
        print()
        head = ("what", "durability", "measured", "goal", "met")
        print("| " + " | ".join(head) + " |")
        print("|---|---|---:|---|---|")
        for r in self.rows:
            print("| " + " | ".join(str(c) for c in r) + " |")
        print()
        if m.get("missing"):
            print(f"missing packages: {m['missing']}")
        if "seconds" in m:
            print(f"whole run: {m['seconds'] // 60} min {m['seconds'] % 60} s")


def main(argv):
    if len(argv) == 5 and argv[1] == "--wrk":
        return wrk_json(argv[2], argv[3], argv[4])
    if len(argv) != 2:
        sys.stderr.write("usage: table.py OUT | table.py --wrk FILE SERVER ROUTE\n")
        return 2
    lines = []
    for line in open(argv[1]):
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    t = Table(lines)
    t.build()
    t.print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
