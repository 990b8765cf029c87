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

#define CURVE_MAX_SERVER_KEYS 16

struct curve;

/* A server role with the secret key in secret_path, letting in the
 * clients whose public keys are *.pub files in allow_dir (copied).  NULL
 * with a one-line reason in err. */
struct curve *curve_server_new(const char *secret_path, const char *allow_dir,
                               char *err, size_t errlen);

/* A client role with the secret key in secret_path.  server_keys are .pub
 * files of the publishers: one for all of urls, or one per url in the
 * same order.  NULL with err. */
struct curve *curve_client_new(const char *secret_path,
                               const char *const *server_keys, unsigned nkeys,
                               const char *const *urls, unsigned nurls,
                               char *err, size_t errlen);
void curve_free(struct curve *c);

/* The allow directory of a server role, NULL for a client. */
const char *curve_allow_dir(const struct curve *c);

/* Sets c's options on sock before it binds or connects url (c NULL:
 * plain).  0 or -errno with err. */
int curve_apply(const struct curve *c, void *sock, const char *url, bool bind,
                char *err, size_t errlen);
/* Before each further connect of a client socket: selects url's server
 * key.  0 or -errno with err. */
int curve_apply_connect(const struct curve *c, void *sock, const char *url,
                        char *err, size_t errlen);

/* True if only this host can reach url: ipc://, inproc://, or tcp:// on a
 * loopback address (127.0.0.0/8, ::1, localhost, lo). */
bool curve_url_is_local(const char *url);

#endif
