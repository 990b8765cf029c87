/* misc.c -- the library's small public pieces: version, names, clocks,
 * the test pattern, CURVE key pairs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "api/api.h"
#include "codec/convert.h"
#include "contract/frame.h"
#include "contract/pattern.h"
#include "contract/topic.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

/* The public enums are the contract's, value for value. */
_Static_assert((int)VP_PIX_BGR24 == PIXFMT_BGR24 &&
                   (int)VP_PIX_RGB24 == PIXFMT_RGB24 &&
                   (int)VP_PIX_GRAY == PIXFMT_GRAY &&
                   (int)VP_PIX_YUV420P == PIXFMT_YUV420P &&
                   (int)VP_PIX_NV12 == PIXFMT_NV12 &&
                   (int)VP_PIX_YUYV422 == PIXFMT_YUYV422,
               "vp_pixfmt matches enum pixfmt");
_Static_assert(VP_MAX_PLANES == PIXFMT_MAX_PLANES, "planes");
_Static_assert((int)VP_CODEC_RAW == ENC_RAW && (int)VP_CODEC_JPEG == ENC_JPEG &&
                   (int)VP_CODEC_H264 == ENC_H264,
               "vp_codec matches enum frame_enc");
_Static_assert((int)VP_VARIANT_SHM == VAR_SHM &&
                   (int)VP_VARIANT_RAW == VAR_RAW &&
                   (int)VP_VARIANT_JPEG == VAR_JPEG &&
                   (int)VP_VARIANT_H264 == VAR_H264,
               "vp_variant matches enum variant");
_Static_assert(VP_STREAM_MAX == FRAME_STREAM_MAX, "stream names");
_Static_assert(VP_DIM_MAX == FRAME_DIM_MAX, "dimensions");

const char *vp_version(void)
{
    return VIDPIPE_VERSION;
}

void vp_log_prefix(const char *prog)
{
    log_init(prog);
}

void vp_log_quiet(bool quiet)
{
    log_quiet(quiet);
}

int64_t vp_clock_mono_ns(void)
{
    return clock_mono_ns();
}

int64_t vp_clock_real_ns(void)
{
    return clock_real_ns();
}

const char *vp_pixfmt_name(enum vp_pixfmt fmt)
{
    return pixfmt_name((enum pixfmt)fmt);
}

enum vp_pixfmt vp_pixfmt_parse(const char *name)
{
    return (enum vp_pixfmt)pixfmt_parse(name);
}

unsigned vp_pixfmt_bpp(enum vp_pixfmt fmt)
{
    return pixfmt_bpp((enum pixfmt)fmt);
}

const char *vp_codec_name(enum vp_codec c)
{
    return frame_enc_name((enum frame_enc)c);
}

int vp_codec_parse(const char *name, enum vp_codec *c)
{
    enum frame_enc e;
    if (frame_enc_parse(name, &e) < 0)
        return vp_fail(-EINVAL, "%s: expected raw, jpeg or h264", name);
    *c = (enum vp_codec)e;
    return 0;
}

bool vp_stream_name_ok(const char *name)
{
    return frame_stream_name_ok(name);
}

size_t vp_image_layout(struct vp_image *img, uint32_t w, uint32_t h,
                       enum vp_pixfmt fmt, uint32_t stride, uint8_t *buf)
{
    enum pixfmt f = (enum pixfmt)fmt;
    struct pixfmt_planes pl;

    if (!stride)
        stride = pixfmt_min_stride(f, w);
    if (!img || pixfmt_geometry(f, w, h, stride, NULL) < 0)
        return 0;
    pixfmt_planes(f, w, h, stride, &pl);
    *img =
        (struct vp_image){.width = w, .height = h, .fmt = fmt, .nplanes = pl.n};
    for (unsigned i = 0; i < pl.n; i++) {
        img->data[i] = buf ? buf + pl.offset[i] : NULL;
        img->stride[i] = pl.stride[i];
    }
    return (size_t)pixfmt_size(f, h, stride);
}

int api_image_check(const struct vp_image *img, const char *what)
{
    enum pixfmt f = (enum pixfmt)img->fmt;
    struct pixfmt_planes pl;
    const char *bad = NULL;

    pixfmt_geometry(f, img->width, img->height,
                    pixfmt_min_stride(f, img->width), &bad);
    if (bad)
        return vp_fail(-EINVAL, "%s: %ux%u %s: %s", what, img->width,
                       img->height, pixfmt_name(f) ? pixfmt_name(f) : "?", bad);
    pixfmt_planes(f, img->width, img->height, pixfmt_min_stride(f, img->width),
                  &pl);
    if (img->nplanes != pl.n)
        return vp_fail(-EINVAL, "%s: %s has %u planes, not %u", what,
                       pixfmt_name(f), pl.n, img->nplanes);
    for (unsigned i = 0; i < pl.n; i++)
        if (!img->data[i] || img->stride[i] < pl.row_bytes[i] ||
            img->stride[i] > PIXFMT_STRIDE_MAX)
            return vp_fail(-EINVAL, "%s: plane %u: %s", what, i,
                           !img->data[i] ? "no pixels" : "stride out of range");
    return 0;
}

