/*
 * test_consent.c: the rules every message is checked against at its send
 * instant (issue 17, items 4-6), through the real store and the outbox on
 * a fake clock: the consent ledger and what is derived from it (the
 * record's opt-out flags, the STOP/START log), promotional messages
 * without an opt-in, the send window across DST changes (US, UK) and in
 * India, WhatsApp's 24-hour rule, the Free tier running out, overage on
 * the others with multi-segment Hindi SMS, the 80 % and 100 % alerts
 * once, and the signed unsubscribe link.
 */
#include "core.h"
#include "store/store.h"
#include "testutil.h"

#define NOW TU_T(2026, 12, 1, 6, 0)

static int64_t add_clinic(nudge *n, const char *tz, const char *country)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, tz);
    strcpy(c.country, country);
    c.quiet_start = c.quiet_end = 0; /* none: the window alone is tested */
    c.rate_per_minute = 100000;
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t add_patient(nudge *n, int64_t clinic, const char *tz, unsigned opt_outs)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "+919876543210");
    strcpy(p.email, "asha@example.com");
    strcpy(p.timezone, tz);
    p.opt_outs = opt_outs;
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static void record(nudge *n, int64_t clinic, int64_t patient, const char *cat, const char *ch,
                   const char *state)
{
    nudge_consent_entry e = {.clinic_id = clinic, .patient_id = patient};
    strcpy(e.category, cat);
    strcpy(e.channel, ch);
    strcpy(e.state, state);
    strcpy(e.source, "staff");
    strcpy(e.wording, "Yes, send me health tips and offers by SMS");
    nudge_err err = {0};
    if (nudge_consent_record(n, &e, &err) < 0)
        fail_msg("consent: %s", err.msg);
}

static const char *allowed(nudge *n, int64_t clinic, int64_t patient, const char *cat,
                           const char *ch)
{
    const char *why = NULL;
    nudge_err e = {0};
    int r = nudge_consent_allowed(n, clinic, patient, cat, ch, &why, &e);
    assert_true(r >= 0);
    return r ? "yes" : why;
}

static int64_t enqueue(nudge *n, int64_t clinic, int64_t patient, const char *channel,
                       const char *category, const char *body, int64_t due)
{
    queue_item it = {.clinic_id = clinic,
                     .patient_id = patient,
                     .channel = channel,
                     .recipient = strcmp(channel, "email") ? "+919876543210" : "asha@example.com",
                     .template_name = "custom",
                     .language = "en",
                     .category = category,
                     .subject = "News",
                     .body = body,
                     .priority = NUDGE_LOW,
                     .max_retries = 3,
                     .due_at = due};
    int64_t id;
    int created;
    nudge_err e = {0};
    if (queue_insert(n, &it, &id, &created, &e) < 0)
        fail_msg("enqueue: %s", e.msg);
    return id;
}

static nudge_tick_stats tick_at(tu_env *env, int64_t t)
{
    env->clock.t = t;
    nudge_tick_stats st;
    nudge_err e = {0};
    if (nudge_tick(env->n, &st, &e) < 0)
        fail_msg("tick: %s", e.msg);
    return st;
}

static nudge_notification get(nudge *n, int64_t id)
{
    nudge_notification m;
    nudge_err e = {0};
    if (nudge_notification_get(n, 0, id, &m, &e) < 0)
        fail_msg("get: %s", e.msg);
    return m;
}

