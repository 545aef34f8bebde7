/*
 * demo.c: what a newcomer sees first. A dental clinic in Bengaluru with
 * three patients (Hindi by SMS, English by email, English by WhatsApp) and
 * appointments over the next days; the replay drives a simulated clock in
 * 15-minute steps through the real scheduler, queue and outbox, and prints
 * each message as the patient would get it. Staff actions happen on the
 * way (a reschedule, a cancellation, a completed visit, a no-show) so every
 * kind of plan shows up.
 */
#include "demo.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tz.h"
#include "util.h"

#define DEMO_TZ "Asia/Kolkata"

static int64_t at_local(int64_t base_day, int day, int hour, int minute)
{
    /* base_day is local midnight; Asia/Kolkata has no DST, but go through
     * tz anyway so the demo shows the right way. */
    tz_local l;
    tz_to_local(base_day + (int64_t)day * 86400 + 12 * 3600, DEMO_TZ, &l);
    l.hour = hour;
    l.minute = minute;
    l.second = 0;
    int64_t t;
    tz_from_local(&l, DEMO_TZ, &t);
    return t;
}

static int64_t local_midnight(int64_t now)
{
    tz_local l;
    tz_to_local(now, DEMO_TZ, &l);
    l.hour = l.minute = l.second = 0;
    int64_t t;
    tz_from_local(&l, DEMO_TZ, &t);
    return t;
}

typedef struct demo_ids {
    int64_t clinic, ram, priya, john;
    int64_t a_ram, a_priya, a_john, a_ram2;
} demo_ids;

static int demo_add(nudge *n, int64_t now, demo_ids *d, nudge_err *err)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Smile Dental");
    strcpy(c.timezone, DEMO_TZ);
    strcpy(c.country, "IN");
    strcpy(c.phone, "080 4123 4567");
    strcpy(c.email, "front-desk@smile-dental.example");
    strcpy(c.address, "12 MG Road, Bengaluru");
    if (nudge_clinic_add(n, &c, err) < 0)
        return -1;
    d->clinic = c.id;

    struct {
        const char *name, *phone, *email, *lang, *channel;
        int64_t *id;
    } ps[] = {
        {"Ram Lal", "98765 43210", "", "hi", "sms", &d->ram},
        {"Priya Sharma", "", "priya@example.com", "en", "email", &d->priya},
        {"John Mathew", "+91 99000 11223", "", "en", "whatsapp", &d->john},
    };
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        nudge_patient p;
        nudge_patient_init(&p);
        p.clinic_id = c.id;
        strcpy(p.name, ps[i].name);
        strcpy(p.phone, ps[i].phone);
        strcpy(p.email, ps[i].email);
        strcpy(p.language, ps[i].lang);
        strcpy(p.preferred_channel, ps[i].channel);
        if (nudge_patient_add(n, &p, err) < 0)
            return -1;
        *ps[i].id = p.id;
    }
    int64_t day0 = local_midnight(now);
    struct {
        int64_t patient;
        const char *service, *doctor;
        int day, hour, minute;
        int64_t *id;
    } as[] = {
        {d->ram, "Teeth Cleaning", "Dr. Mehta", 1, 10, 0, &d->a_ram},
        {d->priya, "Root Canal", "Dr. Iyer", 1, 16, 30, &d->a_priya},
        {d->john, "Dental Check-up", "Dr. Mehta", 2, 9, 0, &d->a_john},
        {d->ram, "Filling", "Dr. Mehta", 3, 11, 0, &d->a_ram2},
    };
    for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
        nudge_appointment a;
        memset(&a, 0, sizeof a);
        a.patient_id = as[i].patient;
        strcpy(a.service, as[i].service);
        strcpy(a.provider, as[i].doctor);
        a.start_at = at_local(day0, as[i].day, as[i].hour, as[i].minute);
        a.duration_min = 45;
        if (nudge_appointment_add(n, c.id, &a, err) < 0)
            return -1;
        *as[i].id = a.id;
    }
    return 0;
}

static int demo_count(void *ctx, const nudge_clinic *c)
{
    (void)c;
    ++*(int *)ctx;
    return 1;
}

int demo_seed(nudge *n, int64_t now, int64_t *clinic_id, nudge_err *err)
{
    int count = 0;
    *clinic_id = 0;
    if (nudge_clinic_list(n, 0, 1, demo_count, &count, err) < 0)
        return -1;
    if (count)
        return 0;
    demo_ids d;
    if (demo_add(n, now, &d, err) < 0)
        return -1;
    *clinic_id = d.clinic;
    return 0;
}

typedef struct demo_print {
    FILE *out;
    nudge *n;
    int count;
} demo_print;

