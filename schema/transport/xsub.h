/* sub.h -- the subscribing end of a vidpipe endpoint.
 *
 * A SUB socket connected to one or more publishers.  sub_read() takes one
 * message off the queue and validates all of it -- topic, header, payload
 * length against geometry -- before the caller sees any of it; a bad
 * message is an error the caller counts, never a crash.
 */
#ifndef VIDPIPE_SUB_H
#define VIDPIPE_SUB_H

#include <stdbool.h>
#include <stddef.h>

#include <zmq.h>

#include "contract/frame.h"
#include "contract/topic.h"

#define SUB_MAX_PARTS 3

/* One received frame.  Pixels stay in ZeroMQ's message (no copy). */
struct sub_frame {
    zmq_msg_t parts[SUB_MAX_PARTS]; /* topic, header, payload */
    unsigned nparts;
    enum variant var;
    struct frame_hdr hdr;
    const uint8_t *data; /* payload inside parts[2]; NULL for shm */
    size_t len;
};

void sub_frame_init(struct sub_frame *f);
/* Releases the parts; f can be reused after sub_frame_init. */
void sub_frame_fini(struct sub_frame *f);
/* Moves src into dst (dst is released first); src is left empty. */
void sub_frame_move(struct sub_frame *dst, struct sub_frame *src);

struct sub;

/* Connects to each of n urls.  NULL with a one-line reason in err. */
struct sub *sub_new(const char *const *urls, unsigned n, char *err,
                    size_t errlen);
void sub_free(struct sub *s);
void *sub_socket(struct sub *s);

/* Adds (on) or removes a subscription to variant v of stream (NULL: all
 * streams).  0 or -errno. */
int sub_subscribe(struct sub *s, enum variant v, const char *stream, bool on);
/* The same with a raw prefix, as a relay passes on its subscribers'. */
int sub_subscribe_prefix(struct sub *s, const void *prefix, size_t len,
                         bool on);

/* Takes one message without blocking.  0: f holds a valid frame (f is
 * released first).  -EAGAIN: nothing queued.  -EBADMSG: a message arrived
 * and was rejected (*why says why, a static string); the caller counts it.
 * Other -errno: the socket failed (e.g. -EINTR, -ETERM). */
int sub_read(struct sub *s, struct sub_frame *f, const char **why);

/* Validates parts of a received message (topic, header, payload) and fills
 * f's header fields; exposed for tests and other transports.  0 or
 * -EBADMSG with *why. */
int sub_frame_check(struct sub_frame *f, const char **why);

#endif
