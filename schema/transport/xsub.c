/* sub.c -- SUB subscriber with full validation of what arrives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/curve.h"
#include "transport/net.h"
#include "transport/xsub.h"

struct sub {
    void *sock;
};

void sub_frame_init(struct sub_frame *f)
{
    memset(f, 0, sizeof *f);
}

void sub_frame_fini(struct sub_frame *f)
{
    for (unsigned i = 0; i < f->nparts; i++)
        zmq_msg_close(&f->parts[i]);
    f->nparts = 0;
    f->data = NULL;
    f->len = 0;
}

void sub_frame_move(struct sub_frame *dst, struct sub_frame *src)
{
    sub_frame_fini(dst);
    *dst = *src;
    for (unsigned i = 0; i < src->nparts; i++) {
        zmq_msg_init(&dst->parts[i]);
        zmq_msg_move(&dst->parts[i], &src->parts[i]);
        zmq_msg_close(&src->parts[i]);
    }
    /* A small message keeps its bytes inside zmq_msg_t: point anew. */
    if (dst->data && dst->nparts == SUB_MAX_PARTS)
        dst->data = zmq_msg_data(&dst->parts[SUB_MAX_PARTS - 1]);
    src->nparts = 0;
    src->data = NULL;
    src->len = 0;
}

struct sub *sub_new(const char *const *urls, unsigned n, char *err,
                    size_t errlen)
{
    struct sub *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (n == 0 || !(s->sock = net_socket(ZMQ_SUB, urls[0], false, err,
                                         errlen))) {
        if (n == 0)
            snprintf(err, errlen, "no input endpoint");
        free(s);
        return NULL;
    }
    for (unsigned i = 1; i < n; i++) {
        if (net_connect(s->sock, urls[i], err, errlen) < 0) {
            sub_free(s);
            return NULL;
        }
    }
    return s;
}

void sub_free(struct sub *s)
{
    if (!s)
        return;
    zmq_close(s->sock);
    free(s);
}

void *sub_socket(struct sub *s)
{
    return s->sock;
}

int sub_subscribe_prefix(struct sub *s, const void *prefix, size_t len,
                         bool on)
{
    if (zmq_setsockopt(s->sock, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, prefix,
                       len) < 0)
        return -errno;
    return 0;
}

int sub_subscribe(struct sub *s, enum variant v, const char *stream, bool on)
{
    char t[TOPIC_MAX + 1];
    size_t tl = topic_make(t, sizeof t, v, stream);
    return sub_subscribe_prefix(s, t, tl, on);
}

int sub_frame_check(struct sub_frame *f, const char **why)
{
    char stream[FRAME_STREAM_MAX + 1];

    f->data = NULL;
    f->len = 0;
    if (f->nparts < 2) {
        *why = "message has too few parts";
        return -EBADMSG;
    }
    if (topic_parse(zmq_msg_data(&f->parts[0]), zmq_msg_size(&f->parts[0]),
                    &f->var, stream) < 0) {
        *why = "bad topic";
        return -EBADMSG;
    }
    if (frame_decode(zmq_msg_data(&f->parts[1]), zmq_msg_size(&f->parts[1]),
                     &f->hdr, NULL, NULL, why) < 0)
        return -EBADMSG;
    if (strcmp(stream, f->hdr.stream) != 0) {
        *why = "topic and header name different streams";
        return -EBADMSG;
    }
    switch (f->var) {
    case VAR_SHM:
        if (f->nparts != 2 || !f->hdr.has_shm) {
            *why = "shm message without a descriptor";
            return -EBADMSG;
        }
        return 0;
    case VAR_RAW:
    case VAR_JPEG:
        if (f->nparts != 3) {
            *why = "payload message without a payload";
            return -EBADMSG;
        }
        if (f->hdr.enc != (f->var == VAR_RAW ? ENC_RAW : ENC_JPEG)) {
            *why = "encoding does not match the topic";
            return -EBADMSG;
        }
        f->len = zmq_msg_size(&f->parts[2]);
        if (frame_payload_check(&f->hdr, f->len, why) < 0)
            return -EBADMSG;
        f->data = zmq_msg_data(&f->parts[2]);
        return 0;
    default:
        *why = "bad topic";
        return -EBADMSG;
    }
}

int sub_read(struct sub *s, struct sub_frame *f, const char **why)
{
    zmq_msg_t extra;
    int more = 1, rc;
    bool too_many = false;
    size_t ml = sizeof more;

    sub_frame_fini(f);
    curve_revive(s->sock);
    while (more) {
        zmq_msg_t *m = f->nparts < SUB_MAX_PARTS ? &f->parts[f->nparts]
                                                  : &extra;
        zmq_msg_init(m);
        rc = zmq_msg_recv(m, s->sock, f->nparts == 0 ? ZMQ_DONTWAIT : 0);
        if (rc < 0) {
            rc = -errno;
            zmq_msg_close(m);
            if (f->nparts == 0)
                return rc;
            /* Interrupted inside a multipart message: the rest stays
             * queued and is read (and rejected) as its own message. */
            sub_frame_fini(f);
            return rc;
        }
        zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &ml);
        if (m == &extra) {
            zmq_msg_close(m);
            too_many = true;
            continue;
        }
        f->nparts++;
    }
    if (too_many) {
        sub_frame_fini(f);
        *why = "message has too many parts";
        return -EBADMSG;
    }
    if (sub_frame_check(f, why) < 0) {
        sub_frame_fini(f);
        return -EBADMSG;
    }
    return 0;
}
