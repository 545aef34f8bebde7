/*
 * test_tz.c: time zone conversion, DST gaps and overlaps, RFC 3339 parsing
 * and the message formats of src/tz.c. Expected instants were checked
 * against Python's zoneinfo, an implementation independent of libical.
 * tz.c answers from its own cache of each zone's changes; a test walks
 * several zones across their DST changes and far years and compares
 * every offset with libical's own answer.
 */
#include <pthread.h>

#include <libical/ical.h>

#include "testutil.h"
#include "tz.h"

#define NY "America/New_York"
#define LON "Europe/London"
#define KOL "Asia/Kolkata"

static int64_t at(int y, int mo, int d, int h, int mi, int s)
{
    return tu_utc(y, mo, d, h, mi) + s;
}

static void assert_local(const tz_local *l, int y, int mo, int d, int h, int mi, int s, int off)
{
    assert_int_equal(l->year, y);
    assert_int_equal(l->month, mo);
    assert_int_equal(l->day, d);
    assert_int_equal(l->hour, h);
    assert_int_equal(l->minute, mi);
    assert_int_equal(l->second, s);
    assert_int_equal(l->offset, off);
}

static int64_t from_local(const char *tz, int y, int mo, int d, int h, int mi)
{
    tz_local l = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
    int64_t t = -1;
    assert_int_equal(tz_from_local(&l, tz, &t), 0);
    return t;
}

/* ---- concurrency: first loads and table growth from many threads at once.
 * Debian's libical also locks internally, so this guards the combination
 * rather than tz.c's own lock alone. ---- */

static const char *const thread_zones[] = {"Asia/Tokyo",     "Europe/Paris",   "Australia/Sydney",
                                           "America/Chicago", "Africa/Nairobi", "Asia/Dubai",
                                           "Europe/Berlin",  "America/Denver"};

static void *convert_many(void *arg)
{
    const char *tz = arg;
    intptr_t bad = 0;
    /* Years far apart make libical grow each zone's table while others read it. */
    for (int64_t t = at(1990, 1, 1, 0, 0, 0); t < at(2090, 1, 1, 0, 0, 0); t += 86400 * 37 + 3607) {
        tz_local l;
        int64_t back;
        if (tz_to_local(t, tz, &l) < 0 || tz_from_local(&l, tz, &back) < 0)
            bad++;
        else if (back != t && back != t - 3600) /* t - 3600: second pass of an overlap */
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    enum { N = 16 };
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, convert_many, (void *)thread_zones[i % 8]), 0);
    for (int i = 0; i < N; i++) {
        void *bad;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_int_equal((intptr_t)bad, 0);
    }
}

/* ---- zones ---- */

static void test_valid(void **state)
{
    (void)state;
    assert_int_equal(tz_valid(KOL), 1);
    assert_int_equal(tz_valid(NY), 1);
    assert_int_equal(tz_valid(LON), 1);
    assert_int_equal(tz_valid("UTC"), 1);
    assert_int_equal(tz_valid("Etc/UTC"), 1);
    assert_int_equal(tz_valid("Asia/Calcutta"), 1); /* old name, still in tzdata */
    assert_int_equal(tz_valid("Nowhere/Land"), 0);
    assert_int_equal(tz_valid("asia/kolkata"), 0);
    assert_int_equal(tz_valid(""), 0);
    assert_int_equal(tz_valid(NULL), 0);
    assert_int_equal(tz_valid("../../../etc/passwd"), 0);
    assert_int_equal(tz_valid("/usr/share/zoneinfo/UTC"), 0);
    assert_int_equal(tz_valid("localtime"), 0);
    assert_int_equal(tz_valid("right/UTC"), 0);
    assert_int_equal(tz_valid("Asia/Kolkata "), 0);
}

