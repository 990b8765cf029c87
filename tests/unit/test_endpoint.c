/* test_endpoint.c -- endpoint, source and sink grammar. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/spec.h"
#include "transport/endpoint.h"

/* s parsed, failing the test if it is refused. */
static struct endpoint ep_good(const char *s)
{
    struct endpoint ep;
    const char *why = NULL;
    if (endpoint_parse(s, &ep, &why) != 0)
        fail_msg("endpoint \"%s\" rejected: %s", s, why);
    return ep;
}

static void ep_ok(const char *s, enum endpoint_kind kind)
{
    struct endpoint ep = ep_good(s);
    assert_int_equal(ep.kind, kind);
    assert_int_equal(ep.dir, EP_DIR_DEFAULT);
    assert_string_equal(ep.url, s);
}

/* s is a ZeroMQ endpoint going way dir, url without the direction. */
static void ep_dir(const char *s, enum endpoint_dir dir, const char *url)
{
    struct endpoint ep = ep_good(s);
    assert_int_equal(ep.kind, EP_ZMQ);
    assert_int_equal(ep.dir, dir);
    assert_string_equal(ep.url, url);
    /* Said outright, the direction is the same on either side. */
    assert_int_equal(endpoint_binds(&ep, true), dir == EP_DIR_BIND);
    assert_int_equal(endpoint_binds(&ep, false), dir == EP_DIR_BIND);
}

static void ep_bad(const char *s)
{
    struct endpoint ep;
    const char *why = NULL;
    if (endpoint_parse(s, &ep, &why) != -EINVAL)
        fail_msg("endpoint \"%s\" accepted", s);
    if (!why || !*why)
        fail_msg("endpoint \"%s\": no reason", s);
}

static void test_endpoint_ok(void **state)
{
    (void)state;
    ep_ok("-", EP_STDIO);
    ep_ok("tcp://127.0.0.1:5555", EP_ZMQ);
    ep_ok("tcp://*:5556", EP_ZMQ);
    ep_ok("tcp://localhost:1", EP_ZMQ);
    ep_ok("tcp://host.example.org:65535", EP_ZMQ);
    ep_ok("tcp://eth0:7000", EP_ZMQ);
    ep_ok("tcp://[::1]:5555", EP_ZMQ);
    ep_ok("tcp://[fe80::1%eth0]:5555", EP_ZMQ);
    ep_ok("tcp://[::]:80", EP_ZMQ);
    ep_ok("ipc:///tmp/vidpipe.sock", EP_ZMQ);
    ep_ok("ipc://@abstract", EP_ZMQ);
}

static void test_endpoint_bad_ports(void **state)
{
    (void)state;
    ep_bad("tcp://h:0");
    ep_bad("tcp://h:65536");
    ep_bad("tcp://h:-1");
    ep_bad("tcp://h:99999999999999999999999");
    ep_bad("tcp://h:");
    ep_bad("tcp://h:abc");
    ep_bad("tcp://h:80x");
    ep_bad("tcp://h:5.5");
    ep_bad("tcp://h");
    ep_bad("tcp://:5555");
    ep_bad("tcp://");
    ep_bad("tcp://[::1]");
    ep_bad("tcp://[::1:5555");
    ep_bad("tcp://[::1]:0");
    ep_bad("tcp://[::1]:");
}

static void test_endpoint_bad_forms(void **state)
{
    (void)state;
    ep_bad("");
    ep_bad("--");
    ep_bad("ipc://");
    ep_bad("udp://h:5555");
    ep_bad("inproc://x");
    ep_bad("TCP://h:5555");
    ep_bad("tcp:/h:5555");
    ep_bad("127.0.0.1:5555");
    ep_bad("window");
}

