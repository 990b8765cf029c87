/* zap.h -- the ZAP handler: which CURVE clients a publisher lets in.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 about every
 * CURVE handshake on a server socket, passing the client's IP address and
 * public key.  This one answers from a thread: yes for the keys found as
 * *.pub files in the allow directory, no for every other key and every
 * other mechanism.  It re-reads the directory when its mtime changes, so
 * adding or removing a viewer's .pub takes effect at its next connection
 * without a restart.  Each decision is logged once per peer (address and
 * key), so a refused viewer retrying twice a second does not flood.
 */
#ifndef VIDPIPE_ZAP_H
#define VIDPIPE_ZAP_H

#include <stddef.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct zap;

/* Reads allow_dir (a bad .pub there is an error) and starts the handler in
 * ctx.  NULL with a one-line reason in err. */
struct zap *zap_new(void *ctx, const char *allow_dir, char *err, size_t errlen);
/* Joins the handler thread, which ends when the context is terminated;
 * call after zmq_ctx_term().  Accepts NULL. */
void zap_free(struct zap *z);

#endif
