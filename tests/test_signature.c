/*
 * test_signature.c: Twilio's request signature against the provider's own
 * test vector, and the form parsing it depends on (decoding, '+' as space,
 * %2B as '+', empty values, broken escapes refused).
 */
#include "testutil.h"

#include "signature.h"

static void test_twilio_vector(void **state)
{
    (void)state;
    sig_param p[] = {
        {"To", "+18005551212"},         {"Caller", "+12349013030"}, {"Digits", "1234"},
        {"CallSid", "CA1234567890ABCDE"}, {"From", "+12349013030"},
    };
    char out[64];
    assert_int_equal(sig_twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", p, 5, out,
                                sizeof out),
                     0);
    assert_string_equal(out, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    assert_true(sig_equal(out, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    /* Another token, URL or value: another signature. */
    assert_int_equal(sig_twilio("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", p, 5, out,
                                sizeof out),
                     0);
    assert_false(sig_equal(out, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_int_equal(sig_twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", p, 5, out,
                                sizeof out),
                     0);
    assert_false(sig_equal(out, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(sig_equal("abc", "abcd"));
}

static void test_form_parse(void **state)
{
    (void)state;
    const char *body = "To=%2B18005551212&Body=Hello+there%21&Empty=&Flag&Caller=%2b1";
    sig_param p[8];
    char *st = NULL;
    int n = sig_form_parse(body, strlen(body), p, 8, &st);
    assert_int_equal(n, 5);
    assert_string_equal(p[0].name, "To");
    assert_string_equal(p[0].value, "+18005551212");
    assert_string_equal(p[1].value, "Hello there!");
    assert_string_equal(p[2].name, "Empty");
    assert_string_equal(p[2].value, "");
    assert_string_equal(p[3].name, "Flag");
    assert_string_equal(p[3].value, "");
    assert_string_equal(p[4].value, "+1");
    free(st);
    /* Broken escapes, NUL bytes and too many fields are refused. */
    const char *bad[] = {"A=%zz", "A=%4", "A=%", "A=%00"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sig_form_parse(bad[i], strlen(bad[i]), p, 8, &st), -1);
        free(st);
    }
    assert_int_equal(sig_form_parse("a=1&b=2&c=3", 11, p, 2, &st), -1);
    free(st);
    assert_int_equal(sig_form_parse("", 0, p, 2, &st), 0);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_vector),
        cmocka_unit_test(test_form_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
