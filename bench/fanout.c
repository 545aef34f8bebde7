/*
 * fanout.c: a campaign's fan-out to a large segment (issue 17). Not a
 * test; `make bench` builds it, nothing runs it in `make check`.
 *
 *   build/bench/fanout [-n PATIENTS] [-d DB]
 *
 * Setup (timed apart): a scratch SQLite file in /tmp (or -d URL of an
 * empty database), one clinic, PATIENTS patients (default 100,000) who
 * all said START on SMS, inserted in bulk. Then, on the system clock:
 *
 *  - the campaign is created and `nudge_tick` called until it is
 *    completed: the time until every notification is queued (the ticks'
 *    dispatch passes run too, as in a worker);
 *  - after its first tick (the fan-out under way) a reminder is enqueued
 *    at normal priority: how long until it is sent, i.e. how long the
 *    fan-out makes a reminder wait;
 *  - the raw insert rate of the same rows, measured in the same run: the
 *    fan-out's notifications copied again into the queue by INSERT ...
 *    SELECT in transactions of the same batch size, the floor of what
 *    writing those rows costs on this store;
 *  - the process's peak RSS (getrusage), which a fan-out that loaded the
 *    segment into memory would grow with PATIENTS.
 *
 * Prints one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static double ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what, const nudge_err *e)
{
    fprintf(stderr, "fanout: %s: %s%s%s\n", what, e ? e->msg : "", e && e->field[0] ? " / " : "",
            e ? e->field : "");
    exit(2);
}

/* The reminder's send, timed when the dispatcher records it. */
static int64_t g_reminder;
static double g_sent_at = -1;
static void on_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    (void)ctx;
    (void)outcome;
    if (m->id == g_reminder && g_sent_at < 0)
        g_sent_at = ms_now();
}

