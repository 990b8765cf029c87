/* spec.h -- what capture reads from and display writes to.
 *
 * Sources (capture -i): test:, /dev/videoN, raw:-, a recording (.vpk) or
 * - (a frame stream on stdin), or any other file path or URL (OpenCV).
 * Sinks (display -o): window, null, raw:-, png:DIR, -, an .mp4 or .mkv
 * file, or an .ts file or an RTSP, RTMP or SRT server (H.264 muxed, not
 * encoded again).  Each sink is classified here and nowhere else.
 * Transport endpoints (tcp://, ipc://, -) are the library's to parse.
 */
#ifndef VIDPIPE_SPEC_H
#define VIDPIPE_SPEC_H

#define SPEC_MAX 256

enum source_kind {
    SRC_TEST = 1, /* "test:" synthetic pattern */
    SRC_V4L2,     /* /dev/videoN, or v4l2:PATH */
    SRC_RAW,      /* "raw:-" raw frames on stdin */
    SRC_STREAM,   /* "-" or *.vpk: a msgpack frame stream (recording) */
    SRC_OPENCV,   /* any other path or URL */
};

struct source_spec {
    enum source_kind kind;
    char arg[SPEC_MAX]; /* device, path or URL */
};

enum sink_kind {
    SINK_WINDOW = 1,
    SINK_NULL,
    SINK_RAW,    /* "raw:-" raw frames on stdout, in any pixel format */
    SINK_PNG,    /* "png:DIR" */
    SINK_STREAM, /* "-" msgpack frame stream on stdout */
    SINK_VIDEO,  /* .mp4, .mkv: raw frames encoded here, or H.264 muxed */
    SINK_MUX,    /* rtsp://, rtmp://, srt:// or .ts: H.264 muxed as it came */
};

struct sink_spec {
    enum sink_kind kind;
    char arg[SPEC_MAX];
    const char *mux; /* SINK_VIDEO and SINK_MUX: the libavformat muxer */
};

/* Parse an argument; 0 or -EINVAL with *why, a static string. */
int source_parse(const char *s, struct source_spec *src, const char **why);
int sink_parse(const char *s, struct sink_spec *sink, const char **why);

#endif