static void test_endpoint_direction(void **state)
{
    struct endpoint ep;
    const char *why;
    (void)state;

    ep_dir("bind:tcp://0.0.0.0:5554", EP_DIR_BIND, "tcp://0.0.0.0:5554");
    ep_dir("bind:tcp://*:5554", EP_DIR_BIND, "tcp://*:5554");
    ep_dir("bind:tcp://[::]:5554", EP_DIR_BIND, "tcp://[::]:5554");
    ep_dir("bind:ipc:///run/vidpipe/in", EP_DIR_BIND, "ipc:///run/vidpipe/in");
    ep_dir("connect:tcp://gw.example.org:5554", EP_DIR_CONNECT,
           "tcp://gw.example.org:5554");
    ep_dir("connect:tcp://[::1]:5554", EP_DIR_CONNECT, "tcp://[::1]:5554");
    ep_dir("connect:ipc://@abstract", EP_DIR_CONNECT, "ipc://@abstract");
    /* Without one, each side goes its usual way. */
    assert_int_equal(endpoint_parse("tcp://h:1", &ep, &why), 0);
    assert_true(endpoint_binds(&ep, true));
    assert_false(endpoint_binds(&ep, false));

    ep_bad("bind:");
    ep_bad("connect:");
    ep_bad("bind:-");
    ep_bad("connect:-");
    ep_bad("bind:bind:tcp://h:1");
    ep_bad("connect:bind:tcp://h:1");
    ep_bad("bind:udp://h:1");
    ep_bad("bind:tcp://h:0");
    ep_bad("connect:tcp://h");
    ep_bad("connect:tcp://*:5554"); /* nowhere to connect to */
    ep_bad("connect:ipc://");
    ep_bad("BIND:tcp://h:1");
    ep_bad("listen:tcp://h:1");
    ep_bad(" bind:tcp://h:1");
    /* CZMQ's prefixes are refused with a pointer to the words. */
    ep_bad("@tcp://*:5554");
    ep_bad(">tcp://gw:5554");
    assert_int_equal(endpoint_parse(">tcp://gw:5554", &ep, &why), -EINVAL);
    assert_non_null(strstr(why, "connect:"));
}

static void test_endpoint_length(void **state)
{
    (void)state;
    char s[ENDPOINT_MAX + 16];

    /* ENDPOINT_MAX - 1 bytes fit (with the NUL), ENDPOINT_MAX do not. */
    memcpy(s, "ipc://", 6);
    memset(s + 6, 'p', ENDPOINT_MAX - 1 - 6);
    s[ENDPOINT_MAX - 1] = 0;
    ep_ok(s, EP_ZMQ);
    memset(s + 6, 'p', ENDPOINT_MAX - 6);
    s[ENDPOINT_MAX] = 0;
    ep_bad(s);
    memset(s + 6, 'p', sizeof s - 7);
    s[sizeof s - 1] = 0;
    ep_bad(s);

    memcpy(s, "tcp://", 6);
    memset(s + 6, 'h', ENDPOINT_MAX);
    strcpy(s + ENDPOINT_MAX - 2, ":80");
    ep_bad(s);

    /* The bound is on the url ZeroMQ gets: a direction adds to it. */
    memcpy(s, "bind:ipc://", 11);
    memset(s + 11, 'p', ENDPOINT_MAX - 1 - 6);
    s[5 + ENDPOINT_MAX - 1] = 0;
    ep_dir(s, EP_DIR_BIND, s + 5);
    memcpy(s, "bind:ipc://", 11);
    memset(s + 11, 'p', ENDPOINT_MAX - 6);
    s[5 + ENDPOINT_MAX] = 0;
    ep_bad(s);
}

static void src_ok(const char *s, enum source_kind kind)
{
    struct source_spec src;
    const char *why = NULL;
    if (source_parse(s, &src, &why) != 0)
        fail_msg("source \"%s\" rejected: %s", s, why);
    assert_int_equal(src.kind, kind);
    assert_string_equal(src.arg, s);
}

static void src_bad(const char *s)
{
    struct source_spec src;
    const char *why = NULL;
    if (source_parse(s, &src, &why) != -EINVAL)
        fail_msg("source \"%s\" accepted", s);
    if (!why || !*why)
        fail_msg("source \"%s\": no reason", s);
}

