/* guard.c -- mappings of shared memory that a SIGBUS cannot kill us
 * through (RING.md 7). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "util/guard.h"

/* Every ring mapping of the process at once: a reader's 64 cached ones
 * and the frames still holding others, a relay's or publisher's own
 * (a relay re-hosting many remote cameras). */
#define GUARDS 512

/* A mapping of ring memory that the SIGBUS handler may repair.  Claimed
 * and released by its owner, read by the handler: atomics only. */
struct guard {
    _Atomic unsigned seq;   /* odd while base, size and prot change */
    _Atomic uintptr_t base; /* 0: free */
    _Atomic uintptr_t size;
    _Atomic int prot;
    _Atomic int broken; /* a fault hit it: zero pages back it now */
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
               "the SIGBUS handler may use lock-free atomics only");

static struct guard guards[GUARDS];
static struct sigaction bus_prev; /* the handler ours displaced */
static _Atomic int bus_chaining;  /* against a handler chaining back */
static pthread_mutex_t bus_mu = PTHREAD_MUTEX_INITIALIZER;
static const struct sigaction bus_default; /* zero: SIG_DFL, no flags */

/* Maps zero pages over the guarded mapping holding address a, if any:
 * the access that faulted and every later one then see zeros (no
 * generation a descriptor names), and writes land nowhere.  Runs in the
 * signal handler: atomics and mmap only. */
static bool repair(uintptr_t a)
{
    for (unsigned i = 0; i < GUARDS; i++) {
        struct guard *g = &guards[i];
        unsigned s = atomic_load_explicit(&g->seq, memory_order_acquire);
        uintptr_t b = atomic_load_explicit(&g->base, memory_order_acquire);
        uintptr_t n = atomic_load_explicit(&g->size, memory_order_acquire);
        int prot = atomic_load_explicit(&g->prot, memory_order_acquire);
        if ((s & 1) || b == 0 || a - b >= n ||
            atomic_load_explicit(&g->seq, memory_order_relaxed) != s)
            continue;
        if (mmap((void *)b, n, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0) == MAP_FAILED)
            return false;
        atomic_store_explicit(&g->broken, 1, memory_order_release);
        return true;
    }
    return false;
}

/* Passes a SIGBUS that is not ours on to the handler we displaced, or
 * takes the default action (death with a core) as if we were not here. */
static void bus_chain(int sig, siginfo_t *si, void *ctx)
{
    void (*h)(int) = bus_prev.sa_handler;
    bool sent = !si || si->si_code <= 0; /* kill(), not a fault */

    if (h != SIG_DFL && h != SIG_IGN &&
        !atomic_exchange_explicit(&bus_chaining, 1, memory_order_acq_rel)) {
        if (bus_prev.sa_flags & SA_SIGINFO)
            bus_prev.sa_sigaction(sig, si, ctx);
        else
            h(sig);
        atomic_store_explicit(&bus_chaining, 0, memory_order_release);
        return;
    }
    if (h == SIG_IGN && sent)
        return;
    sigaction(SIGBUS, &bus_default, NULL);
    if (sent) /* a fault comes back by itself when we return */
        raise(sig);
}

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
    int saved = errno;
    /* Only an access past the end of what backs a mapping: the fault a
     * segment cut short (or a tmpfs out of pages) raises. */
    bool ours =
        si && si->si_code == BUS_ADRERR && repair((uintptr_t)si->si_addr);

    errno = saved;
    if (!ours)
        bus_chain(sig, si, ctx);
}

/* Installs the handler, or again if another one has displaced it (that
 * one is then chained to). */
static void bus_install(void)
{
    struct sigaction cur, sa;

    pthread_mutex_lock(&bus_mu);
    if (sigaction(SIGBUS, NULL, &cur) == 0 &&
        !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_bus)) {
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_bus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        bus_prev = cur;
        sigaction(SIGBUS, &sa, NULL);
    }
    pthread_mutex_unlock(&bus_mu);
}

/* Guards the mapping [base, base + size) before it is first touched:
 * the guard's index, or -1 if every guard is taken. */
int guard_claim(const void *base, size_t size, int prot)
{
    bus_install();
    for (unsigned i = 0; i < GUARDS; i++) {
        struct guard *g = &guards[i];
        unsigned s = atomic_load(&g->seq);
        if ((s & 1) || atomic_load(&g->base) != 0 ||
            !atomic_compare_exchange_strong(&g->seq, &s, s + 1))
            continue;
        atomic_store_explicit(&g->size, size, memory_order_relaxed);
        atomic_store_explicit(&g->prot, prot, memory_order_relaxed);
        atomic_store_explicit(&g->broken, 0, memory_order_relaxed);
        atomic_store_explicit(&g->base, (uintptr_t)base, memory_order_relaxed);
        atomic_store_explicit(&g->seq, s + 2, memory_order_release);
        return (int)i;
    }
    return -EMFILE;
}

/* Releases guard i (before its mapping is unmapped); accepts -1. */
void guard_release(int i)
{
    if (i < 0)
        return;
    struct guard *g = &guards[i];
    unsigned s = atomic_load_explicit(&g->seq, memory_order_relaxed);
    atomic_store_explicit(&g->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&g->base, 0, memory_order_relaxed);
    atomic_store_explicit(&g->size, 0, memory_order_relaxed);
    atomic_store_explicit(&g->seq, s + 2, memory_order_release);
}

/* True if a fault hit guard i's mapping (it holds zero pages now). */
bool guard_broken(int i)
{
    return i >= 0 &&
           atomic_load_explicit(&guards[i].broken, memory_order_acquire);
}
