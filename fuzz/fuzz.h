/*
 * fuzz.h: what the libFuzzer harnesses (fuzz/NAME.c, one per parser) share.
 * Harnesses are test code: they call internal functions through the headers in src/.
 * Built by clang with -fsanitize=fuzzer,address,undefined (`make fuzz`,
 * tests/fuzz.sh); seed corpora in fuzz/corpus/<harness>/, where every crash
 * found is kept as a regression case.
 */
#ifndef NUDGE_FUZZ_H
#define NUDGE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input's bytes as a C string (a copy the caller frees): a C parser
 * sees text up to its first NUL, as the front ends hand it. */
static inline char *fuzz_str(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = 0;
    return s;
}

/* One byte taken from the front of the input to choose among choices (0
 * when the input is empty). */
static inline unsigned fuzz_pick(const uint8_t **d, size_t *n, unsigned choices)
{
    if (!*n)
        return 0;
    unsigned v = **d % choices;
    (*d)++, (*n)--;
    return v;
}

/* The zones the time harnesses choose from: no offset at all, UTC, a
 * half-hour zone, zones with DST gaps and overlaps, a 30-minute DST. */
static const char *const fuzz_zones[] = {NULL, "UTC", "Asia/Kolkata", "America/New_York",
                                         "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"};
#define FUZZ_NZONES (sizeof fuzz_zones / sizeof *fuzz_zones)

#endif
