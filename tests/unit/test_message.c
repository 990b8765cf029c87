/* test_message.c -- validation of the parts of a received message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "contract/frame.h"
#include "contract/message.h"
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

/* A message's parts, kept with their bytes. */
struct parts {
    uint8_t topic[TOPIC_MAX + 8], hdr[FRAME_HDR_MAX + 64], payload[4096];
    struct message_part p[MESSAGE_MAX_PARTS + 1];
    unsigned n;
};

/* Fills f with [topic, header (encoded from h), payload of plen bytes],
 * as many of them as nparts says. */
static void build(struct parts *f, const char *topic, size_t tlen,
                  const struct frame_hdr *h, size_t plen, unsigned nparts)
{
    int n = frame_encode(h, false, f->hdr, sizeof f->hdr);

    assert_true(n > 0);
    assert_true(plen <= sizeof f->payload && tlen <= sizeof f->topic);
    memcpy(f->topic, topic, tlen);
    for (size_t i = 0; i < plen; i++)
        f->payload[i] = (uint8_t)i;
    f->p[0] = (struct message_part){f->topic, tlen};
    f->p[1] = (struct message_part){f->hdr, (size_t)n};
    f->p[2] = (struct message_part){f->payload, plen};
    f->p[3] = (struct message_part){f->topic, tlen};
    f->n = nparts;
}

static int check(const char *topic, const struct frame_hdr *h, size_t plen,
                 unsigned nparts, struct parts *f, struct message *m,
                 const char **why)
{
    build(f, topic, strlen(topic), h, plen, nparts);
    *why = NULL;
    return message_check(f->p, f->n, m, why);
}

static void expect_bad(const char *topic, const struct frame_hdr *h,
                       size_t plen, unsigned nparts, int line)
{
    struct parts f;
    struct message m;
    const char *why;
    int rc = check(topic, h, plen, nparts, &f, &m, &why);
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
    struct parts f;
    struct message m;
    const char *why;

    assert_int_equal(check("raw/cam1/", &h, 36, 3, &f, &m, &why), 0);
    assert_int_equal(m.var, VAR_RAW);
    assert_string_equal(m.hdr.stream, "cam1");
    assert_true(m.hdr.seq == 9);
    assert_int_equal(m.len, 36);
    assert_ptr_equal(m.data, f.payload);
    assert_int_equal(m.data[35], 35);
}

static void test_valid_jpeg_and_shm(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_JPEG, false);
    struct parts f;
    struct message m;
    const char *why;

    assert_int_equal(check("jpg/cam1/", &h, 20, 3, &f, &m, &why), 0);
    assert_int_equal(m.var, VAR_JPEG);
    assert_int_equal(m.len, 20);

    h = mkhdr(ENC_RAW, true);
    assert_int_equal(check("shm/cam1/", &h, 0, 2, &f, &m, &why), 0);
    assert_int_equal(m.var, VAR_SHM);
    assert_true(m.hdr.has_shm);
    assert_string_equal(m.hdr.shm.name, "/vidpipe-cam1");
    assert_null(m.data);
    assert_int_equal(m.len, 0);

    /* A raw payload message may also carry a descriptor. */
    assert_int_equal(check("raw/cam1/", &h, 36, 3, &f, &m, &why), 0);
    assert_int_equal(m.var, VAR_RAW);
    assert_true(m.hdr.has_shm);
}

static void test_bad_parts(void **state)
{
    (void)state;
    struct frame_hdr raw = mkhdr(ENC_RAW, false);
    struct frame_hdr shm = mkhdr(ENC_RAW, true);

    BAD("raw/cam1/", &raw, 36, 0);
    BAD("raw/cam1/", &raw, 36, 1);
    BAD("raw/cam1/", &raw, 36, 4); /* too many */
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
    uint8_t hdr[FRAME_HDR_MAX + 64];
    struct parts f;
    struct message m;
    const char *why = NULL;
    int n;

    /* Garbage header bytes. */
    build(&f, "raw/cam1/", 9, &h, 36, 3);
    f.p[1] = (struct message_part){"\xc1garbage", 8};
    assert_int_equal(message_check(f.p, f.n, &m, &why), -EBADMSG);
    assert_non_null(why);

    /* Empty header part. */
    f.p[1] = (struct message_part){"", 0};
    why = NULL;
    assert_int_equal(message_check(f.p, f.n, &m, &why), -EBADMSG);
    assert_non_null(why);

    /* A header carrying "data" does not belong on ZeroMQ. */
    h.size = 36;
    n = frame_encode(&h, true, hdr, FRAME_HDR_MAX);
    assert_true(n > 0);
    memset(hdr + n, 0, 36);
    f.p[1] = (struct message_part){hdr, (size_t)n + 36};
    why = NULL;
    assert_int_equal(message_check(f.p, f.n, &m, &why), -EBADMSG);
    assert_non_null(why);

    /* Inconsistent header: raw size not stride * height. */
    h = mkhdr(ENC_RAW, false);
    h.size = 35;
    BAD("raw/cam1/", &h, 35, 3);
}

static void test_encode(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, true), back;
    char topic[TOPIC_MAX];
    uint8_t hdr[FRAME_HDR_MAX];
    size_t tl, hl;
    const char *why;

    assert_int_equal(message_encode(VAR_SHM, &h, topic, &tl, hdr, &hl), 0);
    assert_int_equal(tl, 9);
    assert_memory_equal(topic, "shm/cam1/", 9);
    assert_int_equal(frame_decode(hdr, hl, &back, NULL, NULL, &why), 0);
    assert_true(back.has_shm && back.shm.token == 77 && back.seq == 9);
}

/* A topic whose stream is one byte too long, with the shortest and the
 * longest variant name (h264: TOPIC_MAX bytes in all): rejected, and
 * (under AddressSanitizer) without writing past message_check()'s stream
 * buffer. */
static void test_topic_too_long(void **state)
{
    (void)state;
    struct frame_hdr h = mkhdr(ENC_RAW, false);
    char t[TOPIC_MAX + 1];

    for (int v = 0; v < 2; v++) {
        const char *var = v ? "h264/" : "raw/";
        size_t vl = strlen(var);
        memcpy(t, var, vl);
        memset(t + vl, 'a', FRAME_STREAM_MAX + 1);
        t[vl + FRAME_STREAM_MAX + 1] = '/';
        t[vl + FRAME_STREAM_MAX + 2] = 0;
        assert_int_equal(strlen(t), vl + FRAME_STREAM_MAX + 2);
        BAD(t, &h, 36, 3);
    }
    assert_int_equal(strlen("h264/") + FRAME_STREAM_MAX + 2, TOPIC_MAX);
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
        cmocka_unit_test(test_encode),
        /* Last: under ASan a stack overflow in topic_parse aborts here. */
        cmocka_unit_test(test_topic_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
