/* vidpipesrc.c -- a live GStreamer source that subscribes to a vidpipe
 * stream, like vidpipe-display.
 *
 * Raw frames come as video/x-raw in the frame's own format and layout
 * (GstVideoMeta carries its strides and plane offsets), JPEG ones as
 * image/jpeg, H.264 ones as video/x-h264 (byte-stream, one access unit a
 * buffer).  The caps follow the frames: they are set from the first
 * frame, and again whenever a frame's geometry or format changes.
 *
 * Memory.  A payload (TCP, pipe) belongs to its vp_frame until released,
 * so buffers wrap it without a copy, and the frame is released when the
 * last buffer goes.  A shared-memory frame points into the publisher's
 * ring, which the publisher overwrites when it comes round again whatever
 * readers hold: by default it is copied once into a pooled buffer with
 * vp_frame_copy(), which checks it intact, and a frame overwritten while
 * copied is dropped (counted "stale").  zero-copy=true wraps the slot
 * instead: no copy, but a slot overwritten while downstream still holds
 * it can only be noticed (at unmap, counted "torn"), not undone.
 * docs/GSTREAMER.md has the figures behind that default.
 *
 * Time.  A frame's PTS is its capture time on the pipeline's clock: the
 * running time now less the frame's age (now - t_real_ns, on the
 * realtime clock both hosts share), so frames keep their capture spacing
 * whatever the transport added; "latency" is what the source reports to
 * the pipeline for that age.
 *
 * H.264 frames depend on the ones before, so codec=h264 takes every
 * frame in order (vp_sub_opts.every_frame; the queues stay bounded: a
 * subscriber that falls behind loses frames and then waits for a
 * keyframe, which the library asks for, as it does when it starts).
 * Raw and JPEG take the newest frame there is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "gstvidpipe.h"

GST_DEBUG_CATEGORY_STATIC(vidpipesrc_debug);
#define GST_CAT_DEFAULT vidpipesrc_debug

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:5556"
#define DEFAULT_LATENCY_MS 40
/* How long create() waits for a frame before it looks at flushing. */
#define POLL_MS 50

/* --- memory that wraps a frame --------------------------------------- */

/* A GstMemory over a frame's pixels or payload: the frame is released
 * when the memory is freed, and checked intact when it is unmapped. */
typedef struct {
    GstMemory mem;
    vp_frame *frame;
    guint8 *data;
    uint64_t *torn; /* the element's count of unmaps that found it
                       overwritten (atomic) */
} FrameMemory;

typedef struct {
    GstAllocator parent;
} FrameAllocator;
typedef struct {
    GstAllocatorClass parent_class;
} FrameAllocatorClass;

GType frame_allocator_get_type(void);
G_DEFINE_TYPE(FrameAllocator, frame_allocator, GST_TYPE_ALLOCATOR)

static GstMemory *fa_alloc(GstAllocator *a, gsize size,
                           GstAllocationParams *params)
{
    (void)a, (void)size, (void)params;
    return NULL; /* memory is only ever made over a frame */
}

static gpointer fa_map(GstMemory *mem, gsize maxsize, GstMapFlags flags)
{
    (void)maxsize;
    if (flags & GST_MAP_WRITE)
        return NULL;
    return ((FrameMemory *)mem)->data;
}

static void fa_unmap(GstMemory *mem)
{
    FrameMemory *fm = (FrameMemory *)mem;
    if (!vp_frame_intact(fm->frame)) {
        __atomic_add_fetch(fm->torn, 1, __ATOMIC_RELAXED);
        GST_WARNING("frame %" G_GUINT64_FORMAT " overwritten in the ring "
                    "while downstream read it",
                    vp_frame_info(fm->frame)->seq);
    }
}

static void fa_free(GstAllocator *a, GstMemory *mem)
{
    (void)a;
    FrameMemory *fm = (FrameMemory *)mem;
    vp_frame_release(fm->frame);
    g_free(fm);
}

