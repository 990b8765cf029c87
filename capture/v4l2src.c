/* v4l2src.c -- V4L2 capture in the device's own pixel format.
 *
 * Streaming (VIDIOC_REQBUFS with memory-mapped buffers) when the driver
 * offers it, as cameras do; read() otherwise.  A frame is waited for with
 * poll() in short steps, so a stop (SIGINT) is seen within STEP_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "cli/cli.h"
#include "util/log.h"
#include "v4l2src.h"

#define NBUFS 4
#define STEP_MS 200
#define STALL_MS 5000 /* no frame for this long is an error */

struct v4l2buf {
    void *p;
    size_t len;
};

struct v4l2src {
    int fd;
    char path[256];
    enum vp_pixfmt fmt;
    uint32_t w, h, bpl; /* bytes a line of the first plane */
    size_t sizeimage;   /* bytes of a frame as the driver makes it */
    double fps;
    bool streaming;
    struct v4l2buf bufs[NBUFS];
    unsigned nbufs;
    uint8_t *scratch; /* read(): a frame whose rows are not the loan's */
    vp_convert *copy; /* moves planes between strides, exactly */
    uint64_t frames;
};

static const struct {
    enum vp_pixfmt fmt;
    uint32_t fourcc;
} fourccs[] = {
    {VP_PIX_YUYV422, V4L2_PIX_FMT_YUYV},   {VP_PIX_NV12, V4L2_PIX_FMT_NV12},
    {VP_PIX_YUV420P, V4L2_PIX_FMT_YUV420}, {VP_PIX_GRAY, V4L2_PIX_FMT_GREY},
    {VP_PIX_BGR24, V4L2_PIX_FMT_BGR24},    {VP_PIX_RGB24, V4L2_PIX_FMT_RGB24},
};

static uint32_t fourcc_of(enum vp_pixfmt fmt)
{
    for (size_t i = 0; i < sizeof fourccs / sizeof fourccs[0]; i++)
        if (fourccs[i].fmt == fmt)
            return fourccs[i].fourcc;
    return 0;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int rc;
    do
        rc = ioctl(fd, req, arg);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* "YUYV" of a fourcc. */
static void fourcc_text(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(f >> (8 * i) & 0xff);
        out[i] = c >= ' ' && c <= '~' ? c : '?';
    }
    out[4] = 0;
}

