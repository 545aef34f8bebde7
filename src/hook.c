/*
 * hook.c: outgoing webhooks for integrators, and the deliveries that carry
 * everything nudge sends that is not a message to a patient. Owns
 * hook_subscriptions, hook_deliveries, hook_attempts and hook_scan
 * (migration 019).
 *
 * A clinic subscribes a URL to event types; the scan (a periodic job of
 * the tick, nudge.c) turns committed rows of `events` into one delivery
 * per (subscription, event), and any worker's tick claims due deliveries,
 * POSTs them signed (hook_sign, below; the README shows a receiver's
 * check) and records each attempt. Staff alerts and digests (staff.c) are
 * deliveries too, to an email, a phone or a chat room's URL, so they are
 * as durable and retried as the webhooks without bending the patient's
 * queue (its opt-outs, quiet hours and fallbacks are a patient's).
 *
 * Why the scan cannot miss an event. On PostgreSQL ids are drawn when a
 * row is inserted but become visible when its transaction commits, so a
 * cursor "id > last seen" skips an event whose transaction committed
 * after a later id's. The scan instead re-reads every event created in a
 * look-back window before where the last scan stopped (HOOK_WINDOW,
 * longer than any write transaction and any tick's held clock), and the
 * unique (clinic, subscription, event) row makes seeing an event again
 * harmless (ON CONFLICT DO NOTHING). An event created at T and committed
 * at C is seen by the first scan after C whose window starts at or before
 * T: missed only if C - T > HOOK_WINDOW. Downtime does not widen the gap:
 * the window hangs from hook_scan.scanned_to, the last scan's instant,
 * not from now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core.h"
#include "util.h"
#include "wfstep.h"

#define HOOK_WINDOW 900      /* seconds of events re-read before the last scan */
#define HOOK_LEASE 120       /* a claimed delivery is due again after this */
#define HOOK_BATCH 32        /* deliveries one tick sends */
#define HOOK_TIMEOUT_MS 10000L
#define HOOK_PAGE 200
/* A staff email's or SMS's channel_msg id: apart from the queue's ids, so
 * the outbox's file names and Message-IDs never meet a patient's. */
#define HOOK_MSG_ID_BASE 1000000000000LL

/* Seconds before the next try after attempt k (1-based): 30 s, 2 min,
 * 10 min, 30 min, 1 h, 2 h, 4 h; NUDGE_HOOK_MAX_ATTEMPTS tries in all,
 * about eight hours, as Stripe and Svix spread theirs over hours. */
static const int hook_backoff[] = {30, 120, 600, 1800, 3600, 7200, 14400};

int hook_backoff_after(int attempt)
{
    int nb = (int)(sizeof hook_backoff / sizeof *hook_backoff);
    return hook_backoff[attempt < 1 ? 0 : attempt > nb ? nb - 1 : attempt - 1];
}

int hook_url_ok(const char *url, const char *field, nudge_err *err)
{
    if (str_blank(url))
        return err_set(err, NUDGE_EINVAL, field, "%s is required", field);
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return err_set(err, NUDGE_EINVAL, field, "%s must start with http:// or https://", field);
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return err_set(err, NUDGE_EINVAL, field, "%s holds a space or control character",
                           field);
    if (strlen(url) >= 512)
        return err_set(err, NUDGE_EINVAL, field, "%s is at most 511 bytes", field);
    return 0;
}

/* "a.b, c" -> ",a.b,c,"; "*" stays "*". Types are [a-z0-9_.]. */
static int hook_events_norm(const char *in, char *out, size_t n, nudge_err *err)
{
    if (str_blank(in))
        return err_set(err, NUDGE_EINVAL, "events", "events is required (types, or \"*\")");
    sbuf b = {0};
    sbuf_puts(&b, ",");
    const char *p = in;
    int count = 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        if (p == s)
            break;
        for (const char *q = s; q < p; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
                  *q == '.' || (*q == '*' && p - s == 1))) {
                sbuf_free(&b);
                return err_set(err, NUDGE_EINVAL, "events",
                               "an event type is lower-case letters, digits, '_' and '.' "
                               "(\"appointment.booked\"), or \"*\"");
            }
        sbuf_add(&b, s, (size_t)(p - s));
        sbuf_puts(&b, ",");
        count++;
    }
    int fits = count && b.data && strlen(b.data) < n;
    if (fits)
        snprintf(out, n, "%s", !strcmp(b.data, ",*,") ? "*" : b.data);
    sbuf_free(&b);
    if (!count)
        return err_set(err, NUDGE_EINVAL, "events", "events is required (types, or \"*\")");
    return fits ? 0 : err_set(err, NUDGE_EINVAL, "events", "events is at most %zu bytes", n - 3);
}

