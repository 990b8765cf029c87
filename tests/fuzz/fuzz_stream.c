/* fuzz_stream.c -- libFuzzer target: the msgpack byte-stream reader
 * (stream_read) on arbitrary input, fed through a memfd as a pipe would
 * feed it: every frame it returns must be valid, and on failure it must
 * say where, never crash or allocate what the input merely declares. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contract/frame.h"
#include "contract/stream.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_stream: %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    int fd = memfd_create("fuzz_stream", MFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(write(fd, buf, len) == (ssize_t)len);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);

    /* A small frame limit, so the limit paths are reached too. */
    struct stream_reader *r = stream_reader_new(fd, 1 << 20);
    CHECK(r);
    for (;;) {
        struct frame_hdr h;
        const uint8_t *data;
        const char *why;
        int rc = stream_read(r, &h, &data);
        if (rc == -ENODATA)
            break;
        if (rc < 0) {
            CHECK(rc == -EBADMSG);
            CHECK(strstr(stream_reader_error(r), "offset") != NULL);
            break;
        }
        CHECK(frame_hdr_check(&h, &why) == 0);
        CHECK(data != NULL);
        /* The payload is inside the reader's buffer: touch all of it. */
        volatile uint8_t sum = 0;
        for (uint64_t i = 0; i < h.size; i++)
            sum ^= data[i];
        (void)sum;
        /* Memory never runs far ahead of what arrived. */
        CHECK(stream_reader_mem(r) <= 2 * len + (64 << 10));
    }
    stream_reader_free(r);
    close(fd);
    return 0;
}
