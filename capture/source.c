/* source.c -- capture's frame sources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvsource.h"
#include "util/log.h"
#include "rawsrc.h"
#include "source.h"
#include "v4l2src.h"

/* test: remembers the frames it drew in the buffers the publisher lends
 * (a few ring slots or payload buffers, used again and again), so the
 * next frame in one of them is an update: only the bytes that change
 * are written (vp_pattern_update()), a quarter of a drawing. */
#define DRAWN_MAX 32

struct drawn {
    const uint8_t *px;
    uint32_t stride;
    uint64_t seq;
};

struct source {
    enum source_kind kind;
    uint32_t w, h;
    enum vp_pixfmt fmt;
    double fps;
    bool loop;
    struct cvsource *cv;
    struct v4l2src *v4l2;
    struct rawsrc *raw;
    struct drawn drawn[DRAWN_MAX];
    unsigned ndrawn, next_drawn;
};

struct source *source_open(const struct source_spec *spec,
                           const struct source_req *req, char *err,
                           size_t errlen)
{
    struct source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->kind = spec->kind;
    s->loop = req->loop;
    switch (spec->kind) {
    case SRC_TEST:
        s->w = req->width ? req->width : 1280;
        s->h = req->height ? req->height : 720;
        s->fmt = req->fmt ? req->fmt : VP_PIX_BGR24;
        s->fps = req->fps > 0 ? req->fps : 30;
        if (s->w < 64 || s->h < 48) {
            snprintf(err, errlen, "test: needs at least 64x48");
            goto fail;
        }
        if (!vp_image_layout(&(struct vp_image){0}, s->w, s->h, s->fmt, 0,
                             NULL)) {
            snprintf(err, errlen,
                     "test: %ux%u is not a size of %s (it "
                     "needs an even width%s)",
                     s->w, s->h, vp_pixfmt_name(s->fmt),
                     s->fmt == VP_PIX_YUYV422 ? "" : " and height");
            goto fail;
        }
        return s;
    case SRC_V4L2:
        if (req->fmt) { /* the device's own format, no BGR on the way */
            s->v4l2 = v4l2src_open(spec->arg, req->width, req->height,
                                   req->fps > 0 ? req->fps : 0, req->fmt, err,
                                   errlen);
            if (!s->v4l2)
                goto fail;
            v4l2src_info(s->v4l2, &s->w, &s->h, &s->fps);
            s->fmt = req->fmt;
            if (req->fps > 0)
                s->fps = req->fps;
            return s;
        }
        /* fall through */
    case SRC_OPENCV:
        s->cv = cvsource_open(spec->arg, req->width, req->height,
                              req->fps > 0 ? req->fps : 0, err, errlen);
        if (!s->cv)
            goto fail;
        cvsource_info(s->cv, &s->w, &s->h, &s->fps);
        s->fmt = VP_PIX_BGR24;
        if (req->fps > 0)
            s->fps = req->fps;
        if (s->w < 1 || s->h < 1 || s->w > VP_DIM_MAX || s->h > VP_DIM_MAX) {
            snprintf(err, errlen, "%s: unsupported size %ux%u", spec->arg, s->w,
                     s->h);
            goto fail;
        }
        return s;
    case SRC_RAW:
        if (!req->width || !req->height) {
            snprintf(err, errlen,
                     "raw:- needs --size WxH (and --pix-fmt, "
                     "--fps)");
            goto fail;
        }
        s->w = req->width;
        s->h = req->height;
        s->fmt = req->fmt ? req->fmt : VP_PIX_BGR24;
        s->fps = req->fps > 0 ? req->fps : 0; /* 0: as fast as it comes */
        if (!(s->raw = rawsrc_new(STDIN_FILENO, s->w, s->h, s->fmt))) {
            if (errno == EINVAL)
                snprintf(err, errlen, "raw:-: %ux%u is not a size of %s", s->w,
                         s->h, vp_pixfmt_name(s->fmt));
            else
                snprintf(err, errlen, "raw:-: %s", strerror(errno));
            goto fail;
        }
        return s;
    default:
        snprintf(err, errlen, "%s: source not supported by this build",
                 spec->arg);
        goto fail;
    }
fail:
    source_free(s);
    return NULL;
}

void source_free(struct source *s)
{
    if (!s)
        return;
    cvsource_free(s->cv);
    v4l2src_free(s->v4l2);
    rawsrc_free(s->raw);
    free(s);
}

void source_format(const struct source *s, uint32_t *w, uint32_t *h,
                   enum vp_pixfmt *fmt, double *fps)
{
    *w = s->w;
    *h = s->h;
    *fmt = s->fmt;
    *fps = s->fps;
}

bool source_on_demand(const struct source *s)
{
    return s->kind == SRC_TEST;
}

/* Frame seq of test: into img: an update where img's buffer still shows
 * the frame drawn there last (the size and format never change, and a
 * buffer made again reads as no pattern), else a drawing. */
static int draw_test(struct source *s, const struct vp_image *img, uint64_t seq)
{
    struct drawn *d = NULL;
    uint64_t shown;

    for (unsigned i = 0; !d && i < s->ndrawn; i++) /* entries are unique */
        if (s->drawn[i].px == img->data[0] &&
            s->drawn[i].stride == img->stride[0])
            d = &s->drawn[i];
    bool update = d && vp_pattern_read(img, &shown) == 0 && shown == d->seq;
    if ((update ? vp_pattern_update : vp_pattern_draw)(img, seq) < 0) {
        log_err("%s", vp_errmsg());
        return -1;
    }
    if (!d) {
        d = &s->drawn[s->ndrawn < DRAWN_MAX ? s->ndrawn++
                                            : s->next_drawn++ % DRAWN_MAX];
        d->px = img->data[0];
        d->stride = img->stride[0];
    }
    d->seq = seq;
    return 0;
}

int source_read(struct source *s, const struct vp_image *img, uint64_t seq)
{
    uint8_t *dst = img->data[0];
    uint32_t stride = img->stride[0];
    int rc;

    switch (s->kind) {
    case SRC_TEST:
        return draw_test(s, img, seq);
    case SRC_V4L2:
        if (s->v4l2)
            return v4l2src_read(s->v4l2, img);
        /* fall through */
    case SRC_OPENCV:
        rc = cvsource_read(s->cv, dst, stride);
        if (rc == 1 && s->loop && cvsource_is_file(s->cv)) {
            if (cvsource_rewind(s->cv) < 0)
                return -1;
            rc = cvsource_read(s->cv, dst, stride);
        }
        if (rc < 0)
            log_err("source read failed");
        return rc;
    case SRC_RAW:
        return rawsrc_read(s->raw, img);
    default:
        return -1;
    }
}
