/* cvsink.cpp -- OpenCV sinks (window, PNG) behind a C interface.
 *
 * Caller pixels are only ever wrapped in cv::Mat headers and read.  A copy
 * is made only when it must be: RGB is converted to BGR (OpenCV's order),
 * and an overlay is drawn on a scratch copy reused from frame to frame, so
 * the caller's (possibly shared-memory) pixels are never written.
 *
 * This OpenCV's HighGUI is Qt, which abort()s the process when it cannot
 * reach the X server.  cvwindow_new therefore opens and closes an X
 * connection itself first (libX11 loaded at run time, so the program does
 * not link X) and returns NULL instead.  HighGUI, like Qt, must be used
 * from one thread.  Every entry point catches all exceptions: none crosses
 * into C.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cvsink.h"

enum { MAX_DIM = 16384, MAX_OVERLAY_LINES = 16 };

/* OpenCV logs backend probing and codec choices, FFmpeg its own chatter;
 * keep errors only, unless the user asked for more with OPENCV_LOG_LEVEL
 * or OPENCV_FFMPEG_{LOGLEVEL,DEBUG} (read once, at OpenCV's first use of
 * FFmpeg). */
static void quiet_opencv()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (!getenv("OPENCV_FFMPEG_DEBUG"))
            setenv("OPENCV_FFMPEG_LOGLEVEL", "8", 0); /* AV_LOG_FATAL */
        if (!getenv("OPENCV_LOG_LEVEL"))
            cv::utils::logging::setLogLevel(
                cv::utils::logging::LOG_LEVEL_ERROR);
    });
}

/* Wraps caller pixels in a header (no copy).  False on bad arguments. */
static bool wrap(const uint8_t *px, uint32_t w, uint32_t h, uint32_t stride,
                 int fmt, cv::Mat &m)
{
    int type, bpp;

    switch (fmt) {
    case CVSINK_BGR24:
    case CVSINK_RGB24:
        type = CV_8UC3;
        bpp = 3;
        break;
    case CVSINK_GRAY:
        type = CV_8UC1;
        bpp = 1;
        break;
    default:
        return false;
    }
    if (!px || w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM ||
        stride < w * bpp)
        return false;
    /* const_cast: the header is only ever read from. */
    m = cv::Mat((int)h, (int)w, type, const_cast<uint8_t *>(px), stride);
    return true;
}

/* m as BGR (or gray), converting into scratch only for RGB. */
static const cv::Mat &as_bgr(const cv::Mat &m, int fmt, cv::Mat &scratch)
{
    if (fmt != CVSINK_RGB24)
        return m;
    cv::cvtColor(m, scratch, cv::COLOR_RGB2BGR);
    return scratch;
}

/* --- window ------------------------------------------------------------ */

struct cvwindow {
    std::string title;
    cv::Mat scratch; /* overlay / RGB->BGR copy, reused */
    int shown_w, shown_h;
};

