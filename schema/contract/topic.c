/* topic.c -- ZeroMQ topic names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "contract/topic.h"

static const char *const names[VAR_COUNT] = {"shm", "raw", "jpg"};

const char *variant_name(enum variant v)
{
    return v < VAR_COUNT ? names[v] : "?";
}

size_t topic_make(char *buf, size_t cap, enum variant v, const char *stream)
{
    int n;
    if (stream && *stream)
        n = snprintf(buf, cap, "%s/%s/", variant_name(v), stream);
    else
        n = snprintf(buf, cap, "%s/", variant_name(v));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

int topic_parse(const void *t, size_t len, enum variant *v,
                char stream[FRAME_STREAM_MAX + 1])
{
    const char *s = t;
    /* "VVV/" + 1..63 name bytes + "/"; no NUL may hide inside. */
    if (len < 6 || len > 5 + FRAME_STREAM_MAX || s[3] != '/' ||
        s[len - 1] != '/' || memchr(s, 0, len))
        return -EINVAL;
    for (int i = 0; i < VAR_COUNT; i++) {
        if (memcmp(s, names[i], 3) == 0) {
            size_t n = len - 5;
            memcpy(stream, s + 4, n);
            stream[n] = 0;
            if (!frame_stream_name_ok(stream))
                return -EINVAL;
            *v = (enum variant)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool topic_matches(const void *prefix, size_t len, const char *topic,
                   size_t tlen)
{
    return len <= tlen && memcmp(prefix, topic, len) == 0;
}
