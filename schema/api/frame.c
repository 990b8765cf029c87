/* frame.c -- received frames: their pixels, payload, intactness and
 * accounting. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "codec/jpeg.h"
#include "contract/ring.h"
#include "contract/stream.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"

#define HOLD_MAX_NS 30000000000LL /* fault copy_torn: at most this long */

struct vp_frame *frame_get(struct vp_sub *s)
{
    struct vp_frame *f;

    pthread_mutex_lock(&s->mu);
    if ((f = s->free))
        s->free = f->next;
    pthread_mutex_unlock(&s->mu);
    if (!f && !(f = calloc(1, sizeof *f)))
        return NULL;
    f->sub = s;
    f->next = NULL;
    f->offset = -1;
    return f;
}

void frame_clear(struct vp_frame *f)
{
    for (unsigned i = 0; i < f->nparts; i++)
        zmq_msg_close(&f->parts[i]);
    f->nparts = 0;
    if (f->stream_buf) {
        pthread_mutex_lock(&f->sub->mu);
        stream_reader_give(f->sub->in, f->stream_buf);
        pthread_mutex_unlock(&f->sub->mu);
        f->stream_buf = NULL;
    }
    ring_map_put(f->map);
    f->map = NULL;
    f->px = NULL;
    f->looked = f->copied = f->torn = f->bad = f->dec_ok = false;
    f->remote = false;
    f->shown_ns = 0;
    f->offset = -1;
    memset(&f->msg, 0, sizeof f->msg);
}

void frame_move(struct vp_frame *dst, struct vp_frame *src)
{
    frame_clear(dst);
    dst->msg = src->msg;
    dst->nparts = src->nparts;
    for (unsigned i = 0; i < src->nparts; i++) {
        zmq_msg_init(&dst->parts[i]);
        zmq_msg_move(&dst->parts[i], &src->parts[i]);
        zmq_msg_close(&src->parts[i]);
    }
    /* A small message keeps its bytes inside zmq_msg_t: point anew. */
    if (dst->msg.data && dst->nparts == MESSAGE_MAX_PARTS)
        dst->msg.data = zmq_msg_data(&dst->parts[MESSAGE_MAX_PARTS - 1]);
    dst->stream_buf = src->stream_buf;
    dst->offset = src->offset;
    dst->map = src->map;
    src->stream_buf = NULL;
    src->map = NULL;
    src->nparts = 0;
    frame_clear(src);
}

void frame_ready(struct vp_frame *f, enum vp_path path)
{
    const struct frame_hdr *h = &f->msg.hdr;
    int64_t age = clock_real_ns() - h->t_real_ns;

    f->info = (struct vp_frame_info){
        .stream = h->stream,
        .seq = h->seq,
        .t_real_ns = h->t_real_ns,
        .t_mono_ns = h->t_mono_ns,
        .width = h->width,
        .height = h->height,
        .fmt = (enum vp_pixfmt)h->fmt,
        .codec = (enum vp_codec)h->enc,
        .keyframe = h->key,
        .path = path,
        .size = path == VP_PATH_SHM ? 0 : h->size,
        .latency_us = age > 0 ? age / 1000 : 0,
    };
}

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
        f->torn = true;
        pthread_mutex_lock(&f->sub->mu);
        f->sub->st.torn++;
        pthread_mutex_unlock(&f->sub->mu);
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
    if (f->msg.var != VAR_SHM)
        return true;
    return !f->torn && f->map && ring_map_read_end(f->map, &f->msg.hdr);
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
    if (!vp_frame_intact(f)) {
        f->torn = true;
        pthread_mutex_lock(&f->sub->mu);
        f->sub->st.torn++;
        pthread_mutex_unlock(&f->sub->mu);
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
    struct vp_sub *s;

    if (!f)
        return;
    s = f->sub;
    /* Judged before the lock: a slot check is two loads. */
    bool torn = f->torn || (f->looked && !f->copied && !vp_frame_intact(f));
    pthread_mutex_lock(&s->mu);
    if (torn && !f->torn) {
        s->st.torn++;
    } else if (!torn && !f->bad) {
        stats_frame_at(&s->st, &f->msg.hdr, f->info.size,
                       f->shown_ns ? f->shown_ns : clock_real_ns());
    }
    s->out--;
    pthread_mutex_unlock(&s->mu);
    frame_clear(f);
    pthread_mutex_lock(&s->mu);
    f->next = s->free;
    s->free = f;
    bool last = s->closing && s->out == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        sub_destroy(s); /* vp_sub_close() came first */
}
