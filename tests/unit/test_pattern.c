/* test_pattern.c -- unit tests of the self-verifying test pattern. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/jpeg.h"
#include "contract/pixfmt.h"
#include "contract/pattern.h"

#define PAD_BYTE 0xa5

static const enum pixfmt fmts[] = {PIXFMT_BGR24, PIXFMT_RGB24, PIXFMT_GRAY};
#define NFMTS (sizeof fmts / sizeof fmts[0])

/* xorshift64: fixed seed, so every run tests the same values. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A picture in a buffer of exactly stride * (h - 1) + w * bpp bytes (the
 * last row unpadded), so ASan catches any access past w x h x stride. */
struct img {
    uint8_t *px;
    size_t size;
    uint32_t w, h, stride;
    enum pixfmt fmt;
    unsigned bpp;
};

static void img_init(struct img *im, uint32_t w, uint32_t h, uint32_t pad,
                     enum pixfmt fmt)
{
    im->bpp = pixfmt_bpp(fmt);
    im->w = w;
    im->h = h;
    im->fmt = fmt;
    im->stride = w * im->bpp + pad;
    im->size = (size_t)im->stride * (h - 1) + (size_t)w * im->bpp;
    im->px = malloc(im->size);
    assert_non_null(im->px);
    memset(im->px, PAD_BYTE, im->size);
}

static void img_fini(struct img *im)
{
    free(im->px);
    im->px = NULL;
}

static int draw(struct img *im, uint64_t seq)
{
    return pattern_draw(im->px, im->w, im->h, im->stride, im->fmt, seq);
}

static int read_seq(const struct img *im, uint64_t *seq)
{
    return pattern_read(im->px, im->w, im->h, im->stride, im->fmt, seq);
}

static void assert_padding_intact(const struct img *im)
{
    size_t row = (size_t)im->w * im->bpp;
    for (uint32_t y = 0; y + 1 < im->h; y++)
        for (size_t i = row; i < im->stride; i++)
            assert_int_equal(im->px[(size_t)y * im->stride + i], PAD_BYTE);
}

static void assert_reads(const struct img *im, uint64_t want)
{
    uint64_t got = ~want;
    int rc = read_seq(im, &got);
    if (rc != 0 || got != want)
        fail_msg("%ux%u fmt %d stride %u: seq %#llx read rc %d got %#llx",
                 im->w, im->h, im->fmt, im->stride, (unsigned long long)want,
                 rc, (unsigned long long)got);
}

static void assert_bad(const struct img *im)
{
    uint64_t got = 0;
    int rc = read_seq(im, &got);
    if (rc != -EBADMSG)
        fail_msg("%ux%u fmt %d: expected -EBADMSG, rc %d seq %#llx", im->w,
                 im->h, im->fmt, rc, (unsigned long long)got);
}

static const uint64_t fixed_seqs[] = {
    0,
    1,
    2,
    0xff,
    (uint64_t)1 << 32,
    ((uint64_t)1 << 32) - 1,
    (uint64_t)1 << 63,
    0x5555555555555555ull,
    0xaaaaaaaaaaaaaaaaull,
    UINT64_MAX - 1,
    UINT64_MAX,
};
#define NFIXED (sizeof fixed_seqs / sizeof fixed_seqs[0])

static void roundtrip(uint32_t w, uint32_t h, int nrandom)
{
    static const uint32_t pads[] = {0, 1, 61};
    for (size_t f = 0; f < NFMTS; f++) {
        for (size_t p = 0; p < 3; p++) {
            struct img im;
            img_init(&im, w, h, pads[p], fmts[f]);
            for (size_t i = 0; i < NFIXED + (size_t)nrandom; i++) {
                uint64_t seq = i < NFIXED ? fixed_seqs[i] : rnd();
                assert_int_equal(draw(&im, seq), 0);
                assert_reads(&im, seq);
            }
            assert_padding_intact(&im);
            img_fini(&im);
        }
    }
}

static void test_roundtrip_sizes(void **state)
{
    static const uint32_t sizes[][2] = {
        {64, 48},     {65, 49},    {66, 48},   {97, 61},   {160, 120},
        {161, 121},   {320, 240},  {333, 251}, {640, 480}, {1280, 720},
        {1920, 1080}, {16384, 48}, {64, 4000}, {4001, 49},
    };
    (void)state;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        roundtrip(sizes[s][0], sizes[s][1], 5);
}

