/*
 * demo.h: the demo clinic. demo_seed fills an empty database with a clinic,
 * patients and appointments around `now`; demo_replay runs three simulated
 * days in a scratch database (removed afterwards unless kept) and prints the timeline of every message.
 */
#ifndef NUDGE_DEMO_H
#define NUDGE_DEMO_H

#include <stdint.h>
#include <stdio.h>

#include "nudge.h"

/* *clinic_id gets the new clinic, or 0 when the database already had one. */
int demo_seed(nudge *n, int64_t now, int64_t *clinic_id, nudge_err *err);
/* keep: leave the scratch folder (database and outbox) for a look after. */
int demo_replay(FILE *out, int days, int keep, nudge_err *err);

#endif
