/* vidpipe-patcheck.c -- read the test: pattern's seq back from raw frames.
 *
 * Reads raw frames from stdin, as `ffmpeg -f rawvideo` writes them (rows
 * packed, no padding), and prints one JSON line per frame on stdout:
 * {"frame":N,"seq":S}, or "seq":null when the pattern does not decode.
 * Tests use it to check pixels that went through a window or a file;
 * people can stream anything through ffmpeg into it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "contract/frame.h"
#include "util/log.h"
#include "contract/pattern.h"

#define PROG "vidpipe-patcheck"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --size WxH [--pix-fmt FMT] < frames\n"
            "Reads raw frames (e.g. from ffmpeg -f rawvideo -) on stdin and "
            "prints\none JSON line per frame: {\"frame\":N,\"seq\":S}, or "
            "\"seq\":null when the\ntest: pattern does not decode.\n"
            "\n"
            "  -s, --size WxH      frame size (required)\n"
            "  -p, --pix-fmt FMT   bgr24 (default), rgb24 or gray\n"
            "  -h, --help          this help\n"
            "  -V, --version       print the version\n"
            "\n"
            "Example: ffmpeg -loglevel error -i shot.png -pix_fmt bgr24 "
            "-f rawvideo - |\n"
            "           " PROG " --size 640x360\n"
            "Exit status: 0 at the end of input, 1 if it ends inside a frame "
            "or cannot\nbe read, 2 on usage errors.\n");
}

/* Reads exactly len bytes unless stdin ends first; returns the count. */
static size_t read_full(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        size_t n = fread(buf + got, 1, len - got, stdin);
        if (n == 0)
            break;
        got += n;
    }
    return got;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"size", required_argument, 0, 's'},
        {"pix-fmt", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    uint32_t w = 0, h = 0;
    enum pixfmt fmt = PIXFMT_BGR24;
    int c;

    log_init(PROG);
    while ((c = getopt_long(argc, argv, "s:p:hV", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cli_size(optarg, &w, &h) < 0) {
                log_err("--size %s: expected WxH, each 1..16384", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'p':
            if ((fmt = pixfmt_parse(optarg)) == PIXFMT_NONE) {
                log_err("--pix-fmt %s: expected bgr24, rgb24 or gray", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            cli_version(PROG);
            return EXIT_OK;
        default:
            log_err("see --help");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_err("unexpected argument '%s' (see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (w == 0) {
        log_err("--size WxH is required (see --help)");
        return EXIT_USAGE;
    }
    if (w < PATTERN_MIN_W || h < PATTERN_MIN_H) {
        log_err("--size %ux%u: the pattern needs at least %ux%u", w, h,
                PATTERN_MIN_W, PATTERN_MIN_H);
        return EXIT_USAGE;
    }

    /* w, h <= 16384 and bpp <= 3: no overflow in size_t. */
    size_t stride = (size_t)w * pixfmt_bpp(fmt), len = stride * h;
    uint8_t *buf = malloc(len);
    if (!buf) {
        log_err("cannot allocate a %ux%u frame", w, h);
        return EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    for (unsigned long long n = 0;; n++) {
        size_t got = read_full(buf, len);
        if (got < len) {
            if (ferror(stdin)) {
                log_err("stdin: %s", strerror(errno));
                rc = EXIT_RUNTIME;
            } else if (got > 0) {
                log_err("input ends inside frame %llu (%zu of %zu bytes): "
                        "wrong --size or --pix-fmt?",
                        n, got, len);
                rc = EXIT_RUNTIME;
            }
            break;
        }
        uint64_t seq;
        if (pattern_read(buf, w, h, (uint32_t)stride, fmt, &seq) == 0)
            printf("{\"frame\":%llu,\"seq\":%llu}\n", n,
                   (unsigned long long)seq);
        else
            printf("{\"frame\":%llu,\"seq\":null}\n", n);
        if (fflush(stdout) == EOF) {
            log_err("stdout: %s", strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
    }
    free(buf);
    return rc;
}
