/*
 * tz.c: conversions between UTC seconds and wall time in IANA zones, and the
 * textual forms of time (RFC 3339 input/output, message dates in English and
 * Hindi, RFC 5322 headers). Zone rules come from libical, which reads the
 * system zoneinfo, so DST follows tzdata updates without a rebuild. Calendar
 * arithmetic is done here in plain integers: it is exact for every year and
 * keeps libical's time_t and struct tm conventions out of the picture.
 *
 * Nothing here reads the system clock; every function is a pure conversion.
 *
 * Offsets come from a cache, not from libical on every call: the first use
 * of a zone reads its transitions from libical once (under tz_lock) into a
 * sorted table for 1900-2100, published in a lock-free hash table; every
 * later conversion is a binary search with no lock and no libical call (a
 * list of 50 rows formats 50 times). Instants past 2100 map into the table
 * by tz_near_year; before 1900 (rare) libical answers under the lock.
 */
#include "tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libical/ical.h>

#include "util.h"

/* Years 0001-9999: what RFC 3339 can write and libical can expand. */
#define TZ_MIN_T (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TZ_MAX_T 253402300799LL   /* 9999-12-31T23:59:59Z */
#define TZ_DAY 86400

/*
 * libical loads a builtin zone on first use into a process-wide cache and
 * grows each zone's table of transitions lazily as later years are asked
 * for. Only libical builds with pthread support lock these (Debian's 3.0
 * does; builds without it and older releases do not), so every call into
 * libical's zone code runs under this lock too, not only the lookup.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms) ---- */

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = tz_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void tz_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = tz_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int tz_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int tz_month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && tz_leap(y) ? 29 : days[m - 1];
}

/* Fills the calendar fields of l for `local` seconds (UTC-like count). */
static void tz_split(int64_t local, int offset, tz_local *l)
{
    int64_t days = tz_floor_div(local, TZ_DAY);
    int64_t sod = local - days * TZ_DAY;
    tz_civil_from_days(days, &l->year, &l->month, &l->day);
    l->hour = (int)(sod / 3600);
    l->minute = (int)(sod / 60 % 60);
    l->second = (int)(sod % 60);
    l->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    l->offset = offset;
}

static int64_t tz_clamp(int64_t t)
{
    return t < TZ_MIN_T ? TZ_MIN_T : t > TZ_MAX_T ? TZ_MAX_T : t;
}

/* ---- zones ---- */

static int tz_is_utc(const char *tzid)
{
    return !strcmp(tzid, "UTC") || !strcmp(tzid, "Etc/UTC");
}

/*
 * libical falls back to opening any file under the zoneinfo directory by the
 * name it is given. Names come from API clients, so only the shape of an
 * IANA name is let through: no path tricks, and none of the files that are
 * not zones of a place (the host's own "localtime", leap-second "right/").
 */
