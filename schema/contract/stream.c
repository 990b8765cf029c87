/* stream.c -- reading and writing frame maps on a byte stream.
 *
 * The reader keeps one buffer holding the current frame (and whatever of
 * the next one a read brought along).  Before each read it walks the bytes
 * it has with frame_measure() to learn how many the map needs at least; a
 * declared length only ever sets how far to read, while the buffer grows at
 * most to twice the bytes that actually arrived.  So a map declaring a 4 GB bin
 * is refused at once (over the limit), and one declaring 1 GB and then ending
 * costs what arrived, not 1 GB.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/stream.h"
#include "util/io.h"

#define STREAM_CHUNK (64 * 1024) /* first allocation and least growth */

#define STREAM_SPARES 2 /* buffers given back, kept for reuse */

struct stream_reader {
    int fd;
    uint64_t max_frame;
    uint8_t *buf;
    size_t cap;
    size_t start, end; /* the unconsumed bytes are buf[start, end) */
    uint64_t base;     /* input offset of buf[0] */
    uint64_t frame_off;
    bool failed;
    char err[200];
    struct {
        uint8_t *buf;
        size_t cap;
    } spare[STREAM_SPARES];
};

struct stream_reader *stream_reader_new(int fd, uint64_t max_frame)
{
    struct stream_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    r->max_frame = max_frame ? max_frame : STREAM_FRAME_MAX;
    return r;
}

void stream_reader_free(struct stream_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    for (unsigned i = 0; i < STREAM_SPARES; i++)
        free(r->spare[i].buf);
    free(r);
}

void *stream_reader_take(struct stream_reader *r)
{
    size_t rest = r->end - r->start, cap = STREAM_CHUNK;
    uint8_t *taken = r->buf, *nb = NULL;
    unsigned best = 0;

    /* The largest spare, if the bytes already read of the next frame fit:
     * with frames of one size that is a buffer as big as they are. */
    for (unsigned i = 1; i < STREAM_SPARES; i++)
        if (r->spare[i].cap > r->spare[best].cap)
            best = i;
    if (r->spare[best].buf && r->spare[best].cap >= rest) {
        nb = r->spare[best].buf;
        cap = r->spare[best].cap;
        r->spare[best].buf = NULL;
        r->spare[best].cap = 0;
    } else {
        if (rest > cap)
            cap = rest;
        if (!(nb = malloc(cap)))
            return NULL;
    }
    memcpy(nb, r->buf + r->start, rest);
    r->base += r->start;
    r->buf = nb;
    r->cap = cap;
    r->start = 0;
    r->end = rest;
    return taken;
}

void stream_reader_give(struct stream_reader *r, void *buf)
{
    size_t cap = malloc_usable_size(buf);
    unsigned small = 0;

    for (unsigned i = 0; i < STREAM_SPARES; i++) {
        if (!r->spare[i].buf) {
            small = i;
            break;
        }
        if (r->spare[i].cap < r->spare[small].cap)
            small = i;
    }
    if (r->spare[small].buf && r->spare[small].cap >= cap) {
        free(buf);
        return;
    }
    free(r->spare[small].buf);
    r->spare[small].buf = buf;
    r->spare[small].cap = cap;
}

const char *stream_reader_error(const struct stream_reader *r)
{
    return r->err[0] ? r->err : "no error";
}

uint64_t stream_reader_frame_offset(const struct stream_reader *r)
{
    return r->frame_off;
}

size_t stream_reader_pending(const struct stream_reader *r)
{
    return r->end - r->start;
}

size_t stream_reader_mem(const struct stream_reader *r)
{
    return r->cap;
}

/* --- reading. ---------------------------------------------------------- */

static int fail(struct stream_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct stream_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->failed = true;
    return -EBADMSG;
}

/* Makes room after r->end for a frame of at least need bytes in all,
 * growing the buffer by no more than the bytes that have arrived. */
