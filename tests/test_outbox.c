/*
 * test_outbox.c: the folder transport. Files must appear whole under their
 * fixed names, a re-send must replace rather than add, Hindi must survive
 * byte for byte, and the .eml must be a message a real mail parser reads
 * the way we meant it (checked with Python's email package, through
 * tests/smtp_sink.py --parse, when /usr/bin/python3 is there).
 */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "channel/channel.h"

#define HI_TEXT "नमस्ते राहुल, आपकी अपॉइंटमेंट कल सुबह 10:00 बजे है।"
#define HI_SUBJECT "अपॉइंटमेंट रिमाइंडर: स्माइल डेंटल क्लिनिक"

typedef struct fx {
    char dir[128];
    char out[192];
    channel *ch;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    tu_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->out, sizeof f->out, "%s/a/b/outbox", f->dir);
    nudge_err err = {0};
    f->ch = channel_outbox_new(f->out, &err);
    if (!f->ch)
        fail_msg("channel_outbox_new: %s", err.msg);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    if (f->ch)
        f->ch->t->free(f->ch);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

static channel_msg msg_sms(void)
{
    return (channel_msg){
        .id = 42,
        .clinic_id = 7,
        .channel = "sms",
        .to = "+919812345678",
        .from_name = "Smile Dental",
        .text = HI_TEXT,
        .language = "hi",
        .template_name = "appointment_reminder",
        .now = TU_T(2026, 12, 1, 4, 30),
    };
}

static channel_msg msg_email(void)
{
    return (channel_msg){
        .id = 43,
        .clinic_id = 7,
        .channel = "email",
        .to = "rahul@example.org",
        .from_name = "Smile Dental",
        .reply_to = "front-desk@smile.example",
        .subject = HI_SUBJECT,
        .text = HI_TEXT,
        .html = "<p>" HI_TEXT "</p>",
        .language = "hi",
        .template_name = "appointment_reminder",
        .now = TU_T(2026, 12, 1, 4, 30),
    };
}

/* Every entry but . and ..: a leftover temporary file would show here. A
 * folder not made yet holds nothing. */
static int count_entries(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return 0;
    return tu_count_files(dir, "") - 2;
}

static char *path_in(const fx *f, const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", f->out, name);
    return p;
}

static void send_ok(fx *f, const channel_msg *m, channel_outcome *o)
{
    assert_int_equal(f->ch->t->send(f->ch, m, o), 0);
    if (o->result != CHANNEL_SENT)
        fail_msg("send: result %d: %s", o->result, o->detail);
}

/* The folder and its parents appear with the first message, not at
 * open: opening for a read-only command must leave nothing behind. */
