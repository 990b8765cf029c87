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
#include "transport/zap.h"
#include "util/log.h"

struct curve {
    bool server;
    char secret[CURVE_Z85_LEN + 1], public_key[CURVE_Z85_LEN + 1];
    char allow_dir[ENDPOINT_MAX];
    /* A client's servers: one key for every url (url ""), or one per url. */
    struct {
        char url[ENDPOINT_MAX];
        char key[CURVE_Z85_LEN + 1];
    } * servers;
    unsigned nservers;
};

static int curve_new(struct curve **out, const char *secret_path, bool server,
                     const char **why, const char **which)
{
    struct curve *c;
    int rc;

    *out = NULL;
    if (!zmq_has("curve")) {
        *why = "this libzmq has no CURVE support (it must be built with "
               "libsodium)";
        return -ENOTSUP;
    }
    if (!(c = calloc(1, sizeof *c))) {
        *why = "out of memory";
        return -ENOMEM;
    }
    c->server = server;
    if ((rc = key_read_secret(secret_path, c->secret, c->public_key, why)) <
        0) {
        *which = secret_path;
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int curve_server_new(struct curve **out, const char *secret_path,
                     const char *allow_dir, const char **why,
                     const char **which)
{
    int rc;

    *out = NULL;
    *which = NULL;
    if (strlen(allow_dir) >= ENDPOINT_MAX) {
        *which = allow_dir;
        *why = "path too long";
        return -ENAMETOOLONG;
    }
    if ((rc = curve_new(out, secret_path, true, why, which)) < 0)
        return rc;
    snprintf((*out)->allow_dir, sizeof(*out)->allow_dir, "%s", allow_dir);
    log_info("CURVE on: server key %s, clients from %s", (*out)->public_key,
             allow_dir);
    return 0;
}

int curve_client_new(struct curve **out, const char *secret_path,
                     const char *const *server_keys, unsigned nkeys,
                     const char *const *urls, unsigned nurls, const char **why,
                     const char **which)
{
    struct curve *c;
    int rc;

    *out = NULL;
    *which = NULL;
    if (nkeys == 0 || nurls == 0 || (nkeys != 1 && nkeys != nurls)) {
        *why = "give one server key for all inputs, or one per input";
        return -EINVAL;
    }
    if ((rc = curve_new(&c, secret_path, false, why, which)) < 0)
        return rc;
    if (!(c->servers = calloc(nkeys, sizeof *c->servers))) {
        *why = "out of memory";
        curve_free(c);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < nkeys; i++) {
        if ((rc = key_read(server_keys[i], c->servers[i].key, why)) < 0) {
            *which = server_keys[i];
            curve_free(c);
            return rc;
        }
        snprintf(c->servers[i].url, sizeof c->servers[i].url, "%s",
                 nkeys == 1 ? "" : urls[i]);
    }
    c->nservers = nkeys;
    *out = c;
    return 0;
}

void curve_free(struct curve *c)
{
    if (c)
        free(c->servers);
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
                        const char **why)
{
    if (!c || c->server)
        return 0;
    const char *key = server_key_of(c, url);
    if (!key) {
        *why = "no CURVE server key for it";
        return -EINVAL;
    }
    /* libzmq copies the options at connect time, so each connection of
     * one socket can have its own server key. */
    if (setopt_str(sock, ZMQ_CURVE_SERVERKEY, key) < 0) {
        *why = "CURVE server key";
        return -errno;
    }
    return 0;
}

int curve_apply(const struct curve *c, void *sock, bool bind, const char **why)
{
    int one = 1, zero = 0;

    if (!c) {
        /* Plain after a CURVE endpoint of the same socket: no mechanism,
         * and a ZAP domain the handler lets plain handshakes in for
         * (libzmq cannot clear one: zap.h). */
        *why = "CURVE options";
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof zero) < 0 ||
            setopt_str(sock, ZMQ_ZAP_DOMAIN, ZAP_PLAIN_DOMAIN) < 0)
            return -errno;
        return 0;
    }
    if (c->server != bind) {
        *why = bind ? "CURVE client keys on a bound socket"
                    : "CURVE server keys on a connected socket";
        return -EINVAL;
    }
    *why = "CURVE options";
    if (bind) {
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
            setopt_str(sock, ZMQ_CURVE_SECRETKEY, c->secret) < 0 ||
            setopt_str(sock, ZMQ_ZAP_DOMAIN, c->allow_dir) < 0)
            return -errno;
        return 0;
    }
    if (setopt_str(sock, ZMQ_CURVE_PUBLICKEY, c->public_key) < 0 ||
        setopt_str(sock, ZMQ_CURVE_SECRETKEY, c->secret) < 0)
        return -errno;
    return 0;
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
