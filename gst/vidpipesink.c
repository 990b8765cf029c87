/* vidpipesink.c -- a GStreamer sink that publishes what it gets as a
 * vidpipe stream, like vidpipe-capture.
 *
 * Every variant is made by the library while somebody wants it: shm
 * descriptors for same-host subscribers, raw, JPEG and H.264 payloads
 * for the others.  Each buffer is copied once, into the buffer the
 * publisher lends (vp_pub_loan(): a ring slot, or the ZeroMQ payload),
 * and committed as captured when it is rendered.
 *
 * Writing straight into the loan (upstream filling a pool of loaned
 * slots) would spare that copy; the publisher lends one buffer at a time
 * and its layout is fixed (shortest rows), so docs/GSTREAMER.md measures
 * the copy instead and says what it costs.
 */
#include <errno.h>
#include <string.h>

#include "format.h"
#include "gstvidpipe.h"

GST_DEBUG_CATEGORY_STATIC(vidpipesink_debug);
#define GST_CAT_DEFAULT vidpipesink_debug

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define DEFAULT_STREAM "cam0"

enum {
    PROP_0,
    PROP_ENDPOINT,
    PROP_STREAM,
    PROP_NO_SHM,
    PROP_RING_SLOTS,
    PROP_JPEG_QUALITY,
    PROP_H264_BITRATE,
    PROP_H264_GOP,
    PROP_FPS,
    PROP_BACKPRESSURE,
    PROP_WAIT_SUBSCRIBER,
    PROP_CURVE_SECRET,
    PROP_CURVE_ALLOW,
    PROP_STATS,
};

struct _GstVidpipeSink {
    GstBaseSink parent;

    /* properties, under the object lock */
    gchar *endpoint, *stream, *curve_secret, *curve_allow;
    gboolean no_shm;
    guint ring_slots, jpeg_quality, h264_bitrate, h264_gop;
    gdouble fps;
    guint backpressure_ms, wait_ms;

    vp_pub *pub;
    GstVideoInfo info;
    gboolean waited, flushing;
    guint64 seq; /* of the next buffer: a dropped one leaves a gap */
    guint64 frames, drops;
};

G_DEFINE_TYPE(GstVidpipeSink, gst_vidpipe_sink, GST_TYPE_BASE_SINK)
GST_ELEMENT_REGISTER_DEFINE(vidpipesink, "vidpipesink", GST_RANK_NONE,
                            GST_TYPE_VIDPIPE_SINK)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDPIPE_GST_FORMATS)));

