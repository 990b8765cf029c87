/* serve.h -- vidpipe-rtsp's RTSP server: the H.264 variant of every
 * stream of one vidpipe endpoint at rtsp://HOST:PORT/NAME.
 *
 * Built on GStreamer's RTSP server library.  A path is served once the
 * stream has been seen upstream (serve_seen(), from the discovery
 * subscriber of main.c) or is the one stream asked for; any other path
 * is a 404.  Each client's media is its own pipeline, vidpipesrc
 * codec=h264 ! rtph264pay: its subscriber asks the publisher for a
 * keyframe as it starts, so every client begins at a keyframe made for
 * it, and the access units go out as they came, never re-encoded.
 */
#ifndef VIDPIPE_RTSP_SERVE_H
#define VIDPIPE_RTSP_SERVE_H

#include <stdbool.h>
#include <stdint.h>

struct serve_opts {
    const char *endpoint; /* the vidpipe publisher (tcp://, ipc://) */
    const char *curve_secret, *curve_server_key; /* or NULL */
    const char *address, *port;                  /* where to listen */
    const char *stream; /* serve only this one, seen or not; or NULL */
    /* Basic auth: "user:password" entries (none: no auth). */
    const char *const *users;
    unsigned nusers;
    unsigned max_clients; /* clients at once; more are refused */
};

/* What the server counted: the stats report shows them.  Written on
 * the server's threads with atomic adds, read once a second. */
struct serve_counts {
    uint64_t streams;         /* gauge: paths that can be served */
    uint64_t clients;         /* gauge: RTSP connections open */
    uint64_t clients_total;   /* connections accepted */
    uint64_t clients_refused; /* over --max-clients, closed at once */
    uint64_t medias;          /* gauge: client pipelines running */
    uint64_t plays;           /* PLAY requests answered 200 */
    uint64_t auth_refused;    /* requests answered 401 */
    uint64_t not_found;       /* requests answered 404 */
};

struct serve;

/* Makes the server and starts listening on the default GLib main
 * context (gst_init() first).  It counts into *n, which the caller owns
 * and keeps past serve_free() (the final report reads it).  NULL with
 * *why on failure. */
struct serve *serve_new(const struct serve_opts *o, struct serve_counts *n,
                        const char **why);
/* A stream was seen upstream: its path can be served from now on.  Any
 * thread. */
void serve_seen(struct serve *s, const char *name);
/* Stops listening, closes every client and frees the server; NULL is
 * fine.  On the main context's thread. */
void serve_free(struct serve *s);

#endif
