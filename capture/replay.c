/* replay.c -- reading a recording back at its own pace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "util/log.h"

#define DEFAULT_PERIOD_NS 33333333 /* a one-frame loop at 30 fps */

struct replay {
    const char *path;
    int fd;
    bool loop;
    double speed, fps;
    vp_sub *rd;
    bool started, pass_empty;
    int64_t prev_t, prev_due, last_delta;
    uint64_t seq_off, seq_min, seq_max;
};

/* A subscriber on the recording's descriptor, from where it is now. */
static int open_reader(struct replay *r)
{
    struct vp_sub_opts o;
    const char *url = "-";

    vp_sub_opts_init(&o);
    o.fd = r->fd;
    return vp_sub_open(&r->rd, &url, 1, &o);
}

struct replay *replay_open(const char *path, bool loop, double speed,
                           double fps, char *err, size_t errlen)
{
    struct replay *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->path = path;
    r->loop = loop;
    r->speed = speed > 0 ? speed : 1;
    r->fps = fps;
    r->pass_empty = true;
    r->seq_min = UINT64_MAX;
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
        if (loop) {
            snprintf(err, errlen, "--loop needs a recording file, not -");
            goto fail;
        }
    } else if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (open_reader(r) < 0) {
        snprintf(err, errlen, "%s", vp_errmsg());
        goto fail;
    }
    return r;
fail:
    replay_free(r);
    return NULL;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    vp_sub_close(r->rd);
    if (r->fd > STDIN_FILENO)
        close(r->fd);
    free(r);
}

/* Starts the file again; false if that is not possible or pointless. */
static bool rewind_file(struct replay *r)
{
    if (!r->loop || r->pass_empty)
        return false;
    if (lseek(r->fd, 0, SEEK_SET) < 0) {
        log_err("%s: cannot loop: %s", r->path, strerror(errno));
        return false;
    }
    vp_sub_close(r->rd);
    if (open_reader(r) < 0) {
        log_err("%s: %s", r->path, vp_errmsg());
        return false;
    }
    r->seq_off += r->seq_max - r->seq_min + 1;
    r->seq_min = UINT64_MAX;
    r->seq_max = 0;
    r->pass_empty = true;
    return true;
}

int replay_next(struct replay *r, vp_frame **f, uint64_t *seq, int64_t *due)
{
    const struct vp_frame_info *h;
    bool rewound = false;
    int rc;

    for (;;) {
        rc = vp_sub_next(r->rd, -1, f);
        if (rc == 0)
            break;
        if (rc == -EINTR)
            return -EINTR;
        if (rc == -ENODATA) {
            if (rewind_file(r)) {
                rewound = true;
                continue;
            }
            return 1;
        }
        log_err("%s: %s", r->path, vp_errmsg());
        return -1;
    }
    h = vp_frame_info(*f);
    r->pass_empty = false;
    if (h->seq < r->seq_min)
        r->seq_min = h->seq;
    if (h->seq > r->seq_max)
        r->seq_max = h->seq;

    int64_t now = vp_clock_mono_ns(), delta;
    if (!r->started) {
        r->started = true;
        r->prev_due = now;
        delta = 0;
    } else if (r->fps > 0) {
        delta = (int64_t)(1e9 / r->fps);
    } else if (r->fps == 0) {
        r->prev_due = now;
        delta = 0;
    } else {
        /* The loop's seam takes the last interval seen; a stamp that goes
         * back (recordings joined) is no pause, a long gap is cut. */
        if (rewound)
            delta = r->last_delta ? r->last_delta : DEFAULT_PERIOD_NS;
        else
            delta = h->t_mono_ns - r->prev_t;
        if (delta < 0)
            delta = 0;
        if (delta > REPLAY_MAX_GAP_NS)
            delta = REPLAY_MAX_GAP_NS;
        if (!rewound)
            r->last_delta = delta;
        delta = (int64_t)((double)delta / r->speed);
    }
    r->prev_t = h->t_mono_ns;
    r->prev_due += delta;
    *due = r->prev_due;
    *seq = h->seq + r->seq_off;
    return 0;
}
