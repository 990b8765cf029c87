/* fuzz_descriptor.c -- libFuzzer target: ring_reader_check() and the
 * reads it allows, on untrusted shm descriptors.
 *
 * One real ring is made per process ("/vidpipe-fuzz-PID", bgr24 16x8, a
 * few slots written, one left mid-write) plus a "forged" segment
 * ("/vidpipe-fuzz-PID-x") whose header, size and slot table the input
 * writes, to reach map_ring()'s validation of a hostile ring.  Both are
 * removed at exit.
 *
 * Input: byte 0 is a mode, then (mode F_FORGE) 192 bytes of forged ring
 * header and 4 bytes of segment size, then the descriptor: a msgpack
 * header for frame_decode(), or (F_DIRECT) the fields themselves.  Flags
 * patch in the real ring's name, token, geometry and a written gen so the
 * checks past the token are reached.  Whatever passes ring_reader_check()
 * has every pixel it describes read, which must stay inside the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contract/frame.h"
#include "contract/ring.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_descriptor: %s:%d: %s\n", __FILE__,          \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

enum {
    F_DIRECT = 1 << 0, /* fields from bytes, not frame_decode() */
    F_NAME = 1 << 1,   /* name of the real (or forged) ring */
    F_TOKEN = 1 << 2,  /* its token */
    F_GEOM = 1 << 3,   /* its geometry */
    F_GEN = 1 << 4,    /* a gen the slot was written under */
    F_FORGE = 1 << 5,  /* aim at the forged segment */
    F_MAGIC = 1 << 6,  /* forged header gets magic, version, hdr_size */
    F_TWICE = 1 << 7,  /* check again: the reader's cached mappings */
};

/* The real ring's geometry. */
#define R_SLOTS 4
#define R_W 16
#define R_H 8
#define R_STRIDE 48
#define R_FMT PIXFMT_BGR24

/* The shm header layout of ring.c (RING.md), for forging.  If it changes
 * the target still runs; it just reaches less. */
#define HDR_SIZE 192
#define SLOT_SIZE 64
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_TOKEN 8
#define OFF_NSLOTS 16
#define OFF_FMT 20
#define OFF_W 24
#define OFF_H 28
#define OFF_STRIDE 32
#define OFF_HDR_SIZE 36
#define FORGE_MAX (1u << 20)

static struct ring *ring;
static char ring_name[FRAME_SHM_NAME_MAX + 1];
static char forge_name[FRAME_SHM_NAME_MAX + 1];
static char prefix[FRAME_SHM_NAME_MAX + 1];
static uint64_t ring_token;
static int forge_fd = -1;

/* Ends the write of slot for a frame with just a seq. */
static void end_seq(struct ring *r, uint32_t slot, uint64_t seq,
                    struct frame_shm *d)
{
    struct frame_hdr h = {.seq = seq};
    ring_write_end(r, slot, &h, d);
}

