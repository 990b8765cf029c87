/* vidpipe.h -- libvidpipe: publish and subscribe to live video.
 *
 * A publisher (vp_pub) binds an endpoint and sends frames; any number of
 * subscribers (vp_sub), in other processes or on other hosts, connect and
 * receive them.  On one host a frame is written once into a shared-memory
 * ring and subscribers use its pixels in place; across hosts it travels
 * once per link as a raw or JPEG payload.  A publisher produces each of
 * those variants only while somebody subscribes to it, and then once for
 * all of them.  A subscriber always gets the newest frame: frames it had
 * no time for are skipped and counted as drops, never queued.
 *
 * Endpoints: "tcp://HOST:PORT" and "ipc://PATH" (ZeroMQ: a publisher
 * binds, a subscriber connects; "connect:tcp://..." makes a publisher
 * dial a subscriber that binds "bind:tcp://...", a gateway's input a
 * camera behind NAT can reach), or "-": a frame stream on stdout
 * (publisher) or stdin (subscriber), for shell pipelines and recordings.
 *
 * Conventions: every fallible function returns 0 or a negative errno;
 * vp_errmsg() then gives a one-line reason to log.  Every publisher and
 * subscriber is used by one thread at a time (the caller's; a subscriber
 * keeps a receiver thread of its own inside); its frames may be looked at
 * and released on other threads.  Destructors accept NULL.
 *
 * Signals: a publisher on "-" whose reader has gone gets -EPIPE only if
 * SIGPIPE is ignored (otherwise the signal ends the process, as for any
 * write to a closed pipe); waits return -EINTR when a signal arrives.
 * Mapping a shm ring installs a SIGBUS handler that turns a ring cut
 * short under us into torn frames (RING.md 7) and passes every other
 * SIGBUS on to the handler it displaced.  docs/API.md has the model and
 * complete examples.
 */
#ifndef VIDPIPE_H
#define VIDPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VP_BUILDING) && defined(__GNUC__)
#define VP_API __attribute__((visibility("default")))
#else
#define VP_API
#endif

/* --- basics ------------------------------------------------------------ */

/* The library's version, "MAJOR.MINOR.PATCH". */
VP_API const char *vp_version(void);

/* The reason for the calling thread's last failed vp_ call: one line,
 * valid until its next vp_ call. */
VP_API const char *vp_errmsg(void);

/* Sets the prefix of the library's diagnostic lines on stderr (a
 * program's name; default "vidpipe").  prog is borrowed for good.  Call
 * before opening anything. */
VP_API void vp_log_prefix(const char *prog);
/* Quiet: the library logs warnings and errors only, no information. */
VP_API void vp_log_quiet(bool quiet);

/* Now, in ns, on CLOCK_MONOTONIC and CLOCK_REALTIME: the clocks of a
 * frame's t_mono_ns and t_real_ns. */
VP_API int64_t vp_clock_mono_ns(void);
VP_API int64_t vp_clock_real_ns(void);

/* Pixel formats, named as ffmpeg names them.  The YUV ones are BT.601,
 * limited range, as cameras and ffmpeg make them; yuv420p and nv12 need
 * an even width and height, yuyv422 an even width. */
enum vp_pixfmt {
    VP_PIX_NONE = 0,
    VP_PIX_BGR24 = 1, /* packed, 3 bytes a pixel */
    VP_PIX_RGB24 = 2,
    VP_PIX_GRAY = 3,    /* 1 byte a pixel */
    VP_PIX_YUV420P = 4, /* planes Y, U, V; U and V of half width and height */
    VP_PIX_NV12 = 5,    /* planes Y and UV: U V pairs, half height */
    VP_PIX_YUYV422 = 6, /* packed Y0 U Y1 V: 2 bytes a pixel */
};

/* "bgr24", "rgb24", "gray", "yuv420p", "nv12", "yuyv422"; NULL for an
 * unknown format. */
VP_API const char *vp_pixfmt_name(enum vp_pixfmt fmt);
/* The format of that name, VP_PIX_NONE if none. */
VP_API enum vp_pixfmt vp_pixfmt_parse(const char *name);
/* Bytes a pixel of a packed format (yuyv422: 2); 0 if planar or unknown. */
VP_API unsigned vp_pixfmt_bpp(enum vp_pixfmt fmt);