static void test_kolkata(void **state)
{
    (void)state;
    tz_local l;
    assert_int_equal(tz_to_local(at(2026, 12, 1, 4, 30, 15), KOL, &l), 0);
    assert_local(&l, 2026, 12, 1, 10, 0, 15, 19800);
    assert_int_equal(l.wday, 2); /* Tuesday */
    /* The local date runs ahead of UTC late in the UTC day. */
    assert_int_equal(tz_to_local(at(2026, 12, 31, 20, 0, 0), KOL, &l), 0);
    assert_local(&l, 2027, 1, 1, 1, 30, 0, 19800);
    assert_int_equal(l.wday, 5);
    /* No DST: the same offset in summer. */
    assert_int_equal(tz_to_local(at(2026, 7, 1, 0, 0, 0), KOL, &l), 0);
    assert_int_equal(l.offset, 19800);
    assert_int_equal(from_local(KOL, 2026, 12, 1, 10, 0), at(2026, 12, 1, 4, 30, 0));
    assert_int_equal(from_local(KOL, 2027, 1, 1, 1, 30), at(2026, 12, 31, 20, 0, 0));
}

static void test_utc_and_other_offsets(void **state)
{
    (void)state;
    tz_local l;
    assert_int_equal(tz_to_local(at(2026, 6, 1, 12, 0, 0), "UTC", &l), 0);
    assert_local(&l, 2026, 6, 1, 12, 0, 0, 0);
    assert_int_equal(tz_to_local(at(2026, 6, 1, 12, 0, 0), "Etc/UTC", &l), 0);
    assert_local(&l, 2026, 6, 1, 12, 0, 0, 0);
    assert_int_equal(tz_to_local(at(2026, 1, 15, 12, 0, 0), "Asia/Kathmandu", &l), 0);
    assert_local(&l, 2026, 1, 15, 17, 45, 0, 20700);
    assert_int_equal(tz_to_local(at(2026, 1, 15, 12, 0, 0), "America/St_Johns", &l), 0);
    assert_local(&l, 2026, 1, 15, 8, 30, 0, -12600);
    assert_int_equal(tz_to_local(0, "UTC", &l), 0);
    assert_local(&l, 1970, 1, 1, 0, 0, 0, 0);
    assert_int_equal(l.wday, 4);
    assert_int_equal(tz_to_local(-1, "UTC", &l), 0);
    assert_local(&l, 1969, 12, 31, 23, 59, 59, 0);
    assert_int_equal(l.wday, 3);
}

static void test_new_york_spring(void **state)
{
    (void)state;
    tz_local l;
    assert_int_equal(tz_to_local(at(2026, 3, 8, 6, 59, 59), NY, &l), 0);
    assert_local(&l, 2026, 3, 8, 1, 59, 59, -18000);
    assert_int_equal(tz_to_local(at(2026, 3, 8, 7, 0, 0), NY, &l), 0);
    assert_local(&l, 2026, 3, 8, 3, 0, 0, -14400);
    assert_int_equal(l.wday, 0);

    assert_int_equal(from_local(NY, 2026, 3, 8, 1, 59), at(2026, 3, 8, 6, 59, 0));
    assert_int_equal(from_local(NY, 2026, 3, 8, 3, 0), at(2026, 3, 8, 7, 0, 0));
    /* 02:00-02:59 does not exist: moved forward by the hour, to 03:xx EDT. */
    assert_int_equal(from_local(NY, 2026, 3, 8, 2, 30), at(2026, 3, 8, 7, 30, 0));
    assert_int_equal(from_local(NY, 2026, 3, 8, 2, 0), at(2026, 3, 8, 7, 0, 0));
    assert_int_equal(tz_to_local(from_local(NY, 2026, 3, 8, 2, 30), NY, &l), 0);
    assert_local(&l, 2026, 3, 8, 3, 30, 0, -14400);
}

static void test_new_york_autumn(void **state)
{
    (void)state;
    tz_local l;
    assert_int_equal(tz_to_local(at(2026, 11, 1, 5, 59, 59), NY, &l), 0);
    assert_local(&l, 2026, 11, 1, 1, 59, 59, -14400);
    assert_int_equal(tz_to_local(at(2026, 11, 1, 6, 0, 0), NY, &l), 0);
    assert_local(&l, 2026, 11, 1, 1, 0, 0, -18000);

    /* 01:30 happens twice: the first (EDT) is taken. */
    assert_int_equal(from_local(NY, 2026, 11, 1, 1, 30), at(2026, 11, 1, 5, 30, 0));
    assert_int_equal(from_local(NY, 2026, 11, 1, 1, 0), at(2026, 11, 1, 5, 0, 0));
    assert_int_equal(from_local(NY, 2026, 11, 1, 0, 59), at(2026, 11, 1, 4, 59, 0));
    assert_int_equal(from_local(NY, 2026, 11, 1, 2, 0), at(2026, 11, 1, 7, 0, 0));
    assert_int_equal(from_local(NY, 2026, 7, 4, 9, 0), at(2026, 7, 4, 13, 0, 0));
    assert_int_equal(from_local(NY, 2026, 12, 25, 9, 0), at(2026, 12, 25, 14, 0, 0));
}

