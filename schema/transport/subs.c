/* subs.c -- subscription prefixes in an open-addressed hash table. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/subs.h"

#define FIRST_CAP 16 /* slots; doubled while more than half are used */

struct slot {
    uint64_t hash;
    char *key; /* NULL: free */
    unsigned len;
    int conn; /* the connection charged for it, or -1 */
};

struct subs {
    unsigned max, per_conn, n;
    size_t cap; /* a power of two, or 0 before the first entry */
    struct slot *slots;
    unsigned lens[SUBS_PREFIX_MAX + 1]; /* entries of each length */
    unsigned *conns;                    /* entries made, by descriptor */
    size_t nconns;
};

/* FNV-1a, one byte at a time, so a topic's prefixes hash as it is read. */
#define HASH_START 0xcbf29ce484222325ULL
static uint64_t hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * 0x100000001b3ULL;
}

static uint64_t hash_of(const char *s, size_t len)
{
    uint64_t h = HASH_START;
    for (size_t i = 0; i < len; i++)
        h = hash_step(h, (unsigned char)s[i]);
    return h;
}

struct subs *subs_new(unsigned max, unsigned per_conn)
{
    struct subs *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = max;
    t->per_conn = per_conn && per_conn < max ? per_conn : max;
    return t;
}

void subs_free(struct subs *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].key);
    free(t->slots);
    free(t->conns);
    free(t);
}

/* The slot holding s, or -1. */
static long find(const struct subs *t, uint64_t h, const char *s, size_t len)
{
    if (!t->cap)
        return -1;
    for (size_t i = h & (t->cap - 1); t->slots[i].key;
         i = (i + 1) & (t->cap - 1))
        if (t->slots[i].hash == h && t->slots[i].len == len &&
            memcmp(t->slots[i].key, s, len) == 0)
            return (long)i;
    return -1;
}

static void place(struct slot *slots, size_t cap, const struct slot *e)
{
    size_t i = e->hash & (cap - 1);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    slots[i] = *e;
}

/* Room for one more entry with at most half the slots used. */
static int reserve(struct subs *t)
{
    if ((size_t)(t->n + 1) * 2 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : FIRST_CAP;
    struct slot *s = calloc(cap, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key)
            place(s, cap, &t->slots[i]);
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* conn's count, made room for; NULL for an unknown connection. */
static unsigned *conn_count(struct subs *t, int conn, int *rc)
{
    *rc = 0;
    if (conn < 0)
        return NULL;
    if ((size_t)conn >= t->nconns) {
        size_t n = t->nconns ? t->nconns : 64;
        while (n <= (size_t)conn)
            n *= 2;
        unsigned *c = realloc(t->conns, n * sizeof *c);
        if (!c) {
            *rc = -ENOMEM;
            return NULL;
        }
        memset(c + t->nconns, 0, (n - t->nconns) * sizeof *c);
        t->conns = c;
        t->nconns = n;
    }
    return &t->conns[conn];
}

int subs_add(struct subs *t, const char *prefix, size_t len, int conn,
             bool *added)
{
    uint64_t h = hash_of(prefix, len);
    int rc;

    *added = false;
    if (len > SUBS_PREFIX_MAX)
        return -EINVAL;
    if (find(t, h, prefix, len) >= 0)
        return 0;
    if (t->n >= t->max)
        return -ENOSPC;
    unsigned *mine = conn_count(t, conn, &rc);
    if (rc < 0)
        return rc;
    if (mine && *mine >= t->per_conn)
        return -EDQUOT;
    if ((rc = reserve(t)) < 0)
        return rc;
    struct slot e = {h, malloc(len + 1), (unsigned)len, conn};
    if (!e.key)
        return -ENOMEM;
    memcpy(e.key, prefix, len);
    e.key[len] = 0;
    place(t->slots, t->cap, &e);
    t->n++;
    t->lens[len]++;
    if (mine)
        ++*mine;
    *added = true;
    return 0;
}

bool subs_remove(struct subs *t, const char *prefix, size_t len)
{
    if (len > SUBS_PREFIX_MAX)
        return false;
    long at = find(t, hash_of(prefix, len), prefix, len);
    if (at < 0)
        return false;
    size_t i = (size_t)at, mask = t->cap - 1;
    struct slot *s = t->slots;
    if (s[i].conn >= 0 && (size_t)s[i].conn < t->nconns)
        t->conns[s[i].conn]--;
    t->lens[len]--;
    t->n--;
    free(s[i].key);
    /* Linear probing without tombstones: shift back each later entry of
     * the run whose home slot is not between the hole and itself. */
    for (size_t j = (i + 1) & mask; s[j].key; j = (j + 1) & mask) {
        size_t home = s[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s[i] = s[j];
            i = j;
        }
    }
    s[i].key = NULL;
    return true;
}

bool subs_match(const struct subs *t, const char *topic, size_t tlen)
{
    uint64_t h = HASH_START;

    if (!t->n)
        return false;
    for (size_t l = 0;; l++) {
        if (t->lens[l] && find(t, h, topic, l) >= 0)
            return true;
        if (l == tlen || l == SUBS_PREFIX_MAX)
            return false;
        h = hash_step(h, (unsigned char)topic[l]);
    }
}

bool subs_overlap(const struct subs *t, const char *prefix, size_t len)
{
    for (size_t i = 0; i < t->cap; i++) {
        const struct slot *s = &t->slots[i];
        if (s->key && memcmp(s->key, prefix, s->len < len ? s->len : len) == 0)
            return true;
    }
    return false;
}

unsigned subs_count(const struct subs *t)
{
    return t->n;
}

unsigned subs_conn_count(const struct subs *t, int conn)
{
    return conn >= 0 && (size_t)conn < t->nconns ? t->conns[conn] : 0;
}
