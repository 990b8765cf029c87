/* test_api.c -- the public API: a publisher and a subscriber on threads,
 * shm frames in place, the doorbell and its lease, the newest frame
 * winning, torn frames, byte streams, and bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/recv.h"
#include "api/publish.h"
#include "contract/message.h"
#include "contract/ring.h"
#include "transport/xpub.h"
#include "util/fault.h"
#include "vidpipe.h"

#define W 128
#define H 96

static char url[96];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    return vp_clock_mono_ns() / 1000000;
}

static uint64_t stat_of(vp_stats *st, const char *name)
{
    uint64_t v = 0;
    assert_int_equal(vp_stats_get(st, name, &v), 0);
    return v;
}

/* Publishes frame seq as a test: picture of w x h. */
static void publish_at(vp_pub *p, uint64_t seq, uint32_t w, uint32_t h)
{
    struct vp_image img;
    int rc = vp_pub_loan(p, w, h, VP_PIX_BGR24, &img);
    if (rc < 0)
        fail_msg("loan: %s", vp_errmsg());
    assert_int_equal(vp_pattern_draw(&img, seq), 0);
    assert_int_equal(vp_pub_commit(p, seq), 0);
}

static void publish(vp_pub *p, uint64_t seq)
{
    publish_at(p, seq, W, H);
}

/* Waits until the publisher sees somebody. */
static void wait_wanted(vp_pub *p)
{
    for (int64_t end = now_ms() + 5000; now_ms() < end; sleep_ms(2))
        if (vp_pub_wanted(p))
            return;
    fail_msg("no subscriber seen");
}

/* The next frame within 3 s, its pixels verified against its seq. */
static vp_frame *next_verified(vp_sub *s)
{
    vp_frame *f;
    struct vp_image img;
    uint64_t seq;
    int rc = vp_sub_next(s, 3000, &f);
    if (rc < 0)
        fail_msg("next: %s", vp_errmsg());
    assert_int_equal(vp_frame_image(f, &img), 0);
    assert_int_equal(vp_pattern_read(&img, &seq), 0);
    assert_true(seq == vp_frame_info(f)->seq);
    return f;
}

/* --- a publisher thread and a subscriber ------------------------------ */

struct writer {
    vp_pub *pub;
    _Atomic bool stop;
    _Atomic uint64_t made;
};

static void *write_frames(void *arg)
{
    struct writer *w = arg;
    for (uint64_t seq = 0; !atomic_load(&w->stop); seq++) {
        vp_pub_wait_until(w->pub, vp_clock_mono_ns() + 2000000);
        publish(w->pub, seq);
        atomic_store(&w->made, seq + 1);
    }
    return NULL;
}

static void run_threads(enum vp_shm shm, enum vp_path want_path)
{
    struct writer w = {0};
    struct vp_sub_opts so;
    const char *u = url;
    vp_sub *s;
    pthread_t th;
    uint64_t last = 0;

    assert_int_equal(vp_pub_open(&w.pub, url, NULL), 0);
    vp_sub_opts_init(&so);
    so.shm = shm;
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    assert_int_equal(pthread_create(&th, NULL, write_frames, &w), 0);
    for (int i = 0; i < 100; i++) {
        vp_frame *f = next_verified(s);
        const struct vp_frame_info *h = vp_frame_info(f);
        if (i > 10) /* after the first second's probing */
            assert_int_equal(h->path, want_path);
        assert_true(i == 0 || h->seq > last); /* never an older frame */
        last = h->seq;
        assert_true(vp_frame_intact(f) || h->path == VP_PATH_SHM);
        vp_frame_release(f);
    }
    atomic_store(&w.stop, true);
    pthread_join(th, NULL);
    vp_stats *st = vp_sub_stats(s);
    assert_true(stat_of(st, "frames") + stat_of(st, "torn") >= 100);
    assert_int_equal(stat_of(st, "bad"), 0);
    vp_sub_close(s);
    vp_pub_close(w.pub);
}

static void test_threads_shm(void **state)
{
    (void)state;
    run_threads(VP_SHM_AUTO, VP_PATH_SHM);
}

static void test_threads_payload(void **state)
{
    (void)state;
    run_threads(VP_SHM_OFF, VP_PATH_TCP);
}

/* --- the newest frame wins ---------------------------------------------- */

