/*
 * medication.c: the frequency and duration of a prescription item as
 * clinicians write them, read by table. A frequency becomes the dose times
 * of a dosing day and how often a day is a dosing day; a duration becomes
 * a number of days. Everything is an exact match after case, dots, spaces
 * and underscores are dropped ("B.I.D." is "bid"); anything else is
 * refused with the accepted codes named, never guessed: a wrong guess is a
 * patient taking a drug at the wrong time. prescription.c dates the doses.
 */
#include "medication.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define H(h) ((h) * 60)

/* Default times per code (minutes after local midnight): the clinics'
 * documents say BD is 09:00 and 21:00 and HS 22:00; the rest follow the
 * same waking day. */
static const struct med_code {
    const char *code;
    const char *aliases; /* normalised, '|'-separated */
    int every_days, ntimes;
    int times[4];
    int preferred; /* one dose a dosing day at no particular hour */
} med_codes[] = {
    {"OD", "od|qd|daily|oncedaily|onceaday", 1, 1, {H(9)}, 1},
    {"BD", "bd|bid|twicedaily|twiceaday", 1, 2, {H(9), H(21)}, 0},
    {"TDS", "tds|tid|thricedaily|threetimesaday", 1, 3, {H(8), H(14), H(20)}, 0},
    {"QID", "qid|qds|fourtimesaday", 1, 4, {H(8), H(12), H(16), H(20)}, 0},
    {"HS", "hs|bedtime|atbedtime", 1, 1, {H(22)}, 0},
    {"weekly", "onceweekly|weekly|onceaweek|ow", 7, 1, {H(9)}, 1},
    {"alternate", "alternatedays|alternateday|onalternatedays|eod|qod|everyotherday", 2, 1,
     {H(9)}, 1},
    {"SOS", "sos|prn|asneeded|whenneeded|whenrequired", 1, 0, {0}, 0},
};

/* Slots of the morning-noon-night notation: three places, or four with an
 * evening dose. */
static const int med_slots3[3] = {H(9), H(14), H(21)};
static const int med_slots4[4] = {H(8), H(13), H(18), H(22)};

/* The first dose of a qNh day; the rest follow every N hours. */
#define MED_QNH_FIRST H(8)

static const char med_accepted[] =
    "OD, QD, BD, BID, TDS, TID, QID, HS, qNh (q4h, q6h, q8h, q12h), once weekly, "
    "alternate days, SOS, PRN, or morning-noon-night such as 1-0-1 or 1-1-1-1";

/* Lower case without dots, spaces, underscores; 0 if it does not fit. */
static int med_norm(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '.' || c == '_' || isspace(c))
            continue;
        if (k + 1 >= n)
            return 0;
        out[k++] = (char)tolower(c);
    }
    out[k] = 0;
    return 1;
}

static int med_alias_in(const char *aliases, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = aliases; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == kl && !memcmp(p, key, l))
            return 1;
        p += l + (bar != NULL);
    }
    return 0;
}

/* "1-0-1", "1-1-1-1", "2-0-2", "½-0-1" is not accepted (no fractions). */
static int med_slots(const char *key, med_freq *out)
{
    int v[5], nv = 0;
    const char *p = key;
    for (;;) {
        if (!isdigit((unsigned char)*p) || nv == 5)
            return 0;
        v[nv++] = *p++ - '0';
        if (isdigit((unsigned char)*p))
            return 0; /* one digit per place */
        if (!*p)
            break;
        if (*p++ != '-')
            return 0;
    }
    if (nv != 3 && nv != 4)
        return 0;
    const int *slots = nv == 3 ? med_slots3 : med_slots4;
    out->ntimes = 0;
    for (int i = 0; i < nv; i++)
        if (v[i])
            out->times[out->ntimes++] = slots[i];
    if (!out->ntimes)
        return 0; /* 0-0-0 is no dose at all */
    str_copy(out->code, sizeof out->code, key);
    out->every_days = 1;
    out->once = 0;
    return 1;
}