static void test_london(void **state)
{
    (void)state;
    tz_local l;
    assert_int_equal(tz_to_local(at(2026, 7, 1, 12, 0, 0), LON, &l), 0);
    assert_local(&l, 2026, 7, 1, 13, 0, 0, 3600);
    assert_int_equal(tz_to_local(at(2026, 1, 1, 12, 0, 0), LON, &l), 0);
    assert_local(&l, 2026, 1, 1, 12, 0, 0, 0);
    assert_int_equal(tz_to_local(at(2026, 3, 29, 1, 0, 0), LON, &l), 0);
    assert_local(&l, 2026, 3, 29, 2, 0, 0, 3600);
    /* Gap 01:00-02:00 on 29 March, overlap 01:00-02:00 on 25 October. */
    assert_int_equal(from_local(LON, 2026, 3, 29, 1, 30), at(2026, 3, 29, 1, 30, 0));
    assert_int_equal(from_local(LON, 2026, 3, 29, 2, 30), at(2026, 3, 29, 1, 30, 0));
    assert_int_equal(from_local(LON, 2026, 3, 29, 0, 30), at(2026, 3, 29, 0, 30, 0));
    assert_int_equal(from_local(LON, 2026, 10, 25, 1, 30), at(2026, 10, 25, 0, 30, 0));
    assert_int_equal(from_local(LON, 2026, 10, 25, 2, 30), at(2026, 10, 25, 2, 30, 0));
    /* Far-future rules still apply. */
    assert_int_equal(from_local(LON, 2061, 7, 1, 9, 0), at(2061, 7, 1, 8, 0, 0));
}

static void test_from_local_carries(void **state)
{
    (void)state;
    /* Day 32 of January is 1 February; month 13 is January next year. */
    assert_int_equal(from_local(KOL, 2026, 1, 32, 10, 0), from_local(KOL, 2026, 2, 1, 10, 0));
    assert_int_equal(from_local(KOL, 2026, 13, 1, 10, 0), from_local(KOL, 2027, 1, 1, 10, 0));
    assert_int_equal(from_local(KOL, 2026, 3, 1, 10, -30), from_local(KOL, 2026, 3, 1, 9, 30));
    /* Stepping a wall-clock day across spring forward spans 23 hours. */
    int64_t a = from_local(NY, 2026, 3, 7, 10, 0), b = from_local(NY, 2026, 3, 8, 10, 0);
    assert_int_equal(b - a, 23 * 3600);
    /* Seconds and the ignored wday/offset fields. */
    tz_local l = {.year = 2026, .month = 12, .day = 1, .hour = 10, .second = 42, .wday = 6,
                  .offset = 3600};
    int64_t t;
    assert_int_equal(tz_from_local(&l, KOL, &t), 0);
    assert_int_equal(t, at(2026, 12, 1, 4, 30, 42));
}

static void test_round_trip_year(void **state)
{
    (void)state;
    /* Every hour of a DST year in New York and London comes back unchanged,
     * except the second pass through an overlap, which resolves to the first. */
    const char *zones[] = {NY, LON, KOL};
    for (int z = 0; z < 3; z++) {
        int overlap = 0;
        for (int64_t t = at(2026, 1, 1, 0, 0, 0); t < at(2027, 1, 1, 0, 0, 0); t += 1800) {
            tz_local l;
            int64_t back;
            assert_int_equal(tz_to_local(t, zones[z], &l), 0);
            assert_int_equal(tz_from_local(&l, zones[z], &back), 0);
            if (back != t) {
                assert_int_equal(back, t - 3600);
                overlap++;
            }
        }
        assert_int_equal(overlap, z == 2 ? 0 : 2); /* 01:00 and 01:30 of the repeated hour */
    }
}

