/* forward.c -- vp_pub_forward(): received frames republished.
 *
 * Received over ZeroMQ, a frame's message parts are moved to the
 * publisher; frames that came from a byte stream are published in every
 * wanted variant, made once.  A raw frame of a stream the link re-hosts
 * (link.c) is also written once into this host's ring.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/publish.h"
#include "api/recv.h"
#include "codec/jpeg.h"
#include "contract/ring.h"
#include "transport/xpub.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/pool.h"

/* A raw frame of a remote stream, written once into this host's ring for
 * the local subscribers that want descriptors. */
static void fill_ring(struct vp_pub *p, struct pstream *s,
                      const struct vp_frame *f)
{
    struct frame_hdr dh = f->msg.hdr;
    struct ring *r = pub_ring_for(p, s, &dh);
    uint32_t slot;

    if (!r)
        return;
    memcpy(ring_write_begin(r, &slot), f->msg.data, f->msg.len);
    ring_write_end(r, slot, &dh, &dh.shm);
    dh.has_shm = true;
    p->ring_writes++;
    pub_send_variant(p, VAR_SHM, &dh, NULL);
}

/* The raw pixels of frame f (its raw geometry in raw), decoded once into
 * the publisher's scratch buffer if it came as a JPEG; NULL if that
 * fails. */
static const uint8_t *raw_pixels(struct vp_pub *p, const struct vp_frame *f,
                                 const struct frame_hdr *raw)
{
    const struct frame_hdr *h = &f->msg.hdr;
    uint8_t *px;

    if (h->enc == ENC_RAW)
        return f->msg.data;
    if (!(px = mem_reserve(&p->scratch, &p->scratch_cap, raw->size)))
        return NULL;
    if (jpeg_decode(p->jpeg, f->msg.data, h->size, px, h->width, h->height,
                    raw->stride, h->fmt) < 0) {
        log_limited(&p->log, "undecodable JPEG in frame %llu",
                    (unsigned long long)h->seq);
        return NULL;
    }
    return px;
}

/* Sends f's own payload as variant v, copied: the frame sits in a buffer
 * that is reused.  The bytes sent. */
static uint64_t send_copy(struct vp_pub *p, enum variant v,
                          const struct vp_frame *f)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, f->msg.len) < 0)
        return 0;
    memcpy(zmq_msg_data(&m), f->msg.data, f->msg.len);
    return pub_send_variant(p, v, &f->msg.hdr, &m) == 0 ? f->msg.len : 0;
}

/* A frame with no message to move (it came from a byte stream): every
 * wanted variant is made from it, once.  An H.264 frame can only go on
 * as H.264: the others would need its decoder's state. */
static uint64_t emit(struct vp_pub *p, struct vp_frame *f)
{
    const struct frame_hdr *h = &f->msg.hdr;
    struct pstream *s = pub_stream(p, h->stream);
    struct frame_hdr raw = *h;
    const uint8_t *px = NULL;
    uint64_t bytes = 0;
    uint32_t slot;

    if (h->enc == ENC_H264)
        return pub_wants(p, VAR_H264, h->stream) ? send_copy(p, VAR_H264, f)
                                                 : 0;
    raw.has_shm = false;
    raw.enc = ENC_RAW;
    raw.key = false;
    if (h->enc != ENC_RAW) {
        raw.stride = pixfmt_min_stride(h->fmt, h->width);
        raw.size = pixfmt_size(h->fmt, h->height, raw.stride);
    }
    bool want_shm = s && pub_wants(p, VAR_SHM, h->stream);
    bool want_raw = pub_wants(p, VAR_RAW, h->stream);
    bool want_jpeg = pub_wants(p, VAR_JPEG, h->stream);
    bool want_h264 = s && pub_wants(p, VAR_H264, h->stream);
    if (h->enc == ENC_JPEG && want_jpeg)
        bytes += send_copy(p, VAR_JPEG, f);
    if (!want_shm && !want_raw && !want_h264 &&
        (h->enc == ENC_JPEG || !want_jpeg))
        return bytes;
    if (pub_pools_for(p, &raw) < 0 || !(px = raw_pixels(p, f, &raw))) {
        log_limited(&p->log, "frame %llu: no pixels to publish",
                    (unsigned long long)h->seq);
        return bytes;
    }
    struct ring *r = want_shm ? pub_ring_for(p, s, &raw) : NULL;
    if (r) {
        struct frame_hdr dh = raw;
        memcpy(ring_write_begin(r, &slot), px, raw.size);
        ring_write_end(r, slot, &dh, &dh.shm);
        dh.has_shm = true;
        if (pub_send_variant(p, VAR_SHM, &dh, NULL) == 0)
            p->shm_sent++;
    }
    if (want_raw)
        bytes += pub_send_raw(p, &raw, px, NULL);
    if (want_jpeg && h->enc != ENC_JPEG)
        bytes += pub_send_jpeg(p, &raw, px);
    if (want_h264)
        bytes += pub_send_h264(p, s, &raw, px);
    else if (s)
        keyframer_idle(&s->kf);
    return bytes;
}

