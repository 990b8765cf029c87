/* endpoint.h -- the one endpoint grammar all vidpipe programs share.
 *
 *   tcp://HOST:PORT, ipc://PATH   ZeroMQ (outputs bind, inputs connect)
 *   -                             msgpack frame stream on stdin/stdout
 * Sources (capture -i): test:, /dev/videoN, raw:-, a recording (.vpk), or
 * any other file path or URL (OpenCV).
 * Sinks (display -o): window, null, raw:-, png:DIR, -, or a video file.
 */
#ifndef VIDPIPE_ENDPOINT_H
#define VIDPIPE_ENDPOINT_H

#define ENDPOINT_MAX 256

enum endpoint_kind {
    EP_ZMQ = 1, /* tcp:// or ipc:// */
    EP_STDIO,   /* "-" */
};

struct endpoint {
    enum endpoint_kind kind;
    char url[ENDPOINT_MAX];
};

/* Parses a transport endpoint; 0 or -EINVAL with *why.  Checks the form
 * (tcp://HOST:PORT with a port 1..65535, or ipc://PATH), not reachability. */
int endpoint_parse(const char *s, struct endpoint *ep, const char **why);

enum source_kind {
    SRC_TEST = 1, /* "test:" synthetic pattern */
    SRC_V4L2,     /* /dev/videoN */
    SRC_RAW,      /* "raw:-" raw frames on stdin */
    SRC_STREAM,   /* "-" or *.vpk: a msgpack frame stream (recording) */
    SRC_OPENCV,   /* any other path or URL */
};

struct source_spec {
    enum source_kind kind;
    char arg[ENDPOINT_MAX]; /* device, path or URL */
};

int source_parse(const char *s, struct source_spec *src, const char **why);

enum sink_kind {
    SINK_WINDOW = 1,
    SINK_NULL,
    SINK_RAW,    /* "raw:-" raw bgr24 on stdout */
    SINK_PNG,    /* "png:DIR" */
    SINK_STREAM, /* "-" msgpack frame stream on stdout */
    SINK_VIDEO,  /* a video file through OpenCV */
};

struct sink_spec {
    enum sink_kind kind;
    char arg[ENDPOINT_MAX];
};

int sink_parse(const char *s, struct sink_spec *sink, const char **why);

#endif
