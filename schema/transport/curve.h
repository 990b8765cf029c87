/* curve.h -- CURVE authentication and encryption of vidpipe sockets.
 *
 * ZeroMQ's CURVE (libsodium) gives each process a long-term key pair,
 * stored as Z85 text: NAME.key (secret, mode 0600) and NAME.pub.  A
 * subscriber is given its publisher's public key, so it knows whom it
 * talks to; a publisher learns each subscriber's public key and its ZAP
 * handler (zap.h) lets in only those found in an allow directory.  Every
 * byte after the handshake is encrypted.
 *
 * The settings are process-wide, like the ZeroMQ context: a program calls
 * curve_server_setup() and/or curve_client_setup() once after parsing its
 * options, and net_socket() applies them to each socket it makes.  A bound
 * socket is a CURVE server, a connected one a client, so a relay can be
 * both.  A bound socket without CURVE on an address other hosts can reach
 * gets a one-line warning.
 */
#ifndef VIDPIPE_CURVE_H
#define VIDPIPE_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURVE_Z85_LEN 40 /* characters of a Z85 key */
#define CURVE_KEY_LEN 32 /* bytes of a binary key */
#define CURVE_MAX_SERVER_KEYS 16

/* Reads a key file: 40 Z85 characters, then at most trailing whitespace.
 * key gets them NUL-terminated.  0, or -EINVAL (bad content) or -errno
 * (unreadable) with a one-line reason in err. */
int curve_key_read(const char *path, char key[CURVE_Z85_LEN + 1], char *err,
                   size_t errlen);

/* Reads a secret key file and derives its public key.  Warns (once) when
 * the file can be read by group or others.  0 or -errno with err. */
int curve_secret_read(const char *path, char secret[CURVE_Z85_LEN + 1],
                      char public_key[CURVE_Z85_LEN + 1], char *err,
                      size_t errlen);

/* Makes bound sockets CURVE servers with the secret key in secret_path,
 * letting in only clients whose public keys are *.pub files in allow_dir
 * (starts the ZAP handler).  0 or -errno with err. */
int curve_server_setup(const char *secret_path, const char *allow_dir,
                       char *err, size_t errlen);

/* Makes connected sockets CURVE clients with the secret key in
 * secret_path.  server_keys are .pub files of the publishers: one for all
 * of urls, or one per url in the same order.  0 or -errno with err. */
int curve_client_setup(const char *secret_path, const char *const *server_keys,
                       unsigned nkeys, const char *const *urls, unsigned nurls,
                       char *err, size_t errlen);

/* Called by net_socket() on a new socket before it binds or connects url:
 * sets the CURVE options of its role, starts logging its failed
 * handshakes, and warns about an exposed plain bind.  0 or -1 with err. */
int curve_prepare_socket(void *sock, const char *url, bool bind, char *err,
                         size_t errlen);

/* Called before each further connect of a socket: selects url's server
 * key.  0 or -1 with err. */
int curve_prepare_connect(void *sock, const char *url, char *err,
                          size_t errlen);

/* Called once url is bound: warns if it is reachable from other hosts
 * without CURVE. */
void curve_bound(const char *url);

/* Connects sock again to the endpoints libzmq abandoned after a failed
 * handshake (see watch.h).  Call from sock's own thread, often. */
void curve_revive(void *sock);

/* True if only this host can reach url: ipc://, inproc://, or tcp:// on a
 * loopback address (127.0.0.0/8, ::1, localhost, lo). */
bool curve_url_is_local(const char *url);

/* Joins the ZAP handler and handshake loggers; call after the ZeroMQ
 * context is terminated (net_term() does). */
void curve_fini(void);

#endif
