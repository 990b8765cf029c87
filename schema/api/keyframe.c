/* keyframe.c -- one stream's H.264 encoder and its keyframes (keyframe.h). */
#include <errno.h>

#include "api/keyframe.h"
#include "codec/h264.h"
#include "util/clock.h"

#define KEY_MIN_NS 200000000LL

/* The encoder, made (again) for h's geometry: 0, or -errno with *why. */
static int encoder_for(struct keyframer *k, const struct keyframe_opts *o,
                       const struct frame_hdr *h, const char **why)
{
    if (k->enc && h264enc_fits(k->enc, h->width, h->height, h->fmt))
        return 0;
    h264enc_free(k->enc);
    k->enc = NULL;
    return h264enc_new(&k->enc, h->width, h->height, h->fmt, o->fps, o->bitrate,
                       o->gop, why);
}

int keyframer_encode(struct keyframer *k, const struct keyframe_opts *o,
                     const struct frame_hdr *h, const uint8_t *px,
                     struct frame_hdr *out, const uint8_t **data, bool *is_key,
                     const char **why)
{
    int64_t now = clock_mono_ns();
    size_t len;

    if (encoder_for(k, o, h, why) < 0)
        return -EIO;
    bool key = k->gap || (k->key_due && now - k->key_ns >= KEY_MIN_NS);
    if (h264enc_encode(k->enc, px, h->stride, key, data, &len, is_key) < 0) {
        *why = "H.264 encode failed";
        return -EIO;
    }
    k->gap = false;
    if (*is_key) {
        /* Any keyframe answers the requests that came before it. */
        k->key_due = false;
        k->key_ns = now;
    }
    *out = *h;
    out->enc = ENC_H264;
    out->size = len;
    out->key = *is_key;
    out->has_shm = false;
    return 0;
}

void keyframer_ask(struct keyframer *k)
{
    k->key_due = true;
}

void keyframer_idle(struct keyframer *k)
{
    k->gap = true;
}

void keyframer_fini(struct keyframer *k)
{
    h264enc_free(k->enc);
    k->enc = NULL;
}
