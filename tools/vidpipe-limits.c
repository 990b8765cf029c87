/* vidpipe-limits.c -- what this machine can do with one frame, as JSON.
 *
 * The benchmark (tools/vidpipe-bench) reads vidpipe's figures against
 * these, so its results read as ratios rather than raw numbers:
 *
 *   memcpy_us    median time of one memcpy of a frame-sized buffer (the
 *                cost of "one copy", which the shm path must not pay per
 *                subscriber);
 *   zmq_tcp_fps  libzmq's own PUB/SUB throughput over TCP loopback for a
 *                vidpipe-shaped message (topic, small header, payload of
 *                the frame size, sent without copying), with vidpipe's
 *                queue bounds (publisher SNDHWM NET_PUB_HWM, subscriber
 *                RCVHWM NET_HWM) and the kernel's own socket buffers.  The
 *                publisher waits for room (ZMQ_XPUB_NODROP) instead of
 *                dropping, so every message sent is a message received
 *                and no core is burnt on sends that are thrown away.  This
 *                is the reference figure.
 *   zmq_tcp2_fps the reference through a forwarding hop (SUB -> XPUB,
 *                message parts moved as received, as vidpipe-relay does),
 *                since vidpipe's TCP path is capture -> relay -> display;
 *   zmq_tcp_fps_sndbuf    the reference with vidpipe's publisher send
 *                buffer (ZMQ_SNDBUF NET_SNDBUF): all of vidpipe's socket
 *                settings, so the gap to the reference is that buffer's;
 *   zmq_tcp_fps_hwm1000   queues of 1000 messages: the transport's
 *                ceiling when nothing limits the pipelining;
 *   zmq_tcp_fps_drop      a publisher that sends as fast as it can and
 *                lets PUB drop (what `vidpipe-capture --fps 0` does);
 *   zmq_tcp_lat_p50_us, zmq_tcp2_lat_p50_us   the time libzmq takes to
 *                move one message at 30 a second, from just before the
 *                publisher's send to the subscriber's receive (median),
 *                directly and through the hop: the reference of a paced
 *                frame's latency, which 1 s / zmq_tcp_fps is not (that
 *                overlaps the sends of one message with the receives of
 *                the one before);
 *   tcp_lat_p50_us, tcp_cut_lat_p50_us   the same with no ZeroMQ at all:
 *                the frame on one plain TCP connection, directly, and
 *                through a forwarder that passes each 256 KiB on as it
 *                arrives instead of waiting for the whole message.  The
 *                floor under the two figures above: what TCP itself takes
 *                on this machine, and the least any hop can add.
 *
 * Publisher, forwarder and subscriber each run in their own thread with
 * their own ZeroMQ context (one I/O thread each), as separate processes
 * would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "contract/pixfmt.h"
#include "util/clock.h"
#include "util/io.h"
#include "transport/net.h"

#define PROG "vidpipe-limits"
#define HDR_BYTES 120 /* about the size of an encoded frame header */
#define TOPIC "raw/cam0"
#define LAT_MAX 4096 /* latencies a paced run keeps */

struct opts {
    uint32_t w, h;
    double seconds;
    unsigned reps;
    bool no_zmq, ref_only;
    const char *only; /* comma-separated figure names, or NULL */
};

