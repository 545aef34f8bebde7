/*
 * test_compliance.c: issue 17's compliance simulation. A seeded,
 * randomized stretch of three clinics (India, the US on the Free tier, the
 * UK) on the fake clock across the end of British and American summer time
 * and a month boundary: bookings, reschedules, cancellations, no-shows,
 * STOP and START through the reply path, opt-ins and withdrawals, notices,
 * tips and campaigns to segments, all sent through the outbox by the real
 * planner and dispatcher. Every event the simulation makes is kept here,
 * beside the store; afterwards every message that left is checked against
 * the rules in force at its send instant, as this file states them (not
 * as consent.c does): no quiet hours unless urgent, nothing the patient
 * had stopped or withdrawn, no promotional message without an opt-in or
 * outside its window, nothing over the Free quota, no reminder after its
 * visit began, nothing twice. The counts checked are printed.
 * COMPLIANCE_DAYS and COMPLIANCE_PATIENTS (per clinic) size the run:
 * 9 days of 24 patients by default (24 October to 2 November), a long one under `make soak`.
 */
#include "core.h"
#include "testutil.h"
#include "tz.h"

#define START TU_T(2026, 10, 24, 0, 0) /* UK leaves summer time 25 Oct, US 1 Nov */
#define STEP 900 /* one tick per 15 minutes of the clock */
#define MAXP 2000
#define MAXEV 200000
#define MAXAPPT 20000

static uint64_t rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static const struct {
    const char *tz, *country, *tier, *prefix;
    int wstart, wend; /* the promotional window the law allows, minutes */
} sim_clinics[] = {
    {"Asia/Kolkata", "IN", "professional", "+91987", 10 * 60, 21 * 60},
    {"America/New_York", "US", "free", "+1646", 9 * 60, 21 * 60},
    {"Europe/London", "GB", "essential", "+447700", 9 * 60, 21 * 60},
};
#define NCLINIC 3
#define QUIET_START (21 * 60)
#define QUIET_END (8 * 60)

/* The simulation's own record of consent: channel-wide STOP/START on sms
 * and category-wide grants and withdrawals. */
typedef struct {
    int64_t at;
    int c, p; /* clinic index, patient index */
    char category[16]; /* "*" for STOP/START */
    int granted;
} ev;
static ev *evs;
static int nev;

/* Each start an appointment had, from when. */
typedef struct {
    int64_t id, from, start;
} appt_start;
static appt_start *starts;
static int nstarts;

typedef struct {
    int64_t clinic[NCLINIC];
    int64_t pid[NCLINIC][MAXP];
    char phone[NCLINIC][MAXP][20];
    int npat;
    int64_t appts[NCLINIC][MAXAPPT / NCLINIC];
    int nappt[NCLINIC];
} sim;

static void step_err(const char *what, nudge_err *e)
{
    fail_msg("%s: %s (%s)", what, e->msg, e->field);
}

static void log_ev(int64_t at, int c, int p, const char *cat, int granted)
{
    assert_true(nev < MAXEV);
    evs[nev] = (ev){.at = at, .c = c, .p = p, .granted = granted};
    strcpy(evs[nev].category, cat);
    nev++;
}

static void log_start(int64_t id, int64_t from, int64_t start)
{
    assert_true(nstarts < MAXAPPT * 4);
    starts[nstarts++] = (appt_start){id, from, start};
}

