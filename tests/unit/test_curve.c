/* test_curve.c -- CURVE key files, local addresses, the ZAP handler. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "transport/curve.h"
#include "transport/key.h"
#include "transport/zap.h"

static char dir[64];

static void put(const char *name, const char *text, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    chmod(path, mode);
}

static const char *at(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vidpipe-test-curve-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void test_key_read(void **state)
{
    char pub[41], sec[41], key[41];
    const char *why;
    (void)state;

    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    put("a.pub", pub, 0644);
    assert_int_equal(key_read(at("a.pub"), key, &why), 0);
    assert_string_equal(key, pub);
    /* A trailing newline (and CR, blanks) is fine. */
    char line[64];
    snprintf(line, sizeof line, "%s\r\n  \n", pub);
    put("b.pub", line, 0644);
    assert_int_equal(key_read(at("b.pub"), key, &why), 0);
    assert_string_equal(key, pub);
    /* Too short, too long, a non-Z85 character, a missing file. */
    put("short.pub", "abc\n", 0644);
    assert_int_equal(key_read(at("short.pub"), key, &why), -EINVAL);
    assert_non_null(strstr(why, "fewer than 40 Z85 characters"));
    snprintf(line, sizeof line, "%sX", pub);
    put("long.pub", line, 0644);
    assert_int_equal(key_read(at("long.pub"), key, &why), -EINVAL);
    assert_non_null(strstr(why, "more than 40 Z85 characters"));
    snprintf(line, sizeof line, "%s", pub);
    line[7] = '~';
    put("bad.pub", line, 0644);
    assert_int_equal(key_read(at("bad.pub"), key, &why), -EINVAL);
    assert_non_null(strstr(why, "is not Z85"));
    assert_int_equal(key_read(at("none.pub"), key, &why), -ENOENT);
}

static void test_secret_read(void **state)
{
    char pub[41], sec[41], s2[41], p2[41];
    const char *why;
    (void)state;

    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    put("me.key", sec, 0600);
    put("me.pub", pub, 0644);
    assert_int_equal(key_read_secret(at("me.key"), s2, p2, &why), 0);
    assert_string_equal(s2, sec);
    assert_string_equal(p2, pub); /* derived, not read */
    /* The public half given as the secret is caught by its name. */
    assert_int_equal(key_read_secret(at("me.pub"), s2, p2, &why), -EINVAL);
    assert_non_null(strstr(why, "public key"));
}

static void test_url_is_local(void **state)
{
    (void)state;
    assert_true(curve_url_is_local("ipc:///tmp/x"));
    assert_true(curve_url_is_local("inproc://x"));
    assert_true(curve_url_is_local("tcp://127.0.0.1:5555"));
    assert_true(curve_url_is_local("tcp://127.1.2.3:5555"));
    assert_true(curve_url_is_local("tcp://localhost:5555"));
    assert_true(curve_url_is_local("tcp://lo:5555"));
    assert_true(curve_url_is_local("tcp://[::1]:5555"));
    assert_true(curve_url_is_local("tcp://[::ffff:127.0.0.1]:5555"));
    assert_false(curve_url_is_local("tcp://*:5555"));
    assert_false(curve_url_is_local("tcp://0.0.0.0:5555"));
    assert_false(curve_url_is_local("tcp://10.77.2.1:5555"));
    assert_false(curve_url_is_local("tcp://128.0.0.1:5555"));
    assert_false(curve_url_is_local("tcp://[::]:5555"));
    assert_false(curve_url_is_local("tcp://[::2]:5555"));
    assert_false(curve_url_is_local("tcp://eth0:5555"));
    assert_false(curve_url_is_local("tcp://localhost.example.com:5555"));
}

/* The ZAP domain of the requests: a server's allow directory. */
static const char *domain = "";

/* Sends a CURVE ZAP request for key; returns the status code. */
static int ask(void *req, const uint8_t *key, size_t keylen, const char *mech,
               char user[64])
{
    const char *parts[] = {"1.0", "7", domain, "10.0.0.9", ""};
    char status[64] = "", buf[64];
    int more = 1, i = 0;
    size_t ml = sizeof more;

    for (unsigned k = 0; k < 5; k++)
        zmq_send(req, parts[k], strlen(parts[k]), ZMQ_SNDMORE);
    zmq_send(req, mech, strlen(mech), ZMQ_SNDMORE);
    zmq_send(req, key, keylen, 0);
    while (more) {
        int n = zmq_recv(req, buf, sizeof buf - 1, 0);
        assert_true(n >= 0);
        buf[n < 63 ? n : 63] = 0;
        if (i == 1)
            assert_string_equal(buf, "7"); /* the request id, echoed */
        if (i == 2)
            snprintf(status, sizeof status, "%s", buf);
        if (i == 4)
            snprintf(user, 64, "%s", buf);
        i++;
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml);
    }
    assert_int_equal(i, 6);
    return atoi(status);
}

