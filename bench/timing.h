/*
 * timing.h: the clock and the percentiles every benchmark in bench/
 * reports the same way (bench/table.py puts them side by side): wall time
 * in milliseconds from CLOCK_MONOTONIC, and nearest-rank percentiles of
 * a sample of latencies. Header only: each benchmark is one C file.
 */
#ifndef NUDGE_BENCH_TIMING_H
#define NUDGE_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static inline double bench_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of n latencies, sorting them. */
static inline double bench_pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    int i = (int)(p / 100 * n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

#endif