static int tz_name_ok(const char *tzid)
{
    size_t len = strlen(tzid);
    if (len == 0 || len > 63 || tzid[0] == '/' || tzid[len - 1] == '/')
        return 0;
    for (const char *p = tzid; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
        if (c == '/' && p[1] == '/')
            return 0;
    }
    static const char *const banned[] = {"localtime", "posixrules", "Factory"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (!strcmp(tzid, banned[i]))
            return 0;
    return strncmp(tzid, "posix/", 6) != 0 && strncmp(tzid, "right/", 6) != 0;
}

/* Caller holds tz_lock. NULL for an unknown zone. */
static icaltimezone *tz_zone_locked(const char *tzid)
{
    if (!tzid)
        return NULL;
    if (tz_is_utc(tzid))
        return icaltimezone_get_utc_timezone();
    if (!tz_name_ok(tzid))
        return NULL;
    return icaltimezone_get_builtin_timezone(tzid);
}

/*
 * An instant after 2100 as the same moment of the year in 2038-2065 that
 * has the same calendar (leap or not, the weekday of 1 January). Past its
 * last transition a zone follows one annual rule (zoneinfo's last rule,
 * stated by month, weekday and day), so the offset is the same; libical
 * recomputes a far year's changes from the rule's start on every call:
 * 0.4 s for a wall time in 4052, over 10 s under ASan, holding tz_lock
 * (found by fuzz/time.c; kept in fuzz/corpus/time/far_year*).
 */
static int64_t tz_near_year(int64_t t)
{
    const int64_t near_end = 4102444800LL; /* 2100-01-01T00:00:00Z */
    if (t < near_end)
        return t;
    tz_local u;
    tz_split(t, 0, &u);
    int leap = (u.year % 4 == 0 && u.year % 100 != 0) || u.year % 400 == 0;
    int64_t jan1 = tz_days_from_civil(u.year, 1, 1);
    for (int y = 2038; y < 2066; y++) { /* 28 years with no skipped leap day hold all 14 */
        int64_t d = tz_days_from_civil(y, 1, 1);
        if ((y % 4 == 0) == leap && ((d - jan1) % 7 + 7) % 7 == 0)
            return t - (jan1 - d) * TZ_DAY;
    }
    return t;
}

/*
 * Offset east of UTC at instant t in zone z. Caller holds tz_lock.
 * libical 3.0 misreads zoneinfo for a few zones with irregular rules
 * (Asia/Jerusalem and Asia/Tehran in some past years, America/St_Johns
 * summers after 2037). Every transition of 2000-2100 in the zones of the
 * countries phone.c knows was checked against Python's zoneinfo and agrees.
 */
static int tz_offset_locked(icaltimezone *z, int64_t t)
{
    if (z == icaltimezone_get_utc_timezone())
        return 0;
    t = tz_near_year(tz_clamp(t));
    tz_local u;
    tz_split(t, 0, &u);
    struct icaltimetype tt = icaltime_null_time();
    tt.year = u.year;
    tt.month = u.month;
    tt.day = u.day;
    tt.hour = u.hour;
    tt.minute = u.minute;
    tt.second = u.second;
    tt.is_date = 0;
    tt.zone = icaltimezone_get_utc_timezone();
    int is_daylight = 0;
    return icaltimezone_get_utc_offset_of_utc_time(z, &tt, &is_daylight);
}

/* ---- the zone cache ---- */

#define TZ_TABLE_FROM (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define TZ_TABLE_TO 4102444800LL      /* 2100-01-01: tz_near_year maps later instants below */
#define TZ_SLOTS 4096                 /* power of two; zoneinfo has about 600 names */

/* One zone's offsets on [TZ_TABLE_FROM, TZ_TABLE_TO): off[i] from at[i]
 * to at[i + 1]. Written once before it is published, never changed or
 * freed after, so readers need no lock. */
typedef struct tz_zone {
    icaltimezone *z; /* for instants before the table, under tz_lock */
    int utc;
    int n;
    int64_t *at;
    int *off;
    struct tz_zone *more; /* the overflow list, should the table ever fill */
    char name[64];
} tz_zone;

static _Atomic(tz_zone *) tz_slots[TZ_SLOTS];
static tz_zone *tz_overflow; /* under tz_lock */
static tz_zone tz_utc_zone = {.utc = 1, .name = "UTC"};

static unsigned tz_hash(const char *tzid)
{
    unsigned h = 2166136261u;
    for (const char *p = tzid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

/* The published zone named tzid, or NULL; lock-free. */
static tz_zone *tz_cached(const char *tzid, unsigned h)
{
    for (unsigned i = 0; i < TZ_SLOTS; i++) {
        tz_zone *c = atomic_load_explicit(&tz_slots[(h + i) & (TZ_SLOTS - 1)],
                                          memory_order_acquire);
        if (!c || !strcmp(c->name, tzid))
            return c;
    }
    return NULL;
}

/* Appends a change (at, off) to c's table, growing it. */
static int tz_table_add(tz_zone *c, int *cap, int64_t at, int off)
{
    if (c->n && c->off[c->n - 1] == off)
        return 0;
    if (c->n == *cap) {
        int ncap = *cap ? *cap * 2 : 64;
        int64_t *a = realloc(c->at, (size_t)ncap * sizeof *a);
        if (a)
            c->at = a;
        int *o = a ? realloc(c->off, (size_t)ncap * sizeof *o) : NULL;
        if (!o)
            return -1;
        c->off = o;
        *cap = ncap;
    }
    c->at[c->n] = at;
    c->off[c->n++] = off;
    return 0;
}

/* The first instant in (lo, hi] whose offset is not lo's; the offset
 * changes once there. Caller holds tz_lock. */
static int64_t tz_bisect_locked(icaltimezone *z, int64_t lo, int64_t hi)
{
    int was = tz_offset_locked(z, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tz_offset_locked(z, mid) == was)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Every change up to lim of what libical's offset says, found near cand
 * (a change libical's dump names) and checked there: the dump and the
 * offset libical computes can disagree for the zones it misreads (see
 * tz_offset_locked), and the offset is what nudge has always used. A
 * change the dump left out is found between the previous entry and cand,
 * one change per interval (zones never change twice within a day). */
static int tz_table_seek_locked(tz_zone *c, int *cap, int64_t cand)
{
    int64_t last = c->at[c->n - 1];
    int cur = c->off[c->n - 1];
    int before = tz_offset_locked(c->z, cand - 1), after = tz_offset_locked(c->z, cand);
    if (before == cur && after != before)
        return tz_table_add(c, cap, cand, after); /* the dump was exact: the usual case */
    int64_t lo = cand - TZ_DAY > last ? cand - TZ_DAY : last;
    if (tz_offset_locked(c->z, lo) != cur) {
        int64_t at = tz_bisect_locked(c->z, last, lo);
        if (tz_table_add(c, cap, at, tz_offset_locked(c->z, at)))
            return -1;
    }
    int64_t hi = cand + TZ_DAY < TZ_TABLE_TO - 1 ? cand + TZ_DAY : TZ_TABLE_TO - 1;
    if (hi > lo && tz_offset_locked(c->z, hi) != tz_offset_locked(c->z, lo)) {
        int64_t at = tz_bisect_locked(c->z, lo, hi);
        return tz_table_add(c, cap, at, tz_offset_locked(c->z, at));
    }
    return 0;
}

/* libical's changes of z as "Zone\tDD Mon YYYY\tHH:MM:SS\t+HHMM[SS]" lines
 * (the instant in UTC, the offset after it) into c's table. */
static int tz_table_build_locked(tz_zone *c)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char *dump = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dump, &len);
    if (!f)
        return -1;
    int cap = 0, rc = tz_table_add(c, &cap, TZ_TABLE_FROM, tz_offset_locked(c->z, TZ_TABLE_FROM));
    /* Changes up to max_year: 2100 covers the table. */
    icaltimezone_dump_changes(c->z, 2100, f);
    fclose(f);
    for (char *line = dump, *next; !rc && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        const char *tab = strchr(line, '\t');
        int d, y, h, mi, sec;
        char mon[4];
        if (!tab || sscanf(tab + 1, "%d %3s %d %d:%d:%d", &d, mon, &y, &h, &mi, &sec) != 6)
            continue;
        const char *m = strstr(months, mon);
        if (!m || (m - months) % 3)
            continue;
        int64_t at = tz_days_from_civil(y, (int)(m - months) / 3 + 1, d) * TZ_DAY + h * 3600 +
                     mi * 60 + sec;
        if (at > TZ_TABLE_FROM && at < TZ_TABLE_TO)
            rc = tz_table_seek_locked(c, &cap, at);
    }
    free(dump);
    return rc ? rc : tz_table_seek_locked(c, &cap, TZ_TABLE_TO - 1);
}

/* The zone named tzid, its table built and published on first use; NULL
 * for a name that is not a zone (not cached: names come from clients). */
static const tz_zone *tz_zone_get(const char *tzid)
{
    if (!tzid)
        return NULL;
    if (tz_is_utc(tzid))
        return &tz_utc_zone;
    unsigned h = tz_hash(tzid);
    tz_zone *c = tz_cached(tzid, h);
    if (c)
        return c;
    pthread_mutex_lock(&tz_lock);
    if ((c = tz_cached(tzid, h)))
        goto out;
    for (c = tz_overflow; c && strcmp(c->name, tzid); c = c->more)
        ;
    if (c)
        goto out;
    icaltimezone *z = tz_zone_locked(tzid);
    if (!z || !(c = calloc(1, sizeof *c)))
        goto out;
    c->z = z;
    snprintf(c->name, sizeof c->name, "%s", tzid); /* tz_name_ok: at most 63 bytes */
    if (tz_table_build_locked(c)) {
        free(c->at);
        free(c->off);
        free(c);
        c = NULL;
        goto out;
    }
    for (unsigned i = 0; i < TZ_SLOTS; i++) {
        _Atomic(tz_zone *) *slot = &tz_slots[(h + i) & (TZ_SLOTS - 1)];
        if (!atomic_load_explicit(slot, memory_order_relaxed)) {
            atomic_store_explicit(slot, c, memory_order_release);
            goto out;
        }
    }
    c->more = tz_overflow;
    tz_overflow = c;
out:
    pthread_mutex_unlock(&tz_lock);
    return c;
}

/* Offset east of UTC at instant t in zone c. */
static int tz_zone_offset(const tz_zone *c, int64_t t)
{
    if (c->utc)
        return 0;
    t = tz_near_year(tz_clamp(t));
    if (t < c->at[0]) {
        pthread_mutex_lock(&tz_lock);
        int off = tz_offset_locked(c->z, t);
        pthread_mutex_unlock(&tz_lock);
        return off;
    }
    int lo = 0, hi = c->n; /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (c->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return c->off[lo];
}

int tz_valid(const char *tzid)
{
    return tz_zone_get(tzid) != NULL;
}

/* Callers use the result without checking (quiet hours, template dates), so
 * a failure still leaves a defined value behind: the UTC wall time. */
int tz_to_local(int64_t t, const char *tzid, tz_local *out)
{
    int rc = 0, off = 0;
    if (t < TZ_MIN_T || t > TZ_MAX_T) {
        rc = -1;
        t = tz_clamp(t);
    }
    const tz_zone *z = tz_zone_get(tzid);
    if (z)
        off = tz_zone_offset(z, t);
    else
        rc = -1;
    tz_split(t + off, off, out);
    return rc;
}

/*
 * Wall time N is some instant u with u + off(u) = N. Any u lies within a day
 * of N, so the offsets in force around N are the only candidates: each one
 * that reproduces itself is a solution. Two solutions mean an overlap (take
 * the earlier instant, the first time the clock shows N); none means a gap,
 * where reading N with the offset from before the change lands just as far
 * past the change as N is into the gap. Zones never change twice within a
 * day, which is what makes five samples enough.
 */
static int tz_resolve_in(const tz_zone *z, int64_t n, int64_t *out)
{
    static const int64_t probe[] = {-TZ_DAY, -TZ_DAY / 2, 0, TZ_DAY / 2, TZ_DAY};
    int64_t best = 0, gap = 0;
    int found = 0, have_gap = 0;
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        int o = tz_zone_offset(z, n + probe[i]);
        int64_t u = n - o;
        int ou = tz_zone_offset(z, u);
        if (ou == o) {
            if (!found || u < best)
                best = u;
            found = 1;
        } else if (ou > o && (!have_gap || u < gap)) {
            gap = u; /* o is the offset from before a spring-forward change */
            have_gap = 1;
        }
    }
    if (found)
        *out = best;
    else if (have_gap)
        *out = gap;
    else
        *out = n - tz_zone_offset(z, n);
    return 0;
}

static int tz_resolve(int64_t n, const char *tzid, int64_t *out)
{
    const tz_zone *z = tz_zone_get(tzid);
    if (z)
        tz_resolve_in(z, n, out);
    if (!z) {
        *out = n;
        return -1;
    }
    return 0;
}

/*
 * Fields out of range carry over as with timegm() (day 32 of January is
 * 1 February), so callers can step wall time by editing a field. wday and
 * offset are ignored: the zone's rules decide the offset.
 */
int tz_from_local(const tz_local *l, const char *tzid, int64_t *out)
{
    const int lim = 1000000; /* keeps the arithmetic far from overflow */
    if (!l || l->year < -lim || l->year > lim || l->month < -lim || l->month > lim ||
        l->day < -lim || l->day > lim || l->hour < -lim || l->hour > lim ||
        l->minute < -lim || l->minute > lim || l->second < -lim || l->second > lim) {
        *out = 0;
        return -1;
    }
    int64_t mon0 = (int64_t)l->month - 1;
    int64_t y = l->year + tz_floor_div(mon0, 12);
    int m = (int)(mon0 - tz_floor_div(mon0, 12) * 12) + 1;
    int64_t n = (tz_days_from_civil(y, m, 1) + l->day - 1) * TZ_DAY + (int64_t)l->hour * 3600 +
                (int64_t)l->minute * 60 + l->second;
    /* A day's margin: a wall time near the ends may still land inside. */
    if (n < TZ_MIN_T + TZ_DAY || n > TZ_MAX_T - TZ_DAY) {
        *out = n;
        return -1;
    }
    return tz_resolve(n, tzid, out);
}

/* ---- RFC 3339 ---- */

#define TZ_EXAMPLE "2026-12-01T10:00:00+05:30"
#define TZ_SEE " (form: " TZ_EXAMPLE ")"

/* Reads exactly `len` digits at *p, advancing it; -1 if they are not digits. */
static int tz_digits(const char **p, int len)
{
    int v = 0;
    for (int i = 0; i < len; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += len;
    return v;
}

static int tz_bad_form(const char *s, const char *tzid, const char *field, nudge_err *err)
{
    const char *f = field ? field : "time";
    if (tzid)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s must be an RFC 3339 time such as " TZ_EXAMPLE
                       " or a local time such as 2026-12-01T10:00 (got \"%.40s\")",
                       f, s);
    return err_set(err, NUDGE_EINVAL, field,
                   "%s must be an RFC 3339 time such as " TZ_EXAMPLE " (got \"%.40s\")", f, s);
}

int tz_parse(const char *s, const char *tzid, int64_t *out, const char *field, nudge_err *err)
{
    const char *f = field ? field : "time";
    if (!s || !*s)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s is required: expected an RFC 3339 time such as " TZ_EXAMPLE, f);
    const char *p = s;
    int year = tz_digits(&p, 4);
    if (year < 0 || *p++ != '-')
        return tz_bad_form(s, tzid, field, err);
    int month = tz_digits(&p, 2);
    if (month < 0 || *p++ != '-')
        return tz_bad_form(s, tzid, field, err);
    int day = tz_digits(&p, 2);
    if (day < 0 || (*p != 'T' && *p != 't' && *p != ' '))
        return tz_bad_form(s, tzid, field, err);
    p++;
    int hour = tz_digits(&p, 2);
    if (hour < 0 || *p++ != ':')
        return tz_bad_form(s, tzid, field, err);
    int minute = tz_digits(&p, 2);
    if (minute < 0)
        return tz_bad_form(s, tzid, field, err);
    int second = 0, has_seconds = 0;
    if (*p == ':') {
        p++;
        second = tz_digits(&p, 2);
        if (second < 0)
            return tz_bad_form(s, tzid, field, err);
        has_seconds = 1;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return tz_bad_form(s, tzid, field, err);
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    int has_offset = 0, offset = 0;
    if (*p == 'Z' || *p == 'z') {
        has_offset = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = tz_digits(&p, 2);
        if (oh < 0 || *p++ != ':')
            return tz_bad_form(s, tzid, field, err);
        int om = tz_digits(&p, 2);
        if (om < 0)
            return tz_bad_form(s, tzid, field, err);
        if (oh > 23 || om > 59)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s has an invalid UTC offset in \"%.40s\": hours 00-23, "
                           "minutes 00-59" TZ_SEE,
                           f, s);
        has_offset = 1;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return tz_bad_form(s, tzid, field, err);
    /* RFC 3339 needs seconds once an offset is given; the local form may omit them. */
    if (has_offset && !has_seconds)
        return tz_bad_form(s, tzid, field, err);

    if (year < 1)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s has an invalid year in \"%.40s\": expected 0001-9999" TZ_SEE, f, s);
    if (month < 1 || month > 12)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s has an invalid month in \"%.40s\": expected 01-12" TZ_SEE, f, s);
    if (day < 1 || day > tz_month_days(year, month))
        return err_set(err, NUDGE_EINVAL, field,
                       "%s has an invalid day in \"%.40s\": %04d-%02d has %d days" TZ_SEE, f,
                       s, year, month, tz_month_days(year, month));
    if (hour > 23 || minute > 59 || second > 60)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s has an invalid time of day in \"%.40s\": expected "
                       "00:00:00-23:59:60" TZ_SEE,
                       f, s);
    /* Epoch seconds have no leap seconds; :60 stays inside its minute (and day). */
    if (second == 60)
        second = 59;

    int64_t n = tz_days_from_civil(year, month, day) * TZ_DAY + hour * 3600 + minute * 60 + second;
    if (has_offset) {
        *out = n - offset;
        return 0;
    }
    if (!tzid)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s needs a UTC offset, such as " TZ_EXAMPLE " or Z (got \"%.40s\")", f,
                       s);
    if (tz_resolve(n, tzid, out) < 0)
        return err_set(err, NUDGE_EINVAL, field,
                       "%s is a local time but time zone \"%.64s\" is not known", f, tzid);
    return 0;
}

/* v (0 <= v < 10^width) in width digits, zero-padded; the end returned. */
static char *tz_put_digits(char *w, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        w[i] = (char)('0' + v % 10);
    return w + width;
}

static void tz_local_or_utc(int64_t t, const char *tzid, tz_local *l)
{
    if (!tzid || tz_to_local(t, tzid, l) < 0)
        tz_split(tz_clamp(t), 0, l);
}

void tz_format_rfc3339(int64_t t, const char *tzid, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    tz_local l;
    tz_local_or_utc(t, tzid, &l);
    /* A zone that merely sits at +00:00 (London in winter) is not UTC. */
    int zoned = tzid && !tz_is_utc(tzid) && tz_valid(tzid);
    if (l.year < 0 || l.year > 9999) { /* not on the API's hot path: printf's widths */
        char off[8] = "Z";
        int a = l.offset < 0 ? -l.offset : l.offset;
        if (zoned)
            snprintf(off, sizeof off, "%c%02d:%02d", l.offset < 0 ? '-' : '+', a / 3600 % 100,
                     a / 60 % 60);
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%s", l.year, l.month, l.day, l.hour,
                 l.minute, l.second, off);
        return;
    }
    /* Every time of an API answer comes through here (a page of 50 has
     * 100 or more): written digit by digit, as printf's "%04d-%02d..."
     * would, without its format parsing. */
    char s[32], *w = s;
    w = tz_put_digits(w, l.year, 4);
    *w++ = '-';
    w = tz_put_digits(w, l.month, 2);
    *w++ = '-';
    w = tz_put_digits(w, l.day, 2);
    *w++ = 'T';
    w = tz_put_digits(w, l.hour, 2);
    *w++ = ':';
    w = tz_put_digits(w, l.minute, 2);
    *w++ = ':';
    w = tz_put_digits(w, l.second, 2);
    if (zoned) {
        int a = l.offset < 0 ? -l.offset : l.offset;
        *w++ = l.offset < 0 ? '-' : '+';
        w = tz_put_digits(w, a / 3600 % 100, 2);
        *w++ = ':';
        w = tz_put_digits(w, a / 60 % 60, 2);
    } else {
        *w++ = 'Z';
    }
    size_t len = (size_t)(w - s) < n - 1 ? (size_t)(w - s) : n - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
}

