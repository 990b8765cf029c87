/* serve.c -- vidpipe-rtsp's RTSP server (serve.h).
 *
 * Paths are mounted on demand: the mount points' make_path, which the
 * library calls for every request before it looks a path up, mounts
 * /NAME the first time a request names a stream that can be served.  So
 * the table holds only streams somebody asked for, and a stream seen
 * after the server started needs nothing done when it appears.
 *
 * A media is never shared between clients: a shared one would start a
 * late client in the middle of a GOP, and the only way to a keyframe for
 * it is the subscriber that a new pipeline opens (it asks the publisher
 * for one as it starts; the publisher makes at most one a period however
 * many ask).  The cost is a subscription per client, each taking the
 * H.264 the publisher encodes once for all of them.
 */
#include <string.h>

#include <gst/rtsp-server/rtsp-server.h>

#include "gst/gstvidpipe.h"
#include "serve.h"
#include "util/log.h"
#include "vidpipe.h"

/* The role Basic auth gives a known user; anybody else has none. */
#define ROLE "viewer"
/* How long serve_free() waits for the clients' pipelines to stop. */
#define STOP_US 2000000
/* What a client's pipeline is: the element names are the library's
 * (pay0) and ours (src, set up in media_configure).  The publisher's
 * keyframes carry their SPS and PPS, and the SDP has them too; the
 * payloader must not insert them again (config-interval=-1 puts them
 * before every IDR slice, and so between the slices of a picture the
 * encoder cut in two, which a decoder takes for two broken pictures).
 * latency=0: the server's sinks sync to the clock, and would hold every
 * frame until its capture time plus the latency the source reports
 * (vidpipesrc's default 40 ms); a frame already older than 0 goes out
 * at once (measured: docs/BENCHMARKS.md, "RTSP"). */
#define LAUNCH                                                                 \
    "( vidpipesrc name=src codec=h264 latency=0 ! "                            \
    "rtph264pay name=pay0 pt=96 config-interval=0 )"

struct serve {
    struct serve_opts o;
    GstRTSPServer *server;
    GstRTSPMountPoints *mounts;
    guint source; /* the listening socket's source on the main context */
    GMutex mu;
    GHashTable *seen; /* stream names seen upstream (under mu) */
    GHashTable *made; /* names mounted (under mu) */
    struct serve_counts *n;
    struct log_limit refused_log;
};

static void count(uint64_t *c, int64_t d)
{
    __atomic_add_fetch(c, (uint64_t)d, __ATOMIC_RELAXED);
}

/* --- mount points that mount on demand --------------------------------- */

typedef struct {
    GstRTSPMountPoints parent;
    struct serve *s;
} VpMounts;
typedef GstRTSPMountPointsClass VpMountsClass;
G_DEFINE_TYPE(VpMounts, vp_mounts, GST_TYPE_RTSP_MOUNT_POINTS)

static void media_gone(gpointer data, GObject *media)
{
    (void)media;
    count(&((struct serve_counts *)data)->medias, -1);
}

/* A client's pipeline is made: its source subscribes to the stream. */
static void media_configure(GstRTSPMediaFactory *f, GstRTSPMedia *media,
                            gpointer data)
{
    struct serve *s = data;
    GstElement *bin = gst_rtsp_media_get_element(media);
    GstElement *src = gst_bin_get_by_name(GST_BIN(bin), "src");

    g_object_set(src, "endpoint", s->o.endpoint, "stream",
                 g_object_get_data(G_OBJECT(f), "vidpipe-stream"), NULL);
    if (s->o.curve_secret)
        g_object_set(src, "curve-secret", s->o.curve_secret, "curve-server-key",
                     s->o.curve_server_key, NULL);
    gst_object_unref(src);
    gst_object_unref(bin);
    count(&s->n->medias, 1);
    g_object_weak_ref(G_OBJECT(media), media_gone, s->n);
}

