/* zap.h -- the ZAP handler: which CURVE clients a publisher lets in.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 about every
 * CURVE handshake on a server socket, passing the socket's ZAP domain,
 * the client's IP address and its public key.  This one answers from a
 * thread: yes for the keys found as *.pub files in the allow directory
 * the domain names, no for every other key and every
 * other mechanism.  It re-reads the directory when its mtime changes, so
 * adding or removing a viewer's .pub takes effect at its next connection
 * without a restart.  Each decision is logged once per peer (address and
 * key), so a refused viewer retrying twice a second does not flood.
 */
#ifndef VIDPIPE_ZAP_H
#define VIDPIPE_ZAP_H

#include <stddef.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* The ZAP domain of a plain endpoint of a socket whose other endpoints
 * use CURVE: libzmq cannot clear a domain once set, and asks the handler
 * about every handshake of a socket that has one; the handler lets in
 * the plain (NULL mechanism) ones of this domain, which only an endpoint
 * meant to be plain makes (a peer cannot choose our mechanism). */
#define ZAP_PLAIN_DOMAIN "vidpipe-plain"

struct zap;

/* Reads allow_dir (a bad .pub there is an error, named in a warning) and
 * starts the handler in ctx: 0 with it in *out, or -errno with a static
 * reason in *why; the caller names allow_dir. */
int zap_new(struct zap **out, void *ctx, const char *allow_dir,
            const char **why);
/* Lets the handler answer for one more allow directory too (read as
 * zap_new() reads it; the ZAP domain of the sockets it is for: curve.h),
 * so a relay lets viewers in from one list and publishers from another.
 * Any thread.  0 (also if it has it already) or -errno with *why. */
int zap_add(struct zap *z, const char *allow_dir, const char **why);
/* Joins the handler thread, which ends when the context is terminated;
 * call after zmq_ctx_term().  Accepts NULL. */
void zap_free(struct zap *z);

#endif
