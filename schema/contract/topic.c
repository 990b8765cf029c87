/* topic.c -- ZeroMQ topic names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "contract/topic.h"

static const char *const names[VAR_COUNT] = {"shm", "raw", "jpg", "h264"};

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
    /* "VARIANT/" + 1..63 name bytes + "/"; no NUL may hide inside. */
    if (len < 6 || len > TOPIC_MAX - 1 || s[len - 1] != '/' ||
        memchr(s, 0, len))
        return -EINVAL;
    for (int i = 0; i < VAR_COUNT; i++) {
        size_t vl = strlen(names[i]);
        if (len < vl + 3 || memcmp(s, names[i], vl) != 0 || s[vl] != '/')
            continue;
        size_t n = len - vl - 2;
        if (n > FRAME_STREAM_MAX)
            return -EINVAL;
        memcpy(stream, s + vl + 1, n);
        stream[n] = 0;
        if (!frame_stream_name_ok(stream))
            return -EINVAL;
        *v = (enum variant)i;
        return 0;
    }
    return -EINVAL;
}

size_t topic_key_request(char *buf, size_t cap, const char *stream,
                         uint64_t nonce)
{
    int n = snprintf(buf, cap, TOPIC_KEY "%s/%016llx", stream,
                     (unsigned long long)nonce);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

bool topic_is_key_request(const void *prefix, size_t len,
                          char stream[FRAME_STREAM_MAX + 1])
{
    const char *s = prefix;
    size_t kl = strlen(TOPIC_KEY);
    if (len <= kl || memcmp(s, TOPIC_KEY, kl) != 0 || memchr(s, 0, len))
        return false;
    const char *slash = memchr(s + kl, '/', len - kl);
    size_t n = slash ? (size_t)(slash - s - kl) : 0;
    if (n == 0 || n > FRAME_STREAM_MAX)
        return false;
    memcpy(stream, s + kl, n);
    stream[n] = 0;
    return frame_stream_name_ok(stream);
}

bool topic_matches(const void *prefix, size_t len, const char *topic,
                   size_t tlen)
{
    return len <= tlen && memcmp(prefix, topic, len) == 0;
}
