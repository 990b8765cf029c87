/* pattern.c -- the test: source's self-verifying picture. */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "contract/pattern.h"

/*
 * Everything is placed from w x h alone, so writer and reader agree:
 *
 *   rows [0, band_h)    the code band: a dark quiet zone (luma QUIET) around
 *                       a grid of cols x rows square cells, black 0, white 1,
 *                       80 bits: seq (64, MSB first) then a CRC-16 of seq.
 *   3/4 of the rest     eight colour bars crossed by a bar, inverted, that
 *                       moves with seq.
 *   the last quarter    a grey sawtooth ramp that scrolls with seq.
 *
 * The band uses the fewest grid rows that give cells of CELL_MIN px or more
 * within half the height, so big frames keep most of the picture for
 * motion; frames too small for that get the largest cells that fit the
 * whole frame (6 px at 64 x 48, still fine after JPEG at quality 50).
 * The reader averages a few samples in the middle third of each cell and
 * calls a cell that is neither clearly dark nor clearly light a bad
 * picture, which with the CRC makes noise read as valid almost never.
 *
 * Every row is built once and copied down, all band colours are greys so a
 * span is one memset: drawing costs about one write of the frame.
 */

#define CODE_BITS 80
#define CELL_MIN 8
#define QUIET 48      /* luma of the band around the cells, not 0 or 255 */
#define SAMPLES 8     /* per axis in a cell when reading */
#define AMBIGUOUS 40  /* a cell averaging within 128 +- this is unreadable */
#define DIFF_BLOCK 64 /* bytes compared at a time when updating */

/* Grid shapes of CODE_BITS cells, fewest rows first. */
static const uint32_t shapes[][2] = {{40, 2}, {20, 4}, {16, 5}, {10, 8}};

struct layout {
    uint32_t cols, rows;
    uint32_t cell;   /* side of a cell, px */
    uint32_t x0, y0; /* top left of the grid */
    uint32_t band_h; /* rows [0, band_h) are the code band */
};

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* *bpp: the step between two pixels' luma (or colour) in plane 0. */
static int check_geometry(const void *p, uint32_t w, uint32_t h,
                          uint32_t stride, enum pixfmt fmt, unsigned *bpp)
{
    *bpp = fmt == PIXFMT_YUYV422 ? 2 : pixfmt_bpp(fmt) ? pixfmt_bpp(fmt) : 1;
    if (!p || w < PATTERN_MIN_W || h < PATTERN_MIN_H ||
        pixfmt_geometry(fmt, w, h, stride, NULL))
        return -EINVAL;
    return 0;
}

/* Largest cells of any shape within w x h when each takes cols + extra by
 * rows + extra cells; the shape through *pick. */
static uint32_t best_fit(uint32_t w, uint32_t h, uint32_t extra, size_t *pick)
{
    uint32_t best = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        uint32_t c =
            min32(w / (shapes[i][0] + extra), h / (shapes[i][1] + extra));
        if (c > best) {
            best = c;
            *pick = i;
        }
    }
    return best;
}

static void layout_of(uint32_t w, uint32_t h, struct layout *l)
{
    size_t i, pick = 0;
    uint32_t c = 0, border;

    /* Fewest grid rows with good cells and a one-cell border in half the
     * height: a thin band on big frames. */
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        c = min32(w / (shapes[i][0] + 2), h / 2 / (shapes[i][1] + 2));
        if (c >= CELL_MIN) {
            pick = i;
            break;
        }
    }
    if (c >= CELL_MIN) {
        border = c;
    } else if ((c = best_fit(w, h, 1, &pick)) >= CELL_MIN) {
        border = c / 2; /* small frame: the band fills it */
    } else {
        /* Tiny frame: cells below 6 px do not survive JPEG at quality 50
         * (3 of them share an 8 x 8 block), so drop the border instead. */
        c = best_fit(w, h, 0, &pick);
        border = min32(c / 2, (h - shapes[pick][1] * c) / 2);
    }
    l->cols = shapes[pick][0];
    l->rows = shapes[pick][1];
    l->cell = c;
    /* Even: 6 px cells at an odd offset leave 1 px slivers in JPEG's
     * blocks, whose ringing flips cells at quality 50. */
    l->x0 = (w - l->cols * c) / 2 & ~1u;
    l->y0 = border & ~1u;
    l->band_h = l->rows * c + 2 * border;
}

