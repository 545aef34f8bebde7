/*
 * test_phone.c: phone numbers as staff type them, normalised to E.164 by
 * src/phone.c, and the reasons given when a number cannot be right.
 */
#include "testutil.h"
#include "phone.h"

static void ok(const char *in, const char *country, const char *want)
{
    char out[17];
    nudge_err err = {0};
    memset(out, 'x', sizeof out);
    if (phone_normalize(in, country, out, sizeof out, "phone", &err) != 0)
        fail_msg("phone_normalize(\"%s\", %s): %s", in, country ? country : "NULL", err.msg);
    assert_int_equal(err.code, 0);
    assert_string_equal(out, want);
}

/* Rejected with EINVAL on `field`, the message containing `why`. */
static void bad_field(const char *in, const char *country, const char *field, const char *why)
{
    char out[17] = "";
    nudge_err err = {0};
    if (phone_normalize(in, country, out, sizeof out, "phone", &err) != -1)
        fail_msg("phone_normalize(\"%s\", %s) accepted it as %s", in ? in : "NULL",
                 country ? country : "NULL", out);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, field);
    if (!strstr(err.msg, why))
        fail_msg("phone_normalize(\"%s\"): message \"%s\" lacks \"%s\"", in ? in : "NULL", err.msg,
                 why);
}

static void bad(const char *in, const char *country, const char *why)
{
    bad_field(in, country, "phone", why);
}