static void test_send_creates_parents(void **state)
{
    fx *f = *state;
    struct stat st;
    assert_string_equal(f->ch->name, "outbox");
    assert_int_equal(stat(f->out, &st), -1);
    channel_msg m = msg_sms();
    channel_outcome o;
    send_ok(f, &m, &o);
    assert_int_equal(stat(f->out, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* An existing folder is fine too. */
    m.id = 44;
    send_ok(f, &m, &o);
    assert_int_equal(count_entries(f->out), 2);
}

static void test_folder_under_file_fails_transient(void **state)
{
    fx *f = *state;
    char file[256], sub[300];
    snprintf(file, sizeof file, "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(sub, sizeof sub, "%s/outbox", file);
    nudge_err err = {0};
    channel *ch = channel_outbox_new(sub, &err);
    assert_non_null(ch);
    channel_msg m = msg_sms();
    channel_outcome o;
    assert_int_equal(ch->t->send(ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_TRANSIENT);
    assert_non_null(strstr(o.detail, "cannot create folder"));
    ch->t->free(ch);
    assert_null(channel_outbox_new("", &err));
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, "outbox_dir");
}

static void test_sms_json(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    channel_outcome o;
    send_ok(f, &m, &o);
    assert_string_equal(o.provider_id, "42-sms.json");
    assert_int_equal(count_entries(f->out), 1);

    char *raw = tu_read_file(path_in(f, "42-sms.json"));
    assert_non_null(raw);
    assert_non_null(strstr(raw, HI_TEXT));      /* UTF-8 as is, not \u escapes */
    assert_non_null(strstr(raw, "{\n  \"id\": 42,\n")); /* indented by 2, id first */
    assert_int_equal(raw[strlen(raw) - 1], '\n');
    free(raw);

    json_error_t je;
    json_t *j = json_load_file(path_in(f, "42-sms.json"), 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "clinic_id")), 7);
    assert_string_equal(json_string_value(json_object_get(j, "channel")), "sms");
    assert_string_equal(json_string_value(json_object_get(j, "to")), "+919812345678");
    assert_string_equal(json_string_value(json_object_get(j, "from")), "Smile Dental");
    assert_string_equal(json_string_value(json_object_get(j, "text")), HI_TEXT);
    assert_string_equal(json_string_value(json_object_get(j, "language")), "hi");
    assert_string_equal(json_string_value(json_object_get(j, "template")),
                        "appointment_reminder");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2026-12-01T04:30:00Z");
    assert_int_equal(json_object_size(j), 9);
    json_decref(j);
}

static void test_whatsapp_json_nulls(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    m.id = 9000000000LL; /* beyond 32 bits */
    m.channel = "whatsapp";
    m.language = NULL;
    m.template_name = NULL;
    channel_outcome o;
    send_ok(f, &m, &o);
    assert_string_equal(o.provider_id, "9000000000-whatsapp.json");
    json_t *j = json_load_file(path_in(f, o.provider_id), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 9000000000LL);
    assert_true(json_is_null(json_object_get(j, "language")));
    assert_true(json_is_null(json_object_get(j, "template")));
    json_decref(j);
}

static void test_resend_overwrites(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    channel_outcome o;
    send_ok(f, &m, &o);
    m.text = "second attempt";
    send_ok(f, &m, &o);
    send_ok(f, &m, &o);
    assert_int_equal(count_entries(f->out), 1);
    json_t *j = json_load_file(path_in(f, "42-sms.json"), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "text")), "second attempt");
    json_decref(j);

    channel_msg e = msg_email();
    send_ok(f, &e, &o);
    e.subject = "Second";
    send_ok(f, &e, &o);
    assert_int_equal(count_entries(f->out), 2);
    char *raw = tu_read_file(path_in(f, "43-email.eml"));
    assert_non_null(strstr(raw, "\r\nSubject: Second\r\n"));
    free(raw);
}

/* Every line ends in CRLF and stays within 78 characters (base64 lines are
 * 76, folded encoded words shorter). */
static void check_eml_lines(const char *raw)
{
    for (const char *p = raw; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(nl > p && nl[-1] == '\r');
        assert_true(nl - 1 - p <= 78);
        p = nl + 1;
    }
}

/* The value of a top-level header (its first physical line), or NULL. */
static const char *find_header(const char *raw, const char *name)
{
    static char line[1024];
    size_t nl = strlen(name);
    for (const char *p = raw; *p && strncmp(p, "\r\n", 2);) {
        const char *e = strstr(p, "\r\n");
        if (!e)
            return NULL;
        if (!strncmp(p, name, nl) && p[nl] == ':') {
            size_t l = (size_t)(e - p) - nl - 2;
            l = l < sizeof line - 1 ? l : sizeof line - 1;
            memcpy(line, p + nl + 2, l);
            line[l] = 0;
            return line;
        }
        p = e + 2;
    }
    return NULL;
}

/* Decodes the base64 body of the first part of `type` (lines up to the
 * next boundary). Caller frees. */
static char *decode_part(const char *raw, const char *type)
{
    const char *p = strstr(raw, type);
    assert_non_null(p);
    p = strstr(p, "\r\n\r\n");
    assert_non_null(p);
    p += 4;
    char *out = calloc(1, strlen(p) + 1);
    size_t ol = 0;
    while (*p && *p != '-') {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        unsigned char buf[128];
        int n = EVP_DecodeBlock(buf, (const unsigned char *)p, (int)(e - p));
        assert_true(n >= 0);
        /* EVP_DecodeBlock counts padding as data: drop it. */
        if (e - p >= 2 && e[-1] == '=')
            n -= e[-2] == '=' ? 2 : 1;
        memcpy(out + ol, buf, (size_t)n);
        ol += (size_t)n;
        p = e + 2;
    }
    return out;
}

