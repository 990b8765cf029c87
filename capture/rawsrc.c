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
    size_t row; /* bytes of a packed row */
    uint64_t offset, frames;
};

struct rawsrc *rawsrc_new(int fd, uint32_t w, uint32_t h, enum vp_pixfmt fmt)
{
    struct rawsrc *r;

    if (vp_pixfmt_bpp(fmt) == 0 || w < 1 || h < 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!(r = calloc(1, sizeof *r)))
        return NULL;
    r->fd = fd;
    r->w = w;
    r->h = h;
    r->row = (size_t)w * vp_pixfmt_bpp(fmt);
    return r;
}

void rawsrc_free(struct rawsrc *r)
{
    free(r);
}

int rawsrc_read(struct rawsrc *r, uint8_t *dst, uint32_t stride)
{
    struct iovec iov[ROWS_PER_READV];
    size_t frame = r->row * r->h, got = 0;

    /* One iovec per row drops the rows into a padded buffer in place; a
     * packed buffer is one iovec. */
    while (got < frame) {
        int n = 0;
        size_t y = got / r->row, in_row = got % r->row;
        if (stride == r->row) {
            iov[n++] = (struct iovec){dst + got, frame - got};
        } else {
            for (; y < r->h && n < ROWS_PER_READV; y++, n++) {
                iov[n].iov_base = dst + y * stride + in_row;
                iov[n].iov_len = r->row - in_row;
                in_row = 0;
            }
        }
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
