/* count.c -- counts the frames of a test: source and checks each one.
 *
 *   cc count.c $(pkg-config --cflags --libs vidpipe) -o count
 *   ./count [ENDPOINT [FRAMES [SECONDS]]]
 *
 * Subscribes to ENDPOINT (default tcp://127.0.0.1:5555, "-" for stdin)
 * until FRAMES frames (default 100) have come or SECONDS (default 10)
 * have passed, prints its stats as JSON on stderr, and exits 0 only if
 * FRAMES frames came and every one showed its own seq in its pixels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <vidpipe.h>

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    uint64_t want = argc > 2 ? strtoull(argv[2], NULL, 10) : 100;
    int64_t secs = argc > 3 ? atoll(argv[3]) : 10;
    int64_t end = vp_clock_mono_ns() + secs * 1000000000;
    uint64_t got = 0, verified = 0, seq;
    char json[1024];
    vp_sub *sub;

    vp_log_prefix("count");
    if (vp_sub_open(&sub, &url, 1, NULL) < 0) {
        fprintf(stderr, "count: %s\n", vp_errmsg());
        return 2;
    }
    vp_stats_add(vp_sub_stats(sub), "verified", &verified);
    while (got < want && vp_clock_mono_ns() < end) {
        vp_frame *f;
        struct vp_image img;
        int rc = vp_sub_next(sub, 100, &f);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc < 0) /* the end of "-", or a broken stream */
            break;
        if (vp_frame_image(f, &img) == 0) {
            bool ok = vp_pattern_read(&img, &seq) == 0 &&
                      seq == vp_frame_info(f)->seq;
            /* Pixels read from a ring count only if still the frame's. */
            if (vp_frame_intact(f)) {
                got++;
                verified += ok;
            }
        }
        vp_frame_release(f);
    }
    vp_stats_json(vp_sub_stats(sub), "count", true, json, sizeof json);
    fprintf(stderr, "%s\n", json);
    vp_sub_close(sub);
    return got == want && verified == got ? 0 : 1;
}
