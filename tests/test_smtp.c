/*
 * test_smtp.c: the SMTP channel against a real SMTP server (aiosmtpd, run by
 * tests/smtp_sink.py), and the RFC 2047 encoder it relies on. The sink keeps
 * each message with its envelope and a parse by Python's email package, so
 * what is checked here is what a mail reader would see: decoded Hindi
 * subject, both body parts, envelope, Date and Message-ID. Failures are
 * checked by how the queue must treat them: bad password and missing TLS
 * are configuration, a refused recipient is permanent, a dead or silent
 * server is transient. Tests needing the sink are skipped when Debian's
 * python3-aiosmtpd is missing.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "channel/channel.h"
#include "sink.h"

#define HI_SUBJECT "अपॉइंटमेंट रिमाइंडर: कल सुबह 10:00 बजे स्माइल डेंटल क्लिनिक में आपकी जाँच"
#define HI_TEXT "नमस्ते राहुल, आपकी अपॉइंटमेंट कल सुबह 10:00 बजे है।"
#define HI_CLINIC "स्माइल डेंटल"

static int have_openssl_cli;


typedef struct fx {
    sink s;
    channel *ch;
    char tmp[128]; /* certificates */
} fx;

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("%s is not a string", k);
    return json_string_value(v);
}

static char *url_of(const sink *s)
{
    static char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", s->port);
    return url;
}

static channel *smtp_open(const char *url, const char *user, const char *pass, int starttls,
                          int insecure)
{
    /* The config lives on the stack and in a buffer we wipe: the channel
     * must keep its own copies. */
    char from[64], password[64];
    snprintf(from, sizeof from, "reminders@smile.example");
    snprintf(password, sizeof password, "%s", pass ? pass : "");
    smtp_config cfg = {
        .url = url,
        .from = from,
        .user = user,
        .password = pass ? password : NULL,
        .starttls = starttls,
        .insecure = insecure,
        .timeout_ms = 5000,
    };
    nudge_err err = {0};
    channel *ch = channel_smtp_new(&cfg, &err);
    if (!ch)
        fail_msg("channel_smtp_new: %s", err.msg);
    memset(from, 'x', sizeof from - 1);
    memset(password, 'x', sizeof password - 1);
    return ch;
}

static channel_msg msg_en(void)
{
    return (channel_msg){
        .id = 101,
        .clinic_id = 7,
        .channel = "email",
        .to = "rahul@example.org",
        .from_name = "Smile Dental",
        .reply_to = "desk@smile.example",
        .subject = "Appointment reminder: tomorrow at 10:00 AM",
        .text = "Hello Rahul,\nyour appointment is tomorrow at 10:00 AM.\n",
        .html = "<p>Hello Rahul,<br>your appointment is <b>tomorrow at 10:00 AM</b>.</p>",
        .language = "en",
        .template_name = "appointment_reminder",
        .now = TU_T(2026, 12, 1, 4, 30),
    };
}

static int fx_setup(void **state)
{
    *state = calloc(1, sizeof(fx));
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    if (f->ch)
        f->ch->t->free(f->ch);
    sink_stop(&f->s);
    if (f->tmp[0])
        tu_rmrf(f->tmp);
    free(f);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    have_sink = sink_available();
    have_openssl_cli = system("openssl version >/dev/null 2>&1") == 0;
    if (!have_sink)
        fprintf(stderr, "test_smtp: no python3-aiosmtpd, SMTP tests skipped\n");
    return 0;
}

static void send_expect(channel *ch, const channel_msg *m, channel_outcome *o,
                        enum channel_result want)
{
    assert_int_equal(ch->t->send(ch, m, o), 0);
    if (o->result != want)
        fail_msg("result %d, want %d: %s", o->result, want, o->detail);
}

/* ---- RFC 2047 ---- */

/* Decodes a value made of encoded words joined by folding: checks every
 * word's length and that each word holds whole UTF-8 sequences. */
static char *decode_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t ol = 0;
    const char *p = v;
    while (*p) {
        assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
        const char *e = strstr(p + 10, "?=");
        assert_non_null(e);
        assert_true(e + 2 - p <= 75);
        unsigned char buf[128];
        int n = EVP_DecodeBlock(buf, (const unsigned char *)p + 10, (int)(e - p - 10));
        assert_true(n > 0);
        if (e[-1] == '=')
            n -= e[-2] == '=' ? 2 : 1;
        /* whole sequences: the word's bytes must not end mid-character */
        int i = 0;
        while (i < n) {
            int l = buf[i] < 0x80 ? 1 : buf[i] >= 0xf0 ? 4 : buf[i] >= 0xe0 ? 3 : 2;
            assert_true((buf[i] & 0xc0) != 0x80);
            i += l;
        }
        assert_int_equal(i, n);
        memcpy(out + ol, buf, (size_t)n);
        ol += (size_t)n;
        p = e + 2;
        if (*p) {
            assert_int_equal(strncmp(p, "\r\n ", 3), 0);
            p += 3;
        }
    }
    return out;
}