/* "q6h", "q6hr", "q6hrs", "every6hours", "every6h". */
static int med_qnh(const char *key, med_freq *out)
{
    const char *p = !strncmp(key, "every", 5) ? key + 5 : key[0] == 'q' ? key + 1 : NULL;
    if (!p || !isdigit((unsigned char)*p))
        return 0;
    char *end;
    long h = strtol(p, &end, 10);
    if (strcmp(end, "h") && strcmp(end, "hr") && strcmp(end, "hrs") && strcmp(end, "hour") &&
        strcmp(end, "hours"))
        return 0;
    /* Only intervals that give the same times every day, and no more
     * messages than a day can bear. */
    if (h < 2 || h > 24 || 24 % h)
        return 0;
    out->ntimes = (int)(24 / h);
    for (int i = 0; i < out->ntimes; i++)
        out->times[i] = (MED_QNH_FIRST + i * (int)h * 60) % (24 * 60);
    /* ascending within the day: the hours after midnight come first */
    for (int i = 1; i < out->ntimes; i++)
        for (int j = i; j > 0 && out->times[j - 1] > out->times[j]; j--) {
            int t = out->times[j];
            out->times[j] = out->times[j - 1];
            out->times[j - 1] = t;
        }
    snprintf(out->code, sizeof out->code, "q%ldh", h);
    out->every_days = 1;
    out->once = 0;
    return 1;
}

int med_parse_frequency(const char *s, med_freq *out, const char *field, nudge_err *err)
{
    char key[48];
    memset(out, 0, sizeof *out);
    if (nudge_blank(s))
        return err_set(err, NUDGE_EINVAL, field, "frequency is required: %s", med_accepted);
    if (med_norm(s, key, sizeof key)) {
        for (size_t i = 0; i < sizeof med_codes / sizeof med_codes[0]; i++) {
            const struct med_code *m = &med_codes[i];
            if (!med_alias_in(m->aliases, key))
                continue;
            str_copy(out->code, sizeof out->code, m->code);
            out->every_days = m->every_days;
            out->ntimes = m->ntimes;
            memcpy(out->times, m->times, sizeof m->times);
            out->once = m->preferred;
            return 0;
        }
        if (med_slots(key, out) || med_qnh(key, out))
            return 0;
    }
    return err_set(err, NUDGE_EINVAL, field, "unknown frequency \"%.40s\": accepted are %s", s,
                   med_accepted);
}

static const struct med_unit {
    const char *aliases;
    int days;
} med_units[] = {
    {"d|day|days", 1},
    {"w|wk|wks|week|weeks", 7},
    /* A month of a course is counted as 30 days, as pharmacies dispense. */
    {"mo|month|months", 30},
};

#define MED_MAX_DAYS 366

int med_parse_duration(const char *s, int max_days, int *days, int *until_review,
                       const char *field, nudge_err *err)
{
    static const char accepted[] =
        "a number of days, weeks or months (\"5 days\", \"2 weeks\", \"1 month\") or "
        "\"until review\"";
    char key[48];
    *days = 0;
    *until_review = 0;
    if (nudge_blank(s))
        return err_set(err, NUDGE_EINVAL, field, "duration is required: %s", accepted);
    if (med_norm(s, key, sizeof key)) {
        if (med_alias_in("untilreview|tillreview|untilnextreview|tillnextreview", key)) {
            *days = max_days;
            *until_review = 1;
            return 0;
        }
        char *end;
        long v = isdigit((unsigned char)key[0]) ? strtol(key, &end, 10) : 0;
        for (size_t i = 0; v > 0 && i < sizeof med_units / sizeof med_units[0]; i++) {
            if (!med_alias_in(med_units[i].aliases, end))
                continue;
            if (v > MED_MAX_DAYS / med_units[i].days)
                return err_set(err, NUDGE_EINVAL, field,
                               "duration \"%.40s\" is longer than %d days: use \"until review\"",
                               s, MED_MAX_DAYS);
            *days = (int)v * med_units[i].days;
            return 0;
        }
    }
    return err_set(err, NUDGE_EINVAL, field, "unknown duration \"%.40s\": accepted are %s", s,
                   accepted);
}
