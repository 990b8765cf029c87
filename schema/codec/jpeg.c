/* jpeg.c -- JPEG encode and decode through libjpeg-turbo's TurboJPEG API. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <turbojpeg.h>

#include "codec/jpeg.h"
#include "util/mem.h"

/* Handles are made on first use: a receiver that only decodes never pays
 * for a compressor, and the reverse. */
struct jpeg {
    tjhandle enc;
    tjhandle dec;
    int samp;        /* of the JPEG jpeg_peek() last read */
    uint8_t *planes; /* nv12 and yuyv422 as the planes TurboJPEG takes */
    size_t planes_cap;
};

struct jpeg *jpeg_new(void)
{
    struct jpeg *j = calloc(1, sizeof *j);
    if (!j)
        errno = ENOMEM;
    return j;
}

void jpeg_free(struct jpeg *j)
{
    if (!j)
        return;
    if (j->enc)
        tjDestroy(j->enc);
    if (j->dec)
        tjDestroy(j->dec);
    free(j->planes);
    free(j);
}

static int tj_format(enum pixfmt fmt)
{
    switch (fmt) {
    case PIXFMT_BGR24:
        return TJPF_BGR;
    case PIXFMT_RGB24:
        return TJPF_RGB;
    case PIXFMT_GRAY:
        return TJPF_GRAY;
    default:
        return -1;
    }
}

/* True if w x h pixels of fmt at stride fit what TurboJPEG (ints) and the
 * frame format accept. */
static int geometry_ok(uint32_t w, uint32_t h, uint32_t stride, enum pixfmt fmt)
{
    return !pixfmt_geometry(fmt, w, h, stride, NULL);
}

size_t jpeg_bound(uint32_t w, uint32_t h)
{
    if (!w || !h || w > PIXFMT_DIM_MAX || h > PIXFMT_DIM_MAX)
        return 0;
    /* 4:2:2 needs more room than 4:2:0 and grey, so it bounds them all. */
    unsigned long n = tjBufSize((int)w, (int)h, TJSAMP_422);
    return n == (unsigned long)-1 ? 0 : (size_t)n;
}

/* The subsampling of the JPEG of a frame of fmt (FRAME.md 2). */
static int samp_of(enum pixfmt fmt)
{
    return fmt == PIXFMT_GRAY      ? TJSAMP_GRAY
           : fmt == PIXFMT_YUYV422 ? TJSAMP_422
                                   : TJSAMP_420;
}

/* TurboJPEG's YUV planes of a w x h picture of fmt at px: all three in
 * place for yuv420p; for nv12 the Y plane in place and U and V in
 * j->planes; for yuyv422 all three there. */
struct yuv {
    unsigned char *p[3];
    int stride[3];
};

static int yuv_planes(struct jpeg *j, enum pixfmt fmt, uint32_t w, uint32_t h,
                      const uint8_t *px, uint32_t stride, struct yuv *y)
{
    struct pixfmt_planes pl;
    size_t cw = w / 2, ch = fmt == PIXFMT_YUYV422 ? h : h / 2;
    size_t luma = fmt == PIXFMT_YUYV422 ? (size_t)w * h : 0;

    pixfmt_planes(fmt, w, h, stride, &pl);
    if (fmt == PIXFMT_YUV420P) {
        for (unsigned i = 0; i < 3; i++) {
            y->p[i] = (unsigned char *)px + pl.offset[i];
            y->stride[i] = (int)pl.stride[i];
        }
        return 0;
    }
    if (!mem_reserve(&j->planes, &j->planes_cap, luma + 2 * cw * ch))
        return -ENOMEM;
    y->p[0] = luma ? j->planes : (unsigned char *)px;
    y->stride[0] = luma ? (int)w : (int)stride;
    y->p[1] = j->planes + luma;
    y->p[2] = j->planes + luma + cw * ch;
    y->stride[1] = y->stride[2] = (int)cw;
    return 0;
}

/* A frame's YUV planes as TurboJPEG takes them: nv12's and yuyv422's
 * taken apart into j->planes. */
static int yuv_in(struct jpeg *j, enum pixfmt fmt, uint32_t w, uint32_t h,
                  const uint8_t *px, uint32_t stride, struct yuv *y)
{
    struct pixfmt_planes pl;
    int rc;

    if ((rc = yuv_planes(j, fmt, w, h, px, stride, y)) < 0)
        return rc;
    pixfmt_planes(fmt, w, h, stride, &pl);
    if (fmt == PIXFMT_NV12) {
        for (uint32_t r = 0; r < h / 2; r++) {
            const uint8_t *uv = px + pl.offset[1] + (size_t)r * pl.stride[1];
            uint8_t *u = y->p[1] + (size_t)r * (w / 2);
            uint8_t *v = y->p[2] + (size_t)r * (w / 2);
            for (uint32_t x = 0; x < w / 2; x++)
                u[x] = uv[2 * x], v[x] = uv[2 * x + 1];
        }
    } else if (fmt == PIXFMT_YUYV422) {
        for (uint32_t r = 0; r < h; r++) {
            const uint8_t *s = px + (size_t)r * stride;
            uint8_t *l = y->p[0] + (size_t)r * w;
            uint8_t *u = y->p[1] + (size_t)r * (w / 2);
            uint8_t *v = y->p[2] + (size_t)r * (w / 2);
            for (uint32_t x = 0; x < w / 2; x++, s += 4) {
                l[2 * x] = s[0], u[x] = s[1], l[2 * x + 1] = s[2], v[x] = s[3];
            }
        }
    }
    return 0;
}