static int64_t count(nudge *n, const char *sql)
{
    int64_t v = -1;
    nudge_err e = {0};
    if (store_scalar(n->db, &v, &e, sql) < 0)
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

static void set_plan(nudge *n, int64_t clinic, const char *tier, int start, int end,
                     int64_t reserve)
{
    nudge_usage_plan p = {.window_start = start, .window_end = end, .reserve = reserve};
    strcpy(p.tier, tier);
    strcpy(p.reminders_policy, "opt_out");
    nudge_err e = {0};
    if (nudge_usage_plan_set(n, clinic, &p, &e) < 0)
        fail_msg("plan: %s (%s)", e.msg, e.field);
}

static void test_ledger_derivation(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(n, c, "", NUDGE_OPTOUT_MARKETING);
    /* The flag at creation is a withdrawal in the ledger. */
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_ledger WHERE category = 'marketing' "
                              "AND channel = '*' AND state = 'withdrawn'"),
                     1);
    assert_string_equal(allowed(n, c, p, "marketing", "sms"), "opted_out");
    assert_string_equal(allowed(n, c, p, "health_tips", "sms"), "no_consent");
    assert_string_equal(allowed(n, c, p, "reminders", "sms"), "yes");
    assert_string_equal(allowed(n, c, p, "broadcasts", "sms"), "yes"); /* the clinic's notices */
    assert_string_equal(allowed(n, c, p, "transactional", "sms"), "yes");
    /* A grant on one channel: that channel only. */
    record(n, c, p, "health_tips", "sms", "granted");
    assert_string_equal(allowed(n, c, p, "health_tips", "sms"), "yes");
    assert_string_equal(allowed(n, c, p, "health_tips", "email"), "no_consent");
    /* The newest row decides: a later grant of marketing on every channel. */
    record(n, c, p, "marketing", "*", "granted");
    assert_string_equal(allowed(n, c, p, "marketing", "email"), "yes");
    nudge_patient pt;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(n, c, p, &pt, &e), 0);
    assert_int_equal(pt.opt_outs, 0); /* the flag is the view of the ledger */
    /* The record's flags are written as ledger rows: set email, then clear it. */
    pt.opt_outs = NUDGE_OPTOUT_EMAIL;
    assert_int_equal(nudge_patient_update(n, c, &pt, 0, &e), 0);
    assert_int_equal(pt.opt_outs, NUDGE_OPTOUT_EMAIL);
    assert_string_equal(allowed(n, c, p, "marketing", "email"), "opted_out");
    assert_string_equal(allowed(n, c, p, "reminders", "email"), "opted_out");
    pt.opt_outs = 0;
    assert_int_equal(nudge_patient_update(n, c, &pt, 0, &e), 0);
    assert_string_equal(allowed(n, c, p, "marketing", "email"), "yes");
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_ledger WHERE channel = 'email' "
                              "AND state = 'cleared'"),
                     1);
    /* Reminders by opt-in when the clinic says so. */
    nudge_usage_plan plan = {.window_start = 540, .window_end = 1260};
    strcpy(plan.reminders_policy, "opt_in");
    assert_int_equal(nudge_usage_plan_set(n, c, &plan, &e), 0);
    assert_string_equal(allowed(n, c, p, "reminders", "sms"), "no_consent");
    /* Bad input names its field; an opt-in needs its wording. */
    nudge_consent_entry bad = {.clinic_id = c, .patient_id = p};
    strcpy(bad.category, "spam");
    strcpy(bad.channel, "sms");
    strcpy(bad.state, "granted");
    strcpy(bad.source, "staff");
    assert_int_equal(nudge_consent_record(n, &bad, &e), -1);
    assert_string_equal(e.field, "category");
    strcpy(bad.category, "marketing");
    assert_int_equal(nudge_consent_record(n, &bad, &e), -1);
    assert_string_equal(e.field, "wording");
    strcpy(bad.wording, "ok");
    strcpy(bad.source, "carrier pigeon");
    assert_int_equal(nudge_consent_record(n, &bad, &e), -1);
    assert_string_equal(e.field, "source");
    tu_close(&env);
}

/* An enqueue reads its patient without the ledger's opt-outs (the send
 * checks consent itself): the same record otherwise. */
static void test_patient_to_send_is_the_record_without_opt_outs(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    int64_t id = add_patient(n, c, "Asia/Kolkata", NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_SMS);
    nudge_patient a, b;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(n, c, id, &a, &e), 0);
    assert_int_equal(patient_get_to_send(n, c, id, &b, &e), 0);
    assert_int_equal(a.opt_outs, NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_SMS);
    assert_int_equal(b.opt_outs, 0);
    b.opt_outs = a.opt_outs;
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(patient_get_to_send(n, c + 1, id, &b, &e), -1); /* another clinic's */
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&env);
}

