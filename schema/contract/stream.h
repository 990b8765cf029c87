/* stream.h -- vidpipe frames as a byte stream: shell pipes and recordings.
 *
 * On stdin/stdout and in a recording (.vpk) a frame is one msgpack map,
 * the same header as over ZeroMQ plus the payload under "data"; frames
 * follow each other with nothing between them.  The reader trusts nothing:
 * it sizes its buffer from bytes that have arrived, never from a length the
 * input declares, refuses anything larger than a legal frame, validates
 * every frame with frame_decode(), and names the byte offset of whatever
 * is truncated or corrupt.  The writer sends header and payload with one
 * writev, so the payload is never copied to frame it.
 */
#ifndef VIDPIPE_STREAM_H
#define VIDPIPE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "contract/frame.h"

/* The largest frame map a reader accepts by default: a header with room
 * for unknown keys, and the largest payload frame_hdr_check() allows (a
 * JPEG of a 16384 x 16384 frame with stride 65536). */
#define STREAM_FRAME_MAX                                                       \
    ((uint64_t)FRAME_DIM_MAX * 4 * FRAME_DIM_MAX * 2 + 4096 + 65536)

struct stream_reader;

/* A reader of frames from fd (not closed by the reader), accepting maps of
 * up to max_frame bytes (0: STREAM_FRAME_MAX).  NULL with errno set. */
struct stream_reader *stream_reader_new(int fd, uint64_t max_frame);
void stream_reader_free(struct stream_reader *r);

/* Reads the next frame, blocking until it is complete.  0: *h is a valid
 * header and *data its h->size payload bytes (valid until the next call).
 * -ENODATA: the input ended cleanly between frames.  -EBADMSG: the input
 * is truncated, corrupt or not a valid frame; stream_reader_error() says
 * what and where, and every later call fails the same way.  -EINTR: a
 * signal came first; call again to go on where it stopped.  Other -errno:
 * read() failed. */
int stream_read(struct stream_reader *r, struct frame_hdr *h,
                const uint8_t **data);

/* Takes the buffer that holds the frame last read, whose header and
 * payload pointers stay valid in it: the caller owns it now, and frees it
 * or gives it back for reuse.  The reader goes on in a buffer of its own
 * (a spare, so a steady stream allocates nothing), moving there the bytes
 * of the next frame that had already arrived.  NULL if out of memory (the
 * frame is then valid until the next read only). */
void *stream_reader_take(struct stream_reader *r);
/* Gives back a buffer from stream_reader_take() (freed, or kept spare). */
void stream_reader_give(struct stream_reader *r, void *buf);

/* A one-line description of the last failure, naming its byte offset. */
const char *stream_reader_error(const struct stream_reader *r);

/* The byte offset in the input where the last frame read starts. */
uint64_t stream_reader_frame_offset(const struct stream_reader *r);

/* Bytes read but not yet returned as frames: the next read may need no
 * read() at all. */
size_t stream_reader_pending(const struct stream_reader *r);

/* Bytes of buffer the reader holds now (for tests of its memory bound). */
size_t stream_reader_mem(const struct stream_reader *r);

/* Writes one frame: h (with h->size == len) and its payload, as one map.
 * 0, -EPIPE when the reader has gone, -EINVAL for a header that does not
 * encode, or another -errno. */
int stream_write(int fd, const struct frame_hdr *h, const void *data,
                 size_t len);

#endif
