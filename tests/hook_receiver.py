#!/usr/bin/env python3
"""hook_receiver.py: an integrator's endpoint for tests/hooks.sh, written
the way the README tells a receiver to verify nudge's outgoing webhooks,
with Python's own hmac module (independent of nudge's OpenSSL code).

  hook_receiver.py --port 0 --dir D --secret-file F [--fail N]

Listens on 127.0.0.1, prints "READY <port>". POST /hook*: the signature
is checked against the secret in F (read at each request: the test writes
it once `nudge webhook add` has printed it); the first N such requests are
answered 500 (to exercise retries), the rest 204. POST /chat*: a chat
room's incoming webhook, answered 200. Each request is appended to
D/requests.jsonl as {"path", "status", "verified", "id", "timestamp",
"event", "signature", "body"}.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument('--port', type=int, default=0)
ap.add_argument('--dir', required=True)
ap.add_argument('--secret-file', required=True)
ap.add_argument('--fail', type=int, default=0)
args = ap.parse_args()
state = {'hooks': 0}


def verify(secret, ts, body, header):
    """The README's recipe: HMAC-SHA256 over b"<timestamp>." + body under
    the secret's bytes, hex, compared in constant time with each v1= value
    of the header (several may be given while a secret rotates)."""
    want = hmac.new(secret.encode(), ts.encode() + b'.' + body, hashlib.sha256).hexdigest()
    for part in (header or '').split():
        if part.startswith('v1=') and hmac.compare_digest(part[3:], want):
            return True
    return False


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        rec = {'path': self.path, 'body': body.decode('utf-8', 'replace')}
        if self.path.startswith('/hook'):
            try:
                with open(args.secret_file) as f:
                    secret = f.read().strip()
            except OSError:
                secret = ''
            ts = self.headers.get('Nudge-Webhook-Timestamp') or ''
            rec.update(id=self.headers.get('Nudge-Webhook-Id'), timestamp=ts,
                       event=self.headers.get('Nudge-Webhook-Event'),
                       signature=self.headers.get('Nudge-Signature'),
                       verified=bool(secret) and verify(secret, ts, body,
                                                        self.headers.get('Nudge-Signature')))
            state['hooks'] += 1
            status = 500 if state['hooks'] <= args.fail else 204
        else:
            status = 200
        rec['status'] = status
        with open(os.path.join(args.dir, 'requests.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()


srv = ThreadingHTTPServer(('127.0.0.1', args.port), H)
print('READY %d' % srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
