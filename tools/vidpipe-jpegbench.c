/* vidpipe-jpegbench.c -- what a JPEG costs per frame: encode and decode
 * time and size of test: frames, as capture and display make them.
 *
 * Each frame is drawn (untimed) by the test: pattern for its own seq, so
 * the picture moves as in a live stream; encode and decode are timed on
 * one thread with the schema's codec, the same calls capture and display
 * make.  Real camera pictures (noise, detail) give larger JPEGs than the
 * pattern's flat areas: read the sizes as a lower bound.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "codec/jpeg.h"
#include "util/clock.h"
#include "util/log.h"
#include "contract/pattern.h"

#define PROG "vidpipe-jpegbench"
#define MAX_SIZES 8

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [--size WxH ...] [--quality Q] [-n N]\n"
               "Times JPEG encode and decode of N test: frames per size.\n"
               "\n"
               "      --size WxH     frame size (repeatable; default 1280x720 "
               "and 1920x1080)\n"
               "      --quality Q    JPEG quality 1..100 (default 80)\n"
               "  -n, --frames N     frames per size (default 200)\n"
               "  -h, --help         this help\n");
}

static int bench(uint32_t w, uint32_t h, int quality, uint64_t n)
{
    uint32_t stride = w * 3;
    size_t cap = jpeg_bound(w, h), len, total = 0;
    uint8_t *px = malloc((size_t)stride * h), *out = malloc((size_t)stride * h);
    uint8_t *jb = malloc(cap);
    struct jpeg *j = jpeg_new();
    int64_t enc_ns = 0, dec_ns = 0, enc_min = INT64_MAX;
    int rc = -1;

    if (!px || !out || !jb || !j) {
        log_err("out of memory for %ux%u", w, h);
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        pattern_draw(px, w, h, stride, PIXFMT_BGR24, i);
        int64_t t0 = clock_mono_ns();
        if (jpeg_encode(j, px, w, h, stride, PIXFMT_BGR24, quality, jb, cap,
                        &len) < 0) {
            log_err("encode failed at %ux%u", w, h);
            goto out;
        }
        int64_t t1 = clock_mono_ns();
        if (jpeg_decode(j, jb, len, out, w, h, stride, PIXFMT_BGR24) < 0) {
            log_err("decode failed at %ux%u", w, h);
            goto out;
        }
        int64_t t2 = clock_mono_ns();
        enc_ns += t1 - t0;
        dec_ns += t2 - t1;
        enc_min = t1 - t0 < enc_min ? t1 - t0 : enc_min;
        total += len;
    }
    double bytes = (double)total / (double)n;
    printf("%ux%u q%d: encode %.2f ms (min %.2f), decode %.2f ms, "
           "%.0f bytes/frame (%.1f:1), %.1f Mbit/s at 30 fps\n",
           w, h, quality, (double)enc_ns / (double)n / 1e6,
           (double)enc_min / 1e6, (double)dec_ns / (double)n / 1e6, bytes,
           (double)stride * h / bytes, bytes * 8 * 30 / 1e6);
    rc = 0;
out:
    jpeg_free(j);
    free(px);
    free(out);
    free(jb);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"size", required_argument, 0, 'S'},
        {"quality", required_argument, 0, 'Q'},
        {"frames", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    uint32_t w[MAX_SIZES] = {1280, 1920}, h[MAX_SIZES] = {720, 1080};
    unsigned nsizes = 0;
    uint64_t n = 200, q = 80;
    int c;

    log_init(PROG);
    while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
        switch (c) {
        case 'S': /* long-only: -s is --stream in the programs */
            if (nsizes == MAX_SIZES ||
                cli_size(optarg, &w[nsizes], &h[nsizes]) < 0 ||
                w[nsizes] < PATTERN_MIN_W || h[nsizes] < PATTERN_MIN_H) {
                log_err("--size %s: expected WxH, at least %dx%d (at most "
                        "%d sizes)",
                        optarg, PATTERN_MIN_W, PATTERN_MIN_H, MAX_SIZES);
                return EXIT_USAGE;
            }
            nsizes++;
            break;
        case 'Q':
            if (cli_uint(optarg, 1, 100, &q) < 0) {
                log_err("--quality %s: expected 1..100", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            if (cli_uint(optarg, 1, 100000, &n) < 0) {
                log_err("--frames %s: expected 1..100000", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_err("unexpected argument '%s' (see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (nsizes == 0)
        nsizes = 2;
    for (unsigned i = 0; i < nsizes; i++)
        if (bench(w[i], h[i], (int)q, n) < 0)
            return EXIT_RUNTIME;
    return EXIT_OK;
}