/* Publishes frames first..last, each once the receiver has it waiting:
 * the subscriber's caller takes none meanwhile. */
static void burst(vp_pub *p, vp_sub *s, uint64_t first, uint64_t last)
{
    for (uint64_t seq = first; seq <= last; seq++) {
        publish(p, seq);
        int64_t end = now_ms() + 3000;
        while (latest_waiting(s) != (int64_t)seq && now_ms() < end)
            sleep_ms(1);
        assert_true(latest_waiting(s) == (int64_t)seq);
    }
}

static void test_latest_wins(void **state)
{
    (void)state;
    struct vp_sub_opts so;
    const char *u = url;
    vp_pub *p;
    vp_sub *s;
    vp_frame *f;

    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    vp_sub_opts_init(&so);
    so.shm = VP_SHM_OFF;
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    wait_wanted(p);
    /* While nobody takes frames, each new one replaces the one waiting:
     * the next taken is the newest, and only it. */
    burst(p, s, 1, 20);
    f = next_verified(s);
    assert_true(vp_frame_info(f)->seq == 20);
    vp_frame_release(f);
    assert_int_equal(vp_sub_next(s, 50, &f), -ETIMEDOUT);
    burst(p, s, 21, 25);
    f = next_verified(s);
    assert_true(vp_frame_info(f)->seq == 25);
    vp_frame_release(f);
    vp_stats *st = vp_sub_stats(s);
    assert_int_equal(stat_of(st, "frames"), 2);
    assert_int_equal(stat_of(st, "drops"), 4); /* 21..24, never shown */
    assert_int_equal(stat_of(st, "received"), 25);
    vp_sub_close(s);
    vp_pub_close(p);
}

/* --- the doorbell, its lease, and torn frames ----------------------------- */

/* A writer that advances on command: a ring of its own and an XPUB that
 * sends the descriptors it is told to. */
struct manual {
    struct ring *ring;
    struct xpub *x;
    struct frame_hdr hdr;
};

static void manual_open(struct manual *m, uint32_t slots)
{
    const char *why, *which;
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = ring_create(&m->ring, NULL, slots, W, H, W * 3, PIXFMT_BGR24,
                          &why)) < 0)
        fail_msg("ring: %s: %s", why, strerror(-rc));
    if ((rc = xpub_new(&m->x, url, true, NULL, &why, &which)) < 0)
        fail_msg("xpub: %s: %s", why, strerror(-rc));
    m->hdr = (struct frame_hdr){.version = FRAME_SCHEMA_VERSION,
                                .stream = "cam0",
                                .width = W,
                                .height = H,
                                .stride = W * 3,
                                .fmt = PIXFMT_BGR24,
                                .enc = ENC_RAW,
                                .size = W * 3 * H};
}

/* Writes frame seq into the ring (its doorbell rings) and keeps its
 * descriptor in m->hdr. */
static void manual_write(struct manual *m, uint64_t seq)
{
    uint32_t slot;
    struct vp_image img = {.width = W,
                           .height = H,
                           .fmt = VP_PIX_BGR24,
                           .nplanes = 1,
                           .stride = {W * 3}};
    img.data[0] = ring_write_begin(m->ring, &slot);
    assert_int_equal(vp_pattern_draw(&img, seq), 0);
    m->hdr.seq = seq;
    frame_stamp(&m->hdr);
    ring_write_end(m->ring, slot, &m->hdr, &m->hdr.shm);
    m->hdr.has_shm = true;
}

static void manual_send(struct manual *m)
{
    char t[TOPIC_MAX];
    uint8_t hdr[FRAME_HDR_MAX];
    size_t tl, hl;
    xpub_poll_subs(m->x, NULL, NULL);
    assert_int_equal(message_encode(VAR_SHM, &m->hdr, t, &tl, hdr, &hl), 0);
    assert_int_equal(xpub_send(m->x, t, tl, hdr, hl, NULL), 0);
}

static void manual_close(struct manual *m)
{
    xpub_free(m->x);
    ring_free(m->ring);
}

/* Waits until s's receiver has dealt with n messages in all. */
static void wait_handled(vp_sub *s, uint64_t n)
{
    for (int64_t end = now_ms() + 5000; now_ms() < end; sleep_ms(1))
        if (latest_handled(s) >= n)
            return;
    fail_msg("the receiver did not get the message");
}

