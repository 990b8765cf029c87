/* sendq.c -- each publisher connection's unsent bound, from its rate. */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/tcp.h> /* struct tcp_info with tcpi_delivery_rate */

#include "transport/sendq.h"

uint32_t sendq_bound_for(uint64_t rate)
{
    uint64_t b = rate / (1000000000ull / SENDQ_NS);
    return b < SENDQ_MIN ? SENDQ_MIN : b > SENDQ_MAX ? SENDQ_MAX : (uint32_t)b;
}

static bool set_bound(int fd, uint32_t bound)
{
    int v = (int)bound;
    return setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof v) == 0;
}

/* The addresses of fd's connection into c; false if it has none. */
static bool addresses(int fd, struct sendq_conn *c)
{
    c->llen = c->plen = sizeof c->local;
    return getsockname(fd, (struct sockaddr *)&c->local, &c->llen) == 0 &&
           getpeername(fd, (struct sockaddr *)&c->peer, &c->plen) == 0 &&
           (c->local.ss_family == AF_INET || c->local.ss_family == AF_INET6);
}

/* True if fd is still the connection c was made for. */
static bool same(int fd, const struct sendq_conn *c)
{
    struct sendq_conn now;
    return addresses(fd, &now) && now.llen == c->llen && now.plen == c->plen &&
           memcmp(&now.local, &c->local, c->llen) == 0 &&
           memcmp(&now.peer, &c->peer, c->plen) == 0;
}

bool sendq_add(struct sendq *q, int fd, int64_t now_ns)
{
    struct sendq_conn c = {.fd = fd, .bound = SENDQ_MIN, .at_ns = now_ns};

    sendq_drop(q, fd); /* a number libzmq closed and reused */
    if (q->n == SENDQ_CONNS || !addresses(fd, &c) || !set_bound(fd, c.bound))
        return false;
    q->c[q->n++] = c;
    return true;
}

void sendq_drop(struct sendq *q, int fd)
{
    for (unsigned i = 0; i < q->n; i++)
        if (q->c[i].fd == fd) {
            q->c[i] = q->c[--q->n];
            return;
        }
}

void sendq_tune(struct sendq *q, int64_t now_ns)
{
    for (unsigned i = 0; i < q->n;) {
        struct sendq_conn *c = &q->c[i];
        struct tcp_info ti;
        socklen_t len = sizeof ti;

        if (!same(c->fd, c) ||
            getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
            q->c[i] = q->c[--q->n]; /* gone: not ours to touch */
            continue;
        }
        i++;
        /* A kernel before 4.1 counts no bytes acked: the bound stays. */
        if (len < offsetof(struct tcp_info, tcpi_bytes_acked) +
                      sizeof ti.tcpi_bytes_acked)
            continue;
        /* What it delivered since the last look, as a rate: what the link
         * and the subscriber took, whatever the sender's pace. */
        uint64_t acked = ti.tcpi_bytes_acked - c->acked;
        int64_t dt = now_ns - c->at_ns;
        c->acked = ti.tcpi_bytes_acked;
        c->at_ns = now_ns;
        if (dt <= 0)
            continue;
        uint32_t b = sendq_bound_for(acked * 1000000000ull / (uint64_t)dt);
        if ((b >= 2 * (uint64_t)c->bound || 2 * (uint64_t)b <= c->bound) &&
            set_bound(c->fd, b)) {
            if (b > c->bound)
                q->raised++;
            else
                q->lowered++;
            c->bound = b;
        }
    }
}
