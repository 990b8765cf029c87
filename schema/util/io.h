/* io.h -- writing all of a buffer to a pipe, a file or a socket. */
#ifndef VIDPIPE_IO_H
#define VIDPIPE_IO_H

#include <sys/uio.h>

/* Writes the iovecs completely, going on after partial writes, and after
 * EINTR once anything was written (a frame begun is finished, or the
 * stream would be corrupt); a non-blocking fd is waited on.  0, -EINTR (a
 * signal before the first byte: call again to write it), -EPIPE when the
 * reader has gone, or another -errno.  iov is used as scratch space. */
int io_writev_all(int fd, struct iovec *iov, int n);

#endif