static vp_sub *shm_sub(void)
{
    const char *u = url;
    vp_sub *s;
    assert_int_equal(vp_sub_open(&s, &u, 1, NULL), 0);
    return s;
}

/* Sends descriptors of frame seq until the subscriber takes one. */
static vp_frame *first_frame(struct manual *m, vp_sub *s, uint64_t seq)
{
    vp_frame *f;
    manual_write(m, seq);
    for (int64_t end = now_ms() + 5000; now_ms() < end;) {
        manual_send(m);
        if (vp_sub_next(s, 20, &f) == 0)
            return f;
    }
    fail_msg("no first frame");
    return NULL;
}

static void test_doorbell_and_lease(void **state)
{
    (void)state;
    struct manual m;
    vp_frame *f;

    manual_open(&m, 8);
    vp_sub *s = shm_sub();
    f = first_frame(&m, s, 1);
    assert_int_equal(vp_frame_info(f)->path, VP_PATH_SHM);
    vp_frame_release(f);

    /* Written, its descriptor not sent: the doorbell brings it. */
    manual_write(&m, 2);
    assert_int_equal(vp_sub_next(s, 2000, &f), 0);
    assert_true(vp_frame_info(f)->seq == 2);
    assert_int_equal(vp_frame_info(f)->path, VP_PATH_SHM);
    vp_frame_release(f);
    /* Its descriptor, late, does not bring it a second time: once the
     * receiver has dealt with it, there is nothing to take. */
    uint64_t handled = latest_handled(s);
    manual_send(&m);
    wait_handled(s, handled + 1);
    assert_int_equal(vp_sub_next(s, 0, &f), -ETIMEDOUT);

    /* Without descriptors for longer than the lease (2 s), the doorbell
     * is no longer followed: a frame only written is not taken ... */
    sleep_ms(2100);
    manual_write(&m, 3);
    assert_int_equal(vp_sub_next(s, 300, &f), -ETIMEDOUT);
    /* ... until its descriptor comes. */
    manual_send(&m);
    assert_int_equal(vp_sub_next(s, 3000, &f), 0);
    assert_true(vp_frame_info(f)->seq == 3);
    vp_frame_release(f);

    vp_stats *st = vp_sub_stats(s);
    assert_int_equal(stat_of(st, "frames"), 3);
    assert_int_equal(stat_of(st, "torn"), 0);
    vp_sub_close(s);
    manual_close(&m);
}

static void test_torn(void **state)
{
    (void)state;
    struct manual m;
    struct vp_image img, dst;
    vp_frame *f;
    static uint8_t buf[W * 3 * H];

    manual_open(&m, 2);
    vp_sub *s = shm_sub();
    f = first_frame(&m, s, 1);
    assert_int_equal(vp_frame_image(f, &img), 0);
    assert_true(vp_frame_intact(f));
    /* The writer goes round the two slots: frame 1's slot is written. */
    manual_write(&m, 2);
    assert_true(vp_frame_intact(f));
    manual_write(&m, 3);
    assert_false(vp_frame_intact(f));
    dst = img;
    dst.data[0] = buf;
    assert_int_equal(vp_frame_copy(f, &dst), -ESTALE);
    vp_frame_release(f);

    vp_stats *st = vp_sub_stats(s);
    assert_int_equal(stat_of(st, "torn"), 1); /* once, not twice */
    assert_int_equal(stat_of(st, "frames"), 0);
    vp_sub_close(s);
    manual_close(&m);
}

/* A frame the source never made (a loan given back) is announced to
 * nobody, doorbell followers included. */
