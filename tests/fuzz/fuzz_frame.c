/* fuzz_frame.c -- libFuzzer target: frame_decode() on arbitrary bytes.
 *
 * The input is one buffer as a receiver gets it (a header part, or a
 * byte-stream frame with "data"), so schema/vectors seed it directly.  It
 * is decoded with and without a payload out-pointer; the two must agree,
 * and whatever decodes must re-encode within FRAME_HDR_MAX and decode
 * again to the same header and payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/frame.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_frame: %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void hdr_equal(const struct frame_hdr *a, const struct frame_hdr *b)
{
    CHECK(a->version == b->version);
    CHECK(strcmp(a->stream, b->stream) == 0);
    CHECK(a->seq == b->seq);
    CHECK(a->t_real_ns == b->t_real_ns);
    CHECK(a->t_mono_ns == b->t_mono_ns);
    CHECK(a->width == b->width && a->height == b->height);
    CHECK(a->stride == b->stride);
    CHECK(a->fmt == b->fmt && a->enc == b->enc);
    CHECK(a->size == b->size);
    CHECK(a->has_shm == b->has_shm);
    if (a->has_shm) {
        CHECK(strcmp(a->shm.name, b->shm.name) == 0);
        CHECK(a->shm.token == b->shm.token);
        CHECK(a->shm.slot == b->shm.slot);
        CHECK(a->shm.gen == b->shm.gen);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    struct frame_hdr h, h2, h3;
    const uint8_t *data = (const uint8_t *)"x", *data3;
    size_t data_len = 1, data3_len;
    const char *why = NULL, *why2 = NULL;
    uint8_t enc[FRAME_HDR_MAX];

    /* A private copy: ASan then flags any read past len. */
    uint8_t *in = malloc(len ? len : 1);
    CHECK(in);
    if (len)
        memcpy(in, buf, len);

    int rc = frame_decode(in, len, &h, &data, &data_len, &why);
    int rc2 = frame_decode(in, len, &h2, NULL, NULL, &why2);
    if (rc < 0) {
        CHECK(why != NULL);
        CHECK(data == NULL && data_len == 0);
        CHECK(rc2 < 0);
        goto out;
    }
    CHECK(frame_hdr_check(&h, &why) == 0);
    if (data) {
        /* The payload is borrowed from inside the input. */
        CHECK(data >= in && data_len <= len &&
              (size_t)(data - in) <= len - data_len);
        CHECK(data_len == h.size);
        CHECK(rc2 < 0); /* a payload the caller does not expect */
    } else {
        CHECK(data_len == 0);
        CHECK(rc2 == 0);
        hdr_equal(&h, &h2);
    }

    /* Round trip: header only, then with the payload behind it. */
    int n = frame_encode(&h, false, enc, sizeof enc);
    CHECK(n > 0 && n <= FRAME_HDR_MAX);
    CHECK(frame_decode(enc, (size_t)n, &h3, NULL, NULL, &why) == 0);
    hdr_equal(&h, &h3);
    if (data) {
        n = frame_encode(&h, true, enc, sizeof enc);
        CHECK(n > 0 && n <= FRAME_HDR_MAX);
        uint8_t *full = malloc((size_t)n + data_len);
        CHECK(full);
        memcpy(full, enc, (size_t)n);
        memcpy(full + n, data, data_len);
        CHECK(frame_decode(full, (size_t)n + data_len, &h3, &data3,
                           &data3_len, &why) == 0);
        hdr_equal(&h, &h3);
        CHECK(data3 == full + n && data3_len == data_len);
        free(full);
    }
out:
    free(in);
    return 0;
}