static void setup_clinics(tu_env *e, sim *s)
{
    nudge_err err = {0};
    for (int c = 0; c < NCLINIC; c++) {
        nudge_clinic k;
        nudge_clinic_defaults(&k);
        snprintf(k.name, sizeof k.name, "Clinic %d", c);
        strcpy(k.timezone, sim_clinics[c].tz);
        strcpy(k.country, sim_clinics[c].country);
        k.quiet_start = QUIET_START;
        k.quiet_end = QUIET_END;
        k.rate_per_minute = 1000;
        if (nudge_clinic_add(e->n, &k, &err) < 0)
            step_err("clinic", &err);
        s->clinic[c] = k.id;
        nudge_usage_plan pl;
        assert_int_equal(nudge_usage_plan_get(e->n, k.id, &pl, &err), 0);
        strcpy(pl.tier, sim_clinics[c].tier);
        if (nudge_usage_plan_set(e->n, k.id, &pl, &err) < 0)
            step_err("plan", &err);
        for (int i = 0; i < s->npat; i++) {
            nudge_patient p;
            nudge_patient_init(&p);
            p.clinic_id = k.id;
            snprintf(p.name, sizeof p.name, "Patient %d-%d", c, i);
            snprintf(p.phone, sizeof p.phone, "%s%0*d", sim_clinics[c].prefix, c == 2 ? 6 : 7,
                     (c == 2 ? 100000 : 2000000) + i);
            strcpy(p.language, c == 0 && i % 2 ? "hi" : "en");
            strcpy(p.tags, i % 3 ? "walk_in" : "diabetes");
            if (nudge_patient_add(e->n, &p, &err) < 0)
                step_err("patient", &err);
            s->pid[c][i] = p.id;
            strcpy(s->phone[c][i], p.phone);
        }
    }
}

static void consent_change(tu_env *e, sim *s, int c, int i, int64_t now)
{
    nudge_err err = {0};
    if (rnd(2)) { /* STOP or START by SMS, through the reply path */
        int stop = rnd(3) == 0;
        nudge_inbound in = {.channel = "sms", .from = s->phone[c][i], .text = stop ? "STOP" : "START"};
        nudge_reply rep;
        if (nudge_inbound_handle(e->n, &in, &rep, &err) < 0)
            step_err("inbound", &err);
        log_ev(now, c, i, "*", !stop);
        return;
    }
    static const char *const cats[] = {"health_tips", "marketing", "broadcasts", "reminders"};
    const char *cat = cats[rnd(4)];
    int grant = rnd(4) != 0;
    nudge_consent_entry ce = {.clinic_id = s->clinic[c], .patient_id = s->pid[c][i]};
    strcpy(ce.category, cat);
    strcpy(ce.channel, "*");
    strcpy(ce.state, grant ? "granted" : "withdrawn");
    strcpy(ce.source, rnd(2) ? "staff" : "api");
    strcpy(ce.wording, "Yes, send me health tips and offers");
    if (nudge_consent_record(e->n, &ce, &err) < 0)
        step_err("consent", &err);
    log_ev(now, c, i, cat, grant);
}

static void visit_change(tu_env *e, sim *s, int c, int64_t now)
{
    nudge_err err = {0};
    int k = rnd(10);
    if (k < 5 || s->nappt[c] == 0) { /* a booking 2 h to 4 days ahead */
        if (s->nappt[c] >= MAXAPPT / NCLINIC)
            return;
        nudge_appointment a;
        memset(&a, 0, sizeof a);
        a.patient_id = s->pid[c][rnd((unsigned)s->npat)];
        strcpy(a.service, "Check-up");
        a.start_at = now + 2 * 3600 + (int64_t)rnd(4 * 96) * 900;
        a.duration_min = 30;
        if (nudge_appointment_add(e->n, s->clinic[c], &a, &err) < 0)
            step_err("book", &err);
        s->appts[c][s->nappt[c]++] = a.id;
        log_start(a.id, now, a.start_at);
        return;
    }
    int64_t id = s->appts[c][rnd((unsigned)s->nappt[c])];
    nudge_appointment a;
    if (nudge_appointment_get(e->n, s->clinic[c], id, &a, &err) < 0)
        step_err("appointment", &err);
    int open = !strcmp(a.status, "scheduled") || !strcmp(a.status, "confirmed");
    if (!open)
        return;
    if (k < 7 && a.start_at > now + 3600) {
        int64_t to = now + 3600 + (int64_t)rnd(4 * 96) * 900;
        if (nudge_appointment_reschedule(e->n, s->clinic[c], id, to, &err) < 0)
            step_err("reschedule", &err);
        /* The old id's visit is now another row; this one no longer starts. */
        nudge_appointment b;
        if (nudge_appointment_get(e->n, s->clinic[c], id, &b, &err) < 0)
            step_err("appointment", &err);
        log_start(id, now, b.start_at);
    } else if (k < 9 && a.start_at > now) {
        if (nudge_appointment_cancel(e->n, s->clinic[c], id, &err) < 0)
            step_err("cancel", &err);
    } else if (a.start_at + 1800 < now) {
        if (nudge_appointment_no_show(e->n, s->clinic[c], id, &err) < 0)
            step_err("no-show", &err);
    }
}

