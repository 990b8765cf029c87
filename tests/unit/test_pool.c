/* test_pool.c -- fixed buffer pool shared with ZeroMQ. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "util/pool.h"

static void test_exhaust_and_return(void **state)
{
    (void)state;
    struct pool *p = pool_new(4, 1000);
    uint8_t *b[5];

    assert_non_null(p);
    assert_true(pool_size(p) >= 1000);
    for (int i = 0; i < 4; i++) {
        b[i] = pool_get(p);
        assert_non_null(b[i]);
        memset(b[i], i + 1, pool_size(p)); /* the whole buffer is ours */
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(b[i], b[j]);
    }
    assert_null(pool_get(p));
    assert_null(pool_get(p));
    /* No buffer overlaps another. */
    for (int i = 0; i < 4; i++)
        for (size_t k = 0; k < pool_size(p); k += 97)
            assert_int_equal(b[i][k], i + 1);

    pool_zmq_free(b[2], p);
    b[4] = pool_get(p);
    assert_ptr_equal(b[4], b[2]);
    assert_null(pool_get(p));
    for (int i = 0; i < 4; i++)
        pool_zmq_free(b[i], p);
    for (int i = 0; i < 4; i++)
        assert_non_null(b[i] = pool_get(p));
    assert_null(pool_get(p));
    for (int i = 0; i < 4; i++)
        pool_zmq_free(b[i], p);
    pool_free(p);
}

static void test_alignment(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 63, 4096, 4097, 640 * 480 * 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        struct pool *p = pool_new(3, sizes[i]);
        uint8_t *b;
        assert_non_null(p);
        assert_true(pool_size(p) >= sizes[i]);
        uint8_t *got[3];
        unsigned n = 0;
        while ((b = pool_get(p))) {
            assert_int_equal((uintptr_t)b % 4096, 0);
            b[sizes[i] - 1] = 1;
            got[n++] = b;
        }
        while (n > 0)
            pool_zmq_free(got[--n], p);
        pool_free(p);
    }
}

static void test_bad_args(void **state)
{
    (void)state;
    errno = 0;
    assert_null(pool_new(0, 100));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pool_new(4, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pool_new(100000, 100));
    assert_int_equal(errno, EINVAL);
    pool_free(NULL);
}

/* n * size that overflows once size is rounded up to whole pages must
 * fail, not produce a pool smaller than pool_size() says. */
static void test_size_overflow(void **state)
{
    (void)state;
    static const struct {
        unsigned n;
        size_t size;
    } cases[] = {
        {2, SIZE_MAX / 2},   /* rounds to 2^63; 2 * 2^63 wraps to 0 */
        {1, SIZE_MAX - 100}, /* rounding itself wraps to 0 */
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct pool *p = pool_new(cases[i].n, cases[i].size);
        if (p) {
            print_error("pool_new(%u, %zu) succeeded, pool_size %zu\n",
                        cases[i].n, cases[i].size, pool_size(p));
            bad++;
            pool_free(p);
        }
    }
    assert_int_equal(bad, 0);
}

static void test_zmq_zero_copy(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 256);
    zmq_msg_t m[2];

    assert_non_null(p);
    for (int i = 0; i < 2; i++) {
        uint8_t *b = pool_get(p);
        assert_non_null(b);
        assert_int_equal(zmq_msg_init_data(&m[i], b, 256, pool_zmq_free, p), 0);
    }
    assert_null(pool_get(p));
    zmq_msg_close(&m[0]); /* ZeroMQ hands the buffer back */
    uint8_t *b0 = pool_get(p);
    assert_non_null(b0);
    assert_null(pool_get(p));
    zmq_msg_close(&m[1]);
    uint8_t *b1 = pool_get(p);
    assert_non_null(b1);
    pool_zmq_free(b0, p);
    pool_zmq_free(b1, p);
    pool_free(p);
}

/* The owner lets go of a pool whose buffers are still out: it lives on
 * until the last one comes back (ZeroMQ's I/O thread may hand it back
 * after the publisher closed), and then it is freed (LeakSanitizer sees
 * nothing left under make asan). */
static void test_freed_when_the_last_buffer_is_back(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 4096);
    uint8_t *a = pool_get(p), *b = pool_get(p);

    assert_non_null(a);
    assert_non_null(b);
    pool_free(p);
    a[0] = b[4095] = 7; /* still the pool's memory, still writable */
    pool_zmq_free(a, p);
    b[0] = 1;
    pool_zmq_free(b, p); /* frees the pool */
}

/* Buffers are handed back from another thread (ZeroMQ's I/O thread): no
 * buffer is ever held by two users at once. */
struct hammer {
    struct pool *p;
    atomic_int *owner; /* per buffer index */
    uint8_t *base;
    int id, errors;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    size_t sz = pool_size(h->p);
    for (int i = 0; i < 20000; i++) {
        uint8_t *b = pool_get(h->p);
        if (!b)
            continue;
        size_t idx = (size_t)(b - h->base) / sz;
        int expect = 0;
        if (!atomic_compare_exchange_strong(&h->owner[idx], &expect, h->id))
            h->errors++;
        atomic_store(&h->owner[idx], 0);
        pool_zmq_free(b, h->p);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct pool *p = pool_new(3, 64);
    static atomic_int owner[3];
    struct hammer h[4];
    pthread_t t[4];
    uint8_t *bufs[3], *base;

    assert_non_null(p);
    for (int i = 0; i < 3; i++)
        bufs[i] = pool_get(p);
    base = bufs[0];
    for (int i = 1; i < 3; i++)
        if (bufs[i] < base)
            base = bufs[i];
    for (int i = 0; i < 3; i++)
        pool_zmq_free(bufs[i], p);
    for (int i = 0; i < 4; i++) {
        h[i] =
            (struct hammer){.p = p, .owner = owner, .base = base, .id = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].errors, 0);
    }
    uint8_t *left[3];
    for (int i = 0; i < 3; i++)
        assert_non_null(left[i] = pool_get(p));
    for (int i = 0; i < 3; i++)
        pool_zmq_free(left[i], p);
    pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaust_and_return),
        cmocka_unit_test(test_freed_when_the_last_buffer_is_back),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_size_overflow),
        cmocka_unit_test(test_zmq_zero_copy),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
