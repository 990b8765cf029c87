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
    int64_t t0_ns, last_pts;
    bool open;
    uint64_t frames;
};

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool ends(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* The muxer for url, or NULL. */
static const char *format_of(const char *url, bool h264)
{
    if (starts(url, "rtsp://"))
        return "rtsp";
    if (starts(url, "rtmp://"))
        return "flv";
    if (starts(url, "srt://") || ends(url, ".ts"))
        return "mpegts";
    if (h264 && ends(url, ".mp4"))
        return "mp4";
    if (h264 && ends(url, ".mkv"))
        return "matroska";
    return NULL;
}

bool muxsink_takes(const char *url, bool h264)
{
    return format_of(url, h264) != NULL;
}

struct muxsink *muxsink_new(const char *url, char *err, size_t errlen)
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
    m->format = format_of(url, true);
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

/* Opens the container at the first keyframe f. */
static int open_mux(struct muxsink *m, const struct vp_frame_info *h,
                    const uint8_t *data, size_t len)
{
    AVDictionary *opts = NULL;
    char why[128];
    int rc;

    if (avformat_alloc_output_context2(&m->oc, NULL, m->format, m->url) < 0 ||
        !(m->st = avformat_new_stream(m->oc, NULL))) {
        log_err("%s: cannot make a %s muxer", m->url, m->format);
        return -1;
    }
    AVCodecParameters *cp = m->st->codecpar;
    cp->codec_type = AVMEDIA_TYPE_VIDEO;
    cp->codec_id = AV_CODEC_ID_H264;
    cp->width = (int)h->width;
    cp->height = (int)h->height;
    if (parameter_sets(data, len, &cp->extradata, &cp->extradata_size) < 0) {
        log_err("%s: the first keyframe has no SPS/PPS", m->url);
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
    m->t0_ns = h->t_mono_ns;
    m->last_pts = -1;
    m->open = true;
    log_info("%s: %s, H.264 %ux%u, muxed as it comes", m->url, m->format,
             h->width, h->height);
    return 0;
}

int muxsink_write(struct muxsink *m, vp_frame *f)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    const uint8_t *data;
    size_t len;
    char why[128];
    int rc;

    if (h->codec != VP_CODEC_H264 || vp_frame_payload(f, &data, &len) < 0) {
        log_err("%s: needs H.264 frames (--codec h264)", m->url);
        return -1;
    }
    if (!m->open) {
        if (!h->keyframe)
            return 0; /* a container starts at a keyframe */
        if (open_mux(m, h, data, len) < 0)
            return -1;
    }
    int64_t pts = av_rescale_q(h->t_mono_ns - m->t0_ns,
                               (AVRational){1, 1000000000}, m->st->time_base);
    if (pts <= m->last_pts)
        pts = m->last_pts + 1; /* times must grow, whatever the stamps did */
    m->last_pts = pts;
    av_packet_unref(m->pkt);
    m->pkt->data = (uint8_t *)data; /* not ref-counted: the muxer copies */
    m->pkt->size = (int)len;
    m->pkt->pts = m->pkt->dts = pts;
    m->pkt->stream_index = m->st->index;
    m->pkt->flags = h->keyframe ? AV_PKT_FLAG_KEY : 0;
    rc = av_write_frame(m->oc, m->pkt);
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
