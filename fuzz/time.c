/*
 * fuzz/time.c: RFC 3339 and time-zone parsing (src/tz.c). The first byte
 * picks the zone a time without an offset is read in; the rest is parsed
 * as a time, as "HH:MM", and as a zone name (names reach libical's
 * zoneinfo lookup from API bodies). A time that parses is turned into
 * local time in every zone of the list, back, and into every form messages
 * use.
 */
#include "fuzz.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tz = fuzz_zones[fuzz_pick(&data, &size, FUZZ_NZONES)];
    char *s = fuzz_str(data, size);
    nudge_err err = {0};
    int64_t t;
    if (tz_parse(s, tz, &t, "at", &err) == 0) {
        char buf[128];
        tz_format_rfc5322(t, buf, sizeof buf);
        for (size_t i = 1; i < FUZZ_NZONES; i++) { /* the instant in every zone, and back */
            const char *zone = fuzz_zones[i];
            tz_local l;
            int64_t back;
            if (tz_to_local(t, zone, &l) == 0)
                tz_from_local(&l, zone, &back);
            tz_format_rfc3339(t, zone, buf, sizeof buf);
            tz_format_date(t, zone, "hi", buf, sizeof buf);
            tz_format_time(t, zone, "en", buf, sizeof buf);
        }
    }
    int minutes;
    tz_parse_hhmm(s, &minutes);
    if (tz_valid(s)) {
        tz_local l;
        tz_to_local(0, s, &l);
    }
    free(s);
    return 0;
}
