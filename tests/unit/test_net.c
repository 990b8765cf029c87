/* test_net.c -- the transport: subscriptions seen by the publisher,
 * whole messages delivered, over inproc. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "transport/xpub.h"
#include "transport/xsub.h"
#include "util/clock.h"

/* --- pub -> sub over inproc ------------------------------------------ */

static int64_t now_ms(void)
{
    return clock_mono_ns() / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the publisher's subscriptions until it wants topic (or not). */
static bool wait_wants(struct xpub *p, const char *topic, bool want)
{
    for (int64_t end = now_ms() + 3000; now_ms() < end; sleep_ms(2)) {
        xpub_poll_subs(p, NULL, NULL);
        if (xpub_wants(p, topic, strlen(topic)) == want)
            return true;
    }
    return false;
}

/* Receives one message within 3 s; the xsub_recv() result. */
static int read_one(struct xsub *s, zmq_msg_t *parts, unsigned *n)
{
    int rc = -EAGAIN;
    for (int64_t end = now_ms() + 3000; now_ms() < end; sleep_ms(1)) {
        rc = xsub_recv(s, parts, n);
        if (rc != -EAGAIN)
            break;
    }
    return rc;
}

static void close_parts(zmq_msg_t *parts, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void test_pub_sub_inproc(void **state)
{
    (void)state;
    const char *url = "inproc://test-net";
    const char *why, *which;
    struct xpub *p;
    struct xsub *s;
    zmq_msg_t parts[XSUB_MAX_PARTS], payload;
    unsigned n;
    int rc;

    if ((rc = xpub_new(&p, url, true, NULL, &why, &which)) < 0)
        fail_msg("xpub_new: %s: %s", why, strerror(-rc));
    if ((rc = xsub_new(&s, &url, NULL, 1, NULL, NULL, &why, &which)) < 0)
        fail_msg("xsub_new: %s: %s", why, strerror(-rc));

    /* Nobody wants anything until a subscription arrives. */
    xpub_poll_subs(p, NULL, NULL);
    assert_false(xpub_wants(p, "raw/cam1/", 9));
    assert_int_equal(xsub_subscribe(s, "raw/cam1/", 9, true), 0);
    assert_true(wait_wants(p, "raw/cam1/", true));
    assert_false(xpub_wants(p, "jpg/cam1/", 9));
    assert_false(xpub_wants(p, "raw/cam10/", 10));
    assert_true(xpub_wants_any(p, "raw/", 4));
    assert_false(xpub_wants_any(p, "shm/", 4));

    /* A message with its payload moved into ZeroMQ, delivered whole. */
    assert_int_equal(zmq_msg_init_size(&payload, 36), 0);
    for (int i = 0; i < 36; i++)
        ((uint8_t *)zmq_msg_data(&payload))[i] = (uint8_t)(200 - i);
    assert_int_equal(xpub_send(p, "raw/cam1/", 9, "hdr", 3, &payload), 0);
    assert_int_equal(read_one(s, parts, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(zmq_msg_size(&parts[1]), 3);
    assert_int_equal(((uint8_t *)zmq_msg_data(&parts[2]))[35], 165);
    close_parts(parts, n);

    /* A topic nobody subscribed to is filtered out by ZeroMQ. */
    assert_int_equal(zmq_msg_init_size(&payload, 20), 0);
    assert_int_equal(xpub_send(p, "jpg/cam1/", 9, "h", 1, &payload), 0);

    /* Every stream's descriptors; a two-part message. */
    assert_int_equal(xsub_subscribe(s, "shm/", 4, true), 0);
    assert_true(wait_wants(p, "shm/cam1/", true));
    assert_int_equal(xpub_send(p, "shm/cam1/", 9, "desc", 4, NULL), 0);
    assert_int_equal(read_one(s, parts, &n), 0);
    assert_int_equal(n, 2); /* not the jpeg sent before */
    assert_memory_equal(zmq_msg_data(&parts[0]), "shm/cam1/", 9);
    close_parts(parts, n);

    /* Too many parts: dropped whole, said so. */
    void *ps = xpub_socket(p);
    for (int i = 0; i < 4; i++)
        assert_true(zmq_send(ps, "raw/cam1/", 9, i < 3 ? ZMQ_SNDMORE : 0) == 9);
    assert_int_equal(read_one(s, parts, &n), -EMSGSIZE);
    assert_int_equal(n, 0);

    /* Forwarded parts arrive as they were. */
    zmq_msg_t fw[2];
    zmq_msg_init_size(&fw[0], 9);
    memcpy(zmq_msg_data(&fw[0]), "raw/cam1/", 9);
    zmq_msg_init_size(&fw[1], 2);
    memcpy(zmq_msg_data(&fw[1]), "hi", 2);
    assert_int_equal(xpub_forward(p, fw, 2), 0);
    assert_int_equal(read_one(s, parts, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(zmq_msg_data(&parts[1]), "hi", 2);
    close_parts(parts, n);

    /* Unsubscribing is seen by the publisher. */
    assert_int_equal(xsub_subscribe(s, "raw/cam1/", 9, false), 0);
    assert_true(wait_wants(p, "raw/cam1/", false));
    assert_true(xpub_wants(p, "shm/cam1/", 9));

    assert_int_equal(xsub_recv(s, parts, &n), -EAGAIN);
    xsub_free(s);
    xpub_free(p);
}

/* Polls until the publisher has refused and added these many. */
static bool wait_counts(struct xpub *p, uint64_t refused, uint64_t added,
                        uint64_t removed)
{
    for (int64_t end = now_ms() + 3000; now_ms() < end; sleep_ms(2)) {
        xpub_poll_subs(p, NULL, NULL);
        if (*xpub_sub_counter(p, XPUB_SUBS_REFUSED) == refused &&
            *xpub_sub_counter(p, XPUB_SUBS_ADDED) == added &&
            *xpub_sub_counter(p, XPUB_SUBS_REMOVED) == removed)
            return true;
    }
    return false;
}

static void *raw_sub(void *ctx, const char *url)
{
    void *s = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_connect(s, url), 0);
    return s;
}

/* One client floods subscriptions: it gets its share, the rest is
 * refused for it alone, a client after it is served, and the flood's
 * entries go when it does.  Over a real connection (ipc), so each
 * subscription names its connection. */
static void test_flood_refused_for_its_client(void **state)
{
    (void)state;
    char url[64], b[32];
    const char *why, *which;
    struct xpub *p;
    int rc;

    snprintf(url, sizeof url, "ipc:///tmp/vidpipe-test-net-%d", (int)getpid());
    if ((rc = xpub_new(&p, url, true, NULL, &why, &which)) < 0)
        fail_msg("xpub_new: %s: %s", why, strerror(-rc));
    assert_int_equal(xpub_limit_subs(p, 50, 10, "key/"), 0);
    void *ctx = zmq_ctx_new();
    void *flood = raw_sub(ctx, url);
    for (int i = 0; i < 100; i++) {
        snprintf(b, sizeof b, "junk/%d/", i);
        assert_int_equal(zmq_setsockopt(flood, ZMQ_SUBSCRIBE, b, strlen(b)), 0);
    }
    assert_true(wait_counts(p, 90, 10, 0));
    assert_int_equal(xpub_subs(p), 10);
    assert_true(xpub_wants(p, "junk/9/", 7));
    assert_false(xpub_wants(p, "junk/10/", 8));

    /* A keyframe request is answered (passed on) but never kept. */
    void *live = raw_sub(ctx, url);
    assert_int_equal(zmq_setsockopt(live, ZMQ_SUBSCRIBE, "raw/live/", 9), 0);
    assert_true(wait_wants(p, "raw/live/", true));
    assert_int_equal(zmq_setsockopt(live, ZMQ_SUBSCRIBE, "key/live/1", 10), 0);
    int passed = 0;
    for (int64_t end = now_ms() + 3000; !passed && now_ms() < end; sleep_ms(2))
        passed = xpub_poll_subs(p, NULL, NULL);
    assert_int_equal(passed, 1);
    assert_int_equal(xpub_subs(p), 11);
    assert_int_equal(xpub_send(p, "raw/live/", 9, "h", 1, NULL), 0);
    char got[16];
    zmq_pollitem_t it = {live, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    assert_int_equal(zmq_recv(live, got, sizeof got, 0), 9);

    /* The flood's entries go with it. */
    zmq_close(flood);
    assert_true(wait_counts(p, 90, 11, 10));
    assert_int_equal(xpub_subs(p), 1);
    zmq_close(live);
    zmq_ctx_term(ctx);
    xpub_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pub_sub_inproc),
        cmocka_unit_test(test_flood_refused_for_its_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
