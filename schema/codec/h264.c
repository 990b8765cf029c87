/* h264.c -- H.264 through libavcodec: libx264 to encode, FFmpeg's h264
 * decoder to decode, libswscale between the frame's format and yuv420p. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "codec/convert.h"
#include "codec/h264.h"

/* libav* report a damaged stream on stderr, as errors: vidpipe counts
 * and reports losses itself, once a second, so only fatal ones show. */
static void log_fatal_only(void)
{
    av_log_set_level(AV_LOG_FATAL);
}

static void quiet_libav(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, log_fatal_only);
}

static enum AVPixelFormat av_fmt(enum pixfmt f)
{
    return (enum AVPixelFormat)convert_av_fmt(f);
}

struct h264enc {
    AVCodecContext *ctx;
    AVFrame *yuv;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint32_t w, h;
    enum pixfmt fmt;
    int64_t pts;
};

int h264enc_new(struct h264enc **out, uint32_t w, uint32_t h, enum pixfmt fmt,
                double fps, uint32_t bitrate, uint32_t gop, const char **why)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    struct h264enc *e;
    int rate = fps > 0 && fps <= 1000 ? (int)lround(fps) : 30, rc = -ENOMEM;

    *out = NULL;
    quiet_libav();
    if (!codec) {
        *why = "this FFmpeg has no libx264 encoder";
        return -ENOTSUP;
    }
    if ((w | h) & 1 || av_fmt(fmt) == AV_PIX_FMT_NONE) {
        *why = "needs an even width and height";
        return -EINVAL;
    }
    if (!(e = calloc(1, sizeof *e)))
        goto oom;
    e->w = w, e->h = h, e->fmt = fmt;
    if (!(e->ctx = avcodec_alloc_context3(codec)) ||
        !(e->yuv = av_frame_alloc()) || !(e->pkt = av_packet_alloc()))
        goto oom;
    AVCodecContext *c = e->ctx;
    c->width = (int)w;
    c->height = (int)h;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, rate};
    c->framerate = (AVRational){rate, 1};
    c->gop_size = (int)gop;
    c->max_b_frames = 0;
    c->bit_rate = bitrate;
    /* Rate control over half a second: a scene cut costs a short burst,
     * never seconds of queue on a link sized for the bitrate. */
    c->rc_max_rate = bitrate;
    c->rc_buffer_size = (int)(bitrate / 2);
    c->thread_count = 0;
    /* zerolatency: no lookahead and slice threads, so each frame comes
     * out as it goes in; forced-idr: a keyframe asked for is one a viewer
     * can start at.  ultrafast: 1080p encodes in 8 ms here against 13 ms
     * for veryfast, at the same bytes and 1.2 dB less PSNR, still better
     * than JPEG q80 at a tenth of its bytes (tools/vidpipe-h264bench,
     * docs/BENCHMARKS.md). */
    av_opt_set(c->priv_data, "preset", "ultrafast", 0);
    av_opt_set(c->priv_data, "tune", "zerolatency", 0);
    av_opt_set(c->priv_data, "forced-idr", "1", 0);
    if (avcodec_open2(c, codec, NULL) < 0) {
        *why = "libx264 refuses this size";
        rc = -EINVAL;
        goto fail;
    }
    e->yuv->format = AV_PIX_FMT_YUV420P;
    e->yuv->width = (int)w;
    e->yuv->height = (int)h;
    if (av_frame_get_buffer(e->yuv, 0) < 0)
        goto oom;
    e->sws = sws_getContext((int)w, (int)h, av_fmt(fmt), (int)w, (int)h,
                            AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!e->sws)
        goto oom;
    *out = e;
    return 0;
oom:
    *why = "out of memory";
fail:
    h264enc_free(e);
    return rc;
}

void h264enc_free(struct h264enc *e)
{
    if (!e)
        return;
    avcodec_free_context(&e->ctx);
    av_frame_free(&e->yuv);
    av_packet_free(&e->pkt);
    sws_freeContext(e->sws);
    free(e);
}

bool h264enc_fits(const struct h264enc *e, uint32_t w, uint32_t h,
                  enum pixfmt fmt)
{
    return e->w == w && e->h == h && e->fmt == fmt;
}

