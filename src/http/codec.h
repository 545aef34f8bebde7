/*
 * codec.h: the JSON codec between the HTTP API and nudge's C records. It
 * owns the API's public JSON shapes and checks *shape* only: JSON types,
 * unknown and read-only fields, required fields, string lengths against the
 * records' fixed buffers, and the textual forms (RFC 3339 times, "HH:MM",
 * arrays). Whether a value makes sense (a phone number, a time zone) is the
 * library's call, so the HTTP and C fronts cannot disagree.
 *
 * Every error is NUDGE_EINVAL with err->field naming the JSON field, dotted
 * for nesting ("quiet_hours.start", "vars.test_name") and indexed for arrays
 * ("tags[2]"); "" when the body itself is not an object. A failed *_in call
 * leaves the record exactly as it was, so a half-applied PATCH cannot leak
 * into a save.
 */
#ifndef NUDGE_HTTP_CODEC_H
#define NUDGE_HTTP_CODEC_H

#include <stddef.h>

#include <jansson.h>

#include "nudge.h"

/* Records to JSON: new references. Times are RFC 3339 with the offset of
 * `tz` (an IANA zone), via tz_format_rfc3339; zero times are JSON null;
 * empty optional strings are null. Ids that are 0 for "none" (a
 * notification's appointment_id and reminder_id, a reminder's
 * notification_id) are null. Text that is not valid UTF-8 (it can come in
 * through the CLI) is emitted with U+FFFD in place of the bad bytes rather
 * than dropped. */
json_t *codec_clinic_out(const nudge_clinic *c); /* times in the clinic's own zone */
json_t *codec_patient_out(const nudge_patient *p, const char *tz);
json_t *codec_appointment_out(const nudge_appointment *a, const char *tz);
json_t *codec_reminder_out(const nudge_reminder *r, const char *tz);
json_t *codec_notification_out(const nudge_notification *m, const char *tz);
json_t *codec_template_out(const nudge_template *t);
json_t *codec_key_out(const nudge_key *k, const char *tz);

/* JSON to records. `partial` != 0 (PATCH): absent fields leave the record as
 * it is, and required-ness is not checked; otherwise required fields must be
 * present. Read-only fields are refused even when their value is unchanged.
 * Strings too long for the record's buffer are refused (not truncated).
 * tz: the zone for times written without an offset.
 * quiet_hours, when given, is a whole value: both "start" and "end", or null. */
int codec_clinic_in(json_t *j, nudge_clinic *c, int partial, nudge_err *err);
int codec_patient_in(json_t *j, nudge_patient *p, int partial, nudge_err *err);
int codec_appointment_in(json_t *j, const char *tz, nudge_appointment *a, int partial,
                         nudge_err *err);
/* Template: t is overwritten (zeroed first, so clinic_id becomes 0) and its
 * strings allocated; free with nudge_template_free, which is safe after a
 * failure too. name, language, category, sms, subject, text and html are
 * required; whatsapp is optional (null: use sms). */
int codec_template_in(json_t *j, nudge_template *t, nudge_err *err);
/* A direct message: {"patient_id", "template", "channel"?, "priority"?
 * ("low"|"normal"|"high"|"urgent", default normal), "due_at"? RFC3339,
 * "dedupe_key"?, "vars"? {string: string}}. s->template_name/channel/
 * dedupe_key point into j (valid while j lives); vars are copied into *vars,
 * which is emptied first (pass it zeroed) and left empty on failure.
 * null for an optional field is the same as leaving it out. */
int codec_send_in(json_t *j, const char *tz, nudge_send *s, nudge_vars *vars, nudge_err *err);
/* {"vars": {...}, "channel": "sms"|"whatsapp"|"email"} for a render preview.
 * Both optional: without "channel" *channel is left as the caller set it
 * (its default); when given it points into j. *vars as in codec_send_in. */
int codec_render_in(json_t *j, nudge_vars *vars, const char **channel, nudge_err *err);
/* Depth of nesting of raw JSON text (outside strings), to refuse deeply
 * nested bodies before parsing; returns 1 if depth <= max. */
int codec_depth_ok(const char *text, size_t len, int max);

/* The JSON name of a field the library named in an error ("at" ->
 * "start_at", "duration" -> "duration_minutes", "provider" -> "doctor",
 * "patient" -> "patient_id", ...); other names are returned unchanged. */
const char *codec_json_field(const char *lib_field);
/* Rewrites err->field with codec_json_field, for library errors about a
 * request body. */
void codec_err_fields(nudge_err *err);

#endif