/* Whether a subscription's stored list takes an event type. */
static int hook_takes(const char *events, const char *type)
{
    if (!strcmp(events, "*"))
        return 1;
    size_t tl = strlen(type);
    for (const char *p = strstr(events, type); p; p = strstr(p + 1, type))
        if (p > events && p[-1] == ',' && p[tl] == ',')
            return 1;
    return 0;
}

/* ",a,b," back into "a,b" for people. */
static void hook_events_show(const char *stored, char *out, size_t n)
{
    size_t l = strlen(stored);
    if (l >= 2 && stored[0] == ',')
        snprintf(out, n, "%.*s", (int)(l - 2), stored + 1);
    else
        snprintf(out, n, "%s", stored);
}


/* The signature of one attempt: "v1=" + hex HMAC-SHA256 under the
 * subscription's secret (its text as shown, bytes as they are) over
 * "<timestamp>.<body>", as Stripe signs; out >= 68 bytes. */
int hook_sign(const char *secret, int64_t ts, const char *body, size_t len, char *out)
{
    char pre[24];
    int pl = snprintf(pre, sizeof pre, "%lld.", (long long)ts);
    unsigned char *msg = malloc((size_t)pl + len + 1), mac[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    if (!msg)
        return -1;
    memcpy(msg, pre, (size_t)pl);
    memcpy(msg + pl, body, len);
    int ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)pl + len, mac, &ml) !=
             NULL;
    free(msg);
    if (!ok)
        return -1;
    memcpy(out, "v1=", 3);
    hex_lower(mac, ml, out + 3);
    return 0;
}

/* ---- subscriptions ---- */

#define HOOK_COLS "id, clinic_id, url, event_types, active, created_at"

static void hook_row(store_stmt *st, nudge_hook *h)
{
    memset(h, 0, sizeof *h);
    h->id = store_int(st, 0);
    h->clinic_id = store_int(st, 1);
    store_copy(st, 2, h->url, sizeof h->url);
    hook_events_show(store_text(st, 3), h->events, sizeof h->events);
    h->active = (int)store_int(st, 4);
    h->created_at = store_int(st, 5);
}

int nudge_hook_add(nudge *n, nudge_hook *h, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    char events[sizeof h->events];
    if (nudge_clinic_get(n, h->clinic_id, &c, err) < 0 || hook_url_ok(h->url, "url", err) < 0 ||
        hook_events_norm(h->events, events, sizeof events, err) < 0)
        return -1;
    unsigned char rnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return err_set(err, NUDGE_EIO, "", "no random bytes for a secret");
    memcpy(h->secret, "whsec_", 6);
    hex_lower(rnd, sizeof rnd, h->secret + 6);
    OPENSSL_cleanse(rnd, sizeof rnd);
    h->created_at = clock_now(n);
    h->active = 1;
    if (store_begin_clinic(n->db, h->clinic_id, err) < 0)
        goto fail;
    if (store_scalar(n->db, &h->id, err,
                     "INSERT INTO hook_subscriptions (clinic_id, url, event_types, secret, active, "
                     "created_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
                     bind_int(h->clinic_id), bind_text(h->url), bind_text(events),
                     bind_text(h->secret), bind_int(h->created_at)) != 1 ||
        audit_add(n, h->clinic_id, "webhook.add", "webhook", h->id, h->url, err) < 0) {
        store_rollback(n->db);
        goto fail;
    }
    if (store_commit(n->db, err) < 0)
        goto fail;
    hook_events_show(events, h->events, sizeof h->events);
    return 0;
fail:
    OPENSSL_cleanse(h->secret, sizeof h->secret);
    return -1;
}

