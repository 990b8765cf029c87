/* vidpipe-fakecam.c -- a V4L2 capture device in user space, for tests.
 *
 * A FUSE file system with one file, "video0", that answers the V4L2
 * ioctls a capture program uses (QUERYCAP, ENUM_FMT, G/S/TRY_FMT,
 * G/S_PARM; REQBUFS fails, so it offers read() only) and whose read()
 * gives one frame per call, paced at the rate set: frame n shows the
 * test: pattern of seq n (vp_pattern_draw) in the format set, its lines
 * padded with --pad bytes of 0x55.  The kernel's own V4L2 layer is not
 * involved, but the capture program meets a device through the same
 * calls (open, ioctl, poll, read) and the same structures as a driver's.
 *
 *   vidpipe-fakecam MOUNTPOINT [--formats YUYV,NV12,...] [--pad N]
 *                   [--max WxH]
 *
 * Runs in the foreground until SIGTERM or SIGINT (the mount goes with
 * it).  Each frame made is logged on stderr as "fakecam: frame N".
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/videodev2.h>

#include "vidpipe.h"

static const struct {
    uint32_t fourcc;
    enum vp_pixfmt fmt;
    const char *desc;
} known[] = {
    {V4L2_PIX_FMT_YUYV, VP_PIX_YUYV422, "YUYV 4:2:2"},
    {V4L2_PIX_FMT_NV12, VP_PIX_NV12, "Y/CbCr 4:2:0"},
    {V4L2_PIX_FMT_YUV420, VP_PIX_YUV420P, "Planar YUV 4:2:0"},
    {V4L2_PIX_FMT_GREY, VP_PIX_GRAY, "8-bit Greyscale"},
    {V4L2_PIX_FMT_BGR24, VP_PIX_BGR24, "24-bit BGR 8-8-8"},
};
#define NKNOWN (sizeof known / sizeof known[0])

static struct cam {
    pthread_mutex_t mu;
    unsigned offered[NKNOWN], noffered; /* indexes into known */
    unsigned cur;                       /* the format set */
    uint32_t w, h, pad, max_w, max_h;
    uint32_t bpl;
    size_t size;
    uint32_t fps_num, fps_den; /* time per frame */
    uint8_t *frame;
    uint64_t made;   /* frames drawn */
    int64_t next_ns; /* when the next frame is due */
} cam = {.mu = PTHREAD_MUTEX_INITIALIZER,
         .w = 640,
         .h = 480,
         .max_w = 1920,
         .max_h = 1080,
         .fps_num = 1,
         .fps_den = 30};

/* Sets the geometry (under cam.mu), as a driver would: sizes clamped and
 * made even, lines padded. */
static void geometry(unsigned k, uint32_t w, uint32_t h)
{
    struct vp_image im;

    w = w < 64 ? 64 : w > cam.max_w ? cam.max_w : w & ~1u;
    h = h < 48 ? 48 : h > cam.max_h ? cam.max_h : h & ~1u;
    vp_image_layout(&im, w, h, known[k].fmt, 0, NULL);
    cam.cur = k;
    cam.w = w;
    cam.h = h;
    cam.bpl = im.stride[0] + cam.pad;
    cam.size = vp_image_layout(&im, w, h, known[k].fmt, cam.bpl, NULL);
    free(cam.frame);
    cam.frame = malloc(cam.size);
    cam.made = 0;
    cam.next_ns = 0;
}

static void fill_pix(struct v4l2_pix_format *p)
{
    p->width = cam.w;
    p->height = cam.h;
    p->pixelformat = known[cam.cur].fourcc;
    p->field = V4L2_FIELD_NONE;
    p->bytesperline = cam.bpl;
    p->sizeimage = (uint32_t)cam.size;
    p->colorspace = V4L2_COLORSPACE_SMPTE170M;
}

static int find_offered(uint32_t fourcc)
{
    for (unsigned i = 0; i < cam.noffered; i++)
        if (known[cam.offered[i]].fourcc == fourcc)
            return (int)cam.offered[i];
    return -1;
}

static int do_ioctl(unsigned int cmd, void *data)
{
    switch (cmd) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = data;
        memset(c, 0, sizeof *c);
        snprintf((char *)c->driver, sizeof c->driver, "vidpipe-fakecam");
        snprintf((char *)c->card, sizeof c->card, "vidpipe fake camera");
        snprintf((char *)c->bus_info, sizeof c->bus_info, "fuse");
        c->version = 0x060100;
        c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE;
        c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = data;
        if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= cam.noffered)
            return -EINVAL;
        unsigned k = cam.offered[d->index];
        d->pixelformat = known[k].fourcc;
        d->flags = 0;
        snprintf((char *)d->description, sizeof d->description, "%s",
                 known[k].desc);
        return 0;
    }
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT: {
        struct v4l2_format *f = data;
        if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE)
            return -EINVAL;
        if (cmd != VIDIOC_G_FMT) {
            int k = find_offered(f->fmt.pix.pixelformat);
            unsigned saved = cam.cur;
            uint32_t sw = cam.w, sh = cam.h;
            geometry(k < 0 ? cam.offered[0] : (unsigned)k, f->fmt.pix.width,
                     f->fmt.pix.height);
            fill_pix(&f->fmt.pix);
            if (cmd == VIDIOC_TRY_FMT)
                geometry(saved, sw, sh);
            else
                fprintf(stderr, "fakecam: set %.4s %ux%u, %u bytes a line\n",
                        (const char *)&known[cam.cur].fourcc, cam.w, cam.h,
                        cam.bpl);
            return 0;
        }
        fill_pix(&f->fmt.pix);
        return 0;
    }
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = data;
        if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE)
            return -EINVAL;
        struct v4l2_fract *t = &p->parm.capture.timeperframe;
        if (cmd == VIDIOC_S_PARM && t->numerator && t->denominator) {
            cam.fps_num = t->numerator;
            cam.fps_den = t->denominator;
        }
        memset(&p->parm.capture, 0, sizeof p->parm.capture);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        t->numerator = cam.fps_num;
        t->denominator = cam.fps_den;
        p->parm.capture.readbuffers = 1;
        return 0;
    }
    default:
        return -ENOTTY; /* REQBUFS too: no streaming, read() only */
    }
}