static void demo_on_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    demo_print *dp = ctx;
    int64_t now = nudge_now(dp->n);
    char date[48], time[48];
    tz_format_date(now, DEMO_TZ, "en", date, sizeof date);
    tz_format_time(now, DEMO_TZ, "en", time, sizeof time);
    nudge_patient p;
    nudge_err e;
    const char *who = nudge_patient_get(dp->n, m->clinic_id, m->patient_id, &p, &e) == 0
                          ? p.name
                          : "?";
    fprintf(dp->out, "%s %s  %-8s %-9s %-14s %s (%s)\n", date, time, outcome, m->channel, who,
            m->template_name, m->language);
    if (!strcmp(outcome, "sent")) {
        dp->count++;
        if (m->subject)
            fprintf(dp->out, "%24s Subject: %s\n", "", m->subject);
        /* Show the message as the patient reads it, one line per line. */
        const char *s = m->body;
        while (s && *s) {
            const char *nl = strchr(s, '\n');
            int len = nl ? (int)(nl - s) : (int)strlen(s);
            if (len)
                fprintf(dp->out, "%24s | %.*s\n", "", len, s);
            s = nl ? nl + 1 : NULL;
        }
    }
}

static void demo_say(FILE *out, nudge *n, const char *what)
{
    char date[48], time[48];
    int64_t now = nudge_now(n);
    tz_format_date(now, DEMO_TZ, "en", date, sizeof date);
    tz_format_time(now, DEMO_TZ, "en", time, sizeof time);
    fprintf(out, "%s %s  staff    %s\n", date, time, what);
}

static int demo_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int demo_replay(FILE *out, int days, int keep, nudge_err *err)
{
    /* The scratch folder goes under $TMPDIR (else /tmp), and goes away at
     * the end unless keep asks to look at it afterwards. */
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/nudge-demo-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return err_set(err, NUDGE_EIO, "", "cannot make a scratch folder in %.400s",
                       tmp && tmp[0] ? tmp : "/tmp");
    char db[600], outbox[600];
    snprintf(db, sizeof db, "%s/demo.db", dir);
    snprintf(outbox, sizeof outbox, "%s/outbox", dir);

    /* Start at 09:00 today, clinic time, on a simulated clock. */
    nudge_clock real, clock;
    nudge_clock_system(&real);
    int64_t day0 = local_midnight(real.now(&real));
    nudge_clock_fake(&clock, at_local(day0, 0, 9, 0));
    nudge_config cfg = {.db = db, .outbox_dir = outbox, .clock = &clock};
    nudge *n;
    if (nudge_open(&cfg, &n, err) < 0)
        return -1;
    demo_print dp = {.out = out, .n = n};
    nudge_on_sent(n, demo_on_sent, &dp);
    demo_ids d;
    int rc = -1;
    fprintf(out, "nudge demo: Smile Dental (Asia/Kolkata), quiet hours 21:00-08:00,\n"
                 "reminders 24 h and 2 h before each visit. %d simulated days.\n"
                 "Database and outbox: %s%s\n\n",
            days, dir, keep ? "" : " (removed at the end; --keep keeps it)");
    demo_say(out, n, "books 4 appointments for Ram (Hindi, SMS), Priya (email), John (WhatsApp)");
    if (demo_add(n, clock.t, &d, err) < 0)
        goto out;
    int64_t end = clock.t + (int64_t)days * 86400;
    int resched = 0, cancelled = 0, completed = 0, noshow = 0;
    for (; clock.t <= end; clock.t += 15 * 60) {
        nudge_tick_stats st;
        if (nudge_tick(n, &st, err) < 0)
            goto out;
        /* Staff actions, each once, at a plausible moment. */
        if (!resched && clock.t >= at_local(day0, 0, 12, 0)) {
            resched = 1;
            demo_say(out, n, "John asks to move his check-up to 11:30 the same day");
            if (nudge_appointment_reschedule(n, d.clinic, d.a_john, at_local(day0, 2, 11, 30),
                                             err) < 0)
                goto out;
        }
        if (!cancelled && clock.t >= at_local(day0, 1, 18, 0)) {
            cancelled = 1;
            demo_say(out, n, "Ram cancels his filling; its reminders are dropped");
            if (nudge_appointment_cancel(n, d.clinic, d.a_ram2, err) < 0)
                goto out;
        }
        if (!completed && clock.t >= at_local(day0, 1, 11, 0)) {
            completed = 1;
            demo_say(out, n, "Ram's cleaning is done: a follow-up is planned for tomorrow");
            if (nudge_appointment_complete(n, d.clinic, d.a_ram, err) < 0)
                goto out;
        }
        if (!noshow && clock.t >= at_local(day0, 1, 17, 30)) {
            noshow = 1;
            demo_say(out, n, "Priya did not come to her root canal");
            if (nudge_appointment_no_show(n, d.clinic, d.a_priya, err) < 0)
                goto out;
        }
    }
    int64_t counts[NUDGE_N_STATUS];
    if (nudge_queue_status(n, d.clinic, counts, err) < 0)
        goto out;
    fprintf(out, "\n%d messages sent. Queue:", dp.count);
    for (int i = 0; i < NUDGE_N_STATUS; i++)
        if (counts[i])
            fprintf(out, " %s %lld", nudge_status_names[i], (long long)counts[i]);
    if (keep)
        fprintf(out, "\nThe messages are files in %s; the database is %s.\n", outbox, db);
    else
        fprintf(out, "\n(Run with --keep to keep the database and the messages' files.)\n");
    rc = 0;
out:
    nudge_close(n);
    if (!keep)
        nftw(dir, demo_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
