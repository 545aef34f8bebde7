/*
 * faq.c: each clinic's FAQ (faq_entries, faq_settings) and the matching a
 * ticket's text gets: urgent words first (a person must read those), then
 * a ranked full-text search of the clinic's entries and a confidence
 * that the ticket module compares with the clinic's threshold.
 *
 * The search is one portable query on the name faq_search, which each
 * engine's migration 018 defines (SQLite: an FTS5 index ranked by BM25;
 * PostgreSQL: a function over tsvector and ts_rank_cd in the 'simple'
 * configuration); this file only builds its argument, quoted words ORed,
 * each a prefix. The engine orders the candidates; the confidence is
 * computed here, the same way on both engines, as the share of the text's
 * words (stop words aside) that a candidate's question or keywords begin
 * with, so one threshold means the same on either. The shipped entries
 * (English and Hindi) are seeded into every new clinic.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "util.h"

#define FAQ_DEFAULT_THRESHOLD 50
#define FAQ_MAX_WORDS 32
#define FAQ_WORD 64

static const struct faq_seed_entry {
    const char *seed, *language, *question, *keywords, *answer;
} faq_seeds[] = {
    {"hours", "en", "What are your opening hours?",
     "hours timings time open opening close closed closing saturday sunday weekend holiday today "
     "tomorrow morning evening",
     "We are open Monday to Saturday, 9:00 to 19:00, and closed on Sundays and public holidays."},
    {"hours", "hi", "क्लिनिक का समय क्या है?",
     "समय टाइम खुलता खुलती खुला खुलने बजे घंटे बंद रविवार शनिवार छुट्टी सुबह शाम",
     "क्लिनिक सोमवार से शनिवार सुबह 9 से शाम 7 बजे तक खुला रहता है, रविवार और सरकारी छुट्टियों "
     "पर बंद रहता है।"},
    {"location", "en", "Where is the clinic located?",
     "location located address where directions map reach find landmark route",
     "You will find us at the address on your appointment message; reply MAP and we will send "
     "you directions."},
    {"location", "hi", "क्लिनिक का पता क्या है?",
     "पता पते कहाँ कहां लोकेशन रास्ता नक्शा पहुँचें पहुंचें",
     "हमारा पता आपके अपॉइंटमेंट संदेश में है; रास्ता जानने के लिए MAP लिखकर भेजें।"},
    {"parking", "en", "Is there parking at the clinic?",
     "parking park car cars bike scooter vehicle garage",
     "Free parking for cars and two-wheelers is available in front of the clinic."},
    {"parking", "hi", "क्या पार्किंग की सुविधा है?",
     "पार्किंग गाड़ी गाडी कार वाहन बाइक स्कूटर",
     "क्लिनिक के सामने कार और दोपहिया वाहनों के लिए मुफ़्त पार्किंग है।"},
    {"insurance", "en", "Do you accept insurance?",
     "insurance insured accept cashless claim claims policy mediclaim tpa cover covered",
     "We accept most major insurers and offer cashless treatment where your policy allows; "
     "please bring your insurance card."},
    {"insurance", "hi", "क्या आप बीमा लेते हैं?",
     "बीमा इंश्योरेंस कैशलेस क्लेम लेते स्वीकार पॉलिसी",
     "हम अधिकतर बीमा कंपनियों का बीमा स्वीकार करते हैं और पॉलिसी के अनुसार कैशलेस इलाज की "
     "सुविधा है; कृपया अपना बीमा कार्ड साथ लाएँ।"},
    {"fees", "en", "How much does a consultation cost?",
     "fee fees cost costs price prices charge charges consultation payment pay rate rates upi card "
     "cash",
     "A consultation costs Rs 500; treatment is quoted after the examination. We accept cash, "
     "cards and UPI."},
    {"fees", "hi", "परामर्श की फीस कितनी है?",
     "फीस शुल्क खर्च कीमत दाम पैसे परामर्श भुगतान चार्ज",
     "परामर्श शुल्क 500 रुपये है; इलाज का खर्च जाँच के बाद बताया जाता है। नकद, कार्ड और UPI "
     "स्वीकार हैं।"},
    {"cancellation", "en", "What is your cancellation policy?",
     "cancel cancellation cancelling cancelled reschedule rescheduling change postpone appointment "
     "booking policy",
     "Please cancel or reschedule at least 24 hours before your appointment by replying to our "
     "message or calling the clinic."},
    {"cancellation", "hi", "अपॉइंटमेंट कैसे रद्द करें?",
     "रद्द कैंसल बदलना बदलें अपॉइंटमेंट बुकिंग नियम",
     "कृपया अपॉइंटमेंट से कम से कम 24 घंटे पहले हमारे संदेश का जवाब देकर या क्लिनिक को फ़ोन "
     "करके उसे रद्द करें या समय बदलें।"},
};
#define FAQ_N_SEEDS (sizeof faq_seeds / sizeof *faq_seeds)

/* Words that say nothing about which entry is meant. */
static const char *const faq_stop[] = {
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "dear", "did", "do", "does", "for", "from", "get", "had", "has", "have", "hello",
    "hi", "how", "i", "if", "in", "is", "it", "its", "know", "me", "much", "my", "need", "no",
    "not", "of", "on", "or", "our", "please", "should", "so", "some", "tell", "thank", "thanks",
    "that", "the", "there", "this", "to", "us", "want", "was", "we", "what", "when", "where",
    "which", "who", "why", "will", "with", "would", "yes", "you", "your", "clinic", "doctor",
    "dentist", "sir", "madam",
    "क्या", "है", "हैं", "का", "की", "के", "में", "से", "को", "पर", "और", "या", "भी", "तो", "यह",
    "वह", "ये", "वो", "मैं", "मेरा", "मेरी", "मेरे", "मुझे", "आप", "आपका", "आपकी", "आपके", "हम",
    "हमें", "कब", "कैसे", "कितना", "कितनी", "कितने", "क्लिनिक", "डॉक्टर", "जी", "एक", "था", "थी",
    "हो", "कर", "करें", "करना", "सकते", "सकता", "सकती", "लिए", "सुविधा", "कृपया", "नमस्ते",
    NULL};