static int cam_ioctl(const char *path, unsigned int cmd, void *arg,
                     struct fuse_file_info *fi, unsigned int flags, void *data)
{
    (void)path, (void)arg, (void)fi, (void)flags;
    pthread_mutex_lock(&cam.mu);
    int rc = do_ioctl(cmd, data);
    pthread_mutex_unlock(&cam.mu);
    return rc;
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Frame cam.made, due at its time, drawn into cam.frame. */
static void next_frame(void)
{
    struct vp_image im;
    int64_t period = (int64_t)1000000000 * cam.fps_num / cam.fps_den;
    int64_t now = now_ns();

    if (cam.next_ns == 0 || now - cam.next_ns > period)
        cam.next_ns = now;
    if (cam.next_ns > now) {
        struct timespec ts = {(time_t)((cam.next_ns - now) / 1000000000),
                              (long)((cam.next_ns - now) % 1000000000)};
        nanosleep(&ts, NULL);
    }
    cam.next_ns += period;
    memset(cam.frame, 0x55, cam.size);
    vp_image_layout(&im, cam.w, cam.h, known[cam.cur].fmt, cam.bpl, cam.frame);
    vp_pattern_draw(&im, cam.made);
    fprintf(stderr, "fakecam: frame %llu\n", (unsigned long long)cam.made);
    cam.made++;
}

/* One read(2) of a frame comes in pieces (at most the mount's max_read
 * each) at offsets from where the last frame ended: the first piece
 * makes the frame. */
static int cam_read(const char *path, char *buf, size_t len, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path, (void)fi;
    pthread_mutex_lock(&cam.mu);
    size_t at = (size_t)((uint64_t)off % cam.size);
    if (at == 0)
        next_frame();
    if (len > cam.size - at)
        len = cam.size - at;
    memcpy(buf, cam.frame + at, len);
    pthread_mutex_unlock(&cam.mu);
    return (int)len;
}

static int cam_getattr(const char *path, struct stat *st,
                       struct fuse_file_info *fi)
{
    (void)fi;
    memset(st, 0, sizeof *st);
    if (strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (strcmp(path, "/video0") != 0)
        return -ENOENT;
    st->st_mode = S_IFREG | 0666;
    st->st_nlink = 1;
    return 0;
}

static int cam_open(const char *path, struct fuse_file_info *fi)
{
    if (strcmp(path, "/video0") != 0)
        return -ENOENT;
    fi->direct_io = 1; /* every read comes here: no page cache */
    fi->nonseekable = 1;
    return 0;
}

static int cam_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
                       off_t off, struct fuse_file_info *fi,
                       enum fuse_readdir_flags flags)
{
    (void)off, (void)fi, (void)flags;
    if (strcmp(path, "/") != 0)
        return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    fill(buf, "video0", NULL, 0, 0);
    return 0;
}

static const struct fuse_operations ops = {
    .getattr = cam_getattr,
    .open = cam_open,
    .read = cam_read,
    .readdir = cam_readdir,
    .ioctl = cam_ioctl,
};

static int usage(void)
{
    fprintf(stderr, "usage: vidpipe-fakecam MOUNTPOINT [--formats "
                    "YUYV,NV12,YU12,GREY,BGR3] [--pad N] [--max WxH]\n");
    return 2;
}

static int parse_formats(char *list)
{
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
        unsigned k = 0;
        while (k < NKNOWN && strncmp(t, (const char *)&known[k].fourcc, 4))
            k++;
        if (k == NKNOWN || strlen(t) != 4) {
            fprintf(stderr, "vidpipe-fakecam: unknown format %s\n", t);
            return -1;
        }
        cam.offered[cam.noffered++] = k;
    }
    return cam.noffered ? 0 : -1;
}

int main(int argc, char **argv)
{
    char *mnt = NULL, formats[64] = "YUYV,NV12";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--formats") == 0 && i + 1 < argc)
            snprintf(formats, sizeof formats, "%s", argv[++i]);
        else if (strcmp(argv[i], "--pad") == 0 && i + 1 < argc)
            cam.pad = (uint32_t)strtoul(argv[++i], NULL, 10) & ~1u;
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%ux%u", &cam.max_w, &cam.max_h) != 2)
                return usage();
        } else if (argv[i][0] != '-' && !mnt)
            mnt = argv[i];
        else
            return usage();
    }
    if (!mnt || parse_formats(formats) < 0)
        return usage();
    geometry(cam.offered[0], cam.w, cam.h);
    /* Foreground, one thread: a frame's pieces come in order. */
    char *fargv[] = {argv[0], "-f", "-s", mnt, NULL};
    return fuse_main(4, fargv, &ops, NULL);
}