static const char *sink_script(void)
{
    static char path[1024];
    const char *e = getenv("NUDGE_SMTP_SINK");
    if (e)
        return e;
    if (access("tests/smtp_sink.py", R_OK) == 0)
        return "tests/smtp_sink.py";
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/smtp_sink.py", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    return path;
}

/* The .eml as Python's email package (policy=default) reads it, or NULL
 * when that parser is not available here. */
static json_t *python_parse(const char *file)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return NULL;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --parse '%s'", sink_script(), file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    pclose(p);
    return j;
}

static void test_email_eml(void **state)
{
    fx *f = *state;
    channel_msg m = msg_email();
    channel_outcome o;
    send_ok(f, &m, &o);
    assert_string_equal(o.provider_id, "43-email.eml");
    assert_int_equal(count_entries(f->out), 1);
    const char *file = path_in(f, "43-email.eml");
    char *raw = tu_read_file(file);
    assert_non_null(raw);
    check_eml_lines(raw);

    assert_string_equal(find_header(raw, "From"), "\"Smile Dental\" <outbox@localhost>");
    assert_string_equal(find_header(raw, "To"), "rahul@example.org");
    assert_string_equal(find_header(raw, "Reply-To"), "front-desk@smile.example");
    assert_string_equal(find_header(raw, "Date"), "Tue, 01 Dec 2026 04:30:00 +0000");
    assert_string_equal(find_header(raw, "MIME-Version"), "1.0");
    assert_non_null(strstr(find_header(raw, "Subject"), "=?UTF-8?B?"));
    assert_null(strstr(raw, HI_SUBJECT)); /* headers are 7-bit */
    const char *mid = find_header(raw, "Message-ID");
    assert_non_null(mid);
    assert_int_equal(strncmp(mid, "<nudge.43.", 10), 0);
    assert_non_null(strstr(mid, "@localhost>"));

    char *text = decode_part(raw, "Content-Type: text/plain");
    assert_string_equal(text, HI_TEXT);
    free(text);
    char *html = decode_part(raw, "Content-Type: text/html");
    assert_string_equal(html, "<p>" HI_TEXT "</p>");
    free(html);
    assert_true(strstr(raw, "text/plain") < strstr(raw, "text/html")); /* preferred last */
    free(raw);

    json_t *j = python_parse(file);
    if (!j)
        return; /* no independent parser here; the checks above stand */
    assert_string_equal(json_string_value(json_object_get(j, "subject")), HI_SUBJECT);
    assert_string_equal(json_string_value(json_object_get(j, "from_name")), "Smile Dental");
    assert_string_equal(json_string_value(json_object_get(j, "from_addr")), "outbox@localhost");
    assert_string_equal(json_string_value(json_object_get(j, "to")), "rahul@example.org");
    assert_string_equal(json_string_value(json_object_get(j, "reply_to")),
                        "front-desk@smile.example");
    assert_string_equal(json_string_value(json_object_get(j, "text")), HI_TEXT);
    assert_string_equal(json_string_value(json_object_get(j, "html")), "<p>" HI_TEXT "</p>");
    assert_string_equal(json_string_value(json_object_get(j, "content_type")),
                        "multipart/mixed");
    json_t *parts = json_object_get(j, "parts");
    assert_int_equal(json_array_size(parts), 4);
    assert_string_equal(json_string_value(json_array_get(parts, 1)), "multipart/alternative");
    assert_string_equal(json_string_value(json_array_get(parts, 2)), "text/plain");
    assert_string_equal(json_string_value(json_array_get(parts, 3)), "text/html");
    assert_int_equal(json_integer_value(json_object_get(j, "defects")), 0);
    json_decref(j);
}

static char *collapse_spaces(const char *s)
{
    assert_non_null(s);
    char *c = calloc(1, strlen(s) + 1), *o = c;
    for (; *s; s++)
        if (*s != ' ' || (o > c && o[-1] != ' '))
            *o++ = *s;
    return c;
}