int h264enc_encode(struct h264enc *e, const uint8_t *px, uint32_t stride,
                   bool key, const uint8_t **out, size_t *len, bool *is_key)
{
    struct planes_ref in;
    const uint8_t *src[4] = {0};
    int srcstride[4] = {0};
    int rc;

    if (av_frame_make_writable(e->yuv) < 0)
        return -ENOMEM;
    planes_of(&in, e->fmt, e->w, e->h, stride, px);
    for (unsigned i = 0; i < PIXFMT_MAX_PLANES; i++) {
        src[i] = in.data[i];
        srcstride[i] = (int)in.stride[i];
    }
    sws_scale(e->sws, src, srcstride, 0, (int)e->h, e->yuv->data,
              e->yuv->linesize);
    e->yuv->pts = e->pts++;
    e->yuv->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    av_packet_unref(e->pkt);
    if ((rc = avcodec_send_frame(e->ctx, e->yuv)) < 0)
        return rc == AVERROR(EAGAIN) ? -EAGAIN : -EIO;
    /* Zero latency: the packet of this frame comes out now. */
    if ((rc = avcodec_receive_packet(e->ctx, e->pkt)) < 0)
        return rc == AVERROR(EAGAIN) ? -EAGAIN : -EIO;
    *out = e->pkt->data;
    *len = (size_t)e->pkt->size;
    *is_key = (e->pkt->flags & AV_PKT_FLAG_KEY) != 0;
    return 0;
}

struct h264dec {
    AVCodecContext *ctx;
    AVFrame *pic;
    AVPacket *pkt;
    struct SwsContext *sws;
};

static int dec_open(struct h264dec *d, const char **why)
{
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    quiet_libav();
    if (!codec) {
        *why = "this FFmpeg has no H.264 decoder";
        return -ENOTSUP;
    }
    if (!(d->ctx = avcodec_alloc_context3(codec))) {
        *why = "out of memory";
        return -ENOMEM;
    }
    /* Frame threads would hold pictures back; one picture per packet. */
    d->ctx->thread_count = 1;
    d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
    d->ctx->flags2 |= AV_CODEC_FLAG2_FAST;
    if (avcodec_open2(d->ctx, codec, NULL) < 0) {
        avcodec_free_context(&d->ctx);
        *why = "cannot open the H.264 decoder";
        return -EIO;
    }
    return 0;
}

int h264dec_new(struct h264dec **out, const char **why)
{
    struct h264dec *d = calloc(1, sizeof *d);
    int rc;

    *out = NULL;
    if (!d) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if ((rc = dec_open(d, why)) < 0)
        goto fail;
    if (!(d->pic = av_frame_alloc()) || !(d->pkt = av_packet_alloc())) {
        *why = "out of memory";
        rc = -ENOMEM;
        goto fail;
    }
    *out = d;
    return 0;
fail:
    h264dec_free(d);
    return rc;
}

void h264dec_free(struct h264dec *d)
{
    if (!d)
        return;
    avcodec_free_context(&d->ctx);
    av_frame_free(&d->pic);
    av_packet_free(&d->pkt);
    sws_freeContext(d->sws);
    free(d);
}

void h264dec_reset(struct h264dec *d)
{
    avcodec_flush_buffers(d->ctx);
}

int h264dec_decode(struct h264dec *d, const uint8_t *data, size_t len,
                   uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                   enum pixfmt fmt)
{
    struct planes_ref out;
    uint8_t *dsts[4] = {0};
    int dststride[4] = {0};
    int rc;

    if (len > INT32_MAX || av_fmt(fmt) == AV_PIX_FMT_NONE)
        return -EINVAL;
    /* The packet borrows data: the decoder copies what it keeps. */
    d->pkt->data = (uint8_t *)data;
    d->pkt->size = (int)len;
    rc = avcodec_send_packet(d->ctx, d->pkt);
    d->pkt->data = NULL;
    d->pkt->size = 0;
    if (rc < 0 && rc != AVERROR(EAGAIN))
        return -EBADMSG;
    rc = avcodec_receive_frame(d->ctx, d->pic);
    if (rc == AVERROR(EAGAIN))
        return -EAGAIN;
    if (rc < 0)
        return -EBADMSG;
    if (d->pic->width != (int)w || d->pic->height != (int)h ||
        d->pic->decode_error_flags != 0) {
        av_frame_unref(d->pic);
        return -EBADMSG;
    }
    d->sws = sws_getCachedContext(d->sws, (int)w, (int)h, d->pic->format,
                                  (int)w, (int)h, av_fmt(fmt), SWS_BILINEAR,
                                  NULL, NULL, NULL);
    if (!d->sws) {
        av_frame_unref(d->pic);
        return -ENOMEM;
    }
    planes_of(&out, fmt, w, h, stride, dst);
    for (unsigned i = 0; i < PIXFMT_MAX_PLANES; i++) {
        dsts[i] = (uint8_t *)out.data[i];
        dststride[i] = (int)out.stride[i];
    }
    sws_scale(d->sws, (const uint8_t *const *)d->pic->data, d->pic->linesize, 0,
              (int)h, dsts, dststride);
    av_frame_unref(d->pic);
    return 0;
}