static void sink_set_property(GObject *obj, guint id, const GValue *v,
                              GParamSpec *ps)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(obj);
    switch (id) {
    case PROP_ENDPOINT:
        vidpipe_set_string(GST_OBJECT(s), &s->endpoint, v);
        break;
    case PROP_STREAM:
        vidpipe_set_string(GST_OBJECT(s), &s->stream, v);
        break;
    case PROP_CURVE_SECRET:
        vidpipe_set_string(GST_OBJECT(s), &s->curve_secret, v);
        break;
    case PROP_CURVE_ALLOW:
        vidpipe_set_string(GST_OBJECT(s), &s->curve_allow, v);
        break;
    case PROP_NO_SHM:
        s->no_shm = g_value_get_boolean(v);
        break;
    case PROP_RING_SLOTS:
        s->ring_slots = g_value_get_uint(v);
        break;
    case PROP_JPEG_QUALITY:
        s->jpeg_quality = g_value_get_uint(v);
        break;
    case PROP_H264_BITRATE:
        s->h264_bitrate = g_value_get_uint(v);
        break;
    case PROP_H264_GOP:
        s->h264_gop = g_value_get_uint(v);
        break;
    case PROP_FPS:
        s->fps = g_value_get_double(v);
        break;
    case PROP_BACKPRESSURE:
        s->backpressure_ms = g_value_get_uint(v);
        break;
    case PROP_WAIT_SUBSCRIBER:
        s->wait_ms = g_value_get_uint(v);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void sink_get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(obj);
    GST_OBJECT_LOCK(s);
    switch (id) {
    case PROP_ENDPOINT:
        g_value_set_string(v, s->endpoint);
        break;
    case PROP_STREAM:
        g_value_set_string(v, s->stream);
        break;
    case PROP_CURVE_SECRET:
        g_value_set_string(v, s->curve_secret);
        break;
    case PROP_CURVE_ALLOW:
        g_value_set_string(v, s->curve_allow);
        break;
    case PROP_NO_SHM:
        g_value_set_boolean(v, s->no_shm);
        break;
    case PROP_RING_SLOTS:
        g_value_set_uint(v, s->ring_slots);
        break;
    case PROP_JPEG_QUALITY:
        g_value_set_uint(v, s->jpeg_quality);
        break;
    case PROP_H264_BITRATE:
        g_value_set_uint(v, s->h264_bitrate);
        break;
    case PROP_H264_GOP:
        g_value_set_uint(v, s->h264_gop);
        break;
    case PROP_FPS:
        g_value_set_double(v, s->fps);
        break;
    case PROP_BACKPRESSURE:
        g_value_set_uint(v, s->backpressure_ms);
        break;
    case PROP_WAIT_SUBSCRIBER:
        g_value_set_uint(v, s->wait_ms);
        break;
    case PROP_STATS: {
        GstStructure *st = gst_structure_new("vidpipesink-stats", "frames",
                                             G_TYPE_UINT64, s->frames, "drops",
                                             G_TYPE_UINT64, s->drops, NULL);
        static const char *const names[] = {"shm_sent", "raw_sent",
                                            "jpeg_encodes", "h264_encodes",
                                            "keyframes"};
        for (size_t i = 0; s->pub && i < G_N_ELEMENTS(names); i++) {
            uint64_t n;
            if (vp_stats_get(vp_pub_stats(s->pub), names[i], &n) == 0)
                gst_structure_set(st, names[i], G_TYPE_UINT64, n, NULL);
        }
        g_value_take_boxed(v, st);
        break;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
    GST_OBJECT_UNLOCK(s);
}

static gboolean sink_start(GstBaseSink *base)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(base);
    struct vp_pub_opts o;

    vp_pub_opts_init(&o);
    GST_OBJECT_LOCK(s);
    const char *url = s->endpoint ? s->endpoint : DEFAULT_ENDPOINT;
    o.stream = s->stream ? s->stream : DEFAULT_STREAM;
    o.no_shm = s->no_shm;
    if (s->ring_slots)
        o.ring_slots = s->ring_slots;
    if (s->jpeg_quality)
        o.jpeg_quality = (int)s->jpeg_quality;
    if (s->h264_bitrate)
        o.h264_bitrate = s->h264_bitrate;
    if (s->h264_gop)
        o.h264_gop = s->h264_gop;
    if (s->fps > 0)
        o.fps = s->fps;
    o.backpressure_ms = (int)s->backpressure_ms;
    o.curve_secret = s->curve_secret;
    o.curve_allow = s->curve_allow;
    int rc = vp_pub_open(&s->pub, url, &o);
    GST_OBJECT_UNLOCK(s);
    if (rc < 0) {
        GST_ELEMENT_ERROR(s, RESOURCE, OPEN_WRITE,
                          ("cannot publish on %s", url), ("%s", vp_errmsg()));
        return FALSE;
    }
    s->waited = FALSE;
    s->seq = s->frames = s->drops = 0;
    return TRUE;
}

static gboolean sink_stop(GstBaseSink *base)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(base);
    GST_OBJECT_LOCK(s);
    vp_pub *pub = s->pub;
    s->pub = NULL;
    GST_OBJECT_UNLOCK(s);
    vp_pub_close(pub);
    return TRUE;
}

static gboolean sink_unlock(GstBaseSink *base)
{
    g_atomic_int_set(&GST_VIDPIPE_SINK(base)->flushing, TRUE);
    return TRUE;
}

