/*
 * phone.h: phone numbers to E.164. Input as staff type it ("98765 43210",
 * "+91-98765-43210", "(415) 555-2671", "0044 20 7946 0958") with the clinic's
 * country as default; output "+919876543210". A number that cannot be a
 * valid number of its country is rejected with a reason naming the field.
 */
#ifndef NUDGE_PHONE_H
#define NUDGE_PHONE_H

#include <stddef.h>

#include "nudge.h"

/* out must hold 17 bytes ("+" and up to 15 digits). */
int phone_normalize(const char *in, const char *country, char *out, size_t n,
                    const char *field, nudge_err *err);
/* 1 if the ISO 3166 alpha-2 country code is one phone_normalize knows. */
int phone_country_known(const char *country);

#endif
