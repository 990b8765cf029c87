/* notify.c -- sd_notify(3) for the programs' main loops (notify.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "cli/notify.h"
#include "util/log.h"
#include "vidpipe.h"

static int64_t watchdog_half_ns; /* 0: no watchdog asked for */
static int64_t watchdog_next_ns;

void cli_notify_ready(const char *fmt, ...)
{
    char status[256];
    uint64_t usec;
    va_list ap;

    if (!getenv("NOTIFY_SOCKET"))
        return;
    /* WATCHDOG_PID, when set, must be ours: sd_watchdog_enabled() checks. */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_half_ns = (int64_t)(usec * 1000 / 2);
        watchdog_next_ns = vp_clock_mono_ns(); /* fed at the first pass */
    }
    va_start(ap, fmt);
    vsnprintf(status, sizeof status, fmt, ap);
    va_end(ap);
    int rc = sd_notifyf(0, "READY=1\nSTATUS=%s", status);
    if (rc < 0)
        log_warn("NOTIFY_SOCKET: cannot notify the service manager: %s",
                 strerror(-rc));
}

void cli_notify_watchdog(void)
{
    if (!watchdog_half_ns)
        return;
    int64_t now = vp_clock_mono_ns();
    if (now < watchdog_next_ns)
        return;
    watchdog_next_ns = now + watchdog_half_ns;
    sd_notify(0, "WATCHDOG=1");
}

void cli_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
