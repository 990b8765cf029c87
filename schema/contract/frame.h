/* frame.h -- the frame header: the one wire format every vidpipe path uses.
 *
 * A frame is a msgpack map (FRAME.md).  Over ZeroMQ it travels as a
 * multipart message [topic, header map, payload]; in a byte stream as one
 * map that also carries the payload under "data".  A header describes raw
 * pixels or a JPEG, and may carry a shared-memory descriptor instead of (or
 * as well as) a payload.  This module is the only code that reads or writes
 * that map; everything it decodes is validated before it is returned.
 */
#ifndef VIDPIPE_FRAME_H
#define VIDPIPE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/pixfmt.h"

#define FRAME_SCHEMA_VERSION 1
#define FRAME_STREAM_MAX 63 /* bytes of a stream name, without NUL */
#define FRAME_DIM_MAX PIXFMT_DIM_MAX
#define FRAME_SHM_NAME_MAX 63
#define FRAME_HDR_MAX 512 /* an encoded header never exceeds this */

enum frame_enc {
    ENC_RAW = 0,
    ENC_JPEG,
    ENC_H264, /* Annex B; SPS and PPS before every keyframe */
};

/* Where the pixels of a frame sit in a producer's shared-memory ring. */
struct frame_shm {
    char name[FRAME_SHM_NAME_MAX + 1];
    uint64_t token; /* random per ring; proves the mapping is the one meant */
    uint32_t slot;
    uint64_t gen; /* slot generation the pixels were written under */
};

struct frame_hdr {
    uint32_t version;
    char stream[FRAME_STREAM_MAX + 1];
    uint64_t seq;
    int64_t t_real_ns; /* CLOCK_REALTIME at capture */
    int64_t t_mono_ns; /* CLOCK_MONOTONIC at capture */
    uint32_t width, height, stride;
    enum pixfmt fmt;
    enum frame_enc enc;
    uint64_t size; /* payload bytes: pixfmt_size() for raw, else encoded */
    bool key;      /* h264: a keyframe (decodable on its own) */
    bool has_shm;
    struct frame_shm shm;
};

/* "raw", "jpeg", "h264"; NULL if unknown. */
const char *frame_enc_name(enum frame_enc enc);
/* The encoding named name into *enc: 0, or -EINVAL if there is none. */
int frame_enc_parse(const char *name, enum frame_enc *enc);

/* True if name is a valid stream name: 1..63 of [A-Za-z0-9_.-]. */
bool frame_stream_name_ok(const char *name);

/* Checks a header's internal consistency (dimensions, stride, size for raw,
 * stream name, shm name pattern); 0 or -EINVAL with a reason in *why. */
int frame_hdr_check(const struct frame_hdr *h, const char **why);

/* Encodes h into buf (cap bytes, FRAME_HDR_MAX is enough).  With
 * with_data, the map gets one more key, "data", whose bin header for
 * h->size bytes ends the output: the caller writes the payload right
 * after it (writev), so the payload is never copied to frame it.
 * Returns the encoded length, or -ENOSPC. */
int frame_encode(const struct frame_hdr *h, bool with_data, void *buf,
                 size_t cap);

/* Decodes and validates a header map from buf.  If the map has "data",
 * *data and *data_len point at it inside buf (borrowed) and the length must
 * equal h->size; else *data is NULL.  data may be NULL when the caller
 * expects none.  Unknown keys are ignored.  Returns 0 or -EINVAL (bad
 * input; *why says what, a static string).  Never allocates more than a
 * small fixed amount, whatever the input claims. */
int frame_decode(const void *buf, size_t len, struct frame_hdr *h,
                 const uint8_t **data, size_t *data_len, const char **why);

/* Measures the msgpack object at the start of buf, of which len bytes are
 * there so far, within the structural limits frame_decode() applies
 * (nesting depth, object counts).  0: complete, *n is its length.
 * -EAGAIN: incomplete, *n is at least how many bytes it takes in all (a
 * byte stream reads that far before asking again).  -EINVAL: malformed,
 * *why says what and *n where. */
int frame_measure(const void *buf, size_t len, uint64_t *n, const char **why);

/* Checks that a payload of len bytes fits h: for raw exactly h->size and
 * h->size the frame's bytes (pixfmt_size()).  0 or -EINVAL with *why. */
int frame_payload_check(const struct frame_hdr *h, size_t len,
                        const char **why);

/* Now on both clocks, for filling t_real_ns/t_mono_ns. */
void frame_stamp(struct frame_hdr *h);

#endif
