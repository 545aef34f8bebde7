/*
 * outbox.c: the transport that delivers to a local folder. It is the default
 * when no provider is configured, so nudge runs (and can be demonstrated and
 * tested) without any account. Each message becomes one file, named by the
 * notification id and channel:
 *   <id>-email.eml   the complete RFC 5322 message SMTP would have sent
 *   <id>-sms.json    (and -whatsapp.json) the message as JSON
 * A file appears whole or not at all (temporary name, fsync, rename), so a
 * program watching the folder never reads half a message; and a re-send of
 * the same id replaces the file, because delivery is at least once and a
 * retried send must not show up as a second message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "channel/channel.h"
#include "channel/mail.h"
#include "util.h"


/* The outbox is not a mail server: From needs an address, and this one says
 * plainly where the message went. */
#define OUTBOX_FROM "outbox@localhost"

typedef struct outbox_priv {
    char *dir;
    int made; /* the folder was made (or found): not walked again per message */
} outbox_priv;

static void outbox_fail(channel_outcome *out, enum channel_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void outbox_fail(channel_outcome *out, enum channel_result r, const char *fmt, ...)
{
    out->result = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
}

/* mkdir -p: every missing component, tolerating ones that appear meanwhile
 * (another process starting at the same time). Private modes (0700 here,
 * 0600 from mkstemp for the files): the messages are patients' data. */
static int outbox_mkdirs(const char *dir)
{
    char *p = str_dup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            rc = -1;
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (rc == 0 && stat(dir, &st) < 0)
        return -1;
    if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return rc;
}

/* The channel name becomes part of a file name: only a short lower-case
 * word may, so "../x" can never leave the folder. */
static int outbox_channel_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* Base64 in lines of 76 characters (57 input bytes each), CRLF-terminated,
 * as RFC 2045 asks. */
static void outbox_base64(sbuf *b, const char *data)
{
    size_t len = strlen(data);
    unsigned char line[77];
    for (size_t off = 0; off < len; off += 57) {
        size_t n = len - off < 57 ? len - off : 57;
        EVP_EncodeBlock(line, (const unsigned char *)data + off, (int)n);
        sbuf_printf(b, "%s\r\n", (const char *)line);
    }
}

static void outbox_text_part(sbuf *b, const char *type, const char *data)
{
    sbuf_printf(b, "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                type);
    outbox_base64(b, data ? data : "");
}

/* The same shape libcurl gives the SMTP message (see smtp.c): a
 * multipart/mixed root, so an invitation can be attached beside the body,
 * holding a multipart/alternative of text then HTML (readers show the last
 * one they understand). Without HTML the text part stands alone. The
 * boundaries start with "=_", which base64 can never produce. */
static char *outbox_eml(const channel_msg *m, const char *message_id)
{
    sbuf b = {0};
    char **hv = mail_headers(m, OUTBOX_FROM, message_id);
    for (char **h = hv; *h; h++)
        sbuf_printf(&b, "%s\r\n", *h);
    mail_headers_free(hv);
    const char *mixed = "=_nudge_mixed", *alt = "=_nudge_alt";
    sbuf_printf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
                mixed);
    sbuf_printf(&b, "--%s\r\n", mixed);
    if (m->html) {
        sbuf_printf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", alt);
        sbuf_printf(&b, "--%s\r\n", alt);
        outbox_text_part(&b, "text/plain", m->text);
        sbuf_printf(&b, "--%s\r\n", alt);
        outbox_text_part(&b, "text/html", m->html);
        sbuf_printf(&b, "--%s--\r\n", alt);
    } else {
        outbox_text_part(&b, "text/plain", m->text);
    }
    const json_t *inv = channel_data(m, "invite");
    const char *ics = json_string_value(json_object_get(inv, "ics"));
    const char *method = json_string_value(json_object_get(inv, "method"));
    if (ics) {
        sbuf_printf(&b,
                    "--%s\r\nContent-Type: text/calendar; method=%s; charset=UTF-8; "
                    "name=\"invite.ics\"\r\nContent-Disposition: attachment; "
                    "filename=\"invite.ics\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                    mixed, method ? method : "REQUEST");
        outbox_base64(&b, ics);
    }
    sbuf_printf(&b, "--%s--\r\n", mixed);
    return sbuf_take(&b);
}

/* NULL when a field is not valid UTF-8 (jansson refuses those). */
static char *outbox_json(const channel_msg *m)
{
    time_t t = (time_t)m->now;
    struct tm tm;
    char created[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}",
                          "id", (json_int_t)m->id, "clinic_id", (json_int_t)m->clinic_id,
                          "channel", m->channel, "to", m->to, "from", m->from_name,
                          "text", m->text, "language", m->language, "template",
                          m->template_name, "created_at", created);
    if (!o)
        return NULL;
    /* Without JSON_ENSURE_ASCII, Hindi stays readable in the file. */
    char *s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!s)
        return NULL;
    sbuf b = {0};
    sbuf_printf(&b, "%s\n", s);
    free(s);
    return sbuf_take(&b);
}