static void test_cancel_announces_nothing(void **state)
{
    (void)state;
    struct vp_image img;
    const char *u = url;
    vp_pub *p;
    vp_sub *s;
    vp_frame *f = NULL;

    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    assert_int_equal(vp_sub_open(&s, &u, 1, NULL), 0);
    wait_wanted(p);
    for (uint64_t seq = 1; !f; seq++) { /* until one came through shm */
        publish(p, seq);
        if (vp_sub_next(s, 20, &f) == 0 &&
            vp_frame_info(f)->path != VP_PATH_SHM) {
            vp_frame_release(f);
            f = NULL;
        }
    }
    /* The doorbell of the ring the frame came from, and its newest
     * frame, as a follower sees them. */
    struct frame_hdr hd = f->msg.hdr, newest, after;
    vp_frame_release(f);
    const _Atomic uint32_t *bell = ring_reader_bell(s->rings, &hd);
    assert_non_null(bell);
    uint32_t rung = atomic_load(bell);
    assert_int_equal(ring_reader_latest(s->rings, &hd, &newest), 0);
    vp_stats *pst = vp_pub_stats(p);
    uint64_t sent[3] = {stat_of(pst, "frames"), stat_of(pst, "shm_sent"),
                        stat_of(pst, "raw_sent")};

    assert_int_equal(vp_pub_loan(p, W, H, VP_PIX_BGR24, &img), 0);
    memset(img.data[0], 0x55, (size_t)img.stride[0] * H); /* half made */
    vp_pub_cancel(p);
    /* Nothing rang, nothing newer is in the ring, nothing was sent. */
    assert_int_equal(atomic_load(bell), rung);
    assert_int_equal(ring_reader_latest(s->rings, &hd, &after), 0);
    assert_true(after.seq == newest.seq && after.shm.gen == newest.shm.gen);
    assert_true(stat_of(pst, "frames") == sent[0]);
    assert_true(stat_of(pst, "shm_sent") == sent[1]);
    assert_true(stat_of(pst, "raw_sent") == sent[2]);
    publish(p, 1000);
    f = next_verified(s);
    assert_true(vp_frame_info(f)->seq == 1000);
    assert_true(vp_frame_intact(f));
    vp_frame_release(f);
    assert_int_equal(stat_of(vp_sub_stats(s), "torn"), 0);
    vp_sub_close(s);
    vp_pub_close(p);
}

/* A frame holds its ring's mapping: it stays readable after the ring is
 * gone and the subscriber has moved to another. */
static void test_frame_holds_mapping(void **state)
{
    (void)state;
    struct manual m, m2;
    struct vp_image img;
    uint64_t seq;
    vp_frame *f, *g;

    manual_open(&m, 8);
    vp_sub *s = shm_sub();
    f = first_frame(&m, s, 7);
    manual_close(&m); /* unlinked and unmapped by its writer */
    manual_open(&m2, 8);
    g = first_frame(&m2, s, 8);
    assert_int_equal(vp_frame_image(f, &img), 0);
    assert_int_equal(vp_pattern_read(&img, &seq), 0);
    assert_true(seq == 7);
    vp_frame_release(g);
    /* Closed with a frame still out: the frame stays readable, and its
     * release frees the rest (under ASan and valgrind: no leak, no
     * use after free). */
    vp_sub_close(s);
    assert_int_equal(vp_frame_image(f, &img), 0);
    assert_int_equal(vp_pattern_read(&img, &seq), 0);
    assert_true(seq == 7);
    vp_frame_release(f);
    manual_close(&m2);
}

/* --- H.264 ------------------------------------------------------------- */

static vp_sub *h264_sub(void)
{
    struct vp_sub_opts so;
    const char *u = url;
    vp_sub *s;

    vp_sub_opts_init(&so);
    so.codec = VP_CODEC_H264;
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    return s;
}

/* Publishes frames from *seq on until the subscriber shows one: that
 * frame; *seq is then the next one's. */
static vp_frame *h264_first(vp_pub *p, vp_sub *s, uint64_t *seq)
{
    vp_frame *f;
    for (int64_t end = now_ms() + 10000; now_ms() < end;) {
        publish(p, (*seq)++);
        if (vp_sub_next(s, 30, &f) == 0)
            return f;
    }
    fail_msg("no h264 frame");
    return NULL;
}

