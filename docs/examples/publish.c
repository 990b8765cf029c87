/* publish.c -- publishes the test: pattern, 30 frames a second.
 *
 *   cc publish.c $(pkg-config --cflags --libs vidpipe) -o publish
 *   ./publish [ENDPOINT [FRAMES]]
 *   vidpipe-display -i tcp://127.0.0.1:5556
 *
 * Binds ENDPOINT (default tcp://127.0.0.1:5556, "-" for stdout), waits
 * for a subscriber, then publishes FRAMES 640x360 frames (default 300),
 * each drawn straight into the buffer it is sent from, and prints its
 * stats as JSON on stderr.  Receivers verify the pixels against the seq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <vidpipe.h>

#define PERIOD_NS (1000000000 / 30)

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "tcp://127.0.0.1:5556";
    uint64_t frames = argc > 2 ? strtoull(argv[2], NULL, 10) : 300;
    int64_t next = vp_clock_mono_ns();
    struct vp_image img;
    char json[1024];
    vp_pub *pub;
    int rc = 0;

    vp_log_prefix("publish");
    if (vp_pub_open(&pub, url, NULL) < 0) {
        fprintf(stderr, "publish: %s\n", vp_errmsg());
        return 2;
    }
    while (!vp_pub_wanted(pub)) /* nobody would see the first frames */
        vp_pub_wait_until(pub, next += PERIOD_NS);
    for (uint64_t seq = 0; seq < frames && rc == 0; seq++) {
        vp_pub_wait_until(pub, next += PERIOD_NS);
        /* A ring slot while same-host subscribers want one, else a buffer
         * that becomes the ZeroMQ payload: no copy either way. */
        rc = vp_pub_loan(pub, 640, 360, VP_PIX_BGR24, &img);
        if (rc == -EAGAIN) { /* every buffer still in flight: a drop */
            rc = 0;
            continue;
        }
        if (rc == 0) {
            vp_pattern_draw(&img, seq);
            rc = vp_pub_commit(pub, seq);
        }
    }
    if (rc < 0)
        fprintf(stderr, "publish: %s\n", vp_errmsg());
    vp_stats_json(vp_pub_stats(pub), "publish", true, json, sizeof json);
    fprintf(stderr, "%s\n", json);
    vp_pub_close(pub);
    return rc < 0 ? 1 : 0;
}