static void print_figures(FILE *f);

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: " PROG " --size WxH [options]\n"
        "Measures this machine's limits for frames of one size and prints "
        "them as a\nJSON object on stdout: memcpy_us (median time to copy "
        "one BGR24 frame) and\nzmq_tcp_fps (libzmq PUB/SUB messages per "
        "second of that size over TCP\nloopback, queues as in vidpipe), "
        "plus variants (see the source).\n"
        "\n"
        "      --size WxH      frame size, 3 bytes per pixel (required)\n"
        "      --seconds S     measuring time per ZeroMQ run (default 1)\n"
        "  -r, --reps N        runs per ZeroMQ figure; the best is reported\n"
        "                      (default 3)\n"
        "      --no-zmq        measure memcpy only\n"
        "      --ref-only      of the ZeroMQ figures, only zmq_tcp_fps,\n"
        "                      zmq_tcp2_fps, zmq_tcp_fps_sndbuf (quicker)\n"
        "      --only NAMES    only these figures (comma-separated, of the "
        "names below)\n"
        "  -h, --help          this help\n"
        "  -V, --version       print the version\n"
        "\nFigures:");
    print_figures(f);
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"size", required_argument, 0, 'S'},
        {"seconds", required_argument, 0, 'T'},
        {"reps", required_argument, 0, 'r'},
        {"no-zmq", no_argument, 0, 'Z'},
        {"ref-only", no_argument, 0, 'R'},
        {"only", required_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;

    uint64_t u;

    *o = (struct opts){.seconds = 1.0, .reps = 3};
    while ((c = getopt_long(argc, argv, "r:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'S': /* long-only: -s and -t are --stream and --timeout */
            if (cli_size(optarg, &o->w, &o->h) < 0) {
                fprintf(stderr, PROG ": --size %s: expected WxH\n", optarg);
                return -1;
            }
            break;
        case 'T':
            if (cli_double(optarg, 0.05, 60, &o->seconds) < 0) {
                fprintf(stderr, PROG ": --seconds %s: expected 0.05..60\n",
                        optarg);
                return -1;
            }
            break;
        case 'r':
            if (cli_uint(optarg, 1, 100, &u) < 0) {
                fprintf(stderr, PROG ": --reps %s: expected 1..100\n", optarg);
                return -1;
            }
            o->reps = (unsigned)u;
            break;
        case 'Z':
            o->no_zmq = true;
            break;
        case 'R':
            o->ref_only = true;
            break;
        case 'O':
            o->only = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        case 'V':
            cli_version(PROG);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc || !o->w) {
        fprintf(stderr, PROG ": %s (see --help)\n",
                optind < argc ? "unexpected argument" : "--size is required");
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of many copies between two buffers that are already mapped and
 * were written once, as a frame that was just drawn would be. */
static double memcpy_median_us(size_t len)
{
    enum { MAX_RUNS = 401 };
    double t[MAX_RUNS];
    uint8_t *src = malloc(len), *dst = malloc(len);
    int n = 0;

    if (!src || !dst) {
        free(src);
        free(dst);
        return -1;
    }
    memset(src, 0x5a, len);
    memset(dst, 0xa5, len);
    int64_t until = clock_mono_ns() + 200000000; /* 0.2 s at most */
    while (n < MAX_RUNS && (n < 11 || clock_mono_ns() < until)) {
        int64_t t0 = clock_mono_ns();
        memcpy(dst, src, len);
        int64_t t1 = clock_mono_ns();
        /* Keep the copy from being optimised away. */
        __asm__ volatile("" : : "r"(dst) : "memory");
        t[n++] = (double)(t1 - t0) / 1000.0;
        src[n % len]++;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    free(src);
    free(dst);
    return t[n / 2];
}

/* One ZeroMQ throughput run. */
struct zrun {
    size_t len;
    const uint8_t *payload;
    int pub_hwm, sub_hwm, sndbuf;
    bool nodrop, hop;
    double seconds;
    double pace; /* messages a second; 0: as fast as they go */
    int64_t lat_ns[LAT_MAX];
    unsigned nlat;
    char pub_ep[64], fwd_ep[64];
    _Atomic bool ready, fwd_ready, stop;
    double fps; /* result */
    int err;
};

static void setint(void *s, int opt, int v)
{
    zmq_setsockopt(s, opt, &v, sizeof v);
}

static void *make_socket(void *ctx, int type, const struct zrun *z)
{
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    setint(s, ZMQ_LINGER, 0);
    if (type == ZMQ_XPUB) {
        setint(s, ZMQ_SNDHWM, z->pub_hwm);
        if (z->sndbuf > 0)
            setint(s, ZMQ_SNDBUF, z->sndbuf);
    } else {
        setint(s, ZMQ_RCVHWM, z->sub_hwm);
    }
    return s;
}

static void *publisher(void *arg)
{
    struct zrun *z = arg;
    void *ctx = zmq_ctx_new();
    void *s = make_socket(ctx, ZMQ_XPUB, z);
    uint8_t hdr[HDR_BYTES], sub[64];
    size_t eplen = sizeof z->pub_ep;

    memset(hdr, 0x81, sizeof hdr);
    setint(s, ZMQ_XPUB_NODROP, z->nodrop);
    setint(s, ZMQ_SNDTIMEO, 100);
    if (zmq_bind(s, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, z->pub_ep, &eplen) < 0) {
        z->err = errno;
        z->stop = true;
        goto out;
    }
    z->ready = true;
    /* XPUB hands us the subscription once the subscriber is connected. */
    while (!z->stop) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) > 0 && zmq_recv(s, sub, sizeof sub, 0) > 0)
            break;
    }
    int64_t next = clock_mono_ns();
    while (!z->stop) {
        zmq_msg_t m;
        if (z->pace > 0) {
            int64_t now = clock_mono_ns();
            if (next > now)
                nanosleep(&(struct timespec){0, (long)(next - now)}, NULL);
            next += (int64_t)(1e9 / z->pace);
            int64_t t = clock_mono_ns(); /* as vidpipe stamps at commit */
            memcpy(hdr, &t, sizeof t);
        }
        /* The payload is never freed or changed: send it in place. */
        zmq_msg_init_data(&m, (void *)z->payload, z->len, NULL, NULL);
        /* With NODROP a full queue blocks this send until there is room
         * (zmq_poll cannot wait for that: XPUB always reports POLLOUT);
         * ZMQ_SNDTIMEO brings it back now and then to look at stop. */
        if (zmq_send(s, TOPIC, strlen(TOPIC), ZMQ_SNDMORE) < 0) {
            zmq_msg_close(&m);
            if (errno == EAGAIN)
                continue;
            break;
        }
        zmq_send(s, hdr, sizeof hdr, ZMQ_SNDMORE);
        zmq_msg_send(&m, s, 0);
    }
out:
    zmq_close(s);
    zmq_ctx_term(ctx);
    return NULL;
}

/* SUB from the publisher, XPUB to the subscriber; parts moved as they
 * come, subscriptions passed upstream, as vidpipe-relay does. */
static void *forwarder(void *arg)
{
    struct zrun *z = arg;
    void *ctx = zmq_ctx_new();
    void *in = make_socket(ctx, ZMQ_SUB, z);
    void *out = make_socket(ctx, ZMQ_XPUB, z);
    size_t eplen = sizeof z->fwd_ep;

    setint(out, ZMQ_XPUB_NODROP, z->nodrop);
    setint(out, ZMQ_SNDTIMEO, 100);
    if (zmq_connect(in, z->pub_ep) < 0 ||
        zmq_bind(out, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(out, ZMQ_LAST_ENDPOINT, z->fwd_ep, &eplen) < 0) {
        z->err = errno;
        z->stop = true;
        goto done;
    }
    z->fwd_ready = true;
    zmq_pollitem_t it[2] = {{out, 0, ZMQ_POLLIN, 0}, {in, 0, ZMQ_POLLIN, 0}};
    while (!z->stop) {
        if (zmq_poll(it, 2, 100) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN) {
            uint8_t sub[64];
            int n = zmq_recv(out, sub, sizeof sub, 0);
            if (n > 0 && sub[0] <= 1)
                zmq_setsockopt(in, sub[0] ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE,
                               sub + 1, (size_t)n - 1);
        }
        for (int batch = 0; batch < 64 && !z->stop; batch++) {
            zmq_msg_t m;
            int more = 1;
            size_t ml = sizeof more;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, in, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            zmq_getsockopt(in, ZMQ_RCVMORE, &more, &ml);
            /* Only a message's first part can find the queue full. */
            while (zmq_msg_send(&m, out, more ? ZMQ_SNDMORE : 0) < 0 &&
                   errno == EAGAIN && !z->stop)
                ;
            while (more) {
                zmq_msg_init(&m);
                zmq_msg_recv(&m, in, 0);
                zmq_getsockopt(in, ZMQ_RCVMORE, &more, &ml);
                zmq_msg_send(&m, out, more ? ZMQ_SNDMORE : 0);
            }
        }
    }
done:
    zmq_close(in);
    zmq_close(out);
    zmq_ctx_term(ctx);
    return NULL;
}

/* Counts whole messages that arrive in z->seconds after the first. */
static void subscriber(struct zrun *z, const char *ep)
{
    void *ctx = zmq_ctx_new();
    void *s = make_socket(ctx, ZMQ_SUB, z);
    zmq_msg_t m;
    int64_t t0 = 0, t_last = 0;
    uint64_t n = 0;

    zmq_msg_init(&m);
    if (zmq_connect(s, ep) < 0 || zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0)) {
        z->err = errno;
        goto out;
    }
    int64_t give_up = clock_mono_ns() + 5000000000LL;
    for (;;) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        int64_t now = clock_mono_ns();
        if ((t0 && now - t0 >= (int64_t)(z->seconds * 1e9)) ||
            (!t0 && now > give_up))
            break;
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
        int more = 1, part = 0;
        size_t ml = sizeof more;
        int64_t sent = 0;
        while (more) {
            if (zmq_msg_recv(&m, s, 0) < 0)
                goto out;
            if (part++ == 1 && zmq_msg_size(&m) >= sizeof sent)
                memcpy(&sent, zmq_msg_data(&m), sizeof sent);
            zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
        }
        if (zmq_msg_size(&m) != z->len)
            continue;
        t_last = clock_mono_ns();
        if (z->pace > 0 && t0 && z->nlat < LAT_MAX)
            z->lat_ns[z->nlat++] = t_last - sent;
        if (!t0)
            t0 = t_last; /* the clock starts at the first message */
        else
            n++;
    }
    if (n > 0)
        z->fps = (double)n * 1e9 / (double)(t_last - t0);
out:
    zmq_msg_close(&m);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

/* One way of running the publisher and subscriber. */
struct variant {
    const char *name;
    int pub_hwm, sub_hwm, sndbuf;
    bool nodrop, hop;
    double pace; /* paced: the figure is the median latency, us */
    bool tcp;    /* plain TCP, no ZeroMQ (paced only) */
};

/* The figures, in the order they are measured and printed; the first is
 * the reference, and --ref-only keeps the first REF_ONLY. */
static const struct variant figures[] = {
    {"zmq_tcp_fps", NET_PUB_HWM, NET_HWM, 0, true, false, 0, false},
    {"zmq_tcp2_fps", NET_PUB_HWM, NET_HWM, 0, true, true, 0, false},
    {"zmq_tcp_fps_sndbuf", NET_PUB_HWM, NET_HWM, NET_SNDBUF, true, false, 0,
     false},
    {"zmq_tcp_fps_hwm1000", 1000, 1000, 0, true, false, 0, false},
    {"zmq_tcp_fps_drop", NET_PUB_HWM, NET_HWM, 0, false, false, 0, false},
    {"zmq_tcp_lat_p50_us", NET_PUB_HWM, NET_HWM, 0, true, false, 30, false},
    {"zmq_tcp2_lat_p50_us", NET_PUB_HWM, NET_HWM, 0, true, true, 30, false},
    {"tcp_lat_p50_us", 0, 0, 0, false, false, 30, true},
    {"tcp_cut_lat_p50_us", 0, 0, 0, false, true, 30, true},
};
#define NFIGURES (sizeof figures / sizeof figures[0])
#define REF_ONLY 3

static void print_figures(FILE *f)
{
    for (size_t i = 0; i < NFIGURES; i++)
        fprintf(f, "%s%s", i % 3 ? ", " : "\n  ", figures[i].name);
    fputc('\n', f);
}

/* The figures main measures: want[i] for figures[i].  --only's names
 * (comma-separated), else all, or the first REF_ONLY with --ref-only.
 * -1 with a message if --only names a figure there is not. */
static int choose(const struct opts *o, bool want[NFIGURES])
{
    for (size_t i = 0; i < NFIGURES; i++)
        want[i] = !o->only && (!o->ref_only || i < REF_ONLY);
    for (const char *p = o->only; p; p = strchr(p, ',')) {
        p += p != o->only; /* past the comma */
        size_t n = strcspn(p, ","), i = 0;
        while (i < NFIGURES &&
               (strlen(figures[i].name) != n || strncmp(figures[i].name, p, n)))
            i++;
        if (i == NFIGURES) {
            fprintf(stderr, PROG ": --only: no figure \"%.*s\" (see --help)\n",
                    (int)n, p);
            return -1;
        }
        want[i] = true;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double zmq_fps(const uint8_t *payload, size_t len,
                      const struct variant *v, double seconds)
{
    static struct zrun z; /* its latencies are too many for a stack */
    z = (struct zrun){.len = len,
                      .payload = payload,
                      .pub_hwm = v->pub_hwm,
                      .sub_hwm = v->sub_hwm,
                      .sndbuf = v->sndbuf,
                      .nodrop = v->nodrop,
                      .hop = v->hop,
                      .pace = v->pace,
                      .seconds = v->pace > 0 && seconds < 2 ? 2 : seconds};
    pthread_t pt, ft;
    bool fwd = false;

    if (pthread_create(&pt, NULL, publisher, &z) != 0)
        return -1;
    while (!z.ready && !z.stop)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (v->hop && !z.stop && pthread_create(&ft, NULL, forwarder, &z) == 0) {
        fwd = true;
        while (!z.fwd_ready && !z.stop)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    if (!z.stop)
        subscriber(&z, v->hop ? z.fwd_ep : z.pub_ep);
    z.stop = true;
    pthread_join(pt, NULL);
    if (fwd)
        pthread_join(ft, NULL);
    if (z.err)
        fprintf(stderr, PROG ": zmq: %s\n", zmq_strerror(z.err));
    if (z.err || (v->pace > 0 && !z.nlat))
        return -1;
    if (v->pace > 0) {
        qsort(z.lat_ns, z.nlat, sizeof z.lat_ns[0], cmp_i64);
        return (double)z.lat_ns[z.nlat / 2] / 1e3;
    }
    return z.fps;
}

/* Plain TCP, no ZeroMQ: one stream of frames (a 16-byte stamp and
 * length, then the payload), paced, on the kernel's own socket settings.
 * Its median latency is the floor under zmq_tcp_lat_p50_us; through a
 * forwarder that passes on each TCP_CUT bytes as they arrive, the floor
 * under any hop, which no forwarder of whole messages can reach. */
#define TCP_CUT (256 * 1024)

struct trun {
    size_t len;
    const uint8_t *payload;
    double seconds;
    int lis_pub, lis_fwd; /* listening sockets */
    _Atomic int err;      /* errno of a failure */
};

/* Keeps errno of a failed call, and closes s (if any): -1. */
static int tcp_failed(struct trun *t, int s)
{
    t->err = errno;
    if (s >= 0)
        close(s);
    return -1;
}

static int tcp_listen(struct trun *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {5, 0}; /* an accept that nothing reaches ends */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
        bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1))
        return tcp_failed(t, s);
    return s;
}

static int tcp_connect(struct trun *t, int lis)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || getsockname(lis, (struct sockaddr *)&a, &al) ||
        connect(s, (struct sockaddr *)&a, al))
        return tcp_failed(t, s);
    return s;
}

static int tcp_accept(struct trun *t, int lis)
{
    int s = accept4(lis, NULL, NULL, SOCK_CLOEXEC);
    return s < 0 ? tcp_failed(t, s) : s;
}

/* 0 after len bytes, -1 at the end of the stream or an error. */
static int read_full(int s, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t r = read(s, (uint8_t *)buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void *tcp_writer(void *arg)
{
    struct trun *t = arg;
    int s = tcp_accept(t, t->lis_pub);
    int64_t next = clock_mono_ns(), end = next + (int64_t)(t->seconds * 1e9);

    while (s >= 0 && next < end) {
        int64_t now = clock_mono_ns();
        if (next > now)
            nanosleep(&(struct timespec){0, (long)(next - now)}, NULL);
        next += 1000000000 / 30;
        uint64_t hdr[2] = {(uint64_t)clock_mono_ns(), t->len};
        struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)t->payload, t->len}};
        if (io_writev_all(s, iov, 2) < 0)
            break;
    }
    if (s >= 0)
        close(s); /* the reader's end of the stream */
    return NULL;
}

