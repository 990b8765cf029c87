/* sendq.h -- how much each of a publisher's TCP connections may hold in
 * the kernel unsent, sized from what that connection delivers.
 *
 * Bytes queued unsent for a slow link are latency, so every connection
 * starts bounded to SENDQ_MIN (TCP_NOTSENT_LOWAT, inherited from the
 * listening socket vidpipe makes: net.c).  A fixed bound that small
 * costs a fast connection a third of its throughput on loopback: each
 * send() hands the kernel about two bounds' worth, and every ACK that
 * drains it wakes the I/O thread again (docs/BENCHMARKS.md).  So the
 * bound follows what the connection delivers (TCP_INFO's bytes acked,
 * read ten times a second by the socket's watch thread): SENDQ_NS of
 * that rate, never below SENDQ_MIN nor above SENDQ_MAX.  The rate is
 * averaged over the tick, not TCP's per-ACK sample, which a handshake's
 * few quick bytes can put at 70 MB/s on a 10 Mbit/s link.  A 10 Mbit/s link
 * keeps 128 KiB (0.1 s); loopback and 10 GbE get megabytes, which they
 * drain in that same 10 ms.
 *
 * The descriptors belong to libzmq's I/O thread: each is checked to be
 * the same connection (its two addresses) before it is touched, since
 * libzmq may have closed it and the number be in use again.
 */
#ifndef VIDPIPE_SENDQ_H
#define VIDPIPE_SENDQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SENDQ_MIN (128u * 1024)
#define SENDQ_MAX (16u * 1024 * 1024)
#define SENDQ_NS 10000000ull /* the bound: this long at the delivery rate */
#define SENDQ_CONNS 64

struct sendq {
    unsigned n;
    struct sendq_conn {
        int fd;
        uint32_t bound; /* what TCP_NOTSENT_LOWAT is set to */
        uint64_t acked; /* tcpi_bytes_acked at at_ns */
        int64_t at_ns;
        socklen_t llen, plen;
        struct sockaddr_storage local, peer;
    } c[SENDQ_CONNS];
    uint64_t raised, lowered; /* changes made, for tests and stats */
};

/* The bound for a connection that delivers rate bytes a second. */
uint32_t sendq_bound_for(uint64_t rate);
/* Starts following accepted TCP connection fd (bounded to SENDQ_MIN)
 * at now_ns (CLOCK_MONOTONIC); false if it is not one (or the table is
 * full). */
bool sendq_add(struct sendq *q, int fd, int64_t now_ns);
/* Stops following fd (libzmq reported it disconnected). */
void sendq_drop(struct sendq *q, int fd);
/* Sizes each connection's bound from the rate it delivered since the
 * last call (its bytes acked over the time between): changed when the
 * new bound is at least twice or at most half the old one, so the rate's
 * noise does not make a syscall a tick. */
void sendq_tune(struct sendq *q, int64_t now_ns);

#endif
