/* test_topic.c -- topic names: make, parse, prefix match. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "contract/topic.h"

static void test_variant_name(void **state)
{
    (void)state;
    assert_string_equal(variant_name(VAR_SHM), "shm");
    assert_string_equal(variant_name(VAR_RAW), "raw");
    assert_string_equal(variant_name(VAR_JPEG), "jpg");
    assert_string_equal(variant_name(VAR_COUNT), "?");
}

static void test_make(void **state)
{
    (void)state;
    char t[TOPIC_MAX + 1], big[TOPIC_MAX + 8];
    char s[FRAME_STREAM_MAX + 1];

    assert_int_equal(topic_make(t, sizeof t, VAR_RAW, "cam1"), 9);
    assert_string_equal(t, "raw/cam1/");
    assert_int_equal(topic_make(t, sizeof t, VAR_JPEG, "cam1"), 9);
    assert_string_equal(t, "jpg/cam1/");
    assert_int_equal(topic_make(t, sizeof t, VAR_SHM, "c"), 6);
    assert_string_equal(t, "shm/c/");
    /* No stream: the prefix for every stream. */
    assert_int_equal(topic_make(t, sizeof t, VAR_RAW, NULL), 4);
    assert_string_equal(t, "raw/");
    assert_int_equal(topic_make(t, sizeof t, VAR_SHM, ""), 4);
    assert_string_equal(t, "shm/");
    /* The longest stream fits TOPIC_MAX + 1 with its NUL. */
    memset(s, 'x', FRAME_STREAM_MAX);
    s[FRAME_STREAM_MAX] = 0;
    size_t n = topic_make(big, sizeof big, VAR_RAW, s);
    assert_int_equal(n, 4 + FRAME_STREAM_MAX + 1);
    assert_true(n <= TOPIC_MAX);
    assert_int_equal(topic_make(t, sizeof t, VAR_RAW, s), n);
    /* Truncation: never past cap, NUL-terminated. */
    memset(big, 'Z', sizeof big);
    assert_int_equal(topic_make(big, 5, VAR_RAW, "cam1"), 4);
    assert_string_equal(big, "raw/");
    assert_int_equal(big[5], 'Z');
}

static void parse_ok(const char *t, enum variant want, const char *stream)
{
    enum variant v = VAR_COUNT;
    char s[FRAME_STREAM_MAX + 1];
    if (topic_parse(t, strlen(t), &v, s) != 0)
        fail_msg("\"%s\" rejected", t);
    assert_int_equal(v, want);
    assert_string_equal(s, stream);
}

static void parse_bad(const void *t, size_t len)
{
    enum variant v;
    char s[FRAME_STREAM_MAX + 1];
    if (topic_parse(t, len, &v, s) != -EINVAL)
        fail_msg("\"%.*s\" (%zu bytes) accepted", (int)len, (const char *)t,
                 len);
}

static void test_parse(void **state)
{
    (void)state;
    parse_ok("raw/cam1/", VAR_RAW, "cam1");
    parse_ok("jpg/cam1/", VAR_JPEG, "cam1");
    parse_ok("shm/a/", VAR_SHM, "a");
    parse_ok("raw/A-z_0.9/", VAR_RAW, "A-z_0.9");

    parse_bad("", 0);
    parse_bad("raw/", 4);
    parse_bad("raw//", 5);
    parse_bad("raw/cam1", 8);
    parse_bad("raw/cam1/x", 10);
    parse_bad("rawXcam1/", 9);
    parse_bad("RAW/cam1/", 9);
    parse_bad("png/cam1/", 9);
    parse_bad("jpeg/cam1/", 10);
    parse_bad("raw/cam 1/", 10);
    parse_bad("raw/a/b/", 8);
    parse_bad("raw/cam1//", 10);
}

static void test_parse_longest(void **state)
{
    (void)state;
    char t[TOPIC_MAX + 8], want[FRAME_STREAM_MAX + 1];
    enum variant v;
    char s[FRAME_STREAM_MAX + 1];

    memcpy(t, "jpg/", 4);
    memset(t + 4, 's', FRAME_STREAM_MAX);
    t[4 + FRAME_STREAM_MAX] = '/';
    memset(want, 's', FRAME_STREAM_MAX);
    want[FRAME_STREAM_MAX] = 0;
    assert_int_equal(topic_parse(t, 5 + FRAME_STREAM_MAX, &v, s), 0);
    assert_int_equal(v, VAR_JPEG);
    assert_string_equal(s, want);
}

/* A 64-byte stream name (topic of TOPIC_MAX bytes) must be rejected
 * without writing past stream[FRAME_STREAM_MAX]. */
