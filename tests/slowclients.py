#!/usr/bin/env python3
"""slowclients.py: the bounded hostile client of tests/slowclients.sh.

Opens N connections to `nudge serve` from many loopback addresses
(127.1.0.1 and up, `--per-addr` each), in five kinds taken in turn:

  idle   connects and sends nothing
  line   drips a request line that never ends, a byte every 0.5 s
  head   sends a request line, then drips a header that never ends
  body   sends a whole head with Content-Length: 100000, then drips the body
  half   sends part of a head and half-closes (shutdown SHUT_WR)

plus `--same-addr` idle connections from one address (127.0.0.250) for the
per-client limit. Meanwhile a normal client (from 127.0.0.1, a new
connection each time) asks GET /healthz and an authenticated GET /v1/clinic
in turn, one every 50 ms. It stops when every hostile connection is closed
or at --deadline seconds, and prints KEY=VALUE lines for the shell to check:
what the normal client got, how each kind ended, and measurements (latency,
the server's peak open files) that are printed, never judged.
"""
import argparse
import os
import resource
import selectors
import socket
import statistics
import threading
import time

KINDS = ("idle", "line", "head", "body", "half")
OPENING = {
    "idle": b"",
    "line": b"GET /",
    "head": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: ",
    "body": (b"POST /v1/patients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000\r\n\r\n"),
    "half": b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
}
DRIP = {"line": b"a", "head": b"a", "body": b" "}


class Conn:
    __slots__ = ("sock", "kind", "opened", "closed", "got", "next_drip")

    def __init__(self, sock, kind, opened):
        self.sock, self.kind, self.opened = sock, kind, opened
        self.closed, self.got, self.next_drip = None, b"", opened + 0.5


def status_of(got):
    parts = got.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return parts[1].decode()
    return "eof"