/* Urgent symptoms, English and Hindi; a trailing '*' matches as a prefix. */
static const char *const faq_urgent[] = {
    "pain*", "painful", "ache", "aching", "toothache", "bleed*", "blood*", "swell*", "swollen",
    "fever*", "emergenc*", "urgent*", "severe*", "accident*", "abscess*", "pus", "broken",
    "injur*", "unbearable",
    "दर्द*", "खून*", "सूजन*", "सूज*", "बुखार*", "इमरजेंसी", "आपात*", "मवाद", "रक्त*", "तेज़", "चोट*",
    NULL};

/* Splits text into lowercase words: ASCII letters and digits, and any
 * character beyond ASCII but the Devanagari danda (।, ॥) and the general
 * punctuation block (U+2000-U+206F: dashes, quotes, ellipsis). */
static int faq_words(const char *text, char (*w)[FAQ_WORD], int max)
{
    int n = 0;
    size_t len = 0;
    char cur[FAQ_WORD];
    const unsigned char *p = (const unsigned char *)text;
    for (;;) {
        size_t k = 1;
        int word = 0;
        if (*p >= 0x80) {
            k = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
            word = !((p[0] == 0xe0 && p[1] == 0xa5 && (p[2] == 0xa4 || p[2] == 0xa5)) ||
                     (p[0] == 0xe2 && p[1] == 0x80) || (p[0] == 0xe2 && p[1] == 0x81));
            for (size_t i = 1; i < k; i++)
                if (!p[i])
                    k = i, word = 0; /* a cut sequence ends here */
        } else if (*p) {
            word = isalnum(*p);
        }
        if (word && len + k < sizeof cur) {
            for (size_t i = 0; i < k; i++)
                cur[len++] = (char)tolower(p[i]);
        } else if (!word && len) {
            cur[len] = 0;
            if (n < max)
                memcpy(w[n++], cur, len + 1);
            len = 0;
        }
        if (!*p)
            return n;
        p += k;
    }
}

