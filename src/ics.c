/*
 * ics.c: the iCalendar invitation (invite.ics) sent with appointment
 * emails: METHOD:REQUEST when a visit is booked or moved, METHOD:CANCEL
 * with the same UID when it is withdrawn, so the patient's calendar follows
 * the appointment without the patient doing anything. Built with libical
 * rather than by hand, so escaping, parameter quoting and line folding are
 * the library's; the few places where libical 3.0 gets them wrong are
 * repaired here and say so.
 *
 * Time zones: the wall times come from tz.c, the one place nudge turns
 * instants into local time. The VTIMEZONE that tells the client what those
 * wall times mean comes from libical's zone data for the same zone, so the
 * client applies the rules nudge used, DST included.
 *
 * Threads: tz.c keeps libical's process-wide zone cache behind its own
 * lock, and this file never touches that cache. The VTIMEZONE is built by
 * icaltzutil_fetch_timezone, the function libical's builtin zones are loaded
 * with when it reads the system zoneinfo (Debian's build does), into a
 * component this call alone owns. The only shared libical state it reads
 * (the zoneinfo directory, the TZID prefix, the UTC zone) is initialised
 * once by libical's zone code, which ics_invite has run through tz.c, under
 * tz.c's lock, before it gets here.
 */
#include "ics.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libical/ical.h>

#include "tz.h"
#include "util.h"

#define ICS_PRODID "-//nudge//Appointment invitations//EN"
/* How far before the visit the VTIMEZONE keeps its history: enough for any
 * client that looks at the days around it, without the century of past
 * rules (a few kilobytes per zone) libical starts from. */
#define ICS_TZ_HISTORY (366 * 86400LL)

/* Zones libical answers with its own UTC zone: times in them are written
 * with "Z" and need no VTIMEZONE (RFC 5545 3.3.5). */
static int ics_is_utc(const char *tzid)
{
    return !strcmp(tzid, "UTC") || !strcmp(tzid, "Etc/UTC") || !strcmp(tzid, "GMT");
}

/*
 * Valid UTF-8 without control characters other than tab and line breaks.
 * libical copies bytes as they are, so this is what keeps the invite a
 * valid text/calendar body; the other controls have no meaning in a
 * calendar and RFC 5545 forbids them in values.
 */
static int ics_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, min;
        size_t n;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            c &= 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            c &= 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            c &= 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) { /* stops at the NUL: it is no continuation byte */
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = c << 6 | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Enough of an address to put behind mailto: without breaking the line. */
static int ics_email_ok(const char *s)
{
    const char *at = s ? strrchr(s, '@') : NULL;
    if (!at || at == s || !at[1] || !ics_text_ok(s))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ')
            return 0;
    return 1;
}

static struct icaltimetype ics_time(const tz_local *l, int utc)
{
    struct icaltimetype t = icaltime_null_time();
    t.year = l->year;
    t.month = l->month;
    t.day = l->day;
    t.hour = l->hour;
    t.minute = l->minute;
    t.second = l->second;
    t.is_date = 0;
    /* The zone pointer is what makes libical write "Z"; local times stay
     * floating and get their TZID as a parameter. */
    t.zone = utc ? icaltimezone_get_utc_timezone() : NULL;
    return t;
}

/*
 * The VTIMEZONE for tzid, owned by the caller; NULL if libical cannot read
 * the zone. tz_to_local must have succeeded for tzid first (file comment).
 */
static icalcomponent *ics_vtimezone(const char *tzid, int64_t start)
{
    icalcomponent *vtz = icaltzutil_fetch_timezone(tzid);
    if (!vtz)
        return NULL;
    /* libical names its zones "/freeassociation.sourceforge.net/<IANA>".
     * Google and Apple recognise a bare IANA TZID and use their own data
     * for it; everyone else reads the rules below, which agree. */
    icalproperty *p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
    if (p)
        icalproperty_set_tzid(p, tzid);
    else
        icalcomponent_add_property(vtz, icalproperty_new_tzid(tzid));
    /* ms_compatible: libical then leaves the DTSTART of recurring rules
     * where it was, which by its own notes Outlook and Exchange need. */
    tz_local from;
    tz_to_local(start - ICS_TZ_HISTORY, "UTC", &from);
    icaltimezone_truncate_vtimezone(vtz, ics_time(&from, 1), icaltime_null_time(), 1);
    return vtz;
}

/*
 * libical 3.0's folding splits a property whose last segment is exactly 73
 * octets between its CR and LF ("...\r" "\r\n " "\n"), and may leave a
 * continuation line holding nothing but the line break. Both are mended
 * here; then every CR must start a CRLF and every LF end one, or the text
 * is refused rather than mailed half broken.
 */
static char *ics_render(icalcomponent *cal, nudge_err *err)
{
    char *raw = icalcomponent_as_ical_string_r(cal);
    if (!raw) {
        err_set(err, NUDGE_ENOMEM, NULL, "could not write the invitation");
        return NULL;
    }
    sbuf out = {0};
    const char *p = raw, *run = raw;
    while (*p) {
        if (!strncmp(p, "\r\r\n \n", 5)) {
            sbuf_add(&out, run, (size_t)(p - run));
            sbuf_add(&out, "\r\n", 2);
            p += 5;
            run = p;
        } else if (!strncmp(p, "\r\n \r\n", 5)) {
            sbuf_add(&out, run, (size_t)(p - run));
            p += 3; /* the fold goes; the line break after it stays */
            run = p;
        } else {
            p++;
        }
    }
    sbuf_add(&out, run, (size_t)(p - run));
    icalmemory_free_buffer(raw);

    char *s = sbuf_take(&out);
    for (size_t i = 0; s[i]; i++) {
        if ((s[i] == '\r' && s[i + 1] != '\n') || (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))) {
            free(s);
            err_set(err, NUDGE_EIO, NULL, "libical wrote a malformed line break at octet %zu", i);
            return NULL;
        }
    }
    return s;
}