static void *tcp_forwarder(void *arg)
{
    struct trun *t = arg;
    int out = tcp_accept(t, t->lis_fwd);
    int in = out < 0 ? -1 : tcp_connect(t, t->lis_pub);
    uint8_t *buf = malloc(TCP_CUT);

    while (in >= 0 && buf) {
        ssize_t r = read(in, buf, TCP_CUT);
        if (r < 0 && errno == EINTR)
            continue;
        struct iovec iov = {buf, r > 0 ? (size_t)r : 0};
        if (r <= 0 || io_writev_all(out, &iov, 1) < 0)
            break;
    }
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return NULL;
}

/* Median latency in us of frames paced at 30 a second, the first left
 * out; -1 when the run failed. */
static double tcp_lat_us(const uint8_t *payload, size_t len, bool hop,
                         double seconds)
{
    static int64_t lat[LAT_MAX];
    struct trun t = {.len = len,
                     .payload = payload,
                     .seconds = seconds < 2 ? 2 : seconds,
                     .lis_pub = -1,
                     .lis_fwd = -1};
    uint8_t *buf = malloc(len);
    pthread_t wt, ft;
    bool w = false, f = false;
    unsigned n = 0;
    int s = -1;

    if (!buf || (t.lis_pub = tcp_listen(&t)) < 0 ||
        (hop && (t.lis_fwd = tcp_listen(&t)) < 0))
        goto out;
    w = pthread_create(&wt, NULL, tcp_writer, &t) == 0;
    f = hop && pthread_create(&ft, NULL, tcp_forwarder, &t) == 0;
    if (!w || (hop && !f) ||
        (s = tcp_connect(&t, hop ? t.lis_fwd : t.lis_pub)) < 0)
        goto out;
    for (bool first = true;; first = false) {
        uint64_t hdr[2];
        if (read_full(s, hdr, sizeof hdr) < 0 || hdr[1] != len ||
            read_full(s, buf, len) < 0)
            break;
        int64_t d = clock_mono_ns() - (int64_t)hdr[0];
        if (!first && n < LAT_MAX)
            lat[n++] = d;
    }
out:
    if (s >= 0)
        close(s);
    /* A thread still in accept() gives up after SO_RCVTIMEO. */
    if (w)
        pthread_join(wt, NULL);
    if (f)
        pthread_join(ft, NULL);
    if (t.lis_pub >= 0)
        close(t.lis_pub);
    if (t.lis_fwd >= 0)
        close(t.lis_fwd);
    free(buf);
    if (t.err)
        fprintf(stderr, PROG ": tcp: %s\n", strerror(t.err));
    if (t.err || !n)
        return -1;
    qsort(lat, n, sizeof lat[0], cmp_i64);
    return (double)lat[n / 2] / 1e3;
}

