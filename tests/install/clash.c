/* clash.c -- a user's program with functions named like libvidpipe's
 * insides, linked statically against the installed libvidpipe.a.
 *
 *   clash IPC_PATH
 *
 * Its log_init, ring_create, stream_read, clock_mono_ns and pool_new are
 * its own: each counts its calls and returns a mark.  It then sends a
 * test-pattern frame through a pipe (the library's stream_read) and one
 * through shared memory over ipc://IPC_PATH (ring_create, pool_new), and
 * checks the frames arrived intact and its own functions ran only when
 * it called them.  Prints "ok" and exits 0, or says what failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vidpipe.h>

#define W 64
#define H 48
#define MARK 0x5eed

static int calls[5];

/* Same names as the library's internal functions, other signatures. */
int log_init(void)
{
    return calls[0]++, MARK + 0;
}
int ring_create(void)
{
    return calls[1]++, MARK + 1;
}
int stream_read(void)
{
    return calls[2]++, MARK + 2;
}
int clock_mono_ns(void)
{
    return calls[3]++, MARK + 3;
}
int pool_new(void)
{
    return calls[4]++, MARK + 4;
}

static int fail(const char *what)
{
    fprintf(stderr, "clash: %s: %s\n", what, vp_errmsg());
    exit(1);
}

/* f is frame seq of the test pattern, W x H, byte for byte. */
static void check_frame(vp_frame *f, uint64_t seq, enum vp_path path)
{
    static uint8_t want[W * H * 3];
    const struct vp_frame_info *in = vp_frame_info(f);
    struct vp_image got, ref;
    uint64_t read_seq;

    if (in->seq != seq || in->width != W || in->height != H || in->path != path)
        fail("frame header");
    if (vp_frame_image(f, &got) < 0 || vp_pattern_read(&got, &read_seq) < 0 ||
        read_seq != seq)
        fail("pattern");
    vp_image_layout(&ref, W, H, VP_PIX_BGR24, 0, want);
    vp_pattern_draw(&ref, seq);
    for (uint32_t y = 0; y < H; y++)
        if (memcmp(got.data[0] + (size_t)y * got.stride[0],
                   want + (size_t)y * ref.stride[0], W * 3) != 0)
            fail("pixels");
    if (!vp_frame_intact(f))
        fail("torn");
}

static void send_one(vp_pub *pub, uint64_t seq)
{
    struct vp_image img;

    if (vp_pub_loan(pub, W, H, VP_PIX_BGR24, &img) < 0)
        fail("vp_pub_loan");
    vp_pattern_draw(&img, seq);
    if (vp_pub_commit(pub, seq) < 0)
        fail("vp_pub_commit");
}

/* A byte stream through a pipe: what the library reads with its own
 * stream_read. */
static void through_pipe(void)
{
    struct vp_pub_opts po;
    struct vp_sub_opts so;
    const char *url = "-";
    vp_frame *f;
    vp_pub *pub;
    vp_sub *sub;
    int fd[2];

    if (pipe(fd) < 0)
        fail("pipe");
    vp_pub_opts_init(&po);
    po.fd = fd[1];
    if (vp_pub_open(&pub, "-", &po) < 0)
        fail("vp_pub_open -");
    send_one(pub, 7);
    vp_pub_close(pub);
    close(fd[1]);
    vp_sub_opts_init(&so);
    so.fd = fd[0];
    if (vp_sub_open(&sub, &url, 1, &so) < 0)
        fail("vp_sub_open -");
    if (vp_sub_next(sub, 5000, &f) < 0)
        fail("vp_sub_next -");
    check_frame(f, 7, VP_PATH_PIPE);
    vp_frame_release(f);
    if (vp_sub_next(sub, 5000, &f) != -ENODATA)
        fail("end of stream");
    vp_sub_close(sub);
    close(fd[0]);
}

/* A publisher and a subscriber on one host: the frame goes through the
 * publisher's shm ring, which the library makes with its own
 * ring_create. */
static void through_shm(const char *path)
{
    int64_t deadline = vp_clock_mono_ns() + 20 * INT64_C(1000000000);
    char url[512];
    const char *u = url;
    vp_frame *f = NULL;
    uint64_t seq = 0;
    vp_pub *pub;
    vp_sub *sub;

    snprintf(url, sizeof url, "ipc://%s", path);
    if (vp_pub_open(&pub, url, NULL) < 0)
        fail("vp_pub_open");
    if (vp_sub_open(&sub, &u, 1, NULL) < 0)
        fail("vp_sub_open");
    while (!f) {
        int64_t now = vp_clock_mono_ns();
        if (now > deadline)
            fail("no frame in 20 s");
        vp_pub_wait_until(pub, now + 20000000);
        if (vp_pub_wanted(pub))
            send_one(pub, ++seq);
        int rc = vp_sub_next(sub, 20, &f);
        if (rc < 0 && rc != -ETIMEDOUT)
            fail("vp_sub_next");
    }
    check_frame(f, vp_frame_info(f)->seq, VP_PATH_SHM);
    vp_frame_release(f);
    vp_sub_close(sub);
    vp_pub_close(pub);
}

int main(int argc, char **argv)
{
    int (*own[])(void) = {log_init, ring_create, stream_read, clock_mono_ns,
                          pool_new};

    if (argc != 2) {
        fprintf(stderr, "usage: clash IPC_PATH\n");
        return 2;
    }
    for (int i = 0; i < 5; i++)
        if (own[i]() != MARK + i)
            fail("own function");
    vp_log_prefix("clash"); /* the library's log_init */
    if (vp_clock_mono_ns() < 1000000)
        fail("vp_clock_mono_ns");
    through_pipe();
    through_shm(argv[1]);
    for (int i = 0; i < 5; i++)
        if (calls[i] != 1) {
            fprintf(stderr, "clash: own function %d called %d times\n", i,
                    calls[i]);
            return 1;
        }
    printf("ok\n");
    return 0;
}
