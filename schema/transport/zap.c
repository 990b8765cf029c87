/* zap.c -- ZAP handler thread answering from an allow directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "transport/key.h"
#include "util/log.h"
#include "transport/zap.h"

#define ZAP_MAX_PARTS 8 /* a CURVE request has 7 */
#define ZAP_SEEN 64     /* peers remembered, to log each once */
#define ZAP_NAME_MAX 64
#define ZAP_ADDR_MAX 64
#define ZAP_LISTS 8 /* allow directories: a relay has two */

struct allowed {
    uint8_t key[CURVE_KEY_LEN];
    char name[ZAP_NAME_MAX]; /* the .pub file's name, for the logs */
};

/* One allow directory and the keys read from it. */
struct allow_list {
    char dir[PATH_MAX];
    struct timespec mtime;
    struct allowed *keys;
    unsigned nkeys;
};

struct zap {
    void *sock;
    pthread_t th;
    bool started;
    /* Each server socket's list, found by its ZAP domain (the directory);
     * added to by other threads (zap_add()), so under mu. */
    pthread_mutex_t mu;
    struct allow_list *lists[ZAP_LISTS];
    unsigned nlists;
    struct {
        char addr[ZAP_ADDR_MAX];
        uint8_t key[CURVE_KEY_LEN];
        bool ok;
    } seen[ZAP_SEEN];
    unsigned nseen, next_seen;
};

static bool has_pub_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

/* Reads every *.pub of l->dir into a new list that replaces the old one.
 * strict: a bad file is an error (startup); else it is skipped with a
 * warning, so a typo made while the process runs locks out only that
 * key.  0 or -errno with a static reason in *why (a bad file is named in
 * a line of its own: the caller knows only the directory). */
static int load(struct allow_list *l, bool strict, const char **why)
{
    struct allowed *keys = NULL;
    unsigned n = 0, cap = 0;
    struct dirent *de;
    struct stat st;
    int rc = -EINVAL;
    DIR *d = opendir(l->dir);

    if (!d || fstat(dirfd(d), &st) < 0) {
        rc = -errno;
        *why = "cannot read the --curve-allow directory";
        goto fail;
    }
    l->mtime = st.st_mtim;
    while ((de = readdir(d))) {
        char path[PATH_MAX], z85[CURVE_Z85_LEN + 1];
        const char *bad;
        if (!has_pub_suffix(de->d_name))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", l->dir, de->d_name) >=
            sizeof path)
            continue;
        if ((rc = key_read(path, z85, &bad)) < 0) {
            log_warn("%s: %s%s%s%s", path, bad, rc == -EINVAL ? "" : ": ",
                     rc == -EINVAL ? "" : strerror(-rc),
                     strict ? "" : "; skipped");
            if (strict) {
                *why =
                    "a .pub file in the --curve-allow directory cannot be used "
                    "(see above)";
                goto fail;
            }
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct allowed *k = realloc(keys, cap * sizeof *k);
            if (!k) {
                rc = -ENOMEM;
                *why = "out of memory";
                goto fail;
            }
            keys = k;
        }
        zmq_z85_decode(keys[n].key, z85);
        snprintf(keys[n].name, sizeof keys[n].name, "%.*s",
                 (int)strlen(de->d_name) - 4, de->d_name);
        n++;
    }
    closedir(d);
    free(l->keys);
    l->keys = keys;
    l->nkeys = n;
    if (n == 0)
        log_warn("--curve-allow %s: no *.pub keys: every client is refused "
                 "until one is added",
                 l->dir);
    return 0;
fail:
    if (d)
        closedir(d);
    free(keys);
    return rc;
}

/* Re-reads the directory if a file was added, removed or renamed. */
static void refresh(struct allow_list *l)
{
    const char *why;
    struct stat st;
    int rc;

    if (stat(l->dir, &st) == 0 && st.st_mtim.tv_sec == l->mtime.tv_sec &&
        st.st_mtim.tv_nsec == l->mtime.tv_nsec)
        return;
    if ((rc = load(l, false, &why)) < 0) {
        /* Fail closed: a vanished directory lets nobody in. */
        log_warn("%s: %s: %s; refusing every client", l->dir, why,
                 strerror(-rc));
        free(l->keys);
        l->keys = NULL;
        l->nkeys = 0;
        l->mtime = (struct timespec){0};
    }
}

