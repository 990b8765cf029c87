/* vidpipe-keygen.c -- make a CURVE key pair for a vidpipe process.
 *
 * Writes NAME.key (the secret, mode 0600) and NAME.pub (the public key to
 * hand to peers) as 40 Z85 characters and a newline.  Each file is written
 * under a temporary name and then linked into place, which fails if the
 * name exists: an existing key is never overwritten or half-written unless
 * --force asks for it (then it is replaced by rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "transport/curve.h"
#include "util/log.h"

#define PROG "vidpipe-keygen"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--force] NAME\n"
            "Makes a CURVE key pair: NAME.key (secret, mode 0600; keep it on "
            "the host\nthat uses it) and NAME.pub (public; give it to peers).\n"
            "\n"
            "  -f, --force     replace existing NAME.key and NAME.pub\n"
            "  -h, --help      this help\n"
            "  -V, --version   print the version\n"
            "See docs/GATEWAY.md.\n");
}

/* Writes key and a newline to path with mode; 0 or -errno (logged). */
static int write_key(const char *path, const char *key, mode_t mode, bool force)
{
    char tmp[PATH_MAX], line[CURVE_Z85_LEN + 2];
    int fd, rc = 0;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
        log_err("%s: name too long", path);
        return -ENAMETOOLONG;
    }
    if ((fd = mkstemp(tmp)) < 0) { /* created 0600 */
        rc = -errno;
        log_err("%s: %s", tmp, strerror(errno));
        return rc;
    }
    snprintf(line, sizeof line, "%s\n", key);
    if (fchmod(fd, mode) < 0 ||
        write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) < 0)
        rc = -(errno ? errno : EIO);
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && (force ? rename(tmp, path) : link(tmp, path)) < 0)
        rc = -errno;
    if (rc == -EEXIST)
        log_err("%s exists; not overwriting it (--force replaces it)", path);
    else if (rc)
        log_err("%s: %s", path, strerror(-rc));
    if (rc || !force)
        unlink(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    bool force = false;
    int c;

    log_init(PROG);
    while ((c = getopt_long(argc, argv, "fhV", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            cli_version(PROG);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !argv[optind][0]) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    if ((size_t)snprintf(key_path, sizeof key_path, "%s.key", name) >=
            sizeof key_path - 8 ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s.pub", name) >=
            sizeof pub_path - 8) {
        log_err("%s: name too long", name);
        return EXIT_USAGE;
    }
    if (!zmq_has("curve")) {
        log_err("this libzmq has no CURVE support (it must be built with "
                "libsodium)");
        return EXIT_USAGE;
    }
    /* Checked first so that neither file is made when one exists. */
    if (!force &&
        (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0)) {
        log_err("%s exists; not overwriting it (--force replaces it)",
                access(key_path, F_OK) == 0 ? key_path : pub_path);
        return EXIT_USAGE;
    }
    if (zmq_curve_keypair(pub, sec) < 0) {
        log_err("zmq_curve_keypair: %s", zmq_strerror(errno));
        return EXIT_RUNTIME;
    }
    int rc = write_key(key_path, sec, 0600, force);
    if (rc == 0 && (rc = write_key(pub_path, pub, 0644, force)) < 0 && !force)
        unlink(key_path); /* no secret without its public half */
    memset(sec, 0, sizeof sec);
    if (rc < 0)
        return rc == -EEXIST ? EXIT_USAGE : EXIT_RUNTIME;
    printf("%s: secret key (mode 0600): keep it on the host that uses it\n"
           "%s: public key %s\n",
           key_path, pub_path, pub);
    return EXIT_OK;
}