/* Can we talk to the X server $DISPLAY names?  Qt would abort if not. */
static bool x_display_ok()
{
    const char *d = getenv("DISPLAY");
    if (!d || !*d)
        return false;
    void *lib = dlopen("libX11.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (!lib)
        return true; /* cannot probe; let HighGUI try */
    typedef void *(*open_fn)(const char *);
    typedef int (*close_fn)(void *);
    open_fn xopen = (open_fn)dlsym(lib, "XOpenDisplay");
    close_fn xclose = (close_fn)dlsym(lib, "XCloseDisplay");
    bool ok = true;
    if (xopen && xclose) {
        void *dpy = xopen(NULL);
        ok = dpy != NULL;
        if (dpy)
            xclose(dpy);
    }
    dlclose(lib);
    return ok;
}

/* Text lines on a dark box, scaled to the frame. */
static void draw_overlay(cv::Mat &m, const char *text)
{
    const int font = cv::FONT_HERSHEY_SIMPLEX;
    double scale = std::max(0.5, m.rows / 1000.0);
    int thick = scale >= 1.0 ? 2 : 1;
    int base = 0;
    cv::Size em = cv::getTextSize("Ag", font, scale, thick, &base);
    int pad = em.height / 2 + 2;
    int line_h = em.height + base + pad / 2;
    std::vector<std::string> lines;
    int box_w = 0;

    for (const char *p = text; *p && lines.size() < MAX_OVERLAY_LINES;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lines.emplace_back(p, n);
        int tw = cv::getTextSize(lines.back(), font, scale, thick, &base).width;
        box_w = std::max(box_w, tw);
        p += n + (nl ? 1 : 0);
    }
    if (lines.empty())
        return;
    /* Bottom-left, clear of the test pattern's code band at the top. */
    int box_h = (int)lines.size() * line_h + pad;
    int y0 = std::max(0, m.rows - box_h);
    cv::rectangle(m, cv::Rect(0, y0, box_w + 2 * pad, box_h),
                  cv::Scalar::all(0), cv::FILLED);
    for (size_t i = 0; i < lines.size(); i++)
        cv::putText(m, lines[i],
                    cv::Point(pad, y0 + pad + (int)i * line_h + em.height),
                    font, scale, cv::Scalar::all(255), thick, cv::LINE_AA);
}

extern "C" struct cvwindow *cvwindow_new(const char *title)
{
    struct cvwindow *win = NULL;

    if (!title || !*title) {
        errno = EINVAL;
        return NULL;
    }
    if (!x_display_ok()) {
        errno = ENXIO;
        return NULL;
    }
    try {
        quiet_opencv();
        win = new cvwindow();
        win->title = title;
        /* Resizable, aspect kept, no Qt toolbar; sized to the first frame
         * in cvwindow_show. */
        cv::namedWindow(win->title, cv::WINDOW_NORMAL | cv::WINDOW_KEEPRATIO |
                                        cv::WINDOW_GUI_NORMAL);
        return win;
    } catch (...) {
        delete win;
        errno = EIO;
        return NULL;
    }
}

extern "C" int cvwindow_show(struct cvwindow *win, const uint8_t *px,
                             uint32_t w, uint32_t h, uint32_t stride, int fmt,
                             const char *overlay)
{
    if (!win)
        return -1;
    try {
        cv::Mat in;
        if (!wrap(px, w, h, stride, fmt, in))
            return -1;
        const cv::Mat *img = &as_bgr(in, fmt, win->scratch);
        if (overlay && *overlay) {
            if (img != &win->scratch) {
                in.copyTo(win->scratch);
                img = &win->scratch;
            }
            draw_overlay(win->scratch, overlay);
        }
        if (win->shown_w != (int)w || win->shown_h != (int)h) {
            cv::resizeWindow(win->title, (int)w, (int)h);
            win->shown_w = (int)w;
            win->shown_h = (int)h;
        }
        cv::imshow(win->title, *img);
        return 0;
    } catch (...) {
        return -1;
    }
}

extern "C" int cvwindow_poll(struct cvwindow *win, int wait_ms)
{
    if (!win)
        return -1;
    try {
        int key = cv::waitKey(std::max(1, wait_ms));
        if (key != -1)
            key &= 0xff;
        /* Closed by the user (window manager close button). */
        if (cv::getWindowProperty(win->title, cv::WND_PROP_VISIBLE) < 1)
            return 27;
        return key;
    } catch (...) {
        return 27; /* the window is gone */
    }
}

extern "C" void cvwindow_free(struct cvwindow *win)
{
    if (!win)
        return;
    try {
        cv::destroyWindow(win->title);
        cv::waitKey(1); /* let the toolkit actually close it */
    } catch (...) {
    }
    try {
        delete win;
    } catch (...) {
    }
}

/* --- PNG --------------------------------------------------------------- */

extern "C" int cvpng_write(const char *path, const uint8_t *px, uint32_t w,
                           uint32_t h, uint32_t stride, int fmt)
{
    if (!path || !*path)
        return -1;
    try {
        cv::Mat in, scratch;
        std::vector<uint8_t> png;
        if (!wrap(px, w, h, stride, fmt, in))
            return -1;
        quiet_opencv();
        /* Encode in memory: PNG whatever the file name says. */
        if (!cv::imencode(".png", as_bgr(in, fmt, scratch), png))
            return -1;
        FILE *f = fopen(path, "wb");
        if (!f)
            return -1;
        size_t n = fwrite(png.data(), 1, png.size(), f);
        if (fclose(f) != 0 || n != png.size()) {
            int e = errno;
            unlink(path);
            errno = e;
            return -1;
        }
        return 0;
    } catch (...) {
        return -1;
    }
}