/* CRC-16/CCITT-FALSE of seq's bytes, big-endian.  The 0xffff start keeps
 * an all-black or all-white picture from checking out. */
static uint16_t crc16(uint64_t seq)
{
    uint16_t crc = 0xffff;
    for (int i = 7; i >= 0; i--) {
        crc ^= (uint16_t)(((seq >> (8 * i)) & 0xff) << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static unsigned code_bit(uint64_t seq, uint16_t crc, unsigned i)
{
    if (i < 64)
        return (unsigned)(seq >> (63 - i)) & 1;
    return (unsigned)(crc >> (CODE_BITS - 1 - i)) & 1;
}

/* The colour r, g, b as the bytes of one pixel of fmt. */
static void to_px(enum pixfmt fmt, unsigned r, unsigned g, unsigned b,
                  uint8_t px[3])
{
    switch (fmt) {
    case PIXFMT_BGR24:
        px[0] = (uint8_t)b, px[1] = (uint8_t)g, px[2] = (uint8_t)r;
        break;
    case PIXFMT_RGB24:
        px[0] = (uint8_t)r, px[1] = (uint8_t)g, px[2] = (uint8_t)b;
        break;
    default:
        px[0] = px[1] = px[2] = (uint8_t)((77 * r + 150 * g + 29 * b) >> 8);
        break;
    }
}

static void fill(uint8_t *row, uint32_t x0, uint32_t x1, unsigned bpp,
                 const uint8_t px[3])
{
    uint8_t *p = row + (size_t)x0 * bpp, *end = row + (size_t)x1 * bpp;

    if (bpp == 1 || (px[0] == px[1] && px[1] == px[2])) {
        memset(p, px[0], (size_t)(end - p));
        return;
    }
    for (; p < end; p += 3)
        p[0] = px[0], p[1] = px[1], p[2] = px[2];
}

/* Copies row y0 onto rows (y0, y1).  Updating (see pattern_update()),
 * those rows still hold the run as an earlier frame drew it, all alike:
 * only the blocks where row y0 now differs from row y0 + 1 are copied. */
static void copy_down(uint8_t *dst, uint32_t stride, uint32_t y0, uint32_t y1,
                      size_t len, bool update)
{
    const uint8_t *src = dst + (size_t)y0 * stride;
    uint32_t span[2 * (3 * PIXFMT_DIM_MAX / DIFF_BLOCK + 1)];
    unsigned n = 0;

    if (y1 <= y0 + 1)
        return;
    if (!update) {
        for (uint32_t y = y0 + 1; y < y1; y++)
            memcpy(dst + (size_t)y * stride, src, len);
        return;
    }
    const uint8_t *was = src + stride;
    for (size_t x = 0; x < len; x += DIFF_BLOCK) {
        size_t b = len - x < DIFF_BLOCK ? len - x : DIFF_BLOCK;
        if (memcmp(src + x, was + x, b) == 0)
            continue;
        if (n && span[n - 1] == x)
            span[n - 1] = x + b; /* extends the span before */
        else
            span[n++] = x, span[n++] = x + b;
    }
    for (uint32_t y = y0 + 1; y < y1; y++)
        for (unsigned i = 0; i < n; i += 2)
            memcpy(dst + (size_t)y * stride + span[i], src + span[i],
                   span[i + 1] - span[i]);
}

/* Row kind r of the band (r < 0: the quiet zone, else grid row r) into
 * row, len bytes of bpp-byte pixels. */
static void band_row(uint8_t *row, unsigned bpp, const struct layout *l,
                     size_t len, uint64_t seq, int r)
{
    uint16_t crc = crc16(seq);
    size_t cell_len = (size_t)l->cell * bpp;
    uint8_t *cell = row + (size_t)l->x0 * bpp;

    memset(row, QUIET, len);
    if (r < 0)
        return;
    for (uint32_t c = 0; c < l->cols; c++, cell += cell_len)
        memset(cell, code_bit(seq, crc, (uint32_t)r * l->cols + c) ? 255 : 0,
               cell_len);
}

static void draw_band(uint8_t *dst, uint32_t stride, unsigned bpp,
                      const struct layout *l, size_t len, uint64_t seq,
                      bool update)
{
    uint32_t grid_end = l->y0 + l->rows * l->cell;

    band_row(dst, bpp, l, len, seq, -1);
    copy_down(dst, stride, 0, l->y0, len, update);
    for (uint32_t r = 0; r < l->rows; r++) {
        uint32_t y = l->y0 + r * l->cell;
        band_row(dst + (size_t)y * stride, bpp, l, len, seq, (int)r);
        copy_down(dst, stride, y, y + l->cell, len, update);
    }
    if (grid_end < l->band_h) {
        band_row(dst + (size_t)grid_end * stride, bpp, l, len, seq, -1);
        copy_down(dst, stride, grid_end, l->band_h, len, update);
    }
}

static void draw_bars(uint8_t *row, uint32_t w, enum pixfmt fmt, unsigned bpp,
                      uint64_t seq)
{
    static const uint8_t bars[8][3] = {
        {255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
        {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0},
    };
    uint8_t px[3];

    for (uint32_t i = 0; i < 8; i++) {
        to_px(fmt, bars[i][0], bars[i][1], bars[i][2], px);
        fill(row, i * w / 8, (i + 1) * w / 8, bpp, px);
    }
    /* Crosses the frame in about 128 frames, whatever its width. */
    uint32_t bar_w = w / 32, span = w - bar_w + 1;
    uint32_t step = w / 128 ? w / 128 : 1;
    uint32_t x = (uint32_t)((seq % span) * step % span);
    uint8_t *p = row + (size_t)x * bpp, *end = p + (size_t)bar_w * bpp;
    for (; p < end; p++)
        *p = (uint8_t) ~*p;
}

static void draw_ramp(uint8_t *row, uint32_t w, unsigned bpp, uint64_t seq)
{
    /* A sawtooth over the width, shifted 4 levels (w / 64 px) a frame. */
    unsigned shift = (unsigned)(seq * 4 & 255);
    for (uint32_t x = 0; x < w; x++) {
        uint8_t v = (uint8_t)((uint64_t)x * 256 / w + shift);
        uint8_t *p = row + (size_t)x * bpp;
        p[0] = v;
        if (bpp == 3)
            p[1] = p[2] = v;
    }
}

/* --- YUV: each run of equal rows is made once as a bgr24 row, turned
 * into luma and chroma, written and copied down, so drawing still costs
 * about one write of the frame.  BT.601, limited range: what ffmpeg's
 * yuv420p holds and its converters expect. */

struct yuv_dst {
    enum pixfmt fmt;
    uint32_t w, h;
    bool update;
    uint8_t *data[PIXFMT_MAX_PLANES];
    uint32_t stride[PIXFMT_MAX_PLANES];
};

static uint8_t luma_of(const uint8_t *bgr)
{
    return (uint8_t)(16 +
                     ((66 * bgr[2] + 129 * bgr[1] + 25 * bgr[0] + 128) >> 8));
}

/* The chroma of two neighbouring bgr pixels, averaged. */
static void chroma_of(const uint8_t *bgr, uint8_t *u, uint8_t *v)
{
    int b = bgr[0] + bgr[3], g = bgr[1] + bgr[4], r = bgr[2] + bgr[5];
    *u = (uint8_t)(128 + ((-38 * r - 74 * g + 112 * b + 256) >> 9));
    *v = (uint8_t)(128 + ((112 * r - 94 * g - 18 * b + 256) >> 9));
}

static void copy_rows(const struct yuv_dst *d, unsigned i, uint32_t y0,
                      uint32_t y1, size_t len)
{
    copy_down(d->data[i], d->stride[i], y0, y1, len, d->update);
}

/* Rows [y0, y1) of d are all the bgr24 row bgr. */
static void yuv_rows(const struct yuv_dst *d, const uint8_t *bgr, uint32_t y0,
                     uint32_t y1)
{
    uint32_t w = d->w;

    if (y0 >= y1)
        return;
    if (d->fmt == PIXFMT_YUYV422) {
        uint8_t *row = d->data[0] + (size_t)y0 * d->stride[0];
        for (uint32_t x = 0; x < w; x += 2, row += 4, bgr += 6) {
            row[0] = luma_of(bgr);
            row[2] = luma_of(bgr + 3);
            chroma_of(bgr, &row[1], &row[3]);
        }
        copy_rows(d, 0, y0, y1, (size_t)w * 2);
        return;
    }
    uint8_t *yrow = d->data[0] + (size_t)y0 * d->stride[0];
    for (uint32_t x = 0; x < w; x++)
        yrow[x] = luma_of(bgr + 3 * x);
    copy_rows(d, 0, y0, y1, w);
    /* Chroma row c belongs to luma rows 2c and 2c + 1: it takes the
     * colour of row 2c. */
    uint32_t c0 = (y0 + 1) / 2, c1 = (y1 + 1) / 2;
    if (c0 >= c1)
        return;
    if (d->fmt == PIXFMT_NV12) {
        uint8_t *uv = d->data[1] + (size_t)c0 * d->stride[1];
        for (uint32_t x = 0; x < w; x += 2)
            chroma_of(bgr + 3 * x, &uv[x], &uv[x + 1]);
        copy_rows(d, 1, c0, c1, w);
        return;
    }
    uint8_t *u = d->data[1] + (size_t)c0 * d->stride[1];
    uint8_t *v = d->data[2] + (size_t)c0 * d->stride[2];
    for (uint32_t x = 0; x < w; x += 2)
        chroma_of(bgr + 3 * x, &u[x / 2], &v[x / 2]);
    copy_rows(d, 1, c0, c1, w / 2);
    copy_rows(d, 2, c0, c1, w / 2);
}

static void draw_yuv(const struct yuv_dst *d, uint64_t seq)
{
    uint8_t bgr[3 * PIXFMT_DIM_MAX];
    struct layout l;
    uint32_t w = d->w, h = d->h;
    size_t len = (size_t)w * 3;

    layout_of(w, h, &l);
    uint32_t grid_end = l.y0 + l.rows * l.cell;
    band_row(bgr, 3, &l, len, seq, -1);
    yuv_rows(d, bgr, 0, l.y0);
    for (uint32_t r = 0; r < l.rows; r++) {
        uint32_t y = l.y0 + r * l.cell;
        band_row(bgr, 3, &l, len, seq, (int)r);
        yuv_rows(d, bgr, y, y + l.cell);
    }
    band_row(bgr, 3, &l, len, seq, -1);
    yuv_rows(d, bgr, grid_end, l.band_h);

    uint32_t rest = h - l.band_h;
    uint32_t ramp_y = l.band_h + rest - rest / 4;
    draw_bars(bgr, w, PIXFMT_BGR24, 3, seq);
    yuv_rows(d, bgr, l.band_h, ramp_y);
    draw_ramp(bgr, w, 3, seq);
    yuv_rows(d, bgr, ramp_y, h);
}

static void draw_packed(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                        enum pixfmt fmt, unsigned bpp, uint64_t seq,
                        bool update)
{
    struct layout l;
    size_t len = (size_t)w * bpp;

    layout_of(w, h, &l);
    draw_band(dst, stride, bpp, &l, len, seq, update);

    uint32_t rest = h - l.band_h;
    uint32_t ramp_y = l.band_h + rest - rest / 4;
    if (rest) {
        draw_bars(dst + (size_t)l.band_h * stride, w, fmt, bpp, seq);
        copy_down(dst, stride, l.band_h, ramp_y, len, update);
    }
    if (ramp_y < h) {
        draw_ramp(dst + (size_t)ramp_y * stride, w, bpp, seq);
        copy_down(dst, stride, ramp_y, h, len, update);
    }
}

/* pattern_draw_planes(), or pattern_update_planes() if update. */
static int paint(uint8_t *const data[], const uint32_t stride[], uint32_t w,
                 uint32_t h, enum pixfmt fmt, uint64_t seq, bool update)
{
    struct pixfmt_planes pl;
    struct yuv_dst d = {.fmt = fmt, .w = w, .h = h, .update = update};
    unsigned bpp;
    int rc = check_geometry(data[0], w, h, stride[0], fmt, &bpp);

    if (rc)
        return rc;
    if (!pixfmt_is_yuv(fmt)) {
        draw_packed(data[0], w, h, stride[0], fmt, bpp, seq, update);
        return 0;
    }
    pixfmt_planes(fmt, w, h, stride[0], &pl);
    for (unsigned i = 0; i < pl.n; i++) {
        if (!data[i] || stride[i] < pl.row_bytes[i])
            return -EINVAL;
        d.data[i] = data[i];
        d.stride[i] = stride[i];
    }
    draw_yuv(&d, seq);
    return 0;
}

/* paint() into one buffer laid out as frames carry it. */
static int paint_one(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                     enum pixfmt fmt, uint64_t seq, bool update)
{
    struct pixfmt_planes pl = {.n = 1, .stride = {stride}};
    uint8_t *data[PIXFMT_MAX_PLANES] = {dst};

    if (dst && pixfmt_is_yuv(fmt) &&
        !pixfmt_geometry(fmt, w, h, stride, NULL)) {
        pixfmt_planes(fmt, w, h, stride, &pl);
        for (unsigned i = 0; i < pl.n; i++)
            data[i] = dst + pl.offset[i];
    }
    return paint(data, pl.stride, w, h, fmt, seq, update);
}

int pattern_draw_planes(uint8_t *const data[], const uint32_t stride[],
                        uint32_t w, uint32_t h, enum pixfmt fmt, uint64_t seq)
{
    return paint(data, stride, w, h, fmt, seq, false);
}

int pattern_update_planes(uint8_t *const data[], const uint32_t stride[],
                          uint32_t w, uint32_t h, enum pixfmt fmt, uint64_t seq)
{
    return paint(data, stride, w, h, fmt, seq, true);
}

int pattern_draw(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                 enum pixfmt fmt, uint64_t seq)
{
    return paint_one(dst, w, h, stride, fmt, seq, false);
}

int pattern_update(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                   enum pixfmt fmt, uint64_t seq)
{
    return paint_one(dst, w, h, stride, fmt, seq, true);
}

/* Average luma of a few samples spread over the middle of a cell. */
static unsigned cell_luma(const uint8_t *src, uint32_t stride, enum pixfmt fmt,
                          unsigned bpp, uint32_t x, uint32_t y, uint32_t cell)
{
    uint32_t m = cell / 3, s = cell - 2 * m;
    uint32_t n = s < SAMPLES ? s : SAMPLES;
    unsigned sum = 0;

    for (uint32_t j = 0; j < n; j++) {
        uint32_t sy = y + m + (2 * j + 1) * s / (2 * n);
        const uint8_t *row = src + (size_t)sy * stride;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t sx = x + m + (2 * i + 1) * s / (2 * n);
            const uint8_t *p = row + (size_t)sx * bpp;
            if (bpp < 3) /* gray, or the luma of a YUV format */
                sum += p[0];
            else if (fmt == PIXFMT_BGR24)
                sum += (29u * p[0] + 150u * p[1] + 77u * p[2]) >> 8;
            else
                sum += (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
        }
    }
    return sum / (n * n);
}

int pattern_read(const uint8_t *src, uint32_t w, uint32_t h, uint32_t stride,
                 enum pixfmt fmt, uint64_t *seq)
{
    struct layout l;
    unsigned bpp;
    uint64_t v = 0;
    uint16_t crc = 0;
    int rc = check_geometry(src, w, h, stride, fmt, &bpp);
    if (rc)
        return rc;
    assert(seq);
    layout_of(w, h, &l);

    for (unsigned i = 0; i < CODE_BITS; i++) {
        uint32_t x = l.x0 + (i % l.cols) * l.cell;
        uint32_t y = l.y0 + (i / l.cols) * l.cell;
        unsigned y_avg = cell_luma(src, stride, fmt, bpp, x, y, l.cell);
        unsigned bit;

        if (y_avg >= 128 + AMBIGUOUS)
            bit = 1;
        else if (y_avg < 128 - AMBIGUOUS)
            bit = 0;
        else
            return -EBADMSG;
        if (i < 64)
            v = v << 1 | bit;
        else
            crc = (uint16_t)(crc << 1 | bit);
    }
    if (crc != crc16(v))
        return -EBADMSG;
    *seq = v;
    return 0;
}