static void test_zap(void **state)
{
    char pub[41], sec[41], pub2[41], allow[96], user[64];
    const char *why;
    uint8_t key[32], key2[32];
    (void)state;

    snprintf(allow, sizeof allow, "%s/allow", dir);
    assert_int_equal(mkdir(allow, 0755), 0);
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    assert_int_equal(zmq_curve_keypair(pub2, sec), 0);
    zmq_z85_decode(key, pub);
    zmq_z85_decode(key2, pub2);
    put("allow/viewer1.pub", pub, 0644);

    void *ctx = zmq_ctx_new();
    struct zap *z;
    domain = allow;
    assert_int_equal(zap_new(&z, ctx, allow, &why), 0);
    assert_non_null(z);
    void *req = zmq_socket(ctx, ZMQ_REQ);
    assert_int_equal(zmq_connect(req, ZAP_ENDPOINT), 0);

    assert_int_equal(ask(req, key, 32, "CURVE", user), 200);
    assert_string_equal(user, "viewer1");
    assert_int_equal(ask(req, key2, 32, "CURVE", user), 400);
    assert_int_equal(ask(req, key, 32, "NULL", user), 400);
    assert_int_equal(ask(req, key, 31, "CURVE", user), 400);
    /* A key added while running counts from the next handshake on, and
     * one removed stops counting. */
    usleep(20000); /* a distinct directory mtime */
    put("allow/viewer2.pub", pub2, 0644);
    assert_int_equal(ask(req, key2, 32, "CURVE", user), 200);
    assert_string_equal(user, "viewer2");
    usleep(20000);
    assert_int_equal(unlink(at("allow/viewer1.pub")), 0);
    assert_int_equal(ask(req, key, 32, "CURVE", user), 400);

    /* A second list (a relay's publishers), asked by its own domain: a
     * key on one list is not let in by the other. */
    char cams[96];
    snprintf(cams, sizeof cams, "%s/cams", dir);
    assert_int_equal(mkdir(cams, 0755), 0);
    put("cams/door.pub", pub, 0644);
    assert_int_equal(zap_add(z, cams, &why), 0);
    assert_int_equal(zap_add(z, cams, &why), 0); /* once is once */
    domain = cams;
    assert_int_equal(ask(req, key, 32, "CURVE", user), 200);
    assert_string_equal(user, "door");
    assert_int_equal(ask(req, key2, 32, "CURVE", user), 400);
    domain = allow;
    assert_int_equal(ask(req, key2, 32, "CURVE", user), 200);
    domain = "/nowhere"; /* no list of that name */
    assert_int_equal(ask(req, key2, 32, "CURVE", user), 500);
    /* A plain endpoint beside CURVE ones: its plain handshakes only. */
    domain = ZAP_PLAIN_DOMAIN;
    assert_int_equal(ask(req, key, 0, "NULL", user), 200);
    assert_int_equal(ask(req, key, 32, "CURVE", user), 400);

    zmq_close(req);
    zmq_ctx_term(ctx);
    zap_free(z);
}

static void test_zap_bad_dir(void **state)
{
    char allow[96];
    const char *why;
    struct zap *z;
    (void)state;

    void *ctx = zmq_ctx_new();
    snprintf(allow, sizeof allow, "%s/nope", dir);
    assert_int_equal(zap_new(&z, ctx, allow, &why), -ENOENT);
    assert_null(z);
    assert_non_null(strstr(why, "--curve-allow"));
    /* A malformed .pub at startup is an error, not a silent skip. */
    snprintf(allow, sizeof allow, "%s/badallow", dir);
    assert_int_equal(mkdir(allow, 0755), 0);
    put("badallow/x.pub", "not a key\n", 0644);
    assert_int_equal(zap_new(&z, ctx, allow, &why), -EINVAL);
    assert_null(z);
    assert_non_null(strstr(why, ".pub"));
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_read),     cmocka_unit_test(test_secret_read),
        cmocka_unit_test(test_url_is_local), cmocka_unit_test(test_zap),
        cmocka_unit_test(test_zap_bad_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
