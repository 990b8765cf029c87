/* main.c -- vidpipe-rtsp: every stream of a vidpipe endpoint served over
 * RTSP, its H.264 passed through (docs/RTSP.md).
 *
 * Two threads.  The main one runs GLib's main loop, where the RTSP
 * server (serve.c) lives, and stops it on SIGINT or SIGTERM.  The
 * discovery thread subscribes to the endpoint's shared-memory
 * descriptors, headers only (a few hundred bytes a frame, never pixels),
 * to learn which streams exist, and writes the once-a-second report of
 * that subscriber with the server's counts added.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <gst/gst.h>

#include "cli/cli.h"
#include "gst/gstvidpipe.h"
#include "serve.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-rtsp"
#define DEFAULT_INPUT "tcp://127.0.0.1:5556"
#define DEFAULT_LISTEN "0.0.0.0:8554"
#define DEFAULT_MAX_CLIENTS 64
#define MAX_USERS 64
#define POLL_MS 100

enum { OPT_LISTEN = 256, OPT_AUTH, OPT_MAX_CLIENTS };

struct rtsp {
    struct cli_common c;
    char address[256], port[8];
    const char *auth_file;
    unsigned max_clients;
    vp_sub *sub;
    struct serve *srv;
    struct serve_counts n; /* the server's, kept past it */
    struct cli_report report;
    volatile int stop;
};

#ifdef __SANITIZE_ADDRESS__
/* make asan: GLib's library constructor keeps a buffer for the life of
 * the process, which LeakSanitizer would report at every exit.  GLib is
 * built without frame pointers, so the stack of a block it allocated
 * ends in GLib: such blocks are left out, the rest (libvidpipe's, ours
 * through malloc) are checked. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libglib-2.0.so\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
#endif

static const struct cli_opt opts[] = {
    {"listen", OPT_LISTEN, "ADDR:PORT",
     "where RTSP clients connect (default " DEFAULT_LISTEN ");\n"
     "each stream is rtsp://ADDR:PORT/NAME"},
    {"auth", OPT_AUTH, "FILE",
     "Basic auth: FILE has user:password lines; only\nthose users may "
     "play (default: anybody)"},
    {"max-clients", OPT_MAX_CLIENTS, "N",
     "RTSP connections at once (1..4096, default 64); more\nare closed at "
     "once, counted (clients_refused)"},
    {0},
};

static int parse_listen(struct rtsp *r, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    uint64_t port;
    size_t alen = colon ? (size_t)(colon - arg) : 0;
    const char *a = arg;

    if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
        a++; /* [v6]:port */
        alen -= 2;
    }
    if (!colon || alen == 0 || alen >= sizeof r->address ||
        cli_uint(colon + 1, 1, 65535, &port) < 0) {
        log_err("--listen %s: expected ADDR:PORT, e.g. 0.0.0.0:8554", arg);
        return -1;
    }
    memcpy(r->address, a, alen);
    r->address[alen] = '\0';
    snprintf(r->port, sizeof r->port, "%u", (unsigned)port);
    return 0;
}

static int take(void *ctx, int id, const char *arg)
{
    struct rtsp *r = ctx;
    uint64_t v;

    switch (id) {
    case OPT_LISTEN:
        return parse_listen(r, arg);
    case OPT_AUTH:
        r->auth_file = arg;
        return 0;
    case OPT_MAX_CLIENTS:
        if (cli_uint(arg, 1, 4096, &v) < 0) {
            log_err("--max-clients %s: expected 1..4096", arg);
            return -1;
        }
        r->max_clients = (unsigned)v;
        return 0;
    }
    return -1;
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[-i ENDPOINT] [--listen ADDR:PORT] [options]",
    .about = "Serves every stream of a vidpipe endpoint over RTSP at\n"
             "rtsp://ADDR:PORT/NAME (TCP and UDP), passing its H.264 through "
             "as\nthe publisher encoded it; each client starts at a keyframe "
             "made for it.",
    .common = CLI_INPUT | CLI_STREAM | CLI_STATS | CLI_CURVE_CLIENT,
    .input_help = "the vidpipe publisher, tcp://HOST:PORT or ipc://PATH\n"
                  "(default " DEFAULT_INPUT ")",
    .stream_help = "serve only this stream, whether seen yet or not\n"
                   "(default: every stream the endpoint carries)",
    .opts = opts,
    .take = take,
    .epilog = "Streams are found from the publisher's shared-memory "
              "descriptors (capture\nand relay publish them unless "
              "--no-shm); -s serves one without that.",
};

/* Reads FILE's user:password lines into users; their count, or -1 after
 * logging why. */
static int read_users(const char *path, char ***users)
{
    gchar *text = NULL;
    GError *err = NULL;
    int n = 0;

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        log_err("--auth %s: %s", path, err->message);
        g_error_free(err);
        return -1;
    }
    char **lines = g_strsplit(text, "\n", -1);
    g_free(text);
    *users = g_new0(char *, MAX_USERS + 1);
    for (int i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (!l[0] || l[0] == '#')
            continue;
        const char *colon = strchr(l, ':');
        if (!colon || colon == l) {
            log_err("--auth %s:%d: expected user:password", path, i + 1);
            n = -1;
            break;
        }
        if (n == MAX_USERS) {
            log_err("--auth %s: more than %d users", path, MAX_USERS);
            n = -1;
            break;
        }
        (*users)[n++] = g_strdup(l);
    }
    g_strfreev(lines);
    if (n == 0) {
        log_err("--auth %s: no user:password line", path);
        n = -1;
    }
    if (n < 0) {
        g_strfreev(*users);
        *users = NULL;
    }
    return n;
}

