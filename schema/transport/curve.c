/* curve.c -- CURVE keys and the process's CURVE socket settings. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "transport/curve.h"
#include "transport/endpoint.h"
#include "util/log.h"
#include "transport/net.h"
#include "transport/watch.h"
#include "transport/zap.h"

#define MAX_WATCHES 8

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

static struct {
    bool server, client;
    char server_secret[CURVE_Z85_LEN + 1];
    char client_secret[CURVE_Z85_LEN + 1], client_public[CURVE_Z85_LEN + 1];
    /* One server key for every url (url ""), or one per url. */
    struct {
        char url[ENDPOINT_MAX];
        char key[CURVE_Z85_LEN + 1];
    } servers[CURVE_MAX_SERVER_KEYS];
    unsigned nservers;
    struct zap *zap;
    struct watch *watches[MAX_WATCHES];
    unsigned nwatches;
} cfg;

static int have_curve(char *err, size_t errlen)
{
    if (zmq_has("curve"))
        return 0;
    snprintf(err, errlen,
             "this libzmq has no CURVE support (it must be "
             "built with libsodium)");
    return -ENOTSUP;
}

int curve_key_read(const char *path, char key[CURVE_Z85_LEN + 1], char *err,
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

int curve_secret_read(const char *path, char secret[CURVE_Z85_LEN + 1],
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
    if ((rc = curve_key_read(path, secret, err, errlen)) < 0)
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

int curve_server_setup(const char *secret_path, const char *allow_dir,
                       char *err, size_t errlen)
{
    char pub[CURVE_Z85_LEN + 1];
    int rc;

    if (cfg.server) {
        snprintf(err, errlen, "CURVE server set up twice");
        return -EALREADY;
    }
    if ((rc = have_curve(err, errlen)) < 0 ||
        (rc = curve_secret_read(secret_path, cfg.server_secret, pub, err,
                                errlen)) < 0)
        return rc;
    if (!net_ctx()) {
        snprintf(err, errlen, "zmq context: %s", zmq_strerror(errno));
        return -errno;
    }
    if (!(cfg.zap = zap_new(net_ctx(), allow_dir, err, errlen)))
        return -EINVAL;
    cfg.server = true;
    log_info("CURVE on: server key %s, clients from %s", pub, allow_dir);
    return 0;
}

int curve_client_setup(const char *secret_path, const char *const *server_keys,
                       unsigned nkeys, const char *const *urls, unsigned nurls,
                       char *err, size_t errlen)
{
    int rc;

    if (nkeys == 0 || nurls == 0 || (nkeys != 1 && nkeys != nurls) ||
        nkeys > CURVE_MAX_SERVER_KEYS) {
        snprintf(err, errlen,
                 "give one server key for all %u inputs, or one per input",
                 nurls);
        return -EINVAL;
    }
    if ((rc = have_curve(err, errlen)) < 0 ||
        (rc = curve_secret_read(secret_path, cfg.client_secret,
                                cfg.client_public, err, errlen)) < 0)
        return rc;
    for (unsigned i = 0; i < nkeys; i++) {
        if ((rc = curve_key_read(server_keys[i], cfg.servers[i].key, err,
                                 errlen)) < 0)
            return rc;
        snprintf(cfg.servers[i].url, sizeof cfg.servers[i].url, "%s",
                 nkeys == 1 ? "" : urls[i]);
    }
    cfg.nservers = nkeys;
    cfg.client = true;
    return 0;
}

/* The server key of url: its own, or the one for every url. */
static const char *server_key_of(const char *url)
{
    for (unsigned i = 0; i < cfg.nservers; i++)
        if (!cfg.servers[i].url[0] || strcmp(cfg.servers[i].url, url) == 0)
            return cfg.servers[i].key;
    return NULL;
}

static int setopt_str(void *s, int opt, const char *v)
{
    return zmq_setsockopt(s, opt, v, strlen(v));
}

static struct watch *watch_of(void *sock)
{
    for (unsigned i = 0; i < cfg.nwatches; i++)
        if (watch_socket(cfg.watches[i]) == sock)
            return cfg.watches[i];
    return NULL;
}

void curve_revive(void *sock)
{
    struct watch *w = watch_of(sock);
    char url[ENDPOINT_MAX], err[256];

    while (w && watch_take_lost(w, url, sizeof url)) {
        log_info("%s: connecting again after the failed handshake", url);
        zmq_disconnect(sock, url); /* libzmq may have dropped it already */
        if (curve_prepare_connect(sock, url, err, sizeof err) < 0)
            log_warn("%s", err);
        else if (zmq_connect(sock, url) < 0)
            log_warn("connect %s: %s", url, zmq_strerror(errno));
    }
}

int curve_prepare_connect(void *sock, const char *url, char *err, size_t errlen)
{
    struct watch *w = watch_of(sock);
    if (w)
        watch_add_url(w, url);
    if (!cfg.client)
        return 0;
    const char *key = server_key_of(url);
    if (!key) {
        snprintf(err, errlen, "connect %s: no CURVE server key for it", url);
        return -1;
    }
    /* libzmq copies the options at connect time, so each connection of
     * one socket can have its own server key. */
    if (setopt_str(sock, ZMQ_CURVE_SERVERKEY, key) < 0) {
        snprintf(err, errlen, "connect %s: CURVE: %s", url,
                 zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int curve_prepare_socket(void *sock, const char *url, bool bind, char *err,
                         size_t errlen)
{
    bool curve = bind ? cfg.server : cfg.client;
    int one = 1;

    if (bind && cfg.server) {
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
            setopt_str(sock, ZMQ_CURVE_SECRETKEY, cfg.server_secret) < 0 ||
            setopt_str(sock, ZMQ_ZAP_DOMAIN, "vidpipe") < 0) {
            snprintf(err, errlen, "bind %s: CURVE: %s", url,
                     zmq_strerror(errno));
            return -1;
        }
    } else if (!bind && cfg.client) {
        if (setopt_str(sock, ZMQ_CURVE_PUBLICKEY, cfg.client_public) < 0 ||
            setopt_str(sock, ZMQ_CURVE_SECRETKEY, cfg.client_secret) < 0) {
            snprintf(err, errlen, "connect %s: CURVE: %s", url,
                     zmq_strerror(errno));
            return -1;
        }
        if (curve_prepare_connect(sock, url, err, errlen) < 0)
            return -1;
    }
    if (cfg.nwatches < MAX_WATCHES) {
        struct watch *w = watch_new(net_ctx(), sock, bind, curve);
        if (w)
            cfg.watches[cfg.nwatches++] = w;
        if (w && !bind)
            watch_add_url(w, url);
    }
    return 0;
}

void curve_bound(const char *url)
{
    if (!cfg.server && !curve_url_is_local(url))
        log_warn("%s: no CURVE: anyone who can connect can watch this "
                 "stream (see --curve-secret)",
                 url);
}

bool curve_url_is_local(const char *url)
{
    char host[ENDPOINT_MAX];
    unsigned char a[16];
    const char *colon;
    size_t n;

    if (strncmp(url, "ipc://", 6) == 0 || strncmp(url, "inproc://", 9) == 0)
        return true;
    if (strncmp(url, "tcp://", 6) != 0)
        return false;
    url += 6;
    if (!(colon = strrchr(url, ':')) || (n = (size_t)(colon - url)) == 0 ||
        n >= sizeof host)
        return false;
    memcpy(host, url, n);
    host[n] = 0;
    if (host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = 0;
    }
    if (strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0)
        return true;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char v4mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(a, v4mapped, 12) == 0)
            return a[12] == 127;
        return memcmp(a, (unsigned char[16]){[15] = 1}, 16) == 0;
    }
    return false;
}

void curve_fini(void)
{
    for (unsigned i = 0; i < cfg.nwatches; i++)
        watch_free(cfg.watches[i]);
    cfg.nwatches = 0;
    zap_free(cfg.zap);
    cfg.zap = NULL;
}
