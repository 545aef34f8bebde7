#!/usr/bin/python3
"""whatsapp_fake.py: a fake of the WhatsApp Business Cloud API (Meta Graph)
for nudge's tests.

It checks each send as Meta documents it, answers like Meta (including its
error bodies), keeps the 24-hour customer-service window, can be told to
fail, and sends signed status and inbound-message webhooks back to nudge.
Python 3.11 standard library (and fake_common.py beside it).

  /usr/bin/python3 tests/whatsapp_fake.py --port 0 --token BEARER \
      --phone-number-id 123456 --app-secret SECRET [--version v23.0] \
      [--waba-id 102290129340398] [--display-phone-number 15550783881] \
      [--dir D] [--keep N] [--verbose]
  /usr/bin/python3 tests/whatsapp_fake.py --sign SECRET FILE
      prints "sha256=<hex>" for FILE's bytes ("-": stdin)

Listens on 127.0.0.1 only; --port 0 picks a free port. Prints "READY <port>"
once listening and stops on SIGTERM or SIGINT. --dir D appends every
recorded request to D/requests.jsonl and every webhook sent to
D/callbacks.jsonl. --keep N keeps only the last N records in memory.

Sending: POST /{version}/{phone-number-id}/messages
---------------------------------------------------
Checked in this order; every error body is Meta's:
  {"error":{"message":...,"type":"OAuthException","code":N,
            "error_data":{"messaging_product":"whatsapp","details":...},
            "fbtrace_id":...}}
  Authorization: Bearer <--token>  else 401, code 190 "Invalid OAuth access
                                   token." (no error_data), with
                                   WWW-Authenticate: OAuth "Facebook Platform"
                                   "invalid_token" "Invalid OAuth access token."
  the path is /{v}/{id}/messages   else 400, code 2500 "Unknown path
                                   components: ..." (reason "path")
  {v} is --version                 else 400, code 2500 (reason "version")
  {id} is --phone-number-id        else 400, code 100, error_subcode 33
                                   "Unsupported post request. Object with ID
                                   ... does not exist ..." (reason
                                   "phone-number-id")
  POST                             else 400, code 100 "Unsupported get
                                   request." (reason "method")
  Content-Type application/json (parameters allowed)
                                   else 400, code 100 "(#100) The parameter
                                   messaging_product is required." (Graph
                                   reads a non-JSON body as form fields;
                                   reason "content-type")
  a JSON object                    else 400, code 100 (reason "json")
  messaging_product present        else 400, code 100 "(#100) The parameter
                                   messaging_product is required."
Every other check answers 400, code 100, message "(#100) Invalid
parameter", with error_data.details saying what (reason: the field):
  messaging_product "whatsapp"; recipient_type, if present, "individual";
  to: digits only, no '+', 8-15 digits, no leading 0;
  type present (Meta itself defaults a missing type to text: the fake is
  stricter, so a missing type is caught) and one of text, template,
  document, interactive; the object named by type present and an object; no
  object of another message type (text, template, document, interactive,
  image, audio, video, sticker, location, contacts, reaction) beside it;
  context, if present, {"message_id": string}; biz_opaque_callback_data, if
  present, a string of at most 512 characters.
  text: {body: 1..4096 characters, preview_url: boolean (optional)}, no
    other member.
  template: {name: ^[a-z0-9_]{1,512}$, language: {code: ^[a-z]{2,3}(_[A-Z]{2})?$
    e.g. "en", "en_US", "hi"; policy optional, "deterministic" if present
    (the spec's LanguageObject wrongly requires it: the fake does not)},
    components (optional): a list of {type: header|body|button|footer, ...};
    for body (and header) components, parameters: a list of {type: text,
    text: non-empty string with no newline or tab and no more than 4
    consecutive spaces (Meta's "Param text cannot have new-line/tab
    characters or more than 4 consecutive spaces")} (currency, date_time,
    image, document, video parameters accepted with their object)}.
    With control "templates" set, an unknown name or language answers
    132001 "(#132001) Template name does not exist in the translation" and a
    wrong count of body parameters 132000 "(#132000) Number of parameters
    does not match the expected number of params".
  document: {link: absolute http(s) URL with a host, or id: string;
    filename (optional string), caption (optional, at most 1024)}, no other
    member.
  interactive: {type: "button", body: {text: 1..1024}, header (optional,
    {type: text, text: 1..60}), footer (optional, {text: 1..60}),
    action: {buttons: 1..3 of {type: "reply", reply: {id: 1..256, no
    leading or trailing space, unique; title: 1..20 characters, unique}}}}.
Unknown top-level members are accepted and listed under "unknown".

200 answers {"messaging_product":"whatsapp","contacts":[{"input":<to>,
"wa_id":<to>}],"messages":[{"id":"wamid.<base64>"}]}. Bodies (answers and
webhooks) are serialised as Meta does: compact, non-ASCII as \\uXXXX, '/'
as '\\/'. A wamid is "wamid." + standard base64 (with '=' padding, possibly
'+' and '/') that embeds the recipient, like Meta's "wamid.HBgM...AA==".
Answers carry Content-Type: application/json; charset=UTF-8, x-fb-trace-id
and x-fb-request-id.

The 24-hour customer-service window: per recipient, the time of their last
inbound message (control "window_open", or POST /_inbound). A text,
document or interactive message to someone without an open window is
answered 200 with a wamid like any other, and then a "failed" status
webhook with error 131047 follows (as Meta does); templates are always
allowed. The record says "window": "open" | "closed" | "template".

Error codes (sync: answered at once; async: 200, then a failed webhook):
  100     400 sync   (#100) Invalid parameter
  190     401 sync   Invalid OAuth access token.
  4       429 sync   (#4) Application request limit reached        transient
  80007   429 sync   (#80007) Rate limit issues                     transient
  130429  429 sync   (#130429) Rate limit hit                       transient
  131056  429 sync   (#131056) (Business Account, Consumer Account) pair
                     rate limit hit                                 transient
  131000  500 sync   (#131000) Something went wrong                 transient
  131016  503 sync   (#131016) Service unavailable                  transient
  131008  400 sync   (#131008) Required parameter is missing
  131009  400 sync   (#131009) Parameter value is not valid
  131051  400 sync   (#131051) Unsupported message type
  132000  400 sync   (#132000) Number of parameters does not match ...
  132001  400 sync   (#132001) Template name does not exist in the translation
  133010  400 sync   (#133010) Account not registered
  131026  async      Message undeliverable                          permanent
  131047  async      Re-engagement message (outside the window)     permanent
  131049  async      This message was not delivered to maintain healthy
                     ecosystem engagement
  other codes: 400 sync, "(#N) Error N".
Meta answers throughput errors with HTTP 400 or 429 depending on the
path; classify by error.code, not only by the HTTP status: an answer
{"code": 130429, "status": 400} proves nudge does.

Test control (JSON in and out, never recorded as requests)
----------------------------------------------------------
POST /_control  {"next": [answer, ...]}, {"append": [...]}, {"default":
                answer | null}: each POST on the messages path (whatever it
                carries) consumes one answer, an object of:
                  "status": n        HTTP status, with Meta's body for it
                                     (401 -> 190, 429 -> 130429, 500 -> 131000,
                                     503 -> 131016, other 5xx -> 131000,
                                     400 -> 100)
                  "code": n          a Meta error code (status from the table
                                     above unless "status" is given)
                  "message": "...", "details": "..."  override the error's
                  "async": bool      for a code: 200 now and a failed webhook
                                     with the code later (default: true for
                                     131026, 131047, 131049), or answer it at
                                     once; an async code only applies to a
                                     valid request (else the check's error
                                     is answered)
                  "retry_after": n   adds a Retry-After header
                  "delay_ms": n      waits first; alone, then answers normally
                  "drop": true | "rst"  closes (or resets) without answering
                  "statuses": [...]  alone: accept normally, send these
                                     statuses for this message only
                  "repeat": n        this answer serves n requests
                The request is still checked and recorded.
                Webhook settings:
                {"webhook_url": "http://127.0.0.1:PORT/webhooks/whatsapp"} or
                  null: where webhooks go (loopback only). Nothing is sent
                  while it is null.
                {"statuses": ["sent", "delivered", "read"]}: after each
                  accepted message, POST these statuses in order from a
                  background thread, after the 200 went out ("failed" in the
                  list uses "failed_code"). A message that fails (window
                  closed, async code) gets ["failed"] instead, whatever the
                  list. Default [].
                {"failed_code": 131026}: the code of a "failed" in statuses.
                {"batch": true}: a message's statuses go in one POST, spread
                  over entries and changes: entry[0].changes[0] holds the
                  first, entry[0].changes[1] the second, entry[1].changes[0]
                  all the others (one status alone: a normal POST).
                {"sign_with": null | false | "KEY"}: sign with the app
                  secret (null, default), send no signature headers (false),
                  or sign with KEY instead (a wrong key).
                {"tamper": true}: sign the body, then change it (the last
                  digit of the first "timestamp" value) before sending.
                {"webhook_delay_ms": n}: a pause before each webhook POST.
                Window settings:
                {"window_open": ["919812345678", ...]} opens windows now;
                  {"window_open": {"919812345678": 3600}} opened 3600 s ago
                  (90000: already closed).
                {"window_close": ["919812345678", ...]} closes them.
                {"window_enforce": false} sends free-form messages without
                  looking at the window (default true).
                {"window_hours": 24}.
                {"templates": {"appointment_reminder": {"hi": 3, "en": 3}}}:
                  the approved templates and their body parameter counts;
                  null (default): any template is approved.
                Answers the control state (windows as seconds since opened).
GET  /_control  the control state.
GET  /_requests the records, oldest first (?since=N). Each: n, time,
                method, path, query, headers (names lowercased), auth
                {present, ok}, content_type, raw (the body), json (decoded or
                null), unknown, valid, error {code, message, details, reason}
                or null, injected, status (null when dropped), dropped,
                response, wamid, to, type, window, async_error {code, title}
                or null, webhook_statuses (the statuses queued for it).
GET  /_callbacks (also /_webhooks) every webhook sent: n, time, kind
                ("status", "inbound", "raw", "verify"), url, wamids,
                statuses, payload (the exact body sent), signature (the
                X-Hub-Signature-256 sent, or null), status (nudge's answer)
                or null, content_type, body, error.
GET  /_stats    {"requests", "accepted", "rejected", "dropped", "by_status",
                 "callbacks_sent", "callbacks_pending"}
POST /_reset    back to the state at start (windows and messages too).
POST /_inbound  {"from": "919812345678", "text": "C"}
                or {"from": ..., "button": {"id": "confirm", "title": "Confirm"}}
                  (a reply button tapped: type "interactive", interactive
                  {type "button_reply", button_reply {id, title}})
                or {"from": ..., "quick_reply": {"payload": "...", "text": "..."}}
                  (a template quick-reply button: type "button", button
                  {payload, text})
                optional: "name" (profile name, default "Test Patient"),
                "context_id" (the wamid replied to; default the last one sent
                to that number, for button replies; a text carries a context
                only when given one, as a swipe-reply does), "id", "timestamp",
                "url", "sign_with", "tamper".
                Opens the sender's window, POSTs Meta's signed inbound
                webhook to webhook_url (or "url") and answers {"status",
                "body", "content_type", "payload", "signature", "id",
                "error"} with nudge's answer.
POST /_status   {"statuses": [{"id": wamid, "status": "delivered",
                "recipient_id"?: (known for the fake's own wamids),
                "timestamp"?, "code"?: failed code, "errors"?: [...]}, ...],
                "batch"?, "url"?, "sign_with"?, "tamper"?}: sends these
                statuses now, in this order (out of order, duplicates: as
                given), and answers {"results": [nudge's answers]}.
POST /_webhook  {"body": "raw text" | object, "url"?, "sign_with"?,
                "tamper"?}: POSTs exactly that body (an object serialised
                as Meta does), signed; answers nudge's answer (replays).
GET  /_verify?url=U&token=T&challenge=N[&mode=subscribe]
                performs Meta's verification: GET
                U?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T
                (challenge default: random digits) and answers {"status",
                "body", "content_type", "challenge", "echoed" (body ==
                challenge), "url", "error"}.
GET  /_health   200 "ok".

Webhooks, byte for byte
-----------------------
POST <webhook_url>, headers:
  Content-Type: application/json
  User-Agent: facebookexternalua
  X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body, same key>
  X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256 of the raw body,
                                keyed with the app secret>
Status body (one status; keys in this order):
  {"object":"whatsapp_business_account","entry":[{"id":"<waba-id>",
   "changes":[{"value":{"messaging_product":"whatsapp","metadata":
   {"display_phone_number":"<display>","phone_number_id":"<id>"},
   "statuses":[{"id":"wamid...","status":"sent","timestamp":"<unix secs>",
   "recipient_id":"<to>", "biz_opaque_callback_data":... (when the send had
   it), "pricing":{"billable":...,"pricing_model":"PMP","category":
   "utility"|"service","type":"regular"|"free_customer_service"} (sent and
   delivered only), "errors":[{"code":131047,"title":"Re-engagement
   message","message":"Re-engagement message","error_data":{"details":"..."},
   "href":"https:\\/\\/developers.facebook.com\\/docs\\/whatsapp\\/cloud-api\\/support\\/error-codes\\/"}]
   (failed only)}]},"field":"messages"}]}]}
Inbound body: the same envelope with value {"messaging_product",
  "metadata", "contacts":[{"profile":{"name":...},"wa_id":<from>}],
  "messages":[{"context":{"from":<display>,"id":<wamid>} (buttons, and
  texts given a context_id),
  "from":<from>,"id":"wamid...","timestamp":"<unix secs>","type":"text",
  "text":{"body":...}}]} (or "type":"interactive","interactive":{"type":
  "button_reply","button_reply":{"id":...,"title":...}}, or "type":"button",
  "button":{"payload":...,"text":...}).
"""
import sys