static const struct allowed *find(const struct allow_list *l,
                                  const uint8_t *key)
{
    for (unsigned i = 0; i < l->nkeys; i++)
        if (memcmp(l->keys[i].key, key, CURVE_KEY_LEN) == 0)
            return &l->keys[i];
    return NULL;
}

/* True the first time this peer gets this decision. */
static bool first_time(struct zap *z, const char *addr, const uint8_t *key,
                       bool ok)
{
    unsigned i;
    for (i = 0; i < z->nseen; i++)
        if (strcmp(z->seen[i].addr, addr) == 0 &&
            memcmp(z->seen[i].key, key, CURVE_KEY_LEN) == 0)
            break;
    if (i < z->nseen && z->seen[i].ok == ok)
        return false;
    if (i == z->nseen) {
        if (z->nseen < ZAP_SEEN)
            i = z->nseen++;
        else
            i = z->next_seen++ % ZAP_SEEN; /* forget the oldest */
    }
    snprintf(z->seen[i].addr, sizeof z->seen[i].addr, "%s", addr);
    memcpy(z->seen[i].key, key, CURVE_KEY_LEN);
    z->seen[i].ok = ok;
    return true;
}

/* Copies an untrusted part as a printable C string. */
static void part_str(zmq_msg_t *m, char *dst, size_t cap)
{
    size_t n = zmq_msg_size(m);
    const char *s = zmq_msg_data(m);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    dst[n] = 0;
}

static bool part_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* The list of a ZAP domain (part p, untrusted), or NULL. */
static struct allow_list *list_of(struct zap *z, zmq_msg_t *p)
{
    struct allow_list *l = NULL;
    pthread_mutex_lock(&z->mu);
    for (unsigned i = 0; i < z->nlists && !l; i++)
        if (part_is(p, z->lists[i]->dir))
            l = z->lists[i];
    pthread_mutex_unlock(&z->mu);
    return l;
}

/* Decides one request: the status code and the user id for the reply. */
static const char *decide(struct zap *z, zmq_msg_t *p, unsigned n,
                          const char **user)
{
    char addr[ZAP_ADDR_MAX], z85[CURVE_Z85_LEN + 1];
    const uint8_t *key;
    const struct allowed *a;
    struct allow_list *l;

    *user = "";
    /* A NULL request has no credentials: 6 parts. */
    if (n >= 6 && part_is(&p[2], ZAP_PLAIN_DOMAIN))
        return part_is(&p[0], "1.0") && part_is(&p[5], "NULL") ? "200" : "400";
    if (n != 7 || !part_is(&p[0], "1.0") || !(l = list_of(z, &p[2])))
        return "500";
    part_str(&p[3], addr, sizeof addr);
    /* Only CURVE sockets ask here; anything else is refused. */
    if (!part_is(&p[5], "CURVE") || zmq_msg_size(&p[6]) != CURVE_KEY_LEN)
        return "400";
    key = zmq_msg_data(&p[6]);
    refresh(l);
    a = find(l, key);
    if (first_time(z, addr, key, a != NULL)) {
        zmq_z85_encode(z85, key, CURVE_KEY_LEN);
        if (a)
            log_info("allowed %s.pub from %s", a->name, addr);
        else
            log_warn("refused CURVE client %s from %s: key not in %s", z85,
                     addr, l->dir);
    }
    if (!a)
        return "400";
    *user = a->name;
    return "200";
}

