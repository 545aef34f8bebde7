/*
 * phone.c: phone numbers as staff type them, to E.164. libphonenumber has no
 * C port, so this keeps a small table instead: every assigned country calling
 * code (so a mistyped "+" number is caught), and for the countries nudge's
 * clinics are in, the national rules (trunk prefix, length, leading digits)
 * that tell a real number from a typo. A number that fails is rejected, never
 * guessed at: a message sent to the wrong person is worse than none.
 */
#include "phone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define PHONE_MAX_DIGITS 15 /* E.164 */
#define PHONE_MIN_DIGITS 8

/*
 * Calling codes assigned to countries and territories (ITU-T E.164 list).
 * Codes are prefix-free, so a number's code is the unique 1-3 digit prefix
 * found here. Non-geographic services (800 freephone, satellite) are left
 * out: no patient has one as their phone.
 */
static const char *const phone_codes[] = {
    "1", "7",
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    "211", "212", "213", "216", "218",
    "220", "221", "222", "223", "224", "225", "226", "227", "228", "229",
    "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249",
    "250", "251", "252", "253", "254", "255", "256", "257", "258",
    "260", "261", "262", "263", "264", "265", "266", "267", "268", "269",
    "290", "291", "297", "298", "299",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359",
    "370", "371", "372", "373", "374", "375", "376", "377", "378",
    "380", "381", "382", "383", "385", "386", "387", "389",
    "420", "421", "423",
    "500", "501", "502", "503", "504", "505", "506", "507", "508", "509",
    "590", "591", "592", "593", "594", "595", "596", "597", "598", "599",
    "670", "672", "673", "674", "675", "676", "677", "678", "679",
    "680", "681", "682", "683", "685", "686", "687", "688", "689",
    "690", "691", "692",
    "850", "852", "853", "855", "856", "880", "886",
    "960", "961", "962", "963", "964", "965", "966", "967", "968",
    "970", "971", "972", "973", "974", "975", "976", "977",
    "992", "993", "994", "995", "996", "998",
};

/* Why a national significant number (NSN) is wrong, or NULL if it is fine. */
typedef const char *(*phone_check_fn)(const char *nsn, size_t len, char *why, size_t n);

typedef struct phone_rule {
    const char *iso;    /* ISO 3166 alpha-2 */
    const char *cc;     /* calling code */
    const char *trunk;  /* national prefix dropped in E.164; "" none */
    const char *idd;    /* national exit code besides "00", or NULL */
    int min, max;       /* NSN length */
    const char *first;  /* digits an NSN may start with */
    phone_check_fn check;
} phone_rule;

/* NANP: NXX NXX XXXX. N11 codes (211-911) are services, never area codes. */
static const char *phone_check_nanp(const char *nsn, size_t len, char *why, size_t n)
{
    (void)len;
    if (nsn[0] < '2')
        snprintf(why, n, "area code %.3s cannot start with 0 or 1", nsn);
    else if (nsn[1] == '1' && nsn[2] == '1')
        snprintf(why, n, "%.3s is a service code, not an area code", nsn);
    else if (nsn[3] < '2')
        snprintf(why, n, "exchange %.3s cannot start with 0 or 1", nsn + 3);
    else
        return NULL;
    return why;
}

static const phone_rule phone_rules[] = {
    /* Mobiles start 6-9; landlines (area code + number) are 10 digits too. */
    {"IN", "91", "0", NULL, 10, 10, "123456789", NULL},
    {"US", "1", "1", "011", 10, 10, NULL, phone_check_nanp},
    {"CA", "1", "1", "011", 10, 10, NULL, phone_check_nanp},
    {"GB", "44", "0", NULL, 10, 10, "1235789", NULL},
    {"AU", "61", "0", "0011", 9, 9, "23478", NULL},
    {"AE", "971", "0", NULL, 8, 9, "23456789", NULL},
    {"SG", "65", "", NULL, 8, 8, "3689", NULL},
    {"DE", "49", "0", NULL, 6, 13, "123456789", NULL},
    {"FR", "33", "0", NULL, 9, 9, "123456789", NULL},
    {"BD", "880", "0", NULL, 8, 10, "123456789", NULL},
    {"NP", "977", "0", NULL, 8, 10, "123456789", NULL},
    {"LK", "94", "0", NULL, 9, 9, "123456789", NULL},
    {"PK", "92", "0", NULL, 9, 10, "123456789", NULL},
};

