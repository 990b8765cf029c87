/* pool.c -- fixed buffers shared with ZeroMQ's I/O thread. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/pool.h"

#define POOL_MAX 32

struct pool {
    /* One for the owner and one for each buffer out: whoever drops the
     * last frees the pool, so an owner can let go of a pool whose
     * buffers are still in ZeroMQ's hands. */
    _Atomic unsigned refs;
    unsigned n;
    size_t size;
    uint8_t *mem;
    atomic_bool busy[POOL_MAX];
};

struct pool *pool_new(unsigned n, size_t size)
{
    struct pool *p;
    /* Page-aligned so large frames start on a fresh page. */
    if (n == 0 || n > POOL_MAX || size == 0 || size > SIZE_MAX - 4095 ||
        ((size + 4095) & ~(size_t)4095) > SIZE_MAX / n) {
        errno = EINVAL;
        return NULL;
    }
    size = (size + 4095) & ~(size_t)4095;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    if (posix_memalign((void **)&p->mem, 4096, size * n)) {
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->n = n;
    p->size = size;
    for (unsigned i = 0; i < n; i++)
        atomic_init(&p->busy[i], false);
    return p;
}

static void unref(struct pool *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        free(p->mem);
        free(p);
    }
}

void pool_free(struct pool *p)
{
    if (p)
        unref(p);
}

size_t pool_size(const struct pool *p)
{
    return p->size;
}

uint8_t *pool_get(struct pool *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        bool expect = false;
        if (atomic_compare_exchange_strong(&p->busy[i], &expect, true)) {
            atomic_fetch_add(&p->refs, 1);
            return p->mem + (size_t)i * p->size;
        }
    }
    return NULL;
}

void pool_zmq_free(void *buf, void *pool)
{
    struct pool *p = pool;
    size_t i = (size_t)((uint8_t *)buf - p->mem) / p->size;
    atomic_store(&p->busy[i], false);
    unref(p);
}