static int faq_listed(const char *const *list, const char *w)
{
    for (; *list; list++) {
        size_t l = strlen(*list);
        if ((*list)[l - 1] == '*' ? !strncmp(w, *list, l - 1) : !strcmp(w, *list))
            return 1;
    }
    return 0;
}

/* The urgent word of text (into word[n]), or 0. */
static int faq_is_urgent(const char *text, char *word, size_t n)
{
    char w[FAQ_MAX_WORDS * 4][FAQ_WORD];
    int k = faq_words(text, w, FAQ_MAX_WORDS * 4);
    for (int i = 0; i < k; i++)
        if (faq_listed(faq_urgent, w[i])) {
            snprintf(word, n, "%.63s", w[i]);
            return 1;
        }
    return 0;
}

/* The text's words that can tell entries apart, each once. */
static int faq_terms(const char *text, char (*t)[FAQ_WORD])
{
    char w[FAQ_MAX_WORDS * 4][FAQ_WORD];
    int k = faq_words(text, w, FAQ_MAX_WORDS * 4), n = 0;
    for (int i = 0; i < k && n < FAQ_MAX_WORDS; i++) {
        if (faq_listed(faq_stop, w[i]) || (strlen(w[i]) < 2 && isalnum((unsigned char)w[i][0])))
            continue;
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = !strcmp(t[j], w[i]);
        if (!seen)
            memcpy(t[n++], w[i], FAQ_WORD);
    }
    return n;
}

/* Percent of terms that some word of the entry's question or keywords
 * begins with: the prefix rule the engines' queries follow. */
static int faq_confidence(char (*t)[FAQ_WORD], int nt, const char *question,
                          const char *keywords)
{
    char w[FAQ_MAX_WORDS * 4][FAQ_WORD];
    int k = faq_words(question, w, FAQ_MAX_WORDS * 2);
    k += faq_words(keywords, w + k, FAQ_MAX_WORDS * 4 - k);
    int hit = 0;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < k; j++)
            if (!strncmp(w[j], t[i], strlen(t[i]))) {
                hit++;
                break;
            }
    return nt ? hit * 100 / nt : 0;
}

int faq_check_text(const char *s, const char *field, int required, nudge_err *err)
{
    if (required && nudge_blank(s))
        return err_set(err, NUDGE_EINVAL, field, "%s is required", field);
    if (s && !text_ok(s))
        return err_set(err, NUDGE_EINVAL, field,
                       "%s must be UTF-8 text without control characters", field);
    return 0;
}

int nudge_faq_threshold(nudge *n, int64_t clinic_id, int *threshold, nudge_err *err)
{
    int64_t v = FAQ_DEFAULT_THRESHOLD;
    if (store_scalar(n->db, &v, err, "SELECT threshold FROM faq_settings WHERE clinic_id = ?",
                     bind_int(clinic_id)) < 0)
        return -1;
    *threshold = (int)v;
    return 0;
}