static void test_stop_start_through_the_ledger(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(n, c, "", 0);
    nudge_patient pt;
    nudge_err e = {0};
    assert_int_equal(nudge_patient_get(n, c, p, &pt, &e), 0);
    assert_int_equal(store_begin(n->db, &e), 0);
    assert_int_equal(patient_set_consent(n, &pt, "sms", 1, "STOP", "SM1", &e), 0);
    assert_int_equal(store_commit(n->db, &e), 0);
    assert_string_equal(allowed(n, c, p, "reminders", "sms"), "opted_out");
    assert_string_equal(allowed(n, c, p, "reminders", "email"), "yes");
    assert_int_equal(nudge_patient_get(n, c, p, &pt, &e), 0);
    assert_int_equal(pt.opt_outs, NUDGE_OPTOUT_SMS);
    /* The old log is a view of the ledger. */
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_log WHERE action = 'stop' AND "
                              "message = 'STOP' AND provider_id = 'SM1'"),
                     1);
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_ledger WHERE source = "
                              "'inbound_keyword' AND state = 'withdrawn'"),
                     1);
    /* A reminder by SMS is dropped at the send instant, by email it goes. */
    int64_t sms = enqueue(n, c, p, "sms", "reminders", "See you tomorrow", NOW);
    int64_t mail = enqueue(n, c, p, "email", "reminders", "See you tomorrow", NOW);
    nudge_tick_stats st = tick_at(&env, NOW);
    assert_int_equal(st.sent, 1);
    nudge_notification m = get(n, sms);
    assert_string_equal(m.status, "cancelled");
    assert_true(strncmp(m.last_error, "opted_out:", 10) == 0);
    nudge_notification_free(&m);
    m = get(n, mail);
    assert_string_equal(m.status, "sent");
    nudge_notification_free(&m);
    /* START: the channel again. */
    assert_int_equal(store_begin(n->db, &e), 0);
    assert_int_equal(patient_set_consent(n, &pt, "sms", 0, "START", "SM2", &e), 0);
    assert_int_equal(store_commit(n->db, &e), 0);
    assert_string_equal(allowed(n, c, p, "reminders", "sms"), "yes");
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_log"), 2);
    /* A channel-wide STOP is not undone by an older grant of a category,
     * only by a newer grant of that category on that channel. */
    record(n, c, p, "marketing", "sms", "granted");
    assert_int_equal(store_begin(n->db, &e), 0);
    assert_int_equal(patient_set_consent(n, &pt, "sms", 1, "STOP", "SM3", &e), 0);
    assert_int_equal(store_commit(n->db, &e), 0);
    assert_string_equal(allowed(n, c, p, "marketing", "sms"), "opted_out");
    record(n, c, p, "marketing", "sms", "granted");
    assert_string_equal(allowed(n, c, p, "marketing", "sms"), "yes");
    assert_string_equal(allowed(n, c, p, "reminders", "sms"), "opted_out");
    tu_close(&env);
}

static void test_promotional_needs_an_opt_in(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, TU_T(2026, 12, 1, 6, 0)); /* 11:30 in India: inside the window */
    nudge *n = env.n;
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(n, c, "", 0);
    int64_t a = enqueue(n, c, p, "sms", "marketing", "20% off cleaning", env.clock.t);
    tick_at(&env, env.clock.t);
    nudge_notification m = get(n, a);
    assert_string_equal(m.status, "cancelled");
    assert_true(strncmp(m.last_error, "no_consent:", 11) == 0);
    nudge_notification_free(&m);
    record(n, c, p, "marketing", "sms", "granted");
    int64_t b = enqueue(n, c, p, "sms", "marketing", "20% off cleaning", env.clock.t);
    assert_int_equal(tick_at(&env, env.clock.t).sent, 1);
    m = get(n, b);
    assert_string_equal(m.status, "sent");
    nudge_notification_free(&m);
    tu_close(&env);
}