/* How a frame's pixels travel. */
enum vp_codec {
    VP_CODEC_RAW = 0,
    VP_CODEC_JPEG = 1,
    VP_CODEC_H264 = 2, /* encoded once for all, only while wanted */
};

/* "raw", "jpeg", "h264"; and the codec of a name (-EINVAL if none). */
VP_API const char *vp_codec_name(enum vp_codec c);
VP_API int vp_codec_parse(const char *name, enum vp_codec *c);

#define VP_MAX_PLANES 3
#define VP_STREAM_MAX 63 /* bytes of a stream name */
#define VP_DIM_MAX 16384

/* A picture in memory: the planes of one frame.  Packed formats have one
 * plane.  Whoever fills one in says how long its pointers stay valid. */
struct vp_image {
    uint32_t width, height;
    enum vp_pixfmt fmt;
    unsigned nplanes;
    uint8_t *data[VP_MAX_PLANES];
    uint32_t stride[VP_MAX_PLANES]; /* bytes a row */
};

/* Lays out a w x h picture of fmt in one buffer, as frames carry it (in
 * a ring slot, a payload, on a pipe): its first plane's rows are stride
 * bytes (0: as short as they can be: w * 3, w, 2 w); yuv420p's U and V
 * rows are half that, nv12's U V rows the same; each plane follows the
 * one before.
 * img gets the planes at buf (NULL: measure only).  The bytes it takes,
 * or 0 for a geometry fmt does not allow. */
VP_API size_t vp_image_layout(struct vp_image *img, uint32_t w, uint32_t h,
                              enum vp_pixfmt fmt, uint32_t stride,
                              uint8_t *buf);

/* A converter between pixel formats, for what needs another format than
 * the frames have (a window wants bgr24): its state is reused from frame
 * to frame.  Used by one thread at a time. */
typedef struct vp_convert vp_convert;

/* 0 with *c, or -ENOMEM. */
VP_API int vp_convert_new(vp_convert **c);
VP_API void vp_convert_free(vp_convert *c);
/* Converts src into dst, of the same width and height, in any of the
 * formats: exact between the packed RGB formats and from a format to
 * itself.  0, -EINVAL or -ENOMEM. */
VP_API int vp_convert_image(vp_convert *c, const struct vp_image *src,
                            const struct vp_image *dst);
/* The same into a picture of fmt that c keeps, laid out tight
 * (vp_image_layout() with stride 0): *out gets its planes, valid until the
 * next call on c or vp_convert_free().  0, -EINVAL or -ENOMEM. */
VP_API int vp_convert_to(vp_convert *c, const struct vp_image *src,
                         enum vp_pixfmt fmt, struct vp_image *out);

/* True if name is a valid stream name: 1..63 of [A-Za-z0-9_.-]. */
VP_API bool vp_stream_name_ok(const char *name);

/* --- the test pattern ---------------------------------------------------- */

/* The picture of the "test:" source: frame seq shows its own sequence
 * number as large cells (with a check code) that survive JPEG, so any
 * receiver can verify which frame it got.  The image must be at least
 * 64x48.  0 or -EINVAL. */
VP_API int vp_pattern_draw(const struct vp_image *img, uint64_t seq);
/* vp_pattern_draw() into an image that holds a picture vp_pattern_draw()
 * made at the same size, format and strides, of any seq (a buffer a
 * publisher lends again, say): only the bytes that change are written,
 * about a quarter of the frame.  Given any other image, what it leaves
 * is not the pattern; the test: source checks (vp_pattern_read()) that
 * the buffer still shows the frame it drew there before it calls this.
 * 0 or -EINVAL. */
VP_API int vp_pattern_update(const struct vp_image *img, uint64_t seq);
/* Reads the sequence number back from a pattern picture.  0 with *seq,
 * -EBADMSG if the cells do not decode, -EINVAL for a bad image. */
VP_API int vp_pattern_read(const struct vp_image *img, uint64_t *seq);

/* --- statistics -------------------------------------------------------- */

/* What a publisher or subscriber counted: the figures --stats-json
 * prints.  Owned by its publisher or subscriber, and read on the thread
 * that uses it (frames released on other threads are counted under a
 * lock; a report read meanwhile may be a frame behind). */
typedef struct vp_stats vp_stats;

/* A counter by its JSON name ("frames", "drops", "bad", "torn", "bytes",
 * "received", "shm_sent", ...), or a latency of the whole run so far
 * ("lat_p50_us", "lat_p99_us", "lat_max_us").  0 with *v, or -ENOENT. */