static void test_parse_too_long_no_overflow(void **state)
{
    (void)state;
    char t[TOPIC_MAX + 8];
    char s[FRAME_STREAM_MAX + 1 + 8]; /* guard bytes after the array */
    enum variant v;

    for (size_t n = FRAME_STREAM_MAX + 1; n <= FRAME_STREAM_MAX + 3; n++) {
        memcpy(t, "raw/", 4);
        memset(t + 4, 's', n);
        t[4 + n] = '/';
        memset(s, 0x7e, sizeof s);
        assert_int_equal(topic_parse(t, 5 + n, &v, s), -EINVAL);
        for (size_t i = FRAME_STREAM_MAX + 1; i < sizeof s; i++)
            if (s[i] != 0x7e)
                fail_msg("topic of %zu bytes: topic_parse wrote stream[%zu] "
                         "(the array has %d bytes)",
                         5 + n, i, FRAME_STREAM_MAX + 1);
    }
}

/* A NUL inside the topic must not shorten the stream name: "raw/a\0b/"
 * is not stream "a". */
static void test_parse_embedded_nul(void **state)
{
    (void)state;
    parse_bad("raw/a\0b/", 8);
    parse_bad("raw/\0/", 6);
    parse_bad("raw/cam1\0/", 10);
}

static void test_roundtrip(void **state)
{
    (void)state;
    static const char *const streams[] = {"a", "cam1", "x.y-z_0"};
    for (int v = 0; v < VAR_COUNT; v++)
        for (size_t i = 0; i < 3; i++) {
            char t[TOPIC_MAX + 1];
            size_t n = topic_make(t, sizeof t, (enum variant)v, streams[i]);
            enum variant got;
            char s[FRAME_STREAM_MAX + 1];
            assert_int_equal(topic_parse(t, n, &got, s), 0);
            assert_int_equal(got, v);
            assert_string_equal(s, streams[i]);
        }
}

static void test_matches(void **state)
{
    (void)state;
    const char *t = "raw/cam1/";
    size_t tl = strlen(t);

    assert_true(topic_matches("", 0, t, tl));
    assert_true(topic_matches("r", 1, t, tl));
    assert_true(topic_matches("raw/", 4, t, tl));
    assert_true(topic_matches("raw/cam1/", 9, t, tl));
    assert_false(topic_matches("raw/cam1/x", 10, t, tl));
    assert_false(topic_matches("jpg/", 4, t, tl));
    assert_false(topic_matches("shm/cam1/", 9, t, tl));
    /* The closing '/' keeps cam1 from matching cam10. */
    assert_false(topic_matches("raw/cam1/", 9, "raw/cam10/", 10));
    assert_true(topic_matches("raw/cam1", 8, "raw/cam10/", 10));
}

static void test_h264_and_key_requests(void **state)
{
    (void)state;
    char t[TOPIC_MAX + 32], stream[FRAME_STREAM_MAX + 1];
    enum variant v;

    assert_string_equal(variant_name(VAR_H264), "h264");
    size_t n = topic_make(t, sizeof t, VAR_H264, "cam0");
    assert_int_equal(n, 10);
    assert_memory_equal(t, "h264/cam0/", 10);
    assert_int_equal(topic_parse(t, n, &v, stream), 0);
    assert_int_equal(v, VAR_H264);
    assert_string_equal(stream, "cam0");
    assert_int_equal(topic_parse("h26/cam0/", 9, &v, stream), -EINVAL);
    assert_int_equal(topic_parse("h264cam0/", 9, &v, stream), -EINVAL);

    /* A request names its stream and is unique, and is never a topic. */
    char u[TOPIC_MAX + 32];
    n = topic_key_request(t, sizeof t, "cam0", 1);
    size_t m = topic_key_request(u, sizeof u, "cam0", 2);
    assert_true(n == m && memcmp(t, u, n) != 0);
    assert_true(topic_is_key_request(t, n, stream));
    assert_string_equal(stream, "cam0");
    assert_int_equal(topic_parse(t, n, &v, stream), -EINVAL);
    assert_false(topic_is_key_request("key/", 4, stream));
    assert_false(topic_is_key_request("key//1", 6, stream));
    assert_false(topic_is_key_request("key/a b/1", 9, stream));
    assert_false(topic_is_key_request("raw/cam0/", 9, stream));
    assert_false(topic_is_key_request("key/cam\0/1", 11, stream));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variant_name),
        cmocka_unit_test(test_make),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_longest),
        cmocka_unit_test(test_parse_too_long_no_overflow),
        cmocka_unit_test(test_parse_embedded_nul),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_h264_and_key_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
