/* replay.h -- a recording (or a frame stream on stdin) as a paced source.
 *
 * Frames come out as recorded -- stream, seq, geometry, encoding, payload
 * -- at the pace their t_mono stamps were taken (scaled by a speed), or
 * at a fixed rate, or as fast as they can be read.  A looped file starts
 * again with seq going on from where the last pass ended, so receivers
 * see one continuous stream.  The frames are read with a vidpipe
 * subscriber on the file.
 */
#ifndef CAPTURE_REPLAY_H
#define CAPTURE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vidpipe.h"

#define REPLAY_MAX_GAP_NS 10000000000LL /* longer pauses are cut to this */

struct replay;

/* Opens path ("-" for stdin).  fps < 0 keeps the recorded pace divided by
 * speed; fps == 0 is as fast as possible; fps > 0 a fixed rate.  loop
 * needs a file.  NULL with a one-line reason in err. */
struct replay *replay_open(const char *path, bool loop, double speed,
                           double fps, char *err, size_t errlen);
void replay_free(struct replay *r);

/* The next frame (to be released), the seq it is to go out with, and the
 * monotonic time in ns when it is due.  0; 1 at the end of the recording;
 * -1 bad or truncated input, logged with its byte offset; -EINTR
 * interrupted (call again). */
int replay_next(struct replay *r, vp_frame **f, uint64_t *seq, int64_t *due);

#endif