/* The clinic's subscriptions (0: every clinic's), by id; id 0: all. */
static int hook_each(nudge *n, int64_t clinic_id, int64_t id, nudge_hook_fn fn, void *ctx,
                     nudge_err *err)
{
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " HOOK_COLS " FROM hook_subscriptions WHERE (clinic_id = ? OR ? = 0) "
                    "AND (id = ? OR ? = 0) ORDER BY id",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id), bind_int(id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_hook h;
        hook_row(st, &h);
        if (fn(ctx, &h))
            break;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_hook_list(nudge *n, int64_t clinic_id, nudge_hook_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    return hook_each(n, clinic_id, 0, fn, ctx, err);
}

static int hook_found(void *ctx, const nudge_hook *h)
{
    *(nudge_hook *)ctx = *h;
    return 1;
}

int nudge_hook_get(nudge *n, int64_t clinic_id, int64_t id, nudge_hook *out, nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    if (hook_each(n, clinic_id, id, hook_found, out, err) < 0)
        return -1;
    if (!out->id || !id)
        return err_set(err, NUDGE_ENOTFOUND, "webhook", "no webhook %lld", (long long)id);
    return 0;
}

int nudge_hook_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_hook h;
    if (nudge_hook_get(n, clinic_id, id, &h, err) < 0 ||
        store_begin_clinic(n->db, h.clinic_id, err) < 0)
        return -1;
    /* Its deliveries and their attempts go with it (ON DELETE CASCADE). */
    if (store_exec(n->db, err, "DELETE FROM hook_subscriptions WHERE clinic_id = ? AND id = ?",
                   bind_int(h.clinic_id), bind_int(id)) < 0 ||
        audit_add(n, h.clinic_id, "webhook.remove", "webhook", id, h.url, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

/* ---- deliveries ---- */

int hook_enqueue(nudge *n, const hook_item *it, int64_t *id, nudge_err *err)
{
    int64_t now = clock_now(n), got = 0;
    int r = store_scalar(
        n->db, &got, err,
        "INSERT INTO hook_deliveries (clinic_id, subscription_id, staff_id, event_id, event_type, "
        "target, recipient, subject, body, dedupe_key, status, attempts, max_attempts, next_try, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING id",
        bind_int(it->clinic_id), bind_int_or_null(it->subscription_id),
        bind_int_or_null(it->staff_id), bind_int_or_null(it->event_id), bind_text(it->event_type),
        bind_text(it->target), bind_text(it->recipient), bind_text_or_null(it->subject),
        bind_text(it->body), bind_text_or_null(it->dedupe_key), bind_int(NUDGE_HOOK_MAX_ATTEMPTS),
        bind_int(now), bind_int(now), bind_int(now));
    if (id)
        *id = r == 1 ? got : 0;
    return r < 0 ? -1 : r;
}

/* The body of an event's delivery: what a receiver parses. */
static char *hook_body(int64_t event_id, const char *type, int64_t clinic_id, int64_t subject_id,
                       int64_t created_at, const json_t *data)
{
    json_t *o = json_pack("{s:I, s:s, s:I, s:o, s:I, s:O}", "event_id", (json_int_t)event_id,
                          "type", type, "clinic_id", (json_int_t)clinic_id, "subject_id",
                          subject_id ? json_integer(subject_id) : json_null(), "created_at",
                          (json_int_t)created_at, "data", data ? data : json_object());
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

/* The scan's subscriptions, held while it pages through events. */
typedef struct hook_sub {
    int64_t id, clinic_id, created_at;
    char url[512], events[520];
} hook_sub;
typedef struct hook_scan_ctx {
    nudge *n;
    hook_sub *subs;
    int nsubs;
    int64_t last_at, last_id;
    nudge_err *err;
} hook_scan_ctx;

static int hook_scan_event(void *ctx, const event_page_row *e)
{
    hook_scan_ctx *c = ctx;
    c->last_at = e->created_at;
    c->last_id = e->id;
    for (int i = 0; i < c->nsubs; i++) {
        const hook_sub *s = &c->subs[i];
        if (s->clinic_id != e->clinic_id || e->created_at < s->created_at ||
            !hook_takes(s->events, e->type))
            continue;
        json_t *data = json_loads(e->payload, 0, NULL);
        char *body = hook_body(e->id, e->type, e->clinic_id, e->subject_id, e->created_at, data);
        json_decref(data);
        if (!body)
            return err_set(c->err, NUDGE_ENOMEM, "", "cannot encode a delivery");
        hook_item it = {.clinic_id = e->clinic_id, .subscription_id = s->id, .event_id = e->id,
                        .event_type = e->type, .target = "webhook", .recipient = s->url,
                        .body = body};
        int r = hook_enqueue(c->n, &it, NULL, c->err);
        free(body);
        if (r < 0)
            return -1;
    }
    return 0;
}

int hook_scan(nudge *n, int64_t now, nudge_err *err)
{
    hook_scan_ctx c = {.n = n, .err = err};
    int64_t scanned_to = 0, oldest = 0;
    store_stmt *st;
    int r, cap = 0;
    if (store_scalar(n->db, &scanned_to, err, "SELECT scanned_to FROM hook_scan WHERE id = 1") < 0)
        return -1;
    /* Every active subscription of every clinic: a deliberate
     * cross-clinic scan, as the events it matches are. */
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, created_at, url, event_types FROM hook_subscriptions "
                    "WHERE active = 1 ORDER BY id") < 0)
        return -1;
    while ((r = store_next(st, err)) == 1) {
        if (c.nsubs == cap) {
            cap = cap ? cap * 2 : 16;
            hook_sub *g = realloc(c.subs, (size_t)cap * sizeof *g);
            if (!g) {
                r = err_set(err, NUDGE_ENOMEM, "", "out of memory");
                break;
            }
            c.subs = g;
        }
        hook_sub *s = &c.subs[c.nsubs++];
        s->id = store_int(st, 0);
        s->clinic_id = store_int(st, 1);
        s->created_at = store_int(st, 2);
        store_copy(st, 3, s->url, sizeof s->url);
        store_copy(st, 4, s->events, sizeof s->events);
        if (!oldest || s->created_at < oldest)
            oldest = s->created_at;
    }
    store_done(st);
    if (r < 0)
        goto out;
    if (c.nsubs) {
        int64_t from = (scanned_to > oldest ? scanned_to : oldest) - HOOK_WINDOW;
        c.last_at = from;
        c.last_id = 0;
        int got;
        do {
            got = event_page(n, from, c.last_at, c.last_id, HOOK_PAGE, hook_scan_event, &c, err);
        } while (got == HOOK_PAGE);
        if (got < 0) {
            r = -1;
            goto out;
        }
    }
    r = store_exec(n->db, err,
                   "INSERT INTO hook_scan (id, scanned_to) VALUES (1, ?) ON CONFLICT (id) DO "
                   "UPDATE SET scanned_to = excluded.scanned_to WHERE hook_scan.scanned_to < "
                   "excluded.scanned_to",
                   bind_int(now));
out:
    free(c.subs);
    return r < 0 ? -1 : 0;
}

/* ---- sending ---- */

typedef struct hook_send {
    int64_t id, clinic_id, staff_id, subscription_id, event_id;
    int attempts, max_attempts;
    char target[16], event_type[64];
    char *recipient, *subject, *body, *secret;
} hook_send;

static void hook_send_free(hook_send *d)
{
    free(d->recipient);
    free(d->subject);
    free(d->body);
    str_free_secret(d->secret);
}

static size_t hook_collect(char *p, size_t sz, size_t nm, void *ud)
{
    return sbuf_add(&((channel_xfer *)ud)->body, p, sz * nm) < 0 ? 0 : sz * nm;
}

/* Runs a transfer that post.c (or a channel's start) prepared, here and
 * now: one delivery at a time, outside any transaction. */
static CURLcode hook_perform(channel_xfer *x)
{
    x->body.max = CHANNEL_ANSWER_MAX;
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, hook_collect);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    return curl_easy_perform(x->easy);
}

/* An HTTP POST of a webhook or a chat message: *status the HTTP status
 * (0: none), detail why it failed. 1 delivered (2xx), 0 not. */
static int hook_post(const char *url, char *body, struct curl_slist *h, int *status,
                     char *detail, size_t dn)
{
    channel_xfer x = {0};
    *status = 0;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: nudge-webhooks/1");
    if (channel_post_begin(&x, url, body, strlen(body), h, HOOK_TIMEOUT_MS) < 0) {
        snprintf(detail, dn, "out of memory");
        return 0;
    }
    CURLcode rc = hook_perform(&x);
    long code = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(x.easy, CURLINFO_RESPONSE_CODE, &code);
    else
        utf8_clip(detail, dn < 201 ? dn : 201, x.errbuf[0] ? x.errbuf : curl_easy_strerror(rc));
    *status = (int)code;
    if (rc == CURLE_OK && (code < 200 || code > 299))
        snprintf(detail, dn, "HTTP %ld", code);
    curl_easy_cleanup(x.easy);
    channel_post_end(&x);
    sbuf_free(&x.body);
    return rc == CURLE_OK && code >= 200 && code <= 299;
}

/* A staff email or SMS through the transport that carries the medium. */
static int hook_send_medium(nudge *n, const hook_send *d, int64_t now, channel_outcome *o)
{
    channel *ch = NULL;
    for (int m = 0; m < 3; m++)
        if (!strcmp(n->carrier[m].medium, d->target))
            ch = n->carrier[m].ch;
    memset(o, 0, sizeof *o);
    if (!ch || (ch->paused_until && ch->paused_until > now)) {
        o->result = CHANNEL_TRANSIENT;
        snprintf(o->detail, sizeof o->detail, "no %s transport can send now", d->target);
        return 0;
    }
    nudge_clinic c;
    nudge_err ignored;
    if (nudge_clinic_get(n, d->clinic_id, &c, &ignored) < 0)
        memset(&c, 0, sizeof c);
    channel_msg m = {.id = HOOK_MSG_ID_BASE + d->id, .clinic_id = d->clinic_id,
                     .channel = d->target, .to = d->recipient, .from_name = c.name,
                     .sender = c.sms_sender[0] ? c.sms_sender : NULL,
                     .reply_to = c.email[0] ? c.email : NULL, .subject = d->subject,
                     .text = d->body, .language = "en", .template_name = "staff", .now = now};
    if (ch->t->send)
        return ch->t->send(ch, &m, o);
    channel_xfer x = {0};
    if (ch->t->start(ch, &m, &x, o) == 0) {
        CURLcode rc = hook_perform(&x);
        ch->t->finish(ch, &x, rc, o);
        curl_easy_cleanup(x.easy);
    }
    sbuf_free(&x.body);
    return 0;
}

static int hook_load(nudge *n, int64_t clinic_id, int64_t id, hook_send *d, nudge_err *err)
{
    store_stmt *st;
    memset(d, 0, sizeof *d);
    if (store_query(n->db, &st, err,
                    "SELECT d.id, d.clinic_id, d.staff_id, d.subscription_id, d.event_id, "
                    "d.attempts, d.max_attempts, d.target, d.event_type, d.recipient, d.subject, "
                    "d.body, s.secret FROM hook_deliveries d LEFT JOIN hook_subscriptions s ON "
                    "s.clinic_id = d.clinic_id AND s.id = d.subscription_id WHERE d.clinic_id = ? "
                    "AND d.id = ?",
                    bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1) {
        d->id = store_int(st, 0);
        d->clinic_id = store_int(st, 1);
        d->staff_id = store_int(st, 2);
        d->subscription_id = store_int(st, 3);
        d->event_id = store_int(st, 4);
        d->attempts = (int)store_int(st, 5);
        d->max_attempts = (int)store_int(st, 6);
        store_copy(st, 7, d->target, sizeof d->target);
        store_copy(st, 8, d->event_type, sizeof d->event_type);
        d->recipient = store_dup(st, 9);
        d->subject = store_dup(st, 10);
        d->body = store_dup(st, 11);
        d->secret = store_dup(st, 12);
    }
    store_done(st);
    return r;
}

/* Sends one claimed delivery: 1 delivered, 0 not (*permanent: never). */
static int hook_attempt(nudge *n, const hook_send *d, int64_t now, int *status, int *permanent,
                        char *detail, size_t dn)
{
    *permanent = 0;
    *status = 0;
    detail[0] = 0;
    if (!strcmp(d->target, "email") || !strcmp(d->target, "sms")) {
        channel_outcome o;
        hook_send_medium(n, d, now, &o);
        *permanent = o.result == CHANNEL_PERMANENT;
        snprintf(detail, dn, "%s", o.result == CHANNEL_SENT ? "" : o.detail);
        return o.result == CHANNEL_SENT;
    }
    struct curl_slist *h = NULL;
    char *body;
    if (!strcmp(d->target, "chat")) {
        /* Slack, Mattermost, Google Chat and Teams' incoming webhooks all
         * read a "text" member. */
        json_t *o = json_pack("{s:s}", "text", d->body ? d->body : "");
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else {
        body = str_dup(d->body);
        char line[160];
        snprintf(line, sizeof line, "Nudge-Webhook-Id: d%lld", (long long)d->id);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "Nudge-Webhook-Timestamp: %lld", (long long)now);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "Nudge-Webhook-Event: %s", d->event_type);
        h = curl_slist_append(h, line);
        if (d->secret && *d->secret) {
            char sig[80];
            if (hook_sign(d->secret, now, body, strlen(body), sig) < 0) {
                curl_slist_free_all(h);
                free(body);
                snprintf(detail, dn, "cannot sign");
                return 0;
            }
            snprintf(line, sizeof line, "Nudge-Signature: %s", sig);
            h = curl_slist_append(h, line);
        }
    }
    if (!body) {
        curl_slist_free_all(h);
        snprintf(detail, dn, "out of memory");
        return 0;
    }
    return hook_post(d->recipient, body, h, status, detail, dn);
}

/* Records an attempt's outcome, if the claim is still ours. */
static int hook_record(nudge *n, const hook_send *d, int64_t claimed_until, int ok, int permanent,
                       int http_status, const char *detail, nudge_err *err)
{
    int64_t now = clock_now(n);
    int attempt = d->attempts + 1;
    const char *status = ok ? "delivered"
                         : permanent || attempt >= d->max_attempts ? "failed" : "pending";
    const char *outcome = ok ? "delivered" : !strcmp(status, "failed") ? "failed" : "retry";
    int64_t next = !strcmp(status, "pending") ? now + hook_backoff_after(attempt) : now;
    if (store_begin_own(n->db, err) < 0)
        return -1;
    if (store_exec(n->db, err,
                   "UPDATE hook_deliveries SET status = ?, attempts = ?, next_try = ?, "
                   "lease_owner = NULL, last_status = ?, last_error = ?, updated_at = ? WHERE "
                   "clinic_id = ? AND id = ? AND status = 'pending' AND lease_owner = ? AND "
                   "next_try = ?",
                   bind_text(status), bind_int(attempt), bind_int(next), bind_int(http_status),
                   bind_text(detail), bind_int(now), bind_int(d->clinic_id), bind_int(d->id),
                   bind_text(n->worker_id), bind_int(claimed_until)) < 0)
        goto fail;
    if (store_changes(n->db) == 0) { /* the lease ran out and another took it */
        store_rollback(n->db);
        return 0;
    }
    if (store_exec(n->db, err,
                   "INSERT INTO hook_attempts (clinic_id, delivery_id, attempt, at, http_status, "
                   "outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   bind_int(d->clinic_id), bind_int(d->id), bind_int(attempt), bind_int(now),
                   bind_int(http_status), bind_text(outcome), bind_text_or_null(detail)) < 0)
        goto fail;
    return store_commit(n->db, err);
fail:
    store_rollback(n->db);
    return -1;
}

int hook_send_due(nudge *n, int64_t now, int *sent, nudge_err *err)
{
    int64_t clinics[HOOK_BATCH], ids[HOOK_BATCH], nexts[HOOK_BATCH];
    int count = 0, r;
    store_stmt *st;
    if (sent)
        *sent = 0;
    /* Every clinic's due deliveries: a deliberate cross-clinic scan, as
     * the queue's claim is. */
    if (store_query(n->db, &st, err,
                    "SELECT clinic_id, id, next_try FROM hook_deliveries WHERE status = 'pending' "
                    "AND next_try <= ? ORDER BY next_try, id LIMIT ?",
                    bind_int(now), bind_int(HOOK_BATCH)) < 0)
        return -1;
    while (count < HOOK_BATCH && (r = store_next(st, err)) == 1) {
        clinics[count] = store_int(st, 0);
        ids[count] = store_int(st, 1);
        nexts[count++] = store_int(st, 2);
    }
    store_done(st);
    if (r < 0)
        return -1;
    for (int i = 0; i < count && !(n->stop && *n->stop); i++) {
        /* The claim: moving next_try ahead is the lease; a worker whose
         * read was stale matches nothing (on PostgreSQL its UPDATE waits
         * for ours and re-reads the row). */
        int64_t until = now + HOOK_LEASE;
        if (store_begin_own(n->db, err) < 0)
            return -1;
        if (store_exec(n->db, err,
                       "UPDATE hook_deliveries SET next_try = ?, lease_owner = ?, updated_at = ? "
                       "WHERE clinic_id = ? AND id = ? AND status = 'pending' AND next_try = ?",
                       bind_int(until), bind_text(n->worker_id), bind_int(now),
                       bind_int(clinics[i]), bind_int(ids[i]), bind_int(nexts[i])) < 0) {
            store_rollback(n->db);
            return -1;
        }
        int mine = store_changes(n->db) == 1;
        if (store_commit(n->db, err) < 0)
            return -1;
        if (!mine)
            continue;
        hook_send d;
        if ((r = hook_load(n, clinics[i], ids[i], &d, err)) <= 0) {
            hook_send_free(&d);
            if (r < 0)
                return -1;
            continue;
        }
        int status, permanent;
        char detail[256];
        int ok = hook_attempt(n, &d, now, &status, &permanent, detail, sizeof detail);
        r = hook_record(n, &d, until, ok, permanent, status, detail, err);
        hook_send_free(&d);
        if (r < 0)
            return -1;
        if (ok && sent)
            ++*sent;
    }
    return 0;
}

/* ---- listing ---- */

int nudge_hook_deliveries(nudge *n, int64_t clinic_id, int64_t subscription_id, int limit,
                          nudge_hook_delivery_fn fn, void *ctx, nudge_err *err)
{
    err_clear(err);
    if (subscription_id) {
        nudge_hook h;
        if (nudge_hook_get(n, clinic_id, subscription_id, &h, err) < 0)
            return -1;
    }
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT id, clinic_id, subscription_id, staff_id, event_id, event_type, "
                    "target, recipient, status, attempts, max_attempts, next_try, created_at, "
                    "updated_at, last_error FROM hook_deliveries WHERE (clinic_id = ? OR ? = 0) "
                    "AND ((? = 0 AND subscription_id IS NULL) OR subscription_id = ?) "
                    "ORDER BY id DESC LIMIT ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(subscription_id),
                    bind_int(subscription_id), bind_int(limit > 0 ? limit : 50)) < 0)
        return -1;
    int r, stop = 0;
    while (!stop && (r = store_next(st, err)) == 1) {
        nudge_hook_delivery d;
        memset(&d, 0, sizeof d);
        d.id = store_int(st, 0);
        d.clinic_id = store_int(st, 1);
        d.subscription_id = store_int(st, 2);
        d.staff_id = store_int(st, 3);
        d.event_id = store_int(st, 4);
        store_copy(st, 5, d.event_type, sizeof d.event_type);
        store_copy(st, 6, d.target, sizeof d.target);
        store_copy(st, 7, d.recipient, sizeof d.recipient);
        store_copy(st, 8, d.status, sizeof d.status);
        d.attempts = (int)store_int(st, 9);
        d.max_attempts = (int)store_int(st, 10);
        d.next_try = store_int(st, 11);
        d.created_at = store_int(st, 12);
        d.updated_at = store_int(st, 13);
        store_copy(st, 14, d.last_error, sizeof d.last_error);
        store_stmt *at;
        if (store_query(n->db, &at, err,
                        "SELECT attempt, at, http_status, outcome, error FROM hook_attempts WHERE "
                        "clinic_id = ? AND delivery_id = ? ORDER BY id",
                        bind_int(d.clinic_id), bind_int(d.id)) < 0) {
            r = -1;
            break;
        }
        while (d.n_tries < NUDGE_HOOK_MAX_ATTEMPTS && (r = store_next(at, err)) == 1) {
            nudge_hook_attempt *a = &d.tries[d.n_tries++];
            a->attempt = (int)store_int(at, 0);
            a->at = store_int(at, 1);
            a->http_status = (int)store_int(at, 2);
            store_copy(at, 3, a->outcome, sizeof a->outcome);
            store_copy(at, 4, a->error, sizeof a->error);
        }
        store_done(at);
        if (r < 0)
            break;
        stop = fn(ctx, &d);
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- the workflow step "webhook.call" ----
 * args: {"subscription": ID} (signed with its secret) or {"url": "https://..."}
 * (unsigned: a receiver that checks signatures wants a subscription), and
 * optionally "payload", an object sent as the body's "data" instead of the
 * event's payload. The step enqueues; the tick posts. */
static int hook_step_validate(nudge *n, const json_t *args, const char *path, nudge_err *err)
{
    (void)n;
    const char *key;
    json_t *v;
    char f[96];
    if (!json_is_object(args))
        return err_set(err, NUDGE_EINVAL, path, "%s.args must be an object", path);
    json_object_foreach((json_t *)args, key, v)
    {
        snprintf(f, sizeof f, "%s.%s", path, key);
        if (!strcmp(key, "subscription")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1)
                return err_set(err, NUDGE_EINVAL, f, "%s must be a webhook id", f);
        } else if (!strcmp(key, "url")) {
            if (!json_is_string(v) || hook_url_ok(json_string_value(v), f, err) < 0)
                return json_is_string(v) ? -1
                                         : err_set(err, NUDGE_EINVAL, f, "%s must be a URL", f);
        } else if (!strcmp(key, "payload")) {
            if (!json_is_object(v))
                return err_set(err, NUDGE_EINVAL, f, "%s must be an object", f);
        } else {
            return err_set(err, NUDGE_EINVAL, f, "%s: unknown (subscription, url, payload)", f);
        }
    }
    int has_sub = json_object_get(args, "subscription") != NULL;
    int has_url = json_object_get(args, "url") != NULL;
    if (has_sub == has_url) {
        snprintf(f, sizeof f, "%s.subscription", path);
        return err_set(err, NUDGE_EINVAL, f, "%s: give one of subscription or url", path);
    }
    return 0;
}

