/*
 * tz.h: time zones and the textual forms of time. Storage is UTC seconds;
 * these functions convert to and from a clinic's or patient's IANA zone
 * (via libical and the system zoneinfo, so DST is correct) and format dates
 * and times in the patient's language.
 */
#ifndef NUDGE_TZ_H
#define NUDGE_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "nudge.h"

/* Broken-down local time. */
typedef struct tz_local {
    int year, month, day;    /* month 1-12 */
    int hour, minute, second;
    int wday;                /* 0 = Sunday */
    int offset;              /* seconds east of UTC in force at that instant */
} tz_local;

int tz_valid(const char *tzid); /* 1 if a known IANA zone */
/* UTC instant -> wall time in tzid. */
int tz_to_local(int64_t t, const char *tzid, tz_local *out);
/* Wall time in tzid -> UTC instant. A time that does not exist (spring
 * forward gap) moves forward by the gap; an ambiguous one takes the first. */
int tz_from_local(const tz_local *l, const char *tzid, int64_t *out);

/* Parses RFC 3339 ("2026-12-01T10:00:00+05:30", "...Z", fractional seconds
 * ignored). A time without an offset ("2026-12-01T10:00[:00]" or with a space
 * instead of T) is wall time in `tzid`; with tzid NULL it is an error.
 * Errors name `field`. */
int tz_parse(const char *s, const char *tzid, int64_t *out, const char *field, nudge_err *err);
/* "2026-12-01T10:00:00+05:30" in tzid ("Z" for UTC). buf >= 32. */
void tz_format_rfc3339(int64_t t, const char *tzid, char *buf, size_t n);
/* Parses "HH:MM" into minutes after midnight. */
int tz_parse_hhmm(const char *s, int *minutes);

/* Date and time for messages, in the language (fallback English):
 * en: "15-Jan-2024", "10:00 AM"; hi: "15 जनवरी 2024", "सुबह 10:00". */
void tz_format_date(int64_t t, const char *tzid, const char *lang, char *buf, size_t n);
void tz_format_time(int64_t t, const char *tzid, const char *lang, char *buf, size_t n);
/* RFC 5322 Date header value in UTC: "Tue, 24 Nov 2026 14:27:47 +0000". */
void tz_format_rfc5322(int64_t t, char *buf, size_t n);

#endif