static void test_roundtrip_4k(void **state)
{
    (void)state;
    roundtrip(3840, 2160, 1);
}

/* Every small size, where the layout changes shape most often. */
static void test_roundtrip_every_small_size(void **state)
{
    (void)state;
    for (uint32_t w = PATTERN_MIN_W; w <= 240; w++) {
        for (uint32_t h = PATTERN_MIN_H; h <= 200; h += 5) {
            struct img im;
            uint64_t seq = rnd();
            img_init(&im, w, h, w % 3, fmts[(w + h) % NFMTS]);
            assert_int_equal(draw(&im, seq), 0);
            assert_reads(&im, seq);
            assert_padding_intact(&im);
            img_fini(&im);
        }
    }
}

/* What a receiver sees from a JPEG source: quality 50, 4:2:0. */
static void jpeg_roundtrip(struct jpeg *j, uint32_t w, uint32_t h,
                           enum pixfmt fmt, int nseq)
{
    struct img src, out;
    size_t cap = jpeg_bound(w, h), len;
    uint8_t *buf = malloc(cap);

    assert_non_null(buf);
    img_init(&src, w, h, 3, fmt);
    img_init(&out, w, h, 0, fmt);
    for (int i = 0; i < nseq; i++) {
        uint64_t seq = i < (int)NFIXED ? fixed_seqs[i] : rnd();
        assert_int_equal(draw(&src, seq), 0);
        assert_int_equal(
            jpeg_encode(j, src.px, w, h, src.stride, fmt, 50, buf, cap, &len),
            0);
        assert_int_equal(
            jpeg_decode(j, buf, len, out.px, w, h, out.stride, fmt), 0);
        assert_reads(&out, seq);
    }
    img_fini(&src);
    img_fini(&out);
    free(buf);
}

static void test_jpeg_q50_sizes(void **state)
{
    static const uint32_t sizes[][2] = {
        {64, 48},    {65, 49},     {66, 48},    {80, 60},
        {100, 75},   {161, 121},   {320, 240},  {641, 481},
        {1280, 720}, {1920, 1080}, {16384, 48}, {64, 1000},
    };
    struct jpeg *j = jpeg_new();
    (void)state;
    assert_non_null(j);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t f = 0; f < NFMTS; f++)
            jpeg_roundtrip(j, sizes[s][0], sizes[s][1], fmts[f], 16);
    jpeg_free(j);
}

/* Tiny cells are where JPEG hurts: try every small geometry. */
static void test_jpeg_q50_every_small_size(void **state)
{
    struct jpeg *j = jpeg_new();
    (void)state;
    assert_non_null(j);
    for (uint32_t w = PATTERN_MIN_W; w <= 170; w++)
        for (uint32_t h = PATTERN_MIN_H; h <= 130; h += 3)
            jpeg_roundtrip(j, w, h, fmts[(w + h) % NFMTS], 2);
    jpeg_free(j);
}

static void test_draw_deterministic_and_moving(void **state)
{
    struct img a, b;
    size_t row;
    uint32_t y, moved = 0;
    (void)state;
    for (size_t f = 0; f < NFMTS; f++) {
        img_init(&a, 640, 480, 0, fmts[f]);
        img_init(&b, 640, 480, 0, fmts[f]);
        row = (size_t)640 * a.bpp;
        assert_int_equal(draw(&a, 1000), 0);
        assert_int_equal(draw(&b, 1000), 0);
        assert_memory_equal(a.px, b.px, a.size);
        /* The lower half (well clear of the code band) moves. */
        assert_int_equal(draw(&b, 1001), 0);
        for (y = 240, moved = 0; y < 480; y++)
            moved +=
                memcmp(a.px + y * a.stride, b.px + y * b.stride, row) ? 1 : 0;
        assert_int_equal(moved, 240);
        /* And not only in a few pixels: more than a plain flat frame. */
        unsigned distinct = 0, seen[256] = {0};
        for (size_t i = 0; i < a.size; i++)
            if (!seen[a.px[i]]++)
                distinct++;
        assert_true(distinct > 32);
        img_fini(&a);
        img_fini(&b);
    }
}

static void test_blank_pictures_are_bad(void **state)
{
    static const uint8_t fills[] = {0, 255, 128, 48, 16, 240};
    (void)state;
    for (size_t f = 0; f < NFMTS; f++) {
        struct img im;
        img_init(&im, 320, 240, 4, fmts[f]);
        for (size_t i = 0; i < sizeof fills; i++) {
            memset(im.px, fills[i], im.size);
            assert_bad(&im);
        }
        img_fini(&im);
    }
}

