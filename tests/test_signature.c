/*
 * test_signature.c: Twilio's request signature against the provider's own
 * test vector, the URL forms its reference validators accept (with and
 * without the port, nothing else), and the form parsing it depends on
 * (decoding, '+' as space, %2B as '+', empty values, broken escapes
 * refused).
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

/* Signatures below were computed with Python's hmac as twilio-python's
 * RequestValidator.compute_signature does, over each URL as written. */
#define U "nudge.example/webhooks/twilio/inbound"
static const struct {
    const char *url, *sig;
} signed_as[] = {
    {"https://" U, "xT63NcxxucEysAgKZtYFMV8I9R0="},
    {"https://nudge.example:443/webhooks/twilio/inbound", "NMODi1iDMFCJGdDKzjjf8z5yIOQ="},
    {"https://nudge.example:8443/webhooks/twilio/inbound", "QkfL8CAVCODubUKISpGDe5XSLTM="},
    {"http://nudge.example:80/webhooks/twilio/inbound", "2x8mJB1F82IvZoFRC1rSqTuqbsE="},
    {"http://" U, "30h7Wvq97xx/ldzXljrngA+IkwA="},
    {"https://nudge.example:80/webhooks/twilio/inbound", "TTSM2+M1bmedoIui4h8a0ynBl2E="},
};

/* Which of signed_as[] a configured URL accepts: a bit per entry. */
static unsigned accepted_by(const char *url)
{
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof signed_as / sizeof *signed_as; i++) {
        sig_param p[] = {{"MessageSid", "SM1"}, {"OptOutType", "STOP"}, {"Body", "STOP"}};
        bits |= (unsigned)sig_twilio_valid("12345", url, p, 3, signed_as[i].sig) << i;
    }
    return bits;
}

static void test_twilio_port_forms(void **state)
{
    (void)state;
    char out[128];
    struct {
        const char *url, *without, *with;
    } forms[] = {
        {"https://" U, "https://" U, "https://nudge.example:443/webhooks/twilio/inbound"},
        {"https://nudge.example:443/x?a=1", "https://nudge.example/x?a=1",
         "https://nudge.example:443/x?a=1"},
        {"http://h.example", "http://h.example", "http://h.example:80"},
        {"https://h.example:8443/p", "https://h.example/p", "https://h.example:8443/p"},
        {"HTTPS://h.example/p", "HTTPS://h.example/p", "HTTPS://h.example:443/p"},
        {"https://[::1]/p", "https://[::1]/p", "https://[::1]:443/p"},
        {"https://[::1]:443/p", "https://[::1]/p", "https://[::1]:443/p"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        assert_int_equal(sig_url_port(forms[i].url, 0, out, sizeof out), 0);
        assert_string_equal(out, forms[i].without);
        assert_int_equal(sig_url_port(forms[i].url, 1, out, sizeof out), 0);
        assert_string_equal(out, forms[i].with);
    }
    assert_int_equal(sig_url_port("nudge.example/x", 1, out, sizeof out), -1);
    assert_int_equal(sig_url_port("https://[::1/p", 1, out, sizeof out), -1);
    assert_int_equal(sig_url_port("https://" U, 1, out, 20), -1);
    /* Configured without a port or with the default one: a signature over
     * either form passes; another port or scheme does not. */
    assert_int_equal(accepted_by("https://" U), 1u << 0 | 1u << 1);
    assert_int_equal(accepted_by("https://nudge.example:443/webhooks/twilio/inbound"),
                     1u << 0 | 1u << 1);
    assert_int_equal(accepted_by("http://" U), 1u << 3 | 1u << 4);
    /* Another port: that port, or none (the reference drops any port). */
    assert_int_equal(accepted_by("https://nudge.example:8443/webhooks/twilio/inbound"),
                     1u << 0 | 1u << 2);
    /* A name given twice is signed with its values in order. */
    sig_param twice[] = {{"a", "2"}, {"a", "1"}};
    assert_int_equal(sig_twilio("12345", "https://x.example/p", twice, 2, out, sizeof out), 0);
    assert_string_equal(out, "SAAC6NvMCQ1H7PdvhOtQoL/JgIY=");
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
        cmocka_unit_test(test_twilio_port_forms),
        cmocka_unit_test(test_form_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
