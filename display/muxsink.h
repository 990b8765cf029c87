/* muxsink.h -- display's containers: frames muxed into an RTSP, RTMP or
 * SRT server (MediaMTX and the like, for fan-out beyond one gateway) or an
 * .mp4, .mkv or .ts file (libavformat).
 *
 * H.264 frames are muxed as they came, not encoded again: the container
 * starts at a keyframe and takes its codec configuration (SPS and PPS)
 * from it.  A stream encoded here (encsink.h) starts with its own
 * parameters.  Either way every packet's time is its frame's capture
 * stamp (t_mono), so the file keeps the capture's pace and rate.
 */
#ifndef DISPLAY_MUXSINK_H
#define DISPLAY_MUXSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "vidpipe.h"

struct muxsink;

/* Opens nothing yet (that waits for the first frame); format is the
 * libavformat muxer the sink's URL names (sink_parse()).  NULL with a
 * one-line reason in err. */
struct muxsink *muxsink_new(const char *url, const char *format, char *err,
                            size_t errlen);
/* Writes the trailer and closes; accepts NULL. */
void muxsink_free(struct muxsink *m);

/* Muxes one H.264 frame (frames before the first keyframe are skipped).
 * 0, or -1 after logging why (fatal for the run). */
int muxsink_write(struct muxsink *m, vp_frame *f);

/* Opens the container for one stream that par describes (copied), whose
 * first frame was captured at t0_ns.  0, or -1 after logging why. */
int muxsink_start(struct muxsink *m, const AVCodecParameters *par,
                  int64_t t0_ns);
/* Muxes one packet of that stream, of a frame captured at t_ns (mono).
 * 0, or -1 after logging why. */
int muxsink_put(struct muxsink *m, const uint8_t *data, size_t len, bool key,
                int64_t t_ns);

#endif
