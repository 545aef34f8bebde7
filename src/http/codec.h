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
 *
 * The shapes are not written here: each record's table in nudge.h
 * (nudge_patient_fields, ...) names its fields, types and rules, and one
 * encoder and one decoder walk them.
 */
#ifndef NUDGE_HTTP_CODEC_H
#define NUDGE_HTTP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nudge.h"

/* A record to JSON by its table (nudge.h): a new reference, with the
 * fields in table order, hidden ones left out. Times are RFC 3339 with the
 * offset of `tz` (an IANA zone; a clinic's own times in its zone); zero
 * times are null; empty optional strings and ids that are 0 for "none" are
 * null. Text that is not valid UTF-8 (it can come in through the CLI) is
 * emitted with U+FFFD in place of the bad bytes rather than dropped. */
json_t *codec_out(const nudge_field *fields, const void *rec, const char *tz);

/* JSON text being written (the API's answers): grown as needed, always
 * NUL-terminated once anything is in it; p is the owner's to free. Out of
 * memory aborts, as for the codec's other bookkeeping. */
typedef struct codec_buf {
    char *p;
    size_t len, cap;
} codec_buf;
/* The same record as codec_out, as text appended to b: exactly what
 * json_dumps(codec_out(...), JSON_COMPACT | JSON_ENSURE_ASCII) gives,
 * without building the tree (the read path's cost: a page of 50). */
void codec_text(codec_buf *b, const nudge_field *fields, const void *rec, const char *tz);
void codec_put(codec_buf *b, const char *s, size_t n); /* raw bytes */
/* A JSON string, escaped as jansson's ASCII output escapes it; bytes that
 * are not UTF-8 become U+FFFD. */
void codec_put_strn(codec_buf *b, const char *s, size_t n);
void codec_put_str(codec_buf *b, const char *s);
void codec_put_int(codec_buf *b, int64_t v);
void codec_put_json(codec_buf *b, const json_t *j); /* any value; NULL: null */

/* JSON to a record by its table. `partial` != 0 (PATCH): absent fields
 * leave the record as it is, and required-ness is not checked; otherwise
 * required fields must be present. Read-only fields are refused even when
 * their value is unchanged; hidden fields are unknown. Strings too long
 * for the record's buffer are refused (not truncated). tz: the zone for
 * times written without an offset. A whole-value type (quiet_hours: both
 * "start" and "end", or null) is replaced whole. size is sizeof *rec.
 * Owned strings (NUDGE_T_STR) that are replaced are freed; on failure the
 * record is exactly as it was. */
int codec_in(const nudge_field *fields, json_t *j, const char *tz, void *rec, size_t size,
             int partial, nudge_err *err);
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
/* len bytes of s are valid UTF-8 (jansson's rules): what a query value
 * must be before it reaches a store, which would refuse it (PostgreSQL)
 * or keep bytes no answer could carry. */
int codec_utf8_ok(const char *s, size_t len);

/* The JSON name of a field the library named in an error ("at" ->
 * "start_at", "duration" -> "duration_minutes", "provider" -> "doctor",
 * "patient" -> "patient_id", ...); other names are returned unchanged. */
const char *codec_json_field(const char *lib_field);
/* Rewrites err->field with codec_json_field, for library errors about a
 * request body. */
void codec_err_fields(nudge_err *err);

/* ---- what the HTTP layer shares below its handlers: it sees only
 * nudge.h, whose public helpers these short names stand for ---- */

/* Fills err (if not NULL) and returns -1: the library's own. */
#define codec_err nudge_err_set
#define codec_blank nudge_blank /* NULL, empty or only spaces: the library's */
char *codec_strdup(const char *s); /* NULL-safe; aborts on OOM */


#endif
