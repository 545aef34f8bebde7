/*
 * test_util.c: the shared helpers: error filling, bounded copies, language
 * codes and the growable buffer (growth past its first size, formatted
 * appends of any length, ownership handed over by sbuf_take), and the
 * escaping every log line's untrusted text goes through (nudge_log_text).
 */
#include "testutil.h"

#include "util.h"

static void test_err_set(void **state)
{
    (void)state;
    nudge_err e;
    assert_int_equal(err_set(&e, NUDGE_EINVAL, "phone", "bad %s %d", "number", 42), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "phone");
    assert_string_equal(e.msg, "bad number 42");
    assert_int_equal(err_set(NULL, NUDGE_EIO, NULL, "ignored"), -1);
    err_set(&e, NUDGE_EIO, NULL, "%s", "x");
    assert_string_equal(e.field, "");
    err_clear(&e);
    assert_int_equal(e.code, NUDGE_OK);
}

static void test_str_copy_bounds(void **state)
{
    (void)state;
    char b[4] = "zzz";
    assert_int_equal(str_copy(b, sizeof b, "abc"), 0);
    assert_string_equal(b, "abc");
    assert_int_equal(str_copy(b, sizeof b, "abcd"), -1);
    assert_string_equal(b, "abc"); /* untouched on failure */
    assert_int_equal(str_copy(b, sizeof b, NULL), 0);
    assert_string_equal(b, "");
    nudge_err e = {0};
    assert_int_equal(str_field(b, sizeof b, "long", "name", &e), -1);
    assert_string_equal(e.field, "name");
    assert_non_null(strstr(e.msg, "at most 3 bytes"));
    assert_true(str_blank(NULL));
    assert_true(str_blank(" \t\n"));
    assert_false(str_blank(" x "));
    char *d = str_dup("hello");
    assert_string_equal(d, "hello");
    free(d);
    assert_null(str_dup(NULL));
}