/* A shm frame written on the byte stream: copied out of its slot and
 * written only if it was intact. */
static int forward_shm_to_stream(struct vp_pub *p, struct vp_frame *f,
                                 uint64_t *bytes)
{
    const struct frame_hdr *h = &f->msg.hdr;
    struct vp_image dst;
    struct frame_hdr out = *h;
    uint8_t *buf = mem_reserve(&p->scratch, &p->scratch_cap, h->size);
    int rc;

    if (!buf)
        return vp_fail(-ENOMEM, "out of memory");
    vp_image_layout(&dst, h->width, h->height, (enum vp_pixfmt)h->fmt,
                    h->stride, buf);
    if ((rc = vp_frame_copy(f, &dst)) < 0)
        return rc;
    out.has_shm = false;
    return pub_write_stream(p, &out, dst.data[0], bytes);
}

/* A JPEG frame written raw, decoded once (with the frame, so a caller
 * that has looked at its pixels already decoded it). */
static int forward_decoded(struct vp_pub *p, struct vp_frame *f,
                           uint64_t *bytes)
{
    struct vp_image img;
    struct frame_hdr out = f->msg.hdr;
    int rc = vp_frame_image(f, &img);

    if (rc < 0)
        return rc;
    out.enc = ENC_RAW;
    out.stride = img.stride[0];
    out.size = pixfmt_size(out.fmt, out.height, out.stride);
    return pub_write_stream(p, &out, img.data[0], bytes);
}

/* Sends a received message's payload (if any) under a new header. */
static int resend(struct vp_pub *p, struct vp_frame *f,
                  const struct frame_hdr *h)
{
    zmq_msg_t *payload = f->nparts == 3 ? &f->parts[2] : NULL;
    for (unsigned i = 0; i < f->nparts && i < 2; i++)
        zmq_msg_close(&f->parts[i]);
    f->nparts = 0;
    return pub_send_variant(p, f->msg.var, h, payload);
}

int vp_pub_forward(vp_pub *p, vp_frame *f, const struct vp_fwd *as)
{
    struct frame_hdr *h = &f->msg.hdr;
    uint64_t bytes = 0;
    bool changed = as && (as->stream || as->restamp || as->reseq);
    struct pstream *ps = NULL;
    int rc = 0;

    if (as && as->stream) {
        if (!frame_stream_name_ok(as->stream))
            return vp_fail(-EINVAL, "stream %s: not a stream name", as->stream);
        snprintf(h->stream, sizeof h->stream, "%s", as->stream);
    }
    if (as && as->restamp)
        frame_stamp(h);
    if (as && as->reseq)
        h->seq = as->seq;
    if (p->x && (ps = pub_stream(p, h->stream)))
        ps->last_ns = clock_mono_ns(); /* vp_pub_drop_idle() */
    if (!p->x) {
        if (f->msg.var == VAR_SHM)
            rc = forward_shm_to_stream(p, f, &bytes);
        else if (p->o.codec == VP_CODEC_RAW && h->enc == ENC_JPEG)
            rc = forward_decoded(p, f, &bytes);
        else
            rc = pub_write_stream(p, h, f->msg.data, &bytes);
    } else if (!ps) {
        /* Past max_streams: the streams carried keep all they had. */
        pub_serve(p);
        p->streams_refused++;
        return vp_fail(-ENOSPC, "stream %s: %u streams carried already",
                       h->stream, p->o.max_streams);
    } else if (f->remote) {
        /* A descriptor of a ring on another host, delivered for its
         * header (vp_sub_want): never passed on, the link re-hosts it. */
        pub_serve(p);
        return 0;
    } else if (f->nparts > 0) {
        pub_serve(p);
        if (f->msg.var == VAR_SHM) {
            /* Counted only if somebody takes it: the subscriber may have
             * asked for descriptors itself (vp_sub_want). */
            p->shm_forwarded += pub_wants(p, VAR_SHM, h->stream);
        } else {
            if (f->msg.var == VAR_RAW && ps->raw_added)
                fill_ring(p, ps, f);
            bytes = f->msg.len;
        }
        if (changed) {
            rc = resend(p, f, h);
        } else {
            rc = xpub_forward(p->x, f->parts, f->nparts);
            f->nparts = 0; /* the parts were moved */
        }
        f->msg.data = NULL;
        if (rc < 0)
            rc = vp_fail(rc, "forward: %s", zmq_strerror(-rc));
    } else if (f->msg.var == VAR_SHM) {
        pub_serve(p);
        if (pub_send_variant(p, VAR_SHM, h, NULL) == 0)
            p->shm_forwarded++;
    } else {
        pub_serve(p);
        bytes = emit(p, f);
    }
    if (rc == 0)
        stats_frame(&p->st, h, bytes);
    return rc;
}
