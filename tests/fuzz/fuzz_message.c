/* fuzz_message.c -- libFuzzer target: sub_frame_check() and topic_parse()
 * on a received multipart message.
 *
 * Input layout: byte 0 picks the part count (1 + b % SUB_MAX_PARTS; the
 * struct holds at most SUB_MAX_PARTS, more are rejected by sub_read()
 * itself), byte 1 the topic length, bytes 2-3 the header length (little
 * endian); the parts follow back to back, the last one takes the rest.
 * Lengths are clamped to what is left.  Each part is its own
 * zmq_msg_init_size() buffer, so ASan sees a read past any part.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "contract/frame.h"
#include "transport/xsub.h"
#include "contract/topic.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_message: %s:%d: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    struct sub_frame f;
    size_t lens[SUB_MAX_PARTS];
    const char *why = NULL;

    if (len < 4)
        return 0;
    unsigned n = 1 + buf[0] % SUB_MAX_PARTS;
    size_t want[2] = {buf[1], (size_t)buf[2] | (size_t)buf[3] << 8};
    const uint8_t *p = buf + 4;
    size_t left = len - 4;

    for (unsigned i = 0; i < n; i++) {
        lens[i] = i + 1 < n && want[i] < left ? want[i] : left;
        if (i + 1 == n)
            lens[i] = left;
        left -= lens[i];
    }

    sub_frame_init(&f);
    for (unsigned i = 0; i < n; i++) {
        CHECK(zmq_msg_init_size(&f.parts[i], lens[i]) == 0);
        if (lens[i])
            memcpy(zmq_msg_data(&f.parts[i]), p, lens[i]);
        p += lens[i];
        f.nparts++;
    }

    /* The topic on its own, as a relay reads it before anything else. */
    enum variant v = VAR_COUNT;
    char stream[FRAME_STREAM_MAX + 1];
    if (topic_parse(zmq_msg_data(&f.parts[0]), lens[0], &v, stream) == 0) {
        CHECK(v < VAR_COUNT);
        CHECK(frame_stream_name_ok(stream));
        char t[TOPIC_MAX + 1];
        size_t tl = topic_make(t, sizeof t, v, stream);
        CHECK(tl == lens[0] &&
              memcmp(t, zmq_msg_data(&f.parts[0]), tl) == 0);
    }

    int rc = sub_frame_check(&f, &why);
    if (rc == 0) {
        CHECK(f.var < VAR_COUNT);
        CHECK(frame_hdr_check(&f.hdr, &why) == 0);
        if (f.var == VAR_SHM) {
            CHECK(f.nparts == 2 && f.hdr.has_shm && f.data == NULL);
        } else {
            CHECK(f.nparts == 3);
            CHECK(f.data == zmq_msg_data(&f.parts[2]));
            CHECK(f.len == zmq_msg_size(&f.parts[2]) && f.len == f.hdr.size);
            CHECK(f.hdr.enc == (f.var == VAR_RAW ? ENC_RAW : ENC_JPEG));
            /* Touch the payload ends as a consumer would. */
            volatile uint8_t sink = f.data[0] ^ f.data[f.len - 1];
            (void)sink;
        }
    } else {
        CHECK(rc == -EBADMSG && why != NULL);
        CHECK(f.data == NULL); /* f.len may be left set; sub_read resets */
    }
    sub_frame_fini(&f);
    CHECK(f.nparts == 0);
    return 0;
}