/*
 * 1 if wall time l, shown at instant t, is shown at another instant too:
 * the hour repeated when DST ends. Like tz.c, this relies on no zone
 * changing its offset twice within a day.
 */
static int ics_ambiguous(int64_t t, const tz_local *l, const char *tzid)
{
    static const int64_t probe[] = {-86400, 86400};
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        tz_local o, w;
        tz_to_local(t + probe[i], tzid, &o);
        if (o.offset == l->offset)
            continue;
        /* The instant that shows the same wall time under the other offset. */
        tz_to_local(t + l->offset - o.offset, tzid, &w);
        if (w.offset == o.offset)
            return 1;
    }
    return 0;
}

/*
 * DTSTART or DTEND at instant t, whose wall time in tzid is l: local time
 * with TZID, so the client shows the clinic's clock. A wall time that
 * happens twice cannot be trusted to clients: RFC 5545 3.3.5 says it means
 * the first, libical 3.0 reads it as the second. Those are written in UTC.
 */
static icalproperty *ics_when(icalproperty_kind kind, int64_t t, const tz_local *l,
                              const char *tzid)
{
    int zoned = !ics_is_utc(tzid);
    tz_local u = *l;
    if (zoned && ics_ambiguous(t, l, tzid)) {
        zoned = 0;
        tz_to_local(t, "UTC", &u);
    }
    struct icaltimetype tt = ics_time(&u, !zoned);
    icalproperty *p = kind == ICAL_DTSTART_PROPERTY ? icalproperty_new_dtstart(tt)
                                                    : icalproperty_new_dtend(tt);
    if (zoned)
        icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
    return p;
}

static icalproperty *ics_address(icalproperty *p, const char *name)
{
    /* CN is a parameter: libical quotes it and encodes quotes and line
     * breaks per RFC 6868. */
    if (!str_blank(name))
        icalproperty_add_parameter(p, icalparameter_new_cn(name));
    return p;
}

