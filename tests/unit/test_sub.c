/* test_sub.c -- validation of received messages, and a pub -> sub trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zmq.h>

#include "contract/frame.h"
#include "util/log.h"
#include "transport/net.h"
#include "transport/xpub.h"
#include "transport/xsub.h"
#include "contract/topic.h"

static struct frame_hdr mkhdr(enum frame_enc enc, bool shm)
{
    struct frame_hdr h;
    memset(&h, 0, sizeof h);
    h.version = FRAME_SCHEMA_VERSION;
    strcpy(h.stream, "cam1");
    h.seq = 9;
    h.t_real_ns = 1700000000000000000LL;
    h.t_mono_ns = 5000000000LL;
    h.width = 4;
    h.height = 3;
    h.stride = 12;
    h.fmt = PIXFMT_BGR24;
    h.enc = enc;
    h.size = enc == ENC_RAW ? 36 : 20;
    if (shm) {
        h.has_shm = true;
        strcpy(h.shm.name, "/vidpipe-cam1");
        h.shm.token = 77;
        h.shm.slot = 1;
        h.shm.gen = 2;
    }
    return h;
}

static void set_part(zmq_msg_t *m, const void *p, size_t n)
{
    assert_int_equal(zmq_msg_init_size(m, n), 0);
    if (n)
        memcpy(zmq_msg_data(m), p, n);
}

/* Fills f with [topic, header (encoded from h), payload of plen bytes]
 * and as many of those parts as nparts says. */
static void build(struct sub_frame *f, const char *topic, size_t tlen,
                  const struct frame_hdr *h, size_t plen, unsigned nparts)
{
    uint8_t hdr[FRAME_HDR_MAX], payload[4096];
    int n = frame_encode(h, false, hdr, sizeof hdr);

    assert_true(n > 0);
    assert_true(plen <= sizeof payload);
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)i;
    sub_frame_init(f);
    if (nparts >= 1)
        set_part(&f->parts[0], topic, tlen);
    if (nparts >= 2)
        set_part(&f->parts[1], hdr, (size_t)n);
    if (nparts >= 3)
        set_part(&f->parts[2], payload, plen);
    f->nparts = nparts;
}

static int check(const char *topic, const struct frame_hdr *h, size_t plen,
                 unsigned nparts, struct sub_frame *f, const char **why)
{
    build(f, topic, strlen(topic), h, plen, nparts);
    *why = NULL;
    return sub_frame_check(f, why);
}

static void expect_bad(const char *topic, const struct frame_hdr *h,
                       size_t plen, unsigned nparts, int line)
{
    struct sub_frame f;
    const char *why;
    int rc = check(topic, h, plen, nparts, &f, &why);
    sub_frame_fini(&f);
    if (rc != -EBADMSG)
        fail_msg("line %d: accepted (rc %d)", line, rc);
    if (!why || !*why)
        fail_msg("line %d: no reason", line);
}
#define BAD(t, h, plen, nparts) expect_bad(t, h, plen, nparts, __LINE__)

static void test_valid_raw(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, false);
    struct sub_frame f;
    const char *why;

    assert_int_equal(check("raw/cam1/", &h, 36, 3, &f, &why), 0);
    assert_int_equal(f.var, VAR_RAW);
    assert_string_equal(f.hdr.stream, "cam1");
    assert_true(f.hdr.seq == 9);
    assert_int_equal(f.len, 36);
    assert_ptr_equal(f.data, zmq_msg_data(&f.parts[2]));
    assert_int_equal(f.data[35], 35);
    sub_frame_fini(&f);
    assert_int_equal(f.nparts, 0);
    assert_null(f.data);
}

static void test_valid_jpeg_and_shm(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_JPEG, false);
    struct sub_frame f, g;
    const char *why;

    assert_int_equal(check("jpg/cam1/", &h, 20, 3, &f, &why), 0);
    assert_int_equal(f.var, VAR_JPEG);
    assert_int_equal(f.len, 20);
    sub_frame_fini(&f);

    h = mkhdr(ENC_RAW, true);
    assert_int_equal(check("shm/cam1/", &h, 0, 2, &f, &why), 0);
    assert_int_equal(f.var, VAR_SHM);
    assert_true(f.hdr.has_shm);
    assert_string_equal(f.hdr.shm.name, "/vidpipe-cam1");
    assert_null(f.data);
    assert_int_equal(f.len, 0);

    /* A raw payload message may also carry a descriptor. */
    assert_int_equal(check("raw/cam1/", &h, 36, 3, &g, &why), 0);
    /* move: g takes f's parts; f is left empty. */
    sub_frame_move(&g, &f);
    assert_int_equal(f.nparts, 0);
    assert_int_equal(g.nparts, 2);
    assert_int_equal(g.var, VAR_SHM);
    sub_frame_fini(&f);
    sub_frame_fini(&g);
}