int tz_parse_hhmm(const char *s, int *minutes)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    const char *p = s;
    int h = tz_digits(&p, 2);
    p++;
    int m = tz_digits(&p, 2);
    if (h < 0 || m < 0 || h > 23 || m > 59)
        return -1;
    if (minutes)
        *minutes = h * 60 + m;
    return 0;
}

/* ---- message formats ---- */

/* "hi", "hi-IN", "hi_IN" (any case) are Hindi; everything else English. */
static int tz_lang_hi(const char *lang)
{
    return lang && tolower((unsigned char)lang[0]) == 'h' &&
           tolower((unsigned char)lang[1]) == 'i' &&
           (lang[2] == 0 || lang[2] == '-' || lang[2] == '_');
}

static const char *const tz_month_en[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const tz_month_hi[12] = {
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
    "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"};
static const char *const tz_wday_en[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

void tz_format_date(int64_t t, const char *tzid, const char *lang, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    tz_local l;
    tz_local_or_utc(t, tzid, &l);
    if (tz_lang_hi(lang))
        snprintf(buf, n, "%d %s %d", l.day, tz_month_hi[l.month - 1], l.year);
    else
        snprintf(buf, n, "%02d-%s-%04d", l.day, tz_month_en[l.month - 1], l.year);
}

void tz_format_time(int64_t t, const char *tzid, const char *lang, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    tz_local l;
    tz_local_or_utc(t, tzid, &l);
    int h12 = l.hour % 12 == 0 ? 12 : l.hour % 12;
    if (tz_lang_hi(lang)) {
        /* The day part carries what AM/PM does in English, and more. */
        const char *part = l.hour >= 4 && l.hour < 12    ? "सुबह"
                           : l.hour >= 12 && l.hour < 16 ? "दोपहर"
                           : l.hour >= 16 && l.hour < 20 ? "शाम"
                                                         : "रात";
        snprintf(buf, n, "%s %d:%02d", part, h12, l.minute);
    } else {
        snprintf(buf, n, "%02d:%02d %s", h12, l.minute, l.hour < 12 ? "AM" : "PM");
    }
}

void tz_format_rfc5322(int64_t t, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    tz_local l;
    tz_split(tz_clamp(t), 0, &l);
    snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", tz_wday_en[l.wday], l.day,
             tz_month_en[l.month - 1], l.year, l.hour, l.minute, l.second);
}

/* ---- the public time calls (nudge.h), for front ends ---- */

int nudge_time_parse(const char *s, const char *zone, int64_t *out, const char *field,
                     nudge_err *err)
{
    return tz_parse(s, zone, out, field, err);
}

void nudge_time_format(int64_t t, const char *zone, char *buf, size_t n)
{
    tz_format_rfc3339(t, zone, buf, n);
}

int nudge_time_parse_hhmm(const char *s, int *minutes)
{
    return tz_parse_hhmm(s, minutes);
}
