/* emit.c -- converting output to stdout, or to ZeroMQ and shm rings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "api/emit.h"
#include "codec/jpeg.h"
#include "util/log.h"
#include "transport/xpub.h"
#include "contract/ring.h"
#include "contract/stream.h"

#define EMIT_MAX_RINGS 16

struct emit_ring {
    char stream[FRAME_STREAM_MAX + 1];
    struct ring *ring;
};

struct emit {
    struct pub *pub; /* NULL: stdout */
    enum frame_enc codec;
    int quality;
    uint32_t ring_slots;
    struct emit_ring rings[EMIT_MAX_RINGS];
    unsigned nrings, made;
    struct jpeg *jpeg;
    uint8_t *buf; /* a converted payload */
    size_t cap;
    struct log_limit log;
};

struct emit *emit_new(const char *url, enum frame_enc codec, int quality,
                      uint32_t ring_slots, char *err, size_t errlen)
{
    struct emit *e = calloc(1, sizeof *e);

    if (!e || !(e->jpeg = jpeg_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    e->codec = codec;
    e->quality = quality;
    if (strcmp(url, "-") != 0) {
        if (!(e->pub = pub_new(url, err, errlen)))
            goto fail;
        e->ring_slots = ring_slots;
        if (ring_slots)
            ring_gc();
    }
    return e;
fail:
    emit_free(e);
    return NULL;
}

void emit_free(struct emit *e)
{
    if (!e)
        return;
    for (unsigned i = 0; i < e->nrings; i++)
        ring_free(e->rings[i].ring);
    pub_free(e->pub);
    jpeg_free(e->jpeg);
    free(e->buf);
    free(e);
}

void emit_wait_until(struct emit *e, int64_t deadline)
{
    while (!cli_stop) {
        if (e->pub)
            pub_poll_subs(e->pub, NULL, NULL);
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            return;
        if (e->pub && left > 2000000) {
            /* Wake 1 ms early; the rest is slept precisely below. */
            zmq_pollitem_t it = {pub_socket(e->pub), 0, ZMQ_POLLIN, 0};
            zmq_poll(&it, 1, (long)(left / 1000000) - 1);
            continue;
        }
        struct timespec ts = {.tv_sec = deadline / 1000000000,
                              .tv_nsec = deadline % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

static int reserve(struct emit *e, size_t n)
{
    if (n <= e->cap)
        return 0;
    uint8_t *b = realloc(e->buf, n);
    if (!b)
        return -ENOMEM;
    e->buf = b;
    e->cap = n;
    return 0;
}

/* Decodes JPEG (h, data) into dst as packed rows of h->fmt. */
static int decode(struct emit *e, const struct frame_hdr *h,
                  const uint8_t *data, uint8_t *dst)
{
    if (jpeg_decode(e->jpeg, data, h->size, dst, h->width, h->height,
                    h->width * pixfmt_bpp(h->fmt), h->fmt) < 0) {
        log_limited(&e->log, "undecodable JPEG in frame %llu",
                    (unsigned long long)h->seq);
        return -EBADMSG;
    }
    return 0;
}

/* The header (h) of frame h as raw packed pixels. */
static void raw_hdr(const struct frame_hdr *h, struct frame_hdr *out)
{
    *out = *h;
    if (h->enc == ENC_RAW)
        return;
    out->stride = h->width * pixfmt_bpp(h->fmt);
    out->enc = ENC_RAW;
    out->size = (uint64_t)out->stride * h->height;
}

/* Converts (h, data) to encoding enc in *out / *out_data, using e->buf
 * when a conversion is needed.  0 or -errno after logging. */
static int convert(struct emit *e, const struct frame_hdr *h,
                   const uint8_t *data, enum frame_enc enc,
                   struct frame_hdr *out, const uint8_t **out_data)
{
    size_t len;

    *out = *h;
    *out_data = data;
    out->has_shm = false;
    if (h->enc == enc)
        return 0;
    if (enc == ENC_JPEG) {
        if (reserve(e, jpeg_bound(h->width, h->height)) < 0 ||
            jpeg_encode(e->jpeg, data, h->width, h->height, h->stride, h->fmt,
                        e->quality, e->buf, e->cap, &len) < 0) {
            log_limited(&e->log, "JPEG encode of frame %llu failed",
                        (unsigned long long)h->seq);
            return -EIO;
        }
        out->enc = ENC_JPEG;
        out->size = len;
    } else {
        raw_hdr(h, out);
        if (reserve(e, out->size) < 0 || decode(e, h, data, e->buf) < 0)
            return -EBADMSG;
    }
    *out_data = e->buf;
    return 0;
}

/* The ring of h's stream, made (again) for h's raw geometry. */
static struct ring *ring_for(struct emit *e, const struct frame_hdr *raw)
{
    struct emit_ring *er = NULL;
    char name[FRAME_SHM_NAME_MAX + 1], err[256];

    for (unsigned i = 0; i < e->nrings; i++)
        if (strcmp(e->rings[i].stream, raw->stream) == 0)
            er = &e->rings[i];
    if (!er) {
        if (e->nrings == EMIT_MAX_RINGS)
            return NULL;
        er = &e->rings[e->nrings++];
        memcpy(er->stream, raw->stream, sizeof er->stream);
    }
    if (er->ring &&
        ring_fits(er->ring, raw->width, raw->height, raw->stride, raw->fmt))
        return er->ring;
    ring_free(er->ring);
    snprintf(name, sizeof name, "/vidpipe-%d-p%u", (int)getpid(), e->made++);
    er->ring = ring_create(name, e->ring_slots, raw->width, raw->height,
                           raw->stride, raw->fmt, err, sizeof err);
    if (!er->ring)
        log_limited(&e->log, "%s", err);
    return er->ring;
}

/* Writes the frame once into its stream's ring (decoding a JPEG straight
 * into the slot) and publishes the descriptor. */
static void publish_shm(struct emit *e, const struct frame_hdr *h,
                        const uint8_t *data)
{
    struct frame_hdr dh;
    uint32_t slot;

    raw_hdr(h, &dh);
    struct ring *r = ring_for(e, &dh);
    if (!r)
        return;
    uint8_t *px = ring_write_begin(r, &slot);
    if (h->enc == ENC_RAW)
        memcpy(px, data, h->size);
    else if (decode(e, h, data, px) < 0)
        memset(px, 0, dh.size);
    ring_write_end(r, slot, &dh, &dh.shm);
    dh.has_shm = true;
    pub_send(e->pub, VAR_SHM, &dh, NULL);
}

static int publish(struct emit *e, enum variant v, const struct frame_hdr *h,
                   const uint8_t *data, uint64_t *bytes)
{
    struct frame_hdr ch;
    const uint8_t *cd;
    zmq_msg_t m;

    if (convert(e, h, data, v == VAR_RAW ? ENC_RAW : ENC_JPEG, &ch, &cd) < 0)
        return 0; /* counted as not sent; the next frame may do */
    /* The frame sits in a buffer that is reused: ZeroMQ gets a copy. */
    if (zmq_msg_init_size(&m, ch.size) < 0)
        return -ENOMEM;
    memcpy(zmq_msg_data(&m), cd, ch.size);
    if (pub_send(e->pub, v, &ch, &m) == 0)
        *bytes += ch.size;
    return 0;
}

int emit_frame(struct emit *e, const struct frame_hdr *h, const uint8_t *data,
               uint64_t *bytes)
{
    struct frame_hdr ch;
    const uint8_t *cd;
    int rc;

    if (e->pub) {
        pub_poll_subs(e->pub, NULL, NULL);
        if (e->ring_slots && pub_wants(e->pub, VAR_SHM, h->stream))
            publish_shm(e, h, data);
        if (pub_wants(e->pub, VAR_RAW, h->stream) &&
            (rc = publish(e, VAR_RAW, h, data, bytes)) < 0)
            return rc;
        if (pub_wants(e->pub, VAR_JPEG, h->stream) &&
            (rc = publish(e, VAR_JPEG, h, data, bytes)) < 0)
            return rc;
        return 0;
    }
    if (convert(e, h, data, e->codec, &ch, &cd) < 0)
        return 0;
    rc = stream_write(STDOUT_FILENO, &ch, cd, ch.size);
    if (rc == 0)
        *bytes += ch.size;
    else if (rc != -EPIPE && rc != -EINTR)
        log_err("writing to stdout: %s", strerror(-rc));
    return rc == -EINTR ? 0 : rc;
}