static void test_h264(void **state)
{
    (void)state;
    vp_pub *p;
    vp_frame *f;
    uint64_t seq = 1, v;
    struct vp_image img;

    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    vp_sub *s = h264_sub();
    f = h264_first(p, s, &seq);
    assert_true(vp_frame_info(f)->keyframe); /* it starts at a keyframe */
    assert_int_equal(vp_frame_info(f)->codec, VP_CODEC_H264);
    assert_int_equal(vp_frame_image(f, &img), 0);
    assert_int_equal(vp_pattern_read(&img, &v), 0);
    assert_true(v == vp_frame_info(f)->seq);
    vp_frame_release(f);
    /* Frame by frame, each decodes to its own picture. */
    for (int i = 0; i < 10; i++) {
        publish(p, seq++);
        f = next_verified(s);
        assert_true(vp_frame_info(f)->seq == seq - 1);
        vp_frame_release(f);
    }
    /* A frame lost on the way (seq jumps): nothing is shown until a
     * keyframe, which the subscriber asks for and gets. */
    uint64_t asked = stat_of(vp_pub_stats(p), "keyframe_requests");
    seq += 5;
    f = h264_first(p, s, &seq);
    assert_true(vp_frame_info(f)->keyframe);
    vp_frame_release(f);
    assert_true(stat_of(vp_pub_stats(p), "keyframe_requests") > asked);
    assert_true(stat_of(vp_sub_stats(s), "waiting_keyframe") >= 1);
    assert_int_equal(stat_of(vp_sub_stats(s), "bad"), 0);
    vp_sub_close(s);
    /* Nobody wants h264 any more: nothing is encoded. */
    uint64_t made = stat_of(vp_pub_stats(p), "h264_encodes");
    for (int64_t end = now_ms() + 5000; vp_pub_wanted(p) && now_ms() < end;)
        sleep_ms(2);
    publish(p, seq++);
    assert_true(stat_of(vp_pub_stats(p), "h264_encodes") == made);
    vp_pub_close(p);
}

/* --- byte streams ----------------------------------------------------- */

/* A publisher writing a byte stream into a pipe, and a subscriber reading
 * it: fds[0] is the subscriber's end, fds[1] the publisher's. */
static void stream_pair(vp_pub **p, vp_sub **s, int fds[2], const char *stream)
{
    struct vp_pub_opts po;
    struct vp_sub_opts so;
    const char *u = "-";

    assert_int_equal(pipe(fds), 0);
    vp_pub_opts_init(&po);
    po.fd = fds[1];
    po.stream = stream;
    assert_int_equal(vp_pub_open(p, "-", &po), 0);
    vp_sub_opts_init(&so);
    so.fd = fds[0];
    assert_int_equal(vp_sub_open(s, &u, 1, &so), 0);
}

static void test_stream_roundtrip(void **state)
{
    (void)state;
    int fds[2];
    vp_pub *p;
    vp_sub *s;
    vp_frame *f[3];

    stream_pair(&p, &s, fds, "pipe1");
    for (uint64_t seq = 5; seq < 8; seq++) /* 27 KB: the pipe holds them */
        publish_at(p, seq, 64, 48);
    vp_pub_close(p);
    close(fds[1]);
    /* Frames from a stream stay valid together, each in its buffer. */
    for (int i = 0; i < 3; i++) {
        f[i] = next_verified(s);
        assert_int_equal(vp_frame_info(f[i])->path, VP_PATH_PIPE);
        assert_string_equal(vp_frame_info(f[i])->stream, "pipe1");
    }
    for (int i = 0; i < 3; i++) {
        struct vp_image img;
        uint64_t seq;
        assert_int_equal(vp_frame_image(f[i], &img), 0);
        assert_int_equal(vp_pattern_read(&img, &seq), 0);
        assert_true(seq == (uint64_t)5 + (uint64_t)i);
        vp_frame_release(f[i]);
    }
    assert_int_equal(vp_sub_next(s, 1000, &f[0]), -ENODATA);
    assert_int_equal(stat_of(vp_sub_stats(s), "frames"), 3);
    vp_sub_close(s);
    close(fds[0]);
}

static void test_stream_corrupt(void **state)
{
    (void)state;
    struct vp_sub_opts so;
    const char *u = "-";
    int fds[2];
    vp_sub *s;
    vp_frame *f;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "\x81\xa1x\x01garbage", 11), 11);
    close(fds[1]);
    vp_sub_opts_init(&so);
    so.fd = fds[0];
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    assert_int_equal(vp_sub_next(s, 1000, &f), -EBADMSG);
    assert_non_null(strstr(vp_errmsg(), "byte offset"));
    assert_int_equal(vp_sub_next(s, 1000, &f), -EBADMSG); /* and stays so */
    assert_int_equal(stat_of(vp_sub_stats(s), "bad"), 1);
    vp_sub_close(s);
    close(fds[0]);
}

