/* keyframe.c -- the publisher's H.264: one encoder per stream, run only
 * while somebody subscribes to the h264 variant, and keyframes when they
 * are needed and no more often.
 *
 * A viewer needs a keyframe to start, and again after it lost a frame:
 * it asks with a subscription of its own ("key/STREAM/NONCE", topic.h),
 * which every relay on the way passes upstream like any other.  The
 * publisher makes the next frame a keyframe, but at most one every
 * KEY_MIN_NS: fifty viewers asking at once get one keyframe, not fifty,
 * and a join waits no longer than that.  A first subscriber of the
 * variant, and the first frame after a time nobody wanted it, get one
 * without asking.
 */
#include <errno.h>
#include <string.h>

#include "api/publish.h"
#include "codec/h264.h"
#include "transport/xpub.h"
#include "util/clock.h"
#include "util/pool.h"

#define KEY_MIN_NS 200000000LL

/* The stream's encoder, made (again) for h's geometry; NULL if none. */
static struct h264enc *encoder_for(struct vp_pub *p, struct pstream *s,
                                   const struct frame_hdr *h)
{
    const char *why;
    int rc;

    if (s->enc && h264enc_fits(s->enc, h->width, h->height, h->fmt))
        return s->enc;
    h264enc_free(s->enc);
    if ((rc = h264enc_new(&s->enc, h->width, h->height, h->fmt, p->o.fps,
                          p->o.h264_bitrate, p->o.h264_gop, &why)) < 0)
        log_limited(&p->log, "h264: %ux%u: %s", h->width, h->height, why);
    return s->enc;
}

int pub_encode_h264(struct vp_pub *p, struct pstream *s,
                    const struct frame_hdr *h, const uint8_t *px,
                    struct frame_hdr *out, const uint8_t **data)
{
    struct h264enc *e = encoder_for(p, s, h);
    int64_t now = clock_mono_ns();
    bool key, is_key;
    size_t len;

    if (!e)
        return -EIO;
    key = s->h264_gap || (s->key_due && now - s->key_ns >= KEY_MIN_NS);
    if (h264enc_encode(e, px, h->stride, key, data, &len, &is_key) < 0) {
        log_limited(&p->log, "H.264 encode of frame %llu failed",
                    (unsigned long long)h->seq);
        return -EIO;
    }
    p->h264_encodes++;
    s->h264_gap = false;
    if (is_key) {
        /* Any keyframe answers the requests that came before it. */
        p->keyframes++;
        s->key_due = false;
        s->key_ns = now;
    }
    *out = *h;
    out->enc = ENC_H264;
    out->size = len;
    out->key = is_key;
    out->has_shm = false;
    return 0;
}

uint64_t pub_send_h264(struct vp_pub *p, struct pstream *s,
                       const struct frame_hdr *h, const uint8_t *px)
{
    struct frame_hdr eh;
    const uint8_t *data;
    zmq_msg_t m;

    if (pub_encode_h264(p, s, h, px, &eh, &data) < 0)
        return 0;
    /* The packet is the encoder's until the next frame: ZeroMQ gets a
     * copy of the few compressed bytes, in a buffer of the JPEG pool
     * (sized for any JPEG of the frame: a packet is far smaller). */
    uint8_t *buf =
        eh.size <= pool_size(p->jpeg_pool) ? pool_get(p->jpeg_pool) : NULL;
    if (buf) {
        memcpy(buf, data, eh.size);
        zmq_msg_init_data(&m, buf, eh.size, pool_zmq_free, p->jpeg_pool);
    } else if (zmq_msg_init_size(&m, eh.size) == 0) {
        memcpy(zmq_msg_data(&m), data, eh.size);
    } else {
        return 0;
    }
    return pub_send_variant(p, VAR_H264, &eh, &m) ? eh.size : 0;
}

void pub_h264_idle(struct pstream *s)
{
    s->h264_gap = true;
}

void pub_subscription(void *arg, const char *prefix, size_t len, bool on)
{
    struct vp_pub *p = arg;
    char stream[FRAME_STREAM_MAX + 1], t[TOPIC_MAX];
    size_t all = topic_make(t, sizeof t, VAR_H264, NULL);

    if (p->up)
        pub_pass_upstream(arg, prefix, len, on);
    if (!on)
        return;
    if (topic_is_key_request(prefix, len, stream)) {
        struct pstream *s = pub_stream(p, stream);
        p->keyframe_requests++;
        if (s)
            s->key_due = true;
    } else if (len >= all && memcmp(prefix, t, all) == 0) {
        /* A first subscriber of one stream's h264, or of every stream's:
         * it starts at the next frame. */
        for (unsigned i = 0; i < p->nstreams; i++) {
            size_t tl = topic_make(t, sizeof t, VAR_H264, p->streams[i].name);
            if (len == all || (len == tl && memcmp(prefix, t, tl) == 0))
                p->streams[i].key_due = true;
        }
    }
}
