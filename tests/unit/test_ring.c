/* test_ring.c -- shm frame ring: layout, descriptors, seqlock, stale rings,
 * too little /dev/shm and segments cut short.
 *
 * Every test names its segments "/vidpipe-ut<pid>-<tag>" and checks at
 * its end that none of them is left in /dev/shm.  The layout test reads
 * the segment through a second mapping at the offsets RING.md gives, so
 * the document and ring.c cannot drift apart unnoticed.  A short /dev/shm
 * is the test control VIDPIPE_TEST_SHM_LIMIT; a cut is ftruncate() on the
 * segment, with the reader or writer in this process: a SIGBUS not taken
 * care of would end the test run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract/frame.h"
#include "contract/ring.h"
#include "util/wake.h"

#define W 64
#define H 48
#define BPP 3
#define STRIDE (W * BPP + 8) /* padded rows: stride is not w * bpp */
#define PAGE 4096u

/* Offsets of RING.md's header and slot table. */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_TOKEN 8
#define OFF_NSLOTS 16
#define OFF_FMT 20
#define OFF_WIDTH 24
#define OFF_HEIGHT 28
#define OFF_STRIDE 32
#define OFF_HDR_SIZE 36
#define OFF_SLOT_SIZE 40
#define OFF_DATA_OFFSET 48
#define OFF_TOTAL_SIZE 56
#define OFF_OWNER_PID 64
#define OFF_OWNER_START 72
#define OFF_STREAM 80
#define OFF_BELL 144
#define OFF_LATEST 148
#define HDR_SIZE 192
#define SLOT_ENTRY 64

static int create_rc; /* the last create()'s ring_create() result */
static const char *create_why;

/* ring_create() of a bgr24 ring: it, or NULL with create_rc and
 * create_why. */
static struct ring *create(const char *name, uint32_t nslots, uint32_t w,
                           uint32_t h, uint32_t stride)
{
    struct ring *r;
    create_rc =
        ring_create(&r, name, nslots, w, h, stride, PIXFMT_BGR24, &create_why);
    assert_true(create_rc < 0 ? r == NULL : r != NULL);
    return r;
}

static void ring_name(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "/vidpipe-ut%d-%s", (int)getpid(), tag);
}

static bool segment_exists(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return access(path, F_OK) == 0;
}

/* Fails if any segment of this test process is left in /dev/shm. */
static void assert_no_segments(void)
{
    char prefix[64];
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    int left = 0;

    snprintf(prefix, sizeof prefix, "vidpipe-ut%d-", (int)getpid());
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            print_error("left in /dev/shm: %s\n", e->d_name);
            left++;
        }
    closedir(d);
    assert_int_equal(left, 0);
}

static struct ring *make(const char *name, uint32_t nslots)
{
    struct ring *r = create(name, nslots, W, H, STRIDE);
    if (!r)
        print_error("ring_create %s: %s: %s\n", name, create_why,
                    strerror(-create_rc));
    assert_non_null(r);
    return r;
}

/* The header a producer would publish for the frame described by d. */
static struct frame_hdr hdr_for(const struct frame_shm *d, uint64_t seq)
{
    struct frame_hdr h;
    memset(&h, 0, sizeof h);
    h.version = FRAME_SCHEMA_VERSION;
    strcpy(h.stream, "cam0");
    h.seq = seq;
    h.width = W;
    h.height = H;
    h.stride = STRIDE;
    h.fmt = PIXFMT_BGR24;
    h.enc = ENC_RAW;
    h.size = (uint64_t)STRIDE * H;
    h.has_shm = true;
    h.shm = *d;
    return h;
}

static uint8_t fill_byte(uint64_t seq)
{
    return (uint8_t)(seq * 37 + 11);
}

/* Ends the write of slot for frame seq, stamped at seq * 1000 ns (real)
 * and seq * 1000 + 1 ns (monotonic). */
static void end_seq(struct ring *r, uint32_t slot, uint64_t seq,
                    struct frame_shm *d)
{
    struct frame_hdr h = {.seq = seq,
                          .t_real_ns = (int64_t)seq * 1000,
                          .t_mono_ns = (int64_t)seq * 1000 + 1};
    ring_write_end(r, slot, &h, d);
}

/* Writes frame seq (every byte fill_byte(seq)) into the next slot. */
static struct frame_hdr put(struct ring *r, uint64_t seq)
{
    struct frame_shm d;
    uint32_t slot;
    uint8_t *px = ring_write_begin(r, &slot);
    memset(px, fill_byte(seq), (size_t)STRIDE * H);
    end_seq(r, slot, seq, &d);
    assert_int_equal(d.slot, slot);
    return hdr_for(&d, seq);
}

/* A read-write mapping of a segment, to inspect or corrupt it. */
static uint8_t *map_raw(const char *name, size_t *size)
{
    struct stat st;
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    *size = (size_t)st.st_size;
    return p;
}

#define U32(p, off) (*(uint32_t *)((p) + (off)))
#define U64(p, off) (*(uint64_t *)((p) + (off)))

/* Forks a child that creates the ring and exits without freeing it; the
 * segment is then owned by a dead process. */
static void make_orphan(const char *name)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ring *r = create(name, 4, W, H, STRIDE);
        _exit(r ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(segment_exists(name));
}

/* --- tests. ----------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    char name[64];
    const char *why = NULL;
    ring_name(name, sizeof name, "rt");
    struct ring *r = make(name, 4);
    struct ring_reader *rr = ring_reader_new();
    assert_non_null(rr);

    assert_true(ring_fits(r, W, H, STRIDE, PIXFMT_BGR24));
    assert_false(ring_fits(r, W, H, STRIDE, PIXFMT_RGB24));
    assert_false(ring_fits(r, W + 1, H, STRIDE, PIXFMT_BGR24));
    assert_false(ring_fits(r, W, H, W * BPP, PIXFMT_BGR24));

    /* The segment is private to its user. */
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    for (uint64_t seq = 0; seq < 10; seq++) {
        struct frame_hdr h = put(r, seq);
        assert_string_equal(h.shm.name, name);
        assert_int_equal(h.shm.slot, seq % 4);
        assert_true(h.shm.gen >= 2 && h.shm.gen % 2 == 0);
        assert_int_not_equal(h.shm.token, 0);
        assert_int_equal(frame_hdr_check(&h, &why), 0);
        assert_int_equal(ring_reader_check(rr, &h, &why), 0);
        const uint8_t *px = ring_read_begin(rr, &h);
        assert_non_null(px);
        for (size_t i = 0; i < (size_t)STRIDE * H; i++)
            if (px[i] != fill_byte(seq))
                fail_msg("frame %llu byte %zu: %u", (unsigned long long)seq, i,
                         px[i]);
        assert_true(ring_read_end(rr, &h));
    }
    /* A slot written again gets a higher generation. */
    struct frame_hdr a = put(r, 10), b;
    for (int i = 0; i < 3; i++)
        b = put(r, 11 + i);
    b = put(r, 14);
    assert_int_equal(a.shm.slot, b.shm.slot);
    assert_true(b.shm.gen > a.shm.gen);

    ring_reader_free(rr);
    ring_free(r);
    assert_false(segment_exists(name));
    ring_free(NULL);
    ring_reader_free(NULL);
    assert_no_segments();
}