/* A promotional message due at `at` is deferred to `opens` and leaves then. */
static void window_case(const char *tz, const char *country, int start, int end, int64_t at,
                        int64_t opens)
{
    tu_env env;
    tu_open(&env, at);
    nudge *n = env.n;
    int64_t c = add_clinic(n, tz, country);
    set_plan(n, c, "", start, end, 0);
    int64_t p = add_patient(n, c, "", 0);
    record(n, c, p, "health_tips", "*", "granted");
    int64_t id = enqueue(n, c, p, "sms", "health_tips", "Drink water", at);
    nudge_tick_stats st = tick_at(&env, at);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.deferred, 1);
    nudge_notification m = get(n, id);
    assert_string_equal(m.status, "pending");
    if (m.due_at != opens)
        fail_msg("%s: deferred to %lld, not %lld (%s)", tz, (long long)m.due_at,
                 (long long)opens, m.last_error);
    assert_non_null(strstr(m.last_error, "outside_window"));
    nudge_notification_free(&m);
    assert_int_equal(tick_at(&env, opens - 60).sent, 0);
    assert_int_equal(tick_at(&env, opens).sent, 1);
    tu_close(&env);
}

static void test_window_across_dst_and_in_india(void **state)
{
    (void)state;
    /* US, spring forward on 2026-03-08 02:00: at 23:30 EST on the 7th the
     * window opens at 09:00 EDT (13:00 UTC), not 14:00 UTC. */
    window_case("America/New_York", "US", 540, 1260, TU_T(2026, 3, 8, 4, 30),
                TU_T(2026, 3, 8, 13, 0));
    /* A clinic window wider than the TCPA's is narrowed to 08:00; fall
     * back on 2026-11-01: 08:00 EST is 13:00 UTC. */
    window_case("America/New_York", "US", 6 * 60, 23 * 60, TU_T(2026, 11, 1, 5, 0),
                TU_T(2026, 11, 1, 13, 0));
    /* After 21:00 in the US: tomorrow. */
    window_case("America/Chicago", "US", 6 * 60, 23 * 60, TU_T(2026, 7, 2, 2, 30),
                TU_T(2026, 7, 2, 13, 0));
    /* UK, clocks forward on 2026-03-29 01:00: 09:00 BST is 08:00 UTC; back
     * on 2026-10-25: 09:00 GMT is 09:00 UTC. No legal window: the clinic's. */
    window_case("Europe/London", "GB", 540, 1260, TU_T(2026, 3, 29, 0, 30),
                TU_T(2026, 3, 29, 8, 0));
    window_case("Europe/London", "GB", 540, 1260, TU_T(2026, 10, 25, 0, 30),
                TU_T(2026, 10, 25, 9, 0));
    /* India: the clinic's 09:00 narrowed to 10:00 IST (04:30 UTC). */
    window_case("Asia/Kolkata", "IN", 540, 1260, TU_T(2026, 12, 1, 3, 0),
                TU_T(2026, 12, 1, 4, 30));
}

