/* test_stream.c -- unit tests of the byte-stream frame reader and writer. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract/stream.h"

/* A raw gray frame of w x h whose pixels depend on seq. */
static uint8_t *make_frame(struct frame_hdr *h, uint64_t seq, uint32_t w,
                           uint32_t ht)
{
    *h = (struct frame_hdr){.version = FRAME_SCHEMA_VERSION,
                            .seq = seq,
                            .t_real_ns = 1700000000000000000 + (int64_t)seq,
                            .t_mono_ns = 1000 + (int64_t)seq * 33000000,
                            .width = w,
                            .height = ht,
                            .stride = w,
                            .fmt = PIXFMT_GRAY,
                            .enc = ENC_RAW,
                            .size = (uint64_t)w * ht};
    snprintf(h->stream, sizeof h->stream, "cam%u", (unsigned)(seq % 3));
    uint8_t *p = malloc(h->size);
    assert_non_null(p);
    for (size_t i = 0; i < h->size; i++)
        p[i] = (uint8_t)(i * 7 + seq * 13);
    return p;
}

/* Appends frame (h, p) to a growing memory buffer, as stream_write would
 * put it on a fd. */
static void append(uint8_t **buf, size_t *len, const struct frame_hdr *h,
                   const uint8_t *p)
{
    uint8_t hdr[FRAME_HDR_MAX];
    int hl = frame_encode(h, true, hdr, sizeof hdr);
    assert_true(hl > 0);
    *buf = realloc(*buf, *len + (size_t)hl + h->size);
    assert_non_null(*buf);
    memcpy(*buf + *len, hdr, (size_t)hl);
    memcpy(*buf + *len + hl, p, h->size);
    *len += (size_t)hl + h->size;
}

struct feeder {
    int fd;
    const uint8_t *p;
    size_t len, step;
};

/* Writes f->p to f->fd step bytes at a time, then closes it. */
static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (size_t off = 0; off < f->len;) {
        size_t n = f->len - off < f->step ? f->len - off : f->step;
        ssize_t w = write(f->fd, f->p + off, n);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

static void start_feed(pthread_t *th, struct feeder *f, int *rfd,
                       const uint8_t *p, size_t len, size_t step)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    *rfd = fds[0];
    *f = (struct feeder){.fd = fds[1], .p = p, .len = len, .step = step};
    assert_int_equal(pthread_create(th, NULL, feed, f), 0);
}

static void assert_same(const struct frame_hdr *a, const uint8_t *pa,
                        const struct frame_hdr *b, const uint8_t *pb)
{
    assert_int_equal(a->seq, b->seq);
    assert_string_equal(a->stream, b->stream);
    assert_int_equal(a->t_real_ns, b->t_real_ns);
    assert_int_equal(a->t_mono_ns, b->t_mono_ns);
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->stride, b->stride);
    assert_int_equal(a->fmt, b->fmt);
    assert_int_equal(a->enc, b->enc);
    assert_int_equal(a->size, b->size);
    assert_memory_equal(pa, pb, a->size);
}

/* Frames of several sizes written with stream_write come back equal,
 * including ones far larger than a pipe's buffer. */
static void test_round_trip_pipe(void **state)
{
    (void)state;
    static const uint32_t dims[][2] = {
        {1, 1}, {64, 48}, {640, 480}, {1920, 1080}, {7, 3}};
    enum { N = sizeof dims / sizeof dims[0] };
    struct frame_hdr hs[N];
    uint8_t *ps[N];
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    for (int i = 0; i < N; i++)
        ps[i] = make_frame(&hs[i], (uint64_t)i, dims[i][0], dims[i][1]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < N; i++)
            if (stream_write(fds[1], &hs[i], ps[i], hs[i].size) < 0)
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    struct stream_reader *r = stream_reader_new(fds[0], 0);
    assert_non_null(r);
    for (int i = 0; i < N; i++) {
        struct frame_hdr h;
        const uint8_t *d;
        assert_int_equal(stream_read(r, &h, &d), 0);
        assert_same(&hs[i], ps[i], &h, d);
    }
    struct frame_hdr h;
    const uint8_t *d;
    assert_int_equal(stream_read(r, &h, &d), -ENODATA);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    stream_reader_free(r);
    close(fds[0]);
    for (int i = 0; i < N; i++)
        free(ps[i]);
}

