/* topic.h -- ZeroMQ topic names: which variant of which stream.
 *
 * Every message's first part is "VARIANT/STREAM/": "raw/cam1/" carries raw
 * pixels of stream cam1, "jpg/cam1/" its JPEG, "shm/cam1/" shared-memory
 * descriptors.  SUB filters are prefixes, so "raw/" is every stream's raw
 * variant and the closing '/' keeps "raw/cam1/" from matching cam10.
 * Publishers learn from XPUB subscriptions which variants anyone wants and
 * produce only those.
 */
#ifndef VIDPIPE_TOPIC_H
#define VIDPIPE_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "contract/frame.h"

enum variant {
    VAR_SHM = 0,
    VAR_RAW,
    VAR_JPEG,
    VAR_H264,
    VAR_COUNT,
};

#define TOPIC_MAX (5 + FRAME_STREAM_MAX + 2)

/* A keyframe request is a subscription, never a topic sent:
 * "key/STREAM/NONCE", subscribed and at once unsubscribed, so that the
 * publisher (and every relay on the way, which passes subscriptions
 * upstream) sees it however many ask (topic_key_request()). */
#define TOPIC_KEY "key/"

/* "shm", "raw", "jpg", "h264". */
const char *variant_name(enum variant v);

/* Writes the topic of v for stream (NULL or "" for every stream: the
 * prefix "raw/") into buf; returns its length (no NUL is sent). */
size_t topic_make(char *buf, size_t cap, enum variant v, const char *stream);

/* Parses an untrusted topic part; 0 or -EINVAL. */
int topic_parse(const void *t, size_t len, enum variant *v,
                char stream[FRAME_STREAM_MAX + 1]);

/* Writes a keyframe request for stream with nonce (unique per request)
 * into buf; returns its length. */
size_t topic_key_request(char *buf, size_t cap, const char *stream,
                         uint64_t nonce);
/* If the subscription prefix (len bytes) is a keyframe request, its
 * stream: true with stream filled. */
bool topic_is_key_request(const void *prefix, size_t len,
                          char stream[FRAME_STREAM_MAX + 1]);

/* True if a subscription prefix (len bytes) selects topic. */
bool topic_matches(const void *prefix, size_t len, const char *topic,
                   size_t tlen);

#endif