static void broadcast(tu_env *e, sim *s, int c, int64_t now)
{
    static const char *const crit[] = {"{}", "{\"consented_to_category\": \"marketing\"}",
                                       "{\"tags\": [\"diabetes\"]}",
                                       "{\"consented_to_category\": [\"health_tips\"]}"};
    static const char *const kinds[] = {"campaign", "tip", "notice"};
    const char *kind = kinds[rnd(3)];
    int64_t ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = s->pid[c][rnd((unsigned)s->npat)];
    char name[48];
    snprintf(name, sizeof name, "%s at %lld", kind, (long long)now);
    nudge_broadcast_spec sp = {
        .kind = kind,
        .name = name,
        .text = "{\"en\": \"Hello {patient_name}, this month at the clinic\", \"hi\": \"नमस्ते "
                "{patient_name}\"}",
        .scheduled_at = rnd(2) ? 0 : now + (int64_t)rnd(48) * 1800,
    };
    if (!strcmp(kind, "notice")) {
        sp.patient_ids = ids;
        sp.npatients = 8;
    } else
        sp.criteria = crit[rnd(4)];
    int64_t id;
    nudge_err err = {0};
    if (nudge_broadcast_create(e->n, s->clinic[c], &sp, &id, &err) < 0)
        step_err("broadcast", &err);
}

/* ---- the oracle: the rules, restated, over the simulation's own log ---- */

static int local_minute(int64_t t, const char *tz, char *month)
{
    tz_local l;
    tz_to_local(t, tz, &l);
    snprintf(month, 16, "%04d-%02d", l.year, l.month);
    return l.hour * 60 + l.minute;
}

/* -1 withdrawn, 1 granted, 0 never said: the newest event of the key at
 * or before t (events are logged in the order they happened). */
static int said(int c, int p, const char *cat, int64_t t)
{
    for (int k = nev - 1; k >= 0; k--)
        if (evs[k].at <= t && evs[k].c == c && evs[k].p == p && !strcmp(evs[k].category, cat))
            return evs[k].granted ? 1 : -1;
    return 0;
}

static int64_t start_at(int64_t appt, int64_t t)
{
    int64_t s = -1;
    for (int k = 0; k < nstarts; k++)
        if (starts[k].id == appt && starts[k].from <= t)
            s = starts[k].start;
    return s;
}

