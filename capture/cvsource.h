/* cvsource.h -- OpenCV-backed video sources (V4L2 device, file, URL).
 *
 * A thin C shim over cv::VideoCapture: no C++ type or exception crosses
 * it.  Frames come out as bgr24 into a buffer the caller owns.
 */
#ifndef VIDPIPE_CVSOURCE_H
#define VIDPIPE_CVSOURCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cvsource;

/* Opens spec: "/dev/videoN" (V4L2; want_w/want_h/want_fps are requests,
 * 0 for the device default) or a file path or URL.  NULL on failure with
 * a one-line reason in err. */
struct cvsource *cvsource_open(const char *spec, uint32_t want_w,
                               uint32_t want_h, double want_fps, char *err,
                               size_t errlen);
/* Geometry and rate of the opened source (fps 0 if it does not say). */
void cvsource_info(const struct cvsource *s, uint32_t *w, uint32_t *h,
                   double *fps);
/* True for a file (seekable, paced by its own fps), false for live. */
int cvsource_is_file(const struct cvsource *s);
/* Reads the next frame as bgr24 into dst (w x h from cvsource_info, stride
 * bytes a row).  0 ok, 1 end of stream, -1 error. */
int cvsource_read(struct cvsource *s, uint8_t *dst, uint32_t stride);
/* Back to the first frame of a file; 0 or -1. */
int cvsource_rewind(struct cvsource *s);
void cvsource_free(struct cvsource *s);

#ifdef __cplusplus
}
#endif
#endif
