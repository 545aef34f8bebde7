/*
 * test_ics.c: the appointment invitations of src/ics.c, read back the way a
 * calendar client would: parsed with libical, times turned into instants
 * through the VTIMEZONE the invite itself carries (not libical's own zone
 * data), and the raw text checked line by line for RFC 5545's CRLF and
 * 75-octet rules. Expected instants are written as UTC literals worked out
 * by hand from the zones' offsets (IST +05:30; New York -05:00, -04:00 from
 * 2026-03-08 02:00 to 2026-11-01 02:00).
 */
#include <pthread.h>

#include "testutil.h"

#include <libical/ical.h>

#include "ics.h"
#include "tz.h"

#define KOL "Asia/Kolkata"
#define NY "America/New_York"

static nudge_clinic clinic(const char *tz)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    c.id = 3;
    snprintf(c.name, sizeof c.name, "Smile Dental; Koramangala");
    snprintf(c.timezone, sizeof c.timezone, "%s", tz);
    snprintf(c.email, sizeof c.email, "Front.Desk@Smile.Example");
    snprintf(c.address, sizeof c.address, "12, 80 Feet Road\nKoramangala, Bengaluru 560034");
    return c;
}

static nudge_appointment appt(int64_t start, int minutes)
{
    nudge_appointment a;
    memset(&a, 0, sizeof a);
    a.id = 42;
    a.clinic_id = 3;
    a.patient_id = 7;
    snprintf(a.service, sizeof a.service, "दाँतों की सफ़ाई"); /* teeth cleaning */
    a.start_at = start;
    a.duration_min = minutes;
    snprintf(a.status, sizeof a.status, "scheduled");
    return a;
}

/* ---- reading an invite back ---- */

static char *invite(const nudge_clinic *c, const nudge_appointment *a, const char *name,
                    const char *email, ics_method m, int seq, int64_t now)
{
    nudge_err err = {0};
    char *s = ics_invite(c, a, name, email, m, seq, now, &err);
    if (!s)
        fail_msg("ics_invite: %s (%s)", err.msg, err.field);
    return s;
}

static icalcomponent *parse(const char *text)
{
    icalcomponent *cal = icalparser_parse_string(text);
    assert_non_null(cal);
    assert_int_equal(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
    assert_int_equal(icalcomponent_count_errors(cal), 0);
    return cal;
}

static icalcomponent *event_of(icalcomponent *cal)
{
    assert_int_equal(icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 1);
    return icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
}

static icalproperty *prop(icalcomponent *c, icalproperty_kind k)
{
    icalproperty *p = icalcomponent_get_first_property(c, k);
    if (!p)
        fail_msg("missing %s", icalproperty_kind_to_string(k));
    return p;
}

static icalparameter *param(icalproperty *p, icalparameter_kind k)
{
    icalparameter *q = icalproperty_get_first_parameter(p, k);
    if (!q)
        fail_msg("missing parameter %s", icalparameter_kind_to_string(k));
    return q;
}

/* The invite's own VTIMEZONE for tzid, as a zone (caller frees). */
static icaltimezone *own_zone(icalcomponent *cal, const char *tzid)
{
    icalcomponent *vtz = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT);
    for (; vtz; vtz = icalcomponent_get_next_component(cal, ICAL_VTIMEZONE_COMPONENT))
        if (!strcmp(icalproperty_get_tzid(prop(vtz, ICAL_TZID_PROPERTY)), tzid))
            break;
    if (!vtz)
        fail_msg("no VTIMEZONE with TZID %s", tzid);
    icaltimezone *z = icaltimezone_new();
    assert_int_equal(icaltimezone_set_component(z, icalcomponent_new_clone(vtz)), 1);
    return z;
}

/* DTSTART/DTEND: wall time y-mo-d h:mi:00 with TZID tzid, and the instant
 * it names under the invite's VTIMEZONE. */
static void assert_when(icalcomponent *cal, icalproperty_kind k, const char *tzid, int y, int mo,
                        int d, int h, int mi, int64_t instant)
{
    icalproperty *p = prop(event_of(cal), k);
    assert_string_equal(icalparameter_get_tzid(param(p, ICAL_TZID_PARAMETER)), tzid);
    struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(p));
    assert_false(icaltime_is_utc(t));
    assert_false(t.is_date);
    assert_int_equal(t.year, y);
    assert_int_equal(t.month, mo);
    assert_int_equal(t.day, d);
    assert_int_equal(t.hour, h);
    assert_int_equal(t.minute, mi);
    assert_int_equal(t.second, 0);
    icaltimezone *z = own_zone(cal, tzid);
    t.zone = NULL;
    assert_int_equal((int64_t)icaltime_as_timet_with_zone(t, z), instant);
    icaltimezone_free(z, 1);
}

