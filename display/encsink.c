/* encsink.c -- raw frames encoded into a video file at their capture
 * times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "encsink.h"
#include "muxsink.h"
#include "util/log.h"

/* Milliseconds: the finest MPEG-4 part 2 allows for any rate (its time
 * base is at most 1/65535) and what Matroska keeps anyway. */
#define ENC_TIME_BASE ((AVRational){1, 1000})
#define ENC_QSCALE 3 /* near-transparent MPEG-4 (2..31, lower is better) */
#define ENC_GOP 60

struct encsink {
    char path[512];
    struct muxsink *mux;
    AVCodecContext *enc;
    AVFrame *frame;
    AVPacket *pkt;
    vp_convert *conv;
    struct vp_image yuv; /* a converted frame, the converter's */
    int64_t t0_ns, last_pts;
    bool global_header; /* the container wants the configuration apart */
};

struct encsink *encsink_new(const char *path, const char *format, char *err,
                            size_t errlen)
{
    struct encsink *e = calloc(1, sizeof *e);
    const AVOutputFormat *of = av_guess_format(format, NULL, NULL);

    if (!e || !(e->pkt = av_packet_alloc()) || !(e->frame = av_frame_alloc())) {
        snprintf(err, errlen, "out of memory");
        encsink_free(e);
        return NULL;
    }
    if (strlen(path) >= sizeof e->path || !of ||
        !(e->mux = muxsink_new(path, format, err, errlen))) {
        if (!e->mux)
            snprintf(err, errlen, "%s: cannot write a %s file", path, format);
        encsink_free(e);
        return NULL;
    }
    snprintf(e->path, sizeof e->path, "%s", path);
    e->global_header = of->flags & AVFMT_GLOBALHEADER;
    return e;
}

/* Opens the encoder and the container at the first frame, h. */
static int start(struct encsink *e, const struct vp_frame_info *h)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    AVCodecParameters *par = NULL;
    int rc = -1;

    if (!codec || !(e->enc = avcodec_alloc_context3(codec))) {
        log_err("%s: no MPEG-4 encoder in this libavcodec", e->path);
        return -1;
    }
    e->enc->width = (int)h->width;
    e->enc->height = (int)h->height;
    e->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    e->enc->time_base = ENC_TIME_BASE;
    e->enc->gop_size = ENC_GOP;
    e->enc->max_b_frames = 0; /* packets in capture order, pts == dts */
    e->enc->flags |= AV_CODEC_FLAG_QSCALE;
    e->enc->global_quality = FF_QP2LAMBDA * ENC_QSCALE;
    if (e->global_header)
        e->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(e->enc, codec, NULL) < 0) {
        log_err("%s: cannot encode %ux%u as MPEG-4", e->path, h->width,
                h->height);
        return -1;
    }
    if (!(par = avcodec_parameters_alloc()) ||
        avcodec_parameters_from_context(par, e->enc) < 0)
        log_err("%s: out of memory", e->path);
    else
        rc = muxsink_start(e->mux, par, h->t_mono_ns);
    avcodec_parameters_free(&par);
    e->t0_ns = h->t_mono_ns;
    e->last_pts = -1;
    return rc;
}

/* Muxes every packet the encoder has ready.  0 or -1 (logged). */
static int drain(struct encsink *e)
{
    int rc;

    while ((rc = avcodec_receive_packet(e->enc, e->pkt)) == 0) {
        /* Back to the capture time the frame came with. */
        int64_t t = e->t0_ns + av_rescale_q(e->pkt->pts, ENC_TIME_BASE,
                                            (AVRational){1, 1000000000});
        rc = muxsink_put(e->mux, e->pkt->data, (size_t)e->pkt->size,
                         e->pkt->flags & AV_PKT_FLAG_KEY, t);
        av_packet_unref(e->pkt);
        if (rc < 0)
            return -1;
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        log_err("%s: the encoder failed", e->path);
        return -1;
    }
    return 0;
}

int encsink_write(struct encsink *e, const struct vp_frame_info *h,
                  const struct vp_image *img)
{
    if (!e->enc && start(e, h) < 0)
        return -1;
    if (h->width != (uint32_t)e->enc->width ||
        h->height != (uint32_t)e->enc->height) {
        log_err("%s: frame size changed from %dx%d to %ux%u", e->path,
                e->enc->width, e->enc->height, h->width, h->height);
        return -1;
    }
    if (img->fmt != VP_PIX_YUV420P) {
        if ((!e->conv && vp_convert_new(&e->conv) < 0) ||
            vp_convert_to(e->conv, img, VP_PIX_YUV420P, &e->yuv) < 0) {
            log_err("%s: %s", e->path, vp_errmsg());
            return -1;
        }
        img = &e->yuv;
    }
    int64_t pts = av_rescale_q(h->t_mono_ns - e->t0_ns,
                               (AVRational){1, 1000000000}, ENC_TIME_BASE);
    if (pts <= e->last_pts)
        pts = e->last_pts + 1; /* times must grow, whatever the stamps did */
    e->last_pts = pts;
    AVFrame *fr = e->frame;
    fr->format = AV_PIX_FMT_YUV420P;
    fr->width = (int)h->width;
    fr->height = (int)h->height;
    for (unsigned i = 0; i < 3; i++) {
        fr->data[i] = img->data[i]; /* borrowed: the encoder copies */
        fr->linesize[i] = (int)img->stride[i];
    }
    fr->pts = pts;
    if (avcodec_send_frame(e->enc, fr) < 0) {
        log_err("%s: the encoder refused a frame", e->path);
        return -1;
    }
    return drain(e);
}

void encsink_free(struct encsink *e)
{
    if (!e)
        return;
    if (e->enc && avcodec_send_frame(e->enc, NULL) == 0)
        drain(e);
    muxsink_free(e->mux);
    avcodec_free_context(&e->enc);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    vp_convert_free(e->conv);
    free(e);
}