static gboolean sink_unlock_stop(GstBaseSink *base)
{
    g_atomic_int_set(&GST_VIDPIPE_SINK(base)->flushing, FALSE);
    return TRUE;
}

static gboolean sink_set_caps(GstBaseSink *base, GstCaps *caps)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(base);
    GstVideoInfo info;

    if (!gst_video_info_from_caps(&info, caps) ||
        vidpipe_vp_format(GST_VIDEO_INFO_FORMAT(&info)) == VP_PIX_NONE) {
        GST_ERROR_OBJECT(s, "caps %" GST_PTR_FORMAT " not a vidpipe format",
                         caps);
        return FALSE;
    }
    s->info = info;
    return TRUE;
}

static gboolean sink_propose_allocation(GstBaseSink *base, GstQuery *q)
{
    (void)base;
    /* Any strides do: the copy into the loan reads them from the meta. */
    gst_query_add_allocation_meta(q, GST_VIDEO_META_API_TYPE, NULL);
    return TRUE;
}

/* With wait-subscriber, holds the first frame until somebody wants the
 * stream (or the wait is over), so that a subscriber started with the
 * pipeline sees it from the start. */
static void wait_subscriber(GstVidpipeSink *s)
{
    int64_t end = vp_clock_mono_ns() + (int64_t)s->wait_ms * 1000000;
    while (!vp_pub_wanted(s->pub) && vp_clock_mono_ns() < end &&
           !g_atomic_int_get(&s->flushing))
        vp_pub_wait_until(s->pub, vp_clock_mono_ns() + 10000000);
    s->waited = TRUE;
}

static GstFlowReturn sink_render(GstBaseSink *base, GstBuffer *buf)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(base);
    GstVideoFrame vf;
    struct vp_image img;

    if (!s->waited && s->wait_ms)
        wait_subscriber(s);
    if (!gst_video_frame_map(&vf, &s->info, buf, GST_MAP_READ)) {
        GST_ELEMENT_ERROR(s, STREAM, FAILED, ("cannot map a buffer"), (NULL));
        return GST_FLOW_ERROR;
    }
    vidpipe_image_of_frame(&vf, &img);
    int rc = vp_pub_send(s->pub, &img, s->seq++);
    gst_video_frame_unmap(&vf);
    if (rc == -EAGAIN) { /* every buffer still in flight: a drop */
        s->drops++;
        return GST_FLOW_OK;
    }
    if (rc < 0) {
        GST_ELEMENT_ERROR(s, RESOURCE, WRITE, ("cannot publish a frame"),
                          ("%s", vp_errmsg()));
        return GST_FLOW_ERROR;
    }
    s->frames++;
    return GST_FLOW_OK;
}

static void sink_finalize(GObject *obj)
{
    GstVidpipeSink *s = GST_VIDPIPE_SINK(obj);
    g_free(s->endpoint);
    g_free(s->stream);
    g_free(s->curve_secret);
    g_free(s->curve_allow);
    G_OBJECT_CLASS(gst_vidpipe_sink_parent_class)->finalize(obj);
}