sys.dont_write_bytecode = True

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_common as fc  # noqa: E402

MESSAGES_PATH = re.compile(r"^/([^/]+)/([^/]+)/messages$")
TO = re.compile(r"^[1-9][0-9]{7,14}$")
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
TYPES = ("text", "template", "document", "interactive")
ALL_TYPES = TYPES + ("image", "audio", "video", "sticker", "location", "contacts",
                     "reaction")
TOP_KEYS = {"messaging_product", "recipient_type", "to", "type", "context",
            "biz_opaque_callback_data"}
HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code: (HTTP status, message, title, details)
ERRORS = {
    100: (400, "(#100) Invalid parameter", "Invalid parameter", "Invalid parameter"),
    190: (401, "Invalid OAuth access token.", "Invalid OAuth access token", ""),
    4: (429, "(#4) Application request limit reached", "Application request limit reached",
        "Application request limit reached"),
    80007: (429, "(#80007) Rate limit issues", "Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: (429, "(#130429) Rate limit hit", "Rate limit hit",
             "Cloud API message throughput has been reached."),
    131056: (429, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
    131000: (500, "(#131000) Something went wrong", "Something went wrong",
             "Message failed to send due to an unknown error."),
    131016: (503, "(#131016) Service unavailable", "Service unavailable",
             "A service is temporarily unavailable."),
    131008: (400, "(#131008) Required parameter is missing", "Required parameter is missing",
             "A required parameter is missing."),
    131009: (400, "(#131009) Parameter value is not valid", "Parameter value is not valid",
             "One or more parameter values are invalid."),
    131051: (400, "(#131051) Unsupported message type", "Unsupported message type",
             "Message type is not currently supported."),
    132000: (400, "(#132000) Number of parameters does not match the expected number of "
             "params", "Number of parameters does not match the expected number of params",
             "The number of variable parameter values does not match the template."),
    132001: (400, "(#132001) Template name does not exist in the translation",
             "Template name does not exist in the translation",
             "The template does not exist in the specified language."),
    133010: (400, "(#133010) Account not registered", "Account not registered",
             "The phone number is not registered on the WhatsApp Business Platform."),
    131026: (400, "(#131026) Message undeliverable", "Message undeliverable",
             "Message Undeliverable."),
    131047: (400, "(#131047) Re-engagement message", "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the "
             "customer last replied to this number."),
    131049: (400, "(#131049) This message was not delivered to maintain healthy ecosystem "
             "engagement.", "This message was not delivered to maintain healthy "
             "ecosystem engagement.", "In order to maintain a healthy ecosystem "
             "engagement, the message failed to be delivered."),
}
ASYNC_CODES = {131026, 131047, 131049}
STATUS_CODE = {400: 100, 401: 190, 429: 130429, 500: 131000, 503: 131016}
WEBHOOK_STATUSES = ("sent", "delivered", "read", "failed")


def meta_json(obj):
    """JSON as Meta serialises it: compact, non-ASCII as \\uXXXX (surrogate
    pairs beyond the BMP), '/' as '\\/'. ('/' only ever occurs inside
    strings in JSON text, so the replacement is safe.)"""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def hub_signature(key, body, algo="sha256"):
    mac = hmac.new(key.encode("utf-8"), body, getattr(hashlib, algo))
    return "%s=%s" % (algo, mac.hexdigest())


def fbtrace():
    return secrets.token_urlsafe(17)[:23]


def new_wamid(to):
    raw = (b"\x1c\x18" + bytes([len(to) & 0x7F]) + to.encode("ascii", "replace") +
           b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(raw).decode("ascii")


def meta_error(code, status=None, message=None, details=None, subcode=None):
    st, msg, _title, det = ERRORS.get(code, (400, "(#%d) Error %d" % (code, code),
                                             "Error %d" % code, "Error %d" % code))
    err = {"message": message if message is not None else msg, "type": "OAuthException",
           "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    if code not in (190, 2500) and not (code == 100 and subcode == 33):
        err["error_data"] = {"messaging_product": "whatsapp",
                             "details": details if details is not None else det}
    err["fbtrace_id"] = fbtrace()
    return status or st, {"error": err}


def title_of(code):
    return ERRORS.get(code, (0, "", "Error %d" % code, ""))[2]


def details_of(code):
    return ERRORS.get(code, (0, "", "", "Error %d" % code))[3]


def valid_link(u):
    if not isinstance(u, str) or " " in u or len(u) > 2048:
        return False
    try:
        p = urllib.parse.urlsplit(u)
        p.port
    except ValueError:
        return False
    return p.scheme in ("http", "https") and bool(p.hostname)


class Invalid(Exception):
    def __init__(self, details, reason, code=100, message=None):
        super().__init__(details)
        self.details, self.reason, self.code, self.message = details, reason, code, message


def strlen_ok(v, lo, hi):
    return isinstance(v, str) and lo <= len(v) <= hi


def only_keys(obj, allowed, where):
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise Invalid("%s: unexpected member %s" % (where, extra[0]), where)


def check_param_text(t, where):
    if not isinstance(t, str) or not t:
        raise Invalid("%s: text must be a non-empty string" % where, where)
    if "\n" in t or "\t" in t or "     " in t:
        raise Invalid("Param text cannot have new-line/tab characters or more than 4 "
                      "consecutive spaces", where)


def validate(body, templates):
    """Raises Invalid for what Meta would refuse; returns the unknown
    top-level members."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", "json")
    if "messaging_product" not in body:
        raise Invalid("The parameter messaging_product is required.", "messaging_product",
                      message="(#100) The parameter messaging_product is required.")
    if body["messaging_product"] != "whatsapp":
        raise Invalid("messaging_product must be \"whatsapp\"", "messaging_product")
    if "recipient_type" in body and body["recipient_type"] != "individual":
        raise Invalid("recipient_type must be \"individual\"", "recipient_type")
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise Invalid("The parameter to is required.", "to")
    if not TO.match(to):
        raise Invalid("to must be the phone number in international format, digits only "
                      "(no '+'), 8 to 15 digits", "to")
    if "type" not in body:
        raise Invalid("The parameter type is required.", "type")
    typ = body["type"]
    if typ not in TYPES:
        raise Invalid("type must be one of %s (this fake)" % ", ".join(TYPES), "type")
    for other in ALL_TYPES:
        if other != typ and other in body:
            raise Invalid("%s object given with type %s" % (other, typ), other)
    if "context" in body:
        c = body["context"]
        if not isinstance(c, dict) or not isinstance(c.get("message_id"), str):
            raise Invalid("context must be {\"message_id\": string}", "context")
    if "biz_opaque_callback_data" in body and not strlen_ok(
            body["biz_opaque_callback_data"], 0, 512):
        raise Invalid("biz_opaque_callback_data: a string of at most 512 characters",
                      "biz_opaque_callback_data")
    obj = body.get(typ)
    if not isinstance(obj, dict):
        raise Invalid("The parameter %s is required." % typ, typ)

    if typ == "text":
        only_keys(obj, ("body", "preview_url"), "text")
        if not isinstance(obj.get("body"), str) or not obj["body"]:
            raise Invalid("The parameter text['body'] is required.", "text.body")
        if len(obj["body"]) > 4096:
            raise Invalid("text.body is longer than 4096 characters", "text.body")
        if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
            raise Invalid("text.preview_url must be a boolean", "text.preview_url")

    elif typ == "template":
        name = obj.get("name")
        if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
            raise Invalid("template.name must match ^[a-z0-9_]{1,512}$", "template.name")
        lang = obj.get("language")
        if not isinstance(lang, dict):
            raise Invalid("The parameter template['language'] is required.",
                          "template.language")
        code = lang.get("code")
        if not isinstance(code, str) or not LANG_CODE.match(code):
            raise Invalid("template.language.code must be a language code such as en, "
                          "en_US or hi", "template.language.code")
        if "policy" in lang and lang["policy"] != "deterministic":
            raise Invalid("template.language.policy must be \"deterministic\"",
                          "template.language.policy")
        comps = obj.get("components", [])
        if not isinstance(comps, list):
            raise Invalid("template.components must be a list", "template.components")
        nbody = 0
        for i, comp in enumerate(comps):
            where = "template.components[%d]" % i
            if not isinstance(comp, dict) or comp.get("type") not in (
                    "header", "body", "button", "footer"):
                raise Invalid(where + ".type must be header, body, button or footer", where)
            params = comp.get("parameters", [])
            if not isinstance(params, list):
                raise Invalid(where + ".parameters must be a list", where)
            for j, p in enumerate(params):
                pw = "%s.parameters[%d]" % (where, j)
                if not isinstance(p, dict) or not isinstance(p.get("type"), str):
                    raise Invalid(pw + ".type is required", pw)
                pt = p["type"]
                if pt == "text":
                    check_param_text(p.get("text"), pw)
                elif pt in ("currency", "date_time", "image", "document", "video",
                            "payload", "action", "location"):
                    if not isinstance(p.get(pt), (dict, str)):
                        raise Invalid("%s.%s is required" % (pw, pt), pw)
                else:
                    raise Invalid(pw + ".type is not a parameter type", pw)
            if comp["type"] == "body":
                nbody += len(params)
        if templates is not None:
            known = templates.get(name)
            if not isinstance(known, dict) or code not in known:
                raise Invalid("template name (%s) does not exist in %s" % (name, code),
                              "template.name", code=132001)
            want = known[code]
            if isinstance(want, int) and want != nbody:
                raise Invalid("body: number of localizable_params (%d) does not match the "
                              "expected number of params (%d)" % (nbody, want),
                              "template.components", code=132000)

    elif typ == "document":
        only_keys(obj, ("link", "id", "filename", "caption"), "document")
        if "link" in obj:
            if not valid_link(obj["link"]):
                raise Invalid("document.link must be an absolute http(s) URL",
                              "document.link")
        elif not strlen_ok(obj.get("id"), 1, 256):
            raise Invalid("document needs link or id", "document.link")
        if "filename" in obj and not strlen_ok(obj["filename"], 1, 240):
            raise Invalid("document.filename must be a non-empty string", "document.filename")
        if "caption" in obj and not strlen_ok(obj["caption"], 0, 1024):
            raise Invalid("document.caption: at most 1024 characters", "document.caption")

    elif typ == "interactive":
        only_keys(obj, ("type", "header", "body", "footer", "action"), "interactive")
        if obj.get("type") != "button":
            raise Invalid("interactive.type must be \"button\" (this fake)",
                          "interactive.type")
        b = obj.get("body")
        if not isinstance(b, dict) or not strlen_ok(b.get("text"), 1, 1024):
            raise Invalid("interactive.body.text: 1 to 1024 characters", "interactive.body")
        if "header" in obj:
            h = obj["header"]
            if not isinstance(h, dict) or h.get("type") != "text" or not strlen_ok(
                    h.get("text"), 1, 60):
                raise Invalid("interactive.header: {type: text, text: 1 to 60 characters}",
                              "interactive.header")
        if "footer" in obj:
            f = obj["footer"]
            if not isinstance(f, dict) or not strlen_ok(f.get("text"), 1, 60):
                raise Invalid("interactive.footer.text: 1 to 60 characters",
                              "interactive.footer")
        a = obj.get("action")
        if not isinstance(a, dict) or not isinstance(a.get("buttons"), list):
            raise Invalid("The parameter interactive['action']['buttons'] is required.",
                          "interactive.action")
        buttons = a["buttons"]
        if not 1 <= len(buttons) <= 3:
            raise Invalid("interactive.action.buttons: 1 to 3 buttons",
                          "interactive.action.buttons")
        ids, titles = set(), set()
        for i, btn in enumerate(buttons):
            where = "interactive.action.buttons[%d]" % i
            if not isinstance(btn, dict) or btn.get("type") != "reply":
                raise Invalid(where + ".type must be \"reply\"", where)
            r = btn.get("reply")
            if not isinstance(r, dict):
                raise Invalid(where + ".reply is required", where)
            bid, title = r.get("id"), r.get("title")
            if not strlen_ok(bid, 1, 256) or bid != bid.strip():
                raise Invalid(where + ".reply.id: 1 to 256 characters, no leading or "
                              "trailing space", where + ".reply.id")
            if not strlen_ok(title, 1, 20):
                raise Invalid(where + ".reply.title: 1 to 20 characters",
                              where + ".reply.title")
            if bid in ids:
                raise Invalid("Button id is not unique", where + ".reply.id")
            if title in titles:
                raise Invalid("Button title is not unique", where + ".reply.title")
            ids.add(bid)
            titles.add(title)
    return sorted(k for k in body if k not in TOP_KEYS and k != typ)


class WAState(fc.State):
    def reset_extra(self):
        self.webhook_url = None
        self.statuses = []
        self.failed_code = 131026
        self.batch = False
        self.sign_with = None
        self.tamper = False
        self.webhook_delay_ms = 0
        self.windows = {}
        self.window_enforce = True
        self.window_hours = 24
        self.templates = None
        self.messages = {}   # wamid -> {"to", "type", "biz"}
        self.last_to = {}    # number -> last wamid sent to it

    def control_extra(self):
        now = time.time()
        return {"webhook_url": self.webhook_url, "statuses": self.statuses,
                "failed_code": self.failed_code, "batch": self.batch,
                "sign_with": self.sign_with, "tamper": self.tamper,
                "webhook_delay_ms": self.webhook_delay_ms,
                "windows": {k: round(now - v, 3) for k, v in self.windows.items()},
                "window_enforce": self.window_enforce, "window_hours": self.window_hours,
                "templates": self.templates}

    def apply_control(self, req):
        if "webhook_url" in req:
            u = req["webhook_url"]
            if u is not None and not valid_link(u):
                return "webhook_url: an http(s) URL or null"
            self.webhook_url = u
        if "statuses" in req:
            s = req["statuses"] or []
            if not isinstance(s, list) or any(x not in WEBHOOK_STATUSES for x in s):
                return "statuses: a list of sent, delivered, read, failed"
            self.statuses = list(s)
        if "failed_code" in req:
            self.failed_code = int(req["failed_code"])
        if "batch" in req:
            self.batch = bool(req["batch"])
        if "sign_with" in req:
            if req["sign_with"] not in (None, False) and not isinstance(req["sign_with"], str):
                return "sign_with: null, false or a key"
            self.sign_with = req["sign_with"]
        if "tamper" in req:
            self.tamper = bool(req["tamper"])
        if "webhook_delay_ms" in req:
            self.webhook_delay_ms = float(req["webhook_delay_ms"] or 0)
        if "window_open" in req:
            w = req["window_open"]
            now = time.time()
            if isinstance(w, list):
                w = {k: 0 for k in w}
            if not isinstance(w, dict):
                return "window_open: a list of numbers or {number: seconds ago}"
            for k, ago in w.items():
                self.windows[str(k).lstrip("+")] = now - float(ago or 0)
        if "window_close" in req:
            for k in req["window_close"] or []:
                self.windows.pop(str(k).lstrip("+"), None)
        if "window_enforce" in req:
            self.window_enforce = bool(req["window_enforce"])
        if "window_hours" in req:
            self.window_hours = float(req["window_hours"])
        if "templates" in req:
            t = req["templates"]
            if t is not None and not isinstance(t, dict):
                return "templates: {name: {language: body parameter count}} or null"
            self.templates = t
        return None

    def window_open(self, to):
        t = self.windows.get(to)
        return t is not None and time.time() - t < self.window_hours * 3600


def envelope(args, changes):
    """changes: a list of entries, each a list of values (dicts without
    messaging_product and metadata)."""
    meta = {"display_phone_number": args.display_phone_number,
            "phone_number_id": args.phone_number_id}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": args.waba_id,
                       "changes": [{"value": dict({"messaging_product": "whatsapp",
                                                   "metadata": meta}, **v),
                                    "field": "messages"} for v in entry]}
                      for entry in changes]}


def batch_layout(items):
    """entry[0].changes[0] = the first, entry[0].changes[1] = the second,
    entry[1].changes[0] = all the others."""
    out = [[{"statuses": [items[0]]}]]
    if len(items) > 1:
        out[0].append({"statuses": [items[1]]})
    if len(items) > 2:
        out.append([{"statuses": items[2:]}])
    return out


def status_obj(wamid, st, to, info=None, code=None, ts=None, errors=None):
    o = {"id": wamid, "status": st, "timestamp": str(int(ts if ts is not None else time.time())),
         "recipient_id": to}
    info = info or {}
    if info.get("biz") is not None:
        o["biz_opaque_callback_data"] = info["biz"]
    if st in ("sent", "delivered"):
        if info.get("type") == "template":
            o["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility",
                            "type": "regular"}
        else:
            o["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service",
                            "type": "free_customer_service"}
    if errors is not None:
        o["errors"] = errors
    elif st == "failed":
        c = int(code or 131026)
        o["errors"] = [{"code": c, "title": title_of(c), "message": title_of(c),
                        "error_data": {"details": details_of(c)}, "href": HREF}]
    return o


def tamper_body(data):
    m = re.search(rb'"timestamp":"(\d*)(\d)"', data)
    if not m:
        return data + b" "
    d = m.group(2)
    nd = b"0" if d == b"9" else bytes([d[0] + 1])
    return data[:m.start(2)] + nd + data[m.end(2):]


def send_webhook(state, url, payload, kind, sign_with=None, tamper=False, wamids=None,
                 statuses=None):
    """POSTs payload (an object, serialised as Meta does, or str/bytes sent
    as they are) to url, signed; records and returns what happened."""
    args = state.args
    if isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode("utf-8")
    else:
        data = meta_json(payload).encode("ascii")
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
               "Accept": "*/*"}
    sig = None
    if sign_with is not False:
        key = args.app_secret if sign_with is None else sign_with
        sig = hub_signature(key, data)
        headers["X-Hub-Signature"] = hub_signature(key, data, "sha1")
        headers["X-Hub-Signature-256"] = sig
    if tamper:
        data = tamper_body(data)
    rec = {"time": time.time(), "kind": kind, "url": url, "wamids": wamids or [],
           "statuses": statuses or [], "payload": data.decode("utf-8", "replace"),
           "signature": sig, "tampered": bool(tamper)}
    if not url:
        rec.update({"status": None, "content_type": None, "body": None,
                    "error": "no webhook_url"})
    else:
        rec.update(fc.http_send("POST", url, data, headers))
    state.record_callback(rec)
    return rec


class Handler(fc.Handler):
    name = "whatsapp_fake"

    def send_json(self, status, obj, headers=None):
        h = {"x-fb-trace-id": fbtrace(), "x-fb-request-id": secrets.token_urlsafe(18)}
        h.update(headers or {})
        self.answer(status, text=meta_json(obj), headers=h,
                    ctype="application/json; charset=UTF-8")

    # -- the messages endpoint ------------------------------------------
    def api(self, url, raw):
        state = self.server.state
        args = state.args
        rec = self.base_record(url, raw)
        rec.update({"auth": None, "wamid": None, "to": None, "type": None, "window": None,
                    "async_error": None, "webhook_statuses": None})
        m = MESSAGES_PATH.match(url.path)
        is_send = bool(m) and self.command == "POST"

        h = self.headers.get("Authorization") or ""
        auth = {"present": bool(h), "ok": False}
        if h[:7].lower() == "bearer ":
            auth["ok"] = hmac.compare_digest(h[7:].strip().encode(), args.token.encode())
        rec["auth"] = auth

        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = None
        if ctype == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
                rec["json"] = body
            except (ValueError, UnicodeDecodeError):
                body = None
        if isinstance(body, dict):
            rec["to"] = body.get("to") if isinstance(body.get("to"), str) else None
            rec["type"] = body.get("type") if isinstance(body.get("type"), str) else None

        status, resp, reason, hdrs, err = None, None, None, {}, None
        if not auth["ok"]:
            status, resp = meta_error(190)
            reason = "auth"
            hdrs["WWW-Authenticate"] = ('OAuth "Facebook Platform" "invalid_token" '
                                        '"Invalid OAuth access token."')
        elif not m:
            status, resp = meta_error(2500, 400, "Unknown path components: %s" % url.path)
            reason = "path"
        elif m.group(1) != args.version:
            status, resp = meta_error(2500, 400, "Unknown path components: /%s" % m.group(1))
            reason = "version"
        elif m.group(2) != args.phone_number_id:
            status, resp = meta_error(
                100, 400, "Unsupported post request. Object with ID '%s' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this "
                "operation. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api" % m.group(2), subcode=33)
            reason = "phone-number-id"
        elif self.command != "POST":
            status, resp = meta_error(100, 400, "Unsupported %s request." % self.command.lower(),
                                      "Only POST is supported on this path")
            reason = "method"
        elif ctype != "application/json":
            status, resp = meta_error(100, 400,
                                      "(#100) The parameter messaging_product is required.",
                                      "Content-Type must be application/json")
            reason = "content-type"
        elif body is None:
            status, resp = meta_error(100, 400, None, "the body is not valid JSON")
            reason = "json"
        else:
            with state.lock:
                templates = json.loads(json.dumps(state.templates))
            try:
                rec["unknown"] = validate(body, templates)
            except Invalid as e:
                status, resp = meta_error(e.code, 400, e.message, e.details)
                reason = e.reason
        valid = status is None
        rec["valid"] = valid
        if not valid:
            e = resp["error"]
            err = {"code": e["code"], "message": e["message"],
                   "details": (e.get("error_data") or {}).get("details"), "reason": reason}
            rec["error"] = err

        # A control answer (POST on the messages path only).
        inj = state.take_answer() if is_send else None
        async_code, percall = None, None
        if inj:
            rec["injected"] = inj
            if self.injected_wait_or_drop(inj, rec):
                return
            if inj.get("code") is not None or (inj.get("status") not in (None, 200)):
                st = inj.get("status")
                code = inj.get("code")
                if code is None:
                    code = STATUS_CODE.get(st) or (131000 if st and st >= 500 else 100)
                code = int(code)
                is_async = inj.get("async", code in ASYNC_CODES and st in (None, 200))
                if is_async:
                    if valid:
                        async_code = code
                else:
                    status, resp = meta_error(code, st, inj.get("message"), inj.get("details"))
                    valid = False
                    hdrs = {}
                    if status == 401:
                        hdrs["WWW-Authenticate"] = ('OAuth "Facebook Platform" "invalid_token" '
                                                    '"Invalid OAuth access token."')
            elif "statuses" in inj:
                percall = list(inj["statuses"] or [])
            if inj.get("retry_after") is not None:
                hdrs["Retry-After"] = str(inj["retry_after"])

        job = None
        if valid:
            to, typ = body["to"], body["type"]
            wamid = new_wamid(to)
            status, resp = 200, {"messaging_product": "whatsapp",
                                 "contacts": [{"input": to, "wa_id": to}],
                                 "messages": [{"id": wamid}]}
            info = {"to": to, "type": typ, "biz": body.get("biz_opaque_callback_data")}
            with state.lock:
                if typ == "template":
                    rec["window"] = "template"
                else:
                    rec["window"] = "open" if state.window_open(to) else "closed"
                    if (rec["window"] == "closed" and state.window_enforce
                            and async_code is None):
                        async_code = 131047
                state.messages[wamid] = info
                state.last_to[to] = wamid
                if async_code is not None:
                    statuses = ["failed"]
                    rec["async_error"] = {"code": async_code, "title": title_of(async_code)}
                else:
                    statuses = percall if percall is not None else list(state.statuses)
                cfg = {"url": state.webhook_url, "batch": state.batch,
                       "sign_with": state.sign_with, "tamper": state.tamper,
                       "delay": state.webhook_delay_ms,
                       "failed_code": async_code if async_code is not None
                       else state.failed_code}
            rec["wamid"] = wamid
            rec["webhook_statuses"] = statuses
            if statuses and cfg["url"]:
                job = self.status_job(wamid, info, statuses, cfg)
        rec["status"] = status
        rec["response"] = resp
        state.record(rec)
        self.send_json(status, resp, hdrs)
        if job:
            state.enqueue(job)

    def status_job(self, wamid, info, statuses, cfg):
        state = self.server.state
        args = state.args

        def run(alive):
            if cfg["batch"] and len(statuses) > 1:
                if cfg["delay"]:
                    time.sleep(cfg["delay"] / 1000.0)
                if not alive():
                    return
                items = [status_obj(wamid, s, info["to"], info, cfg["failed_code"])
                         for s in statuses]
                send_webhook(state, cfg["url"], envelope(args, batch_layout(items)), "status",
                             cfg["sign_with"], cfg["tamper"], [wamid], list(statuses))
                return
            for s in statuses:
                if cfg["delay"]:
                    time.sleep(cfg["delay"] / 1000.0)
                if not alive():
                    return
                item = status_obj(wamid, s, info["to"], info, cfg["failed_code"])
                send_webhook(state, cfg["url"], envelope(args, [[{"statuses": [item]}]]),
                             "status", cfg["sign_with"], cfg["tamper"], [wamid], [s])
        return run

    # -- test endpoints of this fake -----------------------------------
    def opt(self, req, key):
        """A per-call option, else the control setting."""
        state = self.server.state
        if isinstance(req, dict) and key in req:
            return req[key]
        with state.lock:
            return getattr(state, key)

    def extra(self, url, method, req):
        if url.path == "/_inbound" and method == "POST":
            self.inbound(req)
        elif url.path == "/_status" and method == "POST":
            self.statuses_now(req)
        elif url.path == "/_webhook" and method == "POST":
            self.raw_webhook(req)
        elif url.path == "/_verify" and method == "GET":
            self.verify(url)
        else:
            return False
        return True

    def webhook_answer(self, rec):
        return {k: rec.get(k) for k in ("status", "body", "content_type", "payload",
                                        "signature", "error")}

    def inbound(self, req):
        state = self.server.state
        args = state.args
        if not isinstance(req, dict) or not isinstance(req.get("from"), str):
            self.answer(400, {"error": "from is required"})
            return
        frm = req["from"].lstrip("+")
        url = req.get("url") or self.opt(req, "webhook_url")
        if not url:
            self.answer(400, {"error": "no webhook_url (set it by /_control or give url)"})
            return
        mid = req.get("id") or new_wamid(frm)
        ts = str(int(req.get("timestamp") or time.time()))
        with state.lock:
            state.windows[frm] = time.time()
            replied = req.get("context_id") or state.last_to.get(frm)
        msg = {}
        if "button" in req or "quick_reply" in req or req.get("context_id"):
            if replied:
                msg["context"] = {"from": args.display_phone_number, "id": replied}
        msg.update({"from": frm, "id": mid, "timestamp": ts})
        if "button" in req:
            b = req["button"] or {}
            msg["type"] = "interactive"
            msg["interactive"] = {"type": "button_reply",
                                  "button_reply": {"id": str(b.get("id", "")),
                                                   "title": str(b.get("title", ""))}}
        elif "quick_reply" in req:
            b = req["quick_reply"] or {}
            msg["type"] = "button"
            msg["button"] = {"payload": str(b.get("payload", "")), "text": str(b.get("text", ""))}
        else:
            msg["type"] = "text"
            msg["text"] = {"body": str(req.get("text", ""))}
        value = {"contacts": [{"profile": {"name": req.get("name", "Test Patient")},
                               "wa_id": frm}],
                 "messages": [msg]}
        rec = send_webhook(state, url, envelope(args, [[value]]), "inbound",
                           self.opt(req, "sign_with"), self.opt(req, "tamper"), [mid], [])
        out = self.webhook_answer(rec)
        out["id"] = mid
        self.answer(200, out)

    def statuses_now(self, req):
        state = self.server.state
        args = state.args
        if not isinstance(req, dict):
            self.answer(400, {"error": "expected a JSON object"})
            return
        items = req.get("statuses")
        if items is None and "id" in req:
            items = [req]
        if not isinstance(items, list) or not items:
            self.answer(400, {"error": "statuses: a non-empty list"})
            return
        url = req.get("url") or self.opt(req, "webhook_url")
        if not url:
            self.answer(400, {"error": "no webhook_url (set it by /_control or give url)"})
            return
        objs = []
        with state.lock:
            for it in items:
                if not isinstance(it, dict) or not it.get("id") or not it.get("status"):
                    self.answer(400, {"error": "each status needs id and status"})
                    return
                info = state.messages.get(it["id"], {})
                to = it.get("recipient_id") or info.get("to") or "0"
                objs.append(status_obj(it["id"], it["status"], to, info,
                                       it.get("code") or state.failed_code,
                                       it.get("timestamp"), it.get("errors")))
        sw, tamper = self.opt(req, "sign_with"), self.opt(req, "tamper")
        results = []
        if req.get("batch") and len(objs) > 1:
            rec = send_webhook(state, url, envelope(args, batch_layout(objs)), "status", sw,
                               tamper, [o["id"] for o in objs], [o["status"] for o in objs])
            results.append(self.webhook_answer(rec))
        else:
            for o in objs:
                rec = send_webhook(state, url, envelope(args, [[{"statuses": [o]}]]), "status",
                                   sw, tamper, [o["id"]], [o["status"]])
                results.append(self.webhook_answer(rec))
        self.answer(200, {"results": results})

    def raw_webhook(self, req):
        if not isinstance(req, dict) or "body" not in req:
            self.answer(400, {"error": "body is required"})
            return
        url = req.get("url") or self.opt(req, "webhook_url")
        if not url:
            self.answer(400, {"error": "no webhook_url (set it by /_control or give url)"})
            return
        rec = send_webhook(self.server.state, url, req["body"], "raw",
                           self.opt(req, "sign_with"), self.opt(req, "tamper"))
        self.answer(200, self.webhook_answer(rec))

    def verify(self, url):
        state = self.server.state
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        target = q.get("url") or ""
        if not target:
            self.answer(400, {"error": "url is required"})
            return
        challenge = q.get("challenge") or str(secrets.randbelow(9 * 10 ** 9) + 10 ** 9)
        params = [("hub.mode", q.get("mode", "subscribe")), ("hub.challenge", challenge),
                  ("hub.verify_token", q.get("token", ""))]
        full = target + ("&" if "?" in target else "?") + urllib.parse.urlencode(params)
        res = fc.http_send("GET", full, None, {"User-Agent": "facebookplatform/1.0 "
                                               "(+http://developers.facebook.com)",
                                               "Accept": "*/*"})
        rec = {"time": time.time(), "kind": "verify", "url": full, "wamids": [],
               "statuses": [], "payload": "", "signature": None}
        rec.update(res)
        state.record_callback(rec)
        self.answer(200, {"status": res["status"], "body": res["body"],
                          "content_type": res["content_type"], "challenge": challenge,
                          "echoed": res["body"] == challenge, "url": full,
                          "error": res["error"]})


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sign":
        if len(sys.argv) != 4:
            sys.exit("usage: whatsapp_fake.py --sign SECRET FILE")
        data = sys.stdin.buffer.read() if sys.argv[3] == "-" else open(sys.argv[3], "rb").read()
        print(hub_signature(sys.argv[2], data))
        return
    ap = argparse.ArgumentParser(description="fake of the WhatsApp Business Cloud API")
    fc.add_common_args(ap)
    ap.add_argument("--token", required=True)
    ap.add_argument("--phone-number-id", required=True)
    ap.add_argument("--app-secret", required=True)
    ap.add_argument("--version", default="v23.0")
    ap.add_argument("--waba-id", default="102290129340398")
    ap.add_argument("--display-phone-number", default="15550783881")
    args = ap.parse_args()
    fc.serve(args, Handler, WAState(args))


if __name__ == "__main__":
    main()