static void mount(struct serve *s, const char *name)
{
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(f, LAUNCH);
    gst_rtsp_media_factory_set_shared(f, FALSE);
    gst_rtsp_media_factory_set_protocols(f, GST_RTSP_LOWER_TRANS_UDP |
                                                GST_RTSP_LOWER_TRANS_TCP);
    g_object_set_data_full(G_OBJECT(f), "vidpipe-stream", g_strdup(name),
                           g_free);
    g_signal_connect(f, "media-configure", G_CALLBACK(media_configure), s);
    if (s->o.nusers)
        gst_rtsp_media_factory_add_role(
            f, ROLE, GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
            GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, NULL);
    char *path = g_strconcat("/", name, NULL);
    gst_rtsp_mount_points_add_factory(s->mounts, path, f);
    g_free(path);
}

/* The stream a path names (its first part), if it may be served. */
static bool servable(struct serve *s, const char *name)
{
    if (s->o.stream)
        return strcmp(name, s->o.stream) == 0;
    return g_hash_table_contains(s->seen, name);
}

static gchar *mounts_make_path(GstRTSPMountPoints *m, const GstRTSPUrl *url)
{
    struct serve *s = ((VpMounts *)m)->s;
    gchar *path =
        GST_RTSP_MOUNT_POINTS_CLASS(vp_mounts_parent_class)->make_path(m, url);
    if (!path)
        return NULL;
    const char *p = path + (path[0] == '/');
    size_t len = strcspn(p, "/");
    if (len == 0 || len > VP_STREAM_MAX)
        return path; /* no such mount: 404 */
    char name[VP_STREAM_MAX + 1];
    memcpy(name, p, len);
    name[len] = '\0';
    g_mutex_lock(&s->mu);
    if (servable(s, name) && !g_hash_table_contains(s->made, name)) {
        g_hash_table_add(s->made, g_strdup(name));
        mount(s, name);
    }
    g_mutex_unlock(&s->mu);
    return path;
}

static void vp_mounts_class_init(VpMountsClass *c)
{
    c->make_path = mounts_make_path;
}

static void vp_mounts_init(VpMounts *m)
{
    (void)m;
}

/* --- clients ------------------------------------------------------------- */

/* Counts what each response says: PLAYs served, 401s, 404s. */
static void client_sent(GstRTSPClient *c, GstRTSPContext *ctx,
                        GstRTSPMessage *msg, gpointer data)
{
    struct serve *s = data;
    GstRTSPStatusCode code;
    GstRTSPMethod method;
    (void)c;
    if (gst_rtsp_message_get_type(msg) != GST_RTSP_MESSAGE_RESPONSE ||
        gst_rtsp_message_parse_response(msg, &code, NULL, NULL) != GST_RTSP_OK)
        return;
    if (code == GST_RTSP_STS_UNAUTHORIZED)
        count(&s->n->auth_refused, 1);
    else if (code == GST_RTSP_STS_NOT_FOUND)
        count(&s->n->not_found, 1);
    else if (code == GST_RTSP_STS_OK && ctx && ctx->request &&
             gst_rtsp_message_parse_request(ctx->request, &method, NULL,
                                            NULL) == GST_RTSP_OK &&
             method == GST_RTSP_PLAY)
        count(&s->n->plays, 1);
}

static void client_closed(GstRTSPClient *c, gpointer data)
{
    (void)c;
    count(&((struct serve_counts *)data)->clients, -1);
}

static void client_connected(GstRTSPServer *server, GstRTSPClient *c,
                             gpointer data)
{
    struct serve *s = data;
    (void)server;
    if (__atomic_load_n(&s->n->clients, __ATOMIC_RELAXED) >= s->o.max_clients) {
        count(&s->n->clients_refused, 1);
        log_limited(&s->refused_log,
                    "a client refused: %u connected; raise --max-clients",
                    s->o.max_clients);
        gst_rtsp_client_close(c);
        return;
    }
    count(&s->n->clients, 1);
    count(&s->n->clients_total, 1);
    g_signal_connect(c, "send-message", G_CALLBACK(client_sent), s);
    /* The counts, not s: the last clients may close after serve_free(). */
    g_signal_connect(c, "closed", G_CALLBACK(client_closed), s->n);
}