static void test_random_pictures_are_bad(void **state)
{
    static const uint32_t sizes[][2] = {{64, 48}, {161, 121}, {1280, 720}};
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        for (size_t f = 0; f < NFMTS; f++) {
            struct img im;
            img_init(&im, sizes[s][0], sizes[s][1], 0, fmts[f]);
            for (int n = 0; n < 30; n++) {
                for (size_t i = 0; i < im.size; i++)
                    im.px[i] = (uint8_t)rnd();
                assert_bad(&im);
                /* Random black and white blocks, not just noise. */
                for (size_t i = 0; i < im.size; i += 64)
                    memset(im.px + i, rnd() & 1 ? 255 : 0,
                           im.size - i < 64 ? im.size - i : 64);
                assert_bad(&im);
            }
            img_fini(&im);
        }
    }
}

/* Cells that are neither clearly dark nor clearly light are not trusted,
 * even if they would decode: a washed-out picture is not the one drawn. */
static void test_low_contrast_is_bad(void **state)
{
    struct img im, dim;
    (void)state;
    img_init(&im, 320, 240, 0, PIXFMT_BGR24);
    img_init(&dim, 320, 240, 0, PIXFMT_BGR24);
    assert_int_equal(draw(&im, 0xfeedfacecafebeefull), 0);
    for (int k = 100; k >= 16; k -= 84) {
        for (size_t i = 0; i < im.size; i++)
            dim.px[i] = (uint8_t)(128 + (im.px[i] - 128) * k / 128);
        if (k == 100)
            assert_reads(&dim, 0xfeedfacecafebeefull);
        else
            assert_bad(&dim);
    }
    img_fini(&im);
    img_fini(&dim);
}

/* A picture of another size does not read as a valid seq. */
static void test_wrong_geometry_is_bad(void **state)
{
    struct img im;
    uint64_t got;
    (void)state;
    img_init(&im, 1280, 720, 0, PIXFMT_GRAY);
    assert_int_equal(draw(&im, 0x123456789abcdefull), 0);
    /* The same bytes seen as a 640 wide frame with the same stride. */
    assert_int_equal(
        pattern_read(im.px, 640, 720, im.stride, PIXFMT_GRAY, &got), -EBADMSG);
    img_fini(&im);
}

/*
 * Where the cells are, found from the pixels: the layout is private, but
 * cells are exactly 0 or 255 on a quiet band that is neither, and seq
 * 0xaaaa... alternates the cells of the first grid row.
 */
struct grid {
    uint32_t x0, y0, cell, cols;
};

static void locate_grid(uint32_t w, uint32_t h, struct grid *g)
{
    struct img im;
    uint32_t x = 0, y;
    img_init(&im, w, h, 0, PIXFMT_GRAY);
    assert_int_equal(draw(&im, 0xaaaaaaaaaaaaaaaaull), 0);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++)
            if (im.px[(size_t)y * w + x] == 255)
                break;
        if (x < w)
            break;
    }
    assert_true(y < h);
    g->x0 = x;
    g->y0 = y;
    const uint8_t *row = im.px + (size_t)y * w;
    for (g->cell = 0; x < w && row[x] == 255; x++)
        g->cell++;
    /* Count alternating runs of exactly cell pixels. */
    for (g->cols = 0, x = g->x0; x + g->cell <= w; x += g->cell) {
        uint8_t v = g->cols % 2 ? 0 : 255;
        uint32_t k;
        for (k = 0; k < g->cell && row[x + k] == v; k++)
            ;
        if (k < g->cell)
            break;
        g->cols++;
    }
    assert_true(g->cell >= 6);
    assert_true(g->cols == 40 || g->cols == 20 || g->cols == 16 ||
                g->cols == 10);
    img_fini(&im);
}

static void flip_cell(struct img *im, const struct grid *g, unsigned i)
{
    uint32_t x = g->x0 + i % g->cols * g->cell;
    uint32_t y = g->y0 + i / g->cols * g->cell;
    for (uint32_t r = 0; r < g->cell; r++) {
        uint8_t *p =
            im->px + (size_t)(y + r) * im->stride + (size_t)x * im->bpp;
        for (size_t k = 0; k < (size_t)g->cell * im->bpp; k++)
            p[k] = (uint8_t)~p[k];
    }
}

