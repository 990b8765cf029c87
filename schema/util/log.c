/* log.c -- one-line diagnostics on stderr. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"

static const char *prefix = "vidpipe";
static bool quiet;
static int tty = -1; /* stderr is a terminal: 1, not: 0, unknown: -1 */

void log_init(const char *prog)
{
    prefix = prog;
}

void log_quiet(bool on)
{
    quiet = on;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: %s", prefix, level);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* On a terminal a status line may stand where the cursor is (ours or
     * another process's): clear it, and it is redrawn at its next tick.
     * One fprintf per line, so lines from several processes do not mix. */
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", line);
}

void log_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("error: ", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    if (quiet)
        return;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *l, const char *fmt, ...)
{
    int64_t now = clock_mono_ns();
    va_list ap;

    if (l->last_ns && now - l->last_ns < 1000000000) {
        l->suppressed++;
        return;
    }
    if (l->suppressed)
        log_warn("(%llu similar messages suppressed)",
                 (unsigned long long)l->suppressed);
    l->last_ns = now;
    l->suppressed = 0;
    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}