/* The same stream arriving one byte per read. */
static void test_byte_by_byte(void **state)
{
    (void)state;
    enum { N = 4 };
    struct frame_hdr hs[N];
    uint8_t *ps[N], *buf = NULL;
    size_t len = 0, offs[N];
    pthread_t th;
    struct feeder f;
    int rfd;

    for (int i = 0; i < N; i++) {
        ps[i] = make_frame(&hs[i], (uint64_t)i + 10, 16 + (uint32_t)i, 9);
        offs[i] = len;
        append(&buf, &len, &hs[i], ps[i]);
    }
    start_feed(&th, &f, &rfd, buf, len, 1);
    struct stream_reader *r = stream_reader_new(rfd, 0);
    for (int i = 0; i < N; i++) {
        struct frame_hdr h;
        const uint8_t *d;
        assert_int_equal(stream_read(r, &h, &d), 0);
        assert_same(&hs[i], ps[i], &h, d);
        assert_int_equal(stream_reader_frame_offset(r), offs[i]);
    }
    struct frame_hdr h;
    const uint8_t *d;
    assert_int_equal(stream_read(r, &h, &d), -ENODATA);
    pthread_join(th, NULL);
    stream_reader_free(r);
    close(rfd);
    for (int i = 0; i < N; i++)
        free(ps[i]);
    free(buf);
}

/* Cutting a two-frame stream at every offset: whole frames before the cut
 * are read, and the cut is a clean EOF at a frame boundary, else an error
 * naming the offset where the cut frame starts. */
static void test_truncation_everywhere(void **state)
{
    (void)state;
    struct frame_hdr h0, h1;
    uint8_t *p0 = make_frame(&h0, 1, 5, 4), *p1 = make_frame(&h1, 2, 3, 3);
    uint8_t *buf = NULL;
    size_t len = 0;

    append(&buf, &len, &h0, p0);
    size_t second = len;
    append(&buf, &len, &h1, p1);
    for (size_t cut = 0; cut <= len; cut++) {
        pthread_t th;
        struct feeder f;
        int rfd;
        struct frame_hdr h;
        const uint8_t *d;
        char want[64];

        start_feed(&th, &f, &rfd, buf, cut, 7);
        struct stream_reader *r = stream_reader_new(rfd, 0);
        int rc = stream_read(r, &h, &d);
        if (cut < second) {
            if (cut == 0) {
                assert_int_equal(rc, -ENODATA);
            } else {
                assert_int_equal(rc, -EBADMSG);
                assert_non_null(strstr(stream_reader_error(r), "truncated"));
                assert_non_null(
                    strstr(stream_reader_error(r), "at byte offset 0 "));
            }
        } else {
            assert_int_equal(rc, 0);
            assert_same(&h0, p0, &h, d);
            rc = stream_read(r, &h, &d);
            if (cut == second) {
                assert_int_equal(rc, -ENODATA);
            } else if (cut == len) {
                assert_int_equal(rc, 0);
                assert_same(&h1, p1, &h, d);
                assert_int_equal(stream_read(r, &h, &d), -ENODATA);
            } else {
                assert_int_equal(rc, -EBADMSG);
                snprintf(want, sizeof want, "frame at byte offset %zu ",
                         second);
                assert_non_null(strstr(stream_reader_error(r), want));
                /* A failed reader stays failed. */
                assert_int_equal(stream_read(r, &h, &d), -EBADMSG);
            }
        }
        pthread_join(th, NULL);
        stream_reader_free(r);
        close(rfd);
    }
    free(p0);
    free(p1);
    free(buf);
}