static void test_reminders_ignore_the_window(void **state)
{
    (void)state;
    tu_env env;
    int64_t at = TU_T(2026, 12, 1, 1, 0); /* 06:30 in India */
    tu_open(&env, at);
    int64_t c = add_clinic(env.n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(env.n, c, "", 0);
    enqueue(env.n, c, p, "sms", "reminders", "See you at 10", at);
    assert_int_equal(tick_at(&env, at).sent, 1);
    tu_close(&env);
}

static void test_whatsapp_24h_rule(void **state)
{
    (void)state;
    int64_t now = NOW;
    json_t *none = json_pack("{s:{s:s}}", "whatsapp", "document", "rx.pdf"); /* no template */
    json_t *tmpl = json_pack("{s:{s:s}}", "whatsapp", "name", "appointment_reminder");
    /* Inside 24 h: free-form; after it: only with an approved template. */
    assert_true(consent_whatsapp_ok(now - 23 * 3600, now, none));
    assert_false(consent_whatsapp_ok(now - 24 * 3600, now, none));
    assert_false(consent_whatsapp_ok(0, now, none));
    assert_false(consent_whatsapp_ok(0, now, NULL));
    assert_true(consent_whatsapp_ok(0, now, tmpl));
    assert_true(consent_whatsapp_ok(now - 48 * 3600, now, tmpl));
    json_decref(none);
    json_decref(tmpl);
}

static int64_t threshold_events(nudge *n, int th)
{
    int64_t v = 0;
    nudge_err e = {0};
    char pat[32];
    snprintf(pat, sizeof pat, "%%\"threshold\":%d,%%", th);
    if (store_scalar(n->db, &v, &e,
                     "SELECT COUNT(*) FROM events WHERE type = 'usage.threshold' AND payload "
                     "LIKE ?",
                     bind_text(pat)) < 0)
        fail_msg("%s", e.msg);
    return v;
}

static void test_free_tier_runs_out(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    set_plan(n, c, "free", 540, 1260, 10);
    int64_t p = add_patient(n, c, "", 0);
    record(n, c, p, "broadcasts", "*", "granted");
    /* 89 reminders: 80 % passed once. */
    for (int i = 0; i < 89; i++)
        enqueue(n, c, p, "sms", "reminders", "See you", NOW);
    assert_int_equal(tick_at(&env, NOW).sent, 89);
    assert_int_equal(threshold_events(n, 80), 1);
    assert_int_equal(threshold_events(n, 100), 0);
    /* The last 10 are kept for reminders: a broadcast waits with quota. */
    int64_t b = enqueue(n, c, p, "sms", "broadcasts", "Clinic closed Friday", NOW);
    assert_int_equal(tick_at(&env, NOW).sent, 1); /* 90: the reserve starts after it */
    int64_t b2 = enqueue(n, c, p, "sms", "broadcasts", "Clinic closed Friday", NOW);
    assert_int_equal(tick_at(&env, NOW).sent, 0);
    nudge_notification m = get(n, b2);
    assert_string_equal(m.status, "pending");
    assert_non_null(strstr(m.last_error, ": quota"));
    /* It waits for the next month in the clinic's zone: 1 January 00:00 IST. */
    assert_int_equal(m.due_at, TU_T(2026, 12, 31, 18, 30));
    nudge_notification_free(&m);
    m = get(n, b);
    assert_string_equal(m.status, "sent");
    nudge_notification_free(&m);
    /* Reminders use the reserve, up to 100; the 101st waits. */
    for (int i = 0; i < 11; i++)
        enqueue(n, c, p, "sms", "reminders", "See you", NOW);
    assert_int_equal(tick_at(&env, NOW + 60).sent, 10);
    assert_int_equal(threshold_events(n, 80), 1);
    assert_int_equal(threshold_events(n, 100), 1);
    nudge_usage u;
    nudge_err e = {0};
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_string_equal(u.month, "2026-12");
    assert_int_equal(u.units, 100);
    assert_int_equal(u.quota, 100);
    assert_int_equal(u.overage, 0);
    assert_int_equal(u.cost_paise, 0);
    assert_int_equal(count(n, "SELECT COUNT(*) FROM notification_queue WHERE status = "
                              "'pending' AND last_error LIKE '%: quota'"),
                     2);
    /* The new month: both go (a notice is not promotional: no send
     * window), and no alert repeats for December. */
    assert_int_equal(tick_at(&env, TU_T(2026, 12, 31, 18, 30)).sent, 2);
    assert_int_equal(threshold_events(n, 100), 1);
    assert_int_equal(nudge_usage_get(n, c, "2027-01", &u, &e), 0);
    assert_int_equal(u.units, 2);
    assert_int_equal(nudge_usage_get(n, c, "2027-13", &u, &e), -1);
    assert_string_equal(e.field, "month");
    tu_close(&env);
}

/* 83 UCS-2 characters (Devanagari): two segments of 67. */
#define HINDI_2                                                                                    \
    "नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते नमस्ते"
/* 167: three segments. */
#define HINDI_3 HINDI_2 " " HINDI_2

static void test_overage_arithmetic(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    nudge_err e = {0};
    assert_int_equal(consent_units("sms", HINDI_2), 2);
    assert_int_equal(consent_units("sms", HINDI_3), 3);
    assert_int_equal(consent_units("email", HINDI_3), 1);
    /* A small tier of the document's shape: 5 included, 25 paise after. */
    assert_int_equal(nudge_usage_tier_set(n, "tiny", 5, 25, &e), 0);
    assert_int_equal(nudge_usage_tier_set(n, "broken", 0, 25, &e), -1);
    assert_string_equal(e.field, "quota");
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    set_plan(n, c, "tiny", 540, 1260, 0);
    int64_t p = add_patient(n, c, "", 0);
    enqueue(n, c, p, "sms", "reminders", HINDI_3, NOW);
    enqueue(n, c, p, "sms", "reminders", HINDI_2, NOW);
    enqueue(n, c, p, "email", "reminders", "Receipt", NOW);
    enqueue(n, c, p, "sms", "reminders", HINDI_3, NOW);
    /* 3 + 2 + 1 + 3 = 9 units: nothing waits on a tier with overage. */
    assert_int_equal(tick_at(&env, NOW).sent, 4);
    nudge_usage u;
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_int_equal(u.units, 9);
    assert_int_equal(u.messages, 4);
    assert_int_equal(u.channel_units[0], 8);
    assert_int_equal(u.channel_units[2], 1);
    assert_int_equal(u.overage, 4);
    assert_int_equal(u.cost_paise, 100);
    /* Essential: 500 included, the next 3-segment SMS after 499 costs 2 x 25. */
    set_plan(n, c, "essential", 540, 1260, 0);
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_int_equal(u.quota, 500);
    assert_int_equal(u.overage, 0);
    assert_int_equal(u.cost_paise, 0);
    /* Hospital: unlimited, every unit at 10 paise. */
    set_plan(n, c, "hospital", 540, 1260, 0);
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_int_equal(u.quota, -1);
    assert_int_equal(u.cost_paise, 90);
    /* Not metered: counted, not priced. */
    set_plan(n, c, "", 540, 1260, 0);
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_int_equal(u.units, 9);
    assert_int_equal(u.cost_paise, 0);
    /* Bad plans name their field. */
    nudge_usage_plan bad = {.window_start = 540, .window_end = 1260};
    strcpy(bad.tier, "platinum");
    strcpy(bad.reminders_policy, "opt_out");
    assert_int_equal(nudge_usage_plan_set(n, c, &bad, &e), -1);
    assert_string_equal(e.field, "tier");
    strcpy(bad.tier, "free");
    bad.window_end = 500;
    assert_int_equal(nudge_usage_plan_set(n, c, &bad, &e), -1);
    assert_string_equal(e.field, "window");
    tu_close(&env);
}

static void test_essential_overage_from_sends(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, NOW);
    nudge *n = env.n;
    nudge_err e = {0};
    /* The table is configurable: Essential scaled down to 4 included
     * messages (its price kept) so the run stays short. */
    assert_int_equal(nudge_usage_tier_set(n, "essential", 4, 25, &e), 0);
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    set_plan(n, c, "essential", 540, 1260, 0);
    int64_t p = add_patient(n, c, "", 0);
    for (int i = 0; i < 3; i++)
        enqueue(n, c, p, "email", "reminders", "See you", NOW);
    enqueue(n, c, p, "sms", "reminders", HINDI_3, NOW);
    assert_int_equal(tick_at(&env, NOW).sent, 4);
    nudge_usage u;
    assert_int_equal(nudge_usage_get(n, c, NULL, &u, &e), 0);
    assert_int_equal(u.messages, 4);
    assert_int_equal(u.units, 6);
    assert_int_equal(u.overage, 2);
    assert_int_equal(u.cost_paise, 50);
    assert_int_equal(threshold_events(n, 80), 1);
    assert_int_equal(threshold_events(n, 100), 1);
    tu_close(&env);
}