/* Whether the device offers fourcc; else the ones it does, in offered. */
static bool offers(int fd, uint32_t fourcc, char *offered, size_t cap)
{
    struct v4l2_fmtdesc d;
    size_t n = 0;

    offered[0] = 0;
    for (d = (struct v4l2_fmtdesc){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
         xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0 && d.index < 64; d.index++) {
        char t[5];
        if (d.pixelformat == fourcc)
            return true;
        fourcc_text(d.pixelformat, t);
        if (n < cap)
            n += (size_t)snprintf(offered + n, cap - n, "%s%s", n ? ", " : "",
                                  t);
    }
    return false;
}

/* The bytes a frame of v's geometry takes in the driver's layout (V4L2's
 * single-plane formats: chroma lines of half the bytes for YU12, of the
 * same for NV12, as FRAME.md lays out frames). */
static size_t frame_size(const struct v4l2src *v)
{
    struct vp_image im;
    return vp_image_layout(&im, v->w, v->h, v->fmt, v->bpl, NULL);
}

static int set_format(struct v4l2src *v, uint32_t w, uint32_t h, char *err,
                      size_t errlen)
{
    struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    uint32_t fourcc = fourcc_of(v->fmt);
    char offered[256], t[5];

    fourcc_text(fourcc, t);
    if (!offers(v->fd, fourcc, offered, sizeof offered)) {
        snprintf(err, errlen, "%s does not offer %s (%s); it offers %s",
                 v->path, vp_pixfmt_name(v->fmt), t,
                 offered[0] ? offered : "nothing");
        return -1;
    }
    if (xioctl(v->fd, VIDIOC_G_FMT, &f) < 0) {
        snprintf(err, errlen, "%s: VIDIOC_G_FMT: %s", v->path, strerror(errno));
        return -1;
    }
    if (w && h) {
        f.fmt.pix.width = w;
        f.fmt.pix.height = h;
    }
    f.fmt.pix.pixelformat = fourcc;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    f.fmt.pix.bytesperline = 0; /* the driver's choice */
    if (xioctl(v->fd, VIDIOC_S_FMT, &f) < 0) {
        snprintf(err, errlen, "%s: cannot set %s %ux%u: %s", v->path, t,
                 f.fmt.pix.width, f.fmt.pix.height, strerror(errno));
        return -1;
    }
    v->w = f.fmt.pix.width;
    v->h = f.fmt.pix.height;
    v->bpl = f.fmt.pix.bytesperline;
    v->sizeimage = f.fmt.pix.sizeimage;
    if (f.fmt.pix.pixelformat != fourcc) {
        snprintf(err, errlen, "%s: asked for %s, the driver set another format",
                 v->path, t);
        return -1;
    }
    if (v->bpl == 0) { /* the driver's lines are packed */
        struct vp_image tight;
        if (vp_image_layout(&tight, v->w, v->h, v->fmt, 0, NULL))
            v->bpl = tight.stride[0];
    }
    size_t need = frame_size(v);
    if (!need || v->sizeimage < need) {
        snprintf(err, errlen,
                 "%s: the driver's %s %ux%u frames (%u bytes a line, %zu "
                 "bytes) do not hold the picture",
                 v->path, t, v->w, v->h, v->bpl, v->sizeimage);
        return -1;
    }
    if (w && h && (v->w != w || v->h != h))
        log_info("%s: the device gives %ux%u, not %ux%u", v->path, v->w, v->h,
                 w, h);
    return 0;
}

static void set_rate(struct v4l2src *v, double fps)
{
    struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};

    if (fps > 0 && fps <= 1000) {
        p.parm.capture.timeperframe.numerator = 1000;
        p.parm.capture.timeperframe.denominator = (uint32_t)(fps * 1000);
        if (xioctl(v->fd, VIDIOC_S_PARM, &p) < 0)
            log_info("%s: cannot set %.3g fps: %s", v->path, fps,
                     strerror(errno));
    }
    p = (struct v4l2_streamparm){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (xioctl(v->fd, VIDIOC_G_PARM, &p) == 0 &&
        p.parm.capture.timeperframe.numerator)
        v->fps = (double)p.parm.capture.timeperframe.denominator /
                 p.parm.capture.timeperframe.numerator;
}

static int start_streaming(struct v4l2src *v, char *err, size_t errlen)
{
    struct v4l2_requestbuffers rb = {.count = NBUFS,
                                     .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP};
    if (xioctl(v->fd, VIDIOC_REQBUFS, &rb) < 0 || rb.count < 2) {
        snprintf(err, errlen, "%s: no streaming buffers: %s", v->path,
                 rb.count < 2 ? "fewer than 2" : strerror(errno));
        return -1;
    }
    for (v->nbufs = 0; v->nbufs < rb.count && v->nbufs < NBUFS; v->nbufs++) {
        struct v4l2_buffer b = {.index = v->nbufs,
                                .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                .memory = V4L2_MEMORY_MMAP};
        if (xioctl(v->fd, VIDIOC_QUERYBUF, &b) < 0)
            goto fail;
        void *p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
                       v->fd, b.m.offset);
        if (p == MAP_FAILED)
            goto fail;
        v->bufs[v->nbufs] = (struct v4l2buf){p, b.length};
        if (xioctl(v->fd, VIDIOC_QBUF, &b) < 0)
            goto fail;
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(v->fd, VIDIOC_STREAMON, &type) < 0)
        goto fail;
    v->streaming = true;
    return 0;
fail:
    snprintf(err, errlen, "%s: cannot start streaming: %s", v->path,
             strerror(errno));
    return -1;
}

struct v4l2src *v4l2src_open(const char *path, uint32_t w, uint32_t h,
                             double fps, enum vp_pixfmt fmt, char *err,
                             size_t errlen)
{
    struct v4l2_capability cap = {0};
    struct v4l2src *v = calloc(1, sizeof *v);

    if (!v || vp_convert_new(&v->copy) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail_early;
    }
    snprintf(v->path, sizeof v->path, "%s", path);
    v->fmt = fmt;
    if ((v->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail_early;
    }
    if (xioctl(v->fd, VIDIOC_QUERYCAP, &cap) < 0) {
        snprintf(err, errlen, "%s: not a V4L2 device (%s)", path,
                 strerror(errno));
        goto fail;
    }
    uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps
                                                            : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) ||
        !(caps & (V4L2_CAP_STREAMING | V4L2_CAP_READWRITE))) {
        snprintf(err, errlen, "%s (%.32s): not a video capture device", path,
                 (const char *)cap.card);
        goto fail;
    }
    if (set_format(v, w, h, err, errlen) < 0)
        goto fail;
    set_rate(v, fps);
    if (caps & V4L2_CAP_STREAMING) {
        if (start_streaming(v, err, errlen) < 0)
            goto fail;
    } else if (!(v->scratch = malloc(v->sizeimage))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    log_info("%s (%.32s): %ux%u %s, %u bytes a line, by %s", path,
             (const char *)cap.card, v->w, v->h, vp_pixfmt_name(fmt), v->bpl,
             v->streaming ? "streaming" : "read()");
    return v;
fail:
    v4l2src_free(v);
    return NULL;
fail_early:
    if (v)
        vp_convert_free(v->copy);
    free(v);
    return NULL;
}

