/* rawsrc.c -- raw frames read with readv straight into the frame buffer. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/log.h"
#include "rawsrc.h"

#define ROWS_PER_READV 256

struct rawsrc {
    int fd;
    uint32_t w, h;
    struct vp_image tight; /* the input's layout: packed rows and planes */
    size_t frame;          /* bytes of a frame */
    uint64_t offset, frames;
};

struct rawsrc *rawsrc_new(int fd, uint32_t w, uint32_t h, enum vp_pixfmt fmt)
{
    struct rawsrc *r;
    struct vp_image t;
    size_t frame = vp_image_layout(&t, w, h, fmt, 0, NULL);

    if (!frame) {
        errno = EINVAL;
        return NULL;
    }
    if (!(r = calloc(1, sizeof *r)))
        return NULL;
    r->fd = fd;
    r->w = w;
    r->h = h;
    r->tight = t;
    r->frame = frame;
    return r;
}

void rawsrc_free(struct rawsrc *r)
{
    free(r);
}

/* Up to max iovecs that put the input's bytes from got on into img: the
 * rest of a frame in one where img is packed as the input is, a row each
 * where its rows are padded. */
static int iovecs(const struct rawsrc *r, const struct vp_image *img,
                  size_t got, struct iovec *iov, int max)
{
    const struct vp_image *t = &r->tight;
    size_t plane_start = 0;
    int n = 0;

    for (unsigned i = 0; i < t->nplanes && n < max; i++) {
        size_t row = t->stride[i];
        uint32_t rows = i == 0 ? r->h : r->h / 2;
        size_t len = row * rows;
        if (got >= plane_start + len) {
            plane_start += len;
            continue;
        }
        size_t at = got - plane_start;
        if (img->stride[i] == row) {
            iov[n++] = (struct iovec){img->data[i] + at, len - at};
        } else {
            for (size_t y = at / row, in_row = at % row; y < rows && n < max;
                 y++, in_row = 0)
                iov[n++] = (struct iovec){
                    img->data[i] + y * img->stride[i] + in_row, row - in_row};
        }
        got = plane_start + len;
        plane_start += len;
    }
    return n;
}

int rawsrc_read(struct rawsrc *r, const struct vp_image *img)
{
    struct iovec iov[ROWS_PER_READV];
    size_t frame = r->frame, got = 0;

    while (got < frame) {
        int n = iovecs(r, img, got, iov, ROWS_PER_READV);
        ssize_t k = readv(r->fd, iov, n);
        if (k < 0 && errno == EINTR) {
            if (cli_stop)
                return 1;
            continue;
        }
        if (k < 0) {
            log_err("raw:-: read at byte offset %" PRIu64 ": %s",
                    r->offset + got, strerror(errno));
            return -1;
        }
        if (k == 0) {
            if (got == 0)
                return 1;
            log_err("raw:-: truncated input: frame %" PRIu64
                    " at byte offset %" PRIu64 " is cut off at byte offset "
                    "%" PRIu64 " (a %ux%u frame is %zu bytes)",
                    r->frames, r->offset, r->offset + got, r->w, r->h, frame);
            return -1;
        }
        got += (size_t)k;
    }
    r->offset += frame;
    r->frames++;
    return 0;
}