static void frame_allocator_class_init(FrameAllocatorClass *klass)
{
    GST_ALLOCATOR_CLASS(klass)->alloc = fa_alloc;
    GST_ALLOCATOR_CLASS(klass)->free = fa_free;
}

static void frame_allocator_init(FrameAllocator *fa)
{
    GstAllocator *a = GST_ALLOCATOR(fa);
    a->mem_type = "VidpipeFrame";
    a->mem_map = fa_map;
    a->mem_unmap = fa_unmap;
    /* mem_copy: the allocator's fallback copies into system memory */
    GST_OBJECT_FLAG_SET(a, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

/* A read-only memory of len bytes at data, which owns f from now on. */
static GstMemory *frame_memory_new(GstAllocator *a, vp_frame *f, guint8 *data,
                                   gsize len, uint64_t *torn)
{
    FrameMemory *fm = g_new0(FrameMemory, 1);
    gst_memory_init(&fm->mem,
                    GST_MEMORY_FLAG_READONLY | GST_MEMORY_FLAG_NO_SHARE, a,
                    NULL, len, 0, 0, len);
    fm->frame = f;
    fm->data = data;
    fm->torn = torn;
    return &fm->mem;
}

/* --- the element ------------------------------------------------------- */

enum {
    PROP_0,
    PROP_ENDPOINT,
    PROP_STREAM,
    PROP_CODEC,
    PROP_NO_SHM,
    PROP_ZERO_COPY,
    PROP_LATENCY,
    PROP_CURVE_SECRET,
    PROP_CURVE_SERVER_KEY,
    PROP_STATS,
    PROP_STATS_JSON,
};

struct _GstVidpipeSrc {
    GstPushSrc parent;

    /* properties, under the object lock */
    gchar *endpoint, *stream, *curve_secret, *curve_server_key;
    enum vp_codec codec;
    gboolean no_shm, zero_copy, stats_json;
    guint latency_ms;

    vp_sub *sub;
    GstAllocator *alloc;
    gboolean flushing; /* atomic */
    gint want_key;     /* atomic: downstream asked for a keyframe */
    char key_stream[VP_STREAM_MAX + 1]; /* the stream it is asked of */

    /* What the caps describe now (codec, geometry), and for raw frames the
     * pool copies go into and whether downstream reads GstVideoMeta. */
    gboolean have_caps;
    enum vp_codec cur_codec;
    uint32_t cur_w, cur_h;
    enum vp_pixfmt cur_fmt;
    GstVideoInfo info;
    GstBufferPool *pool;
    gboolean meta_ok;
    GstClockTime last_pts;

    /* counters, read by the "stats" property and in the subscriber's
     * report (stats-json) */
    uint64_t copied, wrapped, stale, bad, keys_asked;
    uint64_t torn; /* atomic: unmaps that found a wrapped slot overwritten */
    GstCaps *unix_caps; /* of the capture times' GstReferenceTimestampMeta */
};

G_DEFINE_TYPE(GstVidpipeSrc, gst_vidpipe_src, GST_TYPE_PUSH_SRC)
GST_ELEMENT_REGISTER_DEFINE(vidpipesrc, "vidpipesrc", GST_RANK_NONE,
                            GST_TYPE_VIDPIPE_SRC)

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(
        VIDPIPE_GST_FORMATS) "; image/jpeg, width = (int) [ 1, 16384 ], "
                             "height = (int) [ 1, 16384 ], framerate = "
                             "(fraction) "
                             "[ 0/1, MAX ]; video/x-h264, stream-format = "
                             "(string) "
                             "byte-stream, alignment = (string) au, width = "
                             "(int) "
                             "[ 1, 16384 ], height = (int) [ 1, 16384 ], "
                             "framerate "
                             "= (fraction) [ 0/1, MAX ]"));

