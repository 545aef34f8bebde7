/*
 * test_tmpl.c: the template module: rendering and its errors, HTML escaping,
 * nudge_vars, SMS segment counting, and the built-in table held to the
 * variables its senders promise to supply. Needs no database.
 */
#include "testutil.h"

#include "tmpl.h"
#include "util.h"

/* ---- helpers ---- */

/* Renders and expects success; the caller frees. */
static char *render_ok(const char *src, const nudge_vars *v, int html)
{
    nudge_err err = {0};
    char *out = tmpl_render(src, v, html, &err);
    if (!out)
        fail_msg("render of \"%s\" failed: %s (%s)", src, err.msg, err.field);
    assert_int_equal(err.code, NUDGE_OK);
    return out;
}

static void assert_render(const char *src, const nudge_vars *v, int html, const char *want)
{
    char *out = render_ok(src, v, html);
    assert_string_equal(out, want);
    free(out);
}

/* Expects a syntax error from both render and check, with check naming field. */
static void assert_bad_syntax(const char *src)
{
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "name", "Asha"), 0);
    nudge_err err = {0};
    char *out = tmpl_render(src, &v, 0, &err);
    if (out)
        fail_msg("\"%s\" rendered as \"%s\"; expected a syntax error", src, out);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_true(err.msg[0] != 0);
    memset(&err, 0, sizeof err);
    assert_int_equal(tmpl_check(src, "sms", &err), -1);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, "sms");
    nudge_vars_free(&v);
}

static char *repeat(const char *unit, int n)
{
    size_t l = strlen(unit);
    char *s = malloc(l * (size_t)n + 1);
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        memcpy(s + l * (size_t)i, unit, l);
    s[l * (size_t)n] = 0;
    return s;
}

static int segments(const char *text, int *ucs2)
{
    *ucs2 = -1;
    return tmpl_sms_segments(text, ucs2);
}

/* ---- rendering ---- */

static void test_render_plain(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_render("Your clinic is open today.", &v, 0, "Your clinic is open today.");
    assert_render("", &v, 0, "");
    assert_render("no vars needed", NULL, 0, "no vars needed");
    /* HTML in the template itself is the author's and must survive. */
    assert_render("<p>Hi & 'bye'</p>", &v, 1, "<p>Hi & 'bye'</p>");
}

static void test_render_vars(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "patient_name", "Asha Rao"), 0);
    assert_int_equal(nudge_vars_set(&v, "date", "15-Jan-2024"), 0);
    assert_int_equal(nudge_vars_set(&v, "time", "10:00 AM"), 0);
    assert_int_equal(nudge_vars_set(&v, "unused", "never shown"), 0);
    assert_render("Hi {patient_name}, see you on {date} at {time}.", &v, 0,
                  "Hi Asha Rao, see you on 15-Jan-2024 at 10:00 AM.");
    assert_render("{date}{time}", &v, 0, "15-Jan-202410:00 AM");
    assert_render("{patient_name}", &v, 0, "Asha Rao");
    /* A value that looks like a placeholder is data, not template. */
    assert_int_equal(nudge_vars_set(&v, "patient_name", "{date}"), 0);
    assert_render("Hi {patient_name}", &v, 0, "Hi {date}");
    nudge_vars_free(&v);
}

static void test_render_repeated_var(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "clinic_name", "Smile Dental"), 0);
    assert_render("{clinic_name} - {clinic_name} - {clinic_name}", &v, 0,
                  "Smile Dental - Smile Dental - Smile Dental");
    nudge_vars_free(&v);
}

static void test_render_literal_braces(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "name", "Asha"), 0);
    assert_render("{{name}} is {name}", &v, 0, "{name} is Asha");
    assert_render("{{{name}}}", &v, 0, "{Asha}");
    assert_render("{{}}", &v, 0, "{}");
    assert_render("a {{ b }} c", &v, 0, "a { b } c");
    assert_int_equal(tmpl_check("{{not a placeholder}}", "sms", NULL), 0);
    nudge_vars_free(&v);
}

