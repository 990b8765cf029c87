/* fuzz_message.c -- libFuzzer target: message_check() and topic_parse()
 * on a received multipart message.
 *
 * Input layout: byte 0 picks the part count (1 + b % (MESSAGE_MAX_PARTS +
 * 1): one more than a frame has, which must be refused), byte 1 the topic
 * length, bytes 2-3 the header length (little endian); the parts follow
 * back to back, the last one takes the rest.  Lengths are clamped to what
 * is left.  Each part is its own malloc'd buffer, so ASan sees a read past
 * any part.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/frame.h"
#include "contract/message.h"
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
    struct message_part parts[MESSAGE_MAX_PARTS + 1];
    struct message m;
    size_t lens[MESSAGE_MAX_PARTS + 1];
    const char *why = NULL;

    if (len < 4)
        return 0;
    unsigned n = 1 + buf[0] % (MESSAGE_MAX_PARTS + 1);
    size_t want[2] = {buf[1], (size_t)buf[2] | (size_t)buf[3] << 8};
    const uint8_t *p = buf + 4;
    size_t left = len - 4;

    for (unsigned i = 0; i < n; i++) {
        lens[i] = i < 2 && i + 1 < n && want[i] < left ? want[i] : 0;
        if (i + 1 == n)
            lens[i] = left;
        left -= lens[i];
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = malloc(lens[i] ? lens[i] : 1);
        CHECK(b);
        if (lens[i])
            memcpy(b, p, lens[i]);
        parts[i] = (struct message_part){b, lens[i]};
        p += lens[i];
    }

    /* The topic on its own, as a relay reads it before anything else. */
    enum variant v = VAR_COUNT;
    char stream[FRAME_STREAM_MAX + 1];
    if (topic_parse(parts[0].data, lens[0], &v, stream) == 0) {
        CHECK(v < VAR_COUNT);
        CHECK(frame_stream_name_ok(stream));
        char t[TOPIC_MAX + 1];
        size_t tl = topic_make(t, sizeof t, v, stream);
        CHECK(tl == lens[0] && memcmp(t, parts[0].data, tl) == 0);
    }

    int rc = message_check(parts, n, &m, &why);
    if (rc == 0) {
        CHECK(n <= MESSAGE_MAX_PARTS);
        CHECK(m.var < VAR_COUNT);
        CHECK(frame_hdr_check(&m.hdr, &why) == 0);
        if (m.var == VAR_SHM) {
            CHECK(n == 2 && m.hdr.has_shm && m.data == NULL);
        } else {
            CHECK(n == 3);
            CHECK(m.data == parts[2].data);
            CHECK(m.len == parts[2].len && m.len == m.hdr.size);
            CHECK(m.hdr.enc == (m.var == VAR_RAW ? ENC_RAW : ENC_JPEG));
            /* Touch the payload ends as a consumer would. */
            volatile uint8_t sink = m.data[0] ^ m.data[m.len - 1];
            (void)sink;
        }
    } else {
        CHECK(rc == -EBADMSG && why != NULL);
        CHECK(m.data == NULL);
    }
    for (unsigned i = 0; i < n; i++)
        free((void *)parts[i].data);
    return 0;
}
