/* pipesink.c -- raw bgr24 output on stdout. */
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
    bool started;
    uint32_t w, h;
    uint8_t *conv; /* a converted frame */
    size_t conv_cap;
    struct iovec *iov; /* one per row of a padded frame */
    size_t iov_cap;
};

struct pipesink *pipesink_new(void)
{
    return calloc(1, sizeof(struct pipesink));
}

void pipesink_free(struct pipesink *p)
{
    if (!p)
        return;
    free(p->conv);
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

/* rgb24 and gray become packed bgr24 in p->conv. */
static const uint8_t *to_bgr(struct pipesink *p, const struct vp_image *h,
                             const uint8_t *px, uint32_t stride)
{
    size_t row = (size_t)h->width * 3, need = row * h->height;
    if (need > p->conv_cap) {
        free(p->conv);
        p->conv_cap = 0;
        if (!(p->conv = malloc(need)))
            return NULL;
        p->conv_cap = need;
    }
    for (uint32_t y = 0; y < h->height; y++) {
        const uint8_t *s = px + (size_t)y * stride;
        uint8_t *d = p->conv + y * row;
        if (h->fmt == VP_PIX_GRAY) {
            for (uint32_t x = 0; x < h->width; x++, d += 3)
                d[0] = d[1] = d[2] = s[x];
        } else {
            for (uint32_t x = 0; x < h->width; x++, d += 3, s += 3) {
                d[0] = s[2];
                d[1] = s[1];
                d[2] = s[0];
            }
        }
    }
    return p->conv;
}

int pipesink_write(struct pipesink *p, uint64_t seq, const struct vp_image *h)
{
    size_t row = (size_t)h->width * 3;
    const uint8_t *px = h->data[0];
    uint32_t stride = h->stride[0];

    if (!p->started) {
        p->started = true;
        p->w = h->width;
        p->h = h->height;
        log_info("raw:- writes %ux%u bgr24 (ffmpeg -f rawvideo -pix_fmt "
                 "bgr24 -s %ux%u -i -)",
                 p->w, p->h, p->w, p->h);
    } else if (h->width != p->w || h->height != p->h) {
        log_err("raw:-: frame %llu is %ux%u, not %ux%u; raw output cannot "
                "change size",
                (unsigned long long)seq, h->width, h->height, p->w, p->h);
        return -1;
    }
    if (h->fmt != VP_PIX_BGR24) {
        if (!(px = to_bgr(p, h, px, stride))) {
            log_err("out of memory");
            return -1;
        }
        stride = (uint32_t)row;
    }
    if (stride == row) {
        struct iovec one = {(void *)px, row * h->height};
        return status(io_writev_all(STDOUT_FILENO, &one, 1));
    }
    /* Padded rows go out without their padding, still without a copy. */
    if (h->height > p->iov_cap) {
        free(p->iov);
        p->iov_cap = 0;
        if (!(p->iov = malloc(h->height * sizeof *p->iov))) {
            log_err("out of memory");
            return -1;
        }
        p->iov_cap = h->height;
    }
    for (uint32_t y = 0; y < h->height; y++)
        p->iov[y] = (struct iovec){(void *)(px + (size_t)y * stride), row};
    return status(io_writev_all(STDOUT_FILENO, p->iov, (int)h->height));
}
