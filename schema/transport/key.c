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

int key_read(const char *path, char key[CURVE_Z85_LEN + 1], char *err,
             size_t errlen)
{
    char buf[CURVE_Z85_LEN + 64];
    size_t n = 0, len;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    /* A key file is tiny; read a little more to tell a long one. */
    while (n < sizeof buf - 1 &&
           (r = read(fd, buf + n, sizeof buf - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", path, strerror(e));
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
            snprintf(err, errlen,
                     "%s: not a CURVE key: character %zu is not Z85", path,
                     i + 1);
            return -EINVAL;
        }
    }
    if (len != CURVE_Z85_LEN) {
        snprintf(err, errlen,
                 "%s: not a CURVE key: expected %d Z85 characters, found %s%zu",
                 path, CURVE_Z85_LEN, n == sizeof buf - 1 ? "over " : "", len);
        return -EINVAL;
    }
    memcpy(key, buf, CURVE_Z85_LEN);
    key[CURVE_Z85_LEN] = 0;
    return 0;
}

int key_read_secret(const char *path, char secret[CURVE_Z85_LEN + 1],
                    char public_key[CURVE_Z85_LEN + 1], char *err,
                    size_t errlen)
{
    struct stat st;
    size_t n = strlen(path);
    int rc;

    /* The commonest mix-up: the public half where the secret belongs. */
    if (n >= 4 && strcmp(path + n - 4, ".pub") == 0) {
        snprintf(err, errlen,
                 "%s: this is a public key; give the secret .key file", path);
        return -EINVAL;
    }
    if ((rc = key_read(path, secret, err, errlen)) < 0)
        return rc;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn("%s: secret key is readable by others (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
    if (zmq_curve_public(public_key, secret) < 0) {
        snprintf(err, errlen, "%s: cannot derive the public key: %s", path,
                 zmq_strerror(errno));
        return -EINVAL;
    }
    return 0;
}