/* Serves one request; -1 when the context is gone. */
static int serve(struct zap *z)
{
    zmq_msg_t p[ZAP_MAX_PARTS + 1];
    unsigned n = 0;
    int more = 1, rc = 0;
    size_t ml = sizeof more;

    while (more) {
        zmq_msg_t *m = &p[n < ZAP_MAX_PARTS ? n : ZAP_MAX_PARTS];
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, 0) < 0) {
            zmq_msg_close(m);
            if (errno == EINTR)
                continue;
            rc = -1;
            goto out;
        }
        zmq_getsockopt(z->sock, ZMQ_RCVMORE, &more, &ml);
        if (n < ZAP_MAX_PARTS)
            n++;
        else
            zmq_msg_close(m);
    }
    const char *user, *status = decide(z, p, n, &user);
    bool ok = status[0] == '2';
    /* A REP socket must answer even a malformed request to go on. */
    zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z->sock, n > 1 ? zmq_msg_data(&p[1]) : "",
             n > 1 ? zmq_msg_size(&p[1]) : 0, ZMQ_SNDMORE);
    zmq_send(z->sock, status, 3, ZMQ_SNDMORE);
    zmq_send(z->sock, ok ? "OK" : "not allowed", ok ? 2 : 11, ZMQ_SNDMORE);
    zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(z->sock, "", 0, 0);
out:
    for (unsigned i = 0; i < n; i++)
        zmq_msg_close(&p[i]);
    return rc;
}

static void *run(void *arg)
{
    struct zap *z = arg;
    while (serve(z) == 0)
        ;
    zmq_close(z->sock); /* lets zmq_ctx_term() finish */
    z->sock = NULL;
    return NULL;
}

int zap_add(struct zap *z, const char *allow_dir, const char **why)
{
    struct allow_list *l;
    int rc;

    pthread_mutex_lock(&z->mu);
    for (unsigned i = 0; i < z->nlists; i++)
        if (strcmp(z->lists[i]->dir, allow_dir) == 0) {
            pthread_mutex_unlock(&z->mu);
            return 0;
        }
    pthread_mutex_unlock(&z->mu);
    if (strlen(allow_dir) >= sizeof l->dir) {
        *why = "--curve-allow path too long";
        return -ENAMETOOLONG;
    }
    if (!(l = calloc(1, sizeof *l))) {
        *why = "out of memory";
        return -ENOMEM;
    }
    strcpy(l->dir, allow_dir);
    if ((rc = load(l, true, why)) < 0) {
        free(l);
        return rc;
    }
    pthread_mutex_lock(&z->mu);
    if (z->nlists < ZAP_LISTS)
        z->lists[z->nlists++] = l;
    else
        rc = -ENOSPC;
    pthread_mutex_unlock(&z->mu);
    if (rc < 0) {
        *why = "too many --curve-allow directories in one process";
        free(l->keys);
        free(l);
    }
    return rc;
}

int zap_new(struct zap **out, void *ctx, const char *allow_dir,
            const char **why)
{
    struct zap *z = calloc(1, sizeof *z);
    int zero = 0, rc;

    *out = NULL;
    if (!z) {
        *why = "out of memory";
        return -ENOMEM;
    }
    pthread_mutex_init(&z->mu, NULL);
    if ((rc = zap_add(z, allow_dir, why)) < 0)
        goto fail;
    /* Bound before any server socket exists: libzmq lets every client in
     * when no handler is there to ask. */
    if (!(z->sock = zmq_socket(ctx, ZMQ_REP)) ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) < 0) {
        rc = -errno;
        *why = "cannot make the ZAP handler's socket";
        goto fail;
    }
    if ((rc = -pthread_create(&z->th, NULL, run, z)) < 0) {
        *why = "cannot start the ZAP handler thread";
        goto fail;
    }
    z->started = true;
    *out = z;
    return 0;
fail:
    if (z->sock)
        zmq_close(z->sock);
    z->started = false;
    zap_free(z);
    return rc;
}

void zap_free(struct zap *z)
{
    if (!z)
        return;
    if (z->started)
        pthread_join(z->th, NULL);
    for (unsigned i = 0; i < z->nlists; i++) {
        free(z->lists[i]->keys);
        free(z->lists[i]);
    }
    pthread_mutex_destroy(&z->mu);
    free(z);
}
