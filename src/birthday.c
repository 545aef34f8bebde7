/*
 * birthday.c: birthday wishes (issue 9). No table of its own: birthday_scan,
 * run by the tick, finds the patients whose birthday it is somewhere on
 * Earth (the UTC date and the days either side: every zone's today is among
 * them), keeps those for whom it is their birthday today in their own zone
 * (29 February falls on 28 February in a common year), and plans the wishes
 * for their preferred time today (at once if that has passed), expiring at
 * their midnight. The plan's subject is birthday:<patient> and its
 * occurrence the year, so however often the scan runs, a patient gets one
 * wish a year.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "tz.h"
#include "util.h"

static int birthday_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

typedef struct birthday_who {
    int64_t clinic_id, patient_id;
} birthday_who;

/* Plans the wishes if today is the patient's birthday in their zone. */
static int birthday_one(nudge *n, const void *item, int64_t now, nudge_err *err)
{
    int64_t clinic_id = ((const birthday_who *)item)->clinic_id;
    int64_t patient_id = ((const birthday_who *)item)->patient_id;
    nudge_clinic c;
    nudge_patient p;
    tz_local today;
    int y, m, d;
    if (nudge_clinic_get(n, clinic_id, &c, err) < 0 ||
        nudge_patient_get(n, clinic_id, patient_id, &p, err) < 0)
        return -1;
    if (sscanf(p.dob, "%d-%d-%d", &y, &m, &d) != 3)
        return 0;
    tz_to_local(now, reminder_zone(&c, &p), &today);
    if (m == 2 && d == 29 && !birthday_leap(today.year))
        d = 28;
    if (today.month != m || today.day != d)
        return 0;
    today.hour = today.minute = today.second = 0;
    char subject[48], occurrence[16];
    snprintf(subject, sizeof subject, "birthday:%lld", (long long)p.id);
    snprintf(occurrence, sizeof occurrence, "%d", today.year);
    int64_t due = reminder_local_at(&c, &p, &today, 0), midnight;
    tz_local next = today;
    next.day++;
    tz_from_local(&next, reminder_zone(&c, &p), &midnight);
    reminder_spec rs = {
        .clinic_id = c.id,
        .patient_id = p.id,
        .kind = "birthday",
        .template_name = "birthday_wishes",
        .subject = subject,
        .occurrence = occurrence,
        .due_at = due > now ? due : now,
        .expires_at = midnight,
    };
    return reminder_plan(n, &rs, NULL, err);
}

int birthday_scan(nudge *n, int64_t now, nudge_err *err)
{
    char days[4][6];
    int nd = 0;
    for (int k = -1; k <= 1; k++) {
        tz_local l;
        tz_to_local(now + k * 86400, "UTC", &l);
        snprintf(days[nd++], sizeof days[0], "%02u-%02u", (unsigned)l.month % 100u,
                 (unsigned)l.day % 100u);
        if (l.month == 2 && l.day == 28 && !birthday_leap(l.year))
            str_copy(days[nd++], sizeof days[0], "02-29");
    }
    for (int i = 0; i < nd; i++) {
        int64_t after = 0;
        for (;;) {
            int64_t ids[128], clinics[128];
            int k = patient_born_on(n, days[i], after, ids, clinics, 128, err);
            if (k < 0)
                return -1;
            birthday_who who[128];
            for (int j = 0; j < k; j++)
                who[j] = (birthday_who){clinics[j], ids[j]};
            if (reminder_each(n, who, sizeof who[0], k, now, birthday_one, err) < 0)
                return -1;
            if (k < 128)
                break;
            after = ids[k - 1];
        }
    }
    return 0;
}