static GstStructure *stats_of(GstVidpipeSrc *s)
{
    GstStructure *st = gst_structure_new(
        "vidpipesrc-stats", "copied", G_TYPE_UINT64, s->copied, "wrapped",
        G_TYPE_UINT64, s->wrapped, "stale", G_TYPE_UINT64, s->stale,
        "bad_frames", G_TYPE_UINT64, s->bad, "keys_asked", G_TYPE_UINT64,
        s->keys_asked, "torn_at_unmap", G_TYPE_UINT64,
        __atomic_load_n(&s->torn, __ATOMIC_RELAXED), NULL);
    if (s->sub) {
        static const char *const names[] = {
            "frames",           "drops",      "torn",       "bad",
            "waiting_keyframe", "lat_p50_us", "lat_p99_us", "lat_max_us"};
        vp_stats *vs = vp_sub_stats(s->sub);
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
            uint64_t v;
            if (vp_stats_get(vs, names[i], &v) == 0)
                gst_structure_set(st, names[i], G_TYPE_UINT64, v, NULL);
        }
    }
    return st;
}

static void src_set_property(GObject *obj, guint id, const GValue *v,
                             GParamSpec *ps)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(obj);
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
    case PROP_CURVE_SERVER_KEY:
        vidpipe_set_string(GST_OBJECT(s), &s->curve_server_key, v);
        break;
    case PROP_CODEC:
        s->codec = (enum vp_codec)g_value_get_enum(v);
        break;
    case PROP_NO_SHM:
        s->no_shm = g_value_get_boolean(v);
        break;
    case PROP_ZERO_COPY:
        s->zero_copy = g_value_get_boolean(v);
        break;
    case PROP_LATENCY:
        s->latency_ms = g_value_get_uint(v);
        break;
    case PROP_STATS_JSON:
        s->stats_json = g_value_get_boolean(v);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void src_get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(obj);
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
    case PROP_CURVE_SERVER_KEY:
        g_value_set_string(v, s->curve_server_key);
        break;
    case PROP_CODEC:
        g_value_set_enum(v, s->codec);
        break;
    case PROP_NO_SHM:
        g_value_set_boolean(v, s->no_shm);
        break;
    case PROP_ZERO_COPY:
        g_value_set_boolean(v, s->zero_copy);
        break;
    case PROP_LATENCY:
        g_value_set_uint(v, s->latency_ms);
        break;
    case PROP_STATS_JSON:
        g_value_set_boolean(v, s->stats_json);
        break;
    case PROP_STATS:
        g_value_take_boxed(v, stats_of(s));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
    GST_OBJECT_UNLOCK(s);
}

static void drop_pool(GstVidpipeSrc *s)
{
    if (s->pool) {
        gst_buffer_pool_set_active(s->pool, FALSE);
        gst_object_unref(s->pool);
        s->pool = NULL;
    }
}

static gboolean src_start(GstBaseSrc *base)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(base);
    struct vp_sub_opts o;
    const char *key;
    int rc;

    vp_sub_opts_init(&o);
    GST_OBJECT_LOCK(s);
    const char *url = s->endpoint ? s->endpoint : DEFAULT_ENDPOINT;
    o.stream = s->stream && *s->stream ? s->stream : NULL;
    o.codec = s->codec;
    o.shm = s->no_shm ? VP_SHM_OFF : VP_SHM_AUTO;
    o.every_frame = s->codec == VP_CODEC_H264;
    o.curve_secret = s->curve_secret;
    key = s->curve_server_key;
    if (key) {
        o.curve_server_keys = &key;
        o.ncurve_server_keys = 1;
    }
    rc = vp_sub_open(&s->sub, &url, 1, &o);
    g_strlcpy(s->key_stream, o.stream ? o.stream : "", sizeof s->key_stream);
    GST_OBJECT_UNLOCK(s);
    if (rc < 0) {
        GST_ELEMENT_ERROR(s, RESOURCE, OPEN_READ,
                          ("cannot subscribe to %s", url), ("%s", vp_errmsg()));
        return FALSE;
    }
    s->have_caps = FALSE;
    s->last_pts = GST_CLOCK_TIME_NONE;
    s->copied = s->wrapped = s->stale = s->bad = s->keys_asked = 0;
    g_atomic_int_set(&s->want_key, 0);
    __atomic_store_n(&s->torn, 0, __ATOMIC_RELAXED);
    vp_stats *st = vp_sub_stats(s->sub);
    vp_stats_add(st, "keys_asked", &s->keys_asked);
    vp_stats_add(st, "copied", &s->copied);
    vp_stats_add(st, "wrapped", &s->wrapped);
    vp_stats_add(st, "stale", &s->stale);
    vp_stats_add(st, "torn_at_unmap", &s->torn);
    return TRUE;
}