/* --- releasing while the subscriber closes ------------------------------ */

struct releaser {
    vp_frame *f;
    _Atomic pid_t tid;
};

static void *release_frame(void *arg)
{
    struct releaser *r = arg;
    atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
    vp_frame_release(r->f);
    return NULL;
}

/* Waits until thread tid sleeps in poll(): the only poll() on a release's
 * way is the release_step fault point's. */
static void wait_in_poll(_Atomic pid_t *tid)
{
    char path[64], buf[128];

    for (int i = 0; i < 10000; i++, usleep(1000)) {
        if (!atomic_load(tid))
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall",
                 (int)atomic_load(tid));
        FILE *fp = fopen(path, "r");
        size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
        if (fp)
            fclose(fp);
        buf[n] = 0;
        long nr = strtol(buf, NULL, 10);
        if (n && (nr == SYS_poll || nr == SYS_ppoll))
            return;
    }
    fail_msg("the release never reached its fault point");
}

/* f, the last frame out of s, is released on a thread held at the
 * release_step fault point; s is closed meanwhile, then the release goes
 * on.  The release must be the one that frees s (nothing leaks) and must
 * not touch s after a close freed it (ASan in make asan). */
static void release_while_closing(vp_sub *s, vp_frame *f)
{
    char fifo[64], spec[96];
    struct releaser r = {.f = f};
    const char *why;
    pthread_t th;

    snprintf(fifo, sizeof fifo, "/tmp/vp-release-%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(spec, sizeof spec, "release_step=%s", fifo);
    assert_int_equal(fault_parse(spec, &why), 0);
    assert_int_equal(pthread_create(&th, NULL, release_frame, &r), 0);
    wait_in_poll(&r.tid);
    vp_sub_close(s); /* the frame is still counted out: s stays */
    int fd = open(fifo, O_WRONLY | O_NONBLOCK);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    pthread_join(th, NULL); /* ... and its release frees it */
    assert_int_equal(fault_parse("", &why), 0);
    unlink(fifo);
}

static void test_release_while_closing(void **state)
{
    (void)state;
    struct vp_sub_opts so;
    const char *u = url;
    int fds[2];
    vp_pub *p;
    vp_sub *s;

    /* A frame of a byte stream, holding the stream's buffer. */
    stream_pair(&p, &s, fds, "cam0");
    publish_at(p, 1, 64, 48);
    vp_pub_close(p);
    close(fds[1]);
    release_while_closing(s, next_verified(s));
    close(fds[0]);

    /* A frame received over TCP, holding its message. */
    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    vp_sub_opts_init(&so);
    so.shm = VP_SHM_OFF;
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    wait_wanted(p);
    vp_frame *f = NULL;
    for (uint64_t seq = 0; !f && seq < 300; seq++) {
        publish(p, seq);
        if (vp_sub_next(s, 10, &f) < 0)
            f = NULL;
    }
    assert_non_null(f);
    release_while_closing(s, f);
    vp_pub_close(p);
}

/* --- bad arguments ------------------------------------------------------ */

/* A TCP port nothing listens on now. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct vp_pub_opts po;
    struct vp_image img;
    const char *bad[] = {"udp://x:1", "tcp://nohost", "-"};
    vp_pub *p;
    vp_sub *s;

    assert_int_equal(vp_sub_open(&s, bad, 1, NULL), -EINVAL);
    assert_non_null(strstr(vp_errmsg(), "udp://x:1"));
    assert_int_equal(vp_sub_open(&s, bad + 1, 1, NULL), -EINVAL);
    assert_int_equal(vp_sub_open(&s, bad + 1, 2, NULL), -EINVAL);
    assert_int_equal(vp_sub_open(&s, bad, 0, NULL), -EINVAL);
    assert_int_equal(vp_pub_open(&p, "tcp://127.0.0.1:0x", NULL), -EINVAL);
    vp_pub_opts_init(&po);
    po.stream = "no spaces";
    assert_int_equal(vp_pub_open(&p, url, &po), -EINVAL);
    po.stream = "cam0";
    po.ring_slots = 65;
    assert_int_equal(vp_pub_open(&p, url, &po), -EINVAL);

    /* Bound twice: the second one says why. */
    vp_pub *q;
    char tcp[64];
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", free_port());
    assert_int_equal(vp_pub_open(&q, tcp, NULL), 0);
    assert_true(vp_pub_open(&p, tcp, NULL) < 0);
    assert_non_null(strstr(vp_errmsg(), "bind"));
    vp_pub_close(q);
    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    assert_int_equal(vp_pub_loan(p, 0, 10, VP_PIX_BGR24, &img), -EINVAL);
    assert_int_equal(vp_pub_loan(p, 10, 10, VP_PIX_NONE, &img), -EINVAL);
    assert_int_equal(vp_pub_commit(p, 1), -EINVAL); /* nothing on loan */
    assert_int_equal(vp_pub_loan(p, 10, 10, VP_PIX_GRAY, &img), 0);
    assert_int_equal(vp_pub_loan(p, 10, 10, VP_PIX_GRAY, &img), -EBUSY);
    vp_pub_cancel(p);
    vp_pub_close(p);
    vp_pub_close(NULL);
    vp_sub_close(NULL);
    vp_frame_release(NULL);
}

