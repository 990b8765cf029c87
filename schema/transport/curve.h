/* curve.h -- a socket's CURVE role: authentication and encryption.
 *
 * A subscriber is given its publisher's public key, so it knows whom it
 * talks to; a publisher learns each subscriber's public key, and the ZAP
 * handler (zap.h) lets in only those found in an allow directory.  Every
 * byte after the handshake is encrypted.  A bound socket is a CURVE
 * server, a connected one a client, so a relay can be both, each socket
 * with its own keys.
 */
#ifndef VIDPIPE_CURVE_H
#define VIDPIPE_CURVE_H

#include <stdbool.h>
#include <stddef.h>

struct curve;

/* The constructors read key files: on failure they return -errno with a
 * static reason in *why and, in *which, the path it is about (one of the
 * caller's own arguments, for its message; NULL if none). */

/* A server role with the secret key in secret_path, letting in the
 * clients whose public keys are *.pub files in allow_dir (copied): 0 with
 * it in *out, or -errno with *why and *which. */
int curve_server_new(struct curve **out, const char *secret_path,
                     const char *allow_dir, const char **why,
                     const char **which);

/* A client role with the secret key in secret_path.  server_keys are .pub
 * files of the publishers: one for all of urls, or one per url in the
 * same order.  0 with it in *out, or -errno with *why and *which. */
int curve_client_new(struct curve **out, const char *secret_path,
                     const char *const *server_keys, unsigned nkeys,
                     const char *const *urls, unsigned nurls, const char **why,
                     const char **which);
void curve_free(struct curve *c);

/* The allow directory of a server role, NULL for a client. */
const char *curve_allow_dir(const struct curve *c);

/* Sets c's options on sock before it binds (bind) or connects it (c
 * NULL: plain again).  A server's ZAP domain is its allow directory, so
 * the ZAP handler knows which list to ask (zap.h).  Then for a client,
 * curve_apply_connect() before each connect.  0 or -errno with a static reason
 * in *why. */
int curve_apply(const struct curve *c, void *sock, bool bind, const char **why);
/* Before each connect of a client socket to url: selects url's server
 * key.  0 or -errno with *why; the caller names url. */
int curve_apply_connect(const struct curve *c, void *sock, const char *url,
                        const char **why);

/* True if only this host can reach url: ipc://, inproc://, or tcp:// on a
 * loopback address (127.0.0.0/8, ::1, localhost, lo). */
bool curve_url_is_local(const char *url);

#endif
