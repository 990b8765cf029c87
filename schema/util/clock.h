/* clock.h -- the monotonic and realtime clocks, in nanoseconds. */
#ifndef VIDPIPE_CLOCK_H
#define VIDPIPE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: for intervals, deadlines and rates. */
int64_t clock_mono_ns(void);
/* CLOCK_REALTIME in ns: for capture stamps and ages across processes. */
int64_t clock_real_ns(void);

#endif
