/*
 * clock.c: the bottom of the library, with the store and the error type.
 * Every time the library reads comes from the handle's clock: the system
 * clock in production, a fake one that tests move by hand. A tick reads it
 * once and holds that instant for its whole pass (as Redis snapshots the
 * time of a command), so the planner, the dispatcher and the rows they
 * write all agree on "now" however long the sends take.
 */
#include <time.h>

#include "core.h"

static int64_t clock_system_now(nudge_clock *c)
{
    (void)c;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t clock_fake_now(nudge_clock *c)
{
    return c->t;
}

void nudge_clock_system(nudge_clock *c)
{
    c->now = clock_system_now;
    c->t = 0;
}

void nudge_clock_fake(nudge_clock *c, int64_t t)
{
    c->now = clock_fake_now;
    c->t = t;
}

int64_t clock_now(nudge *n)
{
    return n->held ? n->held_at : n->clock->now(n->clock);
}

int64_t clock_hold(nudge *n)
{
    n->held_at = n->clock->now(n->clock);
    n->held = 1;
    return n->held_at;
}

void clock_release(nudge *n)
{
    n->held = 0;
}

/* The public call, for front ends (CLI, HTTP, embedders). */
int64_t nudge_now(nudge *n)
{
    return clock_now(n);
}