/* The planes TurboJPEG decoded put together as fmt at px. */
static void yuv_out(enum pixfmt fmt, uint32_t w, uint32_t h, uint8_t *px,
                    uint32_t stride, const struct yuv *y)
{
    struct pixfmt_planes pl;

    pixfmt_planes(fmt, w, h, stride, &pl);
    if (fmt == PIXFMT_NV12) {
        for (uint32_t r = 0; r < h / 2; r++) {
            uint8_t *uv = px + pl.offset[1] + (size_t)r * pl.stride[1];
            const uint8_t *u = y->p[1] + (size_t)r * (w / 2);
            const uint8_t *v = y->p[2] + (size_t)r * (w / 2);
            for (uint32_t x = 0; x < w / 2; x++)
                uv[2 * x] = u[x], uv[2 * x + 1] = v[x];
        }
    } else if (fmt == PIXFMT_YUYV422) {
        for (uint32_t r = 0; r < h; r++) {
            uint8_t *d = px + (size_t)r * stride;
            const uint8_t *l = y->p[0] + (size_t)r * w;
            const uint8_t *u = y->p[1] + (size_t)r * (w / 2);
            const uint8_t *v = y->p[2] + (size_t)r * (w / 2);
            for (uint32_t x = 0; x < w / 2; x++, d += 4) {
                d[0] = l[2 * x], d[1] = u[x], d[2] = l[2 * x + 1], d[3] = v[x];
            }
        }
    }
}

int jpeg_encode(struct jpeg *j, const uint8_t *src, uint32_t w, uint32_t h,
                uint32_t stride, enum pixfmt fmt, int quality, uint8_t *dst,
                size_t cap, size_t *len)
{
    int samp = samp_of(fmt), rc = 0;
    unsigned char *out = dst;
    unsigned long out_len = 0;
    struct yuv y;

    if (!j || !src || !dst || !len || !geometry_ok(w, h, stride, fmt) ||
        quality < 1 || quality > 100 || cap < jpeg_bound(w, h))
        return -EINVAL;
    if (!j->enc && !(j->enc = tjInitCompress()))
        return -EIO;
    /* NOREALLOC: TurboJPEG trusts dst to hold tjBufSize() bytes, which
     * the cap check above guarantees. */
    if (pixfmt_is_yuv(fmt)) {
        if ((rc = yuv_in(j, fmt, w, h, src, stride, &y)) < 0)
            return rc;
        rc = tjCompressFromYUVPlanes(
            j->enc, (const unsigned char **)y.p, (int)w, y.stride, (int)h, samp,
            &out, &out_len, quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT);
    } else {
        rc = tjCompress2(j->enc, src, (int)w, (int)stride, (int)h,
                         tj_format(fmt), &out, &out_len, samp, quality,
                         TJFLAG_NOREALLOC | TJFLAG_FASTDCT);
    }
    if (rc != 0 || out != dst || out_len > cap)
        return -EIO;
    *len = out_len;
    return 0;
}

static int decoder(struct jpeg *j)
{
    if (!j->dec && !(j->dec = tjInitDecompress()))
        return -ENOMEM;
    return 0;
}

/* TurboJPEG 2.1 does not reset a decompressor after a header error: every
 * later call then fails too.  Bad input is rare, so start afresh. */
static int bad_input(struct jpeg *j)
{
    tjDestroy(j->dec);
    j->dec = NULL;
    return -EBADMSG;
}

int jpeg_peek(struct jpeg *j, const uint8_t *src, size_t len, uint32_t *w,
              uint32_t *h)
{
    int jw, jh, samp, cs, rc;

    if (!j || !src || !len || len > ULONG_MAX)
        return -EBADMSG;
    if ((rc = decoder(j)) != 0)
        return rc;
    if (tjDecompressHeader3(j->dec, src, (unsigned long)len, &jw, &jh, &samp,
                            &cs) != 0 ||
        jw < 1 || jh < 1 || jw > PIXFMT_DIM_MAX || jh > PIXFMT_DIM_MAX)
        return bad_input(j);
    *w = (uint32_t)jw;
    *h = (uint32_t)jh;
    j->samp = samp;
    return 0;
}

int jpeg_decode(struct jpeg *j, const uint8_t *src, size_t len, uint8_t *dst,
                uint32_t w, uint32_t h, uint32_t stride, enum pixfmt fmt)
{
    uint32_t jw, jh;
    int rc;

    if (!j || !dst || !geometry_ok(w, h, stride, fmt))
        return -EINVAL;
    if ((rc = jpeg_peek(j, src, len, &jw, &jh)) != 0)
        return rc;
    /* Exactly w x h, so TurboJPEG neither scales nor writes beyond
     * h rows of w pixels. */
    if (jw != w || jh != h)
        return -EBADMSG;
    /* A warning (truncated or corrupt data) leaves a half-grey picture: for
     * untrusted input that is bad input, so stop and say so. */
    if (pixfmt_is_yuv(fmt)) {
        struct yuv y;
        /* Planes come out as the JPEG has them: they must be the
         * format's (FRAME.md 2). */
        if (j->samp != samp_of(fmt))
            return -EBADMSG;
        if ((rc = yuv_planes(j, fmt, w, h, dst, stride, &y)) < 0)
            return rc;
        if (tjDecompressToYUVPlanes(j->dec, src, (unsigned long)len, y.p,
                                    (int)w, y.stride, (int)h,
                                    TJFLAG_FASTDCT | TJFLAG_STOPONWARNING) != 0)
            return bad_input(j);
        yuv_out(fmt, w, h, dst, stride, &y);
        return 0;
    }
    if (tjDecompress2(j->dec, src, (unsigned long)len, dst, (int)w, (int)stride,
                      (int)h, tj_format(fmt),
                      TJFLAG_FASTDCT | TJFLAG_STOPONWARNING) != 0)
        return bad_input(j);
    return 0;
}