static void test_flipped_cells_are_bad(void **state)
{
    static const uint32_t sizes[][2] = {
        {64, 48}, {100, 75}, {320, 240}, {1280, 720}};
    (void)state;
    for (size_t s = 0; s < 4; s++) {
        struct grid g;
        struct img im;
        uint64_t seq = rnd();
        locate_grid(sizes[s][0], sizes[s][1], &g);
        img_init(&im, sizes[s][0], sizes[s][1], 7, fmts[s % NFMTS]);
        assert_int_equal(draw(&im, seq), 0);
        assert_reads(&im, seq);
        /* The grid really is where we think: flipping a cell and back
         * restores the seq.  Every 1 and 2 cell error is caught. */
        for (unsigned a = 0; a < 80; a++) {
            flip_cell(&im, &g, a);
            assert_bad(&im);
            for (unsigned b = a + 1; b < 80; b++) {
                flip_cell(&im, &g, b);
                assert_bad(&im);
                flip_cell(&im, &g, b);
            }
            flip_cell(&im, &g, a);
            assert_reads(&im, seq);
        }
        img_fini(&im);
    }
}

/* A frame torn while read: top rows of one frame, the rest of another.
 * Either frame may come out, never a third number. */
static void test_torn_frames(void **state)
{
    static const uint64_t pairs[][2] = {
        {0x00000000ffffffffull, 0x0000000100000000ull},
        {0x0123456789abcdefull, 0xfedcba9876543210ull},
        {41, 42},
    };
    struct img a, b, t;
    (void)state;
    img_init(&a, 640, 480, 0, PIXFMT_BGR24);
    img_init(&b, 640, 480, 0, PIXFMT_BGR24);
    img_init(&t, 640, 480, 0, PIXFMT_BGR24);
    for (size_t p = 0; p < 3; p++) {
        unsigned bad = 0;
        assert_int_equal(draw(&a, pairs[p][0]), 0);
        assert_int_equal(draw(&b, pairs[p][1]), 0);
        for (uint32_t y = 0; y <= 120; y++) {
            uint64_t got;
            size_t cut = (size_t)y * t.stride;
            memcpy(t.px, a.px, cut);
            memcpy(t.px + cut, b.px + cut, t.size - cut);
            int rc = read_seq(&t, &got);
            if (rc == -EBADMSG) {
                bad++;
                continue;
            }
            assert_int_equal(rc, 0);
            assert_true(got == pairs[p][0] || got == pairs[p][1]);
        }
        /* Cuts through the grid of seqs this different must show. */
        if (p < 2)
            assert_true(bad > 0);
    }
    img_fini(&a);
    img_fini(&b);
    img_fini(&t);
}

static void test_bad_geometry(void **state)
{
    uint8_t *buf = calloc(1, (size_t)16384 * 48);
    uint64_t seq;
    (void)state;
    assert_non_null(buf);
    /* Too small, too big, short stride, unknown format, NULL. */
    assert_int_equal(pattern_draw(buf, 63, 48, 64 * 3, PIXFMT_BGR24, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 47, 64 * 3, PIXFMT_BGR24, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 0, 0, 0, PIXFMT_GRAY, 1), -EINVAL);
    assert_int_equal(pattern_draw(buf, 16385, 48, 16385, PIXFMT_GRAY, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 16385, 64, PIXFMT_GRAY, 1), -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 64 * 3 - 1, PIXFMT_BGR24, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 63, PIXFMT_GRAY, 1), -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 64 * 3, PIXFMT_NONE, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 64 * 3, (enum pixfmt)77, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(NULL, 64, 48, 64 * 3, PIXFMT_BGR24, 1),
                     -EINVAL);
    assert_int_equal(pattern_read(buf, 63, 48, 64, PIXFMT_GRAY, &seq), -EINVAL);
    assert_int_equal(pattern_read(buf, 64, 47, 64, PIXFMT_GRAY, &seq), -EINVAL);
    assert_int_equal(
        pattern_read(buf, 16385, 48, 16385 * 3, PIXFMT_RGB24, &seq), -EINVAL);
    assert_int_equal(pattern_read(buf, 64, 48, 64 * 3 - 1, PIXFMT_RGB24, &seq),
                     -EINVAL);
    assert_int_equal(pattern_read(buf, 64, 48, 64, PIXFMT_NONE, &seq), -EINVAL);
    assert_int_equal(pattern_read(NULL, 64, 48, 64, PIXFMT_GRAY, &seq),
                     -EINVAL);
    /* The limits themselves are fine. */
    assert_int_equal(pattern_draw(buf, 64, 48, 64 * 3, PIXFMT_BGR24, 9), 0);
    assert_int_equal(pattern_read(buf, 64, 48, 64 * 3, PIXFMT_BGR24, &seq), 0);
    assert_int_equal(seq, 9);
    assert_int_equal(pattern_draw(buf, 16384, 48, 16384, PIXFMT_GRAY, 10), 0);
    assert_int_equal(pattern_read(buf, 16384, 48, 16384, PIXFMT_GRAY, &seq), 0);
    assert_int_equal(seq, 10);
    free(buf);
}

