/* cvsink.h -- OpenCV-backed sinks: a window and PNG files.
 *
 * A thin C shim over HighGUI and cv::imwrite: no C++ type
 * or exception crosses it.  Pixels come in as any vidpipe pixfmt.
 */
#ifndef VIDPIPE_CVSINK_H
#define VIDPIPE_CVSINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CVSINK_BGR24 = 1, CVSINK_RGB24 = 2, CVSINK_GRAY = 3 };

struct cvwindow;
/* Opens a window titled title; NULL if there is no display. */
struct cvwindow *cvwindow_new(const char *title);
/* Shows the frame; overlay (may be NULL) is drawn as text in a corner
 * without touching the caller's pixels.  0 or -1. */
int cvwindow_show(struct cvwindow *win, const uint8_t *px, uint32_t w,
                  uint32_t h, uint32_t stride, int fmt, const char *overlay);
/* Runs the window's event loop for up to wait_ms (at least 1); returns the
 * key pressed or -1.  Returns 27 (Esc) if the window was closed. */
int cvwindow_poll(struct cvwindow *win, int wait_ms);
void cvwindow_free(struct cvwindow *win);

/* Writes one PNG file.  0 or -1. */
int cvpng_write(const char *path, const uint8_t *px, uint32_t w, uint32_t h,
                uint32_t stride, int fmt);

#ifdef __cplusplus
}
#endif
#endif
