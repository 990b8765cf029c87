/* wake.c -- futex waits on one or two words. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/wake.h"

#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449 /* Linux 5.16, the same on every architecture */
#endif

/* Kernels without futex_waitv: sleep on the first word in slices this
 * long, looking at the second between them. */
#define FALLBACK_SLICE_NS 2000000

static int futex_op(unsigned op, bool shared)
{
    return (int)op | (shared ? 0 : FUTEX_PRIVATE_FLAG);
}

void wake_all(_Atomic uint32_t *w, bool shared)
{
    syscall(SYS_futex, w, futex_op(FUTEX_WAKE, shared), INT_MAX, NULL, NULL, 0);
}

static struct timespec abs_ts(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000,
                             .tv_nsec = ns % 1000000000};
}

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* One word; FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
static int wait_one(const struct wake_word *w, int64_t deadline_ns)
{
    struct timespec ts = abs_ts(deadline_ns);
    if (syscall(SYS_futex, w->word, futex_op(FUTEX_WAIT_BITSET, w->shared),
                w->seen, &ts, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    return errno == ETIMEDOUT || errno == EINTR ? -errno : 0;
}

static bool changed(const struct wake_word *w)
{
    return atomic_load_explicit(w->word, memory_order_acquire) != w->seen;
}

int wake_wait(const struct wake_word *w, unsigned n, int64_t deadline_ns)
{
    static _Atomic bool no_waitv;

    if (n < 2)
        return wait_one(w, deadline_ns);
    if (!atomic_load_explicit(&no_waitv, memory_order_relaxed)) {
        struct futex_waitv v[2];
        for (unsigned i = 0; i < 2; i++)
            v[i] = (struct futex_waitv){
                .val = w[i].seen,
                .uaddr = (uintptr_t)w[i].word,
                .flags = FUTEX_32 | (w[i].shared ? 0 : FUTEX_PRIVATE_FLAG)};
        struct timespec ts = abs_ts(deadline_ns);
        if (syscall(__NR_futex_waitv, v, 2, 0, &ts, CLOCK_MONOTONIC) >= 0)
            return 0;
        if (errno != ENOSYS)
            return errno == ETIMEDOUT || errno == EINTR ? -errno : 0;
        atomic_store_explicit(&no_waitv, true, memory_order_relaxed);
    }
    for (;;) {
        if (changed(&w[0]) || changed(&w[1]))
            return 0;
        int64_t now = mono_ns();
        if (now >= deadline_ns)
            return -ETIMEDOUT;
        int64_t until = now + FALLBACK_SLICE_NS;
        int rc = wait_one(&w[0], until < deadline_ns ? until : deadline_ns);
        if (rc == -EINTR)
            return rc;
    }
}
