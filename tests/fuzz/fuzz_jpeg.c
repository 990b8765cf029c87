/* fuzz_jpeg.c -- libFuzzer target: jpeg_peek() and jpeg_decode() on
 * untrusted bytes, pattern_read() on whatever pixels come out, and
 * pattern_read() on the raw input bytes as pixels.
 *
 * One codec object lives for the whole run, as in a receiver, so a bad
 * input that leaves TurboJPEG in a bad state shows up: after every
 * rejected input a reference JPEG (a pattern frame made at start) must
 * still decode and read back its seq.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/pixfmt.h"
#include "codec/jpeg.h"
#include "contract/pattern.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_jpeg: %s:%d: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define MAX_PIXELS (4096u * 4096u)
#define REF_W 64
#define REF_H 48
#define REF_SEQ 0x0123456789abcdefull

static struct jpeg *jpeg;
static uint8_t *ref;
static size_t ref_len;

/* The codec still decodes a good picture. */
static void check_reference(void)
{
    static uint8_t px[REF_W * REF_H];
    uint32_t w, h;
    uint64_t seq = 0;
    CHECK(jpeg_peek(jpeg, ref, ref_len, &w, &h) == 0);
    CHECK(w == REF_W && h == REF_H);
    CHECK(jpeg_decode(jpeg, ref, ref_len, px, REF_W, REF_H, REF_W,
                      PIXFMT_GRAY) == 0);
    CHECK(pattern_read(px, REF_W, REF_H, REF_W, PIXFMT_GRAY, &seq) == 0);
    CHECK(seq == REF_SEQ);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static uint8_t px[REF_W * REF_H * 3];
    (void)argc, (void)argv;
    CHECK((jpeg = jpeg_new()) != NULL);
    CHECK(pattern_draw(px, REF_W, REF_H, REF_W * 3, PIXFMT_BGR24, REF_SEQ) ==
          0);
    size_t cap = jpeg_bound(REF_W, REF_H);
    CHECK(cap && (ref = malloc(cap)));
    CHECK(jpeg_encode(jpeg, px, REF_W, REF_H, REF_W * 3, PIXFMT_BGR24, 50, ref,
                      cap, &ref_len) == 0);
    check_reference();
    return 0;
}

static const enum pixfmt fmts[] = {PIXFMT_BGR24, PIXFMT_RGB24,
                                   PIXFMT_GRAY,  PIXFMT_YUV420P,
                                   PIXFMT_NV12,  PIXFMT_YUYV422};
#define NFMTS (sizeof fmts / sizeof fmts[0])

/* The input bytes, repeated, as a picture whose geometry its first bytes
 * choose: pattern_read() on arbitrary pixels. */
static void read_raw(const uint8_t *buf, size_t len)
{
    if (len < 4)
        return;
    enum pixfmt fmt = fmts[buf[0] % NFMTS];
    uint32_t w = PATTERN_MIN_W - 8 + buf[1] % 200;
    uint32_t h = PATTERN_MIN_H - 8 + buf[2] % 160;
    uint32_t stride = pixfmt_min_stride(fmt, w) + buf[3] % 8;
    size_t n = (size_t)pixfmt_size(fmt, h, stride);
    uint8_t *px = malloc(n);
    uint64_t seq;
    CHECK(px);
    for (size_t i = 0; i < n; i++)
        px[i] = buf[i % len];
    int rc = pattern_read(px, w, h, stride, fmt, &seq);
    CHECK(rc == 0 || rc == -EBADMSG || rc == -EINVAL);
    if (w < PATTERN_MIN_W || h < PATTERN_MIN_H ||
        pixfmt_geometry(fmt, w, h, stride, NULL))
        CHECK(rc == -EINVAL);
    free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    uint32_t w = 0, h = 0;
    uint8_t *in = malloc(len ? len : 1);
    CHECK(in);
    if (len)
        memcpy(in, buf, len);

    read_raw(in, len);
    int rc = jpeg_peek(jpeg, in, len, &w, &h);
    if (rc != 0) {
        CHECK(rc == -EBADMSG);
        goto bad;
    }
    CHECK(w >= 1 && w <= PIXFMT_DIM_MAX && h >= 1 && h <= PIXFMT_DIM_MAX);
    if ((uint64_t)w * h > MAX_PIXELS)
        goto out;

    /* A format and a padded stride the input's length picks. */
    enum pixfmt fmt = fmts[len % NFMTS];
    uint32_t stride = pixfmt_min_stride(fmt, w) + (uint32_t)(len / 3 % 4) * 2;
    if (pixfmt_geometry(fmt, w, h, stride, NULL)) /* an odd size for YUV */
        fmt = PIXFMT_GRAY, stride = w + (uint32_t)(len / 3 % 4);
    size_t n = (size_t)pixfmt_size(fmt, h, stride);
    uint8_t *px = malloc(n);
    CHECK(px);
    rc = jpeg_decode(jpeg, in, len, px, w, h, stride, fmt);
    if (rc == 0) {
        uint64_t seq;
        int prc = pattern_read(px, w, h, stride, fmt, &seq);
        CHECK(prc == 0 || prc == -EBADMSG || prc == -EINVAL);
    } else {
        CHECK(rc == -EBADMSG);
    }
    /* The wrong size is refused without writing. */
    if (w > 1) {
        int wrong = jpeg_decode(jpeg, in, len, px, w - 1, h, stride, fmt);
        CHECK(wrong == -EBADMSG || (wrong == -EINVAL && pixfmt_is_yuv(fmt)));
    }
    free(px);
    if (rc != 0)
        goto bad;
    goto out;
bad:
    check_reference();
out:
    free(in);
    return 0;
}
