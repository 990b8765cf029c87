/* frame.c -- vp_frame_*: a received frame's pixels, payload, intactness
 * and release. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/recv.h"
#include "codec/jpeg.h"
#include "contract/ring.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"

#define HOLD_MAX_NS 30000000000LL /* fault copy_torn: at most this long */

const struct vp_frame_info *vp_frame_info(const vp_frame *f)
{
    return &f->info;
}

/* The pixels of a shm frame, mapping its ring now if the subscriber
 * delivered the descriptor unchecked (VP_SHM_ONLY). */
static int shm_pixels(vp_frame *f)
{
    if (!f->map) {
        int rc = sub_hold_ring(f->sub, f);
        if (rc == -ENOENT)
            return vp_fail(rc, "shm %s: the ring is not on this host",
                           f->msg.hdr.shm.name);
        if (rc < 0)
            return vp_fail(rc, "shm %s: the descriptor does not fit the ring",
                           f->msg.hdr.shm.name);
    }
    if (!f->px && !(f->px = ring_map_read_begin(f->map, &f->msg.hdr))) {
        frame_count_torn(f);
        return vp_fail(-ESTALE, "frame %" PRIu64 ": overwritten already",
                       f->msg.hdr.seq);
    }
    return 0;
}

/* A JPEG payload decoded into the frame's own buffer, once. */
static int decode(vp_frame *f)
{
    const struct frame_hdr *h = &f->msg.hdr;
    uint32_t stride = pixfmt_min_stride(h->fmt, h->width);
    size_t need = (size_t)pixfmt_size(h->fmt, h->height, stride);

    if (f->dec_ok)
        return 0;
    if (!mem_reserve(&f->dec, &f->dec_cap, need))
        return vp_fail(-ENOMEM, "out of memory for a %ux%u frame", h->width,
                       h->height);
    pthread_mutex_lock(&f->sub->codec_mu);
    if (!f->sub->jpeg)
        f->sub->jpeg = jpeg_new();
    int rc = f->sub->jpeg
                 ? jpeg_decode(f->sub->jpeg, f->msg.data, f->msg.len, f->dec,
                               h->width, h->height, stride, h->fmt)
                 : -ENOMEM;
    pthread_mutex_unlock(&f->sub->codec_mu);
    if (rc == -ENOMEM)
        return vp_fail(-ENOMEM, "cannot set up the JPEG decoder");
    if (rc < 0) {
        if (!f->bad)
            atomic_fetch_add(&f->sub->bad, 1);
        f->bad = true;
        log_limited(&f->sub->bad_log, "undecodable JPEG in frame %" PRIu64,
                    h->seq);
        return vp_fail(-EBADMSG, "frame %" PRIu64 ": undecodable JPEG", h->seq);
    }
    f->dec_ok = true;
    return 0;
}

int vp_frame_image(vp_frame *f, struct vp_image *img)
{
    const struct frame_hdr *h = &f->msg.hdr;
    const uint8_t *px;
    uint32_t stride = h->stride;
    int rc;

    if (f->msg.var == VAR_SHM) {
        if ((rc = shm_pixels(f)) < 0)
            return rc;
        f->looked = true;
        px = f->px;
    } else if (h->enc != ENC_RAW) {
        if ((rc = h->enc == ENC_H264 ? sub_h264_image(f->sub, f) : decode(f)) <
            0)
            return vp_fail(rc == -EBADMSG ? rc : -EBADMSG,
                           "frame %" PRIu64 ": no picture", h->seq);
        px = f->dec;
        stride = pixfmt_min_stride(h->fmt, h->width);
    } else {
        if (!f->msg.data)
            return vp_fail(-ENOENT,
                           "frame %" PRIu64 ": its payload was "
                           "forwarded",
                           h->seq);
        px = f->msg.data;
    }
    /* The header was checked: its geometry is valid for its format. */
    vp_image_layout(img, h->width, h->height, (enum vp_pixfmt)h->fmt, stride,
                    (uint8_t *)px);
    return 0;
}