static void test_unknown_zone(void **state)
{
    (void)state;
    tz_local l;
    memset(&l, 0x55, sizeof l);
    assert_int_equal(tz_to_local(at(2026, 12, 1, 4, 30, 0), "Mars/Olympus_Mons", &l), -1);
    /* Still filled (with UTC) so a careless caller reads no garbage. */
    assert_local(&l, 2026, 12, 1, 4, 30, 0, 0);
    tz_local q = {.year = 2026, .month = 12, .day = 1, .hour = 10};
    int64_t t;
    assert_int_equal(tz_from_local(&q, "Mars/Olympus_Mons", &t), -1);
    assert_int_equal(tz_from_local(&q, NULL, &t), -1);
}

/* ---- RFC 3339 ---- */

static int64_t parse_ok(const char *s, const char *tz)
{
    nudge_err err = {0};
    int64_t t = -1;
    if (tz_parse(s, tz, &t, "at", &err) != 0)
        fail_msg("tz_parse(%s): %s", s, err.msg);
    assert_int_equal(err.code, 0);
    return t;
}

static void test_parse_good(void **state)
{
    (void)state;
    int64_t want = at(2026, 12, 1, 4, 30, 0);
    assert_int_equal(parse_ok("2026-12-01T10:00:00+05:30", NULL), want);
    assert_int_equal(parse_ok("2026-12-01T04:30:00Z", NULL), want);
    assert_int_equal(parse_ok("2026-12-01t04:30:00z", NULL), want);
    assert_int_equal(parse_ok("2026-12-01 04:30:00Z", NULL), want);
    assert_int_equal(parse_ok("2026-12-01T04:30:00.999999Z", NULL), want);
    assert_int_equal(parse_ok("2026-11-30T23:30:00-05:00", NULL), want);
    assert_int_equal(parse_ok("2026-12-01T04:30:00-00:00", NULL), want);
    /* An explicit offset wins over the zone. */
    assert_int_equal(parse_ok("2026-12-01T10:00:00+05:30", NY), want);
    assert_int_equal(parse_ok("2028-02-29T12:00:00Z", NULL), at(2028, 2, 29, 12, 0, 0));
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z", NULL), at(2000, 2, 29, 0, 0, 0));
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z", NULL), -1);
    /* A leap second stays in its minute. */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z", NULL), at(2016, 12, 31, 23, 59, 59));
}

static void test_parse_local(void **state)
{
    (void)state;
    int64_t want = at(2026, 12, 1, 4, 30, 0);
    assert_int_equal(parse_ok("2026-12-01T10:00", KOL), want);
    assert_int_equal(parse_ok("2026-12-01T10:00:00", KOL), want);
    assert_int_equal(parse_ok("2026-12-01 10:00", KOL), want);
    assert_int_equal(parse_ok("2026-12-01T10:00:00.5", KOL), want);
    assert_int_equal(parse_ok("2026-07-04 09:00", NY), at(2026, 7, 4, 13, 0, 0));
    assert_int_equal(parse_ok("2026-03-08T02:30", NY), at(2026, 3, 8, 7, 30, 0));
    assert_int_equal(parse_ok("2026-11-01T01:30", NY), at(2026, 11, 1, 5, 30, 0));
    assert_int_equal(parse_ok("2026-10-25T01:30", LON), at(2026, 10, 25, 0, 30, 0));
    assert_int_equal(parse_ok("2026-12-01T10:00", "UTC"), at(2026, 12, 1, 10, 0, 0));
}

static void parse_bad(const char *s, const char *tz, const char *msg_part)
{
    nudge_err err = {0};
    int64_t t = 12345;
    if (tz_parse(s, tz, &t, "start_at", &err) != -1)
        fail_msg("tz_parse(%s) accepted it as %lld", s ? s : "(null)", (long long)t);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, "start_at");
    if (!strstr(err.msg, msg_part))
        fail_msg("tz_parse(%s): message \"%s\" lacks \"%s\"", s ? s : "(null)", err.msg, msg_part);
    assert_non_null(strstr(err.msg, "start_at"));
}