/* One --stats-json line on stderr, as vidpipe-display prints it. */
static void report(GstVidpipeSrc *s, bool final)
{
    char line[2048];
    if (vp_stats_json(vp_sub_stats(s->sub), "vidpipesrc", final, line,
                      sizeof line) > 0)
        fprintf(stderr, "%s\n", line);
}

static gboolean src_stop(GstBaseSrc *base)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(base);
    if (s->stats_json && s->sub)
        report(s, true);
    drop_pool(s);
    GST_OBJECT_LOCK(s);
    vp_sub *sub = s->sub;
    s->sub = NULL;
    GST_OBJECT_UNLOCK(s);
    /* Frames downstream still holds stay valid until released. */
    vp_sub_close(sub);
    return TRUE;
}

static gboolean src_unlock(GstBaseSrc *base)
{
    g_atomic_int_set(&GST_VIDPIPE_SRC(base)->flushing, TRUE);
    return TRUE;
}

static gboolean src_unlock_stop(GstBaseSrc *base)
{
    g_atomic_int_set(&GST_VIDPIPE_SRC(base)->flushing, FALSE);
    return TRUE;
}

/* Caps come from the frames: none until the first one. */
static gboolean src_negotiate(GstBaseSrc *base)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(base);
    if (!s->have_caps)
        return TRUE;
    GstCaps *caps = gst_pad_get_current_caps(GST_BASE_SRC_PAD(base));
    gboolean ok = caps ? gst_base_src_set_caps(base, caps) : TRUE;
    if (caps)
        gst_caps_unref(caps);
    return ok;
}

static gboolean src_decide_allocation(GstBaseSrc *base, GstQuery *q)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(base);
    s->meta_ok =
        gst_query_find_allocation_meta(q, GST_VIDEO_META_API_TYPE, NULL);
    return GST_BASE_SRC_CLASS(gst_vidpipe_src_parent_class)
        ->decide_allocation(base, q);
}

static gboolean src_query(GstBaseSrc *base, GstQuery *q)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(base);
    if (GST_QUERY_TYPE(q) == GST_QUERY_LATENCY) {
        GstClockTime lat = (GstClockTime)s->latency_ms * GST_MSECOND;
        gst_query_set_latency(q, TRUE, lat, lat);
        return TRUE;
    }
    return GST_BASE_SRC_CLASS(gst_vidpipe_src_parent_class)->query(base, q);
}

