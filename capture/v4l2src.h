/* v4l2src.h -- a V4L2 device captured in the pixel format asked for.
 *
 * When --pix-fmt names a format the device offers (YUYV for yuyv422,
 * NV12, YU12 for yuv420p, GREY, BGR3, RGB3), its frames are taken as the
 * device makes them, with no conversion: one copy from the driver's
 * buffer into the loaned frame (memory-mapped streaming), or none at all
 * where the driver offers read() and its rows are packed as the frame's.
 * Without --pix-fmt a device goes through OpenCV, which gives bgr24.
 */
#ifndef CAPTURE_V4L2SRC_H
#define CAPTURE_V4L2SRC_H

#include <stddef.h>
#include <stdint.h>

#include "vidpipe.h"

struct v4l2src;

/* Opens the device at path and sets it to fmt, w x h (0: as it is) at
 * fps (0: as it is).  NULL with a one-line reason in err: not a capture
 * device, or it does not offer fmt (the reason lists what it offers). */
struct v4l2src *v4l2src_open(const char *path, uint32_t w, uint32_t h,
                             double fps, enum vp_pixfmt fmt, char *err,
                             size_t errlen);
void v4l2src_free(struct v4l2src *v);

/* The size the device settled on, and its rate (0 if it does not say). */
void v4l2src_info(const struct v4l2src *v, uint32_t *w, uint32_t *h,
                  double *fps);

/* Writes the next frame into img (of that size and fmt).  0 ok, 1 a stop
 * was asked for, -1 error (logged). */
int v4l2src_read(struct v4l2src *v, const struct vp_image *img);

#endif