/* The same for a time written in UTC. */
static void assert_when_utc(icalcomponent *cal, icalproperty_kind k, int64_t instant)
{
    icalproperty *p = prop(event_of(cal), k);
    assert_null(icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER));
    struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(p));
    assert_true(icaltime_is_utc(t));
    assert_int_equal((int64_t)icaltime_as_timet(t), instant);
}

/* One line (CRLF excluded) is whole UTF-8: folding split no character. */
static int utf8_whole(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3
                                 : (p[i] & 0xf8) == 0xf0     ? 4
                                                             : 0;
        if (!k || i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

/* Every line ends in CRLF, has no other CR or LF, is at most 75 octets
 * and is whole UTF-8. Returns the number of lines. */
static int assert_lines(const char *s)
{
    size_t n = strlen(s);
    assert_true(n >= 2);
    assert_memory_equal(s + n - 2, "\r\n", 2);
    int lines = 0;
    for (const char *line = s; *line; lines++) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        size_t len = (size_t)(eol - line);
        if (memchr(line, '\r', len) || memchr(line, '\n', len))
            fail_msg("bare CR or LF in line %d: %.*s", lines + 1, (int)len, line);
        if (len > 75)
            fail_msg("line %d has %zu octets: %.*s", lines + 1, len, (int)len, line);
        if (!utf8_whole((const unsigned char *)line, len))
            fail_msg("line %d splits a UTF-8 character: %.*s", lines + 1, (int)len, line);
        line = eol + 2;
    }
    return lines;
}

/* ---- tests ---- */

static void request_carries_the_visit(void **state)
{
    (void)state;
    nudge_clinic c = clinic(KOL);
    /* 2026-12-01 10:00 IST for 45 minutes */
    nudge_appointment a = appt(TU_T(2026, 12, 1, 4, 30), 45);
    int64_t now = TU_T(2026, 11, 20, 9, 15) + 7;
    char *s = invite(&c, &a, "रमेश कुमार", "ramesh@example.in", ICS_REQUEST, 0, now);
    assert_lines(s);
    icalcomponent *cal = parse(s);
    icalcomponent *ev = event_of(cal);

    assert_int_equal(icalcomponent_get_method(cal), ICAL_METHOD_REQUEST);
    assert_string_equal(icalproperty_get_version(prop(cal, ICAL_VERSION_PROPERTY)), "2.0");
    assert_non_null(strstr(icalproperty_get_prodid(prop(cal, ICAL_PRODID_PROPERTY)), "nudge"));
    assert_string_equal(icalcomponent_get_uid(ev), "appointment-42@smile.example");
    assert_int_equal(icalproperty_get_sequence(prop(ev, ICAL_SEQUENCE_PROPERTY)), 0);
    assert_int_equal(icalcomponent_get_status(ev), ICAL_STATUS_CONFIRMED);

    assert_when(cal, ICAL_DTSTART_PROPERTY, KOL, 2026, 12, 1, 10, 0, a.start_at);
    assert_when(cal, ICAL_DTEND_PROPERTY, KOL, 2026, 12, 1, 10, 45, a.start_at + 45 * 60);
    assert_int_equal(icalcomponent_count_components(cal, ICAL_VTIMEZONE_COMPONENT), 1);

    struct icaltimetype stamp = icalproperty_get_dtstamp(prop(ev, ICAL_DTSTAMP_PROPERTY));
    assert_true(icaltime_is_utc(stamp));
    assert_int_equal((int64_t)icaltime_as_timet(stamp), now);

    assert_string_equal(icalcomponent_get_summary(ev),
                        "दाँतों की सफ़ाई at Smile Dental; Koramangala");
    assert_string_equal(icalcomponent_get_location(ev),
                        "12, 80 Feet Road\nKoramangala, Bengaluru 560034");

    icalproperty *org = prop(ev, ICAL_ORGANIZER_PROPERTY);
    assert_string_equal(icalproperty_get_organizer(org), "mailto:Front.Desk@Smile.Example");
    assert_string_equal(icalparameter_get_cn(param(org, ICAL_CN_PARAMETER)),
                        "Smile Dental; Koramangala");

    assert_int_equal(icalcomponent_count_properties(ev, ICAL_ATTENDEE_PROPERTY), 1);
    icalproperty *att = prop(ev, ICAL_ATTENDEE_PROPERTY);
    assert_string_equal(icalproperty_get_attendee(att), "mailto:ramesh@example.in");
    assert_string_equal(icalparameter_get_cn(param(att, ICAL_CN_PARAMETER)), "रमेश कुमार");
    assert_int_equal(icalparameter_get_rsvp(param(att, ICAL_RSVP_PARAMETER)), ICAL_RSVP_FALSE);
    assert_int_equal(icalparameter_get_partstat(param(att, ICAL_PARTSTAT_PARAMETER)),
                     ICAL_PARTSTAT_NEEDSACTION);
    assert_int_equal(icalparameter_get_role(param(att, ICAL_ROLE_PARAMETER)),
                     ICAL_ROLE_REQPARTICIPANT);

    icalcomponent_free(cal);
    free(s);
}

/* New York changes to EDT on 2026-03-08 at 02:00: 10:00 is 15:00Z the week
 * before and 14:00Z the day after, and a visit that starts before the
 * change ends after it. */
static void new_york_across_dst(void **state)
{
    (void)state;
    nudge_clinic c = clinic(NY);
    int64_t now = TU_T(2026, 3, 1, 12, 0);
    struct {
        int64_t start;
        int minutes, day, h, mi, end_h, end_mi;
    } cases[] = {
        {TU_T(2026, 3, 6, 15, 0), 30, 6, 10, 0, 10, 30},  /* EST */
        {TU_T(2026, 3, 9, 14, 0), 30, 9, 10, 0, 10, 30},  /* EDT */
        {TU_T(2026, 3, 8, 6, 30), 60, 8, 1, 30, 3, 30},   /* 01:30 EST + 1 h = 03:30 EDT */
        {TU_T(2026, 3, 8, 7, 0), 30, 8, 3, 0, 3, 30},     /* the first minute of EDT */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nudge_appointment a = appt(cases[i].start, cases[i].minutes);
        char *s = invite(&c, &a, "Ann Lee", "ann@example.com", ICS_REQUEST, 0, now);
        assert_lines(s);
        icalcomponent *cal = parse(s);
        assert_when(cal, ICAL_DTSTART_PROPERTY, NY, 2026, 3, cases[i].day, cases[i].h,
                    cases[i].mi, cases[i].start);
        assert_when(cal, ICAL_DTEND_PROPERTY, NY, 2026, 3, cases[i].day, cases[i].end_h,
                    cases[i].end_mi, cases[i].start + cases[i].minutes * 60);
        icalcomponent_free(cal);
        free(s);
    }
}

/* New York goes back to EST on 2026-11-01 at 02:00, so 01:00-01:59 happens
 * twice. RFC 5545 gives such a time to the first, libical to the second:
 * those are written in UTC, every other time keeps the zone. */
static void new_york_repeated_hour(void **state)
{
    (void)state;
    nudge_clinic c = clinic(NY);
    int64_t now = TU_T(2026, 10, 1, 12, 0);
    struct {
        int64_t start;
        int utc, h, mi;
    } cases[] = {
        {TU_T(2026, 11, 1, 4, 30), 0, 0, 30}, /* 00:30 EDT */
        {TU_T(2026, 11, 1, 5, 0), 1, 0, 0},   /* 01:00 EDT */
        {TU_T(2026, 11, 1, 5, 59), 1, 0, 0},  /* 01:59 EDT */
        {TU_T(2026, 11, 1, 6, 30), 1, 0, 0},  /* 01:30 EST */
        {TU_T(2026, 11, 1, 7, 0), 0, 2, 0},   /* 02:00 EST */
        {TU_T(2026, 11, 1, 8, 0), 0, 3, 0},   /* 03:00 EST */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nudge_appointment a = appt(cases[i].start, 1);
        char *s = invite(&c, &a, "Ann Lee", "ann@example.com", ICS_REQUEST, 0, now);
        icalcomponent *cal = parse(s);
        if (cases[i].utc)
            assert_when_utc(cal, ICAL_DTSTART_PROPERTY, a.start_at);
        else
            assert_when(cal, ICAL_DTSTART_PROPERTY, NY, 2026, 11, 1, cases[i].h, cases[i].mi,
                        a.start_at);
        icalcomponent_free(cal);
        free(s);
    }
}

/* Booking, reschedule and cancellation are one event to the client: same
 * UID, rising SEQUENCE, and the cancel says CANCELLED. */
static void reschedule_and_cancel_keep_the_uid(void **state)
{
    (void)state;
    nudge_clinic c = clinic(KOL);
    nudge_appointment a = appt(TU_T(2026, 12, 1, 4, 30), 30);
    int64_t now = TU_T(2026, 11, 20, 9, 0);
    char *booked = invite(&c, &a, "Asha", "asha@example.in", ICS_REQUEST, 0, now);
    a.start_at = TU_T(2026, 12, 2, 9, 30); /* 15:00 IST */
    char *moved = invite(&c, &a, "Asha", "asha@example.in", ICS_REQUEST, 1, now + 60);
    char *cancelled = invite(&c, &a, "Asha", "asha@example.in", ICS_CANCEL, 2, now + 120);

    icalcomponent *b = parse(booked), *m = parse(moved), *x = parse(cancelled);
    const char *uid = icalcomponent_get_uid(event_of(b));
    assert_string_equal(uid, "appointment-42@smile.example");
    assert_string_equal(icalcomponent_get_uid(event_of(m)), uid);
    assert_string_equal(icalcomponent_get_uid(event_of(x)), uid);

    assert_int_equal(icalcomponent_get_method(m), ICAL_METHOD_REQUEST);
    assert_int_equal(icalproperty_get_sequence(prop(event_of(m), ICAL_SEQUENCE_PROPERTY)), 1);
    assert_int_equal(icalcomponent_get_status(event_of(m)), ICAL_STATUS_CONFIRMED);
    assert_when(m, ICAL_DTSTART_PROPERTY, KOL, 2026, 12, 2, 15, 0, a.start_at);

    assert_int_equal(icalcomponent_get_method(x), ICAL_METHOD_CANCEL);
    assert_int_equal(icalproperty_get_sequence(prop(event_of(x), ICAL_SEQUENCE_PROPERTY)), 2);
    assert_int_equal(icalcomponent_get_status(event_of(x)), ICAL_STATUS_CANCELLED);
    assert_when(x, ICAL_DTSTART_PROPERTY, KOL, 2026, 12, 2, 15, 0, a.start_at);
    assert_string_equal(icalproperty_get_attendee(prop(event_of(x), ICAL_ATTENDEE_PROPERTY)),
                        "mailto:asha@example.in");
    struct icaltimetype stamp = icalproperty_get_dtstamp(prop(event_of(x), ICAL_DTSTAMP_PROPERTY));
    assert_int_equal((int64_t)icaltime_as_timet(stamp), now + 120);

    icalcomponent_free(b);
    icalcomponent_free(m);
    icalcomponent_free(x);
    free(booked);
    free(moved);
    free(cancelled);
}

/* Long values fold into lines of at most 75 octets, at character
 * boundaries, with CRLF only, and unfold to what went in. Values without
 * spaces of every length hit the case libical 3.0 folds between CR and LF. */
static void long_values_fold_cleanly(void **state)
{
    (void)state;
    nudge_clinic c = clinic(KOL);
    nudge_appointment a = appt(TU_T(2026, 12, 1, 4, 30), 30);
    /* Hindi without spaces: libical must split between characters. */
    a.service[0] = 0;
    for (int i = 0; i < 3; i++) /* 39 octets each */
        strcat(a.service, "दाँतोंकीसफ़ाई");
    char email[128];
    for (int len = 1; len <= 160; len++) {
        memset(c.address, 'x', (size_t)len);
        c.address[len] = 0;
        int local = len % 100 + 1;
        memset(email, 'p', (size_t)local);
        snprintf(email + local, sizeof email - (size_t)local, "@example.com");
        char *s = invite(&c, &a, "रमेश कुमार", email, ICS_REQUEST, 0, TU_T(2026, 11, 1, 0, 0));
        assert_lines(s);
        icalcomponent *cal = parse(s);
        icalcomponent *ev = event_of(cal);
        assert_string_equal(icalcomponent_get_location(ev), c.address);
        char want[512];
        snprintf(want, sizeof want, "%s at %s", a.service, c.name);
        assert_string_equal(icalcomponent_get_summary(ev), want);
        snprintf(want, sizeof want, "mailto:%s", email);
        assert_string_equal(icalproperty_get_attendee(prop(ev, ICAL_ATTENDEE_PROPERTY)), want);
        icalcomponent_free(cal);
        free(s);
    }
}

/* Names with the characters iCalendar parameters cannot hold bare. */
static void names_round_trip(void **state)
{
    (void)state;
    nudge_clinic c = clinic(KOL);
    snprintf(c.name, sizeof c.name, "O'Neil: Dental, Care ^ \"Best\"");
    nudge_appointment a = appt(TU_T(2026, 12, 1, 4, 30), 30);
    const char *patient = "Dr. \"Ravi\" Kumar; Jr., रवि";
    char *s = invite(&c, &a, patient, "ravi@example.in", ICS_REQUEST, 0, TU_T(2026, 11, 1, 0, 0));
    assert_lines(s);
    icalcomponent *cal = parse(s);
    icalcomponent *ev = event_of(cal);
    icalproperty *att = prop(ev, ICAL_ATTENDEE_PROPERTY);
    assert_string_equal(icalparameter_get_cn(param(att, ICAL_CN_PARAMETER)), patient);
    icalproperty *org = prop(ev, ICAL_ORGANIZER_PROPERTY);
    assert_string_equal(icalparameter_get_cn(param(org, ICAL_CN_PARAMETER)), c.name);
    assert_string_equal(icalcomponent_get_summary(ev),
                        "दाँतों की सफ़ाई at O'Neil: Dental, Care ^ \"Best\"");
    icalcomponent_free(cal);
    free(s);
}

/* No clinic email: no ORGANIZER, UID at "nudge"; no address: no
 * LOCATION; no patient name: no CN. */
static void optional_parts_left_out(void **state)
{
    (void)state;
    nudge_clinic c = clinic(KOL);
    c.email[0] = 0;
    c.address[0] = 0;
    nudge_appointment a = appt(TU_T(2026, 12, 1, 4, 30), 30);
    a.id = 9001;
    char *s = invite(&c, &a, NULL, "asha@example.in", ICS_REQUEST, 0, TU_T(2026, 11, 1, 0, 0));
    icalcomponent *cal = parse(s);
    icalcomponent *ev = event_of(cal);
    assert_string_equal(icalcomponent_get_uid(ev), "appointment-9001@nudge");
    assert_null(icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY));
    assert_null(icalcomponent_get_first_property(ev, ICAL_LOCATION_PROPERTY));
    icalproperty *att = prop(ev, ICAL_ATTENDEE_PROPERTY);
    assert_null(icalproperty_get_first_parameter(att, ICAL_CN_PARAMETER));
    assert_string_equal(icalproperty_get_attendee(att), "mailto:asha@example.in");
    icalcomponent_free(cal);
    free(s);
}