static void test_source(void **state)
{
    (void)state;
    char s[ENDPOINT_MAX + 8];

    src_ok("test:", SRC_TEST);
    src_ok("test", SRC_TEST);
    src_ok("raw:-", SRC_RAW);
    src_ok("-", SRC_STREAM);
    src_ok("rec.vpk", SRC_STREAM);
    src_ok("/data/2024/run.vpk", SRC_STREAM);
    src_ok("/dev/video0", SRC_V4L2);
    src_ok("/dev/video12", SRC_V4L2);
    src_ok("clip.mp4", SRC_OPENCV);
    src_ok("rtsp://cam.local/stream", SRC_OPENCV);
    src_ok("vpk", SRC_OPENCV);
    src_bad("test:pattern");
    src_bad("raw:");
    src_bad("raw:/dev/stdin");
    src_bad("");
    memset(s, 'f', ENDPOINT_MAX);
    s[ENDPOINT_MAX] = 0;
    src_bad(s);
    s[ENDPOINT_MAX - 1] = 0;
    src_ok(s, SRC_OPENCV);
}

static void sink_ok(const char *s, enum sink_kind kind, const char *arg)
{
    struct sink_spec k;
    const char *why = NULL;
    if (sink_parse(s, &k, &why) != 0)
        fail_msg("sink \"%s\" rejected: %s", s, why);
    assert_int_equal(k.kind, kind);
    assert_string_equal(k.arg, arg);
    /* Files and servers name their muxer; nothing else has one. */
    assert_true((k.mux != NULL) == (kind == SINK_VIDEO || kind == SINK_MUX));
}

static void sink_muxer(const char *s, const char *mux)
{
    struct sink_spec k;
    const char *why = NULL;
    assert_int_equal(sink_parse(s, &k, &why), 0);
    assert_string_equal(k.mux, mux);
}

static void sink_bad(const char *s)
{
    struct sink_spec k;
    const char *why = NULL;
    if (sink_parse(s, &k, &why) != -EINVAL)
        fail_msg("sink \"%s\" accepted", s);
    if (!why || !*why)
        fail_msg("sink \"%s\": no reason", s);
}

static void test_sink(void **state)
{
    (void)state;
    char s[ENDPOINT_MAX + 8];

    sink_ok("window", SINK_WINDOW, "window");
    sink_ok("null", SINK_NULL, "null");
    sink_ok("raw:-", SINK_RAW, "raw:-");
    sink_ok("-", SINK_STREAM, "-");
    sink_ok("png:/tmp/frames", SINK_PNG, "/tmp/frames");
    sink_ok("cam.ts", SINK_MUX, "cam.ts");
    sink_ok("rtsp://h:8554/cam", SINK_MUX, "rtsp://h:8554/cam");
    sink_ok("/tmp/a.mp4", SINK_VIDEO, "/tmp/a.mp4");
    sink_ok("x.mkv", SINK_VIDEO, "x.mkv");
    sink_muxer("a.mp4", "mp4");
    sink_muxer("a.mkv", "matroska");
    sink_muxer("a.ts", "mpegts");
    sink_muxer("srt://h:9000", "mpegts");
    sink_muxer("rtmp://h/app/key", "flv");
    sink_muxer("rtsp://h:8554/cam", "rtsp");
    sink_bad("png:");
    sink_bad("");
    sink_bad("windows");
    sink_bad("out.png");
    sink_bad("raw:");
    sink_bad("tcp://127.0.0.1:5555");
    sink_bad("out.avi"); /* one fixed rate: no capture times */
    memset(s, 'v', ENDPOINT_MAX);
    strcpy(s + ENDPOINT_MAX - 4, ".mkv");
    sink_bad(s);
    memcpy(s, "png:", 4);
    memset(s + 4, 'd', ENDPOINT_MAX);
    s[ENDPOINT_MAX + 4] = 0;
    sink_bad(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_ok),
        cmocka_unit_test(test_endpoint_bad_ports),
        cmocka_unit_test(test_endpoint_bad_forms),
        cmocka_unit_test(test_endpoint_direction),
        cmocka_unit_test(test_endpoint_length),
        cmocka_unit_test(test_source),
        cmocka_unit_test(test_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