static void test_bad_parts(void **state)
{
    (void)state;
    struct frame_hdr raw = mkhdr(ENC_RAW, false);
    struct frame_hdr shm = mkhdr(ENC_RAW, true);

    BAD("raw/cam1/", &raw, 36, 0);
    BAD("raw/cam1/", &raw, 36, 1);
    BAD("raw/cam1/", &raw, 36, 2); /* payload missing */
    BAD("jpg/cam1/", &raw, 36, 2);
    BAD("shm/cam1/", &raw, 0, 2);  /* shm topic, no descriptor */
    BAD("shm/cam1/", &shm, 36, 3); /* shm topic with a payload part */
}

static void test_bad_topic(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, false);

    BAD("raw/cam2/", &h, 36, 3); /* stream mismatch */
    BAD("raw/cam10/", &h, 36, 3);
    BAD("raw/cam/", &h, 36, 3);
    BAD("raw/cam1", &h, 36, 3);
    BAD("raw/", &h, 36, 3);
    BAD("png/cam1/", &h, 36, 3);
    BAD("", &h, 36, 3);
}

static void test_enc_mismatch(void **state)
{
    (void)state;
    struct frame_hdr jpeg = mkhdr(ENC_JPEG, false);
    struct frame_hdr raw = mkhdr(ENC_RAW, false);

    BAD("raw/cam1/", &jpeg, 20, 3); /* raw topic, jpeg header */
    BAD("jpg/cam1/", &raw, 36, 3);  /* jpg topic, raw header */
}

static void test_payload_length(void **state)
{
    (void)state;
    struct frame_hdr raw = mkhdr(ENC_RAW, false);
    struct frame_hdr jpeg = mkhdr(ENC_JPEG, false);

    BAD("raw/cam1/", &raw, 35, 3);
    BAD("raw/cam1/", &raw, 37, 3);
    BAD("raw/cam1/", &raw, 0, 3);
    BAD("jpg/cam1/", &jpeg, 19, 3);
    BAD("jpg/cam1/", &jpeg, 21, 3);
}

static void test_bad_header(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, false);
    uint8_t hdr[FRAME_HDR_MAX + 16];
    struct sub_frame f;
    const char *why = NULL;
    int n;

    /* Garbage header bytes. */
    build(&f, "raw/cam1/", 9, &h, 36, 3);
    zmq_msg_close(&f.parts[1]);
    set_part(&f.parts[1], "\xc1garbage", 8);
    assert_int_equal(sub_frame_check(&f, &why), -EBADMSG);
    assert_non_null(why);
    sub_frame_fini(&f);

    /* Empty header part. */
    build(&f, "raw/cam1/", 9, &h, 36, 3);
    zmq_msg_close(&f.parts[1]);
    set_part(&f.parts[1], "", 0);
    why = NULL;
    assert_int_equal(sub_frame_check(&f, &why), -EBADMSG);
    assert_non_null(why);
    sub_frame_fini(&f);

    /* A header carrying "data" does not belong on ZeroMQ. */
    h.size = 36;
    n = frame_encode(&h, true, hdr, FRAME_HDR_MAX);
    assert_true(n > 0);
    memset(hdr + n, 0, 36);
    build(&f, "raw/cam1/", 9, &h, 36, 3);
    zmq_msg_close(&f.parts[1]);
    set_part(&f.parts[1], hdr, (size_t)n + 36);
    why = NULL;
    assert_int_equal(sub_frame_check(&f, &why), -EBADMSG);
    assert_non_null(why);
    sub_frame_fini(&f);

    /* Inconsistent header: raw size not stride * height. */
    h = mkhdr(ENC_RAW, false);
    h.size = 35;
    BAD("raw/cam1/", &h, 35, 3);
}

/* A topic whose stream is one byte too long (TOPIC_MAX bytes in all):
 * rejected, and (under AddressSanitizer) without writing past
 * sub_frame_check()'s stream buffer. */
static void test_topic_too_long(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, false);
    char t[TOPIC_MAX + 1];

    memcpy(t, "raw/", 4);
    memset(t + 4, 'a', FRAME_STREAM_MAX + 1);
    t[5 + FRAME_STREAM_MAX] = '/';
    t[6 + FRAME_STREAM_MAX] = 0;
    assert_int_equal(strlen(t), TOPIC_MAX);
    BAD(t, &h, 36, 3);
}

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

/* Polls pub's subscriptions until pub_wants(v, stream) == want. */
static bool wait_wants(struct pub *p, enum variant v, bool want)
{
    for (int64_t end = now_ms() + 3000; now_ms() < end; sleep_ms(2)) {
        pub_poll_subs(p, NULL, NULL);
        if (pub_wants(p, v, "cam1") == want)
            return true;
    }
    return false;
}

/* Reads one message within 3 s; the sub_read() result. */
static int read_one(struct sub *s, struct sub_frame *f, const char **why)
{
    int rc = -EAGAIN;
    for (int64_t end = now_ms() + 3000; now_ms() < end; sleep_ms(1)) {
        rc = sub_read(s, f, why);
        if (rc != -EAGAIN)
            break;
    }
    return rc;
}