static void test_render_missing_var(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "patient_name", "Asha"), 0);
    nudge_err err = {0};
    assert_null(tmpl_render("Hi {patient_name}, at {time}", &v, 0, &err));
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, "vars.time");
    assert_non_null(strstr(err.msg, "{time}"));

    /* No vars at all: the first placeholder is the one named. */
    memset(&err, 0, sizeof err);
    assert_null(tmpl_render("{clinic_name} {date}", NULL, 0, &err));
    assert_string_equal(err.field, "vars.clinic_name");

    /* The longest legal name still fits in err.field. */
    char src[64], want[64];
    snprintf(src, sizeof src, "{%s}", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefg");
    snprintf(want, sizeof want, "vars.%s", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefg");
    memset(&err, 0, sizeof err);
    assert_null(tmpl_render(src, &v, 0, &err));
    assert_string_equal(err.field, want);

    /* Failing on a NULL err must not crash. */
    assert_null(tmpl_render("{nope}", &v, 0, NULL));
    nudge_vars_free(&v);
}

static void test_render_bad_syntax(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{",           "}",          "{}",          "Hi {name",     "Hi name}",
        "{Name}",      "{na me}",    "{na-me}",     "{{name}",      "{name}}",
        "{ name }",    "{name{",     "tail {",      "{na\xc3\xa9}", "x } y",
        /* 48 characters: no nudge_vars key can hold it. */
        "{abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_bad_syntax(bad[i]);

    static const char *good[] = {
        "", "plain", "{a}", "{a_1}", "{{", "}}", "{{x}} {y}",
        "{abcdefghijabcdefghijabcdefghijabcdefghijabcdefg}", /* 47: fits */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nudge_err err = {0};
        if (tmpl_check(good[i], "sms", &err) != 0)
            fail_msg("\"%s\" rejected: %s", good[i], err.msg);
    }
    assert_int_equal(tmpl_check(NULL, "whatsapp", NULL), 0); /* absent optional text */

    nudge_err err = {0};
    assert_null(tmpl_render(NULL, NULL, 0, &err));
    assert_int_equal(err.code, NUDGE_EINVAL);
}

static void test_render_html_escape(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_int_equal(nudge_vars_set(&v, "x", "<b>\"Tom\" & 'Jerry'</b>"), 0);
    assert_render("<p title=\"t\">{x}</p>", &v, 1,
                  "<p title=\"t\">&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;</p>");
    /* Not HTML: values go in untouched. */
    assert_render("<p>{x}</p>", &v, 0, "<p><b>\"Tom\" & 'Jerry'</b></p>");
    /* Each character alone, and an already-escaped value escaped again. */
    assert_int_equal(nudge_vars_set(&v, "x", "&"), 0);
    assert_render("{x}", &v, 1, "&amp;");
    assert_int_equal(nudge_vars_set(&v, "x", "'"), 0);
    assert_render("{x}", &v, 1, "&#39;");
    assert_int_equal(nudge_vars_set(&v, "x", "&amp;"), 0);
    assert_render("{x}", &v, 1, "&amp;amp;");
    /* Non-ASCII passes through byte for byte. */
    assert_int_equal(nudge_vars_set(&v, "x", "प्रिया <3"), 0);
    assert_render("{x}", &v, 1, "प्रिया &lt;3");
    nudge_vars_free(&v);
}

/* ---- nudge_vars ---- */

static void test_vars(void **state)
{
    (void)state;
    nudge_vars v = {0};
    assert_null(nudge_vars_get(&v, "a"));
    assert_int_equal(nudge_vars_set(&v, "a", "1"), 0);
    assert_int_equal(nudge_vars_set(&v, "b", "2"), 0);
    assert_string_equal(nudge_vars_get(&v, "a"), "1");
    assert_string_equal(nudge_vars_get(&v, "b"), "2");
    assert_null(nudge_vars_get(&v, "c"));

    /* Replacing keeps one entry per key. */
    assert_int_equal(nudge_vars_set(&v, "a", "one"), 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(nudge_vars_get(&v, "a"), "one");

    /* The value is copied, not borrowed. */
    char buf[8] = "temp";
    assert_int_equal(nudge_vars_set(&v, "c", buf), 0);
    strcpy(buf, "XXXX");
    assert_string_equal(nudge_vars_get(&v, "c"), "temp");

    /* Setting a key to its own current value must not read freed memory. */
    assert_int_equal(nudge_vars_set(&v, "c", nudge_vars_get(&v, "c")), 0);
    assert_string_equal(nudge_vars_get(&v, "c"), "temp");

    /* Keys: 47 bytes fit the 48-byte slot, 48 do not; empty and NULL refused. */
    char key[64];
    memset(key, 'k', 47);
    key[47] = 0;
    assert_int_equal(nudge_vars_set(&v, key, "ok"), 0);
    assert_string_equal(nudge_vars_get(&v, key), "ok");
    key[47] = 'k';
    key[48] = 0;
    assert_int_equal(nudge_vars_set(&v, key, "no"), -1);
    assert_null(nudge_vars_get(&v, key));
    assert_int_equal(nudge_vars_set(&v, "", "x"), -1);
    assert_int_equal(nudge_vars_set(&v, NULL, "x"), -1);
    assert_int_equal(nudge_vars_set(&v, "d", NULL), -1);
    assert_null(nudge_vars_get(&v, "d"));
    assert_int_equal(v.n, 4);

    nudge_vars_free(&v);
    assert_int_equal(v.n, 0);
    assert_null(nudge_vars_get(&v, "a"));

    /* Capacity: 48 keys, then only replacements succeed. */
    for (int i = 0; i < 48; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(nudge_vars_set(&v, key, key), 0);
    }
    assert_int_equal(nudge_vars_set(&v, "one_more", "x"), -1);
    assert_int_equal(nudge_vars_set(&v, "k47", "replaced"), 0);
    assert_string_equal(nudge_vars_get(&v, "k47"), "replaced");
    assert_string_equal(nudge_vars_get(&v, "k0"), "k0");
    nudge_vars_free(&v);
    nudge_vars_free(&v); /* twice is harmless */
    assert_null(nudge_vars_get(NULL, "a"));
}

/* ---- SMS segments ---- */

static void test_segments_gsm(void **state)
{
    (void)state;
    int ucs2;
    assert_int_equal(segments("", &ucs2), 1);
    assert_int_equal(ucs2, 0);
    assert_int_equal(tmpl_sms_segments("hi", NULL), 1);

    char *s = repeat("a", 160);
    assert_int_equal(segments(s, &ucs2), 1);
    assert_int_equal(ucs2, 0);
    free(s);
    s = repeat("a", 161);
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    s = repeat("a", 306);
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    s = repeat("a", 307);
    assert_int_equal(segments(s, &ucs2), 3);
    free(s);

    /* The basic table's non-ASCII letters stay GSM-7, one septet each. */
    s = repeat("é", 160);
    assert_int_equal(segments(s, &ucs2), 1);
    assert_int_equal(ucs2, 0);
    free(s);
    assert_int_equal(segments("£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà@$\r\n", &ucs2), 1);
    assert_int_equal(ucs2, 0);
}

static void test_segments_extension(void **state)
{
    (void)state;
    int ucs2;
    static const char *ext[] = {"^", "{", "}", "\\", "[", "~", "]", "|", "€"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        /* 80 of them are 160 septets: one part; one more and it is two. */
        char *s = repeat(ext[i], 80);
        assert_int_equal(segments(s, &ucs2), 1);
        assert_int_equal(ucs2, 0);
        free(s);
        s = repeat(ext[i], 81);
        assert_int_equal(segments(s, &ucs2), 2);
        assert_int_equal(ucs2, 0);
        free(s);
    }
    /* 159 letters + one extension char = 161 septets: two parts. */
    char *a = repeat("a", 159), buf[256];
    snprintf(buf, sizeof buf, "%s€", a);
    assert_int_equal(segments(buf, &ucs2), 2);
    free(a);

    /* 152 + escape pair + 152 = 306 septets, but the pair cannot straddle
     * the 153-septet boundary, so it takes three parts, not two. */
    a = repeat("a", 152);
    char big[512];
    snprintf(big, sizeof big, "%s[%s", a, a);
    assert_int_equal(segments(big, &ucs2), 3);
    free(a);
}

static void test_segments_ucs2(void **state)
{
    (void)state;
    int ucs2;
    char *s = repeat("ж", 70);
    assert_int_equal(segments(s, &ucs2), 1);
    assert_int_equal(ucs2, 1);
    free(s);
    s = repeat("ж", 71);
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    s = repeat("ж", 134);
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    s = repeat("ж", 135);
    assert_int_equal(segments(s, &ucs2), 3);
    free(s);

    /* One non-GSM character turns the whole message into UCS-2: 100
     * letters were one GSM part, and are two UCS-2 parts with a backquote. */
    char *a = repeat("a", 100), buf[256];
    assert_int_equal(segments(a, &ucs2), 1);
    snprintf(buf, sizeof buf, "%s`", a);
    assert_int_equal(segments(buf, &ucs2), 2);
    assert_int_equal(ucs2, 1);
    snprintf(buf, sizeof buf, "%s\xe2\x80\x99", a); /* a curly apostrophe */
    assert_int_equal(segments(buf, &ucs2), 2);
    assert_int_equal(ucs2, 1);
    free(a);
    /* Only capital Ç is in the GSM table; small ç is not. */
    assert_int_equal(segments("ç", &ucs2), 1);
    assert_int_equal(ucs2, 1);
}

static void test_segments_hindi(void **state)
{
    (void)state;
    int ucs2;
    /* "नमस्ते " is 7 code points but 19 bytes: counting bytes would say 4. */
    char *s = repeat("नमस्ते ", 10);
    assert_int_equal(segments(s, &ucs2), 1);
    assert_int_equal(ucs2, 1);
    free(s);
    s = repeat("नमस्ते ", 11); /* 77 units */
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    /* A typical Hindi reminder costs what an English one twice as long does. */
    assert_int_equal(segments("नमस्ते प्रिया जी, कल सुबह 10:00 बजे आपका अपॉइंटमेंट है।", &ucs2),
                     1);
    assert_int_equal(ucs2, 1);
}

static void test_segments_emoji(void **state)
{
    (void)state;
    int ucs2;
    /* Beyond the BMP: two UTF-16 units each. */
    char *s = repeat("😀", 35);
    assert_int_equal(segments(s, &ucs2), 1);
    assert_int_equal(ucs2, 1);
    free(s);
    s = repeat("😀", 36);
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    s = repeat("😀", 66); /* 132 units: 33 pairs in each of two parts */
    assert_int_equal(segments(s, &ucs2), 2);
    free(s);
    /* 134 units would fill two 67-unit parts only by splitting a pair. */
    s = repeat("😀", 67);
    assert_int_equal(segments(s, &ucs2), 3);
    free(s);

    /* 66 + pair + 66 = 134 units, but a surrogate pair is never split. */
    char *a = repeat("ж", 66), buf[512];
    snprintf(buf, sizeof buf, "%s😀%s", a, a);
    assert_int_equal(segments(buf, &ucs2), 3);
    free(a);
}

static void test_segments_bad_utf8(void **state)
{
    (void)state;
    int ucs2;
    /* Malformed bytes cannot go out as GSM-7; each costs one unit. */
    assert_int_equal(segments("abc\xff", &ucs2), 1);
    assert_int_equal(ucs2, 1);
    assert_int_equal(segments("\xc0\xaf", &ucs2), 1); /* overlong "/" */
    assert_int_equal(ucs2, 1);
    assert_int_equal(segments("\xe0\x80\xaf", &ucs2), 1); /* overlong "/" */
    assert_int_equal(ucs2, 1);
    assert_int_equal(segments("\xf0\x80\x80\xaf", &ucs2), 1); /* overlong "/" */
    assert_int_equal(ucs2, 1);
    assert_int_equal(segments("\xed\xa0\x80", &ucs2), 1); /* encoded surrogate */
    assert_int_equal(ucs2, 1);
    assert_int_equal(segments("\xf4\x90\x80\x80", &ucs2), 1); /* past U+10FFFF */
    assert_int_equal(ucs2, 1);
    /* Truncated at the end: must stop at the NUL (ASan watches). */
    assert_int_equal(segments("ok\xe0\xa4", &ucs2), 1);
    assert_int_equal(ucs2, 1);
    /* Unicode's practice: each byte of a sequence that can never be valid
     * is its own U+FFFD, so 3 and 4 units here push 68 and 67 letters past 70. */
    char *a = repeat("ж", 68), buf[256];
    snprintf(buf, sizeof buf, "%s\xed\xa0\x80", a);
    assert_int_equal(segments(buf, &ucs2), 2);
    a[67 * 2] = 0;
    snprintf(buf, sizeof buf, "%s\xf4\x90\x80\x80", a);
    assert_int_equal(segments(buf, &ucs2), 2);
    free(a);
    /* A bad continuation does not swallow the valid character after it:
     * 70 such pairs are 140 units, 3 parts, not 70 (1 part). */
    char *s = repeat("\xe0ж", 70);
    assert_int_equal(segments(s, &ucs2), 3);
    free(s);
}

/* ---- built-in templates ---- */

/* What each built-in's sender supplies: its texts may use these and no
 * others. Written out here, independently of the table, on purpose. */
static const struct {
    const char *name, *category;
    const char *vars[6];
} builtin_spec[] = {
    {"appointment_confirmation", "transactional",
     {"patient_name", "clinic_name", "service", "date", "time"}},
    {"appointment_reminder", "reminders",
     {"patient_name", "clinic_name", "service", "date", "time"}},
    {"appointment_follow_up", "reminders", {"patient_name", "clinic_name", "service"}},
    {"no_show_follow_up", "reminders", {"patient_name", "clinic_name", "service", "date"}},
    {"follow_up_reminder", "reminders", {"patient_name", "clinic_name", "date"}},
    {"medication_reminder", "reminders", {"patient_name", "medication", "dosage", "timing"}},
    {"lab_due", "reminders", {"patient_name", "clinic_name", "test_name", "due_date"}},
    {"health_tip", "health_tips", {"patient_name", "clinic_name", "tip"}},
    {"clinic_notice", "broadcasts", {"clinic_name", "notice"}},
    {"preventive_care_annual", "reminders", {"patient_name", "clinic_name", "due_date"}},
    {"prescription_ready", "transactional", {"patient_name", "clinic_name"}},
    {"birthday_wishes", "marketing", {"patient_name", "clinic_name"}},
    {"test_results_ready", "transactional", {"patient_name", "clinic_name", "test_name"}},
    {"reply_confirmed", "transactional",
     {"patient_name", "clinic_name", "service", "date", "time"}},
    {"reply_cancelled", "transactional", {"patient_name", "clinic_name", "service", "date"}},
    {"reply_reschedule", "transactional", {"patient_name", "clinic_name"}},
    {"reply_received", "transactional", {"patient_name", "clinic_name"}},
    {"reply_help", "transactional", {"clinic_name", "clinic_contact"}},
    {"reply_stop", "consent", {"clinic_name"}},
    {"reply_start", "consent", {"clinic_name"}},
    /* support tickets and loyalty (issue 10) */
    {"faq_answer", "transactional", {"patient_name", "clinic_name", "answer"}},
    {"ticket_reply", "transactional", {"patient_name", "clinic_name", "message"}},
    {"loyalty_balance", "transactional", {"patient_name", "clinic_name", "points"}},
    {"review_request", "reminders", {"patient_name", "clinic_name", "service"}},
};
#define N_SPEC (sizeof builtin_spec / sizeof builtin_spec[0])

/* Realistic, fairly long values, with HTML-special characters in them. */
static const struct {
    const char *key, *value, *escaped;
} samples[] = {
    {"patient_name", "Priya Sharma", NULL},
    {"clinic_name", "Dr. Mehta's Smile & Care Dental Clinic",
     "Dr. Mehta&#39;s Smile &amp; Care Dental Clinic"},
    {"service", "root canal treatment", NULL},
    {"date", "15-Jan-2024", NULL},
    {"time", "10:00 AM", NULL},
    {"medication", "Metformin", NULL},
    {"dosage", "500 mg", NULL},
    {"timing", "after breakfast", NULL},
    {"test_name", "HbA1c", NULL},
    {"clinic_contact", "+91 80 4123 4567", NULL},
    {"due_date", "20-Feb-2024", NULL},
    {"tip", "Brush twice a day for two minutes and replace your toothbrush every 3 months.",
     NULL},
    {"notice", "The clinic will be closed on 26-Jan-2024 for Republic Day. We reopen on "
               "27-Jan-2024 at 9:00 AM.",
     NULL},
    {"answer", "We are open Monday to Saturday, 9:00 to 19:00.", NULL},
    {"message", "Your crown is ready; please call us to fix a time.", NULL},
    {"points", "120", NULL},
};

static const char *sample(const char *key)
{
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        if (strcmp(samples[i].key, key) == 0)
            return samples[i].value;
    fail_msg("no sample value for %s", key);
    return NULL;
}

/* vars holding exactly the spec's variables, minus `skip` (may be NULL). */
static void spec_vars(size_t i, const char *skip, nudge_vars *v)
{
    memset(v, 0, sizeof *v);
    for (const char *const *k = builtin_spec[i].vars; *k; k++)
        if (!skip || strcmp(*k, skip) != 0)
            assert_int_equal(nudge_vars_set(v, *k, sample(*k)), 0);
}

/* A small well-formedness check: every element closed, properly nested. */
static void assert_html_balanced(const char *html, const char *what)
{
    static const char *voids[] = {"meta", "br", "hr", "img", "link", "input", NULL};
    char stack[32][16];
    int depth = 0;
    for (const char *p = html; (p = strchr(p, '<')); p++) {
        if (strncmp(p, "<!DOCTYPE html>", 15) == 0)
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            fail_msg("%s: unterminated tag", what);
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789");
        if (len == 0 || len >= sizeof stack[0])
            fail_msg("%s: bad tag at \"%.20s\"", what, p);
        char name[16];
        memcpy(name, n, len);
        name[len] = 0;
        /* Attribute values are double-quoted and balanced. */
        int quotes = 0;
        for (const char *q = n + len; q < end; q++)
            quotes += *q == '"';
        if (quotes % 2)
            fail_msg("%s: unbalanced quotes in <%s>", what, name);
        int is_void = 0;
        for (const char **v = voids; *v; v++)
            is_void |= strcmp(*v, name) == 0;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                fail_msg("%s: </%s> closes %s", what, name, depth ? stack[depth - 1] : "nothing");
            depth--;
        } else if (!is_void) {
            if (depth == 32)
                fail_msg("%s: nested too deep", what);
            strcpy(stack[depth++], name);
        }
        p = end;
    }
    if (depth)
        fail_msg("%s: <%s> never closed", what, stack[depth - 1]);
}

static void test_builtin_find(void **state)
{
    (void)state;
    const tmpl_builtin *t = tmpl_builtin_find("appointment_reminder", "hi");
    assert_non_null(t);
    assert_string_equal(t->name, "appointment_reminder");
    assert_string_equal(t->language, "hi");
    t = tmpl_builtin_find("appointment_reminder", "en");
    assert_non_null(t);
    assert_string_equal(t->language, "en");
    assert_null(tmpl_builtin_find("appointment_reminder", "fr"));
    assert_null(tmpl_builtin_find("appointment", "en"));        /* no prefix match */
    assert_null(tmpl_builtin_find("appointment_reminder", "EN")); /* exact */
    assert_null(tmpl_builtin_find("no_such_template", "en"));
    assert_null(tmpl_builtin_find(NULL, "en"));
    assert_null(tmpl_builtin_find("lab_due", NULL));
}

static void test_builtins_table_shape(void **state)
{
    (void)state;
    assert_int_equal(tmpl_builtins_count, 2 * N_SPEC);
    for (size_t i = 1; i < tmpl_builtins_count; i++) {
        const tmpl_builtin *a = &tmpl_builtins[i - 1], *b = &tmpl_builtins[i];
        int c = strcmp(a->name, b->name);
        if (c > 0 || (c == 0 && strcmp(a->language, b->language) >= 0))
            fail_msg("table out of order at %s/%s", b->name, b->language);
    }
    /* Every entry is one of the specified ones. */
    for (size_t i = 0; i < tmpl_builtins_count; i++) {
        int known = 0;
        for (size_t j = 0; j < N_SPEC; j++)
            known |= strcmp(tmpl_builtins[i].name, builtin_spec[j].name) == 0;
        if (!known)
            fail_msg("unexpected built-in %s", tmpl_builtins[i].name);
    }
}

static void test_builtins_render(void **state)
{
    (void)state;
    static const char *langs[] = {"en", "hi"};
    for (size_t i = 0; i < N_SPEC; i++) {
        for (size_t l = 0; l < 2; l++) {
            const tmpl_builtin *t = tmpl_builtin_find(builtin_spec[i].name, langs[l]);
            if (!t)
                fail_msg("missing built-in %s/%s", builtin_spec[i].name, langs[l]);
            assert_string_equal(t->category, builtin_spec[i].category);
            assert_null(t->whatsapp);

            const char *fields[] = {t->sms, t->subject, t->text, t->html};
            const char *names[] = {"sms", "subject", "text", "html"};
            nudge_vars v;
            spec_vars(i, NULL, &v);
            for (size_t f = 0; f < 4; f++) {
                if (str_blank(fields[f]))
                    fail_msg("%s/%s: empty %s", t->name, t->language, names[f]);
                nudge_err err = {0};
                if (tmpl_check(fields[f], names[f], &err) != 0)
                    fail_msg("%s/%s %s: %s", t->name, t->language, names[f], err.msg);
                /* Exactly the documented variables suffice. */
                int html = f == 3;
                char *out = tmpl_render(fields[f], &v, html, &err);
                if (!out)
                    fail_msg("%s/%s %s: %s", t->name, t->language, names[f], err.msg);
                assert_null(strchr(out, '{'));
                assert_null(strchr(out, '}'));
                if (html && strstr(fields[f], "{clinic_name}")) {
                    assert_non_null(strstr(out, samples[1].escaped));
                    assert_null(strstr(out, samples[1].value));
                }
                free(out);
            }
            /* Every variable is used by the SMS, the text and the HTML: the
             * same content on every channel. */
            for (const char *const *k = builtin_spec[i].vars; *k; k++) {
                nudge_vars less;
                spec_vars(i, *k, &less);
                char want[64];
                snprintf(want, sizeof want, "vars.%s", *k);
                for (size_t f = 0; f < 4; f++) {
                    if (f == 1)
                        continue; /* subjects are short; they need not use all */
                    nudge_err err = {0};
                    char *out = tmpl_render(fields[f], &less, f == 3, &err);
                    if (out)
                        fail_msg("%s/%s %s does not use {%s}", t->name, t->language, names[f],
                                 *k);
                    assert_string_equal(err.field, want);
                }
                nudge_vars_free(&less);
            }

            /* The plain text is plain; the HTML is a whole, balanced document
             * in the right language. */
            assert_null(strchr(t->text, '<'));
            assert_null(strchr(t->sms, '<'));
            assert_int_equal(strncmp(t->html, "<!DOCTYPE html>", 15), 0);
            char lang[32];
            snprintf(lang, sizeof lang, "<html lang=\"%s\">", langs[l]);
            assert_non_null(strstr(t->html, lang));
            char what[96];
            snprintf(what, sizeof what, "%s/%s html", t->name, t->language);
            assert_html_balanced(t->html, what);
            nudge_vars_free(&v);
        }
    }
}

static void test_builtins_sms_cost(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SPEC; i++) {
        nudge_vars v;
        spec_vars(i, NULL, &v);
        const tmpl_builtin *en = tmpl_builtin_find(builtin_spec[i].name, "en");
        const tmpl_builtin *hi = tmpl_builtin_find(builtin_spec[i].name, "hi");
        assert_non_null(en);
        assert_non_null(hi);
        char *out = render_ok(en->sms, &v, 0);
        int ucs2 = -1, n = tmpl_sms_segments(out, &ucs2);
        /* A stray curly quote would silently triple the cost of every send. */
        if (ucs2)
            fail_msg("%s/en SMS needs UCS-2: %s", en->name, out);
        if (n > 2)
            fail_msg("%s/en SMS is %d segments: %s", en->name, n, out);
        free(out);
        /* Hindi costs UCS-2 (70 a part), so those texts are kept short too. */
        out = render_ok(hi->sms, &v, 0);
        n = tmpl_sms_segments(out, &ucs2);
        if (n > 3)
            fail_msg("%s/hi SMS is %d segments: %s", hi->name, n, out);
        free(out);
        nudge_vars_free(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_plain),
        cmocka_unit_test(test_render_vars),
        cmocka_unit_test(test_render_repeated_var),
        cmocka_unit_test(test_render_literal_braces),
        cmocka_unit_test(test_render_missing_var),
        cmocka_unit_test(test_render_bad_syntax),
        cmocka_unit_test(test_render_html_escape),
        cmocka_unit_test(test_vars),
        cmocka_unit_test(test_segments_gsm),
        cmocka_unit_test(test_segments_extension),
        cmocka_unit_test(test_segments_ucs2),
        cmocka_unit_test(test_segments_hindi),
        cmocka_unit_test(test_segments_emoji),
        cmocka_unit_test(test_segments_bad_utf8),
        cmocka_unit_test(test_builtin_find),
        cmocka_unit_test(test_builtins_table_shape),
        cmocka_unit_test(test_builtins_render),
        cmocka_unit_test(test_builtins_sms_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
