/* pipesink.c -- raw frames on stdout, in the format asked for. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipesink.h"
#include "util/io.h"
#include "util/log.h"

struct pipesink {
    enum vp_pixfmt fmt; /* written */
    bool started;
    uint32_t w, h;
    vp_convert *conv;
    struct vp_image out; /* a converted frame, the converter's */
    struct iovec *iov;   /* one per row of a padded plane */
    size_t iov_cap;
};

struct pipesink *pipesink_new(enum vp_pixfmt fmt)
{
    struct pipesink *p = calloc(1, sizeof(struct pipesink));
    if (p)
        p->fmt = fmt;
    return p;
}

void pipesink_free(struct pipesink *p)
{
    if (!p)
        return;
    vp_convert_free(p->conv);
    free(p->iov);
    free(p);
}

static int status(int rc)
{
    if (rc == 0 || rc == -EINTR)
        return 0;
    if (rc == -EPIPE)
        return 1; /* the reader has gone */
    log_err("writing to stdout: %s", strerror(-rc));
    return -1;
}

/* img converted to the sink's format (into the converter's picture). */
static const struct vp_image *convert(struct pipesink *p,
                                      const struct vp_image *img)
{
    if ((!p->conv && vp_convert_new(&p->conv) < 0) ||
        vp_convert_to(p->conv, img, p->fmt, &p->out) < 0) {
        log_err("raw:-: %s", vp_errmsg());
        return NULL;
    }
    return &p->out;
}

int pipesink_write(struct pipesink *p, uint64_t seq, const struct vp_image *h)
{
    struct vp_image tight;
    size_t n = 0, len;

    if (!p->started) {
        p->started = true;
        p->w = h->width;
        p->h = h->height;
        log_info("raw:- writes %ux%u %s (ffmpeg -f rawvideo -pix_fmt %s -s "
                 "%ux%u -i -)",
                 p->w, p->h, vp_pixfmt_name(p->fmt), vp_pixfmt_name(p->fmt),
                 p->w, p->h);
    } else if (h->width != p->w || h->height != p->h) {
        log_err("raw:-: frame %llu is %ux%u, not %ux%u; raw output cannot "
                "change size",
                (unsigned long long)seq, h->width, h->height, p->w, p->h);
        return -1;
    }
    if (h->fmt != p->fmt && !(h = convert(p, h)))
        return -1;
    /* Written without padding, still without a copy: a row per iovec
     * where the rows are padded, a plane per iovec where not. */
    len = vp_image_layout(&tight, h->width, h->height, h->fmt, 0, NULL);
    if (!len)
        return -1;
    size_t need = (size_t)h->height * 2;
    if (need > p->iov_cap) {
        free(p->iov);
        p->iov_cap = 0;
        if (!(p->iov = malloc(need * sizeof *p->iov))) {
            log_err("out of memory");
            return -1;
        }
        p->iov_cap = need;
    }
    for (unsigned i = 0; i < h->nplanes; i++) {
        uint32_t rows = i == 0 ? h->height : h->height / 2;
        size_t row = tight.stride[i];
        if (h->stride[i] == row) {
            p->iov[n++] = (struct iovec){h->data[i], row * rows};
            continue;
        }
        for (uint32_t y = 0; y < rows; y++)
            p->iov[n++] =
                (struct iovec){h->data[i] + (size_t)y * h->stride[i], row};
    }
    return status(io_writev_all(STDOUT_FILENO, p->iov, (int)n));
}