static void test_encode_ascii_unchanged(void **state)
{
    (void)state;
    const char *same[] = {"", "Appointment reminder", "a=b ?c", NULL};
    for (const char **s = same; *s; s++) {
        char *e = channel_header_encode(*s);
        assert_string_equal(e, *s);
        free(e);
    }
    char *e = channel_header_encode(NULL);
    assert_string_equal(e, "");
    free(e);
    /* Text that looks like an encoded word is encoded so it reads back as
     * itself. */
    e = channel_header_encode("fake =?UTF-8?B?SGk=?=");
    char *d = decode_words(e);
    assert_string_equal(d, "fake =?UTF-8?B?SGk=?=");
    free(d);
    free(e);
}

static void test_encode_hindi_words(void **state)
{
    (void)state;
    const char *cases[] = {
        "नमस्ते",
        HI_SUBJECT,
        HI_SUBJECT " " HI_SUBJECT " " HI_SUBJECT,
        "ñ", "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
        "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", /* 4-byte sequences */
        "Reminder für Müller – Zahnarzt",
        NULL,
    };
    for (const char **c = cases; *c; c++) {
        char *e = channel_header_encode(*c);
        char *d = decode_words(e);
        assert_string_equal(d, *c);
        free(d);
        free(e);
    }
    char *e = channel_header_encode(HI_SUBJECT);
    assert_non_null(strstr(e, "?=\r\n =?UTF-8?B?")); /* long: several words */
    free(e);
}

/* ---- configuration ---- */

static void test_new_rejects_bad_config(void **state)
{
    (void)state;
    nudge_err err = {0};
    smtp_config c = {.url = "http://127.0.0.1:25", .from = "a@b.example"};
    assert_null(channel_smtp_new(&c, &err));
    assert_string_equal(err.field, "smtp_url");
    c.url = "smtp://user:secret@127.0.0.1:25";
    assert_null(channel_smtp_new(&c, &err));
    assert_string_equal(err.field, "smtp_url");
    assert_null(strstr(err.msg, "secret"));
    c.url = "smtp://127.0.0.1:25";
    c.from = "Smile <a@b.example>";
    assert_null(channel_smtp_new(&c, &err));
    assert_string_equal(err.field, "smtp_from");
    c.from = "a@b.example";
    channel *ch = channel_smtp_new(&c, &err);
    assert_non_null(ch);
    assert_string_equal(ch->name, "smtp");
    /* A bad recipient never reaches the network. */
    channel_msg m = msg_en();
    m.to = "rahul@example.org>\r\nRCPT TO:<x@y.z";
    channel_outcome o;
    send_expect(ch, &m, &o, CHANNEL_PERMANENT);
    ch->t->free(ch);
    ch = channel_smtp_new(&c, &err); /* created and freed unused: no leak */
    ch->t->free(ch);
}

/* ---- delivery ---- */

static void test_send_english(void **state)
{
    fx *f = *state;
    sink_start(&f->s, NULL);
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 0, 0);
    channel_msg m = msg_en();
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_SENT);
    assert_int_equal(strncmp(o.provider_id, "<nudge.101.", 11), 0);
    assert_non_null(strstr(o.provider_id, "@smile.example>"));
    assert_string_equal(o.detail, "");

    json_t *env = sink_json(&f->s, 1, "env");
    assert_string_equal(jstr(env, "mail_from"), "reminders@smile.example");
    assert_int_equal(json_array_size(json_object_get(env, "rcpt_tos")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(env, "rcpt_tos"), 0)),
                        "rahul@example.org");
    json_decref(env);

    json_t *j = sink_json(&f->s, 1, "json");
    assert_string_equal(jstr(j, "subject"), m.subject);
    assert_string_equal(jstr(j, "from"), "Smile Dental <reminders@smile.example>");
    assert_string_equal(jstr(j, "to"), "rahul@example.org");
    assert_string_equal(jstr(j, "reply_to"), "desk@smile.example");
    assert_string_equal(jstr(j, "date"), "Tue, 01 Dec 2026 04:30:00 +0000");
    assert_string_equal(jstr(j, "message_id"), o.provider_id);
    assert_string_equal(jstr(j, "mime_version"), "1.0");
    assert_string_equal(jstr(j, "text"), m.text);
    assert_string_equal(jstr(j, "html"), m.html);
    json_t *parts = json_object_get(j, "parts");
    assert_int_equal(json_array_size(parts), 4);
    assert_string_equal(json_string_value(json_array_get(parts, 0)), "multipart/mixed");
    assert_string_equal(json_string_value(json_array_get(parts, 1)), "multipart/alternative");
    assert_string_equal(json_string_value(json_array_get(parts, 2)), "text/plain");
    assert_string_equal(json_string_value(json_array_get(parts, 3)), "text/html");
    assert_int_equal(json_integer_value(json_object_get(j, "defects")), 0);
    json_decref(j);
}

