/* keyframe.h -- one stream's H.264 encoder, and when it makes keyframes.
 *
 * A viewer needs a keyframe to start, and again after it lost a frame:
 * it asks with a subscription of its own ("key/STREAM/NONCE", topic.h),
 * which every relay on the way passes upstream like any other.  The
 * publisher makes the next frame a keyframe, but at most one every
 * KEY_MIN_NS: fifty viewers asking at once get one keyframe, not fifty,
 * and a join waits no longer than that.  A first subscriber of the
 * variant, and the first frame after a time nobody wanted it, get one
 * without asking.
 *
 * A leaf of the API layer: it takes pixels and returns packets; the
 * publisher sends them and counts them.
 */
#ifndef VIDPIPE_KEYFRAME_H
#define VIDPIPE_KEYFRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "contract/frame.h"

/* What an encoder is made with (vp_pub_opts). */
struct keyframe_opts {
    double fps;
    uint32_t bitrate, gop;
};

/* One stream's encoder and keyframe state; zeroed is a valid start. */
struct keyframer {
    struct h264enc *enc;
    bool key_due; /* a keyframe was asked for */
    bool gap;     /* frames went without H.264 since the last packet */
    int64_t key_ns;
};

/* Encodes the raw frame h (pixels px) into a packet: 0 with out (h made
 * an h264 header), *data (the encoder's until the next call) and *is_key;
 * or -EIO, with a static reason in *why. */
int keyframer_encode(struct keyframer *k, const struct keyframe_opts *o,
                     const struct frame_hdr *h, const uint8_t *px,
                     struct frame_hdr *out, const uint8_t **data, bool *is_key,
                     const char **why);
/* A keyframe is asked for: the next frame is one, KEY_MIN_NS allowing. */
void keyframer_ask(struct keyframer *k);
/* A frame went out without H.264: the next packet is a keyframe. */
void keyframer_idle(struct keyframer *k);
void keyframer_fini(struct keyframer *k);

#endif
