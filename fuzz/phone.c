/*
 * fuzz/phone.c: the phone normaliser (src/phone.c). The first two bytes
 * are the default country (any bytes: unknown countries are refused), the
 * rest the number as staff might type it.
 */
#include "fuzz.h"
#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char country[3] = {0};
    size_t k = size < 2 ? size : 2;
    memcpy(country, data, k);
    char *in = fuzz_str(data + k, size - k);
    char out[17];
    nudge_err err = {0};
    phone_country_known(country);
    if (phone_normalize(in, country, out, sizeof out, "phone", &err) == 0 &&
        (out[0] != '+' || strlen(out) > 16))
        abort(); /* the promise of phone.h: "+" and at most 15 digits */
    phone_normalize(in, "IN", out, sizeof out, "phone", &err);
    free(in);
    return 0;
}