void api_planes(struct planes_ref *p, const struct vp_image *img)
{
    memset(p, 0, sizeof *p);
    p->fmt = (enum pixfmt)img->fmt;
    for (unsigned i = 0; i < img->nplanes && i < PIXFMT_MAX_PLANES; i++) {
        p->data[i] = img->data[i];
        p->stride[i] = img->stride[i];
    }
}

void api_copy(const struct vp_image *src, const struct vp_image *dst)
{
    struct planes_ref s, d;

    api_planes(&s, src);
    api_planes(&d, dst);
    planes_copy(src->width, src->height, &s, &d);
}

static int pattern_paint(const struct vp_image *img, uint64_t seq, bool update)
{
    int rc = api_image_check(img, "pattern");
    if (rc < 0)
        return rc;
    if ((update ? pattern_update_planes : pattern_draw_planes)(
            img->data, img->stride, img->width, img->height,
            (enum pixfmt)img->fmt, seq) < 0)
        return vp_fail(-EINVAL, "pattern: needs at least %dx%d", PATTERN_MIN_W,
                       PATTERN_MIN_H);
    return 0;
}

int vp_pattern_draw(const struct vp_image *img, uint64_t seq)
{
    return pattern_paint(img, seq, false);
}

int vp_pattern_update(const struct vp_image *img, uint64_t seq)
{
    return pattern_paint(img, seq, true);
}

int vp_pattern_read(const struct vp_image *img, uint64_t *seq)
{
    int rc = api_image_check(img, "pattern");
    if (rc < 0)
        return rc;
    /* The first plane holds what is read, whatever the others hold. */
    rc = pattern_read(img->data[0], img->width, img->height, img->stride[0],
                      (enum pixfmt)img->fmt, seq);
    if (rc == -EBADMSG)
        return vp_fail(rc, "pattern: the cells do not decode");
    if (rc < 0)
        return vp_fail(rc, "pattern: needs at least %dx%d", PATTERN_MIN_W,
                       PATTERN_MIN_H);
    return 0;
}

struct vp_convert {
    struct convert *c;
    uint8_t *buf; /* vp_convert_to()'s picture */
    size_t cap;
};

int vp_convert_new(vp_convert **c)
{
    if (!(*c = calloc(1, sizeof **c)) || !((*c)->c = convert_new())) {
        free(*c);
        *c = NULL;
        return vp_fail(-ENOMEM, "out of memory");
    }
    return 0;
}

void vp_convert_free(vp_convert *c)
{
    if (!c)
        return;
    convert_free(c->c);
    free(c->buf);
    free(c);
}

int vp_convert_image(vp_convert *c, const struct vp_image *src,
                     const struct vp_image *dst)
{
    struct planes_ref s, d;
    int rc;

    if ((rc = api_image_check(src, "convert")) < 0 ||
        (rc = api_image_check(dst, "convert")) < 0)
        return rc;
    if (src->width != dst->width || src->height != dst->height)
        return vp_fail(-EINVAL, "convert: %ux%u into %ux%u: not the same size",
                       src->width, src->height, dst->width, dst->height);
    api_planes(&s, src);
    api_planes(&d, dst);
    if ((rc = convert_run(c->c, src->width, src->height, &s, &d)) < 0)
        return vp_fail(rc, "convert: %s to %s: %s", vp_pixfmt_name(src->fmt),
                       vp_pixfmt_name(dst->fmt),
                       rc == -ENOMEM ? "out of memory" : "not supported");
    return 0;
}

int vp_convert_to(vp_convert *c, const struct vp_image *src, enum vp_pixfmt fmt,
                  struct vp_image *out)
{
    size_t need = vp_image_layout(out, src->width, src->height, fmt, 0, NULL);

    if (!need)
        return vp_fail(-EINVAL, "convert: %ux%u is not a size of %s",
                       src->width, src->height,
                       vp_pixfmt_name(fmt) ? vp_pixfmt_name(fmt) : "?");
    if (!mem_reserve(&c->buf, &c->cap, need))
        return vp_fail(-ENOMEM, "out of memory for a %ux%u picture", src->width,
                       src->height);
    vp_image_layout(out, src->width, src->height, fmt, 0, c->buf);
    return vp_convert_image(c, src, out);
}

int vp_curve_keypair(char public_z85[41], char secret_z85[41])
{
    if (!zmq_has("curve"))
        return vp_fail(-ENOTSUP, "this libzmq has no CURVE support (it must "
                                 "be built with libsodium)");
    if (zmq_curve_keypair(public_z85, secret_z85) < 0)
        return vp_fail(-errno, "CURVE key pair: %s", zmq_strerror(errno));
    return 0;
}
