/* fuzz_parse.c -- libFuzzer target: the command-line and endpoint parsers
 * (endpoint_parse, source_parse, sink_parse, cli_size, cli_uint,
 * cli_double) on a NUL-terminated copy of the input, sized exactly so
 * ASan sees a read past the NUL. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/spec.h"
#include "transport/endpoint.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_parse: %s:%d: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    char *s = malloc(len + 1);
    const char *why;
    CHECK(s);
    memcpy(s, buf, len);
    s[len] = 0;
    size_t sl = strlen(s);

    struct endpoint ep;
    why = NULL;
    if (endpoint_parse(s, &ep, &why) == 0) {
        CHECK(ep.kind == EP_ZMQ || ep.kind == EP_STDIO);
        /* The url is the spec, but for the direction's word. */
        size_t skip = ep.dir == EP_DIR_BIND      ? strlen("bind:")
                      : ep.dir == EP_DIR_CONNECT ? strlen("connect:")
                                                 : 0;
        CHECK(ep.dir == EP_DIR_DEFAULT || ep.kind == EP_ZMQ);
        CHECK(strcmp(ep.url, s + skip) == 0);
        CHECK(strncmp(ep.url, "tcp://", 6) == 0 ||
              strncmp(ep.url, "ipc://", 6) == 0 || strcmp(ep.url, "-") == 0);
    } else {
        CHECK(why != NULL);
    }

    struct source_spec src;
    why = NULL;
    if (source_parse(s, &src, &why) == 0) {
        CHECK(src.kind >= SRC_TEST && src.kind <= SRC_OPENCV);
        /* The argument is the spec, but for v4l2:DEVICE's DEVICE. */
        if (strncmp(s, "v4l2:", 5) == 0)
            CHECK(src.kind == SRC_V4L2 && strcmp(src.arg, s + 5) == 0 &&
                  src.arg[0]);
        else
            CHECK(strcmp(src.arg, s) == 0);
    } else {
        CHECK(why != NULL);
    }

    struct sink_spec sink;
    why = NULL;
    if (sink_parse(s, &sink, &why) == 0) {
        CHECK(sink.kind >= SINK_WINDOW && sink.kind <= SINK_MUX);
        CHECK(strlen(sink.arg) < SPEC_MAX && sink.arg[0] != 0);
    } else {
        CHECK(why != NULL);
    }

    uint32_t w = 0, h = 0;
    if (cli_size(s, &w, &h) == 0)
        CHECK(w >= 1 && w <= VP_DIM_MAX && h >= 1 && h <= VP_DIM_MAX);

    uint64_t u;
    if (cli_uint(s, 1, VP_DIM_MAX, &u) == 0)
        CHECK(u >= 1 && u <= VP_DIM_MAX);
    if (cli_uint(s, 0, UINT64_MAX, &u) == 0) {
        char back[32];
        snprintf(back, sizeof back, "%llu", (unsigned long long)u);
        uint64_t u2;
        CHECK(cli_uint(back, 0, UINT64_MAX, &u2) == 0 && u2 == u);
        CHECK(sl > 0);
    }

    double d;
    if (cli_double(s, 0.001, 1000.0, &d) == 0)
        CHECK(isfinite(d) && d >= 0.001 && d <= 1000.0);
    if (cli_double(s, -INFINITY, INFINITY, &d) == 0)
        CHECK(isfinite(d));

    free(s);
    return 0;
}
