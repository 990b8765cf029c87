/* jpeg.c -- JPEG encode and decode through libjpeg-turbo's TurboJPEG API. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <turbojpeg.h>

#include "codec/jpeg.h"

/* Handles are made on first use: a receiver that only decodes never pays
 * for a compressor, and the reverse. */
struct jpeg {
    tjhandle enc;
    tjhandle dec;
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
 * frame format (FRAME_DIM_MAX) accept. */
static int geometry_ok(uint32_t w, uint32_t h, uint32_t stride, enum pixfmt fmt)
{
    unsigned bpp = pixfmt_bpp(fmt);
    return bpp && w && h && w <= FRAME_DIM_MAX && h <= FRAME_DIM_MAX &&
           (uint64_t)w * bpp <= stride && stride <= INT_MAX;
}

size_t jpeg_bound(uint32_t w, uint32_t h)
{
    if (!w || !h || w > FRAME_DIM_MAX || h > FRAME_DIM_MAX)
        return 0;
    /* 4:2:0 needs more room than grey, so it bounds both. */
    unsigned long n = tjBufSize((int)w, (int)h, TJSAMP_420);
    return n == (unsigned long)-1 ? 0 : (size_t)n;
}

int jpeg_encode(struct jpeg *j, const uint8_t *src, uint32_t w, uint32_t h,
                uint32_t stride, enum pixfmt fmt, int quality, uint8_t *dst,
                size_t cap, size_t *len)
{
    int samp = fmt == PIXFMT_GRAY ? TJSAMP_GRAY : TJSAMP_420;
    unsigned char *out = dst;
    unsigned long out_len = 0;

    if (!j || !src || !dst || !len || !geometry_ok(w, h, stride, fmt) ||
        quality < 1 || quality > 100 || cap < jpeg_bound(w, h))
        return -EINVAL;
    if (!j->enc && !(j->enc = tjInitCompress()))
        return -EIO;
    /* NOREALLOC: TurboJPEG trusts dst to hold tjBufSize() bytes, which
     * the cap check above guarantees. */
    if (tjCompress2(j->enc, src, (int)w, (int)stride, (int)h, tj_format(fmt),
                    &out, &out_len, samp, quality,
                    TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0 ||
        out != dst || out_len > cap)
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
        jw < 1 || jh < 1 || jw > FRAME_DIM_MAX || jh > FRAME_DIM_MAX)
        return bad_input(j);
    *w = (uint32_t)jw;
    *h = (uint32_t)jh;
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
    if (tjDecompress2(j->dec, src, (unsigned long)len, dst, (int)w, (int)stride,
                      (int)h, tj_format(fmt),
                      TJFLAG_FASTDCT | TJFLAG_STOPONWARNING) != 0)
        return bad_input(j);
    return 0;
}
