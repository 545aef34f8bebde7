/*
 * tmpl.h: message templates. A template is a set of texts (SMS/WhatsApp
 * text, email subject, text and HTML body) with {variable} placeholders.
 * Rendering fails on a missing variable (never a blank) and escapes values
 * in HTML. The built-in templates (English and Hindi) live in tmpl_seed.c;
 * clinics' own versions live in the store and take precedence.
 */
#ifndef NUDGE_TMPL_H
#define NUDGE_TMPL_H

#include <stddef.h>

#include "nudge.h"

/* A built-in template: static strings. whatsapp may be NULL (use sms). */
typedef struct tmpl_builtin {
    const char *name, *language, *category;
    const char *sms, *whatsapp, *subject, *text, *html;
} tmpl_builtin;

extern const tmpl_builtin tmpl_builtins[];
extern const size_t tmpl_builtins_count;
const tmpl_builtin *tmpl_builtin_find(const char *name, const char *language);

/* Renders src with vars into a new string (caller frees). html != 0 escapes
 * & < > " ' in values. "{{" and "}}" are literal braces. A placeholder whose
 * variable is absent fails with EINVAL naming the variable in err.field
 * ("vars.<name>"). */
char *tmpl_render(const char *src, const nudge_vars *vars, int html, nudge_err *err);
/* Checks placeholder syntax (balanced braces, names of [a-z0-9_]). */
int tmpl_check(const char *src, const char *field, nudge_err *err);
/* Number of SMS segments: GSM-7 160/153 per part, UCS-2 70/67 (counted in
 * UTF-16 units); *ucs2 (may be NULL) says which encoding was needed. */
int tmpl_sms_segments(const char *text, int *ucs2);

#endif
