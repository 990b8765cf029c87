/* test_jpeg.c -- unit tests of the TurboJPEG wrapper. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <turbojpeg.h>

#include "codec/jpeg.h"
#include "contract/pixfmt.h"

#define PAD_BYTE 0x5a

static const enum pixfmt fmts[] = {PIXFMT_BGR24, PIXFMT_RGB24, PIXFMT_GRAY};
#define NFMTS (sizeof fmts / sizeof fmts[0])

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A smooth colour picture (JPEG keeps it well) with its padding set to
 * PAD_BYTE; the buffer is exactly stride * h. */
static uint8_t *smooth(uint32_t w, uint32_t h, uint32_t stride, enum pixfmt fmt)
{
    unsigned bpp = pixfmt_bpp(fmt);
    uint8_t *p = malloc((size_t)stride * h);
    assert_non_null(p);
    memset(p, PAD_BYTE, (size_t)stride * h);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *q = p + (size_t)y * stride + (size_t)x * bpp;
            /* Triangle waves: at most one level a pixel, whatever w. */
            q[0] = (uint8_t)(20 + (x % 400 < 200 ? x % 400 : 399 - x % 400));
            if (bpp == 3) {
                q[1] =
                    (uint8_t)(30 + (y % 360 < 180 ? y % 360 : 359 - y % 360));
                q[2] = (uint8_t)(90 + (x + y) / 4 % 100);
            }
        }
    }
    return p;
}

static void assert_padding(const uint8_t *p, uint32_t w, uint32_t h,
                           uint32_t stride, unsigned bpp)
{
    for (uint32_t y = 0; y < h; y++)
        for (size_t i = (size_t)w * bpp; i < stride; i++)
            assert_int_equal(p[(size_t)y * stride + i], PAD_BYTE);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, uint32_t w,
                            uint32_t h, uint32_t stride, unsigned bpp)
{
    uint64_t sum = 0;
    for (uint32_t y = 0; y < h; y++)
        for (size_t i = 0; i < (size_t)w * bpp; i++)
            sum += (uint64_t)abs(a[(size_t)y * stride + i] -
                                 b[(size_t)y * stride + i]);
    return (double)sum / ((double)w * h * bpp);
}

/* Encodes a smooth w x h picture of fmt at quality q; returns the JPEG in
 * a buffer of exactly jpeg_bound() bytes. */
static uint8_t *encode_smooth(struct jpeg *j, uint32_t w, uint32_t h,
                              enum pixfmt fmt, int q, size_t *len)
{
    uint32_t stride = w * pixfmt_bpp(fmt) + 3;
    uint8_t *src = smooth(w, h, stride, fmt);
    size_t cap = jpeg_bound(w, h);
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(jpeg_encode(j, src, w, h, stride, fmt, q, out, cap, len),
                     0);
    free(src);
    return out;
}

static void test_new_free(void **state)
{
    (void)state;
    jpeg_free(NULL);
    struct jpeg *j = jpeg_new();
    assert_non_null(j);
    jpeg_free(j);
    /* Handles made by use are freed too (LeakSanitizer checks). */
    j = jpeg_new();
    size_t len;
    uint8_t *buf = encode_smooth(j, 32, 32, PIXFMT_BGR24, 80, &len);
    uint32_t w, h;
    assert_int_equal(jpeg_peek(j, buf, len, &w, &h), 0);
    free(buf);
    jpeg_free(j);
}

static void test_bound(void **state)
{
    (void)state;
    assert_int_equal(jpeg_bound(0, 10), 0);
    assert_int_equal(jpeg_bound(10, 0), 0);
    assert_int_equal(jpeg_bound(16385, 10), 0);
    assert_int_equal(jpeg_bound(10, 16385), 0);
    assert_true(jpeg_bound(1, 1) > 0);
    assert_true(jpeg_bound(640, 480) >= 640 * 480 * 3 / 2);
    assert_true(jpeg_bound(16384, 16384) >= (size_t)16384 * 16384);
    assert_true(jpeg_bound(641, 480) >= jpeg_bound(640, 480));
}

/* Noise at quality 100 is the largest JPEG there is: it must fit. */
static void test_worst_case_fits(void **state)
{
    static const uint32_t sizes[][2] = {{1, 1}, {17, 9}, {640, 480}};
    struct jpeg *j = jpeg_new();
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        for (size_t f = 0; f < NFMTS; f++) {
            uint32_t w = sizes[s][0], h = sizes[s][1];
            size_t n = (size_t)w * h * pixfmt_bpp(fmts[f]), cap, len = 0;
            uint8_t *src = malloc(n), *dst;
            assert_non_null(src);
            for (size_t i = 0; i < n; i++)
                src[i] = (uint8_t)rnd();
            cap = jpeg_bound(w, h);
            dst = malloc(cap);
            assert_non_null(dst);
            assert_int_equal(jpeg_encode(j, src, w, h, w * pixfmt_bpp(fmts[f]),
                                         fmts[f], 100, dst, cap, &len),
                             0);
            assert_true(len > 0 && len <= cap);
            free(src);
            free(dst);
        }
    }
    jpeg_free(j);
}