#define PHONE_N_RULES (sizeof phone_rules / sizeof phone_rules[0])

static const phone_rule *phone_rule_for(const char *country)
{
    if (!country || strlen(country) != 2)
        return NULL;
    for (size_t i = 0; i < PHONE_N_RULES; i++)
        if (toupper((unsigned char)country[0]) == phone_rules[i].iso[0] &&
            toupper((unsigned char)country[1]) == phone_rules[i].iso[1])
            return &phone_rules[i];
    return NULL;
}

int phone_country_known(const char *country)
{
    return phone_rule_for(country) != NULL;
}

/* The calling code that `digits` starts with, or NULL. */
static const char *phone_code_of(const char *digits)
{
    for (size_t i = 0; i < sizeof phone_codes / sizeof phone_codes[0]; i++) {
        size_t l = strlen(phone_codes[i]);
        if (!strncmp(digits, phone_codes[i], l))
            return phone_codes[i];
    }
    return NULL;
}

/* The rules for a calling code: several countries may share it (US, CA),
 * and then they share the rules too. */
static const phone_rule *phone_rule_for_code(const char *cc)
{
    for (size_t i = 0; i < PHONE_N_RULES; i++)
        if (!strcmp(phone_rules[i].cc, cc))
            return &phone_rules[i];
    return NULL;
}

/* Checks nsn against r; fills why and returns -1 if it cannot be a number. */
static int phone_check(const phone_rule *r, const char *nsn, char *why, size_t n)
{
    size_t len = strlen(nsn);
    if ((int)len < r->min || (int)len > r->max) {
        if (r->min == r->max)
            snprintf(why, n, "expected %d digits", r->min);
        else
            snprintf(why, n, "expected %d to %d digits", r->min, r->max);
        return -1;
    }
    if (r->first && !strchr(r->first, nsn[0])) {
        snprintf(why, n, "a number cannot start with %c", nsn[0]);
        return -1;
    }
    if (r->check && r->check(nsn, len, why, n))
        return -1;
    return 0;
}