/* Hindi subject (several folded encoded words), Hindi clinic name and body;
 * sent after an English message on the same channel, which must reuse the
 * SMTP connection. */
static void test_send_hindi_reuses_connection(void **state)
{
    fx *f = *state;
    sink_start(&f->s, NULL);
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 0, 0);
    channel_msg m = msg_en();
    channel_outcome o1, o2;
    send_expect(f->ch, &m, &o1, CHANNEL_SENT);
    m.id = 102;
    m.subject = HI_SUBJECT;
    m.from_name = HI_CLINIC;
    m.text = HI_TEXT;
    m.html = "<p>" HI_TEXT "</p>";
    m.reply_to = NULL;
    m.language = "hi";
    send_expect(f->ch, &m, &o2, CHANNEL_SENT);
    assert_string_not_equal(o1.provider_id, o2.provider_id);

    json_t *j = sink_json(&f->s, 2, "json");
    assert_string_equal(jstr(j, "subject"), HI_SUBJECT);
    assert_string_equal(jstr(j, "from_name"), HI_CLINIC);
    assert_string_equal(jstr(j, "from_addr"), "reminders@smile.example");
    assert_string_equal(jstr(j, "text"), HI_TEXT);
    assert_string_equal(jstr(j, "html"), "<p>" HI_TEXT "</p>");
    assert_true(json_is_null(json_object_get(j, "reply_to")));
    assert_string_equal(jstr(j, "message_id"), o2.provider_id);
    assert_int_equal(json_integer_value(json_object_get(j, "defects")), 0);
    json_decref(j);

    /* On the wire: 7-bit headers, the subject folded as libcurl was given it. */
    char *raw = sink_raw(&f->s, 2);
    assert_non_null(raw);
    assert_non_null(strstr(raw, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(strstr(raw, "?=\r\n =?UTF-8?B?"));
    const char *body = strstr(raw, "\r\n\r\n");
    for (const char *p = raw; p < body; p++)
        assert_true((unsigned char)*p < 0x80);
    free(raw);

    json_t *e1 = sink_json(&f->s, 1, "env"), *e2 = sink_json(&f->s, 2, "env");
    json_t *peer1 = json_object_get(e1, "peer"), *peer2 = json_object_get(e2, "peer");
    assert_int_equal(json_integer_value(json_array_get(peer1, 1)),
                     json_integer_value(json_array_get(peer2, 1)));
    json_decref(e1);
    json_decref(e2);
}

static void test_send_text_only(void **state)
{
    fx *f = *state;
    sink_start(&f->s, NULL);
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 0, 0);
    channel_msg m = msg_en();
    m.html = NULL;
    m.text = "line one\r\n.\r\n.leading dot and a very long line "
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_SENT);
    json_t *j = sink_json(&f->s, 1, "json");
    assert_string_equal(jstr(j, "text"), m.text);
    assert_true(json_is_null(json_object_get(j, "html")));
    json_decref(j);
}

static void test_auth(void **state)
{
    fx *f = *state;
    const char *args[] = {"--auth", "clinic:s3cret-pw", NULL};
    sink_start(&f->s, args);
    channel_msg m = msg_en();
    channel_outcome o;

    f->ch = smtp_open(url_of(&f->s), "clinic", "s3cret-pw", 0, 0);
    send_expect(f->ch, &m, &o, CHANNEL_SENT);
    json_t *env = sink_json(&f->s, 1, "env");
    assert_true(json_is_true(json_object_get(env, "authenticated")));
    json_decref(env);
    f->ch->t->free(f->ch);

    f->ch = smtp_open(url_of(&f->s), "clinic", "wrong-pw", 0, 0);
    send_expect(f->ch, &m, &o, CHANNEL_CONFIG);
    assert_non_null(strstr(o.detail, "535"));
    assert_null(strstr(o.detail, "wrong-pw"));
    assert_string_equal(o.provider_id, "");
    f->ch->t->free(f->ch);

    /* No credentials where the server wants them: 530, ours to fix. */
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 0, 0);
    send_expect(f->ch, &m, &o, CHANNEL_CONFIG);
    assert_non_null(strstr(o.detail, "530"));
    assert_int_equal(tu_count_files(f->s.dir, ".eml"), 1);
}