static void cleanup(void)
{
    ring_free(ring);
    ring = NULL;
    if (forge_fd >= 0) {
        close(forge_fd);
        shm_unlink(forge_name);
        forge_fd = -1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *why;
    int rc;
    struct frame_shm d;
    uint32_t slot;

    (void)argc, (void)argv;
    snprintf(prefix, sizeof prefix, "/vidpipe-fuzz-%d", (int)getpid());
    snprintf(ring_name, sizeof ring_name, "%s", prefix);
    snprintf(forge_name, sizeof forge_name, "%s-x", prefix);
    if ((rc = ring_create(&ring, ring_name, R_SLOTS, R_W, R_H, R_STRIDE, R_FMT,
                          &why)) < 0) {
        fprintf(stderr, "fuzz_descriptor: ring %s: %s: %s\n", ring_name, why,
                strerror(-rc));
        exit(1);
    }
    atexit(cleanup);
    /* Slots 0..2 written once (gen 4), slot 3 left mid-write (gen 3). */
    for (int i = 0; i < R_SLOTS - 1; i++) {
        uint8_t *px = ring_write_begin(ring, &slot);
        memset(px, 0x40 + i, (size_t)R_STRIDE * R_H);
        end_seq(ring, slot, (uint64_t)i, &d);
    }
    ring_token = d.token;
    ring_write_begin(ring, &slot);
    forge_fd = shm_open(forge_name, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (forge_fd < 0) {
        perror("fuzz_descriptor: shm_open");
        exit(1);
    }
    return 0;
}

/* A little-endian reader over the input that yields zeros when done. */
struct in {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct in *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && in->n; i++, in->p++, in->n--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
    memcpy(b + off, &v, sizeof v);
}

/* Writes the forged segment: hdr (HDR_SIZE bytes), every slot's gen 2,
 * size bytes in all.  Returns false if shm refuses. */
static bool forge(uint8_t *hdr, uint32_t size)
{
    uint8_t slots[64 * SLOT_SIZE] = {0};
    for (int i = 0; i < 64; i++)
        slots[i * SLOT_SIZE] = 2;
    if (ftruncate(forge_fd, 0) < 0 || ftruncate(forge_fd, size) < 0)
        return false;
    size_t n = size < HDR_SIZE ? size : HDR_SIZE;
    if (pwrite(forge_fd, hdr, n, 0) != (ssize_t)n)
        return false;
    if (size > HDR_SIZE) {
        n = size - HDR_SIZE < sizeof slots ? size - HDR_SIZE : sizeof slots;
        if (pwrite(forge_fd, slots, n, HDR_SIZE) != (ssize_t)n)
            return false;
    }
    return true;
}

static void direct(struct in *in, struct frame_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->version = FRAME_SCHEMA_VERSION;
    h->has_shm = take(in, 1) % 8 != 0;
    /* Names stay under this process's prefix: other processes' segments
     * are none of our business. */
    size_t pl = strlen(prefix), sl = take(in, 1) % (sizeof h->shm.name - pl);
    memcpy(h->shm.name, prefix, pl);
    for (size_t i = 0; i < sl; i++)
        h->shm.name[pl + i] = (char)take(in, 1);
    h->shm.name[pl + sl] = 0; /* may be shorter: a NUL from the input */
    h->shm.token = take(in, 8);
    h->shm.slot = (uint32_t)take(in, 4);
    h->shm.gen = take(in, 8);
    h->width = (uint32_t)take(in, 4);
    h->height = (uint32_t)take(in, 4);
    h->stride = (uint32_t)take(in, 4);
    h->fmt = (enum pixfmt)(take(in, 1) % 5);
    h->enc = (enum frame_enc)(take(in, 1) % 2);
    h->size = take(in, 8);
}

static void check_and_read(struct ring_reader *rr, const struct frame_hdr *h)
{
    const char *why = NULL;
    int rc = ring_reader_check(rr, h, &why);
    if (rc < 0) {
        CHECK(rc == -EBADMSG || rc == -ENOENT);
        CHECK(why != NULL);
        return;
    }
    CHECK(rc == 0 && h->has_shm);
    const uint8_t *px = ring_read_begin(rr, h);
    if (!px)
        return;
    /* Every byte the descriptor claims, as a consumer would use it. */
    uint64_t n = (uint64_t)h->stride * h->height;
    if (h->size > n)
        n = h->size;
    uint8_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum ^= px[i];
    volatile uint8_t sink = sum;
    (void)sink;
    /* Nobody writes meanwhile: the read must be intact. */
    CHECK(ring_read_end(rr, h));
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    struct in in = {buf, len};
    struct frame_hdr h;
    uint8_t hdr[HDR_SIZE] = {0};
    const char *why;

    if (len < 1)
        return 0;
    unsigned mode = (unsigned)take(&in, 1);
    const char *target = ring_name;
    uint64_t token = ring_token;
    uint32_t w = R_W, hh = R_H, stride = R_STRIDE, fmt = R_FMT, gen = 4;

    if (mode & F_FORGE) {
        for (size_t i = 0; i < HDR_SIZE; i++)
            hdr[i] = (uint8_t)take(&in, 1);
        if (mode & F_MAGIC) {
            put32(hdr, OFF_MAGIC, RING_MAGIC);
            put32(hdr, OFF_VERSION, RING_VERSION);
            put32(hdr, OFF_HDR_SIZE, HDR_SIZE);
        }
        uint32_t size = (uint32_t)take(&in, 4) % FORGE_MAX;
        if (!forge(hdr, size))
            return 0;
        target = forge_name;
        memcpy(&token, hdr + OFF_TOKEN, sizeof token);
        memcpy(&w, hdr + OFF_W, 4);
        memcpy(&hh, hdr + OFF_H, 4);
        memcpy(&stride, hdr + OFF_STRIDE, 4);
        memcpy(&fmt, hdr + OFF_FMT, 4);
        gen = 2;
    } else if (ftruncate(forge_fd, 0) < 0) {
        /* An empty forged segment: a name reaching it by chance must not
         * see what an earlier input left there. */
        return 0;
    }

    if (mode & F_DIRECT) {
        direct(&in, &h);
    } else if (frame_decode(in.p, in.n, &h, NULL, NULL, &why) < 0) {
        /* A blank header, which the flags below may still turn into a
         * descriptor that frame_decode() would never let through. */
        memset(&h, 0, sizeof h);
    }
    if (mode & F_NAME) {
        h.has_shm = true;
        snprintf(h.shm.name, sizeof h.shm.name, "%s", target);
    }
    if (mode & F_TOKEN)
        h.shm.token = token;
    if (mode & F_GEOM) {
        h.width = w, h.height = hh, h.stride = stride;
        h.fmt = (enum pixfmt)(fmt % 5);
        h.enc = ENC_RAW;
        h.size = (uint64_t)stride * hh;
    }
    if (mode & F_GEN)
        h.shm.gen = gen;

    struct ring_reader *rr = ring_reader_new();
    CHECK(rr);
    check_and_read(rr, &h);
    if (mode & F_TWICE) {
        /* Again (a cache hit), then with another token for the same name
         * (the ring replaced), then the first again. */
        struct frame_hdr h2 = h;
        h2.shm.token ^= take(&in, 8);
        check_and_read(rr, &h);
        check_and_read(rr, &h2);
        check_and_read(rr, &h);
    }
    ring_reader_free(rr);
    return 0;
}