typedef struct {
    long sent, quiet, consent, promo, window, quota, held, reminders, twice, urgent;
    char cat[16][16];
    long by_cat[16];
    int ncat;
} counts;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_all(tu_env *e, sim *s, counts *n)
{
    nudge_err err = {0};
    long quota_units[NCLINIC][2] = {{0}};
    char months[NCLINIC][2][16] = {{""}};
    char **keys = calloc(200000, sizeof *keys);
    long nkeys = 0;
    for (int c = 0; c < NCLINIC; c++) {
        store_stmt *st;
        assert_int_equal(store_query(e->n->db, &st, &err,
                                     "SELECT id, patient_id, COALESCE(appointment_id, 0), "
                                     "category, channel, priority, sent_at, COALESCE(dedupe_key, "
                                     "''), body, template FROM notification_queue WHERE clinic_id "
                                     "= ? AND status IN ('sent', 'delivered', 'read') ORDER BY "
                                     "sent_at, id",
                                     bind_int(s->clinic[c])),
                         0);
        int r;
        while ((r = store_next(st, &err)) == 1) {
            int64_t pid = store_int(st, 1), appt = store_int(st, 2), at = store_int(st, 6);
            const char *cat = store_text(st, 3), *chan = store_text(st, 4);
            int prio = (int)store_int(st, 5);
            int p = 0;
            while (p < s->npat && s->pid[c][p] != pid)
                p++;
            assert_true(p < s->npat);
            n->sent++;
            int ci = 0;
            while (ci < n->ncat && strcmp(n->cat[ci], cat))
                ci++;
            if (ci == n->ncat && ci < 16)
                snprintf(n->cat[n->ncat++], sizeof n->cat[0], "%s", cat);
            if (ci < 16)
                n->by_cat[ci]++;
            char month[16];
            int minute = local_minute(at, sim_clinics[c].tz, month);
            if (prio >= NUDGE_URGENT)
                n->urgent++;
            else {
                n->quiet++;
                if (minute >= QUIET_START || minute < QUIET_END)
                    fail_msg("message %lld left at %02d:%02d in %s, inside quiet hours",
                             (long long)store_int(st, 0), minute / 60, minute % 60,
                             sim_clinics[c].tz);
            }
            if (strcmp(cat, "consent")) {
                n->consent++;
                if (said(c, p, "*", at) < 0 && !strcmp(chan, "sms"))
                    fail_msg("message %lld (%s) reached patient %d of clinic %d after STOP",
                             (long long)store_int(st, 0), cat, p, c);
                int cs = said(c, p, cat, at);
                if (cs < 0)
                    fail_msg("message %lld (%s) reached patient %d of clinic %d after a "
                             "withdrawal",
                             (long long)store_int(st, 0), cat, p, c);
                if (consent_promotional(cat)) {
                    n->promo++;
                    if (cs <= 0)
                        fail_msg("promotional message %lld without an opt-in", (long long)store_int(st, 0));
                    n->window++;
                    if (minute < sim_clinics[c].wstart || minute >= sim_clinics[c].wend)
                        fail_msg("promotional message %lld at %02d:%02d in %s", (long long)store_int(st, 0),
                                 minute / 60, minute % 60, sim_clinics[c].tz);
                }
            }
            if (appt && strstr(store_text(st, 9), "reminder")) {
                n->reminders++;
                int64_t begins = start_at(appt, at);
                if (begins >= 0 && at >= begins)
                    fail_msg("reminder %lld left at %lld, its visit began at %lld",
                             (long long)store_int(st, 0), (long long)at, (long long)begins);
            }
            int slot = months[c][0][0] && strcmp(months[c][0], month) ? 1 : 0;
            strcpy(months[c][slot], month);
            quota_units[c][slot] += consent_units(chan, store_text(st, 8));
            if (store_text(st, 7)[0] && nkeys < 200000) {
                char *k = malloc(160);
                snprintf(k, 160, "%lld/%s", (long long)s->clinic[c], store_text(st, 7));
                keys[nkeys++] = k;
            }
        }
        store_done(st);
        assert_int_equal(r, 0);
        if (!strcmp(sim_clinics[c].tier, "free"))
            for (int m = 0; m < 2; m++) {
                n->quota++;
                if (quota_units[c][m] > 100)
                    fail_msg("the Free clinic sent %ld units in %s", quota_units[c][m],
                             months[c][m]);
            }
    }
    qsort(keys, (size_t)nkeys, sizeof *keys, cmp_key);
    for (long k = 0; k < nkeys; k++) {
        n->twice++;
        if (k && !strcmp(keys[k], keys[k - 1]))
            fail_msg("%s left twice", keys[k]);
    }
    for (long k = 0; k < nkeys; k++)
        free(keys[k]);
    free(keys);
    /* And no notification was handed to the outbox twice. */
    int64_t twice = -1;
    assert_int_equal(store_scalar(e->n->db, &twice, &err,
                                  "SELECT COUNT(*) FROM (SELECT notification_id FROM "
                                  "delivery_attempts WHERE outcome = 'sent' GROUP BY "
                                  "notification_id HAVING COUNT(*) > 1) d"),
                     1);
    assert_int_equal(twice, 0);
    /* The Free clinic ran out: something waits with the reason quota. */
    int64_t held = 0;
    assert_int_equal(store_scalar(e->n->db, &held, &err,
                                  "SELECT COUNT(*) FROM notification_queue WHERE clinic_id = ? "
                                  "AND last_error LIKE '%quota%'",
                                  bind_int(s->clinic[1])),
                     1);
    n->held = held;
    assert_true(held > 0);
}

