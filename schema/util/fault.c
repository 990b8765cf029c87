/* fault.c -- fault points armed by VIDPIPE_FAULTS (fault.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fault.h"
#include "util/log.h"

#define FAULT_ENV "VIDPIPE_FAULTS"
#define FAULT_ARG_MAX 256

enum kind {
    K_FLAG, /* no value */
    K_NUM,  /* a count: 1..1000000, default 1 */
    K_PATH, /* a path, required */
};

static const struct {
    const char *name;
    enum kind kind;
} points[FAULT_POINTS] = {
    [FAULT_COPY_TORN] = {"copy_torn", K_NUM},
    [FAULT_CAPTURE_STEP] = {"capture_step", K_PATH},
    [FAULT_DISPLAY_STEP] = {"display_step", K_PATH},
    [FAULT_EXIT_STOP] = {"exit_stop", K_FLAG},
    [FAULT_PACE_TRACE] = {"pace_trace", K_FLAG},
    [FAULT_RELEASE_STEP] = {"release_step", K_PATH},
    [FAULT_LOOP_STALL] = {"loop_stall", K_PATH},
};

bool fault_any;

static struct {
    bool on;
    char arg[FAULT_ARG_MAX];
    long every;
    _Atomic long passes;
    int fd; /* a step point's FIFO, once opened; -1 broken */
    bool fd_open;
} armed[FAULT_POINTS];

/* One "name[=value]" of len bytes at s. */
static int parse_one(const char *s, size_t len, const char **why)
{
    const char *eq = memchr(s, '=', len);
    size_t nlen = eq ? (size_t)(eq - s) : len;
    const char *val = eq ? eq + 1 : NULL;
    size_t vlen = eq ? len - nlen - 1 : 0;
    unsigned i;

    for (i = 0; i < FAULT_POINTS; i++)
        if (strlen(points[i].name) == nlen &&
            memcmp(points[i].name, s, nlen) == 0)
            break;
    if (i == FAULT_POINTS) {
        *why = "no such fault point";
        return -EINVAL;
    }
    if (vlen >= FAULT_ARG_MAX || (points[i].kind == K_FLAG && val) ||
        (points[i].kind == K_PATH && !vlen)) {
        *why = vlen >= FAULT_ARG_MAX      ? "value too long"
               : points[i].kind == K_FLAG ? "a point that takes no value"
                                          : "a point that needs a path "
                                            "(name=PATH)";
        return -EINVAL;
    }
    armed[i].on = true;
    memcpy(armed[i].arg, val ? val : "", vlen);
    armed[i].arg[vlen] = 0;
    armed[i].every = 1;
    if (points[i].kind == K_NUM && val) {
        char *end;
        errno = 0;
        long n = strtol(armed[i].arg, &end, 10);
        if (errno || end == armed[i].arg || *end || n < 1 || n > 1000000) {
            *why = "a point that needs a count 1..1000000";
            return -EINVAL;
        }
        armed[i].every = n;
    }
    return 0;
}

int fault_parse(const char *spec, const char **why)
{
    for (unsigned i = 0; i < FAULT_POINTS; i++) {
        if (armed[i].fd_open && armed[i].fd >= 0)
            close(armed[i].fd);
        memset(&armed[i], 0, sizeof armed[i]);
    }
    fault_any = false;
    for (const char *s = spec; s && *s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len && parse_one(s, len, why) < 0) {
            fault_parse("", why);
            return -EINVAL;
        }
        fault_any = true;
        s += len + (comma != NULL);
    }
    return 0;
}

/* Before main: a test's program is armed before it does anything. */
__attribute__((constructor)) static void fault_init(void)
{
    const char *spec = getenv(FAULT_ENV);
    const char *why;

    if (!spec || !*spec)
        return;
    if (fault_parse(spec, &why) < 0) {
        fprintf(stderr, "%s=%s: %s\n", FAULT_ENV, spec, why);
        _exit(2);
    }
    log_warn("test fault points armed: %s=%s", FAULT_ENV, spec);
}

bool fault_on(enum fault_point p)
{
    return armed[p].on;
}

const char *fault_arg(enum fault_point p)
{
    return armed[p].on ? armed[p].arg : NULL;
}

bool fault_every(enum fault_point p)
{
    if (!armed[p].on)
        return false;
    return (atomic_fetch_add(&armed[p].passes, 1) + 1) % armed[p].every == 0;
}

int fault_step(enum fault_point p, int timeout_ms)
{
    char b;

    if (!armed[p].on)
        return -ENOENT;
    if (!armed[p].fd_open) {
        armed[p].fd_open = true;
        /* Read and write: the FIFO never reads end-of-file, whoever
         * closes it, and opening it does not wait for a writer. */
        armed[p].fd = open(armed[p].arg, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (armed[p].fd < 0)
            log_err("fault %s: cannot open %s: %s", points[p].name,
                    armed[p].arg, strerror(errno));
    }
    if (armed[p].fd < 0)
        return -EBADF;
    struct pollfd pfd = {armed[p].fd, POLLIN, 0};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0)
        return -errno;
    if (n == 0 || read(armed[p].fd, &b, 1) != 1)
        return -EAGAIN;
    return 0;
}

_Noreturn void fault_hang(enum fault_point p)
{
    log_warn("fault %s: this thread stops here", points[p].name);
    for (;;)
        pause();
}