int phone_normalize(const char *in, const char *country, char *out, size_t n,
                    const char *field, nudge_err *err)
{
    const char *f = field ? field : "phone";
    if (str_blank(in))
        return err_set(err, NUDGE_EINVAL, field, "%s is required", f);
    const phone_rule *home = NULL;
    if (country && *country) {
        home = phone_rule_for(country);
        if (!home)
            return err_set(err, NUDGE_EINVAL, "country",
                           "country \"%.8s\" is not one whose phone numbers nudge knows", country);
    }

    /*
     * Only separators people write inside numbers are skipped. Letters
     * (vanity numbers, "ext") and anything else are refused rather than
     * dropped, since dropping them would change the number. "(0)" is how
     * the trunk prefix is shown beside a country code ("+44 (0)20 ...").
     */
    char digits[40];
    size_t nd = 0, paren0 = sizeof digits; /* where a "(0)" trunk sits, if any */
    int plus = 0, seen = 0;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isdigit(c)) {
            if (nd + 1 >= sizeof digits)
                return err_set(err, NUDGE_EINVAL, field,
                               "%s %.40s is too long for a phone number", f, in);
            digits[nd++] = (char)c;
            seen = 1;
        } else if (c == '+' && !seen && !plus) {
            plus = 1;
            seen = 1;
        } else if (c == '(' && p[1] == '0' && p[2] == ')' && nd > 0 && nd + 1 < sizeof digits) {
            paren0 = nd;
            digits[nd++] = '0';
            p += 2;
        } else if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')') {
            continue;
        } else if (isalpha(c)) {
            return err_set(err, NUDGE_EINVAL, field,
                           "%s %.40s contains letters: a phone number is digits only", f, in);
        } else {
            return err_set(err, NUDGE_EINVAL, field,
                           "%s %.40s contains '%c': only digits, spaces, + - . ( ) are allowed", f,
                           in, isprint(c) ? c : '?');
        }
    }
    digits[nd] = 0;
    if (nd == 0)
        return err_set(err, NUDGE_EINVAL, field, "%s %.40s has no digits", f, in);

    const char *intl = NULL; /* digits after the exit code, country code first */
    if (plus)
        intl = digits;
    else if (home && home->idd && !strncmp(digits, home->idd, strlen(home->idd)))
        intl = digits + strlen(home->idd);
    else if (!strncmp(digits, "00", 2))
        intl = digits + 2;

    char why[96];
    const phone_rule *r;
    const char *cc, *nsn;
    if (intl) {
        cc = phone_code_of(intl);
        if (!cc)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s %.40s does not start with a known country calling code", f, in);
        nsn = intl + strlen(cc);
        if (nsn == digits + paren0)
            nsn++;
        /* The country's own rules first: their reason is the more useful one. */
        r = phone_rule_for_code(cc);
        if (r && phone_check(r, nsn, why, sizeof why) < 0) {
            /* "+44 020 ...": the number is right but for the trunk prefix. */
            size_t tl = strlen(r->trunk);
            char tmp[96];
            if (tl && !strncmp(nsn, r->trunk, tl) && phone_check(r, nsn + tl, tmp, sizeof tmp) == 0)
                snprintf(why, sizeof why, "drop the %s after +%s", r->trunk, cc);
            return err_set(err, NUDGE_EINVAL, field, "%s %.40s is not a valid number for %s: %s",
                           f, in, r->iso, why);
        }
        size_t total = strlen(cc) + strlen(nsn);
        if (total < PHONE_MIN_DIGITS || total > PHONE_MAX_DIGITS)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s %.40s is not a valid number: expected %d to %d digits with the "
                           "country code",
                           f, in, PHONE_MIN_DIGITS, PHONE_MAX_DIGITS);
    } else {
        if (!home)
            return err_set(err, NUDGE_EINVAL, field,
                           "%s %.40s has no country code (such as +91) and no default country",
                           f, in);
        r = home;
        cc = r->cc;
        nsn = digits;
        /* No NSN in the table starts with its country's trunk digit, so a
         * leading one is the trunk prefix (optional when typing). NANP's "1"
         * is taken as one only on a number too long without it: on ten
         * digits it is a mistyped area code, and saying that helps more. */
        size_t tl = strlen(r->trunk);
        if (tl && !strncmp(nsn, r->trunk, tl) &&
            (strcmp(r->trunk, "1") != 0 || strlen(nsn) > (size_t)r->max))
            nsn += tl;
        if (phone_check(r, nsn, why, sizeof why) < 0)
            return err_set(err, NUDGE_EINVAL, field, "%s %.40s is not a valid number for %s: %s",
                           f, in, r->iso, why);
    }

    char e164[PHONE_MAX_DIGITS + 2];
    int w = snprintf(e164, sizeof e164, "+%s%s", cc, nsn);
    if (w < 0 || (size_t)w >= sizeof e164 || w - 1 > PHONE_MAX_DIGITS)
        return err_set(err, NUDGE_EINVAL, field, "%s %.40s is too long for a phone number", f, in);
    if (!out || str_copy(out, n, e164) < 0)
        return err_set(err, NUDGE_EINVAL, field, "%s: no room for the number", f);
    return 0;
}