/* The header and slot table sit where RING.md says. */
static void test_layout(void **state)
{
    (void)state;
    char name[64];
    size_t size;
    ring_name(name, sizeof name, "layout");
    struct ring *r = make(name, 5);
    struct frame_hdr h = put(r, 77);
    uint8_t *p = map_raw(name, &size);

    uint64_t frame = (uint64_t)STRIDE * H;
    uint64_t slot_size = (frame + PAGE - 1) / PAGE * PAGE;
    uint64_t data = (HDR_SIZE + 5 * SLOT_ENTRY + PAGE - 1) / PAGE * PAGE;

    assert_int_equal(U32(p, OFF_MAGIC), RING_MAGIC);
    assert_memory_equal(p, "VPR1", 4);
    assert_int_equal(U32(p, OFF_VERSION), RING_VERSION);
    assert_int_equal(U64(p, OFF_TOKEN), h.shm.token);
    assert_int_equal(U32(p, OFF_NSLOTS), 5);
    assert_int_equal(U32(p, OFF_FMT), PIXFMT_BGR24);
    assert_int_equal(U32(p, OFF_WIDTH), W);
    assert_int_equal(U32(p, OFF_HEIGHT), H);
    assert_int_equal(U32(p, OFF_STRIDE), STRIDE);
    assert_int_equal(U32(p, OFF_HDR_SIZE), HDR_SIZE);
    assert_int_equal(U64(p, OFF_SLOT_SIZE), slot_size);
    assert_int_equal(U64(p, OFF_DATA_OFFSET), data);
    assert_int_equal(U64(p, OFF_TOTAL_SIZE), data + 5 * slot_size);
    assert_int_equal(size, data + 5 * slot_size);
    assert_int_equal(U64(p, OFF_OWNER_PID), (uint64_t)getpid());
    assert_int_not_equal(U64(p, OFF_OWNER_START), 0);
    (void)OFF_STREAM;

    /* The doorbell: one frame written so far, into slot h.shm.slot. */
    assert_int_equal(U32(p, OFF_BELL), 1);
    assert_int_equal(U32(p, OFF_LATEST), h.shm.slot + 1);

    /* Slot table: gen, seq, t_real_ns, t_mono_ns, one 64-byte entry per
     * slot. */
    const uint8_t *e = p + HDR_SIZE + (size_t)h.shm.slot * SLOT_ENTRY;
    assert_int_equal(U64(e, 0), h.shm.gen);
    assert_int_equal(U64(e, 8), 77);
    assert_int_equal(U64(e, 16), 77000);
    assert_int_equal(U64(e, 24), 77001);
    for (uint32_t i = 0; i < 5; i++)
        if (i != h.shm.slot)
            assert_int_equal(U64(p + HDR_SIZE + i * SLOT_ENTRY, 0), 2);
    /* Pixels: page-aligned, slot i at data + i * slot_size. */
    const uint8_t *px = p + data + h.shm.slot * slot_size;
    assert_int_equal(px[0], fill_byte(77));
    assert_int_equal(px[frame - 1], fill_byte(77));

    /* A write in progress is visible as an odd generation. */
    uint32_t slot;
    ring_write_begin(r, &slot);
    uint64_t g = U64(p + HDR_SIZE + slot * SLOT_ENTRY, 0);
    assert_int_equal(g % 2, 1);
    struct frame_shm d;
    end_seq(r, slot, 78, &d);
    assert_int_equal(U64(p + HDR_SIZE + slot * SLOT_ENTRY, 0), g + 1);
    assert_int_equal(d.gen, g + 1);

    munmap(p, size);
    ring_free(r);
    assert_no_segments();
}

static void expect_bad(struct ring_reader *rr, const struct frame_hdr *h)
{
    const char *why = NULL;
    assert_int_equal(ring_reader_check(rr, h, &why), -EBADMSG);
    assert_non_null(why);
}

static void test_descriptor_validation(void **state)
{
    (void)state;
    char name[64], other[64];
    const char *why = NULL;
    ring_name(name, sizeof name, "val");
    struct ring *r = make(name, 4);
    struct ring_reader *rr = ring_reader_new();
    struct frame_hdr good = put(r, 1), h;

    assert_int_equal(ring_reader_check(rr, &good, &why), 0);

    h = good; /* wrong token for the real name */
    h.shm.token ^= 0x5a5a;
    expect_bad(rr, &h);
    h.shm.token = 0;
    expect_bad(rr, &h);
    /* ... and the real ring is still usable after that. */
    assert_int_equal(ring_reader_check(rr, &good, &why), 0);
    assert_non_null(ring_read_begin(rr, &good));
    assert_true(ring_read_end(rr, &good));

    h = good;
    h.shm.slot = 4;
    expect_bad(rr, &h);
    h.shm.slot = 9999;
    expect_bad(rr, &h);
    h.shm.slot = UINT32_MAX;
    expect_bad(rr, &h);

    h = good; /* geometry that does not fit the ring */
    h.width = W / 2;
    h.stride = W / 2 * BPP;
    h.size = (uint64_t)h.stride * H;
    expect_bad(rr, &h);
    h = good;
    h.height = H * 2;
    h.size = (uint64_t)STRIDE * h.height;
    expect_bad(rr, &h);
    h = good;
    h.stride = W * BPP;
    h.size = (uint64_t)h.stride * H;
    expect_bad(rr, &h);
    h = good;
    h.fmt = PIXFMT_RGB24;
    expect_bad(rr, &h);
    h = good;
    h.fmt = PIXFMT_GRAY;
    h.stride = W;
    h.size = (uint64_t)W * H;
    expect_bad(rr, &h);

    h = good; /* generations that name no written frame */
    h.shm.gen = 0;
    expect_bad(rr, &h);
    h.shm.gen = good.shm.gen + 1;
    expect_bad(rr, &h);
    h.shm.gen = 1;
    expect_bad(rr, &h);

    h = good;
    h.has_shm = false;
    expect_bad(rr, &h);

    /* A ring that does not exist here: another host. */
    ring_name(other, sizeof other, "nonexistent");
    h = good;
    snprintf(h.shm.name, sizeof h.shm.name, "%s", other);
    why = NULL;
    assert_int_equal(ring_reader_check(rr, &h, &why), -ENOENT);
    assert_non_null(why);
    assert_false(segment_exists(other));

    /* None of it disturbed the good descriptor. */
    assert_int_equal(ring_reader_check(rr, &good, &why), 0);
    const uint8_t *px = ring_read_begin(rr, &good);
    assert_non_null(px);
    assert_int_equal(px[0], fill_byte(1));
    assert_true(ring_read_end(rr, &good));

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* A reader checks the ring's own header before it trusts any number in
 * it: corrupt headers are rejected, never followed. */
static void test_corrupt_ring_header(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        int width; /* 4 or 8 bytes */
        uint64_t value;
    } pokes[] = {
        {OFF_MAGIC, 4, 0},
        {OFF_VERSION, 4, RING_VERSION + 1},
        {OFF_NSLOTS, 4, 1},
        {OFF_NSLOTS, 4, 1000},
        {OFF_NSLOTS, 4, 40}, /* slots would run past the mapping */
        {OFF_NSLOTS, 4, 64}, /* the table would overlap slot 0 */
        {OFF_FMT, 4, 99},
        {OFF_WIDTH, 4, 0},
        {OFF_WIDTH, 4, 100000},
        {OFF_STRIDE, 4, 3},
        {OFF_HDR_SIZE, 4, 128},
        {OFF_SLOT_SIZE, 4, 16},
        {OFF_SLOT_SIZE, 8, UINT64_MAX / 2},
        {OFF_DATA_OFFSET, 8, 64},
        {OFF_DATA_OFFSET, 8, UINT64_MAX - 100},
        {OFF_TOTAL_SIZE, 8, UINT64_MAX},
    };
    char name[64];
    const char *why = NULL;
    size_t size;
    ring_name(name, sizeof name, "corrupt");

    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        struct ring *r = make(name, 4);
        struct frame_hdr h = put(r, 5);
        uint8_t *p = map_raw(name, &size);
        if (pokes[i].width == 4)
            U32(p, pokes[i].off) = (uint32_t)pokes[i].value;
        else
            U64(p, pokes[i].off) = pokes[i].value;
        struct ring_reader *rr = ring_reader_new();
        int rc = ring_reader_check(rr, &h, &why);
        if (rc != -EBADMSG)
            fail_msg("poke %zu (offset %zu = %llu): got %d, want -EBADMSG", i,
                     pokes[i].off, (unsigned long long)pokes[i].value, rc);
        assert_null(ring_read_begin(rr, &h));
        ring_reader_free(rr);
        munmap(p, size);
        ring_free(r);
    }

    /* A segment too small for a header is not followed either. */
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 100), 0);
    /* Old enough not to be a producer still setting it up. */
    struct timespec aged[2] = {{0, UTIME_OMIT}, {time(NULL) - 60, 0}};
    assert_int_equal(futimens(fd, aged), 0);
    close(fd);
    struct ring *r2 = make(name, 4); /* a sizeless leftover is replaced */
    ring_free(r2);
    fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 100), 0);
    close(fd);
    struct frame_shm d = {.token = 1, .slot = 0, .gen = 2};
    snprintf(d.name, sizeof d.name, "%s", name);
    struct frame_hdr h = hdr_for(&d, 0);
    struct ring_reader *rr = ring_reader_new();
    assert_true(ring_reader_check(rr, &h, &why) < 0);
    ring_reader_free(rr);
    shm_unlink(name);

    /* A ring of another user is not ours to map. */
    struct ring *r = make(name, 4);
    h = put(r, 3);
    fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(fchown(fd, 65534, 65534), 0);
    close(fd);
    rr = ring_reader_new();
    assert_int_equal(ring_reader_check(rr, &h, &why), -ENOENT);
    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* Seqlock: a slot rewritten while a reader uses it is detected. */
