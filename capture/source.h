/* source.h -- where capture's pictures come from: the test: pattern, raw
 * frames on stdin, or an OpenCV device, file or URL.  Every source fills
 * the buffer the publisher lends (a shm ring slot, or a buffer that
 * becomes the ZeroMQ payload), so a frame is written once.  Recordings,
 * which hold whole frames, are replay.h's. */
#ifndef CAPTURE_SOURCE_H
#define CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/spec.h"
#include "vidpipe.h"

struct source_req {
    uint32_t width, height; /* 0: the source's own */
    double fps;             /* 0: the source's own */
    bool loop;              /* files: start again at the end */
    enum vp_pixfmt fmt;     /* raw:- pixel format; VP_PIX_NONE: bgr24 */
};

struct source;

/* NULL with a one-line reason in err. */
struct source *source_open(const struct source_spec *spec,
                           const struct source_req *req, char *err,
                           size_t errlen);
void source_free(struct source *s);

/* The geometry every frame of s has, and its natural rate (0: unknown). */
void source_format(const struct source *s, uint32_t *w, uint32_t *h,
                   enum vp_pixfmt *fmt, double *fps);
/* True when a frame costs nothing unless read (test:), so capture may skip
 * producing frames nobody wants. */
bool source_on_demand(const struct source *s);

/* Writes frame seq into img (of the source's geometry).  0 ok, 1 end of
 * input, -1 error (logged). */
int source_read(struct source *s, const struct vp_image *img, uint64_t seq);

#endif