static int make_room(struct stream_reader *r, uint64_t need)
{
    size_t have = r->end - r->start;
    uint64_t want = need;

    if (want > (uint64_t)have * 2 && want > STREAM_CHUNK)
        want = (uint64_t)have * 2 > STREAM_CHUNK ? (uint64_t)have * 2
                                                 : STREAM_CHUNK;
    if (want < have + 1)
        want = have + 1;
    if (r->cap - r->start >= want && r->end < r->cap)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, have);
        r->base += r->start;
        r->start = 0;
        r->end = have;
    }
    if (r->cap >= want && r->end < r->cap)
        return 0;
    if (want < STREAM_CHUNK)
        want = STREAM_CHUNK;
    if (want > SIZE_MAX)
        return -ENOMEM;
    uint8_t *nb = realloc(r->buf, (size_t)want);
    if (!nb)
        return -ENOMEM;
    r->buf = nb;
    r->cap = (size_t)want;
    return 0;
}

int stream_read(struct stream_reader *r, struct frame_hdr *h,
                const uint8_t **data)
{
    const uint8_t *payload;
    size_t payload_len;
    const char *why;

    if (r->failed)
        return -EBADMSG;
    for (;;) {
        size_t have = r->end - r->start;
        uint64_t off = r->base + r->start;
        uint64_t need = 1;

        r->frame_off = off;
        if (have > 0) {
            const uint8_t *b = r->buf + r->start;
            uint64_t n;
            uint8_t c = b[0];
            if (!((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf))
                return fail(r,
                            "corrupt stream at byte offset %" PRIu64
                            ": a frame map must start here, found 0x%02x",
                            off, c);
            int rc = frame_measure(b, have, &n, &why);
            if (rc < 0 && rc != -EAGAIN)
                return fail(r, "corrupt stream at byte offset %" PRIu64 ": %s",
                            off + n, why);
            if (rc == 0) {
                if (n > r->max_frame)
                    return fail(r,
                                "corrupt stream at byte offset %" PRIu64
                                ": a frame of %" PRIu64
                                " bytes is over the limit of %" PRIu64,
                                off, n, r->max_frame);
                if (frame_decode(b, (size_t)n, h, &payload, &payload_len,
                                 &why) < 0)
                    return fail(r, "bad frame at byte offset %" PRIu64 ": %s",
                                off, why);
                if (!payload)
                    return fail(r,
                                "bad frame at byte offset %" PRIu64
                                ": no payload (\"data\") in a byte stream",
                                off);
                h->has_shm = false; /* the payload is here; no ring is */
                *data = payload;
                r->start += (size_t)n;
                return 0;
            }
            need = n;
            if (need > r->max_frame)
                return fail(r,
                            "corrupt stream at byte offset %" PRIu64
                            ": the frame declares %" PRIu64
                            " bytes or more, over the limit of %" PRIu64,
                            off, need, r->max_frame);
        }
        if (make_room(r, need) < 0)
            return fail(r, "out of memory for a frame at byte offset %" PRIu64,
                        off);
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0) {
            if (errno == EINTR)
                return -EINTR;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
                if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                    return -EINTR;
                continue;
            }
            int e = errno;
            fail(r, "read at byte offset %" PRIu64 ": %s", r->base + r->end,
                 strerror(e));
            return -e;
        }
        if (n == 0) {
            if (have == 0)
                return -ENODATA;
            return fail(r,
                        "truncated stream: the frame at byte offset %" PRIu64
                        " is cut off at byte offset %" PRIu64,
                        off, off + have);
        }
        r->end += (size_t)n;
    }
}

/* --- writing. ---------------------------------------------------------- */

int stream_write(int fd, const struct frame_hdr *h, const void *data,
                 size_t len)
{
    uint8_t hdr[FRAME_HDR_MAX];

    if (len != h->size)
        return -EINVAL;
    int hl = frame_encode(h, true, hdr, sizeof hdr);
    if (hl < 0)
        return -EINVAL;
    struct iovec iov[2] = {
        {.iov_base = hdr, .iov_len = (size_t)hl},
        {.iov_base = (void *)data, .iov_len = len},
    };
    return io_writev_all(fd, iov, len ? 2 : 1);
}