char *ics_invite(const nudge_clinic *c, const nudge_appointment *a, const char *patient_name,
                 const char *patient_email, ics_method method, int sequence, int64_t now,
                 nudge_err *err)
{
    if (!c || !a) {
        err_set(err, NUDGE_EINVAL, c ? "appointment" : "clinic", "%s is required",
                c ? "the appointment" : "the clinic");
        return NULL;
    }
    if (method != ICS_REQUEST && method != ICS_CANCEL) {
        err_set(err, NUDGE_EINVAL, "method", "method must be REQUEST or CANCEL");
        return NULL;
    }
    if (a->id <= 0) {
        /* The UID is made of it: id 0 would be every unsaved visit at once. */
        err_set(err, NUDGE_EINVAL, "id", "the appointment must be stored (it has no id)");
        return NULL;
    }
    if (sequence < 0) {
        err_set(err, NUDGE_EINVAL, "sequence", "sequence must be 0 or more (got %d)", sequence);
        return NULL;
    }
    if (a->duration_min <= 0) {
        err_set(err, NUDGE_EINVAL, "duration_min", "duration_min must be positive (got %d)",
                a->duration_min);
        return NULL;
    }
    if (!ics_email_ok(patient_email)) {
        err_set(err, NUDGE_EINVAL, "patient_email",
                "an invitation needs the patient's email address (got \"%.64s\")",
                patient_email ? patient_email : "");
        return NULL;
    }
    int has_organizer = !str_blank(c->email);
    if (has_organizer && !ics_email_ok(c->email)) {
        err_set(err, NUDGE_EINVAL, "email", "the clinic's email \"%.64s\" is not an address",
                c->email);
        return NULL;
    }
    const struct {
        const char *field, *value;
    } texts[] = {{"name", c->name},
                 {"address", c->address},
                 {"service", a->service},
                 {"patient_name", patient_name ? patient_name : ""}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (!ics_text_ok(texts[i].value)) {
            err_set(err, NUDGE_EINVAL, texts[i].field,
                    "%s is not valid UTF-8 text (or holds control characters)", texts[i].field);
            return NULL;
        }

    /* tz_valid first: besides the check, it makes libical set up its zone
     * table under tz.c's lock before anything below reads it. */
    const char *tzid = c->timezone;
    if (!tz_valid(tzid)) {
        err_set(err, NUDGE_EINVAL, "timezone", "the clinic's time zone \"%.64s\" is not known",
                tzid);
        return NULL;
    }
    int utc = ics_is_utc(tzid);
    int64_t end_at = a->start_at + (int64_t)a->duration_min * 60;
    tz_local start, end, stamp;
    if (tz_to_local(a->start_at, tzid, &start) < 0 || tz_to_local(end_at, tzid, &end) < 0) {
        err_set(err, NUDGE_EINVAL, "start_at", "the appointment's time is out of range");
        return NULL;
    }
    if (tz_to_local(now, "UTC", &stamp) < 0) {
        err_set(err, NUDGE_EINVAL, "now", "now is out of range");
        return NULL;
    }

    icalcomponent *vtz = NULL;
    if (!utc && !(vtz = ics_vtimezone(tzid, a->start_at))) {
        err_set(err, NUDGE_EIO, "timezone", "libical could not read the rules of time zone %s",
                tzid);
        return NULL;
    }

    icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
    icalcomponent_add_property(cal, icalproperty_new_prodid(ICS_PRODID));
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
    icalcomponent_add_property(
        cal, icalproperty_new_method(method == ICS_CANCEL ? ICAL_METHOD_CANCEL
                                                          : ICAL_METHOD_REQUEST));
    if (vtz) /* before the event, for parsers that read in one pass */
        icalcomponent_add_component(cal, vtz);

    icalcomponent *ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
    icalcomponent_add_component(cal, ev);

    sbuf b = {0};
    const char *domain = has_organizer ? strrchr(c->email, '@') + 1 : "nudge";
    sbuf_printf(&b, "appointment-%lld@", (long long)a->id);
    for (const char *d = domain; *d; d++) { /* the same however the clinic spells it */
        char lower = (char)tolower((unsigned char)*d);
        sbuf_add(&b, &lower, 1);
    }
    icalcomponent_add_property(ev, icalproperty_new_uid(b.data));
    sbuf_free(&b);

    icalcomponent_add_property(ev, icalproperty_new_dtstamp(ics_time(&stamp, 1)));
    icalcomponent_add_property(ev, icalproperty_new_sequence(sequence));

    icalcomponent_add_property(ev, ics_when(ICAL_DTSTART_PROPERTY, a->start_at, &start, tzid));
    icalcomponent_add_property(ev, ics_when(ICAL_DTEND_PROPERTY, end_at, &end, tzid));

    const char *service = str_blank(a->service) ? "Appointment" : a->service;
    if (str_blank(c->name))
        sbuf_puts(&b, service);
    else
        sbuf_printf(&b, "%s at %s", service, c->name);
    icalcomponent_add_property(ev, icalproperty_new_summary(b.data));
    sbuf_free(&b);
    if (!str_blank(c->address))
        icalcomponent_add_property(ev, icalproperty_new_location(c->address));

    /* ORGANIZER is a calendar address (RFC 5545 3.8.4.3): a clinic without
     * email goes unnamed rather than with an address nobody reads. */
    if (has_organizer) {
        sbuf_printf(&b, "mailto:%s", c->email);
        icalcomponent_add_property(ev, ics_address(icalproperty_new_organizer(b.data), c->name));
        sbuf_free(&b);
    }

    /*
     * The patient answers nudge by SMS or WhatsApp, not with an iTIP REPLY
     * to the clinic's mailbox, where nobody would act on it: RSVP=FALSE
     * asks clients not to send one. PARTSTAT is the patient's own answer
     * (RFC 5545 3.2.12), so the sender leaves it at NEEDS-ACTION rather
     * than claim ACCEPTED; clients then offer their usual accept / add to
     * calendar control.
     */
    sbuf_printf(&b, "mailto:%s", patient_email);
    icalproperty *att = ics_address(icalproperty_new_attendee(b.data), patient_name);
    sbuf_free(&b);
    icalproperty_add_parameter(att, icalparameter_new_cutype(ICAL_CUTYPE_INDIVIDUAL));
    icalproperty_add_parameter(att, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
    icalproperty_add_parameter(att, icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
    icalproperty_add_parameter(att, icalparameter_new_rsvp(ICAL_RSVP_FALSE));
    icalcomponent_add_property(ev, att);

    icalcomponent_add_property(ev, icalproperty_new_status(method == ICS_CANCEL
                                                               ? ICAL_STATUS_CANCELLED
                                                               : ICAL_STATUS_CONFIRMED));

    char *text = ics_render(cal, err);
    icalcomponent_free(cal);
    return text;
}