static void test_torn(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    ring_name(name, sizeof name, "torn");
    struct ring *r = make(name, 2);
    struct ring_reader *rr = ring_reader_new();

    /* Overwritten between begin and end. */
    struct frame_hdr h = put(r, 0);
    put(r, 1);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    const uint8_t *px = ring_read_begin(rr, &h);
    assert_non_null(px);
    assert_int_equal(px[0], fill_byte(0));
    put(r, 2);                             /* the same slot as frame 0 */
    assert_int_equal(px[0], fill_byte(2)); /* pixels changed under us */
    assert_false(ring_read_end(rr, &h));

    /* Being written (odd generation) between begin and end. */
    h = put(r, 3);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_non_null(ring_read_begin(rr, &h));
    uint32_t slot;
    put(r, 4);
    ring_write_begin(r, &slot);
    assert_int_equal(slot, h.shm.slot);
    assert_false(ring_read_end(rr, &h));
    /* ... and while it is still being written, begin refuses it. */
    assert_null(ring_read_begin(rr, &h));
    struct frame_shm d;
    end_seq(r, slot, 5, &d);

    /* Already overwritten before begin: nothing to read. */
    h = put(r, 6);
    put(r, 7);
    put(r, 8);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_null(ring_read_begin(rr, &h));
    assert_false(ring_read_end(rr, &h));

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* A producer restarted under the same name (a new token) is re-mapped;
 * descriptors of the old ring are then refused. */
static void test_replaced_ring_remapped(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    ring_name(name, sizeof name, "replace");
    struct ring_reader *rr = ring_reader_new();

    struct ring *r1 = make(name, 4);
    struct frame_hdr a = put(r1, 100);
    assert_int_equal(ring_reader_check(rr, &a, &why), 0);
    assert_int_equal(ring_read_begin(rr, &a)[0], fill_byte(100));
    assert_true(ring_read_end(rr, &a));
    ring_free(r1);

    struct ring *r2 = make(name, 4);
    struct frame_hdr b = put(r2, 200);
    assert_string_equal(a.shm.name, b.shm.name);
    assert_int_not_equal(a.shm.token, b.shm.token);
    assert_int_equal(a.shm.slot, b.shm.slot);
    assert_int_equal(ring_reader_check(rr, &b, &why), 0);
    const uint8_t *px = ring_read_begin(rr, &b);
    assert_non_null(px);
    assert_int_equal(px[0], fill_byte(200));
    assert_int_equal(px[(size_t)STRIDE * H - 1], fill_byte(200));
    assert_true(ring_read_end(rr, &b));

    /* The old descriptor names a ring that is gone. */
    assert_int_equal(ring_reader_check(rr, &a, &why), -EBADMSG);
    assert_int_equal(ring_reader_check(rr, &b, &why), 0);
    assert_int_equal(ring_read_begin(rr, &b)[0], fill_byte(200));

    /* A different geometry under the same name works as well. */
    ring_free(r2);
    struct ring *r3 = create(name, 3, W * 2, H, W * 2 * BPP);
    assert_non_null(r3);
    uint32_t slot;
    struct frame_shm d;
    memset(ring_write_begin(r3, &slot), 0xab, (size_t)W * 2 * BPP * H);
    end_seq(r3, slot, 300, &d);
    struct frame_hdr c = hdr_for(&d, 300);
    c.width = W * 2;
    c.stride = W * 2 * BPP;
    c.size = (uint64_t)c.stride * H;
    assert_int_equal(ring_reader_check(rr, &c, &why), 0);
    assert_int_equal(ring_read_begin(rr, &c)[c.size - 1], 0xab);
    assert_true(ring_read_end(rr, &c));
    assert_int_equal(ring_reader_check(rr, &b, &why), -EBADMSG);

    ring_reader_free(rr);
    ring_free(r3);
    assert_no_segments();
}

/* A ring left by a producer that died is replaced by the next
 * ring_create of its name and removed by ring_gc. */
static void test_stale_ring(void **state)
{
    (void)state;
    char name[64], name2[64];
    const char *why;
    ring_name(name, sizeof name, "stale");
    ring_name(name2, sizeof name2, "stale2");

    make_orphan(name);
    /* A reader may still map it: stale rings are harmless, just old. */
    struct ring *r = make(name, 4);
    struct frame_hdr h = put(r, 1);
    struct ring_reader *rr = ring_reader_new();
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_non_null(ring_read_begin(rr, &h));
    ring_reader_free(rr);
    size_t size;
    uint8_t *p = map_raw(name, &size);
    assert_int_equal(U64(p, OFF_OWNER_PID), (uint64_t)getpid());
    munmap(p, size);
    ring_free(r);

    make_orphan(name2);
    assert_true(ring_gc() >= 0);
    assert_false(segment_exists(name2));
    assert_no_segments();
}

/* How many fds of this process hold a removed segment of this test. */
static int held_removed(void)
{
    char prefix[64], link[256];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    snprintf(prefix, sizeof prefix, "/dev/shm/vidpipe-ut%d-", (int)getpid());
    assert_non_null(d);
    while ((e = readdir(d))) {
        ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
        if (len <= 0)
            continue;
        link[len] = 0;
        n += strncmp(link, prefix, strlen(prefix)) == 0 &&
             strstr(link, " (deleted)") != NULL;
    }
    closedir(d);
    return n;
}

/* A producer restarted again and again makes a new ring each time, and
 * the old one is removed (ring_free, or ring_gc after a kill -9): the
 * reader lets go of it when it maps the next, so it holds no fd or pages
 * of a removed ring, except through a frame still using one.  A ring
 * still named stays mapped however many come and go. */
static void test_reader_lets_go_of_removed_rings(void **state)
{
    (void)state;
    char live_name[64], name[64];
    const char *why;
    struct ring_reader *rr = ring_reader_new();

    ring_name(live_name, sizeof live_name, "live");
    struct ring *live = make(live_name, 4);
    struct frame_hdr l = put(live, 1);
    assert_int_equal(ring_reader_check(rr, &l, &why), 0);

    struct ring *r = NULL;
    struct ring_map *m = NULL;
    struct frame_hdr h = {0}, held = {0};
    for (int i = 0; i < 20; i++) {
        if (i == 10) { /* a frame out holds the ring about to go */
            held = h;
            assert_non_null(m = ring_reader_get(rr, &held));
        }
        ring_free(r);
        char tag[16];
        snprintf(tag, sizeof tag, "gone%d", i);
        ring_name(name, sizeof name, tag);
        r = make(name, 4);
        h = put(r, (uint64_t)i + 100);
        assert_int_equal(ring_reader_check(rr, &h, &why), 0);
        assert_int_equal(held_removed(), m ? 1 : 0);
    }
    /* The reader let go of the held ring; its frame still reads it whole. */
    assert_null(ring_read_begin(rr, &held));
    const uint8_t *px = ring_map_read_begin(m, &held);
    assert_non_null(px);
    assert_int_equal(px[0], fill_byte(109));
    assert_true(ring_map_read_end(m, &held));
    ring_map_put(m);
    assert_int_equal(held_removed(), 0);
    /* The live ring was never dropped: read from the cache as it is. */
    assert_int_equal(ring_read_begin(rr, &l)[0], fill_byte(1));
    assert_true(ring_read_end(rr, &l));

    ring_reader_free(rr);
    ring_free(r);
    ring_free(live);
    assert_no_segments();
}

/* The owner's pid alone is not enough: a pid reused by another process
 * (another start time) does not keep a dead producer's ring alive. */
static void test_stale_by_start_time(void **state)
{
    (void)state;
    char name[64];
    size_t size;
    ring_name(name, sizeof name, "reuse");
    struct ring *r = make(name, 4);
    uint8_t *p = map_raw(name, &size);

    assert_true(ring_gc() >= 0);
    assert_true(segment_exists(name)); /* alive: kept */
    U64(p, OFF_OWNER_START) += 1;      /* as if our pid were reused */
    assert_true(ring_gc() >= 0);
    assert_false(segment_exists(name));
    munmap(p, size);
    ring_free(r); /* unlinks a name that is already gone: harmless */
    assert_no_segments();
}

/* A ring whose owner lives is never taken over. */
static void test_live_owner(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    ring_name(name, sizeof name, "live");
    struct ring *r = make(name, 4);
    struct frame_hdr h = put(r, 9);

    struct ring *r2 = create(name, 4, W, H, STRIDE);
    assert_null(r2);
    assert_int_equal(create_rc, -EBUSY);
    assert_non_null(strstr(create_why, "live producer"));
    assert_true(ring_gc() >= 0);
    assert_true(segment_exists(name));

    /* The live ring is untouched. */
    struct ring_reader *rr = ring_reader_new();
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_int_equal(ring_read_begin(rr, &h)[0], fill_byte(9));
    assert_true(ring_read_end(rr, &h));
    ring_reader_free(rr);

    ring_free(r);
    assert_no_segments();
}

/* ring.h: "-EBUSY for a segment of that name whose owner lives". */
static void test_live_owner_errno(void **state)
{
    (void)state;
    char name[64];
    ring_name(name, sizeof name, "busy");
    struct ring *r = make(name, 4);

    struct ring *r2 = create(name, 4, W, H, STRIDE);
    assert_null(r2);
    ring_free(r);
    if (create_rc != -EBUSY)
        fail_msg("ring_create of a live owner's ring: %d (%s), "
                 "ring.h promises -EBUSY",
                 create_rc, strerror(-create_rc));
    assert_no_segments();
}

static void test_bad_parameters(void **state)
{
    (void)state;
    char name[64];
    ring_name(name, sizeof name, "params");
    assert_null(create(name, 1, W, H, STRIDE));
    assert_null(create(name, RING_MAX_SLOTS + 1, W, H, STRIDE));
    assert_null(create(name, 4, W, 0, STRIDE));
    assert_null(create("/other-name", 4, W, H, STRIDE));
    char long_name[FRAME_SHM_NAME_MAX + 8];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    memcpy(long_name, name, strlen(name));
    assert_true(strlen(long_name) > FRAME_SHM_NAME_MAX);
    assert_null(create(long_name, 4, W, H, STRIDE));
    assert_no_segments();
}

/* --- a writer and a reader thread at full speed. ------------------------ */

#define RECENT 16
/* Frames large enough that a copy takes a while and overlaps writes. */
#define RW 640
#define RH 480
#define RSTRIDE (RW * BPP)

struct race {
    struct ring *r;
    pthread_mutex_t mu;
    struct frame_hdr recent[RECENT]; /* by seq % RECENT */
    uint64_t written;                /* frames published */
    _Atomic bool stop;
    _Atomic bool hold; /* the reader goes on until this is cleared */
    /* reader's results */
    uint64_t reads, intact, torn, mixed, bad;
    char first_mix[160];
};

static void *writer(void *arg)
{
    struct race *x = arg;
    for (uint64_t seq = 0; !x->stop; seq++) {
        struct frame_shm d;
        uint32_t slot;
        uint8_t *px = ring_write_begin(x->r, &slot);
        memset(px, fill_byte(seq), (size_t)RSTRIDE * RH);
        end_seq(x->r, slot, seq, &d);
        struct frame_hdr h = hdr_for(&d, seq);
        h.width = RW;
        h.height = RH;
        h.stride = RSTRIDE;
        h.size = (uint64_t)RSTRIDE * RH;
        pthread_mutex_lock(&x->mu);
        x->recent[seq % RECENT] = h;
        x->written = seq + 1;
        pthread_mutex_unlock(&x->mu);
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct race *x = arg;
    struct ring_reader *rr = ring_reader_new();
    size_t len = (size_t)RSTRIDE * RH;
    uint8_t *copy = malloc(len);
    unsigned seed = 12345;
    const char *why;
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) +
                    (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (el > 5 ||
            (!x->hold && el > 0.5 && x->intact > 500 && x->torn > 500))
            break;
        pthread_mutex_lock(&x->mu);
        uint64_t n = x->written;
        if (n == 0) {
            pthread_mutex_unlock(&x->mu);
            continue;
        }
        /* One of the last few frames: some still intact, some already
         * overwritten, some about to be. */
        uint64_t back = (uint64_t)(rand_r(&seed) % 4);
        uint64_t seq = n > back ? n - 1 - back : n - 1;
        struct frame_hdr h = x->recent[seq % RECENT];
        pthread_mutex_unlock(&x->mu);

        x->reads++;
        if (ring_reader_check(rr, &h, &why) != 0) {
            x->bad++;
            continue;
        }
        const uint8_t *px = ring_read_begin(rr, &h);
        if (!px) {
            x->torn++;
            continue;
        }
        memcpy(copy, px, len);
        if (!ring_read_end(rr, &h)) {
            x->torn++;
            continue;
        }
        x->intact++;
        uint8_t want = fill_byte(h.seq);
        for (size_t i = 0; i < len; i++)
            if (copy[i] != want) {
                if (!x->mixed++)
                    snprintf(x->first_mix, sizeof x->first_mix,
                             "frame %llu judged intact, byte %zu is %u, "
                             "want %u",
                             (unsigned long long)h.seq, i, copy[i], want);
                break;
            }
    }
    x->stop = true;
    free(copy);
    ring_reader_free(rr);
    return NULL;
}

static void test_concurrent_writer_reader(void **state)
{
    (void)state;
    char name[64];
    struct race x;
    pthread_t tw, tr;
    memset(&x, 0, sizeof x);
    pthread_mutex_init(&x.mu, NULL);
    ring_name(name, sizeof name, "race");
    x.r = create(name, 3, RW, RH, RSTRIDE);
    assert_non_null(x.r);

    assert_int_equal(pthread_create(&tw, NULL, writer, &x), 0);
    assert_int_equal(pthread_create(&tr, NULL, reader, &x), 0);
    pthread_join(tr, NULL);
    pthread_join(tw, NULL);
    print_message("race: %llu frames written, %llu reads: %llu intact, "
                  "%llu torn, %llu bad, %llu mixed\n",
                  (unsigned long long)x.written, (unsigned long long)x.reads,
                  (unsigned long long)x.intact, (unsigned long long)x.torn,
                  (unsigned long long)x.bad, (unsigned long long)x.mixed);
    if (x.mixed)
        fail_msg("%llu torn frames judged intact; first: %s",
                 (unsigned long long)x.mixed, x.first_mix);
    assert_int_equal(x.bad, 0);
    assert_true(x.intact > 0);
    assert_true(x.torn > 0);
    pthread_mutex_destroy(&x.mu);
    ring_free(x.r);
    assert_no_segments();
}

/* The doorbell: ring_reader_latest() names the newest frame exactly as
 * its descriptor does, the bell word counts frames, ring_order() orders
 * descriptors by when they were written. */
static void test_doorbell_latest(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    struct frame_hdr out;
    ring_name(name, sizeof name, "bell");
    struct ring *r = make(name, 3);
    struct ring_reader *rr = ring_reader_new();

    struct frame_hdr h0 = put(r, 10);
    assert_int_equal(ring_reader_check(rr, &h0, &why), 0);
    const _Atomic uint32_t *bell = ring_reader_bell(rr, &h0);
    assert_non_null(bell);
    assert_int_equal(atomic_load(bell), 1);
    assert_int_equal(ring_reader_latest(rr, &h0, &out), 0);
    assert_int_equal(out.seq, 10);
    assert_int_equal(out.t_real_ns, 10000);
    assert_int_equal(out.t_mono_ns, 10001);
    assert_int_equal(out.shm.slot, h0.shm.slot);
    assert_int_equal(out.shm.gen, h0.shm.gen);

    uint64_t prev = ring_order(&h0);
    struct frame_hdr h = h0;
    for (uint64_t seq = 11; seq < 20; seq++) { /* three times round */
        h = put(r, seq);
        assert_true(ring_order(&h) > prev);
        prev = ring_order(&h);
        assert_int_equal(atomic_load(bell), seq - 9);
        assert_int_equal(ring_reader_latest(rr, &h0, &out), 0);
        assert_int_equal(out.seq, seq);
        assert_int_equal(out.shm.slot, h.shm.slot);
        assert_int_equal(out.shm.gen, h.shm.gen);
        assert_memory_equal(out.stream, h.stream, sizeof h.stream);
        assert_non_null(ring_read_begin(rr, &out));
        assert_true(ring_read_end(rr, &out));
    }

    /* Descriptors that name no written frame are never "older". */
    struct frame_hdr bad = h;
    bad.shm.gen |= 1;
    assert_true(ring_order(&bad) == UINT64_MAX);
    bad = h;
    bad.shm.gen = 0;
    assert_true(ring_order(&bad) == UINT64_MAX);
    bad = h;
    bad.shm.slot = RING_MAX_SLOTS;
    assert_true(ring_order(&bad) == UINT64_MAX);

    /* Another token (a replaced ring) has no bell and no latest here. */
    bad = h;
    bad.shm.token ^= 1;
    assert_null(ring_reader_bell(rr, &bad));
    assert_int_equal(ring_reader_latest(rr, &bad, &out), -ENOENT);

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* The writer's words in shared memory are input like any other: a latest
 * slot out of range is refused, never followed. */
static void test_doorbell_corrupt_latest(void **state)
{
    (void)state;
    char name[64];
    size_t size;
    const char *why;
    struct frame_hdr out;
    ring_name(name, sizeof name, "bellbad");
    struct ring *r = make(name, 3);
    struct ring_reader *rr = ring_reader_new();
    struct frame_hdr h = put(r, 1);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    uint8_t *p = map_raw(name, &size);

    static const uint32_t forged[] = {0, 4, 64, 0xffffffffu};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        memcpy(p + OFF_LATEST, &forged[i], 4);
        assert_int_equal(ring_reader_latest(rr, &h, &out), -EAGAIN);
    }
    /* A slot being written (odd generation) is not offered. */
    uint32_t one = 1;
    memcpy(p + OFF_LATEST, &one, 4);
    uint64_t odd = 7;
    memcpy(p + HDR_SIZE, &odd, 8);
    assert_int_equal(ring_reader_latest(rr, &h, &out), -EAGAIN);

    munmap(p, size);
    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

struct bell_wait {
    struct ring_reader *rr;
    struct frame_hdr h;
    _Atomic uint32_t other; /* a private word, the second one waited on */
    _Atomic int woken;      /* 1 by the bell, 2 by the other word */
    _Atomic bool ready;
    _Atomic pid_t tid; /* the sleeper's thread */
};

static int64_t mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Waits until thread tid of this process sleeps in the kernel (state S
 * in /proc: the futex wait; it does nothing else that sleeps). */
static void wait_asleep(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    for (int i = 0; i < 10000; i++) {
        FILE *fp = fopen(path, "r");
        size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
        if (fp)
            fclose(fp);
        buf[n] = 0;
        const char *state = strrchr(buf, ')');
        if (state && state[1] == ' ' && state[2] == 'S')
            return;
        usleep(1000);
    }
    fail_msg("thread %d never fell asleep", (int)tid);
}

/* Sleeps on the ring's bell and x->other until one changes (10 s at most). */
static void *bell_sleeper(void *arg)
{
    struct bell_wait *x = arg;
    const _Atomic uint32_t *bell = ring_reader_bell(x->rr, &x->h);
    struct wake_word w[2] = {{bell, atomic_load(bell), true},
                             {&x->other, atomic_load(&x->other), false}};
    int64_t deadline = mono_now() + 10000000000LL;
    x->tid = (pid_t)syscall(SYS_gettid);
    x->ready = true;
    while (mono_now() < deadline) {
        if (atomic_load(bell) != w[0].seen) {
            x->woken = 1;
            break;
        }
        if (atomic_load(&x->other) != w[1].seen) {
            x->woken = 2;
            break;
        }
        wake_wait(w, 2, deadline);
    }
    return NULL;
}

/* A reader asleep on the doorbell (and on a word of its own, as the
 * display sleeps on its mailbox too) is woken by the next frame, or by
 * its own word; and a wait with nothing happening times out. */
static void test_doorbell_wakes(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    ring_name(name, sizeof name, "bellwake");
    struct ring *r = make(name, 3);
    struct bell_wait x = {.rr = ring_reader_new()};
    x.h = put(r, 1);
    assert_int_equal(ring_reader_check(x.rr, &x.h, &why), 0);

    for (int round = 1; round <= 2; round++) {
        pthread_t t;
        x.woken = 0;
        x.ready = false;
        assert_int_equal(pthread_create(&t, NULL, bell_sleeper, &x), 0);
        while (!x.ready)
            usleep(1000);
        wait_asleep(atomic_load(&x.tid)); /* in wake_wait(), not before */
        if (round == 1) {
            put(r, 2);
        } else {
            atomic_fetch_add(&x.other, 1);
            wake_all(&x.other, false);
        }
        pthread_join(t, NULL);
        assert_int_equal(x.woken, round);
    }

    const _Atomic uint32_t *bell = ring_reader_bell(x.rr, &x.h);
    struct wake_word w = {bell, atomic_load(bell), true};
    int64_t t0 = mono_now();
    assert_int_equal(wake_wait(&w, 1, t0 + 30000000), -ETIMEDOUT);
    assert_true(mono_now() - t0 >= 30000000);

    ring_reader_free(x.rr);
    ring_free(r);
    assert_no_segments();
}

/* --- too little /dev/shm, and segments cut short under us (RING.md 7). -- */

#define LIMIT_ENV "VIDPIPE_TEST_SHM_LIMIT"
#define SLOT_SIZE ((uint64_t)(STRIDE * H + PAGE - 1) / PAGE * PAGE)
#define BIG_SLOT ((uint64_t)(RSTRIDE * RH + PAGE - 1) / PAGE * PAGE)

static void set_limit(uint64_t bytes)
{
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)bytes);
    assert_int_equal(setenv(LIMIT_ENV, v, 1), 0);
}