static int env_int(const char *name, int dflt, int max)
{
    const char *v = getenv(name);
    int x = v && *v ? atoi(v) : dflt;
    return x < 1 ? dflt : x > max ? max : x;
}

static void test_compliance_month(void **state)
{
    (void)state;
    int days = env_int("COMPLIANCE_DAYS", 9, 120);
    sim *s = calloc(1, sizeof *s);
    evs = calloc(MAXEV, sizeof *evs);
    starts = calloc(MAXAPPT * 4, sizeof *starts);
    nev = nstarts = 0;
    s->npat = env_int("COMPLIANCE_PATIENTS", 24, MAXP);
    rng_state = (uint64_t)env_int("COMPLIANCE_SEED", 17, 1 << 30);
    tu_env e;
    tu_open(&e, START);
    setup_clinics(&e, s);
    nudge_err err = {0};
    /* Half the patients agreed to tips and offers at registration. */
    for (int c = 0; c < NCLINIC; c++)
        for (int i = 0; i < s->npat; i += 2) {
            nudge_consent_entry ce = {.clinic_id = s->clinic[c], .patient_id = s->pid[c][i]};
            strcpy(ce.category, i % 4 ? "marketing" : "health_tips");
            strcpy(ce.channel, "*");
            strcpy(ce.state, "granted");
            strcpy(ce.source, "import");
            strcpy(ce.wording, "Yes, send me health tips and offers");
            if (nudge_consent_record(e.n, &ce, &err) < 0)
                step_err("consent", &err);
            log_ev(START, c, i, ce.category, 1);
        }
    for (int64_t t = START; t < START + (int64_t)days * 86400; t += STEP) {
        e.clock.t = t;
        for (int c = 0; c < NCLINIC; c++) {
            if (rnd(3) == 0)
                visit_change(&e, s, c, t);
            if (rnd(6) == 0)
                consent_change(&e, s, c, (int)rnd((unsigned)s->npat), t);
            if (rnd(48) == 0)
                broadcast(&e, s, c, t);
        }
        if (nudge_tick(e.n, NULL, &err) < 0)
            step_err("tick", &err);
    }
    counts n = {0};
    check_all(&e, s, &n);
    printf("compliance: %d days, %d clinics of %d patients: %ld messages sent, checked: "
           "%ld quiet hours (%ld urgent exempt), %ld consent, %ld promotional opt-ins and "
           "windows, %ld reminders before their visit, %ld dedupe keys once, %ld Free months "
           "within quota (%ld messages held for quota)\n",
           days, NCLINIC, s->npat, n.sent, n.quiet, n.urgent, n.consent, n.promo, n.reminders,
           n.twice, n.quota, n.held);
    printf("compliance: sent by category:");
    for (int k = 0; k < n.ncat; k++)
        printf(" %s %ld", n.cat[k], n.by_cat[k]);
    printf("\n");
    assert_true(n.sent > 0 && n.promo > 0 && n.reminders > 0);
    tu_close(&e);
    free(s);
    free(evs);
    free(starts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compliance_month),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