static void test_india(void **state)
{
    (void)state;
    const char *forms[] = {"9876543210",       "09876543210",      "+91 98765 43210",
                           "0091-98765-43210", "98765 43210",      "+91-98765-43210",
                           "+919876543210",    "98765.43210",      "(+91) 98765 43210",
                           "  98765 43210  ",  "+91 (0)98765 43210", "0 98765 43210"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        ok(forms[i], "IN", "+919876543210");
    ok("6123456789", "IN", "+916123456789");
    /* Landlines: STD code and number, 10 digits after the trunk 0. */
    ok("011 2345 6789", "IN", "+911123456789");
    ok("080-2345-6789", "IN", "+918023456789");
    ok("+91 11 2345 6789", "US", "+911123456789");
    ok("9876543210", "in", "+919876543210");
}

static void test_nanp(void **state)
{
    (void)state;
    ok("(415) 555-2671", "US", "+14155552671");
    ok("415-555-2671", "US", "+14155552671");
    ok("415.555.2671", "US", "+14155552671");
    ok("1 (415) 555-2671", "US", "+14155552671");
    ok("1-415-555-2671", "us", "+14155552671");
    ok("+1 (415) 555-2671", "US", "+14155552671");
    ok("+1 (415) 555-2671", "IN", "+14155552671");
    ok("001 415 555 2671", "IN", "+14155552671");
    ok("(416) 555-0199", "CA", "+14165550199");
    /* 011 is how North America dials out. */
    ok("011 44 20 7946 0958", "US", "+442079460958");
    ok("011 91 98765 43210", "CA", "+919876543210");
}

static void test_gb(void **state)
{
    (void)state;
    ok("020 7946 0958", "GB", "+442079460958");
    ok("(020) 7946 0958", "GB", "+442079460958");
    ok("07700 900123", "GB", "+447700900123");
    ok("7700 900123", "GB", "+447700900123");
    ok("+44 20 7946 0958", "IN", "+442079460958");
    ok("+44 (0)20 7946 0958", "IN", "+442079460958");
    ok("0044 20 7946 0958", "IN", "+442079460958");
    ok("0044 (0)20 7946 0958", "GB", "+442079460958");
}

static void test_other_countries(void **state)
{
    (void)state;
    ok("0412 345 678", "AU", "+61412345678");
    ok("(02) 9374 4000", "AU", "+61293744000");
    ok("0011 44 20 7946 0958", "AU", "+442079460958"); /* Australia's exit code */
    ok("050 123 4567", "AE", "+971501234567");
    ok("04 123 4567", "AE", "+97141234567");
    ok("9123 4567", "SG", "+6591234567");
    ok("6123-4567", "SG", "+6561234567");
    ok("030 123456", "DE", "+4930123456");
    ok("0151 2345 6789", "DE", "+4915123456789");
    ok("+49 (0)30 1234 5678", "GB", "+493012345678");
    ok("01 23 45 67 89", "FR", "+33123456789");
    ok("06.12.34.56.78", "FR", "+33612345678");
    ok("01712-345678", "BD", "+8801712345678");
    ok("984-1234567", "NP", "+9779841234567");
    ok("071 234 5678", "LK", "+94712345678");
    ok("0300 1234567", "PK", "+923001234567");
    /* Countries without national rules: the calling code and length still count. */
    ok("+81 3-1234-5678", "IN", "+81312345678");
    ok("+254 712 345678", "GB", "+254712345678");
    ok("+7 912 345 67 89", "DE", "+79123456789");
}

static void test_reject_length(void **state)
{
    (void)state;
    bad("12345", "IN", "phone 12345 is not a valid number for IN: expected 10 digits");
    bad("98765 4321", "IN", "expected 10 digits");
    bad("98765432101", "IN", "expected 10 digits");
    bad("0987654321", "IN", "expected 10 digits"); /* 9 digits after the trunk 0 */
    bad("919876543210", "IN", "expected 10 digits");
    bad("+91 12345", "IN", "not a valid number for IN: expected 10 digits");
    bad("+91 12345", "US", "for IN: expected 10 digits");
    bad("+91 98765 432101", "IN", "for IN");
    bad("415 555 267", "US", "for US: expected 10 digits");
    bad("415 555 26711", "US", "expected 10 digits");
    bad("020 7946 095", "GB", "for GB: expected 10 digits");
    bad("0412 345 6789", "AU", "for AU: expected 9 digits");
    bad("050 123 45", "AE", "for AE: expected 8 to 9 digits");
    bad("9123 456", "SG", "for SG: expected 8 digits");
    bad("030 123", "DE", "for DE: expected 6 to 13 digits");
    bad("01 23 45 67 8", "FR", "for FR: expected 9 digits");
    /* Without national rules, E.164's own limits. */
    bad("+254 1234", "IN", "expected 8 to 15 digits");
    bad("+81 1234 5678 9012 345", "IN", "expected 8 to 15 digits");
    bad("1234567890123456789012345678901234567890123", "IN", "too long");
}

static void test_reject_prefix(void **state)
{
    (void)state;
    bad("(015) 555-2671", "US", "area code 015 cannot start with 0 or 1");
    bad("(115) 555-2671", "US", "area code");
    bad("+1 015 555 2671", "IN", "for US: area code");
    bad("(911) 555-2671", "US", "service code");
    bad("(415) 055-2671", "US", "exchange 055");
    bad("(415) 155-2671", "CA", "exchange");
    bad("+44 020 7946 0958", "IN", "drop the 0 after +44");
    bad("+44 4123 456789", "GB", "cannot start with 4");
    bad("1234 5678", "SG", "cannot start with 1");
    bad("+91 0987654321", "IN", "cannot start with 0");
    bad("+999 1234 5678", "IN", "country calling code");
    bad("+0 1234 5678", "IN", "country calling code");
    bad("00 0 1234 5678", "IN", "country calling code");
    bad("+28 1234 5678", "IN", "country calling code"); /* 28x is unassigned */
}

static void test_reject_characters(void **state)
{
    (void)state;
    bad("98765 4321O", "IN", "letters");
    bad("1-800-FLOWERS", "US", "letters");
    bad("415-555-2671 ext 12", "US", "letters");
    bad("98765/43210", "IN", "'/'");
    bad("98765#43210", "IN", "'#'");
    bad("+91+9876543210", "IN", "'+'");
    bad("98765+43210", "IN", "'+'");
    bad("98765,43210", "IN", "','");
    bad("+", "IN", "no digits");
    bad("()-", "IN", "no digits");
    bad("98765\xc2\xa0" "43210", "IN", "only digits"); /* a no-break space */
}

static void test_reject_empty(void **state)
{
    (void)state;
    bad("", "IN", "phone is required");
    bad("   ", "IN", "phone is required");
    bad(NULL, "IN", "phone is required");
}

static void test_country(void **state)
{
    (void)state;
    bad_field("9876543210", "ZZ", "country", "ZZ");
    bad_field("9876543210", "IND", "country", "IND");
    bad_field("+91 98765 43210", "XX", "country", "XX");
    bad_field("9876543210", "JP", "country", "JP"); /* a code, but no national rules */
    /* No default country: international numbers only. */
    ok("+91 98765 43210", NULL, "+919876543210");
    ok("+91 98765 43210", "", "+919876543210");
    bad("9876543210", NULL, "no country code");
    bad("9876543210", "", "no country code");

    assert_int_equal(phone_country_known("IN"), 1);
    assert_int_equal(phone_country_known("in"), 1);
    assert_int_equal(phone_country_known("In"), 1);
    const char *known[] = {"US", "CA", "GB", "AU", "AE", "SG", "DE", "FR", "BD", "NP", "LK", "PK"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        assert_int_equal(phone_country_known(known[i]), 1);
    assert_int_equal(phone_country_known("ZZ"), 0);
    assert_int_equal(phone_country_known("JP"), 0);
    assert_int_equal(phone_country_known("IND"), 0);
    assert_int_equal(phone_country_known("I"), 0);
    assert_int_equal(phone_country_known(""), 0);
    assert_int_equal(phone_country_known(NULL), 0);
}

static void test_errors_name_field(void **state)
{
    (void)state;
    char out[17];
    nudge_err err = {0};
    assert_int_equal(phone_normalize("12345", "IN", out, sizeof out, "mobile", &err), -1);
    assert_string_equal(err.field, "mobile");
    assert_string_equal(err.msg, "mobile 12345 is not a valid number for IN: expected 10 digits");
    /* A NULL err is allowed. */
    assert_int_equal(phone_normalize("12345", "IN", out, sizeof out, "mobile", NULL), -1);
    /* Too small a buffer is refused, not overrun. */
    char small[8] = "keep";
    memset(&err, 0, sizeof err);
    assert_int_equal(phone_normalize("9876543210", "IN", small, sizeof small, "phone", &err), -1);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(small, "keep");
    /* The longest E.164 number fits the documented 17 bytes exactly. */
    ok("+49 1512 3456 7890 1", "GB", "+491512345678901");
    ok("0151 2345 6789 01", "DE", "+491512345678901");
    bad("0151 2345 6789 012", "DE", "expected 6 to 13 digits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_india),
        cmocka_unit_test(test_nanp),
        cmocka_unit_test(test_gb),
        cmocka_unit_test(test_other_countries),
        cmocka_unit_test(test_reject_length),
        cmocka_unit_test(test_reject_prefix),
        cmocka_unit_test(test_reject_characters),
        cmocka_unit_test(test_reject_empty),
        cmocka_unit_test(test_country),
        cmocka_unit_test(test_errors_name_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