static void test_pub_sub_inproc(void **state)
{
    (void)state;
    const char *url = "inproc://test-sub";
    char err[256];
    struct pub *p = pub_new(url, err, sizeof err);
    struct sub *s;
    struct sub_frame f;
    const char *why = NULL;
    zmq_msg_t payload;

    if (!p)
        fail_msg("pub_new: %s", err);
    s = sub_new(&url, 1, err, sizeof err);
    if (!s)
        fail_msg("sub_new: %s", err);
    sub_frame_init(&f);

    /* Nobody wants anything until a subscription arrives. */
    pub_poll_subs(p, NULL, NULL);
    assert_false(pub_wants(p, VAR_RAW, "cam1"));
    assert_int_equal(sub_subscribe(s, VAR_RAW, "cam1", true), 0);
    assert_true(wait_wants(p, VAR_RAW, true));
    assert_false(pub_wants(p, VAR_JPEG, "cam1"));
    assert_false(pub_wants(p, VAR_SHM, "cam1"));
    assert_false(pub_wants(p, VAR_RAW, "cam10"));

    /* Raw frame with its payload, moved into ZeroMQ. */
    struct frame_hdr h = mkhdr(ENC_RAW, false);
    assert_int_equal(zmq_msg_init_size(&payload, 36), 0);
    for (int i = 0; i < 36; i++)
        ((uint8_t *)zmq_msg_data(&payload))[i] = (uint8_t)(200 - i);
    assert_int_equal(pub_send(p, VAR_RAW, &h, &payload), 0);
    int rc = read_one(s, &f, &why);
    if (rc)
        fail_msg("sub_read: %d %s", rc, why ? why : "");
    assert_int_equal(f.var, VAR_RAW);
    assert_true(f.hdr.seq == h.seq);
    assert_int_equal(f.hdr.width, 4);
    assert_int_equal(f.len, 36);
    assert_int_equal(f.data[0], 200);
    assert_int_equal(f.data[35], 165);

    /* A JPEG nobody subscribed to is filtered out by ZeroMQ. */
    struct frame_hdr j = mkhdr(ENC_JPEG, false);
    assert_int_equal(zmq_msg_init_size(&payload, 20), 0);
    memset(zmq_msg_data(&payload), 0xff, 20);
    assert_int_equal(pub_send(p, VAR_JPEG, &j, &payload), 0);

    /* Descriptors: subscribe to every stream's shm. */
    assert_int_equal(sub_subscribe(s, VAR_SHM, NULL, true), 0);
    assert_true(wait_wants(p, VAR_SHM, true));
    struct frame_hdr d = mkhdr(ENC_RAW, true);
    d.seq = 10;
    assert_int_equal(pub_send(p, VAR_SHM, &d, NULL), 0);
    rc = read_one(s, &f, &why);
    if (rc)
        fail_msg("sub_read: %d %s", rc, why ? why : "");
    assert_int_equal(f.var, VAR_SHM); /* not the jpeg sent before */
    assert_int_equal(f.nparts, 2);
    assert_true(f.hdr.seq == 10);
    assert_true(f.hdr.has_shm);

    /* A malformed message is rejected and counted, not delivered. */
    void *ps = pub_socket(p);
    assert_true(zmq_send(ps, "raw/cam1/", 9, ZMQ_SNDMORE) == 9);
    assert_true(zmq_send(ps, "\x81\xa1v\x01", 4, ZMQ_SNDMORE) == 4);
    assert_true(zmq_send(ps, "xx", 2, 0) == 2);
    why = NULL;
    assert_int_equal(read_one(s, &f, &why), -EBADMSG);
    assert_non_null(why);
    assert_int_equal(f.nparts, 0);

    /* Too many parts. */
    for (int i = 0; i < 4; i++)
        assert_true(zmq_send(ps, "raw/cam1/", 9, i < 3 ? ZMQ_SNDMORE : 0) == 9);
    why = NULL;
    assert_int_equal(read_one(s, &f, &why), -EBADMSG);
    assert_non_null(why);

    /* Unsubscribing is seen by the publisher. */
    assert_int_equal(sub_subscribe(s, VAR_RAW, "cam1", false), 0);
    assert_true(wait_wants(p, VAR_RAW, false));
    assert_true(pub_wants(p, VAR_SHM, "cam1"));

    assert_int_equal(sub_read(s, &f, &why), -EAGAIN);
    sub_frame_fini(&f);
    sub_free(s);
    pub_free(p);
    net_term();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_raw),
        cmocka_unit_test(test_valid_jpeg_and_shm),
        cmocka_unit_test(test_bad_parts),
        cmocka_unit_test(test_bad_topic),
        cmocka_unit_test(test_enc_mismatch),
        cmocka_unit_test(test_payload_length),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_pub_sub_inproc),
        /* Last: under ASan a stack overflow in topic_parse aborts here. */
        cmocka_unit_test(test_topic_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