VP_API int vp_stats_get(const vp_stats *st, const char *name, uint64_t *v);

/* A counter's place, to show it in another report too (a relay shows its
 * publisher's ring_writes beside its subscriber's figures): valid while
 * st is.  NULL if st has no such counter among its own extra ones. */
VP_API const uint64_t *vp_stats_ref(const vp_stats *st, const char *name);

/* Adds a counter of the caller's to the report (verified, late_skips):
 * *v is read at each report and must outlive st.  name is borrowed too.
 * 0 or -ENOSPC. */
VP_API int vp_stats_add(vp_stats *st, const char *name, const uint64_t *v);
/* The same for a reading rather than a count (a relay's "streams"). */
VP_API int vp_stats_add_gauge(vp_stats *st, const char *name,
                              const uint64_t *v);

/* What a figure of a report is, and so which field of struct vp_stat
 * holds its value. */
enum vp_stat_type {
    VP_STAT_COUNTER, /* u: a count since the start ("frames", "bytes") */
    VP_STAT_GAUGE,   /* u: a reading ("lat_p50_us") */
    VP_STAT_FLAG,    /* u: 0 or 1 ("stalled") */
    VP_STAT_SECONDS, /* d: a time in seconds ("t", "uptime_s") */
    VP_STAT_RATE,    /* d: a number a second ("fps") */
    VP_STAT_TEXT,    /* s: a word ("path") */
};

/* One figure of a report, as --stats-json names it.  name and s are
 * borrowed from the vp_stats and valid while it is. */
struct vp_stat {
    const char *name;
    enum vp_stat_type type;
    uint64_t u;
    double d;
    const char *s;
};

/* How many figures a report of st has: the fixed ones, then those
 * vp_stats_add() added. */
VP_API unsigned vp_stats_count(const vp_stats *st);
/* The i-th figure (0 <= i < vp_stats_count()), in the order --stats-json
 * prints them, of the last window (final false; times are when it
 * closed) or of the whole run until now (final true): what
 * vp_stats_json() shows.  0 with *out, or -ERANGE. */
VP_API int vp_stats_at(const vp_stats *st, unsigned i, bool final,
                       struct vp_stat *out);

/* Closes a reporting window once a second: true when one just closed, and
 * the formatters below then describe it.  Call often. */
VP_API bool vp_stats_tick(vp_stats *st);

/* Formats the last window (final false: event "tick") or the whole run
 * (final true: event "exit") as one JSON object, without a newline, the
 * line --stats-json prints; prog names the program.  The length, or
 * -ENOSPC if cap is too small. */
VP_API int vp_stats_json(const vp_stats *st, const char *prog, bool final,
                         char *buf, size_t cap);
/* The same figures as a status line for a terminal: the last window's,
 * or (final) the whole run's summary. */
VP_API int vp_stats_line(const vp_stats *st, const char *prog, bool final,
                         char *buf, size_t cap);

/* --- publisher ------------------------------------------------------------ */

typedef struct vp_pub vp_pub;

struct vp_pub_opts {
    const char *stream;  /* this publisher's stream (default "cam0") */
    unsigned ring_slots; /* shm ring slots, 2..64 (default 8) */
    bool no_shm;         /* never offer frames through shared memory */
    int jpeg_quality;    /* 1..100 (default 80) */
    enum vp_codec codec; /* on "-": the encoding written (default raw) */
    /* Unpaced sources: wait up to this many ms for room in a slow
     * subscriber's queue instead of dropping the frame there (0: drop). */
    int backpressure_ms;
    int fd; /* on "-": write here (default 1, stdout; 0 also means stdout) */
    /* H.264, made only while somebody wants it: bit/s (default 4000000),
     * frames between regular keyframes (default 60), and the frame rate
     * its rate control assumes (default 30). */
    uint32_t h264_bitrate, h264_gop;
    double fps;
    const char *curve_secret; /* this publisher's CURVE .key file... */
    const char *curve_allow;  /* ...and a directory of the .pub files of
                                 the subscribers it lets in */
    /* The subscriptions it keeps: at most max_subs in all (default 4096,
     * 0 also means that), at most max_subs_per_client made by one
     * connection (default 1024; 0: max_subs).  One past a bound is
     * refused for its client alone, counted (subs_refused) and logged;
     * docs/GATEWAY.md, "Subscriptions". */
    unsigned max_subs, max_subs_per_client;
    /* Streams it carries at most (default 1024): vp_pub_forward() refuses
     * the frames of any more with -ENOSPC, counted in
     * "stream_frames_refused"; "streams" is how many it carries. */
    unsigned max_streams;
    /* Dialling out (url "connect:..."): the .pub file of the subscriber
     * it dials, whose key it checks; with curve_secret it is then a CURVE
     * client (and curve_allow is for binding). */
    const char *curve_server_key;
};

