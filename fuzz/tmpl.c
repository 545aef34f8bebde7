/*
 * fuzz/tmpl.c: the template renderer (src/tmpl.c). The input up to a NUL
 * is the template; what follows is the value of every variable, so values
 * with braces, HTML and invalid UTF-8 meet placeholders of any shape. Each
 * template is checked, rendered as text and as HTML, and counted in SMS
 * segments.
 */
#include "fuzz.h"
#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = fuzz_str(data, size);
    size_t len = strlen(src);
    const char *value = len < size ? src + len + 1 : "";
    static const char *const names[] = {"patient_name", "service", "date", "time", "v", "a_b_1"};
    nudge_vars vars = {0};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        nudge_vars_set(&vars, names[i], value);
    nudge_err err = {0};
    tmpl_check(src, "body", &err);
    for (int html = 0; html <= 1; html++) {
        char *out = tmpl_render(src, &vars, html, &err);
        if (out) {
            int ucs2 = 0;
            tmpl_sms_segments(out, &ucs2);
            free(out);
        }
    }
    tmpl_sms_segments(src, NULL);
    nudge_vars_free(&vars);
    free(src);
    return 0;
}