static void test_roundtrip(void **state)
{
    static const uint32_t sizes[][2] = {
        {1, 1}, {7, 5}, {16, 16}, {17, 9}, {161, 121}, {640, 480}, {1281, 719}};
    static const uint32_t pads[] = {0, 1, 64};
    struct jpeg *j = jpeg_new();
    (void)state;
    assert_non_null(j);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t f = 0; f < NFMTS; f++) {
            for (size_t p = 0; p < 3; p++) {
                uint32_t w = sizes[s][0], h = sizes[s][1];
                unsigned bpp = pixfmt_bpp(fmts[f]);
                uint32_t stride = w * bpp + pads[p];
                uint8_t *src = smooth(w, h, stride, fmts[f]);
                uint8_t *out = malloc((size_t)stride * h);
                size_t cap = jpeg_bound(w, h), len = 0;
                uint8_t *buf = malloc(cap);
                uint32_t pw = 0, ph = 0;

                assert_non_null(out);
                assert_non_null(buf);
                memset(out, PAD_BYTE, (size_t)stride * h);
                assert_int_equal(jpeg_encode(j, src, w, h, stride, fmts[f], 90,
                                             buf, cap, &len),
                                 0);
                assert_true(len > 0 && len <= cap);
                assert_int_equal(jpeg_peek(j, buf, len, &pw, &ph), 0);
                assert_int_equal(pw, w);
                assert_int_equal(ph, h);
                assert_int_equal(
                    jpeg_decode(j, buf, len, out, w, h, stride, fmts[f]), 0);
                assert_padding(out, w, h, stride, bpp);
                double d = mean_abs_diff(src, out, w, h, stride, bpp);
                if (d > 4.0)
                    fail_msg("%ux%u fmt %d: mean error %.2f", w, h, fmts[f], d);
                free(src);
                free(out);
                free(buf);
            }
        }
    }
    jpeg_free(j);
}

/* 4:2:0 for colour, a one-component JPEG for grey. */
static void test_subsampling(void **state)
{
    struct jpeg *j = jpeg_new();
    tjhandle tj = tjInitDecompress();
    (void)state;
    assert_non_null(tj);
    for (size_t f = 0; f < NFMTS; f++) {
        size_t len;
        int w, h, samp, cs;
        uint8_t *buf = encode_smooth(j, 64, 48, fmts[f], 75, &len);
        assert_int_equal(tjDecompressHeader3(tj, buf, len, &w, &h, &samp, &cs),
                         0);
        assert_int_equal(samp,
                         fmts[f] == PIXFMT_GRAY ? TJSAMP_GRAY : TJSAMP_420);
        free(buf);
    }
    tjDestroy(tj);
    jpeg_free(j);
}

/* Channel order: pure red must come back red in both orders. */
static void test_channel_order(void **state)
{
    struct jpeg *j = jpeg_new();
    uint8_t src[16 * 16 * 3], out[16 * 16 * 3], buf[4096];
    size_t len;
    (void)state;
    assert_true(jpeg_bound(16, 16) <= sizeof buf);
    for (int i = 0; i < 16 * 16; i++)
        src[3 * i] = 0, src[3 * i + 1] = 0, src[3 * i + 2] = 255; /* BGR */
    assert_int_equal(jpeg_encode(j, src, 16, 16, 48, PIXFMT_BGR24, 90, buf,
                                 sizeof buf, &len),
                     0);
    assert_int_equal(jpeg_decode(j, buf, len, out, 16, 16, 48, PIXFMT_RGB24),
                     0);
    assert_true(out[0] > 200 && out[1] < 50 && out[2] < 50);
    assert_int_equal(jpeg_decode(j, buf, len, out, 16, 16, 48, PIXFMT_BGR24),
                     0);
    assert_true(out[2] > 200 && out[1] < 50 && out[0] < 50);
    /* A colour JPEG decodes to grey, and a grey one to colour. */
    assert_int_equal(jpeg_decode(j, buf, len, out, 16, 16, 16, PIXFMT_GRAY), 0);
    assert_true(out[0] > 60 && out[0] < 90); /* luma of red: 76 */
    memset(src, 200, 16 * 16);
    assert_int_equal(
        jpeg_encode(j, src, 16, 16, 16, PIXFMT_GRAY, 90, buf, sizeof buf, &len),
        0);
    assert_int_equal(jpeg_decode(j, buf, len, out, 16, 16, 48, PIXFMT_RGB24),
                     0);
    for (int i = 0; i < 16 * 16 * 3; i++)
        assert_true(out[i] >= 198 && out[i] <= 202);
    jpeg_free(j);
}