static void test_rejected_recipient_permanent(void **state)
{
    fx *f = *state;
    const char *args[] = {"--reject-rcpt", "bounce", NULL};
    sink_start(&f->s, args);
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 0, 0);
    channel_msg m = msg_en();
    m.to = "bounce@example.org";
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_PERMANENT);
    assert_non_null(strstr(o.detail, "550"));
    assert_null(strstr(o.detail, "Hello Rahul"));
    /* The handle is usable afterwards. */
    m.to = "rahul@example.org";
    send_expect(f->ch, &m, &o, CHANNEL_SENT);
    assert_int_equal(tu_count_files(f->s.dir, ".eml"), 1);
}

static void test_server_down_transient(void **state)
{
    fx *f = *state;
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", free_port());
    f->ch = smtp_open(url, "clinic", "pw", 0, 0);
    channel_msg m = msg_en();
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_TRANSIENT);
    assert_string_not_equal(o.detail, "");
    assert_string_equal(o.provider_id, "");
}

/* A server that accepts the connection and never greets: the transfer
 * timeout, not the caller, ends the wait. */
static void test_silent_server_times_out(void **state)
{
    fx *f = *state;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", ntohs(a.sin_port));
    smtp_config cfg = {.url = url, .from = "a@smile.example", .timeout_ms = 300};
    f->ch = channel_smtp_new(&cfg, NULL);
    assert_non_null(f->ch);
    channel_msg m = msg_en();
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_TRANSIENT);
    close(fd);
    assert_non_null(strstr(o.detail, "timed out"));
}

/* ---- STARTTLS ---- */

static void make_cert(fx *f, char *cert, char *key, size_t n)
{
    if (!have_openssl_cli)
        skip();
    tu_tmpdir(f->tmp, sizeof f->tmp);
    snprintf(cert, n, "%s/cert.pem", f->tmp);
    snprintf(key, n, "%s/key.pem", f->tmp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
}

static void test_starttls(void **state)
{
    fx *f = *state;
    char cert[256], key[256];
    if (!have_sink)
        skip();
    make_cert(f, cert, key, sizeof cert);
    /* With TLS offered, the sink also refuses AUTH before STARTTLS. */
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, "--auth", "clinic:pw", NULL};
    sink_start(&f->s, args);
    channel_msg m = msg_en();
    channel_outcome o;

    f->ch = smtp_open(url_of(&f->s), "clinic", "pw", 1, 1);
    send_expect(f->ch, &m, &o, CHANNEL_SENT);
    json_t *env = sink_json(&f->s, 1, "env");
    assert_true(json_is_true(json_object_get(env, "authenticated")));
    json_decref(env);
    f->ch->t->free(f->ch);

    /* A self-signed certificate is refused unless told otherwise. */
    f->ch = smtp_open(url_of(&f->s), "clinic", "pw", 1, 0);
    send_expect(f->ch, &m, &o, CHANNEL_CONFIG);
    assert_int_equal(tu_count_files(f->s.dir, ".eml"), 1);
}

static void test_starttls_required_but_missing(void **state)
{
    fx *f = *state;
    sink_start(&f->s, NULL);
    f->ch = smtp_open(url_of(&f->s), NULL, NULL, 1, 1);
    channel_msg m = msg_en();
    channel_outcome o;
    send_expect(f->ch, &m, &o, CHANNEL_CONFIG);
    assert_int_equal(tu_count_files(f->s.dir, ".eml"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        cmocka_unit_test(test_encode_ascii_unchanged),
        cmocka_unit_test(test_encode_hindi_words),
        cmocka_unit_test(test_new_rejects_bad_config),
        T(test_send_english),
        T(test_send_hindi_reuses_connection),
        T(test_send_text_only),
        T(test_auth),
        T(test_rejected_recipient_permanent),
        T(test_server_down_transient),
        T(test_silent_server_times_out),
        T(test_starttls),
        T(test_starttls_required_but_missing),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
