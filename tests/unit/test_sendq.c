/* test_sendq.c -- unit tests of the per-connection send bound, on real
 * loopback TCP connections. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/tcp.h>

#include "transport/sendq.h"

/* A connected pair on 127.0.0.1: *srv accepted, *cli connected. */
static void pair(int *srv, int *cli)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(*cli, (struct sockaddr *)&a, sizeof a), 0);
    *srv = accept(l, NULL, NULL);
    assert_true(*srv >= 0);
    close(l);
}

static int lowat(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &len),
                     0);
    return v;
}

/* Sends n bytes from srv and reads them at cli. */
static void move(int srv, int cli, size_t n)
{
    static uint8_t buf[1 << 16];
    size_t sent = 0, got = 0;
    while (got < n) {
        if (sent < n) {
            ssize_t k =
                send(srv, buf, n - sent < sizeof buf ? n - sent : sizeof buf,
                     MSG_DONTWAIT);
            if (k > 0)
                sent += (size_t)k;
        }
        ssize_t r = recv(cli, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
    }
}

static void test_bound_for(void **state)
{
    (void)state;
    assert_int_equal(sendq_bound_for(0), SENDQ_MIN);
    assert_int_equal(sendq_bound_for(1250000), SENDQ_MIN); /* 10 Mbit/s */
    assert_int_equal(sendq_bound_for(125000000), 1250000); /* 1 Gbit/s */
    assert_int_equal(sendq_bound_for(UINT64_MAX), SENDQ_MAX);
}

/* A connection that delivers fast gets a bound of its rate; one that
 * then delivers little gets the floor back; one that only trickles
 * keeps it. */
static void test_follows_the_rate(void **state)
{
    struct sendq q = {0};
    int srv, cli;
    (void)state;

    pair(&srv, &cli);
    assert_true(sendq_add(&q, srv, 0));
    assert_int_equal(lowat(srv), SENDQ_MIN);
    move(srv, cli, 8 << 20);
    sendq_tune(&q, 100000000); /* 8 MiB in 100 ms: 80 MiB/s */
    /* All of it acked, or all but a delayed ACK's few segments. */
    assert_true(lowat(srv) <= (int)sendq_bound_for(83886080));
    assert_true(lowat(srv) >= (int)sendq_bound_for(83886080) / 2);
    assert_int_equal(q.raised, 1);
    move(srv, cli, 1000);
    sendq_tune(&q, 200000000);
    assert_int_equal(lowat(srv), SENDQ_MIN);
    assert_int_equal(q.lowered, 1);
    move(srv, cli, 10000);
    sendq_tune(&q, 300000000);
    assert_int_equal(lowat(srv), SENDQ_MIN);
    assert_int_equal(q.raised, 1);
    close(srv);
    close(cli);
}

/* The number of a connection libzmq closed may be in use again: a
 * socket that is not the same connection is dropped, never changed. */
static void test_reused_number_is_not_touched(void **state)
{
    struct sendq q = {0};
    int srv, cli, srv2, cli2;
    (void)state;

    pair(&srv, &cli);
    assert_true(sendq_add(&q, srv, 0));
    /* The old connection closed and its number given to a new one. */
    pair(&srv2, &cli2);
    assert_int_equal(dup2(srv2, srv), srv);
    close(srv2);
    int before = lowat(srv);
    move(srv, cli2, 8 << 20);
    sendq_tune(&q, 100000000);
    assert_int_equal(q.n, 0);
    assert_int_equal(lowat(srv), before);
    assert_int_equal(q.raised, 0);
    /* Not a TCP connection at all: refused. */
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    assert_false(sendq_add(&q, fds[0], 0));
    close(fds[0]);
    close(fds[1]);
    close(srv);
    close(cli);
    close(cli2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_for),
        cmocka_unit_test(test_follows_the_rate),
        cmocka_unit_test(test_reused_number_is_not_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
