/*
 * tmpl.c: renders {variable} templates, checks their syntax, counts SMS
 * segments and owns nudge_vars. One scanner serves both rendering and
 * checking, so a template that passes tmpl_check can only fail to render for
 * want of a variable, never for its syntax.
 */
#include "tmpl.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Bounds come from nudge_vars itself so the two cannot drift apart. */
#define TMPL_KEY_MAX (sizeof(((nudge_vars *)0)->kv[0].key))
#define TMPL_VARS_MAX (sizeof(((nudge_vars *)0)->kv) / sizeof(((nudge_vars *)0)->kv[0]))

/* ---- variables ---- */

int nudge_vars_set(nudge_vars *v, const char *key, const char *value)
{
    /* A NULL value is refused rather than stored as "": a blank where a
     * variable belongs is exactly what rendering promises never to produce. */
    if (!v || !key || !*key || !value || strlen(key) >= TMPL_KEY_MAX)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->kv[i].key, key) == 0) {
            /* Copy before freeing: value may point into the old one. */
            char *copy = str_dup(value);
            free(v->kv[i].value);
            v->kv[i].value = copy;
            return 0;
        }
    }
    if (v->n >= TMPL_VARS_MAX)
        return -1;
    memcpy(v->kv[v->n].key, key, strlen(key) + 1);
    v->kv[v->n].value = str_dup(value);
    v->n++;
    return 0;
}

const char *nudge_vars_get(const nudge_vars *v, const char *key)
{
    if (!v || !key)
        return NULL;
    for (size_t i = 0; i < v->n && i < TMPL_VARS_MAX; i++)
        if (strcmp(v->kv[i].key, key) == 0)
            return v->kv[i].value;
    return NULL;
}

void nudge_vars_free(nudge_vars *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n && i < TMPL_VARS_MAX; i++) {
        free(v->kv[i].value);
        v->kv[i].value = NULL;
        v->kv[i].key[0] = 0;
    }
    v->n = 0; /* reusable after free, like a fresh zeroed struct */
}

/* ---- rendering ---- */

static int tmpl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static void tmpl_escape(sbuf *out, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break; /* &apos; is not HTML 4, and mail clients vary */
        default: continue;
        }
        sbuf_add(out, run, (size_t)(s - run));
        sbuf_puts(out, rep);
        run = s + 1;
    }
    sbuf_add(out, run, (size_t)(s - run));
}

/* Walks src once. With out == NULL it only checks syntax; otherwise it also
 * substitutes variables into out. Errors name `field`, except a missing
 * variable, which names the variable so the caller knows what to supply. */
static int tmpl_scan(const char *src, const nudge_vars *vars, int html, sbuf *out,
                     const char *field, nudge_err *err)
{
    const char *p = src, *lit = src;
    while (*p) {
        if (*p != '{' && *p != '}') {
            p++;
            continue;
        }
        size_t at = (size_t)(p - src);
        if (out)
            sbuf_add(out, lit, (size_t)(p - lit));
        if (p[1] == p[0]) { /* "{{" or "}}" */
            if (out)
                sbuf_add(out, p, 1);
            p += 2;
            lit = p;
            continue;
        }
        if (*p == '}')
            return err_set(err, NUDGE_EINVAL, field,
                           "unmatched '}' at byte %zu of %s (write }} for a literal brace)", at,
                           field);
        const char *name = p + 1, *q = name;
        while (tmpl_name_char(*q))
            q++;
        if (!*q)
            return err_set(err, NUDGE_EINVAL, field,
                           "unclosed '{' at byte %zu of %s (write {{ for a literal brace)", at,
                           field);
        if (*q != '}' || q == name)
            return err_set(err, NUDGE_EINVAL, field,
                           "bad placeholder at byte %zu of %s: names are a-z, 0-9 and _", at,
                           field);
        size_t len = (size_t)(q - name);
        /* A name no nudge_vars key can hold could never render: reject it
         * when the template is written, not when a patient is due a message. */
        if (len >= TMPL_KEY_MAX)
            return err_set(err, NUDGE_EINVAL, field,
                           "placeholder name at byte %zu of %s is longer than %zu characters", at,
                           field, TMPL_KEY_MAX - 1);
        if (out) {
            char key[TMPL_KEY_MAX];
            memcpy(key, name, len);
            key[len] = 0;
            const char *v = nudge_vars_get(vars, key);
            if (!v) {
                char f[sizeof err->field];
                snprintf(f, sizeof f, "vars.%s", key);
                return err_set(err, NUDGE_EINVAL, f, "template needs variable {%s}", key);
            }
            if (html)
                tmpl_escape(out, v);
            else
                sbuf_puts(out, v);
        }
        p = q + 1;
        lit = p;
    }
    if (out)
        sbuf_add(out, lit, (size_t)(p - lit));
    return 0;
}