static int hook_step_run(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err)
{
    if (hook_step_validate(c->n, args, "args", err) < 0)
        return -1;
    hook_item it = {.clinic_id = c->clinic_id, .event_type = c->event_type, .target = "webhook"};
    json_t *sub = json_object_get(args, "subscription");
    nudge_hook h;
    if (sub) {
        if (nudge_hook_get(c->n, c->clinic_id, json_integer_value(sub), &h, err) < 0)
            return -1;
        it.subscription_id = h.id;
        it.recipient = h.url;
    } else {
        it.recipient = json_string_value(json_object_get(args, "url"));
    }
    const json_t *data = json_object_get(args, "payload");
    char *body = hook_body(c->event_id, c->event_type, c->clinic_id, c->subject_id, c->now,
                           data ? data : c->event);
    if (!body)
        return err_set(err, NUDGE_ENOMEM, "", "cannot encode a delivery");
    char key[64];
    snprintf(key, sizeof key, "wf:%lld:%d", (long long)c->run_id, c->step);
    it.body = body;
    it.dedupe_key = key;
    int64_t id;
    int r = hook_enqueue(c->n, &it, &id, err);
    free(body);
    if (r < 0)
        return -1;
    *result = json_pack("{s:I, s:b}", "delivery", (json_int_t)id, "signed", sub != NULL);
    return 0;
}

const wf_step_kind hook_step_call = {"webhook.call", hook_step_validate, hook_step_run};