/* Reads a stream held in memory; returns stream_read's first result. */
static int read_mem(const uint8_t *buf, size_t len, uint64_t max,
                    struct stream_reader **out)
{
    pthread_t th;
    struct feeder f;
    int rfd;
    struct frame_hdr h;
    const uint8_t *d;

    start_feed(&th, &f, &rfd, buf, len, 65536);
    *out = stream_reader_new(rfd, max);
    int rc = stream_read(*out, &h, &d);
    /* Drain, so the feeder is never left blocked on a full pipe. */
    char sink[65536];
    while (read(rfd, sink, sizeof sink) > 0)
        ;
    pthread_join(th, NULL);
    close(rfd);
    return rc;
}

/* A map declaring a 4 GB bin is refused before any of it is read. */
static void test_huge_declared_bin(void **state)
{
    (void)state;
    struct frame_hdr h;
    uint8_t *p = make_frame(&h, 1, 4, 4), hdr[FRAME_HDR_MAX];
    struct stream_reader *r;

    h.size = UINT32_MAX;
    int hl = frame_encode(&h, true, hdr, sizeof hdr);
    assert_true(hl > 0);
    assert_int_equal(read_mem(hdr, (size_t)hl, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "over the limit"));
    assert_non_null(strstr(stream_reader_error(r), "byte offset 0:"));
    assert_true(stream_reader_mem(r) <= 65536);
    stream_reader_free(r);
    free(p);
}

/* A legal 1 GB frame that ends after 1 MB costs about what arrived. */
static void test_big_frame_cut_short(void **state)
{
    (void)state;
    struct frame_hdr h = {.version = FRAME_SCHEMA_VERSION,
                          .width = FRAME_DIM_MAX,
                          .height = FRAME_DIM_MAX,
                          .stride = FRAME_DIM_MAX * 4,
                          .fmt = PIXFMT_BGR24,
                          .enc = ENC_RAW};
    struct stream_reader *r;
    size_t body = 1 << 20;

    snprintf(h.stream, sizeof h.stream, "big");
    h.size = (uint64_t)h.stride * h.height;
    uint8_t *buf = calloc(1, FRAME_HDR_MAX + body);
    assert_non_null(buf);
    int hl = frame_encode(&h, true, buf, FRAME_HDR_MAX);
    assert_true(hl > 0);
    assert_int_equal(read_mem(buf, (size_t)hl + body, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "truncated"));
    assert_true(stream_reader_mem(r) <= 4 * body);
    stream_reader_free(r);
    /* With a lower limit the same frame is refused outright. */
    assert_int_equal(read_mem(buf, (size_t)hl + body, 1 << 24, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "over the limit"));
    assert_true(stream_reader_mem(r) <= 65536);
    stream_reader_free(r);
    free(buf);
}