/* Sets the caps for frames of info i when they differ from the last. */
static gboolean ensure_caps(GstVidpipeSrc *s, const struct vp_frame_info *i)
{
    if (s->have_caps && s->cur_codec == i->codec && s->cur_w == i->width &&
        s->cur_h == i->height &&
        (i->codec != VP_CODEC_RAW || s->cur_fmt == i->fmt))
        return TRUE;

    GstCaps *caps;
    if (i->codec == VP_CODEC_RAW) {
        GstVideoFormat gf = vidpipe_gst_format(i->fmt);
        if (gf == GST_VIDEO_FORMAT_UNKNOWN)
            return FALSE;
        gst_video_info_set_format(&s->info, gf, i->width, i->height);
        s->info.fps_n = 0;
        s->info.fps_d = 1;
        /* vidpipe's YUV is BT.601, limited range (vidpipe.h) */
        if (GST_VIDEO_INFO_IS_YUV(&s->info))
            gst_video_colorimetry_from_string(&s->info.colorimetry, "bt601");
        caps = gst_video_info_to_caps(&s->info);
    } else if (i->codec == VP_CODEC_JPEG) {
        caps = gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT,
                                   (int)i->width, "height", G_TYPE_INT,
                                   (int)i->height, "framerate",
                                   GST_TYPE_FRACTION, 0, 1, NULL);
    } else {
        caps = gst_caps_new_simple(
            "video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream",
            "alignment", G_TYPE_STRING, "au", "width", G_TYPE_INT,
            (int)i->width, "height", G_TYPE_INT, (int)i->height, "framerate",
            GST_TYPE_FRACTION, 0, 1, NULL);
    }
    GST_INFO_OBJECT(s, "caps %" GST_PTR_FORMAT, caps);
    drop_pool(s);
    gboolean ok = gst_base_src_set_caps(GST_BASE_SRC(s), caps);
    if (ok && i->codec == VP_CODEC_RAW) {
        s->pool = gst_video_buffer_pool_new();
        GstStructure *cfg = gst_buffer_pool_get_config(s->pool);
        gst_buffer_pool_config_set_params(cfg, caps, s->info.size, 2, 0);
        gst_buffer_pool_config_add_option(cfg,
                                          GST_BUFFER_POOL_OPTION_VIDEO_META);
        ok = gst_buffer_pool_set_config(s->pool, cfg) &&
             gst_buffer_pool_set_active(s->pool, TRUE);
    }
    gst_caps_unref(caps);
    if (!ok) { /* not-negotiated: create() stops the stream */
        drop_pool(s);
        s->have_caps = FALSE;
        return FALSE;
    }
    s->have_caps = TRUE;
    s->cur_codec = i->codec;
    s->cur_w = i->width;
    s->cur_h = i->height;
    s->cur_fmt = i->fmt;
    return TRUE;
}

/* The capture time of a frame of info i as a PTS: the running time now
 * less the frame's age, never going back. */
static GstClockTime pts_of(GstVidpipeSrc *s, const struct vp_frame_info *i)
{
    GstClock *clock = gst_element_get_clock(GST_ELEMENT(s));
    if (!clock)
        return GST_CLOCK_TIME_NONE;
    GstClockTime now = gst_clock_get_time(clock);
    GstClockTime base = gst_element_get_base_time(GST_ELEMENT(s));
    gst_object_unref(clock);
    int64_t age = vp_clock_real_ns() - i->t_real_ns;
    if (age < 0)
        age = 0;
    GstClockTime run = now > base ? now - base : 0;
    GstClockTime pts = run > (GstClockTime)age ? run - (GstClockTime)age : 0;
    if (GST_CLOCK_TIME_IS_VALID(s->last_pts) && pts <= s->last_pts)
        pts = s->last_pts + 1;
    s->last_pts = pts;
    return pts;
}

/* A buffer over f's pixels (owning f), or NULL if their layout is one
 * downstream cannot read without GstVideoMeta. */
static GstBuffer *wrap_image(GstVidpipeSrc *s, vp_frame *f,
                             const struct vp_image *img)
{
    gsize offset[GST_VIDEO_MAX_PLANES] = {0}, end;
    gint stride[GST_VIDEO_MAX_PLANES] = {0};

    if (!vidpipe_image_planes(img, offset, stride, &end))
        return NULL;
    if (!vidpipe_layout_is_info(img, offset, stride, &s->info) && !s->meta_ok)
        return NULL;
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_append_memory(
        buf, frame_memory_new(s->alloc, f, img->data[0], end, &s->torn));
    gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE,
                                   GST_VIDEO_INFO_FORMAT(&s->info), img->width,
                                   img->height, img->nplanes, offset, stride);
    return buf;
}