def open_conn(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def request(port, path, key):
    """One request on a new connection: (status, seconds); status 0: no answer."""
    t0 = time.monotonic()
    try:
        s = open_conn("127.0.0.1", port)
        s.setblocking(True)
        s.settimeout(5)
        hdr = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if key:
            hdr += f"Authorization: Bearer {key}\r\n"
        s.sendall((hdr + "\r\n").encode())
        got = b""
        while b"\r\n" not in got:
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.close()
        st = status_of(got)
        return (int(st) if st.isdigit() else 0), time.monotonic() - t0
    except OSError:
        return 0, time.monotonic() - t0


def server_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def close_wait(port):
    """Sockets of the server's port in CLOSE-WAIT (/proc/net/tcp state 08)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if int(cols[1].split(":")[1], 16) == port and cols[3] == "08":
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("key")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--hostile", type=int, default=2000)
    ap.add_argument("--per-addr", type=int, default=50)
    ap.add_argument("--same-addr", type=int, default=100)
    ap.add_argument("--deadline", type=float, default=25)
    a = ap.parse_args()

    need = a.hostile + a.same_addr + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            print(f"SKIP=the open-file limit is {hard}, {need} are needed")
            return
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    state = {"open": 0, "stop": False}
    normal = []  # (what, status, seconds, hostile connections open)

    def normal_client():
        i = 0
        while not state["stop"]:
            path, key = (("/healthz", None), ("/v1/clinic", a.key))[i % 2]
            st, sec = request(a.port, path, key)
            normal.append((path, st, sec, state["open"]))
            i += 1
            time.sleep(0.05)

    sel = selectors.DefaultSelector()
    conns, failed_connect = [], 0
    peak_fds = server_fds(a.pid)
    t_start = time.monotonic()
    worker = threading.Thread(target=normal_client, daemon=True)
    worker.start()

    def on_readable(c, now):
        try:
            b = c.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            b = b""
        if b:
            c.got += b
            return
        c.closed = now
        sel.unregister(c.sock)
        c.sock.close()
        state["open"] -= 1

    def pump(timeout):
        now = time.monotonic()
        for key, _ in sel.select(timeout):
            on_readable(key.data, now)

    def add(src, kind):
        nonlocal failed_connect
        try:
            s = open_conn(src, a.port)
        except OSError:
            failed_connect += 1
            return None
        c = Conn(s, kind, time.monotonic())
        try:
            if OPENING[kind]:
                s.send(OPENING[kind])
            if kind == "half":
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sel.register(s, selectors.EVENT_READ, c)
        state["open"] += 1
        conns.append(c)
        return c

    for i in range(a.hostile):
        k = i // a.per_addr
        add(f"127.1.{k // 250}.{k % 250 + 1}", KINDS[i % len(KINDS)])
        if i % 100 == 99:
            pump(0)
    hostile = list(conns)
    same = [c for c in (add("127.0.0.250", "idle") for _ in range(a.same_addr)) if c]
    t_opened = time.monotonic()
    peak_open = state["open"]

    # Drip and watch until every hostile connection is closed.
    last_fd_look = 0.0
    while state["open"] > 0 and time.monotonic() - t_start < a.deadline:
        pump(0.05)
        now = time.monotonic()
        peak_open = max(peak_open, state["open"])
        if now - last_fd_look >= 0.25:
            peak_fds = max(peak_fds, server_fds(a.pid))
            last_fd_look = now
        for c in conns:
            if c.closed is None and c.kind in DRIP and now >= c.next_drip:
                c.next_drip = now + 0.5
                try:
                    c.sock.send(DRIP[c.kind])
                except OSError:
                    pass
    state["stop"] = True
    worker.join(10)
    t_end = time.monotonic()
    time.sleep(0.3)  # the server's last closes reach the kernel's table
    cw = close_wait(a.port)
    for c in conns:
        if c.closed is None:
            c.sock.close()

    def out(k, v):
        print(f"{k}={v}")

    out("ELAPSED_S", f"{t_end - t_start:.1f}")
    out("OPENED", len(hostile))
    out("CONNECT_FAILED", failed_connect)
    out("OPENED_IN_S", f"{t_opened - t_start:.2f}")
    out("PEAK_OPEN", peak_open)
    out("PEAK_SERVER_FDS", peak_fds)
    out("STILL_OPEN", sum(1 for c in conns if c.closed is None))
    out("CLOSE_WAIT_AFTER", cw)
    for kind in KINDS:
        ks = [c for c in hostile if c.kind == kind]
        closed = [c for c in ks if c.closed is not None]
        lives = [c.closed - c.opened for c in closed]
        statuses = {}
        for c in closed:
            st = status_of(c.got)
            statuses[st] = statuses.get(st, 0) + 1
        out(f"{kind.upper()}_OPENED", len(ks))
        out(f"{kind.upper()}_CLOSED", len(closed))
        out(f"{kind.upper()}_ENDS", "/".join(f"{k}:{v}" for k, v in sorted(statuses.items())))
        if lives:
            out(f"{kind.upper()}_LIFE_MAX_S", f"{max(lives):.2f}")
    # Refused at once: closed within 0.5 s of opening without a byte sent.
    out("SAME_REFUSED", sum(1 for c in same if c.closed and c.closed - c.opened < 0.5))
    out("SAME_ACCEPTED", sum(1 for c in same if not c.closed or c.closed - c.opened >= 0.5))
    ok = [x for x in normal if x[1] == 200]
    out("NORMAL_SENT", len(normal))
    out("NORMAL_OK", len(ok))
    out("NORMAL_HEALTHZ_OK", sum(1 for x in ok if x[0] == "/healthz"))
    out("NORMAL_AUTH_OK", sum(1 for x in ok if x[0] == "/v1/clinic"))
    # Answered while at least 500 hostile connections were open.
    out("NORMAL_OK_UNDER_ATTACK", sum(1 for x in ok if x[3] >= 500))
    out("NORMAL_FAILED", ";".join(f"{p}:{s}:{sec:.1f}s" for p, s, sec, _ in normal
                                  if s != 200)[:300] or "-")
    if ok:
        lat = sorted(x[2] * 1000 for x in ok)
        out("NORMAL_MS_MEDIAN", f"{statistics.median(lat):.1f}")
        out("NORMAL_MS_P95", f"{lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0]:.1f}")
        out("NORMAL_MS_MAX", f"{lat[-1]:.1f}")
        out("NORMAL_UNDER_100MS", f"{sum(1 for x in lat if x < 100)}/{len(lat)}")


if __name__ == "__main__":
    main()
