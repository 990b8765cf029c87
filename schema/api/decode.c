/* decode.c -- the subscriber's H.264: frames taken in order, decoded, and
 * after a loss nothing shown until a keyframe, which it asks for.
 *
 * A frame lost anywhere (a queue that overflowed, a reconnect, a frame
 * the caller had no time for is not one: the decoder sees every frame)
 * makes every later frame undecodable until the next keyframe.  The
 * subscriber then drops frames (counted "waiting_keyframe") and asks for
 * a keyframe with a subscription of its own (topic.h), again every
 * ASK_NS while it waits: a request made before the connection is up
 * never leaves, and the publisher makes at most one keyframe a period
 * however many ask.  One stream at a time: frames of another stream
 * start it over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/recv.h"
#include "codec/h264.h"
#include "contract/topic.h"
#include "transport/xsub.h"
#include "util/clock.h"
#include "util/mem.h"

#define ASK_NS 50000000LL

/* Asks the publisher for a keyframe, at most once an ASK_NS. */
static void ask(struct vp_sub *s, const char *stream)
{
    struct sub_h264 *k = &s->h264;
    char t[TOPIC_MAX + 20];
    int64_t now = clock_mono_ns();

    if (!s->x || now - k->asked_ns < ASK_NS)
        return;
    k->asked_ns = now;
    size_t tl =
        topic_key_request(t, sizeof t, stream, ++k->nonce ^ (uint64_t)now);
    xsub_subscribe(s->x, t, tl, true);
    xsub_subscribe(s->x, t, tl, false);
}

void sub_h264_start(struct vp_sub *s)
{
    s->h264.waiting = true;
    ask(s, s->stream[0] ? s->stream : s->h264.stream);
}

void sub_h264_idle(struct vp_sub *s)
{
    if (s->o.codec == VP_CODEC_H264 && !sub_linked(s) && s->h264.waiting &&
        (s->stream[0] || s->h264.stream[0]))
        ask(s, s->stream[0] ? s->stream : s->h264.stream);
}

/* Decodes f into its own buffer; 0, or -errno. */
static int decode_into(struct vp_sub *s, struct vp_frame *f)
{
    const struct frame_hdr *h = &f->msg.hdr;
    uint32_t stride = pixfmt_min_stride(h->fmt, h->width);
    size_t need = (size_t)pixfmt_size(h->fmt, h->height, stride);

    if (!mem_reserve(&f->dec, &f->dec_cap, need))
        return -ENOMEM;
    const char *why; /* the frame is skipped either way */
    int rc = 0;
    pthread_mutex_lock(&s->codec_mu);
    if (!s->h264.dec)
        rc = h264dec_new(&s->h264.dec, &why);
    if (rc == 0)
        rc = h264dec_decode(s->h264.dec, f->msg.data, f->msg.len, f->dec,
                            h->width, h->height, stride, h->fmt);
    pthread_mutex_unlock(&s->codec_mu);
    f->dec_ok = rc == 0;
    return rc;
}

int sub_h264_take(struct vp_sub *s, struct vp_frame *f, bool decode)
{
    struct sub_h264 *k = &s->h264;
    const struct frame_hdr *h = &f->msg.hdr;

    if (strcmp(k->stream, h->stream) != 0) {
        snprintf(k->stream, sizeof k->stream, "%s", h->stream);
        k->started = false;
        k->waiting = true;
    }
    if (k->started && h->seq != k->next_seq)
        k->waiting = true; /* a frame was lost on the way */
    k->started = true;
    k->next_seq = h->seq + 1;
    if (k->waiting && !h->key) {
        atomic_fetch_add(&s->waiting_keyframe, 1);
        ask(s, h->stream);
        return -EAGAIN;
    }
    if (k->waiting) {
        k->waiting = false;
        pthread_mutex_lock(&s->codec_mu);
        if (k->dec)
            h264dec_reset(k->dec);
        pthread_mutex_unlock(&s->codec_mu);
    }
    if (!decode)
        return 0;
    int rc = decode_into(s, f);
    if (rc == -EBADMSG) {
        atomic_fetch_add(&s->bad, 1);
        k->waiting = true;
        ask(s, h->stream);
    }
    return rc == 0 ? 0 : -EAGAIN;
}

int sub_h264_image(struct vp_sub *s, struct vp_frame *f)
{
    return f->dec_ok ? 0 : decode_into(s, f);
}
