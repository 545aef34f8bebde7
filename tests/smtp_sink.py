#!/usr/bin/python3
"""smtp_sink.py: a real SMTP server (aiosmtpd) for the SMTP channel's tests.

It keeps what it receives on disk so a C test can assert on it:
D/<n>.eml  the raw bytes of message n as received (after dot-unstuffing),
D/<n>.env  the envelope and session: mail_from, rcpt_tos, authenticated, peer,
D/<n>.json the message as Python's `email` package (policy=default) reads it:
           decoded subject, addresses, text and HTML parts.
Parsing in Python keeps the C tests honest: the message is judged by a real,
independent MIME parser rather than by code written alongside the sender.

  /usr/bin/python3 tests/smtp_sink.py --port P --dir D [--auth user:pass]
      [--reject-rcpt substring] [--tls-cert f --tls-key f]
  /usr/bin/python3 tests/smtp_sink.py --parse FILE   (prints FILE's .json form)

--port 0 picks a free port. Prints "READY <port>" once listening on
127.0.0.1, and stops on SIGTERM or SIGINT.
"""
import argparse
import email
import email.policy
import json
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import warnings


def parse_message(raw):
    """The fields the C tests check, decoded by a standard parser."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)

    def header(name):
        value = msg.get(name)
        return None if value is None else str(value)

    def part(subtype):
        body = msg.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_type() != "text/" + subtype:
            return None
        return body.get_content()

    return {
        "subject": header("Subject"),
        "from": header("From"),
        "from_name": msg["From"].addresses[0].display_name if msg["From"] else None,
        "from_addr": msg["From"].addresses[0].addr_spec if msg["From"] else None,
        "to": header("To"),
        "reply_to": header("Reply-To"),
        "date": header("Date"),
        "message_id": header("Message-ID"),
        "mime_version": header("MIME-Version"),
        "content_type": msg.get_content_type(),
        "parts": [p.get_content_type() for p in msg.walk()],
        "text": part("plain"),
        "html": part("html"),
        "defects": sum(len(p.defects) for p in msg.walk()),
    }


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Sink:
    def __init__(self, directory, reject):
        self.dir = directory
        self.reject = reject
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.dir, str(self.count))
        raw = envelope.original_content
        env = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
            "peer": list(session.peer) if session.peer else None,
        }
        write_atomic(base + ".eml", raw)
        write_atomic(base + ".env", json.dumps(env).encode())
        write_atomic(base + ".json",
                     json.dumps(parse_message(raw), ensure_ascii=False).encode())
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description="SMTP sink for nudge tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir")
    ap.add_argument("--auth", help="user:pass required before MAIL")
    ap.add_argument("--reject-rcpt", help="answer 550 to RCPT containing this")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--parse", help="print the parsed form of an .eml file and exit")
    ap.add_argument("--verbose", action="store_true", help="aiosmtpd's log on stderr")
    a = ap.parse_args()
    # Tests provoke failures on purpose (bad passwords, refused TLS);
    # aiosmtpd's warnings and tracebacks about them are noise unless asked.
    if not a.verbose:
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.CRITICAL + 1)
    else:
        logging.basicConfig(level=logging.DEBUG)

    if a.parse:
        with open(a.parse, "rb") as f:
            sys.stdout.write(json.dumps(parse_message(f.read()), ensure_ascii=False))
        return 0
    if not a.dir:
        ap.error("--dir is required")
    os.makedirs(a.dir, exist_ok=True)
    # Debian's python3-aiosmtpd (the pyenv python3 on PATH may not have it);
    # imported here so --parse works without it.
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    kwargs = {"hostname": "127.0.0.1", "port": a.port or free_port()}
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kwargs["tls_context"] = ctx
    if a.auth:
        user, _, password = a.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False: aiosmtpd then answers 535 itself; with the
            # default (True) it says nothing and the client waits forever.
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=bool(a.tls_cert))

    controller = Controller(Sink(a.dir, a.reject_rcpt), **kwargs)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller.start()
    print("READY", kwargs["port"], flush=True)
    while not stop.wait(3600):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
