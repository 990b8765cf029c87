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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-keygen"

static const struct cli_opt opts[] = {
    {"force", 'f', NULL, "replace existing NAME.key and NAME.pub"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    (void)arg;
    *(bool *)ctx = id == 'f';
    return id == 'f' ? 0 : -1;
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[--force] NAME",
    .about = "Makes a CURVE key pair: NAME.key (secret, mode 0600; keep it on "
             "the host\nthat uses it) and NAME.pub (public; give it to "
             "peers).",
    .opts = opts,
    .take = take,
    .args = "NAME",
    .epilog = "See docs/GATEWAY.md.\n",
};

/* Writes key and a newline to path with mode; 0 or -errno (logged). */
static int write_key(const char *path, const char *key, mode_t mode, bool force)
{
    char tmp[PATH_MAX], line[42];
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
    char pub[41], sec[41];
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    struct cli_common c;
    bool force = false;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &force;
    if (cli_parse(&p, argc, argv, &c) < 0)
        return EXIT_USAGE;
    const char *name = c.args[0];
    if (!name[0]) {
        log_err("NAME is empty (see --help)");
        return EXIT_USAGE;
    }
    if ((size_t)snprintf(key_path, sizeof key_path, "%s.key", name) >=
            sizeof key_path - 8 ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s.pub", name) >=
            sizeof pub_path - 8) {
        log_err("%s: name too long", name);
        return EXIT_USAGE;
    }
    /* Checked first so that neither file is made when one exists. */
    if (!force &&
        (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0)) {
        log_err("%s exists; not overwriting it (--force replaces it)",
                access(key_path, F_OK) == 0 ? key_path : pub_path);
        return EXIT_USAGE;
    }
    int kp = vp_curve_keypair(pub, sec);
    if (kp < 0) {
        log_err("%s", vp_errmsg());
        return kp == -ENOTSUP ? EXIT_USAGE : EXIT_RUNTIME;
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
