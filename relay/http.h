/* http.h -- the relay's HTTP server: viewer pages, MJPEG, snapshots,
 * JSON and Prometheus metrics for every stream the relay carries.
 *
 * The server runs on a thread of its own (libevent's evhttp).  The relay's
 * loop hands it each frame's header and, for JPEG frames, the payload:
 * one copy per frame into a per-stream "latest JPEG" slot, refcounted and
 * shared by every client, so the loop never waits for a client and a
 * client never gets more than one frame in flight.  The loop also asks
 * upstream for the JPEG variant of a stream exactly while somebody
 * watches it (vp_sub_want()), and for every stream's descriptors, to
 * list them before anybody watches.  H.264 (/stream/NAME.h264, .mp4)
 * is h264http.c's.  docs/HTTP.md has the endpoints.
 */
#ifndef VIDPIPE_RELAY_HTTP_H
#define VIDPIPE_RELAY_HTTP_H

#include <stdbool.h>

#include "vidpipe.h"

struct http_opts {
    const char *listen;    /* "ADDR:PORT" */
    unsigned max_clients;  /* MJPEG and H.264 clients at once (503 beyond) */
    const char *auth_file; /* "user:HASH" lines (crypt(3)), or NULL */
    const char *cert_file; /* HTTPS: a PEM certificate chain... */
    const char *key_file;  /* ...and its key, or both NULL */
    unsigned timeout_s;    /* idle, half-open and stalled connections */
    unsigned max_streams;  /* streams listed and served (--max-streams) */
    size_t h264_buffer;    /* an H.264 client's send buffer, bytes */
    unsigned drop_after_s; /* a stream unseen this long goes (0: never) */
};

struct http;

/* Loads the auth file and certificate, binds, and starts the server's
 * thread.  0 with *h, or -1 after logging one line that says why. */
int http_open(struct http **h, const struct http_opts *o);
/* Stops the thread and closes every connection.  Accepts NULL. */
void http_close(struct http *h);

/* Relay thread: brings sub's own subscriptions in line with what the
 * HTTP clients watch.  Call before each vp_sub_next(). */
void http_sync(struct http *h, vp_sub *sub);
/* Relay thread: a frame the relay received (before it is forwarded, as
 * forwarding moves the payload away).  Borrowed for the call. */
void http_frame(struct http *h, vp_frame *f);
/* Relay thread: after the relay's stats closed a window (the line
 * --stats-json printed), takes its figures for /metrics, lets go of
 * JPEGs nobody can be sent any more, and forgets the streams with no
 * frame and nobody watching for drop_after_s. */
void http_report(struct http *h, const vp_stats *st);

#endif
