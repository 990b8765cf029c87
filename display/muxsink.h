/* muxsink.h -- display's H.264 egress: the stream muxed as it came, not
 * encoded again, into an RTSP, RTMP or SRT server (MediaMTX and the like,
 * for fan-out beyond one gateway) or an .mp4, .mkv or .ts file
 * (libavformat).
 *
 * The container starts at a keyframe; its codec configuration (SPS and
 * PPS) is taken from that keyframe.  Times come from the frames' capture
 * stamps (t_mono), so the container keeps the capture's pace.
 */
#ifndef DISPLAY_MUXSINK_H
#define DISPLAY_MUXSINK_H

#include <stdbool.h>
#include <stddef.h>

#include "vidpipe.h"

struct muxsink;

/* True if url is a muxer's: rtsp://, rtmp://, srt://, or a .ts file (and
 * .mp4 or .mkv with h264 true). */
bool muxsink_takes(const char *url, bool h264);

/* Opens nothing yet (that waits for the first keyframe); NULL with a
 * one-line reason in err. */
struct muxsink *muxsink_new(const char *url, char *err, size_t errlen);
/* Writes the trailer and closes; accepts NULL. */
void muxsink_free(struct muxsink *m);

/* Muxes one H.264 frame (frames before the first keyframe are skipped).
 * 0, or -1 after logging why (fatal for the run). */
int muxsink_write(struct muxsink *m, vp_frame *f);

#endif