/* The YUV formats: a picture in a buffer of exactly its bytes, padded
 * rows filled with PAD_BYTE, read back as drawn and after JPEG at
 * quality 50 through its own planes. */
static const enum pixfmt yuv_fmts[] = {PIXFMT_YUV420P, PIXFMT_NV12,
                                       PIXFMT_YUYV422};

static void test_yuv_roundtrip(void **state)
{
    static const uint32_t sizes[][3] = {
        {64, 48, 0},    {66, 50, 2},      {320, 240, 0},   {642, 482, 8},
        {1280, 720, 0}, {1920, 1080, 64}, {3840, 2160, 0}, {16384, 48, 0},
    };
    struct jpeg *j = jpeg_new();
    (void)state;
    assert_non_null(j);
    for (size_t f = 0; f < 3; f++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            enum pixfmt fmt = yuv_fmts[f];
            uint32_t w = sizes[i][0], h = sizes[i][1];
            uint32_t stride = pixfmt_min_stride(fmt, w) + sizes[i][2];
            size_t size = pixfmt_size(fmt, h, stride);
            size_t cap = jpeg_bound(w, h), len;
            uint8_t *px = malloc(size), *out = malloc(size), *jb = malloc(cap);
            uint64_t seq = rnd(), got = 0;

            assert_non_null(px);
            assert_non_null(out);
            assert_non_null(jb);
            assert_int_equal(pixfmt_geometry(fmt, w, h, stride, NULL), 0);
            memset(px, PAD_BYTE, size);
            assert_int_equal(pattern_draw(px, w, h, stride, fmt, seq), 0);
            assert_int_equal(pattern_read(px, w, h, stride, fmt, &got), 0);
            assert_true(got == seq);
            /* Padding bytes of the first plane stay untouched. */
            if (sizes[i][2])
                for (uint32_t y = 0; y < h; y++)
                    assert_int_equal(
                        px[(size_t)y * stride + pixfmt_min_stride(fmt, w)],
                        PAD_BYTE);
            assert_int_equal(
                jpeg_encode(j, px, w, h, stride, fmt, 50, jb, cap, &len), 0);
            assert_int_equal(jpeg_decode(j, jb, len, out, w, h, stride, fmt),
                             0);
            got = 0;
            assert_int_equal(pattern_read(out, w, h, stride, fmt, &got), 0);
            assert_true(got == seq);
            free(px);
            free(out);
            free(jb);
        }
    }
    jpeg_free(j);
}

/* The luma plane of a YUV picture is the gray picture in limited range:
 * the cells are 16 and 235, and chroma is neutral where the gray is. */
static void test_yuv_levels(void **state)
{
    uint32_t w = 640, h = 480, stride = 640;
    size_t size = pixfmt_size(PIXFMT_YUV420P, h, stride);
    uint8_t *px = malloc(size);
    struct img g;
    (void)state;

    assert_non_null(px);
    img_init(&g, w, h, 0, PIXFMT_GRAY);
    assert_int_equal(pattern_draw(px, w, h, stride, PIXFMT_YUV420P, 7), 0);
    assert_int_equal(draw(&g, 7), 0);
    for (uint32_t y = 0; y < h; y += 7)
        for (uint32_t x = 0; x < w; x += 5) {
            uint8_t v = g.px[(size_t)y * w + x], l = px[(size_t)y * stride + x];
            if (v == 0 || v == 255)
                assert_int_equal(l, v == 0 ? 16 : 235);
        }
    /* Row 0 is the band's quiet zone: neutral chroma. */
    assert_int_equal(px[(size_t)stride * h], 128);
    assert_int_equal(px[(size_t)stride * h + (size_t)stride * h / 4], 128);
    img_fini(&g);
    free(px);
}

