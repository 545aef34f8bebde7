/*
 * fuzz/codec.c: the JSON request decoders of every resource. The API's
 * bodies are decoded by walking a record's table (src/http/codec.c over
 * the tables of src/record.c), so one harness covers every resource: the
 * first byte picks a table, or the direct-message or preview body, and
 * whether it is a create or a PATCH; the rest is the body, refused when
 * nested too deep as the server does, parsed as the server parses it. A
 * decoded record is encoded back (the answer's path).
 */
#include "fuzz.h"
#include "http/codec.h"

static const struct {
    const nudge_field *fields;
    size_t size;
} fuzz_tables[] = {
    {nudge_clinic_fields, sizeof(nudge_clinic)},
    {nudge_patient_fields, sizeof(nudge_patient)},
    {nudge_appointment_fields, sizeof(nudge_appointment)},
    {nudge_reminder_fields, sizeof(nudge_reminder)},
    {nudge_notification_fields, sizeof(nudge_notification)},
    {nudge_attempt_fields, sizeof(nudge_attempt)},
    {nudge_delivery_event_fields, sizeof(nudge_delivery_event)},
    {nudge_key_fields, sizeof(nudge_key)},
    {nudge_template_fields, sizeof(nudge_template)},
    {nudge_audit_fields, sizeof(nudge_audit)},
};
#define FUZZ_NTABLES (sizeof fuzz_tables / sizeof *fuzz_tables)

/* The record's owned strings (NUDGE_T_STR), found by its table. */
static void fuzz_release(const nudge_field *fs, void *rec)
{
    for (const nudge_field *f = fs; f->name; f++)
        if (f->type == NUDGE_T_STR) {
            char **p = (char **)((char *)rec + f->offset);
            free(*p);
            *p = NULL;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned pick = fuzz_pick(&data, &size, 2 * FUZZ_NTABLES + 2);
    if (!codec_depth_ok((const char *)data, size, 32))
        return 0;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    nudge_err err = {0};
    nudge_vars vars = {0};
    if (pick < 2 * FUZZ_NTABLES) {
        const nudge_field *fs = fuzz_tables[pick / 2].fields;
        size_t sz = fuzz_tables[pick / 2].size;
        void *rec = calloc(1, sz);
        if (!rec)
            abort();
        if (codec_in(fs, j, "Asia/Kolkata", rec, sz, (int)(pick % 2), &err) == 0)
            json_decref(codec_out(fs, rec, "America/New_York"));
        fuzz_release(fs, rec);
        free(rec);
    } else if (pick == 2 * FUZZ_NTABLES) {
        nudge_send s = {0};
        codec_send_in(j, "Asia/Kolkata", &s, &vars, &err);
    } else {
        const char *channel = "sms";
        codec_render_in(j, &vars, &channel, &err);
    }
    nudge_vars_free(&vars);
    json_decref(j);
    return 0;
}
