/* spec.c -- the source and sink grammar of capture and display. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cli/spec.h"

static int copy_arg(char *dst, const char *s, const char **why)
{
    size_t n = strlen(s);
    if (n == 0) {
        *why = "empty";
        return -EINVAL;
    }
    if (n >= SPEC_MAX) {
        *why = "too long";
        return -EINVAL;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

int source_parse(const char *s, struct source_spec *src, const char **why)
{
    memset(src, 0, sizeof *src);
    if (strcmp(s, "test:") == 0 || strcmp(s, "test") == 0)
        src->kind = SRC_TEST;
    else if (strcmp(s, "raw:-") == 0)
        src->kind = SRC_RAW;
    else if (strncmp(s, "v4l2:", 5) == 0) {
        if (!s[5]) {
            *why = "v4l2: needs a device, e.g. v4l2:/dev/v4l/by-id/...";
            return -EINVAL;
        }
        src->kind = SRC_V4L2; /* a device node of another name */
        return copy_arg(src->arg, s + 5, why);
    } else if (strcmp(s, "-") == 0 || has_suffix(s, ".vpk"))
        src->kind = SRC_STREAM;
    else if (strncmp(s, "/dev/video", 10) == 0)
        src->kind = SRC_V4L2;
    else if (strncmp(s, "test:", 5) == 0 || strncmp(s, "raw:", 4) == 0) {
        *why = "unknown source; expected test:, raw:-, /dev/videoN, "
               "v4l2:DEVICE, - or a file or URL";
        return -EINVAL;
    } else
        src->kind = SRC_OPENCV;
    return copy_arg(src->arg, s, why);
}

int sink_parse(const char *s, struct sink_spec *sink, const char **why)
{
    memset(sink, 0, sizeof *sink);
    if (strcmp(s, "window") == 0)
        sink->kind = SINK_WINDOW;
    else if (strcmp(s, "null") == 0)
        sink->kind = SINK_NULL;
    else if (strcmp(s, "raw:-") == 0)
        sink->kind = SINK_RAW;
    else if (strcmp(s, "-") == 0)
        sink->kind = SINK_STREAM;
    else if (strncmp(s, "png:", 4) == 0) {
        sink->kind = SINK_PNG;
        return copy_arg(sink->arg, s + 4, why);
    } else if (strncmp(s, "rtsp://", 7) == 0)
        sink->kind = SINK_MUX, sink->mux = "rtsp";
    else if (strncmp(s, "rtmp://", 7) == 0)
        sink->kind = SINK_MUX, sink->mux = "flv";
    else if (strncmp(s, "srt://", 6) == 0 || has_suffix(s, ".ts"))
        sink->kind = SINK_MUX, sink->mux = "mpegts";
    else if (has_suffix(s, ".mp4"))
        sink->kind = SINK_VIDEO, sink->mux = "mp4";
    else if (has_suffix(s, ".mkv"))
        sink->kind = SINK_VIDEO, sink->mux = "matroska";
    else if (has_suffix(s, ".avi")) {
        /* AVI has one fixed frame rate: it cannot keep capture times. */
        *why = "AVI cannot keep the frames' capture times: use .mkv or .mp4";
        return -EINVAL;
    } else {
        *why = "unknown sink; expected window, null, raw:-, png:DIR, -, "
               "a .mp4/.mkv/.ts file or an rtsp://, rtmp:// or srt:// URL";
        return -EINVAL;
    }
    return copy_arg(sink->arg, s, why);
}