static uint64_t segment_size(const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Cuts the segment to size bytes, as a buggy or hostile process of the
 * same user may; false if the name is gone. */
static bool cut(const char *name, off_t size)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return false;
    int rc = ftruncate(fd, size);
    close(fd);
    return rc == 0;
}

/* Sends stderr to a file until stderr_end() returns what was written. */
static int saved_stderr = -1;
static FILE *stderr_file;

static void stderr_begin(void)
{
    fflush(stderr);
    stderr_file = tmpfile();
    assert_non_null(stderr_file);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fileno(stderr_file), 2), 2);
}

static void stderr_end(char *buf, size_t len)
{
    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    size_t n = (size_t)ftell(stderr_file);
    rewind(stderr_file);
    n = fread(buf, 1, n < len - 1 ? n : len - 1, stderr_file);
    buf[n] = 0;
    fclose(stderr_file);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The one line says what was needed, what was free and how to grow it. */
static void assert_explains(const char *line)
{
    assert_non_null(strstr(line, "8 slots of 64x48 bgr24 need"));
    assert_non_null(strstr(line, "MiB of /dev/shm"));
    assert_non_null(strstr(line, "MiB is free"));
    assert_non_null(strstr(line, "docker run --shm-size="));
    assert_non_null(strstr(line, "mount -o remount,size="));
}

/* A reservation that fails makes a ring of fewer slots, down to
 * RING_MIN_SLOTS, then none; nothing is left of one not made. */
static void test_fewer_slots_when_short(void **state)
{
    (void)state;
    char name[64], log[2048];
    const char *why;
    ring_name(name, sizeof name, "short");

    set_limit(PAGE + 3 * SLOT_SIZE);
    stderr_begin();
    struct ring *r = make(name, 8);
    stderr_end(log, sizeof log);
    assert_int_equal(ring_slots(r), 3);
    assert_int_equal(segment_size(name), PAGE + 3 * SLOT_SIZE);
    assert_int_equal(count_lines(log), 1);
    assert_explains(log);
    assert_non_null(strstr(log, "using 3 slots"));

    /* Three slots work like any ring: in turn, read intact. */
    struct ring_reader *rr = ring_reader_new();
    for (uint64_t seq = 0; seq < 7; seq++) {
        struct frame_hdr h = put(r, seq);
        assert_int_equal(h.shm.slot, seq % 3);
        assert_int_equal(ring_reader_check(rr, &h, &why), 0);
        assert_int_equal(ring_read_begin(rr, &h)[0], fill_byte(seq));
        assert_true(ring_read_end(rr, &h));
    }
    ring_reader_free(rr);
    ring_free(r);

    set_limit(PAGE + 2 * SLOT_SIZE);
    r = make(name, 8);
    assert_int_equal(ring_slots(r), 2);
    ring_free(r);

    /* Not even two slots: no ring, -ENOSPC after one line on how to grow
     * /dev/shm, nothing left. */
    set_limit(PAGE + 2 * SLOT_SIZE - 1);
    stderr_begin();
    r = create(name, 8, W, H, STRIDE);
    stderr_end(log, sizeof log);
    assert_null(r);
    assert_int_equal(create_rc, -ENOSPC);
    assert_non_null(create_why);
    assert_int_equal(count_lines(log), 1);
    assert_explains(log);
    assert_non_null(strstr(log, "not even 2 slots"));
    assert_false(segment_exists(name));

    assert_int_equal(unsetenv(LIMIT_ENV), 0);
    r = make(name, 8);
    assert_int_equal(ring_slots(r), 8);
    ring_free(r);
    assert_no_segments();
}

static struct ring *make_big(const char *name, uint32_t nslots)
{
    struct ring *r = create(name, nslots, RW, RH, RSTRIDE);
    if (!r)
        print_error("ring_create %s: %s: %s\n", name, create_why,
                    strerror(-create_rc));
    assert_non_null(r);
    return r;
}

static struct frame_hdr hdr_big(const struct frame_shm *d, uint64_t seq)
{
    struct frame_hdr h = hdr_for(d, seq);
    h.width = RW;
    h.height = RH;
    h.stride = RSTRIDE;
    h.size = (uint64_t)RSTRIDE * RH;
    return h;
}

static struct frame_hdr put_big(struct ring *r, uint64_t seq)
{
    struct frame_shm d;
    uint32_t slot;
    memset(ring_write_begin(r, &slot), fill_byte(seq), (size_t)RSTRIDE * RH);
    end_seq(r, slot, seq, &d);
    return hdr_big(&d, seq);
}

/* Reads every byte of frame h in place; true if all are want. */
static bool all_bytes(const uint8_t *px, uint8_t want)
{
    bool same = true;
    for (size_t i = 0; i < (size_t)RSTRIDE * RH; i++)
        same &= px[i] == want;
    return same;
}

/* A reader whose segment is cut short mid-read keeps running: the pixels
 * read as zeros, the frame is torn, the next check maps the segment again
 * and refuses it, or finds it gone. */
static void test_reader_survives_truncation(void **state)
{
    (void)state;
    char name[64];
    const char *why;
    ring_name(name, sizeof name, "rcut");
    struct ring *r = make_big(name, 4);
    struct ring_reader *rr = ring_reader_new();

    struct frame_hdr h = put_big(r, 1);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    const uint8_t *px = ring_read_begin(rr, &h);
    assert_non_null(px);
    assert_int_equal(px[0], fill_byte(1));
    struct ring_map *m = ring_reader_get(rr, &h); /* a frame holding it */
    assert_non_null(m);

    assert_true(cut(name, PAGE)); /* the header stays, the pixels go */
    assert_true(all_bytes(px, 0));
    assert_false(ring_read_end(rr, &h));
    assert_null(ring_read_begin(rr, &h));
    assert_null(ring_reader_bell(rr, &h));
    struct frame_hdr out;
    assert_int_equal(ring_reader_latest(rr, &h, &out), -ENOENT);
    assert_false(ring_map_read_end(m, &h));
    assert_null(ring_map_read_begin(m, &h));
    ring_map_put(m);

    /* Mapped again: the header no longer fits the segment. */
    why = NULL;
    assert_int_equal(ring_reader_check(rr, &h, &why), -EBADMSG);
    assert_non_null(why);
    assert_true(cut(name, 0));
    assert_int_equal(ring_reader_check(rr, &h, &why), -EBADMSG);
    assert_non_null(strstr(why, "smaller than its header"));
    shm_unlink(name);
    assert_int_equal(ring_reader_check(rr, &h, &why), -ENOENT);

    /* A segment cut short before a read is noticed by the check alone. */
    ring_free(r);
    r = make_big(name, 4);
    h = put_big(r, 2);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_true(cut(name, (off_t)(PAGE + BIG_SLOT)));
    assert_int_equal(ring_reader_check(rr, &h, &why), -EBADMSG);
    assert_null(ring_read_begin(rr, &h));

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* A writer whose segment is cut short or removed keeps running: the frame
 * it was writing names none, the next goes into a new segment. */
static void test_writer_survives_truncation(void **state)
{
    (void)state;
    char name[64], log[2048];
    const char *why;
    ring_name(name, sizeof name, "wcut");
    struct ring *r = make_big(name, 4);
    struct ring_reader *rr = ring_reader_new();
    uint64_t full = segment_size(name);

    struct frame_hdr h1 = put_big(r, 1);
    assert_int_equal(ring_reader_check(rr, &h1, &why), 0);

    /* Everything cut: the writer's next stores fault, and go nowhere. */
    assert_true(cut(name, 0));
    stderr_begin();
    struct frame_hdr h2 = put_big(r, 2);
    assert_int_equal(h2.shm.gen, 0);
    expect_bad(rr, &h2);
    struct frame_hdr h3 = put_big(r, 3);
    stderr_end(log, sizeof log);
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "made a new one"));
    assert_int_not_equal(h3.shm.gen, 0);
    assert_int_not_equal(h3.shm.token, h1.shm.token);
    assert_string_equal(h3.shm.name, name);
    assert_int_equal(segment_size(name), full);
    assert_int_equal(ring_slots(r), 4);
    assert_int_equal(ring_reader_check(rr, &h3, &why), 0);
    assert_true(all_bytes(ring_read_begin(rr, &h3), fill_byte(3)));
    assert_true(ring_read_end(rr, &h3));
    expect_bad(rr, &h1); /* the old ring's frames are gone */

    /* Cut behind the slot written next: no fault, fstat tells. */
    assert_int_equal(h3.shm.slot, 0);
    assert_true(cut(name, (off_t)(PAGE + 2 * BIG_SLOT)));
    stderr_begin();
    struct frame_hdr h4 = put_big(r, 4);
    assert_int_equal(h4.shm.slot, 1);
    assert_int_equal(h4.shm.gen, 0);
    struct frame_hdr h5 = put_big(r, 5);
    stderr_end(log, sizeof log);
    assert_int_not_equal(h5.shm.token, h3.shm.token);
    assert_int_equal(ring_reader_check(rr, &h5, &why), 0);
    assert_true(all_bytes(ring_read_begin(rr, &h5), fill_byte(5)));
    assert_true(ring_read_end(rr, &h5));

    /* Removed: its frames are still whole for readers that have it, and
     * the next one goes into a segment that can be opened again. */
    assert_int_equal(shm_unlink(name), 0);
    struct frame_hdr h6 = put_big(r, 6);
    assert_int_not_equal(h6.shm.gen, 0);
    assert_int_equal(ring_reader_check(rr, &h6, &why), 0);
    assert_true(all_bytes(ring_read_begin(rr, &h6), fill_byte(6)));
    assert_true(ring_read_end(rr, &h6));
    assert_false(segment_exists(name));
    stderr_begin();
    struct frame_hdr h7 = put_big(r, 7);
    stderr_end(log, sizeof log);
    assert_true(segment_exists(name));
    assert_int_not_equal(h7.shm.token, h6.shm.token);
    assert_int_equal(ring_reader_check(rr, &h7, &why), 0);
    assert_true(all_bytes(ring_read_begin(rr, &h7), fill_byte(7)));
    assert_true(ring_read_end(rr, &h7));

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* A writer whose segment is lost and cannot be made again goes on in
 * private memory (its frames still drawn, for payloads), says so once,
 * leaves nothing in /dev/shm and makes a segment again once it can. */
static void test_writer_without_room(void **state)
{
    (void)state;
    char name[64], log[2048];
    const char *why;
    ring_name(name, sizeof name, "noroom");
    struct ring *r = make(name, 4);
    struct ring_reader *rr = ring_reader_new();

    assert_true(cut(name, 0));
    set_limit(PAGE);
    stderr_begin();
    struct frame_hdr h = put(r, 1); /* lost while written */
    assert_int_equal(h.shm.gen, 0);
    for (uint64_t seq = 2; seq < 5; seq++) {
        uint32_t slot;
        struct frame_shm d;
        uint8_t *px = ring_write_begin(r, &slot);
        memset(px, fill_byte(seq), (size_t)STRIDE * H);
        assert_int_equal(px[STRIDE * H - 1], fill_byte(seq));
        end_seq(r, slot, seq, &d);
        assert_int_equal(d.gen, 0);
        assert_int_equal(ring_slots(r), 0);
        h = hdr_for(&d, seq);
    }
    stderr_end(log, sizeof log);
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "not even 2 slots"));
    assert_non_null(strstr(log, "without shared memory"));
    assert_false(segment_exists(name));
    assert_int_equal(ring_reader_check(rr, &h, &why), -ENOENT);

    /* Room again: within a second the next frame has a segment. */
    assert_int_equal(unsetenv(LIMIT_ENV), 0);
    usleep(1100 * 1000);
    stderr_begin();
    h = put(r, 9);
    stderr_end(log, sizeof log);
    assert_int_equal(ring_slots(r), 4);
    assert_int_not_equal(h.shm.gen, 0);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_int_equal(ring_read_begin(rr, &h)[0], fill_byte(9));
    assert_true(ring_read_end(rr, &h));

    ring_reader_free(rr);
    ring_free(r);
    assert_no_segments();
}