/* A pooled buffer with a checked copy of f's pixels; NULL if they were
 * overwritten while copied (or no buffer came). */
static GstBuffer *copy_image(GstVidpipeSrc *s, vp_frame *f)
{
    GstBuffer *buf = NULL;
    GstVideoFrame vf;
    struct vp_image dst;

    if (gst_buffer_pool_acquire_buffer(s->pool, &buf, NULL) != GST_FLOW_OK)
        return NULL;
    if (!gst_video_frame_map(&vf, &s->info, buf, GST_MAP_WRITE)) {
        gst_buffer_unref(buf);
        return NULL;
    }
    vidpipe_image_of_frame(&vf, &dst);
    int rc = vp_frame_copy(f, &dst);
    gst_video_frame_unmap(&vf);
    if (rc < 0) {
        if (rc == -ESTALE)
            s->stale++;
        else
            s->bad++;
        GST_DEBUG_OBJECT(s, "frame %" G_GUINT64_FORMAT " not copied: %s",
                         vp_frame_info(f)->seq, vp_errmsg());
        gst_buffer_unref(buf);
        return NULL;
    }
    s->copied++;
    return buf;
}

/* f as a buffer (taking f), or NULL: it was torn, bad or unexpected. */
static GstBuffer *buffer_of(GstVidpipeSrc *s, vp_frame *f)
{
    const struct vp_frame_info *i = vp_frame_info(f);
    struct vp_image img;
    const uint8_t *data;
    size_t len;
    GstBuffer *buf = NULL;
    vp_frame *frame = f; /* f is NULL once a buffer owns it */

    if (i->codec == VP_CODEC_H264 && strcmp(s->key_stream, i->stream) != 0)
        g_strlcpy(s->key_stream, i->stream, sizeof s->key_stream);
    if (!ensure_caps(s, i)) {
        GST_WARNING_OBJECT(s,
                           "frame %" G_GUINT64_FORMAT " of %ux%u: caps "
                           "not accepted downstream",
                           i->seq, i->width, i->height);
        vp_frame_release(f);
        return NULL;
    }
    if (i->codec == VP_CODEC_RAW) {
        if (vp_frame_image(f, &img) < 0) {
            s->bad++;
        } else if (i->path != VP_PATH_SHM || s->zero_copy) {
            /* A payload is the frame's own until released: no copy. */
            buf = wrap_image(s, f, &img);
            if (buf) {
                s->wrapped++;
                f = NULL;
            }
        }
        if (f && !buf && s->pool && vp_frame_image(f, &img) == 0)
            buf = copy_image(s, f);
    } else if (vp_frame_payload(f, &data, &len) == 0 && len > 0) {
        buf = gst_buffer_new();
        gst_buffer_append_memory(
            buf, frame_memory_new(s->alloc, f, (guint8 *)data, len, &s->torn));
        if (!i->keyframe && i->codec == VP_CODEC_H264)
            GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
        s->wrapped++;
        f = NULL;
    } else {
        s->bad++;
    }
    if (buf) {
        GST_BUFFER_PTS(buf) = pts_of(s, i);
        GST_BUFFER_DTS(buf) = GST_BUFFER_PTS(buf);
        GST_BUFFER_OFFSET(buf) = i->seq;
        /* Its latency counts to here, as it goes downstream. */
        vp_frame_shown(frame);
        if (i->t_real_ns > 0)
            gst_buffer_add_reference_timestamp_meta(buf, s->unix_caps,
                                                    (GstClockTime)i->t_real_ns,
                                                    GST_CLOCK_TIME_NONE);
    }
    if (f)
        vp_frame_release(f);
    return buf;
}

/* A force-key-unit event from downstream (a payloader, a muxer that
 * starts a file, a client that joins): the streaming thread, which owns
 * the subscriber, asks the publishers for a keyframe. */
