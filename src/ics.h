/*
 * ics.h: iCalendar invitations for appointments (RFC 5545 objects sent with
 * the RFC 5546 iTIP methods), attached to confirmation, reschedule and
 * cancellation emails as invite.ics so the visit lands in the patient's
 * calendar and moves or disappears with it.
 */
#ifndef NUDGE_ICS_H
#define NUDGE_ICS_H

#include <stdint.h>

#include "nudge.h"

typedef enum { ICS_REQUEST, ICS_CANCEL } ics_method;

/*
 * An invitation for appointment `a` of clinic `c`, as iCalendar text
 * (UTF-8, CRLF lines folded at 75 octets; caller frees), NULL on error.
 *
 * ICS_REQUEST books or moves the visit: sequence 0 for the booking, higher
 * for each reschedule. ICS_CANCEL withdraws it: same UID, STATUS:CANCELLED,
 * and a sequence above the last request's (RFC 5546 3.2.5), or clients may
 * ignore it. The UID is "appointment-<id>@<domain of the clinic's email>",
 * or "@nudge" when the clinic has none, so it stays the same for every
 * message about one appointment as long as the clinic's email domain does.
 *
 * The event is in the clinic's time zone with its VTIMEZONE included (UTC
 * clinics get UTC times and none). The clinic is the ORGANIZER when it has
 * an email address; the patient (patient_email required, patient_name may
 * be NULL) the one ATTENDEE. DTSTAMP is `now`; the system clock is never
 * read.
 */
char *ics_invite(const nudge_clinic *c, const nudge_appointment *a, const char *patient_name,
                 const char *patient_email, ics_method method, int sequence, int64_t now,
                 nudge_err *err);

#endif