/* --- a subscriber's own wants ------------------------------------------- */

/* Waits until p sees (or no longer sees) a subscription to variant v. */
static void wait_pub_wants(vp_pub *p, enum variant v, bool on)
{
    for (int64_t end = now_ms() + 5000; now_ms() < end; sleep_ms(2)) {
        pub_serve(p);
        if (pub_wants(p, v, "cam0") == on)
            return;
    }
    fail_msg("the publisher never saw variant %d %s", v, on ? "on" : "off");
}

static void test_want(void **state)
{
    (void)state;
    struct vp_sub_opts so;
    const char *u = url, *dash = "-";
    vp_pub *p;
    vp_sub *s, *latest, *piped;
    vp_frame *f;
    int fds[2];

    assert_int_equal(vp_pub_open(&p, url, NULL), 0);
    vp_sub_opts_init(&so);
    so.shm = VP_SHM_OFF;
    so.every_frame = true;
    assert_int_equal(vp_sub_open(&s, &u, 1, &so), 0);
    wait_pub_wants(p, VAR_RAW, true);
    assert_false(pub_wants(p, VAR_JPEG, "cam0"));

    /* Asked twice, and once for every stream: one JPEG a frame. */
    assert_int_equal(vp_sub_want(s, "cam0", VP_VARIANT_JPEG, true), 0);
    assert_int_equal(vp_sub_want(s, "cam0", VP_VARIANT_JPEG, true), 0);
    assert_int_equal(vp_sub_want(s, NULL, VP_VARIANT_JPEG, true), 0);
    wait_pub_wants(p, VAR_JPEG, true);
    publish(p, 7);
    bool raw = false, jpeg = false;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vp_sub_next(s, 3000, &f), 0);
        assert_int_equal(vp_frame_info(f)->seq, 7);
        raw |= vp_frame_info(f)->codec == VP_CODEC_RAW;
        jpeg |= vp_frame_info(f)->codec == VP_CODEC_JPEG;
        vp_frame_release(f);
    }
    assert_true(raw && jpeg);
    assert_int_equal(stat_of(vp_pub_stats(p), "jpeg_encodes"), 1);

    /* Let go once per name: the publisher stops encoding. */
    assert_int_equal(vp_sub_want(s, "cam0", VP_VARIANT_JPEG, false), 0);
    assert_int_equal(vp_sub_want(s, NULL, VP_VARIANT_JPEG, false), 0);
    assert_int_equal(vp_sub_want(s, NULL, VP_VARIANT_JPEG, false), 0);
    wait_pub_wants(p, VAR_JPEG, false);
    assert_true(pub_wants(p, VAR_RAW, "cam0")); /* its own stays */
    assert_int_equal(vp_sub_want(s, "bad name", VP_VARIANT_RAW, true), -EINVAL);

    /* A keyframe asked for reaches the publisher (cam0 is carried). */
    uint64_t asked = stat_of(vp_pub_stats(p), "keyframe_requests");
    assert_int_equal(vp_sub_ask_keyframe(s, "cam0"), 0);
    for (int64_t end = now_ms() + 5000;
         stat_of(vp_pub_stats(p), "keyframe_requests") == asked; sleep_ms(2)) {
        assert_true(now_ms() < end);
        pub_serve(p);
    }
    assert_int_equal(vp_sub_ask_keyframe(s, "bad name"), -EINVAL);

    /* Nobody to ask on a byte stream; a latest-frame subscriber's socket
     * belongs to its receiver thread. */
    assert_int_equal(pipe(fds), 0);
    so.fd = fds[0];
    assert_int_equal(vp_sub_open(&piped, &dash, 1, &so), 0);
    assert_int_equal(vp_sub_want(piped, "cam0", VP_VARIANT_JPEG, true),
                     -ENOTSUP);
    assert_int_equal(vp_sub_ask_keyframe(piped, "cam0"), -ENOTSUP);
    vp_sub_close(piped);
    close(fds[0]);
    close(fds[1]);
    vp_sub_opts_init(&so);
    assert_int_equal(vp_sub_open(&latest, &u, 1, &so), 0);
    assert_int_equal(vp_sub_want(latest, "cam0", VP_VARIANT_JPEG, true),
                     -EINVAL);
    assert_int_equal(vp_sub_ask_keyframe(latest, "cam0"), -EINVAL);
    vp_sub_close(latest);
    vp_sub_close(s);
    vp_pub_close(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(url, sizeof url, "ipc:///tmp/vidpipe-test-api-%d", (int)getpid());
    return 0;
}