/* Fills o with the defaults. */
VP_API void vp_pub_opts_init(struct vp_pub_opts *o);

/* Binds url (or opens the stream "-").  o may be NULL for the defaults;
 * it is read here, not kept.  0 with *pub, or -errno. */
VP_API int vp_pub_open(vp_pub **pub, const char *url,
                       const struct vp_pub_opts *o);
/* Closes the endpoint and removes the publisher's shm rings. */
VP_API void vp_pub_close(vp_pub *pub);

/* True while somebody wants this publisher's stream (always, on "-"):
 * a source whose frames cost nothing unless made may skip the rest. */
VP_API bool vp_pub_wanted(vp_pub *pub);

/* Sleeps until deadline_ns (CLOCK_MONOTONIC), keeping up with the
 * subscribers meanwhile.  0, or -EINTR when a signal came first. */
VP_API int vp_pub_wait_until(vp_pub *pub, int64_t deadline_ns);

/* Lends the buffer the next frame is to be made in: a slot of the
 * stream's shm ring while same-host subscribers want descriptors, else a
 * buffer that becomes the ZeroMQ payload without a copy.  img is filled
 * with its planes, valid until vp_pub_commit() or vp_pub_cancel().
 * -EAGAIN: every buffer is still in flight (the frame is dropped, and
 * counted); -EINVAL: bad geometry.  One loan at a time. */
VP_API int vp_pub_loan(vp_pub *pub, uint32_t width, uint32_t height,
                       enum vp_pixfmt fmt, struct vp_image *img);
/* Publishes the loaned frame as frame seq (VP_SEQ_NEXT: one more than the
 * last), captured now, in every variant somebody wants: a descriptor, a
 * raw payload, a JPEG, each made once.  0 or -errno (the frame is gone
 * either way). */
VP_API int vp_pub_commit(vp_pub *pub, uint64_t seq);
/* Gives the loaned buffer back unpublished (the source had no frame). */
VP_API void vp_pub_cancel(vp_pub *pub);
#define VP_SEQ_NEXT UINT64_MAX

/* Publishes pixels the caller keeps: one copy into a loaned buffer, then
 * vp_pub_commit().  0 or -errno. */
VP_API int vp_pub_send(vp_pub *pub, const struct vp_image *img, uint64_t seq);

/* The publisher's counters: frames, drops, bytes, shm_sent, raw_sent,
 * raw_copies, send_bounds_raised, jpeg_encodes, h264_encodes, keyframes,
 * keyframe_requests, and when linked ring_writes, shm_forwarded
 * (docs/STATS.md). */
VP_API vp_stats *vp_pub_stats(vp_pub *pub);

/* --- subscriber ----------------------------------------------------------- */

typedef struct vp_sub vp_sub;
typedef struct vp_frame vp_frame;

enum vp_shm {
    VP_SHM_AUTO = 0, /* shared memory when the ring is on this host */
    VP_SHM_OFF,      /* payloads only */
    VP_SHM_ONLY,     /* descriptors only, delivered whether or not the ring
                        can be mapped here (tools that look at headers) */
};

struct vp_sub_opts {
    const char *stream;  /* only this stream (default: every stream) */
    enum vp_codec codec; /* the payload to ask for (default raw) */
    enum vp_shm shm;     /* default VP_SHM_AUTO (raw only) */
    /* Deliver every frame in order, as it comes (a relay, a recorder);
     * the default delivers only the newest one. */
    bool every_frame;
    int fd;                   /* on "-": read here (default 0, stdin) */
    const char *curve_secret; /* this subscriber's CURVE .key file... */
    /* ...and the publishers' .pub files: one for every url it connects
     * to, or one per such url in the same order. */
    const char *const *curve_server_keys;
    unsigned ncurve_server_keys;
    /* Streams whose seq gaps are counted as drops (default 1024); the
     * frames of any more are delivered and counted, their gaps not. */
    unsigned max_streams;
    /* With curve_secret, for the urls it binds ("bind:..."), where
     * publishers dial in: a directory of the .pub files of those it lets
     * in (the others are refused and counted: "dialin_refused").  The
     * publishers' keys above are then for the urls it connects to only. */
    const char *curve_allow;
};