static void test_quality_matters(void **state)
{
    struct jpeg *j = jpeg_new();
    size_t lo, hi;
    (void)state;
    uint8_t *a = encode_smooth(j, 320, 240, PIXFMT_BGR24, 10, &lo);
    uint8_t *b = encode_smooth(j, 320, 240, PIXFMT_BGR24, 100, &hi);
    assert_true(lo < hi);
    free(a);
    free(b);
    jpeg_free(j);
}

static void test_encode_bad_args(void **state)
{
    struct jpeg *j = jpeg_new();
    uint8_t src[64 * 48 * 3];
    size_t cap = jpeg_bound(64, 48), len;
    uint8_t *dst = malloc(cap);
    (void)state;
    assert_non_null(dst);
    memset(src, 128, sizeof src);
    assert_int_equal(
        jpeg_encode(NULL, src, 64, 48, 192, PIXFMT_BGR24, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, NULL, 64, 48, 192, PIXFMT_BGR24, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 50, NULL, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 50, dst, cap, NULL),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 0, 48, 192, PIXFMT_BGR24, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 0, 192, PIXFMT_BGR24, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(jpeg_encode(j, src, 16385, 1, 16385 * 3, PIXFMT_BGR24, 50,
                                 dst, cap, &len),
                     -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 191, PIXFMT_BGR24, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_NONE, 50, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 0, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 101, dst, cap, &len),
        -EINVAL);
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 50, dst, cap - 1, &len),
        -EINVAL);
    /* And the same call with good arguments works. */
    assert_int_equal(
        jpeg_encode(j, src, 64, 48, 192, PIXFMT_BGR24, 50, dst, cap, &len), 0);
    free(dst);
    jpeg_free(j);
}

static void test_peek_bad(void **state)
{
    struct jpeg *j = jpeg_new();
    uint8_t junk[256];
    uint32_t w = 7, h = 7;
    size_t len;
    (void)state;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rnd();
    assert_int_equal(jpeg_peek(j, junk, 0, &w, &h), -EBADMSG);
    assert_int_equal(jpeg_peek(j, NULL, 10, &w, &h), -EBADMSG);
    assert_int_equal(jpeg_peek(j, junk, sizeof junk, &w, &h), -EBADMSG);
    uint8_t *buf = encode_smooth(j, 40, 30, PIXFMT_RGB24, 75, &len);
    assert_int_equal(jpeg_peek(j, buf, 2, &w, &h), -EBADMSG);
    assert_int_equal(jpeg_peek(j, buf, 20, &w, &h), -EBADMSG);
    assert_int_equal(w, 7); /* untouched on error */
    assert_int_equal(jpeg_peek(j, buf, len, &w, &h), 0);
    assert_int_equal(w, 40);
    assert_int_equal(h, 30);
    free(buf);
    jpeg_free(j);
}

/* The SOF0 marker's height and width fields, found in a JPEG we made. */
static size_t find_sof(const uint8_t *p, size_t len)
{
    for (size_t i = 2; i + 9 < len; i++)
        if (p[i] == 0xff && p[i + 1] == 0xc0)
            return i;
    fail_msg("no SOF0 marker");
    return 0;
}

static void test_decode_wrong_size(void **state)
{
    struct jpeg *j = jpeg_new();
    size_t len, n = (size_t)41 * 3 * 31;
    uint8_t *buf = encode_smooth(j, 40, 30, PIXFMT_BGR24, 75, &len);
    uint8_t *out = malloc(n);
    (void)state;
    assert_non_null(out);
    memset(out, PAD_BYTE, n);
    assert_int_equal(
        jpeg_decode(j, buf, len, out, 41, 30, 41 * 3, PIXFMT_BGR24), -EBADMSG);
    assert_int_equal(
        jpeg_decode(j, buf, len, out, 40, 31, 40 * 3, PIXFMT_BGR24), -EBADMSG);
    assert_int_equal(
        jpeg_decode(j, buf, len, out, 20, 15, 20 * 3, PIXFMT_BGR24), -EBADMSG);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], PAD_BYTE);

    /* A header that lies: it claims 80 x 60 over the data of 40 x 30. */
    size_t sof = find_sof(buf, len);
    buf[sof + 5] = 0, buf[sof + 6] = 60;
    buf[sof + 7] = 0, buf[sof + 8] = 80;
    uint8_t *big = malloc((size_t)80 * 60 * 3);
    assert_non_null(big);
    assert_int_equal(
        jpeg_decode(j, buf, len, big, 80, 60, 80 * 3, PIXFMT_BGR24), -EBADMSG);
    /* And one beyond what any frame may be. */
    buf[sof + 7] = 0x40, buf[sof + 8] = 0x01; /* 16385 */
    uint32_t w, h;
    assert_int_equal(jpeg_peek(j, buf, len, &w, &h), -EBADMSG);
    free(big);
    free(buf);
    free(out);
    jpeg_free(j);
}