static void test_parse_bad(void **state)
{
    (void)state;
    const char *form = "such as 2026-12-01T10:00:00+05:30";
    parse_bad(NULL, NULL, "required");
    parse_bad("", KOL, "required");
    parse_bad("tomorrow", NULL, form);
    parse_bad("2026-12-01", NULL, form);
    parse_bad("2026-12-01T10:00Z", NULL, form); /* seconds are required with an offset */
    parse_bad("2026-12-01T10:00:00+0530", NULL, form);
    parse_bad("2026-12-01T10:00:00+5:30", NULL, form);
    parse_bad("2026-12-1T10:00:00Z", NULL, form);
    parse_bad("26-12-01T10:00:00Z", NULL, form);
    parse_bad(" 2026-12-01T10:00:00Z", NULL, form);
    parse_bad("2026-12-01T10:00:00Z ", NULL, form);
    parse_bad("2026-12-01T10:00:00Zx", NULL, form);
    parse_bad("2026-12-01T10:00:00.Z", NULL, form);
    parse_bad("2026-12-01T10:00:00 +05:30", NULL, form);
    parse_bad("2026-12-01X10:00:00Z", NULL, form);
    parse_bad("2026/12/01T10:00:00Z", NULL, form);
    parse_bad("2026-12-01T10:00:00UTC", NULL, form);
}

static void test_parse_bad_ranges(void **state)
{
    (void)state;
    parse_bad("2026-13-01T10:00:00Z", NULL, "month");
    parse_bad("2026-00-01T10:00:00Z", NULL, "month");
    parse_bad("2026-12-00T10:00:00Z", NULL, "day");
    parse_bad("2026-12-32T10:00:00Z", NULL, "day");
    parse_bad("2026-04-31T10:00:00Z", NULL, "day");
    parse_bad("2026-02-29T10:00:00Z", NULL, "2026-02 has 28 days");
    parse_bad("2100-02-29T10:00:00Z", NULL, "day"); /* centuries are not leap years */
    parse_bad("2026-12-01T24:00:00Z", NULL, "time of day");
    parse_bad("2026-12-01T10:60:00Z", NULL, "time of day");
    parse_bad("2026-12-01T10:00:61Z", NULL, "time of day");
    parse_bad("2026-12-01T10:00:00+24:00", NULL, "offset");
    parse_bad("2026-12-01T10:00:00+05:60", NULL, "offset");
    parse_bad("0000-12-01T10:00:00Z", NULL, "year");
    parse_bad("2026-02-30T10:00", KOL, "day");
}

static void test_parse_local_needs_zone(void **state)
{
    (void)state;
    parse_bad("2026-12-01T10:00", NULL, "UTC offset");
    parse_bad("2026-12-01T10:00:00", NULL, "UTC offset");
    parse_bad("2026-12-01T10:00", "Nowhere/Land", "not known");
    /* With a zone, the message also shows the local form. */
    parse_bad("10am", KOL, "2026-12-01T10:00");
}

static void test_parse_field_null(void **state)
{
    (void)state;
    nudge_err err = {0};
    int64_t t;
    assert_int_equal(tz_parse("bad", NULL, &t, NULL, &err), -1);
    assert_int_equal(err.code, NUDGE_EINVAL);
    assert_string_equal(err.field, "");
    /* A NULL err is allowed: callers that only want yes or no. */
    assert_int_equal(tz_parse("bad", NULL, &t, "at", NULL), -1);
}