void v4l2src_free(struct v4l2src *v)
{
    if (!v)
        return;
    if (v->streaming) {
        enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(v->fd, VIDIOC_STREAMOFF, &type);
    }
    for (unsigned i = 0; i < v->nbufs; i++)
        munmap(v->bufs[i].p, v->bufs[i].len);
    if (v->fd >= 0)
        close(v->fd);
    vp_convert_free(v->copy);
    free(v->scratch);
    free(v);
}

void v4l2src_info(const struct v4l2src *v, uint32_t *w, uint32_t *h,
                  double *fps)
{
    *w = v->w;
    *h = v->h;
    *fps = v->fps;
}

/* Waits until the device has a frame: 0, 1 on a stop, -1 on a stall or
 * an error (logged). */
static int wait_frame(struct v4l2src *v)
{
    struct pollfd p = {.fd = v->fd, .events = POLLIN};

    for (int waited = 0; waited < STALL_MS; waited += STEP_MS) {
        int n = poll(&p, 1, STEP_MS);
        if (cli_stop)
            return 1;
        if (n < 0 && errno != EINTR) {
            log_err("%s: poll: %s", v->path, strerror(errno));
            return -1;
        }
        if (n > 0 && (p.revents & (POLLERR | POLLHUP)) &&
            !(p.revents & POLLIN)) {
            log_err("%s: the device has gone", v->path);
            return -1;
        }
        if (n > 0)
            return 0;
    }
    log_err("%s: no frame for %d s", v->path, STALL_MS / 1000);
    return -1;
}

/* The driver's frame at px into img: the planes moved, row by row where
 * the strides differ. */
static int put(struct v4l2src *v, const uint8_t *px, const struct vp_image *img)
{
    struct vp_image src;
    vp_image_layout(&src, v->w, v->h, v->fmt, v->bpl, (uint8_t *)px);
    if (vp_convert_image(v->copy, &src, img) < 0) {
        log_err("%s: %s", v->path, vp_errmsg());
        return -1;
    }
    return 0;
}

static int read_streaming(struct v4l2src *v, const struct vp_image *img)
{
    for (;;) {
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                .memory = V4L2_MEMORY_MMAP};
        int rc = wait_frame(v);
        if (rc != 0)
            return rc;
        if (xioctl(v->fd, VIDIOC_DQBUF, &b) < 0) {
            if (errno == EAGAIN)
                continue;
            log_err("%s: VIDIOC_DQBUF: %s", v->path, strerror(errno));
            return -1;
        }
        /* A buffer the driver marks bad, or short, is skipped: the next
         * one comes in a frame's time. */
        bool ok = b.index < v->nbufs && !(b.flags & V4L2_BUF_FLAG_ERROR) &&
                  b.bytesused >= frame_size(v) &&
                  b.bytesused <= v->bufs[b.index].len;
        rc = ok ? put(v, v->bufs[b.index].p, img) : 0;
        if (xioctl(v->fd, VIDIOC_QBUF, &b) < 0) {
            log_err("%s: VIDIOC_QBUF: %s", v->path, strerror(errno));
            return -1;
        }
        if (ok)
            return rc;
        log_warn("%s: frame %llu came damaged or short (%u bytes): skipped",
                 v->path, (unsigned long long)v->frames, b.bytesused);
    }
}

/* read(): one call, one frame.  Straight into img when its planes are
 * laid out as the driver's. */
static int read_frame(struct v4l2src *v, const struct vp_image *img)
{
    struct vp_image drv;
    size_t need = frame_size(v);
    vp_image_layout(&drv, v->w, v->h, v->fmt, v->bpl, img->data[0]);
    bool direct = v->sizeimage == need;
    for (unsigned i = 0; i < img->nplanes && direct; i++)
        direct = drv.data[i] == img->data[i] && drv.stride[i] == img->stride[i];
    uint8_t *dst = direct ? img->data[0] : v->scratch;

    for (;;) {
        int rc = wait_frame(v);
        if (rc != 0)
            return rc;
        ssize_t n = read(v->fd, dst, v->sizeimage);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0) {
            log_err("%s: read: %s", v->path, strerror(errno));
            return -1;
        }
        if ((size_t)n < need) {
            log_warn("%s: frame %llu came short (%zd of %zu bytes): skipped",
                     v->path, (unsigned long long)v->frames, n, need);
            continue;
        }
        return direct ? 0 : put(v, v->scratch, img);
    }
}

int v4l2src_read(struct v4l2src *v, const struct vp_image *img)
{
    int rc = v->streaming ? read_streaming(v, img) : read_frame(v, img);
    if (rc == 0)
        v->frames++;
    return rc;
}