/* Writes dir/name whole or not at all. The temporary name starts with a dot
 * so folder watchers and globs pass it over; the directory is synced after
 * the rename so the new name itself survives a crash. */
static int outbox_write(const char *dir, int *made, const char *name, const char *data,
                        char *why, size_t whyn)
{
    char tmp[4096], path[4096];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        snprintf(why, whyn, "outbox path too long");
        return -1;
    }
    /* Made on first use, not at open: a command that only reads the
     * database must not leave an empty outbox folder behind. Once made,
     * not walked again per message; made again only if it went away. */
    int fd = -1;
    for (int pass = 0; fd < 0 && pass < 2; pass++) {
        if (!*made && outbox_mkdirs(dir) < 0) {
            snprintf(why, whyn, "outbox: cannot create folder for %s: %s", name,
                     strerror(errno));
            return -1;
        }
        *made = 1;
        fd = mkstemp(tmp);
        if (fd < 0 && errno == ENOENT && pass == 0) {
            *made = 0;
            snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name); /* mkstemp spent the Xs */
        }
    }
    const char *step = "create";
    if (fd < 0)
        goto fail;
    size_t len = strlen(data), off = 0;
    step = "write";
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail_fd;
        off += (size_t)w;
    }
    step = "fsync";
    if (fsync(fd) < 0)
        goto fail_fd;
    step = "close";
    if (close(fd) < 0) {
        fd = -1;
        goto fail_fd;
    }
    fd = -1;
    step = "rename";
    if (rename(tmp, path) < 0)
        goto fail_fd;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on a dir */
        close(dfd);
    }
    return 0;
fail_fd:
    {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        errno = e;
    }
fail:
    snprintf(why, whyn, "outbox %s %s/%s: %s", step, dir, name, strerror(errno));
    return -1;
}

static int outbox_send(channel *ch, const channel_msg *m, channel_outcome *out)
{
    outbox_priv *p = ch->priv;
    memset(out, 0, sizeof *out);
    if (!outbox_channel_ok(m->channel)) {
        outbox_fail(out, CHANNEL_PERMANENT, "outbox: unusable channel name");
        return 0;
    }
    int email = strcmp(m->channel, "email") == 0;
    char name[96];
    snprintf(name, sizeof name, "%lld-%s.%s", (long long)m->id, m->channel,
             email ? "eml" : "json");

    char *data;
    if (email) {
        if (!mail_address_ok(m->to)) {
            outbox_fail(out, CHANNEL_PERMANENT, "invalid recipient address");
            return 0;
        }
        if (m->reply_to && *m->reply_to && !mail_address_ok(m->reply_to)) {
            outbox_fail(out, CHANNEL_CONFIG, "invalid Reply-To address");
            return 0;
        }
        char msgid[192];
        if (mail_message_id(m->id, OUTBOX_FROM, msgid, sizeof msgid) < 0) {
            outbox_fail(out, CHANNEL_TRANSIENT, "outbox: no random bytes for Message-ID");
            return 0;
        }
        data = outbox_eml(m, msgid);
    } else {
        data = outbox_json(m);
        if (!data) {
            outbox_fail(out, CHANNEL_PERMANENT, "outbox: message is not valid UTF-8");
            return 0;
        }
    }
    int rc = outbox_write(p->dir, &p->made, name, data, out->detail, sizeof out->detail);
    free(data);
    if (rc < 0) {
        out->result = CHANNEL_TRANSIENT;
        return 0;
    }
    out->result = CHANNEL_SENT;
    str_copy(out->provider_id, sizeof out->provider_id, name);
    return 0;
}

static void outbox_free(channel *ch)
{
    if (!ch)
        return;
    outbox_priv *p = ch->priv;
    if (p)
        free(p->dir);
    free(p);
    free(ch);
}

channel *channel_outbox_new(const char *dir, nudge_err *err)
{
    if (str_blank(dir)) {
        err_set(err, NUDGE_EINVAL, "outbox_dir", "outbox directory is empty");
        return NULL;
    }
    outbox_priv *p = calloc(1, sizeof *p);
    channel *ch = p ? channel_new(&transport_outbox, p, 1) : NULL;
    if (!ch) {
        free(p);
        err_set(err, NUDGE_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    p->dir = str_dup(dir);
    return ch;
}

/* Always there: the default for every medium nothing else carries. */
static int outbox_create(const nudge_config *cfg, channel **out, nudge_err *err)
{
    *out = channel_outbox_new(cfg->outbox_dir ? cfg->outbox_dir : "outbox", err);
    return *out ? 0 : -1;
}

const transport transport_outbox = {
    .name = "outbox",
    .medium = NULL,
    .create = outbox_create,
    .send = outbox_send,
    .free = outbox_free,
};