int vp_frame_payload(const vp_frame *f, const uint8_t **data, size_t *len)
{
    if (!f->msg.data)
        return vp_fail(-ENOENT, "a shm frame has no payload");
    *data = f->msg.data;
    *len = f->msg.len;
    return 0;
}

bool vp_frame_intact(const vp_frame *f)
{
    return frame_intact(f);
}

/* Fault copy_torn: the copy just made is held, inside its read window,
 * until the writer has begun to overwrite its slot, so that it is torn
 * for certain (docs/TESTING.md). */
static void hold_until_overwritten(const vp_frame *f)
{
    int64_t end = clock_mono_ns() + HOLD_MAX_NS;
    struct timespec ms = {0, 1000000};

    log_warn("fault copy_torn: frame %" PRIu64 " held until its slot is "
             "overwritten",
             f->msg.hdr.seq);
    while (ring_map_read_end(f->map, &f->msg.hdr) && clock_mono_ns() < end)
        nanosleep(&ms, NULL);
    log_warn("fault copy_torn: frame %" PRIu64 " %s", f->msg.hdr.seq,
             ring_map_read_end(f->map, &f->msg.hdr)
                 ? "not overwritten in 30 s: let go"
                 : "overwritten");
}

int vp_frame_copy(vp_frame *f, const struct vp_image *dst)
{
    struct vp_image src;
    int rc = vp_frame_image(f, &src);

    if (rc < 0)
        return rc;
    if (dst->width != src.width || dst->height != src.height ||
        dst->fmt != src.fmt)
        return vp_fail(-EINVAL, "copy: the image is not %ux%u %s", src.width,
                       src.height, vp_pixfmt_name(src.fmt));
    if ((rc = api_image_check(dst, "copy")) < 0)
        return rc;
    api_copy(&src, dst);
    if (f->msg.var == VAR_SHM && FAULT_EVERY(FAULT_COPY_TORN))
        hold_until_overwritten(f);
    if (!frame_intact(f)) {
        frame_count_torn(f);
        return vp_fail(-ESTALE, "frame %" PRIu64 ": overwritten while copied",
                       f->msg.hdr.seq);
    }
    f->copied = true;
    return 0;
}

void vp_frame_shown(vp_frame *f)
{
    f->shown_ns = clock_real_ns();
}

int vp_frame_json(const vp_frame *f, char *buf, size_t cap)
{
    const struct frame_hdr *h = &f->msg.hdr;
    char off[32] = "", shm[160] = "";

    if (f->offset >= 0)
        snprintf(off, sizeof off, "\"offset\":%" PRId64 ",", f->offset);
    if (h->has_shm)
        snprintf(shm, sizeof shm,
                 ",\"shm\":{\"name\":\"%s\",\"token\":%" PRIu64
                 ",\"slot\":%u,\"gen\":%" PRIu64 "}",
                 h->shm.name, h->shm.token, h->shm.slot, h->shm.gen);
    /* Names and formats were validated on the way in: nothing to escape. */
    int n = snprintf(
        buf, cap,
        "{%s\"variant\":\"%s\",\"v\":%u,\"stream\":\"%s\",\"seq\":%" PRIu64
        ",\"t_real\":%" PRId64 ",\"t_mono\":%" PRId64 ",\"age_us\":%" PRId64
        ",\"w\":%u,\"h\":%u,\"stride\":%u,\"fmt\":\"%s\",\"enc\":\"%s\","
        "\"size\":%" PRIu64 ",\"data_len\":%zu%s}",
        off, variant_name(f->msg.var), h->version, h->stream, h->seq,
        h->t_real_ns, h->t_mono_ns, (clock_real_ns() - h->t_real_ns) / 1000,
        h->width, h->height, h->stride, pixfmt_name(h->fmt),
        frame_enc_name(h->enc), h->size,
        f->msg.var == VAR_SHM ? (size_t)0 : f->msg.len, shm);
    return n >= 0 && (size_t)n < cap ? n : -ENOSPC;
}

void vp_frame_release(vp_frame *f)
{
    frame_put(f);
}
