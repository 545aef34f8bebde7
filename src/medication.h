/*
 * medication.h: the frequencies and durations clinicians write on a
 * prescription, read into dose times (medication.c). Pure: no store, no
 * clock; prescription.c turns a parsed item into dated doses.
 */
#ifndef NUDGE_MEDICATION_H
#define NUDGE_MEDICATION_H

#include "nudge.h"

#define MED_MAX_TIMES 12

typedef struct med_freq {
    char code[16];             /* canonical: OD BD TDS QID HS q6h weekly alternate SOS 1-0-1 */
    int ntimes;                /* doses on a dosing day; 0: as needed, no reminders */
    int times[MED_MAX_TIMES];  /* minutes after local midnight, ascending */
    int every_days;            /* 1 daily, 2 alternate days, 7 weekly */
    int once;                  /* a daily dose at no set hour: the patient's preferred time
                                  applies (OD, weekly, alternate days; not HS) */
} med_freq;

/* Reads a frequency ("BD", "b.i.d.", "q8h", "1-0-1", "once weekly", ...).
 * An unknown code is EINVAL on field, naming it and the accepted codes. */
int med_parse_frequency(const char *s, med_freq *out, const char *field, nudge_err *err);

/* Reads a duration ("5 days", "2 weeks", "1 month", "until review") into
 * days; "until review" is max_days and sets *until_review. */
int med_parse_duration(const char *s, int max_days, int *days, int *until_review,
                       const char *field, nudge_err *err);

#endif
