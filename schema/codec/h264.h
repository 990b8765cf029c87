/* h264.h -- H.264 encode and decode through libavcodec (libx264).
 *
 * The encoder is set for live video: no B-frames, zero-latency tuning
 * (one packet out for each frame in, at once), Annex B with SPS and PPS
 * before every keyframe so a viewer can start at any keyframe, and a
 * keyframe made on request.  It takes frames of any format, laid out
 * as frames carry them (pixfmt_planes()), and converts them to yuv420p
 * itself (yuv420p is only copied); the decoder gives frames of any
 * format back.  One object per stream and thread; nothing is allocated per
 * frame once the first one has set the sizes.
 */
#ifndef VIDPIPE_H264_H
#define VIDPIPE_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/pixfmt.h"

#define H264_DEFAULT_BITRATE 4000000 /* bit/s: 1080p30 on a 10 Mbit/s link */
#define H264_DEFAULT_GOP 60          /* frames between regular keyframes */

struct h264enc;

/* An encoder for w x h frames of fmt at about fps, bitrate bit/s, a
 * keyframe every gop frames: 0 with it in *out, or -errno with a static
 * reason in *why (-EINVAL: a size libx264 cannot take); the caller names
 * the size. */
int h264enc_new(struct h264enc **out, uint32_t w, uint32_t h, enum pixfmt fmt,
                double fps, uint32_t bitrate, uint32_t gop, const char **why);
void h264enc_free(struct h264enc *e);
/* True if e was made for this geometry (else make another). */
bool h264enc_fits(const struct h264enc *e, uint32_t w, uint32_t h,
                  enum pixfmt fmt);

/* Encodes frame px (stride bytes a row of its first plane), a keyframe if key
 * or the GOP says so.  *out points at the packet (valid until the next call) of
 * *len bytes; *is_key says whether it is one.  0 or -errno. */
int h264enc_encode(struct h264enc *e, const uint8_t *px, uint32_t stride,
                   bool key, const uint8_t **out, size_t *len, bool *is_key);

struct h264dec;

/* A decoder: 0 with it in *out, or -errno with a static reason in *why
 * (-ENOTSUP: this FFmpeg cannot decode H.264). */
int h264dec_new(struct h264dec **out, const char **why);
void h264dec_free(struct h264dec *d);
/* Forgets the pictures it refers to: after a loss, wait for a keyframe. */
void h264dec_reset(struct h264dec *d);

/* Decodes one packet of an untrusted stream into dst as fmt (w x h,
 * stride bytes a row of its first plane).  0 with a picture; -EAGAIN when the
 * packet gave none; -EBADMSG when it does not decode or its picture is not w x
 * h. */
int h264dec_decode(struct h264dec *d, const uint8_t *data, size_t len,
                   uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                   enum pixfmt fmt);

#endif