int nudge_faq_set_threshold(nudge *n, int64_t clinic_id, int threshold, nudge_err *err)
{
    err_clear(err);
    if (threshold < 0 || threshold > 100)
        return err_set(err, NUDGE_EINVAL, "threshold", "the threshold is a percent, 0 to 100");
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    char detail[32];
    snprintf(detail, sizeof detail, "threshold=%d", threshold);
    if (store_exec(n->db, err,
                   "INSERT INTO faq_settings (clinic_id, threshold, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (clinic_id) DO UPDATE SET threshold = excluded.threshold, "
                   "updated_at = excluded.updated_at",
                   bind_int(clinic_id), bind_int(threshold), bind_int(clock_now(n))) < 0 ||
        audit_add(n, clinic_id, "faq.threshold", "clinic", clinic_id, detail, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

#define FAQ_COLS "id, clinic_id, question, answer, keywords, language, seed, created_at, updated_at"

static void faq_read(store_stmt *st, nudge_faq *f)
{
    memset(f, 0, sizeof *f);
    f->id = store_int(st, 0);
    f->clinic_id = store_int(st, 1);
    store_copy(st, 2, f->question, sizeof f->question);
    store_copy(st, 3, f->answer, sizeof f->answer);
    store_copy(st, 4, f->keywords, sizeof f->keywords);
    store_copy(st, 5, f->language, sizeof f->language);
    store_copy(st, 6, f->seed, sizeof f->seed);
    f->created_at = store_int(st, 7);
    f->updated_at = store_int(st, 8);
}

int nudge_faq_get(nudge *n, int64_t clinic_id, int64_t id, nudge_faq *out, nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " FAQ_COLS " FROM faq_entries WHERE (? = 0 OR clinic_id = ?) AND id = ?",
                    bind_int(clinic_id), bind_int(clinic_id), bind_int(id)) < 0)
        return -1;
    int r = store_next(st, err);
    if (r == 1)
        faq_read(st, out);
    store_done(st);
    if (r == 0)
        return err_set(err, NUDGE_ENOTFOUND, "id", "no FAQ entry %lld", (long long)id);
    return r < 0 ? -1 : 0;
}

int nudge_faq_list(nudge *n, int64_t clinic_id, const char *language, nudge_faq_fn fn, void *ctx,
                   nudge_err *err)
{
    err_clear(err);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT " FAQ_COLS " FROM faq_entries WHERE (? = 0 OR clinic_id = ?) AND "
                    "(? = '' OR language = ?) ORDER BY clinic_id, id",
                    bind_int(clinic_id), bind_int(clinic_id), bind_text(language ? language : ""),
                    bind_text(language ? language : "")) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        nudge_faq f;
        faq_read(st, &f);
        if (fn(ctx, &f)) {
            r = 0;
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

static int faq_insert(nudge *n, const nudge_faq *f, const char *seed, int64_t *id, nudge_err *err)
{
    int64_t now = clock_now(n);
    /* A seed already there is not an error: seeding twice adds nothing. */
    int r = store_scalar(n->db, id, err,
                         "INSERT INTO faq_entries (clinic_id, question, answer, keywords, "
                         "language, seed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING RETURNING id",
                         bind_int(f->clinic_id), bind_text(f->question), bind_text(f->answer),
                         bind_text(f->keywords), bind_text(f->language), bind_text(seed),
                         bind_int(now), bind_int(now));
    return r;
}

int nudge_faq_add(nudge *n, nudge_faq *f, nudge_err *err)
{
    err_clear(err);
    if (!f->language[0])
        snprintf(f->language, sizeof f->language, "en");
    if (faq_check_text(f->question, "question", 1, err) < 0 ||
        faq_check_text(f->answer, "answer", 1, err) < 0 ||
        faq_check_text(f->keywords, "keywords", 0, err) < 0)
        return -1;
    if (!lang_code_ok(f->language))
        return err_set(err, NUDGE_EINVAL, "language", "a language is a code such as en or hi");
    nudge_clinic c;
    if (nudge_clinic_get(n, f->clinic_id, &c, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, f->clinic_id, err) < 0)
        return -1;
    if (faq_insert(n, f, NULL, &f->id, err) != 1 ||
        audit_add(n, f->clinic_id, "faq.add", "faq", f->id, f->question, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    if (store_commit(n->db, err) < 0)
        return -1;
    return nudge_faq_get(n, f->clinic_id, f->id, f, err);
}

int nudge_faq_remove(nudge *n, int64_t clinic_id, int64_t id, nudge_err *err)
{
    nudge_faq f;
    if (nudge_faq_get(n, clinic_id, id, &f, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, f.clinic_id, err) < 0)
        return -1;
    /* A ticket it resolved keeps its record of the answer, not the link. */
    if (ticket_forget_faq(n, f.clinic_id, id, err) < 0 ||
        store_exec(n->db, err, "DELETE FROM faq_entries WHERE clinic_id = ? AND id = ?",
                   bind_int(f.clinic_id), bind_int(id)) < 0 ||
        audit_add(n, f.clinic_id, "faq.remove", "faq", id, f.question, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int faq_seed(nudge *n, int64_t clinic_id, int *added, nudge_err *err)
{
    int count = 0;
    for (size_t i = 0; i < FAQ_N_SEEDS; i++) {
        nudge_faq f = {.clinic_id = clinic_id};
        snprintf(f.question, sizeof f.question, "%s", faq_seeds[i].question);
        snprintf(f.answer, sizeof f.answer, "%s", faq_seeds[i].answer);
        snprintf(f.keywords, sizeof f.keywords, "%s", faq_seeds[i].keywords);
        snprintf(f.language, sizeof f.language, "%s", faq_seeds[i].language);
        int64_t id;
        int r = faq_insert(n, &f, faq_seeds[i].seed, &id, err);
        if (r < 0)
            return -1;
        count += r;
    }
    if (added)
        *added = count;
    return 0;
}

int nudge_faq_seed(nudge *n, int64_t clinic_id, int *added, nudge_err *err)
{
    err_clear(err);
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    if (store_begin_clinic(n->db, clinic_id, err) < 0)
        return -1;
    if (faq_seed(n, clinic_id, added, err) < 0) {
        store_rollback(n->db);
        return -1;
    }
    return store_commit(n->db, err);
}

int faq_match(nudge *n, int64_t clinic_id, const char *text, nudge_faq_match *out, nudge_err *err)
{
    memset(out, 0, sizeof *out);
    if (nudge_faq_threshold(n, clinic_id, &out->threshold, err) < 0)
        return -1;
    out->urgent = faq_is_urgent(text, out->urgent_word, sizeof out->urgent_word);
    char t[FAQ_MAX_WORDS][FAQ_WORD];
    int nt = faq_terms(text, t);
    if (!nt)
        return 0;
    /* '"w1"* OR "w2"*': a word holds no '"' (faq_words keeps letters and
     * digits), so quoting it is enough. */
    char q[FAQ_MAX_WORDS * (FAQ_WORD + 8)];
    size_t len = 0;
    for (int i = 0; i < nt; i++)
        len += (size_t)snprintf(q + len, sizeof q - len, "%s\"%s\"*", i ? " OR " : "", t[i]);
    store_stmt *st;
    if (store_query(n->db, &st, err,
                    "SELECT f.id, f.question, f.keywords, f.answer, f.language FROM "
                    "faq_search(?) AS s JOIN faq_entries f ON f.id = s.rowid WHERE "
                    "f.clinic_id = ? ORDER BY s.rank, f.id LIMIT 5",
                    bind_text(q), bind_int(clinic_id)) < 0)
        return -1;
    int r;
    while ((r = store_next(st, err)) == 1) {
        /* The engine's order decides among equally confident entries. */
        int conf = faq_confidence(t, nt, store_text(st, 1), store_text(st, 2));
        if (conf > out->confidence) {
            out->confidence = conf;
            out->faq_id = store_int(st, 0);
            store_copy(st, 3, out->answer, sizeof out->answer);
            store_copy(st, 4, out->language, sizeof out->language);
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int nudge_faq_match_text(nudge *n, int64_t clinic_id, const char *text, nudge_faq_match *out,
                         nudge_err *err)
{
    err_clear(err);
    memset(out, 0, sizeof *out);
    if (nudge_blank(text))
        return err_set(err, NUDGE_EINVAL, "text", "the text to match is required");
    if (faq_check_text(text, "text", 1, err) < 0)
        return -1;
    nudge_clinic c;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0)
        return -1;
    return faq_match(n, c.id, text, out, err);
}