char *tmpl_render(const char *src, const nudge_vars *vars, int html, nudge_err *err)
{
    if (!src) {
        err_set(err, NUDGE_EINVAL, "template", "no template text to render");
        return NULL;
    }
    sbuf out = {0};
    if (tmpl_scan(src, vars, html, &out, "template", err) < 0) {
        sbuf_free(&out);
        return NULL;
    }
    return sbuf_take(&out);
}

int tmpl_check(const char *src, const char *field, nudge_err *err)
{
    /* Optional texts (a template's whatsapp) are NULL when absent. */
    if (!src)
        return 0;
    return tmpl_scan(src, NULL, 0, NULL, field ? field : "template", err);
}

/* ---- SMS segments ---- */

#define TMPL_REPLACEMENT 0xFFFDu

/* Decodes one code point and advances *s. Malformed input yields U+FFFD per
 * maximal ill-formed subpart (Unicode's recommended practice), which is also
 * what a carrier would end up sending: it forces UCS-2 and costs one unit. */
static uint32_t tmpl_utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
        *s = p + 1;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0Fu;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07u;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else {
        *s = p + 1;
        return TMPL_REPLACEMENT;
    }
    for (size_t i = 1; i <= need; i++) {
        /* A NUL fails this test, so a truncated sequence never reads past it. */
        if (p[i] < lo || p[i] > hi) {
            *s = p + i;
            return TMPL_REPLACEMENT;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *s = p + need + 1;
    return cp;
}

/* Septets cp costs in GSM 03.38: 1 in the basic table, 2 in the extension
 * table (escape + code), 0 if GSM-7 cannot carry it at all. */
static int tmpl_gsm_septets(uint32_t cp)
{
    static const uint16_t basic_high[] = {
        0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
        0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
        0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393,
        0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
    };
    if (cp == 0)
        return 0;
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
            return 1;
        if (cp == '\n' || cp == '\r' || strchr(" !\"#$%&'()*+,-./:;<=>?@_", (int)cp))
            return 1;
        if (cp == '\f' || strchr("^{}\\[~]|", (int)cp))
            return 2;
        return 0; /* backquote and other control characters */
    }
    for (size_t i = 0; i < sizeof basic_high / sizeof basic_high[0]; i++)
        if (basic_high[i] == cp)
            return 1;
    return cp == 0x20AC ? 2 : 0; /* the euro sign lives in the extension table */
}

int tmpl_sms_segments(const char *text, int *ucs2)
{
    if (!text)
        text = "";
    size_t septets = 0, units = 0;
    int gsm = 1;
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        uint32_t cp = tmpl_utf8_next(&s);
        int w = tmpl_gsm_septets(cp);
        if (!w)
            gsm = 0;
        septets += (size_t)w;
        units += cp > 0xFFFF ? 2 : 1;
    }
    if (ucs2)
        *ucs2 = !gsm;
    /* A multi-part message spends 6 bytes of each part on the concatenation
     * header, leaving 153 septets or 67 UTF-16 units. */
    size_t single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    if ((gsm ? septets : units) <= single)
        return 1; /* an empty message still goes out as one segment */
    /* Pack part by part rather than dividing: handsets and carriers do not
     * split an escape pair or a surrogate pair across parts, so one can push
     * a message into an extra part that plain division would not count. */
    size_t segs = 1, fill = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        uint32_t cp = tmpl_utf8_next(&s);
        size_t w = gsm ? (size_t)tmpl_gsm_septets(cp) : (cp > 0xFFFF ? 2u : 1u);
        if (fill + w > part) {
            segs++;
            fill = 0;
        }
        fill += w;
    }
    return segs > INT_MAX ? INT_MAX : (int)segs;
}

int nudge_sms_segments(const char *text, int *ucs2)
{
    return tmpl_sms_segments(text, ucs2);
}

/* ---- built-ins ---- */

const tmpl_builtin *tmpl_builtin_find(const char *name, const char *language)
{
    if (!name || !language)
        return NULL;
    for (size_t i = 0; i < tmpl_builtins_count; i++)
        if (strcmp(tmpl_builtins[i].name, name) == 0 &&
            strcmp(tmpl_builtins[i].language, language) == 0)
            return &tmpl_builtins[i];
    return NULL;
}
