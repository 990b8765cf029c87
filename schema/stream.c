/* stream.c -- reading and writing frame maps on a byte stream.
 *
 * The reader keeps one buffer holding the current frame (and whatever of
 * the next one a read brought along).  Before each read it walks the bytes
 * it has, the way frame.c's shape check does, to learn how many the map
 * needs at least; a declared length only ever sets how far to read, while
 * the buffer grows at most to twice the bytes that actually arrived.  So
 * a map declaring a 4 GB bin is refused at once (over the limit), and one
 * declaring 1 GB and then ending costs what arrived, not 1 GB.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "stream.h"

#define STREAM_CHUNK (64 * 1024) /* first allocation and least growth */
#define WALK_MAX_DEPTH 8         /* the limits frame_decode() applies */
#define WALK_MAX_ITEMS 256

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
    free(r);
}

const char *stream_reader_error(const struct stream_reader *r)
{
    return r->err[0] ? r->err : "no error";
}

uint64_t stream_reader_frame_offset(const struct stream_reader *r)
{
    return r->frame_off;
}

size_t stream_reader_mem(const struct stream_reader *r)
{
    return r->cap;
}

/* --- measuring a map that may not have arrived completely. ------------ */

enum { WALK_BAD = -1, WALK_SHORT = 0, WALK_DONE = 1 };

struct walk {
    const uint8_t *b;
    size_t len, pos;
    unsigned items;
    uint64_t need;   /* WALK_SHORT: at least this many bytes in all */
    const char *why; /* WALK_BAD: what, at pos */
};

static uint64_t rd_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int walk_bad(struct walk *w, const char *why)
{
    w->why = why;
    return WALK_BAD;
}

/* Steps over one msgpack object at w->pos. */
static int walk_obj(struct walk *w, int depth)
{
    size_t p = w->pos;
    uint64_t n = 0, skip = 0;
    int nlen = 0, kind = 0; /* kind: 0 scalar, 1 array, 2 map */

    if (depth > WALK_MAX_DEPTH)
        return walk_bad(w, "objects nested too deep");
    if (++w->items > WALK_MAX_ITEMS)
        return walk_bad(w, "too many objects in one frame");
    if (p >= w->len) {
        w->need = p + 1;
        return WALK_SHORT;
    }
    uint8_t c = w->b[p++];
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        /* fixint, nil, bool */
    } else if ((c & 0xf0) == 0x80) {
        kind = 2, n = c & 0x0f;
    } else if ((c & 0xf0) == 0x90) {
        kind = 1, n = c & 0x0f;
    } else if ((c & 0xe0) == 0xa0) {
        skip = c & 0x1f;
    } else {
        switch (c) {
        case 0xc4: case 0xd9: nlen = 1; break;        /* bin8, str8 */
        case 0xc5: case 0xda: nlen = 2; break;        /* bin16, str16 */
        case 0xc6: case 0xdb: nlen = 4; break;        /* bin32, str32 */
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;                    /* fixext 1 */
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xc7: nlen = 1, skip = 1; break;          /* ext8 + type */
        case 0xc8: nlen = 2, skip = 1; break;
        case 0xc9: nlen = 4, skip = 1; break;
        case 0xdc: kind = 1, nlen = 2; break;
        case 0xdd: kind = 1, nlen = 4; break;
        case 0xde: kind = 2, nlen = 2; break;
        case 0xdf: kind = 2, nlen = 4; break;
        default: return walk_bad(w, "byte 0xc1 is not msgpack");
        }
        if (nlen) {
            if (w->len - p < (size_t)nlen) {
                w->need = p + (size_t)nlen;
                return WALK_SHORT;
            }
            n = rd_be(w->b + p, nlen);
            p += (size_t)nlen;
            if (kind == 0)
                skip += n;
        }
    }
    if (kind == 0) {
        if (w->len - p < skip) {
            w->need = (uint64_t)p + skip;
            return WALK_SHORT;
        }
        w->pos = p + skip;
        return WALK_DONE;
    }
    /* Counts are judged before their elements arrive. */
    if (n > WALK_MAX_ITEMS)
        return walk_bad(w, "container declares too many objects");
    if (kind == 2)
        n *= 2;
    w->pos = p;
    for (uint64_t i = 0; i < n; i++) {
        int rc = walk_obj(w, depth + 1);
        if (rc != WALK_DONE)
            return rc;
    }
    return WALK_DONE;
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
            struct walk w = {.b = r->buf + r->start, .len = have};
            uint8_t c = w.b[0];
            if (!((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf))
                return fail(r,
                            "corrupt stream at byte offset %" PRIu64
                            ": a frame map must start here, found 0x%02x",
                            off, c);
            int rc = walk_obj(&w, 0);
            if (rc == WALK_BAD)
                return fail(r, "corrupt stream at byte offset %" PRIu64 ": %s",
                            off + w.pos, w.why);
            if (rc == WALK_DONE) {
                if (w.pos > r->max_frame)
                    return fail(r,
                                "corrupt stream at byte offset %" PRIu64
                                ": a frame of %zu bytes is over the limit "
                                "of %" PRIu64,
                                off, w.pos, r->max_frame);
                if (frame_decode(w.b, w.pos, h, &payload, &payload_len,
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
                r->start += w.pos;
                return 0;
            }
            need = w.need;
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
            fail(r, "read at byte offset %" PRIu64 ": %s",
                 r->base + r->end, strerror(e));
            return -e;
        }
        if (n == 0) {
            if (have == 0)
                return STREAM_EOF;
            return fail(r,
                        "truncated stream: the frame at byte offset %" PRIu64
                        " is cut off at byte offset %" PRIu64,
                        off, off + have);
        }
        r->end += (size_t)n;
    }
}

/* --- writing. ---------------------------------------------------------- */

int stream_writev_all(int fd, struct iovec *iov, int n)
{
    bool wrote = false;

    while (n > 0) {
        ssize_t w = writev(fd, iov, n < IOV_MAX ? n : IOV_MAX);
        if (w < 0) {
            if (errno == EINTR) {
                /* Once a frame has begun it must be finished, or the
                 * stream is corrupt; before that, a stop request wins. */
                if (cli_stop && !wrote)
                    return -EINTR;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return -errno;
        }
        wrote = wrote || w > 0;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

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
    return stream_writev_all(fd, iov, len ? 2 : 1);
}
