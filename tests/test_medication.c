/*
 * test_medication.c: the frequency and duration parser (src/medication.c)
 * against a table of what clinicians write: every code, its case and
 * spacing variants, the morning-noon-night notation, and bad input with
 * the error text that must name the code and the accepted ones.
 */
#include "testutil.h"
#include "medication.h"

#define T(h, m) ((h) * 60 + (m))

static const struct freq_case {
    const char *in, *code;
    int every_days, ntimes;
    int times[6];
} freq_cases[] = {
    {"OD", "OD", 1, 1, {T(9, 0)}},
    {"od", "OD", 1, 1, {T(9, 0)}},
    {"Q.D.", "OD", 1, 1, {T(9, 0)}},
    {"once daily", "OD", 1, 1, {T(9, 0)}},
    {"BD", "BD", 1, 2, {T(9, 0), T(21, 0)}},
    {"b.d.", "BD", 1, 2, {T(9, 0), T(21, 0)}},
    {"BID", "BD", 1, 2, {T(9, 0), T(21, 0)}},
    {" b i d ", "BD", 1, 2, {T(9, 0), T(21, 0)}},
    {"twice a day", "BD", 1, 2, {T(9, 0), T(21, 0)}},
    {"TDS", "TDS", 1, 3, {T(8, 0), T(14, 0), T(20, 0)}},
    {"tid", "TDS", 1, 3, {T(8, 0), T(14, 0), T(20, 0)}},
    {"T.I.D.", "TDS", 1, 3, {T(8, 0), T(14, 0), T(20, 0)}},
    {"QID", "QID", 1, 4, {T(8, 0), T(12, 0), T(16, 0), T(20, 0)}},
    {"q.i.d", "QID", 1, 4, {T(8, 0), T(12, 0), T(16, 0), T(20, 0)}},
    {"HS", "HS", 1, 1, {T(22, 0)}},
    {"h.s.", "HS", 1, 1, {T(22, 0)}},
    {"at bedtime", "HS", 1, 1, {T(22, 0)}},
    {"q4h", "q4h", 1, 6, {T(0, 0), T(4, 0), T(8, 0), T(12, 0), T(16, 0), T(20, 0)}},
    {"Q6H", "q6h", 1, 4, {T(2, 0), T(8, 0), T(14, 0), T(20, 0)}},
    {"q 8 h", "q8h", 1, 3, {T(0, 0), T(8, 0), T(16, 0)}},
    {"q12h", "q12h", 1, 2, {T(8, 0), T(20, 0)}},
    {"every 12 hours", "q12h", 1, 2, {T(8, 0), T(20, 0)}},
    {"q24h", "q24h", 1, 1, {T(8, 0)}},
    {"once weekly", "weekly", 7, 1, {T(9, 0)}},
    {"Once Weekly", "weekly", 7, 1, {T(9, 0)}},
    {"weekly", "weekly", 7, 1, {T(9, 0)}},
    {"alternate days", "alternate", 2, 1, {T(9, 0)}},
    {"alternate day", "alternate", 2, 1, {T(9, 0)}},
    {"EOD", "alternate", 2, 1, {T(9, 0)}},
    {"SOS", "SOS", 1, 0, {0}},
    {"prn", "SOS", 1, 0, {0}},
    {"P.R.N.", "SOS", 1, 0, {0}},
    {"1-0-1", "1-0-1", 1, 2, {T(9, 0), T(21, 0)}},
    {"1 - 0 - 1", "1-0-1", 1, 2, {T(9, 0), T(21, 0)}},
    {"1-1-1", "1-1-1", 1, 3, {T(9, 0), T(14, 0), T(21, 0)}},
    {"0-0-1", "0-0-1", 1, 1, {T(21, 0)}},
    {"1-0-0", "1-0-0", 1, 1, {T(9, 0)}},
    {"2-0-2", "2-0-2", 1, 2, {T(9, 0), T(21, 0)}},
    {"1-1-1-1", "1-1-1-1", 1, 4, {T(8, 0), T(13, 0), T(18, 0), T(22, 0)}},
    {"0-1-0-1", "0-1-0-1", 1, 2, {T(13, 0), T(22, 0)}},
};