VP_API void vp_sub_opts_init(struct vp_sub_opts *o);

/* Connects to each of the n urls (or reads the stream "-", which must be
 * the only one).  o may be NULL; it is read here, not kept.  Connections
 * are made and remade in the background: a publisher may start, stop and
 * restart at any time.  0 with *sub, or -errno. */
VP_API int vp_sub_open(vp_sub **sub, const char *const *urls, unsigned n,
                       const struct vp_sub_opts *o);
/* Closes the subscriber: no more frames come.  Frames still out stay
 * valid until released (the last one frees what is left). */
VP_API void vp_sub_close(vp_sub *sub);

/* Waits up to timeout_ms (-1: for ever) for the next frame: the newest
 * one there is (or the next in order, with every_frame).  0 with *f, to
 * be released with vp_frame_release().  -ETIMEDOUT: none came.
 * -EINTR: a signal came first.  On "-": -ENODATA at the end of the
 * stream, -EBADMSG when it is corrupt (vp_errmsg() says where; every
 * later call fails the same way).  Bad messages over ZeroMQ are counted
 * (stats "bad") and skipped, never returned. */
VP_API int vp_sub_next(vp_sub *sub, int timeout_ms, vp_frame **f);

/* The variants of a stream a publisher may send. */
enum vp_variant {
    VP_VARIANT_SHM = 0, /* shm descriptors: the header, pixels in a ring */
    VP_VARIANT_RAW,     /* raw pixels as the payload */
    VP_VARIANT_JPEG,    /* a JPEG as the payload */
    VP_VARIANT_H264,    /* one H.264 access unit as the payload */
};

/* Asks the publishers for variant v of stream (NULL: every stream) on
 * top of what the subscriber asks for anyway, or (on false) stops asking;
 * asking twice is asking once.  For an every_frame subscriber, linked or
 * not: a relay that wants JPEG for its own viewers while its downstream
 * wants something else.  Frames of wanted descriptors whose ring is on
 * another host are delivered too, headers only (vp_frame_image() says
 * -ENOENT), so the caller learns of the stream.  0, -EINVAL (a bad name,
 * or a latest-frame subscriber), -ENOMEM or -ENOTSUP (a byte stream:
 * there is nobody to ask). */
VP_API int vp_sub_want(vp_sub *sub, const char *stream, enum vp_variant v,
                       bool on);

/* Asks the publishers of stream for a keyframe of its H.264 variant (a
 * subscription "key/STREAM/NONCE", made and dropped at once, which relays
 * pass upstream).  For an every_frame subscriber that hands H.264 on by
 * itself, as a relay to its HTTP viewers; a publisher makes one keyframe
 * a period however many ask.  0, -EINVAL (a bad name or a latest-frame
 * subscriber) or -ENOTSUP (a byte stream). */
VP_API int vp_sub_ask_keyframe(vp_sub *sub, const char *stream);

/* The subscriber's counters: frames, drops, bad, torn, bytes, received,
 * waiting_keyframe (h264 frames not shown for want of a keyframe),
 * latency, path, stalled. */
VP_API vp_stats *vp_sub_stats(vp_sub *sub);

/* --- frames ------------------------------------------------------------- */

enum vp_path {
    VP_PATH_SHM = 1, /* pixels in place in a shm ring */
    VP_PATH_TCP,     /* a payload over ZeroMQ */
    VP_PATH_PIPE,    /* a payload from a byte stream */
};

/* What a frame's header says, and how it came.  Valid until the frame is
 * released. */
struct vp_frame_info {
    const char *stream;
    uint64_t seq;
    int64_t t_real_ns, t_mono_ns; /* when it was captured */
    uint32_t width, height;
    enum vp_pixfmt fmt;
    enum vp_codec codec; /* as it travelled */
    bool keyframe;       /* h264: decodable on its own */
    enum vp_path path;
    uint64_t size;      /* payload bytes (0 for shm) */
    int64_t latency_us; /* capture to vp_sub_next() */
};

VP_API const struct vp_frame_info *vp_frame_info(const vp_frame *f);