/* A writer and a reader thread at full speed while the segment is cut
 * short again and again: neither dies, no cut frame is judged intact,
 * and frames flow again after each cut. */
static void test_truncation_race(void **state)
{
    (void)state;
    char name[64];
    struct race x;
    pthread_t tw, tr;
    memset(&x, 0, sizeof x);
    pthread_mutex_init(&x.mu, NULL);
    ring_name(name, sizeof name, "cutrace");
    x.r = make_big(name, 3);
    x.hold = true;

    stderr_begin(); /* a line per new segment */
    assert_int_equal(pthread_create(&tw, NULL, writer, &x), 0);
    assert_int_equal(pthread_create(&tr, NULL, reader, &x), 0);
    const off_t sizes[] = {0, PAGE, (off_t)(PAGE + BIG_SLOT)};
    for (int i = 0; i < 30; i++) {
        usleep(20 * 1000);
        cut(name, sizes[i % 3]); /* may miss: the name is being remade */
    }
    x.hold = false;
    pthread_join(tr, NULL);
    pthread_join(tw, NULL);
    char log[8192];
    stderr_end(log, sizeof log);
    print_message("cut race: %llu frames written, %llu reads: %llu intact, "
                  "%llu torn, %llu bad, %llu mixed\n",
                  (unsigned long long)x.written, (unsigned long long)x.reads,
                  (unsigned long long)x.intact, (unsigned long long)x.torn,
                  (unsigned long long)x.bad, (unsigned long long)x.mixed);
    if (x.mixed)
        fail_msg("%llu torn frames judged intact; first: %s",
                 (unsigned long long)x.mixed, x.first_mix);
    assert_true(x.intact > 0);
    assert_true(x.torn + x.bad > 0);

    /* After the last cut the ring works as before. */
    struct ring_reader *rr = ring_reader_new();
    const char *why;
    put_big(x.r, 1000000); /* may name none: the last cut */
    struct frame_hdr h = put_big(x.r, 1000001);
    assert_int_equal(ring_reader_check(rr, &h, &why), 0);
    assert_true(all_bytes(ring_read_begin(rr, &h), fill_byte(1000001)));
    assert_true(ring_read_end(rr, &h));
    ring_reader_free(rr);
    pthread_mutex_destroy(&x.mu);
    ring_free(x.r);
    assert_no_segments();
}