static void test_yuv_bad_geometry(void **state)
{
    uint8_t buf[64 * 50 * 2];
    uint64_t seq;
    (void)state;
    assert_int_equal(pattern_draw(buf, 65, 48, 66, PIXFMT_YUV420P, 1), -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 49, 64, PIXFMT_NV12, 1), -EINVAL);
    assert_int_equal(pattern_draw(buf, 65, 48, 130, PIXFMT_YUYV422, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 127, PIXFMT_YUYV422, 1),
                     -EINVAL);
    assert_int_equal(pattern_draw(buf, 64, 48, 65, PIXFMT_YUV420P, 1), -EINVAL);
    assert_int_equal(pattern_read(buf, 64, 48, 63, PIXFMT_NV12, &seq), -EINVAL);
    /* yuyv422 at an odd height is fine: chroma is per row. */
    assert_int_equal(pattern_draw(buf, 64, 49, 128, PIXFMT_YUYV422, 3), 0);
    assert_int_equal(pattern_read(buf, 64, 49, 128, PIXFMT_YUYV422, &seq), 0);
    assert_true(seq == 3);
}

/* pattern_update() from any earlier frame leaves exactly what
 * pattern_draw() makes, padding included, in every format: frames one,
 * a few and many apart, the same frame again, and a frame back. */
static void test_update_is_draw(void **state)
{
    static const enum pixfmt all[] = {PIXFMT_BGR24, PIXFMT_RGB24,
                                      PIXFMT_GRAY,  PIXFMT_YUV420P,
                                      PIXFMT_NV12,  PIXFMT_YUYV422};
    static const uint32_t sizes[][3] = {
        {64, 48, 0},    {66, 50, 2},    {97, 61, 3},      {320, 240, 0},
        {642, 482, 8},  {1280, 720, 0}, {1920, 1080, 64}, {3840, 2160, 0},
        {16384, 48, 0}, {64, 1000, 0},
    };
    (void)state;
    for (size_t f = 0; f < sizeof all / sizeof all[0]; f++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            enum pixfmt fmt = all[f];
            uint32_t w = sizes[i][0], h = sizes[i][1];
            uint32_t stride = pixfmt_min_stride(fmt, w) + sizes[i][2];
            if (pixfmt_geometry(fmt, w, h, stride, NULL))
                continue; /* an odd size of a 4:2:0 format */
            size_t size = pixfmt_size(fmt, h, stride);
            uint8_t *px = malloc(size), *want = malloc(size);
            uint64_t seq = rnd() >> 1, got;

            assert_non_null(px);
            assert_non_null(want);
            memset(px, PAD_BYTE, size);
            memset(want, PAD_BYTE, size);
            assert_int_equal(pattern_draw(px, w, h, stride, fmt, seq), 0);
            static const int64_t steps[] = {1,   1,    3,  0,      64,
                                            127, 1000, -5, 1 << 20};
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
                seq += (uint64_t)steps[k];
                assert_int_equal(pattern_update(px, w, h, stride, fmt, seq), 0);
                assert_int_equal(pattern_draw(want, w, h, stride, fmt, seq), 0);
                if (memcmp(px, want, size) != 0)
                    fail_msg("%ux%u stride %u fmt %d: update to %llu differs "
                             "from the drawing",
                             w, h, stride, fmt, (unsigned long long)seq);
            }
            assert_int_equal(pattern_read(px, w, h, stride, fmt, &got), 0);
            assert_true(got == seq);
            free(px);
            free(want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_roundtrip_4k),
        cmocka_unit_test(test_roundtrip_every_small_size),
        cmocka_unit_test(test_jpeg_q50_sizes),
        cmocka_unit_test(test_jpeg_q50_every_small_size),
        cmocka_unit_test(test_draw_deterministic_and_moving),
        cmocka_unit_test(test_blank_pictures_are_bad),
        cmocka_unit_test(test_random_pictures_are_bad),
        cmocka_unit_test(test_low_contrast_is_bad),
        cmocka_unit_test(test_wrong_geometry_is_bad),
        cmocka_unit_test(test_flipped_cells_are_bad),
        cmocka_unit_test(test_torn_frames),
        cmocka_unit_test(test_bad_geometry),
        cmocka_unit_test(test_yuv_roundtrip),
        cmocka_unit_test(test_yuv_levels),
        cmocka_unit_test(test_yuv_bad_geometry),
        cmocka_unit_test(test_update_is_draw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
