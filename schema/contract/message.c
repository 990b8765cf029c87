/* message.c -- checking and making the parts of a frame message. */
#include <errno.h>
#include <string.h>

#include "contract/message.h"

int message_check(const struct message_part *parts, unsigned n,
                  struct message *m, const char **why)
{
    char stream[FRAME_STREAM_MAX + 1];

    m->data = NULL;
    m->len = 0;
    if (n < 2) {
        *why = "message has too few parts";
        return -EBADMSG;
    }
    if (n > MESSAGE_MAX_PARTS) {
        *why = "message has too many parts";
        return -EBADMSG;
    }
    if (topic_parse(parts[0].data, parts[0].len, &m->var, stream) < 0) {
        *why = "bad topic";
        return -EBADMSG;
    }
    if (frame_decode(parts[1].data, parts[1].len, &m->hdr, NULL, NULL, why) < 0)
        return -EBADMSG;
    if (strcmp(stream, m->hdr.stream) != 0) {
        *why = "topic and header name different streams";
        return -EBADMSG;
    }
    switch (m->var) {
    case VAR_SHM:
        if (n != 2 || !m->hdr.has_shm) {
            *why = "shm message without a descriptor";
            return -EBADMSG;
        }
        return 0;
    case VAR_RAW:
    case VAR_JPEG:
    case VAR_H264:
        if (n != 3) {
            *why = "payload message without a payload";
            return -EBADMSG;
        }
        if (m->hdr.enc != (m->var == VAR_RAW    ? ENC_RAW
                           : m->var == VAR_JPEG ? ENC_JPEG
                                                : ENC_H264)) {
            *why = "encoding does not match the topic";
            return -EBADMSG;
        }
        if (frame_payload_check(&m->hdr, parts[2].len, why) < 0)
            return -EBADMSG;
        m->data = parts[2].data;
        m->len = parts[2].len;
        return 0;
    default:
        *why = "bad topic";
        return -EBADMSG;
    }
}

int message_encode(enum variant v, const struct frame_hdr *h,
                   char topic[TOPIC_MAX], size_t *tlen,
                   uint8_t hdr[FRAME_HDR_MAX], size_t *hlen)
{
    int n = frame_encode(h, false, hdr, FRAME_HDR_MAX);
    if (n < 0)
        return -EINVAL;
    *hlen = (size_t)n;
    *tlen = topic_make(topic, TOPIC_MAX, v, h->stream);
    return 0;
}