/* Every format through the converter and back to bgr24: the pattern
 * still reads, same-format and packed RGB conversions are exact, and
 * what a picture cannot be is refused. */
static void test_convert(void **state)
{
    static const enum vp_pixfmt fmts[] = {VP_PIX_BGR24, VP_PIX_RGB24,
                                          VP_PIX_GRAY,  VP_PIX_YUV420P,
                                          VP_PIX_NV12,  VP_PIX_YUYV422};
    uint32_t w = 320, h = 240;
    struct vp_image src, mid, back, odd;
    vp_convert *c, *c2;
    uint64_t seq;
    (void)state;

    assert_int_equal(vp_convert_new(&c), 0);
    assert_int_equal(vp_convert_new(&c2), 0);
    uint8_t *px = malloc(vp_image_layout(&src, w, h, VP_PIX_BGR24, 0, NULL));
    assert_non_null(px);
    vp_image_layout(&src, w, h, VP_PIX_BGR24, 0, px);
    assert_int_equal(vp_pattern_draw(&src, 77), 0);
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        assert_int_equal(vp_convert_to(c, &src, fmts[i], &mid), 0);
        assert_int_equal(mid.fmt, fmts[i]);
        assert_int_equal(vp_pattern_read(&mid, &seq), 0);
        assert_true(seq == 77);
        assert_int_equal(vp_convert_to(c2, &mid, VP_PIX_BGR24, &back), 0);
        assert_int_equal(vp_pattern_read(&back, &seq), 0);
        assert_true(seq == 77);
        if (fmts[i] == VP_PIX_BGR24 || fmts[i] == VP_PIX_RGB24)
            assert_memory_equal(back.data[0], px, (size_t)w * 3 * h);
    }
    /* Not a size of yuv420p; and images of two sizes. */
    odd = src;
    odd.width = w - 1;
    assert_int_equal(vp_convert_to(c, &odd, VP_PIX_YUV420P, &mid), -EINVAL);
    assert_int_equal(vp_convert_to(c, &src, VP_PIX_NV12, &mid), 0);
    assert_int_equal(vp_convert_image(c, &odd, &mid), -EINVAL);
    assert_int_equal(vp_convert_to(c, &src, VP_PIX_NONE, &mid), -EINVAL);
    vp_convert_free(c);
    vp_convert_free(c2);
    vp_convert_free(NULL);
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_shm),
        cmocka_unit_test(test_threads_payload),
        cmocka_unit_test(test_latest_wins),
        cmocka_unit_test(test_doorbell_and_lease),
        cmocka_unit_test(test_torn),
        cmocka_unit_test(test_frame_holds_mapping),
        cmocka_unit_test(test_cancel_announces_nothing),
        cmocka_unit_test(test_h264),
        cmocka_unit_test(test_stream_roundtrip),
        cmocka_unit_test(test_stream_corrupt),
        cmocka_unit_test(test_release_while_closing),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_want),
        cmocka_unit_test(test_convert),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