/* A clinic on UTC gets UTC times and no VTIMEZONE. */
static void utc_clinic(void **state)
{
    (void)state;
    nudge_clinic c = clinic("UTC");
    nudge_appointment a = appt(TU_T(2026, 12, 1, 10, 0), 30);
    char *s = invite(&c, &a, "Ann", "ann@example.com", ICS_REQUEST, 0, TU_T(2026, 11, 1, 0, 0));
    icalcomponent *cal = parse(s);
    assert_int_equal(icalcomponent_count_components(cal, ICAL_VTIMEZONE_COMPONENT), 0);
    assert_when_utc(cal, ICAL_DTSTART_PROPERTY, a.start_at);
    assert_when_utc(cal, ICAL_DTEND_PROPERTY, a.start_at + 30 * 60);
    icalcomponent_free(cal);
    free(s);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    nudge_clinic good_c = clinic(KOL);
    nudge_appointment good_a = appt(TU_T(2026, 12, 1, 4, 30), 30);
    struct {
        const char *field;
        const char *tz, *email, *clinic_email, *service, *address, *name;
        int minutes, seq, method;
        int64_t id;
        int null_clinic;
    } cases[] = {
        {.field = "clinic", .null_clinic = 1},
        {.field = "timezone", .tz = "Mars/Olympus"},
        {.field = "patient_email", .email = ""},
        {.field = "patient_email", .email = "no-at-sign"},
        {.field = "patient_email", .email = "a b@example.com"},
        {.field = "patient_email", .email = "a@example.com\r\nBCC:x"},
        {.field = "email", .clinic_email = "front desk"},
        {.field = "service", .service = "bad \xff byte"},
        {.field = "service", .service = "overlong \xc0\xaf"},
        {.field = "address", .address = "esc \x1b[31m"},
        {.field = "patient_name", .name = "cut \xe0\xa4"},
        {.field = "duration_min", .minutes = -1},
        {.field = "sequence", .seq = -1},
        {.field = "method", .method = 7},
        {.field = "id", .id = -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nudge_clinic c = good_c;
        nudge_appointment a = good_a;
        if (cases[i].tz)
            snprintf(c.timezone, sizeof c.timezone, "%s", cases[i].tz);
        if (cases[i].clinic_email)
            snprintf(c.email, sizeof c.email, "%s", cases[i].clinic_email);
        if (cases[i].service)
            snprintf(a.service, sizeof a.service, "%s", cases[i].service);
        if (cases[i].address)
            snprintf(c.address, sizeof c.address, "%s", cases[i].address);
        if (cases[i].minutes)
            a.duration_min = cases[i].minutes;
        if (cases[i].id)
            a.id = cases[i].id;
        const char *email = cases[i].email ? cases[i].email : "ok@example.com";
        const char *name = cases[i].name ? cases[i].name : "Ok";
        nudge_err err = {0};
        char *s = ics_invite(cases[i].null_clinic ? NULL : &c, &a, name, email,
                             cases[i].method ? (ics_method)cases[i].method : ICS_REQUEST,
                             cases[i].seq, TU_T(2026, 11, 1, 0, 0), &err);
        if (s)
            fail_msg("case %zu (%s) was accepted", i, cases[i].field);
        assert_int_equal(err.code, NUDGE_EINVAL);
        assert_string_equal(err.field, cases[i].field);
        assert_true(err.msg[0] != 0);
    }
    /* NULL patient email, and the good inputs do pass. */
    nudge_err err = {0};
    assert_null(ics_invite(&good_c, &good_a, "Ok", NULL, ICS_REQUEST, 0, 0, &err));
    assert_string_equal(err.field, "patient_email");
    char *s = ics_invite(&good_c, &good_a, "Ok", "ok@example.com", ICS_REQUEST, 0, 0, &err);
    assert_non_null(s);
    free(s);
}

/* Invites built while other threads convert times through tz.c, in zones
 * none of them has loaded yet: no crash, no sanitizer report, and every
 * invite still names its own zone and instant. */
static const char *const thread_zones[] = {"Asia/Kathmandu", "Europe/Madrid",  "America/Lima",
                                           "Pacific/Auckland", "Africa/Cairo", "Asia/Karachi",
                                           "America/Halifax", "Europe/Helsinki"};

static void *invite_many(void *arg)
{
    const char *tz = arg;
    nudge_clinic c = clinic(tz);
    intptr_t bad = 0;
    for (int i = 0; i < 40; i++) {
        nudge_appointment a = appt(TU_T(2026, 1, 1, 9, 0) + (int64_t)i * 86400 * 9, 30);
        nudge_err err = {0};
        char *s = ics_invite(&c, &a, "Ann", "ann@example.com", ICS_REQUEST, i, a.start_at, &err);
        if (!s || !strstr(s, tz)) {
            bad++;
        } else {
            icalcomponent *cal = icalparser_parse_string(s);
            icalcomponent *ev = cal ? icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT)
                                    : NULL;
            if (!ev || icalproperty_get_sequence(icalcomponent_get_first_property(
                           ev, ICAL_SEQUENCE_PROPERTY)) != i)
                bad++;
            icalcomponent_free(cal);
        }
        free(s);
    }
    return (void *)bad;
}

