/* h264http.h -- the relay's H.264 over HTTP: /stream/NAME.h264 (Annex B)
 * and /stream/NAME.mp4 (fragmented MP4, which the viewer page also plays,
 * through WebCodecs or MSE).
 *
 * No encoding here: the relay asks upstream for a stream's H.264 variant
 * exactly while somebody watches it that way, keeps each access unit
 * once (its Annex B bytes and its MP4 fragment in one refcounted buffer)
 * and hands every client a reference.  Unlike MJPEG, every frame matters:
 * a client is sent each access unit in order, and one whose send buffer
 * holds more than a bound skips to the next keyframe, asking upstream for
 * one, so it never gets a picture whose references it lacks.  A joining
 * client starts at a keyframe asked for it.  Two threads: the relay's
 * loop (h264http_sync, h264http_frame) and the HTTP server's (the rest).
 */
#ifndef VIDPIPE_RELAY_H264HTTP_H
#define VIDPIPE_RELAY_H264HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "vidpipe.h"

/* What one client may have waiting in its send buffer before it skips to
 * a keyframe, by default (--http-h264-buffer): 256 KiB is 0.5 s of 1080p
 * at 4 Mbit/s and 1 s on a 2 Mbit/s link, and holds a 1080p keyframe.
 * The kernel's share is bounded too (SO_SNDBUF to half of it), so the
 * latency a client can build up is. */
#define H264HTTP_OUT_MAX (256 * 1024)

struct h264http;

/* Made on the server's event base, clients bounded to out_max bytes of
 * send buffer; NULL when out of memory. */
struct h264http *h264http_new(struct event_base *base, unsigned max_streams,
                              unsigned timeout_s, size_t out_max);
/* Closes every H.264 client.  The server's thread stopped; accepts NULL. */
void h264http_free(struct h264http *v);

/* Relay thread: asks upstream for the H.264 of the streams watched, and
 * for keyframes clients wait for.  Call before each vp_sub_next(). */
void h264http_sync(struct h264http *v, vp_sub *sub);
/* Relay thread: takes an H.264 frame (any other is ignored); borrowed. */
void h264http_frame(struct h264http *v, vp_frame *f);

/* Server thread: serves req, a GET or HEAD of /stream/name.h264 (mp4
 * false) or .mp4, unless busy clients of the server's max_clients are
 * already served (503). */
void h264http_serve(struct h264http *v, struct evhttp_request *req,
                    const char *name, bool mp4, unsigned busy,
                    unsigned max_clients);
/* Server thread: the H.264 clients being served. */
unsigned h264http_clients(const struct h264http *v);
/* Server thread: appends the vidpipe_h264_* metrics to b. */
void h264http_metrics(struct h264http *v, struct evbuffer *b);

#endif
