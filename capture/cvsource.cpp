/* cvsource.cpp -- OpenCV video sources behind a C interface.
 *
 * cv::VideoCapture writes each frame straight into the caller's buffer: dst
 * is wrapped in a cv::Mat header and VideoCapture::read() fills it, so this
 * module adds no copy.  Only when the decoder hands back another size or
 * type (a file whose frames change size, a gray or 16-bit source) is the
 * frame converted or scaled into dst: the one copy OpenCV forces.
 *
 * Open reads one frame ahead: the geometry it reports then is what the
 * decoder really produces (container headers can disagree, e.g. rotation),
 * and a file that cannot be decoded fails at open, not later.  Files hand
 * that frame (copied once) to the first read; live sources drop it, as it
 * is stale.  Rewind reads ahead the same way, to know it really got back to
 * the start.
 *
 * Local paths and devices are checked with stat()/access() first, so a
 * typo gets one line with the errno text instead of backend noise.  Every
 * entry point catches all exceptions: none crosses into C.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "cvsource.h"

enum { MAX_DIM = 16384 };

struct cvsource {
    cv::VideoCapture cap;
    std::string spec;
    int dev_index; /* >= 0: /dev/videoN opened by index */
    bool is_dev;   /* V4L2 device (by index or by path) */
    bool is_file;  /* seekable local file */
    uint32_t w, h;
    double fps;
    cv::Mat first; /* frame read at open, until the first read */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Set when OpenCV's logging is ours to manage (the user did not set
 * OPENCV_LOG_LEVEL). */
static bool own_log_level;

/* OpenCV logs the backends it probes, and FFmpeg logs every file it
 * rejects; keep errors only, unless the user asked for more with
 * OPENCV_LOG_LEVEL or OPENCV_FFMPEG_{LOGLEVEL,DEBUG}.  The FFmpeg level is
 * read from the environment once, when OpenCV first uses FFmpeg, so this
 * runs before any VideoCapture. */
static void quiet_opencv()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (!getenv("OPENCV_FFMPEG_DEBUG"))
            setenv("OPENCV_FFMPEG_LOGLEVEL", "8", 0); /* AV_LOG_FATAL */
        own_log_level = !getenv("OPENCV_LOG_LEVEL");
        if (own_log_level)
            cv::utils::logging::setLogLevel(
                cv::utils::logging::LOG_LEVEL_ERROR);
    });
}

/* Silences OpenCV while it probes backends: with CAP_ANY each one that
 * declines logs an error (GStreamer after FFmpeg, for a file neither can
 * read), and the caller gets one line of ours instead. */
struct probe_quiet {
    cv::utils::logging::LogLevel saved;
    probe_quiet() : saved(cv::utils::logging::getLogLevel())
    {
        if (own_log_level)
            cv::utils::logging::setLogLevel(
                cv::utils::logging::LOG_LEVEL_SILENT);
    }
    ~probe_quiet()
    {
        cv::utils::logging::setLogLevel(saved);
    }
};

/* N for "/dev/videoN", else -1. */
static int video_index(const char *spec)
{
    static const char prefix[] = "/dev/video";
    if (strncmp(spec, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *p = spec + sizeof prefix - 1;
    if (!*p)
        return -1;
    long n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > 100000)
            return -1;
        n = n * 10 + (*p - '0');
    }
    return (int)n;
}

/* Fits a decoded frame that does not match dst into it (depth, channels,
 * size).  The only copy of a frame this module makes. */
static bool fit_into(const cv::Mat &src, cv::Mat &dst)
{
    const uint8_t *want = dst.data;
    cv::Mat m = src;

    if (m.empty())
        return false;
    if (m.depth() != CV_8U) {
        cv::Mat t;
        m.convertTo(t, CV_8U, m.depth() == CV_16U ? 1.0 / 256 : 1.0);
        m = t;
    }
    if (m.channels() != 3) {
        int code;
        if (m.channels() == 1)
            code = cv::COLOR_GRAY2BGR;
        else if (m.channels() == 4)
            code = cv::COLOR_BGRA2BGR;
        else
            return false;
        if (m.size() == dst.size()) {
            cv::cvtColor(m, dst, code);
            return dst.data == want;
        }
        cv::Mat t;
        cv::cvtColor(m, t, code);
        m = t;
    }
    if (m.size() == dst.size())
        m.copyTo(dst);
    else
        cv::resize(m, dst, dst.size(), 0, 0,
                   m.cols > dst.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
    /* A header on caller memory is only written through, never reallocated,
     * when size and type match; check rather than trust. */
    return dst.data == want;
}

static bool open_capture(struct cvsource *s)
{
    probe_quiet quiet;
    if (s->dev_index >= 0)
        return s->cap.open(s->dev_index, cv::CAP_V4L2);
    if (s->is_dev)
        return s->cap.open(s->spec, cv::CAP_V4L2);
    return s->cap.open(s->spec, cv::CAP_ANY);
}

/* Checks a local path before OpenCV sees it; 0 or an errno. */
static int check_path(struct cvsource *s, char *err, size_t errlen)
{
    const char *spec = s->spec.c_str();
    struct stat st;

    if (stat(spec, &st) != 0) {
        if (s->dev_index >= 0) {
            seterr(err, errlen, "no such device %s", spec);
            return ENODEV;
        }
        int e = errno;
        seterr(err, errlen, "cannot open %s: %s", spec, strerror(e));
        return e;
    }
    if (S_ISCHR(st.st_mode))
        s->is_dev = true;
    else if (S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "cannot open %s: %s", spec, strerror(EISDIR));
        return EISDIR;
    }
    if (access(spec, s->is_dev ? R_OK | W_OK : R_OK) != 0) {
        int e = errno;
        seterr(err, errlen, "cannot open %s: %s", spec, strerror(e));
        return e;
    }
    return 0;
}