static gboolean src_event(GstBaseSrc *bsrc, GstEvent *event)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(bsrc);

    if (gst_video_event_is_force_key_unit(event)) {
        g_atomic_int_set(&s->want_key, 1);
        return TRUE;
    }
    return GST_BASE_SRC_CLASS(gst_vidpipe_src_parent_class)->event(bsrc, event);
}

/* Asks for the keyframe src_event() noted, of the stream named or the
 * one the frames came from; raw and JPEG frames need none. */
static void ask_keyframe(GstVidpipeSrc *s)
{
    if (!g_atomic_int_compare_and_exchange(&s->want_key, 1, 0) ||
        s->codec != VP_CODEC_H264 || !s->key_stream[0])
        return;
    if (vp_sub_ask_keyframe(s->sub, s->key_stream) < 0)
        GST_WARNING_OBJECT(s, "no keyframe asked for: %s", vp_errmsg());
    else
        s->keys_asked++;
}

static GstFlowReturn src_create(GstPushSrc *push, GstBuffer **out)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(push);

    for (;;) {
        vp_frame *f;
        if (g_atomic_int_get(&s->flushing))
            return GST_FLOW_FLUSHING;
        ask_keyframe(s);
        if (s->stats_json && vp_stats_tick(vp_sub_stats(s->sub)))
            report(s, false);
        int rc = vp_sub_next(s->sub, POLL_MS, &f);
        if (rc == -ETIMEDOUT || rc == -EINTR)
            continue;
        if (rc == -ENODATA)
            return GST_FLOW_EOS; /* the end of a frame stream, "-" */
        if (rc < 0) {
            GST_ELEMENT_ERROR(s, RESOURCE, READ, ("cannot receive frames"),
                              ("%s", vp_errmsg()));
            return GST_FLOW_ERROR;
        }
        *out = buffer_of(s, f);
        if (*out)
            return GST_FLOW_OK;
        if (!s->have_caps)
            return GST_FLOW_NOT_NEGOTIATED;
    }
}

static void src_finalize(GObject *obj)
{
    GstVidpipeSrc *s = GST_VIDPIPE_SRC(obj);
    g_free(s->endpoint);
    g_free(s->stream);
    g_free(s->curve_secret);
    g_free(s->curve_server_key);
    if (s->alloc)
        gst_object_unref(s->alloc);
    gst_caps_unref(s->unix_caps);
    G_OBJECT_CLASS(gst_vidpipe_src_parent_class)->finalize(obj);
}

