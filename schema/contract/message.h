/* message.h -- a frame as a ZeroMQ message: [topic, header, payload].
 *
 * The topic names the variant and stream ("raw/cam0/"), the header is
 * the frame map (frame.h) and the payload holds the pixels: raw rows or a
 * JPEG; a shm message has no payload, its header carries the descriptor
 * (FRAME.md section 3).  Everything received is checked here, every part
 * against the others, before anybody uses any of it.
 */
#ifndef VIDPIPE_MESSAGE_H
#define VIDPIPE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "contract/frame.h"
#include "contract/topic.h"

#define MESSAGE_MAX_PARTS 3

/* A received message's parts as bytes (borrowed). */
struct message_part {
    const void *data;
    size_t len;
};

/* What a valid message says. */
struct message {
    enum variant var;
    struct frame_hdr hdr;
    const uint8_t *data; /* the payload, inside parts[2]; NULL for shm */
    size_t len;
};

/* Validates n parts (topic, header, payload) and fills m.  0 or -EBADMSG
 * with *why, a static string. */
int message_check(const struct message_part *parts, unsigned n,
                  struct message *m, const char **why);

/* Encodes the topic and header parts of frame h as variant v into
 * topic (TOPIC_MAX) and hdr (FRAME_HDR_MAX): 0 with their lengths, or
 * -EINVAL for a header that does not encode. */
int message_encode(enum variant v, const struct frame_hdr *h,
                   char topic[TOPIC_MAX], size_t *tlen,
                   uint8_t hdr[FRAME_HDR_MAX], size_t *hlen);

#endif
