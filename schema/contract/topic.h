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
    VAR_COUNT,
};

#define TOPIC_MAX (4 + FRAME_STREAM_MAX + 2)

/* "shm", "raw", "jpg". */
const char *variant_name(enum variant v);

/* Writes the topic of v for stream (NULL or "" for every stream: the
 * prefix "raw/") into buf; returns its length (no NUL is sent). */
size_t topic_make(char *buf, size_t cap, enum variant v, const char *stream);

/* Parses an untrusted topic part; 0 or -EINVAL. */
int topic_parse(const void *t, size_t len, enum variant *v,
                char stream[FRAME_STREAM_MAX + 1]);

/* True if a subscription prefix (len bytes) selects topic. */
bool topic_matches(const void *prefix, size_t len, const char *topic,
                   size_t tlen);

#endif