static int do_open(struct cvsource *s, uint32_t want_w, uint32_t want_h,
                   double want_fps, char *err, size_t errlen)
{
    const char *spec = s->spec.c_str();
    bool is_url = strstr(spec, "://") != NULL;

    s->dev_index = video_index(spec);
    s->is_dev = s->dev_index >= 0;
    if (!is_url) {
        int e = check_path(s, err, errlen);
        if (e)
            return e;
    }
    s->is_file = !is_url && !s->is_dev;

    if (!open_capture(s)) {
        if (s->is_dev)
            seterr(err, errlen,
                   "cannot open %s: not a V4L2 capture device, or busy", spec);
        else if (is_url)
            seterr(err, errlen,
                   "cannot open %s: unreachable or not a video stream", spec);
        else
            seterr(err, errlen, "cannot open %s: not a video OpenCV can decode",
                   spec);
        return s->is_dev ? EBUSY : EINVAL;
    }
    if (s->is_dev) {
        /* Requests: the driver picks the nearest mode it has. */
        if (want_w)
            s->cap.set(cv::CAP_PROP_FRAME_WIDTH, want_w);
        if (want_h)
            s->cap.set(cv::CAP_PROP_FRAME_HEIGHT, want_h);
        if (want_fps > 0)
            s->cap.set(cv::CAP_PROP_FPS, want_fps);
    }
    if (!s->cap.read(s->first) || s->first.empty()) {
        seterr(err, errlen, "cannot read a frame from %s", spec);
        return EIO;
    }
    if (s->first.cols <= 0 || s->first.rows <= 0 || s->first.cols > MAX_DIM ||
        s->first.rows > MAX_DIM) {
        seterr(err, errlen, "%s: unsupported frame size %dx%d", spec,
               s->first.cols, s->first.rows);
        return EINVAL;
    }
    s->w = (uint32_t)s->first.cols;
    s->h = (uint32_t)s->first.rows;
    s->fps = s->cap.get(cv::CAP_PROP_FPS);
    if (!(s->fps > 0 && s->fps < 1000)) /* also NaN */
        s->fps = 0;
    if (!s->is_file)
        s->first.release();
    return 0;
}

extern "C" struct cvsource *cvsource_open(const char *spec, uint32_t want_w,
                                          uint32_t want_h, double want_fps,
                                          char *err, size_t errlen)
{
    struct cvsource *s = NULL;
    int e;

    seterr(err, errlen, "%s", "");
    if (!spec || !*spec) {
        seterr(err, errlen, "empty source");
        errno = EINVAL;
        return NULL;
    }
    try {
        quiet_opencv();
        s = new cvsource();
        s->spec = spec;
        e = do_open(s, want_w, want_h, want_fps, err, errlen);
    } catch (const std::bad_alloc &) {
        seterr(err, errlen, "%s: out of memory", spec);
        e = ENOMEM;
    } catch (const cv::Exception &ex) {
        seterr(err, errlen, "cannot open %s: %s", spec, ex.msg.c_str());
        e = EIO;
    } catch (...) {
        seterr(err, errlen, "cannot open %s", spec);
        e = EIO;
    }
    if (e == 0)
        return s;
    cvsource_free(s);
    errno = e;
    return NULL;
}

extern "C" void cvsource_info(const struct cvsource *s, uint32_t *w,
                              uint32_t *h, double *fps)
{
    if (w)
        *w = s->w;
    if (h)
        *h = s->h;
    if (fps)
        *fps = s->fps;
}

extern "C" int cvsource_is_file(const struct cvsource *s)
{
    return s->is_file;
}

extern "C" int cvsource_read(struct cvsource *s, uint8_t *dst, uint32_t stride)
{
    if (!s || !dst || stride < s->w * 3)
        return -1;
    try {
        cv::Mat out((int)s->h, (int)s->w, CV_8UC3, dst, stride);
        if (!s->first.empty()) {
            bool ok = fit_into(s->first, out);
            s->first.release();
            return ok ? 0 : -1;
        }
        if (!s->cap.read(out) || out.empty())
            /* A device that stops delivering is broken; a file or a
             * stream that stops has ended. */
            return s->is_dev ? -1 : 1;
        if (out.data == dst && out.rows == (int)s->h && out.cols == (int)s->w &&
            out.type() == CV_8UC3)
            return 0;
        /* The decoder allocated its own frame: fit it into dst. */
        cv::Mat into((int)s->h, (int)s->w, CV_8UC3, dst, stride);
        return fit_into(out, into) ? 0 : -1;
    } catch (...) {
        return -1;
    }
}

extern "C" int cvsource_rewind(struct cvsource *s)
{
    if (!s || !s->is_file)
        return -1;
    try {
        /* Read the first frame ahead to know the seek worked: in files
         * without an index (MPEG-TS, raw MJPEG) it "succeeds" and then
         * nothing reads.  Reopening always lands on the first frame. */
        s->first.release();
        if (s->cap.isOpened() && s->cap.set(cv::CAP_PROP_POS_FRAMES, 0) &&
            s->cap.read(s->first) && !s->first.empty())
            return 0;
        s->first.release();
        s->cap.release();
        if (open_capture(s) && s->cap.read(s->first) && !s->first.empty())
            return 0;
        s->first.release();
        return -1;
    } catch (...) {
        return -1;
    }
}

extern "C" void cvsource_free(struct cvsource *s)
{
    try {
        delete s;
    } catch (...) {
    }
}