/* The discovery thread: streams seen, and the report. */
static void *discover(void *arg)
{
    struct rtsp *r = arg;
    char last[VP_STREAM_MAX + 1] = "";

    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        vp_frame *f;
        int rc = vp_sub_next(r->sub, POLL_MS, &f);
        if (rc == 0) {
            const char *name = vp_frame_info(f)->stream;
            if (strcmp(name, last) != 0) {
                serve_seen(r->srv, name);
                snprintf(last, sizeof last, "%s", name);
            }
            vp_frame_release(f);
        } else if (rc != -ETIMEDOUT && rc != -EINTR) {
            log_err("%s", vp_errmsg());
        }
        cli_report_tick(&r->report);
    }
    return NULL;
}

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

/* Shows the server's counts in the subscriber's report. */
static void add_counts(struct rtsp *r)
{
    const struct serve_counts *n = &r->n;
    vp_stats *st = vp_sub_stats(r->sub);
    const struct {
        const char *name;
        const uint64_t *v;
        bool gauge;
    } f[] = {
        {"streams", &n->streams, true},
        {"clients", &n->clients, true},
        {"clients_total", &n->clients_total, false},
        {"clients_refused", &n->clients_refused, false},
        {"medias", &n->medias, true},
        {"plays", &n->plays, false},
        {"auth_refused", &n->auth_refused, false},
        {"not_found", &n->not_found, false},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].gauge)
            cli_stats_add(st, f[i].name, f[i].v);
        else if (vp_stats_add_gauge(st, f[i].name, f[i].v) < 0)
            log_warn("stats: no room for the gauge %s: it is not reported",
                     f[i].name);
    }
}

int main(int argc, char **argv)
{
    struct rtsp r = {.max_clients = DEFAULT_MAX_CLIENTS};
    struct vp_sub_opts so;
    char **users = NULL;
    int nusers = 0, rc = EXIT_USAGE;
    const char *why = NULL;
    pthread_t th;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &r;
    parse_listen(&r, DEFAULT_LISTEN);
    if (cli_parse(&p, argc, argv, &r.c) < 0)
        return EXIT_USAGE;
    const char *url = r.c.ninputs ? r.c.inputs[0] : DEFAULT_INPUT;
    if (strcmp(url, "-") == 0) {
        log_err("-i -: a frame stream has no publisher to ask for "
                "keyframes; give tcp:// or ipc://");
        return EXIT_USAGE;
    }
    if (r.auth_file && (nusers = read_users(r.auth_file, &users)) < 0)
        return EXIT_USAGE;

    gst_init(NULL, NULL);
    if (!GST_ELEMENT_REGISTER(vidpipesrc, NULL)) {
        log_err("cannot register vidpipesrc with GStreamer");
        goto out;
    }
    vp_sub_opts_init(&so);
    cli_sub_opts(&r.c, &so);
    so.codec = VP_CODEC_RAW;
    so.shm = VP_SHM_ONLY;
    so.every_frame = true;
    if (vp_sub_open(&r.sub, &url, 1, &so) < 0) {
        log_err("-i %s: %s", url, vp_errmsg());
        goto out;
    }
    struct serve_opts o = {
        .endpoint = url,
        .curve_secret = r.c.curve_secret,
        .curve_server_key = r.c.ncurve_servers ? r.c.curve_servers[0] : NULL,
        .address = r.address,
        .port = r.port,
        .stream = r.c.stream,
        .users = (const char *const *)users,
        .nusers = (unsigned)nusers,
        .max_clients = r.max_clients,
    };
    r.srv = serve_new(&o, &r.n, &why);
    if (!r.srv) {
        log_err("--listen %s:%s: %s", r.address, r.port, why);
        goto out;
    }
    log_info("serving %s at rtsp://%s:%s/NAME%s", url, r.address, r.port,
             nusers ? " (Basic auth)" : "");
    cli_report_init(&r.report, "rtsp", vp_sub_stats(r.sub), &r.c);
    add_counts(&r);

    signal(SIGPIPE, SIG_IGN);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    guint sig_int = g_unix_signal_add(SIGINT, on_signal, loop);
    guint sig_term = g_unix_signal_add(SIGTERM, on_signal, loop);
    if (pthread_create(&th, NULL, discover, &r) != 0) {
        log_err("cannot start a thread");
        rc = EXIT_RUNTIME;
    } else {
        g_main_loop_run(loop);
        __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
        pthread_join(th, NULL);
        rc = EXIT_OK;
    }
    g_source_remove(sig_int);
    g_source_remove(sig_term);
    serve_free(r.srv);
    r.srv = NULL;
    cli_report_final(&r.report);
    g_main_loop_unref(loop);
out:
    serve_free(r.srv);
    vp_sub_close(r.sub);
    g_strfreev(users);
    return rc;
}
