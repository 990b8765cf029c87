/* sink.c -- display's sinks over the OpenCV shim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cvsink.h"
#include "encsink.h"
#include "muxsink.h"
#include "pipesink.h"
#include "sink.h"
#include "util/log.h"

struct sink {
    enum sink_kind kind;
    char arg[SPEC_MAX];
    const vp_stats *st;
    vp_pub *out; /* "-": frames forwarded on stdout */
    struct muxsink *mux;
    struct cvwindow *win;
    struct encsink *enc;
    struct pipesink *pipe;
    bool overlay;
    vp_convert *conv; /* YUV frames become bgr24 here, for OpenCV */
    struct vp_image bgr;
};

static int cv_fmt(enum vp_pixfmt f)
{
    return f == VP_PIX_RGB24  ? CVSINK_RGB24
           : f == VP_PIX_GRAY ? CVSINK_GRAY
                              : CVSINK_BGR24;
}

struct sink *sink_new(const struct sink_spec *spec, enum vp_pixfmt raw_fmt,
                      const vp_stats *st, char *err, size_t errlen)
{
    struct sink *s = calloc(1, sizeof *s);
    struct stat sb;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->kind = spec->kind;
    s->st = st;
    s->overlay = true;
    snprintf(s->arg, sizeof s->arg, "%s", spec->arg);
    switch (spec->kind) {
    case SINK_NULL:
        return s;
    case SINK_VIDEO: /* opened at the first frame, when its size is known */
        if ((s->enc = encsink_new(spec->arg, spec->mux, err, errlen)))
            return s;
        break;
    case SINK_WINDOW:
        if (!getenv("DISPLAY") || !*getenv("DISPLAY")) {
            snprintf(err, errlen, "-o window: no $DISPLAY (use -o null)");
            break;
        }
        return s;
    case SINK_PNG:
        if (stat(s->arg, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "-o png:%s: not a directory", s->arg);
            break;
        }
        return s;
    case SINK_RAW:
        if ((s->pipe = pipesink_new(raw_fmt ? raw_fmt : VP_PIX_BGR24)))
            return s;
        snprintf(err, errlen, "out of memory");
        break;
    case SINK_STREAM:
        if (vp_pub_open(&s->out, "-", NULL) == 0)
            return s;
        snprintf(err, errlen, "%s", vp_errmsg());
        break;
    case SINK_MUX:
        if ((s->mux = muxsink_new(spec->arg, spec->mux, err, errlen)))
            return s;
        break;
    default:
        snprintf(err, errlen, "this sink is not supported yet");
        break;
    }
    free(s);
    return NULL;
}

void sink_free(struct sink *s)
{
    if (!s)
        return;
    cvwindow_free(s->win);
    encsink_free(s->enc);
    pipesink_free(s->pipe);
    vp_pub_close(s->out);
    muxsink_free(s->mux);
    vp_convert_free(s->conv);
    free(s);
}

enum sink_use sink_use(const struct sink *s)
{
    return s->kind == SINK_NULL                            ? SINK_IN_PLACE
           : s->kind == SINK_STREAM || s->kind == SINK_MUX ? SINK_FRAME
                                                           : SINK_COPY;
}

/* img as OpenCV takes it: packed RGB and gray as they are, the YUV
 * formats converted to bgr24 once, into the converter's picture.  NULL after
 * logging why not. */
static const struct vp_image *for_opencv(struct sink *s,
                                         const struct vp_image *img)
{
    if (img->fmt == VP_PIX_BGR24 || img->fmt == VP_PIX_RGB24 ||
        img->fmt == VP_PIX_GRAY)
        return img;
    if ((!s->conv && vp_convert_new(&s->conv) < 0) ||
        vp_convert_to(s->conv, img, VP_PIX_BGR24, &s->bgr) < 0) {
        log_err("%s", vp_errmsg());
        return NULL;
    }
    return &s->bgr;
}

static int show(struct sink *s, const struct vp_frame_info *h,
                const struct vp_image *img)
{
    uint64_t p50 = 0, drops = 0;
    char text[160];

    if (!s->win && !(s->win = cvwindow_new(h->stream))) {
        log_err("cannot open a window on $DISPLAY");
        return -1;
    }
    vp_stats_get(s->st, "lat_p50_us", &p50);
    vp_stats_get(s->st, "drops", &drops);
    snprintf(text, sizeof text, "%s #%llu  %ux%u  lat p50 %.1f ms  drops %llu",
             h->stream, (unsigned long long)h->seq, h->width, h->height,
             (double)p50 / 1000, (unsigned long long)drops);
    if (cvwindow_show(s->win, img->data[0], h->width, h->height, img->stride[0],
                      cv_fmt(img->fmt), s->overlay ? text : NULL) < 0) {
        log_err("window: cannot show the frame");
        return -1;
    }
    return 0;
}

int sink_write(struct sink *s, vp_frame *f, const struct vp_image *img)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    char path[SPEC_MAX + 96];
    int rc;

    if ((s->kind == SINK_WINDOW || s->kind == SINK_PNG) &&
        !(img = for_opencv(s, img)))
        return -1;
    switch (s->kind) {
    case SINK_NULL:
        return 0;
    case SINK_WINDOW:
        return show(s, h, img);
    case SINK_VIDEO:
        return encsink_write(s->enc, h, img);
    case SINK_PNG:
        snprintf(path, sizeof path, "%s/%s-%020llu.png", s->arg, h->stream,
                 (unsigned long long)h->seq);
        if (cvpng_write(path, img->data[0], h->width, h->height, img->stride[0],
                        cv_fmt(img->fmt)) < 0) {
            log_err("%s: cannot write", path);
            return -1;
        }
        return 0;
    case SINK_RAW:
        return pipesink_write(s->pipe, h->seq, img);
    case SINK_MUX:
        return muxsink_write(s->mux, f);
    case SINK_STREAM:
        rc = vp_pub_forward(s->out, f, NULL);
        if (rc == -EPIPE)
            return SINK_QUIT;
        if (rc == -ESTALE || rc == -EINTR)
            return rc == -ESTALE ? -ESTALE : 0;
        if (rc < 0) {
            log_err("%s", vp_errmsg());
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

int sink_poll(struct sink *s)
{
    if (s->kind != SINK_WINDOW || !s->win)
        return 0;
    int key = cvwindow_poll(s->win, 1);
    switch (key) {
    case 'q':
    case 27:
    case '\r':
    case '\n':
        return SINK_QUIT;
    case 'o':
        s->overlay = !s->overlay;
        return 0;
    default:
        return 0;
    }
}
