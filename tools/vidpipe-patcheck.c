/* vidpipe-patcheck.c -- read the test: pattern's seq back from raw frames.
 *
 * Reads raw frames from stdin, as `ffmpeg -f rawvideo` writes them (rows
 * packed, no padding), and prints one JSON line per frame on stdout:
 * {"frame":N,"seq":S}, or "seq":null when the pattern does not decode.
 * Tests use it to check pixels that went through a window or a file;
 * people can stream anything through ffmpeg into it.  With --exact each
 * line also says whether the frame is, byte for byte, the test: picture
 * of its seq ("exact":true), as raw paths must deliver it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-patcheck"

struct patcheck {
    uint32_t w, h;
    enum vp_pixfmt fmt;
    bool exact;
};

/* Long-only: -s is --stream in the programs. */
enum { OPT_SIZE = 256 };

static const struct cli_opt opts[] = {
    {"size", OPT_SIZE, "WxH", "frame size (required)"},
    {"pix-fmt", 'p', "FMT",
     "bgr24 (default), rgb24, gray, yuv420p, nv12 or yuyv422"},
    {"exact", 'x', NULL,
     "also compare every byte with the test: picture of the seq"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    struct patcheck *pc = ctx;
    switch (id) {
    case OPT_SIZE:
        if (cli_size(arg, &pc->w, &pc->h) < 0) {
            log_err("--size %s: expected WxH, each 1..16384", arg);
            return -1;
        }
        return 0;
    case 'x':
        pc->exact = true;
        return 0;
    case 'p':
        if (!(pc->fmt = vp_pixfmt_parse(arg))) {
            log_err("--pix-fmt %s: expected bgr24, rgb24, gray, yuv420p, "
                    "nv12 or yuyv422",
                    arg);
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "--size WxH [--pix-fmt FMT] [--exact] < frames",
    .about = "Reads raw frames (e.g. from ffmpeg -f rawvideo -) on stdin and "
             "prints\none JSON line per frame: {\"frame\":N,\"seq\":S}, or "
             "\"seq\":null when the\ntest: pattern does not decode.",
    .opts = opts,
    .take = take,
    .epilog = "\nExample: ffmpeg -loglevel error -i shot.png -pix_fmt bgr24 "
              "-f rawvideo - |\n           " PROG " --size 640x360\n"
              "Exit status: 0 at the end of input, 1 if it ends inside a "
              "frame or cannot\nbe read, 2 on usage errors.\n",
};

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
    struct patcheck pc = {.fmt = VP_PIX_BGR24};
    struct cli_common c;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &pc;
    if (cli_parse(&p, argc, argv, &c) < 0)
        return EXIT_USAGE;
    uint32_t w = pc.w, h = pc.h;
    enum vp_pixfmt fmt = pc.fmt;
    if (w == 0) {
        log_err("--size WxH is required (see --help)");
        return EXIT_USAGE;
    }
    if (w < 64 || h < 48) {
        log_err("--size %ux%u: the pattern needs at least 64x48", w, h);
        return EXIT_USAGE;
    }

    struct vp_image img;
    size_t len = vp_image_layout(&img, w, h, fmt, 0, NULL);
    if (!len) {
        log_err("--size %ux%u: not a size of %s", w, h, vp_pixfmt_name(fmt));
        return EXIT_USAGE;
    }
    uint8_t *buf = malloc(len), *want = pc.exact ? malloc(len) : NULL;
    if (!buf || (pc.exact && !want)) {
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
        vp_image_layout(&img, w, h, fmt, 0, buf);
        if (vp_pattern_read(&img, &seq) < 0) {
            printf("{\"frame\":%llu,\"seq\":null}\n", n);
        } else if (want) {
            struct vp_image ref;
            vp_image_layout(&ref, w, h, fmt, 0, want);
            vp_pattern_draw(&ref, seq);
            printf("{\"frame\":%llu,\"seq\":%llu,\"exact\":%s}\n", n,
                   (unsigned long long)seq,
                   memcmp(buf, want, len) ? "false" : "true");
        } else {
            printf("{\"frame\":%llu,\"seq\":%llu}\n", n,
                   (unsigned long long)seq);
        }
        if (fflush(stdout) == EOF) {
            log_err("stdout: %s", strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
    }
    free(buf);
    free(want);
    return rc;
}
