/* pool.h -- a fixed set of equal-size buffers handed to ZeroMQ zero-copy.
 *
 * A publisher renders or encodes a frame straight into a pool buffer and
 * gives it to zmq_msg_init_data() with pool_zmq_free(); ZeroMQ's I/O thread
 * hands it back when every subscriber's copy is on the wire.  No allocation
 * per frame; when all buffers are still in flight the caller skips a frame.
 */
#ifndef VIDPIPE_POOL_H
#define VIDPIPE_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pool;

/* n buffers of size bytes each; NULL with errno on failure. */
struct pool *pool_new(unsigned n, size_t size);
/* Lets go of the pool: it is freed once every buffer is back (any
 * thread may hand the last one back).  Accepts NULL. */
void pool_free(struct pool *p);
size_t pool_size(const struct pool *p);
/* A free buffer, or NULL if all are in flight. */
uint8_t *pool_get(struct pool *p);
/* Returns buf to its pool; the signature of zmq_free_fn. */
void pool_zmq_free(void *buf, void *pool);

#endif
