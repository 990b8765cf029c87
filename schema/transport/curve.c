/* curve.c -- a socket's CURVE role and its options. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "transport/curve.h"
#include "transport/endpoint.h"
#include "transport/key.h"
#include "util/log.h"

struct curve {
    bool server;
    char secret[CURVE_Z85_LEN + 1], public_key[CURVE_Z85_LEN + 1];
    char allow_dir[ENDPOINT_MAX];
    /* A client's servers: one key for every url (url ""), or one per url. */
    struct {
        char url[ENDPOINT_MAX];
        char key[CURVE_Z85_LEN + 1];
    } servers[CURVE_MAX_SERVER_KEYS];
    unsigned nservers;
};

static struct curve *curve_new(const char *secret_path, bool server, char *err,
                               size_t errlen)
{
    struct curve *c;

    if (!zmq_has("curve")) {
        snprintf(err, errlen,
                 "this libzmq has no CURVE support (it must be "
                 "built with libsodium)");
        errno = ENOTSUP;
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->server = server;
    int rc =
        key_read_secret(secret_path, c->secret, c->public_key, err, errlen);
    if (rc < 0) {
        free(c);
        errno = -rc;
        return NULL;
    }
    return c;
}

struct curve *curve_server_new(const char *secret_path, const char *allow_dir,
                               char *err, size_t errlen)
{
    if (strlen(allow_dir) >= ENDPOINT_MAX) {
        snprintf(err, errlen, "%s: path too long", allow_dir);
        errno = ENAMETOOLONG;
        return NULL;
    }
    struct curve *c = curve_new(secret_path, true, err, errlen);
    if (!c)
        return NULL;
    snprintf(c->allow_dir, sizeof c->allow_dir, "%s", allow_dir);
    log_info("CURVE on: server key %s, clients from %s", c->public_key,
             allow_dir);
    return c;
}

struct curve *curve_client_new(const char *secret_path,
                               const char *const *server_keys, unsigned nkeys,
                               const char *const *urls, unsigned nurls,
                               char *err, size_t errlen)
{
    struct curve *c;

    if (nkeys == 0 || nurls == 0 || (nkeys != 1 && nkeys != nurls) ||
        nkeys > CURVE_MAX_SERVER_KEYS) {
        snprintf(err, errlen,
                 "give one server key for all %u inputs, or one per input",
                 nurls);
        errno = EINVAL;
        return NULL;
    }
    if (!(c = curve_new(secret_path, false, err, errlen)))
        return NULL;
    for (unsigned i = 0; i < nkeys; i++) {
        int rc = key_read(server_keys[i], c->servers[i].key, err, errlen);
        if (rc < 0) {
            free(c);
            errno = -rc;
            return NULL;
        }
        snprintf(c->servers[i].url, sizeof c->servers[i].url, "%s",
                 nkeys == 1 ? "" : urls[i]);
    }
    c->nservers = nkeys;
    return c;
}

void curve_free(struct curve *c)
{
    free(c);
}

const char *curve_allow_dir(const struct curve *c)
{
    return c && c->server ? c->allow_dir : NULL;
}

/* The server key of url: its own, or the one for every url. */
static const char *server_key_of(const struct curve *c, const char *url)
{
    for (unsigned i = 0; i < c->nservers; i++)
        if (!c->servers[i].url[0] || strcmp(c->servers[i].url, url) == 0)
            return c->servers[i].key;
    return NULL;
}

static int setopt_str(void *s, int opt, const char *v)
{
    return zmq_setsockopt(s, opt, v, strlen(v));
}

int curve_apply_connect(const struct curve *c, void *sock, const char *url,
                        char *err, size_t errlen)
{
    if (!c || c->server)
        return 0;
    const char *key = server_key_of(c, url);
    if (!key) {
        snprintf(err, errlen, "connect %s: no CURVE server key for it", url);
        return -EINVAL;
    }
    /* libzmq copies the options at connect time, so each connection of
     * one socket can have its own server key. */
    if (setopt_str(sock, ZMQ_CURVE_SERVERKEY, key) < 0) {
        int e = errno;
        snprintf(err, errlen, "connect %s: CURVE: %s", url, zmq_strerror(e));
        return -e;
    }
    return 0;
}

int curve_apply(const struct curve *c, void *sock, const char *url, bool bind,
                char *err, size_t errlen)
{
    int one = 1;

    if (!c)
        return 0;
    if (c->server != bind) {
        snprintf(err, errlen, "%s %s: CURVE %s keys on a %s socket",
                 bind ? "bind" : "connect", url,
                 c->server ? "server" : "client", bind ? "bound" : "connected");
        return -EINVAL;
    }
    if (bind) {
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
            setopt_str(sock, ZMQ_CURVE_SECRETKEY, c->secret) < 0 ||
            setopt_str(sock, ZMQ_ZAP_DOMAIN, "vidpipe") < 0)
            goto fail;
        return 0;
    }
    if (setopt_str(sock, ZMQ_CURVE_PUBLICKEY, c->public_key) < 0 ||
        setopt_str(sock, ZMQ_CURVE_SECRETKEY, c->secret) < 0)
        goto fail;
    return curve_apply_connect(c, sock, url, err, errlen);
fail:;
    int e = errno;
    snprintf(err, errlen, "%s %s: CURVE: %s", bind ? "bind" : "connect", url,
             zmq_strerror(e));
    return -e;
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
