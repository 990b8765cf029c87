/* vidpipe-h264bench.c -- what H.264 costs and saves per frame, against
 * JPEG: bytes, PSNR against the source, encode and decode time.
 *
 * Reads raw bgr24 frames of one size from stdin (e.g. ffmpeg's testsrc2
 * or a camera's recording: the test: pattern's flat areas compress far
 * better than a camera picture), encodes each with the publisher's H.264
 * encoder at the bit rate asked and with the JPEG codec at the quality
 * asked, decodes both as a subscriber would, and prints one JSON line:
 * mean bytes a frame, PSNR (all three channels, against the source),
 * and p50 encode and decode times of each.  One thread, the same calls
 * capture and display make.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codec/h264.h"
#include "codec/jpeg.h"
#include "util/clock.h"
#include "util/log.h"

#define PROG "vidpipe-h264bench"
#define MAX_FRAMES 100000

/* Long-only: -q, -s and -f are --quiet, --stream and keygen's --force
 * elsewhere. */
enum { OPT_QUALITY = 256, OPT_SIZE, OPT_FPS };

struct opts {
    uint32_t w, h;
    uint64_t bitrate, quality, fps;
};

static const struct cli_opt opts[] = {
    {"size", OPT_SIZE, "WxH", "frame size of the raw bgr24 input (required)"},
    {"bitrate", 'b', "RATE", "H.264 bit rate (default 4M)"},
    {"quality", OPT_QUALITY, "Q", "JPEG quality (default 80)"},
    {"fps", OPT_FPS, "N", "frame rate the H.264 rate control assumes (30)"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    struct opts *o = ctx;
    switch (id) {
    case OPT_SIZE:
        return cli_size(arg, &o->w, &o->h) < 0 ? -1 : 0;
    case 'b':
        return cli_rate(arg, 10000, 500000000, &o->bitrate) < 0 ? -1 : 0;
    case OPT_QUALITY:
        return cli_uint(arg, 1, 100, &o->quality) < 0 ? -1 : 0;
    case OPT_FPS:
        return cli_uint(arg, 1, 1000, &o->fps) < 0 ? -1 : 0;
    default:
        return -1;
    }
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "--size WxH [--bitrate RATE] [-q Q] < frames.bgr24",
    .about = "Encodes raw bgr24 frames from stdin as H.264 and as JPEG, "
             "decodes both,\nand prints bytes, PSNR and times of each as "
             "one JSON line.",
    .opts = opts,
    .take = take,
};

static size_t read_full(uint8_t *buf, size_t len)
{
    size_t got = 0, n;
    while (got < len && (n = fread(buf + got, 1, len - got, stdin)) > 0)
        got += n;
    return got;
}

/* Sum of squared errors of two pictures of len bytes. */
static double sse(const uint8_t *a, const uint8_t *b, size_t len)
{
    double s = 0;
    for (size_t i = 0; i < len; i++) {
        int d = (int)a[i] - (int)b[i];
        s += d * d;
    }
    return s;
}

static double psnr(double sum, double samples)
{
    double mse = sum / samples;
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99.0;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double p50_ms(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    return n ? (double)v[n / 2] / 1e6 : 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.bitrate = 4000000, .quality = 80, .fps = 30};
    struct cli_common c;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &o;
    if (cli_parse(&p, argc, argv, &c) < 0 || !o.w || (o.w | o.h) & 1) {
        log_err("--size WxH (even) is required (see --help)");
        return EXIT_USAGE;
    }
    size_t len = (size_t)o.w * 3 * o.h, cap = jpeg_bound(o.w, o.h);
    uint8_t *src = malloc(len), *out = malloc(len), *jb = malloc(cap);
    int64_t *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = malloc(MAX_FRAMES * sizeof **t);
    struct h264enc *e;
    const char *why;
    int rc = h264enc_new(&e, o.w, o.h, PIXFMT_BGR24, (double)o.fps,
                         (uint32_t)o.bitrate, 60, &why);
    struct h264dec *d = NULL;
    struct jpeg *j = jpeg_new();
    if (rc < 0) {
        log_err("h264: %ux%u: %s", o.w, o.h, why);
        return EXIT_RUNTIME;
    }
    if ((rc = h264dec_new(&d, &why)) < 0) {
        log_err("h264: %s", why);
        return EXIT_RUNTIME;
    }
    if (!src || !out || !jb || !t[3] || !d || !j) {
        log_err("out of memory");
        return EXIT_RUNTIME;
    }
    double h_sse = 0, j_sse = 0, h_bytes = 0, j_bytes = 0;
    size_t n = 0, hn = 0;
    while (n < MAX_FRAMES && read_full(src, len) == len) {
        const uint8_t *pkt;
        size_t plen, jlen;
        bool key;
        int64_t t0 = clock_mono_ns();
        if (h264enc_encode(e, src, o.w * 3, false, &pkt, &plen, &key) < 0) {
            log_err("H.264 encode failed");
            return EXIT_RUNTIME;
        }
        int64_t t1 = clock_mono_ns();
        int rc =
            h264dec_decode(d, pkt, plen, out, o.w, o.h, o.w * 3, PIXFMT_BGR24);
        int64_t t2 = clock_mono_ns();
        if (rc == 0) {
            h_sse += sse(src, out, len);
            t[1][hn++] = t2 - t1;
        }
        t[0][n] = t1 - t0;
        h_bytes += (double)plen;
        int64_t t3 = clock_mono_ns();
        if (jpeg_encode(j, src, o.w, o.h, o.w * 3, PIXFMT_BGR24, (int)o.quality,
                        jb, cap, &jlen) < 0) {
            log_err("JPEG encode failed");
            return EXIT_RUNTIME;
        }
        int64_t t4 = clock_mono_ns();
        jpeg_decode(j, jb, jlen, out, o.w, o.h, o.w * 3, PIXFMT_BGR24);
        int64_t t5 = clock_mono_ns();
        j_sse += sse(src, out, len);
        j_bytes += (double)jlen;
        t[2][n] = t4 - t3;
        t[3][n] = t5 - t4;
        n++;
    }
    if (n == 0 || hn == 0) {
        log_err("no frames on stdin");
        return EXIT_RUNTIME;
    }
    printf("{\"size\":\"%ux%u\",\"frames\":%zu,\"h264_bitrate\":%llu,"
           "\"h264_bytes\":%.0f,\"h264_psnr\":%.2f,\"h264_encode_ms\":%.3f,"
           "\"h264_decode_ms\":%.3f,\"jpeg_quality\":%llu,\"jpeg_bytes\":%.0f,"
           "\"jpeg_psnr\":%.2f,\"jpeg_encode_ms\":%.3f,\"jpeg_decode_ms\":%.3f,"
           "\"bytes_ratio\":%.3f}\n",
           o.w, o.h, n, (unsigned long long)o.bitrate, h_bytes / (double)n,
           psnr(h_sse, (double)hn * (double)len), p50_ms(t[0], n),
           p50_ms(t[1], hn), (unsigned long long)o.quality, j_bytes / (double)n,
           psnr(j_sse, (double)n * (double)len), p50_ms(t[2], n),
           p50_ms(t[3], n), h_bytes / j_bytes);
    h264enc_free(e);
    h264dec_free(d);
    jpeg_free(j);
    return EXIT_OK;
}
