/* wake.h -- sleeping on 32-bit words until they change (Linux futexes).
 *
 * A waker changes a word, then calls wake_all(); a sleeper notes a word's
 * value, checks whatever the word guards, and sleeps only if the word
 * still holds the value it noted, so no change between the check and the
 * sleep is missed.  A word is "shared" when it lives in memory mapped by
 * several processes (a shm ring's doorbell), private otherwise.
 */
#ifndef VIDPIPE_WAKE_H
#define VIDPIPE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct wake_word {
    const _Atomic uint32_t *word;
    uint32_t seen; /* sleep only while *word == seen */
    bool shared;
};

/* Wakes every thread sleeping on w. */
void wake_all(_Atomic uint32_t *w, bool shared);

/* Sleeps until one of the n (1 or 2) words differs from its seen value,
 * a wake_all() on one of them, or CLOCK_MONOTONIC reaches deadline_ns.
 * Returns 0 when woken or a word had already changed, -ETIMEDOUT, or
 * -EINTR.  May return 0 early for no reason; callers re-check. */
int wake_wait(const struct wake_word *w, unsigned n, int64_t deadline_ns);

#endif