/* The frame's pixels, in place: in the shm ring, or in the received
 * message (a JPEG is decoded, once, into a buffer of the frame's).
 * Valid until the frame is released; pixels in a ring may be overwritten
 * meanwhile, which vp_frame_intact() tells.  0, -EBADMSG (an undecodable
 * payload, counted bad) or -ENOENT (a descriptor of a ring not mapped
 * here). */
VP_API int vp_frame_image(vp_frame *f, struct vp_image *img);

/* The payload as it travelled (a JPEG's bytes, raw rows): valid until the
 * frame is released.  -ENOENT for a shm frame. */
VP_API int vp_frame_payload(const vp_frame *f, const uint8_t **data,
                            size_t *len);

/* False once the producer has overwritten the frame's ring slot, so
 * whatever was read from its pixels must be discarded; always true for
 * payloads.  Call after using the pixels. */
VP_API bool vp_frame_intact(const vp_frame *f);

/* Copies the frame's pixels into dst (same geometry; dst's own strides)
 * and checks they were intact.  0 (the frame then counts as delivered
 * whatever happens to its slot later), -ESTALE (overwritten meanwhile:
 * dst holds garbage, the frame counts as torn), or as vp_frame_image(). */
VP_API int vp_frame_copy(vp_frame *f, const struct vp_image *dst);

/* Notes that the frame has reached its destination (shown, written): its
 * latency in the stats counts to now, not to its release. */
VP_API void vp_frame_shown(vp_frame *f);

/* Writes the frame's header as one JSON object (no newline): every field,
 * the variant it came as and its shm descriptor.  The length or -ENOSPC. */
VP_API int vp_frame_json(const vp_frame *f, char *buf, size_t cap);

/* Gives the frame back.  An intact frame counts as delivered in its
 * subscriber's stats (one whose ring slot was overwritten while its
 * pixels were used counts as torn, one whose payload would not decode as
 * bad). */
VP_API void vp_frame_release(vp_frame *f);

/* --- relaying ----------------------------------------------------------- */

/* Makes pub the downstream of sub, as in a relay: sub stops choosing its
 * own subscriptions and subscribes to whatever pub's subscribers ask for,
 * and waiting in vp_sub_next() keeps up with them.  A stream whose ring
 * is on another host is re-hosted: pub writes its frames once into a
 * ring of its own for same-host subscribers.  Both must outlive the link
 * (close sub first).  0 or -errno. */
VP_API int vp_pub_link(vp_pub *pub, vp_sub *sub);

/* Forgets the streams pub forwarded that have had no frame for idle_ms
 * (never its own stream): their entries, rings and encoders are freed,
 * with their seq tracking in its stats and a linked subscriber's, and a
 * subscription the link held upstream for one is given up; a stream of
 * that name that comes back is a new one.  Also sets the gauges
 * streams_stalled (streams with no frame for 2 s) and stream_bytes (what
 * pub and a linked subscriber hold for their streams).  idle_ms 0
 * forgets nothing.  Returns how many streams it forgot; call it about
 * once a second, on the thread that forwards. */
VP_API unsigned vp_pub_drop_idle(vp_pub *pub, unsigned idle_ms);

/* How a forwarded frame is changed on the way (NULL: not at all). */
struct vp_fwd {
    const char *stream; /* a new stream name, or NULL */
    bool restamp;       /* captured now: a replay of a recording */
    bool reseq;         /* numbered seq instead of its own */
    uint64_t seq;
};

/* Republishes frame f: over ZeroMQ its message parts are moved, not
 * copied, so f's payload is gone afterwards (pointers into it dangle, and
 * vp_frame_image() and vp_frame_payload() say -ENOENT); a frame from a byte
 * stream is published in every wanted variant, each made once.  On "-", f is
 * written in the publisher's codec (shm pixels are copied and checked
 * intact first: -ESTALE if they were not).  Over ZeroMQ, a frame of a
 * stream past max_streams is not sent: -ENOSPC.  f is still to be
 * released.  0 or -errno. */
VP_API int vp_pub_forward(vp_pub *pub, vp_frame *f, const struct vp_fwd *as);

/* --- keys --------------------------------------------------------------- */

/* A new CURVE key pair as two 40-character Z85 strings.  0 or -errno. */
VP_API int vp_curve_keypair(char public_z85[41], char secret_z85[41]);

#ifdef __cplusplus
}
#endif
#endif