static void test_format_rfc3339(void **state)
{
    (void)state;
    char buf[32];
    int64_t t = at(2026, 12, 1, 4, 30, 0);
    tz_format_rfc3339(t, KOL, buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01T10:00:00+05:30");
    tz_format_rfc3339(t, "UTC", buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01T04:30:00Z");
    tz_format_rfc3339(t, NULL, buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01T04:30:00Z");
    tz_format_rfc3339(t, NY, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-30T23:30:00-05:00");
    tz_format_rfc3339(at(2026, 7, 4, 13, 0, 5), NY, buf, sizeof buf);
    assert_string_equal(buf, "2026-07-04T09:00:05-04:00");
    tz_format_rfc3339(at(2026, 1, 15, 12, 0, 0), LON, buf, sizeof buf);
    assert_string_equal(buf, "2026-01-15T12:00:00+00:00");
    tz_format_rfc3339(at(2026, 1, 15, 12, 0, 0), "America/St_Johns", buf, sizeof buf);
    assert_string_equal(buf, "2026-01-15T08:30:00-03:30");
    tz_format_rfc3339(at(2026, 1, 15, 12, 0, 0), "Asia/Kathmandu", buf, sizeof buf);
    assert_string_equal(buf, "2026-01-15T17:45:00+05:45");
    /* An unknown zone falls back to UTC, marked as such. */
    tz_format_rfc3339(t, "Nowhere/Land", buf, sizeof buf);
    assert_string_equal(buf, "2026-12-01T04:30:00Z");
    /* What it writes, it reads back. */
    const char *zones[] = {KOL, NY, LON, "UTC", "Asia/Kathmandu"};
    for (int i = 0; i < 5; i++)
        for (int64_t u = at(2026, 1, 1, 0, 0, 0); u < at(2027, 1, 1, 0, 0, 0);
             u += 86400 * 5 + 1234) {
            tz_format_rfc3339(u, zones[i], buf, sizeof buf);
            assert_int_equal(parse_ok(buf, NULL), u);
        }
}

static void test_parse_hhmm(void **state)
{
    (void)state;
    int m = -1;
    assert_int_equal(tz_parse_hhmm("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(tz_parse_hhmm("08:30", &m), 0);
    assert_int_equal(m, 510);
    assert_int_equal(tz_parse_hhmm("21:00", &m), 0);
    assert_int_equal(m, 1260);
    assert_int_equal(tz_parse_hhmm("23:59", &m), 0);
    assert_int_equal(m, 1439);
    const char *bad[] = {"24:00", "12:60", "8:30", "08:3",  "08:300", "08-30", "",
                         "ab:cd", " 8:30", "08:30 ", "-1:00", "+1:00", "0830", "99:99"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = 777;
        if (tz_parse_hhmm(bad[i], &m) != -1)
            fail_msg("tz_parse_hhmm accepted \"%s\"", bad[i]);
        assert_int_equal(m, 777);
    }
    assert_int_equal(tz_parse_hhmm(NULL, &m), -1);
}

/* ---- message formats ---- */

static void check_date(int64_t t, const char *tz, const char *lang, const char *want)
{
    char buf[64];
    tz_format_date(t, tz, lang, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void check_time(int64_t t, const char *tz, const char *lang, const char *want)
{
    char buf[64];
    tz_format_time(t, tz, lang, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_format_date(void **state)
{
    (void)state;
    int64_t t = at(2026, 12, 1, 4, 30, 0);
    check_date(t, KOL, "en", "01-Dec-2026");
    check_date(t, KOL, "hi", "1 दिसंबर 2026");
    check_date(t, KOL, "hi-IN", "1 दिसंबर 2026");
    check_date(t, KOL, "HI", "1 दिसंबर 2026");
    check_date(t, KOL, "fr", "01-Dec-2026");
    check_date(t, KOL, "his", "01-Dec-2026");
    check_date(t, KOL, NULL, "01-Dec-2026");
    check_date(t, KOL, "", "01-Dec-2026");
    /* The date is the zone's: 20:00 UTC on 30 Nov is already 1 Dec in India. */
    check_date(at(2026, 11, 30, 20, 0, 0), KOL, "en", "01-Dec-2026");
    check_date(at(2026, 11, 30, 20, 0, 0), "UTC", "en", "30-Nov-2026");
    check_date(at(2026, 12, 1, 3, 0, 0), NY, "en", "30-Nov-2026");
    check_date(at(2028, 2, 29, 12, 0, 0), KOL, "en", "29-Feb-2028");
    check_date(at(2028, 2, 29, 12, 0, 0), KOL, "hi", "29 फ़रवरी 2028");
    check_date(at(2024, 1, 15, 6, 0, 0), KOL, "en", "15-Jan-2024");
    check_date(at(2024, 1, 15, 6, 0, 0), KOL, "hi", "15 जनवरी 2024");

    static const char *const en[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *const hi[12] = {"जनवरी", "फ़रवरी", "मार्च",  "अप्रैल",   "मई",     "जून",
                                       "जुलाई",  "अगस्त",  "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"};
    for (int m = 1; m <= 12; m++) {
        char want[64];
        int64_t u = at(2027, m, 9, 12, 0, 0);
        snprintf(want, sizeof want, "09-%s-2027", en[m - 1]);
        check_date(u, KOL, "en", want);
        snprintf(want, sizeof want, "9 %s 2027", hi[m - 1]);
        check_date(u, KOL, "hi", want);
    }
}

static int64_t kol(int h, int mi)
{
    return from_local(KOL, 2026, 12, 1, h, mi);
}

static void test_format_time_en(void **state)
{
    (void)state;
    check_time(kol(10, 0), KOL, "en", "10:00 AM");
    check_time(kol(14, 30), KOL, "en", "02:30 PM");
    check_time(kol(12, 0), KOL, "en", "12:00 PM");
    check_time(kol(0, 0), KOL, "en", "12:00 AM");
    check_time(kol(0, 5), KOL, "en", "12:05 AM");
    check_time(kol(11, 59), KOL, "en", "11:59 AM");
    check_time(kol(12, 1), KOL, "en", "12:01 PM");
    check_time(kol(23, 59), KOL, "en", "11:59 PM");
    check_time(kol(9, 5), KOL, "en", "09:05 AM");
    check_time(kol(10, 0), KOL, "de", "10:00 AM");
    /* The time is the zone's, DST included. */
    check_time(at(2026, 7, 4, 13, 0, 0), NY, "en", "09:00 AM");
    check_time(at(2026, 12, 4, 13, 0, 0), NY, "en", "08:00 AM");
    check_time(at(2026, 12, 1, 4, 30, 0), "UTC", "en", "04:30 AM");
}

static void test_format_time_hi(void **state)
{
    (void)state;
    check_time(kol(10, 0), KOL, "hi", "सुबह 10:00");
    check_time(kol(14, 30), KOL, "hi", "दोपहर 2:30");
    check_time(kol(18, 0), KOL, "hi", "शाम 6:00");
    check_time(kol(21, 0), KOL, "hi", "रात 9:00");
    check_time(kol(12, 0), KOL, "hi", "दोपहर 12:00");
    check_time(kol(0, 0), KOL, "hi", "रात 12:00");
    /* The edges of each day part. */
    check_time(kol(3, 59), KOL, "hi", "रात 3:59");
    check_time(kol(4, 0), KOL, "hi", "सुबह 4:00");
    check_time(kol(11, 59), KOL, "hi", "सुबह 11:59");
    check_time(kol(15, 59), KOL, "hi", "दोपहर 3:59");
    check_time(kol(16, 0), KOL, "hi", "शाम 4:00");
    check_time(kol(19, 59), KOL, "hi", "शाम 7:59");
    check_time(kol(20, 0), KOL, "hi", "रात 8:00");
    check_time(kol(9, 5), KOL, "hi_IN", "सुबह 9:05");
}

static void test_format_rfc5322(void **state)
{
    (void)state;
    char buf[64];
    tz_format_rfc5322(at(2026, 11, 24, 14, 27, 47), buf, sizeof buf);
    assert_string_equal(buf, "Tue, 24 Nov 2026 14:27:47 +0000");
    tz_format_rfc5322(0, buf, sizeof buf);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
    tz_format_rfc5322(at(2028, 2, 29, 23, 59, 59), buf, sizeof buf);
    assert_string_equal(buf, "Tue, 29 Feb 2028 23:59:59 +0000");
    tz_format_rfc5322(at(2026, 3, 8, 7, 0, 0), buf, sizeof buf);
    assert_string_equal(buf, "Sun, 08 Mar 2026 07:00:00 +0000");
}

static void test_small_buffers(void **state)
{
    (void)state;
    char buf[6];
    memset(buf, 'x', sizeof buf);
    tz_format_date(at(2026, 12, 1, 4, 30, 0), KOL, "hi", buf, sizeof buf);
    assert_int_equal(buf[5], 0);
    tz_format_time(at(2026, 12, 1, 4, 30, 0), KOL, "en", buf, sizeof buf);
    assert_string_equal(buf, "10:00");
    tz_format_rfc3339(0, KOL, buf, sizeof buf);
    assert_string_equal(buf, "1970-");
    tz_format_rfc5322(0, buf, 1);
    assert_string_equal(buf, "");
    tz_format_time(0, KOL, "en", NULL, 0); /* no buffer: nothing, no crash */
}

/* ---- the cache agrees with libical ---- */

/* libical's own offset at t, asked directly (the test is single-threaded
 * here, so no lock is needed). */
static int ical_offset(const char *tz, int64_t t)
{
    icaltimezone *z = icaltimezone_get_builtin_timezone(tz);
    assert_non_null(z);
    struct icaltimetype tt =
        icaltime_from_timet_with_zone((time_t)t, 0, icaltimezone_get_utc_timezone());
    int dst = 0;
    return icaltimezone_get_utc_offset_of_utc_time(z, &tt, &dst);
}

static int cache_offset(const char *tz, int64_t t)
{
    tz_local l;
    assert_int_equal(tz_to_local(t, tz, &l), 0);
    return l.offset;
}

/* Zones with odd rules: half-hour DST (Lord Howe), a skipped day (Apia),
 * DST paused for Ramadan (Casablanca), DST abolished (Moscow, Sao Paulo),
 * 30- and 45-minute offsets (Kolkata, Kathmandu), the southern summer. */
static const char *const cmp_zones[] = {
    NY,  LON, KOL, "Australia/Lord_Howe", "Pacific/Apia", "Africa/Casablanca", "Europe/Moscow",
    "America/Sao_Paulo", "Asia/Kathmandu", "Australia/Sydney", "America/Santiago", "Europe/Dublin"};

static void test_cache_matches_libical(void **state)
{
    (void)state;
    int changes = 0;
    for (size_t zi = 0; zi < sizeof cmp_zones / sizeof *cmp_zones; zi++) {
        const char *tz = cmp_zones[zi];
        /* Every ~9 days from 1900 to 2100 at a different hour each time;
         * where libical's offset changed since the last sample, find the
         * exact second and compare on both sides of it. */
        int64_t prev = at(1900, 1, 1, 0, 0, 0);
        int prev_off = ical_offset(tz, prev);
        assert_int_equal(cache_offset(tz, prev), prev_off);
        for (int64_t t = prev + 86400 * 9 + 3600; t < at(2100, 1, 1, 0, 0, 0);
             t += 86400 * 9 + 3600) {
            int off = ical_offset(tz, t);
            if (cache_offset(tz, t) != off)
                fail_msg("%s at %lld: cache %d, libical %d", tz, (long long)t,
                         cache_offset(tz, t), off);
            if (off != prev_off) {
                int64_t lo = prev, hi = t;
                while (hi - lo > 1) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (ical_offset(tz, mid) == prev_off)
                        lo = mid;
                    else
                        hi = mid;
                }
                assert_int_equal(cache_offset(tz, lo), ical_offset(tz, lo));
                assert_int_equal(cache_offset(tz, hi), ical_offset(tz, hi));
                changes++;
            }
            prev = t;
            prev_off = off;
        }
    }
    assert_true(changes > 1000); /* the walk did cross DST changes */
    /* Far years, summer and winter, through libical's slow path (a far
     * year's changes are recomputed from the rule's start): the cache
     * answers from the year with the same calendar. */
    static const int far[] = {2101, 2150, 2399, 2400};
    for (size_t zi = 0; zi < 3; zi++)
        for (size_t i = 0; i < sizeof far / sizeof *far; i++)
            for (int mo = 1; mo <= 12; mo += 5) {
                int64_t t = at(far[i], mo, 15, 12, 0, 0);
                assert_int_equal(cache_offset(cmp_zones[zi], t), ical_offset(cmp_zones[zi], t));
            }
    /* Before the cache's table (1900): libical answers. */
    int64_t old = at(1883, 6, 1, 12, 0, 0);
    assert_int_equal(cache_offset(NY, old), ical_offset(NY, old));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads), /* first, while the zones are still unloaded */
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_kolkata),
        cmocka_unit_test(test_utc_and_other_offsets),
        cmocka_unit_test(test_new_york_spring),
        cmocka_unit_test(test_new_york_autumn),
        cmocka_unit_test(test_london),
        cmocka_unit_test(test_from_local_carries),
        cmocka_unit_test(test_round_trip_year),
        cmocka_unit_test(test_unknown_zone),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_local),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_bad_ranges),
        cmocka_unit_test(test_parse_local_needs_zone),
        cmocka_unit_test(test_parse_field_null),
        cmocka_unit_test(test_format_rfc3339),
        cmocka_unit_test(test_parse_hhmm),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_format_time_en),
        cmocka_unit_test(test_format_time_hi),
        cmocka_unit_test(test_format_rfc5322),
        cmocka_unit_test(test_small_buffers),
        cmocka_unit_test(test_cache_matches_libical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
