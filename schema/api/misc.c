/* misc.c -- the library's small public pieces: version, names, clocks,
 * the test pattern, CURVE key pairs. */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "api/api.h"
#include "contract/frame.h"
#include "contract/pattern.h"
#include "contract/topic.h"
#include "util/log.h"

/* The public enums are the contract's, value for value. */
_Static_assert((int)VP_PIX_BGR24 == PIXFMT_BGR24 &&
                   (int)VP_PIX_RGB24 == PIXFMT_RGB24 &&
                   (int)VP_PIX_GRAY == PIXFMT_GRAY,
               "vp_pixfmt matches enum pixfmt");
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
    int e = frame_enc_parse(name);
    if (e < 0)
        return vp_fail(-EINVAL, "%s: expected raw, jpeg or h264", name);
    *c = (enum vp_codec)e;
    return 0;
}

bool vp_stream_name_ok(const char *name)
{
    return frame_stream_name_ok(name);
}

/* The one plane of a packed image, checked. */
static int packed(const struct vp_image *img, const char *what)
{
    unsigned bpp = vp_pixfmt_bpp(img->fmt);
    if (!bpp || img->nplanes != 1 || !img->data[0] ||
        img->stride[0] < (uint64_t)img->width * bpp)
        return vp_fail(-EINVAL, "%s: not a packed image of a known format",
                       what);
    return 0;
}

int vp_pattern_draw(const struct vp_image *img, uint64_t seq)
{
    int rc = packed(img, "pattern");
    if (rc < 0)
        return rc;
    if (pattern_draw(img->data[0], img->width, img->height, img->stride[0],
                     (enum pixfmt)img->fmt, seq) < 0)
        return vp_fail(-EINVAL, "pattern: needs at least %dx%d", PATTERN_MIN_W,
                       PATTERN_MIN_H);
    return 0;
}

int vp_pattern_read(const struct vp_image *img, uint64_t *seq)
{
    int rc = packed(img, "pattern");
    if (rc < 0)
        return rc;
    rc = pattern_read(img->data[0], img->width, img->height, img->stride[0],
                      (enum pixfmt)img->fmt, seq);
    if (rc == -EBADMSG)
        return vp_fail(rc, "pattern: the cells do not decode");
    if (rc < 0)
        return vp_fail(rc, "pattern: needs at least %dx%d", PATTERN_MIN_W,
                       PATTERN_MIN_H);
    return 0;
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