/* --- the server ---------------------------------------------------------- */

static int add_users(struct serve *s, const char **why)
{
    GstRTSPAuth *auth = gst_rtsp_auth_new();
    GstRTSPToken *token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE,
                                             G_TYPE_STRING, ROLE, NULL);
    int rc = 0;
    for (unsigned i = 0; i < s->o.nusers; i++) {
        const char *u = s->o.users[i], *colon = strchr(u, ':');
        if (!colon || colon == u) {
            *why = "an auth entry is not user:password";
            rc = -1;
            break;
        }
        char *user = g_strndup(u, (gsize)(colon - u));
        char *basic = gst_rtsp_auth_make_basic(user, colon + 1);
        gst_rtsp_auth_add_basic(auth, basic, token);
        g_free(basic);
        g_free(user);
    }
    if (rc == 0)
        gst_rtsp_server_set_auth(s->server, auth);
    gst_rtsp_token_unref(token);
    g_object_unref(auth);
    return rc;
}

struct serve *serve_new(const struct serve_opts *o, struct serve_counts *n,
                        const char **why)
{
    struct serve *s = g_new0(struct serve, 1);
    s->o = *o;
    s->n = n;
    g_mutex_init(&s->mu);
    s->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->made = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (o->stream)
        s->n->streams = 1;

    s->server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(s->server, o->address);
    gst_rtsp_server_set_service(s->server, o->port);
    VpMounts *m = g_object_new(vp_mounts_get_type(), NULL);
    m->s = s;
    s->mounts = GST_RTSP_MOUNT_POINTS(m);
    gst_rtsp_server_set_mount_points(s->server, s->mounts);
    /* A client's DESCRIBE waits in its thread for its pipeline's first
     * frame: one thread each, so that nobody waits behind another. */
    GstRTSPThreadPool *pool = gst_rtsp_server_get_thread_pool(s->server);
    gst_rtsp_thread_pool_set_max_threads(pool, (gint)o->max_clients);
    g_object_unref(pool);
    g_signal_connect(s->server, "client-connected",
                     G_CALLBACK(client_connected), s);
    if (o->nusers && add_users(s, why) < 0)
        goto fail;
    s->source = gst_rtsp_server_attach(s->server, NULL);
    if (!s->source) {
        *why = "cannot listen there (in use, or not an address of this "
               "host)";
        goto fail;
    }
    return s;
fail:
    serve_free(s);
    return NULL;
}

void serve_seen(struct serve *s, const char *name)
{
    g_mutex_lock(&s->mu);
    if (!s->o.stream && !g_hash_table_contains(s->seen, name)) {
        g_hash_table_add(s->seen, g_strdup(name));
        count(&s->n->streams, 1);
        log_info("stream %s: rtsp://%s:%s/%s", name, s->o.address, s->o.port,
                 name);
    }
    g_mutex_unlock(&s->mu);
}

static GstRTSPFilterResult drop_client(GstRTSPServer *server, GstRTSPClient *c,
                                       gpointer data)
{
    (void)server;
    (void)c;
    (void)data;
    return GST_RTSP_FILTER_REMOVE;
}

void serve_free(struct serve *s)
{
    if (!s)
        return;
    if (s->source)
        g_source_remove(s->source);
    if (s->server) {
        gst_rtsp_server_client_filter(s->server, drop_client, NULL);
        /* The clients' pipelines stop on this thread's main context. */
        gint64 until = g_get_monotonic_time() + STOP_US;
        while (__atomic_load_n(&s->n->medias, __ATOMIC_RELAXED) > 0 &&
               g_get_monotonic_time() < until)
            if (!g_main_context_iteration(NULL, FALSE))
                g_usleep(1000);
        g_object_unref(s->server);
    }
    if (s->mounts)
        g_object_unref(s->mounts);
    g_hash_table_destroy(s->made);
    g_hash_table_destroy(s->seen);
    g_mutex_clear(&s->mu);
    g_free(s);
}