/* Runs one figure o->reps times; prints "name":best,"name_runs":[...]
 * and returns the best.  Other work on the machine only ever slows a run
 * down, so the best run is the nearest to what the machine can do. */
static double best_of(const struct opts *o, const uint8_t *payload, size_t len,
                      const struct variant *v)
{
    double best = -1, runs[100];
    for (unsigned i = 0; i < o->reps; i++) {
        runs[i] = v->tcp ? tcp_lat_us(payload, len, v->hop, o->seconds)
                         : zmq_fps(payload, len, v, o->seconds);
        /* The most frames, or the least latency. */
        if (runs[i] >= 0 &&
            (best < 0 || (v->pace > 0 ? runs[i] < best : runs[i] > best)))
            best = runs[i];
    }
    printf(",\"%s\":%.1f,\"%s_runs\":[", v->name, best, v->name);
    for (unsigned i = 0; i < o->reps; i++)
        printf("%s%.1f", i ? "," : "", runs[i]);
    printf("]");
    return best;
}

int main(int argc, char **argv)
{
    struct opts o;
    bool want[NFIGURES];

    if (parse(argc, argv, &o) < 0 || choose(&o, want) < 0)
        return EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN); /* a TCP run's reader that stops is an error */
    size_t len = (size_t)o.w * o.h * pixfmt_bpp(PIXFMT_BGR24);
    double mc = memcpy_median_us(len);
    if (mc < 0) {
        fprintf(stderr, PROG ": out of memory for %zu bytes\n", len);
        return EXIT_RUNTIME;
    }
    printf("{\"size\":\"%ux%u\",\"bytes\":%zu,\"memcpy_us\":%.1f,"
           "\"memcpy_gbps\":%.2f",
           o.w, o.h, len, mc, (double)len / (mc * 1e3));
    if (!o.no_zmq) {
        uint8_t *payload = malloc(len);
        if (!payload) {
            fprintf(stderr, PROG ": out of memory for %zu bytes\n", len);
            return EXIT_RUNTIME;
        }
        memset(payload, 0x3c, len);
        printf(",\"zmq_pub_hwm\":%d,\"zmq_sub_hwm\":%d,\"zmq_sndbuf\":%d,"
               "\"zmq_reps\":%u",
               NET_PUB_HWM, NET_HWM, NET_SNDBUF, o.reps);
        for (size_t i = 0; i < NFIGURES; i++) {
            if (!want[i])
                continue;
            double x = best_of(&o, payload, len, &figures[i]);
            if (i == 0)
                printf(",\"zmq_tcp_gbps\":%.2f", x * (double)len / 1e9);
        }
        free(payload);
    }
    printf("}\n");
    return EXIT_OK;
}
