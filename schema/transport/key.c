/* key.c -- CURVE key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "transport/key.h"
#include "util/log.h"

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

int key_read(const char *path, char key[CURVE_Z85_LEN + 1], const char **why)
{
    char buf[CURVE_Z85_LEN + 64];
    size_t n = 0, len;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        *why = "cannot open the key file";
        return -errno;
    }
    /* A key file is tiny; read a little more to tell a long one. */
    while (n < sizeof buf - 1 &&
           (r = read(fd, buf + n, sizeof buf - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            *why = "cannot read the key file";
            close(fd);
            return -e;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    len = n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < len && i < CURVE_Z85_LEN; i++) {
        if (!buf[i] || !strchr(z85_chars, buf[i])) {
            *why = "not a CURVE key: a character is not Z85";
            return -EINVAL;
        }
    }
    if (len != CURVE_Z85_LEN) {
        *why = len < CURVE_Z85_LEN
                   ? "not a CURVE key: fewer than 40 Z85 characters"
                   : "not a CURVE key: more than 40 Z85 characters";
        return -EINVAL;
    }
    memcpy(key, buf, CURVE_Z85_LEN);
    key[CURVE_Z85_LEN] = 0;
    return 0;
}

int key_read_secret(const char *path, char secret[CURVE_Z85_LEN + 1],
                    char public_key[CURVE_Z85_LEN + 1], const char **why)
{
    struct stat st;
    size_t n = strlen(path);
    int rc;

    /* The commonest mix-up: the public half where the secret belongs. */
    if (n >= 4 && strcmp(path + n - 4, ".pub") == 0) {
        *why = "this is a public key; give the secret .key file";
        return -EINVAL;
    }
    if ((rc = key_read(path, secret, why)) < 0)
        return rc;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn("%s: secret key is readable by others (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
    if (zmq_curve_public(public_key, secret) < 0) {
        rc = -errno;
        *why = "cannot derive the public key";
        return rc;
    }
    return 0;
}
