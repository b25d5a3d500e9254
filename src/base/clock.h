/* The monotonic clock, for timeouts, rates and durations (never for wall-clock time). */
#ifndef VESSEL_BASE_CLOCK_H
#define VESSEL_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Milliseconds of CLOCK_MONOTONIC, with the nanoseconds as the fraction. */
static inline double clock_now_ms(void)
{
    return (double)clock_now_ns() / 1e6;
}

#endif