/* Runs f in a child; its wait status. */
static int in_child(void (*f)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        f();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* A SIGBUS outside ring memory: a mapping of a file cut short. */
static void foreign_fault(void)
{
    int fd = memfd_create("foreign", 0);
    if (fd < 0 || ftruncate(fd, PAGE) < 0)
        _exit(3);
    volatile uint8_t *p =
        mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
        _exit(3);
    p[0] = 1;
}

static void ring_then_foreign_fault(void)
{
    char name[64];
    signal(SIGBUS, SIG_DFL);
    ring_name(name, sizeof name, "child");
    struct ring *r = create(name, 2, W, H, STRIDE);
    if (!r)
        _exit(3);
    shm_unlink(name); /* the child dies: leave nothing */
    foreign_fault();
}

static void on_own_bus(int sig)
{
    (void)sig;
    _exit(42);
}

/* The program's own handler came first: ring faults are still ours,
 * others reach it. */
static void own_handler_then_faults(void)
{
    char name[64];
    signal(SIGBUS, on_own_bus);
    ring_name(name, sizeof name, "child2");
    struct ring *r = create(name, 2, W, H, STRIDE);
    if (!r)
        _exit(3);
    cut(name, 0);
    uint32_t slot;
    struct frame_shm d;
    memset(ring_write_begin(r, &slot), 1, (size_t)STRIDE * H);
    end_seq(r, slot, 1, &d);
    ring_free(r);
    if (d.gen != 0)
        _exit(4);
    foreign_fault();
}

static void ring_then_sent_sigbus(void)
{
    char name[64];
    signal(SIGBUS, SIG_DFL);
    ring_name(name, sizeof name, "child3");
    struct ring *r = create(name, 2, W, H, STRIDE);
    if (!r)
        _exit(3);
    ring_free(r);
    kill(getpid(), SIGBUS);
}

/* The handler takes only faults in ring memory: any other SIGBUS does
 * what it did before it was installed. */
static void test_foreign_sigbus(void **state)
{
    (void)state;
    int st = in_child(ring_then_foreign_fault);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
    st = in_child(own_handler_then_faults);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 42);
    st = in_child(ring_then_sent_sigbus);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
    assert_no_segments();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_descriptor_validation),
        cmocka_unit_test(test_corrupt_ring_header),
        cmocka_unit_test(test_torn),
        cmocka_unit_test(test_replaced_ring_remapped),
        cmocka_unit_test(test_stale_ring),
        cmocka_unit_test(test_reader_lets_go_of_removed_rings),
        cmocka_unit_test(test_stale_by_start_time),
        cmocka_unit_test(test_live_owner),
        cmocka_unit_test(test_live_owner_errno),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_concurrent_writer_reader),
        cmocka_unit_test(test_doorbell_latest),
        cmocka_unit_test(test_doorbell_corrupt_latest),
        cmocka_unit_test(test_doorbell_wakes),
        cmocka_unit_test(test_fewer_slots_when_short),
        cmocka_unit_test(test_reader_survives_truncation),
        cmocka_unit_test(test_writer_survives_truncation),
        cmocka_unit_test(test_writer_without_room),
        cmocka_unit_test(test_truncation_race),
        cmocka_unit_test(test_foreign_sigbus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