/* Containers declaring billions of objects are corrupt, not allocations. */
static void test_huge_declared_counts(void **state)
{
    (void)state;
    static const uint8_t arr[] = {0x81, 0xa1, 'x',  0xdd,
                                  0xff, 0xff, 0xff, 0xff};
    static const uint8_t map[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    struct stream_reader *r;

    assert_int_equal(read_mem(arr, sizeof arr, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "byte offset 3:"));
    stream_reader_free(r);
    assert_int_equal(read_mem(map, sizeof map, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "corrupt"));
    stream_reader_free(r);
}

/* Garbage between frames, a bad msgpack byte, and a well-formed map that
 * is not a valid frame each name their offset. */
static void test_corrupt(void **state)
{
    (void)state;
    struct frame_hdr h;
    uint8_t *p = make_frame(&h, 3, 4, 2), *buf = NULL;
    size_t len = 0;
    struct stream_reader *r;
    const uint8_t *d;
    char want[64];

    append(&buf, &len, &h, p);
    size_t first = len;
    append(&buf, &len, &h, p);
    /* Not a map where the second frame should start. */
    buf[first] = 0x92;
    pthread_t th;
    struct feeder f;
    int rfd;
    start_feed(&th, &f, &rfd, buf, len, 3);
    r = stream_reader_new(rfd, 0);
    assert_int_equal(stream_read(r, &h, &d), 0);
    assert_int_equal(stream_read(r, &h, &d), -EBADMSG);
    snprintf(want, sizeof want, "corrupt stream at byte offset %zu:", first);
    assert_non_null(strstr(stream_reader_error(r), want));
    pthread_join(th, NULL);
    close(rfd);
    stream_reader_free(r);

    /* 0xc1 inside the first frame's header: the offset of that byte. */
    buf[first] = 0x8c;
    buf[4] = 0xc1;
    assert_int_equal(read_mem(buf, len, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "at byte offset 4:"));
    stream_reader_free(r);

    /* A map without the required keys. */
    static const uint8_t empty[] = {0x81, 0xa1, 'x', 0x01};
    assert_int_equal(read_mem(empty, sizeof empty, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "bad frame at byte "
                                                   "offset 0:"));
    stream_reader_free(r);

    /* A valid header without "data" is no use in a byte stream. */
    uint8_t hdr[FRAME_HDR_MAX];
    int hl = frame_encode(&h, false, hdr, sizeof hdr);
    assert_int_equal(read_mem(hdr, (size_t)hl, 0, &r), -EBADMSG);
    assert_non_null(strstr(stream_reader_error(r), "no payload"));
    stream_reader_free(r);
    free(p);
    free(buf);
}

struct slow_reader {
    int fd;
    uint8_t *got;
    size_t len;
};

static void *drain(void *arg)
{
    struct slow_reader *s = arg;
    size_t cap = 1 << 20;
    s->got = malloc(cap);
    for (;;) {
        if (s->len == cap)
            s->got = realloc(s->got, cap *= 2);
        ssize_t n = read(s->fd, s->got + s->len,
                         cap - s->len < 1000 ? cap - s->len : 1000);
        if (n <= 0)
            break;
        s->len += (size_t)n;
    }
    return NULL;
}

/* A frame much larger than the pipe goes out in many partial writes and
 * arrives byte-identical to its encoding. */
static void test_partial_writes(void **state)
{
    (void)state;
    struct frame_hdr h;
    uint8_t *p = make_frame(&h, 9, 1000, 700), *want = NULL;
    size_t wlen = 0;
    int fds[2];
    struct slow_reader s = {0};
    pthread_t th;

    append(&want, &wlen, &h, p);
    assert_int_equal(pipe(fds), 0);
    s.fd = fds[0];
    assert_int_equal(pthread_create(&th, NULL, drain, &s), 0);
    assert_int_equal(stream_write(fds[1], &h, p, h.size), 0);
    close(fds[1]);
    pthread_join(th, NULL);
    assert_int_equal(s.len, wlen);
    assert_memory_equal(s.got, want, wlen);
    close(fds[0]);
    free(s.got);
    free(want);
    free(p);
}

/* Writing to a pipe nobody reads is -EPIPE, not a signal. */
static void test_epipe(void **state)
{
    (void)state;
    struct frame_hdr h;
    uint8_t *p = make_frame(&h, 1, 8, 8);
    int fds[2];

    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    assert_int_equal(stream_write(fds[1], &h, p, h.size), -EPIPE);
    /* A payload that does not match the header is refused. */
    assert_int_equal(stream_write(fds[1], &h, p, h.size - 1), -EINVAL);
    close(fds[1]);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_pipe),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_huge_declared_bin),
        cmocka_unit_test(test_big_frame_cut_short),
        cmocka_unit_test(test_huge_declared_counts),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_partial_writes),
        cmocka_unit_test(test_epipe),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