static void *convert_many(void *arg)
{
    const char *tz = arg;
    intptr_t bad = 0;
    for (int64_t t = TU_T(1995, 1, 1, 0, 0); t < TU_T(2060, 1, 1, 0, 0); t += 86400 * 41 + 3607) {
        tz_local l;
        if (tz_to_local(t, tz, &l) < 0)
            bad++;
    }
    return (void *)bad;
}

static void threads_share_libical(void **state)
{
    (void)state;
    size_t n = sizeof thread_zones / sizeof thread_zones[0];
    pthread_t th[sizeof thread_zones / sizeof thread_zones[0]];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, i % 2 ? convert_many : invite_many,
                                        (void *)thread_zones[i]),
                         0);
    for (size_t i = 0; i < n; i++) {
        void *bad = NULL;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        if (bad)
            fail_msg("%s: %ld failures", thread_zones[i], (long)(intptr_t)bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_carries_the_visit),
        cmocka_unit_test(new_york_across_dst),
        cmocka_unit_test(new_york_repeated_hour),
        cmocka_unit_test(reschedule_and_cancel_keep_the_uid),
        cmocka_unit_test(long_values_fold_cleanly),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(optional_parts_left_out),
        cmocka_unit_test(utc_clinic),
        cmocka_unit_test(bad_input_is_refused),
        cmocka_unit_test(threads_share_libical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