static void test_lang_codes(void **state)
{
    (void)state;
    const char *good[] = {"en", "hi", "pt-BR", "kok"};
    const char *bad[] = {"", "e", "EN", "english", "hi-in", "pt-BRA", "123", "en-", "hi_IN"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(lang_code_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (lang_code_ok(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
}

/* A forged access-log line (issue 11): whatever a path holds, the escaped
 * text is one line of printable ASCII that reads back unambiguously. */
static void test_log_text(void **state)
{
    (void)state;
    char b[128];
    const char forged[] = "/v1/x\nnudge: http POST /v1/keys 201\r\x1b[2J\"q\"\\\x7f\xc3\xa9";
    nudge_log_text(b, sizeof b, forged, sizeof forged - 1);
    assert_string_equal(b, "/v1/x\\nnudge: http POST /v1/keys 201\\r\\x1b[2J\\\"q\\\"\\\\\\x7f"
                           "\\xc3\\xa9");
    for (const char *p = b; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            fail_msg("byte 0x%02x survived escaping", (unsigned char)*p);
    /* A NUL inside the given length is a byte like any other. */
    nudge_log_text(b, sizeof b, "a\0b", 3);
    assert_string_equal(b, "a\\x00b");
    assert_string_equal(nudge_log_text(b, sizeof b, NULL, 0), "-");
    assert_string_equal(nudge_log_text(b, sizeof b, "", 0), "");
    /* Cut to fit with "...", never through the middle of an escape. */
    char small[10];
    nudge_log_text(small, sizeof small, "abcdefghijklmnop", 16);
    assert_string_equal(small, "abcdef...");
    nudge_log_text(small, sizeof small, "ab\x01\x02\x03", 5);
    assert_string_equal(small, "ab\\x01...");
    nudge_log_text(small, sizeof small, "abcdefghi", 9);
    assert_string_equal(small, "abcdefghi"); /* exactly fits: no dots */
    char tiny[3];
    nudge_log_text(tiny, sizeof tiny, "\n", 1);
    assert_string_equal(tiny, "\\n");
    nudge_log_text(tiny, sizeof tiny, "\x01", 1);
    assert_string_equal(tiny, "..");
}

/* Foreign text is cut on character boundaries and its bad bytes
 * replaced, so what nudge keeps is always UTF-8. */
static void test_utf8_clip(void **state)
{
    (void)state;
    char b[8];
    /* दर्द: 12 bytes; 7 of them hold two whole letters, not two and a third. */
    assert_string_equal(utf8_clip(b, sizeof b, "\xe0\xa4\xa6\xe0\xa4\xb0\xe0\xa5\x8d\xe0\xa4\xa6"),
                        "\xe0\xa4\xa6\xe0\xa4\xb0");
    assert_true(utf8_ok(b));
    char c[16];
    assert_string_equal(utf8_clip(c, sizeof c, "ab\xff\xc3x\xed\xa0\x80"), "ab??x???");
    assert_string_equal(utf8_clip(b, 3, "ab\xf0\x9f\x98\x80"), "ab");
    assert_string_equal(utf8_clip(b, sizeof b, NULL), "");
    assert_string_equal(utf8_clip(b, sizeof b, "a\x01\tz"), "a\x01\tz"); /* controls stay */
    assert_string_equal(utf8_clip(b, 1, "abc"), "");
    /* The checks: any UTF-8 for the store, no controls for what people set. */
    const char *bad[] = {"\xff\xfe", "a\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
                         "\xe0\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(utf8_ok(bad[i]) || text_ok(bad[i]));
    assert_true(utf8_ok("\xe0\xa4\xa6 \xf0\x9f\x98\x80 \x01") && !text_ok("a\x01"));
    assert_true(text_ok("\xe0\xa4\xa6\t\xf0\x9f\x98\x80\r\n") && !text_ok("a\x7f"));
    /* utf8_len: the bytes of what utf8_ok takes (ASCII runs skip the
     * decoder, so the runs' ends are where it must pick up), -1 else. */
    assert_int_equal(utf8_len(""), 0);
    assert_int_equal(utf8_len("a\x01\x7f"), 3);
    assert_int_equal(utf8_len("ab \xe0\xa4\xa6x\xf0\x9f\x98\x80"), 11);
    assert_int_equal(utf8_len("\xc3\xa9"), 2);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(utf8_len(bad[i]), -1);
    assert_int_equal(utf8_len("abc\x80"), -1);
}

/* SHA-256 as hex (API keys, idempotency keys): FIPS 180-2's "abc"
 * example and the empty input. */
static void test_sha256_hex(void **state)
{
    (void)state;
    char h[65];
    assert_int_equal(sha256_hex("abc", 3, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(sha256_hex("", 0, h), 0);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sbuf(void **state)
{
    (void)state;
    sbuf b = {0};
    for (int i = 0; i < 1000; i++)
        sbuf_puts(&b, "ab");
    assert_int_equal(b.len, 2000);
    assert_int_equal(strlen(b.data), 2000);
    sbuf_printf(&b, "%s-%d", "x", 7);
    assert_string_equal(b.data + 2000, "x-7");
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sbuf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 2003 + 5001);
    assert_int_equal(b.data[b.len - 1], ']');
    sbuf_add(&b, "\0z", 2); /* bytes, not strings */
    assert_int_equal(b.len, 7006);
    char *s = sbuf_take(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(s[0], 'a');
    free(s);
    char *empty = sbuf_take(&b); /* never NULL */
    assert_string_equal(empty, "");
    free(empty);
    sbuf_free(&b);
}

/* The cap, as curl's dynbuf: an append that would pass it empties the
 * buffer and is refused, and so is every later one, until it is freed. */
static void test_sbuf_cap(void **state)
{
    (void)state;
    sbuf b = {.max = 10};
    assert_int_equal(sbuf_puts(&b, "0123456789"), 0); /* exactly the cap */
    assert_int_equal(b.len, 10);
    assert_int_equal(sbuf_add(&b, "x", 1), -1);
    assert_true(b.over);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(sbuf_puts(&b, "y"), -1); /* refused from then on */
    assert_int_equal(sbuf_printf(&b, "%d", 1), -1);
    sbuf_free(&b);
    assert_false(b.over);
    b.max = 4;
    assert_int_equal(sbuf_printf(&b, "%s", "abcde"), -1); /* one append too big */
    assert_null(b.data);
    char *s = sbuf_take(&b);
    assert_string_equal(s, "");
    free(s);
    sbuf d = {0}; /* no cap given: SBUF_MAX */
    assert_int_equal(sbuf_add(&d, "z", SBUF_MAX + 1), -1);
    assert_true(d.over);
    sbuf_free(&d);
}

/* ids_sort_unique: sorted, each id once, the count answered. */
static void test_ids_sort_unique(void **state)
{
    (void)state;
    int64_t ids[] = {7, 3, 7, -1, 3, 9000000000LL, 3};
    size_t n = ids_sort_unique(ids, 7);
    assert_int_equal(n, 4);
    const int64_t want[] = {-1, 3, 7, 9000000000LL};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    assert_int_equal(ids_sort_unique(ids, 0), 0);
}

/* ids_group: a batch walked one clinic after another, each clinic's
 * items in their order, the clinics in the order each first appears. */
static void test_ids_group(void **state)
{
    (void)state;
    struct item {
        char pad[3];
        int64_t clinic;
    } items[] = {{"a", 5}, {"b", 2}, {"c", 5}, {"d", 9000000000LL}, {"e", 2}, {"f", 5}};
    char done[6] = {0};
    size_t at[6], order[6], n = 0;
    const size_t want[] = {0, 2, 5, 1, 4, 3}, runs[] = {3, 2, 1};
    size_t r = 0;
    for (size_t i = 0; i < 6; i++) {
        if (done[i])
            continue;
        size_t k = ids_group(items, 6, sizeof *items, offsetof(struct item, clinic), done, i, at);
        assert_int_equal(k, runs[r++]);
        for (size_t j = 0; j < k; j++) {
            assert_int_equal(items[at[j]].clinic, items[i].clinic);
            order[n++] = at[j];
        }
    }
    assert_int_equal(r, 3);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(order[i], want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set),
        cmocka_unit_test(test_str_copy_bounds),
        cmocka_unit_test(test_lang_codes),
        cmocka_unit_test(test_log_text),
        cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_sbuf_cap),
        cmocka_unit_test(test_utf8_clip),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_ids_sort_unique),
        cmocka_unit_test(test_ids_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