static void test_email_text_only_hindi_name(void **state)
{
    fx *f = *state;
    channel_msg m = msg_email();
    m.html = NULL;
    m.reply_to = NULL;
    m.from_name = "स्माइल डेंटल \"क्लिनिक\" और परिवार दंत चिकित्सा केंद्र";
    m.subject = "Reminder";
    m.text = ""; /* empty body is still a message */
    channel_outcome o;
    send_ok(f, &m, &o);
    char *raw = tu_read_file(path_in(f, o.provider_id));
    check_eml_lines(raw);
    assert_null(find_header(raw, "Reply-To"));
    assert_string_equal(find_header(raw, "Subject"), "Reminder");
    assert_null(strstr(raw, "text/html"));
    assert_null(strstr(raw, "multipart/alternative"));
    free(raw);
    json_t *j = python_parse(path_in(f, o.provider_id));
    if (!j)
        return;
    /* Python before gh-128110 adds a space between the encoded words of a
     * display name (RFC 2047 6.2 says to drop it): compare collapsed. */
    char *got = collapse_spaces(json_string_value(json_object_get(j, "from_name")));
    char *want = collapse_spaces(m.from_name);
    assert_string_equal(got, want);
    free(got);
    free(want);
    assert_string_equal(json_string_value(json_object_get(j, "text")), "");
    assert_true(json_is_null(json_object_get(j, "html")));
    assert_int_equal(json_integer_value(json_object_get(j, "defects")), 0);
    json_decref(j);
}

/* Values from templates and clinic settings cannot add header lines. */
static void test_email_header_injection(void **state)
{
    fx *f = *state;
    channel_msg m = msg_email();
    m.subject = "Hello\r\nBcc: victim@example.org";
    m.from_name = "Clinic\nX-Evil: 1";
    channel_outcome o;
    send_ok(f, &m, &o);
    char *raw = tu_read_file(path_in(f, o.provider_id));
    assert_null(find_header(raw, "Bcc"));
    assert_null(find_header(raw, "X-Evil"));
    assert_string_equal(find_header(raw, "Subject"), "Hello  Bcc: victim@example.org");
    free(raw);

    m.to = "rahul@example.org\r\nBcc: victim@example.org";
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_PERMANENT);
    m.to = "rahul@example.org";
    m.reply_to = "desk@x.org>\r\nBcc: v@x.org";
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_CONFIG);
    m.to = "not an address";
    m.reply_to = NULL;
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_PERMANENT);
    assert_int_equal(count_entries(f->out), 1);
}

static void test_bad_channel_name(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    channel_outcome o;
    const char *bad[] = {"../sms", "sms/x", "", "SMS", NULL};
    for (int i = 0; i < 5; i++) {
        m.channel = bad[i];
        assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
        assert_int_equal(o.result, CHANNEL_PERMANENT);
        assert_string_equal(o.provider_id, "");
    }
    assert_int_equal(count_entries(f->out), 0);
    assert_int_equal(count_entries(f->dir), 0); /* nothing escaped upwards */
}

static void test_invalid_utf8_json(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    m.text = "bad \xff byte";
    channel_outcome o;
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_PERMANENT);
    assert_int_equal(count_entries(f->out), 0);
}

/* The folder replaced by a file after start: every write fails, for root
 * too, and the failure is transient (someone may fix the disk). */
static void test_unwritable_transient(void **state)
{
    fx *f = *state;
    channel_msg m = msg_sms();
    channel_outcome o;
    tu_rmrf(f->out);
    char parent[512];
    snprintf(parent, sizeof parent, "mkdir -p '%s/a/b'", f->dir);
    assert_int_equal(system(parent), 0);
    FILE *fp = fopen(f->out, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_TRANSIENT);
    assert_string_equal(o.provider_id, "");
    assert_non_null(strstr(o.detail, "42-sms.json"));
    assert_null(strstr(o.detail, HI_TEXT)); /* no body in details */
    unlink(f->out);

    if (geteuid() == 0)
        return; /* root writes through permissions */
    assert_int_equal(mkdir(f->out, 0500), 0);
    assert_int_equal(f->ch->t->send(f->ch, &m, &o), 0);
    assert_int_equal(o.result, CHANNEL_TRANSIENT);
    chmod(f->out, 0700);
    assert_int_equal(count_entries(f->out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_send_creates_parents),
        T(test_folder_under_file_fails_transient),
        T(test_sms_json),
        T(test_whatsapp_json_nulls),
        T(test_resend_overwrites),
        T(test_email_eml),
        T(test_email_text_only_hindi_name),
        T(test_email_header_injection),
        T(test_bad_channel_name),
        T(test_invalid_utf8_json),
        T(test_unwritable_transient),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
