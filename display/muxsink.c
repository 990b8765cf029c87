/* muxsink.c -- H.264 into RTSP, RTMP, SRT servers and files (libavformat). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "muxsink.h"
#include "util/log.h"

struct muxsink {
    char url[512];
    const char *format;
    AVFormatContext *oc;
    AVStream *st;
    AVPacket *pkt;
    int64_t t0_ns, last_pts, last_len;
    bool open;
    uint64_t frames;
};

struct muxsink *muxsink_new(const char *url, const char *format, char *err,
                            size_t errlen)
{
    struct muxsink *m = calloc(1, sizeof *m);

    if (!m || !(m->pkt = av_packet_alloc())) {
        snprintf(err, errlen, "out of memory");
        free(m);
        return NULL;
    }
    if (strlen(url) >= sizeof m->url) {
        snprintf(err, errlen, "-o %s: too long", url);
        muxsink_free(m);
        return NULL;
    }
    snprintf(m->url, sizeof m->url, "%s", url);
    m->format = format;
    return m;
}

/* The SPS and PPS NAL units of an Annex B keyframe, with their start
 * codes, copied into extradata (av_malloc'd, padded); 0 or -1. */
static int parameter_sets(const uint8_t *p, size_t len, uint8_t **out,
                          int *outlen)
{
    size_t i = 0, n = 0;
    uint8_t *x = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);

    if (!x)
        return -1;
    while (i + 3 < len) {
        /* Find a start code, then the next one. */
        if (!(p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)) {
            i++;
            continue;
        }
        size_t s = i + 3, e = s;
        while (e + 2 < len &&
               !(p[e] == 0 && p[e + 1] == 0 &&
                 (p[e + 2] == 1 ||
                  (e + 3 < len && p[e + 2] == 0 && p[e + 3] == 1))))
            e++;
        if (e + 2 >= len)
            e = len;
        unsigned type = p[s] & 0x1f;
        if (type == 7 || type == 8) {
            memcpy(x + n, "\0\0\0\1", 4);
            memcpy(x + n + 4, p + s, e - s);
            n += 4 + (e - s);
        }
        i = e;
    }
    if (n == 0) {
        av_free(x);
        return -1;
    }
    *out = x;
    *outlen = (int)n;
    return 0;
}

int muxsink_start(struct muxsink *m, const AVCodecParameters *par,
                  int64_t t0_ns)
{
    AVDictionary *opts = NULL;
    char why[128];
    int rc;

    if (avformat_alloc_output_context2(&m->oc, NULL, m->format, m->url) < 0 ||
        !(m->st = avformat_new_stream(m->oc, NULL)) ||
        avcodec_parameters_copy(m->st->codecpar, par) < 0) {
        log_err("%s: cannot make a %s muxer", m->url, m->format);
        return -1;
    }
    m->st->time_base = (AVRational){1, 90000};
    if (strcmp(m->format, "rtsp") == 0)
        av_dict_set(&opts, "rtsp_transport", "tcp", 0);
    if (!(m->oc->oformat->flags & AVFMT_NOFILE) &&
        (rc = avio_open2(&m->oc->pb, m->url, AVIO_FLAG_WRITE, NULL, &opts)) <
            0) {
        av_strerror(rc, why, sizeof why);
        log_err("%s: %s", m->url, why);
        av_dict_free(&opts);
        return -1;
    }
    if ((rc = avformat_write_header(m->oc, &opts)) < 0) {
        av_strerror(rc, why, sizeof why);
        log_err("%s: %s", m->url, why);
        av_dict_free(&opts);
        return -1;
    }
    av_dict_free(&opts);
    m->t0_ns = t0_ns;
    m->last_pts = -1;
    m->last_len = 0;
    m->open = true;
    log_info("%s: %s, %s %dx%d, stamped with capture times", m->url, m->format,
             avcodec_get_name(par->codec_id), par->width, par->height);
    return 0;
}

/* Opens the container at the first keyframe, H.264 as it comes. */
static int start_h264(struct muxsink *m, const struct vp_frame_info *h,
                      const uint8_t *data, size_t len)
{
    AVCodecParameters *par = avcodec_parameters_alloc();
    int rc = -1;

    if (!par) {
        log_err("%s: out of memory", m->url);
        return -1;
    }
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = AV_CODEC_ID_H264;
    par->width = (int)h->width;
    par->height = (int)h->height;
    if (parameter_sets(data, len, &par->extradata, &par->extradata_size) < 0)
        log_err("%s: the first keyframe has no SPS/PPS", m->url);
    else
        rc = muxsink_start(m, par, h->t_mono_ns);
    avcodec_parameters_free(&par);
    return rc;
}

int muxsink_put(struct muxsink *m, const uint8_t *data, size_t len, bool key,
                int64_t t_ns)
{
    char why[128];

    int64_t pts = av_rescale_q(t_ns - m->t0_ns, (AVRational){1, 1000000000},
                               m->st->time_base);
    if (pts <= m->last_pts)
        pts = m->last_pts + 1; /* times must grow, whatever the stamps did */
    /* A frame lasts until the next one; the last, as long as the one
     * before it, so the file's duration counts it too. */
    if (m->last_pts >= 0)
        m->last_len = pts - m->last_pts;
    m->last_pts = pts;
    av_packet_unref(m->pkt);
    m->pkt->data = (uint8_t *)data; /* not ref-counted: the muxer copies */
    m->pkt->size = (int)len;
    m->pkt->pts = m->pkt->dts = pts;
    m->pkt->duration = m->last_len;
    m->pkt->stream_index = m->st->index;
    m->pkt->flags = key ? AV_PKT_FLAG_KEY : 0;
    int rc = av_write_frame(m->oc, m->pkt);
    m->pkt->data = NULL;
    m->pkt->size = 0;
    if (rc < 0) {
        av_strerror(rc, why, sizeof why);
        log_err("%s: %s", m->url, why);
        return -1;
    }
    m->frames++;
    return 0;
}

int muxsink_write(struct muxsink *m, vp_frame *f)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    const uint8_t *data;
    size_t len;

    if (h->codec != VP_CODEC_H264 || vp_frame_payload(f, &data, &len) < 0) {
        log_err("%s: needs H.264 frames (--variant h264)", m->url);
        return -1;
    }
    if (!m->open) {
        if (!h->keyframe)
            return 0; /* a container starts at a keyframe */
        if (start_h264(m, h, data, len) < 0)
            return -1;
    }
    return muxsink_put(m, data, len, h->keyframe, h->t_mono_ns);
}

void muxsink_free(struct muxsink *m)
{
    if (!m)
        return;
    if (m->open)
        av_write_trailer(m->oc);
    if (m->oc && !(m->oc->oformat->flags & AVFMT_NOFILE))
        avio_closep(&m->oc->pb);
    avformat_free_context(m->oc);
    av_packet_free(&m->pkt);
    free(m);
}
