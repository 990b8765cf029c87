/* key.h -- CURVE key files: Z85 text, NAME.key (secret) and NAME.pub.
 *
 * ZeroMQ's CURVE gives each process a long-term key pair, stored as 40
 * Z85 characters a file.  Secret key files should be mode 0600; reading
 * one that group or others can read works, with a warning.
 */
#ifndef VIDPIPE_KEY_H
#define VIDPIPE_KEY_H

#include <stddef.h>

#define CURVE_Z85_LEN 40 /* characters of a Z85 key */
#define CURVE_KEY_LEN 32 /* bytes of a binary key */

/* Reads a key file: 40 Z85 characters, then at most trailing whitespace.
 * key gets them NUL-terminated.  0, or -EINVAL (bad content) or -errno
 * (unreadable) with a static reason in *why; the caller names path. */
int key_read(const char *path, char key[CURVE_Z85_LEN + 1], const char **why);

/* Reads a secret key file and derives its public key.  Warns (once) when
 * the file can be read by group or others.  0 or -errno with *why. */
int key_read_secret(const char *path, char secret[CURVE_Z85_LEN + 1],
                    char public_key[CURVE_Z85_LEN + 1], const char **why);

#endif
