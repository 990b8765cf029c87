/* cli.c -- numbers, signals and versions on the command line. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void cli_keep_frame_memory(void)
{
    /* Up to 32 MiB (a 4K bgr24 frame is 25 MB) from the heap, not a
     * mapping of its own; free heap kept up to 256 MiB. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
}

void cli_give_back_memory(void)
{
    malloc_trim(0);
}

void cli_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cli_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char *end;
    /* strtoull would skip blanks and accept a sign: digits only. */
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || x < min || x > max)
        return -EINVAL;
    *v = x;
    return 0;
}

int cli_double(const char *s, double min, double max, double *v)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x) || x < min || x > max)
        return -EINVAL;
    *v = x;
    return 0;
}

int cli_rate(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char buf[32];
    uint64_t n, mul = 1;
    size_t len = s ? strlen(s) : 0;

    if (len == 0 || len >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, len + 1);
    if (buf[len - 1] == 'k' || buf[len - 1] == 'K')
        mul = 1000, buf[len - 1] = 0;
    else if (buf[len - 1] == 'M')
        mul = 1000000, buf[len - 1] = 0;
    if (cli_uint(buf, 0, UINT64_MAX / mul, &n) < 0 || n * mul < min ||
        n * mul > max)
        return -EINVAL;
    *v = n * mul;
    return 0;
}

int cli_codec(const char *opt, const char *s, enum vp_codec *c)
{
    if (vp_codec_parse(s, c) == 0)
        return 0;
    log_err("%s %s: expected raw, jpeg or h264", opt, s);
    return -EINVAL;
}

int cli_size(const char *s, uint32_t *w, uint32_t *h)
{
    char buf[32];
    const char *x = strchr(s, 'x');
    uint64_t a, b;
    if (!x || (size_t)(x - s) >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = 0;
    if (cli_uint(buf, 1, VP_DIM_MAX, &a) < 0 ||
        cli_uint(x + 1, 1, VP_DIM_MAX, &b) < 0)
        return -EINVAL;
    *w = (uint32_t)a;
    *h = (uint32_t)b;
    return 0;
}

void cli_version(const char *prog)
{
    printf("%s %s\n", prog, VIDPIPE_VERSION);
}