int main(int argc, char **argv)
{
    int count = 100000, opt;
    char db[256];
    snprintf(db, sizeof db, "/tmp/nudge-fanout-%d.db", (int)getpid());
    while ((opt = getopt(argc, argv, "n:d:")) != -1) {
        if (opt == 'n')
            count = atoi(optarg);
        else if (opt == 'd')
            snprintf(db, sizeof db, "%s", optarg);
        else {
            fprintf(stderr, "usage: fanout [-n PATIENTS] [-d DB]\n");
            return 2;
        }
    }
    nudge_config cfg = {.db = db, .outbox_dir = "/tmp/nudge-bench-outbox"};
    nudge *n;
    nudge_err e = {0};
    if (nudge_open(&cfg, &n, &e) < 0)
        die("open", &e);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "Bench Clinic");
    snprintf(c.timezone, sizeof c.timezone, "UTC");
    snprintf(c.country, sizeof c.country, "IN");
    c.quiet_start = c.quiet_end = 0;
    if (nudge_clinic_add(n, &c, &e) < 0)
        die("clinic", &e);
    double t0 = ms_now();
    int64_t now = nudge_now(n);
    /* The bench's own setup, past the owners' calls: one statement each. */
    if (store_begin(n->db, &e) < 0 ||
        store_exec(n->db, &e,
                   "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 "
                   "< ?) INSERT INTO patients (clinic_id, name, phone, language, created_at, "
                   "updated_at) SELECT ?, 'Patient ' || i, '+91' || (9800000000 + i), CASE "
                   "WHEN i % 2 = 1 THEN 'hi' ELSE 'en' END, ?, ? FROM s",
                   bind_int(count), bind_int(c.id), bind_int(now), bind_int(now)) < 0 ||
        store_exec(n->db, &e,
                   "INSERT INTO consent_ledger (clinic_id, patient_id, category, channel, "
                   "state, source, actor, message, at) SELECT clinic_id, id, '*', 'sms', "
                   "'granted', 'inbound_keyword', 'patient', 'START', ? FROM patients WHERE "
                   "clinic_id = ?",
                   bind_int(now), bind_int(c.id)) < 0 ||
        store_commit(n->db, &e) < 0)
        die("setup", &e);
    double setup_ms = ms_now() - t0;

    nudge_broadcast_spec s = {.kind = "campaign",
                              .name = "Bench campaign",
                              .criteria = "{\"language\": [\"en\", \"hi\"]}",
                              .text = "{\"en\": \"Hello {patient_name}, 20% off check-ups\", "
                                      "\"hi\": \"नमस्ते {patient_name}\"}"};
    int64_t id, patient = 0, reminder = 0;
    double start = ms_now(), enq = 0, sent_ms = -1;
    nudge_on_sent(n, on_sent, NULL);
    if (nudge_broadcast_create(n, c.id, &s, &id, &e) < 0)
        die("campaign", &e);
    int ticks = 0;
    for (;;) {
        nudge_tick_stats st;
        if (nudge_tick(n, &st, &e) < 0)
            die("tick", &e);
        ticks++;
        if (!reminder) {
            store_scalar(n->db, &patient, &e, "SELECT MIN(id) FROM patients WHERE clinic_id = ?",
                         bind_int(c.id));
            nudge_send m = {.patient_id = patient,
                            .template_name = "appointment_reminder",
                            .priority = NUDGE_NORMAL};
            nudge_vars v = {0};
            nudge_vars_set(&v, "service", "Cleaning");
            nudge_vars_set(&v, "date", "2 Dec");
            nudge_vars_set(&v, "time", "10:00");
            m.vars = &v;
            int created;
            enq = ms_now();
            if (nudge_enqueue(n, c.id, &m, &reminder, &created, &e) < 0)
                die("reminder", &e);
            g_reminder = reminder;
            nudge_vars_free(&v);
        } else if (sent_ms < 0 && g_sent_at >= 0)
            sent_ms = g_sent_at - enq;
        nudge_broadcast b;
        if (nudge_broadcast_get(n, c.id, id, &b, &e) < 0)
            die("get", &e);
        int done = !strcmp(b.status, "completed");
        nudge_broadcast_free(&b);
        if (done && sent_ms >= 0)
            break;
    }
    double fanout_ms = ms_now() - start;
    nudge_delivery_stats st[2];
    int nst;
    if (nudge_get_delivery_stats(n, c.id, id, st, 2, &nst, &e) < 0)
        die("stats", &e);

    /* The same rows again, raw: batches of the fan-out's size, each its
     * own transaction. */
    int64_t after = 0, copied = 0, top = 0;
    store_scalar(n->db, &top, &e, "SELECT MAX(id) FROM notification_queue WHERE clinic_id = ?",
                 bind_int(c.id));
    double raw0 = ms_now();
    for (;;) {
        int64_t last = 0;
        if (store_begin(n->db, &e) < 0 ||
            store_scalar(n->db, &last, &e,
                         "SELECT MAX(id) FROM (SELECT id FROM notification_queue WHERE "
                         "clinic_id = ? AND broadcast_id = ? AND id > ? AND id <= ? ORDER BY id "
                         "LIMIT ?) x",
                         bind_int(c.id), bind_int(id), bind_int(after), bind_int(top),
                         bind_int(BROADCAST_BATCH)) < 0)
            die("raw", &e);
        if (!last) {
            store_rollback(n->db);
            break;
        }
        if (store_exec(n->db, &e,
                       "INSERT INTO notification_queue (clinic_id, patient_id, broadcast_id, "
                       "channel, recipient, template, language, category, subject, body, html, "
                       "segments, priority, status, due_at, dedupe_key, max_retries, "
                       "created_at, updated_at) SELECT clinic_id, patient_id, NULL, "
                       "channel, recipient, template, language, category, subject, body, html, "
                       "segments, priority, 'cancelled', due_at, dedupe_key || ':raw', "
                       "max_retries, created_at, updated_at FROM notification_queue WHERE "
                       "clinic_id = ? AND broadcast_id = ? AND id > ? AND id <= ?",
                       bind_int(c.id), bind_int(id), bind_int(after), bind_int(last)) < 0)
            die("raw", &e);
        copied += store_changes(n->db);
        if (store_commit(n->db, &e) < 0)
            die("raw", &e);
        after = last;
    }
    double raw_ms = ms_now() - raw0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"bench\": \"fanout\", \"engine\": \"%s\", \"patients\": %d, \"setup_ms\": %.0f, "
           "\"queued\": %lld, \"skipped\": %lld, \"ticks\": %d, \"fanout_ms\": %.0f, "
           "\"fanout_rows_per_s\": %.0f, \"reminder_wait_ms\": %.1f, \"raw_rows\": %lld, "
           "\"raw_ms\": %.0f, \"raw_rows_per_s\": %.0f, \"peak_rss_kb\": %ld}\n",
           store_engine(n->db), count, setup_ms, (long long)st[0].queued,
           (long long)st[0].skipped, ticks, fanout_ms, st[0].total / (fanout_ms / 1e3), sent_ms,
           (long long)copied, raw_ms, copied / (raw_ms / 1e3), ru.ru_maxrss);
    nudge_close(n);
    if (!strchr(db, ':'))
        for (const char *x = ""; x; x = !*x ? "-wal" : !strcmp(x, "-wal") ? "-shm" : NULL) {
            char f[300];
            snprintf(f, sizeof f, "%s%s", db, x);
            unlink(f);
        }
    return 0;
}