static void gst_vidpipe_src_class_init(GstVidpipeSrcClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSrcClass *bc = GST_BASE_SRC_CLASS(klass);
    GParamFlags rw =
        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

    GST_DEBUG_CATEGORY_INIT(vidpipesrc_debug, "vidpipesrc", 0,
                            "vidpipe source");
    oc->set_property = src_set_property;
    oc->get_property = src_get_property;
    oc->finalize = src_finalize;

    g_object_class_install_property(
        oc, PROP_ENDPOINT,
        g_param_spec_string("endpoint", "Endpoint",
                            "The publisher to subscribe to: tcp://HOST:PORT, "
                            "ipc://PATH, or - for a frame stream on stdin "
                            "(as vidpipe-display -i)",
                            DEFAULT_ENDPOINT, rw));
    g_object_class_install_property(
        oc, PROP_STREAM,
        g_param_spec_string("stream", "Stream",
                            "Only this stream (as vidpipe-display -s); "
                            "unset: any stream, so set it when the endpoint "
                            "carries several",
                            NULL, rw));
    g_object_class_install_property(
        oc, PROP_CODEC,
        g_param_spec_enum("codec", "Codec",
                          "The variant to ask the publisher for: raw "
                          "(video/x-raw; shared memory on the same host), "
                          "jpeg (image/jpeg) or h264 (video/x-h264, "
                          "byte-stream, au; every frame in order, a "
                          "keyframe asked for at the start)",
                          VIDPIPE_TYPE_CODEC, VP_CODEC_RAW, rw));
    g_object_class_install_property(
        oc, PROP_NO_SHM,
        g_param_spec_boolean("no-shm", "No shared memory",
                             "Never use shared memory: raw payloads over "
                             "ZeroMQ even on the same host",
                             FALSE, rw));
    g_object_class_install_property(
        oc, PROP_ZERO_COPY,
        g_param_spec_boolean(
            "zero-copy", "Zero copy",
            "Wrap shared-memory ring slots instead of copying them: no "
            "copy, but a slot the publisher overwrites while downstream "
            "holds it is only counted (stats torn_at_unmap), not "
            "withheld; default: one checked copy (docs/GSTREAMER.md)",
            FALSE, rw));
    g_object_class_install_property(
        oc, PROP_LATENCY,
        g_param_spec_uint("latency", "Latency",
                          "The latency reported to the pipeline, in ms: how "
                          "old a frame may be when it arrives (PTS are "
                          "capture times)",
                          0, 10000, DEFAULT_LATENCY_MS, rw));
    g_object_class_install_property(
        oc, PROP_CURVE_SECRET,
        g_param_spec_string("curve-secret", "CURVE secret key",
                            "Encrypt with CURVE: this subscriber's .key file "
                            "(vidpipe-keygen; with curve-server-key)",
                            NULL, rw));
    g_object_class_install_property(
        oc, PROP_CURVE_SERVER_KEY,
        g_param_spec_string("curve-server-key", "CURVE server key",
                            "The publisher's .pub file (with curve-secret)",
                            NULL, rw));
    g_object_class_install_property(
        oc, PROP_STATS_JSON,
        g_param_spec_boolean("stats-json", "Stats JSON",
                             "Print the subscriber's stats as a JSON line on "
                             "stderr once a second and at stop, as "
                             "vidpipe-display --stats-json does "
                             "(docs/STATS.md), with copied, wrapped, stale "
                             "and torn_at_unmap",
                             FALSE, rw));
    g_object_class_install_property(
        oc, PROP_STATS,
        g_param_spec_boxed("stats", "Statistics",
                           "copied, wrapped, stale (overwritten while "
                           "copied: dropped), bad_frames, keys_asked "
                           "(keyframes asked for on force-key-unit "
                           "events), torn_at_unmap, "
                           "and the subscriber's frames, drops, torn, bad, "
                           "waiting_keyframe, lat_p50_us, lat_p99_us, "
                           "lat_max_us",
                           GST_TYPE_STRUCTURE,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

    gst_element_class_set_static_metadata(
        ec, "vidpipe source", "Source/Video",
        "Subscribes to a vidpipe stream: raw frames (zero-copy shared "
        "memory on the same host), JPEG or H.264",
        "vidpipe");
    gst_element_class_add_static_pad_template(ec, &src_template);

    bc->start = src_start;
    bc->stop = src_stop;
    bc->unlock = src_unlock;
    bc->unlock_stop = src_unlock_stop;
    bc->negotiate = src_negotiate;
    bc->decide_allocation = src_decide_allocation;
    bc->query = src_query;
    bc->event = src_event;
    GST_PUSH_SRC_CLASS(klass)->create = src_create;
    gst_type_mark_as_plugin_api(VIDPIPE_TYPE_CODEC, 0);
}

static void gst_vidpipe_src_init(GstVidpipeSrc *s)
{
    s->endpoint = g_strdup(DEFAULT_ENDPOINT);
    s->codec = VP_CODEC_RAW;
    s->latency_ms = DEFAULT_LATENCY_MS;
    s->unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
    s->alloc = g_object_new(frame_allocator_get_type(), NULL);
    gst_object_ref_sink(s->alloc);
    gst_base_src_set_live(GST_BASE_SRC(s), TRUE);
    gst_base_src_set_format(GST_BASE_SRC(s), GST_FORMAT_TIME);
}