static void test_decode_bad_args(void **state)
{
    struct jpeg *j = jpeg_new();
    size_t len;
    uint8_t *buf = encode_smooth(j, 40, 30, PIXFMT_BGR24, 75, &len);
    uint8_t out[40 * 30 * 3];
    (void)state;
    assert_int_equal(
        jpeg_decode(NULL, buf, len, out, 40, 30, 120, PIXFMT_BGR24), -EINVAL);
    assert_int_equal(jpeg_decode(j, buf, len, NULL, 40, 30, 120, PIXFMT_BGR24),
                     -EINVAL);
    assert_int_equal(jpeg_decode(j, buf, len, out, 40, 30, 119, PIXFMT_BGR24),
                     -EINVAL);
    assert_int_equal(jpeg_decode(j, buf, len, out, 40, 30, 120, PIXFMT_NONE),
                     -EINVAL);
    assert_int_equal(jpeg_decode(j, buf, len, out, 0, 30, 120, PIXFMT_BGR24),
                     -EINVAL);
    assert_int_equal(jpeg_decode(j, buf, 0, out, 40, 30, 120, PIXFMT_BGR24),
                     -EBADMSG);
    assert_int_equal(jpeg_decode(j, NULL, len, out, 40, 30, 120, PIXFMT_BGR24),
                     -EBADMSG);
    free(buf);
    jpeg_free(j);
}

/* Every cut of a JPEG is refused, without writing past the frame, and the
 * handle still works afterwards. */
static void test_decode_truncated(void **state)
{
    struct jpeg *j = jpeg_new();
    size_t len, n = (size_t)64 * 3 * 48;
    uint8_t *buf = encode_smooth(j, 64, 48, PIXFMT_BGR24, 75, &len);
    uint8_t *out = malloc(n);
    (void)state;
    assert_non_null(out);
    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly cut bytes, so ASan sees any over-read. */
        uint8_t *part = malloc(cut ? cut : 1);
        assert_non_null(part);
        memcpy(part, buf, cut);
        int rc = jpeg_decode(j, part, cut, out, 64, 48, 64 * 3, PIXFMT_BGR24);
        if (rc != -EBADMSG)
            fail_msg("cut at %zu of %zu: rc %d", cut, len, rc);
        free(part);
    }
    assert_int_equal(
        jpeg_decode(j, buf, len, out, 64, 48, 64 * 3, PIXFMT_BGR24), 0);
    free(buf);
    free(out);
    jpeg_free(j);
}

/* Garbage and corrupted JPEGs: an error or a picture, never a crash. */
static void test_decode_garbage(void **state)
{
    struct jpeg *j = jpeg_new();
    size_t len, n = (size_t)64 * 3 * 48;
    uint8_t *buf = encode_smooth(j, 64, 48, PIXFMT_RGB24, 75, &len);
    uint8_t *out = malloc(n), *bad = malloc(len);
    uint8_t junk[2048];
    (void)state;
    assert_non_null(out);
    assert_non_null(bad);
    for (int t = 0; t < 200; t++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rnd();
        assert_int_equal(jpeg_decode(j, junk, sizeof junk, out, 64, 48, 64 * 3,
                                     PIXFMT_RGB24),
                         -EBADMSG);
        /* Valid start of image, then junk. */
        junk[0] = 0xff, junk[1] = 0xd8;
        assert_int_equal(jpeg_decode(j, junk, sizeof junk, out, 64, 48, 64 * 3,
                                     PIXFMT_RGB24),
                         -EBADMSG);
    }
    for (int t = 0; t < 2000; t++) {
        memcpy(bad, buf, len);
        for (int k = 0; k < 1 + t % 4; k++)
            bad[rnd() % len] = (uint8_t)rnd();
        int rc = jpeg_decode(j, bad, len, out, 64, 48, 64 * 3, PIXFMT_RGB24);
        if (rc != 0 && rc != -EBADMSG)
            fail_msg("corrupted JPEG: rc %d", rc);
    }
    assert_int_equal(
        jpeg_decode(j, buf, len, out, 64, 48, 64 * 3, PIXFMT_RGB24), 0);
    free(bad);
    free(buf);
    free(out);
    jpeg_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_free),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_worst_case_fits),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_subsampling),
        cmocka_unit_test(test_channel_order),
        cmocka_unit_test(test_quality_matters),
        cmocka_unit_test(test_encode_bad_args),
        cmocka_unit_test(test_peek_bad),
        cmocka_unit_test(test_decode_wrong_size),
        cmocka_unit_test(test_decode_bad_args),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