static void gst_vidpipe_sink_class_init(GstVidpipeSinkClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSinkClass *bc = GST_BASE_SINK_CLASS(klass);
    GParamFlags rw =
        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

    GST_DEBUG_CATEGORY_INIT(vidpipesink_debug, "vidpipesink", 0,
                            "vidpipe sink");
    oc->set_property = sink_set_property;
    oc->get_property = sink_get_property;
    oc->finalize = sink_finalize;

    g_object_class_install_property(
        oc, PROP_ENDPOINT,
        g_param_spec_string("endpoint", "Endpoint",
                            "Where to publish: tcp://HOST:PORT or ipc://PATH "
                            "to bind, or - for a frame stream on stdout (as "
                            "vidpipe-capture -o)",
                            DEFAULT_ENDPOINT, rw));
    g_object_class_install_property(oc, PROP_STREAM,
                                    g_param_spec_string("stream", "Stream",
                                                        "The stream's name",
                                                        DEFAULT_STREAM, rw));
    g_object_class_install_property(
        oc, PROP_NO_SHM,
        g_param_spec_boolean("no-shm", "No shared memory",
                             "Never offer frames through shared memory", FALSE,
                             rw));
    g_object_class_install_property(
        oc, PROP_RING_SLOTS,
        g_param_spec_uint("ring-slots", "Ring slots",
                          "Slots of the shared-memory ring, 2..64 (0: the "
                          "library's default, 8)",
                          0, 64, 0, rw));
    g_object_class_install_property(
        oc, PROP_JPEG_QUALITY,
        g_param_spec_uint("jpeg-quality", "JPEG quality",
                          "Quality of the JPEG variant, 1..100 (0: default, "
                          "80)",
                          0, 100, 0, rw));
    g_object_class_install_property(
        oc, PROP_H264_BITRATE,
        g_param_spec_uint("h264-bitrate", "H.264 bit rate",
                          "Bit/s of the H.264 variant (0: default, 4000000)", 0,
                          G_MAXUINT, 0, rw));
    g_object_class_install_property(
        oc, PROP_H264_GOP,
        g_param_spec_uint("h264-gop", "H.264 GOP",
                          "Frames between regular keyframes of the H.264 "
                          "variant (0: default, 60)",
                          0, G_MAXUINT, 0, rw));
    g_object_class_install_property(
        oc, PROP_FPS,
        g_param_spec_double("fps", "Frame rate",
                            "The frame rate H.264 rate control assumes (0: "
                            "default, 30)",
                            0, 1000, 0, rw));
    g_object_class_install_property(
        oc, PROP_BACKPRESSURE,
        g_param_spec_uint("backpressure", "Back-pressure",
                          "For unpaced upstreams (sync=false): wait up to "
                          "this many ms for room in a slow subscriber's "
                          "queue instead of dropping the frame there (0: "
                          "drop)",
                          0, 10000, 0, rw));
    g_object_class_install_property(
        oc, PROP_WAIT_SUBSCRIBER,
        g_param_spec_uint("wait-subscriber", "Wait for a subscriber",
                          "Hold the first frame up to this many ms until "
                          "somebody subscribes (0: do not wait)",
                          0, G_MAXUINT, 0, rw));
    g_object_class_install_property(
        oc, PROP_CURVE_SECRET,
        g_param_spec_string("curve-secret", "CURVE secret key",
                            "Encrypt with CURVE: this publisher's .key file "
                            "(with curve-allow)",
                            NULL, rw));
    g_object_class_install_property(
        oc, PROP_CURVE_ALLOW,
        g_param_spec_string("curve-allow", "CURVE allowed keys",
                            "A directory of the .pub files of the "
                            "subscribers let in",
                            NULL, rw));
    g_object_class_install_property(
        oc, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics",
                           "frames published, drops (no buffer free), and "
                           "the publisher's shm_sent, raw_sent, "
                           "jpeg_encodes, h264_encodes, keyframes",
                           GST_TYPE_STRUCTURE,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

    gst_element_class_set_static_metadata(
        ec, "vidpipe sink", "Sink/Video",
        "Publishes video as a vidpipe stream: shared memory on the same "
        "host, raw, JPEG or H.264 payloads for the others, each made only "
        "while wanted",
        "vidpipe");
    gst_element_class_add_static_pad_template(ec, &sink_template);

    bc->start = sink_start;
    bc->stop = sink_stop;
    bc->unlock = sink_unlock;
    bc->unlock_stop = sink_unlock_stop;
    bc->set_caps = sink_set_caps;
    bc->propose_allocation = sink_propose_allocation;
    bc->render = sink_render;
}

static void gst_vidpipe_sink_init(GstVidpipeSink *s)
{
    s->endpoint = g_strdup(DEFAULT_ENDPOINT);
    s->stream = g_strdup(DEFAULT_STREAM);
}