static void test_unsubscribe_link(void **state)
{
    (void)state;
    char dir[128], db[192], out[192];
    tu_tmpdir(dir, sizeof dir);
    tu_db_migrated(dir, db, sizeof db);
    snprintf(out, sizeof out, "%s/out", dir);
    nudge_clock clk;
    nudge_clock_fake(&clk, NOW);
    nudge_config cfg = {.db = db,
                        .outbox_dir = out,
                        .clock = &clk,
                        .public_url = "https://nudge.example.com/",
                        .unsubscribe_secret = "s3cret"};
    nudge *n;
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &n, &e), 0);
    int64_t c = add_clinic(n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(n, c, "", 0);
    record(n, c, p, "marketing", "email", "granted");
    char url[512];
    assert_int_equal(
        nudge_unsubscribe_url(n, c, p, "marketing", "email", NOW + 3600, url, sizeof url, &e), 0);
    assert_true(strncmp(url, "https://nudge.example.com/unsubscribe?c=", 40) == 0);
    const char *sig = strstr(url, "sig=") + 4;
    nudge_unsubscribe_link l = {.clinic_id = c,
                                .patient_id = p,
                                .expires = NOW + 3600,
                                .category = "marketing",
                                .channel = "email",
                                .sig = sig};
    assert_int_equal(nudge_unsubscribe(n, &l, 0, &e), 0);
    assert_string_equal(allowed(n, c, p, "marketing", "email"), "yes");
    /* Altered: another patient, another category, a longer life. */
    l.patient_id = p + 1;
    assert_int_equal(nudge_unsubscribe(n, &l, 1, &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);
    l.patient_id = p;
    l.category = "health_tips";
    assert_int_equal(nudge_unsubscribe(n, &l, 1, &e), -1);
    l.category = "marketing";
    l.expires = NOW + 7200;
    assert_int_equal(nudge_unsubscribe(n, &l, 1, &e), -1);
    assert_string_equal(e.field, "sig");
    l.expires = NOW + 3600;
    /* Expired. */
    clk.t = NOW + 3600;
    assert_int_equal(nudge_unsubscribe(n, &l, 1, &e), -1);
    assert_string_equal(e.field, "exp");
    clk.t = NOW;
    assert_int_equal(nudge_unsubscribe(n, &l, 1, &e), 0);
    assert_string_equal(allowed(n, c, p, "marketing", "email"), "opted_out");
    assert_int_equal(count(n, "SELECT COUNT(*) FROM consent_ledger WHERE source = "
                              "'unsubscribe_link' AND state = 'withdrawn'"),
                     1);
    nudge_close(n);
    tu_db_drop(db);
    tu_rmrf(dir);
}

static void test_promotional_email_without_unsubscribe_is_not_sent(void **state)
{
    (void)state;
    tu_env env; /* no unsubscribe_secret configured */
    tu_open(&env, NOW);
    int64_t c = add_clinic(env.n, "Asia/Kolkata", "IN");
    int64_t p = add_patient(env.n, c, "", 0);
    record(env.n, c, p, "marketing", "email", "granted");
    int64_t id = enqueue(env.n, c, p, "email", "marketing", "Offer", NOW);
    assert_int_equal(tick_at(&env, NOW).sent, 0);
    nudge_notification m = get(env.n, id);
    assert_string_equal(m.status, "cancelled");
    assert_true(strncmp(m.last_error, "no_unsubscribe:", 15) == 0);
    nudge_notification_free(&m);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_derivation),
        cmocka_unit_test(test_patient_to_send_is_the_record_without_opt_outs),
        cmocka_unit_test(test_stop_start_through_the_ledger),
        cmocka_unit_test(test_promotional_needs_an_opt_in),
        cmocka_unit_test(test_window_across_dst_and_in_india),
        cmocka_unit_test(test_reminders_ignore_the_window),
        cmocka_unit_test(test_whatsapp_24h_rule),
        cmocka_unit_test(test_free_tier_runs_out),
        cmocka_unit_test(test_overage_arithmetic),
        cmocka_unit_test(test_essential_overage_from_sends),
        cmocka_unit_test(test_unsubscribe_link),
        cmocka_unit_test(test_promotional_email_without_unsubscribe_is_not_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