static void test_frequencies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof freq_cases / sizeof freq_cases[0]; i++) {
        const struct freq_case *c = &freq_cases[i];
        med_freq f;
        nudge_err err = {0};
        if (med_parse_frequency(c->in, &f, "frequency", &err) != 0)
            fail_msg("\"%s\": %s", c->in, err.msg);
        if (strcmp(f.code, c->code) || f.every_days != c->every_days || f.ntimes != c->ntimes)
            fail_msg("\"%s\": got %s every %d days x%d, want %s every %d x%d", c->in, f.code,
                     f.every_days, f.ntimes, c->code, c->every_days, c->ntimes);
        for (int k = 0; k < c->ntimes; k++)
            if (f.times[k] != c->times[k])
                fail_msg("\"%s\": dose %d at minute %d, want %d", c->in, k, f.times[k],
                         c->times[k]);
    }
}

static const char *const bad_freqs[] = {
    "TDSS", "BDD", "q5h", "q0h", "q1h", "q48h", "every hour", "1-0", "1-0-1-1-1", "0-0-0",
    "11-0-1", "1--1", "thrice", "OD BD", "1/2-0-1", "tablet", "bd.x",
};

static void test_unknown_frequency(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_freqs / sizeof bad_freqs[0]; i++) {
        med_freq f;
        nudge_err err = {0};
        if (med_parse_frequency(bad_freqs[i], &f, "medications[0].frequency", &err) != -1)
            fail_msg("\"%s\" accepted as %s", bad_freqs[i], f.code);
        assert_int_equal(err.code, NUDGE_EINVAL);
        assert_string_equal(err.field, "medications[0].frequency");
        char want[64];
        snprintf(want, sizeof want, "unknown frequency \"%s\"", bad_freqs[i]);
        if (!strstr(err.msg, want) || !strstr(err.msg, "BD, BID, TDS") ||
            !strstr(err.msg, "q4h, q6h, q8h, q12h") || !strstr(err.msg, "1-0-1") ||
            !strstr(err.msg, "once weekly") || !strstr(err.msg, "SOS, PRN"))
            fail_msg("\"%s\": message \"%s\"", bad_freqs[i], err.msg);
    }
    med_freq f;
    nudge_err err = {0};
    assert_int_equal(med_parse_frequency("  ", &f, "frequency", &err), -1);
    assert_non_null(strstr(err.msg, "frequency is required"));
}

static const struct dur_case {
    const char *in;
    int days, until_review;
} dur_cases[] = {
    {"5 days", 5, 0},  {"5days", 5, 0},      {"1 day", 1, 0},       {"5 D", 5, 0},
    {"2 weeks", 14, 0}, {"2 Wks", 14, 0},    {"1 week", 7, 0},      {"1 month", 30, 0},
    {"3 months", 90, 0}, {"12 Months", 360, 0}, {"until review", 45, 1}, {"Till Review", 45, 1},
    {"until next review", 45, 1}, {"366 days", 366, 0},
};

static void test_durations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dur_cases / sizeof dur_cases[0]; i++) {
        int days, ur;
        nudge_err err = {0};
        if (med_parse_duration(dur_cases[i].in, 45, &days, &ur, "duration", &err) != 0)
            fail_msg("\"%s\": %s", dur_cases[i].in, err.msg);
        if (days != dur_cases[i].days || ur != dur_cases[i].until_review)
            fail_msg("\"%s\": %d days (review %d), want %d (%d)", dur_cases[i].in, days, ur,
                     dur_cases[i].days, dur_cases[i].until_review);
    }
}

static void test_bad_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"5", "unknown duration \"5\""},
        {"0 days", "unknown duration \"0 days\""},
        {"-3 days", "unknown duration"},
        {"five days", "unknown duration"},
        {"5 fortnights", "unknown duration"},
        {"367 days", "longer than 366 days"},
        {"13 months", "longer than 366 days"},
        {"99999999999 days", "longer than 366 days"},
        {"", "duration is required"},
        {"until", "unknown duration"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int days, ur;
        nudge_err err = {0};
        if (med_parse_duration(bad[i].in, 90, &days, &ur, "duration", &err) != -1)
            fail_msg("\"%s\" accepted as %d days", bad[i].in, days);
        assert_string_equal(err.field, "duration");
        if (!strstr(err.msg, bad[i].why))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].in, err.msg, bad[i].why);
        if (strstr(bad[i].why, "unknown") && !strstr(err.msg, "until review"))
            fail_msg("\"%s\": message \"%s\" does not name the accepted forms", bad[i].in,
                     err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frequencies),
        cmocka_unit_test(test_unknown_frequency),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
